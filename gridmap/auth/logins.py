"""Logging in: a name and password checked, and the principal of a stored user or session.

:func:`authenticate` checks a user name and password — an unknown name, a wrong password and a
disabled user are refused with the same sentence, too many recent failures lock the account for
a while, every attempt on a known user is audited — and returns the user's :class:`Principal`.
:func:`principal_for` builds the principal of a stored user; :func:`session_principal` that of a
live session whose user still exists and is enabled.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from gridmap import settings
from gridmap.auth.auditing import audit
from gridmap.auth.passwords import (
    DEMO_PASSWORDS,
    DEMO_USERS,
    DUMMY_HASH,
    is_demo_database,
    verify_password,
)
from gridmap.auth.roles import Principal
from gridmap.auth.scopes import community_of, table
from gridmap.auth.sessions import SESSIONS, SessionExpired, current_time
from gridmap.db import connect
from gridmap.errors import PermissionDenied


def principal_for(conn: Engine | Connection, user_id: int) -> Principal:
    """The principal of a stored user (PermissionDenied when missing or disabled)."""
    user = table("user")
    with connect(conn) as c:
        row = c.execute(select(user).where(user.c.id == int(user_id))).mappings().first()
        if row is None or row["disabled"]:
            raise PermissionDenied("用户不存在或已停用 / the user does not exist or is disabled")
        return _principal(c, row)


def _principal(c: Connection, row: Any) -> Principal:
    community_id = row["community_id"]
    if row["grid_id"] is not None and community_id is None:
        community_id = next(iter(community_of(c, "grid", row["grid_id"])), None)
    return Principal(
        user_id=int(row["id"]),
        name=row["name"],
        role=str(row["role"]),
        street_id=row["street_id"],
        community_id=community_id,
        grid_id=row["grid_id"],
    )


_LOGIN_REFUSED = (
    "用户名或密码错误,或账号已停用 / wrong user name or password, or the account is disabled"
)


def _recent_failures(c: Connection, user_id: int, now: dt.datetime) -> int:
    log = table("audit_log")
    since = now - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    last_ok = c.execute(
        select(func.max(log.c.at)).where(
            log.c.entity == "user", log.c.entity_id == user_id, log.c.action == "login"
        )
    ).scalar()
    if last_ok is not None and last_ok > since:
        since = last_ok
    return c.execute(
        select(func.count()).where(
            log.c.entity == "user",
            log.c.entity_id == user_id,
            log.c.action == "login_failed",
            log.c.at > since,
        )
    ).scalar_one()


def authenticate(
    engine: Engine, name: str, password: str, now: dt.datetime | None = None
) -> Principal:
    """Check a user name and password; return the user's :class:`Principal`.

    Raises :class:`PermissionDenied` with the same sentence for an unknown name, a wrong
    password and a disabled user. After ``settings.LOGIN_MAX_FAILURES`` failures within
    ``settings.LOGIN_LOCKOUT_MINUTES`` the account is locked for that long (even the right
    password is refused). Demo users and demo passwords work only on the demo database. Every
    attempt on a known user is audited (``login`` / ``login_failed``).
    """
    from gridmap.db import transaction

    now = now or current_time()
    with transaction(engine) as conn:
        user = table("user")
        row = conn.execute(select(user).where(user.c.name == (name or "").strip())).mappings()
        row = row.first()
        if row is None:
            verify_password(DUMMY_HASH, password or "")  # same time as a known name
            raise PermissionDenied(_LOGIN_REFUSED)
        uid = int(row["id"])
        if _recent_failures(conn, uid, now) >= settings.LOGIN_MAX_FAILURES:
            raise PermissionDenied(
                f"尝试次数过多,账号已锁定 {settings.LOGIN_LOCKOUT_MINUTES} 分钟 / too many failed "
                f"attempts: the account is locked for {settings.LOGIN_LOCKOUT_MINUTES} minutes"
            )
        ok = verify_password(row["password_hash"], password or "") and not row["disabled"]
        demo = row["name"] in DEMO_USERS or (password or "") in DEMO_PASSWORDS
        if ok and demo and not is_demo_database(conn):
            ok = False
        who = Principal(uid, row["name"], str(row["role"]))
        if not ok:
            audit(conn, who, "login_failed", "user", uid, None, {"name": row["name"]}, at=now)
    if not ok:  # the failure row is committed before refusing
        raise PermissionDenied(_LOGIN_REFUSED)
    with transaction(engine) as conn:
        audit(conn, who, "login", "user", uid, None, {"name": row["name"]}, at=now)
        return _principal(conn, row)


def session_principal(engine: Engine | Connection, token: str | None) -> Principal:
    """The principal of a live session whose user still exists and is enabled."""
    principal = SESSIONS.get(token)
    try:
        return principal_for(engine, principal.user_id)  # role or scope may have changed
    except PermissionDenied:
        SESSIONS.end(token)
        raise SessionExpired("账号已停用,请重新登录 / the account was disabled") from None
