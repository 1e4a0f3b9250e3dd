"""Member density: figures checked by hand on a small street, filters, classes, the heat layer,
the masked member list, and the same figures from a database on both backends."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from gridmap.crs import metric_crs
from gridmap.density import classify, heat_points, member_density, member_roster
from gridmap.errors import InputError
from gridmap.maps import OfflineHeatMap, density_map
from gridmap.repository import load_street_layers, read_table, save_tables
from worlds import small_world

LON, LAT, D = 110.78, 32.63, 0.001


def _street() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """Two grids in community 1 and one in community 2; four buildings; nine members."""
    grids = gpd.GeoDataFrame(
        {
            "id": [1, 2, 3],
            "code": ["G1", "G2", "G3"],
            "name": ["一", "二", "三"],
            "community_id": [1, 1, 2],
            "community_name": ["甲", "甲", "乙"],
        },
        geometry=[
            box(LON, LAT, LON + D, LAT + D),
            box(LON + D, LAT, LON + 2 * D, LAT + D),
            box(LON + 2 * D, LAT, LON + 3 * D, LAT + D),
        ],
        crs=4326,
    )

    def b(x: float) -> object:
        return box(LON + x * D, LAT + 0.2 * D, LON + (x + 0.2) * D, LAT + 0.4 * D)

    buildings = gpd.GeoDataFrame(
        {
            "id": [10, 11, 12, 13],
            "code": ["B10", "B11", "B12", "B13"],
            "households": [100, 100, 50, 0],
            "residents": [250, 240, 120, 0],
            "grid_id": [1, 1, 2, 3],
            "community_id": [1, 1, 1, 2],
        },
        geometry=[b(0.1), b(0.5), b(1.2), b(2.2)],
        crs=4326,
    )
    members = pd.DataFrame(
        {
            "id": range(1, 10),
            "person_id": range(1, 10),
            "category": [
                "resident",
                "in_service",
                "in_service",
                "retired",
                "lost_contact",
                "resident",
                "floating",
                "resident",
                "retired_cadre",
            ],
            "building_id": [10, 10, 11, 11, 11, 12, 12, None, 13],
            "registered_on": [None, "2023-05-04", None, None, None, None, None, None, None],
        }
    )
    return grids, buildings, members


def test_figures_by_hand() -> None:
    grids, buildings, members = _street()
    report = member_density(grids, buildings, members)
    g = report.grids.set_index("grid_code")
    # grid 1: buildings 10 and 11 → 200 households, 5 members
    assert g.loc["G1", "households"] == 200
    assert g.loc["G1", "members"] == 5
    assert g.loc["G1", "members_per_100_households"] == pytest.approx(2.5)
    assert g.loc["G1", "in_service"] == 2
    assert g.loc["G1", "in_service_registered"] == 1  # only one has a 双报到 date
    assert g.loc["G1", "lost_contact"] == 1
    # grid 2: 50 households, 2 members → 4 per 100 households
    assert g.loc["G2", "members_per_100_households"] == pytest.approx(4.0)
    # per km²: members / area in the local UTM zone
    area = grids.to_crs(metric_crs(grids)).area.iloc[0] / 1e6
    assert g.loc["G1", "area_km2"] == pytest.approx(area)
    assert g.loc["G1", "members_per_km2"] == pytest.approx(5 / area)
    # grid 3 has no households: per 100 households is undefined, and it comes last
    assert np.isnan(g.loc["G3", "members_per_100_households"])
    assert list(report.grids["grid_code"]) == ["G1", "G2", "G3"]  # thinnest first
    assert report.unplaced_members == 0  # the member without a building is in no building
    totals = report.totals
    assert totals["members"] == 8 and totals["households"] == 250
    assert totals["members_per_100_households"] == pytest.approx(100 * 8 / 250)
    b = report.buildings.set_index("building_code")
    assert b.loc["B11", "members"] == 3
    assert b.loc["B11", "members_per_100_households"] == pytest.approx(3.0)


def test_category_and_community_filters() -> None:
    grids, buildings, members = _street()
    residents = member_density(grids, buildings, members, categories=["resident"])
    assert residents.grids.set_index("grid_code")["members"].to_dict() == {
        "G1": 1,
        "G2": 1,
        "G3": 0,
    }
    assert residents.categories == ("resident",)
    only_b = member_density(grids, buildings, members, community_ids=[2])
    assert list(only_b.grids["grid_code"]) == ["G3"]
    assert only_b.totals["members"] == 1
    with pytest.raises(InputError, match="unknown member category"):
        member_density(grids, buildings, members, categories=["nobody"])
    with pytest.raises(InputError, match="lacks the column"):
        member_density(grids, buildings.drop(columns="grid_id"), members)


def test_members_of_a_building_in_no_grid_are_counted_apart() -> None:
    grids, buildings, members = _street()
    buildings.loc[buildings["id"] == 12, "grid_id"] = None
    report = member_density(grids, buildings, members)
    assert report.unplaced_members == 2
    assert report.grids.set_index("grid_code").loc["G2", "members"] == 0


@pytest.mark.parametrize("scheme", ["quantiles", "natural_breaks", "equal_interval"])
def test_classify(scheme: str) -> None:
    values = [1.0, 2.0, 3.0, 4.0, 10.0, 11.0, 12.0, np.nan]
    c = classify(values, scheme, 3)
    assert c.k == 3
    assert c.classes[-1] == -1  # missing value
    assert (np.diff(c.classes[:-1]) >= 0).all()  # sorted values, non-decreasing classes
    assert c.bins[-1] == 12.0 and c.lower == 1.0
    labels = c.labels("名/百户")
    assert len(labels) == 3 and labels[0].startswith("1.0 – ") and labels[0].endswith("名/百户")
    if scheme == "equal_interval":
        assert list(c.bins) == pytest.approx([4.6667, 8.3333, 12.0], abs=1e-3)
    if scheme == "natural_breaks":
        assert c.classes[3] < c.classes[4]  # the break falls in the gap between 4 and 10


def test_classify_few_values_and_bad_input() -> None:
    assert classify([5.0, 5.0, 5.0], "quantiles", 5).k == 1
    assert classify([np.nan], "quantiles", 5).k == 0
    with pytest.raises(InputError):
        classify([1.0, 2.0], "jenks-ish", 3)


def test_roster_masks_names_unless_asked() -> None:
    grids, buildings, members = _street()
    people = pd.DataFrame({"id": range(1, 10), "name": [f"张晓{c}" for c in "一二三四五六七八九"]})
    roster = member_roster(members, people, buildings, grids[grids["code"] == "G1"])
    assert len(roster) == 5 and set(roster["grid_code"]) == {"G1"}
    assert all(re.fullmatch(r"张\*.", n) for n in roster["name"])
    full = member_roster(members, people, buildings, grids, personal_data=True)
    assert "张晓一" in set(full["name"])


def test_heat_points_and_map_are_offline() -> None:
    grids, buildings, members = _street()
    report = member_density(grids, buildings, members)
    points = heat_points(report.buildings)
    assert points.shape == (4, 3) and points[:, 2].sum() == 8  # one point per building
    assert OfflineHeatMap.default_js[0][1].startswith("/app/static/vendor/leaflet.heat-0.2.0/")
    layers = _layers(grids, buildings)
    classes = classify(report.grids["members_per_100_households"], "quantiles", 2)
    html = (
        density_map(
            layers,
            report.grids,
            "members_per_100_households",
            classes,
            "每百户党员数",
            "名/百户",
            heat=points,
        )
        .get_root()
        .render()
    )
    assert re.findall(r"https?://[^\s\"']+", html) == []
    assert "leaflet-heat.js" in html and "gridmap-legend" in html
    assert "名/百户" in html and "无数据" in html  # grid 3 has no households


def _layers(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame):
    from gridmap.repository import StreetLayers

    empty = gpd.GeoDataFrame({"id": [], "name": [], "code": []}, geometry=[], crs=4326)
    communities = gpd.GeoDataFrame(
        {"id": [1], "code": ["C1"], "name": ["甲"]},
        geometry=[box(LON, LAT, LON + 3 * D, LAT + D)],
        crs=4326,
    )
    return StreetLayers(
        streets=empty,
        communities=communities,
        grids=grids.assign(leader_name=None, branch_name=None, households=0, buildings=0),
        buildings=buildings.assign(name="楼", leader_name=None),
        stations=empty.assign(level=[], opening_hours=[]),
    )


def test_density_from_the_database(engine) -> None:
    save_tables(engine, small_world())
    layers = load_street_layers(engine)
    report = member_density(layers.grids, layers.buildings, read_table(engine, "member"))
    g = report.grids.set_index("grid_code")
    assert g.loc["420303001-001-01", "members"] == 1
    assert g.loc["420303001-001-01", "households"] == 36
    assert g.loc["420303001-001-01", "members_per_100_households"] == pytest.approx(100 / 36)
    assert g.loc["420303001-001-01", "in_service_registered"] == 1
    assert g.loc["420303001-001-02", "members"] == 0


def test_demo_street_totals(demo_db_url: str) -> None:
    from gridmap.db import open_database

    engine = open_database(demo_db_url)
    layers = load_street_layers(engine)
    members = read_table(engine, "member")
    report = member_density(layers.grids, layers.buildings, members)
    placed = report.totals["members"] + report.totals["unplaced_members"]
    assert placed == members["building_id"].notna().sum()
    assert len(report.grids) == len(layers.grids)
    per100 = report.grids["members_per_100_households"].dropna()
    assert per100.is_monotonic_increasing
