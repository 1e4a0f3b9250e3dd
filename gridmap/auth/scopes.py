"""Scope: which communities, grids and rows a principal may see and change.

:func:`community_ids` and :func:`grid_ids` name what a principal's role and scope cover;
:func:`in_scope` and :func:`check_scope` test one entity (writes check the entity's community
before they change anything); :func:`scoped_community` finds a community by code inside the
scope (the CLI's ``--community``); :func:`scope_rows` and :func:`scope_layers` cut loaded tables
and street layers to the scope and mask them for the role
(:func:`~gridmap.auth.masking.mask_frame`); :func:`visible_users` cuts the list of accounts.
The loaders in :mod:`gridmap.repository`, :mod:`gridmap.requests`, :mod:`gridmap.organisation`
and :mod:`gridmap.io`, the pages and the CLI go through these: this module decides scope,
:mod:`~gridmap.auth.masking` masking.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select

from gridmap.auth.masking import mask_frame
from gridmap.auth.roles import Principal, resolve_principal
from gridmap.db import connect
from gridmap.errors import InputError, PermissionDenied
from gridmap.models import Base


def table(name: str):
    """The table ``name`` of the gridmap schema (:mod:`gridmap.models`)."""
    return Base.metadata.tables[name]


def community_ids(conn: Engine | Connection, principal: Principal | None) -> set[int] | None:
    """Ids of the communities ``principal`` may see; ``None`` means every community."""
    p = resolve_principal(principal)
    if p.community_id is not None:
        return {int(p.community_id)}
    if p.role in ("secretary", "grid_worker"):
        return set()  # a community role without a community sees nothing
    if p.street_id is None:
        return None
    com = table("community")
    with connect(conn) as c:
        return set(c.execute(select(com.c.id).where(com.c.street_id == p.street_id)).scalars())


def grid_ids(conn: Engine | Connection, principal: Principal | None) -> set[int] | None:
    """Ids of the grids ``principal`` may see (every plan's); ``None`` means every grid."""
    p = resolve_principal(principal)
    if p.role == "grid_worker":
        return {int(p.grid_id)} if p.grid_id is not None else set()
    cids = community_ids(conn, p)
    if cids is None:
        return None
    grid, plan = table("grid"), table("grid_plan")
    with connect(conn) as c:
        query = select(grid.c.id).join(plan, plan.c.id == grid.c.plan_id)
        return set(c.execute(query.where(plan.c.community_id.in_(sorted(cids)))).scalars())


def community_of(c: Connection, entity: str, entity_id: int) -> set[int | None]:
    """The communities an entity belongs to (a person may touch several)."""
    if entity == "community":
        return {int(entity_id)}
    if entity in ("building", "party_org", "service_station", "organisation"):
        tbl = table(entity)
        return {c.execute(select(tbl.c.community_id).where(tbl.c.id == entity_id)).scalar()}
    if entity in ("grid", "grid_plan"):
        grid, plan = table("grid"), table("grid_plan")
        if entity == "grid_plan":
            q = select(plan.c.community_id).where(plan.c.id == entity_id)
        else:
            q = select(plan.c.community_id).join(grid, grid.c.plan_id == plan.c.id)
            q = q.where(grid.c.id == entity_id)
        return {c.execute(q).scalar()}
    if entity == "request":
        req = table("request")
        gid = c.execute(select(req.c.grid_id).where(req.c.id == entity_id)).scalar()
        return community_of(c, "grid", gid) if gid is not None else {None}
    if entity == "member":
        mem = table("member")
        row = c.execute(
            select(mem.c.building_id, mem.c.party_org_id).where(mem.c.id == entity_id)
        ).first()
        if row is None:
            return {None}
        if row.building_id is not None:
            return community_of(c, "building", row.building_id)
        if row.party_org_id is not None:
            return community_of(c, "party_org", row.party_org_id)
        return {None}
    if entity == "person":
        mem, bld, grid, worker = (
            table("member"),
            table("building"),
            table("grid"),
            table("grid_worker"),
        )
        found: set[int | None] = set()
        for mid in c.execute(select(mem.c.id).where(mem.c.person_id == entity_id)).scalars():
            found |= community_of(c, "member", mid)
        for bid in c.execute(select(bld.c.id).where(bld.c.leader_id == entity_id)).scalars():
            found |= community_of(c, "building", bid)
        gids = set(c.execute(select(grid.c.id).where(grid.c.leader_id == entity_id)).scalars())
        gids |= set(
            c.execute(select(worker.c.grid_id).where(worker.c.person_id == entity_id)).scalars()
        )
        for gid in gids:
            found |= community_of(c, "grid", gid)
        return found
    raise ValueError(f"no scope rule for entity {entity!r}")


def in_scope(
    conn: Engine | Connection, principal: Principal | None, entity: str, entity_id: int | None
) -> bool:
    """Whether ``entity`` #``entity_id`` lies inside what ``principal`` may see and change.

    A person with no tie to any community yet (just added) is in every community scope; a
    street-level organisation or station is only in a street-wide scope.
    """
    p = resolve_principal(principal)
    with connect(conn) as c:
        cids = community_ids(c, p)
        if cids is None or entity_id is None:
            return cids is None
        if p.role == "grid_worker" and entity in ("request", "grid"):
            gid = entity_id
            if entity == "request":
                req = table("request")
                gid = c.execute(select(req.c.grid_id).where(req.c.id == entity_id)).scalar()
            return gid is not None and int(gid) == p.grid_id
        owners = community_of(c, entity, int(entity_id))
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
    p = resolve_principal(principal)
    p.require(action)
    if not in_scope(conn, p, entity, entity_id):
        raise PermissionDenied(
            f"无权限:{entity} {entity_id} 不在您的管辖范围内 / permission denied: {entity} "
            f"{entity_id} is outside your community or grid"
        )
    return p


def scoped_community(conn: Engine | Connection, principal: Principal | None, code: str) -> int:
    """The id of the community with ``code``, which must lie in ``principal``'s scope.

    Raises
    ------
    InputError
        No community has that code (the message lists the codes inside the scope only).
    PermissionDenied
        The community lies outside the scope.
    """
    p = resolve_principal(principal)
    com = table("community")
    with connect(conn) as c:
        cid = c.execute(select(com.c.id).where(com.c.code == code)).scalar()
        cids = community_ids(c, p)
        if cid is None:
            query = select(com.c.code).order_by(com.c.code)
            if cids is not None:
                query = query.where(com.c.id.in_(sorted(cids)))
            known = ", ".join(c.execute(query).scalars()) or "—"
            raise InputError(f"社区编码不存在 / unknown community code {code!r}; known: {known}")
    if cids is not None and int(cid) not in cids:
        raise PermissionDenied(
            f"无权限:社区 {code} 不在您的管辖范围内 / permission denied: community {code} is "
            "outside your scope"
        )
    return int(cid)


def visible_users(users: pd.DataFrame, principal: Principal | None) -> pd.DataFrame:
    """The accounts of ``users`` (rows with an ``id``) that ``principal`` may see.

    A role that manages users (street administrators, ``manage_users``) sees every account;
    any other sees at most its own.
    """
    p = resolve_principal(principal)
    if p.can("manage_users"):
        return users
    return users[users["id"] == p.user_id].reset_index(drop=True)


def _keep(frame: pd.DataFrame, column: str, ids: set[int] | None) -> pd.DataFrame:
    if ids is None or column not in frame:
        return frame
    values = pd.to_numeric(frame[column], errors="coerce")
    return frame[values.isin(list(ids))]


def scope_rows(
    conn: Engine | Connection,
    frame: pd.DataFrame,
    entity: str,
    principal: Principal | None,
    personal_data: bool | None = None,
) -> pd.DataFrame:
    """The rows of a loaded table that ``principal`` may see, masked for its role.

    Parameters
    ----------
    conn : Engine or Connection
    frame : DataFrame
        The loaded rows.
    entity : str
        The table the rows come from: ``community``, ``grid`` (with ``community_id`` or
        ``plan_id``), ``building``, ``service_station`` (street-level stations stay visible),
        ``request``, ``member`` (with ``community_id``, else ``building_id``), ``party_org``
        (street-level organisations stay visible as context), ``grid_worker``,
        ``member_zone``/``member_point`` (by ``member_id``), ``person``; or ``advice``: rows
        about a community or a grid (``community_id``, ``grid_id``), such as the
        organisation-form advice — a row of no community only in a street-wide scope.
    principal : Principal or None
        Whose view (None: the acting principal).
    personal_data : bool, optional
        Passed to :func:`~gridmap.auth.masking.mask_frame`: ``False`` masks names even for a
        role that may read them in clear.
    """
    p = resolve_principal(principal)
    with connect(conn) as c:
        cids = community_ids(c, p)
        gids = grid_ids(c, p)
        if cids is None and gids is None:
            return mask_frame(frame, p, personal_data=personal_data)
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
                bld = table("building")
                bids = set(
                    c.execute(
                        select(bld.c.id).where(bld.c.community_id.in_(sorted(cids or ())))
                    ).scalars()
                )
                out = _keep(out, "building_id", bids)
            if p.role == "grid_worker" and "building_id" in out:
                bld = table("building")
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
        elif entity == "advice":
            cid = pd.to_numeric(out["community_id"], errors="coerce")
            keep = cid.isin(list(cids or ()))
            if p.community_id is None and p.role not in ("secretary", "grid_worker"):
                keep |= cid.isna()  # street-wide: street-level rows lie in the street
            out = out[keep]
            if p.role == "grid_worker" and "grid_id" in out:
                gid = pd.to_numeric(out["grid_id"], errors="coerce")
                out = out[gid.isna() | gid.isin(list(gids or ()))]
        else:
            raise ValueError(f"no scope rule for table {entity!r}")
    return mask_frame(out.copy(), p, personal_data=personal_data)


def _member_frame(c: Connection) -> pd.DataFrame:
    mem = table("member")
    rows = c.execute(select(mem.c.id, mem.c.building_id, mem.c.person_id)).all()
    return pd.DataFrame.from_records(rows, columns=["id", "building_id", "person_id"])


def _visible_persons(
    c: Connection, p: Principal, cids: set[int] | None, gids: set[int] | None
) -> set[int]:
    """Persons tied to the scope: its members, grid leaders and workers, building leaders."""
    mem = scope_rows(c, _member_frame(c), "member", p)
    found = set(mem["person_id"].dropna().astype(int))
    grid, worker, bld = table("grid"), table("grid_worker"), table("building")
    ids = sorted(gids or ())
    found |= set(c.execute(select(grid.c.leader_id).where(grid.c.id.in_(ids))).scalars())
    found |= set(c.execute(select(worker.c.person_id).where(worker.c.grid_id.in_(ids))).scalars())
    bq = select(bld.c.leader_id).where(bld.c.community_id.in_(sorted(cids or ())))
    if p.role == "grid_worker":
        bq = select(bld.c.leader_id).where(bld.c.grid_id.in_(ids))
    found |= set(c.execute(bq).scalars())
    return {int(i) for i in found if i is not None}


def scope_layers(conn: Engine | Connection, layers: Any, principal: Principal | None) -> Any:
    """:class:`~gridmap.repository.StreetLayers` cut to ``principal``'s scope and masked."""
    p = resolve_principal(principal)
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
