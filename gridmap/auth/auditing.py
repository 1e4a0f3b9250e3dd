"""The audit log: one append-only row per write — who, when, what, before and after.

:func:`audit` appends a row in the caller's transaction; :func:`audited` decorates a write
function of the core so that the role and scope checks, the write and its audit row are one
transaction; :func:`audit_log` reads the rows back, filtered (street administrators only).
Nothing in gridmap updates or deletes an audit row.

Every row has an ``origin``: :data:`LIVE` for the rows this database wrote, :data:`RESTORED`
for the rows a restore brought in from a backup file (:mod:`gridmap.io.backups`) — history
that came from a file, which could have been edited, and is shown as such, never as live.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Connection, Engine, select

from gridmap import settings
from gridmap.auth.roles import Principal, current_principal, resolve_principal
from gridmap.auth.scopes import check_scope, community_ids, table
from gridmap.auth.sessions import current_time
from gridmap.db import connect
from gridmap.errors import PermissionDenied
from gridmap.i18n import pair
from gridmap.models import Base

#: ``audit_log.origin`` of a row written by this database.
LIVE = "live"
#: ``audit_log.origin`` of a row a restore brought in from a backup file.
RESTORED = "restored"
#: (中文, English) of each origin, as the audit page and ``gridmap audit`` show it.
ORIGIN_LABELS: dict[str, tuple[str, str]] = {
    LIVE: pair("实时记录"),
    RESTORED: pair("恢复自备份(非本库实时记录)"),
}


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def audit(
    conn: Connection,
    principal: Principal | None,
    action: str,
    entity: str,
    entity_id: int | None,
    before: Any,
    after: Any,
    at: dt.datetime | None = None,
) -> None:
    """Append one audit row in the caller's transaction: who, when, what, before and after.

    ``principal`` None means :func:`current_principal`. ``before``/``after`` are stored as JSON
    text (any JSON-able value; dates and numpy numbers as strings).
    """
    p = resolve_principal(principal)
    conn.execute(
        table("audit_log")
        .insert()
        .values(
            at=at or current_time(),
            user_id=p.user_id,
            action=str(action)[:40],
            entity=str(entity)[:40],
            entity_id=None if entity_id is None else int(entity_id),
            before=_json(before),
            after=_json(after),
        )
    )


F = TypeVar("F", bound=Callable[..., Any])


def _row_snapshot(c: Connection, entity: str, entity_id: Any) -> dict | None:
    if entity_id is None or entity not in Base.metadata.tables:
        return None
    if isinstance(entity_id, list | tuple | set | dict):
        return None
    tbl = table(entity)
    cols = [col for col in tbl.columns if col.name != "geom"]
    row = c.execute(select(*cols).where(tbl.c.id == int(entity_id))).mappings().first()
    return None if row is None else dict(row)


def audited(
    action: str,
    entity: str,
    id_arg: str | None = None,
    permission: str = "",
    scope: dict[str, str] | None = None,
    require_scope: bool = False,
) -> Callable[[F], F]:
    """Decorate a write function of the core: check role and scope, then audit the write.

    Parameters
    ----------
    action, entity : str
        What the audit row says was done, and to which table.
    id_arg : str, optional
        The argument holding the entity's id (else an ``int`` result is taken as the new id).
    permission : str
        The permission (:data:`PERMISSIONS`) the acting principal needs.
    scope : dict, optional
        Argument name → entity: each given id (or each of a list of ids) must lie in the
        principal's scope (:func:`in_scope`). Keyword arguments gathered by ``**fields`` count.
    require_scope : bool
        A community-scoped principal must name at least one scoped argument (e.g. a new
        organisation needs a parent or a community inside the scope).

    The checks, the write and its audit row are one transaction: the function gets the open
    connection in place of the engine (its own ``transaction(...)`` joins it), nothing is
    written when a check fails, and a write is never committed without its audit row (the
    arguments, the entity's row before and after — no geometry — and the result).
    """

    def wrap(fn: F) -> F:
        import inspect

        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(engine: Engine, *args: Any, **kwargs: Any) -> Any:
            from gridmap.db import transaction  # db imports nothing from auth; no cycle

            p = current_principal()
            bound = signature.bind(engine, *args, **kwargs)
            given = dict(bound.arguments)
            for param in signature.parameters.values():
                if param.kind is inspect.Parameter.VAR_KEYWORD:
                    given |= given.pop(param.name, {})
            entity_id = given.get(id_arg) if id_arg else None
            with transaction(engine) as c:
                _check_call(c, p, given, permission, scope or {}, require_scope)
                before = _row_snapshot(c, entity, entity_id)
                result = fn(c, *args, **kwargs)
                target = entity_id
                if target is None and isinstance(result, int) and not isinstance(result, bool):
                    target = result
                if isinstance(target, list | tuple | set):
                    target = None
                arguments = {k: v for k, v in given.items() if k != "engine" and not _bulky(v)}
                record = {
                    "call": arguments,
                    "row": _row_snapshot(c, entity, target),
                    "result": None if _bulky(result) else result,
                }
                audit(c, p, action, entity, target, before, record)
            return result

        return wrapper  # type: ignore[return-value]

    return wrap


def _check_call(
    c: Connection,
    p: Principal,
    given: dict[str, Any],
    permission: str,
    scope: dict[str, str],
    require_scope: bool,
) -> None:
    """The role and scope checks of :func:`audited` (raise PermissionDenied)."""
    if permission:
        p.require(permission)
    checked = 0
    for arg, kind in scope.items():
        value = given.get(arg)
        values = value if isinstance(value, list | tuple | set) else [value]
        for one in values:
            if one is None:
                continue
            checked += 1
            check_scope(c, p, permission or "read", kind, int(one))
    if require_scope and not checked and community_ids(c, p) is not None:
        raise PermissionDenied(
            "无权限:只能在本社区内操作 / permission denied: only inside your own community"
        )


def _bulky(value: Any) -> bool:
    return isinstance(value, pd.DataFrame | pd.Series | bytes)


def audit_log(
    engine: Engine | Connection,
    *,
    user: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: int | None = None,
    since: dt.datetime | dt.date | None = None,
    until: dt.datetime | dt.date | None = None,
    limit: int | None = None,
    principal: Principal | None = None,
    origin: str | None = None,
) -> pd.DataFrame:
    """Audit rows, newest first, filtered (all filters are bound parameters, never SQL text).

    Needs ``read_audit`` (street administrators). Columns: ``id, at, user_id, user, action,
    entity, entity_id, before, after, origin`` (:data:`LIVE` or :data:`RESTORED`; ``origin``
    filters on it). ``until`` as a date includes that whole day.
    """
    resolve_principal(principal).require("read_audit")
    log, usr = table("audit_log"), table("user")
    query = (
        select(
            log.c.id,
            log.c.at,
            log.c.user_id,
            usr.c.name.label("user"),
            log.c.action,
            log.c.entity,
            log.c.entity_id,
            log.c.before,
            log.c.after,
            log.c.origin,
        )
        .outerjoin(usr, usr.c.id == log.c.user_id)
        .order_by(log.c.id.desc())
    )
    if user:
        query = query.where(usr.c.name == user)
    if action:
        query = query.where(log.c.action == action)
    if entity:
        query = query.where(log.c.entity == entity)
    if entity_id is not None:
        query = query.where(log.c.entity_id == int(entity_id))
    if origin:
        query = query.where(log.c.origin == origin)
    if since is not None:
        query = query.where(log.c.at >= _as_datetime(since))
    if until is not None:
        end = _as_datetime(until)
        if not isinstance(until, dt.datetime):
            end += dt.timedelta(days=1)
        query = query.where(log.c.at < end)
    query = query.limit(limit or settings.AUDIT_MAX_ROWS)
    with connect(engine) as c:
        result = c.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    return frame


def _as_datetime(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())
