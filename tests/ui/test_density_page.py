"""党员分布 in AppTest: headline figures, filters, classification, the thinnest grids first."""

from __future__ import annotations

import html
import json
import re

import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import settings
from gridmap.db import open_database
from gridmap.density import DENSITY_MEASURES, SCHEMES, classify, member_density
from gridmap.repository import load_street_layers, read_table

PAGE = "views/density.py"


@pytest.fixture
def page(demo_db_url: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db_url)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _report(url: str, **kwargs):
    engine = open_database(url)
    layers = load_street_layers(engine)
    return member_density(layers.grids, layers.buildings, read_table(engine, "member"), **kwargs)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _map(at: AppTest) -> dict:
    """What the page hands streamlit-folium for its one map: ``html`` (the legend), ``script``
    (the layers), ``js_links`` …"""
    (component,) = at.get("component_instance")
    return json.loads(component.proto.json_args)


def _legend(at: AppTest) -> tuple[str, list[str]]:
    """The map legend's title and the text of each of its entries."""
    legend = _map(at)["html"]
    title = re.search(r"<summary>(.*?)</summary>", legend, re.S)
    assert title is not None, legend
    entries = re.findall(r"</span>(.*?)</div>", legend, re.S)
    return html.unescape(title.group(1)), [html.unescape(e.strip()) for e in entries]


def _heat_on_map(at: AppTest) -> bool:
    """Whether the map carries the leaflet.heat layer (its script and a heat layer)."""
    args = _map(at)
    loads_heat = any(link.endswith("/leaflet-heat.js") for link in args["js_links"])
    return loads_heat and "L.heatLayer(" in args["script"]


def test_headline_figures_and_table(page: AppTest, demo_db_url: str) -> None:
    totals = _report(demo_db_url).totals
    metrics = _metrics(page)
    assert metrics["党员数"] == f"{totals['members']:,} 名"
    assert metrics["每百户党员数"] == f"{totals['members_per_100_households']:.1f} 名/百户"
    assert metrics["每平方公里党员数"] == f"{totals['members_per_km2']:,.0f} 名/km²"
    # the households of the grids, labelled so; with those in no grid they make the
    # overview's figure (the street's total)
    assert metrics["网格内户数"] == f"{totals['households']:,.0f} 户"
    layers = load_street_layers(open_database(demo_db_url))
    street = int(layers.buildings["households"].fillna(0).sum())
    assert totals["households"] + totals["unplaced_households"] == street
    assert totals["unplaced_households"] > 0  # the demo's buildings in no grid
    helps = {m.label: m.help for m in page.metric}
    assert f"{totals['unplaced_households']:,} 户" in helps["网格内户数"]
    assert metrics["双报到在职党员"] == f"{totals['in_service_registered']:,} 名"
    table = page.dataframe[0].value
    assert len(table) == totals["grids"]
    assert table["每百户党员(名/百户)"].is_monotonic_increasing  # thinnest grids first


def test_category_and_community_filters(page: AppTest, demo_db_url: str) -> None:
    page.multiselect(key="density_categories").set_value(["lost_contact"]).run()
    assert not page.exception
    lost = _report(demo_db_url, categories=["lost_contact"]).totals
    assert _metrics(page)["党员数"] == f"{lost['members']:,} 名"
    code = read_table(open_database(demo_db_url), "community").set_index("id").loc[1, "code"]
    page.selectbox(key="community").set_value(code).run()
    assert not page.exception
    one = _report(demo_db_url, categories=["lost_contact"], community_ids=[1]).totals
    assert _metrics(page)["网格数"] == f"{one['grids']} 个"
    assert len(page.dataframe[0].value) == one["grids"]


def test_classification_heat_and_english(page: AppTest, demo_db_url: str) -> None:
    grids = _report(demo_db_url).grids  # the page's default: every category, whole street
    measure = "members_per_100_households"  # the page's default measure

    def expected(measure: str, scheme: str, k: int, lang: str = "zh") -> tuple[str, list[str]]:
        zh_name, en_name, zh_unit, en_unit = DENSITY_MEASURES[measure]
        labels = classify(grids[measure], scheme, k).labels(zh_unit if lang == "zh" else en_unit)
        if lang == "zh":
            return f"{zh_name}({SCHEMES[scheme][1]})", labels
        return f"{en_name} ({SCHEMES[scheme][2]})", labels

    default = expected(measure, settings.DENSITY_SCHEME, settings.DENSITY_CLASSES)
    assert _legend(page) == default
    assert not _heat_on_map(page)

    page.radio(key="density_scheme").set_value("natural_breaks").run()
    assert not page.exception
    assert _legend(page) == expected(measure, "natural_breaks", 5)
    assert _legend(page) != default  # the scheme moved the class breaks

    page.slider(key="density_classes").set_value(4).run()
    assert not page.exception
    title, entries = _legend(page)
    assert (title, entries) == expected(measure, "natural_breaks", 4) and len(entries) == 4

    page.checkbox(key="density_heat").check().run()
    assert not page.exception
    assert _heat_on_map(page)
    assert _legend(page) == expected(measure, "natural_breaks", 4)  # classes left alone

    page.selectbox(key="density_measure").set_value("members_per_km2").run()
    assert not page.exception
    assert _legend(page) == expected("members_per_km2", "natural_breaks", 4)
    assert _heat_on_map(page)

    page.radio(key="lang").set_value("English").run()
    assert not page.exception
    assert page.title[0].value == "Party member density"
    assert "Members" in _metrics(page)
    assert _legend(page) == expected("members_per_km2", "natural_breaks", 4, "en")
    assert _heat_on_map(page)
