"""Passwords: the argon2id hasher, the password rules and the demo logins' passwords.

:func:`hash_password` and :func:`verify_password` use the one argon2id hasher of the package;
:func:`check_password` enforces the minimum length and keeps the documented demo passwords
(:data:`DEMO_USERS`) to the demo database (:func:`is_demo_database`); :func:`demo_hash` gives
the demo logins deterministic hashes so the demo database stays byte-identical per seed.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, select

from gridmap import settings
from gridmap.auth.scopes import table
from gridmap.db import connect
from gridmap.errors import InputError

_HASHER = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 "low memory" defaults
#: Passwords of the demo logins (README): accepted only on the demo street's database.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "demo_admin": ("street_admin", "demo-admin-2026"),
    "demo_secretary": ("secretary", "demo-secretary-2026"),
    "demo_worker": ("grid_worker", "demo-worker-2026"),
    "demo_planner": ("planner", "demo-planner-2026"),
    "demo_viewer": ("viewer", "demo-viewer-2026"),
}
DEMO_PASSWORDS: frozenset[str] = frozenset(pw for _, pw in DEMO_USERS.values())
#: The community and grid of the demo secretary and grid worker.
DEMO_COMMUNITY_CODE = "420303001-001"
DEMO_GRID_CODE = "420303001-001-01"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; verify with :func:`verify_password`)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a malformed hash never matches."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


#: A hash of a random password, verified against when a login names no user (same time).
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def is_demo_database(conn: Engine | Connection) -> bool:
    """Whether the database holds the built-in demo street (and nothing else)."""
    street = table("street")
    with connect(conn) as c:
        rows = c.execute(select(street.c.code, street.c.name)).all()
    return len(rows) == 1 and tuple(rows[0]) == (
        settings.DEMO_STREET_CODE,
        settings.DEMO_STREET_NAME,
    )


def check_password(conn: Connection, password: str) -> None:
    """Refuse (InputError) a too short password, or a demo password off the demo database."""
    if len(password or "") < settings.PASSWORD_MIN_LENGTH:
        raise InputError(
            f"密码至少 {settings.PASSWORD_MIN_LENGTH} 个字符 / a password needs at least "
            f"{settings.PASSWORD_MIN_LENGTH} characters"
        )
    if password in DEMO_PASSWORDS and not is_demo_database(conn):
        raise InputError(
            "示范密码只能用于示范数据库 / the documented demo passwords work only on the demo "
            "database: choose another password"
        )


def demo_hash(name: str, password: str) -> str:
    """An argon2id hash with a salt derived from the name: the demo database stays
    byte-identical per seed (these passwords are public and only work on the demo)."""
    from argon2.low_level import Type, hash_secret

    salt = hashlib.sha256(f"gridmap-demo:{name}".encode()).digest()[:16]
    return hash_secret(
        password.encode(),
        salt,
        time_cost=_HASHER.time_cost,
        memory_cost=_HASHER.memory_cost,
        parallelism=_HASHER.parallelism,
        hash_len=_HASHER.hash_len,
        type=Type.ID,
    ).decode()
