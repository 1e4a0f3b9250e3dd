"""规划分析 in AppTest: the ranking with its weights and reasons, siting, what-if, the report."""

from __future__ import annotations

import datetime as dt

import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import settings
from gridmap.db import open_database
from gridmap.planning import candidate_sites, site_stations
from gridmap.repository import load_street_layers

PAGE = "views/planning.py"


@pytest.fixture
def page(demo_db_url: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db_url)
    at = login(AppTest.from_file(APP, default_timeout=240)).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


#: The page's tables, in page order.
TABLES = ("ranking_table", "sites_table", "whatif_table")


def _table(at: AppTest, key: str):
    return at.dataframe[TABLES.index(key)].value


def test_ranking_table_has_reasons_and_follows_the_weights(page: AppTest) -> None:
    ranking = _table(page, "ranking_table")
    assert len(ranking) == 80
    assert ranking["得分"].is_monotonic_decreasing
    assert ranking["原因"].iloc[0].startswith(ranking["区域"].iloc[0])
    assert "分)" in ranking["原因"].iloc[0]
    first = ranking["区域"].iloc[0]
    # only the worker factor counts: the order follows households per grid worker
    for factor in settings.PLANNING_WEIGHTS:
        page.slider(key=f"w_{factor}").set_value(50 if factor == "households_per_worker" else 0)
    page.run()
    assert not page.exception
    moved = _table(page, "ranking_table")
    assert moved["区域"].iloc[0] != first or moved["得分"].iloc[0] != ranking["得分"].iloc[0]
    assert "网格员" in moved["原因"].iloc[0]


def test_siting_matches_the_core(page: AppTest, demo_db_url: str) -> None:
    layers = load_street_layers(open_database(demo_db_url))
    result = site_stations(
        layers.buildings, layers.stations, candidate_sites(layers.buildings, layers.communities),
        k=3, radius_m=500,
    )  # fmt: skip
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["新增覆盖住户"] == f"{result.gained:,} 户"
    sites = _table(page, "sites_table")
    assert list(sites["新增覆盖(户)"]) == list(result.sites["gain"])
    page.number_input(key="sites_k").set_value(1).run()
    page.radio(key="sites_radius").set_value(300).run()
    assert not page.exception
    assert len(_table(page, "sites_table")) == 1


def test_what_if_panel(page: AppTest) -> None:
    assert not page.exception
    page.radio(key="whatif_action").set_value("worker").run()
    assert not page.exception
    delta = next(m for m in page.metric if m.label == "该网格得分")
    assert delta.delta.startswith("-")
    page.radio(key="whatif_action").set_value("station").run()
    assert not page.exception
    changes = _table(page, "whatif_table")
    assert len(changes) > 0 and (changes["变化"] <= 0).all()


def test_report_button_offers_a_download(page: AppTest) -> None:
    page.selectbox(key="report_community").set_value("420303001-003").run()
    page.button(key="report_button").click().run()
    assert not page.exception
    code, fmt, data = page.session_state["report"]
    assert code == "420303001-003" and fmt == "html"
    text = data.decode("utf-8")
    assert "人民路社区网格化管理工作报告" in text and "data:image/png;base64," in text
    assert dt.date.today().strftime("%Y") in text
