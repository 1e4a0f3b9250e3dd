"""The monthly rates (接诉即办 三率) on hand-built request histories with known answers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from gridmap import settings
from gridmap.errors import InputError
from gridmap.requests import month_of, rank_month, request_rates, total_rates

NOW = dt.datetime(2026, 11, 15)
R = dt.datetime(2026, 10, 3, 9, 0)


def _req(i, status, unit, *, acted_h=1.0, done_h=10.0, rating=None, outcome=None, reason=None,
         due_h=72.0, received=R):  # fmt: skip
    return {
        "id": i,
        "status": status,
        "received_at": received,
        "due_at": received + dt.timedelta(hours=due_h),
        "resolved_at": received + dt.timedelta(hours=done_h)
        if status in ("resolved", "evaluated") else pd.NaT,
        "rating": rating,
        "outcome": outcome,
        "close_reason": reason,
        "unit": unit,
        "acted": None if acted_h is None else received + dt.timedelta(hours=acted_h),
    }  # fmt: skip


def _rates(rows):
    frame = pd.DataFrame(rows)
    acted = frame.dropna(subset=["acted"]).set_index("id")["acted"]
    names = pd.DataFrame({"id": [1, 2], "code": ["A", "B"], "name": ["甲", "乙"]})
    return request_rates(frame, pd.to_datetime(acted), NOW, frame["unit"], names)


def test_each_rate_counts_as_defined():
    rows = [
        _req(1, "evaluated", 1, rating=5, outcome="solved"),
        _req(2, "evaluated", 1, rating=3, outcome="partly_solved", acted_h=9),  # late response
        _req(3, "resolved", 1, done_h=100),  # resolved after its due time
        _req(4, "assigned", 1),  # open, past due at NOW
        _req(5, "rejected", 1, acted_h=None, reason="not_our_responsibility"),
        _req(6, "rejected", 1, acted_h=None, reason="duplicate"),
    ]
    row = _rates(rows).iloc[0]
    assert (row["requests"], row["rejected"], row["duplicates"], row["accepted"]) == (6, 1, 1, 4)
    assert row["response_rate"] == 75.0  # 3 of 4 within REQUEST_RESPONSE_HOURS
    assert row["resolution_rate"] == 50.0  # 1 and 3 solved; 2 partly, apart
    assert row["partly_solved_rate"] == 25.0
    assert row["satisfaction_rate"] == 50.0  # of 2 rated, one at >= 4
    assert row["on_time_rate"] == 50.0  # due: 1,2,3,4; on time: 1,2
    w = settings.REQUEST_RATE_WEIGHTS
    expected = sum(
        w[k] * v
        for k, v in {"response": 75, "resolution": 50, "satisfaction": 50, "on_time": 50}.items()
    )
    assert row["score"] == pytest.approx(round(expected / sum(w.values()), 1))  # fmt: skip


def test_few_requests_are_shown_not_ranked():
    rows = [_req(i, "resolved", 1) for i in range(1, settings.MIN_RANKED_REQUESTS + 1)]
    rows += [_req(100 + i, "assigned", 2) for i in range(settings.MIN_RANKED_REQUESTS - 1)]
    month = rank_month(_rates(rows), "2026-10").set_index("unit_code")
    assert bool(month.loc["A", "ranked"]) and month.loc["A", "rank"] == 1
    assert not bool(month.loc["B", "ranked"]) and pd.isna(month.loc["B", "rank"])


def test_months_apart_and_totals_recomputed():
    rows = [_req(1, "resolved", 1), _req(2, "assigned", 2, received=R + dt.timedelta(days=31))]
    rates = _rates(rows)
    assert list(rates["month"]) == ["2026-10", "2026-11"]
    total = total_rates(rates)
    assert total["accepted"] == 2 and total["resolution_rate"] == 50.0


def test_a_bad_month_is_refused():
    with pytest.raises(InputError, match="YYYY-MM"):
        month_of("2026-13")


def test_the_command_reports_the_core_figures(demo_db_url: str, tmp_path) -> None:
    """``gridmap requests rates`` on the demo: JSON rows equal :func:`rates_for`'s month; the
    text names every community; xlsx holds both sheets; a planner gets no rates per worker."""
    import json
    import os

    from click.testing import CliRunner
    from openpyxl import load_workbook

    from gridmap.cli import main
    from gridmap.db import open_database
    from gridmap.requests import assessed_month, rates_for, street_now

    def run(*args: str, code: int = 0, **env: str) -> str:
        result = CliRunner(env=env).invoke(main, [*args, "--db", demo_db_url])
        assert result.exit_code == code, result.output
        return result.output

    engine = open_database(demo_db_url)
    now = street_now(engine)
    month = str(assessed_month(now))
    expected = rank_month(rates_for(engine, now, "community"), month)
    assert len(expected) == 7 and expected["rank"].notna().all()  # the demo's communities
    data = json.loads(run("requests", "rates", "--by", "community", "--format", "json"))
    assert data["month"] == month and data["by"] == "community"
    got = pd.DataFrame(data["rows"])
    assert list(got["unit_code"]) == list(expected["unit_code"])
    assert list(got["score"]) == list(expected["score"])
    assert list(got["response_rate"]) == list(expected["response_rate"])
    assert got["score"].is_monotonic_decreasing and got["score"].nunique() > 3  # they differ

    shown = run("requests", "rates", "--month", month)
    assert all(name in shown for name in expected["unit_name"])
    assert "响应率" in shown and f"{settings.REQUEST_RESPONSE_HOURS:g} 小时" in shown

    out = tmp_path / "rates.xlsx"
    run("requests", "rates", "--by", "grid", "--format", "xlsx", "--out", str(out))
    book = load_workbook(out, read_only=True)
    assert book.sheetnames == [f"{month} 排名", "逐月 by month"]
    grid_rows = rank_month(rates_for(engine, now, "grid"), month)
    assert book.worksheets[0].max_row == len(grid_rows) + 1  # a header and one row per grid

    run("requests", "rates", "--format", "xlsx", code=2)  # xlsx needs --out
    refused = run("--user", "demo_planner", "requests", "rates", "--by", "worker", code=6,
                  GRIDMAP_PASSWORD="demo-planner-2026")  # fmt: skip
    assert "汇总" in refused and "Traceback" not in refused
    assert os.environ.get("GRIDMAP_PASSWORD") is None
