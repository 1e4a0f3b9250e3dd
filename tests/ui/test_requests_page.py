"""诉求办理 in AppTest, on a copy of the demo street: figures, filters, logging a request by a
point and by building code, handling it through the actions its status allows, refused moves
shown as messages, statistics by member, English."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import requests as rq
from gridmap import settings
from gridmap.db import open_database

PAGE = "views/requests.py"


@pytest.fixture
def page(demo_copy: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_copy)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _table_with(at: AppTest, column: str):
    """The first table showing ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _now(url: str) -> dt.datetime:
    return rq.clock(rq.latest_event_at(open_database(url)))


def test_figures_and_list_match_the_core(page: AppTest, demo_copy: str) -> None:
    requests = rq.load_requests(open_database(demo_copy))
    is_open = requests["status"].isin(rq.OPEN_STATUSES)
    assert _metrics(page)["在办诉求"] == f"{int(is_open.sum()):,} 件"
    headings = [h.value for h in page.subheader]
    assert f"诉求列表({int(is_open.sum()):,} 件)" in headings
    # the worklist of open requests, most urgent first (the street's for its administrator)
    todo = rq.worklist(requests, _now(demo_copy))
    assert headings[0] == f"待办诉求(职责范围内,{len(todo):,} 件)"
    cards = [b for b in page.button if str(b.key).startswith("rq_todo_")]
    assert [int(b.key.removeprefix("rq_todo_")) for b in cards] == list(
        todo["id"].head(settings.REQUEST_WORKLIST_SHOWN)
    )
    assert len(_table_with(page, "描述")) == int(is_open.sum())
    page.multiselect(key="rq_status").set_value(["rejected"]).run()
    rejected = int((requests["status"] == "rejected").sum())
    assert len(_table_with(page, "描述")) == rejected > 0
    page.multiselect(key="rq_category").set_value(["停车管理"]).run()
    expected = int(
        ((requests["status"] == "rejected") & (requests["category"] == "停车管理")).sum()
    )
    assert len(_table_with(page, "描述")) == expected


def test_log_by_point_then_handle_it(page: AppTest, demo_copy: str) -> None:
    engine = open_database(demo_copy)
    before = len(rq.load_requests(engine))
    inside = rq.load_requests(engine).dropna(subset=["building_id"]).iloc[0]
    page.number_input(key="log_lon").set_value(round(inside.geom.x, 6))
    page.number_input(key="log_lat").set_value(round(inside.geom.y, 6))
    page.text_area(key="log_description").set_value("单元门禁损坏")
    page.selectbox(key="log_category").set_value("物业管理")
    page.text_input(key="log_reporter").set_value("张三丰")
    page.button(key="log_submit").click().run()
    assert not page.exception, page.exception
    assert not page.error, [e.value for e in page.error]
    requests = rq.load_requests(engine)
    assert len(requests) == before + 1
    new = requests.iloc[-1]
    assert new["building_id"] == inside["building_id"] and new["reporter"] == "张*丰"
    assert page.subheader[1].value == f"诉求 {new['code']}"
    assert page.radio(key="rq_action").options[0] == "派单至网格员"

    # assign to the grid's worker, then resolve without a note: refused, shown, nothing changes
    page.radio(key="rq_action").set_value("assign").run()
    page.button(key="rq_do").click().run()
    assert not page.exception
    assert rq.request_detail(engine, int(new["id"]))["status"] == "assigned"
    page.radio(key="rq_action").set_value("resolve").run()
    page.button(key="rq_do").click().run()
    assert any("办结说明不能为空" in e.value for e in page.error)
    page.text_area(key="rq_note").set_value("已联系物业修复")
    page.radio(key="rq_level").set_value("compound")
    page.button(key="rq_do").click().run()
    detail = rq.request_detail(engine, int(new["id"]))
    assert detail["status"] == "resolved" and detail["decision_level"] == "compound"
    # a 1-star rating reopens it
    page.radio(key="rq_action").set_value("evaluate").run()
    page.slider(key="rq_rating").set_value(1)
    page.button(key="rq_do").click().run()
    assert rq.request_detail(engine, int(new["id"]))["status"] == "assigned"
    timeline = _table_with(page, "环节")
    assert list(timeline["环节"]) == ["已受理", "已派单", "已办结", "已评价", "已派单"]


def test_log_by_building_code_and_a_refused_one(page: AppTest, demo_copy: str) -> None:
    page.radio(key="log_mode").set_value("building").run()
    page.text_input(key="log_code").set_value("420303001-001-B0101")
    page.button(key="log_submit").click().run()
    assert not page.exception
    new = rq.load_requests(open_database(demo_copy)).iloc[-1]
    assert new["building_id"] == 1 and new["grid_id"] == 1
    page.text_input(key="log_code").set_value("NO-SUCH")
    page.button(key="log_submit").click().run()
    assert any("NO-SUCH" in e.value for e in page.error)


def test_open_by_code_shows_timeline_and_dispatch_suggestions(
    page: AppTest, demo_copy: str
) -> None:
    requests = rq.load_requests(open_database(demo_copy))
    received = requests[(requests["status"] == "received") & requests["grid_id"].notna()].iloc[0]
    page.text_input(key="rq_code").set_value(received["code"]).run()
    assert page.subheader[1].value == f"诉求 {received['code']}"
    page.radio(key="rq_action").set_value("dispatch").run()
    assert not page.exception
    page.button(key="rq_do").click().run()
    detail = rq.request_detail(open_database(demo_copy), int(received["id"]))
    assert detail["status"] == "assigned" and detail["assignee_kind"] == "member"
    assert "*" in detail["assignee_name"]


def test_statistics_by_member_and_english(page: AppTest, demo_copy: str) -> None:
    page.radio(key="stats_by").set_value("member").run()
    table = _table_with(page, "党员积分(分)")
    expected = rq.stats_for(open_database(demo_copy), _now(demo_copy), "member")
    assert len(table) == len(expected) and "党员积分(分)" in table.columns
    page.sidebar.radio(key="lang").set_value("English").run()
    assert not page.exception
    assert page.title[0].value == "Residents' requests"
    assert "Open" in _metrics(page)


def test_a_duplicate_is_proposed_merged_and_a_request_rerouted(demo_copy: str, monkeypatch) -> None:
    """Issue 22 items 3 and 4 through the page: two requests logged at one building are
    proposed as duplicates (the list's expander and the detail's warning), merged with the
    proposal preselected; re-routing changes the category and recomputes the due time."""
    engine = open_database(demo_copy)
    now = _now(demo_copy)
    spot = rq.load_requests(engine).dropna(subset=["building_id"]).iloc[0].geom
    args = {"category": "物业管理", "source": "visit", "point": (spot.x, spot.y)}
    first = rq.log_request(engine, description="电梯停运", now=now, **args)
    second = rq.log_request(engine, description="电梯又停了", now=now, **args)
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_copy)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(PAGE).run()
    proposals = _table_with(at, "疑似重复于")
    codes = rq.load_requests(engine).set_index("id")["code"]
    assert (proposals["诉求"] == codes[second]).any()
    at.selectbox(key="rq_dup_open").set_value(second).run()
    assert at.subheader[1].value == f"诉求 {codes[second]}"
    assert any(codes[first] in w.value for w in at.warning)
    at.radio(key="rq_action").set_value("merge").run()
    assert at.selectbox(key="rq_merge_into").value == first  # the proposal first
    at.button(key="rq_do").click().run()
    assert not at.exception, at.exception
    assert rq.request_detail(engine, second)["duplicate_of"] == first
    assert rq.request_detail(engine, first)["reporters"] == 2

    at.text_input(key="rq_code").set_value(codes[first]).run()
    at.radio(key="rq_action").set_value("reroute").run()
    at.selectbox(key="rq_new_category").set_value("市政设施")
    at.text_input(key="rq_reason").set_value("属市政设施维修")
    at.button(key="rq_do").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    detail = rq.request_detail(engine, first)
    assert detail["category"] == "市政设施"
    hours = rq.sla_hours("市政设施")
    assert pd.Timestamp(detail["due_at"]) == pd.Timestamp(now) + pd.Timedelta(hours=hours)
    assert "属市政设施维修" in _table_with(at, "环节")["说明"].iloc[-1]
