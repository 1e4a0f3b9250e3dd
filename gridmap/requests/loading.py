"""Requests and the people who handle them, read from the database in one query each: the
requests a principal may see (:func:`load_requests`), buildings with their community name
(:func:`building_table`), Party members with their grid (:func:`member_table`) and grid workers
and leaders (:func:`staff`). Every reader of people cuts its rows to the principal's scope and
masks names unless the caller asks for personal data and the role may read it.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Engine, select

from gridmap.auth import Principal, current_principal, mask_frame, scope_rows
from gridmap.db import connect
from gridmap.repository import read_table, table


def load_requests(engine: Engine | Connection, scope: Principal | None = None) -> gpd.GeoDataFrame:
    """Every request in one query (EPSG:4326 points), datetimes as datetime64.

    Only the requests ``scope`` (default: the acting principal) may see — its communities, a
    grid worker's grid — with the text hidden from roles that may not read it
    (:func:`gridmap.auth.scope_rows`).
    """
    frame = read_table(engine, "request")
    frame = scope_rows(engine, frame, "request", scope or current_principal())
    for col in ("received_at", "due_at", "resolved_at"):
        frame[col] = pd.to_datetime(frame[col])
    for col in ("building_id", "grid_id", "assignee_id", "rating", "duplicate_of", "reporters"):
        frame[col] = pd.array(frame[col], dtype="Int64")
    return frame


def building_table(conn: Connection) -> gpd.GeoDataFrame:
    """Buildings with their community name (for address matching), one query."""
    bld, com = table("building"), table("community")
    from gridmap.repository import plain_columns, read_query

    query = (
        select(*plain_columns(bld, conn.dialect.name), com.c.name.label("community_name"))
        .outerjoin(com, com.c.id == bld.c.community_id)
        .order_by(bld.c.id)
    )
    frame = read_query(conn, query, has_geom=True)
    frame["grid_id"] = pd.array(frame["grid_id"], dtype="Int64")
    return frame


def member_table(
    engine: Engine | Connection, personal_data: bool = False, scope: Principal | None = None
) -> pd.DataFrame:
    """Party members of ``scope``'s communities (default: the acting principal) with their
    name, grid (from the building they live in) and specialties.

    Parameters
    ----------
    personal_data : bool
        Names in full when the role may read them (:attr:`gridmap.auth.Principal.personal_data`);
        by default masked (张*明); never a name for a planner.
    scope : Principal, optional
        Whose view (:func:`gridmap.auth.scope_rows`).

    Returns
    -------
    DataFrame
        ``id, person_id, name, category, status, building_id, grid_id, specialties``.
    """
    mem, person, bld = table("member"), table("person"), table("building")
    with connect(engine) as conn:
        query = (
            select(
                mem.c.id,
                mem.c.person_id,
                person.c.name,
                mem.c.category,
                mem.c.status,
                mem.c.building_id,
                bld.c.grid_id,
                mem.c.specialties,
            )
            .join(person, person.c.id == mem.c.person_id)
            .outerjoin(bld, bld.c.id == mem.c.building_id)
            .order_by(mem.c.id)
        )
        result = conn.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
        frame = scope_rows(conn, frame, "member", scope, personal_data=personal_data)
    frame["category"] = frame["category"].astype(str)
    frame["grid_id"] = pd.array(frame["grid_id"], dtype="Int64")
    return frame.reset_index(drop=True)


def staff(
    engine: Engine | Connection,
    grid_id: int | None = None,
    personal_data: bool = False,
    scope: Principal | None = None,
) -> pd.DataFrame:
    """Grid workers and grid leaders (``id, name, roles``) whom ``scope`` (default: the acting
    principal) may see, of one grid when ``grid_id`` is given (its ``grid_worker`` rows and its
    leader); names masked unless ``personal_data`` and the role allows (as
    :func:`member_table`)."""
    person, gw, grid = table("person"), table("grid_worker"), table("grid")
    query = select(person.c.id, person.c.name, person.c.roles).order_by(person.c.id)
    if grid_id is None:
        query = query.where(
            person.c.roles.like("%grid_worker%") | person.c.roles.like("%grid_leader%")
        )
    else:
        workers = select(gw.c.person_id).where(gw.c.grid_id == int(grid_id))
        leaders = select(grid.c.leader_id).where(grid.c.id == int(grid_id))
        query = query.where(person.c.id.in_(workers) | person.c.id.in_(leaders))
    with connect(engine) as conn:
        result = conn.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
        frame = scope_rows(conn, frame, "person", scope)
    frame = mask_frame(frame, scope, names=("name",), personal_data=personal_data)
    return frame.reset_index(drop=True)
