"""The app as `gridmap serve` serves it (asgi.py): security headers on every response, a map page
that works under its Content-Security-Policy, framing by other sites refused, and a page error
shown as a sentence with an error id while the traceback goes only to the server log."""

from __future__ import annotations

import http.server
import shutil
import textwrap
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from auth_helpers import LOGIN_FORM, browser_login, wait_for_app_idle, wait_for_map
from playwright.sync_api import sync_playwright
from sqlalchemy.engine import make_url

from _services import block_external_network, free_port, launch_chromium, streamlit_server

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser

# Every Content-Security-Policy violation of the page (and its same-origin frames) is recorded.
_WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def demo_copy(demo_db_url: str, tmp_path: Path) -> str:
    target = tmp_path / "demo.db"
    shutil.copy(make_url(demo_db_url).database, target)
    return f"sqlite:///{target}"


def _headers(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        return {k.lower(): v for k, v in response.headers.items()}


def test_every_response_carries_the_security_headers_and_the_map_works_under_them(
    demo_copy: str, output_dir: Path
) -> None:
    with streamlit_server(REPO_ROOT / "app.py", {"GRIDMAP_DATABASE_URL": demo_copy}) as base, \
            sync_playwright() as pw:  # fmt: skip
        for path in ("/", "/_stcore/health", "/app/static/vendor/leaflet-1.9.4/leaflet.js"):
            headers = _headers(base + path)
            csp = headers.get("content-security-policy", "")
            assert "frame-ancestors 'self'" in csp, (path, headers)
            assert "default-src 'self'" in csp and "object-src 'none'" in csp
            assert headers.get("x-frame-options") == "SAMEORIGIN"
            assert headers.get("x-content-type-options") == "nosniff"
            assert headers.get("referrer-policy") == "no-referrer"
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        blocked = block_external_network(context, base)
        context.add_init_script(_WATCH_CSP)
        page = context.new_page()
        page.goto(base, wait_until="domcontentloaded")
        browser_login(page)
        frame = wait_for_map(page)
        assert frame.evaluate("() => document.querySelectorAll('path.leaflet-interactive').length")
        page.screenshot(path=str(output_dir / "served_overview.png"))
        violations = page.evaluate("() => window.__cspViolations")
        violations += frame.evaluate("() => window.__cspViolations || []")
        browser.close()
    assert violations == []
    assert blocked == [], blocked[:5]


class _FramingPage(http.server.BaseHTTPRequestHandler):
    """Another site (another origin) that puts the app in an iframe."""

    target = ""

    def do_GET(self) -> None:
        body = f'<html><body><iframe id="app" src="{self.target}"></iframe></body></html>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_another_site_may_not_frame_the_app(demo_copy: str) -> None:
    with streamlit_server(REPO_ROOT / "app.py", {"GRIDMAP_DATABASE_URL": demo_copy}) as base, \
            sync_playwright() as pw:  # fmt: skip
        _FramingPage.target = base + "/"
        other = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _FramingPage)
        threading.Thread(target=other.serve_forever, daemon=True).start()
        browser = launch_chromium(pw)
        page = browser.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        # "localhost" is another origin than the app's 127.0.0.1
        page.goto(f"http://localhost:{other.server_address[1]}/")
        page.wait_for_timeout(3000)
        framed = page.frame_locator("#app").locator('[data-testid="stApp"]').count()
        browser.close()
        other.shutdown()
    assert framed == 0
    assert any("frame-ancestors" in line for line in console), console


_CRASHING_LAUNCHER = """
    import logging
    from pathlib import Path

    import streamlit as st
    from starlette.middleware import Middleware

    from asgi import SecurityHeaders, report_script_error

    handler = logging.FileHandler({log!r})
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("gridmap.server").addHandler(handler)

    app = st.App(Path(__file__).with_name("crash.py"), middleware=[Middleware(SecurityHeaders)],
                 on_script_error=report_script_error)
"""
_CRASHING_PAGE = """
    import streamlit as st

    st.title("before the error")
    raise RuntimeError("secret detail: password hash $argon2id$v=19$")
"""


def test_a_page_error_shows_an_error_id_and_no_traceback(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    (tmp_path / "crash.py").write_text(textwrap.dedent(_CRASHING_PAGE))
    launcher = tmp_path / "launch.py"
    launcher.write_text(textwrap.dedent(_CRASHING_LAUNCHER.format(log=str(log))))
    env = {"PYTHONPATH": str(REPO_ROOT)}
    with streamlit_server(launcher, env) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        page.goto(base, wait_until="domcontentloaded")
        page.get_by_text("before the error").wait_for(timeout=60_000)
        wait_for_app_idle(page)
        alert = page.get_by_text("错误编号 E-")
        alert.wait_for(timeout=30_000)
        shown = page.locator('[data-testid="stApp"]').inner_text()
        browser.close()
    error_id = shown.split("错误编号 ", 1)[1][:10]
    assert error_id.startswith("E-") and len(error_id) == 10
    assert "secret detail" not in shown and "Traceback" not in shown and "RuntimeError" not in shown
    logged = log.read_text()
    assert error_id in logged
    assert "Traceback" in logged and "secret detail" in logged


def test_a_reload_keeps_the_login_until_logout_and_the_cookie_is_httponly(
    demo_copy: str, output_dir: Path
) -> None:
    """Issue 19, item 3: a reload, a deep link and a new tab stay logged in (an HttpOnly,
    SameSite=Strict cookie set from a one-time code); after logout the cookie's token is dead
    and a reload shows the login form; a forged or replayed code gets no cookie."""
    from gridmap import settings

    with streamlit_server(REPO_ROOT / "app.py", {"GRIDMAP_DATABASE_URL": demo_copy}) as base, \
            sync_playwright() as pw:  # fmt: skip
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(f"{base}/coverage", wait_until="domcontentloaded")
        browser_login(page)
        for _ in range(60):  # the hand-off fetch runs in the background: wait for the cookie
            jar = {c["name"]: c for c in context.cookies()}
            if settings.SESSION_COOKIE in jar:
                break
            page.wait_for_timeout(500)
        cookie = jar[settings.SESSION_COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert settings.SESSION_COOKIE not in page.evaluate("document.cookie")

        page.reload(wait_until="domcontentloaded")  # still logged in, on the same page
        page.get_by_role("button", name="退出登录").wait_for(timeout=90_000)
        assert page.url.endswith("/coverage")
        assert page.locator(LOGIN_FORM).count() == 0
        other = context.new_page()  # a deep link in a new tab of the same browser
        other.goto(f"{base}/requests", wait_until="domcontentloaded")
        other.get_by_role("button", name="退出登录").wait_for(timeout=90_000)
        other.screenshot(path=str(output_dir / "served_new_tab_still_logged_in.png"))
        other.close()

        page.get_by_role("button", name="退出登录").click()
        page.locator(LOGIN_FORM).wait_for(timeout=90_000)
        page.reload(wait_until="domcontentloaded")  # the cookie's token ended with the logout
        page.locator(LOGIN_FORM).wait_for(timeout=90_000)
        assert page.get_by_role("button", name="退出登录").count() == 0

        # a forged code, and a request from another site, get no cookie
        answer = page.evaluate(
            """async () => (await fetch('/_gridmap/session', {method: 'POST',
                 headers: {'Content-Type': 'application/json'},
                 body: JSON.stringify({code: 'forged'})})).status"""
        )
        assert answer == 403
        request = urllib.request.Request(
            base + "/_gridmap/session", data=b'{"code": "x"}', method="POST",
            headers={"Origin": "http://attacker.example", "Content-Type": "application/json"},
        )  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
        browser.close()
    assert blocked == [], blocked[:5]


def test_settings_and_the_chosen_community_stay_across_pages_reloads_and_links(
    demo_copy: str, output_dir: Path
) -> None:
    """Issue 19, items 3 and 6: a link with ``?community=CODE`` opens the page on that
    community, framed on it, with its grids named; language, service radius and community stay
    through a page change and a reload; a map in a tab opened later is framed on its data."""
    from gridmap import auth
    from gridmap.db import open_database
    from gridmap.repository import read_table

    communities = read_table(open_database(demo_copy), "community")
    row = communities[communities["code"] == auth.DEMO_COMMUNITY_CODE].iloc[0]
    west, south, east, north = row["geom"].bounds
    with streamlit_server(REPO_ROOT / "app.py", {"GRIDMAP_DATABASE_URL": demo_copy}) as base, \
            sync_playwright() as pw:  # fmt: skip
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(f"{base}/coverage?community={row['code']}", wait_until="domcontentloaded")
        browser_login(page)
        frame = wait_for_map(page)
        chosen = page.locator('[data-testid="stSelectbox"]').filter(has_text="社区")
        assert chosen.locator("input").input_value() == row["name"]
        view = frame.evaluate("() => window.map.getBounds().toBBoxString()").split(",")
        w, s, e, n = (float(v) for v in view)
        # framed on the community: it is all in view and fills the view's height or width
        assert w <= west and s <= south and e >= east and n >= north
        assert (n - s) < 2.5 * (north - south) or (e - w) < 2.5 * (east - west)
        assert west <= (w + e) / 2 <= east and south <= (s + n) / 2 <= north  # centred on it
        grid_labels = frame.locator(".gridmap-label-grid")
        assert grid_labels.count() > 0  # the framed community's grids are named
        assert frame.locator(".leaflet-control-layers-toggle").get_attribute("title") == "图层"
        page.screenshot(path=str(output_dir / "served_deep_link_community.png"))

        page.get_by_text("English", exact=True).click()
        page.get_by_role("button", name="Log out").wait_for(timeout=90_000)
        wait_for_app_idle(page)
        page.get_by_text("1000 m (15 min)").click()
        wait_for_app_idle(page)
        page.get_by_role("link", name="Planning").click()
        page.get_by_role("heading", name="Planning").wait_for(timeout=90_000)
        wait_for_app_idle(page)
        assert f"community={row['code']}" in page.url
        page.reload(wait_until="domcontentloaded")
        page.get_by_role("heading", name="Planning").wait_for(timeout=90_000)
        wait_for_app_idle(page)
        radius = page.locator('[data-testid="stRadio"]').filter(has_text="Service radius")
        assert "1000 m" in radius.locator("label:has(input:checked)").inner_text()
        chosen = page.locator('[data-testid="stSelectbox"]').filter(has_text="Community")
        assert chosen.first.locator("input").input_value() == row["name"]
        page.screenshot(path=str(output_dir / "served_settings_after_reload.png"))

        # a map first drawn in a hidden tab opens framed on its data, not at world zoom
        page.goto(f"{base}/organisation", wait_until="domcontentloaded")
        page.get_by_role("tab", name="Responsibility zones").click()
        frame = wait_for_map(page)
        page.wait_for_timeout(500)
        assert frame.evaluate("() => window.map.getZoom()") >= 14
        browser.close()
    assert blocked == [], blocked[:5]
