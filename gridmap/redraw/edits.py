"""Pure edits of a plan's grid polygons, without the database.

:func:`reshape_grids` gives one grid a new polygon and hands the area it takes or releases to
its neighbours so no new gap or overlap appears; :func:`split_geometry` cuts a grid in two by a
line and :func:`keep_buildings_whole` moves the cut around the buildings it crosses;
:func:`merge_geometries` joins two adjacent grids; :func:`area_for_buildings` finds the part of
a grid that goes with buildings moving out of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import split as shapely_split

from gridmap import settings
from gridmap.errors import InputError
from gridmap.redraw.geometry import (
    area_m2,
    degrees,
    polygon_op,
    polygon_union,
    polygonal,
    precision,
    shared_length,
    voronoi_cells,
)


def reshape_grids(
    grids: Mapping[str, shapely.Geometry],
    target: str,
    new: shapely.Geometry,
    community: shapely.Geometry,
    insist: bool = False,
    snap_m: float | None = None,
) -> dict[str, shapely.Geometry]:
    """Give grid ``target`` the polygon ``new`` and keep the plan free of new gaps and overlaps.

    The new polygon is always clipped to the community. Unless ``insist``: its vertices are
    snapped to neighbouring grid edges within ``snap_m``; neighbours lose the area the new
    polygon takes; each piece of area the grid gives up goes to the neighbour sharing the
    longest border with it (a piece touching no other grid stays with the grid, so no new gap
    opens). With ``insist`` the polygon is taken as drawn and the neighbours are left alone.

    Parameters
    ----------
    grids : mapping of code → geometry
        The plan's grids in WGS 84; ``target`` may be missing (a new grid).
    target : str
    new : shapely geometry
        Polygonal, WGS 84.
    community : shapely geometry
    insist : bool
    snap_m : float, optional
        Default :data:`gridmap.settings.REDRAW_SNAP_M`.

    Returns
    -------
    dict of code → geometry
        Every grid whose geometry changed (``target`` always).

    Raises
    ------
    InputError
        When nothing of the polygon lies in the community, or it would swallow a whole grid.
    """
    snap = degrees(settings.REDRAW_SNAP_M if snap_m is None else snap_m)
    shape = polygon_op(shapely.intersection, polygonal(new), polygonal(community))
    if shape.is_empty:
        raise InputError("新图形不在社区范围内 / the new polygon lies outside the community")
    if insist:
        return {target: shape}
    others = {c: polygonal(g) for c, g in grids.items() if c != target}
    if others:
        edges = shapely.union_all([g.boundary for g in others.values()])
        shape = polygonal(shapely.snap(shape, edges, snap))
        shape = polygon_op(shapely.intersection, shape, polygonal(community))
    changed: dict[str, shapely.Geometry] = {}
    for code, geom in others.items():
        if shapely.relate_pattern(geom, shape, "2********"):
            rest = polygon_op(shapely.difference, geom, shape)
            if area_m2(rest) <= settings.OVERLAP_TOLERANCE_M2:
                raise InputError(
                    f"新图形会完全覆盖网格 {code} / the new polygon would swallow grid {code}: "
                    "merge or delete that grid instead"
                )
            changed[code] = rest
    released = polygon_op(shapely.difference, polygonal(grids.get(target)), shape)
    for piece in shapely.get_parts(released):
        if area_m2(piece) <= settings.OVERLAP_TOLERANCE_M2:
            continue
        current = {c: changed.get(c, g) for c, g in others.items()}
        borders = {c: shared_length(piece, g) for c, g in current.items()}
        best = max(borders, key=lambda c: (borders[c], c), default=None)
        if best is not None and borders[best] > 0:
            changed[best] = polygon_op(shapely.union, current[best], piece)
        else:
            shape = polygon_op(shapely.union, shape, piece)
    changed[target] = shape
    return changed


def _extend_line(line: shapely.Geometry, distance: float) -> shapely.Geometry:
    """Each line part with both ends pushed out by ``distance`` along its end segments."""
    parts = []
    for part in shapely.get_parts(line):
        xy = np.asarray(part.coords, dtype=float)
        if len(xy) < 2:
            continue
        for end, prev in ((0, 1), (-1, -2)):
            d = xy[end] - xy[prev]
            norm = float(np.hypot(*d))
            if norm > 0:
                xy[end] = xy[end] + d / norm * distance
        parts.append(shapely.LineString(xy))
    return shapely.MultiLineString(parts) if len(parts) > 1 else parts[0]


def split_geometry(
    geom: shapely.Geometry, line: shapely.Geometry, snap_m: float | None = None
) -> tuple[shapely.Geometry, shapely.Geometry]:
    """Split a grid polygon in two by a drawn line (:func:`shapely.ops.split`).

    The line's ends are first extended by ``snap_m`` (default ``REDRAW_SNAP_M``) so a line
    stopping just short of the edge still cuts.

    Returns
    -------
    (larger, smaller) : shapely geometries

    Raises
    ------
    InputError
        When the line does not cut the grid into exactly two pieces.
    """
    snap = degrees(settings.REDRAW_SNAP_M if snap_m is None else snap_m)
    geom = polygonal(geom)
    if line is None or line.is_empty or line.geom_type not in ("LineString", "MultiLineString"):
        raise InputError("分割须用一条线 / a split needs a line")
    pieces = [
        p
        for p in shapely.get_parts(shapely_split(geom, _extend_line(line, snap)))
        if area_m2(p) > settings.OVERLAP_TOLERANCE_M2
    ]
    if len(pieces) != 2:
        raise InputError(
            f"分割线须完整穿过网格、把它分成两块(现在是 {len(pieces)} 块) / the line must cross "
            f"the grid once and cut it into two pieces (it gives {len(pieces)})"
        )
    pieces = [shapely.set_precision(p, precision()) for p in pieces]
    pieces.sort(key=lambda p: -p.area)
    return pieces[0], pieces[1]


def keep_buildings_whole(
    larger: shapely.Geometry,
    smaller: shapely.Geometry,
    buildings: gpd.GeoDataFrame,
) -> tuple[shapely.Geometry, shapely.Geometry, pd.DataFrame]:
    """The two pieces of a split moved so that no building is cut: each building on both
    sides goes whole to the side holding most of it (the larger piece on a tie), the pieces
    following its outline.

    Parameters
    ----------
    larger, smaller : shapely geometries
        :func:`split_geometry`'s pieces (EPSG:4326).
    buildings : GeoDataFrame
        The community's buildings: ``id, code`` and footprints (EPSG:4326).

    Returns
    -------
    (larger, smaller, kept_whole)
        The pieces, and one row per building the line crossed: ``building_id, code, side``
        (``"larger"`` or ``"smaller"``, where it went) and ``share`` (of its area on that side
        as drawn, 0.5–1).

    Raises
    ------
    InputError
        When a piece would fall apart or vanish (the line runs along a row of buildings):
        draw another line, or keep it as drawn.
    """
    geoms = np.asarray(buildings.geometry.values, dtype=object)
    scale = area_m2(shapely.box(*larger.bounds)) / max(shapely.box(*larger.bounds).area, 1e-30)
    in_larger = shapely.area(shapely.intersection(geoms, larger)) * scale
    in_smaller = shapely.area(shapely.intersection(geoms, smaller)) * scale
    tolerance = settings.OVERLAP_TOLERANCE_M2
    cut = (in_larger > tolerance) & (in_smaller > tolerance)
    to_larger = in_larger >= in_smaller
    gain_larger = shapely.union_all(shapely.intersection(geoms[cut & to_larger], smaller))
    gain_smaller = shapely.union_all(shapely.intersection(geoms[cut & ~to_larger], larger))
    for gain, into, out_of in ((gain_larger, "larger", "smaller"),
                               (gain_smaller, "smaller", "larger")):  # fmt: skip
        if gain.is_empty:
            continue
        pieces = {"larger": larger, "smaller": smaller}
        pieces[into] = polygon_op(shapely.union, pieces[into], gain)
        pieces[out_of] = polygon_op(shapely.difference, pieces[out_of], gain)
        larger, smaller = pieces["larger"], pieces["smaller"]
    for piece in (larger, smaller):
        if piece.is_empty or len(shapely.get_parts(piece)) != 1:
            raise InputError(
                "分割线沿楼栋走,保持楼栋完整会使一块网格断开或消失:请换一条线,或选择“按原线分割” / "
                "keeping the buildings the line crosses whole would break a piece apart: draw "
                "another line, or keep the line as drawn"
            )
    total = in_larger[cut] + in_smaller[cut]
    kept = pd.DataFrame(
        {
            "building_id": buildings["id"].to_numpy()[cut],
            "code": buildings["code"].to_numpy()[cut],
            "side": np.where(to_larger[cut], "larger", "smaller"),
            "share": np.round(np.maximum(in_larger[cut], in_smaller[cut]) / total, 3),
        }
    )
    return larger, smaller, kept


def stitch_neighbours(
    grids: Mapping[str, shapely.Geometry], changed: Sequence[str]
) -> dict[str, shapely.Geometry]:
    """The neighbours of the ``changed`` grids given the changed grids' new vertices where they
    lie on a shared edge, so the edges match vertex for vertex (a new vertex of a cut, rounded
    to the storage grid, otherwise sits a few millimetres off the neighbour's edge: an invalid
    coverage, 网格边界不吻合, for ``gridmap check``).

    Returns
    -------
    dict
        ``{code: new polygon}`` of the neighbours whose polygon changed (possibly empty).
    """
    reference = shapely.union_all([grids[c] for c in changed])
    tolerance = 2 * precision()
    out = {}
    for code, geom in grids.items():
        if code in changed or not shapely.intersects(shapely.buffer(geom, tolerance), reference):
            continue
        stitched = shapely.set_precision(shapely.snap(geom, reference, tolerance), precision())
        # a vertex gained (the same shape) or moved; else the neighbour stays as stored (also
        # when it differs only below the storage precision)
        base = shapely.set_precision(geom, precision())
        gained = shapely.get_num_coordinates(stitched) != shapely.get_num_coordinates(base)
        if (gained or not shapely.equals(stitched, base)) and shapely.is_valid(stitched):
            out[code] = polygonal(stitched)
    return out


def merge_geometries(a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    """The union of two adjacent grids.

    Raises
    ------
    InputError
        When the grids share no border (they are not adjacent).
    """
    a, b = polygonal(a), polygonal(b)
    if shared_length(a, b) <= 0 and not shapely.relate_pattern(a, b, "2********"):
        raise InputError("两个网格不相邻，不能合并 / the two grids are not adjacent")
    return polygon_op(shapely.union, a, b)


def area_for_buildings(
    grid: shapely.Geometry, moving: Sequence[shapely.Geometry], staying: Sequence[shapely.Geometry]
) -> shapely.Geometry:
    """The part of ``grid`` that goes with the ``moving`` buildings when they leave it.

    The grid is divided among its buildings by the Voronoi cells of their representative points;
    the moving buildings' cells and footprints go, without any staying building's footprint.

    Raises
    ------
    InputError
        When no building stays (moving all of them would empty the grid).
    """
    grid = polygonal(grid)
    if not staying:
        raise InputError(
            "该网格的楼栋将全部移出，网格会被清空 / every building of the grid would move "
            "out, leaving it empty: merge the grids instead"
        )
    points = shapely.point_on_surface(np.asarray([*moving, *staying], dtype=object))
    cells = voronoi_cells(points, grid)
    taken = shapely.union_all(
        [*cells[: len(moving)], *(polygon_op(shapely.intersection, b, grid) for b in moving)]
    )
    return polygon_op(
        shapely.difference, polygon_op(shapely.intersection, taken, grid), polygon_union(staying)
    )
