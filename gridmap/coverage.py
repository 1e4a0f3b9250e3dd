"""Coverage analysis: where the grid network of a street is not doing its job.

Checks the rules of DESIGN.md §2 — full coverage without gaps or overlaps, one grid per
building, grid size, leadership, service reach — on whole layers at once (shapely 2 / STRtree,
no per-feature loops), and combines them into a 0–100 score per grid and per community.

Everything here is pure: it takes (Geo)DataFrames as :mod:`gridmap.repository` loads them
(geometry in any CRS, usually EPSG:4326) and returns (Geo)DataFrames; it never touches the
database or the UI. Areas are in m² and distances in m, measured in the local UTM zone chosen
by :func:`gridmap.crs.metric_crs`. The frames returned by the single checks keep that metric
CRS; :func:`check_coverage` returns its problems in EPSG:4326 for the map.

Tolerances (all from :mod:`gridmap.settings`, read at call time)
    A gap, overlap or outside part of at most ``OVERLAP_TOLERANCE_M2`` is numerical noise and
    dropped; one larger than that but below ``SLIVER_MAX_M2`` is reported as a sliver
    (``gap_sliver`` / ``overlap_sliver``), apart from the real gaps and overlaps.

Inputs (columns beyond these are ignored; ``name`` columns are used in messages when present)
    communities : ``id, code`` and polygons.
    grids : ``id, code, community_id, leader_id, party_org_id`` and polygons (active grids).
    buildings : ``id, code, households, leader_id`` and polygons; ``community_id`` optional
        (else found from the building's position).
    stations : ``id`` and points.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap import settings
from gridmap.crs import metric_crs, to_metric
from gridmap.errors import InputError

__all__ = [
    "PROBLEM_COLUMNS",
    "PROBLEM_KINDS",
    "SCORE_PARTS",
    "Assignment",
    "CoverageReport",
    "ServiceReach",
    "assign_buildings",
    "check_coverage",
    "coverage_score",
    "coverage_validity",
    "find_gaps",
    "find_overlaps",
    "grid_households",
    "grid_size_problems",
    "grids_outside_community",
    "leadership_gaps",
    "service_reach",
]

log = logging.getLogger(__name__)

#: What each score part measures (中文, English), for the UI to explain the score.
SCORE_PARTS: dict[str, tuple[str, str]] = {
    "coverage": (
        "覆盖：社区面积中被网格覆盖且不重叠的比例（网格：自身面积中不与其他网格重叠、不超出社区的比例）",
        "Coverage: share of the community covered by grids without overlap (grid: share of its "
        "area neither overlapping another grid nor outside its community)",
    ),
    "assignment": (
        "楼栋归属：住户所在楼栋完整落在一个网格内的比例",
        "Assignment: share of households whose building lies wholly in one grid",
    ),
    "grid_leadership": (
        "网格组织：配备网格长占一半、建立党支部或党小组占一半",
        "Grid leadership: half for a grid leader, half for a Party branch or group",
    ),
    "building_leaders": (
        "楼栋长：住户所在楼栋配有楼栋长的比例",
        "Building leaders: share of households whose building has a building leader",
    ),
    "size": (
        "网格规模：户数在规定范围内得满分，偏少按 户数/下限、偏多按 上限/户数 计",
        "Grid size: full marks within the household norm, else households/min or max/households",
    ),
    "reach": (
        "服务半径：距最近党群服务站在所选半径以内的住户比例",
        "Service reach: share of households within the chosen radius of a service station",
    ),
}

#: Every problem kind, in display order: code → (中文, English, colour).
PROBLEM_KINDS: dict[str, tuple[str, str, str]] = {
    "gap": ("网格未覆盖区域", "Gap in grid coverage", "#e31a1c"),
    "gap_sliver": ("细小缝隙", "Sliver gap", "#fb9a99"),
    "overlap": ("网格重叠", "Overlapping grids", "#ff7f00"),
    "overlap_sliver": ("细小重叠", "Sliver overlap", "#fdbf6f"),
    "outside_community": ("网格超出社区边界", "Grid outside its community", "#6a3d9a"),
    "invalid_coverage": ("网格边界不吻合", "Grid edges do not match", "#cab2d6"),
    "building_unassigned": ("楼栋不在任何网格", "Building in no grid", "#b15928"),
    "building_split": ("楼栋跨网格", "Building split across grids", "#e7298a"),
    "grid_no_leader": ("网格未配网格长", "Grid without a grid leader", "#1f78b4"),
    "grid_no_branch": ("网格未建党组织", "Grid without a Party branch or group", "#a6cee3"),
    "building_no_leader": ("楼栋未配楼栋长", "Building without a building leader", "#33a02c"),
    "grid_too_small": ("网格户数偏少", "Grid below the household norm", "#b2df8a"),
    "grid_too_large": ("网格户数偏多", "Grid above the household norm", "#08519c"),
    "beyond_reach": ("服务半径外住户", "Households beyond service reach", "#f781bf"),
    # Blind spots (gridmap.blindspots), only when check_coverage is given organisations:
    "org_uncovered": ("两新组织未覆盖", "Organisation without Party coverage", "#d73027"),
    "blind_spot_building": ("党建盲区楼宇", "Blind-spot building", "#8c2d04"),
    "compound_no_activity_space": (
        "新建小区未配建党群活动场所",
        "New compound without Party–mass activity space",
        "#4d9221",
    ),
}

#: Columns of :attr:`CoverageReport.problems` (plus the geometry column ``geom``).
PROBLEM_COLUMNS: tuple[str, ...] = (
    "kind",
    "label",
    "community_id",
    "community_code",
    "grid_id",
    "grid_code",
    "other_grid_code",
    "building_id",
    "building_code",
    "area_m2",
    "households",
    "share",
    "distance_m",
    "detail",
)

_POLYGONAL = ("Polygon", "MultiPolygon")
_POLYGON, _MULTIPOLYGON = 3, 6

COMMUNITY_COLUMNS = ("id", "code")
GRID_COLUMNS = ("id", "code", "community_id", "leader_id", "party_org_id")
BUILDING_COLUMNS = ("id", "code", "households", "leader_id")
STATION_COLUMNS = ("id",)


# --- input checks and preparation -------------------------------------------------------------


def _check_frame(
    frame: object, name: str, columns: Sequence[str], geom_types: Sequence[str] | None
) -> None:
    """Fail with a sentence a user understands when a layer cannot be analysed."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a (Geo)DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name} lacks the column(s) {', '.join(missing)}; it needs {', '.join(columns)}"
        )
    if "id" in columns and frame["id"].duplicated().any():
        dupes = frame.loc[frame["id"].duplicated(), "id"].unique()[:5].tolist()
        raise InputError(f"编号重复 / {name} has duplicate ids: {dupes}")
    if geom_types is None:
        return
    if not isinstance(frame, gpd.GeoDataFrame) or frame.active_geometry_name is None:
        raise InputError(f"{name} must be a GeoDataFrame with an active geometry column")
    if frame.crs is None:
        raise InputError(
            f"{name} has no CRS, so its coordinates cannot be measured; "
            f"set one first, e.g. {name}.set_crs(4326)"
        )
    geoms = np.asarray(frame.geometry.values, dtype=object)
    absent = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if absent.any():
        raise InputError(f"缺少图形 / {name} {_some_ids(frame, absent)} have no geometry")
    types = frame.geometry.geom_type
    wrong = ~types.isin(geom_types).to_numpy()
    if wrong.any():
        found = ", ".join(sorted(set(types[wrong])))
        raise InputError(
            f"图形类型不对 / {name} must hold {' or '.join(geom_types)} geometries, but "
            f"{_some_ids(frame, wrong)} are {found}"
        )


def _some_ids(frame: pd.DataFrame, mask: np.ndarray) -> str:
    key = "code" if "code" in frame else "id" if "id" in frame else None
    values = frame.loc[mask, key] if key else frame.index[mask]
    shown = ", ".join(str(v) for v in list(values)[:5])
    more = f" and {int(mask.sum()) - 5} more" if mask.sum() > 5 else ""
    return f"{key or 'rows'} {shown}{more}"


def _analysis_crs(*frames: gpd.GeoDataFrame | None) -> pyproj.CRS | None:
    """The metric CRS to measure in: the frames' own when they share a metre-based projected
    CRS, else the UTM zone of the first non-empty frame; None when every frame is empty."""
    present = [f for f in frames if f is not None and len(f)]
    if not present:
        return None
    first = pyproj.CRS.from_user_input(present[0].crs)
    metric = first.is_projected and all(a.unit_name in ("metre", "meter") for a in first.axis_info)
    if metric and all(pyproj.CRS.from_user_input(f.crs) == first for f in present):
        return first
    return metric_crs(present[0])


def _prepare(frame: gpd.GeoDataFrame, crs: pyproj.CRS | None) -> gpd.GeoDataFrame:
    """The frame in the metric CRS, positionally indexed, with invalid polygons repaired."""
    out = frame.reset_index(drop=True)
    if crs is not None:
        out = to_metric(out, crs)
    geoms = _geoms(out)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        log.warning("repairing %d invalid geometries (%s)", invalid.sum(), _some_ids(out, invalid))
        fixed = geoms.copy()
        fixed[invalid] = _polygonal(shapely.make_valid(geoms[invalid]))
        out = out.copy()
        out[out.geometry.name] = gpd.GeoSeries(fixed, crs=out.crs)
    return out


def _geoms(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(frame.geometry.values, dtype=object)


def _polygon_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polygons inside each geometry (lines and points of collections dropped), with the
    index of the geometry each came from."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    subparts, sub_index = shapely.get_parts(parts, return_index=True)  # multi inside collection
    index = index[sub_index]
    polygon = shapely.get_type_id(subparts) == _POLYGON
    return subparts[polygon], index[polygon]


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Each geometry reduced to its polygonal part: a Polygon when it has one, else a
    MultiPolygon (empty when it has none)."""
    geoms = np.asarray(geoms, dtype=object)
    out = shapely.empty(len(geoms), geom_type=shapely.GeometryType.MULTIPOLYGON)
    parts, index = _polygon_parts(geoms)
    if len(parts):
        shapely.multipolygons(parts, indices=index, out=out)
    single = np.bincount(index, minlength=len(geoms)) == 1
    out[single] = shapely.get_geometry(out[single], 0)  # a lone polygon stays a Polygon
    return out


def _ids_at(ids: pd.Series, positions: np.ndarray) -> pd.Series:
    """``ids`` at the given positions, missing (NA) where a position is -1."""
    positions = np.asarray(positions, dtype=np.int64)
    if len(ids) == 0:
        return pd.Series([pd.NA] * len(positions), dtype=object)
    values = ids.iloc[np.where(positions >= 0, positions, 0)].reset_index(drop=True)
    values = values.astype("Int64") if pd.api.types.is_integer_dtype(ids) else values.astype(object)
    values[positions < 0] = pd.NA
    return values


def _display_names(frame: pd.DataFrame) -> pd.Series:
    """What to call each row in a message: its ``name`` where it has one, else its ``code``."""
    code = frame["code"].astype(str) if "code" in frame else frame["id"].astype(str)
    if "name" not in frame:
        return code
    return frame["name"].where(frame["name"].notna() & (frame["name"] != ""), code).astype(str)


def _households(buildings: pd.DataFrame) -> np.ndarray:
    if "households" not in buildings:
        return np.zeros(len(buildings), dtype=np.int64)
    values = pd.to_numeric(buildings["households"], errors="coerce").fillna(0)
    return values.to_numpy(dtype=np.int64)


def _empty_geoframe(columns: Sequence[str], crs: pyproj.CRS | int | None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=crs)


# --- building assignment ----------------------------------------------------------------------


class Assignment(NamedTuple):
    """Buildings assigned to grids.

    Attributes
    ----------
    buildings : pandas.DataFrame
        One row per building: ``building_id``, ``grid_id`` (the grid holding the largest share
        of its area; NA when no grid holds any), ``share`` (0–1 of its area in that grid),
        ``covered_share`` (0–1 of its area in any grid), ``n_grids`` (grids holding at least
        :data:`gridmap.settings.SPLIT_MIN_SHARE` of it) and ``is_split`` (``n_grids >= 2``).
    splits : pandas.DataFrame
        Long table of the split buildings: ``building_id, grid_id, share`` for each grid holding
        at least :data:`gridmap.settings.SPLIT_MIN_SHARE` of the building, largest share first.
    """

    buildings: pd.DataFrame
    splits: pd.DataFrame


def assign_buildings(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, min_share: float | None = None
) -> Assignment:
    """Assign each building to the grid holding the largest share of its area.

    Candidate pairs come from an STRtree query; intersection areas are computed only for
    buildings that are not wholly covered by their single candidate grid.

    Parameters
    ----------
    buildings, grids : geopandas.GeoDataFrame
        Polygons with an ``id`` column, in any CRS.
    min_share : float, optional
        Smallest share of a building's area for a grid to count in ``n_grids`` and the splits
        (default :data:`gridmap.settings.SPLIT_MIN_SHARE`).

    Returns
    -------
    Assignment
    """
    _check_frame(buildings, "buildings", ("id",), _POLYGONAL)
    _check_frame(grids, "grids", ("id",), _POLYGONAL)
    # Shares are ratios of areas inside one building, the same in any CRS at this scale (in
    # WGS 84 degrees too, to ~1e-6), so the buildings stay in their own CRS: reprojecting a
    # million polygons would cost more than the whole assignment.
    if pyproj.CRS.from_user_input(grids.crs) != pyproj.CRS.from_user_input(buildings.crs):
        grids = grids.to_crs(buildings.crs)
    return _assign(_prepare(buildings, None), _prepare(grids, None), min_share)


def _assign(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, min_share: float | None = None
) -> Assignment:
    min_share = settings.SPLIT_MIN_SHARE if min_share is None else min_share
    bgeo, ggeo = _geoms(buildings), _geoms(grids)
    pairs = _assignment_pairs(bgeo, ggeo)
    pairs = pairs[pairs["share"] > 0]
    best = pairs.sort_values(["b", "share", "g"], ascending=[True, False, True])
    best = best.drop_duplicates("b").set_index("b")
    material = pairs[pairs["share"] >= min_share]
    n_grids = material.groupby("b").size().reindex(range(len(bgeo)), fill_value=0).to_numpy()
    covered = pairs.groupby("b")["share"].sum().reindex(range(len(bgeo)), fill_value=0.0)
    grid_pos = best["g"].reindex(range(len(bgeo)), fill_value=-1).to_numpy()
    table = pd.DataFrame(
        {
            "building_id": buildings["id"].to_numpy(),
            "grid_id": _ids_at(grids["id"], grid_pos).to_numpy(),
            "share": best["share"].reindex(range(len(bgeo)), fill_value=0.0).to_numpy(),
            "covered_share": covered.clip(upper=1.0).to_numpy(),
            "n_grids": n_grids,
            "is_split": n_grids >= 2,
        }
    )
    split = material[n_grids[material["b"].to_numpy()] >= 2]
    split = split.sort_values(["b", "share", "g"], ascending=[True, False, True])
    splits = pd.DataFrame(
        {
            "building_id": buildings["id"].to_numpy()[split["b"].to_numpy()],
            "grid_id": grids["id"].to_numpy()[split["g"].to_numpy()],
            "share": split["share"].to_numpy(),
        }
    )
    return Assignment(table, splits)


def _assignment_pairs(bgeo: np.ndarray, ggeo: np.ndarray) -> pd.DataFrame:
    """Building–grid pairs whose geometries intersect, with the share of the building's area
    in the grid (positions ``b`` into the buildings, ``g`` into the grids)."""
    if len(bgeo) == 0 or len(ggeo) == 0:
        return pd.DataFrame({"b": [], "g": [], "share": []}).astype({"b": int, "g": int})
    b, g = shapely.STRtree(ggeo).query(bgeo, predicate="intersects")
    barea = shapely.area(bgeo)[b]
    candidates = np.bincount(b, minlength=len(bgeo))[b]
    whole = np.zeros(len(b), dtype=bool)
    alone = candidates == 1
    if alone.any():  # one candidate grid: no area needed when it covers the building
        shapely.prepare(ggeo)  # each grid is tested against ~50 buildings: 3.5× faster
        whole[alone] = shapely.covers(ggeo[g[alone]], bgeo[b[alone]])
    inter = barea.copy()
    rest = ~whole
    inter[rest] = shapely.area(shapely.intersection(bgeo[b[rest]], ggeo[g[rest]]))
    share = np.divide(inter, barea, out=np.ones_like(inter), where=barea > 0)
    return pd.DataFrame({"b": b, "g": g, "share": np.clip(share, 0.0, 1.0)})


# --- gaps, overlaps, outside parts, coverage validity -----------------------------------------


def find_gaps(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Parts of each community that none of its grids cover.

    Per community: the community minus the union of its grids, split into separate polygons.
    A community with no grids is one big gap. Parts of at most ``OVERLAP_TOLERANCE_M2`` are
    dropped as noise.

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        ``id, code`` and polygons.
    grids : geopandas.GeoDataFrame
        ``community_id`` and polygons.
    buildings : geopandas.GeoDataFrame, optional
        With ``households``: counted in the gap holding a point inside each building.

    Returns
    -------
    geopandas.GeoDataFrame
        ``community_id, community_code, area_m2, is_sliver`` (area below ``SLIVER_MAX_M2``),
        ``buildings, households`` and the gap polygon, in the metric CRS; largest first within
        each community.
    """
    _check_frame(communities, "communities", COMMUNITY_COLUMNS, _POLYGONAL)
    _check_frame(grids, "grids", ("community_id",), _POLYGONAL)
    if buildings is not None:
        _check_frame(buildings, "buildings", (), _POLYGONAL)
    crs = _analysis_crs(communities, grids, buildings)
    b = None if buildings is None else _prepare(buildings, crs)
    return _gaps(_prepare(communities, crs), _prepare(grids, crs), b)


def _gaps(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
) -> gpd.GeoDataFrame:
    columns = ("community_id", "community_code", "area_m2", "is_sliver", "buildings", "households")
    if len(communities) == 0:
        return _empty_geoframe(columns, communities.crs).rename_geometry("geom")
    cgeo = _geoms(communities)
    covered = np.full(len(cgeo), None, dtype=object)
    if len(grids):
        union = grids[["community_id", grids.geometry.name]].dissolve(by="community_id")
        covered = np.asarray(union.geometry.reindex(communities["id"]).values, dtype=object)
    has_grids = ~shapely.is_missing(covered)
    gap = cgeo.copy()
    gap[has_grids] = shapely.difference(cgeo[has_grids], covered[has_grids])
    parts, index = _polygon_parts(gap)
    area = shapely.area(parts)
    keep = area > settings.OVERLAP_TOLERANCE_M2
    parts, index, area = parts[keep], index[keep], area[keep]
    counts, households = _points_in(parts, buildings)
    frame = gpd.GeoDataFrame(
        {
            "community_id": communities["id"].to_numpy()[index],
            "community_code": communities["code"].to_numpy()[index],
            "area_m2": area,
            "is_sliver": area < settings.SLIVER_MAX_M2,
            "buildings": counts,
            "households": households,
            "_order": index,
        },
        geometry=parts,
        crs=communities.crs,
    ).rename_geometry("geom")
    frame = frame.sort_values(["_order", "area_m2"], ascending=[True, False], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def _points_in(
    areas: np.ndarray, buildings: gpd.GeoDataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Buildings and households whose point-on-surface lies in each area."""
    counts = np.zeros(len(areas), dtype=np.int64)
    households = np.zeros(len(areas), dtype=np.int64)
    if buildings is None or len(buildings) == 0 or len(areas) == 0:
        return counts, households
    points = shapely.point_on_surface(_geoms(buildings))
    p, a = shapely.STRtree(areas).query(points, predicate="intersects")
    first = np.unique(p, return_index=True)[1]  # a point on a shared edge counts once
    p, a = p[first], a[first]
    counts += np.bincount(a, minlength=len(areas))
    households += np.bincount(a, weights=_households(buildings)[p], minlength=len(areas)).astype(
        np.int64
    )
    return counts, households


def find_overlaps(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Pairs of grids that share area.

    Pairs come from an STRtree self-query; the intersection is computed only for pairs whose
    interiors meet. Pairs sharing at most ``OVERLAP_TOLERANCE_M2`` are dropped (no overlap);
    pairs sharing less than ``SLIVER_MAX_M2`` are kept with ``is_sliver`` set.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        ``id`` and polygons; ``code`` and ``community_id`` carried when present.

    Returns
    -------
    geopandas.GeoDataFrame
        ``grid_a, grid_b`` (ids, in input order), ``grid_a_code, grid_b_code, community_id``
        (of grid a), ``area_m2, is_sliver`` and the shared polygon, in the metric CRS.
    """
    _check_frame(grids, "grids", ("id",), _POLYGONAL)
    return _overlaps(_prepare(grids, _analysis_crs(grids)))


def _overlaps(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geo = _geoms(grids)
    a = b = np.zeros(0, dtype=np.int64)
    if len(geo):
        a, b = shapely.STRtree(geo).query(geo, predicate="intersects")
        a, b = a[a < b], b[a < b]
        inner = shapely.relate_pattern(geo[a], geo[b], "2********")  # interiors share area
        a, b = a[inner], b[inner]
    shared = _polygonal(shapely.intersection(geo[a], geo[b]))
    area = shapely.area(shared)
    keep = area > settings.OVERLAP_TOLERANCE_M2
    a, b, shared, area = a[keep], b[keep], shared[keep], area[keep]
    codes = grids["code"] if "code" in grids else grids["id"]
    community = grids["community_id"] if "community_id" in grids else pd.Series([pd.NA] * len(geo))
    return gpd.GeoDataFrame(
        {
            "grid_a": grids["id"].to_numpy()[a],
            "grid_b": grids["id"].to_numpy()[b],
            "grid_a_code": codes.to_numpy()[a],
            "grid_b_code": codes.to_numpy()[b],
            "community_id": community.to_numpy()[a],
            "area_m2": area,
            "is_sliver": area < settings.SLIVER_MAX_M2,
        },
        geometry=shared if len(shared) else [],
        crs=grids.crs,
    ).rename_geometry("geom")


def grids_outside_community(
    grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """The part of each grid lying outside its own community (when above the tolerance).

    Returns
    -------
    geopandas.GeoDataFrame
        ``grid_id, grid_code, community_id, area_m2, share`` (of the grid's area) and the
        outside part, in the metric CRS.

    Raises
    ------
    InputError
        When a grid's ``community_id`` is not among the communities.
    """
    _check_frame(grids, "grids", ("id", "code", "community_id"), _POLYGONAL)
    _check_frame(communities, "communities", ("id",), _POLYGONAL)
    _check_grid_communities(grids, communities)
    crs = _analysis_crs(communities, grids)
    return _outside(_prepare(grids, crs), _prepare(communities, crs))


def _check_grid_communities(grids: pd.DataFrame, communities: pd.DataFrame) -> None:
    unknown = ~grids["community_id"].isin(communities["id"]).to_numpy()
    if unknown.any():
        raise InputError(
            f"网格所属社区不存在 / grids {_some_ids(grids, unknown)} belong to no community given "
            "(their community_id is missing or unknown); pass their communities too"
        )


def _outside(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    ggeo = _geoms(grids)
    cpos = pd.Index(communities["id"]).get_indexer(grids["community_id"])
    outside = _polygonal(shapely.difference(ggeo, _geoms(communities)[cpos]))
    area = shapely.area(outside)
    keep = area > settings.OVERLAP_TOLERANCE_M2
    return gpd.GeoDataFrame(
        {
            "grid_id": grids["id"].to_numpy()[keep],
            "grid_code": grids["code"].to_numpy()[keep],
            "community_id": grids["community_id"].to_numpy()[keep],
            "area_m2": area[keep],
            "share": area[keep] / shapely.area(ggeo[keep]),
        },
        geometry=outside[keep] if keep.any() else [],
        crs=grids.crs,
    ).rename_geometry("geom")


def coverage_validity(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Grids whose edges do not form a valid coverage with their community's other grids.

    Uses :func:`shapely.coverage_invalid_edges` on each community's grids: adjacent grids must
    share their edges exactly, vertex for vertex, and must not overlap. Gaps are allowed here
    (:func:`find_gaps` reports them).

    Returns
    -------
    geopandas.GeoDataFrame
        ``grid_id, grid_code, community_id, length_m`` (of invalid edges) and the invalid edges
        as lines, in the metric CRS; only grids with invalid edges.
    """
    _check_frame(grids, "grids", ("id", "code", "community_id"), _POLYGONAL)
    return _invalid_coverage(_prepare(grids, _analysis_crs(grids)))


def _invalid_coverage(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geo = _geoms(grids)
    edges = shapely.empty(len(geo), geom_type=shapely.GeometryType.LINESTRING)
    for positions in grids.groupby("community_id", sort=False).indices.values():
        edges[positions] = shapely.coverage_invalid_edges(geo[positions])
    length = shapely.length(edges)
    bad = length > 0
    return gpd.GeoDataFrame(
        {
            "grid_id": grids["id"].to_numpy()[bad],
            "grid_code": grids["code"].to_numpy()[bad],
            "community_id": grids["community_id"].to_numpy()[bad],
            "length_m": length[bad],
        },
        geometry=edges[bad] if bad.any() else [],
        crs=grids.crs,
    ).rename_geometry("geom")


# --- leadership, size, service reach ----------------------------------------------------------


def leadership_gaps(grids: pd.DataFrame, buildings: pd.DataFrame) -> pd.DataFrame:
    """Grids without a grid leader or a Party branch/group; buildings with households but no
    building leader.

    Returns
    -------
    pandas.DataFrame
        ``kind`` (``grid_no_leader``, ``grid_no_branch``, ``building_no_leader``), ``grid_id``,
        ``building_id``, ``households`` (of the building; NA for grid rows).
    """
    _check_frame(grids, "grids", ("id", "leader_id", "party_org_id"), None)
    _check_frame(buildings, "buildings", ("id", "households", "leader_id"), None)
    households = _households(buildings)
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
    households = pd.Series(_households(buildings), index=buildings["id"].to_numpy())
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
    _check_frame(grids, "grids", ("id",), None)
    _check_frame(assignment, "assignment", ("building_id", "grid_id"), None)
    _check_frame(buildings, "buildings", ("id", "households"), None)
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
    _check_frame(buildings, "buildings", ("id", "households"), _POLYGONAL)
    _check_frame(stations, "stations", STATION_COLUMNS, ("Point",))
    radius = _radius(radius_m)
    crs = _analysis_crs(buildings, stations)
    return _reach(_prepare(buildings, crs), _prepare(stations, crs), radius, assignment)


def _radius(radius_m: float | None) -> float:
    radius = settings.SERVICE_REACH_M if radius_m is None else radius_m
    if not isinstance(radius, int | float) or not radius > 0:
        choices = "/".join(str(v) for v in settings.LIFE_CIRCLE_M.values())
        raise InputError(
            f"radius_m must be a positive number of metres (e.g. {choices}), got {radius!r}"
        )
    return float(radius)


def _reach(
    buildings: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    radius: float,
    assignment: pd.DataFrame | None,
) -> ServiceReach:
    n = len(buildings)
    households = _households(buildings)
    station_pos = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, np.inf)
    if n and len(stations):
        points = shapely.centroid(_geoms(buildings))
        (b, s), dist = shapely.STRtree(_geoms(stations)).query_nearest(
            points, return_distance=True, all_matches=False
        )
        station_pos[b], distance[b] = s, dist
    table = pd.DataFrame(
        {
            "building_id": buildings["id"].to_numpy(),
            "station_id": _ids_at(stations["id"], station_pos).to_numpy(),
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


# --- the score --------------------------------------------------------------------------------


def coverage_score(parts: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.Series:
    """Combine score parts (each 0–1) into a 0–100 score: the weighted mean × 100.

    Parameters
    ----------
    parts : pandas.DataFrame
        One column per part named in the weights, each a fulfilment between 0 and 1
        (as in :attr:`CoverageReport.grid_scores` / ``community_scores``).
    weights : mapping of str to float, optional
        Points each part weighs; default :data:`gridmap.settings.COVERAGE_SCORE_WEIGHTS`
        (explained in :data:`SCORE_PARTS`).

    Returns
    -------
    pandas.Series
        The score of each row, 0–100, rounded to one decimal.
    """
    weights = dict(settings.COVERAGE_SCORE_WEIGHTS if weights is None else weights)
    missing = [k for k in weights if k not in parts]
    if missing:
        raise InputError(f"score parts lack column(s) {', '.join(missing)}")
    total = sum(weights.values())
    if total <= 0 or any(w < 0 for w in weights.values()):
        raise InputError("score weights must be non-negative and not all zero")
    values = sum(parts[k].astype(float).clip(0.0, 1.0) * w for k, w in weights.items())
    return (pd.Series(values, index=parts.index, dtype=float) * 100.0 / total).round(1)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole, and 1 where the whole is zero (nothing to get wrong)."""
    part, whole = np.asarray(part, dtype=float), np.asarray(whole, dtype=float)
    return np.clip(np.divide(part, whole, out=np.ones_like(whole), where=whole > 0), 0.0, 1.0)


def _size_fulfilment(households: np.ndarray, low: int, high: int) -> np.ndarray:
    h = np.asarray(households, dtype=float)
    small = np.divide(h, low, out=np.ones_like(h), where=low > 0)
    large = np.divide(high, h, out=np.ones_like(h), where=h > 0)
    return np.where(h < low, small, np.where(h > high, large, 1.0))


# --- the whole check --------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageReport:
    """Everything :func:`check_coverage` found.

    Attributes
    ----------
    problems : geopandas.GeoDataFrame
        One row per problem, columns :data:`PROBLEM_COLUMNS` and geometry ``geom`` in
        EPSG:4326: ``kind`` (a key of :data:`PROBLEM_KINDS`), ``label`` (its Chinese name),
        ``community_id/_code``, ``grid_id/_code``, ``other_grid_code`` (overlaps),
        ``building_id/_code``, ``area_m2``, ``households``, ``share``, ``distance_m`` and
        ``detail``, a short Chinese sentence naming the thing and the number.
    grid_scores : pandas.DataFrame
        Per grid: ``grid_id, grid_code, community_id, buildings, households``, the score parts
        (0–1, see :data:`SCORE_PARTS`) and ``score`` (0–100).
    community_scores : pandas.DataFrame
        The same per community (``community_id, community_code``).
    assignment : pandas.DataFrame
        :attr:`Assignment.buildings` plus ``building_code, grid_code, community_id``.
    splits : pandas.DataFrame
        :attr:`Assignment.splits`.
    reach : pandas.DataFrame
        :attr:`ServiceReach.buildings`: each building's nearest station and distance.
    summary : dict
        Headline figures of the whole street (see :func:`check_coverage`).
    community_summary : pandas.DataFrame
        The same figures per community, indexed by community id.
    radius_m : float
        The service radius used.
    metric_crs : pyproj.CRS or None
        The CRS areas and distances were measured in (None for an empty street).
    problem_kinds : mapping
        :data:`PROBLEM_KINDS`, for the legend: kind → (中文, English, colour).
    score_weights : mapping
        :data:`gridmap.settings.COVERAGE_SCORE_WEIGHTS` used for the scores (explained in
        :data:`SCORE_PARTS`).
    """

    problems: gpd.GeoDataFrame
    grid_scores: pd.DataFrame
    community_scores: pd.DataFrame
    assignment: pd.DataFrame
    splits: pd.DataFrame
    reach: pd.DataFrame
    summary: dict[str, float | None]
    community_summary: pd.DataFrame
    radius_m: float
    metric_crs: pyproj.CRS | None = None
    problem_kinds: Mapping[str, tuple[str, str, str]] = field(default_factory=lambda: PROBLEM_KINDS)
    score_weights: Mapping[str, float] = field(
        default_factory=lambda: dict(settings.COVERAGE_SCORE_WEIGHTS)
    )

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return len(self.problems) == 0


def check_coverage(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame | None = None,
    radius_m: float | None = None,
    organisations: pd.DataFrame | None = None,
) -> CoverageReport:
    """Run every coverage check on a street (or part of one) and gather the problems.

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        ``id, code`` (``name`` optional) and polygons.
    grids : geopandas.GeoDataFrame
        The active grids: ``id, code, community_id, leader_id, party_org_id`` (``name``
        optional) and polygons, as :func:`gridmap.repository.active_grids` returns them.
    buildings : geopandas.GeoDataFrame
        ``id, code, households, leader_id`` (``name``, ``community_id`` optional) and polygons.
    stations : geopandas.GeoDataFrame, optional
        Service stations: ``id`` and points. None or empty: every household is beyond reach.
    radius_m : float, optional
        Service radius in metres (300 / 500 / 1000); default ``settings.SERVICE_REACH_M``.
    organisations : pandas.DataFrame, optional
        两新组织 (:data:`gridmap.blindspots.ORGANISATION_COLUMNS`). Given (even empty), the
        blind spots of :mod:`gridmap.blindspots` are added: ``org_uncovered``,
        ``blind_spot_building`` and ``compound_no_activity_space`` (the last from the
        buildings' ``completion_year`` / ``activity_space_reserved``). None: neither.

    Returns
    -------
    CoverageReport
        A gap's ``households`` are those of the buildings in no grid whose point-on-surface
        lies in the gap (a building partly in a grid is that grid's).

        ``summary`` holds: ``communities, grids, buildings, households, community_area_m2,
        gap_area_m2`` (gaps and sliver gaps), ``gaps, gap_slivers, overlap_area_m2`` (area
        covered by two or more grids), ``overlaps, overlap_slivers, outside_area_m2,
        invalid_coverage_grids, unassigned_buildings, unassigned_households,
        split_buildings, grids_no_leader, grids_no_branch, buildings_no_leader,
        grids_too_small, grids_too_large, households_beyond_reach, organisations_uncovered,
        blind_spot_buildings, compounds_no_activity_space, radius_m, problems`` and ``score``
        (mean of the community scores).

    Raises
    ------
    InputError
        A layer lacks a column or a CRS, holds the wrong geometry type, or a grid belongs to
        no community given.
    """
    _check_frame(communities, "communities", COMMUNITY_COLUMNS, _POLYGONAL)
    _check_frame(grids, "grids", GRID_COLUMNS, _POLYGONAL)
    _check_frame(buildings, "buildings", BUILDING_COLUMNS, _POLYGONAL)
    if stations is None:
        stations = gpd.GeoDataFrame({"id": []}, geometry=[], crs=settings.STORAGE_SRID)
    _check_frame(stations, "stations", STATION_COLUMNS, ("Point",))
    _check_grid_communities(grids, communities)
    radius = _radius(radius_m)

    crs = _analysis_crs(communities, grids, buildings, stations)
    com = _prepare(communities, crs)
    grd = _prepare(grids, crs)
    bld = _with_communities(_prepare(buildings, crs), com)
    sta = _prepare(stations, crs)

    assignment = _assign(bld, grd)
    gaps = _gaps(com, grd, _unassigned(bld, assignment.buildings))
    overlaps = _overlaps(grd)
    outside = _outside(grd, com)
    invalid = _invalid_coverage(grd)
    leadership = leadership_gaps(grd, bld)
    sizes = grid_size_problems(grd, assignment.buildings, bld)
    reach = _reach(bld, sta, radius, assignment.buildings)

    ctx = _Context(com, grd, bld, assignment, radius)
    blind = [] if organisations is None else _blind_spot_problems(ctx, organisations, crs)
    problems = _problems(ctx, gaps, overlaps, outside, invalid, leadership, sizes, reach, blind)
    grid_scores = _grid_scores(ctx, overlaps, outside, reach)
    community_scores = _community_scores(ctx, gaps, overlaps, grid_scores, reach)
    community_summary = _community_summary(ctx, problems, gaps, overlaps, community_scores)
    summary = _street_summary(community_summary, problems, radius)
    return CoverageReport(
        problems=problems.to_crs(settings.STORAGE_SRID),
        grid_scores=grid_scores,
        community_scores=community_scores,
        assignment=_assignment_table(ctx),
        splits=assignment.splits,
        reach=reach.buildings,
        summary=summary,
        community_summary=community_summary,
        radius_m=radius,
        metric_crs=crs,
    )


def _with_communities(
    buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Buildings with ``community_id``: their own where given, else the community holding a
    point inside the building."""
    if "community_id" in buildings and buildings["community_id"].notna().all():
        return buildings
    found = np.full(len(buildings), -1, dtype=np.int64)
    if len(buildings) and len(communities):
        points = shapely.point_on_surface(_geoms(buildings))
        p, c = shapely.STRtree(_geoms(communities)).query(points, predicate="intersects")
        first = np.unique(p, return_index=True)[1]
        found[p[first]] = c[first]
    spatial = _ids_at(communities["id"], found)
    out = buildings.copy()
    if "community_id" in out:
        out["community_id"] = out["community_id"].where(out["community_id"].notna(), spatial)
    else:
        out["community_id"] = spatial.to_numpy()
    return out


def _unassigned(buildings: gpd.GeoDataFrame, assignment: pd.DataFrame) -> gpd.GeoDataFrame:
    """Buildings in no grid: the ones whose households a gap holds (a building partly in a
    grid is that grid's, even when its point-on-surface lies in the gap)."""
    return buildings[assignment["grid_id"].isna().to_numpy()]


@dataclass(frozen=True)
class _Context:
    """Prepared layers and lookups shared by the problem and score builders.

    Messages call a grid or building by its community's name and its own (``东岳路社区 第3网格``):
    grid names such as 第3网格 repeat from one community to the next.
    """

    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    assignment: Assignment
    radius: float

    @cached_property
    def community_code(self) -> dict:
        return dict(zip(self.communities["id"], self.communities["code"], strict=True))

    @cached_property
    def community_name(self) -> dict:
        return dict(zip(self.communities["id"], _display_names(self.communities), strict=True))

    @cached_property
    def grid_name(self) -> dict:
        return dict(zip(self.grids["id"], _display_names(self.grids), strict=True))

    @cached_property
    def grid_label(self) -> dict:
        return _prefixed(self.grids, self.community_name)

    @cached_property
    def grid_community(self) -> dict:
        return dict(zip(self.grids["id"], self.grids["community_id"], strict=True))

    @cached_property
    def grid_code(self) -> dict:
        return dict(zip(self.grids["id"], self.grids["code"], strict=True))

    @cached_property
    def building_label(self) -> dict:
        return _prefixed(self.buildings, self.community_name)

    @cached_property
    def building_code(self) -> dict:
        return dict(zip(self.buildings["id"], self.buildings["code"], strict=True))

    @cached_property
    def building_community(self) -> dict:
        return dict(zip(self.buildings["id"], self.buildings["community_id"], strict=True))


def _prefixed(frame: pd.DataFrame, community_names: dict) -> dict:
    """id → "community name + own name" (own name alone outside every community)."""
    names = _display_names(frame)
    return {
        i: f"{community_names[c]} {n}" if c in community_names else n
        for i, c, n in zip(frame["id"], frame["community_id"], names, strict=True)
    }


def _m2(area: float) -> str:
    return f"{area:,.1f} 平方米" if area < 10 else f"{area:,.0f} 平方米"


def _m(distance: float) -> str:
    return f"{distance:,.0f} 米"


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _problem_frame(
    kind: str, rows: dict[str, Sequence], geoms: Sequence, crs: pyproj.CRS | None
) -> gpd.GeoDataFrame:
    """Problems of one kind with every column of :data:`PROBLEM_COLUMNS`."""
    n = len(geoms)
    data: dict[str, object] = {}
    for column in PROBLEM_COLUMNS:
        if column == "kind":
            data[column] = [kind] * n
        elif column == "label":
            data[column] = [PROBLEM_KINDS[kind][0]] * n
        elif column in rows:
            data[column] = pd.Series(list(rows[column]), dtype=object)
        else:
            data[column] = pd.Series([None] * n, dtype=object)
    geometry = np.asarray(list(geoms), dtype=object) if n else []
    return gpd.GeoDataFrame(data, geometry=geometry, crs=crs).rename_geometry("geom")


def _problems(
    ctx: _Context,
    gaps: gpd.GeoDataFrame,
    overlaps: gpd.GeoDataFrame,
    outside: gpd.GeoDataFrame,
    invalid: gpd.GeoDataFrame,
    leadership: pd.DataFrame,
    sizes: pd.DataFrame,
    reach: ServiceReach,
    extra: Sequence[gpd.GeoDataFrame] = (),
) -> gpd.GeoDataFrame:
    crs = ctx.grids.crs
    frames = [
        *extra,
        *_gap_problems(ctx, gaps, crs),
        *_overlap_problems(ctx, overlaps, crs),
        _outside_problems(ctx, outside, crs),
        _invalid_problems(ctx, invalid, crs),
        *_assignment_problems(ctx, crs),
        *_leadership_problems(ctx, leadership, crs),
        *_size_problems(ctx, sizes, crs),
        _reach_problems(ctx, reach, crs),
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return _problem_frame("gap", {}, [], crs)
    problems = pd.concat(frames, ignore_index=True)
    order = {kind: i for i, kind in enumerate(PROBLEM_KINDS)}
    code_order = {c: i for i, c in enumerate(sorted(ctx.community_code.values()))}
    problems = problems.assign(
        _k=problems["kind"].map(order),
        _c=problems["community_code"].map(code_order).fillna(len(code_order)),
        _a=-pd.to_numeric(problems["area_m2"], errors="coerce").fillna(0.0),
    )
    problems = problems.sort_values(["_k", "_c", "_a"], kind="stable")
    problems = problems.drop(columns=["_k", "_c", "_a"]).reset_index(drop=True)
    return gpd.GeoDataFrame(problems, geometry="geom", crs=crs)


def _gap_problems(ctx: _Context, gaps: gpd.GeoDataFrame, crs: pyproj.CRS) -> list:
    names = ctx.community_name
    frames = []
    for kind, mask in (("gap", ~gaps["is_sliver"]), ("gap_sliver", gaps["is_sliver"])):
        part = gaps[mask.to_numpy(dtype=bool)]
        if kind == "gap":
            details = [
                f"{names[c]} 有 {_m2(a)}未被任何网格覆盖（{n} 栋楼、{h:,} 户）"
                for c, a, n, h in zip(
                    part["community_id"],
                    part["area_m2"],
                    part["buildings"],
                    part["households"],
                    strict=True,
                )
            ]
        else:
            details = [
                f"{names[c]} 网格之间有 {_m2(a)}的细小缝隙"
                for c, a in zip(part["community_id"], part["area_m2"], strict=True)
            ]
        rows = {
            "community_id": part["community_id"],
            "community_code": part["community_code"],
            "area_m2": part["area_m2"],
            "households": part["households"],
            "detail": details,
        }
        frames.append(_problem_frame(kind, rows, part.geometry, crs))
    return frames


def _overlap_problems(ctx: _Context, overlaps: gpd.GeoDataFrame, crs: pyproj.CRS) -> list:
    codes = ctx.community_code
    frames = []
    for kind, mask in (
        ("overlap", ~overlaps["is_sliver"]),
        ("overlap_sliver", overlaps["is_sliver"]),
    ):
        part = overlaps[mask.to_numpy(dtype=bool)]
        word = "重叠" if kind == "overlap" else "有细小重叠"
        rows = {
            "community_id": part["community_id"],
            "community_code": [codes[c] for c in part["community_id"]],
            "grid_id": part["grid_a"],
            "grid_code": part["grid_a_code"],
            "other_grid_code": part["grid_b_code"],
            "area_m2": part["area_m2"],
            "detail": [
                f"{_grid_pair(ctx, a, b)} {word} {_m2(s)}"
                for a, b, s in zip(part["grid_a"], part["grid_b"], part["area_m2"], strict=True)
            ],
        }
        frames.append(_problem_frame(kind, rows, part.geometry, crs))
    return frames


def _grid_pair(ctx: _Context, a: object, b: object) -> str:
    """Two grids named for a message: the community once when both are in it."""
    com_a, com_b = ctx.grid_community[a], ctx.grid_community[b]
    if com_a == com_b and com_a in ctx.community_name:
        return f"{ctx.community_name[com_a]} {ctx.grid_name[a]} 与 {ctx.grid_name[b]}"
    return f"{ctx.grid_label[a]} 与 {ctx.grid_label[b]}"


def _outside_problems(
    ctx: _Context, outside: gpd.GeoDataFrame, crs: pyproj.CRS
) -> gpd.GeoDataFrame:
    codes = ctx.community_code
    rows = {
        "community_id": outside["community_id"],
        "community_code": [codes[c] for c in outside["community_id"]],
        "grid_id": outside["grid_id"],
        "grid_code": outside["grid_code"],
        "area_m2": outside["area_m2"],
        "share": outside["share"],
        "detail": [
            f"{ctx.grid_label[g]} 有 {_m2(a)}（{_pct(s)}）超出本社区边界"
            for g, a, s in zip(
                outside["grid_id"], outside["area_m2"], outside["share"], strict=True
            )
        ],
    }
    return _problem_frame("outside_community", rows, outside.geometry, crs)


def _invalid_problems(
    ctx: _Context, invalid: gpd.GeoDataFrame, crs: pyproj.CRS
) -> gpd.GeoDataFrame:
    names, codes = ctx.grid_label, ctx.community_code
    rows = {
        "community_id": invalid["community_id"],
        "community_code": [codes[c] for c in invalid["community_id"]],
        "grid_id": invalid["grid_id"],
        "grid_code": invalid["grid_code"],
        "detail": [
            f"{names[g]} 边界与相邻网格不吻合（无效边长 {length:,.1f} 米）"
            for g, length in zip(invalid["grid_id"], invalid["length_m"], strict=True)
        ],
    }
    return _problem_frame("invalid_coverage", rows, invalid.geometry, crs)


def _building_rows(ctx: _Context, building_ids: pd.Series) -> dict[str, list]:
    communities, codes = ctx.building_community, ctx.community_code
    com = [communities[b] for b in building_ids]
    return {
        "community_id": com,
        "community_code": [codes.get(c) for c in com],
        "building_id": list(building_ids),
        "building_code": [ctx.building_code[b] for b in building_ids],
    }


def _assignment_problems(ctx: _Context, crs: pyproj.CRS) -> list:
    table = ctx.assignment.buildings
    geoms = _geoms(ctx.buildings)
    households = _households(ctx.buildings)
    names, grid_names = ctx.building_label, ctx.grid_name
    lone = table["grid_id"].isna().to_numpy()
    ids = table.loc[lone, "building_id"]
    rows = _building_rows(ctx, ids)
    rows["households"] = households[lone]
    rows["detail"] = [
        f"{names[b]}（{h:,} 户）不在任何网格内" for b, h in zip(ids, households[lone], strict=True)
    ]
    unassigned = _problem_frame("building_unassigned", rows, geoms[lone], crs)

    split = table["is_split"].to_numpy()
    ids = table.loc[split, "building_id"]
    shares = ctx.assignment.splits.groupby("building_id", sort=False)
    listed = {
        b: "、".join(
            f"{grid_names[g]} {_pct(s)}" for g, s in zip(f["grid_id"], f["share"], strict=True)
        )
        for b, f in shares
    }
    grids = table.loc[split, "grid_id"]
    rows = _building_rows(ctx, ids)
    rows |= {
        "grid_id": list(grids),
        "grid_code": [ctx.grid_code[g] for g in grids],
        "households": households[split],
        "share": table.loc[split, "share"],
        "detail": [
            f"{names[b]} 跨 {n} 个网格：{listed[b]}"
            for b, n in zip(ids, table.loc[split, "n_grids"], strict=True)
        ],
    }
    return [unassigned, _problem_frame("building_split", rows, geoms[split], crs)]


def _leadership_problems(ctx: _Context, leadership: pd.DataFrame, crs: pyproj.CRS) -> list:
    frames = []
    for kind, text in (
        ("grid_no_leader", "未配备网格长"),
        ("grid_no_branch", "未建立党支部或党小组"),
    ):
        ids = leadership.loc[leadership["kind"] == kind, "grid_id"]
        frames.append(
            _grid_problem(ctx, kind, ids, [f"{ctx.grid_label[g]} {text}" for g in ids], crs)
        )
    part = leadership[leadership["kind"] == "building_no_leader"]
    ids = part["building_id"]
    rows = _building_rows(ctx, ids)
    rows["grid_id"] = _ids_at(ctx.grids["id"], _grid_positions(ctx, ids)).tolist()
    rows["grid_code"] = [None if pd.isna(g) else ctx.grid_code[g] for g in rows["grid_id"]]
    rows["households"] = part["households"]
    rows["detail"] = [
        f"{ctx.building_label[b]}（{h:,} 户）未配备楼栋长"
        for b, h in zip(ids, part["households"], strict=True)
    ]
    geoms = _geoms(ctx.buildings)[pd.Index(ctx.buildings["id"]).get_indexer(ids)]
    frames.append(_problem_frame("building_no_leader", rows, geoms, crs))
    return frames


def _blind_spot_problems(
    ctx: _Context, organisations: pd.DataFrame, crs: pyproj.CRS
) -> list[gpd.GeoDataFrame]:
    """Uncovered organisations (at their building, else their community), blind-spot buildings
    and new compounds without activity space (:mod:`gridmap.blindspots`)."""
    from gridmap import blindspots

    status = blindspots.organisation_status(organisations)
    bad = status[~status["covered"]]
    bld_pos = pd.Index(ctx.buildings["id"]).get_indexer(bad["building_id"].to_numpy())
    com_pos = pd.Index(ctx.communities["id"]).get_indexer(bad["community_id"].to_numpy())
    seen = (bld_pos >= 0) | (com_pos >= 0)  # outside the layers given (another scope): skip
    bad, bld_pos, com_pos = bad[seen], bld_pos[seen], com_pos[seen]
    bgeo, cgeo = _geoms(ctx.buildings), _geoms(ctx.communities)
    geoms = np.empty(len(bad), dtype=object)
    inside = bld_pos >= 0
    geoms[inside] = bgeo[bld_pos[inside]]
    geoms[~inside] = shapely.point_on_surface(cgeo[com_pos[~inside]])
    bid = ctx.buildings["id"].to_numpy()
    building_ids = [bid[p] if p >= 0 else None for p in bld_pos]
    com = [ctx.building_community[b] if b is not None else c
           for b, c in zip(building_ids, bad["community_id"], strict=True)]  # fmt: skip
    rows = {
        "community_id": com,
        "community_code": [ctx.community_code.get(c) for c in com],
        "building_id": building_ids,
        "building_code": [ctx.building_code.get(b) for b in building_ids],
        "detail": list(bad["reason"]),
    }
    frames = [_problem_frame("org_uncovered", rows, geoms, crs)]

    spots = blindspots.blind_spot_buildings(organisations, ctx.buildings)
    rows = _building_rows(ctx, spots["building_id"])
    rows["detail"] = [
        f"{ctx.building_label[b]}：{n} 个两新组织中 {u} 个未覆盖（{codes}）"
        for b, n, u, codes in zip(
            spots["building_id"], spots["organisations"], spots["uncovered"],
            spots["uncovered_codes"], strict=True,
        )
    ]  # fmt: skip
    frames.append(_problem_frame("blind_spot_building", rows, _geoms(spots), crs))

    compounds = blindspots.new_compounds_without_space(ctx.buildings)
    com = list(compounds["community_id"])
    rows = {
        "community_id": com,
        "community_code": [ctx.community_code.get(c) for c in com],
        "households": list(compounds["households"]),
        "detail": [
            f"{ctx.community_name.get(c, '')} {name}（{int(y)} 年建成，{n} 栋 {h:,} 户）"
            "未配建党群活动场所"
            for c, name, y, n, h in zip(
                com, compounds["compound"], compounds["completion_year"],
                compounds["buildings"], compounds["households"], strict=True,
            )
        ],
    }  # fmt: skip
    frames.append(_problem_frame("compound_no_activity_space", rows, _geoms(compounds), crs))
    return frames


def _grid_positions(ctx: _Context, building_ids: pd.Series) -> np.ndarray:
    """Position in the grids of the grid each building is assigned to (-1 for none)."""
    table = ctx.assignment.buildings.set_index("building_id")["grid_id"]
    grid_ids = table.reindex(building_ids.to_numpy())
    positions = pd.Index(ctx.grids["id"]).get_indexer(grid_ids.dropna().to_numpy())
    out = np.full(len(grid_ids), -1, dtype=np.int64)
    out[grid_ids.notna().to_numpy()] = positions
    return out


def _grid_problem(
    ctx: _Context, kind: str, grid_ids: pd.Series, details: list[str], crs: pyproj.CRS, **extra
) -> gpd.GeoDataFrame:
    positions = pd.Index(ctx.grids["id"]).get_indexer(grid_ids.to_numpy())
    communities = ctx.grids["community_id"].to_numpy()[positions]
    rows = {
        "community_id": communities,
        "community_code": [ctx.community_code[c] for c in communities],
        "grid_id": list(grid_ids),
        "grid_code": ctx.grids["code"].to_numpy()[positions],
        "detail": details,
        **extra,
    }
    return _problem_frame(kind, rows, _geoms(ctx.grids)[positions], crs)


def _size_problems(ctx: _Context, sizes: pd.DataFrame, crs: pyproj.CRS) -> list:
    frames = []
    for kind, text in (("grid_too_small", "低于下限"), ("grid_too_large", "超过上限")):
        part = sizes[sizes["kind"] == kind]
        details = [
            f"{ctx.grid_label[g]} {h:,} 户，{text} {limit:,} 户"
            for g, h, limit in zip(part["grid_id"], part["households"], part["limit"], strict=True)
        ]
        frames.append(
            _grid_problem(ctx, kind, part["grid_id"], details, crs, households=part["households"])
        )
    return frames


def _reach_problems(ctx: _Context, reach: ServiceReach, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """One problem per grid (and per community for buildings in no grid) holding households
    beyond reach; its geometry is the union of those buildings."""
    far = reach.buildings["beyond"].to_numpy() & (reach.buildings["households"].to_numpy() > 0)
    if not far.any():
        return _problem_frame("beyond_reach", {}, [], crs)
    grid_ids = ctx.assignment.buildings["grid_id"]
    frame = gpd.GeoDataFrame(
        {
            "community_id": ctx.buildings["community_id"].to_numpy()[far],
            "grid_id": grid_ids.to_numpy()[far],
            "households": reach.buildings["households"].to_numpy()[far],
            "distance_m": reach.buildings["distance_m"].to_numpy()[far],
            "_key": grid_ids.astype(object).where(grid_ids.notna(), None).to_numpy()[far],
        },
        geometry=_geoms(ctx.buildings)[far],
        crs=crs,
    )
    frame["_key"] = [
        f"g{g}" if g is not None else f"c{c}"
        for g, c in zip(frame["_key"], frame["community_id"], strict=True)
    ]
    grouped = frame.dissolve(
        by="_key",
        aggfunc={
            "community_id": "first",
            "grid_id": "first",
            "households": "sum",
            "distance_m": "max",
        },
        sort=False,
    )
    grids = grouped["grid_id"]
    in_grid = grids.notna().to_numpy()
    who = [
        ctx.grid_label[g] if ok else f"{ctx.community_name.get(c, c)} 网格外"
        for g, c, ok in zip(grids, grouped["community_id"], in_grid, strict=True)
    ]
    rows = {
        "community_id": grouped["community_id"],
        "community_code": [ctx.community_code.get(c) for c in grouped["community_id"]],
        "grid_id": grids,
        "grid_code": [
            ctx.grid_code[g] if ok else None for g, ok in zip(grids, in_grid, strict=True)
        ],
        "households": grouped["households"],
        "distance_m": grouped["distance_m"],
        "detail": [
            f"{w} 有 {h:,} 户距最近党群服务站超过 {_m(ctx.radius)}"
            + (f"（最远 {_m(d)}）" if np.isfinite(d) else "（本街道无党群服务站）")
            for w, h, d in zip(who, grouped["households"], grouped["distance_m"], strict=True)
        ],
    }
    return _problem_frame("beyond_reach", rows, grouped.geometry, crs)


# --- scores and summaries ---------------------------------------------------------------------


def _grid_scores(
    ctx: _Context, overlaps: gpd.GeoDataFrame, outside: gpd.GeoDataFrame, reach: ServiceReach
) -> pd.DataFrame:
    grids, bld = ctx.grids, ctx.buildings
    ids = grids["id"].to_numpy()
    area = shapely.area(_geoms(grids))
    overlap_area = (
        pd.concat(
            [
                overlaps[["grid_a", "area_m2"]].set_axis(["grid_id", "area"], axis=1),
                overlaps[["grid_b", "area_m2"]].set_axis(["grid_id", "area"], axis=1),
            ]
        )
        .groupby("grid_id")["area"]
        .sum()
        .reindex(ids, fill_value=0.0)
        .to_numpy()
    )
    outside_area = outside.set_index("grid_id")["area_m2"].reindex(ids, fill_value=0.0).to_numpy()
    counts = grid_households(grids, ctx.assignment.buildings, bld)
    table = ctx.assignment.buildings.assign(
        households=_households(bld),
        whole=lambda t: np.where(t["is_split"], 0, t["households"]),
        led=lambda t: np.where(bld["leader_id"].notna().to_numpy(), t["households"], 0),
        near=lambda t: np.where(reach.buildings["beyond"].to_numpy(), 0, t["households"]),
    )
    sums = (
        table[table["grid_id"].notna()]
        .groupby("grid_id")[["households", "whole", "led", "near"]]
        .sum()
        .reindex(ids, fill_value=0)
    )
    households = counts["households"].to_numpy()
    parts = pd.DataFrame(
        {
            "coverage": 1.0 - _share(overlap_area + outside_area, area),
            "assignment": _share(sums["whole"], households),
            "grid_leadership": 0.5 * grids["leader_id"].notna().to_numpy()
            + 0.5 * grids["party_org_id"].notna().to_numpy(),
            "building_leaders": _share(sums["led"], households),
            "size": _size_fulfilment(
                households, settings.GRID_HOUSEHOLDS_MIN, settings.GRID_HOUSEHOLDS_MAX
            ),
            "reach": _share(sums["near"], households),
        }
    )
    head = pd.DataFrame(
        {
            "grid_id": ids,
            "grid_code": grids["code"].to_numpy(),
            "community_id": grids["community_id"].to_numpy(),
            "buildings": counts["buildings"].to_numpy(),
            "households": households,
        }
    )
    out = pd.concat([head, parts], axis=1)
    out["score"] = coverage_score(parts)
    return out


def _community_scores(
    ctx: _Context,
    gaps: gpd.GeoDataFrame,
    overlaps: gpd.GeoDataFrame,
    grid_scores: pd.DataFrame,
    reach: ServiceReach,
) -> pd.DataFrame:
    com, bld = ctx.communities, ctx.buildings
    ids = com["id"].to_numpy()
    area = shapely.area(_geoms(com))
    gap_area = gaps.groupby("community_id")["area_m2"].sum().reindex(ids, fill_value=0.0)
    overlap_area = _union_area_by(overlaps).reindex(ids, fill_value=0.0)
    table = ctx.assignment.buildings.assign(
        community_id=bld["community_id"].to_numpy(),
        households=_households(bld),
        whole=lambda t: np.where(t["is_split"] | t["grid_id"].isna(), 0, t["households"]),
        led=lambda t: np.where(bld["leader_id"].notna().to_numpy(), t["households"], 0),
        near=lambda t: np.where(reach.buildings["beyond"].to_numpy(), 0, t["households"]),
    )
    sums = (
        table.groupby("community_id")[["households", "whole", "led", "near"]]
        .sum()
        .reindex(ids, fill_value=0)
    )
    per_grid = grid_scores.groupby("community_id")[["grid_leadership", "size"]].mean()
    per_grid = per_grid.reindex(ids, fill_value=0.0)  # a community without grids scores 0 here
    households = sums["households"].to_numpy()
    uncovered = gap_area.to_numpy() + overlap_area.to_numpy()
    parts = pd.DataFrame(
        {
            "coverage": 1.0 - _share(uncovered, area),
            "assignment": _share(sums["whole"], households),
            "grid_leadership": per_grid["grid_leadership"].to_numpy(),
            "building_leaders": _share(sums["led"], households),
            "size": per_grid["size"].to_numpy(),
            "reach": _share(sums["near"], households),
        }
    )
    head = pd.DataFrame(
        {
            "community_id": ids,
            "community_code": com["code"].to_numpy(),
            "grids": grid_scores.groupby("community_id")
            .size()
            .reindex(ids, fill_value=0)
            .to_numpy(),
            "households": households,
        }
    )
    out = pd.concat([head, parts], axis=1)
    out["score"] = coverage_score(parts)
    return out


def _union_area_by(overlaps: gpd.GeoDataFrame) -> pd.Series:
    """Area covered by two or more grids, per community (overlapping pairs unioned)."""
    if len(overlaps) == 0:
        return pd.Series(dtype=float)
    merged = overlaps[["community_id", overlaps.geometry.name]].dissolve(by="community_id")
    return pd.Series(shapely.area(_geoms(merged)), index=merged.index)


_COUNTED_KINDS = {
    "gaps": "gap",
    "gap_slivers": "gap_sliver",
    "overlaps": "overlap",
    "overlap_slivers": "overlap_sliver",
    "invalid_coverage_grids": "invalid_coverage",
    "unassigned_buildings": "building_unassigned",
    "split_buildings": "building_split",
    "grids_no_leader": "grid_no_leader",
    "grids_no_branch": "grid_no_branch",
    "buildings_no_leader": "building_no_leader",
    "grids_too_small": "grid_too_small",
    "grids_too_large": "grid_too_large",
    "organisations_uncovered": "org_uncovered",
    "blind_spot_buildings": "blind_spot_building",
    "compounds_no_activity_space": "compound_no_activity_space",
}


def _community_summary(
    ctx: _Context,
    problems: gpd.GeoDataFrame,
    gaps: gpd.GeoDataFrame,
    overlaps: gpd.GeoDataFrame,
    community_scores: pd.DataFrame,
) -> pd.DataFrame:
    com = ctx.communities
    ids = pd.Index(com["id"].to_numpy(), name="community_id")
    kinds = problems.groupby(["community_id", "kind"]).size().unstack(fill_value=0)
    areas = problems.assign(area=pd.to_numeric(problems["area_m2"], errors="coerce"))
    by_kind_area = areas.groupby(["community_id", "kind"])["area"].sum().unstack(fill_value=0.0)
    hh = pd.to_numeric(problems["households"], errors="coerce").fillna(0)
    by_kind_hh = problems.assign(hh=hh).groupby(["community_id", "kind"])["hh"].sum()
    by_kind_hh = by_kind_hh.unstack(fill_value=0)
    scores = community_scores.set_index("community_id")

    def column(frame: pd.DataFrame, kind: str, fill: float = 0) -> np.ndarray:
        if kind not in frame:
            return np.full(len(ids), fill)
        return frame[kind].reindex(ids, fill_value=fill).fillna(fill).to_numpy()

    out = pd.DataFrame(
        {
            "code": com["code"].to_numpy(),
            "name": _display_names(com).to_numpy(),
            "grids": scores["grids"].to_numpy(),
            "buildings": ctx.buildings.groupby("community_id").size().reindex(ids, fill_value=0),
            "households": scores["households"].to_numpy(),
            "community_area_m2": shapely.area(_geoms(com)),
            "gap_area_m2": gaps.groupby("community_id")["area_m2"]
            .sum()
            .reindex(ids, fill_value=0.0),
            "overlap_area_m2": _union_area_by(overlaps).reindex(ids, fill_value=0.0),
            "outside_area_m2": column(by_kind_area, "outside_community"),
            "unassigned_households": column(by_kind_hh, "building_unassigned"),
            "households_beyond_reach": column(by_kind_hh, "beyond_reach"),
        },
        index=ids,
    )
    for name, kind in _COUNTED_KINDS.items():
        out[name] = column(kinds, kind).astype(np.int64)
    out["problems"] = kinds.sum(axis=1).reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
    out["score"] = scores["score"].to_numpy()
    return out


def _street_summary(
    community_summary: pd.DataFrame, problems: pd.DataFrame, radius: float
) -> dict[str, float | None]:
    summary: dict[str, float | None] = {"communities": len(community_summary)}
    for col in community_summary.columns:
        if col in ("code", "name", "score", "problems"):
            continue
        total = community_summary[col].sum()
        summary[col] = float(total) if col.endswith("_m2") else int(total)
    summary["problems"] = len(problems)
    summary["radius_m"] = radius
    scores = community_summary["score"]
    summary["score"] = round(float(scores.mean()), 1) if len(scores) else None
    return summary


def _assignment_table(ctx: _Context) -> pd.DataFrame:
    table = ctx.assignment.buildings.copy()
    table.insert(1, "building_code", ctx.buildings["code"].to_numpy())
    table.insert(
        3, "grid_code", [None if pd.isna(g) else ctx.grid_code[g] for g in table["grid_id"]]
    )
    table["community_id"] = ctx.buildings["community_id"].to_numpy()
    return table


# --- lists and filters for the UI, the CLI and exports ----------------------------------------

#: Columns of :func:`problem_table`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "kind",
    "label",
    "community_code",
    "grid_code",
    "other_grid_code",
    "building_code",
    "area_m2",
    "households",
    "share",
    "distance_m",
    "detail",
    "lon",
    "lat",
)


def filter_problems(
    problems: gpd.GeoDataFrame,
    community_codes: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """The problems of some communities and kinds (None: all), in report order.

    Raises
    ------
    InputError
        For a community code or a kind that does not exist, naming the known ones.
    """
    unknown_kinds = sorted(set(kinds or ()) - set(PROBLEM_KINDS))
    if unknown_kinds:
        raise InputError(
            f"未知的问题类型 / unknown problem kind(s) {unknown_kinds}; "
            f"known: {', '.join(PROBLEM_KINDS)}"
        )
    mask = np.ones(len(problems), dtype=bool)
    if community_codes is not None:
        mask &= problems["community_code"].isin(list(community_codes)).to_numpy()
    if kinds is not None:
        mask &= problems["kind"].isin(list(kinds)).to_numpy()
    return problems[mask]


def problem_table(problems: gpd.GeoDataFrame) -> pd.DataFrame:
    """Problems as a plain table for lists and exports, without geometry.

    Each row keeps the columns of :data:`TABLE_COLUMNS`: the problem's codes and numbers
    (areas rounded to 0.1 m², shares to 0.001, distances to 1 m) and ``lon``/``lat`` of a
    point on the problem (WGS 84, 6 decimals), so a spreadsheet user can find it on any map.
    """
    table = pd.DataFrame(problems.drop(columns=problems.geometry.name))
    if len(problems):
        points = shapely.point_on_surface(np.asarray(problems.geometry.values))
        table["lon"] = np.round(shapely.get_x(points), 6)
        table["lat"] = np.round(shapely.get_y(points), 6)
    else:
        table["lon"] = pd.Series(dtype=float)
        table["lat"] = pd.Series(dtype=float)
    for column, decimals in (("area_m2", 1), ("share", 3), ("distance_m", 0)):
        table[column] = pd.to_numeric(table[column], errors="coerce").round(decimals)
    table["households"] = pd.to_numeric(table["households"], errors="coerce").astype("Int64")
    return table.loc[:, list(TABLE_COLUMNS)].reset_index(drop=True)
