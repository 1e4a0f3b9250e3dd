"""Geometries placed for import: brought to WGS 84 and checked.

The CRS comes from the caller, else the file, else is detected; nothing is guessed silently:

- a file declaring its CRS (``.prj``, GeoPackage SRS, GeoJSON ``crs``) is reprojected from it:
  CGCS2000 lon/lat (EPSG:4490, 天地图) is taken as WGS 84 (they differ by centimetres, see
  :mod:`gridmap.crs`), projected CRSs (Gauss–Krüger, UTM, Web Mercator …) go through pyproj;
- undeclared lon/lat is WGS 84; an undeclared 8-digit easting names its Gauss–Krüger zone;
  other undeclared metres are refused, naming the file and the ``--crs`` that would place them
  in the street (:func:`gridmap.crs.projected_candidates`);
- lon/lat read without a CRS from the caller is compared with the street's own buildings and
  stations (:func:`street_reference`): when a GCJ-02/BD-09 correction would align it and the
  coordinates as read do not, the import is refused, saying so
  (:func:`gridmap.crs.detect_web_offset`); ``--crs wgs84`` keeps the coordinates as they are;
- swapped axes are fixed only when asked.

Each geometry's type, validity and distance from the street are then checked, and invalid
polygons repaired on request.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Engine, select

from gridmap import settings
from gridmap.crs import (
    OFFSET_SYSTEMS,
    OffsetEvidence,
    detect_projected_crs,
    detect_web_offset,
    geometries_to_wgs84,
    latlon_swapped,
    metric_crs,
    parse_crs,
    projected_candidates,
    swap_xy,
)
from gridmap.db import connect
from gridmap.i18n import pair
from gridmap.io.layers import LayerSpec, file_error
from gridmap.io.parsing import Collector
from gridmap.io.sources import SourceTable
from gridmap.repository import plain_columns, read_query, read_table, table


def street_extent(engine: Engine) -> shapely.Geometry | None:
    """The union of the street polygons (else the communities'); None without any."""
    streets = read_table(engine, "street")
    geoms = [g for g in streets.geometry if g is not None and not g.is_empty]
    if not geoms:
        communities = read_table(engine, "community")
        geoms = [g for g in communities.geometry if g is not None and not g.is_empty]
    return shapely.union_all(geoms) if geoms else None


def street_reference(engine: Engine) -> np.ndarray:
    """The street's own buildings and stations (WGS 84), against which an offset file shows.

    One query per layer. Used by :func:`place_geometry` to tell a GCJ-02/BD-09 file read as
    WGS 84 (:func:`gridmap.crs.detect_web_offset`).
    """
    parts = []
    with connect(engine) as conn:
        for name in ("building", "service_station"):
            geom = [c for c in plain_columns(table(name), conn.dialect.name) if c.name == "geom"]
            parts.append(np.asarray(read_query(conn, select(*geom), True).geometry.values))
    return np.concatenate(parts).astype(object)


def _metric_zone(extent: shapely.Geometry) -> tuple[pyproj.CRS, shapely.Geometry]:
    """The street's metric CRS and its extent there, buffered by the import's tolerance."""
    frame = gpd.GeoDataFrame(geometry=[extent], crs=4326)
    metric = metric_crs(frame)
    return metric, frame.to_crs(metric).buffer(settings.IMPORT_EXTENT_BUFFER_M).iloc[0]


def fitting_crs(
    x: np.ndarray, y: np.ndarray, extent: shapely.Geometry | None
) -> tuple[list[int], list[int]]:
    """The projected CRSs likely for undeclared metres, and those of them placing the points
    in the street.

    Parameters
    ----------
    x, y : numpy.ndarray
        The coordinates as read (metres).
    extent : shapely.Geometry or None
        The street (WGS 84); None when the database holds none.

    Returns
    -------
    tuple of list of int
        The candidates of :func:`gridmap.crs.projected_candidates` for the street's centre (none
        without a street), and the ones that fit: read in them, no point lies farther than
        :data:`gridmap.settings.IMPORT_EXTENT_BUFFER_M` from the street (the import's own rule)
        and the most points lie in the street itself (several only when they tie, as the same
        projection under two codes does).
    """
    if extent is None or extent.is_empty:
        return [], []
    centre = extent.centroid
    candidates = projected_candidates(centre.x, centre.y)
    metric, zone = _metric_zone(extent)
    street = gpd.GeoSeries([extent], crs=4326).to_crs(metric).iloc[0]
    step = max(1, len(x) // 1000)
    xs, ys = np.asarray(x, dtype=float)[::step], np.asarray(y, dtype=float)[::step]
    inside: dict[int, float] = {}
    for epsg in candidates:
        to_metric = pyproj.Transformer.from_crs(epsg, metric, always_xy=True)
        mx, my = to_metric.transform(xs, ys)
        if len(mx) and shapely.intersects_xy(zone, mx, my).all():
            inside[epsg] = float(shapely.intersects_xy(street, mx, my).mean())
    best = max(inside.values(), default=None)
    return candidates, [e for e, share in inside.items() if share == best]


def _undeclared_metres(
    source: SourceTable, x: np.ndarray, y: np.ndarray, extent: shapely.Geometry | None
) -> tuple[str, str]:
    """The refusal of metres without a CRS, naming the file and the ``--crs`` to pass."""
    candidates, fits = fitting_crs(x, y, extent)
    sample = f"{x[0]:.0f}, {y[0]:.0f}"
    zones = candidates or [4547, 32650]  # no street yet: CGCS2000 3° CM 114°E, UTM 50N
    listed = "、".join(f"--crs {e}({pyproj.CRS.from_epsg(e).name})" for e in zones)
    listed_en = ", ".join(f"--crs {e} ({pyproj.CRS.from_epsg(e).name})" for e in zones)
    where = pair("本街道所在的投影带") if candidates else pair("常见的")
    zh = (
        f"{source.name} 的坐标不是经纬度,而是以米为单位的投影坐标(如 {sample}),但文件没有"
        "声明坐标系(缺少 .prj 文件,或表格没有坐标系);请指定坐标系(命令行 --crs,页面上选择"
        f"“坐标系”),{where[0]}:{listed}"
    )
    en = (
        f"{source.name}: the coordinates are not degrees but projected metres (e.g. {sample}) "
        "and the file declares no CRS (no .prj, or a spreadsheet); pass --crs (or choose the "
        f"coordinate system on the page), {where[1]}: {listed_en}"
    )
    if fits:
        names = "、".join(f"EPSG:{e}" for e in fits)
        codes = " or ".join(f"--crs EPSG:{e}" for e in fits)
        zh += f"。按 {names} 读取时坐标落在本街道范围内,多半应为 --crs EPSG:{fits[0]}"
        en += f". Read as {names}, they lie in the street: most likely {codes}"
    elif candidates:
        zh += "。按这些读取坐标都不在本街道范围内,请向数据提供方确认坐标系"
        en += ". None of them places the coordinates in the street: ask the data's provider"
    return zh, en


def _offset_refusal(evidence: OffsetEvidence) -> tuple[str, str]:
    """The refusal of lon/lat that a GCJ-02/BD-09 correction would align with the street."""
    system = evidence.system
    name = {"gcj02": "GCJ-02", "bd09": "BD-09"}[system]
    site = {"gcj02": pair("高德/腾讯地图"), "bd09": pair("百度地图")}[system]
    n, raw, fit = evidence.compared, evidence.matches["wgs84"], evidence.matches[system]
    zh = (
        f"坐标按 WGS 84 读取时,{n} 个要素中只有 {raw} 个与本街道已有的楼栋、站点吻合;按 {name} "
        f"纠偏后有 {fit} 个吻合(纠偏移动约 {evidence.shift_m:.0f} 米)。文件多半导出自{site[0]}:"
        f"请选择坐标系 {name}(命令行 --crs {system});如坐标确为 WGS 84,请明确选择 WGS 84"
        "(--crs wgs84)"
    )
    en = (
        f"read as WGS 84, {raw} of {n} features match the street's own buildings and stations; "
        f"corrected from {name}, {fit} do (the correction moves them about "
        f"{evidence.shift_m:.0f} m): the file most likely comes from {site[1]}. Choose {name} "
        f"(--crs {system}); if the coordinates really are WGS 84, say so with --crs wgs84"
    )
    return zh, en


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
    engine: Engine | None = None,
) -> tuple[np.ndarray, pyproj.CRS | str, bool]:
    """Bring geometries to WGS 84: the CRS given, else the file's, else detected.

    Parameters
    ----------
    spec : LayerSpec
    geoms : numpy.ndarray
        The geometries as read.
    index : pandas.Index
        Their records' index (for row numbers in problems).
    source : SourceTable
    crs : str or pyproj.CRS or None
        The caller's CRS (``--crs``); None to use the file's or detect it.
    swap : bool
        Exchange latitude and longitude.
    extent : shapely.Geometry or None
        The street (:func:`street_extent`).
    out : Collector
        Receives the problems.
    engine : Engine, optional
        The database, whose buildings and stations reveal a GCJ-02/BD-09 file read as WGS 84
        when no ``crs`` is given (:func:`street_reference`); without it that is not checked.

    Returns
    -------
    tuple
        The geometries in WGS 84, the CRS they were read in, whether the axes were swapped.
    """
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
            out.add(None, None, *_undeclared_metres(source, x, y, extent))
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
    if crs is None and geographic and not isinstance(source_crs, str) and engine is not None:
        evidence = detect_web_offset(geoms[present], street_reference(engine))
        if evidence is not None:
            out.add(None, None, *_offset_refusal(evidence))
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
    word = {"polygon": pair("面"), "point": pair("点")}[spec.geometry or ""]
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
    if ok.any():
        # coordinates that are not lon/lat could not be placed: place_geometry said so, once
        bounds = shapely.bounds(geoms[ok])
        lonlat = (np.abs(bounds[:, [0, 2]]) <= 180).all(axis=1) & (
            np.abs(bounds[:, [1, 3]]) <= 90
        ).all(axis=1)
        ok[np.flatnonzero(ok)[~lonlat]] = False
    if extent is not None and ok.any():
        metric, zone = _metric_zone(extent)
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
