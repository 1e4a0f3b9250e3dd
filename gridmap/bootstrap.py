"""Create, fill and open a database: ``gridmap init``/``demo`` and the app's first start.

The embedded default (an SQLite file under :data:`gridmap.settings.DATA_DIR`) is created with
the demo street the first time it is opened, so a fresh machine shows a map with no set-up. A
database named explicitly (``--db``/``GRIDMAP_DATABASE_URL``) is never created behind the
user's back: a missing file there is an error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine

from gridmap import settings
from gridmap.db import (
    check_schema,
    init_database,
    is_empty,
    make_engine,
    resolve_url,
    transaction,
)
from gridmap.errors import ConflictError
from gridmap.models import street_tables
from gridmap.repository import save_tables

log = logging.getLogger(__name__)

T = TypeVar("T")


def replace_street(
    bind: Engine | Connection,
    write: Callable[[Connection], T],
    action: str,
    details: dict | None = None,
) -> tuple[T, list[str]]:
    """Delete the street's data and write new data with ``write``, in one transaction.

    Every table but the accounts and the audit log (:data:`~gridmap.models.ACCOUNT_TABLES`)
    is emptied; users keep their accounts and get their scope back by code in the new data
    (or are disabled when it is gone); one audit row ``action`` records what happened, with
    ``details``, the rows written (when ``write`` returns counts) and the disabled users.

    Returns
    -------
    tuple
        What ``write`` returned, and the names of the users disabled for a lost scope.
    """
    from gridmap import auth

    auth.current_principal().require("backup")  # street administrators (and the operator)
    with transaction(bind) as conn:
        detached = auth.detach_users(conn)
        for tbl in reversed(street_tables()):  # children first; grid ↔ party_org deferred
            conn.execute(tbl.delete())
        written = write(conn)
        lost = auth.reattach_users(conn, detached)
        record = {**(details or {}), "disabled_users": lost}
        if isinstance(written, dict):
            record["rows"] = written
        auth.audit(conn, None, action, "database", None, None, record)
    return written, lost


def clear_all(bind: Engine | Connection) -> list[str]:
    """Delete the street's data in one transaction; the schema, accounts and audit log stay.

    Returns the names of the users disabled because their community or grid is gone.
    """
    return replace_street(bind, lambda conn: None, "clear")[1]


def load_demo(engine: Engine, seed: int = settings.DEMO_SEED, force: bool = False) -> dict:
    """Write the demo street into an initialised database, in one transaction.

    Parameters
    ----------
    engine : Engine
    seed : int
        Same seed, same content (byte for byte).
    force : bool
        Replace whatever the database holds. Without it a database that already holds a street
        is left untouched and :class:`~gridmap.errors.ConflictError` is raised.

    Returns
    -------
    dict
        Rows written per table.
    """
    from gridmap.auth import add_demo_users  # the demo logins (README; demo database only)
    from gridmap.demo import build_demo

    empty = is_empty(engine)
    if not empty and not force:
        where = engine.url.render_as_string(hide_password=True)
        raise ConflictError(
            f"数据库中已有数据 / the database {where} already holds a street; nothing was "
            "changed. Use --force to replace it with the demo street (accounts and the audit "
            "log are kept)."
        )
    tables = build_demo(seed)

    def write(conn: Connection) -> dict:
        counts = save_tables(conn, tables)
        counts["user"] = len(add_demo_users(conn))
        return counts

    if empty:
        with transaction(engine) as conn:
            return write(conn)
    return replace_street(engine, write, "demo_replace")[0]


def create_demo_database(
    url: str | None = None, seed: int = settings.DEMO_SEED, force: bool = False
) -> Engine:
    """Create (or upgrade) the schema at ``url`` and fill it with the demo street."""
    engine = make_engine(url, create=True)
    init_database(engine)
    load_demo(engine, seed=seed, force=force)
    return engine


def open_or_create_default(url: str | None = None) -> Engine:
    """Open the database the app should show, creating the demo street on a fresh machine.

    With no configuration (the default SQLite file), a missing or empty database is created
    and filled with the demo street. A database the user named must already exist and carry
    the gridmap schema (:class:`~gridmap.errors.DatabaseError` otherwise); an empty one opens
    as it is.
    """
    resolved = resolve_url(url)
    if url is None and "GRIDMAP_DATABASE_URL" not in os.environ:
        engine = make_engine(resolved, create=True)
        init_database(engine)
        if is_empty(engine):
            log.info("creating the demo street in %s", resolved)
            load_demo(engine)
        return engine
    engine = make_engine(resolved)
    check_schema(engine)
    return engine
