"""Issue 24, items 1, 6 and 7 — the attack on scope, masking and session data, kept fixed.

A street of two communities, each with a Party member who took a request and earned points,
and one account per role. On both backends: statistics, organisation-form advice, plans and
accounts are cut to the user's scope in the core and in the CLI; a planner never receives a
name; every CSV export neutralises formulas; a restore marks the backup's audit rows as
restored; CLI writes record their actor; a backup for download leaves no file behind.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box
from sqlalchemy import Engine

from _services import create_database, drop_database
from gridmap import auth
from gridmap import io as gio
from gridmap import requests as rq
from gridmap.auth.auditing import LIVE, RESTORED
from gridmap.auth.scopes import scoped_community, visible_users
from gridmap.cli import main as cli
from gridmap.db import init_database, make_engine
from gridmap.errors import InputError, PermissionDenied
from gridmap.io.backups import backup_bytes
from gridmap.organisation import street_advice
from gridmap.repository import read_table, save_tables
from worlds import LAT, LON, D, small_world

PASSWORD = "a long enough password 24"
A_CODE, B_CODE = "420303001-001", "420303001-002"
B_GRID = "420303001-002-01"
#: The full name of community B's member: no user scoped to community A may ever see it.
B_NAME = "王大伟"
NOW = dt.datetime(2026, 2, 1, 8, 0)
HOSTILE = '=HYPERLINK("http://attacker.example/x","点我")'
#: One account per role (name → role, scope options of ``auth.create_user``).
ACCOUNTS: dict[str, tuple[str, dict[str, str]]] = {
    "jie_admin": ("street_admin", {"street_code": "420303001"}),
    "li_shuji": ("secretary", {"community_code": A_CODE}),
    "zhao_wangge": ("grid_worker", {"grid_code": "420303001-001-01"}),
    "qian_guihua": ("planner", {"street_code": "420303001"}),
    "sun_kan": ("viewer", {"community_code": A_CODE}),
}


def two_community_world() -> dict[str, pd.DataFrame]:
    """The small world plus community B's active plan, grid, building, branch and member;
    one request per community taken by its member (党员领单) and resolved, with points."""
    tables = small_world()
    b_box = box(LON + 3 * D, LAT, LON + 4 * D, LAT + D)

    def add(name: str, rows: list[dict]) -> None:
        records = tables[name].to_dict("records") + rows
        spatial = "geom" in tables[name]
        tables[name] = (
            gpd.GeoDataFrame(records, geometry="geom", crs=4326)
            if spatial
            else pd.DataFrame(records)
        )

    add("person", [{"id": 2, "name": B_NAME, "phone": "13987654321", "id_suffix": "4321",
                    "roles": "building_leader"}])  # fmt: skip
    add("grid_plan", [{"id": 2, "community_id": 2, "name": "乙社区方案", "status": "active",
                       "created_at": dt.datetime(2024, 3, 1, 9, 30)}])  # fmt: skip
    add("party_org", [{"id": 3, "parent_id": None, "kind": "branch", "name": "乙社区党支部",
                       "community_id": 2, "grid_id": 3}])  # fmt: skip
    add("grid", [{"id": 3, "plan_id": 2, "code": B_GRID, "name": HOSTILE, "geom": b_box,
                  "leader_id": None, "party_org_id": 3, "version": 1}])  # fmt: skip
    b_house = box(LON + 3.2 * D, LAT + 0.2 * D, LON + 3.4 * D, LAT + 0.4 * D)
    add("building", [{"id": 3, "community_id": 2, "code": "B101", "name": "乙1栋",
                      "geom": b_house, "households": 40, "residents": 100, "leader_id": 2,
                      "grid_id": 3}])  # fmt: skip
    add("member", [{"id": 2, "person_id": 2, "party_org_id": 3, "category": "resident",
                    "building_id": 3, "joined_on": dt.date(2001, 7, 1),
                    "registered_on": dt.date(2023, 5, 4), "work_unit": None,
                    "status": "active"}])  # fmt: skip
    add("request", [
        {"id": 2, "code": "R20260105-0001", "source": "visit", "category": "环境卫生",
         "description": "乙社区楼道灯坏", "geom": Point(LON + 3.3 * D, LAT + 0.3 * D),
         "building_id": 3, "grid_id": 3, "status": "resolved", "reporter": "周*",
         "assignee_kind": "member", "assignee_id": 2,
         "received_at": dt.datetime(2026, 1, 5, 8, 0), "due_at": dt.datetime(2026, 1, 7, 8, 0),
         "resolved_at": dt.datetime(2026, 1, 6, 8, 0)},
        {"id": 3, "code": "R20260106-0001", "source": "visit", "category": "环境卫生",
         "description": "甲社区路灯坏", "geom": Point(LON + 0.2 * D, LAT + 0.2 * D),
         "building_id": 1, "grid_id": 1, "status": "resolved", "reporter": "吴*",
         "assignee_kind": "member", "assignee_id": 1,
         "received_at": dt.datetime(2026, 1, 6, 8, 0), "due_at": dt.datetime(2026, 1, 8, 8, 0),
         "resolved_at": dt.datetime(2026, 1, 7, 8, 0)},
    ])  # fmt: skip
    tables["member_point"] = pd.DataFrame([
        {"id": 1, "member_id": 2, "at": dt.datetime(2026, 1, 6, 8, 0), "kind": "request",
         "points": 2, "request_id": 2, "note": None, "dues_month": None},
        {"id": 2, "member_id": 1, "at": dt.datetime(2026, 1, 7, 8, 0), "kind": "request",
         "points": 2, "request_id": 3, "note": None, "dues_month": None},
    ])  # fmt: skip
    return tables


@pytest.fixture
def town(engine: Engine) -> Engine:
    """The two-community street with one account per role (:data:`ACCOUNTS`), both backends."""
    save_tables(engine, two_community_world())
    for name, (role, scope) in ACCOUNTS.items():
        auth.create_user(engine, name, PASSWORD, role, principal=auth.SYSTEM, **scope)
    return engine


def _as(engine: Engine, name: str) -> auth.Principal:
    users = auth.list_users(engine)
    return auth.principal_for(engine, int(users.loc[users["name"] == name, "id"].iloc[0]))


def _cli(engine: Engine, user: str | None, *args: str):
    url = engine.url.render_as_string(hide_password=False)
    head = ["--user", user] if user else []
    return CliRunner().invoke(cli, [*head, *args, "--db", url],
                              env={"GRIDMAP_PASSWORD": PASSWORD})  # fmt: skip


def _csv(output: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(output.lstrip("\ufeff")), dtype=str)


# --- statistics per member and per grid: the scope, and no name for a planner ------------------


def test_member_stats_hold_only_the_secretarys_community(town: Engine) -> None:
    """The attack: 诉求办理 → 统计与导出 → 按党员 with full names on listed the members of every
    other community (their points came in unscoped)."""
    secretary = _as(town, "li_shuji")
    stats = rq.stats_for(town, NOW, "member", personal_data=True, scope=secretary)
    assert stats["member_id"].tolist() == [1]
    assert stats["member_name"].tolist() == ["张晓明"]  # in clear: the secretary asked for it
    everyone = rq.stats_for(town, NOW, "member", personal_data=True, scope=_as(town, "jie_admin"))
    assert set(everyone["member_id"]) == {1, 2}
    assert B_NAME in set(everyone["member_name"])


def test_member_stats_masked_unless_asked_and_none_for_a_planner(town: Engine) -> None:
    masked = rq.stats_for(town, NOW, "member", scope=_as(town, "li_shuji"))
    assert masked["member_name"].tolist() == ["张*明"]
    with pytest.raises(PermissionDenied, match="aggregates only"):
        rq.stats_for(town, NOW, "member", scope=_as(town, "qian_guihua"))


def test_the_request_pages_people_pickers_hold_only_the_users_community(town: Engine) -> None:
    """诉求办理's member and staff pickers (党员领单, 派单, 操作人) are read already cut to the
    user's scope: nothing of community B reaches the secretary of A, even asked in clear."""
    secretary = _as(town, "li_shuji")
    members = rq.member_table(town, personal_data=True, scope=secretary)
    assert members["id"].tolist() == [1] and members["name"].tolist() == ["张晓明"]
    assert B_NAME not in rq.staff(town, personal_data=True, scope=secretary)["name"].tolist()
    admin = _as(town, "jie_admin")
    assert B_NAME in rq.member_table(town, personal_data=True, scope=admin)["name"].tolist()
    assert rq.member_table(town, scope=admin)["name"].tolist() == ["张*明", "王*伟"]
    planner = rq.member_table(town, personal_data=True, scope=_as(town, "qian_guihua"))
    assert set(planner["name"]) == {auth.REDACTED}


def test_cli_member_stats_of_a_secretary_and_a_planner(town: Engine) -> None:
    result = _cli(town, "li_shuji", "requests", "stats", "--by", "member", "--now", "2026-02-01")
    assert result.exit_code == 0, result.output
    assert _csv(result.output)["党员编号"].tolist() == ["1"]
    assert "王" not in result.output
    planner = _cli(town, "qian_guihua", "requests", "stats", "--by", "member")
    assert planner.exit_code == 6, planner.output
    assert "张" not in planner.output and "王" not in planner.output  # no name, not even masked
    assert "permission" in planner.output


@pytest.mark.parametrize("user, grids", [
    ("li_shuji", {"420303001-001-01", "420303001-001-02"}),
    ("sun_kan", {"420303001-001-01", "420303001-001-02"}),
    ("zhao_wangge", {"420303001-001-01"}),
    ("jie_admin", {"420303001-001-01", "420303001-001-02", B_GRID}),
])  # fmt: skip
def test_cli_grid_stats_list_only_the_users_grids(town: Engine, user: str, grids: set) -> None:
    result = _cli(town, user, "requests", "stats", "--by", "grid", "--format", "json")
    assert result.exit_code == 0, result.output
    assert {row["grid_code"] for row in json.loads(result.output)} == grids


def test_cli_stats_csv_neutralises_formulas(town: Engine) -> None:
    """Every other export put a ' before ``=HYPERLINK(…)``; ``requests stats`` did not."""
    result = _cli(town, None, "requests", "stats", "--by", "grid", "--now", "2026-02-01")
    assert result.exit_code == 0, result.output
    names = _csv(result.output)["网格"].tolist()
    assert "'" + HOSTILE in names
    assert HOSTILE not in names


#: Every start a spreadsheet runs as a formula, in ASCII and in full width (an IME's default).
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_the_one_neutraliser_covers_full_width_forms(start: str) -> None:
    """Every CSV/XLSX export goes through ``gridmap.io.neutralise_formula``; full-width ＝ ＋ － ＠
    were left as they were everywhere."""
    value = start + 'HYPERLINK("http://attacker.example/x","点我")'
    assert gio.neutralise_formula(value) == "'" + value
    assert gio.unneutralise_formula("'" + value) == value  # import reads it back unchanged
    csv_text = gio.table_to_csv(pd.DataFrame({"名称": [value]})).decode("utf-8-sig")
    assert _csv(csv_text)["名称"].iloc[0] == "'" + value


# --- organisation-form advice, plans, accounts -------------------------------------------------


def test_advice_is_cut_to_the_scope_in_the_core(town: Engine) -> None:
    mine = street_advice(town, scope=_as(town, "li_shuji"))
    assert set(mine.table["community_code"]) == {A_CODE}
    assert sum(mine.summary.values()) == len(mine.table)
    whole = street_advice(town, scope=_as(town, "jie_admin"))
    assert set(whole.table["community_code"]) == {A_CODE, B_CODE}
    worker = street_advice(town, scope=_as(town, "zhao_wangge")).table
    assert set(worker["grid_code"].dropna()) == {"420303001-001-01"}


@pytest.mark.parametrize("user", ["li_shuji", "sun_kan"])
def test_cli_advice_all_covers_only_the_users_community(town: Engine, user: str) -> None:
    result = _cli(town, user, "org", "advice", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert rows and {r["community_code"] for r in rows} == {A_CODE}
    assert B_CODE not in result.output


@pytest.mark.parametrize("user", ["li_shuji", "sun_kan", "zhao_wangge"])
def test_cli_plans_of_another_community_are_refused(town: Engine, user: str) -> None:
    other = _cli(town, user, "plan", "list", "--community", B_CODE)
    assert other.exit_code == 6, other.output
    assert "乙社区方案" not in other.output
    validate = _cli(town, user, "plan", "validate", "--community", B_CODE, "--plan", "2")
    assert validate.exit_code == 6, validate.output
    own = _cli(town, user, "plan", "list", "--community", A_CODE)
    assert own.exit_code == 0 and "2024年方案" in own.output


def test_an_unknown_community_names_only_codes_in_scope(town: Engine) -> None:
    with pytest.raises(InputError, match="unknown community code") as info:
        scoped_community(town, _as(town, "li_shuji"), "999")
    assert A_CODE in str(info.value) and B_CODE not in str(info.value)
    assert scoped_community(town, _as(town, "jie_admin"), B_CODE) == 2


@pytest.mark.parametrize("user", ["li_shuji", "sun_kan", "qian_guihua", "zhao_wangge"])
def test_cli_user_list_shows_others_only_their_own_account(town: Engine, user: str) -> None:
    result = _cli(town, user, "user", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [u["name"] for u in json.loads(result.output)] == [user]


def test_a_street_admin_lists_every_account(town: Engine) -> None:
    result = _cli(town, "jie_admin", "user", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    assert {u["name"] for u in json.loads(result.output)} == set(ACCOUNTS)
    users = auth.list_users(town)
    assert len(visible_users(users, auth.SYSTEM)) == len(users)


# --- CLI writes record their actor -------------------------------------------------------------


def test_cli_plan_writes_record_who_made_them(town: Engine) -> None:
    li, admin = _as(town, "li_shuji"), _as(town, "jie_admin")
    assert _cli(town, "li_shuji", "plan", "new", "--community", A_CODE).exit_code == 0
    proposed = _cli(town, "li_shuji", "plan", "propose", "--community", A_CODE, "--reason", "调整")
    assert proposed.exit_code == 0, proposed.output
    approved = _cli(town, "jie_admin", "plan", "approve", "--community", A_CODE)
    assert approved.exit_code == 0, approved.output
    plans = read_table(town, "grid_plan").set_index("id")
    new = plans[plans["status"] == "approved"].iloc[0]
    assert int(new["created_by"]) == li.user_id
    assert int(new["approved_by"]) == admin.user_id  # was empty from the CLI
    log = auth.audit_log(town, principal=auth.SYSTEM).set_index("action")
    assert log.loc["plan_new_draft", "user"] == "li_shuji"
    assert log.loc["plan_approve", "user"] == "jie_admin"


def test_approve_without_an_approver_records_the_acting_user(town: Engine) -> None:
    from gridmap import redraw as r

    admin = _as(town, "jie_admin")
    with auth.acting_as(admin):
        plan_id = r.new_draft(town, A_CODE)
        r.propose(town, plan_id, reason="调整")
        r.approve(town, plan_id)
    assert int(read_table(town, "grid_plan").set_index("id").loc[plan_id, "approved_by"]) == (
        admin.user_id
    )


# --- restore: the backup's audit rows are marked restored --------------------------------------


def _forge(path: Path) -> None:
    """Edit a backup as an attacker would: its first audit row becomes "plan 1 approved by the
    admin in 2020", claiming to be live."""
    with sqlite3.connect(path) as db:
        first = db.execute("SELECT MIN(id) FROM audit_log").fetchone()[0]
        db.execute(
            "UPDATE audit_log SET at = '2020-01-01T09:00:00', action = 'plan_approve', "
            "entity = 'grid_plan', entity_id = 1, origin = 'live' WHERE id = ?",
            (first,),
        )


@pytest.fixture
def fresh(town: Engine, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty gridmap database on the same backend as ``town``."""
    if town.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        cluster = request.getfixturevalue("postgis")
        name = f"{town.url.database}_fresh"
        url = create_database(cluster, name)
        request.addfinalizer(lambda: drop_database(cluster, name))
    engine = make_engine(url, create=True)
    init_database(engine)
    yield engine
    engine.dispose()


def test_a_forged_backup_cannot_pass_for_live_history(
    town: Engine, fresh: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "street.gpkg"
    gio.backup(town, path)
    _forge(path)
    gio.restore(fresh, path)
    log = auth.audit_log(fresh, principal=auth.SYSTEM)
    forged = log[(log["action"] == "plan_approve") & (log["at"] < dt.datetime(2021, 1, 1))]
    assert len(forged) == 1 and forged["origin"].iloc[0] == RESTORED
    assert (log["origin"] == RESTORED).sum() == len(read_table(town, "audit_log"))
    live = auth.audit_log(fresh, origin=LIVE, principal=auth.SYSTEM)
    assert live["action"].tolist() == ["restore"]  # the only live row: the restore itself
    shown = _cli(fresh, None, "audit", "--limit", "1000")
    assert shown.exit_code == 0, shown.output
    line = next(x for x in shown.output.splitlines() if x.startswith("2020-01-01"))
    assert "restored" in line and "plan_approve" in line
    restore_line = next(x for x in shown.output.splitlines() if " restore " in x)
    assert "restored" not in restore_line


def test_restoring_a_databases_own_backup_keeps_its_rows_live(town: Engine, tmp_path) -> None:
    path = tmp_path / "street.gpkg"
    gio.backup(town, path)
    before = auth.audit_log(town, principal=auth.SYSTEM)
    gio.restore(town, path, force=True)
    after = auth.audit_log(town, principal=auth.SYSTEM)
    assert len(after) == len(before) + 1  # the restore; nothing of the backup twice
    assert set(after["origin"]) == {LIVE}


# --- a backup for download leaves nothing behind ----------------------------------------------


def test_backup_bytes_leave_no_file_and_need_the_permission(
    town: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with auth.acting_as(_as(town, "sun_kan")), pytest.raises(PermissionDenied):
        backup_bytes(town)
    with auth.acting_as(_as(town, "jie_admin")):
        data, counts = backup_bytes(town)
    assert data[:16] == b"SQLite format 3\x00" and counts["member"] == 2
    assert list(temp.iterdir()) == []  # the folder holding every name and hash is gone
