"""Issue 24, item 1 on the pages (AppTest): nothing of a session survives its logout or expiry,
the backup is offered only to a role that may back up and leaves no temporary file, the
statistics a secretary downloads hold only their own community, and restored audit rows are
shown as restored."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import auth
from gridmap import io as gio
from gridmap.db import init_database, make_engine
from gridmap.repository import read_table, save_tables
from worlds import ADMIN_PASSWORD, small_world

DATA_IO = "views/data_io.py"
#: What a session may hold for a user and must lose at logout.
SESSION_DATA = ("auth_token", "export_data", "backup_data", "export_layer", "show_personal")


@pytest.fixture
def demo_app(demo_copy: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_copy)
    return demo_copy


def _labels(at: AppTest) -> list[str]:
    return [d.proto.label for d in at.get("download_button")]


def _buttons(at: AppTest) -> set[str]:
    return {b.key for b in at.button if b.key}


def _admin_prepares_downloads(at: AppTest) -> AppTest:
    at.switch_page(DATA_IO).run()
    at.selectbox(key="export_layer").set_value("members")
    at.selectbox(key="export_format").set_value("csv").run()
    at.button(key="export_go").click().run()
    at.button(key="backup_go").click().run()
    assert not at.exception, at.exception
    assert len(_labels(at)) == 2  # members.csv and the backup
    return at


def test_logout_drops_every_prepared_download(demo_app: str) -> None:
    """The attack: after the admin logged out, a viewer logging in in the same tab was offered
    the admin's full backup (names, phones, password hashes)."""
    at = login(AppTest.from_file(APP, default_timeout=240), name="demo_admin").run()
    at = _admin_prepares_downloads(at)
    at.button(key="logout").click().run()
    assert not at.exception, at.exception
    assert not [k for k in SESSION_DATA if k in at.session_state]
    assert at.title[0].value == "登录 gridmap"
    login(at, name="demo_viewer").run()
    at.switch_page(DATA_IO).run()
    assert not at.exception, at.exception
    assert _labels(at) == []
    assert "backup_go" not in _buttons(at)


def test_a_logout_keeps_the_language(demo_app: str) -> None:
    at = login(AppTest.from_file(APP, default_timeout=240), name="demo_admin").run()
    at.radio(key="lang").set_value("English").run()
    at.button(key="logout").click().run()
    assert not at.exception, at.exception
    assert "auth_token" not in at.session_state and at.session_state["lang"] == "English"
    assert at.title[0].value == "Log in to gridmap"


def test_an_expired_login_drops_the_session_data_too(demo_app: str) -> None:
    at = login(AppTest.from_file(APP, default_timeout=240), name="demo_admin").run()
    at = _admin_prepares_downloads(at)
    auth.SESSIONS.end(at.session_state["auth_token"])  # ended elsewhere (expired, reset …)
    at.run()
    assert not at.exception, at.exception
    assert "backup_data" not in at.session_state and "export_data" not in at.session_state


def test_downloads_prepared_for_another_user_are_not_offered(demo_app: str) -> None:
    """Even data left in the session (no logout pressed) belongs to the user it was made for."""
    at = login(AppTest.from_file(APP, default_timeout=240), name="demo_admin").run()
    at = _admin_prepares_downloads(at)
    auth.SESSIONS.end(at.session_state["auth_token"])
    held = at.session_state["backup_data"]
    login(at, name="demo_secretary")
    at.session_state["backup_data"] = held  # as if it had survived
    at.session_state["export_data"] = held
    at.run()
    at.switch_page(DATA_IO).run()
    assert not at.exception, at.exception
    assert _labels(at) == []


@pytest.mark.parametrize("user", ["demo_viewer", "demo_planner", "demo_secretary"])
def test_the_backup_is_not_offered_to_a_role_that_may_not_back_up(demo_app, user) -> None:
    """The attack: a viewer pressing 生成备份 got a traceback."""
    at = login(AppTest.from_file(APP, default_timeout=240), name=user).run()
    at.switch_page(DATA_IO).run()
    assert not at.exception, at.exception
    assert "backup_go" not in _buttons(at)
    assert "备份" not in [tab.label for tab in at.tabs]  # no tab for what the role may not do


def test_the_backup_leaves_no_temporary_folder(
    demo_app: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "system-temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    at = login(AppTest.from_file(APP, default_timeout=240), name="demo_admin").run()
    at.switch_page(DATA_IO).run()
    at.button(key="backup_go").click().run()
    assert not at.exception, at.exception
    assert "下载备份" in _labels(at)
    assert not list(temp.glob("gridmap-backup-*"))


def _own_members(url: str, community_code: str) -> set[int]:
    engine = make_engine(url)
    communities = read_table(engine, "community").set_index("code")["id"]
    buildings = read_table(engine, "building").set_index("id")["community_id"]
    members = read_table(engine, "member")
    own = members["building_id"].map(buildings) == communities[community_code]
    return set(members.loc[own, "id"].astype(int))


def test_a_secretarys_member_statistics_hold_only_their_community(demo_app: str) -> None:
    """The attack: 统计与导出 → 按党员 → 下载 CSV with full names on listed 310 members of the
    six other communities."""
    at = login(AppTest.from_file(APP, default_timeout=240), name="demo_secretary").run()
    at.switch_page("views/requests.py").run()
    at.toggle(key="show_personal").set_value(True).run()
    at.radio(key="stats_by").set_value("member").run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "党员编号" in d.value.columns)
    shown = set(pd.to_numeric(table["党员编号"]).astype(int))
    own = _own_members(demo_app, auth.DEMO_COMMUNITY_CODE)
    assert shown and shown <= own
    engine = make_engine(demo_app)
    members = read_table(engine, "member")
    names = members["person_id"].map(read_table(engine, "person").set_index("id")["name"])
    mine = members["id"].isin(sorted(own))
    foreign = set(names[~mine]) - set(names[mine])  # full names of other communities' members
    assert foreign and not set(table["党员"]) & foreign


@pytest.fixture
def restored_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database restored from another one's backup: all its history came from the file."""
    source = make_engine(f"sqlite:///{tmp_path / 'source.db'}", create=True)
    init_database(source)
    save_tables(source, small_world())
    auth.create_user(source, "admin", ADMIN_PASSWORD, "street_admin", principal=auth.SYSTEM)
    gio.backup(source, tmp_path / "street.gpkg")
    url = f"sqlite:///{tmp_path / 'restored.db'}"
    target = make_engine(url, create=True)
    init_database(target)
    gio.restore(target, tmp_path / "street.gpkg")
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    return url


def test_the_audit_page_marks_restored_rows(restored_url: str) -> None:
    at = login(AppTest.from_file(APP, default_timeout=240), name="admin").run()
    at.switch_page("views/audit.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    origins = table.set_index("操作代码")["来源"]
    assert origins["user_create"] == "恢复自备份(非本库实时记录)"
    assert origins["restore"] == "实时记录"
    assert any("恢复自备份" in w.value for w in at.warning)
