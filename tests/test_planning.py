"""gridmap.planning: under-covered ranking, MCLP station siting, what-if, explanations."""

from __future__ import annotations

import datetime as dt
import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gridmap import settings
from gridmap.errors import InputError
from gridmap.planning import (
    FACTORS,
    PlanningInputs,
    candidate_sites,
    factor_needs,
    rank_areas,
    site_stations,
    solve_mclp,
    what_if_member,
    what_if_station,
    what_if_worker,
)

LON, LAT = 110.78, 32.63
D = 0.001  # ≈ 94 m east–west, 111 m north–south
NOW = dt.datetime(2026, 10, 31)
# grid id → west edge (in D): grids 1–3 side by side, grid 4 ≈ 1 km east
WEST = {1: 0, 2: 1, 3: 2, 4: 11}


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geom", crs=4326)


def _members(building: int, n: int, start: int, category: str = "resident") -> list[dict]:
    return [{"id": start + i, "category": category, "building_id": building} for i in range(n)]


def planning_world() -> PlanningInputs:
    """Four grids of 300 households each, with known needs:

    1 — fine everywhere (score 0);
    2 — one part-time worker only: 600 households per worker;
    3 — 6 members (3 lost contact), no grid leader, 3 open requests (1 overdue), a hotspot;
    4 — 1 km from the only station: every household beyond reach.
    """
    grids = _gdf(
        [
            {
                "id": g,
                "code": f"G{g}",
                "name": f"第{g}网格",
                "community_id": 1,
                "community_name": "甲社区",
                "leader_id": None if g == 3 else 100 + g,
                "party_org_id": 200 + g,
                "geom": box(LON + WEST[g] * D, LAT, LON + (WEST[g] + 1) * D, LAT + D),
            }
            for g in WEST
        ]
    )
    buildings = _gdf(
        [
            {
                "id": g,
                "code": f"B{g}",
                "community_id": 1,
                "households": 300,
                "leader_id": 1,
                "grid_id": g,
                "geom": box(
                    LON + (WEST[g] + 0.3) * D, LAT + 0.3 * D, LON + (WEST[g] + 0.7) * D,
                    LAT + 0.7 * D,
                ),
            }
            for g in WEST
        ]
    )  # fmt: skip
    members = pd.DataFrame(
        _members(1, 30, 1)
        + _members(2, 30, 100)
        + _members(3, 3, 200)
        + _members(3, 3, 300, "lost_contact")
        + _members(4, 30, 400)
    )
    workers = pd.DataFrame(
        [
            {"grid_id": 1, "part_time": False},
            {"grid_id": 1, "part_time": False},
            {"grid_id": 2, "part_time": True},
            {"grid_id": 3, "part_time": False},
            {"grid_id": 3, "part_time": False},
            {"grid_id": 4, "part_time": False},
            {"grid_id": 4, "part_time": False},
        ]
    )
    stations = _gdf([{"id": 1, "geom": Point(LON + 0.5 * D, LAT + 0.5 * D)}])
    inside3 = Point(LON + 2.5 * D, LAT + 0.5 * D)
    requests = _gdf(
        [
            {"id": 1, "status": "received", "due_at": NOW + dt.timedelta(days=1), "geom": inside3},
            {"id": 2, "status": "assigned", "due_at": NOW + dt.timedelta(days=1), "geom": inside3},
            {"id": 3, "status": "escalated", "due_at": NOW - dt.timedelta(days=2), "geom": inside3},
            {"id": 4, "status": "evaluated", "due_at": NOW - dt.timedelta(days=9), "geom": inside3},
        ]
    )
    return PlanningInputs(grids, buildings, stations, members, workers, requests, NOW, 500)


HOT = pd.DataFrame({"unit_id": [3], "cls": ["hot_99"]})


def test_ranking_orders_grids_as_expected() -> None:
    ranking = rank_areas(planning_world(), hotspots=HOT)
    table = ranking.table.set_index("unit_id")
    assert list(ranking.table["unit_id"]) == [3, 4, 2, 1]
    # grid 3: members 15 + available members 10 + leadership 15/3 + open 10 + overdue 5×2/3
    # + hotspot 10 (default weights, which sum to 100)
    assert table.loc[3, "score"] == pytest.approx(53.3, abs=0.05)
    assert table.loc[4, "score"] == pytest.approx(20.0)
    assert table.loc[2, "score"] == pytest.approx(15.0)
    assert table.loc[1, "score"] == 0.0
    assert list(ranking.table["rank"]) == [1, 2, 3, 4]
    assert table.loc[2, "households_per_worker"] == 600
    assert table.loc[3, "households_per_member"] == 100  # lost-contact members do not serve
    assert table.loc[3, "members_per_100_households"] == 2.0
    assert table.loc[4, "beyond_reach"] == 1.0
    assert table.loc[3, "open"] == 3 and table.loc[3, "overdue"] == 1
    points = ranking.table[[f"points_{f}" for f in FACTORS]].sum(axis=1)
    assert np.allclose(points.round(1), ranking.table["score"], atol=0.051)


@pytest.mark.parametrize("factor", list(FACTORS))
def test_each_weight_moves_the_ranking(factor: str) -> None:
    world = planning_world()
    alone = rank_areas(world, weights={factor: 1.0}, hotspots=HOT).table
    # weighing one factor only, the score is 100 × its need and the order follows it
    assert np.allclose(alone["score"], (100 * alone[f"need_{factor}"]).round(1))
    assert alone[f"need_{factor}"].is_monotonic_decreasing
    assert alone[f"need_{factor}"].iloc[0] > 0
    top = alone["unit_id"].iloc[0]
    base = rank_areas(world, hotspots=HOT)
    heavier = {**settings.PLANNING_WEIGHTS, factor: settings.PLANNING_WEIGHTS[factor] + 1000}
    moved = rank_areas(world, weights=heavier, hotspots=HOT)
    # a heavy weight puts the unit that needs this factor most on top, whatever it was before
    assert moved.table["unit_id"].iloc[0] == top
    assert moved.score_of(top) != base.score_of(top)
    assert not moved.table["score"].equals(base.table["score"])


def test_explanations_name_the_top_factors() -> None:
    table = rank_areas(planning_world(), hotspots=HOT).table.set_index("unit_id")
    why3 = table.loc[3, "why"]
    assert why3.startswith("甲社区 第3网格:")
    assert "每百户仅 2.0 名党员(15.0 分)" in why3
    assert "每名在岗党员联系 100 户(10.0 分)" in why3
    assert "未办结诉求 3 件" in why3
    assert why3.count("分)") == settings.PLANNING_EXPLAIN_TOP
    assert "100% 的住户(300 户)在 500 米服务半径外(20.0 分)" in table.loc[4, "why"]
    assert "每名网格员服务 600 户(15.0 分)" in table.loc[2, "why"]
    assert "各项指标均在合理范围内" in table.loc[1, "why"]
    assert "beyond 500 m" in table.loc[4, "why_en"]


def test_no_hotspots_given_means_no_hotspot_points() -> None:
    table = rank_areas(planning_world()).table.set_index("unit_id")
    assert table.loc[3, "score"] == pytest.approx(43.3, abs=0.05)
    assert (table["points_hotspot"] == 0).all()


def test_hexagon_ranking_covers_every_household() -> None:
    ranking = rank_areas(planning_world(), unit="h3", hotspots=None, resolution=11)
    table = ranking.table
    assert table["households"].sum() == 1200
    assert table["workers"].sum() == pytest.approx(6.5)
    assert table["score"].between(0, 100).all()
    assert table["label"].str.startswith("六边形").all()
    top = table.iloc[0]
    assert "第3网格" in top["label"] and top["score"] > 0


def test_factor_needs_ramps() -> None:
    needs = factor_needs(
        pd.DataFrame(
            {
                "households_per_worker": [100, 350, 900, np.inf, np.nan],
                "members_per_100_households": [10, 5, 2, 0, np.nan],
            }
        )
    )
    assert needs["households_per_worker"].tolist() == [0.0, 0.5, 1.0, 1.0, 0.0]
    assert needs["members_per_100_households"].tolist() == [0.0, 0.5, 1.0, 1.0, 0.0]


def test_bad_weights_and_units_are_refused() -> None:
    world = planning_world()
    with pytest.raises(InputError, match="unknown weight"):
        rank_areas(world, weights={"beauty": 1})
    with pytest.raises(InputError, match="not all zero"):
        rank_areas(world, weights={f: 0 for f in FACTORS})
    with pytest.raises(InputError, match="unknown unit"):
        rank_areas(world, unit="county")
    with pytest.raises(InputError, match="lacks the column"):
        PlanningInputs(world.grids.drop(columns="leader_id"), world.buildings, world.stations,
                       world.members, world.workers, world.requests, NOW)  # fmt: skip


# --- what-if ---------------------------------------------------------------------------------


def test_what_if_worker_lowers_the_grid_score() -> None:
    result = what_if_worker(planning_world(), 2, hotspots=HOT)
    # 0.5 + 0.5 FTE: 300 households per worker, need (300 − 200) / 300 → 5 points, was 15
    assert result.delta == pytest.approx(-10.0)
    assert list(result.changes["unit_id"]) == [2]
    assert result.after.score_of(2) == pytest.approx(5.0)
    full = what_if_worker(planning_world(), 2, part_time=False, hotspots=HOT)
    assert full.after.score_of(2) == pytest.approx(0.0)


def test_what_if_member() -> None:
    result = what_if_member(planning_world(), 3, hotspots=HOT)
    # 7 members per 300 households: need (8 − 2.33) / 6 = 0.944 → 14.2 points, was 15
    assert result.delta == pytest.approx(-0.8, abs=0.11)
    assert list(result.changes["unit_id"]) == [3]
    with pytest.raises(InputError, match="no active grid"):
        what_if_member(planning_world(), 99)


def test_what_if_station_reaches_the_far_grid() -> None:
    result = what_if_station(planning_world(), LON + 11.5 * D, LAT + 0.5 * D, hotspots=HOT)
    assert list(result.changes["unit_id"]) == [4]
    assert result.delta == pytest.approx(-20.0)
    assert result.changes["rank_after"].iloc[0] == 4  # score 0, after grid 1 (tie, input order)


# --- station siting ---------------------------------------------------------------------------


def _siting_world(seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    n, m = 14, 8
    xs, ys = rng.uniform(0, 8 * D, n), rng.uniform(0, 8 * D, n)
    buildings = gpd.GeoDataFrame(
        {"id": np.arange(1, n + 1), "households": rng.integers(5, 200, n)},
        geometry=[box(LON + x, LAT + y, LON + x + 0.1 * D, LAT + y + 0.1 * D)
                  for x, y in zip(xs, ys, strict=True)],
        crs=4326,
    )  # fmt: skip
    candidates = gpd.GeoDataFrame(
        {"site_id": [f"c{i}" for i in range(m)]},
        geometry=[Point(LON + x, LAT + y) for x, y in rng.uniform(0, 8 * D, (m, 2))],
        crs=4326,
    )
    stations = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(LON, LAT)], crs=4326)
    return buildings, stations, candidates


def _brute_force(buildings, stations, candidates, k: int, radius: float) -> int:
    """The best households-in-reach over every set of k candidates."""
    crs = 32649
    centres = buildings.to_crs(crs).geometry.centroid
    hh = buildings["households"].to_numpy()
    existing = np.array([centres.distance(p).to_numpy() for p in stations.to_crs(crs).geometry])
    reach = (existing <= radius).any(axis=0)
    sites = np.array([centres.distance(p).to_numpy() <= radius
                      for p in candidates.to_crs(crs).geometry])  # fmt: skip
    best = 0
    for combo in itertools.combinations(range(len(candidates)), k):
        covered = reach | sites[list(combo)].any(axis=0)
        best = max(best, int(hh[covered].sum()))
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_mclp_matches_brute_force(seed: int, k: int) -> None:
    buildings, stations, candidates = _siting_world(seed)
    radius = 250.0
    result = site_stations(buildings, stations, candidates, k=k, radius_m=radius)
    assert result.status == "Optimal"
    assert result.after == _brute_force(buildings, stations, candidates, k, radius)
    assert len(result.sites) <= k
    assert int(result.sites["gain"].sum()) == result.gained
    assert (result.sites["alone"] >= result.sites["gain"]).all()
    assert result.sites["gain"].is_monotonic_decreasing
    assert result.before == _brute_force(buildings, stations, candidates.iloc[0:0], 0, radius)


def test_solve_mclp_on_a_known_instance() -> None:
    covers = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    chosen, status = solve_mclp(covers, np.array([5, 3, 1, 4]), 2)
    assert status == "Optimal" and sorted(chosen) == [0, 2]  # 5 + 1 + 4 beats 5 + 3 + 1


def test_siting_stops_when_nothing_more_to_gain() -> None:
    world = planning_world()
    candidates = candidate_sites(world.buildings, spacing_m=None)
    assert len(candidates) == 0  # every building has households
    lattice = candidate_sites(world.buildings, world.grids, spacing_m=50)
    assert (lattice["kind"] == "lattice").all() and len(lattice) > 10
    result = site_stations(world.buildings, world.stations, lattice, k=3, radius_m=500)
    assert result.before == 900 and result.after == 1200
    assert len(result.sites) == 1 and result.sites["gain"].iloc[0] == 300
    assert result.share("before") == 0.75 and result.share() == 1.0


def test_candidate_sites_offer_public_buildings() -> None:
    world = planning_world()
    buildings = world.buildings.copy()
    buildings.loc[buildings["id"] == 2, "households"] = 0
    buildings["name"] = ["1栋", "幼儿园", "3栋", "4栋"]
    sites = candidate_sites(buildings, spacing_m=None)
    assert list(sites["site_id"]) == ["b2"] and sites["label"].iloc[0] == "幼儿园"
    assert sites.geometry.iloc[0].within(buildings.geometry.iloc[1])


def test_siting_refuses_bad_k() -> None:
    world = planning_world()
    with pytest.raises(InputError, match="k must be"):
        site_stations(world.buildings, world.stations, candidate_sites(world.buildings), k=0)


def test_demo_street_planning(demo_db_url: str) -> None:
    from gridmap.db import open_database
    from gridmap.demo import DEMO_DEFECTS
    from gridmap.repository import load_street_layers, read_table

    engine = open_database(demo_db_url)
    layers = load_street_layers(engine)
    world = PlanningInputs(
        layers.grids, layers.buildings, layers.stations, read_table(engine, "member"),
        read_table(engine, "grid_worker"), read_table(engine, "request"), NOW, 500,
    )  # fmt: skip
    ranking = rank_areas(world)
    codes = dict(zip(layers.grids["id"], layers.grids["code"], strict=True))
    table = ranking.table.assign(code=ranking.table["unit_id"].map(codes)).set_index("code")
    far = table.loc[DEMO_DEFECTS["far_from_station_grids"]]
    assert (far["need_beyond_reach"] == 1.0).all()
    assert (far["rank"] <= 15).all()  # of 80 grids
    assert "服务半径外" in far["why"].iloc[0]
    result = site_stations(
        layers.buildings, layers.stations, candidate_sites(layers.buildings, layers.communities),
        k=3, radius_m=500,
    )  # fmt: skip
    assert result.status == "Optimal" and result.after > result.before
