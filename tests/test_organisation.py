"""Organisation and people (gridmap.organisation): the tree's invariants, leaders and roles,
members, zones, points, the bulk import, organisation-form advice and the lost-contact list."""

from __future__ import annotations

import datetime as dt
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box
from sqlalchemy import Engine, select

from gridmap import organisation as org
from gridmap import settings
from gridmap.errors import ConflictError, InputError
from gridmap.organisation import (
    joint_partners,
    lost_contact_members,
    lost_contact_summary,
    organisation_advice,
    required_form,
)
from gridmap.repository import read_table, save_tables, table
from worlds import LAT, LON, small_world

D = 0.001


@pytest.fixture
def world(engine: Engine) -> Engine:
    """small_world: committee 1 (root) → branch 2 on grid 1; grid 2 without an organisation;
    person 1 leads grid 1 and building 1 and is member 1 (in-service) of branch 2."""
    save_tables(engine, small_world())
    return engine


def _tree_sound(engine: Engine) -> list[str]:
    return org.check_tree(
        read_table(engine, "party_org"),
        members=read_table(engine, "member"),
        grids=read_table(engine, "grid"),
        buildings=read_table(engine, "building"),
    )


def _grid(engine: Engine, grid_id: int) -> dict:
    return read_table(engine, "grid").set_index("id").loc[grid_id].to_dict()


def _roles(engine: Engine, person_id: int) -> set[str]:
    roles = read_table(engine, "person").set_index("id").loc[person_id, "roles"]
    return set(filter(None, roles.split(",")))


# --- the tree ---------------------------------------------------------------------------------


def test_create_rename_move_keep_the_tree_sound(world: Engine) -> None:
    version = _grid(world, 2)["version"]
    branch = org.create_org(world, "第2网格党支部", "branch", 1, grid_id=2, grid_version=version)
    assert _grid(world, 2)["party_org_id"] == branch
    assert _grid(world, 2)["version"] == version + 1
    group = org.create_org(world, "2栋党小组", "group", branch)
    orgs = read_table(world, "party_org").set_index("id")
    assert orgs.loc[group, "community_id"] == 1  # taken from the parent
    org.rename_org(world, group, "  2栋楼栋党小组 ")
    org.move_org(world, group, 2)
    orgs = read_table(world, "party_org").set_index("id")
    assert orgs.loc[group, "name"] == "2栋楼栋党小组"
    assert orgs.loc[group, "parent_id"] == 2
    assert _tree_sound(world) == []
    tree = org.org_tree(read_table(world, "party_org"), read_table(world, "member"))
    assert tree["id"].iloc[0] == 1 and tree["depth"].iloc[0] == 0
    assert tree.set_index("id").loc[group, "depth"] == 2
    assert tree.set_index("id").loc[1, "members_total"] == 1


def test_move_under_itself_or_a_descendant_is_refused(world: Engine) -> None:
    group = org.create_org(world, "1栋党小组", "group", 2)
    before = read_table(world, "party_org")
    with pytest.raises(ConflictError, match=r"循环|cycle"):
        org.move_org(world, 1, group)
    with pytest.raises(ConflictError, match="cycle"):
        org.move_org(world, 2, 2)
    pd.testing.assert_frame_equal(read_table(world, "party_org"), before)


def test_kind_rules_are_enforced_and_nothing_is_written(world: Engine) -> None:
    before = read_table(world, "party_org")
    with pytest.raises(ConflictError, match="党小组"):
        org.create_org(world, "挂错的党小组", "group", 1)  # a group needs a branch above it
    with pytest.raises(ConflictError):
        org.move_org(world, 2, None)  # a branch cannot be a root
    with pytest.raises(ConflictError):
        org.change_org_kind(world, 1, "group")  # would leave branch 2 under a group
    with pytest.raises(InputError):
        org.create_org(world, "无名", "cell", 1)
    pd.testing.assert_frame_equal(read_table(world, "party_org"), before)
    org.change_org_kind(world, 2, "general_branch")  # 升格 keeps the tree sound
    assert _tree_sound(world) == []


def test_dissolve_needs_a_receiver_and_leaves_no_orphans(world: Engine) -> None:
    group = org.create_org(world, "1栋党小组", "group", 2)
    with pytest.raises(ConflictError, match="接收组织"):
        org.dissolve_org(world, 2)
    with pytest.raises(ConflictError, match="下级"):
        org.dissolve_org(world, 2, transfer_to=group)
    joint = org.create_org(world, "联合党支部", "joint_branch", 1)
    version = _grid(world, 1)["version"]
    held = org.dissolve_org(world, 2, transfer_to=joint)
    assert held == {"orgs": 1, "members": 1, "buildings": 0, "grids": 1}
    orgs = read_table(world, "party_org").set_index("id")
    assert 2 not in orgs.index and orgs.loc[group, "parent_id"] == joint
    assert read_table(world, "member").loc[0, "party_org_id"] == joint
    assert _grid(world, 1)["party_org_id"] == joint  # a joint branch can hold a grid
    assert _grid(world, 1)["version"] == version + 1
    assert _tree_sound(world) == []
    # dissolving into a committee leaves the grid without an organisation (coverage reports it)
    with pytest.raises(ConflictError, match="党小组"):
        org.dissolve_org(world, joint, transfer_to=1)  # the group cannot sit under a committee
    org.dissolve_org(world, group)
    org.dissolve_org(world, joint, transfer_to=1)
    assert pd.isna(_grid(world, 1)["party_org_id"])
    assert read_table(world, "member").loc[0, "party_org_id"] == 1
    assert _tree_sound(world) == []


def test_empty_organisation_dissolves_without_a_receiver(world: Engine) -> None:
    lone = org.create_org(world, "临时党支部", "branch", 1)
    assert org.dissolve_org(world, lone) == {"orgs": 0, "members": 0, "buildings": 0, "grids": 0}
    assert lone not in set(read_table(world, "party_org")["id"])


def test_check_tree_finds_cycles_orphans_and_wrong_kinds() -> None:
    orgs = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "parent_id": [None, 1, 4, 3, 99, 1],
            "kind": ["committee", "branch", "branch", "branch", "branch", "group"],
            "name": list("abcdef"),
            "community_id": [1, 1, 1, 1, 1, 2],
        }
    )
    problems = " ".join(org.check_tree(orgs))
    assert "3 处于循环中" in problems and "4 处于循环中" in problems
    assert "上级组织 99 不存在" in problems
    assert "党组织 6（党小组）不能隶属于党委" in problems
    assert "党组织 6 与上级组织不在同一社区" in problems
    assert "党组织 2 " not in problems and "党组织 1 " not in problems
    members = pd.DataFrame({"id": [1, 2], "party_org_id": [6, 77]})
    problems = " ".join(org.check_tree(orgs, members=members))
    assert "党员 1 的组织关系不能放在党小组" in problems
    assert "member 2 的党组织 77 不存在" in problems


# --- leaders and roles ------------------------------------------------------------------------


def test_grid_leader_respects_the_grid_version(world: Engine) -> None:
    newcomer = org.add_person(world, "李娜", "139 0000 1111", "0012")
    version = _grid(world, 1)["version"]
    assert org.set_grid_leader(world, 1, newcomer, version) == version + 1
    with pytest.raises(ConflictError, match="已被他人修改"):
        org.set_grid_leader(world, 1, 1, version)  # stale: read before the first edit
    assert _grid(world, 1)["leader_id"] == newcomer
    assert "grid_leader" in _roles(world, newcomer)
    assert _roles(world, 1) == {"building_leader"}  # no longer leads a grid, still a building
    with pytest.raises(InputError, match="不存在"):
        org.set_grid_leader(world, 99, newcomer, 1)


def test_one_person_holds_several_roles(world: Engine) -> None:
    version = _grid(world, 2)["version"]
    version = org.add_grid_worker(world, 2, 1, version, part_time=True)
    version = org.set_grid_leader(world, 2, 1, version)
    org.set_stairwell_leader(world, 1)
    assert _roles(world, 1) == {"grid_leader", "grid_worker", "building_leader", "stairwell_leader"}
    workers = read_table(world, "grid_worker")
    assert workers[["grid_id", "person_id", "part_time"]].values.tolist() == [[2, 1, True]]
    version = org.add_grid_worker(world, 2, 1, version, part_time=False)  # now full-time
    assert not read_table(world, "grid_worker")["part_time"].iloc[0]
    org.remove_grid_worker(world, 2, 1, version)
    org.set_building_leader(world, 1, None)
    org.set_stairwell_leader(world, 1, on=False)
    assert _roles(world, 1) == {"grid_leader"}
    assert read_table(world, "grid_worker").empty


def test_person_data_is_checked(world: Engine) -> None:
    with pytest.raises(InputError, match="电话"):
        org.add_person(world, "王伟", "12ab")
    with pytest.raises(InputError, match="姓名"):
        org.add_person(world, "  ")
    pid = org.add_person(world, "王伟", "13800001111", "123x")
    org.edit_person(world, pid, phone="13900002222")
    row = read_table(world, "person").set_index("id").loc[pid]
    assert (row["phone"], row["id_suffix"]) == ("13900002222", "123X")


def test_personal_data_is_masked_unless_allowed(world: Engine) -> None:
    masked = org.load_organisation(world)
    shown = org.load_organisation(world, personal_data=True)
    assert masked.persons.loc[0, ["name", "phone", "id_suffix"]].tolist() == [
        "张*明",
        "138****1234",
        "****",
    ]
    assert shown.persons.loc[0, "name"] == "张晓明"
    assert masked.members.loc[0, "name"] == "张*明"
    assert masked.members.loc[0, "community_id"] == 1


# --- members ----------------------------------------------------------------------------------


def test_members_add_edit_move_and_register(world: Engine) -> None:
    pid = org.add_person(world, "王芳", "13700001234")
    with pytest.raises(InputError, match="工作单位"):
        org.add_member(world, pid, 2, "in_service", registered_on=dt.date(2024, 5, 1))
    with pytest.raises(InputError, match=r"党小组|relation"):
        group = org.create_org(world, "1栋党小组", "group", 2)
        org.add_member(world, pid, group, "resident")
    mid = org.add_member(
        world, pid, 2, "在职党员", work_unit="东风汽车有限公司", registered_on="2024/05/01",
        building_id=2, joined_on=dt.date(2010, 7, 1), specialties="法律咨询、 水电维修,法律咨询",
    )  # fmt: skip
    row = read_table(world, "member").set_index("id").loc[mid]
    assert row["category"] == "in_service" and row["registered_on"] == dt.date(2024, 5, 1)
    assert row["specialties"] == "法律咨询,水电维修"
    with pytest.raises(ConflictError, match="已是党员"):
        org.add_member(world, pid, 2, "resident")
    org.edit_member(world, mid, category="lost_contact", last_contact_on=dt.date(2025, 1, 2))
    row = read_table(world, "member").set_index("id").loc[mid]
    assert (row["category"], row["status"]) == ("lost_contact", "lost_contact")
    org.register_in_service(world, mid, "十堰市太和医院", dt.date(2026, 3, 1))
    row = read_table(world, "member").set_index("id").loc[mid]
    assert (row["category"], row["status"], row["work_unit"]) == (
        "in_service",
        "active",
        "十堰市太和医院",
    )
    with pytest.raises(InputError, match=r"入党日期|before"):
        org.edit_member(world, mid, registered_on=dt.date(2000, 1, 1))
    assert org.move_members(world, [mid, 1], 1) == 2
    assert set(read_table(world, "member")["party_org_id"]) == {1}
    with pytest.raises(InputError, match=r"\[99\]"):
        org.move_members(world, [mid, 99], 2)
    assert set(read_table(world, "member")["party_org_id"]) == {1}  # nothing half-moved


def test_member_zone_is_replaced_whole(world: Engine) -> None:
    assert org.set_member_zone(world, 1, [1, 2, 2]) == 2
    assert sorted(read_table(world, "member_zone")["building_id"]) == [1, 2]
    org.set_member_zone(world, 1, [2])
    assert read_table(world, "member_zone")["building_id"].tolist() == [2]
    with pytest.raises(InputError, match="楼栋"):
        org.set_member_zone(world, 1, [1, 77])
    assert read_table(world, "member_zone")["building_id"].tolist() == [2]
    org.set_member_zone(world, 1, [])
    assert read_table(world, "member_zone").empty


# --- points -----------------------------------------------------------------------------------


def test_points_arithmetic() -> None:
    cap = settings.MEMBER_POINTS_YEAR_CAP["study"]
    per = settings.MEMBER_POINTS["study"]
    assert org.points_for_entry("study", 0) == per
    assert org.points_for_entry("study", cap - 1) == min(per, 1)
    assert org.points_for_entry("study", cap) == 0
    assert org.points_for_entry("other", 0, points=-4) == -4  # deductions are never cut
    assert org.points_for_entry("other", settings.MEMBER_POINTS_YEAR_CAP["other"] - 3, 5) == 3
    with pytest.raises(InputError):
        org.points_for_entry("other", 0, points=settings.MEMBER_POINTS_MAX_ADJUSTMENT + 1)
    with pytest.raises(InputError):
        org.points_for_entry("study", 0, points=5)
    with pytest.raises(InputError):
        org.points_for_entry("karaoke", 0)
    # a year of study entries adds up to exactly the cap, however many are recorded
    earned = 0
    for _ in range(40):
        earned += org.points_for_entry("study", earned)
    assert earned == cap
    entries = pd.DataFrame(
        {
            "member_id": [1, 1, 1, 2, 1],
            "at": pd.to_datetime(["2026-01-05", "2026-02-05", "2026-03-01", "2026-03-01",
                                  "2025-12-31"]),
            "kind": ["study", "dues", "other", "activity", "study"],
            "points": [2, 1, -3, 3, 2],
        }
    )  # fmt: skip
    summary = org.points_summary(entries, year=2026).set_index("member_id")
    assert summary.loc[1, ["study", "dues", "other", "total"]].tolist() == [2, 1, -3, 0]
    assert summary.loc[2, "total"] == 3
    assert org.points_summary(entries).set_index("member_id").loc[1, "study"] == 4


def test_award_points_follows_the_rules(world: Engine) -> None:
    at = dt.datetime(2026, 3, 1, 10, 0)
    assert org.award_points(world, 1, "dues", at) == settings.MEMBER_POINTS["dues"]
    with pytest.raises(ConflictError, match="党费"):
        org.award_points(world, 1, "dues", at.replace(day=20))
    org.award_points(world, 1, "dues", at.replace(month=4))
    with pytest.raises(ConflictError, match="尚未办结"):
        org.award_points(world, 1, "request", at, request_id=1)  # request 1 is only assigned
    with transaction_of(world) as conn:
        conn.execute(
            table("request").update().where(table("request").c.id == 1).values(status="resolved")
        )
    assert (
        org.award_points(world, 1, "request", at, request_id=1) == settings.MEMBER_POINTS["request"]
    )
    with pytest.raises(ConflictError, match="已计分"):
        org.award_points(world, 1, "request", at, request_id=1)
    with pytest.raises(InputError):
        org.award_points(world, 1, "study", at, request_id=1)
    cap = settings.MEMBER_POINTS_YEAR_CAP["activity"]
    total = sum(org.award_points(world, 1, "activity", at) for _ in range(
        -(-cap // settings.MEMBER_POINTS["activity"])))  # fmt: skip
    assert total == cap
    with pytest.raises(ConflictError, match="上限"):
        org.award_points(world, 1, "activity", at)
    assert org.award_points(world, 1, "activity", at.replace(year=2027)) > 0  # a new year
    summary = org.points_summary(read_table(world, "member_point"), 2026).set_index("member_id")
    assert summary.loc[1, "activity"] == cap and summary.loc[1, "dues"] == 2


def transaction_of(engine: Engine):
    from gridmap.db import transaction

    return transaction(engine)


# --- import -----------------------------------------------------------------------------------

GOOD_CSV = (
    "姓名,手机,党员类别,党组织,楼栋编码,地址,入党日期,工作单位,报到日期,特长\n"
    "陈静,13611112222,在职党员,第1网格党支部,B001,,2001-07-01,十堰市人民医院,2024-04-01,医疗保健\n"
    "刘洋,,离退休党员,第1网格党支部,,甲社区<b>2栋</b>,1985-07-01,,,\n"
    "张晓明,13812341235,流动党员,甲社区党委,B002,,2012-03-03,,,\n"
)


def test_import_members_from_gbk_csv(world: Engine, tmp_path) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes(GOOD_CSV.encode("gbk"))
    rows = org.read_member_file(path)
    assert rows["row"].tolist() == [2, 3, 4]
    result = org.import_members(world, rows, "members.csv")
    assert result == {"members": 3, "persons": 3}
    members = read_table(world, "member")
    assert len(members) == 4
    assert members["building_id"].tolist()[1:] == [1, 2, 2]  # by code, by address, by code
    assert members["category"].tolist()[1:] == ["in_service", "retired", "floating"]
    assert _tree_sound(world) == []


def test_import_with_bad_rows_names_them_and_writes_nothing(world: Engine) -> None:
    bad = (
        GOOD_CSV
        + "王强,13600000000,在职党员,第1网格党支部,B001,,2001-07-01,,2024-04-01,\n"
        + "赵敏,13600000001,居民,第1网格党支部,B001,,,,,\n"
        + "孙丽,13600000002,离退休党员,不存在的支部,B001,,,,,\n"
        + "周杰,13600000003,离退休党员,第1网格党支部,B999,,,,,\n"
        + "吴昊,13600000004,离退休党员,第1网格党支部,,火星小区1栋,,,,\n"
        + "郑爽,phone?,离退休党员,第1网格党支部,B001,,,,,\n"
    )
    before = {n: len(read_table(world, n)) for n in ("person", "member")}
    rows = org.read_member_file(bad.encode("utf-8"), "bad.csv")
    with pytest.raises(InputError) as caught:
        org.import_members(world, rows, "bad.csv")
    message = str(caught.value)
    assert "6 行有错误" in message
    assert "第 5 行" in message and "工作单位" in message
    assert "第 6 行" in message and "党员类别" in message
    assert "第 7 行 党组织" in message
    assert "第 8 行 楼栋编码" in message
    assert "第 9 行 地址" in message
    assert "第 10 行 姓名/手机" in message
    assert {n: len(read_table(world, n)) for n in ("person", "member")} == before


def test_import_file_needs_the_columns(tmp_path) -> None:
    with pytest.raises(InputError, match=r"缺少列.*党组织"):
        org.read_member_file("姓名,党员类别,楼栋编码\n王伟,在册居民党员,B001\n".encode(), "x.csv")
    with pytest.raises(InputError, match="楼栋编码 或 地址"):
        org.read_member_file("姓名,党员类别,党组织\n王伟,在册居民党员,支部\n".encode(), "x.csv")


def test_import_xlsx(world: Engine) -> None:
    from gridmap.io import table_to_xlsx

    frame = pd.read_csv(pd.io.common.StringIO(GOOD_CSV), dtype=str)
    rows = org.read_member_file(table_to_xlsx(frame), "members.xlsx")
    assert org.import_members(world, rows)["members"] == 3


# --- organisation-form advice -----------------------------------------------------------------


def test_required_form_at_each_threshold() -> None:
    assert required_form([0, 2, 3, 49, 50, 100, 101, 500]).tolist() == [
        "joint_branch", "joint_branch", "branch", "branch", "general_branch", "general_branch",
        "committee", "committee",
    ]  # fmt: skip


def _advice_world(counts: dict[str, int], kinds: dict[str, str | None], far: set[str] = frozenset(),
                  categories: dict[str, str] | None = None):  # fmt: skip
    """Grids in a row of 100 m boxes (A, B, C …), one community; ``far`` grids sit 1 km away.
    ``counts`` members live in each grid; ``kinds`` gives each grid's organisation (or None)."""
    codes = list(counts)
    geoms = []
    for k, code in enumerate(codes):
        x = LON + k * D + (0.01 if code in far else 0.0)
        geoms.append(box(x, LAT, x + D, LAT + D))
    community = gpd.GeoDataFrame(
        {"id": [1], "code": ["C1"], "name": ["甲社区"]},
        geometry=[shapely.union_all(geoms).envelope],
        crs=4326,
    )
    orgs = [{"id": 1, "parent_id": None, "kind": "committee", "name": "甲社区党委",
             "community_id": 1, "grid_id": None}]  # fmt: skip
    grid_org = []
    for k, code in enumerate(codes):
        if kinds.get(code):
            parent = 1 if kinds[code] != "group" else None
            orgs.append({"id": k + 10, "parent_id": parent, "kind": kinds[code],
                         "name": f"{code}党组织", "community_id": 1, "grid_id": k + 1})  # fmt: skip
            grid_org.append(k + 10)
        else:
            grid_org.append(None)
    grids = gpd.GeoDataFrame(
        {"id": range(1, len(codes) + 1), "code": codes, "name": codes, "community_id": 1,
         "party_org_id": pd.array(grid_org, dtype="Int64")},
        geometry=geoms, crs=4326,
    )  # fmt: skip
    buildings = pd.DataFrame({"id": grids["id"], "community_id": 1, "grid_id": grids["id"]})
    rows = []
    for k, code in enumerate(codes):
        cat = (categories or {}).get(code, "resident")
        for _ in range(counts[code]):
            rows.append({"id": len(rows) + 1, "party_org_id": grid_org[k] or 1,
                         "building_id": k + 1, "category": cat})  # fmt: skip
    members = pd.DataFrame(rows, columns=["id", "party_org_id", "building_id", "category"])
    return community, grids, buildings, pd.DataFrame(orgs), members


def _grid_rows(advice) -> pd.DataFrame:
    return advice.table[advice.table["level"] == "grid"].set_index("grid_code")


def test_advice_at_each_threshold() -> None:
    counts = {"A": 2, "B": 3, "C": 49, "D": 50, "E": 100, "F": 101, "G": 60, "H": 3, "I": 10}
    kinds = {"A": None, "B": "branch", "C": "branch", "D": "branch", "E": "general_branch",
             "F": "general_branch", "G": "committee", "H": None, "I": "group"}  # fmt: skip
    advice = organisation_advice(*_advice_world(counts, kinds))
    rows = _grid_rows(advice)
    assert rows["members"].to_dict() == counts
    assert rows["form_needed"].to_dict() == {
        "A": "joint_branch", "B": "branch", "C": "branch", "D": "general_branch",
        "E": "general_branch", "F": "committee", "G": "general_branch", "H": "branch",
        "I": "branch",
    }  # fmt: skip
    assert rows["status"].to_dict() == {
        "A": "joint", "B": "ok", "C": "ok", "D": "upgrade", "E": "ok", "F": "upgrade",
        "G": "above_need", "H": "missing", "I": "upgrade",
    }  # fmt: skip
    assert rows.loc["D", "advice"] == "有 50 名党员,应由党支部升格为党总支"
    community = advice.table[advice.table["level"] == "community"].iloc[0]
    assert (community["members"], community["form_needed"], community["status"]) == (
        sum(counts.values()), "committee", "ok")  # fmt: skip
    assert advice.summary["upgrade"] == 3 and advice.summary["ok"] == 4  # 3 grids + community
    assert advice.problems()["status"].iloc[0] == "missing"


def test_small_branch_is_flagged_for_strengthening() -> None:
    advice = organisation_advice(*_advice_world({"A": 2, "B": 5}, {"A": "branch", "B": "branch"}))
    rows = _grid_rows(advice)
    assert rows.loc["A", "status"] == "strengthen"
    assert rows.loc["A", "partners"] == "B" and rows.loc["A", "combined_members"] == 7
    assert "需充实" in rows.loc["A", "advice"]
    assert rows.loc["B", "status"] == "ok"


def test_branch_holding_few_relations_is_flagged() -> None:
    world = list(_advice_world({"A": 10, "B": 5}, {"A": "branch", "B": "branch"}))
    members = world[4]
    members.loc[members["building_id"] == 1, "party_org_id"] = [10, 10] + [1] * 8
    rows = _grid_rows(organisation_advice(*world))
    assert rows.loc["A", "status"] == "strengthen"
    assert rows.loc["A", "org_members"] == 2
    assert "转入组织关系" in rows.loc["A", "advice"]


def test_gridless_joint_branch_with_few_members_is_flagged() -> None:
    world = list(_advice_world({"A": 5}, {"A": "branch"}))
    world[3] = pd.concat([world[3].astype(object), pd.DataFrame([{
        "id": 50, "parent_id": 1, "kind": "joint_branch", "name": "非公企业联合党支部",
        "community_id": 1, "grid_id": None}])], ignore_index=True)  # fmt: skip
    world[4].loc[0, "party_org_id"] = 50
    advice = organisation_advice(*world)
    row = advice.table[advice.table["level"] == "organisation"].iloc[0]
    assert (row["org_name"], row["status"]) == ("非公企业联合党支部", "strengthen")
    assert row["members"] == 1


def test_joint_branch_partners_are_adjacent_only() -> None:
    # A(1) B(1) C(30) in a row; D(1) and E(1) adjacent to each other 1 km away; F(0) alone
    counts = {"A": 1, "B": 1, "C": 30, "D": 1, "E": 1, "F": 0}
    world = _advice_world(counts, {"C": "branch"}, far={"D", "E"})
    grids = world[1]
    grids.loc[grids["code"] == "F", "geometry"] = box(LON, LAT + 0.02, LON + D, LAT + 0.021)
    rows = _grid_rows(organisation_advice(*world))
    assert rows.loc["A", "partners"] == "B"  # C does not touch A: never proposed
    assert rows.loc["A", "combined_members"] == 2
    assert rows.loc["B", "partners"] == "A、C"  # the small neighbour first, then C to reach 3
    assert rows.loc["B", "combined_members"] == 32
    assert rows.loc["D", "partners"] == "E" and rows.loc["D", "combined_members"] == 2
    assert rows.loc["F", "partners"] == "" and "无相邻" in rows.loc["F", "advice"]
    assert rows.loc["C", "partners"] == ""  # not small: no proposal


def test_joint_branch_partners_must_be_similar_in_kind() -> None:
    counts = {"A": 2, "B": 4, "C": 4}
    categories = {"A": "retired", "B": "in_service", "C": "retired"}
    world = _advice_world(counts, {"B": "branch", "C": "branch"}, categories=categories)
    grids = world[1]
    # C sits above A (adjacent), B to A's right (adjacent); only C shares A's member mix
    grids.loc[grids["code"] == "C", "geometry"] = box(LON, LAT + D, LON + D, LAT + 2 * D)
    rows = _grid_rows(organisation_advice(*world))
    assert rows.loc["A", "partners"] == "C"


def test_proposed_partners_always_touch_on_random_layouts() -> None:
    rng = np.random.default_rng(8)
    for _ in range(5):
        n = 30
        xy = rng.integers(0, 8, size=(n, 2)) * D * 1.0
        geoms = [box(LON + x, LAT + y, LON + x + D * rng.uniform(0.5, 1.0),
                     LAT + y + D * rng.uniform(0.5, 1.0)) for x, y in xy]  # fmt: skip
        units = gpd.GeoDataFrame(
            {"code": [f"G{i}" for i in range(n)], "members": rng.integers(0, 5, n),
             "community_id": 1}, geometry=geoms, crs=4326,
        )  # fmt: skip
        small = units["members"].to_numpy() < 3
        profiles = rng.integers(0, 3, size=(n, 3)).astype(float)
        pairs = joint_partners(units, small, profiles)
        metric = units.to_crs(32649)
        for i, j in zip(pairs["i"], pairs["j"], strict=True):
            assert small[i] and i != j
            assert metric.geometry.iloc[i].distance(metric.geometry.iloc[j]) <= (
                settings.ADJACENCY_TOLERANCE_M + 1e-6
            )
        assert (pairs["similarity"] >= settings.JOINT_BRANCH_MIN_SIMILARITY - 1e-9).all()


def test_advice_on_the_demo_finds_the_grids_without_branches(demo_tables: dict) -> None:
    from gridmap.demo import DEMO_DEFECTS

    t = demo_tables
    plans = t["grid_plan"][["id", "community_id"]].rename(columns={"id": "plan_id"})
    grids = t["grid"].merge(plans, on="plan_id")
    advice = organisation_advice(t["community"], grids, t["building"], t["party_org"], t["member"])
    missing = advice.table[advice.table["status"] == "missing"]
    assert sorted(missing["grid_code"]) == sorted(DEMO_DEFECTS["grids_without_branch"])
    communities = advice.table[advice.table["level"] == "community"]
    assert (communities["form_has"] == "committee").all()
    assert (communities["form_needed"] == "committee").all()
    assert communities["members"].sum() == len(t["member"]) == 2000


# --- lost-contact and floating members --------------------------------------------------------


def test_lost_contact_list_counts_from_today() -> None:
    members = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "category": ["lost_contact", "floating", "floating", "resident", "floating"],
            "party_org_id": [2, 2, 2, 2, 2],
            "community_id": [1, 1, 1, 1, 1],
            "last_contact_on": [dt.date(2023, 10, 1), dt.date(2026, 9, 1),
                                dt.date(2025, 10, 1), None, None],
            "name": ["张*明", "李*", "王*芳", "赵*", "钱*"],
        }
    )  # fmt: skip
    communities = pd.DataFrame({"id": [1], "code": ["C1"], "name": ["甲社区"]})
    orgs = pd.DataFrame({"id": [2], "name": ["第1网格党支部"], "community_id": [1]})
    lost = lost_contact_members(members, communities, orgs, today=dt.date(2026, 10, 31))
    assert lost["member_id"].tolist() == [1, 5, 3, 2]  # lost first; unknown date first
    by_id = lost.set_index("member_id")
    assert by_id.loc[1, "days_since"] == (dt.date(2026, 10, 31) - dt.date(2023, 10, 1)).days
    assert by_id.loc[1, "since_text"] == "3 年 1 个月"
    assert by_id.loc[2, "since_text"] == "2 个月"
    assert by_id["overdue"].to_dict() == {1: True, 5: True, 3: True, 2: False}
    assert pd.isna(by_id.loc[5, "days_since"]) and by_id.loc[5, "since_text"] == "联系时间不详"
    summary = lost_contact_summary(lost).iloc[0]
    assert (summary["lost_contact"], summary["floating"], summary["overdue"]) == (1, 3, 3)
    later = lost_contact_members(members, communities, orgs, today=dt.date(2027, 10, 31))
    assert later.set_index("member_id").loc[1, "days_since"] == by_id.loc[1, "days_since"] + 365


def test_lost_contact_on_the_demo(demo_tables: dict) -> None:
    t = demo_tables
    lost = lost_contact_members(t["member"], t["community"], t["party_org"],
                                settings.DEMO_REFERENCE_DATE, t["building"])  # fmt: skip
    expected = t["member"]["category"].isin(["lost_contact", "floating"]).sum()
    assert len(lost) == expected > 0
    assert lost["community_code"].notna().all()
    assert (lost.loc[lost["category"] == "lost_contact", "days_since"] >= 365).all()


def test_unknown_member_fields_are_rejected(world: Engine) -> None:
    with pytest.raises(InputError, match="未知的党员字段"):
        org.add_member(world, 1, 2, "resident", colour="red")
    with world.connect() as conn:
        assert conn.execute(select(table("member").c.id)).scalars().all() == [1]


# --- the zone map and the command line --------------------------------------------------------


def test_zone_map_is_offline_with_a_legend_and_escaped_names(world: Engine) -> None:
    from gridmap.maps import zone_map
    from gridmap.repository import load_street_layers

    org.set_member_zone(world, 1, [1, 2])
    version = _grid(world, 1)["version"]
    org.add_grid_worker(world, 1, org.add_person(world, "<i>王伟</i>"), version, part_time=True)
    layers = load_street_layers(world)
    data = org.load_organisation(world)
    zoned = org.zone_buildings(layers.buildings, data.zones, data.members)
    assert zoned["code"].tolist() == ["B001", "B002"]
    assert zoned["zone_members"].tolist() == ["张*明", "张*明"]
    grids = layers.grids.assign(
        workers=org.grid_staff(layers.grids, data.grid_workers, data.persons)
    )
    assert grids.loc[grids["id"] == 1, "workers"].iloc[0] == "<*******>(兼职)"
    html = zone_map(layers, zoned, grids=grids).get_root().render()
    assert '"党员责任区 (2)"' in html  # the layer control (Chinese sent as UTF-8)
    assert "gridmap-legend" in html and "党员责任区楼栋" in html
    assert re.findall(r"https?://[^\s\"'<>]+", html) == []
    html = re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m.group(1), 16)), html)
    assert "&lt;b&gt;2栋&lt;/b&gt;" in html and "<b>2栋</b>" not in html
    assert "张晓明" not in html
    assert "&lt;*******&gt;(兼职)" in html  # the masked worker, escaped
    assert "cdn" not in html.lower() and "jquery" not in html.lower()


def test_cli_org_commands_and_member_import(world: Engine, tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from gridmap.cli import main

    url = world.url.render_as_string(hide_password=False)
    runner = CliRunner()
    tree = runner.invoke(main, ["org", "tree", "--db", url])
    assert tree.exit_code == 0, tree.output
    assert tree.output.splitlines()[0].startswith("甲社区党委 [党委]")
    assert tree.output.splitlines()[1].startswith("  第1网格党支部 [党支部]")
    advice = runner.invoke(main, ["org", "advice", "--db", url, "--format", "json"])
    assert advice.exit_code == 0, advice.output
    payload = json.loads(advice.output)
    rows = {r["grid_code"]: r for r in payload["rows"] if r["level"] == "grid"}
    assert rows["420303001-001-01"]["status"] == "strengthen"  # a branch with one member
    assert rows["420303001-001-01"]["partners"] == "420303001-001-02"
    lost = runner.invoke(main, ["org", "lost", "--db", url, "--today", "2026-10-31"])
    assert lost.exit_code == 0, lost.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes("姓名,党员类别,党组织,楼栋编码\n王伟,居民,第1网格党支部,B001\n".encode("gbk"))
    result = runner.invoke(main, ["members", "import", str(bad), "--db", url])
    assert result.exit_code == InputError.exit_code
    assert "第 2 行" in result.output and "党员类别" in result.output
    good = tmp_path / "good.csv"
    good.write_bytes(GOOD_CSV.encode("utf-8-sig"))
    result = runner.invoke(main, ["members", "import", str(good), "--db", url])
    assert result.exit_code == 0, result.output
    assert "已导入 3 名党员" in result.output
