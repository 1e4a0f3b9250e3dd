"""gridmap.db: URLs, missing/corrupt/unreachable databases, schema versions, on both backends."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from gridmap.db import (
    check_schema,
    current_revision,
    head_revision,
    init_database,
    make_engine,
    open_database,
)
from gridmap.errors import DatabaseError, SchemaVersionError
from gridmap.models import GEOMETRY_TABLES, Base


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("not a url", "unrecognised database URL"),
        ("mysql://u@h/db", "unsupported database"),
    ],
)
def test_bad_urls_are_named(url: str, fragment: str) -> None:
    with pytest.raises(DatabaseError, match=fragment):
        make_engine(url)


def test_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.db"
    with pytest.raises(DatabaseError, match="database file not found") as info:
        open_database(f"sqlite:///{path}")
    assert str(path) in str(info.value)
    assert not path.exists()


def test_corrupt_sqlite_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is a spreadsheet, not a database" * 100)
    before = _sha(path)
    with pytest.raises(DatabaseError, match="corrupt"):
        open_database(f"sqlite:///{path}")
    with pytest.raises(DatabaseError, match="corrupt"):
        make_engine(f"sqlite:///{path}", create=True)
    assert _sha(path) == before


def test_truncated_sqlite_file_is_reported(tmp_path: Path, engine_sqlite_file: Path) -> None:
    data = engine_sqlite_file.read_bytes()
    broken = tmp_path / "truncated.db"
    broken.write_bytes(data[:200] + b"\x00" * 50)
    with pytest.raises(DatabaseError):
        open_database(f"sqlite:///{broken}")


@pytest.fixture
def engine_sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "ok.db"
    eng = make_engine(f"sqlite:///{path}", create=True)
    init_database(eng)
    eng.dispose()
    return path


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="cannot reach the database server"):
        make_engine("postgresql+psycopg://gridmap@127.0.0.1:1/gridmap")


def test_uninitialised_database_asks_for_init(db_url: str) -> None:
    eng = make_engine(db_url, create=True)
    with pytest.raises(SchemaVersionError, match="gridmap init"):
        check_schema(eng)


def test_init_is_idempotent_and_reaches_head(engine) -> None:
    assert current_revision(engine) == head_revision()
    assert init_database(engine) == head_revision()
    check_schema(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_newer_schema_is_refused_and_unchanged(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaVersionError, match="newer than this gridmap"):
        check_schema(engine)
    with pytest.raises(SchemaVersionError, match="newer"):
        init_database(engine)
    assert current_revision(engine) == "9999_future"


@pytest.mark.postgis
def test_postgis_columns_are_typed_and_gist_indexed(postgis) -> None:
    from _services import create_database, drop_database

    url = create_database(postgis, "gridmap_schema_check")
    try:
        eng = make_engine(url)
        init_database(eng)
        with eng.connect() as conn:
            types = dict(
                conn.execute(
                    text(
                        "SELECT f_table_name, type || ':' || srid FROM geometry_columns "
                        "WHERE f_table_schema = 'public'"
                    )
                ).all()
            )
            gist = {
                row[0]
                for row in conn.execute(
                    text("SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'")
                )
            }
        eng.dispose()
    finally:
        drop_database(postgis, "gridmap_schema_check")
    assert types == {t: f"{kind}:4326" for t, kind in GEOMETRY_TABLES.items()}
    assert gist == set(GEOMETRY_TABLES)


def test_migrations_build_exactly_the_models_schema(engine) -> None:
    """The Alembic history and the ORM models describe the same schema on both backends."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def include(obj, name, type_, reflected, compare_to) -> bool:
        sqlite_gist = (
            engine.dialect.name == "sqlite"
            and type_ == "index"
            and ((name or "").endswith("_geom"))
        )
        return not sqlite_gist and name != "spatial_ref_sys"

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include})
        assert compare_metadata(context, Base.metadata) == []


def test_every_migration_downgrades_and_upgrades_again(engine) -> None:
    """Each revision's ``downgrade()`` undoes its ``upgrade()``: step down to the start one
    revision at a time (the tables of that revision gone), then up to head with the same
    schema as before, on both backends."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from gridmap.db import current_revision, head_revision, migration_config

    def tables() -> set[str]:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names()) - {"spatial_ref_sys"}

    at_head = tables()
    script = ScriptDirectory.from_config(migration_config())
    revisions = list(script.walk_revisions())  # newest first
    assert len(revisions) >= 4 and revisions[0].revision == head_revision()
    seen = [at_head]
    for rev in revisions:
        with engine.begin() as conn:
            command.downgrade(migration_config(conn), "-1")
        assert current_revision(engine) == rev.down_revision
        seen.append(tables())
    assert seen[-1] <= {"alembic_version"}  # the first revision's downgrade drops everything
    assert all(len(a) >= len(b) for a, b in itertools.pairwise(seen))  # never a table more
    with engine.begin() as conn:
        command.upgrade(migration_config(conn), "head")
    assert tables() == at_head and current_revision(engine) == head_revision()
