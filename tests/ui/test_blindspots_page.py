"""Blind spots in AppTest (issue 13): the coverage page lists the new problem kinds on the demo
street, and the organisation page's blind-spot tab lists them with the proposed joint branch and
liaisons' load."""

from __future__ import annotations

from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap.demo import DEMO_DEFECTS

NEW_KINDS = {
    "org_uncovered": "两新组织未覆盖",
    "blind_spot_building": "党建盲区楼宇",
    "compound_no_activity_space": "新建小区未配建党群活动场所",
}


def _open(url: str, page: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_coverage_page_shows_the_blind_spot_kinds(demo_db_url: str, monkeypatch) -> None:
    at = _open(demo_db_url, "views/coverage.py", monkeypatch)
    table = at.dataframe[0].value
    counts = table["问题类型"].value_counts()
    assert counts[NEW_KINDS["org_uncovered"]] == len(DEMO_DEFECTS["organisations_uncovered"])
    assert counts[NEW_KINDS["blind_spot_building"]] == len(DEMO_DEFECTS["blind_spot_buildings"])
    assert counts[NEW_KINDS["compound_no_activity_space"]] == 1
    spots = table[table["问题类型"] == NEW_KINDS["blind_spot_building"]]
    assert sorted(spots["楼栋编码"]) == DEMO_DEFECTS["blind_spot_buildings"]
    at.multiselect(key="kinds").set_value(["compound_no_activity_space"]).run()
    assert not at.exception
    only = at.dataframe[0].value
    assert len(only) == 1 and "五堰嘉园" in only["说明"].iloc[0]


def test_organisation_page_blind_spot_tab(demo_db_url: str, monkeypatch) -> None:
    at = _open(demo_db_url, "views/organisation.py", monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["未覆盖"] == f"{len(DEMO_DEFECTS['organisations_uncovered'])} 个"
    assert metrics["党建盲区楼宇"] == f"{len(DEMO_DEFECTS['blind_spot_buildings'])} 栋"
    assert metrics["建议联合党支部"] == "1 个"
    frames = [d.value for d in at.dataframe]
    uncovered = next(f for f in frames if "现覆盖方式" in f.columns)
    assert sorted(uncovered["编码"]) == sorted(DEMO_DEFECTS["organisations_uncovered"])
    proposals = next(f for f in frames if "organisation_ids" not in f.columns and "codes" in f)
    assert proposals["codes"].iloc[0].split("、") == DEMO_DEFECTS["joint_branch_proposal"]
    liaisons = next(f for f in frames if "overloaded" in f.columns)
    assert liaisons["organisations"].sum() > 0
    assert liaisons["name"].str.contains(r"\*").all()  # names masked
