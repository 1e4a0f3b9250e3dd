"""Plans and their layers in the database: :func:`list_plans`, :func:`active_plan_id` and
:func:`load_plan` (a plan with its community, grids and buildings, :class:`PlanLayers`, each
read in one query), with :func:`layers_metrics` and :func:`diff_against_active` on top of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from gridmap.db import connect
from gridmap.errors import InputError
from gridmap.models import PlanStatus
from gridmap.redraw.diff import PlanDiff, plan_diff
from gridmap.redraw.metrics import PlanMetrics, plan_metrics
from gridmap.repository import read_table, table


@dataclass(frozen=True)
class PlanLayers:
    """One plan and what its metrics need, each loaded in one query.

    Attributes
    ----------
    plan : dict
        The ``grid_plan`` row plus ``community_code`` and ``community_name``.
    community : GeoDataFrame
        The plan's community (one row).
    grids : GeoDataFrame
        The plan's grids (``grid`` columns plus ``community_id``), ordered by code.
    buildings : GeoDataFrame
        The community's buildings with ``members`` (Party members registered in each).
    """

    plan: dict[str, Any]
    community: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame


def community_row(conn: Connection, code: str) -> dict:
    """``id, code, name`` of a community by code; InputError naming the known codes."""
    com = table("community")
    row = conn.execute(select(com.c.id, com.c.code, com.c.name).where(com.c.code == code)).first()
    if row is None:
        known = conn.execute(select(com.c.code).order_by(com.c.code)).scalars().all()
        raise InputError(
            f"未知的社区编码 / unknown community code {code!r}; known: {', '.join(known)}"
        )
    return dict(row._mapping)


def list_plans(engine: Engine | Connection, community_code: str | None = None) -> pd.DataFrame:
    """Plans with their community and grid count, newest first.

    Returns
    -------
    pandas.DataFrame
        ``id, community_id, community_code, name, status, created_by, created_at, approved_by,
        approved_at, note, grids``.
    """
    plan, com, grid = table("grid_plan"), table("community"), table("grid")
    counts = (
        select(grid.c.plan_id, func.count(grid.c.id).label("grids"))
        .group_by(grid.c.plan_id)
        .subquery()
    )
    query = (
        select(
            plan.c.id,
            plan.c.community_id,
            com.c.code.label("community_code"),
            plan.c.name,
            plan.c.status,
            plan.c.created_by,
            plan.c.created_at,
            plan.c.approved_by,
            plan.c.approved_at,
            plan.c.note,
            func.coalesce(counts.c.grids, 0).label("grids"),
        )
        .join(com, com.c.id == plan.c.community_id)
        .outerjoin(counts, counts.c.plan_id == plan.c.id)
        .order_by(plan.c.id.desc())
    )
    with connect(engine) as conn:
        if community_code is not None:
            cid = community_row(conn, community_code)["id"]
            query = query.where(plan.c.community_id == cid)
        result = conn.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    frame["status"] = frame["status"].map(lambda s: getattr(s, "value", s))
    return frame


def active_plan_id(engine: Engine | Connection, community_code: str) -> int | None:
    """Id of the community's active plan, or None."""
    plan = table("grid_plan")
    with connect(engine) as conn:
        cid = community_row(conn, community_code)["id"]
        return conn.execute(
            select(plan.c.id).where(
                plan.c.community_id == cid, plan.c.status == PlanStatus.active.value
            )
        ).scalar()


def load_plan(engine: Engine | Connection, plan_id: int) -> PlanLayers:
    """The plan, its community, its grids and the community's buildings (with member counts)."""
    plan, com, grid = table("grid_plan"), table("community"), table("grid")
    bld, member = table("building"), table("member")
    with connect(engine) as conn:
        row = conn.execute(select(plan).where(plan.c.id == plan_id)).first()
        if row is None:
            raise InputError(f"方案不存在 / no grid plan with id {plan_id}")
        info = dict(row._mapping)
        info["status"] = getattr(info["status"], "value", info["status"])
        community = read_table(conn, "community", com.c.id == info["community_id"])
        info["community_code"] = community["code"].iloc[0]
        info["community_name"] = community["name"].iloc[0]
        grids = read_table(conn, "grid", grid.c.plan_id == plan_id)
        buildings = read_table(conn, "building", bld.c.community_id == info["community_id"])
        counts = conn.execute(
            select(member.c.building_id, func.count(member.c.id))
            .join(bld, bld.c.id == member.c.building_id)
            .where(bld.c.community_id == info["community_id"])
            .group_by(member.c.building_id)
        ).all()
    grids = grids.assign(community_id=info["community_id"]).sort_values("code", kind="stable")
    members = pd.Series(dict(counts), dtype="int64")
    buildings = buildings.assign(
        members=members.reindex(buildings["id"].to_numpy()).fillna(0).to_numpy(dtype=np.int64)
    )
    return PlanLayers(info, community, grids.reset_index(drop=True), buildings)


def layers_metrics(layers: PlanLayers) -> PlanMetrics:
    """:func:`plan_metrics` of loaded plan layers."""
    return plan_metrics(layers.community, layers.grids, layers.buildings)


def diff_against_active(engine: Engine | Connection, plan_id: int) -> PlanDiff | None:
    """:func:`plan_diff` of a plan against its community's active plan (None when there is
    none, or the plan is the active one)."""
    layers = load_plan(engine, plan_id)
    active = active_plan_id(engine, layers.plan["community_code"])
    if active is None or active == plan_id:
        return None
    return plan_diff(layers.grids, load_plan(engine, active).grids, layers.buildings)
