"""gridmap.auth: masking, users and passwords, sessions, roles and scope on every loader and
write, the CLI export, and the audit log — the security test list of issue 11."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from gridmap import auth, settings
from gridmap import organisation as org
from gridmap import redraw as r
from gridmap import requests as rq
from gridmap.auth import mask_name, mask_names, mask_phone
from gridmap.cli import main as cli
from gridmap.db import transaction
from gridmap.errors import InputError, PermissionDenied
from gridmap.io import export_frame
from gridmap.repository import load_street_layers, read_table
from worlds import ADMIN_PASSWORD


@pytest.mark.parametrize(
    "name, masked",
    [
        ("张晓明", "张*明"),
        ("李娜", "李*"),
        ("欧阳春晓", "欧**晓"),
        ("王", "*"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_name(name, masked) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "phone, masked",
    [("13812341234", "138****1234"), ("07198881234", "071****1234"), ("12345", "1***5")],
)
def test_mask_phone(phone, masked) -> None:
    assert mask_phone(phone) == masked


def test_mask_names_keeps_missing() -> None:
    out = mask_names(pd.Series(["张晓明", None]))
    assert out.iloc[0] == "张*明" and out.iloc[1] is None
    many = pd.Series(["张晓明", float("nan"), "", "李娜", "张晓明", None], index=[5, 4, 3, 2, 1, 0])
    out = mask_names(many)
    assert list(out.index) == [5, 4, 3, 2, 1, 0]
    assert out[[5, 3, 2, 1]].tolist() == ["张*明", "", "李*", "张*明"]
    assert out[4] != out[4] and out[0] is None  # NaN and None kept as they were


# --- users, passwords, sessions, roles, scope and audit (the security test list) -------------

PASSWORD = ADMIN_PASSWORD
T0 = dt.datetime(2026, 11, 1, 9, 0)


def _as(engine: Engine, name: str) -> auth.Principal:
    users = auth.list_users(engine)
    return auth.principal_for(engine, int(users.loc[users["name"] == name, "id"].iloc[0]))


def _audit_rows(engine: Engine, action: str | None = None) -> pd.DataFrame:
    rows = read_table(engine, "audit_log")
    return rows if action is None else rows[rows["action"] == action]


def test_passwords_are_argon2id_hashes_never_plain(world: Engine) -> None:
    stored = read_table(world, "user")["password_hash"].iloc[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert auth.verify_password(stored, PASSWORD) and not auth.verify_password(stored, "x")
    assert not auth.verify_password("not a hash", PASSWORD)


@pytest.mark.parametrize("password", ["short", "", "demo-admin-2026"])
def test_weak_and_demo_passwords_are_refused_outside_the_demo(world: Engine, password) -> None:
    with pytest.raises(InputError):
        auth.create_user(world, "li", password, "viewer", principal=auth.SYSTEM)


def test_login_with_the_right_password(world: Engine) -> None:
    p = auth.authenticate(world, "admin", PASSWORD, now=T0)
    assert p.role == "street_admin" and p.personal_data
    assert len(_audit_rows(world, "login")) == 1


@pytest.mark.parametrize("name, password", [("admin", "wrong password"), ("nobody", PASSWORD),
                                            ("' OR 1=1 --", "' OR '1'='1")])  # fmt: skip
def test_wrong_password_unknown_user_and_sql_injection_are_refused_alike(
    world: Engine, name: str, password: str
) -> None:
    with pytest.raises(PermissionDenied, match="wrong user name or password"):
        auth.authenticate(world, name, password, now=T0)
    assert len(read_table(world, "user")) == 1


def test_disabled_user_cannot_log_in_and_loses_sessions(world: Engine) -> None:
    auth.create_user(world, "li", PASSWORD, "planner", principal=auth.SYSTEM)
    token = auth.SESSIONS.start(auth.authenticate(world, "li", PASSWORD))
    auth.disable_user(world, "li", principal=auth.SYSTEM)
    with pytest.raises(PermissionDenied):
        auth.authenticate(world, "li", PASSWORD)
    with pytest.raises(auth.SessionExpired):
        auth.session_principal(world, token)
    assert _audit_rows(world, "user_disable")["after"].str.contains("true").all()


def test_brute_force_is_throttled_then_released(world: Engine) -> None:
    for i in range(settings.LOGIN_MAX_FAILURES):
        with pytest.raises(PermissionDenied):
            auth.authenticate(world, "admin", f"guess {i}", now=T0)
    with pytest.raises(PermissionDenied, match="locked"):
        auth.authenticate(world, "admin", PASSWORD, now=T0 + dt.timedelta(minutes=1))
    later = T0 + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)
    assert auth.authenticate(world, "admin", PASSWORD, now=later).name == "admin"


def test_session_expires_when_idle_and_after_its_maximum_age() -> None:
    store = auth.SessionStore(idle_minutes=30, max_hours=10)
    p = auth.Principal(1, "li", "viewer")
    token = store.start(p, now=T0)
    assert store.get(token, now=T0 + dt.timedelta(minutes=29)) == p
    with pytest.raises(auth.SessionExpired):
        store.get(token, now=T0 + dt.timedelta(minutes=60))
    token = store.start(p, now=T0)
    for minutes in range(0, 600, 20):
        store.get(token, now=T0 + dt.timedelta(minutes=minutes))
    with pytest.raises(auth.SessionExpired):
        store.get(token, now=T0 + dt.timedelta(hours=10, minutes=1))


def test_session_reuse_after_logout_is_refused() -> None:
    store = auth.SessionStore()
    token = store.start(auth.Principal(1, "li", "viewer"))
    store.end(token)
    with pytest.raises(auth.SessionExpired):
        store.get(token)
    with pytest.raises(auth.SessionExpired):
        store.get("forged-" + token)


def test_reset_password_ends_sessions_and_the_old_password(world: Engine) -> None:
    token = auth.SESSIONS.start(auth.authenticate(world, "admin", PASSWORD))
    auth.reset_password(world, "admin", "another long secret", principal=auth.SYSTEM)
    with pytest.raises(auth.SessionExpired):
        auth.SESSIONS.get(token)
    with pytest.raises(PermissionDenied):
        auth.authenticate(world, "admin", PASSWORD)
    assert auth.authenticate(world, "admin", "another long secret").name == "admin"
    assert "argon2" not in "".join(_audit_rows(world)["after"].dropna())


def test_first_admin_comes_from_the_environment_never_a_default(engine: Engine, monkeypatch):
    monkeypatch.delenv("GRIDMAP_ADMIN_PASSWORD", raising=False)
    assert auth.ensure_admin(engine) is None and auth.list_users(engine).empty
    monkeypatch.setenv("GRIDMAP_ADMIN_PASSWORD", "a long admin secret")
    assert auth.ensure_admin(engine) is not None
    assert auth.authenticate(engine, settings.ADMIN_NAME, "a long admin secret").can("manage_users")
    assert auth.ensure_admin(engine) is None  # once only


def test_demo_logins_work_on_the_demo_only(demo: Engine) -> None:
    for name, (role, password) in auth.DEMO_USERS.items():
        assert auth.authenticate(demo, name, password).role == role
    with transaction(demo) as conn:
        conn.execute(text("UPDATE street SET name = '别的街道'"))
    assert not auth.is_demo_database(demo)
    with pytest.raises(PermissionDenied):
        auth.authenticate(demo, "demo_admin", auth.DEMO_USERS["demo_admin"][1])


@pytest.mark.parametrize("layer", ["communities", "grids", "buildings"])
def test_secretary_layers_hold_only_their_community(demo: Engine, layer: str) -> None:
    p = _as(demo, "demo_secretary")
    frame = getattr(load_street_layers(demo, scope=p), layer)
    column = "id" if layer == "communities" else "community_id"
    assert set(frame[column]) == {p.community_id}
    assert len(getattr(load_street_layers(demo), layer)) > len(frame)


def test_the_scope_filters_in_the_query_not_after_it(demo: Engine) -> None:
    """Rows of other communities never leave the database for a community's user, and what
    that user gets is exactly the street's layers cut to the scope."""
    from gridmap.auth import scope_layers
    from gridmap.repository import StreetLayers, active_grids, buildings_with_leaders

    p = _as(demo, "demo_secretary")
    mine = load_street_layers(demo, scope=p)
    with demo.connect() as conn:
        everything = StreetLayers(
            streets=read_table(conn, "street"),
            communities=read_table(conn, "community"),
            grids=active_grids(conn),
            buildings=buildings_with_leaders(conn),
            stations=read_table(conn, "service_station"),
        )
        cut = scope_layers(conn, everything, p)
        only = buildings_with_leaders(conn, communities={p.community_id})
    assert set(only["community_id"]) == {p.community_id}
    assert len(only) == len(mine.buildings) < len(everything.buildings)
    for layer in ("communities", "grids", "buildings", "stations"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(getattr(mine, layer)).reset_index(drop=True),
            pd.DataFrame(getattr(cut, layer)).reset_index(drop=True),
            check_dtype=False,  # an id column with no NULL left reads as int64, not float64
        )
    assert set(active_grids(demo, communities=set())["id"]) == set()


def test_secretary_and_grid_worker_requests_are_scoped(demo: Engine) -> None:
    secretary, worker = _as(demo, "demo_secretary"), _as(demo, "demo_worker")
    everything = rq.load_requests(demo)
    mine = rq.load_requests(demo, scope=secretary)
    grids = load_street_layers(demo, scope=secretary).grids
    assert 0 < len(mine) < len(everything) and set(mine["grid_id"]) <= set(grids["id"])
    theirs = rq.load_requests(demo, scope=worker)
    assert set(theirs["grid_id"]) == {worker.grid_id}


def test_secretary_organisation_holds_only_their_members(demo: Engine) -> None:
    p = _as(demo, "demo_secretary")
    data = org.load_organisation(demo, scope=p)
    assert set(data.members["community_id"]) == {p.community_id}
    assert len(data.members) < len(org.load_organisation(demo).members)


def _other_community_org(demo: Engine, p: auth.Principal) -> int:
    orgs = read_table(demo, "party_org")
    return int(orgs[orgs["community_id"].notna() & (orgs["community_id"] != p.community_id)]
               ["id"].iloc[0])  # fmt: skip


def test_secretary_cannot_edit_another_community_by_crafted_id(demo: Engine) -> None:
    p = _as(demo, "demo_secretary")
    other = _other_community_org(demo, p)
    before = read_table(demo, "party_org")
    with auth.acting_as(p), pytest.raises(PermissionDenied):
        org.rename_org(demo, other, "被篡改")
    pd.testing.assert_frame_equal(read_table(demo, "party_org"), before)


def test_secretary_edits_own_community_and_it_is_audited(demo: Engine) -> None:
    p = _as(demo, "demo_secretary")
    orgs = read_table(demo, "party_org")
    own = int(orgs[orgs["community_id"] == p.community_id]["id"].iloc[0])
    with auth.acting_as(p):
        org.rename_org(demo, own, "第一网格党支部(新)")
    row = _audit_rows(demo, "org_rename").iloc[-1]
    assert row["user_id"] == p.user_id and row["entity_id"] == own
    assert "第一网格党支部(新)" in row["after"] and row["before"] is not None


def test_secretary_cannot_edit_a_person_of_another_community(demo: Engine) -> None:
    p = _as(demo, "demo_secretary")
    members = org.load_organisation(demo).members
    other = int(members[members["community_id"] != p.community_id]["person_id"].iloc[0])
    with auth.acting_as(p), pytest.raises(PermissionDenied):
        org.edit_person(demo, other, phone="13900000000")


def test_grid_worker_cannot_move_a_request_of_another_grid(demo: Engine) -> None:
    p = _as(demo, "demo_worker")
    reqs = rq.load_requests(demo)
    other = reqs[(reqs["grid_id"] != p.grid_id) & (reqs["status"] == "received")]
    with auth.acting_as(p), pytest.raises(PermissionDenied):
        rq.reject(demo, int(other["id"].iloc[0]), now=T0, reason="不属实")


def test_viewer_and_planner_cannot_write(demo: Engine) -> None:
    reqs = rq.load_requests(demo)
    received = int(reqs[reqs["status"] == "received"]["id"].iloc[0])
    for name in ("demo_viewer", "demo_planner"):
        with auth.acting_as(_as(demo, name)), pytest.raises(PermissionDenied):
            rq.reject(demo, received, now=T0, reason="不属实")
        with auth.acting_as(_as(demo, name)), pytest.raises(PermissionDenied):
            org.add_person(demo, "王伟")


def test_only_a_street_admin_approves_a_plan(demo: Engine) -> None:
    secretary, admin = _as(demo, "demo_secretary"), _as(demo, "demo_admin")
    code = read_table(demo, "community").set_index("id").loc[secretary.community_id, "code"]
    with auth.acting_as(secretary):
        plan_id = r.new_draft(demo, code, name="草案")
        r.propose(demo, plan_id, reason="调整")
        with pytest.raises(PermissionDenied):
            r.approve(demo, plan_id)
    with pytest.raises(PermissionDenied):
        r.approve(demo, plan_id, approver_id=secretary.user_id)
    r.approve(demo, plan_id, approver_id=admin.user_id)
    rows = _audit_rows(demo)
    assert rows[rows["action"] == "plan_approve"]["user_id"].tolist() == [admin.user_id]
    assert secretary.user_id in set(rows[rows["entity"] == "grid_plan"]["user_id"])


def test_secretary_cannot_draft_in_another_community(demo: Engine) -> None:
    p = _as(demo, "demo_secretary")
    other = read_table(demo, "community").query("id != @p.community_id")["code"].iloc[0]
    with auth.acting_as(p), pytest.raises(PermissionDenied):
        r.new_draft(demo, other)


def test_planner_never_sees_a_name_phone_or_request_text(demo: Engine) -> None:
    p = _as(demo, "demo_planner")
    layers = load_street_layers(demo, scope=p)
    assert set(layers.grids["leader_name"].dropna()) <= {auth.REDACTED}
    people = read_table(demo, "person")
    names, phones = set(people["name"]), set(people["phone"].dropna())
    with auth.acting_as(p):
        members = export_frame(demo, "members")
        requests = export_frame(demo, "requests")
    assert not names & set(members["name"]) and not phones & set(members["phone"])
    assert set(requests["description"].dropna()) <= {auth.REDACTED}
    assert set(rq.load_requests(demo, scope=p)["description"]) <= {auth.REDACTED, ""}


def test_viewer_sees_masked_names_and_no_request_text(demo: Engine) -> None:
    with auth.acting_as(_as(demo, "demo_viewer")):
        members = export_frame(demo, "members")
    assert members["name"].str.contains(r"\*").all()
    assert members["phone"].dropna().str.fullmatch(r"\d{3}\*{4}\d{4}").all()
    assert set(members["id_suffix"].dropna()) <= {"****"}


@pytest.mark.parametrize("user, role", [("demo_planner", "planner"),
                                        ("demo_secretary", "secretary")])  # fmt: skip
def test_cli_export_respects_role_and_scope(demo: Engine, tmp_path: Path, user, role) -> None:
    out = tmp_path / "members.csv"
    url = demo.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli,
        ["export", "members", "--format", "csv", str(out), "--db", url, "--user", user],
        env={"GRIDMAP_PASSWORD": auth.DEMO_USERS[user][1]},
    )
    assert result.exit_code == 0, result.output
    exported = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    everyone = export_frame(demo, "members", scope=auth.SYSTEM)
    names = set(read_table(demo, "person")["name"])
    if role == "planner":
        assert len(exported) == len(everyone) and not names & set(exported.iloc[:, 0])
    else:
        assert 0 < len(exported) < len(everyone)


def test_cli_export_with_a_wrong_password_exits_6(demo: Engine, tmp_path: Path) -> None:
    url = demo.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli, ["export", "members", "--format", "csv", str(tmp_path / "m.csv"), "--db", url,
              "--user", "demo_admin"], env={"GRIDMAP_PASSWORD": "guess guess"},
    )  # fmt: skip
    assert result.exit_code == 6 and not (tmp_path / "m.csv").exists()


def test_cli_user_commands(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    env = {"GRIDMAP_NEW_PASSWORD": PASSWORD}
    run = CliRunner().invoke
    assert run(cli, ["user", "add", "admin", "--role", "street_admin", "--db", url],
               env=env).exit_code == 0  # fmt: skip
    listed = run(cli, ["user", "list", "--db", url, "--format", "json"])
    assert '"admin"' in listed.output and "argon2" not in listed.output
    assert run(cli, ["user", "disable", "admin", "--db", url]).exit_code == 0
    assert auth.list_users(engine)["disabled"].all()
    env2 = {"GRIDMAP_NEW_PASSWORD": "a brand new secret"}
    assert run(cli, ["user", "reset-password", "admin", "--db", url], env=env2).exit_code == 0
    assert run(cli, ["user", "disable", "admin", "--enable", "--db", url]).exit_code == 0
    assert auth.authenticate(engine, "admin", "a brand new secret").name == "admin"
    shown = run(cli, ["audit", "--db", url, "--action", "user_create"])
    assert "user_create" in shown.output


def test_request_writes_are_audited_with_before_and_after(demo: Engine) -> None:
    p = _as(demo, "demo_worker")
    building = read_table(demo, "building").query("grid_id == @p.grid_id")["code"].iloc[0]
    with auth.acting_as(p):
        rid = rq.log_request(demo, category="环境卫生", description="楼道堆物",
                             source="visit", now=T0, building_code=building)  # fmt: skip
        rq.reject(demo, rid, now=T0 + dt.timedelta(hours=1), reason="重复")
    rows = _audit_rows(demo).query("entity == 'request' and entity_id == @rid")
    assert rows["action"].tolist() == ["request_create", "request_reject"]
    assert set(rows["user_id"]) == {p.user_id}
    assert '"received"' in rows["before"].iloc[1] and '"rejected"' in rows["after"].iloc[1]


def test_organisation_and_import_writes_are_audited(world: Engine, tmp_path: Path) -> None:
    from gridmap import io as gio

    pid = org.add_person(world, "王<b>伟</b>", "13812341234")
    org.edit_person(world, pid, phone="13900001111")
    actions = _audit_rows(world)["action"].tolist()
    assert "person_add" in actions and "person_edit" in actions
    edit = _audit_rows(world, "person_edit").iloc[-1]
    assert "13812341234" in edit["before"] and "13900001111" in edit["after"]
    path = tmp_path / "stations.csv"
    path.write_text("名称,级别,经度,纬度\n新站,compound,110.7801,32.6301\n", encoding="utf-8")
    source = gio.read_source(path)
    plan = gio.prepare_import(world, "stations", source, gio.suggest_mapping(source, "stations"))
    gio.apply_import(world, plan)
    assert len(_audit_rows(world, "import")) == 1


def test_the_app_cannot_change_or_delete_an_audit_row() -> None:
    """No code path in gridmap updates or deletes audit rows (restore and demo --force keep
    the log; the database refuses it anyway, tests/test_security.py); auth offers reading
    only."""
    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(r"(audit(_log)?|AuditLog)[^\n]{0,40}\.(update|delete)\(|"
                         r"(UPDATE|DELETE FROM)\s+\"?audit_log", re.I)  # fmt: skip
    paths = [*(root / "gridmap").rglob("*.py"), *(root / "views").rglob("*.py"),
             root / "ui_common.py", root / "app.py"]  # fmt: skip
    assert len(paths) > 60  # every module of every package, not only the top level
    for path in paths:
        assert not pattern.search(path.read_text(encoding="utf-8")), path
    assert not [n for n in dir(auth) if re.match(r"(update|delete|edit|remove)_audit", n)]


@pytest.mark.parametrize("value", ["'; DROP TABLE audit_log; --", "x' OR '1'='1", "%"])
def test_audit_filters_are_bound_parameters(world: Engine, value: str) -> None:
    auth.authenticate(world, "admin", PASSWORD)
    for key in ("user", "action", "entity"):
        assert auth.audit_log(world, **{key: value}, principal=auth.SYSTEM).empty
    assert len(auth.audit_log(world, principal=auth.SYSTEM)) >= 2


def test_only_street_admins_read_the_audit_log(world: Engine) -> None:
    with pytest.raises(PermissionDenied):
        auth.audit_log(world, principal=auth.Principal(9, "li", "secretary", community_id=1))


@pytest.mark.parametrize(
    "role, name, phone, suffix",
    [("street_admin", "张晓明", "13812341234", "1234"), ("viewer", "张*明", "138****1234", "****"),
     ("planner", auth.REDACTED, auth.REDACTED, auth.REDACTED)],
)  # fmt: skip
def test_mask_frame_by_role(role, name, phone, suffix) -> None:
    frame = pd.DataFrame({"name": ["张晓明"], "phone": ["13812341234"], "id_suffix": ["1234"]})
    out = auth.mask_frame(frame, auth.Principal(1, "u", role))
    assert out.iloc[0].tolist() == [name, phone, suffix]


def test_cli_todo_is_the_worklist_of_the_users_grid(demo: Engine) -> None:
    """``gridmap requests todo --user demo_worker``: the own grid's open requests, most urgent
    first, exactly as :func:`gridmap.requests.worklist` orders them (the page's worklist)."""
    import json

    url = demo.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli,
        ["requests", "todo", "--format", "json", "--db", url, "--user", "demo_worker"],
        env={"GRIDMAP_PASSWORD": auth.DEMO_USERS["demo_worker"][1]},
    )
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output[result.output.index("[") :])
    worker = _as(demo, "demo_worker")
    todo = rq.worklist(rq.load_requests(demo, scope=worker), rq.street_now(demo))
    assert [r["code"] for r in listed] == todo["code"].tolist() and len(listed) >= 2
    assert [r["urgency"] for r in listed] == todo["urgency"].tolist()
    assert listed[0]["urgency"] == "overdue"


def test_every_audited_action_has_both_names() -> None:
    """Every action string written to the audit log by gridmap's code has a Chinese and an
    English name (gridmap.labels.AUDIT_ACTIONS), so the audit page shows no raw key."""
    import re

    from gridmap.labels import AUDIT_ACTIONS
    from gridmap.requests.states import Action as RequestAction

    root = Path(__file__).resolve().parents[1] / "gridmap"
    found: set[str] = set()
    patterns = (
        r"\baudit\(\s*\w+,\s*[\w\.]+,\s*\"([a-z_]+)\"",
        r"@audited\(\s*\"([a-z_]+)\"",
        r"_audit_attempt\([^)]*\"(login[a-z_]*)\"",
        r"replace_street\([^,]+,[^,]+,\s*\"([a-z_]+)\"",
    )
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            found |= set(re.findall(pattern, text))
    found |= {f"request_{a.value}" for a in RequestAction}
    assert len(found) > 30
    missing = sorted(a for a in found if a not in AUDIT_ACTIONS)
    assert missing == [], missing
    assert all(zh and en and zh != en for zh, en in AUDIT_ACTIONS.values())
