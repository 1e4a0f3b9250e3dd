"""Geometries placed for import: brought to WGS 84 and checked.

The CRS comes from the caller, else the file, else is detected (projected CRSs, GCJ-02/BD-09);
swapped axes are fixed only when asked; each geometry's type, validity and distance from the
street are checked, and invalid polygons repaired on request.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Engine

from gridmap import settings
from gridmap.crs import (
    OFFSET_SYSTEMS,
    detect_projected_crs,
    geometries_to_wgs84,
    latlon_swapped,
    metric_crs,
    parse_crs,
    swap_xy,
)
from gridmap.io.layers import LayerSpec, file_error
from gridmap.io.parsing import Collector
from gridmap.io.sources import SourceTable
from gridmap.repository import read_table


def street_extent(engine: Engine) -> shapely.Geometry | None:
    """The union of the street polygons (else the communities'); None without any."""
    streets = read_table(engine, "street")
    geoms = [g for g in streets.geometry if g is not None and not g.is_empty]
    if not geoms:
        communities = read_table(engine, "community")
        geoms = [g for g in communities.geometry if g is not None and not g.is_empty]
    return shapely.union_all(geoms) if geoms else None


def describe_crs(source_crs: pyproj.CRS | str) -> str:
    """A CRS, or an offset system such as GCJ-02, named as users read it."""
    if isinstance(source_crs, str):
        return OFFSET_SYSTEMS.get(source_crs, source_crs)
    epsg = source_crs.to_epsg()
    return f"EPSG:{epsg} {source_crs.name}" if epsg else source_crs.name


def place_geometry(
    spec: LayerSpec,
    geoms: np.ndarray,
    index: pd.Index,
    source: SourceTable,
    crs: str | pyproj.CRS | None,
    swap: bool,
    extent: shapely.Geometry | None,
    out: Collector,
) -> tuple[np.ndarray, pyproj.CRS | str, bool]:
    """Bring geometries to WGS 84: the CRS given, else the file's, else detected."""
    present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not present.any():
        return geoms, pyproj.CRS.from_epsg(4326), False
    coords = shapely.get_coordinates(geoms[present])
    x, y = coords[:, 0], coords[:, 1]
    if crs is not None:
        try:
            source_crs = parse_crs(crs)
        except ValueError as exc:
            raise file_error(source.name, str(exc), str(exc)) from exc
    elif source.crs is not None:
        source_crs = source.crs
    elif (np.abs(x) <= 180).all() and (np.abs(y) <= 180).all():
        source_crs = pyproj.CRS.from_epsg(4326)
    else:
        detected = detect_projected_crs(x, y)
        if detected is None:
            out.add(
                None,
                None,
                "坐标不是经纬度,且文件未声明坐标系;请指定坐标系(如 CGCS2000 高斯-克吕格 "
                "3 度带 EPSG:4546,或 UTM EPSG:32649)",
                "the coordinates are not degrees and the file declares no CRS; choose one "
                "(e.g. --crs 4546 for CGCS2000 3° Gauss-Kruger CM 111°E, 32649 for UTM 49N)",
            )
            return geoms, pyproj.CRS.from_epsg(4326), False
        source_crs = pyproj.CRS.from_epsg(detected)
    geographic = isinstance(source_crs, str) or source_crs.is_geographic
    swapped = False
    if geographic:
        ext = extent.bounds if extent is not None else None
        if latlon_swapped(x, y, ext):
            if swap:
                geoms = geoms.copy()
                geoms[present] = swap_xy(geoms[present])
                swapped = True
            else:
                out.add(
                    None,
                    None,
                    "经纬度似乎颠倒(纬度写在了经度列);确认后选择“交换经纬度”(命令行 --swap-latlon)",
                    "latitude and longitude look swapped; accept the fix with "
                    "--swap-latlon (or the page's swap option)",
                )
                return geoms, source_crs, False
        elif swap:
            geoms = geoms.copy()
            geoms[present] = swap_xy(geoms[present])
            swapped = True
        coords = shapely.get_coordinates(geoms[present])
        bad = (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
        if bad.any():
            counts = shapely.get_num_coordinates(geoms[present])
            owner = np.repeat(np.flatnonzero(present), counts)
            for i in np.unique(owner[bad])[:50]:
                out.add(
                    index[i],
                    None,
                    "坐标超出经纬度范围(经度 ±180°,纬度 ±90°);坐标系是否选错?",
                    "coordinates out of the lon/lat range (±180°, ±90°); is the CRS wrong?",
                )
            return geoms, source_crs, swapped
    try:
        geoms = geoms.copy()
        geoms[present] = geometries_to_wgs84(geoms[present], source_crs)
    except Exception as exc:  # pyproj errors for impossible coordinates
        out.add(None, None, f"坐标转换失败:{exc}", f"cannot transform the coordinates: {exc}")
    return geoms, source_crs, swapped


def check_geometry(
    spec: LayerSpec,
    geoms: np.ndarray,
    index: pd.Index,
    fix_invalid: bool,
    extent: shapely.Geometry | None,
    out: Collector,
) -> tuple[np.ndarray, list[int]]:
    """Type, emptiness, validity and extent of each geometry; invalid ones repaired on request."""
    geoms = geoms.copy()
    repaired: list[int] = []
    wanted = {"polygon": ("Polygon", "MultiPolygon"), "point": ("Point",)}[spec.geometry or ""]
    word = {"polygon": ("面", "a polygon"), "point": ("点", "a point")}[spec.geometry or ""]
    ok = np.zeros(len(geoms), dtype=bool)
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            if g is not None or out.row(index[i]) not in {x.row for x in out.issues}:
                out.add(index[i], "geometry", "几何为空", "the geometry is empty")
            continue
        if g.geom_type == "MultiPoint" and spec.geometry == "point" and len(g.geoms) == 1:
            geoms[i] = g = g.geoms[0]
        if g.has_z:
            geoms[i] = g = shapely.force_2d(g)
        if g.geom_type not in wanted:
            out.add(
                index[i],
                "geometry",
                f"几何类型为 {g.geom_type},{spec.zh}需要{word[0]}",
                f"the geometry is a {g.geom_type}; {spec.en} need {word[1]}",
            )
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            if not fix_invalid:
                out.add(
                    index[i],
                    "geometry",
                    f"几何无效({reason});确认后可选择“修复无效几何”(命令行 --fix-invalid)",
                    f"invalid geometry ({reason}); accept a repair with --fix-invalid",
                )
                continue
            fixed = shapely.make_valid(g)
            polys = [p for p in getattr(fixed, "geoms", [fixed]) if p.geom_type in wanted]
            fixed = shapely.union_all(polys) if polys else shapely.Polygon()
            if fixed.is_empty or fixed.area == 0:
                out.add(
                    index[i],
                    "geometry",
                    f"几何无效且无法修复({reason})",
                    f"invalid geometry that cannot be repaired ({reason})",
                )
                continue
            geoms[i] = fixed
            repaired.append(out.row(index[i]))
        ok[i] = True
    if extent is not None and ok.any():
        frame = gpd.GeoDataFrame(geometry=[extent], crs=4326)
        metric = metric_crs(frame)
        zone = frame.to_crs(metric).buffer(settings.IMPORT_EXTENT_BUFFER_M).iloc[0]
        placed = gpd.GeoSeries(geoms[ok], crs=4326).to_crs(metric).values
        inside = shapely.intersects(np.asarray(placed, dtype=object), zone)
        for i in np.flatnonzero(ok)[~inside][:200]:
            c = geoms[i].representative_point()
            out.add(
                index[i],
                "geometry",
                f"位于街道范围以外(超过 {settings.IMPORT_EXTENT_BUFFER_M:.0f} 米;"
                f"位置 {c.x:.5f}, {c.y:.5f});坐标系或经纬度顺序是否有误?",
                f"lies outside the street (more than {settings.IMPORT_EXTENT_BUFFER_M:.0f} m; "
                f"at {c.x:.5f}, {c.y:.5f}); is the CRS or the axis order wrong?",
            )
    return geoms, repaired
