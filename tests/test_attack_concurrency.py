"""The concurrency attack of issue 24, kept as tests, on file SQLite and on PostGIS.

Twenty writers at once — threads through the Python API, and processes through ``gridmap plan
activate`` — must leave exactly one active plan per community, lose no member edit, keep the
points caps and once-only rules, and never print a traceback: a database still busy after the
short retry is a sentence. The invariants are also held by the database itself (a partial
unique index, unique indexes on points, the member version trigger), and the migration that
brings them refuses a database that already breaks them, changing nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from _services import create_database, drop_database
from gridmap import auth, settings
from gridmap import organisation as org
from gridmap.db import (
    BUSY_MESSAGE,
    current_revision,
    head_revision,
    init_database,
    make_engine,
    migration_config,
)
from gridmap.errors import ConflictError, DatabaseBusyError, DatabaseError, GridmapError
from gridmap.redraw import lifecycle
from gridmap.repository import read_table, save_tables
from worlds import ADMIN_PASSWORD, small_world

COMMUNITY = "420303001-001"  # community 1 of the small world; plan 1 is its active plan
WRITERS = 20
AT = dt.datetime(2026, 5, 6, 9, 0)


# --- helpers ----------------------------------------------------------------------------------


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in as many threads, released together; each result or the exception."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait(timeout=300)
        try:
            out[i] = calls[i]()
        except BaseException as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=900)
    assert not any(th.is_alive() for th in threads), "a writer never finished"
    return out


def _refusals(outcomes: list[Any]) -> list[BaseException]:
    """The exceptions among the outcomes, each checked to be a sentence, not a crash."""
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for exc in errors:
        assert isinstance(exc, GridmapError), f"{type(exc).__name__}: {exc}"
        assert " / " in str(exc), str(exc)  # 中文 / English
    return errors


def _admin_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM \"user\" WHERE name = 'admin'")).scalar())


def _approved_plans(engine: Engine, n: int) -> list[int]:
    """``n`` plans of community 1, each a copy of its active plan, proposed and approved."""
    admin = _admin_id(engine)
    ids = []
    for i in range(n):
        plan_id = lifecycle.new_draft(engine, COMMUNITY, name=f"并发方案 {i + 1}")
        lifecycle.propose(engine, plan_id, reason="并发测试 / concurrency test")
        lifecycle.approve(engine, plan_id, approver_id=admin)
        ids.append(plan_id)
    return ids


def _active_plans(engine: Engine, community_id: int = 1) -> list[int]:
    with engine.connect() as conn:
        return [
            int(i)
            for i in conn.execute(
                text("SELECT id FROM grid_plan WHERE community_id = :c AND status = 'active'"),
                {"c": community_id},
            ).scalars()
        ]


def _statuses(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, status FROM grid_plan")).all())


def _member(engine: Engine, member_id: int = 1) -> dict:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM member WHERE id = :i"), {"i": member_id})
        return dict(row.mappings().one())


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _cli(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gridmap", *args, "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=900)
    return proc.returncode, out, err


def _assert_no_traceback(outputs: list[tuple[int, str, str]]) -> None:
    for code, out, err in outputs:
        assert "Traceback" not in out + err, err
        if code != 0:
            assert err.startswith("错误 / error:"), err
            assert " / " in err


# --- one active plan per community ------------------------------------------------------------


def test_the_database_itself_allows_one_active_plan_per_community(world: Engine) -> None:
    insert = text(
        "INSERT INTO grid_plan (id, community_id, name, status, created_at) "
        "VALUES (:id, :c, :name, :status, :at)"
    )
    with pytest.raises(IntegrityError), world.begin() as conn:
        conn.execute(insert, {"id": 50, "c": 1, "name": "第二个", "status": "active", "at": AT})
    with world.begin() as conn:  # other states, and another community's active plan, are fine
        for i, (c, status) in enumerate([(1, "retired"), (1, "retired"), (1, "approved"),
                                         (2, "active")]):  # fmt: skip
            conn.execute(insert, {"id": 60 + i, "c": c, "name": f"方案{i}", "status": status,
                                  "at": AT})  # fmt: skip
    assert _active_plans(world, 1) == [1] and _active_plans(world, 2) == [63]


def test_twenty_activations_at_once_leave_exactly_one_active_plan(world: Engine) -> None:
    plans = _approved_plans(world, WRITERS)
    outcomes = _race([lambda p=p: lifecycle.activate(world, p) for p in plans])
    refused = _refusals(outcomes)
    won = [p for p, o in zip(plans, outcomes, strict=True) if not isinstance(o, BaseException)]
    active = _active_plans(world)
    assert len(active) == 1 and active[0] in won
    assert len(won) + len(refused) == WRITERS and won
    for exc in refused:  # the only ways to lose: the race, or a database busy past the retry
        assert isinstance(exc, ConflictError), exc
    statuses = _statuses(world)
    assert statuses[1] == "retired"
    assert {statuses[p] for p in won} <= {"active", "retired"}
    assert all(statuses[p] == "approved" for p in plans if p not in won)  # losers: untouched
    with world.connect() as conn:
        activations = conn.execute(
            text("SELECT COUNT(*) FROM audit_log WHERE action = 'plan_activate'")
        ).scalar()
        grids = set(
            conn.execute(text("SELECT id FROM grid WHERE plan_id = :p"), {"p": active[0]}).scalars()
        )
        building_grids = set(
            conn.execute(text("SELECT grid_id FROM building WHERE community_id = 1")).scalars()
        )
    assert activations == len(won)  # each activation that counted, audited once
    assert building_grids <= grids  # the buildings' cached grids are the active plan's


def test_twenty_cli_activations_at_once_leave_one_active_plan_and_no_traceback(
    world: Engine,
) -> None:
    plans = _approved_plans(world, WRITERS)
    url = _url(world)
    procs = [
        _cli(url, "plan", "activate", "--community", COMMUNITY, "--plan", str(p)) for p in plans
    ]
    outputs = [_finish(p) for p in procs]
    _assert_no_traceback(outputs)
    codes = [code for code, _, _ in outputs]
    assert set(codes) <= {0, ConflictError.exit_code}, outputs
    active = _active_plans(world)
    assert len(active) == 1
    winners = [p for p, c in zip(plans, codes, strict=True) if c == 0]
    assert active[0] in winners
    for (code, out, _), plan_id in zip(outputs, plans, strict=True):
        if code == 0:
            assert f"plan {plan_id} is active" in out


@pytest.mark.postgis
def test_a_losing_activation_on_postgis_is_refused_with_a_sentence(postgis) -> None:
    """Another transaction makes plan C active while an activation of B waits for its lock:
    the index refuses B, and the activation says so in a sentence, saving nothing."""
    name = "gridmap_active_race"
    url = create_database(postgis, name)
    eng = make_engine(url)
    try:
        init_database(eng)
        save_tables(eng, small_world())
        auth.create_user(eng, "admin", ADMIN_PASSWORD, "street_admin", principal=auth.SYSTEM)
        b, c = _approved_plans(eng, 2)
        holder = eng.connect()
        tx = holder.begin()
        holder.execute(text("UPDATE grid_plan SET status = 'retired' WHERE id = 1"))
        holder.execute(text("UPDATE grid_plan SET status = 'active' WHERE id = :c"), {"c": c})
        outcome: list[Any] = []

        def activate_b() -> None:
            try:
                outcome.append(lifecycle.activate(eng, b))
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=activate_b)
        worker.start()
        _wait_until_a_backend_waits_for_a_lock(eng)
        tx.commit()
        holder.close()
        worker.join(timeout=300)
        assert len(outcome) == 1 and isinstance(outcome[0], ConflictError), outcome
        assert str(outcome[0]) == lifecycle.ACTIVE_RACE_MESSAGE
        statuses = _statuses(eng)
        assert (statuses[1], statuses[b], statuses[c]) == ("retired", "approved", "active")
    finally:
        eng.dispose()
        drop_database(postgis, name)


def _wait_until_a_backend_waits_for_a_lock(engine: Engine) -> None:
    """Poll PostgreSQL until some session of this database waits for a lock (no clock in the
    assertion: the loop only bounds how long a broken build would hang)."""
    query = text(
        "SELECT COUNT(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(6000):
        with engine.connect() as conn:
            if conn.execute(query).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("the activation never waited for the plan's lock")


# --- members: no lost update ------------------------------------------------------------------

#: Four editors, each changing a different field of member 1.
FIELD_EDITS = {
    "specialties": "法律咨询",
    "last_contact_on": dt.date(2026, 1, 2),
    "work_unit": "十堰市太和医院",
    "registered_on": dt.date(2024, 3, 1),
}


def test_four_editors_of_different_fields_lose_nothing(world: Engine) -> None:
    before = _member(world)
    edits = [(field, value) for field, value in FIELD_EDITS.items() for _ in range(5)]
    outcomes = _race([lambda f=f, v=v: org.edit_member(world, 1, **{f: v}) for f, v in edits])
    assert not _refusals(outcomes)
    after = _member(world)
    for field, value in FIELD_EDITS.items():
        stored = after[field]
        assert str(stored)[:10] == str(value), (field, stored)  # every change is there
    assert after["version"] == before["version"] + len(edits)  # each edit raised it once
    assert sorted(outcomes) == list(range(before["version"] + 1, after["version"] + 1))
    assert (after["category"], after["party_org_id"]) == (before["category"],
                                                         before["party_org_id"])  # fmt: skip


def test_twenty_edits_of_one_reading_one_wins_the_others_are_refused(world: Engine) -> None:
    version = int(_member(world)["version"])
    values = [f"特长{i}" for i in range(WRITERS)]
    outcomes = _race(
        [lambda v=v: org.edit_member(world, 1, version=version, specialties=v) for v in values]
    )
    refused = _refusals(outcomes)
    won = [v for v, o in zip(values, outcomes, strict=True) if not isinstance(o, BaseException)]
    assert len(won) == 1 and len(refused) == WRITERS - 1
    for exc in refused:
        assert isinstance(exc, ConflictError) and "已被他人修改" in str(exc), exc
        assert "reload" in str(exc)
    after = _member(world)
    assert after["specialties"] == won[0] and after["version"] == version + 1
    with pytest.raises(ConflictError, match="changed by someone else"):
        org.edit_member(world, 1, version=version, work_unit="旧页面")  # a stale page
    assert _member(world)["work_unit"] == "十堰市人民医院"


def test_the_database_raises_the_member_version_on_any_update(world: Engine) -> None:
    with world.begin() as conn:
        conn.execute(text("UPDATE member SET status = 'active' WHERE id = 1"))
    assert _member(world)["version"] == 2
    with world.begin() as conn:  # an update that sets the version itself keeps its value
        conn.execute(text("UPDATE member SET version = 9 WHERE id = 1"))
    assert _member(world)["version"] == 9
    assert org.move_members(world, [1], 2) == 1
    assert _member(world)["version"] == 10


# --- points: caps and once-only rules ---------------------------------------------------------


def _points(engine: Engine, kind: str) -> list[int]:
    frame = read_table(engine, "member_point")
    return list(frame.loc[(frame["member_id"] == 1) & (frame["kind"] == kind), "points"])


def test_twenty_study_entries_at_once_stop_at_the_yearly_cap(world: Engine) -> None:
    cap = settings.MEMBER_POINTS_YEAR_CAP["study"]
    outcomes = _race([lambda: org.award_points(world, 1, "study", AT) for _ in range(WRITERS)])
    refused = _refusals(outcomes)
    assert sum(_points(world, "study")) == cap  # 24, not 40
    assert sum(o for o in outcomes if isinstance(o, int)) == cap
    assert all(isinstance(e, ConflictError) and "上限" in str(e) for e in refused)
    assert len(refused) == WRITERS - cap // settings.MEMBER_POINTS["study"]


def test_twenty_dues_entries_of_one_month_record_one(world: Engine) -> None:
    outcomes = _race(
        [lambda i=i: org.award_points(world, 1, "dues", AT.replace(day=1 + i))
         for i in range(WRITERS)]
    )  # fmt: skip
    refused = _refusals(outcomes)
    assert _points(world, "dues") == [settings.MEMBER_POINTS["dues"]]
    assert len(refused) == WRITERS - 1
    assert all(isinstance(e, ConflictError) for e in refused)
    frame = read_table(world, "member_point")
    assert list(frame["dues_month"]) == ["2026-05"]


def test_the_database_refuses_a_second_dues_entry_or_request_entry(world: Engine) -> None:
    insert = text(
        "INSERT INTO member_point (member_id, at, kind, points, request_id, dues_month) "
        "VALUES (1, :at, :kind, 1, :req, :month)"
    )
    with world.begin() as conn:
        conn.execute(insert, {"at": AT, "kind": "dues", "req": None, "month": "2026-05"})
        conn.execute(insert, {"at": AT, "kind": "request", "req": 1, "month": None})
        conn.execute(insert, {"at": AT, "kind": "study", "req": None, "month": None})
        conn.execute(insert, {"at": AT, "kind": "study", "req": None, "month": None})
    for kind, req, month in (("dues", None, "2026-05"), ("request", 1, None)):
        with pytest.raises(IntegrityError), world.begin() as conn:
            conn.execute(insert, {"at": AT, "kind": kind, "req": req, "month": month})
    assert len(read_table(world, "member_point")) == 4


def test_a_points_entry_on_a_stale_reading_is_refused(world: Engine) -> None:
    version = int(_member(world)["version"])
    org.award_points(world, 1, "activity", AT, version=version)
    assert _member(world)["version"] == version + 1  # an entry changes the member's record
    with pytest.raises(ConflictError, match="已被他人修改"):
        org.award_points(world, 1, "activity", AT, version=version)
    assert _points(world, "activity") == [settings.MEMBER_POINTS["activity"]]


# --- a busy database is a sentence ------------------------------------------------------------


class _WriterHoldingTheDatabase:
    """Another writer holding the database (SQLite: its write lock; PostgreSQL: the tables a
    member edit, a login and an activation write), until :meth:`release`."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        if self.sqlite:
            self.raw = sqlite3.connect(make_url(_url(engine)).database, isolation_level=None)
            self.raw.execute("BEGIN IMMEDIATE")
        else:
            self.conn = engine.connect()
            self.tx = self.conn.begin()
            self.conn.execute(text("LOCK TABLE member, grid_plan, login_attempt IN EXCLUSIVE MODE"))

    def release(self) -> None:
        if self.sqlite:
            self.raw.rollback()
            self.raw.close()
        else:
            self.tx.rollback()
            self.conn.close()


def test_a_busy_database_is_a_sentence_after_a_short_retry(world: Engine, monkeypatch) -> None:
    monkeypatch.setattr(settings, "SQLITE_BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(settings, "POSTGRES_LOCK_TIMEOUT_S", 0.2)
    monkeypatch.setattr(settings, "DATABASE_BUSY_RETRIES", 1)
    impatient = make_engine(_url(world))  # new connections: the short waits above
    plan_id = _approved_plans(world, 1)[0]
    holder = _WriterHoldingTheDatabase(world)
    try:
        with pytest.raises(DatabaseBusyError) as busy:
            org.edit_member(impatient, 1, specialties="锁住时的修改")
        assert str(busy.value) == BUSY_MESSAGE and "数据库正忙" in BUSY_MESSAGE
        with pytest.raises(DatabaseBusyError):  # the login form shows GridmapErrors
            auth.authenticate(impatient, "admin", ADMIN_PASSWORD)
        assert len(read_table(impatient, "member")) == 1  # readers are not held up
        proc = _cli(
            _url(world), "plan", "activate", "--community", COMMUNITY, "--plan", str(plan_id),
            env={"GRIDMAP_SQLITE_BUSY_TIMEOUT_MS": "100", "GRIDMAP_POSTGRES_LOCK_TIMEOUT_S":
                 "0.2", "GRIDMAP_DATABASE_BUSY_RETRIES": "1"},
        )  # fmt: skip
        code, out, err = _finish(proc)
    finally:
        holder.release()
        impatient.dispose()
    _assert_no_traceback([(code, out, err)])
    assert code == DatabaseBusyError.exit_code and "数据库正忙" in err
    assert _member(world)["specialties"] is None  # nothing was written
    assert _statuses(world)[plan_id] == "approved"
    lifecycle.activate(world, plan_id)  # once the other writer is gone, it goes through
    assert _active_plans(world) == [plan_id]


# --- the migration refuses a database that breaks the rules -----------------------------------


def test_the_migration_refuses_broken_data_and_changes_nothing(db_url: str) -> None:
    eng = make_engine(db_url, create=True)
    try:
        with eng.begin() as conn:
            command.upgrade(migration_config(conn), "0006")
        with eng.begin() as conn:
            for statement in (
                "INSERT INTO street (id, code, name) VALUES (1, 'S1', '测试街道')",
                "INSERT INTO community (id, street_id, code, name) VALUES (1, 1, 'C1', '甲社区')",
                "INSERT INTO person (id, name, roles) VALUES (1, '张三', '')",
                "INSERT INTO party_org (id, kind, name) VALUES (1, 'branch', '第一支部')",
                "INSERT INTO member (id, person_id, party_org_id, category, status) "
                "VALUES (1, 1, 1, 'resident', 'active')",
            ):
                conn.execute(text(statement))
            for pid, status in ((1, "active"), (2, "active"), (3, "retired")):
                conn.execute(
                    text("INSERT INTO grid_plan (id, community_id, name, status, created_at) "
                         "VALUES (:id, 1, :name, :status, :at)"),
                    {"id": pid, "name": f"方案{pid}", "status": status, "at": AT},
                )  # fmt: skip
            for pid, day in ((1, 3), (2, 20), (3, 1)):
                conn.execute(
                    text("INSERT INTO member_point (id, member_id, at, kind, points) "
                         "VALUES (:id, 1, :at, 'dues', 1)"),
                    {"id": pid, "at": AT.replace(day=day, month=5 if pid < 3 else 6)},
                )  # fmt: skip

        with pytest.raises(DatabaseError) as refused:
            init_database(eng)
        message = str(refused.value)
        assert "only one active plan" in message and "C1" in message and "#2" in message
        assert "UPDATE grid_plan SET status = 'retired' WHERE id IN (1);" in message
        assert "Nothing was changed" in message and "gridmap init" in message
        assert current_revision(eng) == "0006"
        assert _statuses(eng) == {1: "active", 2: "active", 3: "retired"}

        with eng.begin() as conn:  # the fix the sentence gives
            conn.execute(text("UPDATE grid_plan SET status = 'retired' WHERE id IN (1)"))
        with pytest.raises(DatabaseError, match="2 dues entries in 2026-05") as refused:
            init_database(eng)
        assert "DELETE FROM member_point WHERE id IN (2);" in str(refused.value)
        assert current_revision(eng) == "0006"

        with eng.begin() as conn:
            conn.execute(text("DELETE FROM member_point WHERE id IN (2)"))
        assert init_database(eng) == head_revision() == current_revision(eng)
        with eng.connect() as conn:
            months = dict(conn.execute(text("SELECT id, dues_month FROM member_point")).all())
            version = conn.execute(text("SELECT version FROM member WHERE id = 1")).scalar()
        assert months == {1: "2026-05", 3: "2026-06"} and version == 1
    finally:
        eng.dispose()
