"""诉求办理: residents' requests through collect–handle–evaluate (收、办、评).

Collect (收)
    :func:`log_request` places a request by a point (map click), a building code or an address
    matched to a building name, finds its grid and building, and gives it a due time from its
    category's service level (:data:`gridmap.settings.REQUEST_SLA_HOURS`).
Handle (办)
    :func:`assign` (to a grid worker), :func:`dispatch` (to a Party member registered in the
    grid, 党员领单), :func:`send_to_department` (部门接单), :func:`escalate` (community → street),
    :func:`resolve` (with a note and where it was decided: 楼栋听事、小区议事、社区决事),
    :func:`reject` (不予受理, with a reason).
Evaluate (评)
    :func:`evaluate` records the resident's rating 1–5; a rating at or below
    :data:`~gridmap.settings.REQUEST_REOPEN_MAX_RATING` reopens the request (:func:`reopen`).

Every move is checked against :data:`TRANSITIONS` and written in one transaction: the request
row (only if its status is still the one read — concurrent moves are refused with a
:class:`~gridmap.errors.ConflictError`), its :class:`~gridmap.models.RequestEvent`, and member
points where the settings give them. Illegal moves raise :class:`~gridmap.errors.ConflictError`,
bad values :class:`~gridmap.errors.InputError`, each with a sentence in Chinese and English.

The analysis half is pure and vectorised (no database): :func:`place_points`,
:func:`place_requests`, :func:`due_times`, :func:`overdue_mask`, :func:`request_stats`,
:func:`suggest_members`, :func:`prepare_hotline` and the Open311 GeoReport v2 builders
:func:`open311_services` / :func:`open311_requests`. The functions taking an ``engine`` load the
layers they need (one query each) and call them.

Time is always a parameter (``now``, a naive local datetime): the demo street's "now" is
:data:`~gridmap.settings.DEMO_REFERENCE_DATE`, tests choose theirs, and :func:`clock` gives the
app's.

Personal data: reporters are stored masked (张*明); member and worker names leave this module
masked unless a caller passes ``personal_data=True`` (the hook that roles will decide on).
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import logging
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from gridmap import settings
from gridmap.auth import (
    Principal,
    audit,
    check_scope,
    current_principal,
    grid_ids,
    mask_name,
    mask_names,
    scope_rows,
)
from gridmap.crs import gcj02_to_wgs84, metric_crs
from gridmap.db import connect, transaction
from gridmap.errors import ConflictError, InputError, PermissionDenied
from gridmap.models import (
    AssigneeKind,
    DecisionLevel,
    MemberCategory,
    PointKind,
    RequestSource,
    RequestStatus,
)
from gridmap.repository import active_grids, read_table, table

log = logging.getLogger(__name__)

__all__ = [
    "ACTION_LABELS",
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "STATS_COLUMNS",
    "STATUS_LABELS",
    "TRANSITIONS",
    "Action",
    "HotlineImport",
    "allowed_actions",
    "assign",
    "clock",
    "dispatch",
    "due_times",
    "escalate",
    "evaluate",
    "export_open311",
    "filter_requests",
    "guess_mapping",
    "import_hotline",
    "latest_event_at",
    "load_requests",
    "log_request",
    "map_frame",
    "match_addresses",
    "member_table",
    "open311_requests",
    "open311_services",
    "overdue_mask",
    "place_points",
    "place_requests",
    "prepare_hotline",
    "read_hotline",
    "reject",
    "reopen",
    "request_detail",
    "request_stats",
    "resolve",
    "send_to_department",
    "staff",
    "suggest_members",
    "timeline",
]

S = RequestStatus
#: Statuses of a request still being handled.
OPEN_STATUSES: tuple[str, ...] = (S.received.value, S.assigned.value, S.escalated.value)
#: Statuses of a request whose handling has ended (Open311 "closed").
CLOSED_STATUSES: tuple[str, ...] = (S.resolved.value, S.evaluated.value, S.rejected.value)

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "received": ("已受理", "Received"),
    "assigned": ("已派单", "Assigned"),
    "escalated": ("已上报", "Escalated"),
    "resolved": ("已办结", "Resolved"),
    "evaluated": ("已评价", "Evaluated"),
    "rejected": ("不予受理", "Rejected"),
}
ASSIGNEE_LABELS: dict[str, tuple[str, str]] = {
    "grid_worker": ("网格员", "Grid worker"),
    "member": ("党员领单", "Party member"),
    "department": ("部门接单", "Department"),
    "street": ("上报街道", "Street"),
}
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "inspection": ("查(巡查)", "Inspection"),
    "visit": ("访(走访)", "Visit"),
    "report": ("报(居民上报)", "Resident report"),
    "hotline": ("12345 热线", "12345 hotline"),
}
DECISION_LABELS: dict[str, tuple[str, str]] = {
    "building": ("楼栋听事", "Building"),
    "compound": ("小区议事", "Compound"),
    "community": ("社区决事", "Community"),
}


class Action(enum.StrEnum):
    """The moves of a request."""

    log = "log"  # 受理
    assign = "assign"  # 派单至网格员
    dispatch = "dispatch"  # 党员领单
    send_to_department = "send_to_department"  # 部门接单
    escalate = "escalate"  # 上报街道
    resolve = "resolve"  # 办结
    evaluate = "evaluate"  # 评价
    reject = "reject"  # 不予受理
    reopen = "reopen"  # 重办


ACTION_LABELS: dict[str, tuple[str, str]] = {
    "log": ("受理", "Log"),
    "assign": ("派单至网格员", "Assign to grid worker"),
    "dispatch": ("党员领单", "Dispatch to member"),
    "send_to_department": ("部门接单", "Send to department"),
    "escalate": ("上报街道", "Escalate to street"),
    "resolve": ("办结", "Resolve"),
    "evaluate": ("居民评价", "Evaluate"),
    "reject": ("不予受理", "Reject"),
    "reopen": ("重新办理", "Reopen"),
}

#: The legal moves: (status before, action) → status after. ``reopen`` goes back to whoever
#: handled it: ``escalated`` when the street had it, ``assigned`` when someone else did,
#: ``received`` when no one did (a rejected request taken up again).
TRANSITIONS: dict[tuple[str | None, Action], str] = {
    (None, Action.log): S.received,
    **{
        (before, action): S.assigned
        for before in (S.received, S.assigned)
        for action in (Action.assign, Action.dispatch, Action.send_to_department)
    },
    (S.escalated, Action.send_to_department): S.assigned,  # the street hands it to a department
    (S.received, Action.escalate): S.escalated,
    (S.assigned, Action.escalate): S.escalated,
    (S.assigned, Action.resolve): S.resolved,
    (S.escalated, Action.resolve): S.resolved,
    (S.received, Action.reject): S.rejected,
    (S.resolved, Action.evaluate): S.evaluated,
    (S.resolved, Action.reopen): S.assigned,
    (S.evaluated, Action.reopen): S.assigned,
    (S.rejected, Action.reopen): S.received,
}


def allowed_actions(status: str) -> list[Action]:
    """The actions a request in ``status`` allows, in workflow order."""
    return [a for a in Action if (status, a) in TRANSITIONS]


def _status_text(status: str | None) -> str:
    if status is None:
        return "—"
    zh, en = STATUS_LABELS.get(str(status), (status, status))
    return f"{zh} / {en}"


def _check_transition(code: str, status: str, action: Action) -> str:
    """The status after ``action``, or a ConflictError naming what the status allows."""
    after = TRANSITIONS.get((status, action))
    if after is None:
        allowed = "、".join(ACTION_LABELS[a][0] for a in allowed_actions(status)) or "无"
        zh, en = ACTION_LABELS[action]
        raise ConflictError(
            f"诉求 {code} 当前为「{_status_text(status)}」，不能{zh} / request {code} is "
            f"{STATUS_LABELS[status][1].lower()}: cannot {en.lower()}. 可进行的操作 / allowed: "
            f"{allowed}"
        )
    return str(after)


# --- time -------------------------------------------------------------------------------------


def clock(latest: dt.datetime | None = None) -> dt.datetime:
    """The app's "now": the local wall clock (naive, :data:`settings.LOCAL_TIMEZONE`), never
    earlier than the latest recorded event (``latest``), so a new event never precedes one."""
    now = dt.datetime.now(zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE)).replace(tzinfo=None)
    now = now.replace(microsecond=0)
    if latest is not None and pd.notna(latest) and latest > now:
        return pd.Timestamp(latest).to_pydatetime()
    return now


def _naive(now: dt.datetime) -> dt.datetime:
    """A naive local datetime (stored times are naive local time)."""
    if not isinstance(now, dt.datetime):
        raise InputError(f"时间必须是日期时间 / now must be a datetime, not {now!r}")
    if now.tzinfo is not None:
        now = now.astimezone(zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE)).replace(tzinfo=None)
    return now.replace(microsecond=0)


def sla_hours(category: str) -> int:
    """Hours to resolve a request of ``category`` (its service level)."""
    return settings.REQUEST_SLA_HOURS.get(category, settings.DEFAULT_SLA_HOURS)


def due_times(categories: pd.Series, received: pd.Series) -> pd.Series:
    """Due time of each request: received time + its category's service level (vectorised).

    Parameters
    ----------
    categories : Series of str
    received : Series of datetime64

    Returns
    -------
    Series of datetime64, aligned with ``received``.
    """
    hours = pd.Series(categories, copy=False).map(settings.REQUEST_SLA_HOURS)
    hours = hours.fillna(settings.DEFAULT_SLA_HOURS).astype(float)
    return pd.to_datetime(pd.Series(received, copy=False)) + pd.to_timedelta(
        hours.to_numpy(), unit="h"
    )


def overdue_mask(requests: pd.DataFrame, now: dt.datetime, open_only: bool = False) -> pd.Series:
    """Which requests are overdue: not resolved by their due time.

    An open request is overdue when ``now`` is past its due time; a resolved (or evaluated) one
    when it was resolved after its due time. Rejected requests and requests without a due time
    are never overdue.

    Parameters
    ----------
    requests : DataFrame
        Columns ``status``, ``due_at``, ``resolved_at``.
    now : datetime
    open_only : bool
        Count only open requests that are past due now (the map's "overdue").
    """
    now = pd.Timestamp(_naive(now))
    due = pd.to_datetime(requests["due_at"])
    resolved = pd.to_datetime(requests["resolved_at"])
    status = requests["status"].astype(str)
    is_open = status.isin(OPEN_STATUSES)
    late_open = is_open & (due < now)
    if open_only:
        return late_open.fillna(False).astype(bool)
    late_done = status.isin([S.resolved.value, S.evaluated.value]) & (resolved > due)
    return (late_open | late_done).fillna(False).astype(bool)


# --- placement --------------------------------------------------------------------------------


_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def normalise_address(text: str | None) -> str:
    """An address or building name reduced for matching: NFKC, no spaces or punctuation,
    ASCII digits, 号楼/幢/座 → 栋 (``"东岳小区 3 号楼"`` → ``"东岳小区3栋"``)."""
    if text is None or text != text:
        return ""
    out = unicodedata.normalize("NFKC", str(text)).translate(_FULLWIDTH)
    out = re.sub(r"[\s,，.。·\-—_()（）#]", "", out)
    out = re.sub(r"(\d+)(?:号楼|幢|座|号栋)", r"\1栋", out)
    return out


def match_addresses(addresses: Sequence[str | None], buildings: pd.DataFrame) -> pd.DataFrame:
    """Match address texts to buildings by name.

    An address matches a building whose normalised name (:func:`normalise_address`) it equals,
    else the longest building name it contains (``"车城路街道桂园嘉园3栋2单元501"`` → 桂园嘉园3栋;
    ``"桂园嘉园13栋"`` does not contain ``"桂园嘉园3栋"``). Two buildings of that name are
    ambiguous unless the address also names one's community.

    Parameters
    ----------
    addresses : sequence of str
    buildings : DataFrame
        ``id, name``; optional ``community_name``.

    Returns
    -------
    DataFrame
        Per address: ``building_id`` (nullable Int64) and ``reason`` (why none, else None).
    """
    names = buildings["name"].map(normalise_address).to_numpy(dtype=object)
    ids = buildings["id"].to_numpy()
    communities = (
        buildings["community_name"].fillna("").map(normalise_address).to_numpy(dtype=object)
        if "community_name" in buildings
        else np.full(len(buildings), "", dtype=object)
    )
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if name:
            by_name.setdefault(name, []).append(i)
    ordered = sorted(by_name, key=len, reverse=True)
    found: list[int | None] = []
    reasons: list[str | None] = []
    for raw in addresses:
        text = normalise_address(raw)
        if not text:
            found.append(None)
            reasons.append("缺少地址 / no address")
            continue
        hits = by_name.get(text)
        if hits is None:
            name = next((n for n in ordered if n in text), None)
            hits = by_name.get(name) if name is not None else None
        if not hits:
            found.append(None)
            reasons.append(f"地址「{raw}」未匹配到楼栋 / address matches no building name")
            continue
        if len(hits) > 1:
            named = [i for i in hits if communities[i] and communities[i] in text]
            if len(named) == 1:
                hits = named
        if len(hits) > 1:
            found.append(None)
            reasons.append(
                f"地址「{raw}」对应 {len(hits)} 栋同名楼栋，请写明社区 / address matches "
                f"{len(hits)} buildings of that name: add the community"
            )
            continue
        found.append(int(ids[hits[0]]))
        reasons.append(None)
    return pd.DataFrame(
        {"building_id": pd.array(found, dtype="Int64"), "reason": pd.Series(reasons, dtype=object)}
    )


def place_points(
    points: Sequence[shapely.Point] | np.ndarray,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    snap_m: float | None = None,
) -> pd.DataFrame:
    """The grid and building of each point, for whole arrays at once (STRtree).

    A point inside a building, or within ``snap_m`` metres of one (default
    :data:`settings.REQUEST_BUILDING_SNAP_M`), is in the nearest such building. Its grid is the
    building's cached grid when it has one, else the active grid containing the point (the
    lowest grid id where two overlap).

    Parameters
    ----------
    points : array of shapely Points, EPSG:4326
    grids : GeoDataFrame
        Active grids: ``id`` and polygons (EPSG:4326).
    buildings : GeoDataFrame
        ``id``, optional ``grid_id``, and polygons (EPSG:4326).
    snap_m : float, optional

    Returns
    -------
    DataFrame
        ``grid_id`` and ``building_id`` (nullable Int64), one row per point in order.
    """
    pts = np.asarray(points, dtype=object)
    n = len(pts)
    grid_id = np.full(n, -1, dtype="int64")
    building_id = np.full(n, -1, dtype="int64")
    valid = ~shapely.is_missing(pts) & ~shapely.is_empty(pts) if n else np.zeros(0, bool)
    if n and valid.any() and len(buildings):
        snap = settings.REQUEST_BUILDING_SNAP_M if snap_m is None else snap_m
        crs = metric_crs(buildings)
        b_m = buildings.geometry.to_crs(crs).to_numpy()
        p_m = gpd.GeoSeries(pts[valid], crs=settings.STORAGE_SRID).to_crs(crs).to_numpy()
        tree = shapely.STRtree(b_m)
        p_idx, b_idx = tree.query_nearest(p_m, max_distance=snap, all_matches=False)
        where = np.flatnonzero(valid)[p_idx]
        building_id[where] = buildings["id"].to_numpy()[b_idx]
        if "grid_id" in buildings:
            cached = pd.array(buildings["grid_id"], dtype="Int64")[b_idx]
            has = ~pd.isna(cached)
            grid_id[where[has]] = np.asarray(cached[has], dtype="int64")
    need = valid & (grid_id < 0)
    if need.any() and len(grids):
        tree = shapely.STRtree(grids.geometry.to_numpy())
        p_idx, g_idx = tree.query(pts[need], predicate="intersects")
        ids = grids["id"].to_numpy()[g_idx]
        first = pd.Series(ids).groupby(p_idx).min()  # lowest id where grids overlap
        grid_id[np.flatnonzero(need)[first.index.to_numpy()]] = first.to_numpy()
    return pd.DataFrame(
        {
            "grid_id": pd.array(np.where(grid_id < 0, None, grid_id), dtype="Int64"),
            "building_id": pd.array(np.where(building_id < 0, None, building_id), dtype="Int64"),
        }
    )


def _point_in_building(geoms: np.ndarray) -> np.ndarray:
    """A point inside each building (its point on surface), rounded like stored coordinates."""
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    return shapely.set_precision(pts, 10.0**-settings.COORDINATE_DECIMALS)


def place_requests(
    rows: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    crs: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Place rows by coordinates, else building code, else address text (vectorised).

    Parameters
    ----------
    rows : DataFrame
        Any of ``lon, lat`` (numbers), ``building_code``, ``address``.
    grids, buildings : GeoDataFrame
        Active grids (``id``) and buildings (``id, code, name, grid_id``), EPSG:4326.
    crs : {"wgs84", "gcj02"}
        Coordinates of ``lon, lat``: WGS 84, or GCJ-02 (高德/腾讯) converted to WGS 84.

    Returns
    -------
    GeoDataFrame
        Per row, in order: ``geom`` (the point), ``grid_id``, ``building_id``, ``placed_by``
        (``"point" | "building_code" | "address"``) and ``reason`` (why the row could not be
        placed — no usable location, or in no grid — else None).
    """
    if crs not in ("wgs84", "gcj02"):
        raise InputError(f"坐标系只能是 wgs84 或 gcj02 / crs must be wgs84 or gcj02, not {crs!r}")
    n = len(rows)
    index = pd.RangeIndex(n)
    col = lambda name: (  # noqa: E731
        rows[name].reset_index(drop=True) if name in rows else pd.Series([None] * n, dtype=object)
    )
    lon = pd.to_numeric(col("lon"), errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(col("lat"), errors="coerce").to_numpy(dtype=float)
    has_xy = np.isfinite(lon) & np.isfinite(lat)
    bad_xy = has_xy & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    has_xy &= ~bad_xy
    if crs == "gcj02" and has_xy.any():
        lon[has_xy], lat[has_xy] = gcj02_to_wgs84(lon[has_xy], lat[has_xy])
    geoms = np.full(n, None, dtype=object)
    geoms[has_xy] = shapely.points(np.column_stack([lon[has_xy], lat[has_xy]]))
    placed_by = np.where(has_xy, "point", None).astype(object)
    reason = np.full(n, None, dtype=object)
    reason[bad_xy] = "坐标超出经纬度范围 / coordinates out of range"

    building_id = pd.array([None] * n, dtype="Int64")
    b_index = pd.Series(np.arange(len(buildings)), index=buildings["code"].astype(str))
    codes = col("building_code").astype(object)
    by_code = ~has_xy & ~bad_xy & codes.notna().to_numpy() & (codes.astype(str).str.strip() != "")
    if by_code.any():
        wanted = codes[by_code].astype(str).str.strip()
        pos = b_index.reindex(wanted.to_numpy()).to_numpy()
        known = ~np.isnan(pos)
        rows_known = np.flatnonzero(by_code)[known]
        b_rows = pos[known].astype(int)
        geoms[rows_known] = _point_in_building(buildings.geometry.to_numpy()[b_rows])
        building_id[rows_known] = buildings["id"].to_numpy()[b_rows]
        placed_by[rows_known] = "building_code"
        for r, code in zip(np.flatnonzero(by_code)[~known], wanted[~known], strict=True):
            reason[r] = f"楼栋编码 {code} 不存在 / no building with code {code}"
    addresses = col("address")
    by_address = (
        ~has_xy & ~bad_xy & ~by_code & addresses.notna().to_numpy() & (addresses.astype(str) != "")
    )
    if by_address.any():
        matched = match_addresses(list(addresses[by_address]), buildings)
        rows_addr = np.flatnonzero(by_address)
        ok = matched["building_id"].notna().to_numpy()
        if ok.any():
            by_id = pd.Series(np.arange(len(buildings)), index=buildings["id"].to_numpy())
            pos = by_id.reindex(matched["building_id"][ok].to_numpy()).to_numpy()
            geoms[rows_addr[ok]] = _point_in_building(buildings.geometry.to_numpy()[pos])
            building_id[rows_addr[ok]] = matched["building_id"][ok].to_numpy()
            placed_by[rows_addr[ok]] = "address"
        reason[rows_addr[~ok]] = matched["reason"][~ok].to_numpy()
    nothing = ~has_xy & ~bad_xy & ~by_code & ~by_address
    reason[nothing] = "缺少坐标、楼栋编码和地址 / no coordinates, building code or address"

    located = np.array([g is not None for g in geoms])
    placed = place_points(geoms[located], grids, buildings) if located.any() else None
    grid_id = pd.array([None] * n, dtype="Int64")
    if placed is not None:
        rows_loc = np.flatnonzero(located)
        grid_id[rows_loc] = placed["grid_id"].to_numpy()
        from_point = placed_by[rows_loc] == "point"
        building_id[rows_loc[from_point]] = placed["building_id"].to_numpy()[from_point]
        # placed by building: its cached grid wins (place_points found it from the point)
        known_b = ~from_point
        if known_b.any() and "grid_id" in buildings:
            cached = (
                buildings.set_index("id")["grid_id"]
                .reindex(np.asarray(building_id[rows_loc[known_b]], dtype="int64"))
                .to_numpy()
            )
            keep = pd.notna(cached)
            target = rows_loc[known_b][keep]
            grid_id[target] = pd.array(cached[keep], dtype="Int64")
    no_grid = located & pd.isna(grid_id)
    reason[no_grid] = "位置不在本街道任何网格内 / the location lies in no grid of this street"
    return gpd.GeoDataFrame(
        {
            "grid_id": grid_id,
            "building_id": building_id,
            "placed_by": placed_by,
            "reason": reason,
        },
        geometry=gpd.GeoSeries(geoms, crs=settings.STORAGE_SRID),
        index=index,
    ).rename_geometry("geom")


# --- loading ----------------------------------------------------------------------------------


def load_requests(engine: Engine | Connection, scope: Principal | None = None) -> gpd.GeoDataFrame:
    """Every request in one query (EPSG:4326 points), datetimes as datetime64.

    Only the requests ``scope`` (default: the acting principal) may see — its communities, a
    grid worker's grid — with the text hidden from roles that may not read it
    (:func:`gridmap.auth.scope_rows`).
    """
    frame = read_table(engine, "request")
    frame = scope_rows(engine, frame, "request", scope or current_principal())
    for col in ("received_at", "due_at", "resolved_at"):
        frame[col] = pd.to_datetime(frame[col])
    for col in ("building_id", "grid_id", "assignee_id", "rating"):
        frame[col] = pd.array(frame[col], dtype="Int64")
    return frame


def _buildings(conn: Connection) -> gpd.GeoDataFrame:
    """Buildings with their community name (for address matching), one query."""
    bld, com = table("building"), table("community")
    from gridmap.repository import plain_columns, read_query

    query = (
        select(*plain_columns(bld, conn.dialect.name), com.c.name.label("community_name"))
        .outerjoin(com, com.c.id == bld.c.community_id)
        .order_by(bld.c.id)
    )
    frame = read_query(conn, query, has_geom=True)
    frame["grid_id"] = pd.array(frame["grid_id"], dtype="Int64")
    return frame


def member_table(engine: Engine | Connection, personal_data: bool = False) -> pd.DataFrame:
    """Party members with their name, grid (from the building they live in), specialties.

    Parameters
    ----------
    personal_data : bool
        Names in full; by default masked (张*明). Roles will decide this (issue 11).

    Returns
    -------
    DataFrame
        ``id, person_id, name, category, status, building_id, grid_id, specialties``.
    """
    mem, person, bld = table("member"), table("person"), table("building")
    with connect(engine) as conn:
        query = (
            select(
                mem.c.id,
                mem.c.person_id,
                person.c.name,
                mem.c.category,
                mem.c.status,
                mem.c.building_id,
                bld.c.grid_id,
                mem.c.specialties,
            )
            .join(person, person.c.id == mem.c.person_id)
            .outerjoin(bld, bld.c.id == mem.c.building_id)
            .order_by(mem.c.id)
        )
        result = conn.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    frame["category"] = frame["category"].astype(str)
    frame["grid_id"] = pd.array(frame["grid_id"], dtype="Int64")
    if not personal_data:
        frame["name"] = mask_names(frame["name"])
    return frame


# --- member suggestions -----------------------------------------------------------------------

#: Member categories never suggested for a dispatch (whereabouts unknown or away).
UNAVAILABLE_CATEGORIES = (MemberCategory.lost_contact.value, MemberCategory.floating.value)


def suggest_members(
    grid_id: int | None,
    category: str,
    members: pd.DataFrame,
    requests: pd.DataFrame,
    zones: pd.DataFrame | None = None,
    building_id: int | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Members to dispatch a request to (党员领单), best first.

    Candidates are the active members registered in the request's grid (in-service members
    double-register where they live, 双报到), not lost-contact or floating. They are ranked by:
    the request's building is in their responsibility zone (党员责任区); one of their volunteer
    specialties fits the category (:data:`settings.REQUEST_CATEGORY_SPECIALTIES`); fewest open
    requests already taken (current load); then member id.

    Parameters
    ----------
    grid_id : int or None
        None: no candidates (a request outside every grid is the street's).
    category : str
    members : DataFrame
        From :func:`member_table`.
    requests : DataFrame
        ``status, assignee_kind, assignee_id`` of every request (for the load).
    zones : DataFrame, optional
        ``member_id, building_id`` (table ``member_zone``).
    building_id : int, optional
        The request's building.
    limit : int, optional
        Default :data:`settings.REQUEST_SUGGESTIONS`.

    Returns
    -------
    DataFrame
        ``member_id, name, category, specialties, fits, in_zone, load`` (and ``reason``, a short
        Chinese explanation), at most ``limit`` rows.
    """
    limit = settings.REQUEST_SUGGESTIONS if limit is None else limit
    columns = ["member_id", "name", "category", "specialties", "fits", "in_zone", "load", "reason"]
    if grid_id is None or pd.isna(grid_id):
        return pd.DataFrame(columns=columns)
    pool = members[
        (members["grid_id"] == int(grid_id))
        & (members["status"] == "active")
        & ~members["category"].isin(UNAVAILABLE_CATEGORIES)
    ].copy()
    wanted = set(settings.REQUEST_CATEGORY_SPECIALTIES.get(category, ()))
    skills = pool["specialties"].fillna("").str.split(",")
    pool["fits"] = skills.map(lambda s: sorted(wanted.intersection(x.strip() for x in s)))
    open_taken = requests[
        requests["status"].isin(OPEN_STATUSES) & (requests["assignee_kind"] == "member")
    ]
    load = open_taken.groupby("assignee_id").size()
    pool["load"] = pool["id"].map(load).fillna(0).astype(int)
    in_zone = pd.Series(False, index=pool.index)
    if zones is not None and building_id is not None and not pd.isna(building_id):
        carers = set(zones.loc[zones["building_id"] == int(building_id), "member_id"])
        in_zone = pool["id"].isin(carers)
    pool["in_zone"] = in_zone
    pool["n_fits"] = pool["fits"].map(len)
    pool = pool.sort_values(
        ["in_zone", "n_fits", "load", "id"], ascending=[False, False, True, True]
    )
    pool = pool.head(limit)

    def why(row: pd.Series) -> str:
        parts = []
        if row["in_zone"]:
            parts.append("责任区内")
        if row["fits"]:
            parts.append("特长:" + "、".join(row["fits"]))
        parts.append(f"在办 {row['load']} 件")
        return ";".join(parts)

    out = pool.rename(columns={"id": "member_id"})
    out["fits"] = out["fits"].map("、".join)
    out["reason"] = pool.apply(why, axis=1) if len(pool) else []
    return out[columns].reset_index(drop=True)


# --- writing: collect -------------------------------------------------------------------------


def _street_code(conn: Connection) -> str:
    code = conn.execute(select(table("street").c.code).order_by(table("street").c.id)).first()
    return code[0] if code else "R"


def _next_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table("request").c.id), 0))).scalar()) + 1


def _check_person(conn: Connection, person_id: int | None, what: str = "操作人 / actor") -> None:
    if person_id is None:
        return
    person = table("person")
    if conn.execute(select(person.c.id).where(person.c.id == int(person_id))).first() is None:
        raise InputError(f"{what}：人员编号 {person_id} 不存在 / no person with id {person_id}")


def _validate_new(category: str, source: str, description: str) -> None:
    if not category or not str(category).strip():
        raise InputError("诉求类别不能为空 / category is required")
    if len(str(category)) > 40:
        raise InputError("诉求类别过长(最多40字) / category longer than 40 characters")
    if source not in {s.value for s in RequestSource}:
        known = ", ".join(s.value for s in RequestSource)
        raise InputError(f"未知的诉求来源 / unknown source {source!r}; one of {known}")


def log_request(
    engine: Engine,
    *,
    category: str,
    description: str,
    source: str,
    now: dt.datetime,
    point: tuple[float, float] | None = None,
    building_code: str | None = None,
    address: str | None = None,
    crs: str = "wgs84",
    reporter: str | None = None,
    actor_id: int | None = None,
    external_id: str | None = None,
) -> int:
    """Log a request (收): place it, give it a due time, write it and its first event.

    Parameters
    ----------
    engine : Engine
    category, description, source : str
        ``source`` one of :class:`~gridmap.models.RequestSource`.
    now : datetime
        When it was received.
    point : (lon, lat), optional
        Where it is (a map click), in ``crs``.
    building_code : str, optional
        Else the building it concerns.
    address : str, optional
        Else an address matched to a building name; always stored as given.
    crs : {"wgs84", "gcj02"}
    reporter : str, optional
        The resident's name, stored masked (张*明).
    actor_id : int, optional
        The person logging it.
    external_id : str, optional
        A source system's number (12345 工单号), unique.

    Returns
    -------
    int
        The new request's id. Its code is ``<street code>-<yyyymmdd>-<id>``.

    Raises
    ------
    InputError
        Bad category or source, no location, or a location in no grid.
    ConflictError
        The external id exists already.
    """
    now = _naive(now)
    _validate_new(category, source, description)
    lon, lat = (None, None) if point is None else point
    rows = pd.DataFrame(
        {"lon": [lon], "lat": [lat], "building_code": [building_code], "address": [address]}
    )
    with transaction(engine) as conn:
        _check_person(conn, actor_id)
        placed = place_requests(rows, active_grids(conn), _buildings(conn), crs=crs).iloc[0]
        if placed["reason"] is not None:
            raise InputError(f"无法定位诉求 / cannot place the request: {placed['reason']}")
        frame = pd.DataFrame(
            {
                "source": [source],
                "category": [str(category).strip()],
                "description": [description or ""],
                "geom": [placed["geom"]],
                "grid_id": [placed["grid_id"]],
                "building_id": [placed["building_id"]],
                "reporter": [mask_name(reporter.strip()) if reporter else None],
                "received_at": [now],
                "external_id": [external_id],
                "address": [address or None],
            }
        )
        ids = _insert_requests(conn, frame, actor_id, note=_received_note(source))
    return ids[0]


def _received_note(source: str) -> str:
    zh, _ = SOURCE_LABELS.get(source, (source, source))
    return f"受理({zh})"


def _insert_requests(
    conn: Connection,
    frame: pd.DataFrame,
    actor_id: int | None,
    note: str | pd.Series,
) -> list[int]:
    """Insert new requests (status received, due time from the SLA) and their first events."""
    from gridmap.repository import insert_frame

    if frame.empty:
        return []
    principal = current_principal()
    principal.require("edit_requests")
    allowed = grid_ids(conn, principal)
    if allowed is not None and not frame["grid_id"].isin(list(allowed)).all():
        raise PermissionDenied(
            "无权限:诉求位置不在您的管辖范围内 / permission denied: the request lies outside "
            "your community or grid"
        )
    start = _next_id(conn)
    ids = np.arange(start, start + len(frame))
    street = _street_code(conn)
    received = pd.to_datetime(frame["received_at"]).reset_index(drop=True)
    rows = gpd.GeoDataFrame(
        frame.reset_index(drop=True).assign(
            id=ids,
            code=[f"{street}-{t:%Y%m%d}-{i:04d}" for t, i in zip(received, ids, strict=True)],
            status=S.received.value,
            due_at=due_times(frame["category"].reset_index(drop=True), received),
        ),
        geometry="geom",
        crs=settings.STORAGE_SRID,
    )
    events = pd.DataFrame(
        {
            "request_id": ids,
            "at": received,
            "actor_id": pd.array([actor_id] * len(ids), dtype="Int64"),
            "from_status": None,
            "to_status": S.received.value,
            "note": note if isinstance(note, str) else pd.Series(note).to_numpy(),
        }
    )
    try:
        insert_frame(conn, "request", rows)
        insert_frame(conn, "request_event", events)
    except IntegrityError as exc:
        raise ConflictError(
            "诉求编号或工单号已存在(可能有人同时登记)，请重试 / a request with this code or "
            f"work-order number exists already (logged concurrently?): try again. ({exc.orig})"
        ) from exc
    codes = rows["code"].tolist()
    audit(conn, principal, "request_create" if len(ids) == 1 else "request_import", "request",
          int(ids[0]) if len(ids) == 1 else None, None,
          {"ids": [int(i) for i in ids], "codes": codes, "actor_id": actor_id})  # fmt: skip
    return [int(i) for i in ids]


# --- writing: handle and evaluate -------------------------------------------------------------


@dataclass(frozen=True)
class _Current:
    id: int
    code: str
    status: str
    category: str
    grid_id: int | None
    building_id: int | None
    assignee_kind: str | None
    assignee_id: int | None
    received_at: dt.datetime
    last_event_at: dt.datetime | None


def _current(conn: Connection, request_id: int) -> _Current:
    req, ev = table("request"), table("request_event")
    query = select(
        req.c.id,
        req.c.code,
        req.c.status,
        req.c.category,
        req.c.grid_id,
        req.c.building_id,
        req.c.assignee_kind,
        req.c.assignee_id,
        req.c.received_at,
    ).where(req.c.id == int(request_id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise InputError(f"诉求 {request_id} 不存在 / no request with id {request_id}")
    last = conn.execute(select(func.max(ev.c.at)).where(ev.c.request_id == row.id)).scalar()
    kind = None if row.assignee_kind is None else str(row.assignee_kind)
    return _Current(
        id=row.id,
        code=row.code,
        status=str(row.status),
        category=row.category,
        grid_id=row.grid_id,
        building_id=row.building_id,
        assignee_kind=kind,
        assignee_id=row.assignee_id,
        received_at=row.received_at,
        last_event_at=last,
    )


def _move(
    engine: Engine,
    request_id: int,
    action: Action,
    *,
    now: dt.datetime,
    actor_id: int | None,
    note: str | None,
    values: Callable[[Connection, _Current], dict[str, Any]] | None = None,
    after: Callable[[Connection, _Current, dt.datetime], None] | None = None,
) -> str:
    """One transition in one transaction: check, update the row, write the event."""
    now = _naive(now)
    with transaction(engine) as conn:
        _check_person(conn, actor_id)
        principal = check_scope(conn, None, "edit_requests", "request", request_id)
        cur = _current(conn, request_id)
        to_status = _check_transition(cur.code, cur.status, action)
        if action is Action.reopen and cur.status != S.rejected:
            if cur.assignee_kind == AssigneeKind.street:
                to_status = S.escalated.value
            elif cur.assignee_kind is None:
                to_status = S.received.value
        latest = cur.last_event_at or cur.received_at
        if latest is not None and now < latest:
            raise InputError(
                f"诉求 {cur.code}：时间 {now:%Y-%m-%d %H:%M} 早于上一环节 {latest:%Y-%m-%d %H:%M} "
                f"/ {now:%Y-%m-%d %H:%M} is before the last step ({latest:%Y-%m-%d %H:%M})"
            )
        changes = {"status": str(to_status)}
        if values is not None:
            changes |= values(conn, cur)
        _write(conn, cur, changes, now, actor_id, note, str(to_status))
        if after is not None:
            after(conn, cur, now)
        audit(conn, principal, f"request_{action.value}", "request", cur.id,
              {"status": cur.status, "assignee_kind": cur.assignee_kind,
               "assignee_id": cur.assignee_id},
              {**changes, "note": note, "actor_id": actor_id})  # fmt: skip
    return str(to_status)


def _write(
    conn: Connection,
    cur: _Current,
    changes: dict[str, Any],
    now: dt.datetime,
    actor_id: int | None,
    note: str | None,
    to_status: str,
) -> None:
    req, ev = table("request"), table("request_event")
    done = conn.execute(
        req.update().where(req.c.id == cur.id, req.c.status == cur.status).values(**changes)
    )
    if done.rowcount != 1:
        raise ConflictError(
            f"诉求 {cur.code} 已被他人处理，请刷新后重试 / request {cur.code} was changed by "
            "someone else meanwhile: reload and try again"
        )
    conn.execute(
        ev.insert().values(
            request_id=cur.id,
            at=now,
            actor_id=actor_id,
            from_status=cur.status,
            to_status=to_status,
            note=note,
        )
    )


def _require(text: str | None, what_zh: str, what_en: str) -> str:
    if text is None or not str(text).strip():
        raise InputError(f"{what_zh}不能为空 / {what_en} is required")
    return str(text).strip()


def assign(
    engine: Engine,
    request_id: int,
    worker_id: int,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
    note: str | None = None,
) -> str:
    """Assign to a grid worker (派单至网格员); returns the new status.

    ``worker_id`` is a person working in the request's grid (its ``grid_worker`` rows, or its
    grid leader); for a request outside every grid, any grid worker.
    """

    def values(conn: Connection, cur: _Current) -> dict[str, Any]:
        gw, grid, person = table("grid_worker"), table("grid"), table("person")
        _check_person(conn, worker_id, "网格员 / grid worker")
        if cur.grid_id is not None:
            works = conn.execute(
                select(gw.c.id).where(gw.c.grid_id == cur.grid_id, gw.c.person_id == worker_id)
            ).first()
            leads = conn.execute(
                select(grid.c.id).where(grid.c.id == cur.grid_id, grid.c.leader_id == worker_id)
            ).first()
            if works is None and leads is None:
                raise InputError(
                    f"人员 {worker_id} 不是诉求 {cur.code} 所在网格的网格员或网格长 / person "
                    f"{worker_id} does not work in the request's grid"
                )
        else:
            roles = conn.execute(select(person.c.roles).where(person.c.id == worker_id)).scalar()
            if "grid_worker" not in (roles or ""):
                raise InputError(
                    f"人员 {worker_id} 不是网格员 / person {worker_id} is no grid worker"
                )
        return {"assignee_kind": AssigneeKind.grid_worker.value, "assignee_id": int(worker_id)}

    return _move(
        engine,
        request_id,
        Action.assign,
        now=now,
        actor_id=actor_id,
        note=note or "派单至网格员",
        values=values,
    )


def dispatch(
    engine: Engine,
    request_id: int,
    member_id: int,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
    note: str | None = None,
) -> str:
    """Dispatch to a Party member registered in the request's grid (党员领单).

    Raises
    ------
    InputError
        No such member, not active, lost contact or floating, or registered in another grid.
    """

    def values(conn: Connection, cur: _Current) -> dict[str, Any]:
        mem, bld = table("member"), table("building")
        row = conn.execute(
            select(mem.c.id, mem.c.status, mem.c.category, bld.c.grid_id)
            .outerjoin(bld, bld.c.id == mem.c.building_id)
            .where(mem.c.id == int(member_id))
        ).first()
        if row is None:
            raise InputError(f"党员编号 {member_id} 不存在 / no Party member with id {member_id}")
        if row.status != "active" or str(row.category) in UNAVAILABLE_CATEGORIES:
            raise InputError(
                f"党员 {member_id} 当前无法领单(失联、流动或非在册) / member {member_id} cannot "
                "take requests (lost contact, floating or inactive)"
            )
        if cur.grid_id is not None and row.grid_id != cur.grid_id:
            raise InputError(
                f"党员 {member_id} 未在诉求 {cur.code} 所在网格报到 / member {member_id} is not "
                "registered in the request's grid"
            )
        return {"assignee_kind": AssigneeKind.member.value, "assignee_id": int(member_id)}

    return _move(
        engine,
        request_id,
        Action.dispatch,
        now=now,
        actor_id=actor_id,
        note=note or "党员领单",
        values=values,
    )


def send_to_department(
    engine: Engine,
    request_id: int,
    department: str,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
    note: str | None = None,
) -> str:
    """Send to a government department (部门接单). The department's name is kept in the event's
    note (the schema has no department column)."""
    department = _require(department, "部门名称", "department")

    def values(_conn: Connection, _cur: _Current) -> dict[str, Any]:
        return {"assignee_kind": AssigneeKind.department.value, "assignee_id": None}

    text = f"部门接单:{department}" + (f";{note.strip()}" if note and note.strip() else "")
    return _move(
        engine, request_id, Action.send_to_department, now=now, actor_id=actor_id, note=text,
        values=values,
    )  # fmt: skip


def escalate(
    engine: Engine,
    request_id: int,
    reason: str,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
) -> str:
    """Escalate community → street when the community cannot handle it (上报街道)."""
    reason = _require(reason, "上报原因", "a reason")

    def values(_conn: Connection, _cur: _Current) -> dict[str, Any]:
        return {"assignee_kind": AssigneeKind.street.value, "assignee_id": None}

    return _move(
        engine, request_id, Action.escalate, now=now, actor_id=actor_id, note=reason,
        values=values,
    )  # fmt: skip


def _award(
    conn: Connection, member_id: int, request_id: int, now: dt.datetime, points: int, note: str
) -> None:
    if points:
        conn.execute(
            table("member_point")
            .insert()
            .values(
                member_id=member_id,
                at=now,
                kind=PointKind.request.value,
                points=int(points),
                request_id=request_id,
                note=note,
            )
        )


def _awarded(conn: Connection, member_id: int, request_id: int, note: str) -> bool:
    pt = table("member_point")
    found = conn.execute(
        select(pt.c.id).where(
            pt.c.member_id == member_id, pt.c.request_id == request_id, pt.c.note == note
        )
    ).first()
    return found is not None


_HANDLED_NOTE = "办结诉求"
_GOOD_RATING_NOTE = "诉求获居民好评"


def resolve(
    engine: Engine,
    request_id: int,
    note: str,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
    decision_level: str | None = None,
) -> str:
    """Resolve with a note (办结), recording where it was decided (楼栋/小区/社区).

    A member who took the request (党员领单) earns
    :data:`settings.REQUEST_POINTS_HANDLED` points, once per request.
    """
    note = _require(note, "办结说明", "a note")
    if decision_level is not None and decision_level not in {d.value for d in DecisionLevel}:
        known = ", ".join(d.value for d in DecisionLevel)
        raise InputError(f"未知的议事层级 / unknown decision level {decision_level!r}; {known}")

    def values(_conn: Connection, _cur: _Current) -> dict[str, Any]:
        out: dict[str, Any] = {"resolved_at": _naive(now)}
        if decision_level is not None:
            out["decision_level"] = decision_level
        return out

    def after(conn: Connection, cur: _Current, at: dt.datetime) -> None:
        if (
            cur.assignee_kind == AssigneeKind.member
            and cur.assignee_id is not None
            and not _awarded(conn, cur.assignee_id, cur.id, _HANDLED_NOTE)
        ):
            _award(conn, cur.assignee_id, cur.id, at, settings.REQUEST_POINTS_HANDLED,
                   _HANDLED_NOTE)  # fmt: skip

    text = note
    if decision_level is not None:
        text = f"{DECISION_LABELS[decision_level][0]}:{note}"
    return _move(
        engine, request_id, Action.resolve, now=now, actor_id=actor_id, note=text,
        values=values, after=after,
    )  # fmt: skip


def reject(
    engine: Engine,
    request_id: int,
    reason: str,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
) -> str:
    """Reject (不予受理) with a reason."""
    reason = _require(reason, "不予受理的理由", "a reason")
    return _move(engine, request_id, Action.reject, now=now, actor_id=actor_id, note=reason)


def reopen(
    engine: Engine,
    request_id: int,
    reason: str,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
) -> str:
    """Reopen (重新办理): back to whoever handled it, with a new due time from now; the old
    resolution time and rating are cleared (both stay in the timeline)."""
    reason = _require(reason, "重办原因", "a reason")

    def values(_conn: Connection, cur: _Current) -> dict[str, Any]:
        at = _naive(now)
        return {
            "resolved_at": None,
            "rating": None,
            "rating_note": None,
            "due_at": at + dt.timedelta(hours=sla_hours(cur.category)),
        }

    return _move(
        engine, request_id, Action.reopen, now=now, actor_id=actor_id, note=reason, values=values
    )


def evaluate(
    engine: Engine,
    request_id: int,
    rating: int,
    comment: str | None = None,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
) -> str:
    """Record the resident's rating 1–5 (评). A rating of
    :data:`settings.REQUEST_REOPEN_MAX_RATING` or less reopens the request at once (one more
    event); a good rating earns the member who took it a bonus.

    Returns
    -------
    str
        The status after: ``evaluated``, or the reopened status.
    """
    if isinstance(rating, bool) or not isinstance(rating, int | np.integer) or not 1 <= rating <= 5:
        raise InputError(f"评价须为 1–5 的整数 / rating must be a whole number 1–5, not {rating!r}")
    rating = int(rating)
    comment = comment.strip() if comment else None

    def values(_conn: Connection, _cur: _Current) -> dict[str, Any]:
        return {"rating": rating, "rating_note": comment}

    def after(conn: Connection, cur: _Current, at: dt.datetime) -> None:
        if (
            cur.assignee_kind == AssigneeKind.member
            and cur.assignee_id is not None
            and rating >= settings.REQUEST_GOOD_RATING_MIN
            and not _awarded(conn, cur.assignee_id, cur.id, _GOOD_RATING_NOTE)
        ):
            _award(conn, cur.assignee_id, cur.id, at, settings.REQUEST_POINTS_GOOD_RATING,
                   _GOOD_RATING_NOTE)  # fmt: skip

    text = f"居民评价{rating}星" + (f":{comment}" if comment else "")
    status = _move(
        engine, request_id, Action.evaluate, now=now, actor_id=actor_id, note=text,
        values=values, after=after,
    )  # fmt: skip
    if rating <= settings.REQUEST_REOPEN_MAX_RATING:
        status = reopen(
            engine,
            request_id,
            f"居民评价{rating}星(≤{settings.REQUEST_REOPEN_MAX_RATING}星)，自动重办 / "
            "reopened after a low rating",
            now=now,
            actor_id=actor_id,
        )
    return status


# --- reading one request ----------------------------------------------------------------------


def timeline(
    engine: Engine | Connection, request_id: int, personal_data: bool = False
) -> pd.DataFrame:
    """The events of one request in time order, with the actor's name (masked by default).

    Returns
    -------
    DataFrame
        ``at, from_status, to_status, actor_name, note``.
    """
    ev, person = table("request_event"), table("person")
    with connect(engine) as conn:
        result = conn.execute(
            select(
                ev.c.at, ev.c.from_status, ev.c.to_status, person.c.name.label("actor_name"),
                ev.c.note,
            )
            .outerjoin(person, person.c.id == ev.c.actor_id)
            .where(ev.c.request_id == int(request_id))
            .order_by(ev.c.at, ev.c.id)
        )  # fmt: skip
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    for col in ("from_status", "to_status"):
        frame[col] = frame[col].map(lambda v: None if v is None else str(v))
    if not personal_data:
        frame["actor_name"] = mask_names(frame["actor_name"])
    return frame


def request_detail(
    engine: Engine | Connection, request_id: int, personal_data: bool = False
) -> dict[str, Any]:
    """One request as a dict, with its grid and building codes and its assignee's name
    (masked by default), and ``actions``: what its status allows."""
    req, grid, bld, person, mem = (
        table("request"), table("grid"), table("building"), table("person"), table("member"),
    )  # fmt: skip
    with connect(engine) as conn:
        row = conn.execute(
            select(
                *[c for c in req.columns if c.name != "geom"],
                grid.c.code.label("grid_code"),
                grid.c.name.label("grid_name"),
                bld.c.code.label("building_code"),
                bld.c.name.label("building_name"),
            )
            .outerjoin(grid, grid.c.id == req.c.grid_id)
            .outerjoin(bld, bld.c.id == req.c.building_id)
            .where(req.c.id == int(request_id))
        ).first()
        if row is None:
            raise InputError(f"诉求 {request_id} 不存在 / no request with id {request_id}")
        out = dict(row._mapping)
        geom = read_table(conn, "request", where=req.c.id == int(request_id)).geometry.iloc[0]
        kind = None if out["assignee_kind"] is None else str(out["assignee_kind"])
        name = None
        if kind == "grid_worker" and out["assignee_id"] is not None:
            name = conn.execute(select(person.c.name).where(person.c.id == out["assignee_id"]))
            name = name.scalar()
        elif kind == "member" and out["assignee_id"] is not None:
            name = conn.execute(
                select(person.c.name)
                .join(mem, mem.c.person_id == person.c.id)
                .where(mem.c.id == out["assignee_id"])
            ).scalar()
    for key in ("status", "source", "assignee_kind", "decision_level"):
        out[key] = None if out[key] is None else str(out[key])
    out["assignee_name"] = name if personal_data else mask_name(name)
    out["lon"] = None if geom is None else round(geom.x, 6)
    out["lat"] = None if geom is None else round(geom.y, 6)
    out["actions"] = allowed_actions(out["status"])
    return out


# --- statistics -------------------------------------------------------------------------------

#: Columns of :func:`request_stats` after the key columns.
STATS_COLUMNS: tuple[str, ...] = (
    "requests",
    "handled",
    "open",
    "overdue",
    "median_hours_to_resolve",
    "average_rating",
    "points",
)
STATS_LABELS: dict[str, tuple[str, str]] = {
    "grid_code": ("网格编码", "Grid code"),
    "grid_name": ("网格", "Grid"),
    "member_id": ("党员编号", "Member id"),
    "member_name": ("党员", "Member"),
    "requests": ("诉求(件)", "Requests"),
    "handled": ("已办结(件)", "Handled"),
    "open": ("在办(件)", "Open"),
    "overdue": ("超期(件)", "Overdue"),
    "median_hours_to_resolve": ("办结用时中位数(小时)", "Median time to resolve (h)"),
    "average_rating": ("平均评价(星)", "Average rating (of 5)"),
    "points": ("党员积分(分)", "Member points"),
}


def request_stats(
    requests: pd.DataFrame,
    now: dt.datetime,
    by: str = "grid",
    grids: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
    points: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per grid or per member: requests, handled, open, overdue, median hours to resolve,
    average rating, member points — for the periodic appraisal.

    Parameters
    ----------
    requests : DataFrame
        From :func:`load_requests` (``id, grid_id, status, assignee_kind, assignee_id,
        received_at, due_at, resolved_at, rating``).
    now : datetime
        For the overdue count (:func:`overdue_mask`).
    by : {"grid", "member"}
        ``grid``: every request by its grid. ``member``: requests taken by a member (党员领单).
    grids : DataFrame, optional
        ``id, code, name`` for the grid columns (every grid gets a row, zero when none).
    members : DataFrame, optional
        From :func:`member_table` (names masked there unless asked otherwise).
    points : DataFrame, optional
        ``member_id, points, request_id, kind`` (table ``member_point``); request points only.

    Returns
    -------
    DataFrame
        Key columns (``grid_id, grid_code, grid_name`` or ``member_id, member_name``) then
        :data:`STATS_COLUMNS`; hours and ratings NaN where nothing was resolved or rated.
    """
    if by not in ("grid", "member"):
        raise InputError(f"统计维度只能是 grid 或 member / by must be grid or member, not {by!r}")
    frame = requests.copy()
    frame["_overdue"] = overdue_mask(frame, now)
    frame["_handled"] = frame["status"].isin([S.resolved.value, S.evaluated.value])
    frame["_open"] = frame["status"].isin(OPEN_STATUSES)
    hours = (pd.to_datetime(frame["resolved_at"]) - pd.to_datetime(frame["received_at"])).dt
    frame["_hours"] = hours.total_seconds() / 3600.0
    frame["_rating"] = pd.to_numeric(frame["rating"], errors="coerce").astype(float)
    pts = points if points is not None else pd.DataFrame(columns=["member_id", "points", "kind"])
    if "kind" in pts:
        pts = pts[pts["kind"].astype(str) == PointKind.request.value]
    if by == "grid":
        key = "grid_id"
        frame = frame[frame["grid_id"].notna()]
        frame["grid_id"] = frame["grid_id"].astype("int64")
        by_request = frame.set_index("id")["grid_id"]
        pts = pts.assign(grid_id=pts["request_id"].map(by_request)) if len(pts) else pts
    else:
        key = "member_id"
        frame = frame[(frame["assignee_kind"] == "member") & frame["assignee_id"].notna()]
        frame = frame.assign(member_id=frame["assignee_id"].astype("int64"))
    grouped = frame.groupby(key)
    out = pd.DataFrame(
        {
            "requests": grouped.size(),
            "handled": grouped["_handled"].sum(),
            "open": grouped["_open"].sum(),
            "overdue": grouped["_overdue"].sum(),
            "median_hours_to_resolve": frame[frame["_handled"]].groupby(key)["_hours"].median(),
            "average_rating": grouped["_rating"].mean(),
        }
    )
    if len(pts) and key in pts:
        earned = pts.dropna(subset=[key]).groupby(key)["points"].sum()
        out = out.join(earned.rename("points"), how="outer")
    else:
        out["points"] = 0
    if by == "grid" and grids is not None:
        out = out.reindex(pd.Index(grids["id"].astype("int64"), name=key).union(out.index))
    out.index.name = key
    counts = ["requests", "handled", "open", "overdue", "points"]
    out[counts] = out[counts].fillna(0).astype(int)
    out["median_hours_to_resolve"] = out["median_hours_to_resolve"].round(1)
    out["average_rating"] = out["average_rating"].round(2)
    out = out.reset_index()
    if by == "grid":
        names = grids.set_index("id") if grids is not None else None
        out.insert(1, "grid_code", out[key].map(names["code"]) if names is not None else None)
        out.insert(2, "grid_name", out[key].map(names["name"]) if names is not None else None)
        out = out.sort_values(["grid_code", key], na_position="last")
    else:
        names = members.set_index("id")["name"] if members is not None else None
        out.insert(1, "member_name", out[key].map(names) if names is not None else None)
        out = out.sort_values(["handled", "points", key], ascending=[False, False, True])
    return out.reset_index(drop=True)


def stats_for(
    engine: Engine | Connection, now: dt.datetime, by: str = "grid", personal_data: bool = False
) -> pd.DataFrame:
    """:func:`request_stats` for a database (requests, grids, members, points: one query each)."""
    with connect(engine) as conn:
        requests = load_requests(conn)
        grids = active_grids(conn)[["id", "code", "name"]]
        members = member_table(conn, personal_data=personal_data) if by == "member" else None
        points = read_table(conn, "member_point")
    return request_stats(requests, now, by=by, grids=grids, members=members, points=points)


def localise_stats(stats: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Stats columns named in ``lang`` (with units), ids dropped."""
    shown = stats.drop(columns=[c for c in ("grid_id",) if c in stats])
    return shown.rename(columns={c: STATS_LABELS[c][0 if lang == "zh" else 1] for c in shown})


# --- 12345 hotline import ---------------------------------------------------------------------

#: Request fields a hotline file can fill (see :data:`settings.HOTLINE_COLUMNS`).
HOTLINE_FIELDS: tuple[str, ...] = tuple(settings.HOTLINE_COLUMNS)
#: Fields every hotline row must have.
HOTLINE_REQUIRED: tuple[str, ...] = ("external_id", "received_at", "category")


def read_hotline(source: str | Path | bytes, filename: str | None = None) -> pd.DataFrame:
    """Read a 12345 export (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030; or XLSX) as text.

    Parameters
    ----------
    source : path or bytes
    filename : str, optional
        Needed with bytes to tell CSV from XLSX (by its extension).

    Returns
    -------
    DataFrame
        Every cell as a stripped string (None when empty); headers stripped.

    Raises
    ------
    InputError
        Unreadable file, unknown encoding or format, or no rows.
    """
    name = str(filename or (source if not isinstance(source, bytes) else ""))
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm") or data[:2] == b"PK":
        try:
            frame = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many kinds for a bad workbook
            raise InputError(f"无法读取 Excel 文件 {name} / cannot read workbook: {exc}") from exc
    else:  # CSV (any other extension is tried as CSV too)
        frame = None
        for encoding in settings.HOTLINE_ENCODINGS:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            try:
                frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            except pd.errors.ParserError as exc:
                raise InputError(f"CSV 文件 {name} 格式有误 / malformed CSV: {exc}") from exc
            break
        if frame is None:
            tried = ", ".join(settings.HOTLINE_ENCODINGS)
            raise InputError(
                f"无法识别文件 {name} 的编码(已尝试 {tried}) / cannot decode {name}: "
                "save it as UTF-8 or GBK"
            )
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    frame = frame.apply(lambda c: c.map(lambda v: v.strip() if isinstance(v, str) else v))
    frame = frame.replace({"": None}).astype(object).where(frame.notna(), None)
    frame = frame.dropna(how="all").reset_index(drop=True)
    if frame.empty:
        raise InputError(f"文件 {name} 没有数据行 / {name} has no rows")
    return frame


def _aliases(fieldname: str) -> tuple[str, ...]:
    return settings.HOTLINE_COLUMNS[fieldname]


def guess_mapping(columns: Iterable[str]) -> dict[str, str]:
    """Field → column for the headers of a hotline file (:data:`settings.HOTLINE_COLUMNS`)."""
    present = {str(c).strip().lower(): str(c) for c in columns}
    mapping = {}
    for fieldname, aliases in settings.HOTLINE_COLUMNS.items():
        for alias in aliases:
            if alias.lower() in present:
                mapping[fieldname] = present[alias.lower()]
                break
    return mapping


@dataclass
class HotlineImport:
    """A prepared hotline import: what would be written, what is rejected and why.

    Attributes
    ----------
    ready : GeoDataFrame
        Rows to insert (request columns, plus ``row``: the line number in the file).
    rejected : DataFrame
        ``row, external_id, reason`` — rows that cannot be placed or read.
    duplicates : DataFrame
        ``row, external_id`` — work orders already in the database (skipped: re-importing a
        file adds nothing).
    written : int
        Rows written by :func:`import_hotline` (0 for a preview).
    """

    ready: gpd.GeoDataFrame
    rejected: pd.DataFrame
    duplicates: pd.DataFrame
    written: int = 0
    request_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """One line: 导入 N 条，跳过 M 条已存在，K 条无法导入."""
        return (
            f"导入 {self.written or len(self.ready)} 条，已存在跳过 {len(self.duplicates)} 条，"
            f"无法导入 {len(self.rejected)} 条 / {self.written or len(self.ready)} imported, "
            f"{len(self.duplicates)} already present, {len(self.rejected)} rejected"
        )


def prepare_hotline(
    raw: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    existing_ids: Iterable[str] = (),
    mapping: Mapping[str, str] | None = None,
    crs: str = "wgs84",
) -> HotlineImport:
    """Turn the rows of a hotline file into requests, rejecting what cannot be used.

    Each row needs a work-order number, a time and a category, and a place: coordinates
    (``crs``: WGS 84 or GCJ-02) or an address matched to a building name. Reporters are masked.
    A work-order number already in ``existing_ids`` is a duplicate (skipped); one appearing
    twice in the file is rejected the second time.

    Parameters
    ----------
    raw : DataFrame
        From :func:`read_hotline`.
    grids, buildings : GeoDataFrame
    existing_ids : iterable of str
        Work-order numbers already stored.
    mapping : mapping, optional
        Field → column (default :func:`guess_mapping` of the headers).
    crs : {"wgs84", "gcj02"}

    Raises
    ------
    InputError
        A mapped column that is not in the file, or a required field with no column.
    """
    mapping = dict(guess_mapping(raw.columns) if mapping is None else mapping)
    mapping = {k: v for k, v in mapping.items() if v}
    unknown = {k: v for k, v in mapping.items() if v not in raw.columns}
    if unknown:
        raise InputError(
            f"文件中没有列 {sorted(unknown.values())} / the file has no column(s) "
            f"{sorted(unknown.values())}; columns: {', '.join(map(str, raw.columns))}"
        )
    bad_fields = set(mapping) - set(HOTLINE_FIELDS)
    if bad_fields:
        raise InputError(f"未知字段 / unknown field(s) {sorted(bad_fields)}")
    missing = [f for f in HOTLINE_REQUIRED if f not in mapping]
    if missing:
        raise InputError(
            f"缺少必需的列 / required column(s) missing for {missing}: map them to a column "
            f"(recognised headers: {', '.join(a for f in missing for a in _aliases(f))})"
        )
    n = len(raw)
    data = pd.DataFrame({f: raw[c].to_numpy() for f, c in mapping.items()})
    for f in HOTLINE_FIELDS:
        if f not in data:
            data[f] = None
    data["row"] = np.arange(2, n + 2)  # line numbers as a spreadsheet shows them (header is 1)
    reasons = pd.Series([None] * n, dtype=object)

    def fail(mask: np.ndarray | pd.Series, reason: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool) & reasons.isna().to_numpy()
        reasons[mask] = reason if isinstance(reason, str) else reason[mask]

    fail(data["external_id"].isna(), "缺少工单编号 / no work-order number")
    received = pd.to_datetime(data["received_at"], errors="coerce", format="mixed")
    fail(data["received_at"].isna(), "缺少受理时间 / no time received")
    fail(received.isna(), "受理时间无法识别 / time received not understood")
    fail(data["category"].isna(), "缺少诉求类别 / no category")
    fail(data["category"].fillna("").str.len() > 40, "诉求类别过长 / category too long")
    repeated = data["external_id"].notna() & data["external_id"].duplicated(keep="first")
    fail(repeated, "工单编号在文件中重复 / work-order number repeated in the file")
    existing = set(existing_ids)
    duplicate = data["external_id"].isin(existing).to_numpy() & reasons.isna().to_numpy()

    placed = place_requests(data[["lon", "lat", "address"]], grids, buildings, crs=crs)
    needs_place = reasons.isna().to_numpy() & ~duplicate
    fail(needs_place & placed["reason"].notna().to_numpy(), placed["reason"])

    ok = reasons.isna().to_numpy() & ~duplicate
    rejected = pd.DataFrame(
        {
            "row": data.loc[reasons.notna(), "row"].to_numpy(),
            "external_id": data.loc[reasons.notna(), "external_id"].to_numpy(),
            "reason": reasons[reasons.notna()].to_numpy(),
        }
    )
    duplicates = pd.DataFrame(
        {"row": data.loc[duplicate, "row"].to_numpy(),
         "external_id": data.loc[duplicate, "external_id"].to_numpy()}
    )  # fmt: skip
    sel = np.flatnonzero(ok)
    ready = gpd.GeoDataFrame(
        {
            "row": data["row"].to_numpy()[sel],
            "external_id": data["external_id"].to_numpy()[sel],
            "source": RequestSource.hotline.value,
            "category": data["category"].to_numpy()[sel],
            "description": data["description"].fillna("").to_numpy()[sel],
            "reporter": mask_names(data["reporter"]).to_numpy()[sel],
            "address": data["address"].to_numpy()[sel],
            "received_at": received.to_numpy()[sel],
            "grid_id": placed["grid_id"].to_numpy()[sel],
            "building_id": placed["building_id"].to_numpy()[sel],
            "placed_by": placed["placed_by"].to_numpy()[sel],
        },
        geometry=gpd.GeoSeries(placed.geometry.to_numpy()[sel], crs=settings.STORAGE_SRID),
    ).rename_geometry("geom")
    ready["received_at"] = pd.to_datetime(ready["received_at"]).dt.floor("s")
    return HotlineImport(ready=ready, rejected=rejected, duplicates=duplicates)


def preview_hotline(
    engine: Engine | Connection,
    raw: pd.DataFrame,
    mapping: Mapping[str, str] | None = None,
    crs: str = "wgs84",
) -> HotlineImport:
    """:func:`prepare_hotline` against a database's grids, buildings and stored work orders."""
    req = table("request")
    with connect(engine) as conn:
        wanted = (
            mapping.get("external_id") if mapping else guess_mapping(raw.columns).get("external_id")
        )
        ids = [] if wanted not in raw else [v for v in raw[wanted].dropna().unique()]
        existing = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            existing |= set(
                conn.execute(select(req.c.external_id).where(req.c.external_id.in_(chunk)))
                .scalars()
                .all()
            )
        return prepare_hotline(raw, active_grids(conn), _buildings(conn), existing, mapping, crs)


def import_hotline(
    engine: Engine,
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    mapping: Mapping[str, str] | None = None,
    crs: str = "wgs84",
    actor_id: int | None = None,
    strict: bool = False,
) -> HotlineImport:
    """Import a 12345 export: every placeable new row in one transaction, the rest listed.

    Rows are checked first (:func:`prepare_hotline`); then all ready rows and their first
    events are written in one transaction — all of them or, on any database error, none.
    Work orders already stored are skipped, so importing the same file again adds nothing.

    Parameters
    ----------
    strict : bool
        Write nothing at all when any row is rejected.

    Returns
    -------
    HotlineImport
        With ``written`` and the new ``request_ids``.
    """
    raw = read_hotline(source, filename)
    with transaction(engine) as conn:
        _check_person(conn, actor_id)
        result = preview_hotline(conn, raw, mapping, crs)
        if strict and len(result.rejected):
            first = result.rejected.iloc[0]
            raise InputError(
                f"{len(result.rejected)} 行无法导入，未写入任何数据;第 {first['row']} 行:"
                f"{first['reason']} / {len(result.rejected)} rows rejected, nothing written; "
                f"row {first['row']}: {first['reason']}"
            )
        frame = result.ready.drop(columns=["row", "placed_by"])
        notes = pd.Series([f"12345 热线工单 {e} 导入" for e in frame["external_id"]], dtype=object)
        result.request_ids = _insert_requests(conn, frame, actor_id, note=notes)
        result.written = len(result.request_ids)
    log.info("hotline import: %s", result.summary())
    return result


# --- Open311 GeoReport v2 ---------------------------------------------------------------------

#: Fields of a GeoReport v2 service request, in the spec's order.
OPEN311_REQUEST_FIELDS: tuple[str, ...] = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
#: Fields of a GeoReport v2 service (GET services).
OPEN311_SERVICE_FIELDS: tuple[str, ...] = (
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
)


def service_code(category: str) -> str:
    """Open311 service_code of a category (:data:`settings.REQUEST_SERVICE_CODES`)."""
    return settings.REQUEST_SERVICE_CODES.get(category, category)


def open311_services(categories: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The GeoReport v2 service list: one service per request category.

    Parameters
    ----------
    categories : iterable of str, optional
        Default: the categories of :data:`settings.REQUEST_SLA_HOURS`; others are appended.
    """
    names = list(settings.REQUEST_SLA_HOURS)
    for c in () if categories is None else categories:
        if c not in names:
            names.append(c)
    return [
        {
            "service_code": service_code(c),
            "service_name": c,
            "description": f"{c}(办理时限 {sla_hours(c)} 小时 / resolved within {sla_hours(c)} h)",
            "metadata": False,
            "type": "realtime",
            "keywords": c,
            "group": "民生诉求",
        }
        for c in names
    ]


def _iso(values: pd.Series) -> list[str | None]:
    """ISO 8601 with the local offset (2026-10-31T08:00:00+08:00); None for missing."""
    tz = zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE)
    stamps = pd.to_datetime(values)
    local = stamps.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    return [None if pd.isna(t) else t.isoformat(timespec="seconds") for t in local]


def open311_requests(
    requests: pd.DataFrame,
    updated: pd.Series | None = None,
    buildings: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Requests as GeoReport v2 service requests (the JSON of GET requests).

    ``status`` is ``open`` for received/assigned/escalated and ``closed`` otherwise;
    ``status_notes`` the status in Chinese (and the rating once evaluated); datetimes ISO 8601
    with the local offset; ``lat``/``long`` WGS 84. No personal data is exported.

    Parameters
    ----------
    requests : GeoDataFrame
        From :func:`load_requests`.
    updated : Series, optional
        Time of each request's last event, indexed by request id (else the received time).
    buildings : DataFrame, optional
        ``id, code, name``: ``address_id`` is the building code and ``address`` falls back to
        the building name.
    """
    frame = requests.reset_index(drop=True)
    geoms = frame.geometry.to_numpy()
    has = ~shapely.is_missing(geoms)
    lon = np.full(len(frame), np.nan)
    lat = np.full(len(frame), np.nan)
    lon[has], lat[has] = shapely.get_x(geoms[has]), shapely.get_y(geoms[has])
    upd = (
        frame["id"].map(updated).fillna(frame["received_at"])
        if updated is not None
        else frame["received_at"]
    )
    codes = names = pd.Series([None] * len(frame), dtype=object)
    if buildings is not None:
        b = buildings.set_index("id")
        codes = frame["building_id"].map(b["code"])
        names = (
            frame["building_name"]
            if "building_name" in frame
            else frame["building_id"].map(b["name"])
        )
    address = frame["address"].where(frame["address"].notna(), names)
    status = frame["status"].astype(str)
    notes = status.map(lambda s: STATUS_LABELS.get(s, (s, s))[0])
    rated = frame["rating"].notna()
    notes[rated] = notes[rated] + frame.loc[rated, "rating"].map(lambda r: f",居民评价{int(r)}星")
    agency = frame["assignee_kind"].map(lambda k: ASSIGNEE_LABELS.get(k, (None,))[0] if k else None)
    columns = {
        "service_request_id": frame["code"],
        "status": np.where(status.isin(OPEN_STATUSES), "open", "closed"),
        "status_notes": notes,
        "service_name": frame["category"],
        "service_code": frame["category"].map(service_code),
        "description": frame["description"],
        "agency_responsible": agency,
        "service_notice": frame["category"].map(lambda c: f"办理时限 {sla_hours(c)} 小时"),
        "requested_datetime": _iso(frame["received_at"]),
        "updated_datetime": _iso(upd),
        "expected_datetime": _iso(frame["due_at"]),
        "address": address,
        "address_id": codes,
        "zipcode": None,
        "lat": np.round(lat, 7),
        "long": np.round(lon, 7),
        "media_url": None,
    }
    out = pd.DataFrame({k: columns[k] for k in OPEN311_REQUEST_FIELDS})
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")


def export_open311(
    engine: Engine | Connection, statuses: Sequence[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Services and requests of a database as GeoReport v2 JSON-ready lists.

    Returns
    -------
    dict
        ``{"services": [...], "requests": [...]}`` — each list is what the GeoReport v2
        ``services.json`` / ``requests.json`` endpoints return.
    """
    ev = table("request_event")
    with connect(engine) as conn:
        requests = load_requests(conn)
        result = conn.execute(select(ev.c.request_id, func.max(ev.c.at)).group_by(ev.c.request_id))
        updated = pd.Series(dict(result.fetchall()), dtype="datetime64[ns]")
        buildings = read_table(conn, "building")[["id", "code", "name"]]
    if statuses:
        requests = requests[requests["status"].isin(list(statuses))]
    return {
        "services": open311_services(requests["category"].unique()),
        "requests": open311_requests(requests, updated, buildings),
    }


# --- for the page -----------------------------------------------------------------------------


def map_frame(requests: gpd.GeoDataFrame, now: dt.datetime, lang: str = "zh") -> gpd.GeoDataFrame:
    """Open requests for the map: ``overdue`` (past due now) and the pop-up texts
    (``state_text, received_text, due_text``; see :func:`gridmap.maps.request_fields`)."""
    i = 0 if lang == "zh" else 1
    shown = requests[requests["status"].isin(OPEN_STATUSES)].copy()
    shown["overdue"] = overdue_mask(shown, now, open_only=True)
    state = shown["status"].map(lambda s: STATUS_LABELS[s][i])
    late = "(超期)" if lang == "zh" else " (overdue)"
    shown["state_text"] = state + np.where(shown["overdue"], late, "")
    shown["received_text"] = pd.to_datetime(shown["received_at"]).dt.strftime("%Y-%m-%d %H:%M")
    shown["due_text"] = pd.to_datetime(shown["due_at"]).dt.strftime("%Y-%m-%d %H:%M")
    return shown


def latest_event_at(engine: Engine | Connection) -> dt.datetime | None:
    """Time of the latest request event (for :func:`clock`)."""
    ev = table("request_event")
    with connect(engine) as conn:
        return conn.execute(select(func.max(ev.c.at))).scalar()


def staff(
    engine: Engine | Connection, grid_id: int | None = None, personal_data: bool = False
) -> pd.DataFrame:
    """Grid workers and grid leaders (``id, name, roles``), of one grid when ``grid_id`` is
    given (its ``grid_worker`` rows and its leader); names masked by default."""
    person, gw, grid = table("person"), table("grid_worker"), table("grid")
    query = select(person.c.id, person.c.name, person.c.roles).order_by(person.c.id)
    if grid_id is None:
        query = query.where(
            person.c.roles.like("%grid_worker%") | person.c.roles.like("%grid_leader%")
        )
    else:
        workers = select(gw.c.person_id).where(gw.c.grid_id == int(grid_id))
        leaders = select(grid.c.leader_id).where(grid.c.id == int(grid_id))
        query = query.where(person.c.id.in_(workers) | person.c.id.in_(leaders))
    with connect(engine) as conn:
        result = conn.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    if not personal_data:
        frame["name"] = mask_names(frame["name"])
    return frame


def filter_requests(
    requests: pd.DataFrame,
    now: dt.datetime,
    statuses: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    grid_ids: Sequence[int] | None = None,
    overdue_only: bool = False,
) -> pd.DataFrame:
    """The requests matching the list's filters (each None/empty: no filter)."""
    keep = pd.Series(True, index=requests.index)
    if statuses:
        keep &= requests["status"].isin(list(statuses))
    if categories:
        keep &= requests["category"].isin(list(categories))
    if grid_ids:
        keep &= requests["grid_id"].isin(list(grid_ids)).fillna(False).astype(bool)
    if overdue_only:
        keep &= overdue_mask(requests, now)
    return requests[keep]
