"""Every demo role through every page it may open, in real Chromium (issue 19, tests): the
sidebar lists exactly the role's pages, each page opens without an error, a page outside the
role is refused, and a secretary's pages carry no other community's name — not in the page,
not in its map. A screenshot of each page per role goes to ``test-output/roles/``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from auth_helpers import MAP_FRAME, browser_login, wait_for_app_idle, wait_for_map
from playwright.sync_api import Page, sync_playwright
from sqlalchemy.engine import make_url

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap import auth, settings
from gridmap.db import open_database
from gridmap.repository import read_table
from ui_common import PAGES, REFUSED_PAGE, page_key

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser
TITLES = {page_key(script): zh for script, zh, _ in PAGES}


def _sidebar_pages(page: Page) -> list[str]:
    links = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]')
    links.first.wait_for(state="attached", timeout=60_000)  # drawn by the page's run
    return [text.strip() for text in links.all_inner_texts()]


def _page_text(page: Page) -> str:
    """The text of the page and of its map (the map lives in its own frame)."""
    text = page.locator('[data-testid="stMain"]').inner_text()
    if page.locator(MAP_FRAME).count():
        text += page.frame_locator(MAP_FRAME).locator("body").inner_text()
    return text


@pytest.mark.parametrize("name", list(auth.DEMO_USERS))
def test_each_role_opens_each_of_its_pages_and_no_other(
    name: str, demo_db_url: str, tmp_path: Path, output_dir: Path
) -> None:
    target = tmp_path / "demo.db"
    shutil.copy(make_url(demo_db_url).database, target)
    url = f"sqlite:///{target}"
    role = auth.DEMO_USERS[name][0]
    allowed = auth.ROLE_PAGES[role]
    refused = (
        next(key for key in TITLES if key not in allowed) if len(allowed) < len(TITLES) else None
    )
    communities = read_table(open_database(url), "community")
    others = set(communities.loc[communities["code"] != auth.DEMO_COMMUNITY_CODE, "name"])
    shots = output_dir / "roles"
    shots.mkdir(exist_ok=True)

    with streamlit_server(REPO_ROOT / "app.py", {"GRIDMAP_DATABASE_URL": url}) as base, \
            sync_playwright() as pw:  # fmt: skip
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(base, wait_until="domcontentloaded")
        browser_login(page, name, auth.DEMO_USERS[name][1])
        wait_for_app_idle(page)
        for _ in range(120):  # the login's cookie is set in the background: wait for it, so
            # that the pages opened by address below find the login
            if settings.SESSION_COOKIE in {c["name"] for c in context.cookies()}:
                break
            page.wait_for_timeout(500)
        assert page.url.rstrip("/").endswith(f"/{allowed[0]}") or allowed[0] == "overview"
        for key in allowed:
            # the first page (总览) is the app's bare address
            path = "" if key == page_key(PAGES[0][0]) else key
            page.goto(f"{base}/{path}", wait_until="domcontentloaded")
            browser_login(page, name, auth.DEMO_USERS[name][1])  # logged in already, or now
            wait_for_app_idle(page)
            if key in ("overview", "coverage"):
                wait_for_map(page)
            assert _sidebar_pages(page) == [TITLES[k] for k in allowed], (name, key)
            assert page.locator('[data-testid="stException"]').count() == 0, (name, key)
            assert page.get_by_text("Page not found").count() == 0, (name, key)
            assert REFUSED_PAGE[0] not in page.locator('[data-testid="stMain"]').inner_text()
            if role == "secretary" and key in ("overview", "coverage", "density", "redraw"):
                text = _page_text(page)
                leaked = sorted(n for n in others if n in text)
                assert leaked == [], (key, leaked)  # nothing outside the scope in the DOM
            page.screenshot(path=str(shots / f"{role}_{key}.png"), full_page=True)
        if refused is not None:
            page.goto(f"{base}/{refused}", wait_until="domcontentloaded")
            browser_login(page, name, auth.DEMO_USERS[name][1])
            page.get_by_text(REFUSED_PAGE[0]).wait_for(timeout=90_000)
            wait_for_app_idle(page)
            assert _sidebar_pages(page) == [TITLES[k] for k in allowed]
            page.screenshot(path=str(shots / f"{role}_refused_{refused}.png"))
        browser.close()
    assert blocked == [], blocked[:5]
