"""Per-building and per-request facts that every unit's factors are summed from.

:func:`building_facts` gives each building its grid (and H3 hexagon), households, members,
share of grid workers, distance to the nearest station and leadership gaps (blind spots too,
with organisations); :func:`request_units` gives each open request its grid, cell and whether
it is overdue. :func:`household_counts`, :func:`nearest_distance` and :func:`worker_fte` are
shared with the siting and what-if modules.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.hotspots import OPEN_STATUSES, assign_grids
from gridmap.planning.inputs import PlanningInputs


def household_counts(frame: pd.DataFrame) -> np.ndarray:
    """The ``households`` column as floats, missing or unreadable values as 0."""
    return pd.to_numeric(frame["households"], errors="coerce").fillna(0).to_numpy(dtype=float)


def nearest_distance(points: np.ndarray, stations: gpd.GeoDataFrame, crs) -> np.ndarray:
    """Distance (m) of each metric point to its nearest station; inf without stations."""
    out = np.full(len(points), np.inf)
    if len(points) == 0 or len(stations) == 0:
        return out
    sgeo = np.asarray(stations.to_crs(crs).geometry.values, dtype=object)
    (p, _s), dist = shapely.STRtree(sgeo).query_nearest(
        points, return_distance=True, all_matches=False
    )
    out[p] = dist
    return out


def building_facts(inputs: PlanningInputs, resolution: int | None) -> pd.DataFrame:
    """One row per building: its grid, hexagon, households, members, worker share, reach and
    leadership need — the pieces every unit's factors are summed from."""
    bld = inputs.buildings.reset_index(drop=True)
    crs = inputs.crs
    households = household_counts(bld)
    metric = np.asarray(bld.to_crs(crs).geometry.values, dtype=object)
    distance = nearest_distance(shapely.centroid(metric), inputs.stations, crs)

    grids = inputs.grids.set_index("id")
    grid_id = pd.to_numeric(bld["grid_id"], errors="coerce")
    grid_id = grid_id.where(grid_id.isin(grids.index))
    known = grid_id.notna().to_numpy()
    gid = grid_id.to_numpy()

    fte = worker_fte(inputs.workers)
    grid_hh = pd.Series(households).groupby(gid).sum()
    grid_workers = fte.reindex(grid_hh.index, fill_value=0.0)
    share = np.zeros(len(bld))
    if known.any():
        hh_of_grid = grid_hh.reindex(gid[known]).to_numpy()
        workers_of_grid = grid_workers.reindex(gid[known]).to_numpy()
        share[known] = np.divide(
            households[known] * workers_of_grid,
            hh_of_grid,
            out=np.zeros(int(known.sum())),
            where=hh_of_grid > 0,
        )

    no_leader = np.ones(len(bld))
    no_branch = np.ones(len(bld))
    if known.any():
        no_leader[known] = grids["leader_id"].reindex(gid[known]).isna().to_numpy(dtype=float)
        no_branch[known] = grids["party_org_id"].reindex(gid[known]).isna().to_numpy(dtype=float)
    no_building_leader = (bld["leader_id"].isna().to_numpy() & (households > 0)).astype(float)
    blind_spot = _blind_spot_buildings(inputs.organisations, bld)

    members = inputs.members
    by_building = members.groupby("building_id").size()
    unavailable = members["category"].isin(settings.PLANNING_UNAVAILABLE_CATEGORIES)
    available_by_building = members[~unavailable.to_numpy()].groupby("building_id").size()
    facts = pd.DataFrame(
        {
            "building_id": bld["id"].to_numpy(),
            "grid_id": gid,
            "households": households,
            "workers": share,
            "members": by_building.reindex(bld["id"].to_numpy(), fill_value=0).to_numpy(),
            "available_members": available_by_building.reindex(
                bld["id"].to_numpy(), fill_value=0
            ).to_numpy(),
            "distance_m": distance,
            "beyond": distance > float(inputs.radius_m),
            "no_leader": no_leader,
            "no_branch": no_branch,
            "no_building_leader": no_building_leader,
            "blind_spot": blind_spot,
        }
    )
    if resolution is not None:
        spots = gpd.GeoSeries(
            shapely.point_on_surface(np.asarray(bld.geometry.values, dtype=object)), crs=bld.crs
        )
        facts["h3_cell"] = _cells(spots, resolution)
    return facts


def _blind_spot_buildings(
    organisations: pd.DataFrame | None, buildings: gpd.GeoDataFrame
) -> np.ndarray:
    """1.0 for each building that is a blind spot (a blind-spot building, or a building of a
    new compound without activity space), else 0.0; all 0 without organisations."""
    out = np.zeros(len(buildings))
    if organisations is None or "kind" not in buildings:
        return out
    from gridmap import blindspots

    spots = set(blindspots.blind_spot_buildings(organisations, buildings)["building_id"])
    for ids in blindspots.new_compounds_without_space(buildings)["building_ids"]:
        spots |= set(ids)
    out[buildings["id"].isin(spots).to_numpy()] = 1.0
    return out


def worker_fte(workers: pd.DataFrame) -> pd.Series:
    """Full-time-equivalent grid workers per grid id (part-time counts as a share)."""
    if workers.empty:
        return pd.Series(dtype=float)
    part = (
        workers["part_time"].fillna(False).astype(bool).to_numpy()
        if "part_time" in workers
        else np.zeros(len(workers), dtype=bool)
    )
    fte = np.where(part, settings.PLANNING_PART_TIME_WORKER_SHARE, 1.0)
    return pd.Series(fte).groupby(workers["grid_id"].to_numpy()).sum()


def _cells(points: gpd.GeoSeries, resolution: int) -> np.ndarray:
    lonlat = points.to_crs(settings.STORAGE_SRID)
    xs, ys = shapely.get_x(lonlat.values), shapely.get_y(lonlat.values)
    return np.array(
        [h3.latlng_to_cell(y, x, resolution) for x, y in zip(xs, ys, strict=True)], dtype=object
    )


def request_units(inputs: PlanningInputs, resolution: int | None) -> pd.DataFrame:
    """Open requests with ``overdue``, their grid and (for hexagons) their cell."""
    req = inputs.requests
    is_open = req["status"].isin(OPEN_STATUSES).to_numpy()
    rows = req[is_open]
    due = pd.to_datetime(rows["due_at"])
    overdue = (due < pd.Timestamp(inputs.now)).fillna(False).to_numpy(dtype=bool)
    out = pd.DataFrame(
        {
            "grid_id": assign_grids(rows, inputs.grids) if len(rows) else np.zeros(0),
            "overdue": overdue,
        }
    )
    if resolution is not None:
        out["h3_cell"] = _cells(rows.geometry, resolution) if len(rows) else np.zeros(0, object)
    return out
