"""The data model round-trips on SQLite and PostGIS alike: geometry, enums, dates, locking,
and writes are all-or-nothing."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, box
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
from worlds import LAT, LON, D, small_world


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


def test_data_version_changes_with_every_write_and_only_then(engine) -> None:
    from gridmap import auth
    from gridmap.db import transaction
    from gridmap.repository import data_version

    empty = data_version(engine)
    assert data_version(engine) == empty  # reading changes nothing
    save_tables(engine, small_world())
    loaded = data_version(engine)
    assert loaded != empty
    with transaction(engine) as conn:  # an edit that leaves every count as it was
        auth.audit(conn, auth.SYSTEM, "update", "grid", 1, {"name": "第1网格"}, {"name": "一"})
    assert data_version(engine) not in (empty, loaded)
