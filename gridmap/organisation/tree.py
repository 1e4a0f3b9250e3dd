"""Edits of the organisation tree: create, rename, change the kind of, move and dissolve.

Each edit is one audited transaction that re-checks the whole tree
(:func:`~gridmap.organisation.reading.assert_tree`) before
it commits; building an organisation on a grid bumps the grid's version.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from gridmap.auth import audited
from gridmap.db import transaction
from gridmap.errors import ConflictError, InputError
from gridmap.models import OrgKind
from gridmap.organisation.checks import bump_grid, clean_name, fetch_row
from gridmap.organisation.kinds import GRID_ORG_KINDS, KIND_LABELS
from gridmap.organisation.reading import assert_tree
from gridmap.repository import table

__all__ = ["change_org_kind", "create_org", "dissolve_org", "move_org", "rename_org"]

log = logging.getLogger(__name__)


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
            parent = fetch_row(conn, "party_org", parent_id, "上级党组织")
            if community_id is None:
                community_id = parent["community_id"]
        if community_id is not None:
            fetch_row(conn, "community", community_id, "社区")
        org = table("party_org")
        new_id = conn.execute(
            insert(org)
            .values(
                parent_id=parent_id,
                kind=kind,
                name=clean_name(name),
                community_id=community_id,
                grid_id=grid_id,
            )
            .returning(org.c.id)
        ).scalar_one()
        if grid_id is not None:
            grid = fetch_row(conn, "grid", grid_id, "网格")
            if kind not in GRID_ORG_KINDS:
                raise InputError(
                    f"{KIND_LABELS[kind][0]}不能建在网格上 / a {kind} cannot be a grid's own org"
                )
            if grid["party_org_id"] is None:
                if grid_version is None:
                    raise InputError("需要网格的版本号 / the grid's version is needed")
                bump_grid(conn, grid_id, grid_version, party_org_id=new_id)
        assert_tree(conn)
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
        fetch_row(conn, "party_org", org_id, "党组织")
        org = table("party_org")
        conn.execute(update(org).where(org.c.id == int(org_id)).values(name=clean_name(name)))


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
        fetch_row(conn, "party_org", org_id, "党组织")
        org = table("party_org")
        conn.execute(update(org).where(org.c.id == int(org_id)).values(kind=kind))
        assert_tree(conn)


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
        fetch_row(conn, "party_org", org_id, "党组织")
        org = table("party_org")
        community = None
        if new_parent_id is not None:
            parent = fetch_row(conn, "party_org", new_parent_id, "上级党组织")
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
        assert_tree(conn)


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
        this = fetch_row(conn, "party_org", org_id, "党组织")
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
            target = fetch_row(conn, "party_org", transfer_to, "接收组织")
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
            bump_grid(conn, gid, version, party_org_id=grid_org)
        conn.execute(delete(org).where(org.c.id == oid))
        assert_tree(conn)
    return held
