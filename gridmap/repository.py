"""Load and save whole layers as (Geo)DataFrames: one query per layer, never one per row.

Geometry travels as WKB and is decoded or encoded for the whole column at once with shapely, so
the same code serves SQLite (WKB BLOBs) and PostGIS (``ST_AsBinary``). Writes of several tables
go through :func:`gridmap.db.transaction`: all rows land, or none do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    String,
    Table,
    bindparam,
    case,
    func,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.sql import ColumnElement, Select

from gridmap import settings
from gridmap.auth import (
    Principal,
    community_ids,
    current_principal,
    mask_names,
    scope_layers,
)
from gridmap.coverage import assign_buildings
from gridmap.coverage.prepare import analysis_crs
from gridmap.crs import to_metric
from gridmap.db import connect, transaction
from gridmap.models import GEOMETRY_TABLES, Base, PlanStatus, RequestStatus

#: Request statuses that count as open (not yet handled to the end).
OPEN_REQUEST_STATUSES: tuple[str, ...] = (
    RequestStatus.received.value,
    RequestStatus.assigned.value,
    RequestStatus.escalated.value,
)


def table(name: str) -> Table:
    """The SQLAlchemy table of a layer name, with a clear error for an unknown one."""
    try:
        return Base.metadata.tables[name]
    except KeyError:
        known = ", ".join(sorted(Base.metadata.tables))
        raise ValueError(f"unknown table {name!r}; known tables: {known}") from None


def plain_columns(tbl: Table, dialect: str) -> list[ColumnElement]:
    """Columns to select: WKB for geometry, plain strings for enums."""
    cols: list[ColumnElement] = []
    for col in tbl.columns:
        if col.name == "geom":
            raw = func.ST_AsBinary(col) if dialect == "postgresql" else col
            cols.append(type_coerce(raw, LargeBinary).label("geom"))
        elif isinstance(col.type, SAEnum):
            cols.append(type_coerce(col, String).label(col.name))
        else:
            cols.append(col)
    return cols


def _to_frame(rows: list, columns: list[str], has_geom: bool) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=columns)
    if not has_geom:
        return frame
    wkb = np.array([None if v is None else bytes(v) for v in frame["geom"]], dtype=object)
    geoms = shapely.from_wkb(wkb)
    return gpd.GeoDataFrame(frame.drop(columns="geom"), geometry=geoms, crs=settings.STORAGE_SRID)


def _frame(conn: Connection, query: Select) -> pd.DataFrame:
    """Rows of a query as a DataFrame with its column names, even when there are no rows."""
    result = conn.execute(query)
    return pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))


def read_query(conn: Connection, query: Select, has_geom: bool) -> pd.DataFrame:
    """Run one SELECT and return its rows as a DataFrame (GeoDataFrame when it has ``geom``)."""
    result = conn.execute(query)
    frame = _to_frame(result.fetchall(), list(result.keys()), has_geom)
    if has_geom:
        frame = frame.rename_geometry("geom")
    return frame


def read_table(
    engine: Engine | Connection, name: str, where: ColumnElement[bool] | None = None
) -> pd.DataFrame:
    """Read one table in one query.

    Parameters
    ----------
    engine : Engine or Connection
    name : str
        Table name from :mod:`gridmap.models` (``"grid"``, ``"building"`` …).
    where : SQL expression, optional
        A filter on the table's columns, e.g. ``table("building").c.community_id == 3``.

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        A GeoDataFrame (geometry column ``geom``, EPSG:4326) for geometry tables, else a
        DataFrame; enums as their string values; rows ordered by ``id``.
    """
    tbl = table(name)
    with connect(engine) as conn:
        query = select(*plain_columns(tbl, conn.dialect.name)).order_by(tbl.c.id)
        if where is not None:
            query = query.where(where)
        return read_query(conn, query, name in GEOMETRY_TABLES)


# --- writing ----------------------------------------------------------------------------------


def geometry_wkb(frame: pd.DataFrame, geometry_type: str) -> np.ndarray:
    """WKB of the frame's ``geom`` column for a column of ``geometry_type`` (a polygon is
    stored as a one-part multipolygon where the column holds multipolygons), NULL kept."""
    geoms = np.asarray(frame["geom"].values, dtype=object)
    if geometry_type == "MULTIPOLYGON":
        is_polygon = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
        if is_polygon.any():
            geoms = geoms.copy()
            polys = geoms[is_polygon]
            geoms[is_polygon] = shapely.multipolygons(polys, indices=np.arange(len(polys)))
    return shapely.to_wkb(geoms)


def frame_records(name: str, frame: pd.DataFrame) -> list[dict]:
    """Rows of a frame as plain-Python dicts ready for an executemany insert.

    Geometry is encoded to WKB for the whole column at once (polygons promoted to
    multipolygons where the column wants them); NaN/NA/NaT become NULL; columns the table does
    not have are an error.
    """
    tbl = table(name)
    unknown = set(frame.columns) - set(tbl.columns.keys())
    if unknown:
        raise ValueError(f"table {name!r} has no column(s) {sorted(unknown)}")
    plain = pd.DataFrame(frame).copy()
    if name in GEOMETRY_TABLES and "geom" in plain:
        plain["geom"] = geometry_wkb(plain, GEOMETRY_TABLES[name])
    plain = plain.astype(object).where(plain.notna(), None)
    return plain.to_dict("records")


def insert_frame(conn: Connection, name: str, frame: pd.DataFrame) -> int:
    """Insert every row of a frame into a table in one executemany; return the row count."""
    records = frame_records(name, frame)
    if records:
        conn.execute(table(name).insert(), records)
        if conn.dialect.name == "postgresql" and "id" in frame:
            advance_sequence(conn, name)
    return len(records)


def advance_sequence(conn: Connection, name: str) -> None:
    """After inserting explicit ids on PostgreSQL, move the id sequence past them."""
    quoted = conn.dialect.identifier_preparer.quote(name)
    conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{quoted}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {quoted}), 0) + 1, false)"
        )
    )


def _geom_column(tbl: Table, dialect: str) -> ColumnElement:
    raw = func.ST_AsBinary(tbl.c.geom) if dialect == "postgresql" else tbl.c.geom
    return type_coerce(raw, LargeBinary).label("geom")


def refresh_building_grids(
    bind: Engine | Connection, community_ids: Iterable[int] | None = None
) -> int:
    """Recompute the stored grid of buildings (``building.grid_id``) from the active plans.

    The one answer to "which grid is this building in": each building goes to the active grid
    :func:`gridmap.coverage.assign_buildings` gives it (the rule :func:`gridmap.coverage.
    check_coverage` applies, so density, planning, the overview and the report read the same
    grids the check computes); a building that rule leaves outside every grid stores none.
    Every write that changes grids or buildings calls this in its own transaction: imports of
    either layer, plan activation and rollback, restore. Shares are measured in the metric CRS
    the check measures the street in (:func:`gridmap.coverage.prepare.analysis_crs`, the UTM
    zone of the communities), so the two agree even on a building two grids share equally.

    Parameters
    ----------
    bind : Engine or Connection
        A Connection joins the caller's open transaction (the usual case).
    community_ids : iterable of int, optional
        The communities whose buildings or active plan changed; default every community.
        Buildings of other communities are updated too when their grid is one of these
        communities' grids, before or after (a building's best grid may be a neighbour's).

    Returns
    -------
    int
        Buildings whose stored grid changed (one UPDATE, executemany).
    """
    bld, grid, plan = table("building"), table("grid"), table("grid_plan")
    with transaction(bind) as conn:
        dialect = conn.dialect.name
        buildings = read_query(
            conn,
            select(
                bld.c.id, bld.c.community_id, bld.c.grid_id, _geom_column(bld, dialect)
            ).order_by(bld.c.id),
            has_geom=True,
        )
        if buildings.empty:
            return 0
        grids = read_query(
            conn,
            select(grid.c.id, _geom_column(grid, dialect))
            .join(plan, plan.c.id == grid.c.plan_id)
            .where(plan.c.status == PlanStatus.active.value)
            .order_by(grid.c.id),
            has_geom=True,
        )
        com = table("community")
        communities = read_query(
            conn, select(com.c.id, _geom_column(com, dialect)).order_by(com.c.id), has_geom=True
        )
        stored = pd.array(buildings["grid_id"], dtype="Int64")
        new = _assigned_grids(buildings, grids, analysis_crs(communities, grids, buildings))
        differs = np.asarray(pd.Series(stored).ne(pd.Series(new)).fillna(True), dtype=bool)
        differs &= ~np.asarray(pd.isna(stored) & pd.isna(new), dtype=bool)
        if community_ids is not None:
            wanted = [int(c) for c in community_ids]
            community_of = dict(
                conn.execute(
                    select(grid.c.id, plan.c.community_id).join(plan, plan.c.id == grid.c.plan_id)
                ).all()
            )
            touched = buildings["community_id"].isin(wanted).to_numpy()
            for ids in (stored, new):
                owner = pd.Series(ids).map(community_of)
                touched |= owner.isin(wanted).to_numpy()
            differs &= touched
        if not differs.any():
            return 0
        changed_ids = buildings["id"].to_numpy()[differs]
        changed_grids = np.asarray(new, dtype=object)[differs]
        records = [
            {"b_id": int(b), "g_id": None if pd.isna(g) else int(g)}
            for b, g in zip(changed_ids, changed_grids, strict=True)
        ]
        conn.execute(
            update(bld).where(bld.c.id == bindparam("b_id")).values(grid_id=bindparam("g_id")),
            records,
        )
        return len(records)


def _assigned_grids(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, crs: pyproj.CRS | None
) -> pd.arrays.IntegerArray:
    """Each building's grid by :func:`gridmap.coverage.assign_buildings` (NA: none), measured
    in ``crs`` — the one :func:`gridmap.coverage.check_coverage` measures the street in, so
    that even a building shared equally by two grids goes the same way in both."""
    out = pd.array([pd.NA] * len(buildings), dtype="Int64")
    placed = ~(buildings.geometry.isna() | buildings.geometry.is_empty).to_numpy()
    usable = grids[~(grids.geometry.isna() | grids.geometry.is_empty).to_numpy()]
    if not placed.any() or usable.empty or crs is None:
        return out
    found = assign_buildings(to_metric(buildings[placed], crs), to_metric(usable, crs)).buildings
    by_id = pd.Series(pd.array(found["grid_id"], dtype="Int64"), index=found["building_id"])
    out[placed] = by_id.reindex(buildings["id"].to_numpy()[placed]).array
    return out


def save_tables(bind: Engine | Connection, tables: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Write several tables in one transaction (all or nothing); return rows written per table.

    Foreign keys are checked at commit, so tables that refer to each other may come in any
    order that keeps each table's own parent rows first. Given a connection, the write joins
    its transaction.
    """
    with transaction(bind) as conn:
        return {name: insert_frame(conn, name, frame) for name, frame in tables.items()}


# --- the street's layers, as the map and the analyses want them -------------------------------


@dataclass(frozen=True)
class StreetLayers:
    """The map layers of a street, each a GeoDataFrame in EPSG:4326."""

    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame


def active_grids(
    engine: Engine | Connection,
    mask_personal: bool = True,
    communities: Iterable[int] | None = None,
) -> gpd.GeoDataFrame:
    """Grids of every community's active plan (of ``communities`` only, when given), in one
    query, with their display columns.

    Besides the ``grid`` columns: ``community_id``, ``community_name``, ``leader_name``
    (masked unless ``mask_personal`` is False), ``branch_name``, and ``households`` /
    ``buildings`` summed over the buildings whose stored ``grid_id`` is the grid
    (:func:`refresh_building_grids`), ``estimated_households`` the part of ``households``
    that is estimated (``building.households_estimated``).
    """
    grid, plan, com = table("grid"), table("grid_plan"), table("community")
    person, org, bld = table("person"), table("party_org"), table("building")
    stats = (
        select(
            bld.c.grid_id,
            func.sum(bld.c.households).label("households"),
            func.count(bld.c.id).label("buildings"),
            func.sum(_estimated_households(bld)).label("estimated_households"),
        )
        .group_by(bld.c.grid_id)
        .subquery()
    )
    with connect(engine) as conn:
        query = (
            select(
                *plain_columns(grid, conn.dialect.name),
                plan.c.community_id,
                com.c.name.label("community_name"),
                person.c.name.label("leader_name"),
                org.c.name.label("branch_name"),
                func.coalesce(stats.c.households, 0).label("households"),
                func.coalesce(stats.c.buildings, 0).label("buildings"),
                func.coalesce(stats.c.estimated_households, 0).label("estimated_households"),
            )
            .join(plan, plan.c.id == grid.c.plan_id)
            .join(com, com.c.id == plan.c.community_id)
            .outerjoin(person, person.c.id == grid.c.leader_id)
            .outerjoin(org, org.c.id == grid.c.party_org_id)
            .outerjoin(stats, stats.c.grid_id == grid.c.id)
            .where(plan.c.status == PlanStatus.active.value)
            .order_by(grid.c.id)
        )
        if communities is not None:
            query = query.where(plan.c.community_id.in_(sorted(int(c) for c in communities)))
        frame = read_query(conn, query, has_geom=True)
    if mask_personal:
        frame["leader_name"] = mask_names(frame["leader_name"])
    return frame


def buildings_with_leaders(
    engine: Engine | Connection,
    mask_personal: bool = True,
    communities: Iterable[int] | None = None,
) -> gpd.GeoDataFrame:
    """Every building (of ``communities`` only, when given) in one query, with
    ``leader_name`` (masked unless asked otherwise)."""
    bld, person = table("building"), table("person")
    with connect(engine) as conn:
        query = (
            select(*plain_columns(bld, conn.dialect.name), person.c.name.label("leader_name"))
            .outerjoin(person, person.c.id == bld.c.leader_id)
            .order_by(bld.c.id)
        )
        if communities is not None:
            query = query.where(bld.c.community_id.in_(sorted(int(c) for c in communities)))
        frame = read_query(conn, query, has_geom=True)
    if mask_personal:
        frame["leader_name"] = mask_names(frame["leader_name"])
    return frame


def load_street_layers(
    engine: Engine | Connection, mask_personal: bool = True, scope: Principal | None = None
) -> StreetLayers:
    """Load the street, communities, active grids, buildings and stations (one query each).

    Only what ``scope`` (a :class:`gridmap.auth.Principal`, default the acting one:
    :func:`gridmap.auth.current_principal`) may see is returned, names masked for its role
    (:func:`gridmap.auth.scope_layers`). The grids and buildings of communities out of scope
    are not read at all: a street's user on a city's database reads that street's rows.
    """
    scope = scope if scope is not None else current_principal()
    with connect(engine) as conn:
        visible = community_ids(conn, scope)
        layers = StreetLayers(
            streets=read_table(conn, "street"),
            communities=read_table(conn, "community"),
            grids=active_grids(conn, mask_personal, visible),
            buildings=buildings_with_leaders(conn, mask_personal, visible),
            stations=read_table(conn, "service_station"),
        )
        return scope_layers(conn, layers, scope)


def headline_figures(engine: Engine | Connection, scope: Principal | None = None) -> dict[str, int]:
    """The street's headline numbers: communities, grids, buildings, households, residents,
    members, stations and open requests (summed from :func:`community_summary`)."""
    summary = community_summary(engine, scope)
    figures = {"communities": len(summary)}
    for col in (
        "grids",
        "buildings",
        "households",
        "residents",
        "members",
        "stations",
        "open_requests",
    ):
        figures[col] = int(summary[col].sum()) if len(summary) else 0
    return figures


# --- counts -----------------------------------------------------------------------------------


def _estimated_households(bld: Table) -> ColumnElement:
    """A building's households where they are estimated, else 0 (to sum)."""
    return case((bld.c.households_estimated, bld.c.households), else_=0)


def layer_counts(engine: Engine | Connection) -> dict[str, int]:
    """Rows per table, for every table of the model (one small query each)."""
    with connect(engine) as conn:
        return {
            name: conn.execute(select(func.count()).select_from(tbl)).scalar_one()
            for name, tbl in Base.metadata.tables.items()
        }


def community_summary(engine: Engine | Connection, scope: Principal | None = None) -> pd.DataFrame:
    """Per community: active grids, buildings, households, residents, members, stations, open
    requests, each from one grouped query.

    Returns
    -------
    pandas.DataFrame
        Indexed by community id, columns ``code, name, grids, buildings, households,
        residents, estimated_households`` (the part of ``households`` that is estimated),
        ``members, stations, open_requests``; zero where a community has none.
    """
    names = ("community", "grid", "grid_plan", "building", "member", "service_station", "request")
    c = {n: table(n) for n in names}
    b, g, p = c["building"], c["grid"], c["grid_plan"]
    queries = {
        "grids": select(p.c.community_id.label("cid"), func.count(g.c.id).label("grids"))
        .join(g, g.c.plan_id == p.c.id)
        .where(p.c.status == PlanStatus.active.value)
        .group_by(p.c.community_id),
        "buildings": select(
            b.c.community_id.label("cid"),
            func.count(b.c.id).label("buildings"),
            func.coalesce(func.sum(b.c.households), 0).label("households"),
            func.coalesce(func.sum(b.c.residents), 0).label("residents"),
            func.coalesce(func.sum(_estimated_households(b)), 0).label("estimated_households"),
        ).group_by(b.c.community_id),
        "members": select(
            b.c.community_id.label("cid"), func.count(c["member"].c.id).label("members")
        )
        .join(b, b.c.id == c["member"].c.building_id)
        .group_by(b.c.community_id),
        "stations": select(
            c["service_station"].c.community_id.label("cid"),
            func.count(c["service_station"].c.id).label("stations"),
        ).group_by(c["service_station"].c.community_id),
        "open_requests": select(
            p.c.community_id.label("cid"), func.count(c["request"].c.id).label("open_requests")
        )
        .join(g, g.c.id == c["request"].c.grid_id)
        .join(p, p.c.id == g.c.plan_id)
        .where(c["request"].c.status.in_(OPEN_REQUEST_STATUSES))
        .group_by(p.c.community_id),
    }
    com = c["community"]
    with connect(engine) as conn:
        out = _frame(conn, select(com.c.id, com.c.code, com.c.name).order_by(com.c.code))
        out = out.set_index("id")
        for query in queries.values():
            out = out.join(_frame(conn, query).set_index("cid"), how="left")
        allowed = community_ids(conn, scope if scope is not None else current_principal())
    counts = [col for col in out.columns if col not in ("code", "name")]
    out[counts] = out[counts].astype(float).fillna(0).astype(int)
    return out if allowed is None else out[out.index.isin(list(allowed))]


def data_version(engine: Engine | Connection) -> str:
    """A short fingerprint of the database's content that changes whenever gridmap writes.

    Every write through gridmap appends an audit row (and request moves an event), and imports
    change the row counts, so the newest audit row, the newest request event and the layers'
    row counts together change with every edit. One small query; the app keys its caches on it
    so a rerun costs nothing until the data changes.
    """
    parts = [
        select(func.max(table("audit_log").c.id)).scalar_subquery(),
        select(func.max(table("request_event").c.id)).scalar_subquery(),
        *(
            select(func.count()).select_from(table(name)).scalar_subquery()
            for name in ("community", "grid", "building", "member", "request", "organisation")
        ),
    ]
    with connect(engine) as conn:
        row = conn.execute(select(*parts)).one()
    return "-".join("0" if value is None else str(value) for value in row)
