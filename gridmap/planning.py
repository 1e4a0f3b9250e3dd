"""Planning: which areas are under-covered, where new service stations help most, and what if.

Three tools for the street committee's planners (DESIGN.md §2, issue 9):

Under-covered ranking (:func:`rank_areas`)
    For every grid, or every hexagon of an H3 lattice across the street, one 0–100 score
    combining eight factors (:data:`FACTORS`): households per grid worker, households per
    available member, members per 100 households, the share of households beyond walking reach
    of every station, leadership gaps, open and overdue requests per 100 households, and Gi*
    hotspot membership. Each factor's value becomes a *need* from 0 (fine) to 1 (poor) by the
    linear ramp of ``settings.PLANNING_FACTOR_RANGES``; the score is the weighted mean of the
    needs × 100 with the weights of ``settings.PLANNING_WEIGHTS`` (or the caller's). Every row
    says why, in a Chinese (and an English) sentence naming its top contributing factors.

Station siting (:func:`site_stations`)
    The maximal covering location problem (Church & ReVelle 1974) solved exactly by
    :class:`spopt.locate.MCLP` with PuLP's bundled CBC solver (offline): choose ``k`` new
    stations among candidate sites (:func:`candidate_sites`: buildings without households —
    shops, schools, offices — and a regular lattice of points) to maximise the households
    within the walking radius, given the existing stations. Households already in reach stay
    covered whatever is chosen, so the model is posed over the households beyond reach only
    (the same optimum, a smaller model).

What-if (:func:`what_if_member`, :func:`what_if_worker`, :func:`what_if_station`)
    Add a member to a grid, a grid worker, or a station at a point, and see each grid's score
    change.

Everything here is pure: (Geo)DataFrames in, (Geo)DataFrames out; no database, no clock ("now"
is an input), no UI. Distances are straight lines in the local UTM zone
(:func:`gridmap.crs.metric_crs`), as in :func:`gridmap.coverage.service_reach`.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pulp
import shapely
from spopt.locate import MCLP

from gridmap import settings
from gridmap.crs import metric_crs
from gridmap.errors import InputError
from gridmap.hotspots import OPEN_STATUSES, assign_grids, request_hotspots
from gridmap.validation import require_frame

__all__ = [
    "FACTORS",
    "HOTSPOT_NEED",
    "PlanningInputs",
    "Ranking",
    "SitingResult",
    "WhatIf",
    "candidate_sites",
    "factor_needs",
    "hotspot_classes",
    "rank_areas",
    "site_stations",
    "what_if_member",
    "what_if_station",
    "what_if_worker",
]

log = logging.getLogger(__name__)

#: The factors of the under-covered score: key → (中文, English, unit 中文, unit English).
FACTORS: dict[str, tuple[str, str, str, str]] = {
    "households_per_worker": ("每名网格员服务户数", "Households per grid worker", "户", "hh"),
    "households_per_member": (
        "每名在岗党员联系户数",
        "Households per available member",
        "户",
        "hh",
    ),
    "members_per_100_households": ("每百户党员数", "Members per 100 households", "名", "members"),
    "beyond_reach": ("服务半径外住户占比", "Share of households beyond reach", "", ""),
    "leadership": ("组织缺口", "Leadership gaps", "", ""),
    "open_per_100_households": ("每百户未办结诉求", "Open requests per 100 households", "件", ""),
    "overdue_per_100_households": (
        "每百户超期诉求",
        "Overdue requests per 100 households",
        "件",
        "",
    ),
    "hotspot": ("诉求热点", "Request hotspot", "", ""),
}

#: Need of the hotspot factor by Gi* class (cold spots and not significant: 0).
HOTSPOT_NEED: dict[str, float] = {"hot_99": 1.0, "hot_95": 0.75, "hot_90": 0.5}

UNITS: tuple[str, ...] = ("grid", "h3")

_GRID_COLUMNS = ("id", "code", "community_id", "leader_id", "party_org_id")
_BUILDING_COLUMNS = ("id", "households", "leader_id", "grid_id")
_MEMBER_COLUMNS = ("id", "category", "building_id")
_WORKER_COLUMNS = ("grid_id",)
_REQUEST_COLUMNS = ("id", "status", "due_at")


def _empty_points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": pd.Series(dtype="int64")}, geometry=[], crs=4326)


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanningInputs:
    """The layers the planning tools read, as :mod:`gridmap.repository` loads them.

    Attributes
    ----------
    grids : GeoDataFrame
        Active grids: ``id, code, community_id, leader_id, party_org_id`` and polygons;
        ``name``, ``community_name`` used in labels when present.
    buildings : GeoDataFrame
        ``id, households, leader_id, grid_id`` (the cached grid of the active plan) and
        polygons; ``community_id`` for scoping.
    stations : GeoDataFrame
        Service stations: ``id`` and points.
    members : DataFrame
        ``id, category, building_id``.
    workers : DataFrame
        ``grid_worker`` rows: ``grid_id`` and ``part_time`` (optional, default full-time).
    requests : GeoDataFrame
        ``id, status, due_at`` and points; ``grid_id`` used when it is an active grid.
    now : datetime
        The moment "overdue" is judged at.
    radius_m : float
        Walking radius of a station (300 / 500 / 1000 m).
    organisations : DataFrame, optional
        两新组织 (:data:`gridmap.blindspots.ORGANISATION_COLUMNS`). Given, the leadership factor
        also counts blind spots (:mod:`gridmap.blindspots`): blind-spot buildings and new
        compounds without Party–mass activity space.
    """

    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    members: pd.DataFrame
    workers: pd.DataFrame
    requests: gpd.GeoDataFrame
    now: dt.datetime
    radius_m: float = settings.SERVICE_REACH_M
    organisations: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        require_frame(self.grids, "grids", _GRID_COLUMNS, geo=True)
        require_frame(self.buildings, "buildings", _BUILDING_COLUMNS, geo=True)
        require_frame(self.stations, "stations", ("id",), geo=True)
        require_frame(self.members, "members", _MEMBER_COLUMNS)
        require_frame(self.workers, "workers", _WORKER_COLUMNS)
        require_frame(self.requests, "requests", _REQUEST_COLUMNS, geo=True)
        if not isinstance(self.radius_m, int | float) or not self.radius_m > 0:
            raise InputError(
                f"服务半径须为正数(米) / radius_m must be positive, got {self.radius_m!r}"
            )

    @property
    def crs(self):
        """The metric CRS distances are measured in (UTM zone of the buildings or grids)."""
        frame = self.buildings if len(self.buildings) else self.grids
        return metric_crs(frame)


# --- per-building facts ----------------------------------------------------------------------


def _households(frame: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(frame["households"], errors="coerce").fillna(0).to_numpy(dtype=float)


def _nearest_distance(points: np.ndarray, stations: gpd.GeoDataFrame, crs) -> np.ndarray:
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


def _building_facts(inputs: PlanningInputs, resolution: int | None) -> pd.DataFrame:
    """One row per building: its grid, hexagon, households, members, worker share, reach and
    leadership need — the pieces every unit's factors are summed from."""
    bld = inputs.buildings.reset_index(drop=True)
    crs = inputs.crs
    households = _households(bld)
    metric = np.asarray(bld.to_crs(crs).geometry.values, dtype=object)
    distance = _nearest_distance(shapely.centroid(metric), inputs.stations, crs)

    grids = inputs.grids.set_index("id")
    grid_id = pd.to_numeric(bld["grid_id"], errors="coerce")
    grid_id = grid_id.where(grid_id.isin(grids.index))
    known = grid_id.notna().to_numpy()
    gid = grid_id.to_numpy()

    fte = _worker_fte(inputs.workers)
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


def _worker_fte(workers: pd.DataFrame) -> pd.Series:
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


def _request_units(inputs: PlanningInputs, resolution: int | None) -> pd.DataFrame:
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


# --- needs, scores, explanations -------------------------------------------------------------


def factor_needs(
    values: pd.DataFrame, ranges: Mapping[str, tuple[float, float]] | None = None
) -> pd.DataFrame:
    """Each factor's need, 0 (fine) to 1 (poor), by the linear ramp between its range ends.

    Parameters
    ----------
    values : DataFrame
        One column per factor (raw values); NaN means "nothing to judge" (need 0).
    ranges : mapping, optional
        Factor → (fine, poor); default ``settings.PLANNING_FACTOR_RANGES``. ``fine > poor``
        means lower values are worse.

    Examples
    --------
    >>> factor_needs(pd.DataFrame({"households_per_worker": [100, 350, 900]}))[
    ...     "households_per_worker"].tolist()
    [0.0, 0.5, 1.0]
    """
    ranges = settings.PLANNING_FACTOR_RANGES if ranges is None else ranges
    out = pd.DataFrame(index=values.index)
    for factor in values.columns:
        if factor not in ranges:
            raise InputError(f"未知的因子 / unknown factor {factor!r}; known: {list(FACTORS)}")
        fine, poor = ranges[factor]
        if fine == poor:
            raise InputError(f"factor {factor!r} has an empty range ({fine}, {poor})")
        need = (values[factor].astype(float) - fine) / (poor - fine)
        out[factor] = need.clip(0.0, 1.0).fillna(0.0)
    return out


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    chosen = dict(settings.PLANNING_WEIGHTS if weights is None else weights)
    unknown = sorted(set(chosen) - set(FACTORS))
    if unknown:
        raise InputError(f"未知的权重项 / unknown weight(s) {unknown}; known: {list(FACTORS)}")
    if any(not np.isfinite(w) or w < 0 for w in chosen.values()) or sum(chosen.values()) <= 0:
        raise InputError("权重须为非负数且不全为零 / weights must be non-negative, not all zero")
    return {f: float(chosen.get(f, 0.0)) for f in FACTORS}


def _phrase(factor: str, row: pd.Series, radius: float, zh: bool) -> str:
    """What a factor's value says about a unit, in words."""
    if factor == "households_per_worker":
        if row["workers"] <= 0:
            return "未配网格员" if zh else "no grid worker"
        value = row[factor]
        return f"每名网格员服务 {value:,.0f} 户" if zh else f"{value:,.0f} households per worker"
    if factor == "households_per_member":
        if row["available_members"] <= 0:
            return "无在岗党员" if zh else "no available member"
        value = row[factor]
        return (
            f"每名在岗党员联系 {value:,.0f} 户"
            if zh
            else f"{value:,.0f} households per available member"
        )
    if factor == "members_per_100_households":
        value = row[factor]
        return f"每百户仅 {value:.1f} 名党员" if zh else f"only {value:.1f} members per 100 hh"
    if factor == "beyond_reach":
        share, n = row[factor], row["households_beyond"]
        return (
            f"{share:.0%} 的住户({n:,.0f} 户)在 {radius:,.0f} 米服务半径外"
            if zh
            else f"{share:.0%} of households ({n:,.0f}) beyond {radius:,.0f} m"
        )
    if factor == "leadership":
        parts = []
        if row["no_leader"] >= 0.5:
            parts.append("未配网格长" if zh else "no grid leader")
        if row["no_branch"] >= 0.5:
            parts.append("未建党组织" if zh else "no Party branch")
        if row["no_building_leader"] > 0:
            share = row["no_building_leader"]
            parts.append(
                f"{share:.0%} 住户的楼栋无楼栋长"
                if zh
                else f"{share:.0%} of households lack a building leader"
            )
        if row.get("blind_spots", 0) > 0:
            n = int(row["blind_spots"])
            parts.append(f"党建盲区楼栋 {n} 栋" if zh else f"{n} blind-spot building(s)")
        return "、".join(parts) if zh else ", ".join(parts)
    if factor == "open_per_100_households":
        return (
            f"未办结诉求 {row['open']:,.0f} 件(每百户 {row[factor]:.2f} 件)"
            if zh
            else f"{row['open']:,.0f} open requests ({row[factor]:.2f} per 100 hh)"
        )
    if factor == "overdue_per_100_households":
        return (
            f"超期诉求 {row['overdue']:,.0f} 件"
            if zh
            else f"{row['overdue']:,.0f} overdue requests"
        )
    level = {"hot_99": 99, "hot_95": 95, "hot_90": 90}.get(row["hotspot_class"], 0)
    return f"位于诉求热点({level}% 置信度)" if zh else f"in a request hotspot ({level}%)"


def _explain(table: pd.DataFrame, radius: float, top: int, zh: bool) -> list[str]:
    points = table[[f"points_{f}" for f in FACTORS]].to_numpy()
    names = list(FACTORS)
    out = []
    for i, (_, row) in enumerate(table.iterrows()):
        order = np.argsort(-points[i], kind="stable")
        parts = [
            f"{_phrase(names[j], row, radius, zh)}({points[i, j]:.1f} 分)"
            if zh
            else f"{_phrase(names[j], row, radius, zh)} ({points[i, j]:.1f} pts)"
            for j in order[:top]
            if points[i, j] > 0.05
        ]
        if not parts:
            out.append(
                f"{row['label']}:各项指标均在合理范围内。"
                if zh
                else f"{row['label']}: every factor is within range."
            )
        elif zh:
            out.append(f"{row['label']}:{';'.join(parts)}。")
        else:
            out.append(f"{row['label']}: {'; '.join(parts)}.")
    return out


@dataclass(frozen=True)
class Ranking:
    """Areas ranked by how under-covered they are.

    Attributes
    ----------
    table : GeoDataFrame
        One row per unit (EPSG:4326), highest score first: ``unit_id, label, community_id,
        grid_id`` (for hexagons: the grid holding most of its households), ``households,
        workers`` (full-time equivalent), ``members, available_members, households_beyond,
        open, overdue, hotspot_class``, ``no_leader, no_branch, no_building_leader``, one raw
        value column per factor of :data:`FACTORS`, ``need_<factor>`` (0–1),
        ``points_<factor>`` (its part of the score), ``score`` (0–100), ``rank`` (1 = most
        under-covered), ``why`` (中文) and ``why_en``.
    unit : {"grid", "h3"}
    resolution : int or None
    weights : dict[str, float]
        The weights used (points; the score divides by their sum).
    radius_m : float
    """

    table: gpd.GeoDataFrame
    unit: str
    resolution: int | None
    weights: dict[str, float]
    radius_m: float

    def top(self, n: int = settings.PLANNING_TOP_AREAS) -> gpd.GeoDataFrame:
        """The ``n`` most under-covered units with a score above 0."""
        return self.table[self.table["score"] > 0].head(n)

    def score_of(self, unit_id: object) -> float:
        """The score of one unit."""
        rows = self.table[self.table["unit_id"] == unit_id]
        if rows.empty:
            raise InputError(f"没有该单元 / no unit {unit_id!r} in this ranking")
        return float(rows["score"].iloc[0])


def _grid_labels(grids: pd.DataFrame) -> pd.Series:
    name = grids["name"] if "name" in grids else grids["code"]
    if "community_name" in grids:
        return (grids["community_name"].fillna("").astype(str) + " " + name.astype(str)).str.strip()
    return name.astype(str)


def rank_areas(
    inputs: PlanningInputs,
    unit: str = "grid",
    weights: Mapping[str, float] | None = None,
    hotspots: pd.DataFrame | None = None,
    resolution: int = settings.H3_RESOLUTION,
    community_ids: Sequence[int] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> Ranking:
    """Rank grids (or H3 hexagons) by how under-covered they are, and say why.

    Parameters
    ----------
    inputs : PlanningInputs
    unit : {"grid", "h3"}
        Grids, or hexagons of an H3 lattice across the grids (each hexagon holding at least one
        household).
    weights : mapping, optional
        Points per factor of :data:`FACTORS` (missing factors weigh 0); default
        ``settings.PLANNING_WEIGHTS``. Only their proportions matter.
    hotspots : DataFrame, optional
        ``unit_id, cls`` — Gi* classes of the same units (:func:`hotspot_classes`); without
        it the hotspot factor is 0 everywhere.
    resolution : int
        H3 resolution for ``unit="h3"``.
    community_ids : sequence of int, optional
        Only the grids of these communities (hexagons: those whose main grid is in them).
    ranges : mapping, optional
        (fine, poor) per factor; default ``settings.PLANNING_FACTOR_RANGES``.

    Returns
    -------
    Ranking

    Notes
    -----
    A hexagon's grid workers are its grids' workers shared out by households; its leadership
    need is the household-weighted mean over its buildings of (no grid leader + no branch + no
    building leader) / 3, which for a grid is the same formula with the grid's own leader and
    branch. Units without households have no rates (need 0) but keep their leadership gaps.
    With ``inputs.organisations`` the leadership need has a fourth part, 1 when the unit holds a
    blind spot (``blind_spots``: blind-spot buildings and buildings of new compounds without
    activity space, :mod:`gridmap.blindspots`): (… + blind spot) / 4. The weights are unchanged.
    """
    if unit not in UNITS:
        raise InputError(f"未知的分析单元 / unknown unit {unit!r}; known: {list(UNITS)}")
    chosen = _check_weights(weights)
    facts = _building_facts(inputs, resolution if unit == "h3" else None)
    reqs = _request_units(inputs, resolution if unit == "h3" else None)
    key = "grid_id" if unit == "grid" else "h3_cell"
    facts = facts.assign(
        hh_beyond=np.where(facts["beyond"], facts["households"], 0.0),
        hh_no_bl=facts["households"] * facts["no_building_leader"],
        hh_no_leader=facts["households"] * facts["no_leader"],
        hh_no_branch=facts["households"] * facts["no_branch"],
    )
    sums = facts.dropna(subset=[key]).groupby(key)[
        ["households", "workers", "members", "available_members", "hh_beyond", "hh_no_bl",
         "hh_no_leader", "hh_no_branch", "blind_spot"]
    ].sum()  # fmt: skip
    if unit == "grid":
        grids = inputs.grids.reset_index(drop=True)
        ids = grids["id"].to_numpy()
        sums = sums.reindex(ids, fill_value=0.0)
        hh = sums["households"].to_numpy()
        table = gpd.GeoDataFrame(
            {
                "unit_id": ids,
                "label": _grid_labels(grids).to_numpy(),
                "community_id": grids["community_id"].to_numpy(),
                "grid_id": ids,
            },
            geometry=grids.geometry.to_crs(settings.STORAGE_SRID).to_numpy(),
            crs=settings.STORAGE_SRID,
        )
        table["workers"] = _worker_fte(inputs.workers).reindex(ids, fill_value=0.0).to_numpy()
        table["no_leader"] = grids["leader_id"].isna().to_numpy(dtype=float)
        table["no_branch"] = grids["party_org_id"].isna().to_numpy(dtype=float)
    else:
        table, sums = _hexagon_table(inputs, facts, sums, resolution)
        hh = sums["households"].to_numpy()
        table["workers"] = sums["workers"].to_numpy()
        table["no_leader"] = _ratio(sums["hh_no_leader"], hh)
        table["no_branch"] = _ratio(sums["hh_no_branch"], hh)
    table["households"] = hh
    table["members"] = sums["members"].to_numpy()
    table["available_members"] = sums["available_members"].to_numpy()
    table["households_beyond"] = sums["hh_beyond"].to_numpy()
    table["no_building_leader"] = _ratio(sums["hh_no_bl"], hh)
    table["blind_spots"] = sums["blind_spot"].to_numpy().astype(np.int64)
    # blind spots (with organisations): a fourth part, whether the unit holds any
    blind_parts = 0 if inputs.organisations is None else 1
    open_counts = reqs.dropna(subset=[key]).groupby(key)["overdue"].agg(["size", "sum"])
    open_counts = open_counts.reindex(table["unit_id"].to_numpy(), fill_value=0)
    table["open"] = open_counts["size"].to_numpy(dtype=float)
    table["overdue"] = open_counts["sum"].to_numpy(dtype=float)
    cls = pd.Series("not_significant", index=table["unit_id"].to_numpy(), dtype=object)
    if hotspots is not None:
        require_frame(hotspots, "hotspots", ("unit_id", "cls"))
        given = hotspots.set_index("unit_id")["cls"]
        given = given[~given.index.duplicated()]
        cls = given.reindex(cls.index).fillna("not_significant")
    table["hotspot_class"] = cls.to_numpy()

    has_hh = hh > 0
    w = table["workers"].to_numpy()
    avail = table["available_members"].to_numpy()
    raw = pd.DataFrame(
        {
            # no worker (or no member) for households: as poor as it gets
            "households_per_worker": np.where(
                has_hh, np.divide(hh, w, out=np.full(len(hh), np.inf), where=w > 0), np.nan
            ),
            "households_per_member": np.where(
                has_hh, np.divide(hh, avail, out=np.full(len(hh), np.inf), where=avail > 0),
                np.nan,
            ),
            "members_per_100_households": np.where(
                has_hh, 100.0 * table["members"].to_numpy() / np.where(has_hh, hh, 1), np.nan
            ),
            "beyond_reach": np.where(
                has_hh, table["households_beyond"].to_numpy() / np.where(has_hh, hh, 1), np.nan
            ),
            "leadership": (
                table["no_leader"].to_numpy()
                + table["no_branch"].to_numpy()
                + table["no_building_leader"].to_numpy()
                + np.minimum(table["blind_spots"].to_numpy(), 1) * blind_parts
            ) / (3.0 + blind_parts),
            "open_per_100_households": np.where(
                has_hh, 100.0 * table["open"].to_numpy() / np.where(has_hh, hh, 1), np.nan
            ),
            "overdue_per_100_households": np.where(
                has_hh, 100.0 * table["overdue"].to_numpy() / np.where(has_hh, hh, 1), np.nan
            ),
            "hotspot": table["hotspot_class"].map(HOTSPOT_NEED).fillna(0.0).to_numpy(),
        },
        index=table.index,
    )  # fmt: skip
    needs = factor_needs(raw, ranges)
    total = sum(chosen.values())
    for factor in FACTORS:
        table[factor] = raw[factor].to_numpy()
        table[f"need_{factor}"] = needs[factor].to_numpy()
        table[f"points_{factor}"] = 100.0 * chosen[factor] * needs[factor].to_numpy() / total
    table["score"] = table[[f"points_{f}" for f in FACTORS]].sum(axis=1).round(1)
    if community_ids is not None:
        table = table[table["community_id"].isin(list(community_ids)).to_numpy()]
    table = table.sort_values(["score", "households"], ascending=[False, False], kind="stable")
    table = table.reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    radius = float(inputs.radius_m)
    table["why"] = _explain(table, radius, settings.PLANNING_EXPLAIN_TOP, zh=True)
    table["why_en"] = _explain(table, radius, settings.PLANNING_EXPLAIN_TOP, zh=False)
    return Ranking(
        table=table,
        unit=unit,
        resolution=resolution if unit == "h3" else None,
        weights=chosen,
        radius_m=radius,
    )


def _ratio(part: pd.Series | np.ndarray, whole: np.ndarray) -> np.ndarray:
    part = np.asarray(part, dtype=float)
    return np.divide(part, whole, out=np.zeros(len(part)), where=np.asarray(whole) > 0)


def _hexagon_table(
    inputs: PlanningInputs, facts: pd.DataFrame, sums: pd.DataFrame, resolution: int
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The hexagons holding households, labelled by the grid holding most of them."""
    cells = sums.index[sums["households"].to_numpy() > 0]
    polygons = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
    main = (
        facts.dropna(subset=["h3_cell"])
        .sort_values("households", ascending=False, kind="stable")
        .groupby(["h3_cell", "grid_id"], dropna=False)["households"]
        .sum()
        .reset_index()
        .sort_values(["h3_cell", "households"], ascending=[True, False], kind="stable")
        .drop_duplicates("h3_cell")
        .set_index("h3_cell")["grid_id"]
    )
    grid_of = main.reindex(cells).to_numpy()
    grids = inputs.grids.set_index("id")
    labels = _grid_labels(inputs.grids).set_axis(inputs.grids["id"].to_numpy())
    grid_label = labels.reindex(grid_of).fillna("").to_numpy()
    table = gpd.GeoDataFrame(
        {
            "unit_id": np.asarray(cells, dtype=object),
            "label": [
                f"六边形 {c}" + (f"({g})" if g else "")
                for c, g in zip(cells, grid_label, strict=True)
            ],
            "community_id": grids["community_id"].reindex(grid_of).to_numpy(),
            "grid_id": grid_of,
        },
        geometry=polygons,
        crs=settings.STORAGE_SRID,
    )
    return table, sums.reindex(cells)


def hotspot_classes(
    inputs: PlanningInputs,
    unit: str = "grid",
    resolution: int = settings.H3_RESOLUTION,
    permutations: int = settings.HOTSPOT_PERMUTATIONS,
) -> pd.DataFrame:
    """Gi* class (``unit_id, cls``) of each grid or hexagon, from all requests (counts), as
    :func:`gridmap.hotspots.request_hotspots` finds them; input for :func:`rank_areas`."""
    report = request_hotspots(
        inputs.requests,
        inputs.grids,
        inputs.buildings,
        unit=unit,
        resolution=resolution,
        permutations=permutations,
    )
    return pd.DataFrame(report.cells[["unit_id", "cls"]])


# --- station siting (MCLP) -------------------------------------------------------------------


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
        public = buildings[_households(buildings) == 0]
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
    households = _households(bld)
    crs = metric_crs(bld if len(bld) else candidates)
    demand_pts = shapely.centroid(np.asarray(bld.to_crs(crs).geometry.values, dtype=object))
    covered_before = _nearest_distance(demand_pts, stations, crs) <= radius
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


# --- what-if ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIf:
    """How the ranking changes after one planning step.

    Attributes
    ----------
    before, after : Ranking
    changes : DataFrame
        Units whose score changed: ``unit_id, label, score_before, score_after, delta``
        (negative = less under-covered), ``rank_before, rank_after``; largest drop first.
    target : object or None
        The unit acted on (a grid id), None for a station.
    delta : float
        The target's score change (for a station: the sum over all changed units).
    """

    before: Ranking
    after: Ranking
    changes: pd.DataFrame
    target: object | None
    delta: float


def _compare(before: Ranking, after: Ranking, target: object | None) -> WhatIf:
    cols = ["unit_id", "label", "score", "rank"]
    merged = before.table[cols].merge(
        after.table[["unit_id", "score", "rank"]], on="unit_id", suffixes=("_before", "_after")
    )
    merged["delta"] = (merged["score_after"] - merged["score_before"]).round(1)
    changes = merged[merged["delta"] != 0].sort_values("delta", kind="stable")
    changes = changes[
        ["unit_id", "label", "score_before", "score_after", "delta", "rank_before", "rank_after"]
    ].reset_index(drop=True)
    if target is not None:
        row = merged[merged["unit_id"] == target]
        delta = float(row["delta"].iloc[0]) if len(row) else 0.0
    else:
        delta = float(changes["delta"].sum())
    return WhatIf(before=before, after=after, changes=changes, target=target, delta=delta)


def _check_grid(inputs: PlanningInputs, grid_id: object) -> None:
    if grid_id not in set(inputs.grids["id"]):
        raise InputError(f"网格不存在 / no active grid with id {grid_id!r}")


def what_if_member(
    inputs: PlanningInputs,
    grid_id: int,
    n: int = 1,
    category: str = "resident",
    **rank_options,
) -> WhatIf:
    """Add ``n`` members (of ``category``) living in a grid (in its largest building) and
    rank again. ``rank_options`` go to :func:`rank_areas` (grid unit)."""
    _check_grid(inputs, grid_id)
    in_grid = inputs.buildings[inputs.buildings["grid_id"] == grid_id]
    if in_grid.empty:
        raise InputError(f"网格 {grid_id} 内没有楼栋 / grid {grid_id} holds no building")
    building = in_grid.iloc[int(np.argmax(_households(in_grid)))]["id"]
    start = int(pd.to_numeric(inputs.members["id"], errors="coerce").max() or 0) + 1
    added = pd.DataFrame(
        {"id": range(start, start + n), "category": category, "building_id": building}
    )
    members = pd.concat([inputs.members, added], ignore_index=True)
    return _run(inputs, replace(inputs, members=members), grid_id, rank_options)


def what_if_worker(
    inputs: PlanningInputs, grid_id: int, n: int = 1, part_time: bool = True, **rank_options
) -> WhatIf:
    """Add ``n`` grid workers (part-time 兼职网格员 by default) to a grid and rank again."""
    _check_grid(inputs, grid_id)
    added = pd.DataFrame({"grid_id": [grid_id] * n, "part_time": [part_time] * n})
    workers = pd.concat([inputs.workers, added], ignore_index=True)
    return _run(inputs, replace(inputs, workers=workers), grid_id, rank_options)


def what_if_station(inputs: PlanningInputs, lon: float, lat: float, **rank_options) -> WhatIf:
    """Open a station at (lon, lat) (WGS 84) and rank again; every grid it reaches changes."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(f"坐标不在经纬度范围内 / ({lon}, {lat}) is not a WGS 84 lon/lat")
    start = int(pd.to_numeric(inputs.stations["id"], errors="coerce").max() or 0) + 1
    new = gpd.GeoDataFrame(
        {"id": [start]}, geometry=[shapely.Point(lon, lat)], crs=settings.STORAGE_SRID
    )
    old = inputs.stations[["id", inputs.stations.geometry.name]].to_crs(settings.STORAGE_SRID)
    old = old.rename_geometry("geometry") if old.geometry.name != "geometry" else old
    stations = gpd.GeoDataFrame(pd.concat([old, new], ignore_index=True), crs=4326)
    return _run(inputs, replace(inputs, stations=stations), None, rank_options)


def _run(
    inputs: PlanningInputs, changed: PlanningInputs, target: object | None, options: dict
) -> WhatIf:
    options = {"unit": "grid", **options}
    if options["unit"] != "grid":
        raise InputError("假设分析按网格进行 / what-if runs on grids (unit='grid')")
    return _compare(rank_areas(inputs, **options), rank_areas(changed, **options), target)
