"""Roles, what each may do, and the principal acting in the current context.

The five roles (:data:`ROLES`, :data:`ROLE_LABELS`) and the actions each is allowed
(:data:`PERMISSIONS`, :data:`PLAN_PERMISSIONS`) and the app's pages each finds in its navigation
(:data:`ROLE_PAGES`); the :class:`Principal` — a user's id, name,
role and scope — that checks them; and the acting principal of this thread or context
(:func:`current_principal`, :func:`set_current`, :func:`acting_as`), the local operator
:data:`SYSTEM` when none was set. Scope itself (which rows a principal sees) is
:mod:`gridmap.auth.scopes`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from gridmap.errors import PermissionDenied
from gridmap.i18n import pair
from gridmap.models import UserRole

ROLES: tuple[str, ...] = tuple(r.value for r in UserRole)

#: Chinese and English names of the roles.
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "street_admin": pair("街道管理员"),
    "secretary": pair("社区书记"),
    "grid_worker": pair("网格员", "sentence"),
    "planner": pair("规划人员"),
    "viewer": pair("只读用户"),
}

_ALL = frozenset(ROLES)
#: The roles allowed each action. Scope (which community or grid) is checked separately.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": _ALL,
    # names, phones and ID suffixes in clear (inside the user's scope)
    "read_personal": frozenset({"street_admin", "secretary", "grid_worker"}),
    # masked names (张*明) — everyone but planners, who get aggregates only
    "read_masked_names": frozenset({"street_admin", "secretary", "grid_worker", "viewer"}),
    # the text of requests (free text often names residents)
    "read_request_text": frozenset({"street_admin", "secretary", "grid_worker"}),
    "edit_organisation": frozenset({"street_admin", "secretary"}),
    "edit_requests": frozenset({"street_admin", "secretary", "grid_worker"}),
    "edit_plans": frozenset({"street_admin", "secretary"}),
    "approve_plans": frozenset({"street_admin"}),
    "import": frozenset({"street_admin"}),
    "export": _ALL,
    "backup": frozenset({"street_admin"}),
    "manage_users": frozenset({"street_admin"}),
    # the street's own settings (the weights of its scores: gridmap.weights)
    "manage_street": frozenset({"street_admin"}),
    "read_audit": frozenset({"street_admin"}),
}

#: Plan actions (gridmap.redraw) → the permission each needs.
PLAN_PERMISSIONS: dict[str, str] = {
    "edit": "edit_plans",
    "propose": "edit_plans",
    "approve": "approve_plans",
    "return": "approve_plans",
    "activate": "approve_plans",
    "rollback": "approve_plans",
}

#: The app's pages each role finds in its navigation, in the order shown (page keys: the file
#: names of ``views/``). A page outside the list is not offered, and opened by its address it
#: says the role may not open it. The core still refuses every action it refuses (PERMISSIONS).
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "street_admin": ("overview", "coverage", "redraw", "density", "hotspots", "requests",
                     "organisation", "planning", "communities", "data_io", "new_street",
                     "audit"),
    "secretary": ("overview", "coverage", "redraw", "density", "hotspots", "requests",
                  "organisation", "planning", "communities", "data_io"),
    "grid_worker": ("requests", "overview", "coverage", "hotspots", "organisation",
                    "communities"),
    "planner": ("overview", "coverage", "density", "hotspots", "planning", "communities",
                "data_io"),
    "viewer": ("overview", "coverage", "density", "hotspots", "requests", "organisation",
               "communities", "data_io"),
}  # fmt: skip


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user's id, name, role and scope.

    ``street_id`` / ``community_id`` / ``grid_id`` narrow what the principal sees: a
    ``street_admin`` with no street sees every street, a ``secretary`` their community, a
    ``grid_worker`` their grid (``community_id`` is the grid's community). Hashable, so the
    app can key caches by it.

    ``session_epoch`` is the user's ``session_epoch`` when the principal was read from the
    database (None for a principal built by hand): a session keeps it and ends once the user's
    epoch moved on (a password change or reset, a change of role or scope, disabling). It takes
    no part in equality or hashing.
    """

    user_id: int | None
    name: str
    role: str
    street_id: int | None = None
    community_id: int | None = None
    grid_id: int | None = None
    session_epoch: int | None = field(default=None, compare=False, repr=False)

    def can(self, action: str) -> bool:
        """Whether the role allows ``action`` (a key of :data:`PERMISSIONS`)."""
        try:
            return self.role in PERMISSIONS[action]
        except KeyError:
            raise ValueError(f"unknown permission {action!r}") from None

    def may_open(self, page: str) -> bool:
        """Whether the role finds app page ``page`` (a key of :data:`ROLE_PAGES`) in its
        navigation."""
        return page in ROLE_PAGES.get(self.role, ())

    def require(self, action: str) -> None:
        """Raise :class:`PermissionDenied` unless the role allows ``action``."""
        if not self.can(action):
            zh, en = ROLE_LABELS.get(self.role, (self.role, self.role))
            raise PermissionDenied(
                f"无权限:{zh}不能执行此操作({action}) / permission denied: a {en} may not "
                f"do this ({action})"
            )

    @property
    def personal_data(self) -> bool:
        """Names, phones and ID suffixes in clear."""
        return self.can("read_personal")

    @property
    def aggregates_only(self) -> bool:
        """Only counts and figures: no name (not even masked), phone or request text."""
        return not self.can("read_masked_names")

    @property
    def scope_key(self) -> str:
        """A short string naming what this principal sees (cache keys of the app)."""
        return f"{self.role}:{self.street_id}:{self.community_id}:{self.grid_id}"

    def label(self, lang: str = "zh") -> str:
        zh, en = ROLE_LABELS.get(self.role, (self.role, self.role))
        return f"{self.name}({zh})" if lang == "zh" else f"{self.name} ({en})"


#: The local operator: CLI commands and library calls with no logged-in user. Full rights;
#: its writes are audited with no user id.
SYSTEM = Principal(user_id=None, name="system", role="street_admin")

_CURRENT: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "gridmap_principal", default=None
)


def current_principal() -> Principal:
    """The principal acting in this thread/context (:data:`SYSTEM` when none was set)."""
    return _CURRENT.get() or SYSTEM


def set_current(principal: Principal | None) -> None:
    """Make ``principal`` the acting one for the rest of this context (an app script run)."""
    _CURRENT.set(principal)


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[Principal]:
    """Run a block as ``principal`` (restored afterwards)."""
    token = _CURRENT.set(principal)
    try:
        yield principal or SYSTEM
    finally:
        _CURRENT.reset(token)


def resolve_principal(principal: Principal | None) -> Principal:
    """``principal``, or the acting one (:func:`current_principal`) when None."""
    return principal if principal is not None else current_principal()
