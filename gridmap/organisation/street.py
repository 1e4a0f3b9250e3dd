"""Whole-street reads for the CLI and the page: the advice and lost-contact list of a
database (each cut to what the acting principal may see, :func:`gridmap.auth.scope_rows`),
buildings in responsibility zones and each grid's staff as text.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, Engine

from gridmap.auth import Principal, current_principal, scope_rows
from gridmap.db import connect
from gridmap.organisation.forms import OrgFormAdvice, lost_contact_members, organisation_advice
from gridmap.organisation.reading import load_organisation
from gridmap.repository import active_grids, read_table

__all__ = ["grid_staff", "street_advice", "street_lost_contact", "zone_buildings"]


def street_advice(engine: Engine | Connection, scope: Principal | None = None) -> OrgFormAdvice:
    """:func:`~gridmap.organisation.forms.organisation_advice` of the street in a database,
    cut to the communities and grids ``scope`` may see (default: the acting principal).

    The advice is worked out over the whole street (joint-branch partners may lie across a
    community border), then only the rows of the scope are kept (:func:`gridmap.auth.scope_rows`,
    entity ``advice``) and the summary counted from them.
    """
    p = scope if scope is not None else current_principal()
    with connect(engine) as conn:
        communities = read_table(conn, "community")
        grids = active_grids(conn)
        buildings = read_table(conn, "building").drop(columns="geom")
        orgs = read_table(conn, "party_org")
        members = read_table(conn, "member")
        advice = organisation_advice(communities, grids, buildings, orgs, members)
        return OrgFormAdvice.of_rows(scope_rows(conn, advice.table, "advice", p))


def street_lost_contact(
    engine: Engine | Connection, today: dt.date, personal_data: bool = False
) -> pd.DataFrame:
    """:func:`~gridmap.organisation.forms.lost_contact_members` of the street (names masked
    by default)."""
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
