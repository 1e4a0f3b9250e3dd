"""Create, fill and open a database: ``gridmap init``/``demo`` and the app's first start.

The embedded default (an SQLite file under :data:`gridmap.settings.DATA_DIR`) is created with
the demo street the first time it is opened, so a fresh machine shows a map with no set-up. A
database named explicitly (``--db``/``GRIDMAP_DATABASE_URL``) is never created behind the
user's back: a missing file there is an error.
"""

from __future__ import annotations

import logging
import os

from sqlalchemy import Engine, text

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
from gridmap.models import Base
from gridmap.repository import save_tables

log = logging.getLogger(__name__)


def clear_all(engine: Engine) -> None:
    """Delete every row of every gridmap table in one transaction (the schema stays)."""
    names = list(Base.metadata.tables)  # any order: keys are checked at commit / TRUNCATE CASCADE
    with transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(Base.metadata.tables[name].delete())


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
    from gridmap.demo import build_demo

    if not is_empty(engine):
        if not force:
            where = engine.url.render_as_string(hide_password=True)
            raise ConflictError(
                f"数据库中已有数据 / the database {where} already holds a street; nothing was "
                "changed. Use --force to replace it with the demo street."
            )
        clear_all(engine)
    tables = build_demo(seed)
    counts = save_tables(engine, tables)
    from gridmap.auth import add_demo_users  # the demo logins (README; demo database only)

    counts["user"] = len(add_demo_users(engine))
    return counts


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
