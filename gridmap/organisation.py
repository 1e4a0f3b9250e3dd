"""The organisation side: Party organisation tree, leaders, members, zones and points.

Every edit is one transaction (:func:`gridmap.db.transaction`): it checks its input, writes, then
re-checks the whole tree (no cycles, no orphans, allowed parent kinds, one community per branch)
before it commits, so a failed edit leaves nothing behind. Grid edits (leader, workers, the
grid's branch) respect :attr:`gridmap.models.Grid.version`: the caller passes the version it
read, and an edit of a grid changed since then raises :class:`~gridmap.errors.ConflictError`.

Tree (DESIGN.md §1): street working committee 党工委 → community committee 党委 (or general
branch 党总支) → grid branch 党支部 / joint branch 联合党支部 → building group 党小组.

Personal data
    Names, phones and ID suffixes are stored once in ``person``. Everything read here is
    masked (张*明, 138****1234, ****) unless ``personal_data=True`` is passed: that flag is the
    one hook through which the roles of issue 11 will allow a user to see them.

Public API
    Reading: :func:`load_organisation`, :func:`org_tree`, :func:`check_tree`.
    Tree: :func:`create_org`, :func:`rename_org`, :func:`change_org_kind`, :func:`move_org`,
    :func:`dissolve_org`.
    People and leaders: :func:`add_person`, :func:`edit_person`, :func:`set_grid_leader`,
    :func:`add_grid_worker`, :func:`remove_grid_worker`, :func:`set_building_leader`,
    :func:`set_stairwell_leader`.
    Members: :func:`add_member`, :func:`edit_member`, :func:`move_members`,
    :func:`register_in_service`, :func:`set_member_zone`.
    Points: :func:`points_for_entry`, :func:`award_points`, :func:`points_summary`.
    Import: :func:`read_member_file`, :func:`import_members`.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from gridmap import settings
from gridmap.auth import (
    Principal,
    audited,
    community_ids,
    current_principal,
    mask_name,
    mask_phone,
    scope_rows,
)
from gridmap.db import connect, transaction
from gridmap.errors import ConflictError, InputError
from gridmap.models import MemberCategory, OrgKind, PersonRole, PointKind
from gridmap.repository import read_table, table

__all__ = [
    "ALLOWED_PARENTS",
    "CATEGORY_LABELS",
    "KIND_LABELS",
    "MEMBER_FILE_COLUMNS",
    "MEMBER_ORG_KINDS",
    "OrgData",
    "add_grid_worker",
    "add_member",
    "add_new_member",
    "add_person",
    "award_points",
    "change_org_kind",
    "check_tree",
    "create_org",
    "dissolve_org",
    "edit_member",
    "edit_person",
    "import_members",
    "load_organisation",
    "move_members",
    "move_org",
    "org_tree",
    "points_for_entry",
    "points_summary",
    "read_member_file",
    "register_in_service",
    "remove_grid_worker",
    "rename_org",
    "set_building_leader",
    "set_grid_leader",
    "set_member_zone",
    "set_stairwell_leader",
]

log = logging.getLogger(__name__)

#: (中文, English) of each organisation kind.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "working_committee": ("党工委", "Working committee"),
    "committee": ("党委", "Committee"),
    "general_branch": ("党总支", "General branch"),
    "branch": ("党支部", "Branch"),
    "joint_branch": ("联合党支部", "Joint branch"),
    "group": ("党小组", "Group"),
}
#: (中文, English) of each member category.
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "resident": ("在册居民党员", "Resident"),
    "in_service": ("在职党员(双报到)", "In-service (registered)"),
    "retired": ("离退休党员", "Retired"),
    "floating": ("流动党员", "Floating"),
    "lost_contact": ("失联党员", "Lost contact"),
    "retired_cadre": ("离退休干部", "Retired cadre"),
    "unemployed": ("下岗失业党员", "Unemployed"),
}
#: (中文, English) of each person role.
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "grid_leader": ("网格长", "Grid leader"),
    "grid_worker": ("网格员", "Grid worker"),
    "building_leader": ("楼栋长", "Building leader"),
    "stairwell_leader": ("单元长", "Stairwell leader"),
}
#: (中文, English) of each point kind.
POINT_LABELS: dict[str, tuple[str, str]] = {
    "study": ("学习", "Study"),
    "activity": ("活动", "Activities"),
    "request": ("办理诉求", "Requests handled"),
    "dues": ("按时交纳党费", "Dues"),
    "other": ("其他", "Other"),
}

#: Kinds an organisation's parent may have (None: it may be a root).
ALLOWED_PARENTS: dict[str, tuple[str | None, ...]] = {
    "working_committee": (None,),
    "committee": (None, "working_committee"),
    "general_branch": ("working_committee", "committee"),
    "branch": ("working_committee", "committee", "general_branch"),
    "joint_branch": ("working_committee", "committee", "general_branch"),
    "group": ("general_branch", "branch", "joint_branch"),
}
#: Kinds a member's organisation relation (组织关系) may sit in; groups hold none of their own.
MEMBER_ORG_KINDS: tuple[str, ...] = ("committee", "general_branch", "branch", "joint_branch")
#: Kinds that can be a grid's own organisation (支部建在网格上).
GRID_ORG_KINDS: tuple[str, ...] = ("general_branch", "branch", "joint_branch", "group")
#: Roles that follow from the data (grid.leader_id, grid_worker, building.leader_id); the
#: stairwell-leader role has no table of its own and is kept as set.
_DERIVED_ROLES = ("grid_leader", "grid_worker", "building_leader")
MEMBER_STATUSES: tuple[str, ...] = ("active", "lost_contact", "transferred_out", "deceased")


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgData:
    """The organisation side of a street, as the page and the analyses want it.

    Attributes
    ----------
    orgs : DataFrame
        :func:`org_tree` of ``party_org``: tree order, ``depth``, ``members`` (relations held
        directly) and ``members_total`` (in the subtree).
    persons : DataFrame
        ``person`` (masked unless personal data may be shown).
    members : DataFrame
        ``member`` with ``name`` and ``phone`` of the person (masked likewise) and
        ``community_id`` (of the building, else of the organisation).
    grid_workers, zones, points : DataFrame
        ``grid_worker``, ``member_zone`` and ``member_point`` as stored.
    """

    orgs: pd.DataFrame
    persons: pd.DataFrame
    members: pd.DataFrame
    grid_workers: pd.DataFrame
    zones: pd.DataFrame
    points: pd.DataFrame


def mask_persons(persons: pd.DataFrame, personal_data: bool = False) -> pd.DataFrame:
    """``person`` rows as a user may see them: masked unless ``personal_data`` is True.

    This is the hook for roles (issue 11): pass ``personal_data=True`` only for a user whose
    role may see names, phones and ID suffixes.
    """
    if personal_data:
        return persons.copy()
    out = persons.copy()
    out["name"] = out["name"].map(mask_name)
    out["phone"] = out["phone"].map(mask_phone)
    out["id_suffix"] = out["id_suffix"].map(lambda v: v if v is None or v != v else "****")
    return out


def load_organisation(
    engine: Engine | Connection, personal_data: bool = False, scope: Principal | None = None
) -> OrgData:
    """Load organisations, persons, members, grid workers, zones and points (one query each).

    Parameters
    ----------
    engine : Engine or Connection
    personal_data : bool
        Show names, phones and ID suffixes unmasked (the roles hook; default masked).
    scope : gridmap.auth.Principal, optional
        Keep only what it may see, masked for its role (default: the acting principal,
        :func:`gridmap.auth.current_principal`).
    """
    with connect(engine) as conn:
        orgs = read_table(conn, "party_org")
        persons = mask_persons(read_table(conn, "person"), personal_data)
        members = read_table(conn, "member")
        buildings = read_table(conn, "building")
        workers = read_table(conn, "grid_worker")
        zones = read_table(conn, "member_zone")
        points = read_table(conn, "member_point")
    members = _members_with_people(members, persons, buildings, orgs)
    data = OrgData(
        orgs=org_tree(orgs, members),
        persons=persons,
        members=members,
        grid_workers=workers,
        zones=zones,
        points=points,
    )
    scope = scope if scope is not None else current_principal()
    if community_ids(engine, scope) is None and scope.personal_data:
        return data
    return OrgData(
        orgs=scope_rows(engine, data.orgs, "party_org", scope),
        persons=scope_rows(engine, data.persons, "person", scope),
        members=scope_rows(engine, data.members, "member", scope),
        grid_workers=scope_rows(engine, data.grid_workers, "grid_worker", scope),
        zones=scope_rows(engine, data.zones, "member_zone", scope),
        points=scope_rows(engine, data.points, "member_point", scope),
    )


def _members_with_people(
    members: pd.DataFrame, persons: pd.DataFrame, buildings: pd.DataFrame, orgs: pd.DataFrame
) -> pd.DataFrame:
    people = persons.set_index("id")
    out = members.copy()
    out["name"] = out["person_id"].map(people["name"])
    out["phone"] = out["person_id"].map(people["phone"])
    by_building = out["building_id"].map(buildings.set_index("id")["community_id"])
    by_org = out["party_org_id"].map(orgs.set_index("id")["community_id"])
    out["community_id"] = by_building.fillna(by_org).astype("Int64")
    return out


def org_tree(orgs: pd.DataFrame, members: pd.DataFrame | None = None) -> pd.DataFrame:
    """Organisations in tree order (depth-first, siblings by kind then name) with their depth.

    Parameters
    ----------
    orgs : DataFrame
        ``party_org`` rows (``id, parent_id, kind, name`` …).
    members : DataFrame, optional
        ``member`` rows; adds ``members`` (relations held directly) and ``members_total``
        (held in the organisation and everything under it).

    Returns
    -------
    DataFrame
        The rows of ``orgs`` plus ``depth`` (0 for roots); organisations caught in a cycle or
        under a missing parent come last with depth -1 (:func:`check_tree` names them).
    """
    out = orgs.copy()
    ids = out["id"].astype(int).to_numpy()
    children: dict[int | None, list[int]] = {}
    rank = {k: i for i, k in enumerate(KIND_LABELS)}
    order_key = out.assign(_rank=out["kind"].map(rank)).sort_values(
        ["_rank", "grid_id", "name", "id"], na_position="last"
    )
    known = set(ids.tolist())
    for oid, pid in zip(order_key["id"], order_key["parent_id"], strict=True):
        key = None if pd.isna(pid) or int(pid) not in known else int(pid)
        children.setdefault(key, []).append(int(oid))
    order: list[int] = []
    depth: dict[int, int] = {}
    stack = [(oid, 0) for oid in reversed(children.get(None, []))]
    while stack:
        oid, d = stack.pop()
        if oid in depth:
            continue
        depth[oid] = d
        order.append(oid)
        stack.extend((c, d + 1) for c in reversed(children.get(oid, [])))
    order += [int(i) for i in ids if int(i) not in depth]
    out = out.set_index("id").loc[order].reset_index()
    out["depth"] = out["id"].map(lambda i: depth.get(int(i), -1)).astype(int)
    if members is not None:
        direct = members.groupby("party_org_id").size()
        out["members"] = out["id"].map(direct).fillna(0).astype(int)
        out["members_total"] = _subtree_sums(out)
    return out


def _subtree_sums(frame: pd.DataFrame) -> pd.Series:
    """members summed over each organisation's subtree (vectorised pointer walk upwards)."""
    index = {int(i): k for k, i in enumerate(frame["id"])}
    parent_idx = np.array(
        [index.get(int(p), -1) if pd.notna(p) else -1 for p in frame["parent_id"]], dtype=int
    )
    own = frame["members"].to_numpy()
    total = own.copy()
    cur = parent_idx.copy()
    for _ in range(len(frame)):  # each step adds every node's members to one more ancestor
        live = cur >= 0
        if not live.any():
            break
        np.add.at(total, cur[live], own[live])
        cur = np.where(live, parent_idx[np.maximum(cur, 0)], -1)
    return pd.Series(total, index=frame.index)


def check_tree(
    orgs: pd.DataFrame,
    members: pd.DataFrame | None = None,
    grids: pd.DataFrame | None = None,
    buildings: pd.DataFrame | None = None,
) -> list[str]:
    """Everything wrong with an organisation tree, one sentence each (empty when sound).

    Checks: every parent exists (no orphans), no cycles, each kind under an allowed parent
    kind (:data:`ALLOWED_PARENTS`), a child of an organisation with a community has the same
    community, and every member, grid and building refers to an existing organisation (members
    only to :data:`MEMBER_ORG_KINDS`).

    Parameters
    ----------
    orgs : DataFrame
        ``id, parent_id, kind, name, community_id``.
    members, grids, buildings : DataFrame, optional
        With ``id`` and ``party_org_id``.
    """
    problems: list[str] = []
    ids = orgs["id"].astype(int).to_numpy()
    index = {int(i): k for k, i in enumerate(ids)}
    by_id = orgs.set_index("id")
    parent_idx = np.full(len(ids), -1, dtype=int)
    for k, (oid, pid) in enumerate(zip(ids, orgs["parent_id"], strict=True)):
        if pd.isna(pid):
            continue
        if int(pid) not in index:
            problems.append(
                f"党组织 {oid} 的上级组织 {int(pid)} 不存在 / org {oid}: parent missing"
            )
            continue
        parent_idx[k] = index[int(pid)]
    # pointer doubling: after ⌈log2 n⌉+1 squarings only nodes in or under a cycle point anywhere
    jump = parent_idx.copy()
    for _ in range(max(1, math.ceil(math.log2(max(len(ids), 2)))) + 1):
        jump = np.where(jump >= 0, jump[np.maximum(jump, 0)], -1)
    for k in np.flatnonzero(jump >= 0):
        problems.append(f"党组织 {ids[k]} 处于循环中 / org {ids[k]} is in a cycle")
    kinds = orgs["kind"].astype(str).to_numpy()
    communities = orgs["community_id"].to_numpy()
    for k, oid in enumerate(ids):
        pk = None if parent_idx[k] < 0 else kinds[parent_idx[k]]
        if pd.notna(orgs["parent_id"].iloc[k]) and pk is None:
            continue  # missing parent, reported above
        if kinds[k] not in ALLOWED_PARENTS:
            problems.append(f"党组织 {oid} 类型未知 / org {oid} has unknown kind {kinds[k]!r}")
        elif pk not in ALLOWED_PARENTS[kinds[k]]:
            problems.append(
                f"党组织 {oid}（{KIND_LABELS[kinds[k]][0]}）不能隶属于"
                f"{'顶层' if pk is None else KIND_LABELS[pk][0]} / a {kinds[k]} cannot sit "
                f"under {pk or 'nothing'}"
            )
        if pk is not None:
            pc = communities[parent_idx[k]]
            if pd.notna(pc) and (pd.isna(communities[k]) or int(communities[k]) != int(pc)):
                problems.append(
                    f"党组织 {oid} 与上级组织不在同一社区 / org {oid} is in another community "
                    "than its parent"
                )
    refs = (("member", members), ("grid", grids), ("building", buildings))
    for what, frame in refs:
        if frame is None or frame.empty:
            continue
        org = frame["party_org_id"]
        missing = org.notna() & ~org.isin(ids)
        for rid, oid in zip(frame.loc[missing, "id"], org[missing], strict=True):
            problems.append(f"{what} {rid} 的党组织 {int(oid)} 不存在 / {what} {rid}: org missing")
        if what == "member":
            kind_of = org.map(by_id["kind"])
            wrong = org.notna() & org.isin(ids) & ~kind_of.isin(MEMBER_ORG_KINDS)
            for rid, k in zip(frame.loc[wrong, "id"], kind_of[wrong], strict=True):
                problems.append(
                    f"党员 {rid} 的组织关系不能放在{KIND_LABELS[k][0]} / member {rid}: "
                    f"relations cannot sit in a {k}"
                )
    return problems


def _assert_tree(conn: Connection) -> None:
    """Re-check the whole tree inside the transaction; raise (roll back) when it is unsound."""
    grid_c = table("grid").c
    orgs = read_table(conn, "party_org")
    problems = check_tree(
        orgs,
        members=read_table(conn, "member"),
        grids=pd.DataFrame(
            conn.execute(select(grid_c.id, grid_c.party_org_id)).fetchall(),
            columns=["id", "party_org_id"],
        ),
        buildings=pd.DataFrame(
            conn.execute(select(table("building").c.id, table("building").c.party_org_id)),
            columns=["id", "party_org_id"],
        ),
    )
    # a grid's own organisation lies in the grid's community
    plan = table("grid_plan").c
    grid_community = {
        int(gid): int(cid)
        for gid, cid in conn.execute(
            select(grid_c.id, plan.community_id).join_from(table("grid"), table("grid_plan"))
        )
    }
    tied = orgs[orgs["grid_id"].notna()]
    for oid, gid, cid in zip(tied["id"], tied["grid_id"], tied["community_id"], strict=True):
        want = grid_community.get(int(gid))
        if want is not None and (pd.isna(cid) or int(cid) != want):
            problems.append(
                f"党组织 {oid} 与其网格不在同一社区 / org {oid} is not in its grid's community"
            )
    if problems:
        raise ConflictError("；".join(problems[: settings.IMPORT_MAX_ISSUES_SHOWN]))


# --- small shared checks ----------------------------------------------------------------------


def _row(
    conn: Connection,
    name: str,
    row_id: int | None,
    what: str,
    known: Mapping[int, dict] | None = None,
) -> dict:
    """One row as a dict, or an InputError naming what was not found.

    ``known`` holds the table's rows already read (bulk imports): looked up there, not queried.
    """
    if row_id is None:
        raise InputError(f"未指定{what} / no {name} given")
    if known is not None:
        row = known.get(int(row_id))
        if row is None:
            raise InputError(f"{what} {row_id} 不存在 / {name} {row_id} does not exist")
        return dict(row)
    tbl = table(name)
    row = conn.execute(select(tbl).where(tbl.c.id == int(row_id))).mappings().first()
    if row is None:
        raise InputError(f"{what} {row_id} 不存在 / {name} {row_id} does not exist")
    return dict(row)


def _clean_name(name: str, what: str = "名称", max_len: int = 100) -> str:
    text = (name or "").strip()
    if not text:
        raise InputError(f"{what}不能为空 / the {what} must not be empty")
    if len(text) > max_len:
        raise InputError(f"{what}过长(最多 {max_len} 字) / too long (at most {max_len})")
    return text


def _bump_grid(conn: Connection, grid_id: int, version: int, **values: Any) -> int:
    """Update a grid if it still has ``version``; return the new version (optimistic lock)."""
    grid = table("grid")
    result = conn.execute(
        update(grid)
        .where(grid.c.id == int(grid_id), grid.c.version == int(version))
        .values(version=grid.c.version + 1, **values)
    )
    if result.rowcount == 1:
        return int(version) + 1
    current = conn.execute(select(grid.c.version).where(grid.c.id == int(grid_id))).scalar()
    if current is None:
        raise InputError(f"网格 {grid_id} 不存在 / grid {grid_id} does not exist")
    raise ConflictError(
        f"网格 {grid_id} 已被他人修改(版本 {current},您读取的是 {version}),请刷新后重试 / "
        f"grid {grid_id} was changed by someone else (version {current}, you read {version}); "
        "reload and try again"
    )


def _sync_roles(conn: Connection, person_ids: Iterable[int | None]) -> None:
    """Recompute the derived roles of persons from grid leaders, workers and building leaders."""
    ids = sorted({int(p) for p in person_ids if p is not None and p == p})
    if not ids:
        return
    person, grid, worker, bld = (table(n) for n in ("person", "grid", "grid_worker", "building"))

    def holding(col) -> set[int]:
        return set(conn.execute(select(col).where(col.in_(ids))).scalars())

    holders = {
        "grid_leader": holding(grid.c.leader_id),
        "grid_worker": holding(worker.c.person_id),
        "building_leader": holding(bld.c.leader_id),
    }
    rows = conn.execute(select(person.c.id, person.c.roles).where(person.c.id.in_(ids))).all()
    for pid, roles in rows:
        kept = [r for r in _split(roles) if r not in _DERIVED_ROLES]
        derived = [r for r in _DERIVED_ROLES if pid in holders[r]]
        new = ",".join([*derived, *kept])
        if new != (roles or ""):
            conn.execute(update(person).where(person.c.id == pid).values(roles=new))


def _split(text: str | None) -> list[str]:
    if text is None or text != text:
        return []
    return [part.strip() for part in str(text).replace("，", ",").split(",") if part.strip()]


# --- the tree ---------------------------------------------------------------------------------


@audited(
    "org_create",
    "party_org",
    permission="edit_organisation",
    scope={"parent_id": "party_org", "community_id": "community", "grid_id": "grid"},
    require_scope=True,
)
def create_org(
    engine: Engine,
    name: str,
    kind: str | OrgKind,
    parent_id: int | None,
    community_id: int | None = None,
    grid_id: int | None = None,
    grid_version: int | None = None,
) -> int:
    """Create an organisation under ``parent_id`` and return its id.

    Parameters
    ----------
    name : str
    kind : OrgKind or its value
    parent_id : int or None
        None only for a working committee or a committee (a root).
    community_id : int, optional
        Defaults to the parent's community.
    grid_id, grid_version : int, optional
        Build it on a grid (支部建在网格上): the grid's ``party_org_id`` is set to the new
        organisation when the grid has none; ``grid_version`` is the version read.

    Raises
    ------
    InputError
        Unknown kind, parent, community or grid; a kind not allowed under the parent.
    ConflictError
        The grid was changed since it was read.
    """
    kind = _kind(kind)
    with transaction(engine) as conn:
        if parent_id is not None:
            parent = _row(conn, "party_org", parent_id, "上级党组织")
            if community_id is None:
                community_id = parent["community_id"]
        if community_id is not None:
            _row(conn, "community", community_id, "社区")
        org = table("party_org")
        new_id = conn.execute(
            insert(org)
            .values(
                parent_id=parent_id,
                kind=kind,
                name=_clean_name(name),
                community_id=community_id,
                grid_id=grid_id,
            )
            .returning(org.c.id)
        ).scalar_one()
        if grid_id is not None:
            grid = _row(conn, "grid", grid_id, "网格")
            if kind not in GRID_ORG_KINDS:
                raise InputError(
                    f"{KIND_LABELS[kind][0]}不能建在网格上 / a {kind} cannot be a grid's own org"
                )
            if grid["party_org_id"] is None:
                if grid_version is None:
                    raise InputError("需要网格的版本号 / the grid's version is needed")
                _bump_grid(conn, grid_id, grid_version, party_org_id=new_id)
        _assert_tree(conn)
    log.info("created party_org %s (%s)", new_id, kind)
    return int(new_id)


def _kind(kind: str | OrgKind) -> str:
    value = str(getattr(kind, "value", kind))
    if value not in KIND_LABELS:
        raise InputError(f"未知的党组织类型 / unknown organisation kind {value!r}")
    return value


@audited("org_rename", "party_org", "org_id", "edit_organisation", {"org_id": "party_org"})
def rename_org(engine: Engine, org_id: int, name: str) -> None:
    """Rename an organisation."""
    with transaction(engine) as conn:
        _row(conn, "party_org", org_id, "党组织")
        org = table("party_org")
        conn.execute(update(org).where(org.c.id == int(org_id)).values(name=_clean_name(name)))


@audited("org_change_kind", "party_org", "org_id", "edit_organisation", {"org_id": "party_org"})
def change_org_kind(engine: Engine, org_id: int, kind: str | OrgKind) -> None:
    """Change an organisation's form (e.g. upgrade a branch to a general branch, 升格).

    Raises
    ------
    ConflictError
        When the new kind does not fit under its parent or over its children, or members'
        relations could no longer sit in it.
    """
    kind = _kind(kind)
    with transaction(engine) as conn:
        _row(conn, "party_org", org_id, "党组织")
        org = table("party_org")
        conn.execute(update(org).where(org.c.id == int(org_id)).values(kind=kind))
        _assert_tree(conn)


def _subtree(conn: Connection, org_id: int) -> set[int]:
    org = table("party_org")
    rows = conn.execute(select(org.c.id, org.c.parent_id)).all()
    children: dict[int, list[int]] = {}
    for oid, pid in rows:
        if pid is not None:
            children.setdefault(int(pid), []).append(int(oid))
    seen, todo = set(), [int(org_id)]
    while todo:
        oid = todo.pop()
        if oid not in seen:
            seen.add(oid)
            todo.extend(children.get(oid, []))
    return seen


@audited(
    "org_move",
    "party_org",
    "org_id",
    "edit_organisation",
    {"org_id": "party_org", "new_parent_id": "party_org"},
)
def move_org(engine: Engine, org_id: int, new_parent_id: int | None) -> None:
    """Move an organisation (with everything under it) to another parent.

    When the new parent belongs to a community the moved subtree takes that community.

    Raises
    ------
    InputError
        Unknown organisation or parent.
    ConflictError
        The move would make a cycle (the new parent lies under the organisation), or put a kind
        under a parent it may not have, or move a grid's organisation out of its community.
    """
    with transaction(engine) as conn:
        _row(conn, "party_org", org_id, "党组织")
        org = table("party_org")
        community = None
        if new_parent_id is not None:
            parent = _row(conn, "party_org", new_parent_id, "上级党组织")
            if int(new_parent_id) in _subtree(conn, org_id):
                raise ConflictError(
                    f"不能把党组织 {org_id} 移到它自己或其下级 {new_parent_id} 之下 / moving "
                    f"org {org_id} under {new_parent_id} would make a cycle"
                )
            community = parent["community_id"]
        conn.execute(update(org).where(org.c.id == int(org_id)).values(parent_id=new_parent_id))
        if community is not None:
            conn.execute(
                update(org)
                .where(org.c.id.in_(_subtree(conn, org_id)))
                .values(community_id=community)
            )
        _assert_tree(conn)


@audited(
    "org_dissolve",
    "party_org",
    "org_id",
    "edit_organisation",
    {"org_id": "party_org", "transfer_to": "party_org"},
)
def dissolve_org(engine: Engine, org_id: int, transfer_to: int | None = None) -> dict[str, int]:
    """Dissolve an organisation (撤销), handing what it holds to ``transfer_to``.

    Its sub-organisations, members' relations and buildings move to ``transfer_to``; grids
    whose organisation it was move to ``transfer_to`` when that can be a grid's organisation
    (:data:`GRID_ORG_KINDS`), else they are left without one (the coverage check then reports
    them). Nothing is left pointing at the dissolved organisation.

    Returns
    -------
    dict
        How many ``orgs``, ``members``, ``buildings`` and ``grids`` were handed over.

    Raises
    ------
    ConflictError
        When it still holds anything and no ``transfer_to`` is given, when ``transfer_to`` is
        the organisation itself or lies under it, or when the result breaks the tree rules.
    """
    org, member, bld, grid = (table(n) for n in ("party_org", "member", "building", "grid"))
    with transaction(engine) as conn:
        this = _row(conn, "party_org", org_id, "党组织")
        oid = int(org_id)
        held = {
            "orgs": conn.execute(select(func.count()).where(org.c.parent_id == oid)).scalar_one(),
            "members": conn.execute(
                select(func.count()).where(member.c.party_org_id == oid)
            ).scalar_one(),
            "buildings": conn.execute(
                select(func.count()).where(bld.c.party_org_id == oid)
            ).scalar_one(),
        }
        grid_rows = conn.execute(
            select(grid.c.id, grid.c.version).where(grid.c.party_org_id == oid)
        ).all()
        held["grids"] = len(grid_rows)
        target = None
        if transfer_to is not None:
            target = _row(conn, "party_org", transfer_to, "接收组织")
            if int(transfer_to) in _subtree(conn, oid):
                raise ConflictError(
                    f"接收组织 {transfer_to} 不能是被撤销的组织或其下级 / the receiving org "
                    "cannot be the dissolved one or lie under it"
                )
        elif any(held.values()):
            raise ConflictError(
                f"党组织「{this['name']}」仍有 {held['orgs']} 个下级组织、"
                f"{held['members']} 名党员、"
                f"{held['buildings']} 栋楼栋、{held['grids']} 个网格,请指定接收组织 / the "
                f"organisation still holds {held['orgs']} organisations, {held['members']} "
                f"members, {held['buildings']} buildings and {held['grids']} grids: name an "
                "organisation to receive them"
            )
        if target is not None:
            to = int(transfer_to)  # type: ignore[arg-type]
            conn.execute(update(org).where(org.c.parent_id == oid).values(parent_id=to))
            conn.execute(update(member).where(member.c.party_org_id == oid).values(party_org_id=to))
            conn.execute(update(bld).where(bld.c.party_org_id == oid).values(party_org_id=to))
        grid_org = int(transfer_to) if target and target["kind"] in GRID_ORG_KINDS else None
        for gid, version in grid_rows:
            _bump_grid(conn, gid, version, party_org_id=grid_org)
        conn.execute(delete(org).where(org.c.id == oid))
        _assert_tree(conn)
    return held


# --- people and leaders -----------------------------------------------------------------------


def _clean_phone(phone: str | None) -> str | None:
    if phone is None or phone != phone or str(phone).strip() == "":
        return None
    text = str(phone).strip().replace(" ", "").replace("-", "")
    if text.endswith(".0"):  # a spreadsheet number
        text = text[:-2]
    if not text.isdigit() or not 7 <= len(text) <= 20:
        raise InputError(f"电话号码格式不对 / phone {phone!r} must be 7–20 digits")
    return text


def _clean_suffix(suffix: str | None) -> str | None:
    if suffix is None or suffix != suffix or str(suffix).strip() == "":
        return None
    text = str(suffix).strip().upper()
    if text.endswith(".0"):
        text = text[:-2]
    if len(text) > 6 or not all(ch.isdigit() or ch == "X" for ch in text):
        raise InputError(f"身份证后几位格式不对 / ID suffix {suffix!r}: up to 6 digits or X")
    return text


def _person_values(name: str, phone: str | None, id_suffix: str | None) -> dict[str, Any]:
    return {
        "name": _clean_name(name, "姓名", 50),
        "phone": _clean_phone(phone),
        "id_suffix": _clean_suffix(id_suffix),
        "roles": "",
    }


@audited("person_add", "person", permission="edit_organisation")
def add_person(
    engine: Engine, name: str, phone: str | None = None, id_suffix: str | None = None
) -> int:
    """Store a person's personal data once and return the person's id."""
    values = _person_values(name, phone, id_suffix)
    person = table("person")
    with transaction(engine) as conn:
        return int(
            conn.execute(insert(person).values(**values).returning(person.c.id)).scalar_one()
        )


@audited("person_edit", "person", "person_id", "edit_organisation", {"person_id": "person"})
def edit_person(
    engine: Engine,
    person_id: int,
    name: str | None = None,
    phone: str | None = None,
    id_suffix: str | None = None,
) -> None:
    """Change a person's name, phone or ID suffix (arguments left None stay as they are)."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _clean_name(name, "姓名", 50)
    if phone is not None:
        values["phone"] = _clean_phone(phone)
    if id_suffix is not None:
        values["id_suffix"] = _clean_suffix(id_suffix)
    person = table("person")
    with transaction(engine) as conn:
        _row(conn, "person", person_id, "人员")
        if values:
            conn.execute(update(person).where(person.c.id == int(person_id)).values(**values))


@audited(
    "grid_set_leader",
    "grid",
    "grid_id",
    "edit_organisation",
    {"grid_id": "grid", "person_id": "person"},
)
def set_grid_leader(engine: Engine, grid_id: int, person_id: int | None, version: int) -> int:
    """Make a person the grid leader (网格长), or none; return the grid's new version."""
    with transaction(engine) as conn:
        old = _row(conn, "grid", grid_id, "网格")["leader_id"]
        if person_id is not None:
            _row(conn, "person", person_id, "人员")
        new_version = _bump_grid(conn, grid_id, version, leader_id=person_id)
        _sync_roles(conn, [old, person_id])
    return new_version


@audited(
    "grid_add_worker",
    "grid",
    "grid_id",
    "edit_organisation",
    {"grid_id": "grid", "person_id": "person"},
)
def add_grid_worker(
    engine: Engine, grid_id: int, person_id: int, version: int, part_time: bool = False
) -> int:
    """Add a grid worker (网格员; ``part_time`` for a part-time member 兼职网格员), or change
    an existing one's part-time flag; return the grid's new version."""
    worker = table("grid_worker")
    with transaction(engine) as conn:
        _row(conn, "person", person_id, "人员")
        new_version = _bump_grid(conn, grid_id, version)
        done = conn.execute(
            update(worker)
            .where(worker.c.grid_id == int(grid_id), worker.c.person_id == int(person_id))
            .values(part_time=bool(part_time))
        ).rowcount
        if not done:
            conn.execute(
                insert(worker).values(
                    grid_id=int(grid_id), person_id=int(person_id), part_time=bool(part_time)
                )
            )
        _sync_roles(conn, [person_id])
    return new_version


@audited(
    "grid_remove_worker",
    "grid",
    "grid_id",
    "edit_organisation",
    {"grid_id": "grid", "person_id": "person"},
)
def remove_grid_worker(engine: Engine, grid_id: int, person_id: int, version: int) -> int:
    """Take a grid worker off a grid; return the grid's new version."""
    worker = table("grid_worker")
    with transaction(engine) as conn:
        new_version = _bump_grid(conn, grid_id, version)
        gone = conn.execute(
            delete(worker).where(
                worker.c.grid_id == int(grid_id), worker.c.person_id == int(person_id)
            )
        ).rowcount
        if not gone:
            raise InputError(f"人员 {person_id} 不是网格 {grid_id} 的网格员 / not a worker of it")
        _sync_roles(conn, [person_id])
    return new_version


@audited(
    "building_set_leader",
    "building",
    "building_id",
    "edit_organisation",
    {"building_id": "building", "person_id": "person"},
)
def set_building_leader(engine: Engine, building_id: int, person_id: int | None) -> None:
    """Make a person the building leader (楼栋长) of a building, or none."""
    bld = table("building")
    with transaction(engine) as conn:
        old = _row(conn, "building", building_id, "楼栋")["leader_id"]
        if person_id is not None:
            _row(conn, "person", person_id, "人员")
        conn.execute(update(bld).where(bld.c.id == int(building_id)).values(leader_id=person_id))
        _sync_roles(conn, [old, person_id])


@audited(
    "person_stairwell_leader", "person", "person_id", "edit_organisation", {"person_id": "person"}
)
def set_stairwell_leader(engine: Engine, person_id: int, on: bool = True) -> None:
    """Give or take the stairwell-leader role (单元长).

    The schema has no stairwell table: the role is kept on the person, and the building is
    the one the person lives in as a member (if they are one).
    """
    person = table("person")
    with transaction(engine) as conn:
        roles = _split(_row(conn, "person", person_id, "人员")["roles"])
        roles = [r for r in roles if r != PersonRole.stairwell_leader.value]
        if on:
            roles.append(PersonRole.stairwell_leader.value)
        conn.execute(
            update(person).where(person.c.id == int(person_id)).values(roles=",".join(roles))
        )


# --- members ----------------------------------------------------------------------------------


def _category(value: str | MemberCategory) -> str:
    text = str(getattr(value, "value", value)).strip()
    if text in CATEGORY_LABELS:
        return text
    for code, (zh, en) in CATEGORY_LABELS.items():
        if text in (zh, en, zh.split("(")[0]) or text.lower() == en.lower():
            return code
    raise InputError(
        f"未知的党员类别 / unknown member category {text!r}; one of "
        + "、".join(v[0] for v in CATEGORY_LABELS.values())
    )


def _specialties(value: str | Iterable[str] | None) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    items = (
        _split(value.replace("、", ","))
        if isinstance(value, str)
        else [str(v).strip() for v in value]
    )
    items = list(dict.fromkeys(i for i in items if i))
    text = ",".join(items)
    if len(text) > 200:
        raise InputError("志愿服务特长过长(最多 200 字) / specialties too long (200 characters)")
    return text or None


def _member_values(
    conn: Connection,
    values: dict[str, Any],
    known: Mapping[str, Mapping[int, dict]] | None = None,
) -> dict[str, Any]:
    """Check and normalise a member's fields (after merging edits into the stored row).

    ``known`` maps ``"party_org"`` and ``"building"`` to their rows already read, so a bulk
    import checks thousands of rows without a query per row.
    """
    known = known or {}
    out = dict(values)
    out["category"] = _category(out["category"])
    org = _row(conn, "party_org", out.get("party_org_id"), "党组织", known.get("party_org"))
    if org["kind"] not in MEMBER_ORG_KINDS:
        raise InputError(
            f"党员组织关系不能放在{KIND_LABELS[org['kind']][0]}「{org['name']}」/ a member's "
            f"relation cannot sit in a {org['kind']}"
        )
    if out.get("building_id") is not None:
        _row(conn, "building", out["building_id"], "楼栋", known.get("building"))
    for key in ("joined_on", "registered_on", "last_contact_on"):
        out[key] = _date(out.get(key), key)
    if out["category"] == MemberCategory.in_service.value:
        if not (out.get("work_unit") or "").strip():
            raise InputError("在职党员(双报到)需填写工作单位 / in-service members need a work unit")
        if out.get("registered_on") is None:
            raise InputError("在职党员(双报到)需填写报到日期 / in-service members need a date")
        out["work_unit"] = out["work_unit"].strip()[:100]
    joined = out.get("joined_on")
    for key in ("registered_on", "last_contact_on"):
        if joined is not None and out.get(key) is not None and out[key] < joined:
            raise InputError(f"{key} 早于入党日期 / {key} is before joining the Party")
    out["specialties"] = _specialties(out.get("specialties"))
    status = out.get("status") or "active"
    if out["category"] == MemberCategory.lost_contact.value:
        status = "lost_contact"
    elif status == "lost_contact":
        status = "active"
    if status not in MEMBER_STATUSES:
        raise InputError(f"未知的党员状态 / unknown member status {status!r}")
    out["status"] = status
    return out


def _date(value: Any, field: str) -> dt.date | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return pd.Timestamp(text.replace("/", "-").replace(".", "-")).date()
    except (ValueError, TypeError):
        raise InputError(f"{field} 不是日期 / {field} {value!r} is not a date") from None


_MEMBER_FIELDS = (
    "party_org_id", "category", "building_id", "joined_on", "registered_on", "work_unit",
    "status", "specialties", "last_contact_on",
)  # fmt: skip


@audited(
    "member_add",
    "member",
    permission="edit_organisation",
    scope={"person_id": "person", "party_org_id": "party_org", "building_id": "building"},
    require_scope=True,
)
def add_member(
    engine: Engine,
    person_id: int,
    party_org_id: int,
    category: str | MemberCategory,
    **fields: Any,
) -> int:
    """Add a Party member and return the member id.

    Parameters
    ----------
    person_id : int
        The person (:func:`add_person`); one member row per person.
    party_org_id : int
        Where the relation sits (:data:`MEMBER_ORG_KINDS`).
    category : MemberCategory or its value / Chinese label
    **fields
        ``building_id, joined_on, registered_on, work_unit, status, specialties`` (a list or
        comma-separated text), ``last_contact_on``. In-service members (双报到) need
        ``work_unit`` and ``registered_on``.
    """
    unknown = set(fields) - set(_MEMBER_FIELDS)
    if unknown:
        raise InputError(f"未知的党员字段 / unknown member field(s) {sorted(unknown)}")
    member = table("member")
    with transaction(engine) as conn:
        _row(conn, "person", person_id, "人员")
        if conn.execute(select(member.c.id).where(member.c.person_id == int(person_id))).first():
            raise ConflictError(
                f"人员 {person_id} 已是党员 / person {person_id} is a member already"
            )
        values = _member_values(
            conn, {"party_org_id": party_org_id, "category": category, **fields}
        )
        return int(
            conn.execute(
                insert(member).values(person_id=int(person_id), **values).returning(member.c.id)
            ).scalar_one()
        )


@audited(
    "member_add_new",
    "member",
    permission="edit_organisation",
    scope={"party_org_id": "party_org", "building_id": "building"},
    require_scope=True,
)
def add_new_member(
    engine: Engine,
    name: str,
    party_org_id: int,
    category: str | MemberCategory,
    phone: str | None = None,
    id_suffix: str | None = None,
    **fields: Any,
) -> tuple[int, int]:
    """Add a person and make them a member in one transaction; return (person id, member id).

    Fields as for :func:`add_member`; a bad field leaves neither the person nor the member.
    """
    unknown = set(fields) - set(_MEMBER_FIELDS)
    if unknown:
        raise InputError(f"未知的党员字段 / unknown member field(s) {sorted(unknown)}")
    person, member = table("person"), table("member")
    person_values = _person_values(name, phone, id_suffix)
    with transaction(engine) as conn:
        values = _member_values(
            conn, {"party_org_id": party_org_id, "category": category, **fields}
        )
        pid = conn.execute(
            insert(person).values(**person_values).returning(person.c.id)
        ).scalar_one()
        mid = conn.execute(
            insert(member).values(person_id=int(pid), **values).returning(member.c.id)
        ).scalar_one()
    return int(pid), int(mid)


@audited(
    "member_edit",
    "member",
    "member_id",
    "edit_organisation",
    {"member_id": "member", "party_org_id": "party_org", "building_id": "building"},
)
def edit_member(engine: Engine, member_id: int, **changes: Any) -> None:
    """Change a member's fields (those of :func:`add_member`, plus ``party_org_id``)."""
    unknown = set(changes) - set(_MEMBER_FIELDS)
    if unknown:
        raise InputError(f"未知的党员字段 / unknown member field(s) {sorted(unknown)}")
    member = table("member")
    with transaction(engine) as conn:
        row = _row(conn, "member", member_id, "党员")
        merged = {k: row[k] for k in _MEMBER_FIELDS} | changes
        values = _member_values(conn, merged)
        conn.execute(update(member).where(member.c.id == int(member_id)).values(**values))
        _assert_tree(conn)


@audited(
    "member_move",
    "member",
    permission="edit_organisation",
    scope={"member_ids": "member", "to_org_id": "party_org"},
)
def move_members(engine: Engine, member_ids: Iterable[int], to_org_id: int) -> int:
    """Move members' relations to another organisation (组织关系转接); return how many."""
    ids = sorted({int(i) for i in member_ids})
    member = table("member")
    with transaction(engine) as conn:
        org = _row(conn, "party_org", to_org_id, "接收组织")
        if org["kind"] not in MEMBER_ORG_KINDS:
            raise InputError(
                f"党员组织关系不能放在{KIND_LABELS[org['kind']][0]} / relations cannot sit in a "
                f"{org['kind']}"
            )
        found = set(conn.execute(select(member.c.id).where(member.c.id.in_(ids))).scalars())
        missing = sorted(set(ids) - found)
        if missing:
            raise InputError(f"党员 {missing} 不存在 / member(s) {missing} do not exist")
        conn.execute(update(member).where(member.c.id.in_(ids)).values(party_org_id=int(to_org_id)))
        _assert_tree(conn)
    return len(ids)


def register_in_service(
    engine: Engine, member_id: int, work_unit: str, registered_on: dt.date | str
) -> None:
    """Record an in-service member's 双报到: the work unit and the date they registered here."""
    edit_member(
        engine,
        member_id,
        category=MemberCategory.in_service.value,
        work_unit=work_unit,
        registered_on=registered_on,
    )


@audited(
    "member_zone",
    "member",
    "member_id",
    "edit_organisation",
    {"member_id": "member", "building_ids": "building"},
)
def set_member_zone(engine: Engine, member_id: int, building_ids: Iterable[int]) -> int:
    """Set a member's responsibility zone (党员责任区) to exactly these buildings; return count."""
    ids = sorted({int(b) for b in building_ids})
    zone, bld = table("member_zone"), table("building")
    with transaction(engine) as conn:
        row = _row(conn, "member", member_id, "党员")
        found = set(conn.execute(select(bld.c.id).where(bld.c.id.in_(ids))).scalars())
        missing = sorted(set(ids) - found)
        if missing:
            raise InputError(f"楼栋 {missing} 不存在 / building(s) {missing} do not exist")
        if ids and row["status"] != "active":
            raise InputError(
                f"党员 {member_id} 状态为 {row['status']},不能划定责任区 / only active members "
                "look after a zone"
            )
        conn.execute(delete(zone).where(zone.c.member_id == int(member_id)))
        if ids:
            conn.execute(
                insert(zone), [{"member_id": int(member_id), "building_id": b} for b in ids]
            )
    return len(ids)


# --- points -----------------------------------------------------------------------------------


def points_for_entry(
    kind: str | PointKind,
    earned_this_year: int,
    points: int | None = None,
) -> int:
    """Points one new entry is worth under the rules of :mod:`gridmap.settings`.

    Parameters
    ----------
    kind : PointKind or its value
    earned_this_year : int
        Points of this kind the member already has in the entry's calendar year.
    points : int, optional
        Only for ``"other"``: the adjustment, non-zero and at most
        ``MEMBER_POINTS_MAX_ADJUSTMENT`` either way.

    Returns
    -------
    int
        ``MEMBER_POINTS[kind]`` (or ``points``), cut so the year's total stays within
        ``MEMBER_POINTS_YEAR_CAP[kind]``; 0 when the cap is reached. Deductions are not cut.

    Examples
    --------
    >>> points_for_entry("study", 0), points_for_entry("study", 23), points_for_entry("study", 24)
    (2, 1, 0)
    """
    kind = str(getattr(kind, "value", kind))
    if kind not in settings.MEMBER_POINTS:
        raise InputError(f"未知的积分类型 / unknown point kind {kind!r}")
    if kind == PointKind.other.value:
        limit = settings.MEMBER_POINTS_MAX_ADJUSTMENT
        if points is None or points == 0 or abs(int(points)) > limit:
            raise InputError(f"其他积分需为 ±1–{limit} 分 / other points must be ±1–{limit}")
        value = int(points)
    else:
        if points is not None:
            raise InputError(f"{kind} 积分按规则计算,不能指定 / {kind} points follow the rules")
        value = settings.MEMBER_POINTS[kind]
    if value <= 0:
        return value
    room = settings.MEMBER_POINTS_YEAR_CAP[kind] - int(earned_this_year)
    return max(0, min(value, room))


@audited(
    "member_points", "member_point", permission="edit_organisation", scope={"member_id": "member"}
)
def award_points(
    engine: Engine,
    member_id: int,
    kind: str | PointKind,
    at: dt.datetime,
    points: int | None = None,
    request_id: int | None = None,
    note: str | None = None,
) -> int:
    """Record one points entry under the rules and return the points it carried.

    Rules (settings): ``MEMBER_POINTS`` per kind, ``MEMBER_POINTS_YEAR_CAP`` per kind and
    calendar year; dues at most once a calendar month; request points need a resolved or
    evaluated request, once per member and request.

    Raises
    ------
    InputError
        Unknown member or request, a bad kind or amount.
    ConflictError
        The year's cap is reached, dues already recorded that month, the request already
        counted or not yet handled.
    """
    kind = str(getattr(kind, "value", kind))
    pts = table("member_point")
    with transaction(engine) as conn:
        _row(conn, "member", member_id, "党员")
        mine = pts.c.member_id == int(member_id)
        if kind == PointKind.request.value:
            req = _row(conn, "request", request_id, "诉求")
            if req["status"] not in ("resolved", "evaluated"):
                raise ConflictError(f"诉求 {req['code']} 尚未办结 / request not resolved yet")
            if conn.execute(
                select(pts.c.id).where(mine, pts.c.request_id == int(request_id))
            ).first():  # type: ignore[arg-type]
                raise ConflictError(f"诉求 {req['code']} 已计分 / request already counted")
        elif request_id is not None:
            raise InputError("只有办理诉求积分可关联诉求 / only request points name a request")
        year = dt.datetime(at.year, 1, 1)
        same = conn.execute(
            select(pts.c.at, pts.c.points).where(
                mine,
                pts.c.kind == kind,
                pts.c.at >= year,
                pts.c.at < year.replace(year=at.year + 1),
            )
        ).all()
        if kind == PointKind.dues.value and any(
            (t.year, t.month) == (at.year, at.month) for t, _ in same
        ):
            raise ConflictError(f"{at:%Y年%m月} 党费已计分 / dues already counted for {at:%Y-%m}")
        earned = sum(max(0, p) for _, p in same)
        value = points_for_entry(kind, earned, points)
        if value == 0:
            raise ConflictError(
                f"{POINT_LABELS[kind][0]}积分本年度已达上限 "
                f"{settings.MEMBER_POINTS_YEAR_CAP[kind]} 分 / the {at.year} cap for {kind} "
                "points is reached"
            )
        conn.execute(
            insert(pts).values(
                member_id=int(member_id),
                at=at,
                kind=kind,
                points=value,
                request_id=request_id,
                note=note,
            )
        )
    return value


def points_summary(points: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Points per member and kind (columns ``study … other``, ``total``), optionally one year.

    Parameters
    ----------
    points : DataFrame
        ``member_point`` rows (``member_id, at, kind, points``).
    year : int, optional
        Only entries of this calendar year.
    """
    kinds = list(settings.MEMBER_POINTS)
    frame = points
    if year is not None and not frame.empty:
        frame = frame[pd.to_datetime(frame["at"]).dt.year == year]
    if frame.empty:
        return pd.DataFrame(columns=["member_id", *kinds, "total"]).astype(int)
    table_ = frame.pivot_table(
        index="member_id", columns="kind", values="points", aggfunc="sum", fill_value=0
    ).reindex(columns=kinds, fill_value=0)
    table_["total"] = table_.sum(axis=1)
    return table_.astype(int).reset_index().rename_axis(columns=None)


# --- bulk import ------------------------------------------------------------------------------

#: Spreadsheet headers recognised for each member field (first match wins).
MEMBER_FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "phone": ("手机", "手机号", "电话", "联系电话", "phone"),
    "id_suffix": ("身份证后四位", "身份证后几位", "id_suffix"),
    "category": ("党员类别", "类别", "category"),
    "party_org": ("党组织", "所在党组织", "党支部", "party_org"),
    "building_code": ("楼栋编码", "building_code"),
    "address": ("地址", "住址", "居住地址", "address"),
    "joined_on": ("入党日期", "入党时间", "joined_on"),
    "registered_on": ("报到日期", "双报到日期", "registered_on"),
    "work_unit": ("工作单位", "work_unit"),
    "specialties": ("志愿服务特长", "特长", "specialties"),
    "last_contact_on": ("最后联系日期", "last_contact_on"),
}
_REQUIRED = ("name", "category", "party_org")


def read_member_file(source: str | Path | bytes, filename: str | None = None) -> pd.DataFrame:
    """Read a members spreadsheet (CSV in UTF-8 or GBK, or XLSX) into standard columns.

    Returns
    -------
    DataFrame
        Columns named as the keys of :data:`MEMBER_FILE_COLUMNS` (those present), all text,
        and ``row``: the spreadsheet row number (header = row 1).

    Raises
    ------
    InputError
        Unreadable file, or a required column (姓名, 党员类别, 党组织, and 楼栋编码 or 地址)
        missing.
    """
    name = filename or (str(source) if not isinstance(source, bytes) else "members.csv")
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise InputError(f"{name}: 文件过大 / file too large")
    if name.lower().endswith((".xlsx", ".xlsm")):
        try:
            raw = pd.read_excel(io.BytesIO(data), dtype=str)
        except Exception as exc:  # openpyxl raises many kinds
            raise InputError(
                f"{name}: 无法读取 Excel 文件 / cannot read the workbook: {exc}"
            ) from exc
    else:
        raw = None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                raw = pd.read_csv(io.BytesIO(data), dtype=str, encoding=encoding)
                break
            except UnicodeDecodeError:
                continue
            except pd.errors.ParserError as exc:
                raise InputError(f"{name}: CSV 格式错误 / malformed CSV: {exc}") from exc
        if raw is None:
            raise InputError(f"{name}: 编码既不是 UTF-8 也不是 GBK / neither UTF-8 nor GBK")
    headers = {str(c).strip(): c for c in raw.columns}
    out = pd.DataFrame(index=raw.index)
    for field, names in MEMBER_FILE_COLUMNS.items():
        for header in names:
            if header in headers:
                out[field] = raw[headers[header]].map(
                    lambda v: (
                        None if v is None or v != v or str(v).strip() == "" else str(v).strip()
                    )
                )
                break
    missing = [MEMBER_FILE_COLUMNS[f][0] for f in _REQUIRED if f not in out]
    if "building_code" not in out and "address" not in out:
        missing.append("楼栋编码 或 地址")
    if missing:
        raise InputError(f"{name}: 缺少列 / missing column(s): {'、'.join(missing)}")
    out["row"] = np.arange(2, len(out) + 2)
    return out.reset_index(drop=True)


def _normal(text: str) -> str:
    return "".join(str(text).split()).replace("号楼", "栋").replace("幢", "栋")


@audited("member_import", "member", permission="import")
def import_members(engine: Engine, rows: pd.DataFrame, filename: str = "members") -> dict[str, int]:
    """Import members read by :func:`read_member_file`: all rows, or none.

    Each row names an organisation (by name), a category (Chinese label or code) and a building
    (by code, else by address: the building's name, optionally after the community's name). A
    person with the same name and phone already stored is reused (e.g. a building leader).

    Returns
    -------
    dict
        ``members`` and ``persons`` added.

    Raises
    ------
    InputError
        Naming every bad row and field (up to ``IMPORT_MAX_ISSUES_SHOWN``); nothing is written.
    """
    errors: list[str] = []
    with transaction(engine) as conn:
        orgs = read_table(conn, "party_org")
        buildings = read_table(conn, "building")
        communities = read_table(conn, "community")
        persons = read_table(conn, "person")
        members = read_table(conn, "member")
        org_by_name = orgs.groupby("name")["id"].apply(list).to_dict()
        by_code = dict(zip(buildings["code"], buildings["id"], strict=True))
        cname = buildings["community_id"].map(communities.set_index("id")["name"]).fillna("")
        address_ids: dict[str, list[int]] = {}
        for bid, bname, com in zip(buildings["id"], buildings["name"], cname, strict=True):
            for key in {_normal(bname), _normal(com + bname)}:
                address_ids.setdefault(key, []).append(int(bid))
        existing = {
            (n, p): int(i)
            for i, n, p in zip(persons["id"], persons["name"], persons["phone"], strict=True)
            if p is not None
        }
        member_people = set(members["person_id"].astype(int))
        known = {
            "party_org": {int(r["id"]): r for r in orgs.to_dict("records")},
            "building": {int(i): {"id": int(i)} for i in buildings["id"]},
        }
        seen: set[tuple[str, str | None]] = set()
        prepared: list[tuple[dict, dict]] = []
        for rec in rows.to_dict("records"):
            where = f"{filename} 第 {rec['row']} 行"
            try:
                person = {
                    "name": _clean_name(rec.get("name") or "", "姓名", 50),
                    "phone": _clean_phone(rec.get("phone")),
                    "id_suffix": _clean_suffix(rec.get("id_suffix")),
                }
            except InputError as exc:
                errors.append(f"{where} 姓名/手机/身份证: {exc}")
                continue
            key = (person["name"], person["phone"])
            if person["phone"] is not None and key in seen:
                errors.append(f"{where} 姓名: 与前面的行重复 / duplicate of an earlier row")
                continue
            seen.add(key)
            pid = existing.get(key)
            if pid is not None and pid in member_people:
                errors.append(
                    f"{where} 姓名: {mask_name(person['name'])} 已是党员 / already a member"
                )
                continue
            org_ids = org_by_name.get((rec.get("party_org") or "").strip(), [])
            if len(org_ids) != 1:
                why = "不存在 / unknown" if not org_ids else "重名 / ambiguous"
                errors.append(f"{where} 党组织: 「{rec.get('party_org')}」{why}")
                continue
            building = None
            if rec.get("building_code"):
                building = by_code.get(rec["building_code"])
                if building is None:
                    errors.append(f"{where} 楼栋编码: 「{rec['building_code']}」不存在 / unknown")
                    continue
            elif rec.get("address"):
                found = address_ids.get(_normal(rec["address"]), [])
                if len(found) != 1:
                    why = "找不到楼栋 / no building" if not found else "对应多栋楼 / ambiguous"
                    errors.append(f"{where} 地址: 「{rec['address']}」{why}")
                    continue
                building = found[0]
            values = {
                "party_org_id": org_ids[0],
                "category": rec.get("category") or "",
                "building_id": None if building is None else int(building),
                **{k: rec.get(k) for k in ("joined_on", "registered_on", "work_unit",
                                            "specialties", "last_contact_on")},
            }  # fmt: skip
            try:
                values = _member_values(conn, values, known)
            except InputError as exc:
                errors.append(f"{where}: {exc}")
                continue
            prepared.append(({**person, "id": pid}, values))
        if errors:
            shown = errors[: settings.IMPORT_MAX_ISSUES_SHOWN]
            more = len(errors) - len(shown)
            raise InputError(
                f"{len(errors)} 行有错误,未导入任何党员 / {len(errors)} bad rows, nothing "
                "imported:\n" + "\n".join(shown) + (f"\n… 另有 {more} 行" if more else "")
            )
        person_t, member_t = table("person"), table("member")
        new_people = [{**p, "roles": ""} for p, _ in prepared if p["id"] is None]
        for person in new_people:
            del person["id"]
        new_ids = iter(())
        if new_people:  # one executemany, ids back in the rows' order
            new_ids = iter(
                conn.execute(
                    insert(person_t).returning(person_t.c.id, sort_by_parameter_order=True),
                    new_people,
                )
                .scalars()
                .all()
            )
        rows_out = [
            {"person_id": int(p["id"] if p["id"] is not None else next(new_ids)), **values}
            for p, values in prepared
        ]
        if rows_out:
            conn.execute(insert(member_t), rows_out)
        _assert_tree(conn)
    return {"members": len(prepared), "persons": len(new_people)}


def grid_versions(engine: Engine | Connection) -> Mapping[int, int]:
    """The current version of every grid (what an edit form reads before it writes)."""
    grid = table("grid")
    with connect(engine) as conn:
        return {int(i): int(v) for i, v in conn.execute(select(grid.c.id, grid.c.version))}


# --- whole-street reads for the CLI and the page ----------------------------------------------


def street_advice(engine: Engine | Connection):
    """:func:`gridmap.orgform.organisation_advice` of the street in a database."""
    from gridmap.orgform import organisation_advice
    from gridmap.repository import active_grids

    with connect(engine) as conn:
        communities = read_table(conn, "community")
        grids = active_grids(conn)
        buildings = read_table(conn, "building").drop(columns="geom")
        orgs = read_table(conn, "party_org")
        members = read_table(conn, "member")
    return organisation_advice(communities, grids, buildings, orgs, members)


def street_lost_contact(
    engine: Engine | Connection, today: dt.date, personal_data: bool = False
) -> pd.DataFrame:
    """:func:`gridmap.orgform.lost_contact_members` of the street (names masked by default)."""
    from gridmap.orgform import lost_contact_members

    data = load_organisation(engine, personal_data)
    communities = read_table(engine, "community")
    return lost_contact_members(data.members, communities, data.orgs, today)


def zone_buildings(
    buildings: pd.DataFrame, zones: pd.DataFrame, members: pd.DataFrame
) -> pd.DataFrame:
    """Buildings in someone's responsibility zone (党员责任区) with who looks after them.

    Parameters
    ----------
    buildings : (Geo)DataFrame
        ``id`` and whatever columns should travel along (geometry, name, code …).
    zones : DataFrame
        ``member_zone`` rows (``member_id, building_id``).
    members : DataFrame
        ``id`` and ``name`` (already masked as the user may see it).

    Returns
    -------
    (Geo)DataFrame
        The zoned buildings with ``zone_members`` (names joined by 、) and ``zone_count``.
    """
    if zones.empty:
        return buildings.iloc[0:0].assign(zone_members=pd.Series(dtype=object), zone_count=0)
    named = zones.assign(
        who=zones["member_id"].map(members.set_index("id")["name"]).fillna("?")
    ).sort_values(["building_id", "member_id"])
    grouped = named.groupby("building_id")
    text = grouped["who"].agg("、".join)
    count = grouped.size()
    out = buildings[buildings["id"].isin(text.index)].copy()
    out["zone_members"] = out["id"].map(text)
    out["zone_count"] = out["id"].map(count).astype(int)
    return out


def grid_staff(grids: pd.DataFrame, workers: pd.DataFrame, persons: pd.DataFrame) -> pd.Series:
    """Each grid's workers as text (part-time members marked 兼职), indexed like ``grids``."""
    if workers.empty:
        return pd.Series([""] * len(grids), index=grids.index, dtype=object)
    names = workers["person_id"].map(persons.set_index("id")["name"]).fillna("?")
    shown = names.where(~workers["part_time"].astype(bool), names + "(兼职)")
    text = shown.groupby(workers["grid_id"]).agg("、".join)
    return grids["id"].map(text).fillna("")
