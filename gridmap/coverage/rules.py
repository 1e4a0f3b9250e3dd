"""Grid-management rules beyond geometry: leadership (grid leaders, Party branches, building
leaders), grid size in households, and service reach to the nearest Party–mass station."""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.coverage.prepare import (
    POLYGONAL,
    STATION_COLUMNS,
    analysis_crs,
    check_frame,
    geom_array,
    household_counts,
    ids_at,
    prepare_layer,
)
from gridmap.errors import InputError


def leadership_gaps(grids: pd.DataFrame, buildings: pd.DataFrame) -> pd.DataFrame:
    """Grids without a grid leader or a Party branch/group; buildings with households but no
    building leader.

    Returns
    -------
    pandas.DataFrame
        ``kind`` (``grid_no_leader``, ``grid_no_branch``, ``building_no_leader``), ``grid_id``,
        ``building_id``, ``households`` (of the building; NA for grid rows).
    """
    check_frame(grids, "grids", ("id", "leader_id", "party_org_id"), None)
    check_frame(buildings, "buildings", ("id", "households", "leader_id"), None)
    households = household_counts(buildings)
    no_building_leader = (households > 0) & buildings["leader_id"].isna().to_numpy()
    parts = [
        _kind_rows("grid_no_leader", grid_id=grids.loc[grids["leader_id"].isna(), "id"]),
        _kind_rows("grid_no_branch", grid_id=grids.loc[grids["party_org_id"].isna(), "id"]),
        _kind_rows(
            "building_no_leader",
            building_id=buildings.loc[no_building_leader, "id"],
            households=households[no_building_leader],
        ),
    ]
    return pd.concat(parts, ignore_index=True)


def _kind_rows(
    kind: str,
    grid_id: pd.Series | None = None,
    building_id: pd.Series | None = None,
    households: np.ndarray | None = None,
) -> pd.DataFrame:
    n = len(grid_id) if grid_id is not None else len(building_id)
    missing = pd.Series([pd.NA] * n, dtype=object)
    return pd.DataFrame(
        {
            "kind": [kind] * n,
            "grid_id": missing if grid_id is None else grid_id.to_numpy(dtype=object),
            "building_id": missing if building_id is None else building_id.to_numpy(dtype=object),
            "households": missing if households is None else households.astype(object),
        }
    )


def grid_households(
    grids: pd.DataFrame, assignment: pd.DataFrame, buildings: pd.DataFrame
) -> pd.DataFrame:
    """Buildings and households of each grid, from an assignment.

    Returns
    -------
    pandas.DataFrame
        ``grid_id, buildings, households`` in the grids' order; zero for a grid with none.
    """
    households = pd.Series(household_counts(buildings), index=buildings["id"].to_numpy())
    assigned = assignment[assignment["grid_id"].notna()]
    per_building = households.reindex(assigned["building_id"].to_numpy()).fillna(0).to_numpy()
    grouped = pd.DataFrame({"grid_id": assigned["grid_id"].to_numpy(), "hh": per_building})
    stats = grouped.groupby("grid_id")["hh"].agg(["size", "sum"])
    stats = stats.reindex(grids["id"].to_numpy(), fill_value=0)
    return pd.DataFrame(
        {
            "grid_id": grids["id"].to_numpy(),
            "buildings": stats["size"].to_numpy(dtype=np.int64),
            "households": stats["sum"].to_numpy(dtype=np.int64),
        }
    )


def grid_size_problems(
    grids: pd.DataFrame,
    assignment: pd.DataFrame,
    buildings: pd.DataFrame,
    households_min: int | None = None,
    households_max: int | None = None,
) -> pd.DataFrame:
    """Grids whose household count is outside the norm.

    Parameters
    ----------
    grids : pandas.DataFrame
        With ``id``.
    assignment : pandas.DataFrame
        ``building_id, grid_id`` (as :attr:`Assignment.buildings`).
    buildings : pandas.DataFrame
        ``id, households``.
    households_min, households_max : int, optional
        The norm; default ``settings.GRID_HOUSEHOLDS_MIN`` / ``GRID_HOUSEHOLDS_MAX``.

    Returns
    -------
    pandas.DataFrame
        ``grid_id, buildings, households, kind`` (``grid_too_small`` / ``grid_too_large``) and
        ``limit`` (the bound crossed).
    """
    check_frame(grids, "grids", ("id",), None)
    check_frame(assignment, "assignment", ("building_id", "grid_id"), None)
    check_frame(buildings, "buildings", ("id", "households"), None)
    low = settings.GRID_HOUSEHOLDS_MIN if households_min is None else households_min
    high = settings.GRID_HOUSEHOLDS_MAX if households_max is None else households_max
    if low > high:
        raise InputError(f"the household norm is empty: minimum {low} > maximum {high}")
    counts = grid_households(grids, assignment, buildings)
    small = counts["households"] < low
    large = counts["households"] > high
    out = counts[small | large].copy()
    out["kind"] = np.where(small[small | large], "grid_too_small", "grid_too_large")
    out["limit"] = np.where(small[small | large], low, high)
    return out.reset_index(drop=True)


class ServiceReach(NamedTuple):
    """Distance of each building to its nearest service station.

    Attributes
    ----------
    buildings : pandas.DataFrame
        ``building_id, station_id`` (nearest; NA with no stations), ``distance_m`` (from the
        building's centroid; inf with no stations), ``households``, ``beyond`` (farther than
        the radius).
    grids : pandas.DataFrame
        ``grid_id, households, households_beyond, buildings_beyond, max_distance_m`` per grid
        of the assignment (empty when none was given).
    communities : pandas.DataFrame
        ``community_id, households, households_beyond`` (empty when the buildings carry no
        ``community_id``).
    radius_m : float
    """

    buildings: pd.DataFrame
    grids: pd.DataFrame
    communities: pd.DataFrame
    radius_m: float


def service_reach(
    buildings: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    radius_m: float | None = None,
    assignment: pd.DataFrame | None = None,
) -> ServiceReach:
    """Households farther than ``radius_m`` (straight line) from any service station.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        ``id, households`` and polygons; ``community_id`` for the per-community totals.
    stations : geopandas.GeoDataFrame
        ``id`` and points. With no stations every household is beyond reach.
    radius_m : float, optional
        The walking radius: 300 / 500 / 1000 m are the 5/10/15-minute life circles
        (``settings.LIFE_CIRCLE_M``); default ``settings.SERVICE_REACH_M``.
    assignment : pandas.DataFrame, optional
        ``building_id, grid_id`` for the per-grid totals.

    Returns
    -------
    ServiceReach
    """
    check_frame(buildings, "buildings", ("id", "households"), POLYGONAL)
    check_frame(stations, "stations", STATION_COLUMNS, ("Point",))
    radius = valid_radius(radius_m)
    crs = analysis_crs(buildings, stations)
    return reach_prepared(
        prepare_layer(buildings, crs), prepare_layer(stations, crs), radius, assignment
    )


def valid_radius(radius_m: float | None) -> float:
    """The service radius in metres: ``radius_m`` or the default, checked positive."""
    radius = settings.SERVICE_REACH_M if radius_m is None else radius_m
    if not isinstance(radius, int | float) or not radius > 0:
        choices = "/".join(str(v) for v in settings.LIFE_CIRCLE_M.values())
        raise InputError(
            f"radius_m must be a positive number of metres (e.g. {choices}), got {radius!r}"
        )
    return float(radius)


def reach_prepared(
    buildings: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    radius: float,
    assignment: pd.DataFrame | None,
) -> ServiceReach:
    """:func:`service_reach` on layers already prepared, with a checked radius."""
    n = len(buildings)
    households = household_counts(buildings)
    station_pos = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, np.inf)
    if n and len(stations):
        points = shapely.centroid(geom_array(buildings))
        (b, s), dist = shapely.STRtree(geom_array(stations)).query_nearest(
            points, return_distance=True, all_matches=False
        )
        station_pos[b], distance[b] = s, dist
    table = pd.DataFrame(
        {
            "building_id": buildings["id"].to_numpy(),
            "station_id": ids_at(stations["id"], station_pos).to_numpy(),
            "distance_m": distance,
            "households": households,
            "beyond": distance > radius,
        }
    )
    per_grid = pd.DataFrame(
        columns=["grid_id", "households", "households_beyond", "buildings_beyond", "max_distance_m"]
    )
    if assignment is not None:
        joined = table.assign(grid_id=assignment["grid_id"].to_numpy())
        per_grid = _reach_totals(joined[joined["grid_id"].notna()], "grid_id")
    per_community = pd.DataFrame(columns=["community_id", "households", "households_beyond"])
    if "community_id" in buildings:
        joined = table.assign(community_id=buildings["community_id"].to_numpy())
        per_community = _reach_totals(joined, "community_id").drop(
            columns=["buildings_beyond", "max_distance_m"]
        )
    return ServiceReach(table, per_grid, per_community, radius)


def _reach_totals(table: pd.DataFrame, key: str) -> pd.DataFrame:
    far = table["beyond"]
    frame = table.assign(
        households_beyond=np.where(far, table["households"], 0),
        buildings_beyond=far.astype(np.int64),
        far_distance=np.where(far, table["distance_m"], np.nan),
    )
    totals = frame.groupby(key, sort=False).agg(
        households=("households", "sum"),
        households_beyond=("households_beyond", "sum"),
        buildings_beyond=("buildings_beyond", "sum"),
        max_distance_m=("far_distance", "max"),
    )
    return totals.reset_index()
