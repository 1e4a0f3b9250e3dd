"""``gridmap user``: the app's users (add, list, disable, change, reset a password), and
``gridmap audit``: the audit log of who changed what (:mod:`gridmap.auth`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from gridmap.cli.common import db_option, echo_json, reports_errors
from gridmap.cli.root import main

ROLE_CHOICE = click.Choice(["street_admin", "secretary", "grid_worker", "planner", "viewer"])


def scope_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--street`` / ``--community`` / ``--grid``: the codes of a user's scope."""
    for flag, name, help_text in reversed(
        [
            ("--street", "street_code", "Street code (street-wide roles)."),
            ("--community", "community_code", "Community code (secretary)."),
            ("--grid", "grid_code", "Grid code (grid worker)."),
        ]
    ):
        func = click.option(flag, name, default=None, help=help_text)(func)
    return func


@main.group("user")
def user_group() -> None:
    """Users of the app: add, list, disable, reset a password."""


@user_group.command("add")
@db_option
@click.argument("name")
@click.option(
    "--role",
    type=ROLE_CHOICE,
    required=True,
)
@scope_options
@click.password_option(
    envvar="GRIDMAP_NEW_PASSWORD", help="The password (GRIDMAP_NEW_PASSWORD, else a prompt)."
)
@reports_errors
def user_add(db_url: str | None, name: str, role: str, street_code: str | None,
             community_code: str | None, grid_code: str | None, password: str) -> None:  # fmt: skip
    """Add a user with a role and a scope; the password is asked for (never echoed)."""
    from gridmap.auth import create_user
    from gridmap.db import open_database

    user_id = create_user(open_database(db_url), name, password, role, street_code=street_code,
                          community_code=community_code, grid_code=grid_code)  # fmt: skip
    click.echo(f"已添加用户 / user added: {name} ({role}, id {user_id})")


@user_group.command("list")
@db_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@reports_errors
def user_list(db_url: str | None, fmt: str) -> None:
    """Every user with role, scope and whether disabled (never a password hash).

    Only a street administrator lists every account; any other --user sees its own."""
    from gridmap.auth import current_principal, list_users, visible_users
    from gridmap.db import open_database

    users = visible_users(list_users(open_database(db_url)), current_principal())
    if fmt == "json":
        echo_json(users.to_dict("records"))
        return
    for row in users.itertuples():
        scope = row.grid_code or row.community_code or row.street_code or "—"
        state = "已停用 / disabled" if row.disabled else ""
        click.echo(f"{row.id:>4}  {row.name:<20} {row.role:<13} {scope:<20} {state}")


@user_group.command("disable")
@db_option
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
@reports_errors
def user_disable(db_url: str | None, name: str, enable: bool) -> None:
    """Disable a user (they can no longer log in; open sessions end), or --enable again."""
    from gridmap.auth import disable_user
    from gridmap.db import open_database

    disable_user(open_database(db_url), name, disabled=not enable)
    click.echo(f"{'已启用 / enabled' if enable else '已停用 / disabled'}: {name}")


@user_group.command("change")
@db_option
@click.argument("name")
@click.option(
    "--role",
    type=ROLE_CHOICE,
    default=None,
    help="The new role (default: keep it).",
)
@scope_options
@reports_errors
def user_change(db_url: str | None, name: str, role: str | None, street_code: str | None,
                community_code: str | None, grid_code: str | None) -> None:  # fmt: skip
    """Give a user a new role or scope (and enable them again); their sessions end."""
    from gridmap.auth import change_user
    from gridmap.db import open_database

    change_user(open_database(db_url), name, role, street_code=street_code,
                community_code=community_code, grid_code=grid_code)  # fmt: skip
    click.echo(f"已修改 / changed: {name}")


@user_group.command("reset-password")
@db_option
@click.argument("name")
@click.password_option(
    envvar="GRIDMAP_NEW_PASSWORD", help="The new password (GRIDMAP_NEW_PASSWORD, else a prompt)."
)
@reports_errors
def user_reset_password(db_url: str | None, name: str, password: str) -> None:
    """Set a new password for a user (asked for, never echoed)."""
    from gridmap.auth import reset_password
    from gridmap.db import open_database

    reset_password(open_database(db_url), name, password)
    click.echo(f"密码已重置 / password reset: {name}")


@main.command("audit")
@db_option
@click.option(
    "--by", "user_filter", default=None, metavar="NAME", help="Only rows written by this user."
)
@click.option("--action", default=None, help="Only this action (e.g. plan_approve, login_failed).")
@click.option("--entity", default=None, help="Only this table (request, grid_plan, member …).")
@click.option("--since", default=None, help="From this date (YYYY-MM-DD).")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@reports_errors
def audit_command(db_url: str | None, user_filter: str | None, action: str | None,
                  entity: str | None, since: str | None, limit: int, fmt: str) -> None:  # fmt: skip
    """The audit log, newest first: who changed what, when, before and after. Rows brought in
    by a restore are marked restored (their history comes from a backup file, not from this
    database)."""
    import datetime as dt

    from gridmap.auth import audit_log
    from gridmap.db import open_database
    from gridmap.errors import InputError

    try:
        start = dt.date.fromisoformat(since) if since else None
    except ValueError:
        raise InputError(f"--since 应为 YYYY-MM-DD / --since must be YYYY-MM-DD: {since}") from None
    rows = audit_log(open_database(db_url), user=user_filter, action=action, entity=entity,
                     since=start, limit=limit)  # fmt: skip
    if fmt == "json":
        click.echo(rows.to_json(orient="records", force_ascii=False, date_format="iso"))
        return
    for row in rows.itertuples():
        who = row.user or "system"
        mark = "  [恢复自备份 / restored]" if row.origin == "restored" else ""
        click.echo(f"{row.at:%Y-%m-%d %H:%M:%S}  {who:<16} {row.action:<22} {row.entity} "
                   f"#{row.entity_id if row.entity_id is not None else '—'}{mark}")  # fmt: skip
