"""Small geometry helpers of grid redrawing, and reading drawn or uploaded GeoJSON.

Geometry is edited in WGS 84 on a fixed precision grid of ``10**-COORDINATE_DECIMALS`` degrees
(the precision the database keeps, :func:`precision`), so shared edges stay identical vertex
for vertex; :func:`area_m2` and :func:`degrees` convert to and from metres. The set operations
(:func:`polygon_op`, :func:`polygon_union`) keep only the polygonal part of their result;
:func:`voronoi_cells` divides a region among points; :func:`geometry_from_geojson` turns GeoJSON
text into a checked shapely geometry.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from gridmap import settings
from gridmap.errors import InputError

_METRES_PER_DEGREE = 111_320.0


def precision() -> float:
    """The storage precision grid in degrees: ``10**-COORDINATE_DECIMALS``."""
    return 10.0**-settings.COORDINATE_DECIMALS


def degrees(metres: float) -> float:
    """A distance in metres as degrees of latitude (a safe bound for longitude too)."""
    return metres / _METRES_PER_DEGREE


def polygonal(geom: shapely.Geometry | None) -> shapely.Geometry:
    """The polygonal part of a geometry, repaired; an empty MultiPolygon when it has none."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    polys = [p for p in polys if not p.is_empty]
    if not polys:
        return shapely.MultiPolygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def polygon_op(fn: Callable, a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    """A set operation on the storage precision grid, reduced to its polygonal part."""
    return polygonal(fn(a, b, grid_size=precision()))


def area_m2(geom: shapely.Geometry) -> float:
    """Area of a WGS 84 geometry in m² (local equirectangular scale; exact enough for edits)."""
    if geom is None or geom.is_empty:
        return 0.0
    lat = shapely.centroid(geom).y
    return geom.area * _METRES_PER_DEGREE**2 * math.cos(math.radians(lat))


def shared_length(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Length (degrees) of the border two polygons share."""
    if a.is_empty or b.is_empty:
        return 0.0
    return shapely.length(shapely.intersection(a.boundary, b.boundary, grid_size=precision()))


def as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """The polygonal part of a geometry as a MultiPolygon (how grids are stored)."""
    geom = polygonal(geom)
    return geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])


def polygon_union(geoms: Sequence[shapely.Geometry]) -> shapely.Geometry:
    """The polygonal union of geometries on the storage precision grid."""
    return polygonal(shapely.union_all(list(geoms), grid_size=precision()))


def voronoi_cells(points: np.ndarray, region: shapely.Geometry) -> list[shapely.Geometry]:
    """One Voronoi cell per point (in point order), clipped to ``region``; duplicate points
    share their cell."""
    xy = shapely.get_coordinates(points)
    unique, inverse = np.unique(np.round(xy, 9), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if len(unique) == 1:
        cells = np.array([region], dtype=object)
    else:
        raw = shapely.voronoi_polygons(shapely.multipoints(unique), extend_to=region, ordered=True)
        cells = np.asarray(shapely.get_parts(raw), dtype=object)
    clipped = [polygon_op(shapely.intersection, c, region) for c in cells]
    return [clipped[i] for i in inverse]


def geometry_from_geojson(
    data: str | Mapping[str, Any], kind: str = "polygon", where: str = "GeoJSON"
) -> shapely.Geometry:
    """A shapely geometry from GeoJSON text or a parsed object (geometry, Feature or
    FeatureCollection; several features are unioned), in WGS 84 longitude/latitude.

    Parameters
    ----------
    data : str or mapping
    kind : {"polygon", "line"}
        What the edit needs: a (multi)polygon, or a (multi)line to split by.
    where : str
        How to name the input in an error (a file name, "绘制的图形" …).

    Raises
    ------
    InputError
        Unreadable JSON, no geometry, the wrong kind, or coordinates outside ±180/±90.
    """
    try:
        obj = json.loads(data) if isinstance(data, str | bytes) else dict(data)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where} 不是有效的 GeoJSON / is not valid GeoJSON: {exc}") from exc
    kind_of = obj.get("type")
    if kind_of == "FeatureCollection":
        geoms = [f.get("geometry") for f in obj.get("features") or []]
    elif kind_of == "Feature":
        geoms = [obj.get("geometry")]
    else:
        geoms = [obj]
    geoms = [g for g in geoms if g]
    if not geoms:
        raise InputError(f"{where} 中没有图形 / holds no geometry")
    try:
        shapes = [shapely.geometry.shape(g) for g in geoms]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"{where} 的图形无法读取 / has an unreadable geometry: {exc}") from exc
    wanted = ("Polygon", "MultiPolygon") if kind == "polygon" else ("LineString", "MultiLineString")
    wrong = sorted({s.geom_type for s in shapes} - set(wanted))
    if wrong:
        need = "面(Polygon)" if kind == "polygon" else "线(LineString)"
        raise InputError(
            f"{where} 须是{need} / must be {' or '.join(wanted)}, but holds {', '.join(wrong)}"
        )
    geom = shapely.union_all(shapes) if len(shapes) > 1 else shapes[0]
    xmin, ymin, xmax, ymax = geom.bounds
    if min(xmin, xmax) < -180 or max(xmin, xmax) > 180 or min(ymin, ymax) < -90 or ymax > 90:
        raise InputError(
            f"{where} 的坐标超出经纬度范围 / has coordinates outside longitude ±180 / "
            "latitude ±90: send WGS 84 longitude, latitude"
        )
    return shapely.set_precision(geom, precision()) if kind == "polygon" else geom
