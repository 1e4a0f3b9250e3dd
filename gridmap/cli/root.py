"""The root ``gridmap`` click group, :func:`main`, and ``--user`` on every sub-command.

The command modules of :mod:`gridmap.cli` add their commands and groups to :func:`main`; once
they all have, :func:`accept_user_anywhere` gives each sub-command (except ``init`` and
``serve``) its own ``--user`` option, so that it may come before or after the command's name.
"""

from __future__ import annotations

import click

from gridmap.cli.common import OPERATOR_ONLY, USER_HELP, remember_user


@click.group()
@click.version_option(package_name="gridmap")
@click.option(
    "--user",
    metavar="NAME",
    envvar="GRIDMAP_USER",
    expose_value=False,
    callback=remember_user,
    help=USER_HELP,
)
def main() -> None:
    """gridmap — 社区党建网格化管理: coverage gaps, member density and request hotspots."""


def accept_user_anywhere(group: click.Group) -> None:
    """Give every sub-command its own ``--user`` too (``gridmap export --user li ...``)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_user_anywhere(command)
        elif command.name not in OPERATOR_ONLY:
            command.params.append(
                click.Option(
                    ["--user"],
                    metavar="NAME",
                    envvar="GRIDMAP_USER",
                    expose_value=False,
                    callback=remember_user,
                    help=USER_HELP,
                )
            )
