"""Building assignment, the one rule of "which grid is this building in": each building goes to
the grid holding the largest share of its area, unless it lies mostly outside every grid."""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap import settings
from gridmap.coverage.prepare import (
    POLYGONAL,
    check_frame,
    geom_array,
    ids_at,
    polygon_parts,
    prepare_layer,
)
from gridmap.errors import InputError

#: Shares are compared after rounding to this many decimals (0.01 %): reprojecting a footprint
#: moves its shares by about 1e-6, which must not tip a building across a threshold.
SHARE_DECIMALS = 4


class Assignment(NamedTuple):
    """Buildings assigned to grids.

    Attributes
    ----------
    buildings : pandas.DataFrame
        One row per building, in the buildings' order: ``building_id``, ``grid_id`` (the grid
        holding the largest share of its area; NA when no grid holds any, or when the building
        is ``mostly_outside``), ``share`` (0–1 of its area in that grid; 0 without a grid),
        ``covered_share`` (0–1 of its area in any grid, overlapping grids counted once),
        ``outside_share`` (``1 - covered_share``), ``mostly_outside`` (partly in a grid but at
        least :data:`gridmap.settings.BUILDING_OUTSIDE_SHARE` outside every grid), ``n_grids``
        (grids holding at least :data:`gridmap.settings.SPLIT_MIN_SHARE` of it) and
        ``is_split`` (``n_grids >= 2`` and assigned to a grid).
    splits : pandas.DataFrame
        Long table of the split buildings: ``building_id, grid_id, share`` for each grid holding
        at least :data:`gridmap.settings.SPLIT_MIN_SHARE` of the building, largest share first.
    """

    buildings: pd.DataFrame
    splits: pd.DataFrame


def assign_buildings(
    buildings: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    min_share: float | None = None,
    outside_share: float | None = None,
) -> Assignment:
    """Assign each building to the grid holding the largest share of its area.

    This is the one rule of gridmap for "which grid is this building in": the stored
    ``building.grid_id``, the coverage check, density, planning and the report all follow it.
    A building with no area in any grid is in no grid (``building_unassigned``); a building
    partly in a grid but with at least ``outside_share`` of its footprint outside every grid is
    in no grid either (``mostly_outside``; its households count in the gap it lies in).

    Candidate pairs come from an STRtree query; intersection areas are computed only for
    buildings that are not wholly covered by their single candidate grid, and the union of the
    grids' parts only for buildings meeting two or more grids.

    Parameters
    ----------
    buildings, grids : geopandas.GeoDataFrame
        Polygons with an ``id`` column, in any CRS (empty frames are fine).
    min_share : float, optional
        Smallest share of a building's area for a grid to count in ``n_grids`` and the splits
        (default :data:`gridmap.settings.SPLIT_MIN_SHARE`).
    outside_share : float, optional
        Share of a building's area outside every grid from which it is ``mostly_outside``,
        in (0, 1] (default :data:`gridmap.settings.BUILDING_OUTSIDE_SHARE`; 1 turns it off).

    Returns
    -------
    Assignment

    Raises
    ------
    InputError
        A layer lacks ``id``, a CRS or polygons, or ``outside_share`` is not in (0, 1].
    """
    check_frame(buildings, "buildings", ("id",), POLYGONAL)
    check_frame(grids, "grids", ("id",), POLYGONAL)
    # Shares are ratios of areas inside one building, the same in any CRS at this scale (in
    # WGS 84 degrees too, to ~1e-6), so the buildings stay in their own CRS: reprojecting a
    # million polygons would cost more than the whole assignment.
    if pyproj.CRS.from_user_input(grids.crs) != pyproj.CRS.from_user_input(buildings.crs):
        grids = grids.to_crs(buildings.crs)
    return assign_prepared(
        prepare_layer(buildings, None), prepare_layer(grids, None), min_share, outside_share
    )


def valid_outside_share(outside_share: float | None) -> float:
    """The mostly-outside threshold: ``outside_share`` or the setting, checked in (0, 1].

    Raises
    ------
    InputError
        When it is not a number in (0, 1].
    """
    value = settings.BUILDING_OUTSIDE_SHARE if outside_share is None else outside_share
    if not isinstance(value, int | float) or not 0 < value <= 1:
        raise InputError(
            "楼栋网格外比例阈值须大于 0、不大于 1 / the share of a building outside every grid "
            f"(BUILDING_OUTSIDE_SHARE) must be in (0, 1], got {value!r}"
        )
    return float(value)


def assign_prepared(
    buildings: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    min_share: float | None = None,
    outside_share: float | None = None,
) -> Assignment:
    """:func:`assign_buildings` on layers already prepared (:func:`prepare_layer`)."""
    min_share = settings.SPLIT_MIN_SHARE if min_share is None else min_share
    threshold = valid_outside_share(outside_share)
    bgeo, ggeo = geom_array(buildings), geom_array(grids)
    n = len(bgeo)
    pairs, pieces = _assignment_pairs(bgeo, ggeo)
    keep = (pairs["share"] > 0).to_numpy()
    pairs, pieces = pairs[keep].reset_index(drop=True), pieces[keep]
    best = pairs.sort_values(["b", "share", "g"], ascending=[True, False, True])
    best = best.drop_duplicates("b").set_index("b")
    material = pairs[pairs["share"] >= min_share]
    n_grids = material.groupby("b").size().reindex(range(n), fill_value=0).to_numpy()
    covered = _covered_shares(bgeo, ggeo, pairs, pieces)
    outside = np.clip(1.0 - covered, 0.0, 1.0)
    in_some = np.round(covered, SHARE_DECIMALS) > 0
    mostly = in_some & (np.round(outside, SHARE_DECIMALS) >= threshold)
    has_grid = in_some & ~mostly
    grid_pos = best["g"].reindex(range(n), fill_value=-1).to_numpy()
    grid_pos = np.where(has_grid, grid_pos, -1)
    share = best["share"].reindex(range(n), fill_value=0.0).to_numpy()
    is_split = (n_grids >= 2) & has_grid
    table = pd.DataFrame(
        {
            "building_id": buildings["id"].to_numpy(),
            "grid_id": ids_at(grids["id"], grid_pos).to_numpy(),
            "share": np.where(has_grid, share, 0.0),
            "covered_share": covered,
            "outside_share": outside,
            "mostly_outside": mostly,
            "n_grids": n_grids,
            "is_split": is_split,
        }
    )
    split = material[is_split[material["b"].to_numpy()]]
    split = split.sort_values(["b", "share", "g"], ascending=[True, False, True])
    splits = pd.DataFrame(
        {
            "building_id": buildings["id"].to_numpy()[split["b"].to_numpy()],
            "grid_id": grids["id"].to_numpy()[split["g"].to_numpy()],
            "share": split["share"].to_numpy(),
        }
    )
    return Assignment(table, splits)


def _assignment_pairs(bgeo: np.ndarray, ggeo: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Building–grid pairs whose geometries intersect, with the share of the building's area
    in the grid (positions ``b`` into the buildings, ``g`` into the grids), and each pair's
    intersection (None where the grid covers the building whole)."""
    if len(bgeo) == 0 or len(ggeo) == 0:
        empty = pd.DataFrame({"b": [], "g": [], "share": []}).astype({"b": int, "g": int})
        return empty, np.empty(0, dtype=object)
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
    pieces = np.full(len(b), None, dtype=object)
    pieces[rest] = shapely.intersection(bgeo[b[rest]], ggeo[g[rest]])
    inter[rest] = shapely.area(pieces[rest])
    share = np.divide(inter, barea, out=np.ones_like(inter), where=barea > 0)
    frame = pd.DataFrame({"b": b, "g": g, "share": np.clip(share, 0.0, 1.0)})
    return frame, pieces


def _covered_shares(
    bgeo: np.ndarray, ggeo: np.ndarray, pairs: pd.DataFrame, pieces: np.ndarray
) -> np.ndarray:
    """Share of each building's area inside any grid: the sum of its shares in the grids, but
    the area of the union of its parts in the grids for a building meeting two or more grids
    that overlap each other (so overlapping grids count once)."""
    b = pairs["b"].to_numpy()
    share = pairs["share"].to_numpy()
    covered = np.bincount(b, weights=share, minlength=len(bgeo))
    if len(b) == 0:
        return covered
    overlapping = _overlapping(ggeo)[pairs["g"].to_numpy()]
    union = np.bincount(b, weights=overlapping, minlength=len(bgeo))[b] >= 2
    if union.any():
        parts, index = polygon_parts(pieces[union])
        owner = b[union][index]
        order = np.argsort(owner, kind="stable")
        parts, owner = parts[order], owner[order]
        owners, compact = np.unique(owner, return_inverse=True)
        merged = shapely.make_valid(
            shapely.multipolygons(parts, indices=compact), method="structure"
        )
        area = shapely.area(bgeo[owners])
        covered[owners] = np.divide(
            shapely.area(merged), area, out=np.ones_like(area), where=area > 0
        )
    return np.clip(covered, 0.0, 1.0)


def _overlapping(ggeo: np.ndarray) -> np.ndarray:
    """Whether each grid shares area (interiors meeting) with another grid."""
    flags = np.zeros(len(ggeo), dtype=bool)
    a, b = shapely.STRtree(ggeo).query(ggeo, predicate="intersects")
    a, b = a[a < b], b[a < b]
    inner = shapely.relate_pattern(ggeo[a], ggeo[b], "2********")
    flags[a[inner]] = True
    flags[b[inner]] = True
    return flags
