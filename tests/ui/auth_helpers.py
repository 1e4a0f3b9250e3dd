"""Logging tests in: AppTest sessions get a real session token, browsers use the login form."""

from __future__ import annotations

import secrets

from playwright.sync_api import Page
from streamlit.testing.v1 import AppTest

from gridmap import auth
from gridmap.bootstrap import open_or_create_default
from gridmap.errors import GridmapError

#: The demo street's administrator login (README).
DEMO_ADMIN = ("demo_admin", auth.DEMO_USERS["demo_admin"][1])


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
    """Fill the login form shown on the current page and wait for the page behind it."""
    form = page.locator('[data-testid="stForm"]')
    form.wait_for(timeout=90_000)
    form.locator("input").nth(0).fill(name)
    form.locator('input[type="password"]').fill(password)
    form.get_by_test_id("stBaseButton-primaryFormSubmit").click()
    page.get_by_role("button", name="退出登录").wait_for(timeout=90_000)
