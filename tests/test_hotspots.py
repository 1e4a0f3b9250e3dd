"""Request hotspots: Gi* is esda's, a planted cluster is found hot, a uniform field has no
significant cells after FDR, filters change what is counted, the demo's hotspot is found, and the
map stays offline."""

from __future__ import annotations

import datetime as dt
import re
import warnings

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gridmap import settings
from gridmap.demo import DEMO_DEFECTS
from gridmap.errors import InputError
from gridmap.hotspots import (
    HOTSPOT_CLASSES,
    filter_requests,
    getis_ord,
    grid_request_stats,
    h3_lattice,
    hotspot_clusters,
    open_requests,
    request_hotspots,
    summarise_hotspots,
)
from gridmap.maps import hotspot_map
from gridmap.repository import load_street_layers, read_table, save_tables
from worlds import small_world

NOW = dt.datetime(2026, 1, 10, 12, 0)
SIDE = 15


def _lattice_w() -> libpysal.weights.W:
    return libpysal.weights.lat2W(SIDE, SIDE, rook=False)


def _planted() -> np.ndarray:
    rng = np.random.default_rng(7)
    y = rng.poisson(5, (SIDE, SIDE)).astype(float)
    y[5:8, 5:8] = rng.poisson(30, (3, 3))
    return y.ravel()


def test_gi_star_is_esda() -> None:
    w, y = _lattice_w(), _planted()
    table, _ = getis_ord(y, w, permutations=199, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, w, transform="B", permutations=199, star=True, seed=3, n_jobs=1)
    np.testing.assert_allclose(table["z"], ref.Zs)
    np.testing.assert_allclose(table["gi"], ref.Gs)
    np.testing.assert_allclose(table["p_sim"], ref.p_sim)
    np.testing.assert_allclose(table["p_norm"], ref.p_norm)


def test_gi_star_z_by_hand() -> None:
    """Getis & Ord (1992) Gi* with binary weights, on a path of 5 units."""
    y = np.array([1.0, 2.0, 3.0, 10.0, 4.0])
    w = libpysal.weights.W({0: [1], 1: [0, 2], 2: [1, 3], 3: [2, 4], 4: [3]})
    table, _ = getis_ord(y, w, permutations=0, inference="analytic")
    n, mean, s = len(y), y.mean(), y.std()
    i, weights = 3, np.array([0, 0, 1, 1, 1.0])  # unit 3 with itself and 2, 4
    num = weights @ y - mean * weights.sum()
    den = s * np.sqrt((n * (weights**2).sum() - weights.sum() ** 2) / (n - 1))
    assert table["z"].iloc[i] == pytest.approx(num / den)


def test_a_planted_cluster_is_found_hot() -> None:
    table, _ = getis_ord(_planted(), _lattice_w(), fdr=True)
    cls = table["cls"].to_numpy().reshape(SIDE, SIDE)
    # with 999 permutations and 225 tests, FDR at 1 % would need ~23 cells at p = 0.001
    assert cls[6, 6] in ("hot_99", "hot_95")  # the centre of the planted block
    raw, _ = getis_ord(_planted(), _lattice_w(), fdr=False)
    assert raw["cls"].to_numpy().reshape(SIDE, SIDE)[6, 6] == "hot_99"
    assert (cls[5:8, 5:8] != "not_significant").all()
    assert all(c.startswith("hot") or c == "not_significant" for c in cls[5:8, 5:8].ravel())
    far = np.concatenate([cls[:2].ravel(), cls[-2:].ravel()])
    assert not any(c.startswith("hot") for c in far)


def test_a_uniform_field_has_no_significant_cells_after_fdr() -> None:
    y = np.random.default_rng(11).poisson(10, SIDE * SIDE).astype(float)
    table, cutoffs = getis_ord(y, _lattice_w(), fdr=True)
    assert (table["cls"] == "not_significant").all()
    assert set(cutoffs) == set(settings.HOTSPOT_CONFIDENCE_LEVELS)
    raw, _ = getis_ord(y, _lattice_w(), fdr=False)
    # without FDR a few cells pass by chance: what FDR is there to remove
    assert (raw["cls"] != "not_significant").sum() >= 1


def test_a_flat_field_and_bad_arguments() -> None:
    table, _ = getis_ord(np.zeros(SIDE * SIDE), _lattice_w())
    assert (table["cls"] == "not_significant").all()
    with pytest.raises(InputError):
        getis_ord(np.ones(3), _lattice_w())
    with pytest.raises(InputError):
        getis_ord(_planted(), _lattice_w(), inference="bayesian")


def test_same_seed_same_classes() -> None:
    a, _ = getis_ord(_planted(), _lattice_w(), seed=5)
    b, _ = getis_ord(_planted(), _lattice_w(), seed=5)
    pd.testing.assert_frame_equal(a, b)


# --- filters and per-grid figures -------------------------------------------------------------


def _requests() -> gpd.GeoDataFrame:
    t = dt.datetime(2026, 1, 1, 9, 0)
    rows = [
        # id, category, source, status, received, due, resolved, rating, grid
        (
            1,
            "停车管理",
            "hotline",
            "evaluated",
            t,
            t + dt.timedelta(hours=72),
            t + dt.timedelta(hours=10),
            5,
            1,
        ),
        (
            2,
            "停车管理",
            "report",
            "resolved",
            t + dt.timedelta(days=1),
            t + dt.timedelta(days=4),
            t + dt.timedelta(days=1, hours=30),
            None,
            1,
        ),
        (
            3,
            "环境卫生",
            "visit",
            "assigned",
            t + dt.timedelta(days=2),
            t + dt.timedelta(days=3),
            None,
            None,
            1,
        ),  # open and overdue at NOW
        (
            4,
            "环境卫生",
            "inspection",
            "received",
            t + dt.timedelta(days=8),
            t + dt.timedelta(days=10),
            None,
            None,
            2,
        ),  # open, in time at NOW
        (
            5,
            "噪音扰民",
            "hotline",
            "evaluated",
            t + dt.timedelta(days=3),
            t + dt.timedelta(days=4),
            t + dt.timedelta(days=3, hours=20),
            3,
            2,
        ),
    ]
    cols = [
        "id",
        "category",
        "source",
        "status",
        "received_at",
        "due_at",
        "resolved_at",
        "rating",
        "grid_id",
    ]
    frame = pd.DataFrame(rows, columns=cols)
    points = [
        Point(110.7805, 32.6305) if g == 1 else Point(110.7815, 32.6305) for g in frame["grid_id"]
    ]
    return gpd.GeoDataFrame(frame, geometry=points, crs=4326)


def _two_grids() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [1, 2],
            "code": ["G1", "G2"],
            "name": ["一", "二"],
            "community_name": ["甲", "甲"],
            "households": [100, 50],
        },
        geometry=[box(110.78, 32.63, 110.781, 32.631), box(110.781, 32.63, 110.782, 32.631)],
        crs=4326,
    )


def test_filters_change_what_is_counted() -> None:
    r = _requests()
    assert list(filter_requests(r, categories=["停车管理"])["id"]) == [1, 2]
    assert list(filter_requests(r, sources=["hotline"])["id"]) == [1, 5]
    assert list(filter_requests(r, status="open")["id"]) == [3, 4]
    assert list(filter_requests(r, status="overdue", now=NOW)["id"]) == [3]
    window = filter_requests(r, start=dt.date(2026, 1, 2), end=dt.date(2026, 1, 3))
    assert list(window["id"]) == [2, 3]  # a date end includes that whole day
    both = filter_requests(r, categories=["环境卫生"], sources=["visit"], status="open")
    assert list(both["id"]) == [3]
    with pytest.raises(InputError, match="overdue"):
        filter_requests(r, status="overdue")
    with pytest.raises(InputError, match="unknown request source"):
        filter_requests(r, sources=["fax"])
    with pytest.raises(InputError, match="empty"):
        filter_requests(r, start=dt.date(2026, 2, 1), end=dt.date(2026, 1, 1))


def test_grid_request_stats_by_hand() -> None:
    stats = grid_request_stats(_requests(), _two_grids(), NOW).set_index("grid_code")
    assert stats.loc["G1", "requests"] == 3 and stats.loc["G1", "open"] == 1
    assert stats.loc["G1", "overdue"] == 1 and stats.loc["G2", "overdue"] == 0
    assert stats.loc["G1", "median_hours_to_resolve"] == pytest.approx(20.0)  # 10 h and 30 h
    assert stats.loc["G1", "mean_rating"] == pytest.approx(5.0)
    assert stats.loc["G2", "mean_rating"] == pytest.approx(3.0)
    late = open_requests(_requests(), NOW)
    assert list(late["id"]) == [3, 4] and list(late["overdue"]) == [True, False]


def test_requests_without_a_stored_grid_are_placed_by_position() -> None:
    r = _requests().assign(grid_id=None)
    report = request_hotspots(r, _two_grids(), unit="grid", permutations=99)
    assert report.cells.set_index("grid_code")["requests"].to_dict() == {"G1": 3, "G2": 2}
    rate = request_hotspots(r, _two_grids(), unit="grid", measure="rate", permutations=99)
    assert rate.cells.set_index("grid_code")["value"].to_dict() == {"G1": 3.0, "G2": 4.0}


def test_h3_lattice_neighbours() -> None:
    area = box(110.78, 32.63, 110.79, 32.64)
    cells, w = h3_lattice(area, gpd.GeoSeries([Point(110.80, 32.65)], crs=4326), 9)
    assert w.n == len(cells) > 10
    assert all(i in w.neighbors[j] for i in w.id_order for j in w.neighbors[i])  # symmetric
    assert max(w.cardinalities.values()) <= 6
    finer, _ = h3_lattice(area, gpd.GeoSeries([], crs=4326), 10)
    assert len(finer) > len(cells)
    with pytest.raises(InputError):
        h3_lattice(area, gpd.GeoSeries([], crs=4326), 16)


# --- the demo street --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_db_url: str):
    from gridmap.db import open_database

    engine = open_database(demo_db_url)
    return load_street_layers(engine), read_table(engine, "request")


def test_the_demo_hotspot_is_found_hot(demo) -> None:
    layers, requests = demo
    hot_grid = DEMO_DEFECTS["hotspot_grid"]
    category = DEMO_DEFECTS["hotspot_category"]
    today = settings.DEMO_REFERENCE_DATE
    year = filter_requests(requests, start=today - dt.timedelta(days=365), end=today)
    report = request_hotspots(year, layers.grids, layers.buildings)  # the page's defaults
    inside = report.cells[report.cells["grid_code"] == hot_grid]
    assert (inside["cls"] == "hot_99").any()
    chosen = filter_requests(requests, categories=[category])
    by_category = request_hotspots(chosen, layers.grids, layers.buildings, fdr=True)
    inside = by_category.cells[by_category.cells["grid_code"] == hot_grid]
    assert inside["cls"].str.startswith("hot").any()
    top = hotspot_clusters(by_category).iloc[0]
    assert top["grid_code"] == hot_grid and top["top_category"] == category
    summary = summarise_hotspots(by_category)
    assert hot_grid in summary[0] and category in summary[0]
    assert "Hotspot 1" in summarise_hotspots(by_category, "en")[0]


def test_the_demo_hotspot_grid_with_the_normal_approximation(demo) -> None:
    layers, requests = demo
    chosen = filter_requests(requests, categories=[DEMO_DEFECTS["hotspot_category"]])
    report = request_hotspots(chosen, layers.grids, unit="grid", inference="analytic")
    cls = report.cells.set_index("grid_code")["cls"]
    assert cls[DEMO_DEFECTS["hotspot_grid"]] == "hot_99"


def test_hotspot_map_is_offline_with_a_red_blue_legend(demo) -> None:
    layers, requests = demo
    report = request_hotspots(requests, layers.grids, layers.buildings)
    late = open_requests(requests, dt.datetime.combine(settings.DEMO_REFERENCE_DATE, dt.time()))
    html = hotspot_map(layers, report.cells, "h3", "件", open_requests=late).get_root().render()
    assert re.findall(r"https?://[^\s\"']+", html) == []
    for zh, _en, colour in HOTSPOT_CLASSES.values():
        assert zh in html and colour in html
    assert "已超期未办结" in html


def test_hotspots_from_the_database(engine) -> None:
    save_tables(engine, small_world())
    layers = load_street_layers(engine)
    requests = read_table(engine, "request")
    report = request_hotspots(requests, layers.grids, unit="grid", permutations=99)
    assert report.cells.set_index("grid_code")["requests"].to_dict() == {
        "420303001-001-01": 1,
        "420303001-001-02": 0,
    }
    stats = grid_request_stats(requests, layers.grids, NOW).set_index("grid_code")
    assert stats.loc["420303001-001-01", "open"] == 1
    assert stats.loc["420303001-001-01", "overdue"] == 1  # due 2026-01-03, still assigned
