"""Station siting: the maximal covering location problem (MCLP), solved exactly with CBC.

:func:`candidate_sites` offers buildings without households and a regular lattice of points;
:func:`site_stations` chooses ``k`` of them to bring the most households beyond reach within the
walking radius (:func:`solve_mclp`, :class:`spopt.locate.MCLP`) and returns a
:class:`SitingResult` with each site's gain.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp
import shapely
from spopt.locate import MCLP

from gridmap import settings
from gridmap.crs import metric_crs
from gridmap.errors import InputError
from gridmap.planning.facts import household_counts, nearest_distance
from gridmap.validation import require_frame


def candidate_sites(
    buildings: gpd.GeoDataFrame,
    area: gpd.GeoDataFrame | None = None,
    spacing_m: float | None = settings.PLANNING_CANDIDATE_SPACING_M,
    include_buildings: bool = True,
) -> gpd.GeoDataFrame:
    """Candidate sites for new stations: buildings without households and a regular lattice.

    Parameters
    ----------
    buildings : GeoDataFrame
        ``id, households`` and polygons (``name``, ``code`` kept for labels).
    area : GeoDataFrame, optional
        Polygons (communities) the lattice fills; default the buildings' convex hull.
    spacing_m : float or None
        Lattice spacing in metres; None or 0 for no lattice.
    include_buildings : bool
        Offer the public / non-residential buildings (households == 0) of the street.

    Returns
    -------
    GeoDataFrame
        ``site_id`` (``b<building id>`` or ``p<n>``), ``kind`` (``building`` / ``lattice``),
        ``label`` and points (EPSG:4326).
    """
    require_frame(buildings, "buildings", ("id", "households"), geo=True)
    frames = []
    if include_buildings and len(buildings):
        public = buildings[household_counts(buildings) == 0]
        name = public["name"] if "name" in public else public["id"].astype(str)
        frames.append(
            gpd.GeoDataFrame(
                {
                    "site_id": [f"b{i}" for i in public["id"]],
                    "kind": "building",
                    "label": name.astype(str).to_numpy(),
                },
                geometry=shapely.point_on_surface(np.asarray(public.geometry.values)),
                crs=buildings.crs,
            ).to_crs(settings.STORAGE_SRID)
        )
    if spacing_m:
        if spacing_m <= 0:
            raise InputError(f"候选点间距须为正数 / spacing_m must be positive, got {spacing_m}")
        base = area if area is not None and len(area) else buildings
        if len(base):
            crs = metric_crs(base)
            shape = shapely.union_all(np.asarray(base.to_crs(crs).geometry.values))
            if area is None:
                shape = shape.convex_hull
            minx, miny, maxx, maxy = shape.bounds
            xs = np.arange(minx + spacing_m / 2, maxx, spacing_m)
            ys = np.arange(miny + spacing_m / 2, maxy, spacing_m)
            gx, gy = np.meshgrid(xs, ys)
            points = shapely.points(gx.ravel(), gy.ravel())
            inside = shapely.contains_xy(shape, gx.ravel(), gy.ravel())
            points = points[inside]
            frames.append(
                gpd.GeoDataFrame(
                    {
                        "site_id": [f"p{i}" for i in range(len(points))],
                        "kind": "lattice",
                        "label": [f"候选点 {i + 1}" for i in range(len(points))],
                    },
                    geometry=points,
                    crs=crs,
                ).to_crs(settings.STORAGE_SRID)
            )
    if not frames:
        return gpd.GeoDataFrame(
            {"site_id": [], "kind": [], "label": []}, geometry=[], crs=settings.STORAGE_SRID
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=settings.STORAGE_SRID)


@dataclass(frozen=True)
class SitingResult:
    """New service stations chosen by the maximal covering location problem.

    Attributes
    ----------
    sites : GeoDataFrame
        The chosen sites (EPSG:4326), in order of gain: ``site_id, kind, label``, ``alone``
        (households beyond reach today that this site alone would bring in), ``gain``
        (households it adds after the sites listed before it: the gains sum to the total),
        ``order`` (1, 2, …).
    before, after : int
        Households within the radius of a station, today and with the new sites.
    households : int
        Households of the buildings considered.
    radius_m : float
    k : int
        Sites asked for (``len(sites)`` is smaller when fewer sites add anything).
    status : str
        The solver's status (``"Optimal"``).
    buildings : DataFrame
        ``building_id, households, covered_before, covered_after``.
    """

    sites: gpd.GeoDataFrame
    before: int
    after: int
    households: int
    radius_m: float
    k: int
    status: str
    buildings: pd.DataFrame

    @property
    def gained(self) -> int:
        """Households the new sites bring within reach."""
        return self.after - self.before

    def share(self, which: str = "after") -> float:
        """Share of households within reach, ``"before"`` or ``"after"``."""
        value = self.after if which == "after" else self.before
        return value / self.households if self.households else 1.0


def _coverage_matrix(
    demand: np.ndarray, sites: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (demand, site) within the radius, found with an STRtree (no full matrix)."""
    if len(demand) == 0 or len(sites) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    d, s = shapely.STRtree(sites).query(demand, predicate="dwithin", distance=radius)
    return d, s


def solve_mclp(
    covers: np.ndarray, weights: np.ndarray, k: int, time_limit_s: int | None = None
) -> tuple[list[int], str]:
    """Solve the maximal covering location problem with :class:`spopt.locate.MCLP` (CBC).

    Parameters
    ----------
    covers : ndarray of bool, shape (demand, sites)
        Whether each site covers each demand point.
    weights : ndarray, shape (demand,)
        Demand (households) of each point.
    k : int
        Sites to choose.

    Returns
    -------
    (chosen site positions, solver status)
    """
    n_demand, n_sites = covers.shape
    if n_sites == 0 or n_demand == 0 or k == 0:
        return [], "Optimal"
    k = min(k, n_sites)
    cost = np.where(covers, 0.0, 2.0)  # within the radius ⇔ cost ≤ 1
    limit = settings.PLANNING_SOLVER_TIME_LIMIT_S if time_limit_s is None else time_limit_s
    with warnings.catch_warnings():  # PuLP 3.x announces its 4.0 API; CBC is still bundled
        warnings.simplefilter("ignore", DeprecationWarning)
        model = MCLP.from_cost_matrix(
            cost, np.asarray(weights, dtype=float), service_radius=1.0, p_facilities=k
        )
        model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=limit))
    status = pulp.LpStatus[model.problem.status]
    chosen = [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]
    return chosen, status


def site_stations(
    buildings: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    k: int = settings.PLANNING_SITES_K,
    radius_m: float = settings.SERVICE_REACH_M,
    time_limit_s: int | None = None,
) -> SitingResult:
    """Choose ``k`` new station sites that bring the most households within ``radius_m``.

    Parameters
    ----------
    buildings : GeoDataFrame
        The demand: ``id, households`` and polygons (their centroids, as in
        :func:`gridmap.coverage.service_reach`). Scope it to a community by passing only its
        buildings.
    stations : GeoDataFrame
        Existing stations (points); any station, also across a community boundary, serves.
    candidates : GeoDataFrame
        ``site_id`` and points (:func:`candidate_sites`).
    k : int
        New stations, 1 – ``settings.PLANNING_SITES_MAX_K``.
    radius_m : float
        Walking radius (straight line), 300 / 500 / 1000 m.

    Returns
    -------
    SitingResult

    Notes
    -----
    The MCLP is solved exactly (CBC branch and bound) over the households beyond reach of the
    existing stations; the households within reach are covered whatever is chosen, so this is
    the full problem with the existing stations fixed open. Sites covering nothing new are not
    offered to the solver and, when fewer than ``k`` sites add anything, fewer are returned.
    """
    require_frame(buildings, "buildings", ("id", "households"), geo=True)
    require_frame(stations, "stations", ("id",), geo=True)
    require_frame(candidates, "candidates", ("site_id",), geo=True)
    if not isinstance(k, int | np.integer) or not 1 <= k <= settings.PLANNING_SITES_MAX_K:
        raise InputError(
            f"新增站点数须在 1–{settings.PLANNING_SITES_MAX_K} 之间 / k must be 1–"
            f"{settings.PLANNING_SITES_MAX_K}, got {k!r}"
        )
    if not isinstance(radius_m, int | float) or not radius_m > 0:
        raise InputError(f"服务半径须为正数(米) / radius_m must be positive, got {radius_m!r}")
    radius = float(radius_m)
    bld = buildings.reset_index(drop=True)
    households = household_counts(bld)
    crs = metric_crs(bld if len(bld) else candidates)
    demand_pts = shapely.centroid(np.asarray(bld.to_crs(crs).geometry.values, dtype=object))
    covered_before = nearest_distance(demand_pts, stations, crs) <= radius
    beyond = np.flatnonzero(~covered_before & (households > 0))
    cand = candidates.reset_index(drop=True)
    site_pts = np.asarray(cand.to_crs(crs).geometry.values, dtype=object)
    d, s = _coverage_matrix(demand_pts[beyond], site_pts, radius)
    useful = np.unique(s)
    covers = np.zeros((len(beyond), len(useful)), dtype=bool)
    covers[d, np.searchsorted(useful, s)] = True
    weights = households[beyond]
    chosen_pos, status = solve_mclp(covers, weights, int(k), time_limit_s)
    chosen = useful[chosen_pos]
    cov = covers[:, chosen_pos]
    alone = (cov * weights[:, None]).sum(axis=0)
    # attribute the gain site by site, largest first, so the gains add up to the total
    order, taken = [], np.zeros(len(beyond), dtype=bool)
    gains = []
    remaining = list(range(len(chosen)))
    while remaining:
        extra = [float(weights[cov[:, j] & ~taken].sum()) for j in remaining]
        best = remaining[int(np.argmax(extra))]
        order.append(best)
        gains.append(max(extra))
        taken |= cov[:, best]
        remaining.remove(best)
    sites = cand.iloc[chosen[order]].copy() if len(order) else cand.iloc[0:0].copy()
    sites["alone"] = alone[order].astype(np.int64) if len(order) else np.zeros(0, np.int64)
    sites["gain"] = np.asarray(gains, dtype=np.int64)
    sites = sites[sites["gain"] > 0] if len(sites) else sites
    sites["order"] = np.arange(1, len(sites) + 1)
    covered_after = covered_before.copy()
    covered_after[beyond[taken]] = True
    before = int(households[covered_before].sum())
    after = int(households[covered_after].sum())
    table = pd.DataFrame(
        {
            "building_id": bld["id"].to_numpy(),
            "households": households.astype(np.int64),
            "covered_before": covered_before,
            "covered_after": covered_after,
        }
    )
    return SitingResult(
        sites=gpd.GeoDataFrame(sites, crs=settings.STORAGE_SRID).to_crs(settings.STORAGE_SRID),
        before=before,
        after=after,
        households=int(households.sum()),
        radius_m=radius,
        k=int(k),
        status=status,
        buildings=table,
    )
