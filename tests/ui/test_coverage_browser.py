"""覆盖情况 in real Chromium: every problem kind is drawn as its own layer, offline, and choosing
a problem in the list centres the map on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_helpers import browser_login
from playwright.sync_api import Page, sync_playwright

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap.coverage import PROBLEM_KINDS, check_coverage
from gridmap.db import open_database
from gridmap.repository import load_street_layers

REPO_ROOT = Path(__file__).resolve().parents[2]
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'


def _map_zoom(page: Page) -> float:
    """Zoom of the Leaflet map inside the st_folium component frame."""
    frame = next(f for f in page.frames if "streamlit_folium" in f.url)
    return frame.evaluate("() => window.map_div.getZoom()")


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
        frame = page.frame_locator(MAP_FRAME)
        frame.locator(".leaflet-overlay-pane path").first.wait_for(state="attached", timeout=90_000)
        page.wait_for_timeout(1_500)
        control = frame.locator(".leaflet-control-layers").inner_text()
        legend = frame.locator(".gridmap-legend").inner_text()
        drawn = frame.locator(".leaflet-overlay-pane path").count()
        page.screenshot(path=str(output_dir / "coverage.png"), full_page=True)
        street_zoom = _map_zoom(page)

        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 12, box["y"] + 36 + 18)  # row marker of the first row
        page.wait_for_timeout(4_000)
        frame.locator(".leaflet-overlay-pane path").first.wait_for(state="attached")
        page.wait_for_timeout(1_500)
        focused_zoom = _map_zoom(page)
        page.screenshot(path=str(output_dir / "coverage_focus.png"), full_page=True)
        browser.close()

    for name in kinds:
        assert f"{name} (" in control, name
        assert name in legend, name
    base_features = len(layers.communities) + len(layers.grids) + len(layers.buildings)
    assert drawn >= base_features + len(report.problems)
    assert focused_zoom > street_zoom, (street_zoom, focused_zoom)
    assert blocked == [], blocked[:5]
