"""Handling statistics per grid or per Party member, for the periodic appraisal: requests,
handled, open, overdue, median hours to resolve, average rating and member points
(:func:`request_stats`, :func:`stats_for`), with column names in Chinese or English
(:func:`localise_stats`). :func:`stats_for` reads only what the principal may see
(:func:`gridmap.auth.scope_rows`): the page, its downloads and the CLI show the same rows.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, Engine

from gridmap.auth import Principal, current_principal, scope_rows
from gridmap.db import connect
from gridmap.errors import InputError, PermissionDenied
from gridmap.i18n import pair
from gridmap.models import PointKind, RequestStatus
from gridmap.repository import active_grids, read_table
from gridmap.requests.loading import load_requests, member_table
from gridmap.requests.states import OPEN_STATUSES
from gridmap.requests.timing import overdue_mask

S = RequestStatus


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
    "grid_code": pair("网格编码"),
    "grid_name": pair("网格"),
    "member_id": pair("党员编号"),
    "member_name": pair("党员", "stats"),
    "requests": pair("诉求(件)"),
    "handled": pair("已办结(件)"),
    "open": pair("在办(件)", "stats"),
    "overdue": pair("超期(件)"),
    "median_hours_to_resolve": pair("办结用时中位数(小时)", "stats"),
    "average_rating": pair("平均评价(星)"),
    "points": pair("党员积分(分)"),
}


def headline_figures(requests: pd.DataFrame, now: dt.datetime) -> dict[str, float | int | None]:
    """The headline figures of a set of requests at ``now``: ``open`` (still being handled),
    ``overdue`` (open and past their due time), ``handled`` (resolved or evaluated) and
    ``rating`` (the mean of the residents' ratings, None when none rated)."""
    rated = requests["rating"].dropna().astype(float)
    handled = (RequestStatus.resolved.value, RequestStatus.evaluated.value)
    return {
        "open": int(requests["status"].isin(OPEN_STATUSES).sum()),
        "overdue": int(overdue_mask(requests, now, open_only=True).sum()),
        "handled": int(requests["status"].isin(handled).sum()),
        "rating": float(rated.mean()) if len(rated) else None,
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
    engine: Engine | Connection,
    now: dt.datetime,
    by: str = "grid",
    personal_data: bool = False,
    scope: Principal | None = None,
) -> pd.DataFrame:
    """:func:`request_stats` for a database (requests, grids, members, points: one query each).

    Parameters
    ----------
    engine : Engine or Connection
    now : datetime
        For the overdue count.
    by : {"grid", "member"}
    personal_data : bool
        Member names in full, when the role may read them (else masked, 张*明).
    scope : Principal, optional
        Whose view (default: the acting principal). Only the requests, grids, members and
        points inside its scope are read (:func:`gridmap.auth.scope_rows`), names masked for
        its role.

    Raises
    ------
    PermissionDenied
        Statistics per member for a role that sees aggregates only (planners): a row per
        member is not an aggregate.
    """
    if by not in ("grid", "member"):
        raise InputError(f"统计维度只能是 grid 或 member / by must be grid or member, not {by!r}")
    p = scope if scope is not None else current_principal()
    if by == "member" and p.aggregates_only:
        raise PermissionDenied(
            "无权限:规划人员只能查看汇总数据,不能按党员统计 / permission denied: a planner sees "
            "aggregates only, not statistics per member"
        )
    with connect(engine) as conn:
        requests = load_requests(conn, p)
        grids = scope_rows(conn, active_grids(conn), "grid", p)[["id", "code", "name"]]
        members = None
        if by == "member":
            members = member_table(conn, personal_data=personal_data, scope=p)
        points = scope_rows(conn, read_table(conn, "member_point"), "member_point", p)
    return request_stats(requests, now, by=by, grids=grids, members=members, points=points)


def localise_stats(stats: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Stats columns named in ``lang`` (with units), ids dropped."""
    shown = stats.drop(columns=[c for c in ("grid_id",) if c in stats])
    return shown.rename(columns={c: STATS_LABELS[c][0 if lang == "zh" else 1] for c in shown})
