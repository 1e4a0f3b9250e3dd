"""Reading the organisation side and checking the tree: load, mask, order, validate.

:func:`load_organisation` reads organisations, persons, members, grid workers, zones and points
(masked and scoped for the acting principal), :func:`org_tree` puts organisations in tree order
with member counts, :func:`check_tree` names everything wrong with a tree and
:func:`assert_tree` is that check inside an edit's transaction; :func:`grid_versions` gives the
grid versions an edit form passes back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from gridmap import settings
from gridmap.auth import (
    Principal,
    community_ids,
    current_principal,
    mask_name,
    mask_phone,
    scope_rows,
)
from gridmap.db import connect
from gridmap.errors import ConflictError
from gridmap.organisation.kinds import ALLOWED_PARENTS, KIND_LABELS, MEMBER_ORG_KINDS
from gridmap.repository import read_table, table

__all__ = [
    "OrgData",
    "assert_tree",
    "check_tree",
    "grid_versions",
    "load_organisation",
    "mask_persons",
    "org_tree",
]


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

    Pass ``personal_data=True`` only for a user whose role may see names, phones and ID
    suffixes (:attr:`gridmap.auth.Principal.personal_data`).
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


def assert_tree(conn: Connection) -> None:
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


def grid_versions(engine: Engine | Connection) -> Mapping[int, int]:
    """The current version of every grid (what an edit form reads before it writes)."""
    grid = table("grid")
    with connect(engine) as conn:
        return {int(i): int(v) for i, v in conn.execute(select(grid.c.id, grid.c.version))}
