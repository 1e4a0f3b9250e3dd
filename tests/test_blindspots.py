"""Blind spots (gridmap.blindspots): the coverage rule at each threshold, blind-spot buildings,
new compounds, joint-branch proposals (adjacent AND similar only), liaisons' load, the demo's
deliberate blind spots, their coverage problems and the organisations import."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine

from gridmap import blindspots, settings
from gridmap import io as gio
from gridmap.demo import DEMO_DEFECTS
from gridmap.errors import InputError
from gridmap.repository import read_table, save_tables
from worlds import small_world

METRIC = "EPSG:32649"
X0, Y0 = 500_000.0, 3_610_000.0


def _square(x: float, size: float = 20.0) -> shapely.Polygon:
    return shapely.box(X0 + x, Y0, X0 + x + size, Y0 + size)


def _buildings(rows: list[tuple[int, float, str]], **extra: list) -> gpd.GeoDataFrame:
    """Buildings (id, x offset in metres, kind) in a row along the x axis."""
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "code": [f"B{r[0]:03d}" for r in rows],
            "community_id": 1,
            "kind": [r[2] for r in rows],
            **extra,
        },
        geometry=[_square(r[1]) for r in rows],
        crs=METRIC,
    )


def _orgs(rows: list[tuple]) -> pd.DataFrame:
    """Organisations: (id, building id, industry, members, coverage[, liaison id])."""
    return pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "code": [f"O{r[0]:03d}" for r in rows],
            "name": [f"组织{r[0]}" for r in rows],
            "community_id": 1,
            "building_id": [r[1] for r in rows],
            "industry": [r[2] for r in rows],
            "members": [r[3] for r in rows],
            "employees": [10 * (r[3] + 1) for r in rows],
            "coverage": [r[4] for r in rows],
            "liaison_id": [r[5] if len(r) > 5 else None for r in rows],
        }
    )


# --- the rule ---------------------------------------------------------------------------------

#: members → coverages that meet the rule (BRANCH_MIN_MEMBERS = 3).
MEETS = {
    0: {"own_branch", "joint_branch", "liaison"},
    1: {"own_branch", "joint_branch"},
    2: {"own_branch", "joint_branch"},
    3: {"own_branch"},
    4: {"own_branch"},
}


@pytest.mark.parametrize("members", sorted(MEETS))
def test_rule_at_each_threshold(members: int) -> None:
    coverages = ["own_branch", "joint_branch", "liaison", "none"]
    orgs = _orgs([(i, 1, "餐饮", members, c) for i, c in enumerate(coverages, 1)])
    status = blindspots.organisation_status(orgs)
    assert dict(zip(coverages, status["covered"], strict=True)) == {
        c: c in MEETS[members] for c in coverages
    }
    required = "own_branch" if members >= 3 else "joint_branch" if members else "liaison"
    assert set(status["required"]) == {required}
    assert (status["reason"] == "").tolist() == status["covered"].tolist()


def test_threshold_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    orgs = _orgs([(1, 1, "餐饮", 3, "joint_branch")])
    assert not blindspots.organisation_status(orgs)["covered"].iloc[0]
    monkeypatch.setattr(settings, "BRANCH_MIN_MEMBERS", 4)
    assert blindspots.organisation_status(orgs)["covered"].iloc[0]


def test_bad_organisations_are_named() -> None:
    with pytest.raises(InputError, match="coverage"):
        blindspots.organisation_status(_orgs([(1, 1, "餐饮", 1, "branch")]))
    with pytest.raises(InputError, match="O001"):
        blindspots.organisation_status(_orgs([(1, 1, "餐饮", -1, "none")]))
    with pytest.raises(InputError, match="industry"):
        blindspots.organisation_status(_orgs([(1, 1, "餐饮", 1, "none")]).drop(columns="industry"))


# --- buildings and compounds ------------------------------------------------------------------


def test_blind_spot_buildings_are_commercial_office_or_mixed_with_an_uncovered_org() -> None:
    buildings = _buildings(
        [(1, 0, "office"), (2, 50, "commercial"), (3, 100, "residential"), (4, 150, "mixed")]
    )
    orgs = _orgs(
        [
            (1, 1, "信息技术", 0, "none"),  # uncovered, office: blind spot
            (2, 1, "信息技术", 3, "own_branch"),
            (3, 2, "餐饮", 1, "joint_branch"),  # covered: commercial building fine
            (4, 3, "餐饮", 0, "none"),  # uncovered, but in a residential building
            (5, 4, "餐饮", 5, "joint_branch"),  # needs its own branch: blind spot
            (6, None, "餐饮", 0, "none"),  # no building known
        ]
    )
    spots = blindspots.blind_spot_buildings(orgs, buildings)
    assert spots["building_code"].tolist() == ["B001", "B004"]
    assert spots["organisations"].tolist() == [2, 1]
    assert spots["uncovered"].tolist() == [1, 1]
    assert spots["uncovered_codes"].tolist() == ["O001", "O005"]
    assert spots.crs == buildings.crs


def test_new_compounds_without_space() -> None:
    buildings = _buildings(
        [(i, 30 * i, "residential") for i in range(1, 8)],
        name=["新苑1栋", "新苑2栋", "老院1栋", "锦园1栋", "悦府1栋", "悦府2栋", "旧楼"],
        completion_year=[2023, 2023, 2017, 2018, 2020, 2020, None],
        activity_space_reserved=[False, False, False, False, True, None, False],
        households=[100, 80, 50, 60, 70, 70, 10],
    )
    flagged = blindspots.new_compounds_without_space(buildings)
    assert flagged["compound"].tolist() == ["新苑", "锦园"]  # 2018 is "new"; 2017 is not
    assert flagged["buildings"].tolist() == [2, 1]
    assert flagged["households"].tolist() == [180, 60]
    assert flagged["building_ids"].iloc[0] == (1, 2)
    assert len(blindspots.new_compounds_without_space(buildings, since_year=2019)) == 1
    bare = buildings.drop(columns=["completion_year", "activity_space_reserved"])
    assert blindspots.new_compounds_without_space(bare).empty


# --- joint-branch proposals -------------------------------------------------------------------


def _proposal_world() -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    buildings = _buildings(
        [(1, 0, "office"), (2, 100, "office"), (3, 150, "commercial"), (4, 1000, "office")]
    )
    orgs = _orgs(
        [
            (1, 1, "电子商务", 1, "none"),  # A
            (2, 2, "物流快递", 2, "liaison"),  # B: 100 m from A, related industry
            (3, 3, "法律服务", 1, "none"),  # C: adjacent to B but not similar
            (4, 4, "电子商务", 0, "none"),  # D: same industry as A but 1 km away
            (5, 1, "电子商务", 1, "joint_branch"),  # covered: not a candidate
            (6, 2, "电子商务", 4, "none"),  # uncovered but big enough for its own branch
        ]
    )
    return orgs, buildings


def test_proposals_only_among_adjacent_and_similar() -> None:
    orgs, buildings = _proposal_world()
    proposals = blindspots.joint_branch_proposals(orgs, buildings)
    assert len(proposals) == 1
    row = proposals.iloc[0]
    assert row["organisation_ids"] == (1, 2)
    assert row["codes"] == "O001、O002"
    assert row["members"] == 3 and row["viable"]
    assert row["industries"] == "电子商务、物流快递"


def test_proposal_distance_and_related_table() -> None:
    orgs, buildings = _proposal_world()
    wide = blindspots.joint_branch_proposals(orgs, buildings, distance_m=2000)
    assert wide["organisation_ids"].tolist() == [(1, 2, 4)]  # D joins; C still differs
    related = {"物流快递": ("法律服务",)}
    chained = blindspots.joint_branch_proposals(orgs, buildings, related=related)
    assert chained["organisation_ids"].tolist() == [(2, 3)]  # only what the table relates
    assert blindspots.joint_branch_proposals(orgs, buildings, distance_m=10).empty
    with pytest.raises(InputError):
        blindspots.joint_branch_proposals(orgs, buildings, distance_m=-1)


def test_similar_industries_read_both_ways() -> None:
    got = blindspots.similar_industries(
        ["物流快递", "电子商务", "餐饮"], ["电子商务", "电子商务", "法律服务"]
    )
    assert got.tolist() == [True, True, False]


# --- liaisons ---------------------------------------------------------------------------------


def test_liaison_load(monkeypatch: pytest.MonkeyPatch) -> None:
    orgs = _orgs(
        [
            (1, 1, "餐饮", 0, "liaison", 7),
            (2, 1, "餐饮", 0, "liaison", 7),
            (3, 1, "餐饮", 1, "joint_branch", 7),
            (4, 1, "餐饮", 0, "liaison", 8),
            (5, 1, "餐饮", 0, "none"),
        ]
    )
    persons = pd.DataFrame({"id": [7, 8], "name": ["王芳", "李强"]})
    monkeypatch.setattr(settings, "LIAISON_MAX_ORGANISATIONS", 2)
    load = blindspots.liaison_load(orgs, persons)
    assert load["liaison_id"].tolist() == [7, 8]
    assert load["name"].tolist() == ["王芳", "李强"]
    assert load["organisations"].tolist() == [3, 1]
    assert load["members"].tolist() == [1, 0]
    assert load["overloaded"].tolist() == [True, False]


# --- the demo and the coverage check ----------------------------------------------------------


def test_demo_blind_spots_match_its_construction(demo_tables: dict) -> None:
    found = blindspots.analyse_blind_spots(
        demo_tables["organisation"], demo_tables["building"], demo_tables["person"]
    )
    assert sorted(found.uncovered["code"]) == sorted(DEMO_DEFECTS["organisations_uncovered"])
    assert sorted(found.buildings["building_code"]) == DEMO_DEFECTS["blind_spot_buildings"]
    assert found.compounds["compound"].tolist() == DEMO_DEFECTS["compound_without_activity_space"]
    assert found.summary["proposed_joint_branches"] == 1
    assert found.liaisons["organisations"].sum() == found.organisations["liaison_id"].notna().sum()


def test_coverage_problems_appear_with_organisations_only(demo_db_url: str) -> None:
    from gridmap.coverage import check_coverage
    from gridmap.db import open_database
    from gridmap.repository import load_street_layers

    engine = open_database(demo_db_url)
    layers = load_street_layers(engine)
    args = (layers.communities, layers.grids, layers.buildings, layers.stations, 500)
    kinds = ("org_uncovered", "blind_spot_building", "compound_no_activity_space")
    without = check_coverage(*args)
    assert not without.problems["kind"].isin(kinds).any()
    assert all(without.summary[k] == 0 for k in ("organisations_uncovered", "blind_spot_buildings"))
    report = check_coverage(*args, organisations=read_table(engine, "organisation"))
    counts = report.problems["kind"].value_counts()
    assert counts["org_uncovered"] == len(DEMO_DEFECTS["organisations_uncovered"])
    assert counts["blind_spot_building"] == len(DEMO_DEFECTS["blind_spot_buildings"])
    assert counts["compound_no_activity_space"] == 1
    assert report.summary["organisations_uncovered"] == 7
    assert report.summary["blind_spot_buildings"] == 5
    assert report.summary["compounds_no_activity_space"] == 1
    spots = report.problems[report.problems["kind"] == "blind_spot_building"]
    assert sorted(spots["building_code"]) == DEMO_DEFECTS["blind_spot_buildings"]
    compound = report.problems[report.problems["kind"] == "compound_no_activity_space"]
    assert compound["community_code"].tolist() == ["420303001-006"]
    assert "五堰嘉园" in compound["detail"].iloc[0]
    assert len(report.problems) == len(without.problems) + 13
    assert report.grid_scores.equals(without.grid_scores)  # the score is about the grids


# --- import -----------------------------------------------------------------------------------

HEADER = (
    "统一社会信用代码,组织名称,社区编码,楼栋编码,组织类型,行业,从业人员,党员人数,覆盖方式,党组织\n"
)


def test_import_organisations_from_a_spreadsheet(engine: Engine, tmp_path: Path) -> None:
    save_tables(engine, small_world())
    path = tmp_path / "orgs.csv"
    path.write_text(
        HEADER
        + "91420303MA001,十堰云途电子商务有限公司,420303001-001,B001,企业,电子商务,12,1,"
        + "联合党支部,\n"
        + "91420303MA002,十堰市暖阳社会工作服务中心,420303001-001,,社会组织,社会工作,7,0,,\n"
        + "91420303MA003,湖北明德律师事务所,420303001-001,B002,social,法律服务,8,3,单建,"
        + "第1网格党支部\n",
        encoding="utf-8",
    )
    plan = gio.import_file(engine, "organisations", path)
    assert plan.summary()["added"] == 3
    got = read_table(engine, "organisation").set_index("code")
    assert got.loc["91420303MA001", "coverage"] == "joint_branch"
    assert got.loc["91420303MA001", "building_id"] == 1
    assert got.loc["91420303MA002", "coverage"] == "none"
    assert pd.isna(got.loc["91420303MA002", "building_id"])
    assert got.loc["91420303MA003", "kind"] == "social"
    assert got.loc["91420303MA003", "party_org_id"] == 2
    exported = gio.export_frame(engine, "两新组织")
    assert exported["building_code"].tolist() == ["B001", None, "B002"]


def test_import_organisations_names_bad_rows(engine: Engine, tmp_path: Path) -> None:
    save_tables(engine, small_world())
    before = read_table(engine, "organisation")
    path = tmp_path / "bad_orgs.csv"
    path.write_text(
        HEADER
        + "OK1,好组织,420303001-001,B001,企业,餐饮,5,0,党建指导员,\n"
        + "BAD1,坏社区,999,B001,企业,餐饮,5,0,无,\n"
        + "BAD2,坏楼栋,420303001-001,B999,企业,餐饮,5,0,无,\n"
        + "BAD3,坏覆盖,420303001-001,B001,企业,餐饮,5,0,差不多,\n"
        + "BAD4,坏人数,420303001-001,B001,企业,餐饮,5,-2,无,\n",
        encoding="utf-8",
    )
    with pytest.raises(gio.ImportRejected) as info:
        gio.import_file(engine, "organisations", path)
    message = str(info.value)
    assert "bad_orgs.csv" in message
    for row, fragment in ((3, "999"), (4, "B999"), (5, "覆盖方式"), (6, "党员人数")):
        assert f"第 {row} 行" in message and fragment in message, (row, fragment, message)
    assert read_table(engine, "organisation").equals(before)  # nothing written


# --- planning ---------------------------------------------------------------------------------


def test_planning_ranking_counts_blind_spots(demo_db_url: str) -> None:
    import dataclasses

    from gridmap.db import open_database
    from gridmap.planning import rank_areas
    from gridmap.report import load_planning_inputs

    inputs, _ = load_planning_inputs(open_database(demo_db_url), 500)
    assert inputs.organisations is not None and len(inputs.organisations) > 0
    with_spots = rank_areas(inputs).table.set_index("grid_id")
    without = rank_areas(dataclasses.replace(inputs, organisations=None)).table.set_index("grid_id")
    assert (without["blind_spots"] == 0).all()
    compound_buildings = 7  # 五堰嘉园's buildings (DEMO_DEFECTS), each a blind spot
    expected = len(DEMO_DEFECTS["blind_spot_buildings"]) + compound_buildings
    assert with_spots["blind_spots"].sum() == expected
    flagged = with_spots.index[with_spots["blind_spots"] > 0]
    assert len(flagged) >= 3
    old = without.loc[flagged]
    new = with_spots.loc[flagged]
    # leadership: (leader + branch + building leaders + blind spot) / 4 instead of / 3
    parts = old["no_leader"] + old["no_branch"] + old["no_building_leader"]
    assert new["leadership"].to_numpy() == pytest.approx(((parts + 1) / 4).to_numpy())
    assert (new["leadership"] >= old["leadership"] - 1e-12).all()
    assert any("党建盲区楼栋" in w for w in with_spots["why"])
