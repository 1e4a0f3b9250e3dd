"""Passwords: the argon2id hasher, the password rules and the demo logins' passwords.

:func:`hash_password` and :func:`verify_password` use the one argon2id hasher of the package;
:func:`check_password` enforces the minimum length and keeps the documented demo passwords
(:data:`DEMO_USERS`) to the unchanged demo database (:func:`is_unchanged_demo`); :func:`demo_hash`
gives the demo logins deterministic hashes so the demo database stays byte-identical per seed.

"Unchanged" means no data came in from outside: every import and every restore ends the demo
logins in its own transaction (:func:`end_demo`), and so does any change to the demo's
territory — its street, communities and buildings' codes, names and footprints — however made:
when the demo is built, :func:`record_demo_fingerprint` stores a SHA-256 digest of those rows
(:func:`demo_fingerprint`), and the demo logins work only while they still have it. Work done
in the demo through gridmap itself — requests logged, members edited, grids redrawn — keeps
them: the demo is there to be tried. ``gridmap demo --force`` builds the demo again.
:func:`is_demo_database` only says whether the database holds the demo street at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table

from gridmap import settings
from gridmap.auth.scopes import table
from gridmap.db import connect
from gridmap.errors import InputError
from gridmap.models import street_tables

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
#: The community of the demo secretary (and viewer), and the grid of the demo grid worker: one
#: with open requests on the demo's reference date, two overdue and one due within a day, so
#: that the worker's page (also on a phone) has work to show.
DEMO_COMMUNITY_CODE = "420303001-001"
DEMO_GRID_CODE = "420303001-005-06"
#: The demo's territory, fingerprinted (:func:`demo_fingerprint`): table → columns; None is every
#: column. Buildings' households, leaders, Party groups and grids are left out: the app's own
#: pages change them.
DEMO_TERRITORY: dict[str, tuple[str, ...] | None] = {
    "street": None,
    "community": None,
    "building": ("id", "community_id", "code", "name", "geom", "kind", "completion_year"),
}


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
    """Whether the database holds the built-in demo street (and no other street).

    True also for a demo that was changed since it was built; whether the demo logins work is
    :func:`is_unchanged_demo`.
    """
    street = table("street")
    with connect(conn) as c:
        rows = c.execute(select(street.c.code, street.c.name)).all()
    return len(rows) == 1 and tuple(rows[0]) == (
        settings.DEMO_STREET_CODE,
        settings.DEMO_STREET_NAME,
    )


def demo_fingerprint(
    conn: Connection, columns: dict[str, list[str]] | None = None
) -> tuple[str, dict[str, list[str]]]:
    """A SHA-256 digest of every row of the demo's territory, and the columns it covers.

    Parameters
    ----------
    conn : Connection
        Read through it (the caller's transaction, e.g. the one writing the demo).
    columns : dict, optional
        Table → the columns to hash (a recorded fingerprint's). None: the tables and columns
        of :data:`DEMO_TERRITORY` the database holds now.

    Returns
    -------
    tuple
        The hex digest and the columns hashed. Rows are read as the database driver returns
        them (no type conversion), ordered by primary key, so the digest changes with any
        inserted, deleted or changed row, and is the same for the same content on one backend.
    """
    models = {t.name: t for t in street_tables()}
    if columns is None:
        present = set(inspect(conn).get_table_names())
        columns = {}
        for name in sorted(set(DEMO_TERRITORY) & present):
            held = {col["name"] for col in inspect(conn).get_columns(name)}
            wanted = DEMO_TERRITORY[name]
            columns[name] = sorted(held if wanted is None else held & set(wanted))
    digest = hashlib.sha256()
    for name in sorted(columns):
        cols = list(columns[name])
        order = [c.name for c in models[name].primary_key.columns] or cols
        raw = sql_table(name, *(sql_column(c) for c in dict.fromkeys(cols + order)))
        digest.update(json.dumps([name, cols]).encode())
        rows = conn.execute(select(*(raw.c[c] for c in cols)).order_by(*(raw.c[c] for c in order)))
        for row in rows:  # untyped columns: the driver's values, no conversion
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest(), columns


def record_demo_fingerprint(conn: Connection) -> str:
    """Record the street's data as the unchanged demo (:func:`demo_fingerprint`); return the
    digest. Called where the demo is written, in the same transaction."""
    digest, columns = demo_fingerprint(conn)
    fingerprint = table("demo_fingerprint")
    conn.execute(fingerprint.delete())
    conn.execute(
        fingerprint.insert().values(
            id=1, digest=digest, columns=json.dumps(columns, sort_keys=True)
        )
    )
    return digest


def is_unchanged_demo(conn: Engine | Connection) -> bool:
    """Whether the database holds the demo street exactly as it was built: the demo logins
    and demo passwords work only then.

    The demo's territory must still have the digest :func:`record_demo_fingerprint` stored
    when the demo was built, and no import or restore may have ended the demo since
    (:func:`end_demo`). A database with no recorded fingerprint (a street of its own, a demo
    something was imported into, or a demo built before the fingerprint existed) is not the
    unchanged demo.
    """
    with connect(conn) as c:
        if not is_demo_database(c):
            return False
        fingerprint = table("demo_fingerprint")
        row = c.execute(select(fingerprint.c.digest, fingerprint.c.columns)).first()
        if row is None:
            return False
        try:
            columns = {str(k): [str(v) for v in vs] for k, vs in json.loads(row[1]).items()}
        except (TypeError, ValueError, AttributeError):
            return False
        models = {t.name: t for t in street_tables()}
        gone = [
            n for n, cs in columns.items() if n not in models or set(cs) - set(models[n].c.keys())
        ]
        if gone:
            return False  # a recorded table or column no longer exists
        digest, _ = demo_fingerprint(c, columns)
    return hmac.compare_digest(digest, str(row[0]))


def end_demo(conn: Connection) -> None:
    """End the demo logins for good (until ``gridmap demo --force``): called by every import
    and restore, in its transaction, so data from outside never sits behind public passwords."""
    conn.execute(table("demo_fingerprint").delete())


def check_password(conn: Connection, password: str) -> None:
    """Refuse (InputError) a too short password, or a demo password off the unchanged demo."""
    if len(password or "") < settings.PASSWORD_MIN_LENGTH:
        raise InputError(
            f"密码至少 {settings.PASSWORD_MIN_LENGTH} 个字符 / a password needs at least "
            f"{settings.PASSWORD_MIN_LENGTH} characters"
        )
    if password in DEMO_PASSWORDS and not is_unchanged_demo(conn):
        raise InputError(
            "示范密码只能用于未经改动的示范数据库 / the documented demo passwords work only on "
            "the unchanged demo database: choose another password"
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
