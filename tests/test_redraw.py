"""Grid redrawing: plans, edits on a draft, metrics, validation, activation, rollback, locking and
auto-balance, on hand-built worlds with known answers (both backends) and on the demo street."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from shapely.geometry import LineString, box
from sqlalchemy import Engine, select, text

from gridmap import redraw as r
from gridmap import settings
from gridmap.coverage import coverage_validity
from gridmap.db import open_database, transaction
from gridmap.errors import ConflictError, InputError
from gridmap.models import User
from gridmap.repository import read_table, save_tables, table
from worlds import LAT, LON, D, clean_world

COMMUNITY = "420303001-001"
G1, G2 = "420303001-001-01", "420303001-001-02"


@pytest.fixture
def world(engine: Engine) -> Engine:
    """The clean world: one community exactly covered by two grids of 400 households each
    (10 buildings of 40 in each), active plan #1."""
    save_tables(engine, clean_world())
    return engine


def _draft(engine: Engine) -> int:
    return r.new_draft(engine, COMMUNITY, name="调整草案")


def _metrics(engine: Engine, plan_id: int) -> r.PlanMetrics:
    return r.layers_metrics(r.load_plan(engine, plan_id))


def _by_code(metrics: r.PlanMetrics) -> pd.DataFrame:
    return metrics.grids.set_index("code")


def _versions(engine: Engine, plan_id: int) -> dict[str, int]:
    grids = r.load_plan(engine, plan_id).grids
    return dict(zip(grids["code"], grids["version"], strict=True))


def _geoms(engine: Engine, plan_id: int) -> dict[str, shapely.Geometry]:
    grids = r.load_plan(engine, plan_id).grids
    return dict(zip(grids["code"], grids.geometry, strict=True))


# --- plans ------------------------------------------------------------------------------------


def test_new_draft_copies_the_active_plan(world: Engine) -> None:
    plan_id = _draft(world)
    draft, active = r.load_plan(world, plan_id), r.load_plan(world, 1)
    assert draft.plan["status"] == "draft"
    assert list(draft.grids["code"]) == list(active.grids["code"]) == [G1, G2]
    assert list(draft.grids["leader_id"]) == list(active.grids["leader_id"])
    assert list(draft.grids["party_org_id"]) == list(active.grids["party_org_id"])
    for a, b in zip(draft.grids.geometry, active.grids.geometry, strict=True):
        assert shapely.to_wkb(a) == shapely.to_wkb(b)
    assert set(draft.grids["id"]).isdisjoint(active.grids["id"])
    plans = r.list_plans(world, COMMUNITY)
    assert list(plans["status"]) == ["draft", "active"]
    assert list(plans["grids"]) == [2, 2]


def test_clean_world_metrics(world: Engine) -> None:
    metrics = _metrics(world, _draft(world))
    grids = _by_code(metrics)
    assert list(grids["households"]) == [400, 400]
    assert list(grids["buildings"]) == [10, 10]
    assert list(grids["residents"]) == [1000, 1000]
    assert list(grids["members"]) == [1, 0]  # the one member lives in building 1
    assert grids["contiguous"].all() and (grids["norm"] == "ok").all()
    # Polsby–Popper of a 1:2 rectangle: 4π·2/36 ≈ 0.698 (≈ 93 m × 222 m here)
    assert grids["compactness"].iloc[0] == pytest.approx(0.66, abs=0.05)
    s = metrics.summary
    assert (s["gaps"], s["overlaps"], s["out_of_norm"], s["max_deviation"]) == (0, 0, 0, 0)
    assert r.validate_plan(metrics) == []


# --- edits ------------------------------------------------------------------------------------


def test_split_then_merge_restores_the_union_and_households(world: Engine) -> None:
    plan_id = _draft(world)
    before = _geoms(world, plan_id)[G1]
    line = LineString([(LON + 0.4 * D, LAT - 0.1 * D), (LON + 0.4 * D, LAT + 2.1 * D)])
    new_code = r.split_grid(world, plan_id, G1, line, versions=_versions(world, plan_id))
    assert new_code == "420303001-001-03"
    grids = _by_code(_metrics(world, plan_id))
    # columns 0–1 of grid 1 (4 buildings) are west of the line; the larger east part keeps G1
    assert grids.loc[new_code, "households"] == 160
    assert grids.loc[G1, "households"] == 240
    assert grids["households"].sum() == 800
    split_geoms = _geoms(world, plan_id)
    assert split_geoms[G1].area > split_geoms[new_code].area
    assert grids.loc[G1, "area_m2"] + grids.loc[new_code, "area_m2"] == pytest.approx(
        _by_code(_metrics(world, 1)).loc[G1, "area_m2"], rel=1e-6
    )

    r.merge_grids(world, plan_id, G1, new_code, versions=_versions(world, plan_id))
    merged = _metrics(world, plan_id)
    assert list(_by_code(merged)["households"]) == [400, 400]
    after = _geoms(world, plan_id)[G1]
    assert shapely.symmetric_difference(before, after).area < 1e-12
    assert merged.summary["gaps"] == 0 and merged.summary["overlaps"] == 0


def test_split_needs_a_line_that_crosses(world: Engine) -> None:
    plan_id = _draft(world)
    inside = LineString([(LON + 0.4 * D, LAT + 0.5 * D), (LON + 0.4 * D, LAT + 1.5 * D)])
    with pytest.raises(InputError, match="两块"):
        r.split_grid(world, plan_id, G1, inside)


def test_merge_needs_adjacent_grids(world: Engine) -> None:
    plan_id = _draft(world)
    far = box(LON + 1.5 * D, LAT + 1.5 * D, LON + 1.9 * D, LAT + 1.9 * D)
    a = r.create_grid(world, plan_id, far, insist=True)
    b = r.create_grid(world, plan_id, box(LON, LAT, LON + 0.05 * D, LAT + 0.05 * D), insist=True)
    with pytest.raises(InputError, match="不相邻"):
        r.merge_grids(world, plan_id, a, b)


def test_growing_a_grid_takes_the_area_from_its_neighbour(world: Engine) -> None:
    plan_id = _draft(world)
    grown = {
        "type": "Feature",
        "properties": {},
        "geometry": shapely.geometry.mapping(
            box(LON - 0.5 * D, LAT - 0.5 * D, LON + 1.2 * D, LAT + 2.5 * D)
        ),
    }  # reaches outside the community and 0.2 D into grid 2
    changed = r.set_grid_geometry(world, plan_id, G1, grown, versions=_versions(world, plan_id))
    assert changed == [G1, G2]
    metrics = _metrics(world, plan_id)
    assert metrics.summary["gaps"] == 0 and metrics.summary["overlaps"] == 0
    geoms = _geoms(world, plan_id)
    assert geoms[G1].bounds == pytest.approx((LON, LAT, LON + 1.2 * D, LAT + 2 * D))
    assert geoms[G2].bounds == pytest.approx((LON + 1.2 * D, LAT, LON + 2 * D, LAT + 2 * D))
    # grid 2's first column of buildings (x 1.1–1.2 D) now lies in grid 1
    assert list(_by_code(metrics)["households"]) == [480, 320]


def test_shrinking_gives_the_area_to_the_neighbour_unless_insisted(world: Engine) -> None:
    plan_id = _draft(world)
    shrunk = box(LON, LAT, LON + 0.9 * D, LAT + 2 * D)
    assert r.set_grid_geometry(world, plan_id, G1, shrunk) == [G1, G2]
    metrics = _metrics(world, plan_id)
    assert metrics.summary["gaps"] == 0
    assert _geoms(world, plan_id)[G2].bounds == pytest.approx(
        (LON + 0.9 * D, LAT, LON + 2 * D, LAT + 2 * D)
    )

    other = _draft(world)
    assert r.set_grid_geometry(world, other, G1, shrunk, insist=True) == [G1]
    insisted = _metrics(world, other)
    assert insisted.summary["gaps"] == 1
    assert insisted.summary["gap_area_m2"] == pytest.approx(
        0.1 * D * 2 * D * 111_320**2 * 0.8418, rel=0.02
    )


def test_a_vertex_near_the_neighbour_snaps_onto_its_edge(world: Engine) -> None:
    plan_id = _draft(world)
    off = 2.0 / 111_320  # 2 m past the shared edge, within REDRAW_SNAP_M
    drawn = box(LON, LAT, LON + D + off, LAT + 2 * D)
    before = _geoms(world, plan_id)[G2]
    assert r.set_grid_geometry(world, plan_id, G1, drawn) == [G1]
    after = _geoms(world, plan_id)
    assert shapely.to_wkb(after[G2]) == shapely.to_wkb(before)
    assert after[G1].bounds == pytest.approx((LON, LAT, LON + D, LAT + 2 * D))
    metrics = _metrics(world, plan_id)
    assert metrics.summary["gaps"] == 0 and metrics.summary["overlaps"] == 0


def test_create_and_delete_keep_coverage(world: Engine) -> None:
    plan_id = _draft(world)
    corner = box(LON + 1.5 * D, LAT + 1.5 * D, LON + 2.5 * D, LAT + 2.5 * D)
    code = r.create_grid(world, plan_id, corner, name="新网格")
    assert code == "420303001-001-03"
    metrics = _metrics(world, plan_id)
    assert metrics.summary["gaps"] == 0 and metrics.summary["overlaps"] == 0
    assert _geoms(world, plan_id)[code].bounds == pytest.approx(
        (LON + 1.5 * D, LAT + 1.5 * D, LON + 2 * D, LAT + 2 * D)
    )
    assert r.delete_grid(world, plan_id, code) == [G2]
    metrics = _metrics(world, plan_id)
    assert metrics.summary["grids"] == 2 and metrics.summary["gaps"] == 0
    assert list(_by_code(metrics)["households"]) == [400, 400]


def test_moving_a_building_changes_both_grids(world: Engine) -> None:
    plan_id = _draft(world)
    changed = r.move_buildings(world, plan_id, ["B005"], G2, versions=_versions(world, plan_id))
    assert changed == [G1, G2]
    metrics = _metrics(world, plan_id)
    grids = _by_code(metrics)
    assert list(grids["households"]) == [360, 440]
    assert list(grids["buildings"]) == [9, 11]
    assert grids["contiguous"].all()
    assert metrics.summary["gaps"] == 0 and metrics.summary["overlaps"] == 0
    assert metrics.summary["split_buildings"] == 0

    diff = r.diff_against_active(world, plan_id)
    assert diff is not None
    assert diff.summary["buildings_moved"] == 1 and diff.summary["households_moved"] == 40
    assert diff.summary["reshaped"] == 2 and diff.summary["grids_changed"] == 2
    assert diff.summary["leaders_affected"] == 1  # both grids are led by person 1
    assert diff.summary["branches_affected"] == 2
    moved = diff.buildings.iloc[0]
    assert (moved["code"], moved["from_code"], moved["to_code"]) == ("B005", G1, G2)


def test_every_edit_is_audited_and_the_last_can_be_undone(world: Engine) -> None:
    plan_id = _draft(world)
    original = _geoms(world, plan_id)
    line = LineString([(LON + 0.4 * D, LAT - 0.1 * D), (LON + 0.4 * D, LAT + 2.1 * D)])
    r.split_grid(world, plan_id, G1, line)
    r.move_buildings(world, plan_id, ["B005"], G2)
    assert r.undo_last_edit(world, plan_id) == "buildings_move"
    assert r.undo_last_edit(world, plan_id) == "grid_split"
    assert r.undo_last_edit(world, plan_id) is None
    restored = _geoms(world, plan_id)
    assert set(restored) == {G1, G2}
    for code in original:
        assert shapely.to_wkb(restored[code]) == shapely.to_wkb(original[code])
    audit = read_table(world, "audit_log")
    assert list(audit["action"]) == [
        "plan_new_draft",
        "grid_split",
        "buildings_move",
        "undo",
        "undo",
    ]


def test_only_drafts_can_be_edited(world: Engine) -> None:
    with pytest.raises(ConflictError, match="只能修改草稿"):
        r.set_grid_geometry(world, 1, G1, box(LON, LAT, LON + D, LAT + D))


def test_bad_geojson_is_refused_with_a_sentence() -> None:
    with pytest.raises(InputError, match="GeoJSON"):
        r.geometry_from_geojson("{not json")
    with pytest.raises(InputError, match="Polygon"):
        r.geometry_from_geojson({"type": "Point", "coordinates": [110.78, 32.63]})
    with pytest.raises(InputError, match="±180"):
        r.geometry_from_geojson(shapely.geometry.mapping(box(32, 200, 33, 201)))


# --- locking ----------------------------------------------------------------------------------


def _user(engine: Engine, name: str, role: str = "secretary") -> int:
    """A user; a secretary is the secretary of the world's community (gridmap.auth scope)."""
    with transaction(engine) as conn:
        com = table("community")
        cid = conn.execute(select(com.c.id).where(com.c.code == COMMUNITY)).scalar_one()
        conn.execute(
            table("user").insert(),
            {"name": name, "password_hash": "x", "role": role,
             "community_id": cid if role == "secretary" else None},
        )  # fmt: skip
        return conn.execute(select(User.id).where(User.name == name)).scalar_one()


def test_a_stale_edit_is_refused_naming_who_changed_the_grid(world: Engine) -> None:
    plan_id = _draft(world)
    seen = _versions(world, plan_id)
    secretary = _user(world, "李书记")
    r.set_grid_geometry(
        world, plan_id, G1, box(LON, LAT, LON + 0.9 * D, LAT + 2 * D), seen, user_id=secretary
    )
    with pytest.raises(ConflictError, match="李书记") as caught:
        r.set_grid_geometry(world, plan_id, G1, box(LON, LAT, LON + 1.1 * D, LAT + 2 * D), seen)
    assert "版本 1 → 2" in str(caught.value)
    assert _versions(world, plan_id) == {G1: 2, G2: 2}


def test_the_orm_version_lock_refuses_a_concurrent_write(world: Engine) -> None:
    plan_id = _draft(world)
    with pytest.raises(ConflictError, match="same moment"):  # noqa: SIM117
        with r.draft.editing(world, plan_id, "grid_reshape", None, None) as d:
            d.set_geom(G1, box(LON, LAT, LON + 0.9 * D, LAT + 2 * D))
            d.session.connection().execute(  # another writer bumps the version first
                text("UPDATE grid SET version = version + 1 WHERE id = :id"),
                {"id": d.grids[G1].id},
            )
    assert _versions(world, plan_id) == {G1: 1, G2: 1}  # nothing was saved


# --- life cycle -------------------------------------------------------------------------------


def _building_grids(engine: Engine) -> dict[str, int | None]:
    b = read_table(engine, "building")
    return dict(zip(b["code"], b["grid_id"], strict=True))


def test_validation_failures_and_proposing_with_a_reason(world: Engine, monkeypatch) -> None:
    plan_id = _draft(world)
    r.set_grid_geometry(world, plan_id, G1, box(LON, LAT, LON + 0.9 * D, LAT + 2 * D), insist=True)
    monkeypatch.setattr(settings, "GRID_HOUSEHOLDS_MIN", 450)
    layers = r.load_plan(world, plan_id)
    kinds = [i.kind for i in r.validate_plan(r.layers_metrics(layers), layers.buildings)]
    assert kinds == ["gap", "grid_too_small", "grid_too_small"]
    with pytest.raises(InputError, match="理由"):
        r.propose(world, plan_id)
    assert r.load_plan(world, plan_id).plan["status"] == "draft"
    issues = r.propose(world, plan_id, reason="东侧空地待拆迁，暂不划入")
    assert [i.kind for i in issues] == ["gap", "grid_too_small"]  # one issue per kind
    assert "2 (0 new)" in issues[1].en  # both grids, under the norm before the edit too
    plan = r.load_plan(world, plan_id).plan
    assert plan["status"] == "proposed" and "待拆迁" in plan["note"]


def test_overlap_and_unassigned_building_are_found(world: Engine) -> None:
    plan_id = _draft(world)
    r.set_grid_geometry(world, plan_id, G1, box(LON, LAT, LON + 1.2 * D, LAT + 2 * D), insist=True)
    metrics = _metrics(world, plan_id)
    kinds = {i.kind for i in r.validate_plan(metrics)}
    assert "overlap" in kinds
    assert metrics.summary["overlaps"] == 1
    r.set_grid_geometry(
        world, plan_id, G1, box(LON + 0.3 * D, LAT, LON + D, LAT + 2 * D), insist=True
    )
    kinds = {i.kind for i in r.validate_plan(_metrics(world, plan_id))}
    assert {"gap", "building_unassigned"} <= kinds


def _statuses(engine: Engine) -> dict[int, str]:
    plans = r.list_plans(engine)
    return dict(zip(plans["id"], plans["status"], strict=True))


def test_activation_recomputes_building_grids_and_rollback_restores_exactly(
    world: Engine,
) -> None:
    original_buildings = _building_grids(world)
    original_geoms = {c: shapely.to_wkb(g) for c, g in _geoms(world, 1).items()}
    original_orgs = read_table(world, "party_org")[["id", "grid_id"]]

    plan_id = _draft(world)
    r.move_buildings(world, plan_id, ["B005"], G2)
    with pytest.raises(ConflictError):
        r.activate(world, plan_id)  # a draft must be proposed and approved first
    assert r.propose(world, plan_id) == []
    approver = _user(world, "街道管理员", "street_admin")
    r.approve(world, plan_id, approver_id=approver)
    plan = r.load_plan(world, plan_id).plan
    assert plan["status"] == "approved" and plan["approved_by"] == approver
    assert r.activate(world, plan_id) == 1

    statuses = _statuses(world)
    assert statuses == {1: "retired", plan_id: "active"}
    new_grids = r.load_plan(world, plan_id).grids
    new_ids = dict(zip(new_grids["code"], new_grids["id"], strict=True))
    now = _building_grids(world)
    assert now["B005"] == new_ids[G2]
    assert now["B001"] == new_ids[G1] and now["B011"] == new_ids[G2]
    orgs = read_table(world, "party_org").set_index("id")["grid_id"]
    assert orgs[2] == new_ids[G1] and orgs[3] == new_ids[G2]

    assert r.rollback(world, COMMUNITY) == 1
    statuses = _statuses(world)
    assert statuses == {1: "active", plan_id: "retired"}
    assert _building_grids(world) == original_buildings
    assert {c: shapely.to_wkb(g) for c, g in _geoms(world, 1).items()} == original_geoms
    pd.testing.assert_frame_equal(read_table(world, "party_org")[["id", "grid_id"]], original_orgs)
    with pytest.raises(ConflictError, match="回退"):
        r.rollback(world, COMMUNITY)  # plan 1 replaced nothing
    actions = list(read_table(world, "audit_log")["action"])
    assert actions[-4:] == ["plan_propose", "plan_approve", "plan_activate", "plan_rollback"]


def test_requests_workers_and_grid_users_follow_the_activated_plan(world: Engine) -> None:
    with transaction(world) as conn:  # a worker and a grid worker's login on grid 1
        conn.execute(table("grid_worker").insert(), {"grid_id": 1, "person_id": 1,
                                                      "part_time": True})  # fmt: skip
        cid = conn.execute(select(table("community").c.id)).scalar_one()
        conn.execute(table("user").insert(), {"name": "网格员小王", "password_hash": "x",
                                              "role": "grid_worker", "community_id": cid,
                                              "grid_id": 1})  # fmt: skip
    plan_id = _draft(world)
    assert r.propose(world, plan_id) == []
    r.approve(world, plan_id, approver_id=_user(world, "街道管理员", "street_admin"))
    r.activate(world, plan_id)
    new_ids = dict(zip(*r.load_plan(world, plan_id).grids[["code", "id"]].T.values, strict=True))

    request = read_table(world, "request").iloc[0]  # its point lies in grid 01
    assert request["grid_id"] == new_ids[G1]
    workers = read_table(world, "grid_worker")
    assert set(workers.loc[workers["grid_id"] == new_ids[G1], "person_id"]) == {1}
    assert set(workers["grid_id"]) == {1, new_ids[G1]}  # the retired grid keeps its own row
    users = read_table(world, "user").set_index("name")
    assert users.loc["网格员小王", "grid_id"] == new_ids[G1]

    r.rollback(world, COMMUNITY)
    assert read_table(world, "request").iloc[0]["grid_id"] == 1
    assert read_table(world, "user").set_index("name").loc["网格员小王", "grid_id"] == 1
    assert len(read_table(world, "grid_worker")) == 2  # nothing copied twice


# --- auto-balance -----------------------------------------------------------------------------


def _layers(world: dict) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return world["community"], world["building"]


def test_auto_balance_on_a_hand_built_world() -> None:
    community, buildings = _layers(clean_world())
    result = r.auto_balance(community, buildings)
    assert result.feasible, result.message
    assert len(result.grids) == 2  # 800 households / target 400
    assert sorted(result.grids["households"]) == [400, 400]
    union = shapely.union_all(result.grids.geometry.values)
    assert shapely.symmetric_difference(union, community.geometry.iloc[0]).area < 1e-12
    assert shapely.area(shapely.intersection(*result.grids.geometry.values)) < 1e-12


def test_auto_balance_reports_an_infeasible_norm() -> None:
    community, buildings = _layers(clean_world())
    few = buildings.iloc[:5]  # 200 households: not even one grid of 300–500
    result = r.auto_balance(community, few)
    assert not result.feasible
    assert "200" in result.message and result.details["infeasible"]
    tower = buildings.iloc[:1].assign(households=650)  # one building above the maximum
    result = r.auto_balance(community, tower)
    assert not result.feasible
    assert "超过 500 户" in result.message


def _demo_copy(demo_db_url: str, tmp_path: Path) -> str:
    source = Path(demo_db_url.removeprefix("sqlite:///"))
    target = tmp_path / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return f"sqlite:///{target}"


def test_auto_balance_on_the_demo_street_is_contiguous_and_in_the_norm(
    demo_db_url: str, tmp_path: Path
) -> None:
    from gridmap.demo import DEMO_DEFECTS

    engine = open_database(_demo_copy(demo_db_url, tmp_path))
    over = DEMO_DEFECTS["grids_over_norm"][0]
    code = over.rsplit("-", 1)[0]
    before = r.layers_metrics(r.load_plan(engine, r.active_plan_id(engine, code)))
    assert before.summary["out_of_norm"] >= 1
    progress: list[float] = []
    plan_id, result = r.balance_draft(engine, code, progress=lambda f, _m: progress.append(f))
    assert result.feasible, result.message
    assert progress[-1] == 1.0 and progress == sorted(progress)
    layers = r.load_plan(engine, plan_id)
    metrics = r.layers_metrics(layers)
    s = metrics.summary
    assert (s["gaps"], s["overlaps"], s["unassigned_buildings"], s["split_buildings"]) == (
        0,
        0,
        0,
        0,
    )
    assert s["out_of_norm"] == 0 and s["non_contiguous"] == 0
    assert metrics.grids["households"].sum() == layers.buildings["households"].sum()
    assert r.validate_plan(metrics) == []
    assert coverage_validity(layers.grids).empty  # neighbours share edges vertex for vertex
    assert layers.grids["leader_id"].notna().sum() >= len(layers.grids) - 2  # leaders inherited
    diff = r.diff_against_active(engine, plan_id)
    assert diff is not None and diff.summary["households_moved"] > 0


# --- properties -------------------------------------------------------------------------------


@hsettings(max_examples=60, deadline=None)
@given(
    x0=st.floats(0.05, 0.95),
    x1=st.floats(0.05, 0.95),
)
def test_a_random_split_keeps_the_area_and_the_households(x0: float, x1: float) -> None:
    _, buildings = _layers(clean_world())
    grid = box(LON, LAT, LON + D, LAT + 2 * D)
    line = LineString([(LON + x0 * D, LAT - 0.01 * D), (LON + x1 * D, LAT + 2.01 * D)])
    larger, smaller = r.split_geometry(grid, line)
    assert larger.area >= smaller.area
    assert shapely.symmetric_difference(shapely.union(larger, smaller), grid).area < 1e-13
    assert shapely.intersection(larger, smaller).area < 1e-13
    pieces = gpd.GeoDataFrame(
        {"id": [1, 2], "code": ["a", "b"]}, geometry=[larger, smaller], crs=4326
    )
    mine = buildings[buildings["grid_id"] == 1]
    metrics = r.grid_metrics(pieces, mine)
    assigned = r.metrics.building_assignment(mine, pieces)
    assert assigned["grid_id"].notna().all()
    assert metrics["households"].sum() == 400


def test_the_redraw_map_loads_leaflet_draw_from_the_app_not_a_cdn(world: Engine) -> None:
    from gridmap.maps import redraw_map

    layers = r.load_plan(world, 1)
    metrics = r.layers_metrics(layers)
    grids = layers.grids.merge(metrics.grids[["code", "households", "norm"]], on="code")
    buildings = layers.buildings.assign(grid_code=G1)
    html = redraw_map(layers.community, grids, buildings, layers.grids).get_root().render()
    assert f"{settings.STATIC_URL}/leaflet-draw-1.0.4/leaflet.draw.js" in html
    assert f"{settings.STATIC_URL}/leaflet-draw-1.0.4/leaflet.draw.css" in html
    assert "cdnjs" not in html and "cdn.jsdelivr" not in html
    static = Path(__file__).resolve().parents[1] / "static" / "vendor" / "leaflet-draw-1.0.4"
    assert (static / "leaflet.draw.js").exists() and (static / "LICENSE").exists()


# --- one set of checks (issue 21, item 1) -----------------------------------------------------

#: A random edit of the clean world's draft: what, on which grid, and where (a fraction of D).
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["split", "move", "reshape", "reshape_insist"]),
        st.sampled_from([G1, G2]),
        st.floats(0.1, 0.9),
        st.integers(0, 19),
    ),
    min_size=1,
    max_size=3,
)


def _after_activation(engine: Engine) -> pd.DataFrame:
    """``gridmap check``'s problems of the community, as the command computes them."""
    from gridmap.coverage import check_coverage, filter_problems
    from gridmap.repository import load_street_layers
    from gridmap.weights import street_weights

    layers = load_street_layers(engine)
    report = check_coverage(
        layers.communities, layers.grids, layers.buildings, layers.stations,
        organisations=read_table(engine, "organisation"),
        score_weights=street_weights(engine, "coverage_score"),
    )  # fmt: skip
    return filter_problems(report.problems, [COMMUNITY])


CHECKED = ["kind", "grid_code", "other_grid_code", "building_code", "detail", "detail_en"]


@hsettings(max_examples=12, deadline=None)
@given(edits=EDITS)
def test_the_checks_before_approval_are_the_checks_after_activation(
    edits: list, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any sequence of edits: the problems :func:`plan_check` shows for the draft are, row for
    row and word for word, the problems ``gridmap check`` reports once the draft is active."""
    from gridmap.db import init_database, make_engine

    path = tmp_path_factory.mktemp("checks") / "world.db"
    engine = make_engine(f"sqlite:///{path}", create=True)
    init_database(engine)
    save_tables(engine, clean_world())
    plan_id = _draft(engine)
    codes = [G1, G2]
    for action, code, where, building in edits:
        code = code if code in codes else codes[0]
        geom = _geoms(engine, plan_id)[code]
        x0, y0, x1, y1 = geom.bounds
        x = x0 + where * (x1 - x0)
        try:
            if action == "split":
                line = LineString([(x, y0 - 0.01 * D), (x + 0.1 * D * where, y1 + 0.01 * D)])
                codes.append(r.split_grid(engine, plan_id, code, line))
            elif action == "move":
                target = next(c for c in codes if c != code)
                r.move_buildings(engine, plan_id, [f"B{building + 1:03d}"], target)
            else:
                r.set_grid_geometry(engine, plan_id, code, box(x0, y0, x, y1),
                                    insist=action == "reshape_insist")  # fmt: skip
        except InputError:
            continue  # an edit the draft refuses (a line that does not cross, …) changes nothing
    check = r.plan_check(engine, plan_id)
    before = check.problems[CHECKED].astype(str).reset_index(drop=True)
    r.propose(engine, plan_id, reason="property test")
    r.approve(engine, plan_id)
    r.activate(engine, plan_id)
    after = _after_activation(engine)[CHECKED].astype(str).reset_index(drop=True)
    engine.dispose()
    pd.testing.assert_frame_equal(before, after)


def test_a_split_shows_the_new_grid_without_leader_and_branch_before_approval(
    world: Engine,
) -> None:
    """The user's case: a split, then 覆盖情况 showed a grid with no leader and no branch the
    redraw page had not reported. Now the draft's check says so, marked new."""
    plan_id = _draft(world)
    line = LineString([(LON + 0.5 * D, LAT - 0.01 * D), (LON + 0.5 * D, LAT + 2.01 * D)])
    new = r.split_grid(world, plan_id, G1, line)
    check = r.plan_check(world, plan_id)
    new_rows = check.problems[check.problems["new"]]
    assert {("grid_no_leader", new), ("grid_no_branch", new)} <= set(
        zip(new_rows["kind"], new_rows["grid_code"], strict=True)
    )
    kinds = [i.kind for i in check.issues(blocking_only=True)]
    assert "grid_no_leader" in kinds and "grid_no_branch" in kinds
    with pytest.raises(InputError, match="理由"):
        r.propose(world, plan_id)
    assert r.plan_check(world, r.active_plan_id(world, COMMUNITY)).problems.empty


# --- no building cut by a split (issue 21, item 2) --------------------------------------------


def test_a_split_across_buildings_keeps_them_whole_unless_kept_as_drawn(world: Engine) -> None:
    """A line through 1栋 and 6栋 (30 % of each on its west side): both go whole to the east,
    the larger piece; kept as drawn, both are split across the two grids."""
    line = LineString([(LON + 0.13 * D, LAT - 0.01 * D), (LON + 0.13 * D, LAT + 2.01 * D)])
    grid = _geoms(world, _draft(world))[G1]
    buildings = read_table(world, "building")
    larger, smaller, kept = r.split_preview(grid, line, buildings)
    assert sorted(kept["code"]) == ["B001", "B006"]
    assert set(kept["side"]) == {"larger"} and kept["share"].tolist() == pytest.approx([0.7] * 2)
    assert shapely.symmetric_difference(shapely.union(larger, smaller), grid).area < 1e-13
    footprints = shapely.union_all(buildings.geometry.values)
    assert shapely.intersection(smaller, footprints).area < 1e-13  # (edges may touch)

    plan_id = r.new_draft(world, COMMUNITY, name="kept whole")
    new = r.split_grid(world, plan_id, G1, line)
    problems = r.plan_check(world, plan_id).problems
    assert "building_split" not in set(problems["kind"])
    assert _metrics(world, plan_id).grids.set_index("code").loc[new, "buildings"] == 0
    audit = read_table(world, "audit_log")
    assert "B001" in str(audit.loc[audit["action"] == "grid_split"].iloc[-1].to_dict())

    drawn = r.new_draft(world, COMMUNITY, name="as drawn")
    r.split_grid(world, drawn, G1, line, keep_as_drawn=True)
    split = r.plan_check(world, drawn).problems.query("kind == 'building_split'")
    assert sorted(split["building_code"]) == ["B001", "B006"]


def test_a_split_on_the_demo_leaves_the_neighbours_edges_valid(
    demo_db_url: str, tmp_path: Path
) -> None:
    """The user's case on the demo street: 420303001-001-06 split down the middle. Before, the
    cut's rounded vertices left three grids with edges that did not match and three buildings
    split; now the neighbours take the new vertices and the buildings stay whole."""
    engine = open_database(_demo_copy(demo_db_url, tmp_path))
    plan_id = r.new_draft(engine, COMMUNITY, name="split")
    code = "420303001-001-06"
    grid = _geoms(engine, plan_id)[code]
    x = grid.centroid.x
    line = LineString([(x, grid.bounds[1] - 0.001), (x, grid.bounds[3] + 0.001)])
    new = r.split_grid(engine, plan_id, code, line)
    problems = r.plan_check(engine, plan_id).problems
    fresh = problems[problems["new"]]
    assert not set(fresh["kind"]) & {"invalid_coverage", "building_split", "gap", "overlap"}
    assert {("grid_no_leader", new), ("grid_no_branch", new)} <= set(
        zip(fresh["kind"], fresh["grid_code"], strict=True)
    )
    grids = r.load_plan(engine, plan_id).grids
    assert coverage_validity(grids[grids["code"].isin([code, new])]).empty


# --- review: the street returns a plan (issue 21, item 8) -------------------------------------


def test_the_street_returns_a_proposed_plan_with_a_comment(world: Engine) -> None:
    from gridmap.errors import PermissionDenied

    plan_id = _draft(world)
    secretary, admin = _user(world, "李书记"), _user(world, "王主任", "street_admin")
    r.propose(world, plan_id, user_id=secretary)
    with pytest.raises(PermissionDenied):
        r.return_to_draft(world, plan_id, "请把 3 栋划回第1网格", user_id=secretary)
    with pytest.raises(InputError, match="意见"):
        r.return_to_draft(world, plan_id, "  ", user_id=admin)
    r.return_to_draft(world, plan_id, "请把 3 栋划回第1网格", user_id=admin)
    plan = r.load_plan(world, plan_id).plan
    assert plan["status"] == "draft"
    assert r.returned_comment(plan["note"]) == "请把 3 栋划回第1网格"
    audit = read_table(world, "audit_log")
    row = audit[audit["action"] == "plan_return"].iloc[-1]
    assert row["user_id"] == admin and "请把 3 栋划回第1网格" in str(row["after"])
    with pytest.raises(ConflictError):  # a draft is not returned again
        r.return_to_draft(world, plan_id, "again", user_id=admin)
    r.propose(world, plan_id, user_id=secretary)  # fixed and proposed again
    assert r.load_plan(world, plan_id).plan["status"] == "proposed"


def test_a_new_grid_gets_its_leader_and_branch_in_the_same_draft(world: Engine) -> None:
    """Item 4's prompt: the split's new grid, staffed in the draft, carries no leadership
    problem into activation; a wrong organisation is refused; the staffing can be undone."""
    plan_id = _draft(world)
    line = LineString([(LON + 0.5 * D, LAT - 0.01 * D), (LON + 0.5 * D, LAT + 2.01 * D)])
    new = r.split_grid(world, plan_id, G1, line)
    with transaction(world) as conn:
        conn.execute(table("party_org").insert(), {"id": 4, "parent_id": 1, "kind": "branch",
                     "name": "第3网格党支部", "community_id": 1, "grid_id": None})  # fmt: skip
    with pytest.raises(InputError, match="党支部或党小组"):
        r.set_grid_staff(world, plan_id, new, party_org_id=1)  # the community's committee
    with pytest.raises(InputError, match="人员"):
        r.set_grid_staff(world, plan_id, new, leader_id=999)
    r.set_grid_staff(world, plan_id, new, leader_id=1, party_org_id=4)
    kinds = set(r.plan_check(world, plan_id).problems["kind"])
    assert not kinds & {"grid_no_leader", "grid_no_branch"}, kinds
    assert r.undo_last_edit(world, plan_id) == "grid_staff"
    kinds = set(r.plan_check(world, plan_id).problems["kind"])
    assert {"grid_no_leader", "grid_no_branch"} <= kinds
    r.set_grid_staff(world, plan_id, new, leader_id=1, party_org_id=4)
    r.propose(world, plan_id, reason="户数偏少,待新楼入住")
    r.approve(world, plan_id)
    r.activate(world, plan_id)
    after = set(_after_activation(world)["kind"])
    assert not after & {"grid_no_leader", "grid_no_branch"}, after
    branch = read_table(world, "party_org").set_index("id").loc[4, "grid_id"]
    grids = read_table(world, "grid")
    assert grids.set_index("id").loc[int(branch), "code"] == new  # the branch is on its grid
