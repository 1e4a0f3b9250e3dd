"""The demo street through the database: byte-identical per seed, the same on both backends,
and never written over existing data without --force."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import shapely
from sqlalchemy import text

from gridmap.auth import DEMO_USERS
from gridmap.bootstrap import clear_all, create_demo_database, load_demo, open_or_create_default
from gridmap.db import is_empty
from gridmap.errors import ConflictError, DatabaseError
from gridmap.models import ACCOUNT_TABLES, Base
from gridmap.repository import layer_counts, read_table


def _dump(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


def test_same_seed_gives_a_byte_identical_database(tmp_path: Path) -> None:
    paths = [tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"]
    for path, seed in zip(paths, (7, 7, 8), strict=True):
        create_demo_database(f"sqlite:///{path}", seed=seed).dispose()
    assert _dump(paths[0]) == _dump(paths[1])
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert digest[0] == digest[1]
    assert _dump(paths[0]) != _dump(paths[2])  # another seed, another street


@pytest.mark.postgis
def test_demo_on_postgis_matches_sqlite(postgis, demo_db_url: str) -> None:
    from _services import create_database, drop_database
    from gridmap.db import open_database

    url = create_database(postgis, "gridmap_demo_check")
    try:
        pg = create_demo_database(url)
        lite = open_database(demo_db_url)
        assert layer_counts(pg) == layer_counts(lite)
        for name in ("grid", "building", "request"):
            a, b = read_table(pg, name), read_table(lite, name)
            assert shapely.equals_exact(a.geometry.values, b.geometry.values, 1e-9).all(), name
            plain = [c for c in a.columns if c != "geom"]
            assert a[plain].astype(str).equals(b[plain].astype(str)), name
        pg.dispose()
    finally:
        drop_database(postgis, "gridmap_demo_check")


def test_demo_refuses_to_overwrite_then_replaces_with_force(engine) -> None:
    load_demo(engine, seed=3)
    before = layer_counts(engine)
    with pytest.raises(ConflictError, match="--force"):
        load_demo(engine, seed=4)
    assert layer_counts(engine) == before
    load_demo(engine, seed=4, force=True)
    assert layer_counts(engine)["grid"] == before["grid"]
    assert layer_counts(engine)["user"] == before["user"]  # the demo logins, kept and reset
    assert layer_counts(engine)["audit_log"] == before["audit_log"] + 1  # "demo_replace"
    assert sorted(clear_all(engine)) == sorted(DEMO_USERS)  # scoped to a street that is gone
    counts = layer_counts(engine)
    assert is_empty(engine) and set(counts) == set(Base.metadata.tables)
    assert not sum(n for name, n in counts.items() if name not in ACCOUNT_TABLES)
    assert counts["audit_log"] == before["audit_log"] + 2  # the log only grows


def test_default_database_is_created_with_the_demo(tmp_path: Path, monkeypatch) -> None:
    from gridmap import settings

    monkeypatch.delenv("GRIDMAP_DATABASE_URL", raising=False)
    monkeypatch.setattr(settings, "DATABASE_URL", f"sqlite:///{tmp_path / 'new' / 'g.db'}")
    engine = open_or_create_default()
    assert layer_counts(engine)["grid"] > 0
    with engine.begin() as conn:  # a user's change that a rebuild would undo
        conn.execute(text("UPDATE grid SET name = 'kept by the second start' WHERE id = 1"))
    engine.dispose()
    again = open_or_create_default()  # second start: opened, not rebuilt
    assert layer_counts(again) == layer_counts(engine)
    assert read_table(again, "grid").set_index("id").loc[1, "name"] == "kept by the second start"


def test_named_database_is_never_created(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="not found"):
        open_or_create_default(f"sqlite:///{tmp_path / 'typo.db'}")
    assert not (tmp_path / "typo.db").exists()
