"""Who may take a plan action and the record of who did: :data:`PLAN_ACTION_ROLES` and
:func:`authorise` (enforced through :mod:`gridmap.auth`), and :func:`record_audit`, the one
:class:`~gridmap.models.AuditLog` row every plan edit and state change writes.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from gridmap import auth
from gridmap.errors import PermissionDenied
from gridmap.models import AuditLog, GridPlan, User


def now() -> dt.datetime:
    """The local time to the second, as plans and the audit log record it
    (:func:`gridmap.auth.current_time`, the street's time zone)."""
    return auth.current_time()


#: Roles allowed to take each plan action (enforced by :func:`authorise`).
PLAN_ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "edit": ("secretary", "street_admin"),
    "propose": ("secretary", "street_admin"),
    "approve": ("street_admin",),
    "return": ("street_admin",),
    "activate": ("street_admin",),
    "rollback": ("street_admin",),
}


def authorise(conn: Connection, action: str, user_id: int | None, plan: GridPlan) -> None:
    """Refuse a plan action the acting user may not take: :data:`PLAN_ACTION_ROLES` names who
    may do what.

    Enforced by :mod:`gridmap.auth`: the acting principal is the stored user ``user_id`` when
    given, else :func:`gridmap.auth.current_principal` (the logged-in user of the app, or the
    local operator of the CLI). Its role must be listed for the action (``approve``,
    ``activate`` and ``rollback`` need a ``street_admin``) and the plan's community must lie in
    its scope; :class:`~gridmap.errors.PermissionDenied` otherwise.
    """
    if action not in PLAN_ACTION_ROLES:
        raise ValueError(f"unknown plan action {action!r}")
    principal = auth.principal_for(conn, user_id) if user_id is not None else None
    principal = principal or auth.current_principal()
    if principal.role not in PLAN_ACTION_ROLES[action]:
        principal.require(auth.PLAN_PERMISSIONS[action])
        raise PermissionDenied(f"无权限 / permission denied: {action}")
    if not auth.in_scope(conn, principal, "community", plan.community_id):
        raise PermissionDenied(
            "无权限:该社区不在您的管辖范围内 / permission denied: the plan's community is "
            "outside your scope"
        )


def user_name(conn: Connection, user_id: int | None) -> str:
    """A user's name for messages (an anonymous user when ``user_id`` is None)."""
    if user_id is None:
        return "未登录用户 / an anonymous user"
    name = conn.execute(select(User.name).where(User.id == user_id)).scalar()
    return name or f"用户 #{user_id}"


def record_audit(
    session: Session,
    action: str,
    entity: str,
    entity_id: int | None,
    user_id: int | None,
    before: Any,
    after: Any,
) -> None:
    """Add one :class:`~gridmap.models.AuditLog` row (before/after as JSON) to the session."""
    if user_id is None:  # the logged-in user of the app (gridmap.auth), if any
        user_id = auth.current_principal().user_id
    session.add(
        AuditLog(
            at=now(),
            user_id=user_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=None if before is None else json.dumps(before, ensure_ascii=False),
            after=None if after is None else json.dumps(after, ensure_ascii=False),
        )
    )
