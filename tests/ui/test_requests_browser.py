"""诉求办理 in real Chromium, offline: click the map on a building, log a request there, and see
it appear on the map as one more open request."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
import shapely
from auth_helpers import (
    DEMO_ADMIN,
    MAP_FRAME,
    browser_login,
    forget_map,
    streamlit_rerun,
    wait_for_app_idle,
    wait_for_map,
)
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy.engine import make_url

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap import auth
from gridmap import requests as rq
from gridmap.db import open_database
from gridmap.repository import read_table

REPO_ROOT = Path(__file__).resolve().parents[2]
OPEN_LAYER = re.compile(r"(在办诉求|超期诉求) \((\d+)\)")


def _open_on_map(page: Page) -> int:
    """Open requests drawn, from the layer control's counts (在办 + 超期)."""
    text = page.frame_locator(MAP_FRAME).locator(".leaflet-control-layers").text_content()
    return sum(int(n) for _, n in OPEN_LAYER.findall(text))


@pytest.mark.browser
def test_log_a_request_by_clicking_the_map(
    demo_db_url: str, tmp_path: Path, output_dir: Path
) -> None:
    target = tmp_path / "demo.db"
    shutil.copy(make_url(demo_db_url).database, target)
    url = f"sqlite:///{target}"
    engine = open_database(url)
    before = rq.load_requests(engine)
    # a building in a grid, away from the street's edge: the place to click
    buildings = read_table(engine, "building").dropna(subset=["grid_id"])
    spot = shapely.point_on_surface(buildings.geometry.iloc[len(buildings) // 2])

    env = {"GRIDMAP_DATABASE_URL": url}
    with streamlit_server(REPO_ROOT / "app.py", env) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1440, "height": 1500}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(f"{base}/requests", wait_until="domcontentloaded")
        browser_login(page)
        leaflet = wait_for_map(page)
        shown_before = _open_on_map(page)

        # zoom in on the building (no animation: the view is set when setView returns), then
        # click the map where Leaflet itself puts the building's point in the map's container
        where = [spot.y, spot.x]
        leaflet.evaluate("(p) => window.map.setView(p, 18, {animate: false})", where)
        leaflet.wait_for_function("(p) => window.map.getZoom() === 18", arg=where)
        xy = leaflet.evaluate("(p) => window.map.latLngToContainerPoint(p)", where)
        leaflet.locator("#map_div").click(position={"x": xy["x"], "y": xy["y"]})
        longitude = page.get_by_label("经度")
        page.wait_for_timeout(500)  # the click reaches the server and starts its run …
        wait_for_app_idle(page)  # … which redraws the page: choose the tab after it
        page.get_by_role("tab", name="登记诉求").click()
        longitude.wait_for(state="visible", timeout=30_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('input')].some(i => i.value.startsWith('110.'))",
            timeout=30_000,
        )
        # the click placed the new request: its ring is on the map, in the legend too
        frame = page.frame_locator(MAP_FRAME)
        assert frame.locator('path[stroke="#1f5fbf"][stroke-dasharray]').count() == 1
        page.get_by_label("诉求描述").fill("楼道灯不亮(浏览器测试)")
        wait_for_app_idle(page)  # the click's run is over: the next run is the description's
        with streamlit_rerun(page):  # leaving the text area commits it
            page.get_by_label("诉求描述").press("Tab")
        page.get_by_role("button", name="登记诉求").click()
        page.get_by_text("已登记诉求").wait_for(timeout=60_000)
        wait_for_app_idle(page)
        # the form is emptied once the request is logged, and a second click logs nothing
        assert page.get_by_label("诉求描述").input_value() == ""
        with streamlit_rerun(page):
            page.get_by_role("button", name="登记诉求").click()
        assert page.locator('[data-testid="stAlert"]').filter(has_text="描述").count() == 0
        page.screenshot(path=str(output_dir / "requests_logged_form_emptied.png"))
        page.reload(wait_until="domcontentloaded")  # a fresh page: what anyone now sees
        page.get_by_role("button", name="退出登录").wait_for(timeout=90_000)  # still logged in
        wait_for_map(page)
        shown_after = _open_on_map(page)
        page.screenshot(path=str(output_dir / "requests.png"), full_page=True)
        browser.close()

    after = rq.load_requests(engine)
    assert len(after) == len(before) + 1
    new = after.iloc[-1]
    assert new["description"] == "楼道灯不亮(浏览器测试)" and new["status"] == "received"
    assert new["building_id"] == buildings["id"].iloc[len(buildings) // 2]
    assert shown_after == shown_before + 1, (shown_before, shown_after)
    assert blocked == [], blocked[:5]
    # signed by the logged-in user (issue 19, item 2), in the event and in the audit log
    users = auth.list_users(engine)
    admin = int(users.loc[users["name"] == DEMO_ADMIN[0], "id"].iloc[0])
    events = read_table(engine, "request_event").query("request_id == @new.id")
    assert events["user_id"].tolist() == [admin]
    log = read_table(engine, "audit_log").query("action == 'request_create'")
    assert log["user_id"].iloc[-1] == admin


@pytest.mark.browser
def test_the_monthly_assessment_as_a_secretary(demo_db_url: str, output_dir: Path) -> None:
    """三率考核 in Chromium as a community secretary: the community's figures for the last whole
    month, the month-by-month chart, and the downloaded Excel table equal to the core's."""
    from openpyxl import load_workbook

    name = "demo_secretary"
    engine = open_database(demo_db_url)
    users = auth.list_users(engine)
    who = auth.principal_for(engine, int(users.loc[users["name"] == name, "id"].iloc[0]))
    now = rq.street_now(engine)
    month = str(rq.assessed_month(now))
    expected = rq.rank_month(rq.rates_for(engine, now, "community", scope=who), month)
    assert len(expected) == 1  # the secretary's own community
    total = rq.total_rates(expected)

    env = {"GRIDMAP_DATABASE_URL": demo_db_url}
    with streamlit_server(REPO_ROOT / "app.py", env) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1440, "height": 1400}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(f"{base}/requests", wait_until="domcontentloaded")
        browser_login(page, name, auth.DEMO_USERS[name][1])
        page.get_by_role("tab", name="三率考核").click()
        panel = page.get_by_role("tabpanel", name="三率考核")
        panel.get_by_text(f"{month} 职责范围内合计").wait_for(timeout=90_000)
        wait_for_app_idle(page)
        response = panel.locator('[data-testid="stMetric"]').filter(has_text="响应率")
        assert f"{total['response_rate']:.1f}%" in response.inner_text()
        chart = panel.locator('[data-testid="stVegaLiteChart"]')
        chart.wait_for(timeout=30_000)
        assert chart.bounding_box()["height"] > 200
        panel.get_by_text("小时内首次响应", exact=False).first.wait_for()
        page.screenshot(path=str(output_dir / "request_rates.png"), full_page=True)
        with page.expect_download(timeout=60_000) as download:
            panel.get_by_role("button", name="下载本月考核表(Excel)").click()
        book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
        # the tab is a fragment: another unit reruns the tab, the page's map stays as it was
        wait_for_map(page)
        forget_map(page)
        radio = panel.locator('[data-testid="stRadio"]').filter(has_text="考核单位")
        with streamlit_rerun(page):
            radio.get_by_text("网格", exact=True).click()
        grids = rq.rank_month(rq.rates_for(engine, now, "grid", scope=who), month)
        assert len(grids) > 1
        first = grids.iloc[0]  # the month-by-month chart now shows the first-ranked grid
        trend = panel.locator('[data-testid="stSelectbox"]').filter(has_text="逐月走势")
        shown = trend.evaluate(
            "el => el.innerText + ' ' + (el.querySelector('input')?.value ?? '')"
        )
        assert str(first["unit_code"]) in shown, shown  # her community's grid, not the street's
        kept = (
            page.frame_locator(MAP_FRAME).locator("body").evaluate("() => window.__gridmapOldMap")
        )
        assert kept == 1, "the map was rebuilt for a change inside the assessment tab"
        # her password changed elsewhere: the tab's next rerun ends at the login form
        auth.reset_password(engine, name, "another long secret 2026", principal=auth.SYSTEM)
        with streamlit_rerun(page):
            radio.get_by_text("网格员", exact=True).click()
        page.get_by_text("登录 gridmap").wait_for(timeout=30_000)
        # (the page's old elements stay, faded, until that run ends: then they are gone)
        expect(page.get_by_role("tab", name="三率考核")).to_have_count(0, timeout=30_000)
        browser.close()
    rows = list(book.worksheets[0].values)
    header, body = rows[0], rows[1:]
    assert len(body) == 1 and body[0][header.index("编码")] == expected["unit_code"].iloc[0]
    assert body[0][header.index("考核得分(分)")] == pytest.approx(expected["score"].iloc[0])
    assert blocked == [], blocked[:5]
