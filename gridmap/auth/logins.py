"""Logging in: a name and password checked, and the principal of a stored user or session.

:func:`authenticate` checks a user name and password and returns the user's
:class:`Principal`. An unknown name, a wrong password, a disabled user and a locked name are
refused with the same sentence (:func:`login_refused`), so a refusal never tells which account
names exist. Throttling holds under parallel attempts: before a password is checked, an attempt
is reserved on the name's row of ``login_attempt`` (:func:`reserve_attempt`, one atomic
``UPDATE … SET failures = failures + 1`` in the database, on both backends), keyed by the
normalised name (:func:`attempt_key`) whether or not such a user exists; once
``settings.LOGIN_MAX_FAILURES`` are reserved no further password is checked until
``settings.LOGIN_LOCKOUT_MINUTES`` have passed since the last one, and a success starts the
count again (:func:`release_attempt`). A login that finds every place taken by checks still
running waits for them, so several right logins of one user at once all get in. Attempts on a
known user are audited (``login``, ``login_failed``, ``login_locked``).

:func:`principal_for` builds the principal of a stored user; :func:`session_principal` that of
a live session whose user still exists, is enabled and has not changed their password, role or
scope since the session started (the user's ``session_epoch``, read from the database on every
use, so a change made by another process — the CLI — ends the session too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import unicodedata
from typing import Any

from sqlalchemy import Connection, Engine, case, select

from gridmap import settings
from gridmap.auth.auditing import audit
from gridmap.auth.passwords import (
    DEMO_PASSWORDS,
    DEMO_USERS,
    DUMMY_HASH,
    is_unchanged_demo,
    verify_password,
)
from gridmap.auth.roles import Principal
from gridmap.auth.scopes import community_of, table
from gridmap.auth.sessions import SESSIONS, SessionExpired, current_time
from gridmap.db import connect, transaction
from gridmap.errors import PermissionDenied


def principal_for(conn: Engine | Connection, user_id: int) -> Principal:
    """The principal of a stored user (PermissionDenied when missing or disabled).

    The principal carries the user's current ``session_epoch``.
    """
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
        session_epoch=int(row["session_epoch"] or 0),
    )


def login_refused() -> str:
    """The one sentence of every refused login: unknown name, wrong password, disabled user,
    locked name (and a demo login off the unchanged demo)."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    return (
        f"用户名或密码错误、账号已停用,或失败次数过多已锁定 {minutes} 分钟 / wrong user name or "
        f"password, the account is disabled, or it is locked for {minutes} minutes after too "
        "many failed attempts"
    )


def attempt_key(name: str | None) -> str:
    """The ``login_attempt`` key of a typed user name: SHA-256 of its normalised form.

    Normalised: Unicode NFKC, outer spaces removed, case folded — so ``Admin``, ``ADMIN`` and
    ``admin`` (and full-width ``ａｄｍｉｎ``) share one counter. Hashed, so names typed by
    mistake (a password in the name field) are not stored as typed.
    """
    normal = unicodedata.normalize("NFKC", name or "").strip().casefold()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def _insert_if_missing(conn: Connection, values: dict[str, Any]) -> None:
    """``INSERT … ON CONFLICT (key) DO NOTHING`` on either backend."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    attempts = table("login_attempt")
    conn.execute(insert(attempts).values(**values).on_conflict_do_nothing(index_elements=["key"]))


def _try_reserve(engine: Engine, key: str, now: dt.datetime) -> tuple[int, int] | None:
    """One reservation try, in one short transaction: None when reserved, else the row's
    ``(failures, pending)`` (``(0, 0)`` when another login's clean-up deleted it meanwhile)."""
    attempts = table("login_attempt")
    expired = attempts.c.last_at <= now - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    with transaction(engine) as conn:
        _insert_if_missing(conn, {"key": key, "failures": 0, "pending": 0, "last_at": now})
        done = conn.execute(
            attempts.update()
            .where(attempts.c.key == key)
            .where((attempts.c.failures < settings.LOGIN_MAX_FAILURES) | expired)
            .values(
                failures=case((expired, 1), else_=attempts.c.failures + 1),
                pending=case((expired, 1), else_=attempts.c.pending + 1),
                last_at=now,
            )
        ).rowcount
        if done:
            return None
        found = conn.execute(
            select(attempts.c.failures, attempts.c.pending).where(attempts.c.key == key)
        ).first()
    return (0, 0) if found is None else (int(found[0]), int(found[1]))


def reserve_attempt(engine: Engine, name: str | None, now: dt.datetime | None = None) -> bool:
    """Reserve one password check for ``name`` (known or not); False when it is locked.

    The name's row of ``login_attempt`` is created if missing, then one conditional ``UPDATE``
    adds 1 to ``failures`` and ``pending`` when fewer than ``settings.LOGIN_MAX_FAILURES`` are
    counted (or the last attempt was ``settings.LOGIN_LOCKOUT_MINUTES`` ago or more: the count
    starts again at 1). The database serialises the updates of one row, so however many
    attempts run in parallel at most ``LOGIN_MAX_FAILURES`` hold a reservation or failed since
    the last success. A reservation counts as a failure until :func:`release_attempt` says the
    password was right.

    An attempt that finds the count full while checks of the name are still running
    (``pending``) waits for them — one may succeed and free a place, as when several logins of
    one user run at once — and gives up once ``settings.LOGIN_PENDING_WAIT_S`` pass with none
    finishing. Rows of names whose window has passed are deleted (they mean the same as none).
    """
    now = now or current_time()
    key = attempt_key(name)
    seen: tuple[int, int] | None = None
    deadline = time.monotonic() + settings.LOGIN_PENDING_WAIT_S
    while True:
        state = _try_reserve(engine, key, now)
        if state is None:
            break
        if state != (0, 0) and state[1] <= 0:
            return False  # locked: every counted attempt failed
        if state != seen:
            seen, deadline = state, time.monotonic() + settings.LOGIN_PENDING_WAIT_S
        elif time.monotonic() > deadline:
            return False  # the running checks never finished (a process that died)
        time.sleep(_POLL_S)
    attempts = table("login_attempt")
    cutoff = now - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    passed = (
        select(attempts.c.id)
        .where(attempts.c.last_at <= cutoff, attempts.c.key != key)
        .with_for_update(skip_locked=True)  # PostgreSQL: never wait for another login's row
    )
    with transaction(engine) as conn:
        conn.execute(attempts.delete().where(attempts.c.id.in_(passed)))
    return True


#: Seconds between two looks at a name's running checks (:func:`reserve_attempt`).
_POLL_S = 0.05


def release_attempt(
    conn: Connection, name: str | None, succeeded: bool, now: dt.datetime | None = None
) -> None:
    """End a reservation of :func:`reserve_attempt`, in the caller's transaction.

    A failure stays counted; a success starts the count again, keeping only the other checks
    of the name still running (they count until they end).
    """
    attempts = table("login_attempt")
    left = case((attempts.c.pending > 1, attempts.c.pending - 1), else_=0)
    values: dict[str, Any] = {"pending": left}
    if succeeded:
        values |= {"failures": left, "last_at": now or current_time()}
    conn.execute(attempts.update().where(attempts.c.key == attempt_key(name)).values(**values))


def _audit_attempt(conn: Connection, row: Any, action: str, now: dt.datetime) -> None:
    who = Principal(int(row["id"]), row["name"], str(row["role"]))
    audit(conn, who, action, "user", int(row["id"]), None, {"name": row["name"]}, at=now)


def authenticate(
    engine: Engine, name: str, password: str, now: dt.datetime | None = None
) -> Principal:
    """Check a user name and password; return the user's :class:`Principal`.

    Raises :class:`PermissionDenied` with the same sentence (:func:`login_refused`) for an
    unknown name, a wrong password, a disabled user and a locked name. An attempt is reserved
    in the database before the password is checked (:func:`reserve_attempt`): after
    ``settings.LOGIN_MAX_FAILURES`` reservations without a success, no password of that name
    (known or not) is checked — even the right one is refused — until
    ``settings.LOGIN_LOCKOUT_MINUTES`` after the last, however many attempts run in parallel.
    A success resets the count. Demo users and demo passwords work only on the unchanged demo
    database (:func:`~gridmap.auth.passwords.is_unchanged_demo`). Attempts on a known user are
    audited: ``login``, ``login_failed``, ``login_locked``.
    """
    now = now or current_time()
    typed = (name or "").strip()
    password = password or ""
    user = table("user")
    reserved = reserve_attempt(engine, typed, now)
    with connect(engine) as c:
        row = c.execute(select(user).where(user.c.name == typed)).mappings().first()
    if not reserved:
        if row is not None:
            with transaction(engine) as conn:
                _audit_attempt(conn, row, "login_locked", now)
        raise PermissionDenied(login_refused())
    found: Principal | None = None
    try:
        if row is None:
            verify_password(DUMMY_HASH, password)  # the same time as a known name
        elif verify_password(row["password_hash"], password) and not row["disabled"]:
            demo = row["name"] in DEMO_USERS or password in DEMO_PASSWORDS
            if not demo or is_unchanged_demo(engine):
                found = _log_in(engine, row, typed, now)
    finally:
        if found is None:
            with transaction(engine) as conn:
                release_attempt(conn, typed, succeeded=False)
                if row is not None:
                    _audit_attempt(conn, row, "login_failed", now)
    if found is None:
        raise PermissionDenied(login_refused())
    return found


def _log_in(engine: Engine, row: Any, typed: str, now: dt.datetime) -> Principal | None:
    """The success of a checked password, in one transaction: the count reset, ``login``
    audited, the principal read. None when the user was disabled or given a new password
    while the password was checked."""
    user = table("user")
    with transaction(engine) as conn:
        fresh = conn.execute(select(user).where(user.c.id == row["id"])).mappings().first()
        if fresh is None or fresh["disabled"] or fresh["password_hash"] != row["password_hash"]:
            return None
        release_attempt(conn, typed, succeeded=True, now=now)
        _audit_attempt(conn, fresh, "login", now)
        return _principal(conn, fresh)


def session_principal(engine: Engine | Connection, token: str | None) -> Principal:
    """The principal of a live session whose user still exists, is enabled and kept the
    password, role and scope the session started with (the same ``session_epoch``).

    Raises :class:`SessionExpired` otherwise, and ends the session.
    """
    principal = SESSIONS.get(token)
    if principal.user_id is None:
        SESSIONS.end(token)
        raise SessionExpired("请登录 / please log in")
    try:
        fresh = principal_for(engine, principal.user_id)  # role or scope may have changed
    except PermissionDenied:
        SESSIONS.end(token)
        raise SessionExpired("账号已停用,请重新登录 / the account was disabled") from None
    if principal.session_epoch is None or fresh.session_epoch != principal.session_epoch:
        SESSIONS.end(token)
        raise SessionExpired(
            "密码或账号已更改,请重新登录 / the password or the account was changed: log in again"
        )
    return fresh
