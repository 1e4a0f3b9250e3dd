"""The plan life cycle in the database: :func:`new_draft` (a copy of the active plan),
:func:`balance_draft` (a draft from :func:`~gridmap.redraw.balance.auto_balance`), and the state
changes draft → proposed → approved → active → retired (:func:`propose`, :func:`approve`,
:func:`activate`, :func:`rollback`). Activating retires the previous plan and recomputes the
buildings' cached grids and the branch links; requests, grid workers and grid-scoped users follow
into the new grids; retired plans are never changed, so a rollback restores one exactly.

Concurrent writers: a state change reads its plan locked (``FOR UPDATE`` on PostgreSQL; SQLite
serialises write transactions, :func:`gridmap.db.transaction`), so the same plan is never
activated twice; and the database holds at most one active plan per community
(``uq_grid_plan_one_active``): the loser of two activations racing for one community is
refused with a sentence (:data:`ACTIVE_RACE_MESSAGE`), nothing of it saved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gridmap.db import connect, retry_when_busy, transaction
from gridmap.errors import ConflictError, InputError
from gridmap.models import Grid, GridPlan, PlanStatus
from gridmap.redraw.balance import BalanceResult, ProgressCallback, auto_balance
from gridmap.redraw.checks import plan_issues
from gridmap.redraw.geometry import as_multipolygon
from gridmap.redraw.metrics import Issue, building_assignment, int_column
from gridmap.redraw.permissions import authorise, now, record_audit
from gridmap.redraw.plans import active_plan_id, community_row
from gridmap.repository import read_table, refresh_building_grids, table

#: The refusal of an activation (or rollback) that lost the race for its community.
ACTIVE_RACE_MESSAGE = (
    "同一社区的另一个方案刚刚生效,本次操作未保存;请刷新后查看当前生效的方案 / another plan of "
    "this community was activated at the same moment; nothing was saved — reload to see the "
    "plan now active"
)
#: The index holding one active plan per community (gridmap.models.GridPlan).
ACTIVE_INDEX = "uq_grid_plan_one_active"


def _is_active_race(exc: IntegrityError) -> bool:
    """True when ``exc`` is the one-active-plan index refusing a second active plan
    (PostgreSQL names the index; SQLite names the column)."""
    text_ = str(exc.orig)
    return ACTIVE_INDEX in text_ or "grid_plan.community_id" in text_


@contextmanager
def _plan_session(engine: Engine) -> Iterator[Session]:
    with transaction(engine) as conn:
        session = Session(bind=conn, autoflush=False, expire_on_commit=False)
        try:
            yield session
            session.flush()
        except StaleDataError as exc:
            raise ConflictError(
                "网格刚被其他人修改，操作未完成 / a grid was changed by someone else at the same "
                "moment; nothing was saved"
            ) from exc
        except IntegrityError as exc:
            if _is_active_race(exc):
                raise ConflictError(ACTIVE_RACE_MESSAGE) from exc
            raise
        finally:
            session.close()


def _plan(session: Session, plan_id: int, *statuses: PlanStatus) -> GridPlan:
    # Locked: a second writer of this plan waits, then reads the state the first committed.
    plan = session.get(GridPlan, plan_id, with_for_update=True)
    if plan is None:
        raise InputError(f"方案不存在 / no grid plan with id {plan_id}")
    if statuses and plan.status not in statuses:
        wanted = " / ".join(s.value for s in statuses)
        raise ConflictError(
            f"方案「{plan.name}」状态为 {plan.status.value}，此操作需要 {wanted} / plan "
            f"{plan.name!r} is {plan.status.value}; this needs {wanted}"
        )
    return plan


@retry_when_busy
def new_draft(
    engine: Engine,
    community_code: str,
    name: str | None = None,
    user_id: int | None = None,
) -> int:
    """A new draft plan for a community, a copy of its active plan (empty when there is none).

    Grids keep their codes, names, polygons, leaders and branches.

    Returns
    -------
    int
        The new plan's id.
    """
    if user_id is None:  # the acting user (app login, CLI --user) signs the draft
        from gridmap.auth import current_principal

        user_id = current_principal().user_id
    with _plan_session(engine) as session:
        conn = session.connection()
        com = community_row(conn, community_code)
        active = session.scalars(
            select(GridPlan).where(
                GridPlan.community_id == com["id"], GridPlan.status == PlanStatus.active
            )
        ).first()
        plan = GridPlan(
            community_id=com["id"],
            name=name or f"{com['name']} 调整草案 {now():%Y-%m-%d %H:%M}",
            status=PlanStatus.draft,
            created_by=user_id,
            created_at=now(),
            note=f"复制自方案 #{active.id}「{active.name}」" if active else None,
        )
        authorise(conn, "edit", user_id, plan)
        session.add(plan)
        session.flush()
        copied = 0
        if active is not None:
            for grid in session.scalars(select(Grid).where(Grid.plan_id == active.id)).all():
                session.add(
                    Grid(
                        plan_id=plan.id,
                        code=grid.code,
                        name=grid.name,
                        geom=grid.geom,
                        leader_id=grid.leader_id,
                        party_org_id=grid.party_org_id,
                    )
                )
                copied += 1
        record_audit(
            session,
            "plan_new_draft",
            "grid_plan",
            plan.id,
            user_id,
            None,
            {"from_plan": active.id if active else None, "grids": copied},
        )
        return plan.id


@retry_when_busy
def propose(
    engine: Engine, plan_id: int, reason: str | None = None, user_id: int | None = None
) -> list[Issue]:
    """Propose a draft for approval after checking it as ``gridmap check`` will once it is
    active (:func:`~gridmap.redraw.checks.plan_issues`).

    A plan with issues is proposed only with a written ``reason``, kept in the plan's note.

    Returns
    -------
    list of Issue
        The issues accepted with the reason (empty for a clean plan).

    Raises
    ------
    InputError
        When the plan has issues and no reason was given (the issues are listed).
    """
    issues = plan_issues(engine, plan_id)
    reason = (reason or "").strip()
    if issues and not reason:
        listed = "\n".join(f"  - {i.message}" for i in issues)
        raise InputError(
            f"方案未通过检查，需填写理由才能提交 / the plan fails {len(issues)} checks; propose "
            f"it with a written reason or fix them:\n{listed}"
        )
    with _plan_session(engine) as session:
        plan = _plan(session, plan_id, PlanStatus.draft)
        authorise(session.connection(), "propose", user_id, plan)
        if issues:
            accepted = "；".join(i.message for i in issues)
            plan.note = "\n".join(
                filter(
                    None, [plan.note, f"提交理由 / reason: {reason}", f"未满足 / open: {accepted}"]
                )
            )
        plan.status = PlanStatus.proposed
        record_audit(
            session,
            "plan_propose",
            "grid_plan",
            plan_id,
            user_id,
            {"status": "draft"},
            {"status": "proposed", "reason": reason or None, "issues": [i.kind for i in issues]},
        )
    return issues


@retry_when_busy
def approve(engine: Engine, plan_id: int, approver_id: int | None = None) -> None:
    """Approve a proposed plan, recording the approver (``approved_by``) and time.

    The street's approval: :func:`~gridmap.redraw.permissions.authorise` requires the approver
    to be a ``street_admin`` whose scope holds the plan's community. With no ``approver_id``
    the acting user (:func:`gridmap.auth.current_principal`: the app's login, the CLI's
    ``--user``) is recorded as the approver.
    """
    from gridmap.auth import current_principal  # redraw.permissions imports auth already

    if approver_id is None:
        approver_id = current_principal().user_id
    with _plan_session(engine) as session:
        plan = _plan(session, plan_id, PlanStatus.proposed)
        authorise(session.connection(), "approve", approver_id, plan)
        plan.status = PlanStatus.approved
        plan.approved_by = approver_id
        plan.approved_at = now()
        record_audit(
            session,
            "plan_approve",
            "grid_plan",
            plan_id,
            approver_id,
            {"status": "proposed"},
            {"status": "approved", "approved_by": approver_id},
        )


@retry_when_busy
def return_to_draft(engine: Engine, plan_id: int, comment: str, user_id: int | None = None) -> None:
    """The street sends a proposed plan back to the community: draft again, with the street's
    ``comment`` kept in the plan's note (the secretary reads it on the page and in ``gridmap
    plan list``) and in the audit log.

    Raises
    ------
    InputError
        Without a comment (the community must know what to change).
    PermissionDenied
        For anyone but a street administrator whose scope holds the community.
    """
    from gridmap.auth import current_principal  # redraw.permissions imports auth already

    comment = (comment or "").strip()
    if not comment:
        raise InputError("退回方案须写明意见 / returning a plan needs a comment for the community")
    if user_id is None:
        user_id = current_principal().user_id
    with _plan_session(engine) as session:
        plan = _plan(session, plan_id, PlanStatus.proposed)
        authorise(session.connection(), "return", user_id, plan)
        plan.status = PlanStatus.draft
        plan.note = "\n".join(filter(None, [plan.note, f"街道退回意见 / returned: {comment}"]))
        record_audit(
            session,
            "plan_return",
            "grid_plan",
            plan_id,
            user_id,
            {"status": "proposed"},
            {"status": "draft", "comment": comment},
        )


def returned_comment(note: str | None) -> str | None:
    """The street's last comment returning the plan (:func:`return_to_draft`), from its note."""
    lines = [x for x in (note or "").splitlines() if x.startswith("街道退回意见 / returned: ")]
    return lines[-1].split(": ", 1)[1] if lines else None


def _make_active(session: Session, plan: GridPlan) -> int | None:
    """Retire the community's active plan, activate ``plan``, recompute building grids and
    branch links, and let requests, grid workers and grid-scoped users follow into the new
    grids. Returns the plan retired (None when there was none)."""
    conn = session.connection()
    previous = session.scalars(
        select(GridPlan).where(
            GridPlan.community_id == plan.community_id,
            GridPlan.status == PlanStatus.active,
            GridPlan.id != plan.id,
        )
    ).all()
    for old in previous:
        old.status = PlanStatus.retired
    session.flush()  # retire first: the one-active index is checked at every statement
    plan.status = PlanStatus.active
    session.flush()
    grid, org = table("grid"), table("party_org")
    grids = read_table(conn, "grid", grid.c.plan_id == plan.id)
    refresh_building_grids(conn, [plan.community_id])
    links = [
        {"o_id": int(o), "g_id": int(g)}
        for g, o in zip(grids["id"], grids["party_org_id"], strict=True)
        if pd.notna(o)
    ]
    if links:  # branches built on the grid (支部建在网格上) follow it into the new plan
        conn.execute(
            update(org).where(org.c.id == bindparam("o_id")).values(grid_id=bindparam("g_id")),
            links,
        )
    old_ids = [
        int(i) for i in read_table(conn, "grid", grid.c.plan_id.in_([p.id for p in previous]))["id"]
    ]
    _follow_new_grids(conn, old_ids, grids)
    return previous[0].id if previous else None


def _follow_new_grids(conn: Connection, old_ids: list[int], grids: gpd.GeoDataFrame) -> None:
    """What pointed at the retired plan's grids follows into the new plan's grids.

    Requests go to the new grid that holds their point; grid workers of an old grid are copied
    to the new grid that holds most of it when that grid has none yet; users scoped to an old
    grid (grid workers) are scoped to that same new grid. The retired grids keep their own rows,
    so a rollback finds them as they were.
    """
    if not old_ids or grids.empty:
        return
    grid, req, worker, user = table("grid"), table("request"), table("grid_worker"), table("user")
    old = read_table(conn, "grid", grid.c.id.in_(old_ids))
    new_geoms = np.asarray(grids.geometry.values)
    o, n = shapely.STRtree(new_geoms).query(np.asarray(old.geometry.values), "intersects")
    overlap = shapely.area(shapely.intersection(old.geometry.values[o], new_geoms[n]))
    pairs = pd.DataFrame({"old": old["id"].to_numpy()[o], "new": grids["id"].to_numpy()[n],
                          "area": overlap}).sort_values("area", ascending=False)  # fmt: skip
    successor = pairs.drop_duplicates("old").set_index("old")["new"]  # where most of it went
    predecessor = pairs.drop_duplicates("new").set_index("new")["old"]  # where most came from

    requests = read_table(conn, "request", req.c.grid_id.in_(old_ids))
    if len(requests):
        r, g = shapely.STRtree(new_geoms).query(np.asarray(requests.geometry.values), "intersects")
        holder = pd.Series(grids["id"].to_numpy()[g], index=requests["id"].to_numpy()[r])
        holder = holder[~holder.index.duplicated()]
        moves = [
            {"r_id": int(i), "g_id": int(holder[i]) if i in holder.index else None}
            for i in requests["id"]
        ]
        conn.execute(
            update(req).where(req.c.id == bindparam("r_id")).values(grid_id=bindparam("g_id")),
            moves,
        )

    workers = read_table(conn, "grid_worker", worker.c.grid_id.in_(old_ids))
    staffed = set(
        read_table(conn, "grid_worker", worker.c.grid_id.in_(list(grids["id"])))["grid_id"]
    )
    copies = [
        {"grid_id": int(new), "person_id": int(w.person_id), "part_time": bool(w.part_time)}
        for new, old_id in predecessor.items()
        if new not in staffed
        for w in workers[workers["grid_id"] == old_id].itertuples()
    ]
    if copies:
        conn.execute(worker.insert(), copies)

    users = read_table(conn, "user", user.c.grid_id.in_(old_ids))
    scoped = [
        {"u_id": int(u), "g_id": int(successor[g])}
        for u, g in zip(users["id"], users["grid_id"], strict=True)
        if g in successor.index
    ]
    if scoped:
        conn.execute(
            update(user).where(user.c.id == bindparam("u_id")).values(grid_id=bindparam("g_id")),
            scoped,
        )


@retry_when_busy
def activate(engine: Engine, plan_id: int, user_id: int | None = None) -> int | None:
    """Activate an approved plan: the previous active plan is retired and every building's
    cached grid is recomputed (largest overlap).

    Returns
    -------
    int or None
        The plan retired.

    Raises
    ------
    ConflictError
        The plan is no longer approved (activated meanwhile by someone else), or another plan
        of the community was activated at the same moment (:data:`ACTIVE_RACE_MESSAGE`).
    """
    with _plan_session(engine) as session:
        plan = _plan(session, plan_id, PlanStatus.approved)
        authorise(session.connection(), "activate", user_id, plan)
        retired = _make_active(session, plan)
        record_audit(
            session,
            "plan_activate",
            "grid_plan",
            plan_id,
            user_id,
            {"active": retired},
            {"active": plan_id, "retired": retired},
        )
        return retired


@retry_when_busy
def rollback(engine: Engine, community_code: str, user_id: int | None = None) -> int:
    """Re-activate the plan that the community's active plan replaced, exactly as it was.

    The active plan is retired; building grids and branch links are recomputed from the
    re-activated plan, whose grids were never changed.

    Returns
    -------
    int
        The plan now active.

    Raises
    ------
    ConflictError
        When the community has no active plan or no earlier plan to go back to.
    """
    audit = table("audit_log")
    with _plan_session(engine) as session:
        conn = session.connection()
        com = community_row(conn, community_code)
        current = session.scalars(
            select(GridPlan).where(
                GridPlan.community_id == com["id"], GridPlan.status == PlanStatus.active
            )
        ).first()
        if current is None:
            raise ConflictError(f"社区 {community_code} 没有生效的方案 / has no active plan")
        authorise(conn, "rollback", user_id, current)
        rows = conn.execute(
            select(audit.c.action, audit.c.before)
            .where(
                audit.c.entity == "grid_plan",
                audit.c.entity_id == current.id,
                audit.c.action.in_(("plan_activate", "plan_rollback")),
            )
            .order_by(audit.c.id.desc())
        ).all()
        previous_id = next(
            (
                json.loads(r.before or "{}").get("active")
                for r in rows
                if r.action == "plan_activate"
            ),
            None,
        )
        previous = session.get(GridPlan, previous_id) if previous_id else None
        if previous is None or previous.status != PlanStatus.retired:
            raise ConflictError(
                f"社区 {community_code} 没有可回退的上一方案 / no earlier plan to roll back to "
                f"(the active plan #{current.id} did not replace a retired one)"
            )
        _make_active(session, previous)
        record_audit(
            session,
            "plan_rollback",
            "grid_plan",
            previous.id,
            user_id,
            {"active": current.id},
            {"active": previous.id, "retired": current.id},
        )
        return previous.id


def balance_draft(
    engine: Engine,
    community_code: str,
    name: str | None = None,
    user_id: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[int, BalanceResult]:
    """Propose a draft regrouping the community's buildings with :func:`auto_balance`.

    Each new grid inherits the leader and branch of the active grid whose households it takes
    most of (each active grid's at most once, largest overlap first).

    Returns
    -------
    (plan id, BalanceResult)
        The draft is written even when the norm is infeasible; ``result.feasible`` and
        ``result.message`` say so.
    """
    with connect(engine) as conn:
        com = community_row(conn, community_code)
        community = read_table(conn, "community", table("community").c.id == com["id"])
        buildings = read_table(conn, "building", table("building").c.community_id == com["id"])
        grid = table("grid")
        active = active_plan_id(conn, community_code)
        old = read_table(conn, "grid", grid.c.plan_id == active) if active is not None else None
    if user_id is None:  # the acting user (app login, CLI --user) signs the draft
        from gridmap.auth import current_principal

        user_id = current_principal().user_id
    result = auto_balance(community, buildings, progress=progress)
    inherit = _inherit_leaders(result, buildings, old)
    with _plan_session(engine) as session:
        plan = GridPlan(
            community_id=com["id"],
            name=name or f"{com['name']} 自动均衡 {now():%Y-%m-%d %H:%M}",
            status=PlanStatus.draft,
            created_by=user_id,
            created_at=now(),
            note=f"自动均衡(METIS) / auto-balance: {result.message}",
        )
        authorise(session.connection(), "edit", user_id, plan)
        session.add(plan)
        session.flush()
        for i, row in result.grids.iterrows():
            code = f"{community_code}-{i + 1:02d}"
            leader, org = inherit.get(int(row["group"]), (None, None))
            session.add(
                Grid(
                    plan_id=plan.id,
                    code=code,
                    name=f"第{i + 1}网格",
                    geom=as_multipolygon(row["geom"]),
                    leader_id=leader,
                    party_org_id=org,
                )
            )
        record_audit(
            session,
            "plan_balance",
            "grid_plan",
            plan.id,
            user_id,
            None,
            {"grids": len(result.grids), "feasible": result.feasible, "message": result.message},
        )
        return plan.id, result


def _inherit_leaders(
    result: BalanceResult, buildings: pd.DataFrame, old: gpd.GeoDataFrame | None
) -> dict[int, tuple[int | None, int | None]]:
    if old is None or len(old) == 0:
        return {}
    where = building_assignment(buildings, old)
    overlap = (
        pd.DataFrame(
            {
                "group": result.groups.reindex(buildings["id"].to_numpy()).to_numpy(),
                "grid": where["grid_id"].to_numpy(),
                "hh": int_column(buildings, "households") + 1,  # +1: empty buildings count a little
            }
        )
        .dropna()
        .groupby(["group", "grid"])["hh"]
        .sum()
        .sort_values(ascending=False, kind="stable")
    )
    by_id = old.set_index("id")
    out: dict[int, tuple[int | None, int | None]] = {}
    used: set = set()
    for (group, grid_id), _ in overlap.items():
        if int(group) in out or grid_id in used:
            continue
        leader, org = by_id.loc[grid_id, "leader_id"], by_id.loc[grid_id, "party_org_id"]
        out[int(group)] = (
            None if pd.isna(leader) else int(leader),
            None if pd.isna(org) else int(org),
        )
        used.add(grid_id)
    return out
