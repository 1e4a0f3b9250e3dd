"""The app in streamlit.testing.v1.AppTest: the overview and the community page, on the demo
street, a fresh machine, and an empty or broken database."""

from __future__ import annotations

from pathlib import Path

from auth_helpers import login
from streamlit.testing.v1 import AppTest

from gridmap import settings
from gridmap.db import make_engine, open_database
from gridmap.repository import headline_figures

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = str(REPO_ROOT / "app.py")
COMMUNITY_PAGE = "views/communities.py"


def _run(path: str) -> AppTest:
    return login(AppTest.from_file(path, default_timeout=120)).run()


def test_overview_shows_the_demo_street(demo_db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db_url)
    at = _run(APP)
    assert not at.exception, at.exception
    assert "车城路街道" in at.title[0].value
    figures = headline_figures(open_database(demo_db_url))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["网格数"] == f"{figures['grids']:,} 个"
    assert metrics["户数"] == f"{figures['households']:,} 户"
    assert metrics["未办结诉求"] == f"{figures['open_requests']:,} 件"
    assert figures["grids"] >= 60 and figures["open_requests"] > 0


def test_language_toggle_switches_to_english(demo_db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db_url)
    at = _run(APP)
    at.sidebar.radio(key="lang").set_value("English").run()
    assert not at.exception
    assert "grid overview" in at.title[0].value
    assert "Grids" in [m.label for m in at.metric]


def test_fresh_machine_creates_the_demo_street(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("GRIDMAP_DATABASE_URL", raising=False)
    default = tmp_path / "home" / "gridmap.db"
    monkeypatch.setattr(settings, "DATABASE_URL", f"sqlite:///{default}")
    assert not default.exists()
    at = AppTest.from_file(APP, default_timeout=120).run()  # the app itself, nobody logged in
    assert not at.exception, at.exception
    assert default.exists()  # made by the app's first start, not by a test helper
    assert at.title[0].value == "登录 gridmap"
    assert any("demo_admin" in c.value for c in at.caption)  # the demo's logins are offered
    at = login(at).run()
    assert "车城路街道" in at.title[0].value


def test_empty_database_starts_with_the_new_street_wizard(tmp_path: Path, monkeypatch) -> None:
    from gridmap import auth
    from gridmap.db import init_database

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    init_database(make_engine(url, create=True))
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    at = _run(APP)  # a street administrator: straight to 新建街道
    assert not at.exception, at.exception
    assert at.title[0].value == "新建街道"
    assert at.text_input(key="ns_code") and at.text_input(key="ns_name")
    # a viewer cannot create a street: the overview says what to run instead
    auth.create_user(make_engine(url), "v", "viewer-password-1", "viewer", principal=auth.SYSTEM)
    at = login(AppTest.from_file(APP, default_timeout=120), name="v").run()
    assert not at.exception, at.exception
    assert any("gridmap street create" in info.value for info in at.info)


def test_broken_database_is_a_message_not_a_traceback(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"not a database" * 64)
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", f"sqlite:///{path}")
    at = _run(APP)
    assert not at.exception
    assert any("corrupt" in err.value for err in at.error)


def test_community_page_lists_every_community(demo_db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db_url)
    at = _run(APP)
    at.switch_page(COMMUNITY_PAGE).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    figures = headline_figures(open_database(demo_db_url))
    assert len(table) == figures["communities"]
    assert table["网格数(个)"].sum() == figures["grids"]
    assert "合计" in at.caption[0].value
