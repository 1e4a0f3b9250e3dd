"""What is due and what happened (issue 22, item 5): each grid worker's due list — open
requests overdue or due within :data:`~gridmap.settings.REQUEST_DUE_LIST_HOURS` — by
:func:`due_list`, and the street's digest of a day for the morning meeting (new, overdue,
escalated, low ratings; :func:`day_digest` on frames, :func:`digest_for` from a database).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, Engine, select

from gridmap import settings
from gridmap.auth import Principal, current_principal, mask_frame
from gridmap.db import connect
from gridmap.errors import InputError
from gridmap.i18n import Language, pair, text
from gridmap.models import AssigneeKind, RequestStatus
from gridmap.repository import table
from gridmap.requests.loading import load_requests
from gridmap.requests.states import ASSIGNEE_LABELS, RATING_NOTE_PATTERN, STATUS_LABELS
from gridmap.requests.timing import naive_local, worklist

S = RequestStatus

#: Columns of the request tables of a digest and of :func:`due_list`.
DIGEST_COLUMNS: tuple[str, ...] = (
    "id", "code", "category", "status", "grid_id", "received_at", "due_at", "hours_left",
    "assignee_kind", "assignee_id",
)  # fmt: skip


def due_list(requests: pd.DataFrame, now: dt.datetime, hours: float | None = None) -> pd.DataFrame:
    """The open requests overdue or due within ``hours`` (default
    :data:`~gridmap.settings.REQUEST_DUE_LIST_HOURS`) of ``now``, the most urgent first, with
    ``worker_id``: the grid worker holding it (NA for a request with a member, a department,
    the street or nobody yet — the grid's to see to).

    Parameters
    ----------
    requests : DataFrame
        As :func:`gridmap.requests.load_requests` gives it (already cut to a scope).
    now : datetime
    hours : float, optional
    """
    hours = settings.REQUEST_DUE_LIST_HOURS if hours is None else float(hours)
    rows = worklist(requests, now, soon_hours=hours)
    rows = rows[rows["urgency"].isin(["overdue", "due_soon"])]
    worker = rows["assignee_kind"].astype(object).eq(AssigneeKind.grid_worker.value)
    rows = rows.assign(
        worker_id=pd.array(rows["assignee_id"].where(worker), dtype="Int64"),
    )
    return rows[[*DIGEST_COLUMNS, "urgency", "worker_id"]].reset_index(drop=True)


@dataclass
class Digest:
    """The digest of one day (:func:`day_digest`).

    Attributes
    ----------
    day : date
        The day reported on (00:00 to 24:00, local time).
    as_of : datetime
        When the open requests' state is read: the end of the day, or now if earlier.
    new, escalated, low_ratings, overdue, due_soon : DataFrame
        Requests received that day; escalated to the street that day; rated at most
        :data:`~gridmap.settings.REQUEST_REOPEN_MAX_RATING` that day (``rating`` the one
        given, also when the request was reopened since); open and overdue at ``as_of``; open
        and due within :data:`~gridmap.settings.REQUEST_DUE_LIST_HOURS` of it.
    by_worker : DataFrame
        Per grid worker (``worker_id, worker_name``; NA: nobody holds it yet): ``overdue``
        and ``due_soon`` counts.
    """

    day: dt.date
    as_of: dt.datetime
    new: pd.DataFrame
    escalated: pd.DataFrame
    low_ratings: pd.DataFrame
    overdue: pd.DataFrame
    due_soon: pd.DataFrame
    by_worker: pd.DataFrame = field(default_factory=pd.DataFrame)

    def counts(self) -> dict[str, int]:
        """How many of each: ``new, escalated, low_ratings, overdue, due_soon``."""
        return {k: len(getattr(self, k)) for k in DIGEST_PARTS}


#: The parts of a digest, in reading order.
DIGEST_PARTS: tuple[str, ...] = ("new", "overdue", "due_soon", "escalated", "low_ratings")


def day_digest(
    requests: pd.DataFrame,
    events: pd.DataFrame,
    day: dt.date,
    now: dt.datetime,
    workers: pd.DataFrame | None = None,
) -> Digest:
    """The digest of ``day`` (vectorised).

    Parameters
    ----------
    requests : DataFrame
        As :func:`gridmap.requests.load_requests` (cut to the scope).
    events : DataFrame
        ``request_id, at, to_status, note`` of the requests' events, at least those before the
        day's end (the status of each request then is that of its last event before it).
    day : date
    now : datetime
        The street's "now": a day not over yet is read as of now.
    workers : DataFrame, optional
        ``id, name`` of grid workers, for ``by_worker``.
    """
    start = pd.Timestamp(dt.datetime.combine(day, dt.time()))
    end = start + pd.Timedelta(days=1)
    as_of = min(end, pd.Timestamp(naive_local(now)))
    if as_of <= start:
        raise InputError(
            f"{day} 还未开始 / {day} has not begun yet (now: {naive_local(now):%Y-%m-%d %H:%M})"
        )
    # the requests as they stood at as_of: received by then, each in the status of its last
    # event before then (a past day's digest counts what was overdue that day)
    received = pd.to_datetime(requests["received_at"])
    at = pd.to_datetime(events["at"])
    before = events[at < as_of].assign(_at=at).sort_values(["_at"], kind="stable")
    status_then = before.groupby("request_id")["to_status"].last().astype(str)
    known = requests[received < as_of]
    known = known.assign(status=known["id"].map(status_then).fillna(known["status"].astype(str)))
    hours = (pd.to_datetime(known["due_at"]) - as_of) / pd.Timedelta(hours=1)
    shown = known.assign(hours_left=hours.round(1))

    new = shown[(received[shown.index] >= start)]
    due = due_list(known, as_of.to_pydatetime())
    due = due.assign(hours_left=due["hours_left"].round(1))
    today = events[(at >= start) & (at < end)]
    up = today.loc[today["to_status"].astype(str).eq(S.escalated.value), "request_id"]
    rated = today[today["to_status"].astype(str).eq(S.evaluated.value)]
    given = pd.to_numeric(rated["note"].astype(str).str.extract(RATING_NOTE_PATTERN)[0])
    low = rated.assign(rating=given)
    low = low[low["rating"] <= settings.REQUEST_REOPEN_MAX_RATING]
    low_rows = shown.drop(columns=["rating"]).merge(
        low[["request_id", "rating"]].drop_duplicates("request_id", keep="last"),
        left_on="id", right_on="request_id",
    )  # fmt: skip
    by_worker = (
        due.assign(worker_id=due["worker_id"].astype("Int64"))
        .groupby("worker_id", dropna=False)["urgency"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=["overdue", "due_soon"], fill_value=0)
        .reset_index()
    )
    names = workers.set_index("id")["name"] if workers is not None and len(workers) else None
    by_worker.insert(
        1, "worker_name", by_worker["worker_id"].map(names) if names is not None else None
    )
    cols = list(DIGEST_COLUMNS)
    return Digest(
        day=day,
        as_of=as_of.to_pydatetime(),
        new=new[cols].sort_values("received_at").reset_index(drop=True),
        escalated=shown[shown["id"].isin(up)][cols].reset_index(drop=True),
        low_ratings=low_rows[[*cols, "rating"]].reset_index(drop=True),
        overdue=due[due["urgency"] == "overdue"][[*cols, "worker_id"]].reset_index(drop=True),
        due_soon=due[due["urgency"] == "due_soon"][[*cols, "worker_id"]].reset_index(drop=True),
        by_worker=by_worker.sort_values(["overdue", "due_soon"], ascending=False).reset_index(
            drop=True
        ),
    )


def digest_day(now: dt.datetime) -> dt.date:
    """The day a digest reports by default at ``now``: the last whole day before it."""
    return (naive_local(now) - dt.timedelta(seconds=1)).date()


def digest_for(
    engine: Engine | Connection,
    now: dt.datetime,
    day: dt.date | None = None,
    scope: Principal | None = None,
    personal_data: bool = False,
) -> Digest:
    """:func:`day_digest` of a database, of the requests ``scope`` (default: the acting
    principal) may see; grid workers' names masked unless ``personal_data``."""
    p = scope if scope is not None else current_principal()
    day = digest_day(now) if day is None else day
    ev, person = table("request_event"), table("person")
    with connect(engine) as conn:
        requests = load_requests(conn, p)
        start = dt.datetime.combine(day, dt.time())
        rows = conn.execute(
            select(ev.c.request_id, ev.c.at, ev.c.to_status, ev.c.note).where(
                ev.c.at < start + dt.timedelta(days=1)
            )
        ).fetchall()
        events = pd.DataFrame(rows, columns=["request_id", "at", "to_status", "note"])
        events = events[events["request_id"].isin(requests["id"])]
        ids = [int(v) for v in requests["assignee_id"].dropna().unique()]
        people = pd.DataFrame(
            conn.execute(select(person.c.id, person.c.name).where(person.c.id.in_(ids))).all(),
            columns=["id", "name"],
        )
    people = mask_frame(people, p, names=("name",), personal_data=personal_data)
    return day_digest(requests, events, day, now, people)


#: The titles of a digest's parts: key → (中文, English).
DIGEST_TITLES: dict[str, tuple[str, str]] = {
    "new": pair("新受理"),
    "overdue": pair("超期未办结"),
    "due_soon": pair("即将到期"),
    "escalated": pair("上报街道"),
    "low_ratings": pair("差评"),
    "by_worker": pair("网格员到期情况"),
}
#: Column names of a digest's tables, in Chinese and English.
DIGEST_LABELS: dict[str, tuple[str, str]] = {
    "code": pair("编号"),
    "category": pair("类别"),
    "status": pair("状态"),
    "grid_code": pair("网格"),
    "received_at": pair("受理时间"),
    "due_at": pair("办结时限"),
    "hours_left": pair("剩余(小时)"),
    "assignee": pair("承办"),
    "rating": pair("评价(星)"),
    "worker_name": pair("网格员"),
    "overdue": pair("超期(件)"),
    "due_soon": pair("将到期(件)"),
}


def localise_digest(
    frame: pd.DataFrame,
    lang: Language = "zh",
    grid_codes: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """A table of a :class:`Digest` as people read it: columns named in ``lang``, statuses and
    assignees in words, grid codes for grid ids, times to the minute, "—" where nothing is
    known (no due time), ids dropped."""
    k = 0 if lang == "zh" else 1
    out = frame.copy()
    if "status" in out:
        out["status"] = out["status"].map(lambda v: STATUS_LABELS[str(v)][k])
    if "assignee_kind" in out:
        kinds = out["assignee_kind"].astype(object)
        out["assignee"] = kinds.map(lambda v: "—" if pd.isna(v) else ASSIGNEE_LABELS[str(v)][k])
    if "grid_id" in out:
        codes = dict(grid_codes or {})
        out["grid_code"] = out["grid_id"].map(lambda g: "—" if pd.isna(g) else codes.get(int(g)))
    if "worker_name" in out:
        none = text("未派网格员", lang)
        out["worker_name"] = out["worker_name"].where(out["worker_id"].notna(), none)
    for col in ("received_at", "due_at"):
        if col in out:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d %H:%M")
    keep = [c for c in DIGEST_LABELS if c in out]
    out = out[keep].astype(object).where(out[keep].notna(), "—")
    return out.rename(columns={c: DIGEST_LABELS[c][k] for c in keep})


def digest_tables(
    digest: Digest, lang: Language = "zh", grid_codes: Mapping[int, str] | None = None
) -> dict[str, pd.DataFrame]:
    """Every table of ``digest``, localised, by title (the sheets of its Excel download)."""
    k = 0 if lang == "zh" else 1
    parts = [*DIGEST_PARTS, "by_worker"]
    return {
        DIGEST_TITLES[p][k]: localise_digest(getattr(digest, p), lang, grid_codes) for p in parts
    }
