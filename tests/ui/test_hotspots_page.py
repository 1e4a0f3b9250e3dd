"""诉求热点 in AppTest: the demo's hotspot named in the summary, filters, units, per-grid table."""

from __future__ import annotations

import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap.demo import DEMO_DEFECTS

PAGE = "pages/hotspots.py"


@pytest.fixture
def page(demo_db_url: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db_url)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_demo_hotspot_is_named(page: AppTest) -> None:
    summary = page.info[0].value
    assert summary.startswith("热点 1:")
    assert DEMO_DEFECTS["hotspot_grid"] in summary.split("\n")[0]
    assert DEMO_DEFECTS["hotspot_category"] in summary.split("\n")[0]
    assert _metrics(page)["分析的诉求"] == "3,000 件"
    table = page.dataframe[0].value
    assert table["未办结(件)"].is_monotonic_decreasing  # most open requests first
    assert int(table["未办结(件)"].sum()) == int(_metrics(page)["未办结"].split()[0])


def test_filters_change_the_result(page: AppTest) -> None:
    page.multiselect(key="hot_categories").set_value([DEMO_DEFECTS["hotspot_category"]]).run()
    assert not page.exception
    parked = int(_metrics(page)["分析的诉求"].split()[0].replace(",", ""))
    assert 0 < parked < 3000
    page.multiselect(key="hot_sources").set_value(["hotline"]).run()
    hotline = int(_metrics(page)["分析的诉求"].split()[0].replace(",", ""))
    assert 0 < hotline < parked
    page.radio(key="hot_status").set_value("overdue").run()
    assert not page.exception
    overdue = int(_metrics(page)["分析的诉求"].split()[0].replace(",", ""))
    assert overdue < hotline


def test_grid_units_fdr_and_english(page: AppTest) -> None:
    page.radio(key="hot_unit").set_value("grid").run()
    page.checkbox(key="hot_fdr").check().run()
    page.radio(key="hot_measure").set_value("rate").run()
    assert not page.exception
    assert _metrics(page)["热点网格"].endswith(" 个")
    page.radio(key="lang").set_value("English").run()
    assert not page.exception
    assert page.title[0].value == "Request hotspots"
