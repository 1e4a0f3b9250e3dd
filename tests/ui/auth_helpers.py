"""Logging tests in: AppTest sessions get a real session token, browsers use the login form."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Frame, Page
from streamlit.testing.v1 import AppTest

from gridmap import auth
from gridmap.bootstrap import open_or_create_default
from gridmap.errors import GridmapError

#: The demo street's administrator login (README).
DEMO_ADMIN = ("demo_admin", auth.DEMO_USERS["demo_admin"][1])
#: The login form (a page may hold other forms: 覆盖情况's weights).
LOGIN_FORM = '[data-testid="stForm"]:has(input[type="password"])'
#: The iframe streamlit-folium draws a map in.
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'

# Streamlit marks its root element with the state of the script run ("running", "notRunning" …)
# and shows its status widget ("Running…") while a run goes on.
_APP_IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && document.querySelector('[data-testid="stStatusWidget"]') === null;
}"""
# Counts the runs that finish from now on: each change of the run state away from "running".
_WATCH_RUNS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (window.__gridmapRunWatch) window.__gridmapRunWatch.disconnect();
    window.__gridmapRunsFinished = 0;
    window.__gridmapRunWatch = new MutationObserver(records => {
        for (const r of records) if (r.oldValue === 'running') window.__gridmapRunsFinished += 1;
    });
    window.__gridmapRunWatch.observe(app, {
        attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state'],
    });
}"""
# streamlit-folium sets the frame's window.map only after the whole map script has run, so every
# layer is on the map (Leaflet adds SVG paths synchronously). A map seen before is marked old.
_MAP_READY = """(selector) => {
    const frames = [...document.querySelectorAll(selector)];
    if (frames.length !== 1) return false;
    const w = frames[0].contentWindow;
    return Boolean(w && w.map && w.document.querySelector('.leaflet-control-layers')
        && !w.__gridmapOldMap);
}"""


def login(at: AppTest, url: str | None = None, name: str = "demo_admin") -> AppTest:
    """Log ``at`` in as user ``name`` of the database at ``url`` (default: the app's
    GRIDMAP_DATABASE_URL), as the login form would: a session token in ``st.session_state``.

    A database without that user (not the demo) gets a street administrator of that name with
    a random password. A database the app cannot open is left alone (the page shows why).
    """
    try:
        engine = open_or_create_default(url)
    except GridmapError:
        return at
    users = auth.list_users(engine)
    if name not in set(users["name"]):
        auth.create_user(
            engine, name, secrets.token_urlsafe(16), "street_admin", principal=auth.SYSTEM
        )
        users = auth.list_users(engine)
    user_id = int(users.loc[users["name"] == name, "id"].iloc[0])
    at.session_state["auth_token"] = auth.SESSIONS.start(auth.principal_for(engine, user_id))
    engine.dispose()
    return at


def browser_login(page: Page, name: str = DEMO_ADMIN[0], password: str = DEMO_ADMIN[1]) -> None:
    """Fill the login form shown on the current page and wait for the page behind it; a page
    that opens logged in already (the served app's session cookie) is left as it is."""
    form = page.locator(LOGIN_FORM)
    logout = page.get_by_role("button", name="退出登录")
    form.or_(logout).first.wait_for(timeout=90_000)
    if logout.count() and not form.count():
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_by_text(name, exact=False).count(), f"logged in, but not as {name}"
        return
    wait_for_app_idle(page)  # a run still drawing the page may redraw the form: fill it after
    form.locator("input").nth(0).fill(name)
    form.locator('input[type="password"]').fill(password)
    form.get_by_test_id("stBaseButton-primaryFormSubmit").click()
    page.get_by_role("button", name="退出登录").wait_for(timeout=90_000)


def wait_for_app_idle(page: Page, timeout: float = 90_000) -> None:
    """Wait until Streamlit runs no script: run state "notRunning", no status widget shown."""
    page.wait_for_function(_APP_IDLE, timeout=timeout)


@contextmanager
def streamlit_rerun(page: Page, timeout: float = 90_000) -> Iterator[None]:
    """Around an action that re-runs the script (a widget change): on leaving, wait until a run
    begun after entering has finished and the app is idle."""
    page.evaluate(_WATCH_RUNS)
    yield
    page.wait_for_function("() => window.__gridmapRunsFinished > 0", timeout=timeout)
    wait_for_app_idle(page, timeout)


def forget_map(page: Page) -> None:
    """Mark the map shown now as old: the next :func:`wait_for_map` waits for its successor
    (streamlit-folium replaces the frame when the map changes)."""
    page.evaluate(
        "(s) => document.querySelectorAll(s).forEach(f => { f.contentWindow.__gridmapOldMap = 1 })",
        MAP_FRAME,
    )


def wait_for_map(page: Page, timeout: float = 90_000) -> Frame:
    """Wait for the app to be idle and its one map to be fully drawn (not one marked by
    :func:`forget_map`); the map's frame, whose ``window.map`` is the Leaflet map."""
    wait_for_app_idle(page, timeout)
    page.wait_for_function(_MAP_READY, arg=MAP_FRAME, timeout=timeout)
    frame = page.locator(MAP_FRAME).element_handle().content_frame()
    assert frame is not None
    return frame
