"""Auto-balance: :func:`auto_balance` groups a community's buildings into contiguous grids
within the household norm by METIS graph partitioning (via pymetis) of the buildings' Voronoi
adjacency with household weights, and draws each group's polygon so neighbouring grids share
their edges and no building is split (:class:`BalanceResult`), without the database.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.errors import InputError
from gridmap.redraw.geometry import polygon_op, polygonal, precision, voronoi_cells
from gridmap.redraw.metrics import int_column

log = logging.getLogger(__name__)


ProgressCallback = Callable[[float, str], None]


@dataclass(frozen=True)
class BalanceResult:
    """A proposed grouping of a community's buildings into grids (see :func:`auto_balance`).

    Attributes
    ----------
    grids : geopandas.GeoDataFrame
        ``group, households, buildings`` and the grid polygon (EPSG:4326), north-west first.
    groups : pandas.Series
        Building id → group number (index into ``grids``).
    feasible : bool
        True when every grid is within the household norm and contiguous.
    message : str
        What was found (中文 / English), including why the norm is infeasible when it is.
    """

    grids: gpd.GeoDataFrame
    groups: pd.Series
    feasible: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def _adjacency(cells: list[shapely.Geometry]) -> list[list[int]]:
    """Rook adjacency of polygons (sharing a border of positive length)."""
    geo = np.asarray(cells, dtype=object)
    neighbours: list[list[int]] = [[] for _ in cells]
    if len(geo) < 2:
        return neighbours
    a, b = shapely.STRtree(geo).query(geo, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.length(shapely.intersection(geo[a], geo[b], grid_size=precision()))
    for i, j, length in zip(a, b, shared, strict=True):
        if length > 0:
            neighbours[i].append(int(j))
            neighbours[j].append(int(i))
    return neighbours


def _components(neighbours: list[list[int]]) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(neighbours)
    rows = [i for i, js in enumerate(neighbours) for _ in js]
    cols = [j for js in neighbours for j in js]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _metis(
    neighbours: list[list[int]], weights: np.ndarray, k: int, low: int, high: int, tries: int
) -> np.ndarray:
    """The best METIS partition into ``k`` contiguous parts over ``tries`` seeds and balance
    tolerances: fewest parts outside [low, high], then the smallest spread."""
    import pymetis

    n = len(neighbours)
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=np.int64)
    xadj = np.zeros(n + 1, dtype=np.int64)
    xadj[1:] = np.cumsum([len(js) for js in neighbours])
    adjncy = np.asarray([j for js in neighbours for j in js], dtype=np.int64)
    graph = pymetis.CSRAdjacency(xadj, adjncy)
    mean = max(float(weights.sum()) / k, 1.0)
    loosest = max(int((high / mean - 1.0) * 1000), 1)
    best, best_key = None, None
    for attempt in range(tries):
        ufactor = max(1, loosest >> (attempt % 4))  # halve the allowed imbalance, then repeat
        options = pymetis.Options(seed=attempt, ufactor=ufactor, contig=True)
        try:
            _, parts = pymetis.part_graph(
                k, graph, vweights=weights.astype(np.int64), options=options
            )
        except RuntimeError as exc:  # METIS could not honour contiguity on this graph
            log.debug("METIS failed (attempt %d): %s", attempt, exc)
            continue
        parts = np.asarray(parts, dtype=np.int64)
        sizes = np.bincount(parts, weights=weights, minlength=k)
        out = int(
            ((sizes < low) | (sizes > high)).sum() + (np.bincount(parts, minlength=k) == 0).sum()
        )
        key = (out, float(sizes.max() - sizes.min()))
        if best_key is None or key < best_key:
            best, best_key = parts, key
        if out == 0:
            break
    if best is None:
        raise InputError("METIS 无法划分该社区 / METIS could not partition this community")
    return best


def auto_balance(
    community: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    households_min: int | None = None,
    households_max: int | None = None,
    progress: ProgressCallback | None = None,
) -> BalanceResult:
    """Group a community's buildings into contiguous grids within the household norm.

    The community is divided into the Voronoi cells of its buildings (clipped to the community);
    cells sharing a border are neighbours. Each connected part of that graph is cut by METIS
    (:func:`pymetis.part_graph` with ``contig`` and household weights) into
    ``round(households / GRID_HOUSEHOLDS_TARGET)`` parts, clamped to what the norm allows;
    ``BALANCE_TRIES`` seeds and balance tolerances are tried and the partition with the fewest
    grids out of the norm is kept. A grid's polygon is its cells, minus other grids' buildings,
    plus its own buildings, within the community, so no building is split.

    Parameters
    ----------
    community : GeoDataFrame
        One row, the community polygon (EPSG:4326).
    buildings : GeoDataFrame
        ``id, households`` and polygons (EPSG:4326).
    households_min, households_max : int, optional
        The norm; default ``settings.GRID_HOUSEHOLDS_MIN`` / ``MAX``.
    progress : callable(fraction, message), optional

    Returns
    -------
    BalanceResult
        ``feasible`` is False, with the reason in ``message``, when no number of grids fits the
        norm (too few households, one building above the maximum), or no partition was found.
    """
    low = settings.GRID_HOUSEHOLDS_MIN if households_min is None else households_min
    high = settings.GRID_HOUSEHOLDS_MAX if households_max is None else households_max
    if low > high:
        raise InputError(f"户数范围为空 / the household norm is empty: {low} > {high}")
    if len(community) != 1:
        raise InputError(f"auto_balance needs exactly one community, got {len(community)}")
    if len(buildings) == 0:
        raise InputError("社区没有楼栋，无法自动划分 / the community has no buildings to group")
    report = progress or (lambda _f, _m: None)
    region = polygonal(community.geometry.iloc[0])
    footprints = [
        polygon_op(shapely.intersection, polygonal(g), region) for g in buildings.geometry.values
    ]
    points = np.asarray(
        [
            shapely.point_on_surface(f if not f.is_empty else polygonal(g))
            for f, g in zip(footprints, buildings.geometry.values, strict=True)
        ],
        dtype=object,
    )
    report(0.05, "计算楼栋邻接 / building adjacency")
    cells = voronoi_cells(points, region)
    neighbours = _adjacency(cells)
    component = _components(neighbours)
    weights = int_column(buildings, "households")
    groups = np.zeros(len(buildings), dtype=np.int64)
    reasons: list[str] = []
    big = weights > high
    if big.any():
        codes = buildings["code"].to_numpy()[big] if "code" in buildings else np.flatnonzero(big)
        reasons.append(
            f"楼栋 {', '.join(map(str, codes[:5]))} 单栋超过 {high} 户 / buildings above {high} "
            "households on their own"
        )
    offset = 0
    labels = np.unique(component)
    for step, c in enumerate(labels):
        members = np.flatnonzero(component == c)
        total = int(weights[members].sum())
        k_low, k_high = math.ceil(total / high), total // low if low > 0 else len(members)
        k = max(1, round(total / settings.GRID_HOUSEHOLDS_TARGET))
        if k_low > k_high:
            reasons.append(
                f"连片区域 {step + 1} 共 {total} 户，无法分成 {low}–{high} 户的网格 / a connected "
                f"area of {total} households cannot be cut into grids of {low}–{high}"
            )
        else:
            k = min(max(k, k_low), k_high)
        k = max(1, min(k, len(members)))
        local = {int(m): i for i, m in enumerate(members)}
        sub = [[local[j] for j in neighbours[m] if j in local] for m in members]
        parts = _metis(sub, weights[members], k, low, high, settings.BALANCE_TRIES)
        groups[members] = parts + offset
        offset += k
        report(0.1 + 0.7 * (step + 1) / len(labels), f"METIS 划分 {step + 1}/{len(labels)}")
    report(0.85, "生成网格边界 / building grid polygons")
    grids = _group_polygons(groups, cells, footprints, region, weights)
    order = np.lexsort(
        (shapely.get_x(shapely.centroid(grids.geometry.values)),
         -shapely.get_y(shapely.centroid(grids.geometry.values)))
    )  # fmt: skip
    renumber = np.empty(len(order), dtype=np.int64)
    renumber[grids["group"].to_numpy()[order]] = np.arange(len(order))
    grids = grids.iloc[order].assign(group=np.arange(len(order))).reset_index(drop=True)
    groups = renumber[groups]
    sizes = grids["households"].to_numpy()
    out = int(((sizes < low) | (sizes > high)).sum())
    split = int((grids["parts"] > 1).sum())
    feasible = not reasons and out == 0 and split == 0
    if feasible:
        message = (
            f"已分成 {len(grids)} 个网格，户数 {sizes.min()}–{sizes.max()}，"
            f"均在 {low}–{high} 户内 / "
            f"{len(grids)} grids of {sizes.min()}–{sizes.max()} households, all within the norm"
        )
    else:
        found = (
            f"最佳结果仍有 {out} 个网格超出 {low}–{high} 户、{split} 个不连片 / the best "
            f"partition still has {out} grids out of the norm and {split} not contiguous"
        )
        message = "；".join([*reasons, found]) if reasons else found
    report(1.0, "完成 / done")
    return BalanceResult(
        grids.drop(columns="parts"),
        pd.Series(groups, index=buildings["id"].to_numpy(), name="group"),
        feasible,
        message,
        {"out_of_norm": out, "not_contiguous": split, "infeasible": reasons},
    )


def _group_polygons(
    groups: np.ndarray,
    cells: list[shapely.Geometry],
    footprints: list[shapely.Geometry],
    region: shapely.Geometry,
    weights: np.ndarray,
) -> gpd.GeoDataFrame:
    """Each group's polygon: its cells, except where another group's building stands, plus its
    own buildings, within the community.

    The cell, building and community outlines are noded once and polygonised into faces; each
    face goes to the group of the building it lies in, else of the cell it lies in, and each
    group is the coverage union of its faces. Neighbouring grids therefore share their edges
    vertex for vertex (a valid coverage, as :func:`shapely.coverage_invalid_edges` checks).
    """
    outlines = [g.boundary for g in (*cells, *footprints, region) if not g.is_empty]
    noded = shapely.union_all(outlines, grid_size=precision())
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    faces = faces[shapely.area(faces) > 0]
    probes = shapely.point_on_surface(faces)
    inside = shapely.intersects(region, probes)
    faces, probes = faces[inside], probes[inside]
    owner = np.full(len(faces), -1, dtype=np.int64)
    for source in (np.asarray(cells, dtype=object), np.asarray(footprints, dtype=object)):
        f, i = shapely.STRtree(source).query(probes, predicate="intersects")
        owner[f] = groups[i]  # buildings come second: a face in a building follows it
    rows = []
    for g in np.unique(groups):
        mine = np.flatnonzero(groups == g)
        own = faces[owner == g]
        shape = polygonal(shapely.coverage_union_all(own)) if len(own) else shapely.MultiPolygon()
        rows.append(
            {
                "group": int(g),
                "households": int(weights[mine].sum()),
                "buildings": len(mine),
                "parts": len(shapely.get_parts(shape)),
                "geom": shape,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geom", crs=settings.STORAGE_SRID)
