"""User accounts: create, change, list, disable, reset a password; the first admin and demo logins.

:func:`create_user`, :func:`change_user`, :func:`list_users`, :func:`disable_user` and
:func:`reset_password` manage the accounts (``manage_users``; audited, never with a hash; a
change, disabling or new password ends the user's sessions: it raises the user's
``session_epoch``, which every session compares on use, so sessions in other processes end
too). :func:`ensure_admin` creates the first ``street_admin`` of an empty database from a given
password; :func:`add_demo_users` writes the demo logins of the demo database and records its
fingerprint (demo logins work only while the demo is unchanged).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from gridmap import settings
from gridmap.auth.auditing import audit
from gridmap.auth.passwords import (
    DEMO_COMMUNITY_CODE,
    DEMO_GRID_CODE,
    DEMO_USERS,
    check_password,
    demo_hash,
    hash_password,
    record_demo_fingerprint,
)
from gridmap.auth.roles import ROLES, SYSTEM, Principal, resolve_principal
from gridmap.auth.scopes import community_of, table
from gridmap.auth.sessions import SESSIONS
from gridmap.db import connect
from gridmap.errors import InputError


def code_id(c: Connection, name: str, code: str | None) -> int | None:
    """The id of the ``name`` row (a table with a ``code``) with ``code``; None for None."""
    if code is None:
        return None
    tbl = table(name)
    found = c.execute(select(tbl.c.id).where(tbl.c.code == code)).scalar()
    if found is None:
        raise InputError(f"找不到编码 {code} / no {name} with code {code}")
    return int(found)


def active_grid_id(c: Connection, code: str) -> int:
    """The id of grid ``code`` in an active plan (InputError when there is none)."""
    grid, plan = table("grid"), table("grid_plan")
    found = c.execute(
        select(grid.c.id)
        .join(plan, plan.c.id == grid.c.plan_id)
        .where(grid.c.code == code, plan.c.status == "active")
    ).scalar()
    if found is None:
        raise InputError(f"当前方案中没有网格 {code} / no grid {code} in an active plan")
    return int(found)


def create_user(
    engine: Engine,
    name: str,
    password: str,
    role: str,
    *,
    street_code: str | None = None,
    community_code: str | None = None,
    grid_code: str | None = None,
    principal: Principal | None = None,
) -> int:
    """Add a user; return their id.

    A ``secretary`` needs ``community_code``, a ``grid_worker`` ``grid_code`` (a grid of an
    active plan; the community follows from it). Names are unique; the password must be at
    least ``settings.PASSWORD_MIN_LENGTH`` characters and not a demo password (except on the
    demo database). Audited as ``user_create`` (never with the hash).
    """
    from gridmap.db import transaction

    p = resolve_principal(principal)
    p.require("manage_users")
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise InputError("用户名不能为空且不超过 50 字 / a user name of 1–50 characters is needed")
    if role not in ROLES:
        raise InputError(f"未知角色 / unknown role {role!r}: {', '.join(ROLES)}")
    user = table("user")
    with transaction(engine) as conn:
        check_password(conn, password)
        if conn.execute(select(user.c.id).where(user.c.name == name)).first() is not None:
            raise InputError(f"用户 {name} 已存在 / user {name} exists already")
        values = {
            "name": name,
            "password_hash": hash_password(password),
            **_role_and_scope(conn, role, street_code, community_code, grid_code),
            "disabled": False,
        }
        new_id = conn.execute(user.insert().values(**values)).inserted_primary_key[0]
        shown = {k: v for k, v in values.items() if k != "password_hash"}
        audit(conn, p, "user_create", "user", new_id, None, shown)
    return int(new_id)


def _role_and_scope(
    conn: Connection,
    role: str,
    street_code: str | None,
    community_code: str | None,
    grid_code: str | None,
) -> dict[str, Any]:
    """The ``role, street_id, community_id, grid_id`` of a user, checked (InputError)."""
    if role not in ROLES:
        raise InputError(f"未知角色 / unknown role {role!r}: {', '.join(ROLES)}")
    street_id = code_id(conn, "street", street_code)
    community_id = code_id(conn, "community", community_code)
    grid_id = active_grid_id(conn, grid_code) if grid_code else None
    if grid_id is not None:
        community_id = next(iter(community_of(conn, "grid", grid_id)))
    if role == "secretary" and community_id is None:
        raise InputError("社区书记需要指定社区 / a secretary needs --community")
    if role == "grid_worker" and grid_id is None:
        raise InputError("网格员需要指定网格 / a grid worker needs --grid")
    if community_id is not None and street_id is None:
        com = table("community")
        street_id = conn.execute(select(com.c.street_id).where(com.c.id == community_id)).scalar()
    return {"role": role, "street_id": street_id, "community_id": community_id, "grid_id": grid_id}


def next_epoch() -> Any:
    """The ``user.session_epoch`` + 1 of an UPDATE's values: every session of the user, in any
    process, ends on its next use (:func:`gridmap.auth.logins.session_principal`)."""
    return table("user").c.session_epoch + 1


def change_user(
    engine: Engine,
    name: str,
    role: str | None = None,
    *,
    street_code: str | None = None,
    community_code: str | None = None,
    grid_code: str | None = None,
    principal: Principal | None = None,
) -> None:
    """Give a user a new role and/or scope (the scope is exactly the codes given).

    ``role`` None keeps the user's role. A secretary needs ``community_code``, a grid worker
    ``grid_code``. A disabled user is enabled again (e.g. one whose community was replaced by
    ``demo --force`` or ``restore``); their open sessions end. Audited as ``user_change``.
    """
    from gridmap.db import transaction

    p = resolve_principal(principal)
    p.require("manage_users")
    user = table("user")
    with transaction(engine) as conn:
        row = _user_row(conn, name)
        values = _role_and_scope(
            conn, role or str(row["role"]), street_code, community_code, grid_code
        )
        values["disabled"] = False
        conn.execute(
            user.update().where(user.c.id == row["id"]).values(**values, session_epoch=next_epoch())
        )
        before = {k: row[k] for k in values}
        audit(conn, p, "user_change", "user", row["id"], before, values)
    SESSIONS.end_user(int(row["id"]))


def list_users(engine: Engine | Connection) -> pd.DataFrame:
    """Every user (no password hashes): id, name, role, street/community/grid codes, disabled."""
    user, com, grid, street = table("user"), table("community"), table("grid"), table("street")
    query = (
        select(
            user.c.id,
            user.c.name,
            user.c.role,
            street.c.code.label("street_code"),
            com.c.code.label("community_code"),
            grid.c.code.label("grid_code"),
            user.c.disabled,
        )
        .outerjoin(street, street.c.id == user.c.street_id)
        .outerjoin(com, com.c.id == user.c.community_id)
        .outerjoin(grid, grid.c.id == user.c.grid_id)
        .order_by(user.c.id)
    )
    with connect(engine) as c:
        result = c.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    frame["role"] = frame["role"].astype(str)
    frame["disabled"] = frame["disabled"].astype(bool)
    return frame


def _user_row(c: Connection, name: str) -> Any:
    user = table("user")
    row = c.execute(select(user).where(user.c.name == name)).mappings().first()
    if row is None:
        raise InputError(f"没有用户 {name} / no user named {name}")
    return row


def disable_user(
    engine: Engine, name: str, disabled: bool = True, principal: Principal | None = None
) -> None:
    """Disable (or re-enable) a user: a disabled user cannot log in and their sessions end
    (in every process: the user's ``session_epoch`` goes up)."""
    from gridmap.db import transaction

    p = resolve_principal(principal)
    p.require("manage_users")
    user = table("user")
    with transaction(engine) as conn:
        row = _user_row(conn, name)
        conn.execute(
            user.update()
            .where(user.c.id == row["id"])
            .values(disabled=disabled, session_epoch=next_epoch())
        )
        action = "user_disable" if disabled else "user_enable"
        audit(conn, p, action, "user", row["id"], {"disabled": row["disabled"]},
              {"disabled": disabled})  # fmt: skip
    if disabled:
        SESSIONS.end_user(int(row["id"]))


def reset_password(
    engine: Engine, name: str, password: str, principal: Principal | None = None
) -> None:
    """Set a new password for a user; their open sessions end, in every process (the user's
    ``session_epoch`` goes up). Audited without the hash."""
    from gridmap.db import transaction

    p = resolve_principal(principal)
    if p.user_id is None or p.name != name:
        p.require("manage_users")
    user = table("user")
    with transaction(engine) as conn:
        check_password(conn, password)
        row = _user_row(conn, name)
        conn.execute(
            user.update()
            .where(user.c.id == row["id"])
            .values(password_hash=hash_password(password), session_epoch=next_epoch())
        )
        audit(conn, p, "user_reset_password", "user", row["id"], None, {"name": name})
    SESSIONS.end_user(int(row["id"]))


def ensure_admin(
    engine: Engine, password: str | None = None, name: str | None = None
) -> int | None:
    """On a database with no user, create the first ``street_admin``.

    The password comes from ``password`` or ``GRIDMAP_ADMIN_PASSWORD`` — never a default:
    with neither, nothing is created and None is returned (the caller prompts). Returns the
    new user's id, or None when users exist already or no password was given.
    """
    import os

    with connect(engine) as c:
        if c.execute(select(func.count()).select_from(table("user"))).scalar_one():
            return None
    password = password or os.environ.get("GRIDMAP_ADMIN_PASSWORD")
    if not password:
        return None
    return create_user(
        engine, name or settings.ADMIN_NAME, password, "street_admin", principal=SYSTEM
    )


def add_demo_users(bind: Engine | Connection) -> dict[str, int]:
    """Add the demo logins of :data:`DEMO_USERS` to the demo database (README lists them).

    Written directly (no audit row, deterministic hashes) so the demo database stays
    byte-identical per seed; their passwords are refused on any other database. A demo login
    that exists already (``demo --force`` keeps accounts) is reset to its demo role and scope
    (its sessions end when its password, role or enabled state changes). Called once the demo's
    street data is written, in the same transaction: the demo's fingerprint is recorded here
    (:func:`~gridmap.auth.passwords.record_demo_fingerprint`), so the demo logins work only
    while that data is unchanged.
    """
    from gridmap.db import transaction

    user, com = table("user"), table("community")
    ids = {}
    with transaction(bind) as conn:
        cid = code_id(conn, "community", DEMO_COMMUNITY_CODE)
        gid = active_grid_id(conn, DEMO_GRID_CODE)
        sid = conn.execute(select(com.c.street_id).where(com.c.id == cid)).scalar()
        grid, plan = table("grid"), table("grid_plan")
        worker_cid = conn.execute(
            select(plan.c.community_id)
            .join(grid, grid.c.plan_id == plan.c.id)
            .where(grid.c.id == gid)
        ).scalar()
        for name, (role, password) in DEMO_USERS.items():
            values = {
                "name": name,
                "password_hash": demo_hash(name, password),
                "role": role,
                "street_id": sid,
                "community_id": (
                    worker_cid
                    if role == "grid_worker"
                    else cid
                    if role in ("secretary", "viewer")
                    else None
                ),
                "grid_id": gid if role == "grid_worker" else None,
                "disabled": False,
            }
            old = conn.execute(select(user).where(user.c.name == name)).mappings().first()
            if old is None:
                found = conn.execute(user.insert().values(**values)).inserted_primary_key[0]
            else:
                found = old["id"]
                keys = ("password_hash", "role", "disabled")
                if any(str(old[k]) != str(values[k]) for k in keys):
                    values["session_epoch"] = next_epoch()
                conn.execute(user.update().where(user.c.id == found).values(**values))
            ids[name] = int(found)
        record_demo_fingerprint(conn)
    return ids
