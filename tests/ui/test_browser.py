"""The app in real Chromium (Playwright, system browser) with every request that is not to the
app blocked: the map must draw its polygons from the app's own Leaflet, with Chinese text."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_helpers import MAP_FRAME, browser_login, wait_for_map
from playwright.sync_api import sync_playwright

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap.db import open_database
from gridmap.repository import headline_figures, load_street_layers

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.browser
def test_street_map_draws_offline_in_chromium(demo_db_url: str, output_dir: Path) -> None:
    engine = open_database(demo_db_url)
    layers = load_street_layers(engine)
    figures = headline_figures(engine)
    expected_paths = len(layers.communities) + len(layers.grids) + len(layers.buildings)
    env = {"GRIDMAP_DATABASE_URL": demo_db_url}
    with streamlit_server(REPO_ROOT / "app.py", env) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1440, "height": 1100}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(base, wait_until="domcontentloaded")
        browser_login(page)
        page.get_by_text("党建网格总览").first.wait_for(timeout=90_000)
        wait_for_map(page)  # every layer added
        frame = page.frame_locator(MAP_FRAME)
        drawn = frame.locator(".leaflet-overlay-pane path").count()
        legend = frame.locator(".gridmap-legend").inner_text()
        layer_names = frame.locator(".leaflet-control-layers").text_content()
        page.get_by_text(f"{figures['grids']:,} 个").first.wait_for(timeout=10_000)
        page.screenshot(path=str(output_dir / "street_overview.png"), full_page=True)
        browser.close()
    assert drawn >= expected_paths, f"{drawn} paths drawn, {expected_paths} features expected"
    assert "图例" in legend and "楼栋" in legend
    assert "网格" in layer_names and "党群服务站" in layer_names
    assert blocked == [], f"requests outside the app were attempted: {blocked[:5]}"
