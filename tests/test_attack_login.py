"""Issue 24, item 3 — the attack on logins and sessions, kept fixed.

On both backends: 20 parallel logins with wrong passwords check no more than
``settings.LOGIN_MAX_FAILURES`` of them and the right password is refused after them; unknown
names are throttled the same; locked, unknown, wrong and disabled logins are refused with one
sentence; 20 parallel right logins of one user all get in; a password reset or a disabling made
by the CLI in another process ends a live session of the app; demo logins work on the unchanged
demo only — not after a building was imported into it — and again once the demo is rebuilt.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import Engine, text

from gridmap import auth, settings
from gridmap import io as gio
from gridmap.bootstrap import load_demo
from gridmap.db import transaction
from gridmap.errors import PermissionDenied
from gridmap.repository import load_street_layers, read_table
from worlds import ADMIN_PASSWORD

REPO_ROOT = Path(__file__).resolve().parent.parent
THREADS = 20
T0 = dt.datetime(2026, 11, 1, 9, 0)
NEW_PASSWORD = "a brand new long secret"


@pytest.fixture
def accounts(engine: Engine) -> Engine:
    """An installation with three accounts and no street: ``admin`` and ``li`` (password
    :data:`worlds.ADMIN_PASSWORD`) and the disabled ``wang`` (the same password)."""
    for name, role in (("admin", "street_admin"), ("li", "planner"), ("wang", "viewer")):
        auth.create_user(engine, name, ADMIN_PASSWORD, role, principal=auth.SYSTEM)
    auth.disable_user(engine, "wang", principal=auth.SYSTEM)
    return engine


def _attempt(engine: Engine, name: str, password: str, now: dt.datetime | None = None) -> str:
    """``"ok"`` for a login that got in, else the sentence it was refused with."""
    try:
        auth.authenticate(engine, name, password, now=now)
    except PermissionDenied as exc:
        return str(exc)
    return "ok"


def _in_parallel(calls: list[Callable[[], str]]) -> list[str]:
    """Run the calls in as many threads, released together."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], str]) -> str:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _actions(engine: Engine, action: str) -> int:
    log = read_table(engine, "audit_log")
    return int((log["action"] == action).sum())


def _counter(engine: Engine, name: str) -> tuple[int, int]:
    """``(failures, pending)`` of a name's login_attempt row."""
    rows = read_table(engine, "login_attempt").set_index("key")
    row = rows.loc[auth.attempt_key(name)]
    return int(row["failures"]), int(row["pending"])


# --- throttling under parallel attempts ------------------------------------------------------


def test_parallel_wrong_passwords_check_at_most_the_limit_then_lock(accounts: Engine) -> None:
    """The attack: 20 parallel wrong passwords, then the right one. Only LOGIN_MAX_FAILURES
    passwords are ever checked (each checked one is audited login_failed); the others are
    refused unchecked (login_locked), and so is the right password after them."""
    calls = [lambda i=i: _attempt(accounts, "admin", f"guess number {i}") for i in range(THREADS)]
    refused = _in_parallel(calls)
    assert set(refused) == {auth.login_refused()}
    assert _actions(accounts, "login_failed") == settings.LOGIN_MAX_FAILURES
    assert _actions(accounts, "login_locked") == THREADS - settings.LOGIN_MAX_FAILURES
    assert _counter(accounts, "admin") == (settings.LOGIN_MAX_FAILURES, 0)
    assert _attempt(accounts, "admin", ADMIN_PASSWORD) == auth.login_refused()
    assert _actions(accounts, "login") == 0
    assert _actions(accounts, "login_failed") == settings.LOGIN_MAX_FAILURES


def test_parallel_logins_of_an_unknown_name_are_throttled_alike(accounts: Engine) -> None:
    calls = [lambda i=i: _attempt(accounts, "nobody", f"guess number {i}") for i in range(THREADS)]
    assert set(_in_parallel(calls)) == {auth.login_refused()}
    assert _counter(accounts, "nobody") == (settings.LOGIN_MAX_FAILURES, 0)
    assert _counter(accounts, "NOBODY ") == (settings.LOGIN_MAX_FAILURES, 0)  # one key
    assert "nobody" not in read_table(accounts, "login_attempt").to_string()  # never as typed


def test_parallel_right_logins_of_one_user_all_get_in(accounts: Engine) -> None:
    """Throttling does not refuse a user who logs in from 20 places at once."""
    calls = [lambda: _attempt(accounts, "li", ADMIN_PASSWORD) for _ in range(THREADS)]
    assert _in_parallel(calls) == ["ok"] * THREADS
    assert _actions(accounts, "login") == THREADS
    assert _counter(accounts, "li") == (0, 0)


def test_the_count_is_one_per_normalised_name_and_a_success_resets_it(accounts: Engine) -> None:
    for variant in ("ADMIN", " Admin ", "ａｄｍｉｎ", "admin"):  # one counter for all four
        assert _attempt(accounts, variant, "a wrong guess", now=T0) == auth.login_refused()
    assert _attempt(accounts, "admin", ADMIN_PASSWORD, now=T0) == "ok"
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):  # counted again from 0
        _attempt(accounts, "admin", "a wrong guess", now=T0)
    assert _attempt(accounts, "admin", ADMIN_PASSWORD, now=T0) == "ok"
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _attempt(accounts, "ADMIN", "a wrong guess", now=T0)
    assert _attempt(accounts, "admin", ADMIN_PASSWORD, now=T0) == auth.login_refused()
    later = T0 + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    assert _attempt(accounts, "admin", ADMIN_PASSWORD, now=later) == "ok"


def test_a_check_left_running_by_a_dead_process_locks_until_the_window_passes(
    accounts: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full count with checks still marked running (a process killed while checking) is
    waited for, then refused unchecked — never a password check more than the limit."""
    monkeypatch.setattr(settings, "LOGIN_PENDING_WAIT_S", 0.0)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert auth.reserve_attempt(accounts, "admin", now=T0)  # and never released
    assert _counter(accounts, "admin") == (settings.LOGIN_MAX_FAILURES,) * 2
    assert _attempt(accounts, "admin", ADMIN_PASSWORD, now=T0) == auth.login_refused()
    assert _actions(accounts, "login_failed") == 0 and _actions(accounts, "login_locked") == 1
    later = T0 + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    assert _attempt(accounts, "admin", ADMIN_PASSWORD, now=later) == "ok"
    assert _counter(accounts, "admin") == (0, 0)


def test_counts_whose_window_passed_are_deleted(accounts: Engine) -> None:
    for name in ("zhang", "zhao"):
        _attempt(accounts, name, "a wrong guess", now=T0)
    later = T0 + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    _attempt(accounts, "zhao", "a wrong guess", now=later)
    keys = set(read_table(accounts, "login_attempt")["key"])
    assert keys == {auth.attempt_key("zhao")}


def test_locked_unknown_wrong_and_disabled_are_refused_with_one_sentence(
    accounts: Engine,
) -> None:
    sentences = {
        "wrong password": _attempt(accounts, "li", "a wrong guess"),
        "unknown name": _attempt(accounts, "zhang", ADMIN_PASSWORD),
        "disabled, right password": _attempt(accounts, "wang", ADMIN_PASSWORD),
    }
    for name in ("admin", "zhao"):  # a known and an unknown name, locked
        for _ in range(settings.LOGIN_MAX_FAILURES):
            _attempt(accounts, name, "a wrong guess")
    sentences["locked, right password"] = _attempt(accounts, "admin", ADMIN_PASSWORD)
    sentences["locked unknown name"] = _attempt(accounts, "zhao", ADMIN_PASSWORD)
    assert set(sentences.values()) == {auth.login_refused()}, sentences
    zh, en = auth.login_refused().split(" / ")
    assert zh and "wrong user name or password" in en and "locked" in en
    assert _actions(accounts, "login_locked") == 1  # unknown names leave no audit row


# --- sessions end on a change made by another process ---------------------------------------


CLI_CHANGES = [["user", "reset-password", "li"], ["user", "disable", "li"]]


@pytest.mark.parametrize("command", CLI_CHANGES, ids=["reset", "disable"])
def test_a_cli_change_in_another_process_ends_a_live_session(
    accounts: Engine, command: list[str]
) -> None:
    token = auth.SESSIONS.start(auth.authenticate(accounts, "li", ADMIN_PASSWORD))
    assert auth.session_principal(accounts, token).name == "li"
    url = accounts.url.render_as_string(hide_password=False)
    env = {**os.environ, "GRIDMAP_NEW_PASSWORD": NEW_PASSWORD}
    env.pop("GRIDMAP_USER", None)
    done = subprocess.run(
        [sys.executable, "-m", "gridmap", *command, "--db", url],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert auth.SESSIONS.get(token).name == "li"  # this process's store was not told
    with pytest.raises(auth.SessionExpired):
        auth.session_principal(accounts, token)
    with pytest.raises(auth.SessionExpired):  # and the token is gone for good
        auth.SESSIONS.get(token)
    assert _attempt(accounts, "li", ADMIN_PASSWORD) == auth.login_refused()
    if command[1] == "reset-password":
        fresh = auth.SESSIONS.start(auth.authenticate(accounts, "li", NEW_PASSWORD))
        assert auth.session_principal(accounts, fresh).name == "li"
        auth.SESSIONS.end(fresh)


def test_a_role_change_ends_the_session_and_other_users_keep_theirs(accounts: Engine) -> None:
    li = auth.SESSIONS.start(auth.authenticate(accounts, "li", ADMIN_PASSWORD))
    admin = auth.SESSIONS.start(auth.authenticate(accounts, "admin", ADMIN_PASSWORD))
    with transaction(accounts) as conn:  # what another process's change_user leaves behind
        conn.execute(text('UPDATE "user" SET session_epoch = session_epoch + 1 WHERE name = :n'),
                     {"n": "li"})  # fmt: skip
    with pytest.raises(auth.SessionExpired, match="log in again"):
        auth.session_principal(accounts, li)
    assert auth.session_principal(accounts, admin).name == "admin"
    before = int(read_table(accounts, "user").set_index("name").loc["admin", "session_epoch"])
    auth.change_user(accounts, "admin", "planner", principal=auth.SYSTEM)
    after = int(read_table(accounts, "user").set_index("name").loc["admin", "session_epoch"])
    assert after == before + 1
    with pytest.raises(auth.SessionExpired):
        auth.session_principal(accounts, admin)


# --- demo logins on the unchanged demo only -----------------------------------------------


def _one_new_building(engine: Engine, path: Path) -> Path:
    """A GeoJSON of one small building on free ground of the demo's first community."""
    layers = load_street_layers(engine)
    community = layers.communities.iloc[0]
    taken = layers.buildings.geometry.union_all().buffer(0.0003)
    spot = layers.communities.geometry.iloc[0].difference(taken).representative_point()
    d = 0.00005
    frame = gpd.GeoDataFrame(
        {"code": ["ATTACK-0001"], "name": ["攻击测试楼"], "community_code": [community["code"]],
         "households": [12], "residents": [30]},
        geometry=[box(spot.x - d, spot.y - d, spot.x + d, spot.y + d)],
        crs=4326,
    )  # fmt: skip
    frame.to_file(path, driver="GeoJSON")
    return path


def _demo_sentences(engine: Engine) -> set[str]:
    return {_attempt(engine, name, pw) for name, (_, pw) in auth.DEMO_USERS.items()}


def test_demo_logins_are_refused_after_an_import_into_the_demo(
    engine: Engine, tmp_path: Path
) -> None:
    load_demo(engine)
    auth.create_user(engine, "li", ADMIN_PASSWORD, "planner", principal=auth.SYSTEM)
    assert auth.is_unchanged_demo(engine)  # an account is no change to the demo's data
    assert _demo_sentences(engine) == {"ok"}
    buildings = len(read_table(engine, "building"))
    gio.import_file(engine, "buildings", _one_new_building(engine, tmp_path / "one.geojson"))
    assert len(read_table(engine, "building")) == buildings + 1
    assert auth.is_demo_database(engine) and not auth.is_unchanged_demo(engine)
    assert _demo_sentences(engine) == {auth.login_refused()}
    assert _attempt(engine, "li", ADMIN_PASSWORD) == "ok"  # a login of its own still works
    with pytest.raises(Exception, match="demo passwords work only"):
        auth.reset_password(engine, "li", "demo-viewer-2026", principal=auth.SYSTEM)
    load_demo(engine, force=True)  # gridmap demo --force: the demo as built
    assert auth.is_unchanged_demo(engine)
    assert _attempt(engine, "demo_viewer", auth.DEMO_USERS["demo_viewer"][1]) == "ok"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE building SET code = code || 'X' WHERE id = (SELECT MIN(id) FROM building)",
        "UPDATE community SET name = name || '新区' WHERE id = (SELECT MIN(id) FROM community)",
        "UPDATE building SET geom = (SELECT geom FROM building WHERE id = (SELECT MAX(id) "
        "FROM building)) WHERE id = (SELECT MIN(id) FROM building)",
    ],
    ids=["building", "community", "footprint"],
)
def test_any_change_to_the_territory_ends_the_demo_logins(demo: Engine, statement: str) -> None:
    """Written outside gridmap (a hand-typed statement): the fingerprint notices."""
    assert auth.is_unchanged_demo(demo)
    with transaction(demo) as conn:
        conn.execute(text(statement))
    assert not auth.is_unchanged_demo(demo)
    assert _attempt(demo, "demo_admin", auth.DEMO_USERS["demo_admin"][1]) == auth.login_refused()


def test_work_in_the_demo_through_gridmap_keeps_the_demo_logins(demo: Engine) -> None:
    """The demo is there to be tried: a request logged and assigned and a building's
    households corrected keep every demo login working."""
    from gridmap import requests as rq

    buildings = read_table(demo, "building").dropna(subset=["grid_id"])
    workers = read_table(demo, "grid_worker")
    spot = buildings.geometry.iloc[0].representative_point()
    rid = rq.log_request(demo, category="环境卫生", description="楼道灯不亮", source="visit",
                         now=T0, point=(spot.x, spot.y))  # fmt: skip
    rq.assign(demo, rid, int(workers["person_id"].iloc[0]), now=T0)
    with transaction(demo) as conn:
        conn.execute(text("UPDATE building SET households = households + 1 WHERE id = "
                          "(SELECT MIN(id) FROM building)"))  # fmt: skip
    assert auth.is_unchanged_demo(demo)
    assert _demo_sentences(demo) == {"ok"}


@pytest.mark.parametrize("kind", ["members", "hotline"])
def test_an_import_of_members_or_hotline_requests_ends_the_demo_logins(
    demo: Engine, kind: str
) -> None:
    """Personal data brought in from a file ends them, though the territory is unchanged."""
    from gridmap import organisation as org
    from gridmap import requests as rq

    building = read_table(demo, "building").dropna(subset=["grid_id"]).iloc[0]
    if kind == "members":
        branch = read_table(demo, "party_org").query("kind == 'branch'")["name"].iloc[0]
        text_ = f"姓名,手机,党员类别,党组织,楼栋编码\n王新来,13912345678,离退休党员,{branch}," \
                f"{building['code']}\n"  # fmt: skip
        org.import_members(demo, org.read_member_file(text_.encode(), "members.csv"))
    else:
        spot = building["geom"].representative_point()
        text_ = "工单编号,受理时间,诉求类别,来电人,经度,纬度\n" \
                f"GD-ATTACK-1,2026-11-30 09:10,环境卫生,刘大山,{spot.x},{spot.y}\n"  # fmt: skip
        done = rq.import_hotline(demo, text_.encode(), filename="hotline.csv")
        assert done.written == 1, done.rejected
    assert not auth.is_unchanged_demo(demo)
    assert _demo_sentences(demo) == {auth.login_refused()}


@pytest.mark.parametrize("written", [False, True], ids=["untouched", "written"])
def test_a_demo_built_before_the_fingerprint_keeps_its_logins_only_if_untouched(
    demo: Engine, written: bool
) -> None:
    """Revision 0006 records the fingerprint of a demo database built before it only when its
    audit log shows no write since the demo was built (logins are no writes)."""
    import importlib.util

    path = REPO_ROOT / "gridmap" / "migrations" / "versions" / "0006_login_attempts.py"
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert _attempt(demo, "demo_admin", auth.DEMO_USERS["demo_admin"][1]) == "ok"  # audited
    with transaction(demo) as conn:  # the demo as revision 0005 left it: no fingerprint
        conn.execute(text("DELETE FROM demo_fingerprint"))
    assert not auth.is_unchanged_demo(demo)
    if written:
        with transaction(demo) as conn:
            conn.execute(
                text("INSERT INTO audit_log (at, action, entity) VALUES (:at, :action, :entity)"),
                {"at": T0, "action": "import", "entity": "building"},
            )
    with transaction(demo) as conn:
        migration.fingerprint_an_untouched_demo(conn)
    assert auth.is_unchanged_demo(demo) is not written
    assert _demo_sentences(demo) == ({auth.login_refused()} if written else {"ok"})


def test_a_hand_off_code_is_used_once_within_its_minute_and_only_for_a_live_session() -> None:
    """The code the browser exchanges for its session cookie (asgi.py): once, within
    SESSION_HANDOFF_SECONDS, and never for a session that ended meanwhile."""
    store = auth.SessionStore()
    principal = auth.Principal(user_id=1, name="li", role="viewer")
    token = store.start(principal, now=T0)
    code = store.hand_off(token, now=T0)
    assert code != token and token not in code
    assert store.redeem(code, now=T0 + dt.timedelta(seconds=5)) == token
    assert store.redeem(code, now=T0 + dt.timedelta(seconds=6)) is None  # used
    late = store.hand_off(token, now=T0)
    limit = dt.timedelta(seconds=settings.SESSION_HANDOFF_SECONDS + 1)
    assert store.redeem(late, now=T0 + limit) is None  # expired
    ended = store.hand_off(token, now=T0)
    store.end(token)
    assert store.redeem(ended, now=T0) is None  # logged out before the exchange
    assert store.redeem("forged", now=T0) is None and store.redeem(None, now=T0) is None
