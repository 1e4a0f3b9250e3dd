"""Small hand-built worlds with known answers, shared by the tests."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
from shapely.geometry import MultiPolygon, Point, Polygon, box

LON, LAT = 110.78, 32.63
D = 0.001  # ≈ 100 m


def _poly_with_hole() -> Polygon:
    outer = box(LON, LAT, LON + 2 * D, LAT + 2 * D)
    hole = box(LON + 0.5 * D, LAT + 0.5 * D, LON + 0.8 * D, LAT + 0.8 * D)
    return Polygon(outer.exterior.coords, [hole.exterior.coords])


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geom", crs=4326)


# fmt: off
#: The password of the ``admin`` user of the ``world`` fixture (tests/conftest.py).
ADMIN_PASSWORD = "correct horse battery"


def small_world() -> dict[str, pd.DataFrame]:
    """Two communities (one a multipolygon), one active plan with two grids, two buildings,
    a member, a station and a request: every table kind the model has."""
    community_a = _poly_with_hole()
    community_b = MultiPolygon([box(LON + 3 * D, LAT, LON + 4 * D, LAT + D),
                                box(LON + 5 * D, LAT, LON + 6 * D, LAT + D)])
    return {
        "street": _gdf([{"id": 1, "code": "420303001", "name": "测试街道",
                         "geom": MultiPolygon([community_a])}]),
        "community": _gdf([
            {"id": 1, "street_id": 1, "code": "420303001-001", "name": "甲社区",
             "geom": community_a},
            {"id": 2, "street_id": 1, "code": "420303001-002", "name": "乙社区",
             "geom": community_b},
        ]),
        "person": pd.DataFrame([
            {"id": 1, "name": "张晓明", "phone": "13812341234", "id_suffix": "123X",
             "roles": "grid_leader,building_leader"},
        ]),
        "grid_plan": pd.DataFrame([
            {"id": 1, "community_id": 1, "name": "2024年方案", "status": "active",
             "created_at": dt.datetime(2024, 3, 1, 9, 30)},
        ]),
        "party_org": pd.DataFrame([
            {"id": 1, "parent_id": None, "kind": "committee", "name": "甲社区党委",
             "community_id": 1, "grid_id": None},
            {"id": 2, "parent_id": 1, "kind": "branch", "name": "第1网格党支部",
             "community_id": 1, "grid_id": 1},  # refers forward to grid 1: checked at commit
        ]),
        "grid": _gdf([
            {"id": 1, "plan_id": 1, "code": "420303001-001-01", "name": "第1网格",
             "geom": box(LON, LAT, LON + D, LAT + 2 * D), "leader_id": 1, "party_org_id": 2,
             "version": 1},
            {"id": 2, "plan_id": 1, "code": "420303001-001-02", "name": "第2网格",
             "geom": box(LON + D, LAT, LON + 2 * D, LAT + 2 * D), "leader_id": None,
             "party_org_id": None, "version": 1},
        ]),
        "building": _gdf([
            {"id": 1, "community_id": 1, "code": "B001", "name": "1栋",
             "geom": box(LON + 0.1 * D, LAT + 0.1 * D, LON + 0.3 * D, LAT + 0.3 * D),
             "households": 36, "residents": 95, "leader_id": 1, "grid_id": 1},
            {"id": 2, "community_id": 1, "code": "B002", "name": "<b>2栋</b>",
             "geom": box(LON + 1.1 * D, LAT + 0.1 * D, LON + 1.3 * D, LAT + 0.3 * D),
             "households": 24, "residents": 60, "leader_id": None, "grid_id": 2},
        ]),
        "member": pd.DataFrame([
            {"id": 1, "person_id": 1, "party_org_id": 2, "category": "in_service",
             "building_id": 1, "joined_on": dt.date(1998, 7, 1),
             "registered_on": dt.date(2023, 5, 4), "work_unit": "十堰市人民医院",
             "status": "active"},
        ]),
        "service_station": _gdf([
            {"id": 1, "community_id": 1, "name": "甲社区党群服务站", "level": "community",
             "geom": Point(LON + D, LAT + D), "opening_hours": "8:30-17:30"},
        ]),
        "request": _gdf([
            {"id": 1, "code": "R20260101-0001", "source": "hotline", "category": "环境卫生",
             "description": "楼道堆放杂物", "geom": Point(LON + 0.2 * D, LAT + 0.2 * D),
             "building_id": 1, "grid_id": 1, "status": "assigned", "reporter": "李*",
             "assignee_kind": "grid_worker", "assignee_id": 1,
             "received_at": dt.datetime(2026, 1, 1, 8, 0),
             "due_at": dt.datetime(2026, 1, 3, 8, 0)},
        ]),
        "request_event": pd.DataFrame([
            {"id": 1, "request_id": 1, "at": dt.datetime(2026, 1, 1, 8, 0), "actor_id": None,
             "from_status": None, "to_status": "received", "note": "12345转办"},
            {"id": 2, "request_id": 1, "at": dt.datetime(2026, 1, 1, 9, 0), "actor_id": 1,
             "from_status": "received", "to_status": "assigned", "note": None},
        ]),
    }
# fmt: on


def clean_world() -> dict[str, pd.DataFrame]:
    """A street with nothing wrong: one community exactly covered by two grids, each with a
    leader, a branch and 10 led buildings of 40 households (400 per grid), and a station in the
    middle, within 300 m of every building."""
    world = small_world()
    community = box(LON, LAT, LON + 2 * D, LAT + 2 * D)
    left, right = box(LON, LAT, LON + D, LAT + 2 * D), box(LON + D, LAT, LON + 2 * D, LAT + 2 * D)
    world["street"].loc[0, "geom"] = MultiPolygon([community])
    world["community"] = world["community"].iloc[[0]].copy()
    world["community"].loc[0, "geom"] = community
    grids = world["grid"].copy()
    grids["geom"] = [left, right]
    grids["leader_id"] = [1, 1]
    grids["party_org_id"] = [2, 3]
    world["grid"] = grids
    world["party_org"] = pd.DataFrame([
        {"id": 1, "parent_id": None, "kind": "committee", "name": "甲社区党委",
         "community_id": 1, "grid_id": None},
        {"id": 2, "parent_id": 1, "kind": "branch", "name": "第1网格党支部",
         "community_id": 1, "grid_id": 1},
        {"id": 3, "parent_id": 1, "kind": "branch", "name": "第2网格党支部",
         "community_id": 1, "grid_id": 2},
    ])  # fmt: skip
    rows = []
    for i in range(20):
        grid_x = 0 if i < 10 else 1
        k = i % 10
        x0 = LON + grid_x * D + 0.1 * D + (k % 5) * 0.17 * D
        y0 = LAT + 0.2 * D + (k // 5) * 0.8 * D
        rows.append({"id": i + 1, "community_id": 1, "code": f"B{i + 1:03d}", "name": f"{i + 1}栋",
                     "geom": box(x0, y0, x0 + 0.1 * D, y0 + 0.3 * D), "households": 40,
                     "residents": 100, "leader_id": 1, "grid_id": grid_x + 1})  # fmt: skip
    world["building"] = gpd.GeoDataFrame(rows, geometry="geom", crs=4326)
    world["member"] = world["member"].assign(building_id=1)
    world["request"] = world["request"].assign(building_id=1)
    return world
