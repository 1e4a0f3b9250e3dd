"""What every ``gridmap`` sub-command shares: the ``--db`` option, ``--user``, error handling.

:data:`db_option` gives a command ``--db URL`` (else ``GRIDMAP_DATABASE_URL``, else the embedded
SQLite file). :func:`reports_errors` wraps each command: a :class:`~gridmap.errors.GridmapError`
ends it with its message on stderr and its exit code, never a traceback — a database busy with
other writers too (the core waits and retries a few times first, :mod:`gridmap.db`, then raises
:class:`~gridmap.errors.DatabaseBusyError`; a driver's "database is locked" that reaches here
any other way gets the same sentence) — and the command runs as
the ``--user`` given anywhere on the line (kept by :func:`remember_user`, described by
:data:`USER_HELP`; the commands of :data:`OPERATOR_ONLY` ignore it). :data:`PROBLEMS_FOUND_EXIT`
is the exit code of the commands that report problems.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

import click

from gridmap.errors import DatabaseBusyError, GridmapError

db_option = click.option(
    "--db",
    "db_url",
    envvar="GRIDMAP_DATABASE_URL",
    default=None,
    metavar="URL",
    help="Database URL: sqlite:///file.db or postgresql+psycopg://user@host/db "
    "(default: GRIDMAP_DATABASE_URL, else the embedded SQLite file).",
)

#: ``--community CODE`` (repeatable) of the commands that read the whole street or some of it.
communities_option = click.option(
    "--community",
    "community_codes",
    multiple=True,
    metavar="CODE",
    help="Only this community (repeat for several); default: the whole street.",
)


#: Where ``--user`` is kept for the sub-command (click shares ``meta`` with nested contexts).
_USER_KEY = "gridmap.user"
#: Commands that act on the schema or the machine, not as a user of the data.
OPERATOR_ONLY = frozenset({"init", "serve"})
USER_HELP = (
    "Act as this gridmap user: their role, scope and masking apply to what the command reads, "
    "writes and exports, and the audit log names them (password from GRIDMAP_PASSWORD, else a "
    "prompt). Default: the local operator, with full rights (who can run gridmap here can read "
    "the database file anyway)."
)


def remember_user(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """Keep the ``--user`` given (a click callback) where :func:`reports_errors` finds it."""
    if value:
        ctx.meta[_USER_KEY] = value


def _login(engine: Any, user_name: str | None) -> Any:
    """The principal of ``--user`` (authenticated), or None for the local operator."""
    from gridmap.auth import authenticate

    if not user_name:
        return None
    password = os.environ.get("GRIDMAP_PASSWORD") or click.prompt(
        f"{user_name} 的密码 / password", hide_input=True
    )
    return authenticate(engine, user_name, password)


def _run_as_user(func: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Run a sub-command as the ``--user`` given (anywhere on the line), if one was."""
    from gridmap.auth import acting_as
    from gridmap.db import open_database

    ctx = click.get_current_context(silent=True)
    user_name = ctx.meta.get(_USER_KEY) if ctx is not None else None
    if not user_name or (ctx is not None and ctx.command.name in OPERATOR_ONLY):
        return func(**kwargs)  # init and serve: the schema and the server (it has its login)
    principal = _login(open_database(kwargs.get("db_url")), user_name)
    with acting_as(principal):
        return func(**kwargs)


def reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a GridmapError into a clear message and its exit code, with no traceback, and run
    the command as the ``--user`` given (:func:`_run_as_user`).

    A database still busy after the core's short retry (SQLite "database is locked", a
    PostgreSQL lock timeout, deadlock or serialisation failure) ends the command with
    :data:`gridmap.db.BUSY_MESSAGE` and the exit code of
    :class:`~gridmap.errors.DatabaseBusyError`; nothing was written.
    """

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        from sqlalchemy.exc import DBAPIError

        from gridmap.db import BUSY_MESSAGE, is_busy_error

        try:
            return _run_as_user(func, kwargs)
        except GridmapError as exc:
            click.secho(f"错误 / error: {exc}", err=True, fg="red")
            sys.exit(exc.exit_code)
        except (DBAPIError, sqlite3.Error) as exc:
            if not is_busy_error(exc):
                raise
            click.secho(f"错误 / error: {BUSY_MESSAGE}", err=True, fg="red")
            sys.exit(DatabaseBusyError.exit_code)

    return wrapper


#: Exit code of ``gridmap check`` (and ``requests import``, ``plan validate``, ``plan balance``)
#: when it found problems (0: none found).
PROBLEMS_FOUND_EXIT = 1


def strict_json_value(value: Any) -> Any:
    """``value`` made of plain JSON types: NaN and ±infinity become None (``null``), NumPy and
    pandas scalars their Python values, dates and other objects their ``str``.

    ``json.dumps`` writes a float NaN as the bare word ``NaN``, which is not JSON; every
    ``--format json`` output goes through :func:`echo_json` so it parses with a strict parser.
    """
    import math

    import numpy as np
    import pandas as pd

    if isinstance(value, dict):
        return {str(k): strict_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [strict_json_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return [strict_json_value(v) for v in value.tolist()]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    if value is pd.NaT or (not isinstance(value, type) and pd.api.types.is_scalar(value)
                           and pd.isna(value)):  # fmt: skip
        return None
    return str(value)


def json_text(payload: Any, indent: int | None = 2) -> str:
    """Strict JSON of ``payload`` (see :func:`strict_json_value`), Chinese kept as is."""
    import json

    return json.dumps(
        strict_json_value(payload), ensure_ascii=False, indent=indent, allow_nan=False
    )


def echo_json(payload: Any) -> None:
    """Print ``payload`` as strict JSON: what every ``--format json`` prints."""
    click.echo(json_text(payload))
