"""The ``gridmap`` command line: one click group, one small function per sub-command.

Every sub-command takes ``--db URL`` (else ``GRIDMAP_DATABASE_URL``, else the embedded SQLite
file) and ``--user NAME`` (act as that user of the app; default: the local operator). A
:class:`~gridmap.errors.GridmapError` ends the command with its message on stderr and its exit
code, never a traceback. The console script ``gridmap`` is :func:`main`.

The package's modules, each with one job (import the names below from ``gridmap.cli``):

- :mod:`~gridmap.cli.common` — what every command shares: :data:`db_option`,
  :func:`reports_errors` (error handling and ``--user``), :data:`PROBLEMS_FOUND_EXIT`;
- :mod:`~gridmap.cli.root` — the root group :func:`main` and ``--user`` on every sub-command;
- :mod:`~gridmap.cli.setup` — ``init``, ``demo``, ``info`` and ``serve``;
- :mod:`~gridmap.cli.coverage` — ``check``;
- :mod:`~gridmap.cli.analyses` — ``density``, ``hotspots`` and ``sites``;
- :mod:`~gridmap.cli.requests` — ``requests import | open311 | stats``;
- :mod:`~gridmap.cli.files` — ``import``, ``export``, ``backup`` and ``restore``;
- :mod:`~gridmap.cli.org` — ``org tree | advice | lost`` and ``members import``;
- :mod:`~gridmap.cli.plan` — ``plan list | new | validate | propose | approve | activate |
  rollback | balance``;
- :mod:`~gridmap.cli.report` — ``report``;
- :mod:`~gridmap.cli.users` — ``user add | list | disable | change | reset-password`` and
  ``audit``.

Importing this package imports every command module (each adds its commands to :func:`main`),
then gives every sub-command its ``--user`` option.
"""

from __future__ import annotations

from gridmap.cli.analyses import density, hotspots, sites_command
from gridmap.cli.common import (
    OPERATOR_ONLY,
    PROBLEMS_FOUND_EXIT,
    USER_HELP,
    db_option,
    reports_errors,
)
from gridmap.cli.coverage import check
from gridmap.cli.files import LAYER_CHOICES, backup, export, import_, restore
from gridmap.cli.org import (
    members_group,
    members_import,
    org_advice_command,
    org_group,
    org_lost_command,
    org_tree_command,
)
from gridmap.cli.plan import (
    community_option,
    plan_activate,
    plan_approve,
    plan_balance,
    plan_group,
    plan_list,
    plan_new,
    plan_option,
    plan_propose,
    plan_rollback,
    plan_validate,
)
from gridmap.cli.report import report_command
from gridmap.cli.requests import requests_group, requests_import, requests_open311, requests_stats
from gridmap.cli.root import accept_user_anywhere, main
from gridmap.cli.setup import APP_PATH, REPO_ROOT, demo, info, init, serve
from gridmap.cli.street import street_create, street_group  # noqa: F401 - adds `street`
from gridmap.cli.users import (
    ROLE_CHOICE,
    audit_command,
    scope_options,
    user_add,
    user_change,
    user_disable,
    user_group,
    user_list,
    user_reset_password,
)

accept_user_anywhere(main)

__all__ = [
    "APP_PATH",
    "LAYER_CHOICES",
    "OPERATOR_ONLY",
    "PROBLEMS_FOUND_EXIT",
    "REPO_ROOT",
    "ROLE_CHOICE",
    "USER_HELP",
    "audit_command",
    "backup",
    "check",
    "community_option",
    "db_option",
    "demo",
    "density",
    "export",
    "hotspots",
    "import_",
    "info",
    "init",
    "main",
    "members_group",
    "members_import",
    "org_advice_command",
    "org_group",
    "org_lost_command",
    "org_tree_command",
    "plan_activate",
    "plan_approve",
    "plan_balance",
    "plan_group",
    "plan_list",
    "plan_new",
    "plan_option",
    "plan_propose",
    "plan_rollback",
    "plan_validate",
    "report_command",
    "reports_errors",
    "requests_group",
    "requests_import",
    "requests_open311",
    "requests_stats",
    "restore",
    "scope_options",
    "serve",
    "sites_command",
    "user_add",
    "user_change",
    "user_disable",
    "user_group",
    "user_list",
    "user_reset_password",
]
