"""The login gate: the form, wrong passwords, logout, expiry, roles on pages, escaped names;
and one real login through the form in Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from auth_helpers import DEMO_ADMIN, LOGIN_FORM, browser_login, login
from playwright.sync_api import sync_playwright
from sqlalchemy.engine import make_url
from streamlit.testing.v1 import AppTest
from test_app import APP

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap import auth
from gridmap.db import make_engine

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_copy(demo_db_url: str, tmp_path: Path, monkeypatch) -> str:
    target = tmp_path / "demo.db"
    shutil.copy(make_url(demo_db_url).database, target)
    url = f"sqlite:///{target}"
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    return url


def _form_login(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_pw").input(password)
    at.button[0].click()
    return at.run()


def test_pages_need_a_login(demo_copy: str) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "登录 gridmap" and not at.metric
    at.switch_page("views/organisation.py").run()
    assert at.title[0].value == "登录 gridmap"


def test_login_through_the_form_and_logout(demo_copy: str) -> None:
    at = _form_login(AppTest.from_file(APP, default_timeout=120).run(), *DEMO_ADMIN)
    assert not at.exception, at.exception
    assert "车城路街道" in at.title[0].value
    token = at.session_state["auth_token"]
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == "登录 gridmap"
    with pytest.raises(auth.SessionExpired):  # the old token is dead
        auth.SESSIONS.get(token)
    at.session_state["auth_token"] = token  # replaying it is refused
    at.run()
    assert at.title[0].value == "登录 gridmap"


def test_wrong_password_shows_one_sentence(demo_copy: str) -> None:
    at = _form_login(AppTest.from_file(APP, default_timeout=120).run(), "demo_admin", "nope nope")
    assert not at.exception
    assert any("wrong user name or password" in e.value for e in at.error)
    assert "auth_token" not in at.session_state


def test_expired_session_asks_to_log_in_again(demo_copy: str, monkeypatch) -> None:
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    assert "车城路街道" in at.title[0].value
    monkeypatch.setattr(auth.SESSIONS, "idle_minutes", -1)
    at.run()
    assert at.title[0].value == "登录 gridmap"
    assert any("expired" in w.value for w in at.warning)


@pytest.mark.parametrize("page", ["views/organisation.py", "views/requests.py", "views/audit.py"])
def test_planner_gets_no_personal_pages(demo_copy: str, page: str) -> None:
    at = login(AppTest.from_file(APP, default_timeout=120), name="demo_planner").run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert any("may not" in e.value or "无权" in e.value for e in at.error)
    assert not at.dataframe


def test_secretary_overview_counts_only_their_community(demo_copy: str) -> None:
    at = login(AppTest.from_file(APP, default_timeout=120), name="demo_secretary").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["社区数"] == "1 个"


def test_audit_page_lists_and_filters_logins(demo_copy: str) -> None:
    auth.authenticate(make_engine(demo_copy), "demo_viewer", auth.DEMO_USERS["demo_viewer"][1])
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page("views/audit.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert "登录" in set(table["操作"]) and "login" in set(table["操作代码"])
    # every action of the log is named in Chinese (no raw key in the 操作 column)
    from gridmap.labels import AUDIT_ACTIONS

    assert set(table["操作代码"]) <= set(AUDIT_ACTIONS)
    at.text_input(key="audit_action").input("plan_approve").run()
    assert at.dataframe[0].value.empty


def test_html_in_a_user_name_is_shown_as_text(demo_copy: str) -> None:
    name = "<script>alert(1)</script>"
    auth.create_user(make_engine(demo_copy), name, "a long test secret", "street_admin",
                     principal=auth.SYSTEM)  # fmt: skip
    at = login(AppTest.from_file(APP, default_timeout=120), name=name).run()
    assert not at.exception
    shown = [t.value for t in at.sidebar.text]
    assert any(name in v for v in shown)  # st.text: plain text, never HTML
    assert not any(name in m.value for m in at.sidebar.markdown)


@pytest.mark.browser
def test_real_login_in_chromium(demo_copy: str, output_dir: Path) -> None:
    with streamlit_server(REPO_ROOT / "app.py", {"GRIDMAP_DATABASE_URL": demo_copy}) as base, \
            sync_playwright() as pw:  # fmt: skip
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(base, wait_until="domcontentloaded")
        form = page.locator(LOGIN_FORM)
        form.wait_for(timeout=90_000)
        form.locator("input").nth(0).fill("demo_admin")
        form.locator('input[type="password"]').fill("wrong password!")
        form.get_by_test_id("stBaseButton-primaryFormSubmit").click()
        page.get_by_text("wrong user name or password").wait_for(timeout=60_000)
        browser_login(page)
        page.get_by_text("党建网格总览").first.wait_for(timeout=90_000)
        page.screenshot(path=str(output_dir / "login.png"))
        page.get_by_role("button", name="退出登录").click()
        page.get_by_text("登录 gridmap").first.wait_for(timeout=60_000)
        browser.close()
    assert blocked == [], blocked[:5]
