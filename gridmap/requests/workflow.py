"""The writes of 收、办、评: logging a request (:func:`log_request`; batches through
:func:`insert_requests`), handling it (:func:`assign`, :func:`dispatch`,
:func:`send_to_department`, :func:`escalate`, :func:`resolve`, :func:`reject`, :func:`reopen`)
and the resident's rating (:func:`evaluate`). Each move is checked against
:data:`~gridmap.requests.states.TRANSITIONS` and written in one transaction: the request row
(only if its status is still the one read), its event, the audit entry and member points.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from gridmap import settings
from gridmap.auth import audit, check_scope, current_principal, grid_ids, mask_name
from gridmap.db import transaction
from gridmap.errors import ConflictError, InputError, PermissionDenied
from gridmap.models import (
    AssigneeKind,
    CloseReason,
    DecisionLevel,
    PointKind,
    RequestOutcome,
    RequestSource,
    RequestStatus,
)
from gridmap.repository import active_grids, table
from gridmap.requests.loading import building_table
from gridmap.requests.placing import place_requests
from gridmap.requests.states import (
    CLOSE_REASON_LABELS,
    DECISION_LABELS,
    OPEN_STATUSES,
    OUTCOME_LABELS,
    RATING_NOTE,
    SOURCE_LABELS,
    Action,
    check_transition,
)
from gridmap.requests.suggestions import UNAVAILABLE_CATEGORIES
from gridmap.requests.timing import due_times, naive_local, sla_hours

S = RequestStatus


def _street_code(conn: Connection) -> str:
    code = conn.execute(select(table("street").c.code).order_by(table("street").c.id)).first()
    return code[0] if code else "R"


def _next_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table("request").c.id), 0))).scalar()) + 1


def check_person(conn: Connection, person_id: int | None, what: str = "操作人 / actor") -> None:
    """An InputError naming ``what`` unless ``person_id`` is None or a stored person."""
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
    now = naive_local(now)
    _validate_new(category, source, description)
    lon, lat = (None, None) if point is None else point
    rows = pd.DataFrame(
        {"lon": [lon], "lat": [lat], "building_code": [building_code], "address": [address]}
    )
    with transaction(engine) as conn:
        check_person(conn, actor_id)
        placed = place_requests(rows, active_grids(conn), building_table(conn), crs=crs).iloc[0]
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
        ids = insert_requests(conn, frame, actor_id, note=_received_note(source))
    return ids[0]


def _received_note(source: str) -> str:
    zh, _ = SOURCE_LABELS.get(source, (source, source))
    return f"受理({zh})"


def insert_requests(
    conn: Connection,
    frame: pd.DataFrame,
    actor_id: int | None,
    note: str | pd.Series,
) -> list[int]:
    """Insert new requests (status received, due time from the SLA) and their first events.

    Received times with a zone are stored as naive local time
    (:data:`settings.LOCAL_TIMEZONE`), as every stored time is.
    """
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
    if received.dt.tz is not None:  # stored times are naive local time
        received = received.dt.tz_convert(settings.LOCAL_TIMEZONE).dt.tz_localize(None)
    rows = gpd.GeoDataFrame(
        frame.reset_index(drop=True).assign(
            id=ids,
            received_at=received,
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
            "user_id": pd.array([principal.user_id] * len(ids), dtype="Int64"),
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


@dataclass(frozen=True)
class RequestState:
    """A request's row as a move reads it (with the time of its latest event)."""

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
    due_at: dt.datetime | None = None
    department: str | None = None
    duplicate_of: int | None = None
    reporters: int = 1


def current_state(conn: Connection, request_id: int) -> RequestState:
    """The request's current row and latest event time, locked for update on PostgreSQL."""
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
        req.c.due_at,
        req.c.department,
        req.c.duplicate_of,
        req.c.reporters,
    ).where(req.c.id == int(request_id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise InputError(f"诉求 {request_id} 不存在 / no request with id {request_id}")
    last = conn.execute(select(func.max(ev.c.at)).where(ev.c.request_id == row.id)).scalar()
    kind = None if row.assignee_kind is None else str(row.assignee_kind)
    return RequestState(
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
        due_at=row.due_at,
        department=row.department,
        duplicate_of=row.duplicate_of,
        reporters=int(row.reporters or 1),
    )


def _move(
    engine: Engine,
    request_id: int,
    action: Action,
    *,
    now: dt.datetime,
    actor_id: int | None,
    note: str | Callable[[], str] | None,
    values: Callable[[Connection, RequestState], dict[str, Any]] | None = None,
    after: Callable[[Connection, RequestState, dt.datetime], None] | None = None,
) -> str:
    """One transition in one transaction: check, update the row, write the event. ``note`` may
    be a function, called after ``values`` (a note naming what the transaction read)."""
    now = naive_local(now)
    with transaction(engine) as conn:
        check_person(conn, actor_id)
        principal = check_scope(conn, None, "edit_requests", "request", request_id)
        cur = current_state(conn, request_id)
        to_status = check_transition(cur.code, cur.status, action)
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
        if callable(note):  # a note that says what values() found
            note = note()
        write_move(conn, cur, changes, now, actor_id, note, str(to_status))
        if after is not None:
            after(conn, cur, now)
        audit(conn, principal, f"request_{action.value}", "request", cur.id,
              {"status": cur.status, "assignee_kind": cur.assignee_kind,
               "assignee_id": cur.assignee_id, "category": cur.category,
               "department": cur.department, "due_at": cur.due_at},
              {**changes, "note": note, "actor_id": actor_id})  # fmt: skip
    return str(to_status)


def write_move(
    conn: Connection,
    cur: RequestState,
    changes: dict[str, Any],
    now: dt.datetime,
    actor_id: int | None,
    note: str | None,
    to_status: str,
) -> None:
    """Update the row only if its status is still ``cur.status`` (else a ConflictError) and
    write the move's event, signed by the acting user (``user_id``)."""
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
            user_id=current_principal().user_id,
            from_status=cur.status,
            to_status=to_status,
            note=note,
        )
    )


def _require(text: str | None, what_zh: str, what_en: str) -> str:
    if text is None or not str(text).strip():
        raise InputError(f"{what_zh}不能为空 / {what_en} is required")
    return str(text).strip()


def _check_department(department: str | None) -> str:
    department = _require(department, "部门名称", "department")
    if len(department) > 60:
        raise InputError("部门名称过长(最多60字) / department longer than 60 characters")
    return department


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

    def values(conn: Connection, cur: RequestState) -> dict[str, Any]:
        gw, grid, person = table("grid_worker"), table("grid"), table("person")
        check_person(conn, worker_id, "网格员 / grid worker")
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

    def values(conn: Connection, cur: RequestState) -> dict[str, Any]:
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
    """Send to a government department (部门接单): its name in ``request.department`` and in the
    event's note; :func:`reroute` changes it later, with a reason."""
    department = _check_department(department)

    def values(_conn: Connection, _cur: RequestState) -> dict[str, Any]:
        return {"assignee_kind": AssigneeKind.department.value, "assignee_id": None,
                "department": department}  # fmt: skip

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

    def values(_conn: Connection, _cur: RequestState) -> dict[str, Any]:
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
    code: str | None = None,
) -> str:
    """Resolve with a note (办结), recording where it was decided (楼栋/小区/社区) and, when it
    was closed for a reason other than the work done (resolved by another body, the resident
    cannot be reached, …), that reason's code (:class:`gridmap.models.CloseReason`; a duplicate
    is merged instead: :func:`merge_duplicate`).

    A member who took the request (党员领单) earns
    :data:`settings.REQUEST_POINTS_HANDLED` points, once per request.
    """
    note = _require(note, "办结说明", "a note")
    if decision_level is not None and decision_level not in {d.value for d in DecisionLevel}:
        known = ", ".join(d.value for d in DecisionLevel)
        raise InputError(f"未知的议事层级 / unknown decision level {decision_level!r}; {known}")
    if code is not None and (str(code) not in set(CloseReason) or code == CloseReason.duplicate):
        known = ", ".join(c for c in CloseReason if c != CloseReason.duplicate)
        raise InputError(
            f"办结原因代码无效 / unknown closing reason {code!r}: use one of {known} (a duplicate "
            "is merged into its original)"
        )

    def values(_conn: Connection, _cur: RequestState) -> dict[str, Any]:
        out: dict[str, Any] = {"resolved_at": naive_local(now)}
        if decision_level is not None:
            out["decision_level"] = decision_level
        if code is not None:
            out["close_reason"] = str(code)
        return out

    def after(conn: Connection, cur: RequestState, at: dt.datetime) -> None:
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
    if code is not None:
        text += f"(办结原因:{CLOSE_REASON_LABELS[str(code)][0]})"
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
    code: str = CloseReason.other.value,
) -> str:
    """Reject (不予受理) with a reason: the note ``reason`` and ``code``, one of
    :class:`gridmap.models.CloseReason` (:data:`~gridmap.requests.states.CLOSE_REASON_LABELS`),
    which the monthly rates count apart (:mod:`gridmap.requests.rates`)."""
    reason = _require(reason, "不予受理的理由", "a reason")
    if str(code) not in set(CloseReason):
        known = ", ".join(CloseReason)
        raise InputError(
            f"不予受理的原因代码无效 / unknown reason code {code!r}: use one of {known}"
        )

    def values(_conn: Connection, _cur: RequestState) -> dict[str, Any]:
        return {"close_reason": str(code)}

    return _move(
        engine, request_id, Action.reject, now=now, actor_id=actor_id, note=reason, values=values
    )


def reopen(
    engine: Engine,
    request_id: int,
    reason: str,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
) -> str:
    """Reopen (重新办理): back to whoever handled it, with a new due time from now; the old
    resolution time, rating, the resident's answer and a rejection's reason code are cleared
    (all stay in the timeline)."""
    reason = _require(reason, "重办原因", "a reason")

    def values(_conn: Connection, cur: RequestState) -> dict[str, Any]:
        if cur.duplicate_of is not None:
            raise ConflictError(
                f"诉求 {cur.code} 已作为重复诉求合并到诉求 #{cur.duplicate_of},请办理原诉求 / "
                f"request {cur.code} was merged into request #{cur.duplicate_of} as a "
                "duplicate: handle that one"
            )
        at = naive_local(now)
        return {
            "resolved_at": None,
            "rating": None,
            "rating_note": None,
            "outcome": None,
            "close_reason": None,
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
    outcome: str | None = None,
) -> str:
    """Record the resident's rating 1–5 (评) and, when asked, the resident's own answer whether
    it was solved (``outcome``: a :class:`gridmap.models.RequestOutcome` value). A rating of
    :data:`settings.REQUEST_REOPEN_MAX_RATING` or less, or the answer "not solved", reopens the
    request at once (one more event); a good rating earns the member who took it a bonus.

    Returns
    -------
    str
        The status after: ``evaluated``, or the reopened status.
    """
    if isinstance(rating, bool) or not isinstance(rating, int | np.integer) or not 1 <= rating <= 5:
        raise InputError(f"评价须为 1–5 的整数 / rating must be a whole number 1–5, not {rating!r}")
    if outcome is not None and str(outcome) not in set(RequestOutcome):
        known = ", ".join(RequestOutcome)
        raise InputError(f"解决情况无效 / unknown outcome {outcome!r}: use one of {known}")
    rating = int(rating)
    comment = comment.strip() if comment else None

    def values(_conn: Connection, _cur: RequestState) -> dict[str, Any]:
        answer = None if outcome is None else str(outcome)
        return {"rating": rating, "rating_note": comment, "outcome": answer}

    def after(conn: Connection, cur: RequestState, at: dt.datetime) -> None:
        if (
            cur.assignee_kind == AssigneeKind.member
            and cur.assignee_id is not None
            and rating >= settings.REQUEST_GOOD_RATING_MIN
            and not _awarded(conn, cur.assignee_id, cur.id, _GOOD_RATING_NOTE)
        ):
            _award(conn, cur.assignee_id, cur.id, at, settings.REQUEST_POINTS_GOOD_RATING,
                   _GOOD_RATING_NOTE)  # fmt: skip

    text = RATING_NOTE.format(rating=rating) + (f":{comment}" if comment else "")
    if outcome is not None:
        text += f"({OUTCOME_LABELS[str(outcome)][0]})"
    status = _move(
        engine, request_id, Action.evaluate, now=now, actor_id=actor_id, note=text,
        values=values, after=after,
    )  # fmt: skip
    why = None
    if rating <= settings.REQUEST_REOPEN_MAX_RATING:
        why = (f"居民评价{rating}星(≤{settings.REQUEST_REOPEN_MAX_RATING}星)，自动重办 / "
               "reopened after a low rating")  # fmt: skip
    elif outcome == RequestOutcome.not_solved:
        why = "居民表示未解决，自动重办 / reopened: the resident says it is not solved"
    if why is not None:
        status = reopen(engine, request_id, why, now=now, actor_id=actor_id)
    return status


def reroute(
    engine: Engine,
    request_id: int,
    reason: str,
    *,
    category: str | None = None,
    department: str | None = None,
    now: dt.datetime,
    actor_id: int | None = None,
) -> str:
    """Re-route an open request (改派) with a reason: another category, another department, or
    both. The status stays; the step is an event of its own and audited (before and after).

    A new category brings its own time limit: the due time becomes the start of the running
    limit (receipt, or the last reopening) plus the new category's service level
    (:func:`~gridmap.requests.timing.sla_hours`). A new department is for a request with a
    department already (else send it to one: :func:`send_to_department`).

    Raises
    ------
    InputError
        No reason, nothing changed, a category over 40 characters, or a department for a
        request no department holds.
    ConflictError
        A request that is not open.
    """
    reason = _require(reason, "改派原因", "a reason")
    new_category = None if category is None or not str(category).strip() else str(category).strip()
    new_department = None if department is None or not str(department).strip() else department
    if new_category is not None and len(new_category) > 40:
        raise InputError("诉求类别过长(最多40字) / category longer than 40 characters")
    if new_department is not None:
        new_department = _check_department(new_department)
    parts: list[str] = []

    def values(_conn: Connection, cur: RequestState) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if new_category is not None and new_category != cur.category:
            started = (
                cur.received_at
                if cur.due_at is None
                else cur.due_at - dt.timedelta(hours=sla_hours(cur.category))
            )
            out["category"] = new_category
            out["due_at"] = started + dt.timedelta(hours=sla_hours(new_category))
            hours = f"{sla_hours(cur.category)} → {sla_hours(new_category)} 小时"
            parts.append(f"类别 {cur.category} → {new_category}(办结时限 {hours})")
        if new_department is not None and new_department != cur.department:
            if cur.assignee_kind != AssigneeKind.department:
                raise InputError(
                    f"诉求 {cur.code} 未派至部门,请先「部门接单」/ request {cur.code} is with "
                    "no department: send it to one first"
                )
            out["department"] = new_department
            parts.append(f"承办部门 {cur.department or '—'} → {new_department}")
        if not out:
            raise InputError(
                f"诉求 {cur.code}:改派须更改类别或承办部门 / re-routing {cur.code} changes "
                "nothing: give another category or department"
            )
        return out

    return _move(
        engine, request_id, Action.reroute, now=now, actor_id=actor_id,
        note=(lambda: "改派:" + ";".join(parts) + f"。原因:{reason}"), values=values,
    )  # fmt: skip


def merge_duplicate(
    engine: Engine,
    request_id: int,
    into_id: int,
    *,
    now: dt.datetime,
    actor_id: int | None = None,
    note: str | None = None,
) -> str:
    """Merge request ``request_id`` into ``into_id`` as its duplicate (合并重复诉求): the
    duplicate is closed (rejected, reason code ``duplicate``, ``duplicate_of`` set) and the
    original counts its reporters too (``reporters``, the "me too" count; an event on its
    timeline says so), so the monthly rates count the matter once.

    Raises
    ------
    InputError
        Merging a request into itself, or into a request that does not exist.
    ConflictError
        A duplicate that is not open, or an original that is closed or a duplicate itself.
    """
    into_id = int(into_id)
    if into_id == int(request_id):
        raise InputError("诉求不能与自身合并 / a request cannot be merged into itself")
    req, ev = table("request"), table("request_event")
    found: dict[str, Any] = {}

    def values(conn: Connection, cur: RequestState) -> dict[str, Any]:
        into = current_state(conn, into_id)
        if into.duplicate_of is not None or into.status not in set(OPEN_STATUSES):
            raise ConflictError(
                f"诉求 {into.code} 已办结、不予受理或本身是重复诉求,不能作为原诉求 / request "
                f"{into.code} is closed or a duplicate itself: merge into an open original"
            )
        found["into"] = into
        return {"close_reason": CloseReason.duplicate.value, "duplicate_of": into_id}

    def after(conn: Connection, cur: RequestState, at: dt.datetime) -> None:
        into = found["into"]
        conn.execute(
            req.update()
            .where(req.c.id == into_id)
            .values(reporters=req.c.reporters + cur.reporters)
        )
        extra = f";{note.strip()}" if note and note.strip() else ""
        conn.execute(
            ev.insert().values(
                request_id=into_id, at=at, actor_id=actor_id,
                user_id=current_principal().user_id, from_status=into.status,
                to_status=into.status,
                note=f"合并重复诉求 {cur.code},附议 {into.reporters + cur.reporters} 人{extra}",
            )
        )  # fmt: skip

    return _move(
        engine, request_id, Action.merge, now=now, actor_id=actor_id,
        note=(lambda: f"作为重复诉求合并到 {found['into'].code}"
                   + (f";{note.strip()}" if note and note.strip() else "")),
        values=values, after=after,
    )  # fmt: skip
