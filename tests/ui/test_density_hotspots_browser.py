"""党员分布 and 诉求热点 in real Chromium: each map renders offline with its legend, the density
heat layer loads the vendored leaflet.heat, and the demo's hotspot is drawn hot."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_helpers import (
    MAP_FRAME,
    browser_login,
    forget_map,
    streamlit_rerun,
    wait_for_map,
)
from playwright.sync_api import sync_playwright

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap.hotspots import HOTSPOT_CLASSES

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.browser
def test_density_and_hotspot_maps_render_with_legends(demo_db_url: str, output_dir: Path) -> None:
    env = {"GRIDMAP_DATABASE_URL": demo_db_url}
    with streamlit_server(REPO_ROOT / "app.py", env) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        loaded: list[str] = []
        page.on("requestfinished", lambda r: loaded.append(r.url))

        page.goto(f"{base}/density", wait_until="domcontentloaded")

        browser_login(page)
        plain = wait_for_map(page)
        heat_before = plain.locator(".leaflet-heatmap-layer").count()
        forget_map(page)
        with streamlit_rerun(page):
            page.get_by_text("显示党员分布热力图层").click()
        wait_for_map(page)  # the re-run replaces the map: wait for the new one, fully drawn
        frame = page.frame_locator(MAP_FRAME)
        frame.locator(".leaflet-overlay-pane path").first.wait_for(state="attached")
        frame.locator(".leaflet-heatmap-layer").wait_for(state="attached", timeout=10_000)
        density_legend = frame.locator(".gridmap-legend").inner_text()
        density_control = frame.locator(".leaflet-control-layers").text_content()
        page.screenshot(path=str(output_dir / "density.png"), full_page=True)

        page.goto(f"{base}/hotspots", wait_until="domcontentloaded")

        browser_login(page)
        wait_for_map(page)
        frame = page.frame_locator(MAP_FRAME)
        hot_legend = frame.locator(".gridmap-legend").inner_text()
        hot_control = frame.locator(".leaflet-control-layers").text_content()
        hot_fill = HOTSPOT_CLASSES["hot_99"][2]
        hot_paths = frame.locator(f'.leaflet-overlay-pane path[fill="{hot_fill}"]').count()
        page.screenshot(path=str(output_dir / "hotspots.png"), full_page=True)
        browser.close()

    assert "每百户党员数" in density_legend and "名/百户" in density_legend
    assert "党员分布热力" in density_control
    assert heat_before == 0  # the heat layer only when asked for
    assert any(u.endswith("/leaflet.heat-0.2.0/leaflet-heat.js") for u in loaded), loaded
    for zh, _en, _colour in HOTSPOT_CLASSES.values():
        assert zh in hot_legend, zh
    assert "已超期未办结" in hot_legend
    assert "热点(99% 置信度) (" in hot_control
    assert hot_paths >= 1
    assert blocked == [], blocked[:5]
