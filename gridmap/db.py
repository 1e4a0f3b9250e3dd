"""The one place that builds database engines and transactions, and checks the schema version.

SQLite (a file, the embedded default) and PostgreSQL + PostGIS (``postgresql+psycopg://…``) are
chosen by URL only: the ``--db`` option, else ``GRIDMAP_DATABASE_URL``, else
:data:`gridmap.settings.DATABASE_URL`. Every problem opening a database — a bad URL, a missing or
corrupt file, a server that does not answer, a schema newer than this code — becomes a
:class:`~gridmap.errors.DatabaseError` with a sentence saying what to do.

Concurrent writers
    :func:`transaction` is the one way a write begins. On SQLite it starts with
    ``BEGIN IMMEDIATE``, so the write lock is taken before the first read and every
    read-check-write (a cap, a once-a-month rule, an optimistic version) is atomic; the file
    runs in WAL mode (readers never wait for writers) with a busy timeout
    (:data:`~gridmap.settings.SQLITE_BUSY_TIMEOUT_MS`). PostgreSQL waits at most
    :data:`~gridmap.settings.POSTGRES_LOCK_TIMEOUT_S` for a row lock. A writer that still finds
    the database busy — SQLite "database is locked", a PostgreSQL lock timeout, deadlock or
    serialisation failure — is tried again a few times (:data:`~gridmap.settings.
    DATABASE_BUSY_RETRIES`, :func:`retry_when_busy`), then raises
    :class:`~gridmap.errors.DatabaseBusyError` with a sentence: every engine built here turns
    those driver errors into it (:func:`is_busy_error`), for reads and writes, so no caller
    ever shows a traceback for them.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from gridmap import settings
from gridmap.errors import DatabaseBusyError, DatabaseError, SchemaVersionError

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def resolve_url(url: str | None = None) -> str:
    """Return the database URL to use: the given one, else ``GRIDMAP_DATABASE_URL`` (read now,
    not at import), else :data:`gridmap.settings.DATABASE_URL`."""
    return url or os.environ.get("GRIDMAP_DATABASE_URL") or settings.DATABASE_URL


def parse_url(url: str) -> URL:
    """Parse and check a database URL, accepting only SQLite and PostgreSQL.

    Raises
    ------
    DatabaseError
        If the URL cannot be parsed or names another kind of database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(
            f"无法识别的数据库地址 / unrecognised database URL: {url!r}. "
            "Use sqlite:///path/to/gridmap.db or postgresql+psycopg://user@host:5432/dbname."
        ) from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"不支持的数据库 / unsupported database {parsed.get_backend_name()!r} in {url!r}: "
            "gridmap runs on SQLite (sqlite:///file.db) or PostgreSQL+PostGIS "
            "(postgresql+psycopg://…)."
        )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The file behind an SQLite URL, or None for an in-memory database."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _check_sqlite_file(path: Path, create: bool) -> None:
    if not path.exists():
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            return
        raise DatabaseError(
            f"数据库文件不存在 / database file not found: {path}. Create it with "
            f"`gridmap street create --db sqlite:///{path} --code CODE --name NAME` (your own "
            "street), `gridmap init` (empty) or `gridmap demo` (the demo street)."
        )
    if path.is_dir():
        raise DatabaseError(f"数据库路径是一个目录 / database path is a directory: {path}")
    with path.open("rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise DatabaseError(
            f"文件不是 SQLite 数据库或已损坏 / not an SQLite database, or corrupt: {path}. "
            "Nothing was changed; restore it from a backup or point --db at another file."
        )


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # The busy timeout first: switching a file to WAL itself waits for other connections.
    cur.execute(f"PRAGMA busy_timeout = {int(settings.SQLITE_BUSY_TIMEOUT_MS)}")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.close()


# --- the database is busy: retry, then a sentence ---------------------------------------------

#: SQLSTATEs of PostgreSQL's "another writer holds it": lock_not_available (lock_timeout),
#: serialization_failure, deadlock_detected.
POSTGRES_BUSY_STATES = frozenset({"55P03", "40001", "40P01"})
#: SQLite's primary result codes SQLITE_BUSY and SQLITE_LOCKED.
SQLITE_BUSY_CODES = frozenset({5, 6})

BUSY_MESSAGE = (
    "数据库正忙(其他人正在写入),稍后重试仍未成功,本次操作未做任何更改,请稍后再试 / the database "
    "is busy with someone else's change and stayed busy after a short retry; nothing was "
    "changed — try again in a moment"
)


def is_busy_error(exc: BaseException) -> bool:
    """True when ``exc`` (a driver error, or SQLAlchemy's wrapper of one) means another writer
    holds the database: SQLite busy/locked, a PostgreSQL lock timeout, deadlock or
    serialisation failure."""
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) in POSTGRES_BUSY_STATES:
        return True
    if isinstance(orig, sqlite3.OperationalError):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in SQLITE_BUSY_CODES
        text_ = str(orig).lower()
        return "locked" in text_ or "busy" in text_
    return False


def _busy_to_sentence(context: ExceptionContext) -> BaseException | None:
    """``handle_error`` hook: a busy database becomes :class:`DatabaseBusyError`."""
    if is_busy_error(context.original_exception):
        log.info("database busy: %s", context.original_exception)
        return DatabaseBusyError(BUSY_MESSAGE)
    return None


def _pause(attempt: int) -> None:
    """A short, growing, slightly spread pause before try ``attempt + 1``."""
    time.sleep(0.05 * 2**attempt * (1 + (os.getpid() % 7) / 10))


def _begin_write(conn: Connection) -> None:
    """SQLite: take the write lock now (``BEGIN IMMEDIATE``), waiting for another writer for
    the busy timeout, and trying again a few times; then :class:`DatabaseBusyError`.

    The driver (sqlite3 in its default mode) begins a transaction only at the first INSERT,
    UPDATE or DELETE, so a check read before it would not be protected, and a deferred
    transaction that reads and then writes may fail at once with "database is locked" when
    another writer committed meanwhile. Taking the lock first makes the whole transaction one
    serialised step.
    """
    if conn.dialect.name != "sqlite" or conn.connection.driver_connection.in_transaction:
        return
    for attempt in range(settings.DATABASE_BUSY_RETRIES + 1):
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except DatabaseBusyError as exc:
            if attempt == settings.DATABASE_BUSY_RETRIES:
                exc.retried = True  # type: ignore[attr-defined]
                raise
            _pause(attempt)


F = TypeVar("F", bound=Callable[..., Any])


def retry_when_busy(fn: F) -> F:
    """Decorate a write of the core: when it raises :class:`DatabaseBusyError` and ran on an
    Engine (its own transaction, rolled back), run it again after a short pause, at most
    :data:`~gridmap.settings.DATABASE_BUSY_RETRIES` times; then let the error through.

    Given a Connection (the caller's transaction) it runs once: only the caller can retry a
    transaction it owns.
    """

    @functools.wraps(fn)
    def wrapper(bind: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(bind, Engine):
            return fn(bind, *args, **kwargs)
        for attempt in range(settings.DATABASE_BUSY_RETRIES + 1):
            try:
                return fn(bind, *args, **kwargs)
            except DatabaseBusyError as exc:
                if attempt == settings.DATABASE_BUSY_RETRIES or getattr(exc, "retried", False):
                    raise
                log.info("database busy, trying %s again", fn.__name__)
                _pause(attempt)
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


def make_engine(url: str | None = None, *, create: bool = False) -> Engine:
    """Build the engine for a database URL and check that the database can be reached.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; defaults to :func:`resolve_url`.
    create : bool
        Allow a missing SQLite file to be created (``gridmap init``/``demo``). Otherwise a missing
        file is an error, so a mistyped path never silently creates an empty database.

    Returns
    -------
    sqlalchemy.Engine

    Raises
    ------
    DatabaseError
        Bad URL, missing or corrupt SQLite file, unreachable server, missing driver.
    """
    raw = resolve_url(url)
    parsed = parse_url(raw)
    path = sqlite_path(parsed)
    if path is not None:
        _check_sqlite_file(path, create)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args = {
            "connect_timeout": settings.CONNECT_TIMEOUT_S,
            "options": f"-c lock_timeout={int(settings.POSTGRES_LOCK_TIMEOUT_S * 1000)}",
        }
    try:
        engine = create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise DatabaseError(f"缺少数据库驱动 / missing database driver for {raw!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "handle_error", _busy_to_sentence)
    _probe(engine)
    return engine


def _probe(engine: Engine) -> None:
    """Open one connection so unreachable servers and corrupt files fail here, clearly."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("PRAGMA schema_version")).scalar()
            else:
                conn.execute(text("SELECT 1")).scalar()
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if engine.dialect.name == "sqlite":
            raise DatabaseError(
                f"无法打开数据库文件 / cannot open the database {where}: {reason}. "
                "Nothing was changed."
            ) from exc
        raise DatabaseError(
            f"无法连接数据库服务器 / cannot reach the database server {where}: {reason}. "
            "Check that PostgreSQL is running and the host, port, user and database are right."
        ) from exc


@contextmanager
def connect(bind: Engine | Connection) -> Iterator[Connection]:
    """Read through ``bind``: a :class:`Connection` is used as is, an Engine opens one.

    The one helper every reader uses, so a caller's open connection (and its transaction)
    is joined rather than a second one opened.
    """
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as conn:
            yield conn


@contextmanager
def transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """One transaction: everything inside commits together or not at all.

    Foreign keys are checked at commit (deferred), so rows that refer to each other
    (grid ↔ party_org) can be written in one go. Given a :class:`Connection` (the caller's
    transaction), the work joins it: the caller commits or rolls back the whole, so a write
    and its audit row (:func:`gridmap.auth.audited`) or several steps (``demo --force``) are
    one transaction.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (:func:`_begin_write`): writers
    are serialised from their first read, so what a write checks still holds when it commits.
    A database still busy after the short retry raises :class:`DatabaseBusyError`.
    """
    if isinstance(bind, Connection):
        if bind.in_transaction():
            _begin_write(bind)
            _defer_foreign_keys(bind)
            yield bind
            return
        with bind.begin():
            _begin_write(bind)
            _defer_foreign_keys(bind)
            yield bind
        return
    with bind.begin() as conn:
        _begin_write(conn)
        _defer_foreign_keys(conn)
        yield conn


def _defer_foreign_keys(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("PRAGMA defer_foreign_keys = ON"))
    else:
        conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))


# --- schema version ---------------------------------------------------------------------------


def migration_config(conn: Connection | None = None):
    """The Alembic configuration of gridmap's migrations, running on ``conn`` when given
    (``alembic.command.upgrade(migration_config(conn), "head")``)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest schema revision this version of gridmap knows."""
    from alembic.script import ScriptDirectory

    cfg = migration_config()
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every schema revision this version of gridmap has a migration for."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migration_config())
    return {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, or None for a database never initialised."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def check_schema(engine: Engine) -> None:
    """Make sure the database holds the schema this code expects.

    Raises
    ------
    SchemaVersionError
        If the database was never initialised, is older (run ``gridmap init`` to upgrade) or
        newer (upgrade gridmap) than this code.
    """
    where = engine.url.render_as_string(hide_password=True)
    revision = current_revision(engine)
    if revision is None:
        raise SchemaVersionError(
            f"数据库尚未初始化 / the database {where} has no gridmap schema. Run "
            "`gridmap street create --code CODE --name NAME` (your own street), `gridmap init` "
            "(empty) or `gridmap demo` (the demo street)."
        )
    head = head_revision()
    if revision == head:
        return
    if revision not in known_revisions():
        raise SchemaVersionError(
            f"数据库版本较新 / the database {where} has schema version {revision}, newer than this "
            f"gridmap understands (up to {head}). Upgrade gridmap; nothing was changed."
        )
    raise SchemaVersionError(
        f"数据库版本较旧 / the database {where} has schema version {revision}; this gridmap "
        f"needs {head}. Run `gridmap init` to upgrade it."
    )


def init_database(engine: Engine) -> str:
    """Create or upgrade the schema to the newest revision (idempotent) and return it.

    On PostgreSQL the PostGIS extension is created first if it is missing. A database already
    at the newest revision is only read. The upgrade is one transaction on both backends
    (SQLite's DDL too, under ``BEGIN IMMEDIATE``): a migration that refuses the data it finds
    leaves the database as it was.

    Raises
    ------
    SchemaVersionError
        If the database is newer than this code (nothing is changed).
    DatabaseError
        If a migration refuses the data it finds (its sentence says what to fix).
    """
    from alembic import command

    revision = current_revision(engine)
    if revision is not None and revision not in known_revisions():
        check_schema(engine)  # raises the "newer" message
    head = head_revision()
    if revision == head:
        return head
    with engine.begin() as conn:
        _begin_write(conn)
        if engine.dialect.name == "postgresql":
            _ensure_postgis(conn)
        command.upgrade(migration_config(conn), "head")
    return head


def _ensure_postgis(conn: Connection) -> None:
    try:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except DBAPIError as exc:
        raise DatabaseError(
            "PostGIS 扩展不可用 / the PostGIS extension is not available on this server: "
            f"{str(exc.orig).strip().splitlines()[0]}. Install postgresql-15-postgis-3 "
            "(or ask the DBA to run CREATE EXTENSION postgis)."
        ) from exc


def open_database(url: str | None = None) -> Engine:
    """Open an existing gridmap database and check its schema: the usual way in for reads."""
    engine = make_engine(url)
    check_schema(engine)
    return engine


def is_empty(engine: Engine) -> bool:
    """True when the database holds no street yet (a fresh database)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM street")).scalar() == 0
