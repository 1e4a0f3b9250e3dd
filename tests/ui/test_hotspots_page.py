"""诉求热点 in AppTest: the demo's hotspot named in the summary, filters, units, per-grid table."""

from __future__ import annotations

import datetime as dt

import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import settings
from gridmap.db import open_database
from gridmap.demo import DEMO_DEFECTS
from gridmap.hotspots import MEASURES, HotspotReport, filter_requests, request_hotspots
from gridmap.repository import load_street_layers, read_table

PAGE = "views/hotspots.py"


@pytest.fixture
def page(demo_db_url: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db_url)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _report(url: str, unit: str, measure: str, fdr: bool) -> HotspotReport:
    """Gi* as the page computes it with its other choices left alone: every category and
    source, any status, the year up to the demo's reference date, permutations."""
    engine = open_database(url)
    layers = load_street_layers(engine)
    now = dt.datetime.combine(settings.DEMO_REFERENCE_DATE, dt.time())
    start = now.date() - dt.timedelta(days=365)
    chosen = filter_requests(read_table(engine, "request"), None, None, start, now.date())
    return request_hotspots(
        chosen, layers.grids, layers.buildings, unit=unit, measure=measure, fdr=fdr
    )


def _hot_cold(report: HotspotReport) -> tuple[int, int]:
    """Hot and cold units of a report, at any confidence."""
    counts = report.counts()
    return (
        sum(v for k, v in counts.items() if k.startswith("hot")),
        sum(v for k, v in counts.items() if k.startswith("cold")),
    )


def _shown_hot_cold(at: AppTest, unit_word: str) -> tuple[str, str]:
    """The page's 热点/冷点 figures for units called ``unit_word`` (网格, 六边形)."""
    metrics = _metrics(at)
    return metrics[f"热点{unit_word}"], metrics[f"冷点{unit_word}"]


def _as_shown(report: HotspotReport) -> tuple[str, str]:
    hot, cold = _hot_cold(report)
    return f"{hot} 个", f"{cold} 个"


def _significant_cells(report: HotspotReport):
    return report.cells[report.cells["cls"] != "not_significant"]


def _significant(at: AppTest):
    """The table of significant hot and cold units (in its expander)."""
    return next(d.value for d in at.dataframe if "Gi* z 值" in d.value.columns)


def _fdr_caption(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("FDR 校正后的 p 值界限")]


def test_the_demo_hotspot_is_named(page: AppTest, demo_db_url: str) -> None:
    summary = page.info[0].value
    assert summary.startswith("热点 1:")
    assert DEMO_DEFECTS["hotspot_grid"] in summary.split("\n")[0]
    assert DEMO_DEFECTS["hotspot_category"] in summary.split("\n")[0]
    analysed = len(_report(demo_db_url, "h3", "count", False).requests)  # the year's
    assert _metrics(page)["分析的诉求"] == f"{analysed:,} 件"
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


def test_grid_units_fdr_and_english(page: AppTest, demo_db_url: str) -> None:
    grids = load_street_layers(open_database(demo_db_url)).grids
    grid_labels = set((grids["community_name"] + " " + grids["name"]).str.strip())
    assert settings.HOTSPOT_UNIT == "h3" and not settings.HOTSPOT_FDR  # the page's defaults
    hexagons = _report(demo_db_url, "h3", "count", fdr=False)
    assert _shown_hot_cold(page, "六边形") == _as_shown(hexagons)
    units = set(_significant(page)["单元"])
    assert units == set(_significant_cells(hexagons)["label"])  # H3 cells listed
    assert units and units.isdisjoint(grid_labels)
    assert _fdr_caption(page) == []

    page.radio(key="hot_unit").set_value("grid").run()
    assert not page.exception
    by_grid = _report(demo_db_url, "grid", "count", fdr=False)
    assert _shown_hot_cold(page, "网格") == _as_shown(by_grid)
    assert "热点六边形" not in _metrics(page)
    significant = _significant(page)
    assert list(significant["单元"]) == list(_significant_cells(by_grid)["label"])
    assert set(significant["单元"]) <= grid_labels  # grids listed now
    assert f"数值({MEASURES['count'][2]})" in significant.columns

    page.radio(key="hot_measure").set_value("rate").run()
    assert not page.exception
    rate = _report(demo_db_url, "grid", "rate", fdr=False)
    assert _hot_cold(rate) != _hot_cold(by_grid)  # the demo's rates cluster differently
    assert _shown_hot_cold(page, "网格") == _as_shown(rate)
    significant = _significant(page)
    expected = _significant_cells(rate)
    assert list(significant["单元"]) == list(expected["label"])
    assert list(significant[f"数值({MEASURES['rate'][2]})"]) == list(expected["value"].round(2))

    page.checkbox(key="hot_fdr").check().run()
    assert not page.exception
    fdr = _report(demo_db_url, "grid", "rate", fdr=True)
    assert _hot_cold(fdr) != _hot_cold(rate)  # fewer units pass the stricter cut-offs
    assert _shown_hot_cold(page, "网格") == _as_shown(fdr)
    assert len(_significant(page)) == len(_significant_cells(fdr))
    cut = ", ".join(f"{round(c * 100)}%: p < {p:.4f}" for c, p in fdr.cutoffs.items())
    assert _fdr_caption(page) == [f"FDR 校正后的 p 值界限 — {cut}"]
    assert all(p < 1 - level for level, p in fdr.cutoffs.items())  # stricter than without

    page.radio(key="lang").set_value("English").run()
    assert not page.exception
    assert page.title[0].value == "Request hotspots"
    assert _metrics(page)["Hot grids"] == str(_hot_cold(fdr)[0])


def test_the_trend_view_shows_the_cores_emerging_hot_spots(page: AppTest, demo_db_url: str):
    """时空趋势: the classes counted, the table and one unit's months equal
    :func:`gridmap.emerging.emerging_hotspots` with the page's choices; the map's legend
    names the classes present."""
    from gridmap.emerging import EMERGING_CLASSES, emerging_hotspots
    from gridmap.requests import street_now

    page.radio(key="hot_view").set_value("trend").run()
    page.radio(key="hot_unit").set_value("grid").run()
    assert not page.exception, page.exception
    engine = open_database(demo_db_url)
    layers = load_street_layers(engine)
    expected = emerging_hotspots(read_table(engine, "request"), layers.grids, street_now(engine),
                                 unit="grid")  # fmt: skip
    counts = expected.counts()
    metrics = _metrics(page)
    assert metrics["加剧热点"] == f"{counts['intensifying_hot']} 个"
    assert metrics["冷点"] == f"{sum(v for k, v in counts.items() if k.endswith('_cold'))} 个"
    table = next(d.value for d in page.dataframe if "时空模式" in d.value.columns)
    classed = expected.cells[expected.cells["cls"] != "no_pattern"]
    assert len(table) == len(classed) > 0
    names = {v[0] for v in EMERGING_CLASSES.values()}
    assert set(table["时空模式"]) <= names
    assert sorted(table["网格编码"]) == sorted(classed["grid_code"])
    assert any("Mann–Kendall" in m.value for m in page.markdown)
    summary = page.info[0].value
    assert f"{expected.months[0]} 至 {expected.months[-1]}" in summary
