"""Coordinate systems: metric CRS choice, Chinese web-map offsets, swapped axes, projected input.

Every stored geometry is WGS 84 (EPSG:4326); areas and distances are computed in a local metric
CRS chosen from the data: the WGS 84 / UTM zone of the data's centre (EPSG:326xx north of the
equator, EPSG:327xx south of it). Shiyan (十堰, about 110.8° E) falls in zone 49, EPSG:32649.

Input arrives in the coordinates users hold:

- **GCJ-02** (国测局坐标, "Mars coordinates": 高德 Amap, 腾讯 Tencent) and **BD-09** (百度 Baidu)
  are WGS 84 with a published, non-invertible offset of a few hundred metres. The forward
  formulas are the widely published ones; the way back (:func:`gcj02_to_wgs84`,
  :func:`bd09_to_wgs84`) is solved by fixed-point iteration until the forward transform of the
  answer lands on the input within :data:`gridmap.settings.OFFSET_INVERSE_TOLERANCE_DEG`
  (1e-10° ≈ 0.01 mm). Measured in ``tests/test_crs.py``: the forward transform reproduces
  the published eviltransform and coordtransform reference pairs to 1e-9° (bit for bit in
  practice); a WGS 84/GCJ-02 pair read from the Amap web API agrees within 0.66 m, and the
  GCJ-02/BD-09 pair of 北京站 as the two map sites give it (5 decimals, ≈ 1 m) within 0.75 m.
  The iterative inverses round-trip to 1e-13° over a 1,116-point grid covering China, where the
  one-step inverse many tools use is off by up to 4.4 m (median 1.5 m). The offsets themselves
  are large: at 十堰 GCJ-02 moves a point 555 m and BD-09 1,189 m. (eviltransform's BD-09 test
  pair uses π where Baidu's formula has 3000π/180 and differs by about 10 m; it is not used.)
- **CGCS2000** (2000 国家大地坐标系, EPSG:4490: 天地图 Tianditu, the national surveying
  standard) is taken as equivalent to WGS 84. The two are realisations of the same ITRS frame at
  different epochs (CGCS2000 at 2000.0, WGS 84 (G1762) at 2005.0) on ellipsoids whose flattening
  differs in the 11th digit: they differ by a few centimetres in China, far below what a
  building footprint or a grid boundary resolves. pyproj's EPSG:4490 → 4326 transformation is
  the identity, so a file declaring CGCS2000 (a GeoJSON ``crs`` member, a GeoPackage SRS, a
  Shapefile ``.prj`` such as ``GCS_China_Geodetic_Coordinate_System_2000``) is read without any
  option.
- **Projected** coordinates: CGCS2000 3° Gauss–Krüger zones (EPSG:4513–4533 with the zone
  number in front of the easting, EPSG:4534–4554 without), 6° zones (EPSG:4491–4512), UTM and
  Web Mercator are transformed with pyproj from the CRS the file declares (its ``.prj``,
  GeoPackage SRS or GeoJSON ``crs``). Without a declaration, an 8-digit easting carries its zone
  and is recognised on its own; six-digit eastings are ambiguous (UTM or any zone without
  prefix): :func:`projected_candidates` lists the zones a street is likely held in so that the
  refusal can name the one that fits, but the user chooses.
- **An offset file read as WGS 84** — a GCJ-02 or BD-09 export whose ``.prj`` says WGS 84, or a
  GeoJSON, which always does — lands hundreds of metres off. :func:`detect_web_offset` tells
  when it can: corrected from GCJ-02 or BD-09, the features match the street's own buildings
  and stations (:func:`offset_matches`), as read they do not. Without such data it cannot tell.
- **Swapped latitude/longitude** (a spreadsheet with the columns the wrong way round) is
  detected by :func:`latlon_swapped`; the fix is offered, never applied silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from gridmap import settings

__all__ = [
    "OFFSET_SYSTEMS",
    "OffsetEvidence",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "detect_projected_crs",
    "detect_web_offset",
    "gauss_kruger_epsg",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometries_to_wgs84",
    "latlon_swapped",
    "lonlat_center",
    "metric_crs",
    "offset_matches",
    "out_of_china",
    "parse_crs",
    "projected_candidates",
    "swap_xy",
    "to_metric",
    "utm_epsg",
    "utm_zone",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]


def utm_zone(lon: float) -> int:
    """The UTM zone number (1–60) of a longitude in degrees.

    Examples
    --------
    >>> utm_zone(110.78)
    49
    """
    if not -180.0 <= lon <= 180.0 or math.isnan(lon):
        raise ValueError(f"longitude {lon} is outside -180…180°; are x and y swapped?")
    return min(int((lon + 180.0) // 6.0) + 1, 60)


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS 84 / UTM zone holding a lon/lat point.

    Examples
    --------
    >>> utm_epsg(110.78, 32.63)
    32649
    """
    if not -90.0 <= lat <= 90.0 or math.isnan(lat):
        raise ValueError(f"latitude {lat} is outside -90…90°; are x and y swapped?")
    return (32600 if lat >= 0 else 32700) + utm_zone(lon)


def lonlat_center(frame: gpd.GeoDataFrame) -> tuple[float, float]:
    """The centre of a frame's bounding box as (lon, lat) in WGS 84.

    Raises
    ------
    ValueError
        When the frame has no CRS or no non-empty geometry.
    """
    if frame.crs is None:
        raise ValueError(
            "the frame has no CRS, so its coordinates cannot be placed on the earth; "
            "set one first, e.g. frame.set_crs(4326)"
        )
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        raise ValueError("the frame has no geometry to choose a metric CRS from (it is empty)")
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms[present])
    x, y = (xmin + xmax) / 2.0, (ymin + ymax) / 2.0
    crs = pyproj.CRS.from_user_input(frame.crs)
    if not crs.is_geographic or crs.to_epsg() != 4326:
        to_wgs84 = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
        x, y = to_wgs84.transform(x, y)
    return float(x), float(y)


def metric_crs(frame: gpd.GeoDataFrame) -> pyproj.CRS:
    """The WGS 84 / UTM CRS for measuring a frame's areas and distances in metres.

    The zone is the one holding the centre of the data's bounding box, whatever CRS the frame
    is in.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Data with a CRS and at least one non-empty geometry.

    Returns
    -------
    pyproj.CRS
        EPSG:326xx (north) or EPSG:327xx (south).

    Raises
    ------
    ValueError
        When the frame is empty or has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> metric_crs(gpd.GeoDataFrame(geometry=[Point(110.78, 32.63)], crs=4326)).to_epsg()
    32649
    """
    lon, lat = lonlat_center(frame)
    return pyproj.CRS.from_epsg(utm_epsg(lon, lat))


def to_metric(
    frame: gpd.GeoDataFrame, crs: pyproj.CRS | int | str | None = None
) -> gpd.GeoDataFrame:
    """A frame reprojected to a metric CRS (the one given, else :func:`metric_crs` of it).

    A frame already in the target CRS is returned as is, not copied.

    Raises
    ------
    ValueError
        When the frame has no CRS, or no CRS is given and the frame is empty.
    """
    if frame.crs is None:
        raise ValueError("the frame has no CRS; set one first, e.g. frame.set_crs(4326)")
    target = metric_crs(frame) if crs is None else pyproj.CRS.from_user_input(crs)
    if target.is_geographic:
        raise ValueError(f"{target.name} is not a metric CRS: its units are degrees")
    if pyproj.CRS.from_user_input(frame.crs) == target:
        return frame
    return frame.to_crs(target)


# --- GCJ-02 and BD-09 -------------------------------------------------------------------------

#: Offset coordinate systems of Chinese web maps, by the names users and the CLI give them.
OFFSET_SYSTEMS: dict[str, str] = {
    "gcj02": "GCJ-02 (高德/腾讯 Amap/Tencent)",
    "bd09": "BD-09 (百度 Baidu)",
}

_KRASOVSKY_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid GCJ-02 is built on
_KRASOVSKY_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_X_PI = math.pi * 3000.0 / 180.0


def out_of_china(lon: np.ndarray | float, lat: np.ndarray | float) -> np.ndarray:
    """True where a point lies outside the rectangle in which GCJ-02 applies an offset.

    Outside it (and for NaN) GCJ-02 and BD-09's GCJ step equal WGS 84, as the web maps do.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return ~((lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271))


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * pi)
    dlon = dlon * 180.0 / (_KRASOVSKY_A / sqrtmagic * np.cos(radlat) * pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(
    lon: np.ndarray | float, lat: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 → GCJ-02 (the forward offset of Amap/Tencent), element-wise on arrays.

    Examples
    --------
    >>> [round(float(v), 6) for v in wgs84_to_gcj02(116.404, 39.915)]
    [116.410244, 39.916404]
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_bd09(
    lon: np.ndarray | float, lat: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → BD-09 (Baidu's further rotation and shift)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def wgs84_to_bd09(
    lon: np.ndarray | float, lat: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 → BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(forward, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x) = target`` by fixed-point iteration x ← x + (target − forward(x)).

    The offsets change by far less than a metre over the size of the offset itself, so each step
    gains several digits; a handful of steps reach :data:`settings.OFFSET_INVERSE_TOLERANCE_DEG`.
    """
    tlon, tlat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    xlon, xlat = tlon.copy(), tlat.copy()
    for _ in range(settings.OFFSET_INVERSE_MAX_ITERATIONS):
        flon, flat = forward(xlon, xlat)
        elon, elat = tlon - flon, tlat - flat
        xlon, xlat = xlon + elon, xlat + elat
        err = np.nanmax(np.abs(np.concatenate([np.ravel(elon), np.ravel(elat)])), initial=0.0)
        if err < settings.OFFSET_INVERSE_TOLERANCE_DEG:
            break
    return xlon, xlat


def gcj02_to_wgs84(
    lon: np.ndarray | float, lat: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → WGS 84 by iterating the forward offset (accurate to about 1e-10°).

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(*wgs84_to_gcj02(110.78, 32.63))
    >>> round(float(lon), 9), round(float(lat), 9)
    (110.78, 32.63)
    """
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(
    lon: np.ndarray | float, lat: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → GCJ-02 by iterating :func:`gcj02_to_bd09`."""
    return _invert(gcj02_to_bd09, lon, lat)


def bd09_to_wgs84(
    lon: np.ndarray | float, lat: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → WGS 84 by iterating :func:`wgs84_to_bd09` directly (one solve, not two)."""
    return _invert(wgs84_to_bd09, lon, lat)


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


# --- projected input --------------------------------------------------------------------------


def gauss_kruger_epsg(lon: float, zone_width: int = 3, zone_prefix: bool = False) -> int:
    """EPSG code of the CGCS2000 Gauss–Krüger zone holding a longitude.

    Parameters
    ----------
    lon : float
        Longitude in degrees, within China's zones (73.5°–136.5° E for 3° zones).
    zone_width : {3, 6}
    zone_prefix : bool
        True for the CRS whose easting starts with the zone number (EPSG:4513–4533 for 3°
        zones 25–45, EPSG:4491–4501 for 6° zones 13–23); False for the plain one
        (EPSG:4534–4554, 4502–4512).

    Examples
    --------
    >>> gauss_kruger_epsg(110.78)  # 十堰: central meridian 111°E
    4546
    >>> gauss_kruger_epsg(110.78, zone_prefix=True)  # zone 37
    4525
    """
    if zone_width == 3:
        zone = math.floor((lon - 1.5) / 3.0) + 1  # zone n has central meridian 3n
        if not 25 <= zone <= 45:
            raise ValueError(f"longitude {lon} is outside the CGCS2000 3° zones 25–45 (75–135°E)")
        return (4513 if zone_prefix else 4534) + zone - 25
    if zone_width == 6:
        zone = int(lon // 6.0) + 1  # zone n has central meridian 6n − 3
        if not 13 <= zone <= 23:
            raise ValueError(f"longitude {lon} is outside the CGCS2000 6° zones 13–23 (75–135°E)")
        return (4491 if zone_prefix else 4502) + zone - 13
    raise ValueError(f"zone_width must be 3 or 6, not {zone_width}")


def detect_projected_crs(x: np.ndarray, y: np.ndarray) -> int | None:
    """Guess a projected CRS from bare coordinates, where the numbers alone decide it.

    Only an easting carrying its zone number (8 digits, e.g. 37 500 000 m) is unambiguous: it is
    a CGCS2000 3° Gauss–Krüger zone with prefix (zones 25–45, EPSG:4513–4533) or a 6° one
    (zones 13–23, EPSG:4491–4501). Six-digit eastings could be UTM or any zone without prefix,
    so they return None and the user must choose.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    x, y = x[np.isfinite(x) & np.isfinite(y)], y[np.isfinite(x) & np.isfinite(y)]
    if not len(x) or not ((y > 0) & (y < 10_000_000)).all():
        return None
    zones = np.unique(np.floor(x / 1_000_000))
    if len(zones) != 1:
        return None
    zone, rest = int(zones[0]), x - zones[0] * 1_000_000
    if not ((rest > 0) & (rest < 1_000_000)).all():
        return None
    if 25 <= zone <= 45:
        return 4513 + zone - 25
    if 13 <= zone <= 23:
        return 4491 + zone - 13
    return None


def projected_candidates(lon: float, lat: float) -> list[int]:
    """The projected CRSs a file of metres near (lon, lat) is most likely in, most likely first.

    They are the CGCS2000 3° Gauss–Krüger zone without zone prefix (the usual CRS of Chinese
    survey and planning data), the 6° zone when its central meridian differs from the 3° one
    (when it is the same, the two CRSs are the same projection), WGS 84 / UTM, and Web Mercator
    (EPSG:3857, the web maps' own). Outside China's zones the Gauss–Krüger zones are left out.

    Parameters
    ----------
    lon, lat : float
        Where the data should be, in degrees (e.g. the centre of the street).

    Returns
    -------
    list of int
        EPSG codes.

    Examples
    --------
    >>> projected_candidates(110.78, 32.63)  # 十堰: 3° and 6° zones share the meridian 111°E
    [4546, 32649, 3857]
    >>> projected_candidates(113.3, 23.1)  # 广州: 3° CM 114°E, 6° CM 111°E
    [4547, 4508, 32649, 3857]
    """
    codes: list[int] = []
    try:
        gk3 = gauss_kruger_epsg(lon, 3)
        codes.append(gk3)
        gk6 = gauss_kruger_epsg(lon, 6)
        cm3 = 3 * (gk3 - 4534 + 25)
        cm6 = 6 * (gk6 - 4502 + 13) - 3
        if cm6 != cm3:
            codes.append(gk6)
    except ValueError:
        pass  # outside China's zones
    codes.append(utm_epsg(lon, lat))
    codes.append(3857)
    return codes


_CRS_ALIASES: dict[str, int | str] = {
    "wgs84": 4326,
    "wgs-84": 4326,
    "epsg:4326": 4326,
    "cgcs2000": 4490,
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "amap": "gcj02",
    "高德": "gcj02",
    "火星": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
    "百度": "bd09",
}


def parse_crs(text: str | int | pyproj.CRS) -> pyproj.CRS | str:
    """A CRS from what a user types: ``gcj02``/``bd09`` (returned as that name), ``wgs84``,
    ``cgcs2000``, an EPSG code (``4546``, ``EPSG:4546``) or any pyproj definition.

    Raises
    ------
    ValueError
        When pyproj cannot make sense of it.
    """
    if isinstance(text, pyproj.CRS):
        return text
    key = str(text).strip().lower()
    alias = _CRS_ALIASES.get(key)
    if isinstance(alias, str):
        return alias
    try:
        if alias is not None:
            return pyproj.CRS.from_epsg(alias)
        if key.isdigit():
            return pyproj.CRS.from_epsg(int(key))
        return pyproj.CRS.from_user_input(str(text).strip())
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(
            f"无法识别的坐标系 / unknown coordinate system {text!r}: give an EPSG code "
            "(e.g. 4326, 4546), wgs84, cgcs2000, gcj02 or bd09"
        ) from exc


# --- swapped axes -----------------------------------------------------------------------------


def latlon_swapped(
    x: np.ndarray, y: np.ndarray, extent: tuple[float, float, float, float] | None = None
) -> bool:
    """True when lon/lat degrees look swapped (latitude in x, longitude in y).

    Either the y values leave −90…90° while x would be a valid latitude, or an ``extent``
    (lon/lat bounds of the street) holds the swapped points but not the points as given.
    Points in China are always caught: their longitudes (73–136°) are not latitudes.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if not len(x):
        return False
    if (np.abs(x) <= 90).all() and (np.abs(y) <= 180).all() and (np.abs(y) > 90).any():
        return True
    if extent is not None:
        xmin, ymin, xmax, ymax = extent

        def inside(a: np.ndarray, b: np.ndarray) -> float:
            return float(((a >= xmin) & (a <= xmax) & (b >= ymin) & (b <= ymax)).mean())

        return inside(y, x) > 0.5 and inside(x, y) == 0.0
    return False


def swap_xy(geoms: np.ndarray) -> np.ndarray:
    """Geometries with x and y exchanged (the fix for swapped latitude/longitude)."""
    return shapely.transform(np.asarray(geoms, dtype=object), lambda c: c[:, ::-1])


def geometries_to_wgs84(geoms: np.ndarray, source: pyproj.CRS | str | int) -> np.ndarray:
    """Geometries from ``source`` (a CRS, or ``"gcj02"``/``"bd09"``) to WGS 84 lon/lat.

    Projected CRSs go through pyproj (always x = easting/longitude first); the offset systems
    through the iterative inverses above. Missing and empty geometries pass through.
    """
    geoms = np.asarray(geoms, dtype=object)
    if isinstance(source, str) and source in _TO_WGS84:
        inverse = _TO_WGS84[source]

        def offset(coords: np.ndarray) -> np.ndarray:
            lon, lat = inverse(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geoms, offset)
    crs = pyproj.CRS.from_user_input(source)
    if crs.equals(pyproj.CRS.from_epsg(settings.STORAGE_SRID), ignore_axis_order=True):
        return geoms
    transformer = pyproj.Transformer.from_crs(crs, settings.STORAGE_SRID, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, project)


# --- offset files read as WGS 84 --------------------------------------------------------------

_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon
_PUNCTUAL = (0, 4)  # Point and MultiPoint


def _to_utm(geoms: np.ndarray, epsg: int) -> np.ndarray:
    transformer = pyproj.Transformer.from_crs(settings.STORAGE_SRID, epsg, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, project)


def _present(geoms: np.ndarray) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    return geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]


def _sample(geoms: np.ndarray) -> np.ndarray:
    if len(geoms) <= settings.OFFSET_DETECT_SAMPLE:
        return geoms
    spaced = np.linspace(0, len(geoms) - 1, settings.OFFSET_DETECT_SAMPLE, dtype=int)
    return geoms[np.unique(spaced)]


def offset_matches(
    geoms: np.ndarray,
    reference: np.ndarray,
    systems: tuple[str, ...] = ("wgs84", "gcj02", "bd09"),
) -> dict[str, int]:
    """How many features match the street's own data when their coordinates are read in each
    system.

    A polygon matches a reference polygon (a building) overlapping it with an intersection over
    union of at least :data:`gridmap.settings.OFFSET_MATCH_MIN_IOU`; any other feature matches,
    by its representative point, a reference polygon holding it or a reference point (a station)
    within :data:`gridmap.settings.OFFSET_MATCH_DISTANCE_M`. Everything is measured in the UTM
    zone of the reference, vectorised with STRtree; at most
    :data:`gridmap.settings.OFFSET_DETECT_SAMPLE` features, evenly spaced, are compared.

    Parameters
    ----------
    geoms : numpy.ndarray
        The features as read from the file, lon/lat (missing and empty ones are skipped).
    reference : numpy.ndarray
        The street's own buildings and stations in WGS 84.
    systems : tuple of str
        ``wgs84`` (as read), ``gcj02``, ``bd09``: the systems to read the coordinates in.

    Returns
    -------
    dict
        System → number of sampled features that match; all 0 without reference data.
    """
    geoms = _sample(_present(geoms))
    reference = _present(reference)
    if not len(geoms) or not len(reference):
        return dict.fromkeys(systems, 0)
    xmin, ymin, xmax, ymax = shapely.total_bounds(reference)
    epsg = utm_epsg((xmin + xmax) / 2.0, (ymin + ymax) / 2.0)
    ref = _to_utm(reference, epsg)
    kinds = shapely.get_type_id(ref)
    polys = shapely.make_valid(ref[np.isin(kinds, _POLYGONAL)])
    points = ref[np.isin(kinds, _PUNCTUAL)]
    poly_tree, point_tree = shapely.STRtree(polys), shapely.STRtree(points)
    poly_area = shapely.area(polys)
    counts: dict[str, int] = {}
    for system in systems:
        read = geoms if system == "wgs84" else geometries_to_wgs84(geoms, system)
        cand = _to_utm(read, epsg)
        polygonal = np.isin(shapely.get_type_id(cand), _POLYGONAL)
        matched = np.zeros(len(cand), dtype=bool)
        if polygonal.any() and len(polys):
            which = np.flatnonzero(polygonal)
            shapes = shapely.make_valid(cand[which])
            i, j = poly_tree.query(shapes, predicate="intersects")
            inter = shapely.area(shapely.intersection(shapes[i], polys[j]))
            union = shapely.area(shapes)[i] + poly_area[j] - inter
            iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
            matched[which[np.unique(i[iou >= settings.OFFSET_MATCH_MIN_IOU])]] = True
        if (~polygonal).any():
            which = np.flatnonzero(~polygonal)
            spots = shapely.point_on_surface(cand[which])
            hit = np.zeros(len(which), dtype=bool)
            if len(polys):
                hit[np.unique(poly_tree.query(spots, predicate="intersects")[0])] = True
            if len(points):
                near = point_tree.query(
                    spots, predicate="dwithin", distance=settings.OFFSET_MATCH_DISTANCE_M
                )[0]
                hit[np.unique(near)] = True
            matched[which] = hit
        counts[system] = int(matched.sum())
    return counts


@dataclass(frozen=True)
class OffsetEvidence:
    """Why a file read as WGS 84 looks like GCJ-02 or BD-09.

    Attributes
    ----------
    system : str
        ``gcj02`` or ``bd09``: the system under which the features match the street.
    compared : int
        Features compared (a sample of at most :data:`gridmap.settings.OFFSET_DETECT_SAMPLE`).
    matches : dict
        System (``wgs84``, ``gcj02``, ``bd09``) → features matching the street's data so read.
    shift_m : float
        The median distance the correction moves a feature, in metres.
    """

    system: str
    compared: int
    matches: dict[str, int]
    shift_m: float


def detect_web_offset(geoms: np.ndarray, reference: np.ndarray) -> OffsetEvidence | None:
    """Evidence that lon/lat features read as WGS 84 are really GCJ-02 or BD-09, else None.

    The features look offset when, corrected from GCJ-02 (or BD-09), at least
    :data:`gridmap.settings.OFFSET_DETECT_MIN_MATCHES` of them and a share of at least
    :data:`gridmap.settings.OFFSET_DETECT_MIN_SHARE` match the street's own data
    (:func:`offset_matches`), and that share is at least
    :data:`gridmap.settings.OFFSET_DETECT_MIN_RATIO` times the share matching as read. Features
    outside China (where the offsets are zero) and a street without buildings or stations give
    None: then nothing can tell.

    Parameters
    ----------
    geoms : numpy.ndarray
        The features in lon/lat as read.
    reference : numpy.ndarray
        The street's buildings and stations in WGS 84.

    Returns
    -------
    OffsetEvidence or None
    """
    geoms = _sample(_present(geoms))
    if not len(geoms) or not len(_present(reference)):
        return None
    coords = shapely.get_coordinates(geoms)
    if out_of_china(coords[:, 0], coords[:, 1]).all():
        return None
    matches = offset_matches(geoms, reference)
    best = max(("gcj02", "bd09"), key=lambda s: matches[s])
    n = len(geoms)
    share, as_read = matches[best] / n, matches["wgs84"] / n
    if (
        matches[best] < settings.OFFSET_DETECT_MIN_MATCHES
        or share < settings.OFFSET_DETECT_MIN_SHARE
        or share < settings.OFFSET_DETECT_MIN_RATIO * as_read
    ):
        return None
    before = shapely.get_coordinates(shapely.centroid(geoms))
    after = shapely.get_coordinates(shapely.centroid(geometries_to_wgs84(geoms, best)))
    dist = pyproj.Geod(ellps="WGS84").inv(before[:, 0], before[:, 1], after[:, 0], after[:, 1])[2]
    return OffsetEvidence(best, n, matches, float(np.median(dist)))
