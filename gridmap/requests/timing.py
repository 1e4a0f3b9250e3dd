"""Request time: the app's "now" (:func:`clock`, never before the latest recorded event,
:func:`latest_event_at`), naive local datetimes (:func:`naive_local`), each category's service
level (:func:`sla_hours`), due times, which requests are overdue (:func:`overdue_mask`), and
the worklist of open requests by urgency (:func:`worklist`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from gridmap import settings
from gridmap.db import connect
from gridmap.errors import InputError
from gridmap.i18n import pair
from gridmap.models import RequestStatus
from gridmap.repository import table
from gridmap.requests.states import OPEN_STATUSES

S = RequestStatus


def clock(latest: dt.datetime | None = None) -> dt.datetime:
    """The app's "now": the local wall clock (naive, :data:`settings.LOCAL_TIMEZONE`), never
    earlier than the latest recorded event (``latest``), so a new event never precedes one."""
    now = dt.datetime.now(zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE)).replace(tzinfo=None)
    now = now.replace(microsecond=0)
    if latest is not None and pd.notna(latest) and latest > now:
        return pd.Timestamp(latest).to_pydatetime()
    return now


def naive_local(now: dt.datetime) -> dt.datetime:
    """A naive local datetime (stored times are naive local time)."""
    if not isinstance(now, dt.datetime):
        raise InputError(f"时间必须是日期时间 / now must be a datetime, not {now!r}")
    if now.tzinfo is not None:
        now = now.astimezone(zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE)).replace(tzinfo=None)
    return now.replace(microsecond=0)


def sla_hours(category: str) -> int:
    """Hours to resolve a request of ``category`` (its service level)."""
    return settings.REQUEST_SLA_HOURS.get(category, settings.DEFAULT_SLA_HOURS)


def due_times(categories: pd.Series, received: pd.Series) -> pd.Series:
    """Due time of each request: received time + its category's service level (vectorised).

    Parameters
    ----------
    categories : Series of str
    received : Series of datetime64

    Returns
    -------
    Series of datetime64, aligned with ``received``.
    """
    hours = pd.Series(categories, copy=False).map(settings.REQUEST_SLA_HOURS)
    hours = hours.fillna(settings.DEFAULT_SLA_HOURS).astype(float)
    return pd.to_datetime(pd.Series(received, copy=False)) + pd.to_timedelta(
        hours.to_numpy(), unit="h"
    )


def overdue_mask(requests: pd.DataFrame, now: dt.datetime, open_only: bool = False) -> pd.Series:
    """Which requests are overdue: not resolved by their due time.

    An open request is overdue when ``now`` is past its due time; a resolved (or evaluated) one
    when it was resolved after its due time. Rejected requests and requests without a due time
    are never overdue.

    Parameters
    ----------
    requests : DataFrame
        Columns ``status``, ``due_at``, ``resolved_at``.
    now : datetime
    open_only : bool
        Count only open requests that are past due now (the map's "overdue").
    """
    now = pd.Timestamp(naive_local(now))
    due = pd.to_datetime(requests["due_at"])
    resolved = pd.to_datetime(requests["resolved_at"])
    status = requests["status"].astype(str)
    is_open = status.isin(OPEN_STATUSES)
    late_open = is_open & (due < now)
    if open_only:
        return late_open.fillna(False).astype(bool)
    late_done = status.isin([S.resolved.value, S.evaluated.value]) & (resolved > due)
    return (late_open | late_done).fillna(False).astype(bool)


#: Urgency of an open request on the worklist: (中文, English), most urgent first.
URGENCY_LABELS: dict[str, tuple[str, str]] = {
    "overdue": pair("已超期"),
    "due_soon": pair("将到期"),
    "open": pair("在办"),
}


def worklist(
    requests: pd.DataFrame, now: dt.datetime, soon_hours: float | None = None
) -> pd.DataFrame:
    """The open requests to act on, most urgent first: overdue, then due within
    ``soon_hours`` (default :data:`gridmap.settings.REQUEST_DUE_SOON_HOURS`), then the rest;
    within each, the earliest due first.

    Parameters
    ----------
    requests : DataFrame
        Columns ``status`` and ``due_at`` (as :func:`gridmap.requests.load_requests`, already
        cut to the user's scope: a grid worker's own grid).
    now : datetime
        The street's "now" (:func:`gridmap.requests.street_now`).

    Returns
    -------
    DataFrame
        The open rows with ``urgency`` (a key of :data:`URGENCY_LABELS`) and ``hours_left``
        (negative when overdue; NaN without a due time).
    """
    soon = settings.REQUEST_DUE_SOON_HOURS if soon_hours is None else soon_hours
    now = pd.Timestamp(naive_local(now))
    rows = requests[requests["status"].astype(str).isin(OPEN_STATUSES)].copy()
    hours_left = (pd.to_datetime(rows["due_at"]) - now) / pd.Timedelta(hours=1)
    urgency = pd.Series("open", index=rows.index, dtype=object)
    urgency[hours_left <= soon] = "due_soon"
    urgency[hours_left < 0] = "overdue"
    rows["urgency"], rows["hours_left"] = urgency, hours_left
    order = urgency.map({key: k for k, key in enumerate(URGENCY_LABELS)})
    return (
        rows.assign(_order=order)
        .sort_values(["_order", "due_at"], na_position="last", kind="stable")
        .drop(columns="_order")
    )


def latest_event_at(engine: Engine | Connection) -> dt.datetime | None:
    """Time of the latest request event (for :func:`clock`)."""
    ev = table("request_event")
    with connect(engine) as conn:
        return conn.execute(select(func.max(ev.c.at))).scalar()


def street_now(engine: Engine | Connection) -> dt.datetime:
    """The one "now" of every page, report and command, so overdue counts agree everywhere.

    The demo street lives at its reference date (its requests are dated to it:
    :data:`settings.DEMO_REFERENCE_DATE`, 00:00); any other street at the local wall clock
    (:func:`clock`, :data:`settings.LOCAL_TIMEZONE`). Never earlier than the latest recorded
    event, so a new step never precedes one.
    """
    from gridmap.auth import is_demo_database

    latest = latest_event_at(engine)
    if not is_demo_database(engine):
        return clock(latest)
    base = dt.datetime.combine(settings.DEMO_REFERENCE_DATE, dt.time())
    if latest is not None and pd.notna(latest) and latest > base:
        return pd.Timestamp(latest).to_pydatetime()
    return base
