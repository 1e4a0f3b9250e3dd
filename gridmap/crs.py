"""Metric CRS choice and lat/lon helpers.

Every stored geometry is WGS 84 (EPSG:4326); areas and distances are computed in a local metric
CRS chosen from the data: the WGS 84 / UTM zone of the data's centre (EPSG:326xx north of the
equator, EPSG:327xx south of it). Shiyan (十堰, about 110.8° E) falls in zone 49, EPSG:32649.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import shapely

__all__ = ["lonlat_center", "metric_crs", "to_metric", "utm_epsg", "utm_zone"]


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
