"""Requests read for people: one request's detail (with what its status allows) and its
timeline, the list narrowed by the page's filters (:func:`filter_requests`), and the open
requests with their pop-up texts for the map (:func:`map_frame`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from gridmap.auth import mask_name, mask_names
from gridmap.db import connect
from gridmap.errors import InputError
from gridmap.i18n import text
from gridmap.repository import read_table, table
from gridmap.requests.states import OPEN_STATUSES, STATUS_LABELS, allowed_actions
from gridmap.requests.timing import overdue_mask


def timeline(
    engine: Engine | Connection, request_id: int, personal_data: bool = False
) -> pd.DataFrame:
    """The events of one request in time order: who made each step (the user account,
    ``user_name``) and for whom, when it was recorded on a grid worker's or leader's behalf
    (``actor_name``, masked by default).

    Returns
    -------
    DataFrame
        ``at, from_status, to_status, user_name, actor_name, note``; ``user_name`` is None
        for history from before accounts (the demo's), ``actor_name`` None when nobody else
        was named.
    """
    ev, person, user = table("request_event"), table("person"), table("user")
    with connect(engine) as conn:
        result = conn.execute(
            select(
                ev.c.at, ev.c.from_status, ev.c.to_status, user.c.name.label("user_name"),
                person.c.name.label("actor_name"), ev.c.note,
            )
            .outerjoin(person, person.c.id == ev.c.actor_id)
            .outerjoin(user, user.c.id == ev.c.user_id)
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
    (masked by default), and ``actions``: what its status allows (a merged duplicate is not
    reopened: its original is handled)."""
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
    if out.get("duplicate_of") is not None:  # a merged duplicate is handled through its original
        out["actions"] = [a for a in out["actions"] if a != "reopen"]
    return out


def map_frame(requests: gpd.GeoDataFrame, now: dt.datetime, lang: str = "zh") -> gpd.GeoDataFrame:
    """Open requests for the map: ``overdue`` (past due now) and the pop-up texts
    (``state_text, received_text, due_text``; see :func:`gridmap.maps.request_fields`)."""
    i = 0 if lang == "zh" else 1
    shown = requests[requests["status"].isin(OPEN_STATUSES)].copy()
    shown["overdue"] = overdue_mask(shown, now, open_only=True)
    state = shown["status"].map(lambda s: STATUS_LABELS[s][i])
    late = text("(超期)", lang)
    shown["state_text"] = state + np.where(shown["overdue"], late, "")
    shown["received_text"] = pd.to_datetime(shown["received_at"]).dt.strftime("%Y-%m-%d %H:%M")
    shown["due_text"] = pd.to_datetime(shown["due_at"]).dt.strftime("%Y-%m-%d %H:%M")
    return shown


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
