"""Metric CRS choice: known UTM zones, errors for frames that cannot be placed."""

from __future__ import annotations

import geopandas as gpd
import pyproj
import pytest
from shapely.geometry import Point, box

from gridmap.crs import lonlat_center, metric_crs, to_metric, utm_epsg, utm_zone


def _points(*lonlat: tuple[float, float], crs: int | None = 4326) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in lonlat], crs=crs)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (110.78, 32.63, 32649),  # 十堰 Shiyan
        (116.40, 39.90, 32650),  # 北京 Beijing
        (121.47, 31.23, 32651),  # 上海 Shanghai
        (0.5, 51.5, 32631),
        (-0.5, 51.5, 32630),
        (151.2, -33.9, 32756),  # southern hemisphere: 327xx
        (180.0, 10.0, 32660),  # the antimeridian stays in zone 60
        (-180.0, 10.0, 32601),
    ],
)
def test_utm_epsg_known_zones(lon: float, lat: float, epsg: int) -> None:
    assert utm_epsg(lon, lat) == epsg


def test_utm_zone_rejects_swapped_coordinates() -> None:
    with pytest.raises(ValueError, match="swapped"):
        utm_epsg(32.63, 110.78)
    with pytest.raises(ValueError, match="longitude"):
        utm_zone(200.0)


def test_metric_crs_of_shiyan_is_utm_49n() -> None:
    crs = metric_crs(_points((110.78, 32.63), (110.80, 32.65)))
    assert isinstance(crs, pyproj.CRS)
    assert crs.to_epsg() == 32649


def test_metric_crs_of_projected_frame_uses_its_location() -> None:
    frame = _points((110.78, 32.63)).to_crs(3857)
    assert metric_crs(frame).to_epsg() == 32649
    assert lonlat_center(frame) == pytest.approx((110.78, 32.63), abs=1e-9)


def test_metric_crs_uses_centre_of_all_data() -> None:
    # 107.5 and 110.5 straddle the zone 48/49 border at 108°: the centre, 109°, is in zone 49
    assert metric_crs(_points((107.5, 30.0), (110.5, 30.0))).to_epsg() == 32649


def test_metric_crs_ignores_missing_geometries() -> None:
    frame = gpd.GeoDataFrame(geometry=[None, Point(110.78, 32.63)], crs=4326)
    assert metric_crs(frame).to_epsg() == 32649


def test_metric_crs_of_empty_frame_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        metric_crs(gpd.GeoDataFrame(geometry=[], crs=4326))
    with pytest.raises(ValueError, match="empty"):
        metric_crs(gpd.GeoDataFrame(geometry=[None], crs=4326))


def test_metric_crs_without_crs_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no CRS"):
        metric_crs(_points((110.78, 32.63), crs=None))


def test_to_metric_measures_a_known_square() -> None:
    square = box(480_000, 3_610_000, 481_000, 3_611_000)  # 1 km² in UTM 49N
    frame = gpd.GeoDataFrame(geometry=[square], crs=32649).to_crs(4326)
    metric = to_metric(frame)
    assert metric.crs.to_epsg() == 32649
    assert metric.area.iloc[0] == pytest.approx(1_000_000.0, rel=1e-6)


def test_to_metric_with_a_given_crs_and_no_op() -> None:
    frame = _points((110.78, 32.63))
    assert to_metric(frame, 32650).crs.to_epsg() == 32650
    metric = to_metric(frame)
    assert to_metric(metric, metric.crs) is metric  # already there: not copied


def test_to_metric_refuses_degrees_and_missing_crs() -> None:
    with pytest.raises(ValueError, match="not a metric CRS"):
        to_metric(_points((110.78, 32.63)), 4326)
    with pytest.raises(ValueError, match="no CRS"):
        to_metric(_points((110.78, 32.63), crs=None), 32649)


def test_to_metric_of_empty_frame_with_a_given_crs() -> None:
    empty = gpd.GeoDataFrame(geometry=[], crs=4326)
    assert len(to_metric(empty, 32649)) == 0
