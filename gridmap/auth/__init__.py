"""Users, roles, scopes, personal-data masking, sessions and the audit log.

Who may see and do what is decided here, in the core, so that every page, export, report and
CLI command that goes through the loaders obeys the same rules:

- **Users** (:func:`create_user`, :func:`list_users`, :func:`disable_user`,
  :func:`reset_password`) have an argon2id password hash, a role and a scope.
  :func:`authenticate` checks a name and password (wrong password, unknown name, disabled user,
  too many recent failures — all refused with the same sentence, :func:`login_refused`) and
  returns a :class:`Principal`. Failures are throttled by an atomic counter in the database
  (``login_attempt``, :func:`reserve_attempt`), reserved before the password is checked, so
  parallel attempts cannot check more than ``settings.LOGIN_MAX_FAILURES`` passwords of a name
  per lockout window. Demo logins work only on the unchanged demo (:func:`is_unchanged_demo`).
- **Roles** (DESIGN.md §3, :data:`PERMISSIONS`): ``street_admin`` the whole street;
  ``secretary`` their own community (redraw, propose, members); ``grid_worker`` their own grid
  (requests); ``planner`` aggregates only, never a name, phone or request text; ``viewer``
  read-only with masked names.
- **Scope** (:func:`community_ids`, :func:`scope_layers`, :func:`scope_rows`,
  :func:`check_scope`): the loaders in :mod:`gridmap.repository`, :mod:`gridmap.requests`,
  :mod:`gridmap.organisation` and :mod:`gridmap.io` take a ``scope`` principal and return only
  the rows it may see; writes check the entity's community before they change anything.
- **Masking** (:func:`mask_name`, :func:`mask_phone`, :func:`mask_frame`): full data for the
  roles that work with people, 张*明 / 138****1234 / ``****`` for viewers, nothing at all (``—``)
  for planners — the same rules on screen and in exports.
- **Sessions** (:class:`SessionStore`): a random token per login, idle and absolute expiry
  (``settings.SESSION_IDLE_MINUTES``, ``SESSION_MAX_HOURS``); logout ends the token, so a copied
  token cannot be reused. :func:`session_principal` ends a session whose user changed password,
  role or scope or was disabled since it started (the user's ``session_epoch`` in the database),
  whichever process made the change.
- **Audit** (:func:`audit`, :func:`audit_log`): one append-only row per write — who, when, what,
  before and after as JSON. Nothing in gridmap updates or deletes an audit row.

The acting principal of a write is passed explicitly or taken from :func:`current_principal`,
which the app sets for the script run of a logged-in user (:func:`set_current`) and the CLI for
``--user``. With none set the caller is the local operator (:data:`SYSTEM`): the CLI and library
code that already hold the database's credentials; their writes are audited with no user.

The package's modules, each with one job (import the names below from ``gridmap.auth``):

- :mod:`~gridmap.auth.roles` — roles, permissions, :class:`Principal` and the acting principal;
- :mod:`~gridmap.auth.masking` — masked names, phones and ID suffixes; :func:`mask_frame`;
- :mod:`~gridmap.auth.scopes` — which communities, grids and rows a principal may see;
- :mod:`~gridmap.auth.sessions` — :class:`SessionStore` and the app's :data:`SESSIONS`;
- :mod:`~gridmap.auth.auditing` — :func:`audit`, the :func:`audited` decorator, :func:`audit_log`;
- :mod:`~gridmap.auth.passwords` — the argon2id hasher, password rules, demo passwords and the
  demo's fingerprint;
- :mod:`~gridmap.auth.users` — creating and managing accounts, the first admin, demo logins;
- :mod:`~gridmap.auth.logins` — :func:`authenticate` and its throttle, :func:`principal_for`,
  :func:`session_principal`;
- :mod:`~gridmap.auth.accounts` — users' scopes across a replaced street (:func:`detach_users`,
  :func:`reattach_users`).
"""

from __future__ import annotations

from gridmap.auth.accounts import detach_users, reattach_users
from gridmap.auth.auditing import audit, audit_log, audited
from gridmap.auth.logins import (
    attempt_key,
    authenticate,
    login_refused,
    principal_for,
    release_attempt,
    reserve_attempt,
    session_principal,
)
from gridmap.auth.masking import (
    ID_COLUMNS,
    NAME_COLUMNS,
    PHONE_COLUMNS,
    REDACTED,
    TEXT_COLUMNS,
    mask_frame,
    mask_id_suffix,
    mask_name,
    mask_names,
    mask_phone,
)
from gridmap.auth.passwords import (
    DEMO_COMMUNITY_CODE,
    DEMO_GRID_CODE,
    DEMO_PASSWORDS,
    DEMO_USERS,
    demo_fingerprint,
    end_demo,
    hash_password,
    is_demo_database,
    is_unchanged_demo,
    record_demo_fingerprint,
    verify_password,
)
from gridmap.auth.roles import (
    PERMISSIONS,
    PLAN_PERMISSIONS,
    ROLE_LABELS,
    ROLE_PAGES,
    ROLES,
    SYSTEM,
    Principal,
    acting_as,
    current_principal,
    set_current,
)
from gridmap.auth.scopes import (
    check_scope,
    community_ids,
    grid_ids,
    in_scope,
    scope_layers,
    scope_rows,
    scoped_community,
    visible_users,
)
from gridmap.auth.sessions import SESSIONS, SessionExpired, SessionStore, current_time
from gridmap.auth.users import (
    add_demo_users,
    change_user,
    create_user,
    disable_user,
    ensure_admin,
    list_users,
    reset_password,
)

__all__ = [
    "DEMO_COMMUNITY_CODE",
    "DEMO_GRID_CODE",
    "DEMO_PASSWORDS",
    "DEMO_USERS",
    "ID_COLUMNS",
    "NAME_COLUMNS",
    "PERMISSIONS",
    "PHONE_COLUMNS",
    "PLAN_PERMISSIONS",
    "REDACTED",
    "ROLES",
    "ROLE_LABELS",
    "ROLE_PAGES",
    "SESSIONS",
    "SYSTEM",
    "TEXT_COLUMNS",
    "Principal",
    "SessionExpired",
    "SessionStore",
    "acting_as",
    "add_demo_users",
    "attempt_key",
    "audit",
    "audit_log",
    "audited",
    "authenticate",
    "change_user",
    "check_scope",
    "community_ids",
    "create_user",
    "current_principal",
    "current_time",
    "demo_fingerprint",
    "detach_users",
    "disable_user",
    "end_demo",
    "ensure_admin",
    "grid_ids",
    "hash_password",
    "in_scope",
    "is_demo_database",
    "is_unchanged_demo",
    "list_users",
    "login_refused",
    "mask_frame",
    "mask_id_suffix",
    "mask_name",
    "mask_names",
    "mask_phone",
    "principal_for",
    "reattach_users",
    "record_demo_fingerprint",
    "release_attempt",
    "reserve_attempt",
    "reset_password",
    "scope_layers",
    "scope_rows",
    "scoped_community",
    "session_principal",
    "set_current",
    "verify_password",
    "visible_users",
]
