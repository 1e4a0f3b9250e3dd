"""Coverage geometry: gaps, overlaps, grid parts outside their community, and coverage validity
(grid edges that do not match their neighbours')."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap import settings
from gridmap.coverage.assignment import SHARE_DECIMALS, assign_prepared
from gridmap.coverage.prepare import (
    COMMUNITY_COLUMNS,
    POLYGONAL,
    analysis_crs,
    check_frame,
    geom_array,
    household_counts,
    polygon_parts,
    prepare_layer,
    some_ids,
    to_polygonal,
)
from gridmap.errors import InputError


def _empty_geoframe(columns: Sequence[str], crs: pyproj.CRS | int | None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=crs)


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
        ``id`` (``households``) and polygons. The buildings that
        :func:`~gridmap.coverage.assign_buildings` puts in no grid (wholly or mostly outside
        every grid) are counted in the gap holding most of their area.

    Returns
    -------
    geopandas.GeoDataFrame
        ``community_id, community_code, area_m2, is_sliver`` (area below ``SLIVER_MAX_M2``),
        ``buildings, households, building_ids`` (a list per gap, in the buildings' order) and
        the gap polygon, in the metric CRS; largest first within each community.
    """
    check_frame(communities, "communities", COMMUNITY_COLUMNS, POLYGONAL)
    check_frame(grids, "grids", ("community_id",), POLYGONAL)
    if buildings is not None:
        check_frame(buildings, "buildings", ("id",), POLYGONAL)
    crs = analysis_crs(communities, grids, buildings)
    grd = prepare_layer(grids, crs)
    outside = None
    if buildings is not None:
        if "id" not in grd:
            grd = grd.assign(id=np.arange(len(grd)))
        bld = prepare_layer(buildings, crs)
        no_grid = assign_prepared(bld, grd).buildings["grid_id"].isna().to_numpy()
        outside = bld[no_grid]
    return gaps_prepared(prepare_layer(communities, crs), grd, outside)


def gaps_prepared(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
) -> gpd.GeoDataFrame:
    """:func:`find_gaps` on layers already prepared (:func:`prepare_layer`); every building
    given (those in no grid) is counted in the gap holding most of its area."""
    columns = (
        "community_id",
        "community_code",
        "area_m2",
        "is_sliver",
        "buildings",
        "households",
        "building_ids",
    )
    if len(communities) == 0:
        return _empty_geoframe(columns, communities.crs).rename_geometry("geom")
    cgeo = geom_array(communities)
    covered = np.full(len(cgeo), None, dtype=object)
    if len(grids):
        union = grids[["community_id", grids.geometry.name]].dissolve(by="community_id")
        covered = np.asarray(union.geometry.reindex(communities["id"]).values, dtype=object)
    has_grids = ~shapely.is_missing(covered)
    gap = cgeo.copy()
    gap[has_grids] = shapely.difference(cgeo[has_grids], covered[has_grids])
    parts, index = polygon_parts(gap)
    area = shapely.area(parts)
    keep = area > settings.OVERLAP_TOLERANCE_M2
    parts, index, area = parts[keep], index[keep], area[keep]
    counts, households, held = _buildings_in(parts, buildings)
    frame = gpd.GeoDataFrame(
        {
            "community_id": communities["id"].to_numpy()[index],
            "community_code": communities["code"].to_numpy()[index],
            "area_m2": area,
            "is_sliver": area < settings.SLIVER_MAX_M2,
            "buildings": counts,
            "households": households,
            "building_ids": held,
            "_order": index,
        },
        geometry=parts,
        crs=communities.crs,
    ).rename_geometry("geom")
    frame = frame.sort_values(["_order", "area_m2"], ascending=[True, False], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def largest_area_holding(areas: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """For each geometry, the position of the area holding most of it (-1 when none holds any).

    Candidate pairs come from an STRtree query; ties go to the first area. An area holding
    less than 0.005 % of a geometry (0 at :data:`~gridmap.coverage.assignment.SHARE_DECIMALS`
    decimals: edges touching after reprojection) holds none of it.

    Parameters
    ----------
    areas : numpy.ndarray
        Polygons (e.g. the gaps), in the same metric CRS as ``geoms``.
    geoms : numpy.ndarray
        Polygons (e.g. buildings).

    Returns
    -------
    numpy.ndarray
        One int64 position into ``areas`` per geometry.
    """
    found = np.full(len(geoms), -1, dtype=np.int64)
    if len(geoms) == 0 or len(areas) == 0:
        return found
    p, a = shapely.STRtree(areas).query(geoms, predicate="intersects")
    shared = shapely.area(shapely.intersection(geoms[p], areas[a]))
    whole = shapely.area(geoms)[p]
    held = np.round(np.divide(shared, whole, out=np.ones_like(shared), where=whole > 0),
                    SHARE_DECIMALS) > 0  # fmt: skip
    p, a, shared = p[held], a[held], shared[held]
    order = np.lexsort((a, -shared, p))  # per geometry: largest share first, then first area
    p, a = p[order], a[order]
    first = np.unique(p, return_index=True)[1]
    found[p[first]] = a[first]
    return found


def _buildings_in(
    areas: np.ndarray, buildings: gpd.GeoDataFrame | None
) -> tuple[np.ndarray, np.ndarray, list[list]]:
    """Buildings, households and building ids held by each area (each building in the area
    holding most of it)."""
    counts = np.zeros(len(areas), dtype=np.int64)
    households = np.zeros(len(areas), dtype=np.int64)
    if buildings is None or len(buildings) == 0 or len(areas) == 0:
        return counts, households, [[] for _ in range(len(areas))]
    where = largest_area_holding(areas, geom_array(buildings))
    inside = where >= 0
    a = where[inside]
    counts += np.bincount(a, minlength=len(areas))
    households += np.bincount(
        a, weights=household_counts(buildings)[inside], minlength=len(areas)
    ).astype(np.int64)
    ids = buildings["id"].to_numpy() if "id" in buildings else np.arange(len(buildings))
    lists = pd.Series(ids[inside]).groupby(a, sort=True).agg(list)
    held = lists.reindex(range(len(areas))).tolist()
    return counts, households, [h if isinstance(h, list) else [] for h in held]


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
    check_frame(grids, "grids", ("id",), POLYGONAL)
    return overlaps_prepared(prepare_layer(grids, analysis_crs(grids)))


def overlaps_prepared(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """:func:`find_overlaps` on grids already prepared (:func:`prepare_layer`)."""
    geo = geom_array(grids)
    a = b = np.zeros(0, dtype=np.int64)
    if len(geo):
        a, b = shapely.STRtree(geo).query(geo, predicate="intersects")
        a, b = a[a < b], b[a < b]
        inner = shapely.relate_pattern(geo[a], geo[b], "2********")  # interiors share area
        a, b = a[inner], b[inner]
    shared = to_polygonal(shapely.intersection(geo[a], geo[b]))
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
    check_frame(grids, "grids", ("id", "code", "community_id"), POLYGONAL)
    check_frame(communities, "communities", ("id",), POLYGONAL)
    check_grid_communities(grids, communities)
    crs = analysis_crs(communities, grids)
    return outside_prepared(prepare_layer(grids, crs), prepare_layer(communities, crs))


def check_grid_communities(grids: pd.DataFrame, communities: pd.DataFrame) -> None:
    """Fail when a grid's ``community_id`` is not among the communities given."""
    unknown = ~grids["community_id"].isin(communities["id"]).to_numpy()
    if unknown.any():
        raise InputError(
            f"网格所属社区不存在 / grids {some_ids(grids, unknown)} belong to no community given "
            "(their community_id is missing or unknown); pass their communities too"
        )


def outside_prepared(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """:func:`grids_outside_community` on layers already prepared."""
    ggeo = geom_array(grids)
    cpos = pd.Index(communities["id"]).get_indexer(grids["community_id"])
    outside = to_polygonal(shapely.difference(ggeo, geom_array(communities)[cpos]))
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
    check_frame(grids, "grids", ("id", "code", "community_id"), POLYGONAL)
    return invalid_coverage_prepared(prepare_layer(grids, analysis_crs(grids)))


def invalid_coverage_prepared(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """:func:`coverage_validity` on grids already prepared."""
    geo = geom_array(grids)
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
