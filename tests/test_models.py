"""The data model round-trips on SQLite and PostGIS alike: geometry, enums, dates, locking,
and writes are all-or-nothing."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gridmap.models import Grid, GridPlan, MemberCategory, PlanStatus, RequestStatus
from gridmap.repository import (
    active_grids,
    community_summary,
    layer_counts,
    read_table,
    save_tables,
)

LON, LAT = 110.78, 32.63
D = 0.001  # ≈ 100 m


def _poly_with_hole() -> Polygon:
    outer = box(LON, LAT, LON + 2 * D, LAT + 2 * D)
    hole = box(LON + 0.5 * D, LAT + 0.5 * D, LON + 0.8 * D, LAT + 0.8 * D)
    return Polygon(outer.exterior.coords, [hole.exterior.coords])


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geom", crs=4326)


def small_world() -> dict[str, pd.DataFrame]:
    """Two communities (one a multipolygon), one active plan with two grids, two buildings,
    a member, a station and a request: every table kind the model has."""
    community_a = _poly_with_hole()
    community_b = MultiPolygon([box(LON + 3 * D, LAT, LON + 4 * D, LAT + D),
                                box(LON + 5 * D, LAT, LON + 6 * D, LAT + D)])  # fmt: skip
    return {
        "street": _gdf([{"id": 1, "code": "420303001", "name": "测试街道",
                         "geom": MultiPolygon([community_a])}]),  # fmt: skip
        "community": _gdf([
            {"id": 1, "street_id": 1, "code": "420303001-001", "name": "甲社区",
             "geom": community_a},
            {"id": 2, "street_id": 1, "code": "420303001-002", "name": "乙社区",
             "geom": community_b},
        ]),  # fmt: skip
        "person": pd.DataFrame([
            {"id": 1, "name": "张晓明", "phone": "13812341234", "id_suffix": "123X",
             "roles": "grid_leader,building_leader"},
        ]),  # fmt: skip
        "grid_plan": pd.DataFrame([
            {"id": 1, "community_id": 1, "name": "2024年方案", "status": "active",
             "created_at": dt.datetime(2024, 3, 1, 9, 30)},
        ]),  # fmt: skip
        "party_org": pd.DataFrame([
            {"id": 1, "parent_id": None, "kind": "committee", "name": "甲社区党委",
             "community_id": 1, "grid_id": None},
            {"id": 2, "parent_id": 1, "kind": "branch", "name": "第1网格党支部",
             "community_id": 1, "grid_id": 1},  # refers forward to grid 1: checked at commit
        ]),  # fmt: skip
        "grid": _gdf([
            {"id": 1, "plan_id": 1, "code": "420303001-001-01", "name": "第1网格",
             "geom": box(LON, LAT, LON + D, LAT + 2 * D), "leader_id": 1, "party_org_id": 2,
             "version": 1},
            {"id": 2, "plan_id": 1, "code": "420303001-001-02", "name": "第2网格",
             "geom": box(LON + D, LAT, LON + 2 * D, LAT + 2 * D), "leader_id": None,
             "party_org_id": None, "version": 1},
        ]),  # fmt: skip
        "building": _gdf([
            {"id": 1, "community_id": 1, "code": "B001", "name": "1栋",
             "geom": box(LON + 0.1 * D, LAT + 0.1 * D, LON + 0.3 * D, LAT + 0.3 * D),
             "households": 36, "residents": 95, "leader_id": 1, "grid_id": 1},
            {"id": 2, "community_id": 1, "code": "B002", "name": "<b>2栋</b>",
             "geom": box(LON + 1.1 * D, LAT + 0.1 * D, LON + 1.3 * D, LAT + 0.3 * D),
             "households": 24, "residents": 60, "leader_id": None, "grid_id": 2},
        ]),  # fmt: skip
        "member": pd.DataFrame([
            {"id": 1, "person_id": 1, "party_org_id": 2, "category": "in_service",
             "building_id": 1, "joined_on": dt.date(1998, 7, 1),
             "registered_on": dt.date(2023, 5, 4), "work_unit": "十堰市人民医院",
             "status": "active"},
        ]),  # fmt: skip
        "service_station": _gdf([
            {"id": 1, "community_id": 1, "name": "甲社区党群服务站", "level": "community",
             "geom": Point(LON + D, LAT + D), "opening_hours": "8:30-17:30"},
        ]),  # fmt: skip
        "request": _gdf([
            {"id": 1, "code": "R20260101-0001", "source": "hotline", "category": "环境卫生",
             "description": "楼道堆放杂物", "geom": Point(LON + 0.2 * D, LAT + 0.2 * D),
             "building_id": 1, "grid_id": 1, "status": "assigned", "reporter": "李*",
             "assignee_kind": "grid_worker", "assignee_id": 1,
             "received_at": dt.datetime(2026, 1, 1, 8, 0),
             "due_at": dt.datetime(2026, 1, 3, 8, 0)},
        ]),  # fmt: skip
        "request_event": pd.DataFrame([
            {"id": 1, "request_id": 1, "at": dt.datetime(2026, 1, 1, 8, 0), "actor_id": None,
             "from_status": None, "to_status": "received", "note": "12345转办"},
            {"id": 2, "request_id": 1, "at": dt.datetime(2026, 1, 1, 9, 0), "actor_id": 1,
             "from_status": "received", "to_status": "assigned", "note": None},
        ]),  # fmt: skip
    }


def test_layers_round_trip_exactly(engine) -> None:
    world = small_world()
    written = save_tables(engine, world)
    assert written["grid"] == 2 and written["request_event"] == 2
    for name, frame in world.items():
        back = read_table(engine, name)
        assert list(back["id"]) == list(frame["id"]), name
        if "geom" in frame:
            assert isinstance(back, gpd.GeoDataFrame) and back.crs.to_epsg() == 4326
            original = shapely.normalize(frame.geometry.values)
            # polygons are stored as multipolygons; the shapes are identical
            assert shapely.equals(shapely.normalize(back.geometry.values), original).all(), name
    community = read_table(engine, "community")
    assert len(community.geometry.iloc[0].geoms[0].interiors) == 1  # the hole survived
    assert len(community.geometry.iloc[1].geoms) == 2  # both parts survived
    member = read_table(engine, "member").iloc[0]
    assert member["category"] == MemberCategory.in_service
    assert member["joined_on"] == dt.date(1998, 7, 1)
    request = read_table(engine, "request").iloc[0]
    assert request["status"] == RequestStatus.assigned
    assert pd.Timestamp(request["due_at"]) == pd.Timestamp(2026, 1, 3, 8, 0)
    assert read_table(engine, "building")["name"].iloc[1] == "<b>2栋</b>"  # stored as given


def test_active_grids_carry_display_columns(engine) -> None:
    save_tables(engine, small_world())
    grids = active_grids(engine)
    first = grids.set_index("code").loc["420303001-001-01"]
    assert first["leader_name"] == "张*明"  # masked by default
    assert first["branch_name"] == "第1网格党支部"
    assert first["households"] == 36 and first["buildings"] == 1
    second = grids.set_index("code").loc["420303001-001-02"]
    assert pd.isna(second["leader_name"]) and pd.isna(second["branch_name"])
    assert active_grids(engine, mask_personal=False)["leader_name"].iloc[0] == "张晓明"


def test_community_summary_counts(engine) -> None:
    save_tables(engine, small_world())
    summary = community_summary(engine).set_index("code")
    a = summary.loc["420303001-001"]
    assert (a["grids"], a["buildings"], a["households"], a["members"]) == (2, 2, 60, 1)
    assert (a["stations"], a["open_requests"]) == (1, 1)
    b = summary.loc["420303001-002"]
    assert (b["grids"], b["buildings"], b["households"]) == (0, 0, 0)


def test_bad_reference_rolls_back_everything(engine) -> None:
    world = small_world()
    world["building"].loc[1, "community_id"] = 99  # no such community
    with pytest.raises(IntegrityError):
        save_tables(engine, world)
    assert all(n == 0 for n in layer_counts(engine).values())


def test_unknown_column_is_refused_before_writing(engine) -> None:
    world = small_world()
    world["grid"]["colour"] = "red"
    with pytest.raises(ValueError, match="no column"):
        save_tables(engine, world)
    assert layer_counts(engine)["street"] == 0


def test_orm_geometry_and_optimistic_locking(engine) -> None:
    save_tables(engine, small_world())
    with Session(engine) as session:
        grid = session.scalars(select(Grid).where(Grid.code == "420303001-001-01")).one()
        assert isinstance(grid.geom, MultiPolygon)
        assert grid.geom.equals(MultiPolygon([box(LON, LAT, LON + D, LAT + 2 * D)]))
        grid.geom = box(LON, LAT, LON + D, LAT + D)  # a plain polygon is accepted
        session.commit()
        assert grid.version == 2
        plan = session.get(GridPlan, 1)
        assert plan.status == PlanStatus.active
    # a second editor still holding version 1 is refused
    with Session(engine) as stale:
        grid = stale.get(Grid, 1)
        with engine.begin() as conn:
            conn.execute(Grid.__table__.update().where(Grid.id == 1).values(version=3))
        grid.name = "改名"
        with pytest.raises(StaleDataError):
            stale.commit()
