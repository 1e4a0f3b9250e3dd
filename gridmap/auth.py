"""Users, roles, scopes, personal-data masking, sessions and the audit log.

Who may see and do what is decided here, in the core, so that every page, export, report and
CLI command that goes through the loaders obeys the same rules:

- **Users** (:func:`create_user`, :func:`list_users`, :func:`disable_user`,
  :func:`reset_password`) have an argon2id password hash, a role and a scope.
  :func:`authenticate` checks a name and password (wrong password, unknown name, disabled user,
  too many recent failures — all refused with the same sentence) and returns a
  :class:`Principal`.
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
  token cannot be reused.
- **Audit** (:func:`audit`, :func:`audit_log`): one append-only row per write — who, when, what,
  before and after as JSON. Nothing in gridmap updates or deletes an audit row.

The acting principal of a write is passed explicitly or taken from :func:`current_principal`,
which the app sets for the script run of a logged-in user (:func:`set_current`) and the CLI for
``--user``. With none set the caller is the local operator (:data:`SYSTEM`): the CLI and library
code that already hold the database's credentials; their writes are audited with no user.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, func, select

from gridmap import settings
from gridmap.db import connect
from gridmap.errors import InputError, PermissionDenied
from gridmap.models import Base, UserRole

# --- masking (张*明, 138****1234) ---------------------------------------------------------------

#: What a redacted value shows to a role that may not see it at all (planners).
REDACTED = "—"


def mask_name(name: str | None) -> str | None:
    """Mask a person's name: keep the first and last character, star the middle.

    Examples
    --------
    >>> mask_name("张晓明"), mask_name("李娜"), mask_name("欧阳春晓")
    ('张*明', '李*', '欧**晓')
    """
    if name is None or name != name or name == "":
        return name
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number: ``13812341234`` → ``138****1234``; short numbers keep 2+2.

    Examples
    --------
    >>> mask_phone("13812341234")
    '138****1234'
    """
    if phone is None or phone != phone or phone == "":
        return phone
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    keep = max(1, len(phone) // 4)
    return phone[:keep] + "*" * (len(phone) - 2 * keep) + phone[-keep:]


def mask_id_suffix(suffix: str | None) -> str | None:
    """Hide the last digits of an ID card entirely: ``"1234"`` → ``"****"``."""
    if suffix is None or suffix != suffix or suffix == "":
        return suffix
    return "*" * len(str(suffix))


def mask_names(names: pd.Series) -> pd.Series:
    """:func:`mask_name` over a column."""
    return names.map(mask_name)


# --- roles and what they may do ---------------------------------------------------------------

ROLES: tuple[str, ...] = tuple(r.value for r in UserRole)

#: Chinese and English names of the roles.
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "street_admin": ("街道管理员", "street administrator"),
    "secretary": ("社区书记", "community secretary"),
    "grid_worker": ("网格员", "grid worker"),
    "planner": ("规划人员", "planner"),
    "viewer": ("只读用户", "viewer"),
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
    "read_audit": frozenset({"street_admin"}),
}

#: Plan actions (gridmap.redraw) → the permission each needs.
PLAN_PERMISSIONS: dict[str, str] = {
    "edit": "edit_plans",
    "propose": "edit_plans",
    "approve": "approve_plans",
    "activate": "approve_plans",
    "rollback": "approve_plans",
}


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user's id, name, role and scope.

    ``street_id`` / ``community_id`` / ``grid_id`` narrow what the principal sees: a
    ``street_admin`` with no street sees every street, a ``secretary`` their community, a
    ``grid_worker`` their grid (``community_id`` is the grid's community). Hashable, so the
    app can key caches by it.
    """

    user_id: int | None
    name: str
    role: str
    street_id: int | None = None
    community_id: int | None = None
    grid_id: int | None = None

    def can(self, action: str) -> bool:
        """Whether the role allows ``action`` (a key of :data:`PERMISSIONS`)."""
        try:
            return self.role in PERMISSIONS[action]
        except KeyError:
            raise ValueError(f"unknown permission {action!r}") from None

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


def _resolve(principal: Principal | None) -> Principal:
    return principal if principal is not None else current_principal()


# --- scope ------------------------------------------------------------------------------------


def _t(name: str):
    return Base.metadata.tables[name]


def community_ids(conn: Engine | Connection, principal: Principal | None) -> set[int] | None:
    """Ids of the communities ``principal`` may see; ``None`` means every community."""
    p = _resolve(principal)
    if p.community_id is not None:
        return {int(p.community_id)}
    if p.role in ("secretary", "grid_worker"):
        return set()  # a community role without a community sees nothing
    if p.street_id is None:
        return None
    com = _t("community")
    with connect(conn) as c:
        return set(c.execute(select(com.c.id).where(com.c.street_id == p.street_id)).scalars())


def grid_ids(conn: Engine | Connection, principal: Principal | None) -> set[int] | None:
    """Ids of the grids ``principal`` may see (every plan's); ``None`` means every grid."""
    p = _resolve(principal)
    if p.role == "grid_worker":
        return {int(p.grid_id)} if p.grid_id is not None else set()
    cids = community_ids(conn, p)
    if cids is None:
        return None
    grid, plan = _t("grid"), _t("grid_plan")
    with connect(conn) as c:
        query = select(grid.c.id).join(plan, plan.c.id == grid.c.plan_id)
        return set(c.execute(query.where(plan.c.community_id.in_(sorted(cids)))).scalars())


def _community_of(c: Connection, entity: str, entity_id: int) -> set[int | None]:
    """The communities an entity belongs to (a person may touch several)."""
    if entity == "community":
        return {int(entity_id)}
    if entity in ("building", "party_org", "service_station", "organisation"):
        tbl = _t(entity)
        return {c.execute(select(tbl.c.community_id).where(tbl.c.id == entity_id)).scalar()}
    if entity in ("grid", "grid_plan"):
        grid, plan = _t("grid"), _t("grid_plan")
        if entity == "grid_plan":
            q = select(plan.c.community_id).where(plan.c.id == entity_id)
        else:
            q = select(plan.c.community_id).join(grid, grid.c.plan_id == plan.c.id)
            q = q.where(grid.c.id == entity_id)
        return {c.execute(q).scalar()}
    if entity == "request":
        req = _t("request")
        gid = c.execute(select(req.c.grid_id).where(req.c.id == entity_id)).scalar()
        return _community_of(c, "grid", gid) if gid is not None else {None}
    if entity == "member":
        mem = _t("member")
        row = c.execute(
            select(mem.c.building_id, mem.c.party_org_id).where(mem.c.id == entity_id)
        ).first()
        if row is None:
            return {None}
        if row.building_id is not None:
            return _community_of(c, "building", row.building_id)
        if row.party_org_id is not None:
            return _community_of(c, "party_org", row.party_org_id)
        return {None}
    if entity == "person":
        mem, bld, grid, worker = _t("member"), _t("building"), _t("grid"), _t("grid_worker")
        found: set[int | None] = set()
        for mid in c.execute(select(mem.c.id).where(mem.c.person_id == entity_id)).scalars():
            found |= _community_of(c, "member", mid)
        for bid in c.execute(select(bld.c.id).where(bld.c.leader_id == entity_id)).scalars():
            found |= _community_of(c, "building", bid)
        gids = set(c.execute(select(grid.c.id).where(grid.c.leader_id == entity_id)).scalars())
        gids |= set(
            c.execute(select(worker.c.grid_id).where(worker.c.person_id == entity_id)).scalars()
        )
        for gid in gids:
            found |= _community_of(c, "grid", gid)
        return found
    raise ValueError(f"no scope rule for entity {entity!r}")


def in_scope(
    conn: Engine | Connection, principal: Principal | None, entity: str, entity_id: int | None
) -> bool:
    """Whether ``entity`` #``entity_id`` lies inside what ``principal`` may see and change.

    A person with no tie to any community yet (just added) is in every community scope; a
    street-level organisation or station is only in a street-wide scope.
    """
    p = _resolve(principal)
    with connect(conn) as c:
        cids = community_ids(c, p)
        if cids is None or entity_id is None:
            return cids is None
        if p.role == "grid_worker" and entity in ("request", "grid"):
            gid = entity_id
            if entity == "request":
                req = _t("request")
                gid = c.execute(select(req.c.grid_id).where(req.c.id == entity_id)).scalar()
            return gid is not None and int(gid) == p.grid_id
        owners = _community_of(c, entity, int(entity_id))
        if entity == "person" and not owners:
            return True
        return bool(owners) and all(o is not None and int(o) in cids for o in owners)


def check_scope(
    conn: Engine | Connection,
    principal: Principal | None,
    action: str,
    entity: str,
    entity_id: int | None,
) -> Principal:
    """Raise :class:`PermissionDenied` unless the role allows ``action`` on this entity in scope.

    Returns the principal that was checked (handy for the audit row that follows).
    """
    p = _resolve(principal)
    p.require(action)
    if not in_scope(conn, p, entity, entity_id):
        raise PermissionDenied(
            f"无权限:{entity} {entity_id} 不在您的管辖范围内 / permission denied: {entity} "
            f"{entity_id} is outside your community or grid"
        )
    return p


def _keep(frame: pd.DataFrame, column: str, ids: set[int] | None) -> pd.DataFrame:
    if ids is None or column not in frame:
        return frame
    values = pd.to_numeric(frame[column], errors="coerce")
    return frame[values.isin(list(ids))]


def scope_rows(
    conn: Engine | Connection, frame: pd.DataFrame, entity: str, principal: Principal | None
) -> pd.DataFrame:
    """The rows of a loaded table that ``principal`` may see, masked for its role.

    ``entity`` names the table the rows come from: ``community``, ``grid`` (with
    ``community_id`` or ``plan_id``), ``building``, ``service_station`` (street-level stations
    stay visible), ``request``, ``member`` (with ``community_id``, else ``building_id``),
    ``party_org`` (street-level organisations stay visible as context), ``grid_worker``,
    ``member_zone``/``member_point`` (by ``member_id``), ``person``.
    """
    p = _resolve(principal)
    with connect(conn) as c:
        cids = community_ids(c, p)
        gids = grid_ids(c, p)
        if cids is None and gids is None:
            return mask_frame(frame, p)
        out = frame
        if entity == "community":
            out = _keep(out, "id", cids)
        elif entity == "grid":
            out = _keep(out, "id", gids)
        elif entity == "organisation":  # 两新组织
            out = _keep(out, "community_id", cids)
        elif entity == "building":
            out = _keep(out, "community_id", cids)
            if p.role == "grid_worker":
                out = _keep(out, "grid_id", gids)
        elif entity == "service_station":
            cid = pd.to_numeric(out["community_id"], errors="coerce")
            out = out[cid.isna() | cid.isin(list(cids or ()))]  # street-level stations stay
        elif entity == "request":
            kept = _keep(out, "grid_id", gids)
            if p.community_id is None and p.role not in ("secretary", "grid_worker"):
                # street-wide: a request placed in no grid still lies in the street
                kept = pd.concat([kept, out[out["grid_id"].isna()]]).sort_index()
            out = kept
        elif entity == "party_org":
            cid = pd.to_numeric(out["community_id"], errors="coerce")
            out = out[cid.isna() | cid.isin(list(cids or ()))]
        elif entity == "member":
            if "community_id" in out:
                out = _keep(out, "community_id", cids)
            else:
                bld = _t("building")
                bids = set(
                    c.execute(
                        select(bld.c.id).where(bld.c.community_id.in_(sorted(cids or ())))
                    ).scalars()
                )
                out = _keep(out, "building_id", bids)
            if p.role == "grid_worker" and "building_id" in out:
                bld = _t("building")
                bids = set(
                    c.execute(
                        select(bld.c.id).where(bld.c.grid_id.in_(sorted(gids or ())))
                    ).scalars()
                )
                out = _keep(out, "building_id", bids)
        elif entity == "grid_worker":
            out = _keep(out, "grid_id", gids)
        elif entity in ("member_zone", "member_point"):
            mem = scope_rows(c, _member_frame(c), "member", p)
            out = _keep(out, "member_id", set(mem["id"]))
        elif entity == "person":
            out = _keep(out, "id", _visible_persons(c, p, cids, gids))
        else:
            raise ValueError(f"no scope rule for table {entity!r}")
    return mask_frame(out.copy(), p)


def _member_frame(c: Connection) -> pd.DataFrame:
    mem = _t("member")
    rows = c.execute(select(mem.c.id, mem.c.building_id, mem.c.person_id)).all()
    return pd.DataFrame.from_records(rows, columns=["id", "building_id", "person_id"])


def _visible_persons(
    c: Connection, p: Principal, cids: set[int] | None, gids: set[int] | None
) -> set[int]:
    """Persons tied to the scope: its members, grid leaders and workers, building leaders."""
    mem = scope_rows(c, _member_frame(c), "member", p)
    found = set(mem["person_id"].dropna().astype(int))
    grid, worker, bld = _t("grid"), _t("grid_worker"), _t("building")
    ids = sorted(gids or ())
    found |= set(c.execute(select(grid.c.leader_id).where(grid.c.id.in_(ids))).scalars())
    found |= set(c.execute(select(worker.c.person_id).where(worker.c.grid_id.in_(ids))).scalars())
    bq = select(bld.c.leader_id).where(bld.c.community_id.in_(sorted(cids or ())))
    if p.role == "grid_worker":
        bq = select(bld.c.leader_id).where(bld.c.grid_id.in_(ids))
    found |= set(c.execute(bq).scalars())
    return {int(i) for i in found if i is not None}


#: Columns holding personal data, by kind, wherever they appear in a frame.
NAME_COLUMNS: tuple[str, ...] = (
    "name_person",
    "person_name",
    "leader_name",
    "leader",
    "reporter",
    "actor_name",
    "assignee_name",
    "member_name",
    "worker_name",
    "姓名",
    "网格长",
    "楼栋长",
    "反映人",
)
PHONE_COLUMNS: tuple[str, ...] = ("phone", "leader_phone", "电话", "联系电话")
ID_COLUMNS: tuple[str, ...] = ("id_suffix", "身份证后四位")
TEXT_COLUMNS: tuple[str, ...] = ("description", "rating_note", "note", "诉求内容", "评价说明")


def mask_frame(
    frame: pd.DataFrame,
    principal: Principal | None,
    names: Iterable[str] = (),
    phones: Iterable[str] = (),
    id_suffixes: Iterable[str] = (),
    texts: Iterable[str] = (),
) -> pd.DataFrame:
    """A frame as ``principal`` may see it.

    Roles with ``read_personal`` see everything; viewers see names as 张*明, phones as
    138****1234, ID suffixes as ``****`` and no request text; planners see none of these
    (:data:`REDACTED`). The columns are the known personal columns (:data:`NAME_COLUMNS` …)
    present in the frame plus the ones named; a ``name`` column counts as a person's name
    only when the frame also has a ``phone`` or ``person_id`` column.
    """
    p = _resolve(principal)
    if p.personal_data:
        return frame
    name_cols = set(names) | {c for c in NAME_COLUMNS if c in frame}
    if "name" in frame and ("phone" in frame or "person_id" in frame or "id_suffix" in frame):
        name_cols.add("name")
    phone_cols = set(phones) | {c for c in PHONE_COLUMNS if c in frame}
    id_cols = set(id_suffixes) | {c for c in ID_COLUMNS if c in frame}
    text_cols = set(texts) | {c for c in TEXT_COLUMNS if c in frame}
    out = frame.copy()
    redact = p.aggregates_only

    def apply(cols: set[str], masker: Callable[[Any], Any]) -> None:
        for col in cols:
            if col in out:
                out[col] = (
                    out[col]
                    .astype(object)
                    .map(lambda v: v if v is None or v != v or v == "" else masker(str(v)))
                )

    apply(name_cols, (lambda v: REDACTED) if redact else mask_name)
    apply(phone_cols, (lambda v: REDACTED) if redact else mask_phone)
    apply(id_cols, (lambda v: REDACTED) if redact else mask_id_suffix)
    if not p.can("read_request_text"):
        apply(text_cols, lambda v: REDACTED)
    return out


def scope_layers(conn: Engine | Connection, layers: Any, principal: Principal | None) -> Any:
    """:class:`~gridmap.repository.StreetLayers` cut to ``principal``'s scope and masked."""
    p = _resolve(principal)
    with connect(conn) as c:
        communities = scope_rows(c, layers.communities, "community", p)
        street_ids = set(pd.to_numeric(communities["street_id"]).dropna().astype(int))
        streets = layers.streets
        if community_ids(c, p) is not None:
            streets = streets[streets["id"].isin(street_ids)]
        return replace(
            layers,
            streets=streets,
            communities=communities,
            grids=scope_rows(c, layers.grids, "grid", p),
            buildings=scope_rows(c, layers.buildings, "building", p),
            stations=scope_rows(c, layers.stations, "service_station", p),
        )


# --- passwords and users ----------------------------------------------------------------------

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
#: The community and grid of the demo secretary and grid worker.
DEMO_COMMUNITY_CODE = "420303001-001"
DEMO_GRID_CODE = "420303001-001-01"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; verify with :func:`verify_password`)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a malformed hash never matches."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def is_demo_database(conn: Engine | Connection) -> bool:
    """Whether the database holds the built-in demo street (and nothing else)."""
    street = _t("street")
    with connect(conn) as c:
        rows = c.execute(select(street.c.code, street.c.name)).all()
    return len(rows) == 1 and tuple(rows[0]) == (
        settings.DEMO_STREET_CODE,
        settings.DEMO_STREET_NAME,
    )


def _check_password(conn: Connection, password: str) -> None:
    if len(password or "") < settings.PASSWORD_MIN_LENGTH:
        raise InputError(
            f"密码至少 {settings.PASSWORD_MIN_LENGTH} 个字符 / a password needs at least "
            f"{settings.PASSWORD_MIN_LENGTH} characters"
        )
    if password in DEMO_PASSWORDS and not is_demo_database(conn):
        raise InputError(
            "示范密码只能用于示范数据库 / the documented demo passwords work only on the demo "
            "database: choose another password"
        )


def _code_id(c: Connection, name: str, code: str | None) -> int | None:
    if code is None:
        return None
    tbl = _t(name)
    found = c.execute(select(tbl.c.id).where(tbl.c.code == code)).scalar()
    if found is None:
        raise InputError(f"找不到编码 {code} / no {name} with code {code}")
    return int(found)


def _active_grid_id(c: Connection, code: str) -> int:
    grid, plan = _t("grid"), _t("grid_plan")
    found = c.execute(
        select(grid.c.id)
        .join(plan, plan.c.id == grid.c.plan_id)
        .where(grid.c.code == code, plan.c.status == "active")
    ).scalar()
    if found is None:
        raise InputError(f"当前方案中没有网格 {code} / no grid {code} in an active plan")
    return int(found)


def create_user(
    engine: Engine,
    name: str,
    password: str,
    role: str,
    *,
    street_code: str | None = None,
    community_code: str | None = None,
    grid_code: str | None = None,
    principal: Principal | None = None,
) -> int:
    """Add a user; return their id.

    A ``secretary`` needs ``community_code``, a ``grid_worker`` ``grid_code`` (a grid of an
    active plan; the community follows from it). Names are unique; the password must be at
    least ``settings.PASSWORD_MIN_LENGTH`` characters and not a demo password (except on the
    demo database). Audited as ``user_create`` (never with the hash).
    """
    from gridmap.db import transaction

    p = _resolve(principal)
    p.require("manage_users")
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise InputError("用户名不能为空且不超过 50 字 / a user name of 1–50 characters is needed")
    if role not in ROLES:
        raise InputError(f"未知角色 / unknown role {role!r}: {', '.join(ROLES)}")
    user = _t("user")
    with transaction(engine) as conn:
        _check_password(conn, password)
        if conn.execute(select(user.c.id).where(user.c.name == name)).first() is not None:
            raise InputError(f"用户 {name} 已存在 / user {name} exists already")
        values = {
            "name": name,
            "password_hash": hash_password(password),
            **_role_and_scope(conn, role, street_code, community_code, grid_code),
            "disabled": False,
        }
        new_id = conn.execute(user.insert().values(**values)).inserted_primary_key[0]
        shown = {k: v for k, v in values.items() if k != "password_hash"}
        audit(conn, p, "user_create", "user", new_id, None, shown)
    return int(new_id)


def _role_and_scope(
    conn: Connection,
    role: str,
    street_code: str | None,
    community_code: str | None,
    grid_code: str | None,
) -> dict[str, Any]:
    """The ``role, street_id, community_id, grid_id`` of a user, checked (InputError)."""
    if role not in ROLES:
        raise InputError(f"未知角色 / unknown role {role!r}: {', '.join(ROLES)}")
    street_id = _code_id(conn, "street", street_code)
    community_id = _code_id(conn, "community", community_code)
    grid_id = _active_grid_id(conn, grid_code) if grid_code else None
    if grid_id is not None:
        community_id = next(iter(_community_of(conn, "grid", grid_id)))
    if role == "secretary" and community_id is None:
        raise InputError("社区书记需要指定社区 / a secretary needs --community")
    if role == "grid_worker" and grid_id is None:
        raise InputError("网格员需要指定网格 / a grid worker needs --grid")
    if community_id is not None and street_id is None:
        com = _t("community")
        street_id = conn.execute(select(com.c.street_id).where(com.c.id == community_id)).scalar()
    return {"role": role, "street_id": street_id, "community_id": community_id, "grid_id": grid_id}


def change_user(
    engine: Engine,
    name: str,
    role: str | None = None,
    *,
    street_code: str | None = None,
    community_code: str | None = None,
    grid_code: str | None = None,
    principal: Principal | None = None,
) -> None:
    """Give a user a new role and/or scope (the scope is exactly the codes given).

    ``role`` None keeps the user's role. A secretary needs ``community_code``, a grid worker
    ``grid_code``. A disabled user is enabled again (e.g. one whose community was replaced by
    ``demo --force`` or ``restore``); their open sessions end. Audited as ``user_change``.
    """
    from gridmap.db import transaction

    p = _resolve(principal)
    p.require("manage_users")
    user = _t("user")
    with transaction(engine) as conn:
        row = _user_row(conn, name)
        values = _role_and_scope(
            conn, role or str(row["role"]), street_code, community_code, grid_code
        )
        values["disabled"] = False
        conn.execute(user.update().where(user.c.id == row["id"]).values(**values))
        before = {k: row[k] for k in values}
        audit(conn, p, "user_change", "user", row["id"], before, values)
    SESSIONS.end_user(int(row["id"]))


def list_users(engine: Engine | Connection) -> pd.DataFrame:
    """Every user (no password hashes): id, name, role, street/community/grid codes, disabled."""
    user, com, grid, street = _t("user"), _t("community"), _t("grid"), _t("street")
    query = (
        select(
            user.c.id,
            user.c.name,
            user.c.role,
            street.c.code.label("street_code"),
            com.c.code.label("community_code"),
            grid.c.code.label("grid_code"),
            user.c.disabled,
        )
        .outerjoin(street, street.c.id == user.c.street_id)
        .outerjoin(com, com.c.id == user.c.community_id)
        .outerjoin(grid, grid.c.id == user.c.grid_id)
        .order_by(user.c.id)
    )
    with connect(engine) as c:
        result = c.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    frame["role"] = frame["role"].astype(str)
    frame["disabled"] = frame["disabled"].astype(bool)
    return frame


def _user_row(c: Connection, name: str) -> Any:
    user = _t("user")
    row = c.execute(select(user).where(user.c.name == name)).mappings().first()
    if row is None:
        raise InputError(f"没有用户 {name} / no user named {name}")
    return row


def disable_user(
    engine: Engine, name: str, disabled: bool = True, principal: Principal | None = None
) -> None:
    """Disable (or re-enable) a user: a disabled user cannot log in and their sessions end."""
    from gridmap.db import transaction

    p = _resolve(principal)
    p.require("manage_users")
    user = _t("user")
    with transaction(engine) as conn:
        row = _user_row(conn, name)
        conn.execute(user.update().where(user.c.id == row["id"]).values(disabled=disabled))
        action = "user_disable" if disabled else "user_enable"
        audit(conn, p, action, "user", row["id"], {"disabled": row["disabled"]},
              {"disabled": disabled})  # fmt: skip
    if disabled:
        SESSIONS.end_user(int(row["id"]))


def reset_password(
    engine: Engine, name: str, password: str, principal: Principal | None = None
) -> None:
    """Set a new password for a user (their open sessions end). Audited without the hash."""
    from gridmap.db import transaction

    p = _resolve(principal)
    if p.user_id is None or p.name != name:
        p.require("manage_users")
    user = _t("user")
    with transaction(engine) as conn:
        _check_password(conn, password)
        row = _user_row(conn, name)
        conn.execute(
            user.update()
            .where(user.c.id == row["id"])
            .values(password_hash=hash_password(password))
        )
        audit(conn, p, "user_reset_password", "user", row["id"], None, {"name": name})
    SESSIONS.end_user(int(row["id"]))


def principal_for(conn: Engine | Connection, user_id: int) -> Principal:
    """The principal of a stored user (PermissionDenied when missing or disabled)."""
    user = _t("user")
    with connect(conn) as c:
        row = c.execute(select(user).where(user.c.id == int(user_id))).mappings().first()
        if row is None or row["disabled"]:
            raise PermissionDenied("用户不存在或已停用 / the user does not exist or is disabled")
        return _principal(c, row)


def _principal(c: Connection, row: Any) -> Principal:
    community_id = row["community_id"]
    if row["grid_id"] is not None and community_id is None:
        community_id = next(iter(_community_of(c, "grid", row["grid_id"])), None)
    return Principal(
        user_id=int(row["id"]),
        name=row["name"],
        role=str(row["role"]),
        street_id=row["street_id"],
        community_id=community_id,
        grid_id=row["grid_id"],
    )


_LOGIN_REFUSED = (
    "用户名或密码错误,或账号已停用 / wrong user name or password, or the account is disabled"
)


def _recent_failures(c: Connection, user_id: int, now: dt.datetime) -> int:
    log = _t("audit_log")
    since = now - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    last_ok = c.execute(
        select(func.max(log.c.at)).where(
            log.c.entity == "user", log.c.entity_id == user_id, log.c.action == "login"
        )
    ).scalar()
    if last_ok is not None and last_ok > since:
        since = last_ok
    return c.execute(
        select(func.count()).where(
            log.c.entity == "user",
            log.c.entity_id == user_id,
            log.c.action == "login_failed",
            log.c.at > since,
        )
    ).scalar_one()


def authenticate(
    engine: Engine, name: str, password: str, now: dt.datetime | None = None
) -> Principal:
    """Check a user name and password; return the user's :class:`Principal`.

    Raises :class:`PermissionDenied` with the same sentence for an unknown name, a wrong
    password and a disabled user. After ``settings.LOGIN_MAX_FAILURES`` failures within
    ``settings.LOGIN_LOCKOUT_MINUTES`` the account is locked for that long (even the right
    password is refused). Demo users and demo passwords work only on the demo database. Every
    attempt on a known user is audited (``login`` / ``login_failed``).
    """
    from gridmap.db import transaction

    now = now or _now()
    with transaction(engine) as conn:
        user = _t("user")
        row = conn.execute(select(user).where(user.c.name == (name or "").strip())).mappings()
        row = row.first()
        if row is None:
            verify_password(_DUMMY_HASH, password or "")  # same time as a known name
            raise PermissionDenied(_LOGIN_REFUSED)
        uid = int(row["id"])
        if _recent_failures(conn, uid, now) >= settings.LOGIN_MAX_FAILURES:
            raise PermissionDenied(
                f"尝试次数过多,账号已锁定 {settings.LOGIN_LOCKOUT_MINUTES} 分钟 / too many failed "
                f"attempts: the account is locked for {settings.LOGIN_LOCKOUT_MINUTES} minutes"
            )
        ok = verify_password(row["password_hash"], password or "") and not row["disabled"]
        demo = row["name"] in DEMO_USERS or (password or "") in DEMO_PASSWORDS
        if ok and demo and not is_demo_database(conn):
            ok = False
        who = Principal(uid, row["name"], str(row["role"]))
        if not ok:
            audit(conn, who, "login_failed", "user", uid, None, {"name": row["name"]}, at=now)
    if not ok:  # the failure row is committed before refusing
        raise PermissionDenied(_LOGIN_REFUSED)
    with transaction(engine) as conn:
        audit(conn, who, "login", "user", uid, None, {"name": row["name"]}, at=now)
        return _principal(conn, row)


def ensure_admin(
    engine: Engine, password: str | None = None, name: str | None = None
) -> int | None:
    """On a database with no user, create the first ``street_admin``.

    The password comes from ``password`` or ``GRIDMAP_ADMIN_PASSWORD`` — never a default:
    with neither, nothing is created and None is returned (the caller prompts). Returns the
    new user's id, or None when users exist already or no password was given.
    """
    import os

    with connect(engine) as c:
        if c.execute(select(func.count()).select_from(_t("user"))).scalar_one():
            return None
    password = password or os.environ.get("GRIDMAP_ADMIN_PASSWORD")
    if not password:
        return None
    return create_user(
        engine, name or settings.ADMIN_NAME, password, "street_admin", principal=SYSTEM
    )


def _demo_hash(name: str, password: str) -> str:
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


def add_demo_users(bind: Engine | Connection) -> dict[str, int]:
    """Add the demo logins of :data:`DEMO_USERS` to the demo database (README lists them).

    Written directly (no audit row, deterministic hashes) so the demo database stays
    byte-identical per seed; their passwords are refused on any other database. A demo login
    that exists already (``demo --force`` keeps accounts) is reset to its demo role and scope.
    """
    from gridmap.db import transaction

    user, com = _t("user"), _t("community")
    ids = {}
    with transaction(bind) as conn:
        cid = _code_id(conn, "community", DEMO_COMMUNITY_CODE)
        gid = _active_grid_id(conn, DEMO_GRID_CODE)
        sid = conn.execute(select(com.c.street_id).where(com.c.id == cid)).scalar()
        for name, (role, password) in DEMO_USERS.items():
            values = {
                "name": name,
                "password_hash": _demo_hash(name, password),
                "role": role,
                "street_id": sid,
                "community_id": cid if role in ("secretary", "grid_worker", "viewer") else None,
                "grid_id": gid if role == "grid_worker" else None,
                "disabled": False,
            }
            found = conn.execute(select(user.c.id).where(user.c.name == name)).scalar()
            if found is None:
                found = conn.execute(user.insert().values(**values)).inserted_primary_key[0]
            else:
                conn.execute(user.update().where(user.c.id == found).values(**values))
            ids[name] = int(found)
    return ids


# --- accounts across a replaced street (demo --force, restore) ------------------------------


def detach_users(conn: Connection) -> pd.DataFrame:
    """Take every user's scope off before the street's data is deleted; return it by code.

    Accounts and the audit log outlive the street's data (:data:`~gridmap.models.
    ACCOUNT_TABLES`), but a user's street/community/grid keys point into it. They are set
    empty here and given back by :func:`reattach_users` once the new data is in. Columns:
    ``id, name, street_code, community_code, grid_code``.
    """
    user, street, com, grid = _t("user"), _t("street"), _t("community"), _t("grid")
    query = (
        select(
            user.c.id,
            user.c.name,
            street.c.code.label("street_code"),
            com.c.code.label("community_code"),
            grid.c.code.label("grid_code"),
        )
        .outerjoin(street, street.c.id == user.c.street_id)
        .outerjoin(com, com.c.id == user.c.community_id)
        .outerjoin(grid, grid.c.id == user.c.grid_id)
        .where(
            (user.c.street_id.is_not(None))
            | (user.c.community_id.is_not(None))
            | (user.c.grid_id.is_not(None))
        )
    )
    result = conn.execute(query)
    detached = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    detached = detached.astype(object).where(detached.notna(), None)
    conn.execute(user.update().values(street_id=None, community_id=None, grid_id=None))
    return detached


def reattach_users(conn: Connection, detached: pd.DataFrame) -> list[str]:
    """Give each detached user their scope back, found by code in the new data.

    A user whose street, community or grid (of an active plan) no longer exists is disabled,
    never left with an empty scope (which would widen what they see); their names are
    returned so the caller can audit and report them.
    """
    user = _t("user")
    lost = []
    for row in detached.itertuples(index=False):  # accounts: a handful of rows
        try:
            values = {
                "street_id": _code_id(conn, "street", row.street_code),
                "community_id": _code_id(conn, "community", row.community_code),
                "grid_id": _active_grid_id(conn, row.grid_code) if row.grid_code else None,
            }
        except InputError:
            values = {"disabled": True}
            lost.append(str(row.name))
        conn.execute(user.update().where(user.c.id == int(row.id)).values(**values))
    return lost


# --- sessions ---------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


@dataclass
class _Session:
    principal: Principal
    started: dt.datetime
    last_seen: dt.datetime


class SessionExpired(PermissionDenied):
    """The session is unknown, ended by logout, or expired: log in again."""


@dataclass
class SessionStore:
    """Logged-in sessions of this server process, by random token.

    A token lives until logout (:meth:`end`), ``idle_minutes`` without use, or ``max_hours``
    after login, whichever comes first. Only the token travels to the browser session; an
    ended token is forgotten, so presenting it again is refused.
    """

    idle_minutes: float = field(default_factory=lambda: settings.SESSION_IDLE_MINUTES)
    max_hours: float = field(default_factory=lambda: settings.SESSION_MAX_HOURS)
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, principal: Principal, now: dt.datetime | None = None) -> str:
        now = now or _now()
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[token] = _Session(principal, now, now)
        return token

    def get(self, token: str | None, now: dt.datetime | None = None) -> Principal:
        """The principal of a live session (and mark it used); SessionExpired otherwise."""
        now = now or _now()
        with self._lock:
            found = None
            for known, session in self._sessions.items():
                if token and hmac.compare_digest(known, str(token)):
                    found = (known, session)
            if found is None:
                raise SessionExpired("请登录 / please log in")
            known, session = found
            idle = now - session.last_seen > dt.timedelta(minutes=self.idle_minutes)
            old = now - session.started > dt.timedelta(hours=self.max_hours)
            if idle or old:
                del self._sessions[known]
                raise SessionExpired("登录已过期,请重新登录 / the session expired: log in again")
            session.last_seen = now
            return session.principal

    def end(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(str(token), None)

    def end_user(self, user_id: int) -> None:
        """End every session of a user (disabled, or password reset)."""
        with self._lock:
            for token in [t for t, s in self._sessions.items() if s.principal.user_id == user_id]:
                del self._sessions[token]


#: The app's sessions (one server process).
SESSIONS = SessionStore()


def session_principal(engine: Engine | Connection, token: str | None) -> Principal:
    """The principal of a live session whose user still exists and is enabled."""
    principal = SESSIONS.get(token)
    try:
        return principal_for(engine, principal.user_id)  # role or scope may have changed
    except PermissionDenied:
        SESSIONS.end(token)
        raise SessionExpired("账号已停用,请重新登录 / the account was disabled") from None


# --- audit ------------------------------------------------------------------------------------


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def audit(
    conn: Connection,
    principal: Principal | None,
    action: str,
    entity: str,
    entity_id: int | None,
    before: Any,
    after: Any,
    at: dt.datetime | None = None,
) -> None:
    """Append one audit row in the caller's transaction: who, when, what, before and after.

    ``principal`` None means :func:`current_principal`. ``before``/``after`` are stored as JSON
    text (any JSON-able value; dates and numpy numbers as strings).
    """
    p = _resolve(principal)
    conn.execute(
        _t("audit_log")
        .insert()
        .values(
            at=at or _now(),
            user_id=p.user_id,
            action=str(action)[:40],
            entity=str(entity)[:40],
            entity_id=None if entity_id is None else int(entity_id),
            before=_json(before),
            after=_json(after),
        )
    )


F = TypeVar("F", bound=Callable[..., Any])


def _row_snapshot(c: Connection, entity: str, entity_id: Any) -> dict | None:
    if entity_id is None or entity not in Base.metadata.tables:
        return None
    if isinstance(entity_id, list | tuple | set | dict):
        return None
    tbl = _t(entity)
    cols = [col for col in tbl.columns if col.name != "geom"]
    row = c.execute(select(*cols).where(tbl.c.id == int(entity_id))).mappings().first()
    return None if row is None else dict(row)


def audited(
    action: str,
    entity: str,
    id_arg: str | None = None,
    permission: str = "",
    scope: dict[str, str] | None = None,
    require_scope: bool = False,
) -> Callable[[F], F]:
    """Decorate a write function of the core: check role and scope, then audit the write.

    Parameters
    ----------
    action, entity : str
        What the audit row says was done, and to which table.
    id_arg : str, optional
        The argument holding the entity's id (else an ``int`` result is taken as the new id).
    permission : str
        The permission (:data:`PERMISSIONS`) the acting principal needs.
    scope : dict, optional
        Argument name → entity: each given id (or each of a list of ids) must lie in the
        principal's scope (:func:`in_scope`). Keyword arguments gathered by ``**fields`` count.
    require_scope : bool
        A community-scoped principal must name at least one scoped argument (e.g. a new
        organisation needs a parent or a community inside the scope).

    The checks, the write and its audit row are one transaction: the function gets the open
    connection in place of the engine (its own ``transaction(...)`` joins it), nothing is
    written when a check fails, and a write is never committed without its audit row (the
    arguments, the entity's row before and after — no geometry — and the result).
    """

    def wrap(fn: F) -> F:
        import inspect

        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(engine: Engine, *args: Any, **kwargs: Any) -> Any:
            from gridmap.db import transaction  # db imports nothing from auth; no cycle

            p = current_principal()
            bound = signature.bind(engine, *args, **kwargs)
            given = dict(bound.arguments)
            for param in signature.parameters.values():
                if param.kind is inspect.Parameter.VAR_KEYWORD:
                    given |= given.pop(param.name, {})
            entity_id = given.get(id_arg) if id_arg else None
            with transaction(engine) as c:
                _check_call(c, p, given, permission, scope or {}, require_scope)
                before = _row_snapshot(c, entity, entity_id)
                result = fn(c, *args, **kwargs)
                target = entity_id
                if target is None and isinstance(result, int) and not isinstance(result, bool):
                    target = result
                if isinstance(target, list | tuple | set):
                    target = None
                arguments = {k: v for k, v in given.items() if k != "engine" and not _bulky(v)}
                record = {
                    "call": arguments,
                    "row": _row_snapshot(c, entity, target),
                    "result": None if _bulky(result) else result,
                }
                audit(c, p, action, entity, target, before, record)
            return result

        return wrapper  # type: ignore[return-value]

    return wrap


def _check_call(
    c: Connection,
    p: Principal,
    given: dict[str, Any],
    permission: str,
    scope: dict[str, str],
    require_scope: bool,
) -> None:
    """The role and scope checks of :func:`audited` (raise PermissionDenied)."""
    if permission:
        p.require(permission)
    checked = 0
    for arg, kind in scope.items():
        value = given.get(arg)
        values = value if isinstance(value, list | tuple | set) else [value]
        for one in values:
            if one is None:
                continue
            checked += 1
            check_scope(c, p, permission or "read", kind, int(one))
    if require_scope and not checked and community_ids(c, p) is not None:
        raise PermissionDenied(
            "无权限:只能在本社区内操作 / permission denied: only inside your own community"
        )


def _bulky(value: Any) -> bool:
    return isinstance(value, pd.DataFrame | pd.Series | bytes)


def audit_log(
    engine: Engine | Connection,
    *,
    user: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: int | None = None,
    since: dt.datetime | dt.date | None = None,
    until: dt.datetime | dt.date | None = None,
    limit: int | None = None,
    principal: Principal | None = None,
) -> pd.DataFrame:
    """Audit rows, newest first, filtered (all filters are bound parameters, never SQL text).

    Needs ``read_audit`` (street administrators). Columns: ``id, at, user_id, user, action,
    entity, entity_id, before, after``. ``until`` as a date includes that whole day.
    """
    _resolve(principal).require("read_audit")
    log, usr = _t("audit_log"), _t("user")
    query = (
        select(
            log.c.id,
            log.c.at,
            log.c.user_id,
            usr.c.name.label("user"),
            log.c.action,
            log.c.entity,
            log.c.entity_id,
            log.c.before,
            log.c.after,
        )
        .outerjoin(usr, usr.c.id == log.c.user_id)
        .order_by(log.c.id.desc())
    )
    if user:
        query = query.where(usr.c.name == user)
    if action:
        query = query.where(log.c.action == action)
    if entity:
        query = query.where(log.c.entity == entity)
    if entity_id is not None:
        query = query.where(log.c.entity_id == int(entity_id))
    if since is not None:
        query = query.where(log.c.at >= _as_datetime(since))
    if until is not None:
        end = _as_datetime(until)
        if not isinstance(until, dt.datetime):
            end += dt.timedelta(days=1)
        query = query.where(log.c.at < end)
    query = query.limit(limit or settings.AUDIT_MAX_ROWS)
    with connect(engine) as c:
        result = c.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    return frame


def _as_datetime(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())


# --- helpers ----------------------------------------------------------------------------------
