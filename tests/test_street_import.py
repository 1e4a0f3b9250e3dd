"""What an import writes (issue 17): layers on one connection, derived communities, names and
estimated figures (flagged in the database, pop-ups and exports), the first plan, and one truth
for "which grid is this building in" across imports, plan changes and restores — on SQLite and
PostGIS (the ``engine`` fixture).

The world is drawn in metres (UTM 49N) and stored in WGS 84, so areas have known answers: a
20 m × 30 m footprint of 6 floors at 90 m² a household holds 600 × 6 / 90 = 40 households, and
40 × 2.62 = 104.8 → 105 residents.
"""

from __future__ import annotations

import json
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, box
from sqlalchemy import Engine, text
from unchanged import contents

from gridmap import auth, settings
from gridmap import io as gio
from gridmap.bootstrap import clear_all
from gridmap.coverage import check_coverage
from gridmap.density import member_density
from gridmap.errors import ConflictError, InputError
from gridmap.io import estimate_households, estimate_residents
from gridmap.maps.layers import add_street_layers, building_popups
from gridmap.redraw import activate, approve, new_draft, propose, rollback
from gridmap.repository import (
    active_grids,
    buildings_with_leaders,
    community_summary,
    load_street_layers,
    read_table,
    refresh_building_grids,
    save_tables,
    table,
)
from worlds import ADMIN_PASSWORD

UTM = 32649
X0, Y0 = pyproj.Transformer.from_crs(4326, UTM, always_xy=True).transform(110.78, 32.63)
A_CODE, B_CODE = "420303009-001", "420303009-002"
#: Community A is x 0–400 m, B 400–800 m, both y 0–300 m (offsets from X0, Y0).
A_BOX, B_BOX = (0, 0, 400, 300), (400, 0, 800, 300)


def _m(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle given in metres from the world's corner, in UTM 49N."""
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _wgs(geoms: list) -> np.ndarray:
    return gpd.GeoSeries(geoms, crs=UTM).to_crs(4326).values


def _frame(attrs: dict, geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(attrs, geometry=_wgs(geoms), crs=4326)


def _write(frame: gpd.GeoDataFrame, folder: Path, name: str) -> Path:
    path = folder / f"{name}.geojson"
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    return path


def _street_row() -> dict[str, gpd.GeoDataFrame]:
    street = MultiPolygon([_m(0, 0, 800, 300)])
    frame = gpd.GeoDataFrame(
        {"id": [1], "code": ["420303009"], "name": ["新街道"]}, geometry=_wgs([street]), crs=4326
    )
    return {"street": frame.rename_geometry("geom")}


def _communities(folder: Path) -> Path:
    return _write(
        _frame({"code": [A_CODE, B_CODE], "name": ["甲社区", "乙社区"]}, [_m(*A_BOX), _m(*B_BOX)]),
        folder,
        "communities",
    )


@pytest.fixture
def street(engine: Engine, tmp_path: Path) -> Engine:
    """A street with two communities (imported), no plan, no building, and a street admin."""
    save_tables(engine, _street_row())
    gio.import_file(engine, "communities", _communities(tmp_path))
    auth.create_user(engine, "admin", ADMIN_PASSWORD, "street_admin", principal=auth.SYSTEM)
    return engine


def _buildings(engine: Engine) -> pd.DataFrame:
    return read_table(engine, "building").set_index("code")


# --- one transaction over several layers ------------------------------------------------------


def test_layers_import_on_one_connection_and_roll_back(engine: Engine, tmp_path: Path) -> None:
    """communities → grids → buildings on one Connection in one open transaction: each layer
    sees the ones before it (the grids their community, the buildings their grid), and a
    rollback leaves the database exactly as it was."""
    save_tables(engine, _street_row())
    strips = [_m(0, 0, 200, 300), _m(200, 0, 400, 300)]
    grids = _write(_frame({"code": ["G1", "G2"], "name": ["一", "二"]}, strips), tmp_path, "grids")
    buildings = _write(
        _frame({"code": ["B1"], "households": [12]}, [_m(10, 10, 30, 40)]), tmp_path, "buildings"
    )
    before = contents(engine)
    with engine.connect() as conn:
        outer = conn.begin()
        for layer, path in (("communities", _communities(tmp_path)), ("grids", grids),
                            ("buildings", buildings)):  # fmt: skip
            plan = gio.prepare_import(conn, layer, gio.read_source(path))
            gio.apply_import(conn, plan)
            assert conn.in_transaction()
        row = conn.execute(text("SELECT grid_id FROM building WHERE code = 'B1'")).one()
        g1 = conn.execute(text("SELECT id FROM grid WHERE code = 'G1'")).scalar_one()
        assert row.grid_id == g1  # assigned in the same transaction
        outer.rollback()
    assert contents(engine) == before
    assert read_table(engine, "community").empty and read_table(engine, "grid_plan").empty


# --- derived values, with known answers -------------------------------------------------------


def test_households_and_residents_are_estimated_from_the_footprint(
    street: Engine, tmp_path: Path
) -> None:
    frame = _frame(
        {
            "code": ["E1", "E2", "E3", "E4", "E5"],
            "floors": [6, None, 1, 6, 6],
            "kind": ["住宅", None, None, "写字楼", None],
            "households": [None, None, None, None, 50],
        },
        [_m(10, 10, 30, 40), _m(100, 10, 130, 40), _m(200, 10, 203, 13),
         _m(300, 10, 320, 40), _m(60, 60, 80, 90)],
    )  # fmt: skip
    plan = gio.import_file(street, "buildings", _write(frame, tmp_path, "est"))
    got = _buildings(street)
    # 600 m² × 6 / 90 = 40; 900 m² × DEFAULT_FLOORS (6) / 90 = 60; 9 m² × 1 / 90 = 0.1 → at
    # least 1 for a dwelling; an office holds no household; a count stays a count.
    assert settings.DEFAULT_FLOORS == 6 and settings.FLOOR_AREA_PER_HOUSEHOLD_M2 == 90
    assert list(got["households"]) == [40, 60, 1, 0, 50]
    assert list(got["households_estimated"]) == [True, True, True, True, False]
    # residents = households × 2.62, rounded half up: 104.8, 157.2, 2.62, 0, 131
    assert list(got["residents"]) == [105, 157, 3, 0, 131]
    assert all(got["residents_estimated"])
    assert list(got["kind"]) == ["residential", "residential", "residential", "office",
                                 "residential"]  # fmt: skip
    assert plan.derived["households"] == 4 and plan.derived["residents"] == 5
    assert "估算户数 4 栋 / households estimated for 4 buildings" in plan.describe()
    assert "估算人口 5 栋" in plan.describe()


def test_estimate_functions_known_answers() -> None:
    footprint = _wgs([_m(0, 0, 20, 30)])
    assert estimate_households(footprint, [6]).tolist() == [40]
    assert estimate_households(footprint, [6], ["industrial"]).tolist() == [0]
    assert estimate_residents(np.array([40, 10, 0])).tolist() == [105, 26, 0]


def test_community_and_name_come_from_location_address_and_code(
    street: Engine, tmp_path: Path
) -> None:
    frame = _frame(
        {
            "code": ["N1", "N2", "N3"],
            "address": ["人民路 1 号", None, "人民路 3 号"],
            "name": [None, None, "三号楼"],
            "households": [10, 20, 30],
            "residents": [25, 50, 75],
        },
        # N2 has 70 % of its footprint in B (x 370–470: 30 m in A, 70 m in B)
        [_m(10, 10, 30, 40), _m(370, 10, 470, 40), _m(450, 100, 470, 130)],
    )
    plan = gio.import_file(street, "buildings", _write(frame, tmp_path, "names"))
    got = _buildings(street)
    ids = read_table(street, "community").set_index("code")["id"]
    assert list(got["name"]) == ["人民路 1 号", "N2", "三号楼"]
    assert list(got["community_id"]) == [ids[A_CODE], ids[B_CODE], ids[B_CODE]]
    assert not got["households_estimated"].any() and not got["residents_estimated"].any()
    assert plan.derived == {"community": 3, "name": 2}
    assert "按位置确定社区 3 栋" in plan.describe() and "名称取自地址或编码 2 栋" in plan.describe()


def test_a_building_outside_every_community_is_a_row_problem(
    street: Engine, tmp_path: Path
) -> None:
    frame = _frame({"code": ["IN", "OUT"]}, [_m(10, 10, 30, 40), _m(100, 400, 120, 420)])
    before = contents(street)
    with pytest.raises(gio.ImportRejected) as info:
        gio.import_file(street, "buildings", _write(frame, tmp_path, "outside"))
    message = str(info.value)
    assert "第 2 个要素 / feature 2, 字段 / field community_code" in message
    assert "不在任何社区内" in message and "outside every community" in message
    assert len(info.value.issues) == 1
    assert contents(street) == before


def test_a_grid_without_community_column_or_prefix_is_located(
    street: Engine, tmp_path: Path
) -> None:
    frame = _frame({"code": ["W1", "E1"], "name": ["西", "东"]},
                   [_m(0, 0, 400, 300), _m(400, 0, 800, 300)])  # fmt: skip
    plan = gio.import_file(street, "grids", _write(frame, tmp_path, "located"))
    assert plan.derived == {"community": 2}
    plans = read_table(street, "grid_plan").set_index("id")["community_id"]
    grids = read_table(street, "grid").set_index("code")
    ids = read_table(street, "community").set_index("code")["id"]
    assert plans[grids.at["W1", "plan_id"]] == ids[A_CODE]
    assert plans[grids.at["E1", "plan_id"]] == ids[B_CODE]


# --- estimates are flagged everywhere, and real counts clear them ------------------------------


def test_estimates_are_flagged_in_popups_and_exports_and_cleared_by_counts(
    street: Engine, tmp_path: Path
) -> None:
    frame = _frame({"code": ["F1", "F2"], "floors": [6, 6], "households": [None, 50]},
                   [_m(10, 10, 30, 40), _m(100, 10, 120, 40)])  # fmt: skip
    gio.import_file(street, "buildings", _write(frame, tmp_path, "flags"))
    shown = building_popups(buildings_with_leaders(street), "zh").set_index("code")
    assert shown.at["F1", "households"] == "40(估算)" and shown.at["F2", "households"] == "50"
    english = building_popups(buildings_with_leaders(street), "en").set_index("code")
    assert english.at["F1", "households"] == "40 (estimated)"
    fmap = folium.Map(location=[32.63, 110.78])
    add_street_layers(fmap, load_street_layers(street), "zh")
    assert "40(估算)" in fmap.get_root().render()

    exported = gio.export_frame(street, "buildings").set_index("code")
    assert exported.at["F1", "households_estimated"] is True
    assert exported.at["F2", "households_estimated"] is False
    csv_text = gio.export_layer(street, "buildings", "csv").decode("utf-8-sig")
    assert "households_estimated" in csv_text.splitlines()[0]
    features = json.loads(gio.export_layer(street, "buildings", "geojson"))["features"]
    flags = {f["properties"]["code"]: f["properties"]["households_estimated"] for f in features}
    assert flags == {"F1": True, "F2": False}
    # an export comes back as it went: the estimate still flagged, nothing to change
    again = tmp_path / "again.geojson"
    again.write_bytes(gio.export_layer(street, "buildings", "geojson"))
    assert gio.import_file(street, "buildings", again, dry_run=True).summary()["unchanged"] == 2

    counted = _frame({"code": ["F1"], "households": [36]}, [_m(10, 10, 30, 40)])
    plan = gio.import_file(street, "buildings", _write(counted, tmp_path, "counted"), update=True)
    assert plan.summary()["changed"] == 1
    row = _buildings(street).loc["F1"]
    assert row["households"] == 36 and not row["households_estimated"]
    assert row["residents"] == 94 and row["residents_estimated"]  # 36 × 2.62 = 94.32
    # a later file without households leaves the count alone
    blank = _frame({"code": ["F1"], "residents": [90]}, [_m(10, 10, 30, 40)])
    gio.import_file(street, "buildings", _write(blank, tmp_path, "blank"), update=True)
    row = _buildings(street).loc["F1"]
    assert (row["households"], row["households_estimated"]) == (36, False)
    assert (row["residents"], row["residents_estimated"]) == (90, False)


# --- the first plan ---------------------------------------------------------------------------


def test_the_first_grids_become_the_active_initial_plan(street: Engine, tmp_path: Path) -> None:
    grids = _frame({"code": [f"{A_CODE}-01", f"{A_CODE}-02"], "name": ["一", "二"]},
                   [_m(0, 0, 200, 300), _m(200, 0, 400, 300)])  # fmt: skip
    path = _write(grids, tmp_path, "grids")
    admin = int(read_table(street, "user")["id"].iloc[0])
    with auth.acting_as(auth.principal_for(street, admin)):
        dry = gio.import_file(street, "grids", path, dry_run=True)
        assert "初始方案" in dry.describe() and read_table(street, "grid_plan").empty
        gio.import_file(street, "grids", path)
    plans = read_table(street, "grid_plan")
    assert len(plans) == 1
    first = plans.iloc[0]
    assert (first["name"], first["status"], first["created_by"]) == ("初始方案", "active", admin)
    audit = read_table(street, "audit_log")
    initial = audit[audit["action"] == "plan_initial"]
    assert len(initial) == 1 and initial["entity_id"].iloc[0] == first["id"]
    assert json.loads(initial["after"].iloc[0])["grids"] == 2
    assert len(active_grids(street)) == 2

    before = contents(street)  # a second import without --plan: refused, with the commands
    with pytest.raises(InputError) as info:
        gio.import_file(street, "grids", path)
    message = str(info.value)
    assert f"gridmap plan new --community {A_CODE}" in message
    assert "gridmap import grids grids.geojson --plan ID" in message
    assert contents(street) == before
    draft = new_draft(street, A_CODE)  # into a draft, as before issue 17
    moved = _frame({"code": [f"{A_CODE}-01", f"{A_CODE}-02"], "name": ["一", "二"]},
                   [_m(0, 0, 150, 300), _m(150, 0, 400, 300)])  # fmt: skip
    plan = gio.import_file(street, "grids", _write(moved, tmp_path, "moved"), update=True,
                           plan=str(draft))  # fmt: skip
    assert plan.summary()["changed"] == 2 and not plan.initial_plans
    assert len(read_table(street, "grid_plan")) == 2
    with pytest.raises(InputError, match="网格只能导入草案"):
        gio.import_file(street, "grids", path, update=True, plan=str(first["id"]))


def test_a_community_given_a_plan_meanwhile_is_a_conflict(street: Engine, tmp_path: Path) -> None:
    grids = _frame({"code": [f"{A_CODE}-01"], "name": ["一"]}, [_m(0, 0, 400, 300)])
    plan = gio.prepare_import(street, "grids", gio.read_source(_write(grids, tmp_path, "g")))
    new_draft(street, A_CODE)
    before = contents(street)
    with pytest.raises(ConflictError, match="meanwhile"):
        gio.apply_import(street, plan)
    assert contents(street) == before


# --- one truth for "which grid is this building in" -------------------------------------------


def test_buildings_imported_after_grids_are_counted_in_their_grids(
    street: Engine, tmp_path: Path
) -> None:
    """The issue's bug: density read 0 households in every grid after a buildings import."""
    grids = _frame({"code": [f"{A_CODE}-01", f"{A_CODE}-02"], "name": ["一", "二"]},
                   [_m(0, 0, 200, 300), _m(200, 0, 400, 300)])  # fmt: skip
    gio.import_file(street, "grids", _write(grids, tmp_path, "grids"))
    frame = _frame({"code": ["H1", "H2", "H3"], "households": [30, 40, 50]},
                   [_m(10, 10, 30, 40), _m(210, 10, 230, 40), _m(250, 100, 270, 130)])  # fmt: skip
    gio.import_file(street, "buildings", _write(frame, tmp_path, "b"))
    assert _households_everywhere(street) == {f"{A_CODE}-01": 30, f"{A_CODE}-02": 90}


def test_refresh_changes_only_stale_rows(street: Engine, tmp_path: Path) -> None:
    grids = _frame({"code": [f"{A_CODE}-01"], "name": ["一"]}, [_m(0, 0, 400, 300)])
    gio.import_file(street, "grids", _write(grids, tmp_path, "grids"))
    frame = _frame({"code": ["R1", "R2"], "households": [1, 2]},
                   [_m(10, 10, 30, 40), _m(50, 10, 70, 40)])  # fmt: skip
    gio.import_file(street, "buildings", _write(frame, tmp_path, "b"))
    assert refresh_building_grids(street) == 0
    with street.begin() as conn:
        conn.execute(table("building").update().where(table("building").c.code == "R1")
                     .values(grid_id=None))  # fmt: skip
    assert refresh_building_grids(street, [999]) == 0  # another community: not touched
    assert refresh_building_grids(street) == 1
    assert _buildings(street)["grid_id"].notna().all()


def _households_everywhere(engine: Engine) -> dict[str, int]:
    """Households per active grid, asserted equal four ways: the stored assignment
    (repository.active_grids), check_coverage's own assignment, member_density, and — per
    community — repository.community_summary (grids plus the buildings in none)."""
    layers = load_street_layers(engine)
    grids, buildings = layers.grids, layers.buildings
    code = dict(zip(grids["id"], grids["code"], strict=True))
    stored = {code[i]: int(h) for i, h in zip(grids["id"], grids["households"], strict=True)}

    report = check_coverage(layers.communities, grids, buildings, layers.stations)
    hh = buildings.set_index("id")["households"]
    assigned = report.assignment.set_index("building_id")["grid_id"]
    from_check = dict.fromkeys(stored, 0)
    for building, grid in assigned.items():
        if pd.notna(grid):
            from_check[code[int(grid)]] += int(hh[building])
    assert from_check == stored, (from_check, stored)
    stored_grid = pd.array(buildings.set_index("id")["grid_id"], dtype="Int64")
    checked = pd.array(assigned.reindex(buildings["id"]).to_numpy(), dtype="Int64")
    assert list(stored_grid) == list(checked)

    density = member_density(grids, buildings, read_table(engine, "member")).grids
    pairs = zip(density["grid_id"], density["households"], strict=True)
    from_density = {code[int(g)]: int(h) for g, h in pairs}
    assert from_density == stored

    summary = community_summary(engine)
    in_grid = grids.groupby("community_id")["households"].sum().to_dict()
    loose = buildings[buildings["grid_id"].isna()].groupby("community_id")["households"].sum()
    loose = {int(c): int(h) for c, h in loose.items()}
    for cid, row in summary.iterrows():
        assert row["households"] == int(in_grid.get(cid, 0)) + loose.get(int(cid), 0)
        assert row["grids"] == int((grids["community_id"] == cid).sum())
    return stored


# --- the property: every path agrees ----------------------------------------------------------

#: Candidate building sites (metres): 6 per community, some across the possible grid lines.
SITES = [(x + dx, y) for dx in (0, 400) for x, y in
         ((20, 20), (90, 140), (140, 240), (190, 60), (260, 150), (340, 250))]  # fmt: skip
CUTS = st.tuples(st.sampled_from([80, 120, 160, 200]), st.sampled_from([240, 280, 320]))
STEP = st.one_of(
    st.tuples(st.just("buildings"), st.lists(st.tuples(st.integers(0, len(SITES) - 1),
                                                       st.one_of(st.none(), st.integers(0, 300))),
                                             min_size=1, max_size=6, unique_by=lambda t: t[0])),
    st.tuples(st.just("grids"), st.integers(0, 1), CUTS, st.booleans()),
    st.tuples(st.just("grids_without_plan"), st.integers(0, 1)),
    st.tuples(st.just("rollback"), st.integers(0, 1)),
    st.tuples(st.just("backup")),
    st.tuples(st.just("restore")),
)  # fmt: skip


def _grid_file(community: int, cuts: tuple[int, int], gap: bool) -> gpd.GeoDataFrame:
    """Three strips over the community (x cut at ``cuts``), the last one short of the top by
    60 m when ``gap``: a gap that holds buildings."""
    left = 0 if community == 0 else 400
    code = (A_CODE, B_CODE)[community]
    xs = [left, left + cuts[0], left + cuts[1], left + 400]
    top = [300, 300, 240 if gap else 300]
    geoms = [_m(xs[i], 0, xs[i + 1], top[i]) for i in range(3)]
    return _frame({"code": [f"{code}-{i + 1:02d}" for i in range(3)],
                   "name": [f"第{i + 1}网格" for i in range(3)]}, geoms)  # fmt: skip


def _run_step(engine: Engine, step: tuple, folder: Path, state: dict) -> bool:
    """Run one step; False when it was refused (it must then change nothing)."""
    kind = step[0]
    if kind == "buildings":
        sites = [SITES[i] for i, _ in step[1]]
        frame = _frame({"code": [f"P{i:02d}" for i, _ in step[1]],
                        "households": [h for _, h in step[1]]},
                       [_m(x, y, x + 40, y + 25) for x, y in sites])  # fmt: skip
        gio.import_file(engine, "buildings", _write(frame, folder, "b"), update=True)
        return True
    if kind in ("grids", "grids_without_plan"):
        community = step[1]
        code = (A_CODE, B_CODE)[community]
        cuts, gap = (step[2], step[3]) if kind == "grids" else ((160, 280), False)
        path = _write(_grid_file(community, cuts, gap), folder, "g")
        plans = read_table(engine, "grid_plan")
        cid = int(read_table(engine, "community").set_index("code").at[code, "id"])
        if (plans["community_id"] == cid).any():
            if kind == "grids_without_plan":
                with pytest.raises(InputError, match="gridmap plan new"):
                    gio.import_file(engine, "grids", path)
                return False
            draft = new_draft(engine, code)
            gio.import_file(engine, "grids", path, update=True, plan=str(draft))
            propose(engine, draft, reason="测试 / test")
            approve(engine, draft)
            activate(engine, draft)
        else:
            gio.import_file(engine, "grids", path)
        return True
    if kind == "rollback":
        try:
            rollback(engine, (A_CODE, B_CODE)[step[1]])
        except ConflictError:
            return False
        return True
    if kind == "backup":
        state["backup"] = folder / "street.gpkg"
        gio.backup(engine, state["backup"])
        return True
    if "backup" not in state:
        return True
    gio.restore(engine, state["backup"], force=True)
    return True


@hsettings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, min_size=1, max_size=5))
def test_every_path_agrees_on_households_per_grid(
    street: Engine, tmp_path_factory: pytest.TempPathFactory, steps: list[tuple]
) -> None:
    """Random imports of buildings and grids, plan changes (draft → active), rollbacks,
    refused imports and restores: after every step the stored assignment, the check, density
    and the community summary agree on households per grid; a refused step changes nothing."""
    clear_all(street)  # each example starts from the street and its two communities
    save_tables(street, _street_row())
    gio.import_file(street, "communities", _communities(tmp_path_factory.mktemp("c")))
    folder = tmp_path_factory.mktemp("steps")
    state: dict = {}
    for step in steps:
        before = contents(street)
        if not _run_step(street, step, folder, state):
            assert contents(street) == before, step
        _households_everywhere(street)


def test_restore_brings_a_stale_backup_up_to_the_rule(street: Engine, tmp_path: Path) -> None:
    """A backup whose buildings store no grid (made before the stored assignment was kept
    true) is restored with each building in the grid the check puts it in."""
    grids = _frame({"code": [f"{A_CODE}-01"], "name": ["一"]}, [_m(0, 0, 400, 300)])
    gio.import_file(street, "grids", _write(grids, tmp_path, "grids"))
    frame = _frame({"code": ["S1", "S2"], "households": [5, 6]},
                   [_m(10, 10, 30, 40), _m(500, 10, 520, 40)])  # fmt: skip
    gio.import_file(street, "buildings", _write(frame, tmp_path, "b"))
    with street.begin() as conn:
        conn.execute(table("building").update().values(grid_id=None))
    path = tmp_path / "stale.gpkg"
    gio.backup(street, path)
    gio.restore(street, path, force=True)
    stored = _buildings(street)["grid_id"]
    assert pd.notna(stored["S1"]) and pd.isna(stored["S2"])  # S2 stands in B, which has no grid
    assert _households_everywhere(street) == {f"{A_CODE}-01": 5}
