"""Small checks shared by the edits: fetch a row or say it is missing, clean a name, split a
list, bump a grid's version (the optimistic lock).

Every function here works inside the caller's transaction and raises
:class:`~gridmap.errors.InputError` or :class:`~gridmap.errors.ConflictError` with a message in
Chinese and English.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select, update

from gridmap.errors import ConflictError, InputError
from gridmap.repository import table

__all__ = ["bump_grid", "clean_name", "fetch_row", "split_list"]


def fetch_row(
    conn: Connection,
    name: str,
    row_id: int | None,
    what: str,
    known: Mapping[int, dict] | None = None,
) -> dict:
    """One row as a dict, or an InputError naming what was not found.

    ``known`` holds the table's rows already read (bulk imports): looked up there, not queried.
    """
    if row_id is None:
        raise InputError(f"未指定{what} / no {name} given")
    if known is not None:
        row = known.get(int(row_id))
        if row is None:
            raise InputError(f"{what} {row_id} 不存在 / {name} {row_id} does not exist")
        return dict(row)
    tbl = table(name)
    row = conn.execute(select(tbl).where(tbl.c.id == int(row_id))).mappings().first()
    if row is None:
        raise InputError(f"{what} {row_id} 不存在 / {name} {row_id} does not exist")
    return dict(row)


def clean_name(name: str, what: str = "名称", max_len: int = 100) -> str:
    """``name`` stripped, or an InputError when it is empty or longer than ``max_len``."""
    text = (name or "").strip()
    if not text:
        raise InputError(f"{what}不能为空 / the {what} must not be empty")
    if len(text) > max_len:
        raise InputError(f"{what}过长(最多 {max_len} 字) / too long (at most {max_len})")
    return text


def bump_grid(conn: Connection, grid_id: int, version: int, **values: Any) -> int:
    """Update a grid if it still has ``version``; return the new version (optimistic lock)."""
    grid = table("grid")
    result = conn.execute(
        update(grid)
        .where(grid.c.id == int(grid_id), grid.c.version == int(version))
        .values(version=grid.c.version + 1, **values)
    )
    if result.rowcount == 1:
        return int(version) + 1
    current = conn.execute(select(grid.c.version).where(grid.c.id == int(grid_id))).scalar()
    if current is None:
        raise InputError(f"网格 {grid_id} 不存在 / grid {grid_id} does not exist")
    raise ConflictError(
        f"网格 {grid_id} 已被他人修改(版本 {current},您读取的是 {version}),请刷新后重试 / "
        f"grid {grid_id} was changed by someone else (version {current}, you read {version}); "
        "reload and try again"
    )


def split_list(text: str | None) -> list[str]:
    """Comma-separated text (ASCII or full-width commas) as its stripped, non-empty items."""
    if text is None or text != text:
        return []
    return [part.strip() for part in str(text).replace("，", ",").split(",") if part.strip()]
