"""A grid worker on a phone (390 × 844, touch) in real Chromium: the app opens on 诉求办理, the
own grid's open requests are listed most urgent first, a request is logged at the map's centre
and another is resolved from the list — and nothing covers the content (issue 19, item 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import shapely
from auth_helpers import MAP_FRAME, browser_login, streamlit_rerun, wait_for_app_idle, wait_for_map
from playwright.sync_api import Page, sync_playwright
from sqlalchemy.engine import make_url

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap import auth
from gridmap import requests as rq
from gridmap.db import open_database
from gridmap.repository import read_table

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
WORKER = ("demo_worker", auth.DEMO_USERS["demo_worker"][1])


def _covered(page: Page) -> list[str]:
    """What lies over the page's main content: an open sidebar, or nothing."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    if sidebar.count() and sidebar.get_attribute("data-collapsed") == "false":
        box = sidebar.bounding_box()
        if box and box["x"] + box["width"] > 0:
            return ["sidebar"]
    return []


def test_a_grid_worker_works_the_own_grid_on_a_phone(
    demo_db_url: str, tmp_path: Path, output_dir: Path
) -> None:
    target = tmp_path / "demo.db"
    shutil.copy(make_url(demo_db_url).database, target)
    url = f"sqlite:///{target}"
    engine = open_database(url)
    users = auth.list_users(engine)
    worker_id = int(users.loc[users["name"] == WORKER[0], "id"].iloc[0])
    worker = auth.principal_for(engine, worker_id)
    mine = rq.load_requests(engine, scope=worker)
    todo = rq.worklist(mine, rq.street_now(engine))
    assert len(todo) >= 2 and todo["urgency"].iloc[0] == "overdue"  # the demo gives work
    grid_buildings = read_table(engine, "building").query("grid_id == @worker.grid_id")
    spot = shapely.point_on_surface(grid_buildings.geometry.iloc[0])

    with streamlit_server(REPO_ROOT / "app.py", {"GRIDMAP_DATABASE_URL": url}) as base, \
            sync_playwright() as pw:  # fmt: skip
        browser = launch_chromium(pw)
        context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN"
        )
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(base, wait_until="domcontentloaded")  # the app's bare address
        browser_login(page, *WORKER)
        leaflet = wait_for_map(page)
        assert page.url.rstrip("/").endswith("/requests")  # the worker's own first page
        assert _covered(page) == []

        # the own grid's open requests, most urgent first, as the core lists them
        heading = page.get_by_role("heading", name="待办诉求")
        heading.wait_for(timeout=30_000)
        assert f"{len(todo)} 件" in heading.inner_text()
        cards = page.locator('[class*="st-key-rq_card_"]')
        assert cards.count() == len(todo)
        for k, code in enumerate(todo["code"]):
            assert code in cards.nth(k).inner_text()
        assert "已超期" in cards.first.inner_text()

        # the map: framed on the own grid, legend folded, one finger scrolls the page
        assert leaflet.evaluate("() => window.map.getZoom()") >= 16
        assert leaflet.evaluate("() => document.querySelector('.gridmap-legend').open") is False
        assert leaflet.evaluate("() => window.map.dragging.enabled()") is False
        page.screenshot(path=str(output_dir / "phone_worker_requests.png"))

        # log a request at the map's centre (where the worker has moved the map to)
        leaflet.evaluate("(p) => window.map.setView(p, 18, {animate: false})", [spot.y, spot.x])
        with streamlit_rerun(page):
            page.frame_locator(MAP_FRAME).get_by_text("地图中心").click()
        page.get_by_role("tab", name="登记诉求").click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('input')].some(i => i.value.startsWith('110.'))",
            timeout=30_000,
        )
        page.get_by_label("诉求描述").fill("路灯不亮(手机测试)")
        wait_for_app_idle(page)
        with streamlit_rerun(page):
            page.get_by_label("诉求描述").press("Tab")
        page.get_by_role("button", name="登记诉求").click()
        page.get_by_text("已登记诉求").wait_for(timeout=60_000)
        wait_for_app_idle(page)
        assert _covered(page) == []

        # resolve the most urgent request the worker may resolve, from its card
        resolvable = todo[todo["status"].isin(["assigned", "escalated"])].iloc[0]
        page.get_by_role("tab", name="诉求列表与办理").click()
        card = cards.filter(has_text=resolvable["code"])
        with streamlit_rerun(page):
            card.get_by_role("button", name="办理").click()
        page.get_by_role("heading", name=f"诉求 {resolvable['code']}").wait_for(timeout=30_000)
        with streamlit_rerun(page):
            page.get_by_text("办结", exact=True).first.click()
        page.get_by_label("办结说明").fill("已修复(手机测试)")
        wait_for_app_idle(page)
        with streamlit_rerun(page):
            page.get_by_label("办结说明").press("Tab")
        page.get_by_role("button", name="办结", exact=True).click()
        page.get_by_text("已保存").first.wait_for(timeout=60_000)
        wait_for_app_idle(page)
        page.screenshot(path=str(output_dir / "phone_worker_resolved.png"))
        assert _covered(page) == []

        # the sidebar, opened to change page, folds away once the next page is chosen
        page.locator('[data-testid="stExpandSidebarButton"]').click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=stSidebar]').dataset.collapsed === 'false'"
        )
        page.wait_for_timeout(600)  # it slides in
        assert _covered(page) == ["sidebar"]
        page.get_by_role("link", name="覆盖情况").click()
        page.get_by_role("heading", name="网格覆盖情况").wait_for(timeout=60_000)
        page.wait_for_function(
            "() => document.querySelector('[data-testid=stSidebar]').dataset.collapsed === 'true'",
            timeout=30_000,
        )
        assert _covered(page) == []
        page.screenshot(path=str(output_dir / "phone_worker_after_navigation.png"))
        browser.close()

    after = rq.load_requests(engine)
    new = after.iloc[-1]
    assert new["description"] == "路灯不亮(手机测试)"
    assert new["grid_id"] == worker.grid_id
    done = after.set_index("id").loc[int(resolvable["id"])]
    assert done["status"] == "resolved"
    events = read_table(engine, "request_event")
    assert set(events.loc[events["request_id"] == new["id"], "user_id"]) == {worker_id}
    last = events[events["request_id"] == int(resolvable["id"])].iloc[-1]
    assert last["user_id"] == worker_id and last["to_status"] == "resolved"
    assert blocked == [], blocked[:5]
