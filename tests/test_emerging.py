"""Emerging hot spots (issue 22 item 2): each ArcGIS class on a series built for it, the
Mann–Kendall test against scipy's Kendall τ, and the whole analysis on a lattice of grids
whose requests were shaped to be intensifying in one corner and new-and-consecutive in
another."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats

from gridmap.emerging import (
    EMERGING_CLASSES,
    classify_emerging,
    emerging_hotspots,
    emerging_months,
    mann_kendall,
    summarise_emerging,
)
from gridmap.errors import InputError

H, C, _ = 1, -1, 0  # a month hot, cold, neither
UP, DOWN, FLAT = (0.8, 0.001), (-0.8, 0.001), (0.1, 0.6)

#: A series of 12 months built for each class (and its trend).
SERIES: dict[str, tuple[list[int], tuple[float, float]]] = {
    "new_hot": ([_] * 11 + [H], FLAT),
    "consecutive_hot": ([_] * 8 + [H] * 4, UP),
    "intensifying_hot": ([_] + [H] * 11, UP),
    "persistent_hot": ([H] * 12, FLAT),
    "diminishing_hot": ([H] * 11 + [H], DOWN),
    "sporadic_hot": ([H, _, _, H, _, H, _, _, _, H, _, H], FLAT),
    "oscillating_hot": ([C, _, _, H, _, C, _, _, _, _, _, H], FLAT),
    "historical_hot": ([H] * 11 + [_], DOWN),
    "no_pattern": ([_, H, _, _, C, _, _, H, _, _, _, _], FLAT),
    "historical_cold": ([C] * 11 + [_], UP),
    "oscillating_cold": ([_, H, C, _, _, _, _, _, _, _, _, C], FLAT),
    "sporadic_cold": ([_, C, _, _, C, _, _, _, _, _, _, C], FLAT),
    "diminishing_cold": ([C] * 12, UP),
    "persistent_cold": ([C] * 12, FLAT),
    "intensifying_cold": ([C] * 12, DOWN),
    "consecutive_cold": ([_] * 9 + [C] * 3, DOWN),
    "new_cold": ([_] * 11 + [C], FLAT),
}


def test_each_class_from_the_series_built_for_it():
    assert set(SERIES) == set(EMERGING_CLASSES)
    flags = np.array([s for s, _ in SERIES.values()])
    trend = np.array([t for _, (t, _) in SERIES.values()])
    p = np.array([q for _, (_, q) in SERIES.values()])
    got = classify_emerging(flags == H, flags == C, trend, p)
    assert dict(zip(SERIES, got, strict=True)) == {k: k for k in SERIES}


def test_boundaries_of_the_share_and_the_run():
    # a run of two after a gap is not "consecutive" (hot before the run): sporadic
    flags = np.array([[H, _, _, _, _, _, _, _, _, _, H, H]])
    assert classify_emerging(flags == H, flags == C, [0.0], [1.0])[0] == "sporadic_hot"
    # 10 of 12 hot (83 %) ending in a run: consecutive, not persistent (< 90 %)
    flags = np.array([[_, _] + [H] * 10])
    assert classify_emerging(flags == H, flags == C, [0.0], [1.0])[0] == "consecutive_hot"
    # 9 of 10 hot (90 %) with the final: persistent with no trend
    flags = np.array([[_] + [H] * 9])
    assert classify_emerging(flags == H, flags == C, [0.0], [1.0])[0] == "persistent_hot"


def test_mann_kendall_is_kendalls_tau_against_time():
    rng = np.random.default_rng(7)
    series = np.vstack([np.arange(12.0), -np.arange(12.0), rng.normal(size=12), np.ones(12)])
    tau, p = mann_kendall(series)
    for row in range(3):
        expected = stats.kendalltau(np.arange(12), series[row])
        assert tau[row] == pytest.approx(expected.statistic) and p[row] == pytest.approx(
            expected.pvalue
        )
    assert tau[0] == pytest.approx(1.0) and tau[1] == pytest.approx(-1.0) and p[0] < 1e-6
    assert (tau[3], p[3]) == (0.0, 1.0)  # a constant series has no trend


def test_months_are_the_last_whole_ones():
    months = emerging_months(dt.datetime(2026, 10, 31), 12)
    assert (str(months[0]), str(months[-1])) == ("2025-10", "2026-09")
    with pytest.raises(InputError, match="3"):
        emerging_months(dt.datetime(2026, 10, 31), 2)


def _lattice(n: int = 9, size: float = 0.001) -> gpd.GeoDataFrame:
    cells = [(i, j) for j in range(n) for i in range(n)]
    polys = [shapely.box(110 + i * size, 32 + j * size, 110 + (i + 1) * size,
                         32 + (j + 1) * size) for i, j in cells]  # fmt: skip
    return gpd.GeoDataFrame(
        {"id": range(1, len(cells) + 1), "code": [f"G{i}-{j}" for i, j in cells],
         "name": [f"第{k + 1}网格" for k in range(len(cells))], "i": [c[0] for c in cells],
         "j": [c[1] for c in cells]},
        geometry=polys, crs=4326,
    )  # fmt: skip


NOW = dt.datetime(2026, 11, 15)


def _requests(grids: gpd.GeoDataFrame, sw=None, ne_from: int | None = None) -> gpd.GeoDataFrame:
    """A background of 1 or 2 requests per grid and month in a checkerboard (no cluster of
    its own); the south-west 3×3 block gets ``sw(t)`` a month, the north-east block 15 a month
    from month ``ne_from`` on."""
    rows = []
    for t, month in enumerate(emerging_months(NOW, 12)):
        start = month.to_timestamp()
        for g in grids.itertuples():
            n = 1 + (g.i + g.j + t) % 2
            if sw is not None and g.i < 3 and g.j < 3:
                n = sw(t)
            if ne_from is not None and g.i >= 6 and g.j >= 6 and t >= ne_from:
                n = 15
            centre = g.geometry.centroid
            rows += [(centre, start + pd.Timedelta(days=1 + k % 25)) for k in range(n)]
    return gpd.GeoDataFrame(
        {"id": range(len(rows)), "category": "环境卫生", "received_at": [r[1] for r in rows]},
        geometry=[r[0] for r in rows], crs=4326,
    )  # fmt: skip


def _centre(report, grids, i: int, j: int) -> pd.Series:
    cells = report.cells.merge(grids[["id", "i", "j"]], left_on="unit_id", right_on="id")
    return cells[(cells["i"] == i) & (cells["j"] == j)].iloc[0]


def test_a_corner_that_grows_is_intensifying():
    grids = _lattice()
    report = emerging_hotspots(_requests(grids, sw=lambda t: 4 + 2 * t), grids, NOW,
                               unit="grid", permutations=0, inference="analytic")  # fmt: skip
    centre = _centre(report, grids, 1, 1)
    assert centre["cls"] == "intensifying_hot"
    assert centre["hot_months"] == 12 and centre["trend"] > 0.9 and centre["trend_p"] < 0.001
    assert report.months == [str(m) for m in emerging_months(NOW, 12)]
    assert any("加剧热点" in line for line in summarise_emerging(report))
    # the H3 lattice sees the same corner
    hexes = emerging_hotspots(_requests(grids, sw=lambda t: 4 + 2 * t), grids, NOW, unit="h3",
                              resolution=10, permutations=0, inference="analytic")  # fmt: skip
    assert hexes.counts()["intensifying_hot"] >= 1


@pytest.mark.parametrize(("start", "expected"), [(9, "consecutive_hot"), (11, "new_hot")])
def test_a_corner_that_appears_is_consecutive_or_new(start: int, expected: str):
    grids = _lattice()
    report = emerging_hotspots(_requests(grids, ne_from=start), grids, NOW, unit="grid",
                               permutations=0, inference="analytic")  # fmt: skip
    centre = _centre(report, grids, 7, 7)
    assert centre["cls"] == expected and centre["hot_months"] == 12 - start
    series = report.series[report.series["unit_id"] == centre["unit_id"]]
    assert list(series["requests"].iloc[start:]) == [15] * (12 - start)
    assert set(report.cells.loc[report.cells["cls"].str.endswith("_hot"), "cls"]) <= {
        expected,
        "sporadic_hot",
        "oscillating_hot",
    }  # the block's edge may flicker; nothing else is hot


def test_the_command_on_the_demo(demo_db_url: str) -> None:
    import json

    from click.testing import CliRunner

    from gridmap.cli import main
    from gridmap.db import open_database
    from gridmap.repository import load_street_layers, read_table
    from gridmap.requests import street_now

    engine = open_database(demo_db_url)
    grids = load_street_layers(engine).grids
    expected = emerging_hotspots(read_table(engine, "request"), grids, street_now(engine),
                                 months=6, unit="grid")  # fmt: skip
    args = ["hotspots", "--emerging", "--months", "6", "--unit", "grid", "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--db", demo_db_url])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["classes"] == expected.counts() and data["months"] == expected.months
    classed = expected.cells[expected.cells["cls"] != "no_pattern"]
    assert sorted(u["grid_code"] for u in data["units"]) == sorted(classed["grid_code"])
    text = CliRunner().invoke(main, ["hotspots", "--emerging", "--db", demo_db_url])
    assert text.exit_code == 0 and "个月" in text.output
    bad = CliRunner().invoke(main, ["hotspots", "--emerging", "--months", "2", "--db",
                                    demo_db_url])  # fmt: skip
    assert bad.exit_code == InputError.exit_code and "3" in bad.output


def test_the_command_reads_only_the_users_scope(demo_db_url: str) -> None:
    """``gridmap hotspots --user`` counts the requests that user may see (the page's rule)."""
    import json

    from click.testing import CliRunner

    from gridmap.cli import main

    def analysed(*user: str) -> int:
        result = CliRunner(env={"GRIDMAP_PASSWORD": "demo-secretary-2026"}).invoke(
            main, [*user, "hotspots", "--unit", "grid", "--format", "json", "--db", demo_db_url]
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["requests"]

    everyone = analysed()
    secretary = analysed("--user", "demo_secretary")
    assert 0 < secretary < everyone / 3  # one community of seven
