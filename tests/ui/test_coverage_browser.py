"""覆盖情况 in real Chromium: every problem kind is drawn as its own layer, offline, and choosing
a problem in the list centres the map on it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from auth_helpers import (
    MAP_FRAME,
    browser_login,
    forget_map,
    streamlit_rerun,
    wait_for_map,
)
from playwright.sync_api import expect, sync_playwright

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap.coverage import PROBLEM_KINDS, check_coverage
from gridmap.db import open_database
from gridmap.repository import load_street_layers

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The chosen problem's outline (gridmap.maps.coverage.FOCUS_STYLE: black, dashed "8 6").
FOCUS_PATH = '.leaflet-overlay-pane path[stroke="#000000"][stroke-dasharray="8 6"]'
#: For each focus outline: whether it lies wholly inside the map's view.
FOCUS_IN_VIEW = f"""() => {{
    const view = window.map.getContainer().getBoundingClientRect();
    return [...document.querySelectorAll('{FOCUS_PATH}')].map(p => {{
        const r = p.getBoundingClientRect();
        return r.left >= view.left && r.right <= view.right
            && r.top >= view.top && r.bottom <= view.bottom;
    }});
}}"""


@pytest.mark.browser
def test_problem_layers_render_and_a_row_centres_the_map(
    demo_db_url: str, output_dir: Path
) -> None:
    layers = load_street_layers(open_database(demo_db_url))
    report = check_coverage(layers.communities, layers.grids, layers.buildings, layers.stations)
    kinds = [PROBLEM_KINDS[k][0] for k in report.problems["kind"].unique()]
    env = {"GRIDMAP_DATABASE_URL": demo_db_url}
    with streamlit_server(REPO_ROOT / "app.py", env) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(f"{base}/coverage", wait_until="domcontentloaded")
        browser_login(page)
        street_map = wait_for_map(page)
        frame = page.frame_locator(MAP_FRAME)
        control = frame.locator(".leaflet-control-layers").text_content()
        legend = frame.locator(".gridmap-legend").inner_text()
        drawn = frame.locator(".leaflet-overlay-pane path").count()
        focus_before = street_map.locator(FOCUS_PATH).count()
        page.screenshot(path=str(output_dir / "coverage.png"), full_page=True)
        street_zoom = street_map.evaluate("() => window.map.getZoom()")

        # Choose the first problem as a keyboard user does: focus a cell of its row in the
        # grid's accessible table (row 1 is the header), then glide-data-grid's select-row key.
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.scroll_into_view_if_needed()
        first_row = grid.locator('[role="row"][aria-rowindex="2"]')
        forget_map(page)
        with streamlit_rerun(page):  # on_select="rerun": the page re-runs with the choice
            first_row.locator('[role="gridcell"]').first.focus()
            page.keyboard.press("Shift+Space")
        expect(first_row).to_have_attribute("aria-selected", "true")
        focused_map = wait_for_map(page)
        focused_zoom = focused_map.evaluate("() => window.map.getZoom()")
        focus_in_view = focused_map.evaluate(FOCUS_IN_VIEW)
        focused_control = focused_map.locator(".leaflet-control-layers").text_content()
        page.screenshot(path=str(output_dir / "coverage_focus.png"), full_page=True)
        browser.close()

    for name in kinds:
        assert f"{name} (" in control, name
        assert name in legend, name
    base_features = len(layers.communities) + len(layers.grids) + len(layers.buildings)
    assert drawn >= base_features + len(report.problems)
    assert focused_zoom > street_zoom, (street_zoom, focused_zoom)
    assert focus_before == 0 and "所选问题" not in control
    assert focus_in_view == [True], focus_in_view  # the chosen problem outlined, in view
    assert "所选问题" in focused_control
    assert blocked == [], blocked[:5]


@pytest.mark.browser
def test_a_language_switch_keeps_the_chosen_problem_kinds(
    demo_db_url: str, output_dir: Path
) -> None:
    """Streamlit keeps a choice by its label: without ``ui_common.relabel`` the English page
    showed the Chinese chips and got them back as values. Chosen in Chinese (one kind taken
    out), kept in English: the chips in English, the list without that kind."""
    overlap_zh, overlap_en, _colour = PROBLEM_KINDS["overlap"]
    layers = load_street_layers(open_database(demo_db_url))
    problems = check_coverage(
        layers.communities, layers.grids, layers.buildings, layers.stations
    ).problems
    overlaps = int((problems["kind"] == "overlap").sum())
    assert overlaps
    env = {"GRIDMAP_DATABASE_URL": demo_db_url}
    with streamlit_server(REPO_ROOT / "app.py", env) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
        page.goto(f"{base}/coverage", wait_until="domcontentloaded")
        browser_login(page)
        wait_for_map(page)
        total = page.get_by_role("heading", name=re.compile(r"^问题清单")).inner_text()
        with streamlit_rerun(page):
            page.get_by_role("button", name=f"Remove {overlap_zh} ({overlaps})").click()
        with streamlit_rerun(page):
            page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
        wait_for_map(page)
        chooser = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Problem kinds")
        chips = chooser.locator("[data-tag]").evaluate_all("tags => tags.map(t => t.innerText)")
        heading = page.get_by_role("heading", name=re.compile(r"^Problems \(")).inner_text()
        page.screenshot(path=str(output_dir / "coverage_english_kept.png"), full_page=True)
        browser.close()
    english = {v[1] for v in PROBLEM_KINDS.values()}
    assert chips and all(c.rsplit(" (", 1)[0] in english for c in chips), chips
    assert not any(c.startswith(overlap_en) for c in chips), chips
    shown = int(re.search(r"\d+", heading).group()) + overlaps
    assert f"({shown} " in total, (total, heading)
