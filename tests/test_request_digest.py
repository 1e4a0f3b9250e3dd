"""What is due and the day's digest (issue 22 item 5) on hand-built histories with known
answers, and ``gridmap requests digest`` on the demo."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from gridmap import requests as rq
from gridmap import settings
from gridmap.cli import main
from gridmap.errors import InputError

DAY = dt.date(2026, 10, 20)
T0 = dt.datetime(2026, 10, 20, 0, 0)
H = dt.timedelta(hours=1)


def _frames():
    """Five requests. 1: received the day before, due mid-day, open (overdue by the day's end);
    2: received that day, due in 30 h (not in the 24 h list); 3: received that day and due in
    20 h, held by grid worker 7; 4: escalated that day and rated 2 stars that day after being
    resolved, then reopened; 5: received the next day (not in the day at all)."""
    rows = [
        (1, "assigned", T0 - 20 * H, T0 + 12 * H, "grid_worker", 7),
        (2, "received", T0 + 9 * H, T0 + 9 * H + 54 * H, None, None),
        (3, "assigned", T0 + 10 * H, T0 + 44 * H, "grid_worker", 7),
        (4, "assigned", T0 - 50 * H, T0 + 100 * H, "street", None),
        (5, "received", T0 + 30 * H, T0 + 60 * H, None, None),
    ]
    requests = pd.DataFrame(
        rows, columns=["id", "status", "received_at", "due_at", "assignee_kind", "assignee_id"]
    ).assign(code=lambda f: "R" + f["id"].astype(str), category="环境卫生", grid_id=1,
             rating=pd.NA, resolved_at=pd.NaT)  # fmt: skip
    requests["assignee_id"] = pd.array(requests["assignee_id"], dtype="Int64")
    events = pd.DataFrame(
        [
            (1, T0 - 20 * H, "received", None), (1, T0 - 19 * H, "assigned", None),
            (2, T0 + 9 * H, "received", None),
            (3, T0 + 10 * H, "received", None), (3, T0 + 11 * H, "assigned", None),
            (4, T0 - 50 * H, "received", None), (4, T0 + 1 * H, "escalated", "上报"),
            (4, T0 + 5 * H, "resolved", "办结"),
            (4, T0 + 6 * H, "evaluated", rq.RATING_NOTE.format(rating=2)),
            (4, T0 + 6 * H, "assigned", "自动重办"),
            (5, T0 + 30 * H, "received", None),
        ],
        columns=["request_id", "at", "to_status", "note"],
    )  # fmt: skip
    return requests, events


def test_the_day_in_known_figures():
    requests, events = _frames()
    workers = pd.DataFrame({"id": [7], "name": ["张*"]})
    digest = rq.day_digest(requests, events, DAY, dt.datetime(2026, 10, 25), workers)
    assert digest.as_of == dt.datetime(2026, 10, 21)
    assert list(digest.new["id"]) == [2, 3]
    assert list(digest.escalated["id"]) == [4]
    assert list(digest.low_ratings["id"]) == [4] and digest.low_ratings["rating"].iloc[0] == 2
    assert list(digest.overdue["id"]) == [1]
    assert list(digest.due_soon["id"]) == [3]  # due 20 h after the day's end; 2 is 30 h off
    assert digest.due_soon["hours_left"].iloc[0] == 20.0
    mine = digest.by_worker.set_index("worker_id").loc[7]
    assert (mine["worker_name"], mine["overdue"], mine["due_soon"]) == ("张*", 1, 1)
    assert digest.counts() == {"new": 2, "overdue": 1, "due_soon": 1, "escalated": 1,
                               "low_ratings": 1}  # fmt: skip


def test_a_day_not_over_is_read_as_of_now_and_the_future_refused():
    requests, events = _frames()
    noon = dt.datetime(2026, 10, 20, 9, 30)
    digest = rq.day_digest(requests, events, DAY, noon)
    assert digest.as_of == noon
    assert list(digest.new["id"]) == [2]  # 3 not yet received at 09:30
    assert digest.overdue.empty  # 1 is due at 12:00
    # request 1 due 2.5 h from 09:30 and 4 (the street's) not within 24 h
    assert list(digest.due_soon["id"]) == [1] and list(digest.due_soon["worker_id"]) == [7]
    with pytest.raises(InputError, match="has not begun"):
        rq.day_digest(requests, events, DAY + dt.timedelta(days=1), noon)


def test_a_request_is_in_the_status_it_had_that_day():
    requests, events = _frames()
    requests.loc[requests["id"] == 1, ["status", "resolved_at"]] = ["resolved", T0 + 40 * H]
    events.loc[len(events)] = (1, T0 + 40 * H, "resolved", "办结")
    digest = rq.day_digest(requests, events, DAY, dt.datetime(2026, 10, 25))
    assert list(digest.overdue["id"]) == [1]  # resolved only the day after: overdue that day


def test_the_due_list_per_worker():
    requests, _ = _frames()
    listed = rq.due_list(requests, T0 + 11 * H)
    assert list(listed["id"]) == [1] and list(listed["worker_id"]) == [7]  # due in 1 h
    later = rq.due_list(requests, T0 + 21 * H)  # 1 overdue, 3 due in 23 h
    assert list(later["id"]) == [1, 3] and list(later["urgency"]) == ["overdue", "due_soon"]
    wider = rq.due_list(requests, T0 + 21 * H, hours=settings.REQUEST_DUE_LIST_HOURS + 24)
    assert set(wider["id"]) == {1, 2, 3, 5}


def test_the_command_on_the_demo(demo_db_url: str) -> None:
    from gridmap.db import open_database

    engine = open_database(demo_db_url)
    now = rq.street_now(engine)
    expected = rq.digest_for(engine, now)
    result = CliRunner().invoke(main, ["requests", "digest", "--format", "json",
                                       "--db", demo_db_url])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["day"] == str(rq.digest_day(now)) and data["counts"] == expected.counts()
    assert [r["code"] for r in data["overdue"]] == list(expected.overdue["code"])
    text = CliRunner().invoke(main, ["requests", "digest", "--date", "2026-10-15",
                                     "--db", demo_db_url])  # fmt: skip
    assert text.exit_code == 0 and "2026-10-15" in text.output and "超期" in text.output
    bad = CliRunner().invoke(main, ["requests", "digest", "--date", "2027-01-01",
                                    "--db", demo_db_url])  # fmt: skip
    assert bad.exit_code == InputError.exit_code and "has not begun" in bad.output
