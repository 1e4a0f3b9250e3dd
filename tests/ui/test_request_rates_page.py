"""三率考核 on 诉求办理 in AppTest, on the demo street: the ranking, the street-wide figures and
the month-by-month series equal the core's, the unit and month choices re-rank, each role gets
the units of its own scope, English."""

from __future__ import annotations

import pandas as pd
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import requests as rq
from gridmap.auth import list_users, principal_for
from gridmap.db import open_database

PAGE = "views/requests.py"


def _open(url: str, monkeypatch, name: str = "demo_admin") -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    at = login(AppTest.from_file(APP, default_timeout=120), name=name).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _ranking(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "考核得分(分)" in d.value.columns)


def _core(url: str, by: str, month: str, name: str = "demo_admin") -> pd.DataFrame:
    engine = open_database(url)
    users = list_users(engine)
    who = principal_for(engine, int(users.loc[users["name"] == name, "id"].iloc[0]))
    rates = rq.rates_for(engine, rq.street_now(engine), by, scope=who)
    return rq.rank_month(rates, month)


def test_the_ranking_and_totals_are_the_cores(demo_copy: str, monkeypatch) -> None:
    at = _open(demo_copy, monkeypatch)
    month = at.selectbox(key="rates_month").value
    engine = open_database(demo_copy)
    assert month == str(rq.assessed_month(rq.street_now(engine)))  # the last whole month
    assert at.radio(key="rates_by").value == "community"
    expected = _core(demo_copy, "community", month)
    shown = _ranking(at)
    assert list(shown["编码"]) == list(expected["unit_code"])
    assert list(shown["考核得分(分)"]) == list(expected["score"])
    assert list(shown["排名"].astype("Int64")) == list(expected["rank"])
    total = rq.total_rates(expected)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["响应率"] == f"{total['response_rate']:.1f}%"
    assert metrics["满意率"] == f"{total['satisfaction_rate']:.1f}%"
    assert any("小时内首次响应" in c.value for c in at.caption)  # the definitions are shown

    # another month and another unit re-rank from the core
    earlier = at.selectbox(key="rates_month").options[1]
    at.selectbox(key="rates_month").set_value(earlier).run()
    at.radio(key="rates_by").set_value("grid").run()
    assert not at.exception, at.exception
    grids = _core(demo_copy, "grid", earlier)
    assert list(_ranking(at)["编码"]) == list(grids["unit_code"]) and len(grids) > 20
    unit = at.selectbox(key="rates_unit_grid")
    assert unit.value == int(grids["unit_id"].iloc[0])  # the best-ranked grid's series first


def test_each_role_assesses_its_own_scope_and_english(demo_copy: str, monkeypatch) -> None:
    at = _open(demo_copy, monkeypatch, "demo_worker")
    assert at.radio(key="rates_by").options == ["网格", "网格员", "党员领单"]
    month = at.selectbox(key="rates_month").value
    mine = _core(demo_copy, "grid", month, "demo_worker")
    assert list(_ranking(at)["编码"]) == list(mine["unit_code"])
    assert len(_ranking(at)) == 1  # the worker's own grid

    at = _open(demo_copy, monkeypatch, "demo_secretary")
    assert at.radio(key="rates_by").options[0] == "社区"
    at.radio(key="rates_by").set_value("worker").run()
    names = _ranking(at)["名称"].dropna()
    assert len(names) and all("*" in n for n in names)  # masked worker names
    at.sidebar.radio(key="lang").set_value("English").run()
    assert not at.exception, at.exception
    shown = next(d.value for d in at.dataframe if "Assessment score (points)" in d.value.columns)
    assert "Response rate (%)" in shown.columns


def test_the_daily_digest_is_the_cores(demo_copy: str, monkeypatch) -> None:
    """每日简报: the counts and tables of the last whole day equal :func:`digest_for`; another
    day re-reads; a grid worker sees the own grid's digest only."""
    import datetime as dt

    at = _open(demo_copy, monkeypatch)
    engine = open_database(demo_copy)
    now = rq.street_now(engine)
    expected = rq.digest_for(engine, now)
    assert at.date_input(key="digest_day").value == rq.digest_day(now)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["超期未办结"] == f"{len(expected.overdue):,} 件" and len(expected.overdue)
    assert metrics["新受理"] == f"{len(expected.new):,} 件"
    overdue = next(d.value for d in at.dataframe if d.value.shape == (len(expected.overdue), 8)
                   and "剩余(小时)" in d.value.columns)  # fmt: skip
    assert list(overdue["编号"]) == list(expected.overdue["code"])
    at.date_input(key="digest_day").set_value(dt.date(2026, 10, 15)).run()
    assert not at.exception, at.exception
    earlier = rq.digest_for(engine, now, dt.date(2026, 10, 15))
    assert {m.label: m.value for m in at.metric}["新受理"] == f"{len(earlier.new):,} 件"

    at = _open(demo_copy, monkeypatch, "demo_worker")
    users = list_users(engine)
    worker = principal_for(engine, int(users.loc[users["name"] == "demo_worker", "id"].iloc[0]))
    mine = rq.digest_for(engine, now, scope=worker)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["超期未办结"] == f"{len(mine.overdue):,} 件"
    assert len(mine.overdue) < len(expected.overdue)
