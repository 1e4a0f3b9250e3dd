"""Did a refused import change anything? A digest of every table, the SQLite file's bytes, and the
refusal check the bad-input tests share (tests/test_io.py, tests/test_attack_*.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine, select, text

from gridmap import io as gio
from gridmap.errors import InputError
from gridmap.models import Base
from gridmap.repository import read_table


def contents(engine: Engine) -> str:
    """A digest of every row of every table (geometry as WKB), the same on both backends."""
    digest = hashlib.sha256()
    for name, tbl in Base.metadata.tables.items():
        if "id" not in tbl.c:  # a table keyed otherwise (login attempts): rows in key order
            with engine.connect() as conn:
                rows = conn.execute(select(tbl).order_by(*tbl.primary_key.columns)).all()
            digest.update(name.encode() + repr([tuple(r) for r in rows]).encode())
            continue
        frame = read_table(engine, name)
        if "geom" in frame:
            frame = pd.DataFrame(frame).assign(geom=shapely.to_wkb(frame["geom"].values, hex=True))
        digest.update(name.encode())
        digest.update(frame.to_json(orient="records", date_format="iso").encode())
    return digest.hexdigest()


def sqlite_file_hash(engine: Engine) -> str | None:
    """The bytes of the SQLite database file and its WAL, as one digest (None on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return None
    path = Path(engine.url.database)
    wal = path.with_name(path.name + "-wal")
    extra = hashlib.sha256(wal.read_bytes()).hexdigest() if wal.exists() else ""
    return hashlib.sha256(path.read_bytes()).hexdigest() + extra


def fingerprint(engine: Engine) -> tuple[str, str | None]:
    """Table contents, and on SQLite the bytes of the database file (after a checkpoint)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return contents(engine), sqlite_file_hash(engine)


def assert_rejected(engine: Engine, path: Path, layer: str, expect: list[str], **options) -> str:
    """Import ``path`` as ``layer``: refused with a sentence naming the file and holding every
    fragment of ``expect``, no traceback, and the database unchanged (byte for byte on SQLite)."""
    before = fingerprint(engine)
    with pytest.raises(InputError) as info:
        gio.import_file(engine, layer, path, **options)
    message = str(info.value)
    assert path.name in message
    for fragment in expect:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "Traceback" not in message
    assert sqlite_file_hash(engine) == before[1]  # byte-for-byte, before any new connection
    assert fingerprint(engine) == before
    return message
