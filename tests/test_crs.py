"""Metric CRS choice: known UTM zones, errors for frames that cannot be placed."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import Point, box

from gridmap import settings
from gridmap.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    detect_projected_crs,
    detect_web_offset,
    gauss_kruger_epsg,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geometries_to_wgs84,
    latlon_swapped,
    lonlat_center,
    metric_crs,
    offset_matches,
    out_of_china,
    parse_crs,
    projected_candidates,
    swap_xy,
    to_metric,
    utm_epsg,
    utm_zone,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)


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


# --- GCJ-02 / BD-09 ---------------------------------------------------------------------------

# Published reference pairs. eviltransform (googollee, test.py): WGS 84 → GCJ-02, lon/lat.
EVILTRANSFORM_PAIRS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]
# coordtransform (wandergis, test/app.js), all from (116.404, 39.915).
COORDTRANSFORM = {
    "wgs84_to_gcj02": (116.41024449916938, 39.91640428150164),
    "gcj02_to_bd09": (116.41036949371029, 39.92133699351021),
}
# Read from the Amap web API (R package test data): WGS 84 → GCJ-02 at 1e-8°.
AMAP_API_PAIR = ((116.39089, 39.90734), (116.39713623, 39.90874539))
# Beijing railway station in GCJ-02 and BD-09 as the two map sites give it (1e-5°).
BEIJING_STATION = ((116.42703, 39.90245), (116.43351, 39.90851))


def _metres(lon1, lat1, lon2, lat2) -> float:
    geod = pyproj.Geod(ellps="WGS84")
    return float(geod.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM_PAIRS)
def test_wgs84_to_gcj02_matches_published_pairs(wgs, gcj) -> None:
    lon, lat = wgs84_to_gcj02(*wgs)
    assert float(lon) == pytest.approx(gcj[0], abs=1e-9)
    assert float(lat) == pytest.approx(gcj[1], abs=1e-9)


def test_coordtransform_pairs() -> None:
    assert np.allclose(wgs84_to_gcj02(116.404, 39.915), COORDTRANSFORM["wgs84_to_gcj02"], atol=1e-9)
    assert np.allclose(gcj02_to_bd09(116.404, 39.915), COORDTRANSFORM["gcj02_to_bd09"], atol=1e-9)


def test_against_map_api_points_within_a_metre() -> None:
    (wlon, wlat), (glon, glat) = AMAP_API_PAIR
    assert _metres(*wgs84_to_gcj02(wlon, wlat), glon, glat) < 0.7
    (glon, glat), (blon, blat) = BEIJING_STATION
    assert _metres(*gcj02_to_bd09(glon, glat), blon, blat) < 1.0
    assert _metres(*bd09_to_gcj02(blon, blat), glon, glat) < 1.0


def _china_points() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(74, 134, 31), np.linspace(18, 53, 36))
    return lon.ravel(), lat.ravel()


def test_iterative_inverses_round_trip_below_a_tenth_of_a_millimetre() -> None:
    lon, lat = _china_points()
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(np.subtract(back, (lon, lat))).max() < 1e-12
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert np.abs(np.subtract(back, (lon, lat))).max() < 1e-12
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert np.abs(np.subtract(back, (lon, lat))).max() < 1e-12


def test_one_step_inverse_is_metres_off_where_iteration_is_exact() -> None:
    lon, lat = _china_points()
    glon, glat = wgs84_to_gcj02(lon, lat)
    dlon, dlat = np.subtract(wgs84_to_gcj02(glon, glat), (glon, glat))
    naive = np.array([_metres(a, b, c, d) for a, b, c, d in zip(glon - dlon, glat - dlat, lon, lat,
                                                                 strict=True)])  # fmt: skip
    assert naive.max() > 0.5  # the shortcut many tools use
    ilon, ilat = gcj02_to_wgs84(glon, glat)
    assert max(_metres(a, b, c, d) for a, b, c, d in zip(ilon, ilat, lon, lat, strict=True)) < 1e-4


def test_outside_china_is_not_offset() -> None:
    assert out_of_china(2.35, 48.85)
    assert np.allclose(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85))
    assert np.allclose(gcj02_to_wgs84(-74.0, 40.7), (-74.0, 40.7))


def test_geometries_to_wgs84_from_gcj02_and_bd09() -> None:
    truth = Point(110.78, 32.63)
    gcj = Point(*(float(v) for v in wgs84_to_gcj02(truth.x, truth.y)))
    bd = Point(*(float(v) for v in wgs84_to_bd09(truth.x, truth.y)))
    assert _metres(truth.x, truth.y, gcj.x, gcj.y) > 100  # the offset is hundreds of metres
    for source, geom in (("gcj02", gcj), ("bd09", bd)):
        back = geometries_to_wgs84(np.array([geom], dtype=object), source)[0]
        assert back.equals_exact(truth, 1e-9)


# --- projected input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "width", "prefix", "epsg"),
    [(110.78, 3, False, 4546), (110.78, 3, True, 4525), (75.0, 3, False, 4534),
     (135.0, 3, False, 4554), (116.4, 3, False, 4548), (110.78, 6, False, 4508),
     (110.78, 6, True, 4497)],
)  # fmt: skip
def test_gauss_kruger_zones(lon: float, width: int, prefix: bool, epsg: int) -> None:
    assert gauss_kruger_epsg(lon, width, prefix) == epsg
    crs = pyproj.CRS.from_epsg(epsg)
    assert "CGCS2000" in crs.name


def test_gauss_kruger_outside_china_is_an_error() -> None:
    with pytest.raises(ValueError, match="zones 25–45"):
        gauss_kruger_epsg(10.0)


def test_detect_projected_crs_only_when_the_zone_is_in_the_easting() -> None:
    frame = _points((110.78, 32.63), (110.79, 32.64)).to_crs(4525)
    xy = shapely.get_coordinates(frame.geometry.values)
    assert detect_projected_crs(xy[:, 0], xy[:, 1]) == 4525
    utm = shapely.get_coordinates(frame.to_crs(32649).geometry.values)
    assert detect_projected_crs(utm[:, 0], utm[:, 1]) is None  # UTM or GK without prefix: ask


def test_projected_geometries_come_back_to_lonlat() -> None:
    truth = np.array([Point(110.78, 32.63)], dtype=object)
    for epsg in (4546, 4525, 32649, 4508):
        projected = gpd.GeoSeries(truth, crs=4326).to_crs(epsg).values
        back = geometries_to_wgs84(np.asarray(projected, dtype=object), pyproj.CRS(epsg))
        assert back[0].equals_exact(truth[0], 1e-9)


def test_parse_crs_words_and_codes() -> None:
    assert parse_crs("gcj02") == "gcj02" and parse_crs("百度") == "bd09"
    assert parse_crs("wgs84").to_epsg() == 4326
    assert parse_crs("cgcs2000").to_epsg() == 4490
    assert parse_crs("4546").to_epsg() == 4546
    assert parse_crs("EPSG:32649").to_epsg() == 32649
    with pytest.raises(ValueError, match="unknown coordinate system"):
        parse_crs("mars")


def test_latlon_swap_detection() -> None:
    assert latlon_swapped(np.array([32.63]), np.array([110.78]))
    assert not latlon_swapped(np.array([110.78]), np.array([32.63]))
    # both orders in range: only the street's extent can tell
    extent = (2.0, 48.0, 3.0, 49.0)
    assert latlon_swapped(np.array([48.5]), np.array([2.5]), extent)
    assert not latlon_swapped(np.array([2.5]), np.array([48.5]), extent)
    swapped = swap_xy(np.array([Point(32.63, 110.78)], dtype=object))
    assert swapped[0].equals(Point(110.78, 32.63))


# --- CGCS2000, candidate zones, offset files read as WGS 84 (issue 17) ------------------------


def test_cgcs2000_lonlat_is_taken_as_wgs84() -> None:
    # CGCS2000 and WGS 84 differ by centimetres: pyproj's transformation is the identity
    truth = np.array([Point(110.78, 32.63), box(110.779, 32.633, 110.780, 32.634)], dtype=object)
    back = geometries_to_wgs84(truth, pyproj.CRS.from_epsg(4490))
    assert all(b.equals_exact(t, 1e-12) for b, t in zip(back, truth, strict=True))
    assert "China Geodetic Coordinate System 2000" in pyproj.CRS.from_epsg(4490).name


@pytest.mark.parametrize(
    ("lon", "lat", "codes"),
    [(110.78, 32.63, [4546, 32649, 3857]),  # 十堰: 3° and 6° zones share CM 111°E
     (113.3, 23.1, [4547, 4508, 32649, 3857]),  # 广州: 3° CM 114°E, 6° CM 111°E, UTM 49N
     (116.4, 39.9, [4548, 32650, 3857]),  # 北京: 3° and 6° zones share CM 117°E, UTM 50N
     (2.35, 48.85, [32631, 3857])],  # outside China's Gauss-Krüger zones
)  # fmt: skip
def test_projected_candidates(lon: float, lat: float, codes: list[int]) -> None:
    assert projected_candidates(lon, lat) == codes


def _square(lon: float, lat: float, side_m: float, dx_m: float = 0.0) -> shapely.Geometry:
    """A square of side_m metres whose south-west corner is dx_m east of (lon, lat), in WGS 84."""
    utm = pyproj.Transformer.from_crs(4326, 32649, always_xy=True)
    x, y = utm.transform(lon, lat)
    square = box(x + dx_m, y, x + dx_m + side_m, y + side_m)
    return gpd.GeoSeries([square], crs=32649).to_crs(4326).iloc[0]


def _offset(geoms: list, forward) -> np.ndarray:
    def shift(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(forward(coords[:, 0], coords[:, 1]))

    return shapely.transform(np.array(geoms, dtype=object), shift)


SITES = [(110.7792, 32.6340), (110.7810, 32.6355), (110.7775, 32.6322), (110.7830, 32.6301)]


def test_offset_matches_known_counts() -> None:
    buildings = [_square(x, y, 20.0) for x, y in SITES]
    station = Point(110.7850, 32.6380)
    reference = np.array([*buildings, station], dtype=object)
    # as WGS 84 all four footprints match; their GCJ-02 versions match only once corrected
    assert offset_matches(np.array(buildings, dtype=object), reference) == {
        "wgs84": 4, "gcj02": 0, "bd09": 0}  # fmt: skip
    gcj = _offset(buildings, wgs84_to_gcj02)
    assert offset_matches(gcj, reference) == {"wgs84": 0, "gcj02": 4, "bd09": 0}
    bd = _offset(buildings, wgs84_to_bd09)
    assert offset_matches(bd, reference) == {"wgs84": 0, "gcj02": 0, "bd09": 4}
    # IoU of a 20 m square and the same moved 5 m: 300 / 500 = 0.6 ≥ 0.5; moved 8 m: 240 / 560
    moved = np.array([_square(*SITES[0], 20.0, 5.0), _square(*SITES[1], 20.0, 8.0)], dtype=object)
    assert offset_matches(moved, reference, ("wgs84",)) == {"wgs84": 1}
    # a point matches a footprint holding it, or a station within 10 m (not 12 m)
    utm = pyproj.Transformer.from_crs(4326, 32649, always_xy=True)
    back = pyproj.Transformer.from_crs(32649, 4326, always_xy=True)
    sx, sy = utm.transform(station.x, station.y)
    near, far = Point(*back.transform(sx + 8.0, sy)), Point(*back.transform(sx + 12.0, sy))
    inside = _square(*SITES[2], 20.0).centroid
    points = np.array([near, far, inside], dtype=object)
    assert offset_matches(points, reference, ("wgs84",)) == {"wgs84": 2}
    assert offset_matches(points, np.array([], dtype=object)) == {
        "wgs84": 0, "gcj02": 0, "bd09": 0}  # fmt: skip


def test_detect_web_offset_needs_clear_evidence() -> None:
    buildings = [_square(x, y, 20.0) for x, y in SITES]
    reference = np.array(buildings, dtype=object)
    gcj = _offset(buildings, wgs84_to_gcj02)
    evidence = detect_web_offset(gcj, reference)
    assert evidence is not None and evidence.system == "gcj02"
    assert evidence.compared == 4 and evidence.matches == {"wgs84": 0, "gcj02": 4, "bd09": 0}
    c0, g0 = buildings[0].centroid, gcj[0].centroid
    assert evidence.shift_m == pytest.approx(_metres(c0.x, c0.y, g0.x, g0.y), abs=1.0)
    assert 400 < evidence.shift_m < 700  # the GCJ-02 offset at 十堰 is 555 m
    bd = detect_web_offset(_offset(buildings, wgs84_to_bd09), reference)
    assert bd is not None and bd.system == "bd09" and bd.shift_m > 1000
    # the right coordinates, too few matches, no reference, or matches as read too: no evidence
    assert detect_web_offset(np.array(buildings, dtype=object), reference) is None
    assert detect_web_offset(gcj[:2], reference) is None  # 2 < OFFSET_DETECT_MIN_MATCHES
    assert detect_web_offset(gcj, np.array([], dtype=object)) is None
    both = np.array([*buildings[:2], *gcj[2:]], dtype=object)  # half match as read
    assert detect_web_offset(both, reference) is None
    # outside China the offsets are zero and nothing can tell
    paris = np.array([_square(2.35, 48.85, 20.0)], dtype=object)
    assert detect_web_offset(paris, paris) is None


def test_detect_web_offset_samples_large_files(monkeypatch: pytest.MonkeyPatch) -> None:
    buildings = [_square(x, y, 20.0) for x, y in SITES]
    gcj = _offset(buildings, wgs84_to_gcj02)
    monkeypatch.setattr(settings, "OFFSET_DETECT_SAMPLE", 3)
    evidence = detect_web_offset(gcj, np.array(buildings, dtype=object))
    assert evidence is not None and evidence.compared == 3 and evidence.matches["gcj02"] == 3
