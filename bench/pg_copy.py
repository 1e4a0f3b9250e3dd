"""Prototype: write whole tables into PostGIS with ``COPY … FROM STDIN`` instead of executemany.

Each frame becomes tab-separated text in one vectorised pass (geometry as hex EWKB with SRID
4326, which PostGIS parses on input; NULL as ``\\N``) and is streamed to the server in chunks
through psycopg 3's ``cursor.copy``. Same contract as :func:`gridmap.repository.save_tables`:
one transaction, foreign keys checked at commit, sequences moved past the explicit ids.

Proposed for :mod:`gridmap.repository` as the PostgreSQL path of ``save_tables`` (see
BENCHMARKS.md, import benchmark).
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine

from gridmap.models import GEOMETRY_TABLES
from gridmap.repository import geometry_wkb, table

#: Rows per chunk handed to the server (bounds the text buffer held in memory).
COPY_CHUNK_ROWS = 100_000


def _copy_text(name: str, frame: pd.DataFrame) -> str:
    """A chunk of a frame as COPY text: tab-separated, ``\\N`` for NULL, escaped text."""
    plain = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if col == "geom" and name in GEOMETRY_TABLES:
            wkb = geometry_wkb(frame, GEOMETRY_TABLES[name])
            geoms = shapely.from_wkb(wkb)
            geoms = shapely.set_srid(geoms, 4326)
            plain[col] = shapely.to_wkb(geoms, hex=True, include_srid=True)
        elif pd.api.types.is_bool_dtype(values):
            plain[col] = values.map({True: "t", False: "f"})
        elif pd.api.types.is_datetime64_any_dtype(values):
            plain[col] = values.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            text = values.astype(object).where(values.notna(), None)
            plain[col] = [
                None
                if v is None
                else str(v)
                .replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
                for v in text
            ]
        else:
            plain[col] = values.astype(object).where(values.notna(), None)
    buf = io.StringIO()
    plain.to_csv(buf, sep="\t", header=False, index=False, na_rep="\\N", quoting=3, escapechar=None)
    return buf.getvalue()


def copy_frame(cursor, name: str, frame: pd.DataFrame) -> int:
    """COPY one frame into its table through an open psycopg cursor; return the row count."""
    tbl = table(name)
    unknown = set(frame.columns) - set(tbl.columns.keys())
    if unknown:
        raise ValueError(f"table {name!r} has no column(s) {sorted(unknown)}")
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN') as copy:
        for start in range(0, len(frame), COPY_CHUNK_ROWS):
            copy.write(_copy_text(name, frame.iloc[start : start + COPY_CHUNK_ROWS]))
    return len(frame)


def copy_tables(engine: Engine, tables: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Write several tables with COPY in one transaction (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        raise ValueError("copy_tables needs PostgreSQL; use gridmap.repository.save_tables")
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        counts: dict[str, int] = {}
        with conn.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
            for name, frame in tables.items():
                counts[name] = copy_frame(cur, name, frame)
                if "id" in frame and len(frame):
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                        f"{int(np.max(frame['id'])) + 1}, false)"
                    )
        conn.commit()
        return counts
    except BaseException:
        raw.driver_connection.rollback()
        raise
    finally:
        raw.close()
