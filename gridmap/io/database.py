"""Database helpers shared by import, export and restore: codes by id, rows updated by id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, select

from gridmap.db import connect
from gridmap.repository import table


def read_columns(engine_or_conn: Any, name: str, columns: Iterable[str]) -> pd.DataFrame:
    """The given columns of every row of a table, as a DataFrame (through an Engine, or a
    Connection whose open transaction the read joins)."""
    tbl = table(name)
    cols = [tbl.c[c] for c in columns]
    with connect(engine_or_conn) as conn:
        result = conn.execute(select(*cols))
        return pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))


def update_rows(conn: Any, name: str, frame: pd.DataFrame) -> int:
    """Update rows by ``id`` (bumping ``version`` where kept); the number updated."""
    if frame.empty:
        return 0
    from gridmap.repository import frame_records

    tbl = table(name)
    ids = [int(i) for i in frame["id"]]
    records = frame_records(name, frame.drop(columns=["id"]))
    for record, row_id in zip(records, ids, strict=True):
        record["_id"] = row_id
    columns = {c: bindparam(c) for c in records[0] if c != "_id"}
    stmt = tbl.update().where(tbl.c.id == bindparam("_id")).values(**columns)
    if "version" in tbl.c:
        stmt = stmt.values(version=tbl.c.version + 1)
    conn.execute(stmt, records)
    return len(records)


def max_id(tbl: Any) -> Any:
    """The SQL expression for the largest ``id`` of a table."""
    from sqlalchemy import func

    return func.max(tbl.c.id)
