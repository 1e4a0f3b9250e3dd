"""Backup and restore: every table of the database, ids included, in one GeoPackage and back.

:func:`backup` writes the file, :func:`backup_bytes` gives its bytes for a download (the
temporary file, which holds every person's data and the password hashes, removed before it
returns), :func:`restore` puts a backup back. A restore never passes the backup's audit rows
off as this database's history: every row it adds is marked ``origin = "restored"``
(:data:`gridmap.auth.auditing.RESTORED`), whatever the file says.

Named ``backups`` so that :func:`gridmap.io.backup` (the function) does not shadow the module.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Boolean, Connection, Date, DateTime, Engine, Integer, select

from gridmap import auth
from gridmap.auth.auditing import RESTORED
from gridmap.db import head_revision, transaction
from gridmap.errors import InputError
from gridmap.io.database import max_id, update_rows
from gridmap.io.layers import ImportRejected, file_error
from gridmap.models import GEOMETRY_TABLES, street_tables, table_order
from gridmap.repository import (
    insert_frame,
    read_query,
    read_table,
    refresh_building_grids,
    table,
)

BACKUP_FORMAT = 1
_META_LAYER = "gridmap_backup"
#: Tables a backup leaves out: the state of this server, not the street's data — the login
#: throttle, and the demo's fingerprint (a restored street is never taken for the unchanged
#: demo, so its demo logins stay off).
NOT_BACKED_UP: frozenset[str] = frozenset({"login_attempt", "demo_fingerprint"})


def _missing(value: Any) -> bool:
    """None, NaN, NaT or NA — but not an empty string, which a backup keeps as it is."""
    return (
        value is None
        or value is pd.NaT
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    )


def _column_kind(col: Any) -> str:
    if col.name == "geom":
        return "geometry"
    if isinstance(col.type, Boolean):
        return "bool"
    if isinstance(col.type, DateTime):
        return "datetime"
    if isinstance(col.type, Date):
        return "date"
    if isinstance(col.type, Integer):
        return "int"
    return "str"


def backup(engine: Engine, path: str | Path, progress: Callable[[str], None] | None = None):
    """Write every table of the database — the street, ids included — to one GeoPackage
    (all but the server's own state, :data:`NOT_BACKED_UP`).

    Spatial tables become GeoPackage feature layers, the others attribute tables; dates and
    times are stored as ISO text so nothing is rounded; a ``gridmap_backup`` table records the
    schema revision and each table's columns and row count.

    Returns
    -------
    dict
        Rows written per table.
    """
    auth.current_principal().require("backup")  # every table, personal data in clear
    import pyogrio

    path = Path(path)
    if path.exists():
        path.unlink()
    meta: dict[str, Any] = {"format": BACKUP_FORMAT, "schema": head_revision(), "tables": {}}
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for tbl in table_order()[0]:
            if tbl.name in NOT_BACKED_UP:
                continue
            if progress:
                progress(tbl.name)
            frame = read_table(conn, tbl.name)
            kinds = {c.name: _column_kind(c) for c in tbl.columns}
            meta["tables"][tbl.name] = {"rows": len(frame), "columns": kinds}
            counts[tbl.name] = len(frame)
            if frame.empty:
                continue
            plain = pd.DataFrame({c: frame[c] for c in frame.columns if c != "geom"})
            for col, kind in kinds.items():
                if kind in ("datetime", "date"):
                    plain[col] = [None if _missing(v) else v.isoformat() for v in frame[col]]
                elif kind in ("int", "bool"):
                    plain[col] = pd.array(
                        [None if _missing(v) else int(v) for v in frame[col]], dtype="Int64"
                    )
                elif kind == "str":
                    plain[col] = [None if _missing(v) else str(v) for v in frame[col]]
            if tbl.name in GEOMETRY_TABLES:
                out = gpd.GeoDataFrame(plain, geometry=list(frame.geometry.values), crs=4326)
                pyogrio.write_dataframe(
                    out, path, layer=str(tbl.name), driver="GPKG", geometry_type="Unknown"
                )
            else:
                pyogrio.write_dataframe(plain, path, layer=str(tbl.name), driver="GPKG")
    pyogrio.write_dataframe(
        pd.DataFrame({"key": ["meta"], "value": [json.dumps(meta, ensure_ascii=False)]}),
        path,
        layer=_META_LAYER,
        driver="GPKG",
    )
    return counts


def backup_bytes(
    engine: Engine, progress: Callable[[str], None] | None = None
) -> tuple[bytes, dict[str, int]]:
    """:func:`backup` as the bytes of the GeoPackage, for a download.

    The file is written in a private temporary folder (mode 0700) that is removed before this
    returns, whether the backup succeeded or not: it holds every person's data in clear and
    the password hashes. Needs the ``backup`` permission (checked before anything is written).

    Returns
    -------
    tuple
        The GeoPackage's bytes and the rows written per table.
    """
    auth.current_principal().require("backup")
    with tempfile.TemporaryDirectory(prefix="gridmap-backup-") as folder:
        path = Path(folder) / "backup.gpkg"
        counts = backup(engine, path, progress)
        return path.read_bytes(), counts


def restore(engine: Engine, path: str | Path, force: bool = False) -> dict[str, int]:
    """Put a :func:`backup` GeoPackage back into a database, ids and all, in one transaction.

    The buildings' stored grids are recomputed from the restored active plans
    (:func:`gridmap.repository.refresh_building_grids`) in the same transaction. The
    backup's audit rows the live log lacks are added marked ``origin = "restored"``: a file
    can be edited, so its rows are shown as history from a backup, never as live rows.

    Parameters
    ----------
    force : bool
        Replace what the database holds (deleted in the same transaction). Without it a
        database that already holds a street is refused.

    Raises
    ------
    InputError
        When the file is not a gridmap backup, was made by another schema revision, or the
        database is not empty and ``force`` is False. Nothing is changed.
    """
    principal = auth.current_principal()
    principal.require("backup")
    import pyogrio

    path = Path(path)
    shown = path.name
    if not path.is_file() or path.stat().st_size == 0:
        raise file_error(shown, "备份文件不存在或是空的", "the backup file is missing or empty")
    with path.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise file_error(shown, "不是 GeoPackage 备份文件", "not a GeoPackage backup")
    try:
        layers = {str(n) for n, _ in pyogrio.list_layers(path)}
        if _META_LAYER not in layers:
            raise file_error(
                shown, "不是 gridmap 备份(缺少 gridmap_backup 表)", "not a gridmap backup"
            )
        meta = json.loads(pyogrio.read_dataframe(path, layer=_META_LAYER)["value"].iloc[0])
    except ImportRejected:
        raise
    except Exception as exc:
        raise file_error(shown, "备份文件已损坏", f"the backup is damaged: {exc}") from exc
    if meta.get("schema") != head_revision():
        raise file_error(
            shown,
            f"备份的数据库版本 {meta.get('schema')} 与当前 {head_revision()} 不同",
            f"the backup has schema {meta.get('schema')}, this gridmap {head_revision()}",
        )
    order, late = table_order()
    frames: dict[str, pd.DataFrame] = {}
    for tbl in order:
        info = meta["tables"].get(tbl.name, {"rows": 0, "columns": {}})
        if not info["rows"]:
            continue
        read = pyogrio.read_dataframe(path, layer=str(tbl.name))
        if len(read) != info["rows"]:
            raise file_error(shown, f"表 {tbl.name} 行数不符", f"table {tbl.name} is incomplete")
        out = pd.DataFrame(index=read.index)
        for col, kind in info["columns"].items():
            if kind == "geometry":
                out[col] = list(read.geometry.values)
                continue
            series = read[col]
            if kind in ("int", "bool"):
                cast = bool if kind == "bool" else int
                out[col] = [None if _missing(v) else cast(round(float(v))) for v in series]
            elif kind == "datetime":
                out[col] = [None if _missing(v) else dt.datetime.fromisoformat(v) for v in series]
            elif kind == "date":
                out[col] = [None if _missing(v) else dt.date.fromisoformat(v) for v in series]
            else:
                out[col] = [None if _missing(v) else str(v) for v in series]
            out[col] = out[col].astype(object)
        frames[tbl.name] = out
    from gridmap.bootstrap import replace_street

    with transaction(engine) as conn:
        holds = conn.execute(select(max_id(table("street")))).scalar() is not None
        if holds and not force:
            raise InputError(
                "数据库中已有数据;恢复会替换全部内容,请加 --force 确认 / the database already "
                "holds data; restoring replaces all of it: confirm with --force. Nothing was "
                "changed."
            )
        counts, _ = replace_street(
            conn, lambda c: _restore_frames(c, frames, late), "restore", {"file": shown}
        )
        # a backup made before the assignment rule changed is brought up to it, in the same
        # transaction (a backup of this gridmap changes nothing here)
        refresh_building_grids(conn)
    return counts


def _restore_frames(conn: Connection, frames: dict[str, pd.DataFrame], late: list) -> dict:
    """Write a backup's tables into a street emptied by ``replace_street``.

    The live accounts and audit log stay (append-only): the backup's users are merged by name
    (:func:`_merge_users`), its audit rows appended where the live log lacks them
    (:func:`_append_audit_rows`), and every reference to a user follows the merge.
    """
    late_cols = [fk.parent.name for fk in late]
    users = frames.pop("user", pd.DataFrame(columns=["id", "name", *late_cols]))
    log_rows = frames.pop("audit_log", None)
    user_ids, added = _merge_users(conn, users, late_cols)
    refs = [(t.name, fk.parent.name) for t in street_tables() for fk in t.foreign_keys
            if fk.column.table.name == "user"]  # fmt: skip
    for name, col in refs:
        if name in frames and col in frames[name]:
            frames[name][col] = frames[name][col].map(lambda v: user_ids.get(v, v))
    counts = {t.name: insert_frame(conn, t.name, frames[t.name])
              for t in street_tables() if t.name in frames}  # fmt: skip
    if not added.empty:  # their scope points into the data just written
        update_rows(conn, "user", added[["id", *late_cols]])
    counts["user"] = len(users)
    counts["audit_log"] = _append_audit_rows(conn, log_rows, user_ids)
    return counts


def _merge_users(
    conn: Connection, users: pd.DataFrame, late_cols: list[str]
) -> tuple[dict[int, int], pd.DataFrame]:
    """Add the backup's users the database lacks.

    A live user of the same name is the same account (kept as it is). Others keep their id
    when it is free and get a new one when it is not; they are written with an empty scope.

    Returns
    -------
    tuple
        Backup id → live id for every backup user, and the added users' rows (under their
        live ids) with the scope the backup gave them, to set once the street is in.
    """
    user = table("user")
    live = dict(conn.execute(select(user.c.name, user.c.id)).all())
    taken = set(live.values())
    user_ids: dict[int, int] = {}
    fresh = users[~users["name"].isin(list(live))]
    keep_id = fresh[~fresh["id"].isin(list(taken))]
    insert_frame(conn, "user", keep_id.assign(**dict.fromkeys(late_cols)))
    user_ids |= {int(i): int(i) for i in keep_id["id"]}
    for row in fresh[fresh["id"].isin(list(taken))].to_dict("records"):  # clashes: a few
        values = {k: v for k, v in row.items() if k != "id"} | dict.fromkeys(late_cols)
        user_ids[int(row["id"])] = int(
            conn.execute(user.insert().values(**values)).inserted_primary_key[0]
        )
    added = fresh.assign(id=fresh["id"].map(lambda v: user_ids[int(v)]))
    user_ids |= {int(r["id"]): live[r["name"]] for r in users.to_dict("records")
                 if r["name"] in live}  # fmt: skip
    return user_ids, added


_AUDIT_CONTENT = ["at", "action", "entity", "before", "after"]


def _audit_keys(frame: pd.DataFrame) -> pd.Series:
    """One comparable text per audit row: its time (to the microsecond) and content."""
    at = pd.to_datetime(frame["at"]).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    rest = frame[_AUDIT_CONTENT[1:]].astype(object).where(frame[_AUDIT_CONTENT[1:]].notna(), "")
    return at.str.cat(rest.astype(str), sep="\x1f")


def _append_audit_rows(
    conn: Connection, rows: pd.DataFrame | None, user_ids: dict[int, int]
) -> int:
    """Append the backup's audit rows the live log lacks, each marked restored; return how many.

    A live row with the same id and the same content is the same event (the backup came from
    this database) and is not written twice. Rows whose id is free keep it (a restore into a
    fresh database brings the whole history back, ids and all); rows whose id the live log uses
    for another event get a new one. User ids follow the account merge. Every row written gets
    ``origin = "restored"`` (:data:`~gridmap.auth.auditing.RESTORED`) whatever the file says,
    so an edited backup cannot forge live history.
    """
    if rows is None or rows.empty:
        return 0
    log = table("audit_log")
    rows = rows.assign(user_id=rows["user_id"].map(lambda v: user_ids.get(v, v)), origin=RESTORED)
    is_user = rows["entity"] == "user"
    rows.loc[is_user, "entity_id"] = rows.loc[is_user, "entity_id"].map(
        lambda v: user_ids.get(v, v)
    )
    query = select(*(log.c[c] for c in ["id", *_AUDIT_CONTENT]))
    live = read_query(conn, query.where(log.c.id.in_([int(i) for i in rows["id"]])), False)
    live_keys = dict(zip(live["id"], _audit_keys(live), strict=True))
    same = rows["id"].map(live_keys).eq(_audit_keys(rows))
    clash = rows["id"].isin(list(live_keys)) & ~same
    insert_frame(conn, "audit_log", rows[~same & ~clash])
    insert_frame(conn, "audit_log", rows[clash].drop(columns="id"))
    return int((~same).sum())
