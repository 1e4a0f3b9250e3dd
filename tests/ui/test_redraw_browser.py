"""网格调整 in real Chromium: log in, start a draft of 柏林路社区, merge two grids through the
page's own controls, and see the live figures change — with nothing requested outside the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_helpers import MAP_FRAME, browser_login, wait_for_app_idle
from playwright.sync_api import Page, sync_playwright

from _services import block_external_network, launch_chromium, streamlit_server

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMUNITY = "420303001-002"  # 柏林路社区: 12 grids in its active plan


def _metric(page: Page, name: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=name).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _wait_for_metric(page: Page, name: str, value: str) -> None:
    page.locator('[data-testid="stMetric"]').filter(has_text=name).filter(
        has=page.locator('[data-testid="stMetricValue"]', has_text=value)
    ).first.wait_for(timeout=90_000)


@pytest.mark.browser
def test_merge_two_grids_in_the_browser(demo_copy: str, output_dir: Path) -> None:
    env = {"GRIDMAP_DATABASE_URL": demo_copy}
    with streamlit_server(REPO_ROOT / "app.py", env) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1440, "height": 1800}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        # a link to the community's redraw page (the figures below are the community's)
        page.goto(f"{base}/redraw?community={COMMUNITY}", wait_until="domcontentloaded")
        browser_login(page)
        page.get_by_text("网格调整").first.wait_for(timeout=90_000)
        _wait_for_metric(page, "网格数", "12 个")

        page.get_by_role("button", name="新建草案(复制生效方案)").click()
        page.get_by_text("已新建草案").first.wait_for(timeout=90_000)
        wait_for_app_idle(page)  # the draft's run is over: a tab chosen now stays chosen
        assert _metric(page, "网格数") == "12 个"
        # the drawing toolbar speaks the UI's language
        toolbar = page.frame_locator(MAP_FRAME).locator(".leaflet-draw-draw-polyline")
        toolbar.wait_for(state="attached", timeout=60_000)
        assert toolbar.get_attribute("title") == "画分割线"

        page.get_by_role("tab", name="合并").click()
        page.get_by_role("button", name="合并", exact=True).click()
        _wait_for_metric(page, "网格数", "11 个")
        merged = _metric(page, "网格数")
        page.screenshot(path=str(output_dir / "redraw_merge.png"), full_page=True)
        browser.close()
    assert merged == "11 个"
    assert blocked == [], blocked[:5]
