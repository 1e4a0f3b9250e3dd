"""覆盖情况 in AppTest: headline figures, radius, community and kind filters, the score table."""

from __future__ import annotations

import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap.coverage import check_coverage, filter_problems
from gridmap.db import open_database
from gridmap.repository import load_street_layers, read_table

PAGE = "views/coverage.py"


@pytest.fixture
def page(demo_db_url: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db_url)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _report(url: str, radius: float):
    engine = open_database(url)
    layers = load_street_layers(engine)
    return check_coverage(layers.communities, layers.grids, layers.buildings, layers.stations,
                          radius, organisations=read_table(engine, "organisation"))  # fmt: skip


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_headline_figures_match_the_analysis(page: AppTest, demo_db_url: str) -> None:
    report = _report(demo_db_url, 500)
    metrics = _metrics(page)
    assert metrics["问题数"] == f"{len(report.problems)} 个"
    assert metrics["未覆盖面积"] == f"{report.summary['gap_area_m2']:,.0f} m²"
    assert metrics["综合得分(满分 100)"] == f"{report.summary['score']:.1f}"
    assert metrics["500 米外住户"] == f"{report.summary['households_beyond_reach']:,.0f} 户"
    table = page.dataframe[0].value
    assert len(table) == len(report.problems)
    assert "说明" in table.columns and "经度" in table.columns


def test_radius_changes_households_beyond_reach(page: AppTest, demo_db_url: str) -> None:
    page.radio(key="radius").set_value(1000).run()
    assert not page.exception
    report = _report(demo_db_url, 1000)
    expected = f"{report.summary['households_beyond_reach']:,.0f} 户"
    assert _metrics(page)["1000 米外住户"] == expected


def test_community_and_kind_filters(page: AppTest, demo_db_url: str) -> None:
    report = _report(demo_db_url, 500)
    code = "420303001-001"
    page.selectbox(key="community").set_value(code).run()
    expected = filter_problems(report.problems, [code])
    assert len(page.dataframe[0].value) == len(expected) > 0
    assert set(page.dataframe[0].value["社区编码"]) == {code}
    page.multiselect(key="kinds").set_value(["overlap"]).run()
    assert not page.exception
    table = page.dataframe[0].value
    assert len(table) == len(filter_problems(expected, kinds=["overlap"])) == 1
    assert table["问题类型"].iloc[0] == "网格重叠"


def test_score_explanation_lists_the_weights(page: AppTest) -> None:
    weights = page.expander[0].dataframe[0].value
    assert weights["权重(分)"].sum() == 100
    lowest = page.expander[0].dataframe[1].value
    assert lowest["综合得分"].is_monotonic_increasing


def test_the_street_administrator_sets_the_score_weights_on_the_page(
    demo_copy: str, monkeypatch
) -> None:
    """Issue 19, item 5: the weights are changed in the app (stored for the street, audited),
    never by editing settings.py; the page's score follows; a secretary only reads them."""
    from gridmap.weights import street_weights

    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_copy)
    at = login(AppTest.from_file(APP, default_timeout=120), demo_copy).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not any("settings.py" in m.value for m in at.markdown)
    at.number_input(key="weight_coverage_score_reach").set_value(60.0)
    at.number_input(key="weight_coverage_score_size").set_value(0.0)
    next(b for b in at.button if b.label == "保存").click().run()
    assert not at.exception, at.exception
    engine = open_database(demo_copy)
    mine = street_weights(engine, "coverage_score")
    assert mine["reach"] == 60.0 and mine["size"] == 0.0
    layers = load_street_layers(engine)
    report = check_coverage(layers.communities, layers.grids, layers.buildings, layers.stations,
                            500, organisations=read_table(engine, "organisation"),
                            score_weights=mine)  # fmt: skip
    assert _metrics(at)["综合得分(满分 100)"] == f"{report.summary['score']:.1f}"
    assert any("已保存本街道的权重" in s.value for s in at.success)
    log = read_table(engine, "audit_log").query("action == 'street_weights'")
    assert len(log) == 1

    secretary = login(AppTest.from_file(APP, default_timeout=120), demo_copy,
                      name="demo_secretary").run()  # fmt: skip
    secretary.switch_page(PAGE).run()
    assert not secretary.exception, secretary.exception
    assert not [n for n in secretary.number_input if str(n.key).startswith("weight_")]
    assert any("街道管理员" in c.value for c in secretary.caption)
