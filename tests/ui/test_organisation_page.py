"""组织与人员 in AppTest: figures, the tree, advice, lost-contact list, member filters, and edits
through the forms (on a copy of the demo street)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import settings
from gridmap.db import open_database
from gridmap.demo import DEMO_DEFECTS
from gridmap.organisation import (
    load_organisation,
    lost_contact_members,
    lost_contact_summary,
    street_advice,
)
from gridmap.repository import read_table

PAGE = "views/organisation.py"


def _open(url: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def page(demo_db_url: str, monkeypatch) -> AppTest:
    return _open(demo_db_url, monkeypatch)


@pytest.fixture
def writable_url(demo_db_url: str, tmp_path: Path) -> str:
    """A copy of the demo street that a test may edit."""
    source = Path(demo_db_url.removeprefix("sqlite:///"))
    target = tmp_path / "demo-copy.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


#: The page's tables in the order it draws them (AppTest's dataframes carry no key).
TABLES = ("org_tree", "member_table", "advice_table", "lost_summary", "lost_table",
          "leader_table", "points_rules")  # fmt: skip


def _frame(at: AppTest, key: str):
    return at.dataframe[TABLES.index(key)].value


def _submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def test_figures_tree_and_advice_match_the_core(page: AppTest, demo_db_url: str) -> None:
    data = load_organisation(open_database(demo_db_url))
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["党组织"] == "197 个"
    assert metrics["党员"] == "2,000 名"
    in_service = int((data.members["category"] == "in_service").sum())
    assert metrics["双报到在职党员"] == f"{in_service} 名"
    tree = _frame(page, "org_tree")
    assert len(tree) == 197
    assert tree["党组织"].iloc[0] == "车城路街道党工委"
    assert tree["党员合计(名)"].iloc[0] == 2000
    advice = _frame(page, "advice_table")
    expected = street_advice(open_database(demo_db_url)).problems()
    assert len(advice) == len(expected) == len(DEMO_DEFECTS["grids_without_branch"])
    assert sorted(advice["网格编码"]) == sorted(DEMO_DEFECTS["grids_without_branch"])
    assert set(advice["结论"]) == {"应建未建"}
    page.toggle(key="advice_all").set_value(True).run()
    assert len(_frame(page, "advice_table")) == len(street_advice(open_database(demo_db_url)).table)


def test_lost_contact_list_counts_to_the_chosen_day(page: AppTest, demo_db_url: str) -> None:
    page.date_input(key="lost_today").set_value(settings.DEMO_REFERENCE_DATE).run()
    assert not page.exception
    data = load_organisation(open_database(demo_db_url))
    communities = read_table(open_database(demo_db_url), "community")
    lost = lost_contact_members(data.members, communities, data.orgs, settings.DEMO_REFERENCE_DATE)
    summary = _frame(page, "lost_summary")
    assert summary["失联党员(名)"].tolist() == lost_contact_summary(lost)["lost_contact"].tolist()
    listed = _frame(page, "lost_table")
    assert len(listed) == len(lost)
    assert listed["姓名"].str.contains(r"\*").all()  # names masked


def test_member_filters(page: AppTest, demo_db_url: str) -> None:
    data = load_organisation(open_database(demo_db_url))
    page.selectbox(key="member_community").set_value(1).run()
    page.multiselect(key="member_categories").set_value(["in_service"]).run()
    assert not page.exception
    table = _frame(page, "member_table")
    expected = data.members[
        (data.members["community_id"] == 1) & (data.members["category"] == "in_service")
    ]
    assert len(table) == len(expected) > 0
    assert set(table["类别"]) == {"在职党员(双报到)"}
    assert table["工作单位"].notna().all()


def test_english_toggle(page: AppTest) -> None:
    page.radio(key="lang").set_value("English").run()
    assert not page.exception
    assert page.title[0].value == "Organisation and people"
    assert "Members" in {m.label for m in page.metric}


def test_create_org_through_the_form(writable_url: str, monkeypatch) -> None:
    at = _open(writable_url, monkeypatch)
    at.text_input(key="new_org_name").input("东岳路社区楼宇联合党支部")
    at.selectbox(key="new_org_kind").set_value("joint_branch")
    at.selectbox(key="new_org_parent").set_value(2)
    _submit(at, "新建")
    assert any("已新建" in s.value for s in at.success)
    orgs = read_table(open_database(writable_url), "party_org")
    row = orgs[orgs["name"] == "东岳路社区楼宇联合党支部"].iloc[0]
    assert (row["kind"], row["parent_id"], row["community_id"]) == ("joint_branch", 2, 1)
    assert {m.label: m.value for m in at.metric}["党组织"] == "198 个"


def test_a_refused_edit_shows_the_reason_and_writes_nothing(writable_url: str, monkeypatch) -> None:
    at = _open(writable_url, monkeypatch)
    before = read_table(open_database(writable_url), "party_org")
    at.text_input(key="new_org_name").input("挂错的党小组")
    at.selectbox(key="new_org_kind").set_value("group")
    at.selectbox(key="new_org_parent").set_value(2)  # a committee: groups need a branch
    _submit(at, "新建")
    assert any("党小组" in e.value for e in at.error)
    assert len(read_table(open_database(writable_url), "party_org")) == len(before)


def test_member_zone_form_and_map(writable_url: str, monkeypatch) -> None:
    at = _open(writable_url, monkeypatch)
    engine = open_database(writable_url)
    buildings = read_table(engine, "building")
    codes = buildings.loc[buildings["community_id"] == 1, "code"].head(3).tolist()
    members = read_table(engine, "member")
    member_id = int(members.loc[members["status"] == "active", "id"].iloc[0])
    at.number_input(key="zone_member").set_value(member_id)
    at.multiselect(key="zone_buildings").set_value(codes)
    _submit(at, "保存责任区")
    zones = read_table(engine, "member_zone")
    mine = zones[zones["member_id"] == member_id]["building_id"]
    assert sorted(mine) == sorted(buildings.loc[buildings["code"].isin(codes), "id"])
    assert any("责任区已保存" in s.value for s in at.success)
