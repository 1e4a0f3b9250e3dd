"""The monthly assessment of request handling (接诉即办 三率): response, resolution,
satisfaction and on-time rates per month and per street, community, grid, grid worker or member
(:func:`request_rates`), ranked by a weighted score (:func:`rank_month`); read from a database
within a principal's scope (:func:`rates_for`), with the definitions shown to users
(:func:`rate_definitions`) and column names in Chinese or English (:func:`localise_rates`).

Definitions (thresholds in :mod:`gridmap.settings`). A request belongs to the month it was
received in. Rejected requests (不予受理) are counted apart, duplicates (rejected with the reason
code ``duplicate``) apart from them; the rest are the month's *accepted* requests.

- response rate (响应率): accepted requests first acted on — assigned, dispatched, sent to a
  department or escalated — within :data:`~gridmap.settings.REQUEST_RESPONSE_HOURS` of receipt;
- resolution rate (解决率): accepted requests resolved (办结, evaluated or not) that the resident
  did not call partly solved or not solved; the partly solved are a rate of their own;
- satisfaction rate (满意率): of the accepted requests the resident rated, those rated at least
  :data:`~gridmap.settings.REQUEST_SATISFIED_MIN_RATING`;
- on-time rate (按时办结率): of the accepted requests whose time limit (their category's service
  level) has come — resolved, or open past their due time — those resolved by it.

A unit with fewer than :data:`~gridmap.settings.MIN_RANKED_REQUESTS` accepted requests in a month
is shown but not ranked. The score (0–100) is the weighted mean of the unit's rates with the
street's weights (:data:`~gridmap.settings.REQUEST_RATE_WEIGHTS`, kind ``request_rates`` of
:mod:`gridmap.weights`); a rate with nothing to count (no request rated) is left out of the mean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from gridmap import settings
from gridmap.auth import Principal, current_principal, mask_frame
from gridmap.db import connect
from gridmap.errors import InputError, PermissionDenied
from gridmap.i18n import Language, pair, text
from gridmap.models import CloseReason, RequestStatus
from gridmap.repository import table
from gridmap.requests.loading import load_requests, member_table
from gridmap.requests.timing import naive_local

S = RequestStatus

#: The units rates are counted for: key → (中文, English).
RATE_UNITS: dict[str, tuple[str, str]] = {
    "street": pair("街道"),
    "community": pair("社区"),
    "grid": pair("网格"),
    "worker": pair("网格员"),
    "member": pair("党员领单", "assignee"),
}
#: The rates, in the order they are shown: key → (中文, English).
RATES: dict[str, tuple[str, str]] = {
    "response": pair("响应率"),
    "resolution": pair("解决率"),
    "satisfaction": pair("满意率"),
    "on_time": pair("按时办结率"),
}
#: Columns of :func:`request_rates` after ``month, unit_id, unit_code, unit_name``.
RATE_COLUMNS: tuple[str, ...] = (
    "requests",
    "rejected",
    "duplicates",
    "accepted",
    "responded",
    "response_rate",
    "resolved",
    "partly_solved",
    "resolution_rate",
    "partly_solved_rate",
    "evaluated",
    "satisfied",
    "satisfaction_rate",
    "due",
    "on_time",
    "on_time_rate",
    "score",
    "ranked",
    "rank",
)
RATE_LABELS: dict[str, tuple[str, str]] = {
    "month": pair("月份"),
    "unit_code": pair("编码"),
    "unit_name": pair("名称"),
    "requests": pair("诉求(件)"),
    "rejected": pair("不予受理(件)"),
    "duplicates": pair("重复诉求(件)"),
    "accepted": pair("受理(件)"),
    "responded": pair("按时响应(件)"),
    "response_rate": pair("响应率(%)"),
    "resolved": pair("已解决(件)"),
    "partly_solved": pair("部分解决(件)"),
    "resolution_rate": pair("解决率(%)"),
    "partly_solved_rate": pair("部分解决率(%)"),
    "evaluated": pair("已评价(件)"),
    "satisfied": pair("满意(件)"),
    "satisfaction_rate": pair("满意率(%)"),
    "due": pair("已到办结时限(件)"),
    "on_time": pair("按时办结(件)"),
    "on_time_rate": pair("按时办结率(%)"),
    "score": pair("考核得分(分)"),
    "ranked": pair("参与排名"),
    "rank": pair("排名"),
}
#: What each request counts for (:func:`request_facts`), summed per unit and month.
_FACTS: tuple[str, ...] = ("rejected", "duplicates", "accepted", "responded", "resolved",
                           "partly_solved", "evaluated", "satisfied", "due", "on_time")  # fmt: skip
#: The rate columns: rate key → (numerator, denominator, rate column).
_PARTS: dict[str, tuple[str, str, str]] = {
    "response": ("responded", "accepted", "response_rate"),
    "resolution": ("resolved", "accepted", "resolution_rate"),
    "satisfaction": ("satisfied", "evaluated", "satisfaction_rate"),
    "on_time": ("on_time", "due", "on_time_rate"),
}


def rate_units(principal: Principal | None = None) -> tuple[str, ...]:
    """The units worth assessing in ``principal``'s view (default: the acting one): a
    street-wide view every unit, a community's from the community down, a grid worker's from
    the grid down (a wider unit would hold only its own requests); worker and member units
    never for a role that sees aggregates only."""
    p = principal if principal is not None else current_principal()
    units = tuple(RATE_UNITS)
    if p.grid_id is not None or p.role == "grid_worker":
        units = ("grid", "worker", "member")
    elif p.community_id is not None:
        units = ("community", "grid", "worker", "member")
    if p.aggregates_only:
        units = tuple(u for u in units if u not in ("worker", "member"))
    return units


def month_of(value: str | dt.date) -> pd.Period:
    """The month ``value`` names (``YYYY-MM`` or a date), as a monthly Period.

    Raises
    ------
    InputError
        For anything else.
    """
    if isinstance(value, dt.date):
        return pd.Period(value, freq="M")
    text_value = str(value).strip()
    try:
        if len(text_value) != 7 or text_value[4] != "-":
            raise ValueError(text_value)
        return pd.Period(text_value, freq="M")
    except ValueError:
        raise InputError(
            f"月份须写作 YYYY-MM(如 2026-10) / month must be YYYY-MM (e.g. 2026-10), not {value!r}"
        ) from None


def assessed_month(now: dt.datetime) -> pd.Period:
    """The month assessed by default at ``now``: the last whole month before it."""
    return pd.Period(naive_local(now), freq="M") - 1


def request_facts(
    requests: pd.DataFrame, first_action: pd.Series, now: dt.datetime
) -> pd.DataFrame:
    """What each request counts for, one row per request (vectorised).

    Parameters
    ----------
    requests : DataFrame
        ``id, status, received_at, due_at, resolved_at, rating, outcome, close_reason`` (as
        :func:`gridmap.requests.load_requests`).
    first_action : Series
        Time of each request's first action (assigned, dispatched, sent to a department or
        escalated), indexed by request id; requests never acted on absent.
    now : datetime
        Whether an open request's time limit has come.

    Returns
    -------
    DataFrame
        ``month`` (Period) and the boolean columns ``rejected, duplicates, accepted, responded,
        resolved, partly_solved, evaluated, satisfied, due, on_time``, aligned with
        ``requests``.
    """
    now = pd.Timestamp(naive_local(now))
    status = requests["status"].astype(str)
    reason = requests["close_reason"].astype(object).where(requests["close_reason"].notna(), "")
    outcome = requests["outcome"].astype(object).where(requests["outcome"].notna(), "")
    received = pd.to_datetime(requests["received_at"])
    due_at = pd.to_datetime(requests["due_at"])
    resolved_at = pd.to_datetime(requests["resolved_at"])
    acted = pd.to_datetime(requests["id"].map(first_action))
    rating = pd.to_numeric(requests["rating"], errors="coerce").astype(float)

    is_rejected = status.eq(S.rejected.value)
    duplicate = is_rejected & reason.eq(CloseReason.duplicate.value)
    accepted = ~is_rejected
    done = status.isin([S.resolved.value, S.evaluated.value])
    window = pd.Timedelta(hours=float(settings.REQUEST_RESPONSE_HOURS))
    responded = accepted & (acted - received).le(window)
    partly = accepted & done & outcome.eq("partly_solved")
    resolved = accepted & done & ~outcome.isin(["partly_solved", "not_solved"])
    evaluated = accepted & rating.notna()
    satisfied = evaluated & rating.ge(settings.REQUEST_SATISFIED_MIN_RATING)
    due = accepted & due_at.notna() & (done | due_at.lt(now))
    on_time = due & done & resolved_at.le(due_at)
    return pd.DataFrame(
        {
            "month": received.dt.to_period("M"),
            "rejected": is_rejected & ~duplicate,
            "duplicates": duplicate,
            "accepted": accepted,
            "responded": responded.fillna(False),
            "resolved": resolved,
            "partly_solved": partly,
            "evaluated": evaluated,
            "satisfied": satisfied,
            "due": due,
            "on_time": on_time.fillna(False),
        },
        index=requests.index,
    )


def request_rates(
    requests: pd.DataFrame,
    first_action: pd.Series,
    now: dt.datetime,
    unit: pd.Series,
    names: pd.DataFrame | None = None,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The rates of every unit in every month, with the score and the month's ranking.

    Parameters
    ----------
    requests : DataFrame
        As :func:`request_facts` takes it.
    first_action : Series
        See :func:`request_facts`.
    now : datetime
    unit : Series
        The unit each request is counted for (an id), aligned with ``requests``; NA: none
        (a request in no grid, counted for no grid), left out.
    names : DataFrame, optional
        ``id, code, name`` of the units (missing: code and name empty).
    weights : mapping, optional
        Points per rate (keys of :data:`RATES`); default
        :data:`gridmap.settings.REQUEST_RATE_WEIGHTS`.

    Returns
    -------
    DataFrame
        ``month`` (``YYYY-MM``), ``unit_id, unit_code, unit_name`` and :data:`RATE_COLUMNS`:
        counts, rates in percent (NaN where nothing is counted), ``score`` (0–100, NaN when no
        rate could be counted), ``ranked`` (at least ``MIN_RANKED_REQUESTS`` accepted) and
        ``rank`` (1 = best in the month among the ranked; NA for the unranked). Sorted by month,
        then rank.
    """
    facts = request_facts(requests, first_action, now)
    facts["unit_id"] = pd.array(unit, dtype="Int64")
    facts = facts[facts["unit_id"].notna()]
    grouped = facts.groupby(["month", "unit_id"], sort=True)
    out = grouped[list(_FACTS)].sum().astype("int64")
    out.insert(0, "requests", grouped.size().astype("int64"))
    out = _with_rates(out, weights)
    out["ranked"] = out["accepted"] >= settings.MIN_RANKED_REQUESTS
    out = out.reset_index()
    out["rank"] = _ranks(out)
    out["month"] = out["month"].astype(str)
    known = names.set_index("id") if names is not None and len(names) else None
    ids = out["unit_id"].astype("int64")
    out.insert(2, "unit_code", ids.map(known["code"]) if known is not None else None)
    out.insert(3, "unit_name", ids.map(known["name"]) if known is not None else None)
    out = out.sort_values(["month", "rank", "unit_code"], na_position="last", kind="stable")
    return out[["month", "unit_id", "unit_code", "unit_name", *RATE_COLUMNS]].reset_index(drop=True)


def total_rates(rows: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.Series:
    """The rates of several rows of :func:`request_rates` together (a month's street-wide
    figures from its communities): the counts summed, the rates and the score recomputed."""
    total = rows[["requests", *_FACTS]].sum().astype("int64").to_frame().T
    return _with_rates(total, weights).iloc[0]


def _with_rates(counts: pd.DataFrame, weights: Mapping[str, float] | None) -> pd.DataFrame:
    """``counts`` (``requests`` and :data:`_FACTS`) with the rates and the score added."""
    for num, den, col in _PARTS.values():
        counts[col] = _percent(counts[num], counts[den])
    counts["partly_solved_rate"] = _percent(counts["partly_solved"], counts["accepted"])
    counts["score"] = score(counts, weights)
    return counts


def _percent(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    den = denominator.astype(float)
    return (100.0 * numerator.astype(float) / den.where(den > 0)).round(1)


def score(rates: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.Series:
    """The assessment score (0–100) of each row of rates: the weighted mean of its rate
    columns (``response_rate`` …), each rate NaN left out with its weight; NaN when none is
    left or the weights of those left are all 0."""
    w = dict(settings.REQUEST_RATE_WEIGHTS if weights is None else weights)
    unknown = set(w) - set(RATES)
    if unknown:
        raise InputError(f"未知的考核指标 / unknown rates in the weights: {sorted(unknown)}")
    cols = [_PARTS[r][2] for r in RATES]
    values = rates[cols].to_numpy(dtype=float)
    weight = np.array([float(w.get(r, 0.0)) for r in RATES])
    counted = ~np.isnan(values)
    total = (counted * weight).sum(axis=1)
    points = np.where(counted, values, 0.0) @ weight
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.where(total > 0, points / total, np.nan)
    return pd.Series(result, index=rates.index).round(1)


def _ranks(rates: pd.DataFrame) -> pd.Series:
    """Rank within each month among the ranked rows with a score: 1 the best, ties alike."""
    eligible = rates["ranked"] & rates["score"].notna()
    ranks = (
        rates["score"].where(eligible).groupby(rates["month"]).rank(method="min", ascending=False)
    )
    return pd.array(ranks, dtype="Int64")


#: The columns of a month's assessment (:func:`rank_month`), in reading order: who and where
#: it ranks, its score and rates, then the counts behind them.
ASSESSMENT_COLUMNS: tuple[str, ...] = (
    "rank",
    "unit_name",
    "unit_code",
    "score",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "on_time_rate",
    "partly_solved_rate",
    "accepted",
    "requests",
    "rejected",
    "duplicates",
    "responded",
    "resolved",
    "partly_solved",
    "evaluated",
    "satisfied",
    "due",
    "on_time",
    "ranked",
    "unit_id",
)


def rank_month(rates: pd.DataFrame, month: str | dt.date) -> pd.DataFrame:
    """The assessment of one month: its rows of :func:`request_rates`, ranked units first,
    columns :data:`ASSESSMENT_COLUMNS` (the month left out)."""
    wanted = str(month_of(month))
    rows = rates[rates["month"] == wanted]
    return rows[list(ASSESSMENT_COLUMNS)].reset_index(drop=True)


def unit_series(rates: pd.DataFrame, unit_id: int) -> pd.DataFrame:
    """One unit's rates month by month (every month between its first and last, a month
    without requests as NaN rates and zero counts), indexed by month (``YYYY-MM``)."""
    rows = rates[rates["unit_id"] == int(unit_id)].set_index("month")
    if rows.empty:
        return rows
    months = pd.period_range(min(rows.index), max(rows.index), freq="M").astype(str)
    full = rows.reindex(months)
    counts = ["requests", *_FACTS]
    full[counts] = full[counts].fillna(0).astype("int64")
    full["ranked"] = full["ranked"].astype("boolean").fillna(False).astype(bool)
    full.index.name = "month"
    return full


def first_actions(conn: Connection, request_ids: pd.Series | None = None) -> pd.Series:
    """Time of each request's first action (a step out of ``received`` to ``assigned`` or
    ``escalated``), indexed by request id: one grouped query."""
    ev = table("request_event")
    query = (
        select(ev.c.request_id, func.min(ev.c.at).label("at"))
        .where(
            ev.c.from_status == S.received.value,
            ev.c.to_status.in_([S.assigned.value, S.escalated.value]),
        )
        .group_by(ev.c.request_id)
    )
    rows = conn.execute(query).fetchall()
    series = pd.Series(
        pd.to_datetime([r.at for r in rows]),
        index=pd.Index([int(r.request_id) for r in rows], name="request_id"),
        dtype="datetime64[ns]",
    )
    if request_ids is not None:
        series = series[series.index.isin(request_ids)]
    return series


def _units(
    conn: Connection, requests: pd.DataFrame, by: str, p: Principal, personal_data: bool
) -> tuple[pd.Series, pd.DataFrame]:
    """Each request's unit of ``by`` and the units' ``id, code, name``."""
    grid, plan, com, street = table("grid"), table("grid_plan"), table("community"), table("street")
    grids = pd.DataFrame(
        conn.execute(
            select(grid.c.id, grid.c.code, grid.c.name, plan.c.community_id).join(
                plan, plan.c.id == grid.c.plan_id
            )
        ).fetchall(),
        columns=["id", "code", "name", "community_id"],
    )
    grid_id = pd.array(requests["grid_id"], dtype="Int64")
    if by == "grid":
        return pd.Series(grid_id, index=requests.index), grids
    if by in ("worker", "member"):
        kind = "grid_worker" if by == "worker" else "member"
        mine = requests["assignee_kind"].astype(object).eq(kind)
        unit = pd.Series(pd.array(requests["assignee_id"], dtype="Int64"), index=requests.index)
        unit = unit.where(mine, pd.NA)
        if by == "member":
            members = member_table(conn, personal_data=personal_data, scope=p)
            names = members.assign(code="#" + members["id"].astype(str))
        else:
            person = table("person")
            ids = [int(v) for v in unit.dropna().unique()]
            rows = conn.execute(
                select(person.c.id, person.c.name).where(person.c.id.in_(ids))
            ).fetchall()
            people = pd.DataFrame(rows, columns=["id", "name"])
            people = mask_frame(people, p, names=("name",), personal_data=personal_data)
            names = people.assign(code="#" + people["id"].astype(str))
        return unit, names[["id", "code", "name"]]
    to_community = grids.set_index("id")["community_id"]
    community = pd.Series(grid_id, index=requests.index).map(to_community)
    communities = pd.DataFrame(
        conn.execute(select(com.c.id, com.c.code, com.c.name, com.c.street_id)).fetchall(),
        columns=["id", "code", "name", "street_id"],
    )
    if by == "community":
        return community.astype("Int64"), communities[["id", "code", "name"]]
    streets = pd.DataFrame(
        conn.execute(select(street.c.id, street.c.code, street.c.name)).fetchall(),
        columns=["id", "code", "name"],
    )
    unit = community.map(communities.set_index("id")["street_id"]).astype("Int64")
    if len(streets) == 1:  # a request placed in no grid still lies in the only street
        unit = unit.fillna(int(streets["id"].iloc[0]))
    return unit, streets


def rates_for(
    engine: Engine | Connection,
    now: dt.datetime,
    by: str = "community",
    personal_data: bool = False,
    scope: Principal | None = None,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """:func:`request_rates` for a database, of the requests ``scope`` may see.

    Parameters
    ----------
    engine : Engine or Connection
    now : datetime
        The street's "now" (:func:`gridmap.requests.street_now`).
    by : {"street", "community", "grid", "worker", "member"}
        The unit: a request counts for its grid, that grid's community and street, the grid
        worker it is assigned to, or the member who took it (党员领单).
    personal_data : bool
        Worker and member names in full, when the role may read them (else masked, 张*明).
    scope : Principal, optional
        Whose view (default: the acting principal): only its requests are counted.
    weights : mapping, optional
        Points per rate; default the street's own (:func:`gridmap.weights.street_weights`).

    Raises
    ------
    PermissionDenied
        Rates per grid worker or member for a role that sees aggregates only (planners).
    InputError
        For an unknown ``by``.
    """
    if by not in RATE_UNITS:
        raise InputError(f"考核单位无效 / unknown unit {by!r}: use one of {', '.join(RATE_UNITS)}")
    p = scope if scope is not None else current_principal()
    if by in ("worker", "member") and p.aggregates_only:
        raise PermissionDenied(
            "无权限:规划人员只能查看汇总数据,不能按网格员或党员考核 / permission denied: a "
            "planner sees aggregates only, not rates per grid worker or member"
        )
    from gridmap.weights import street_weights

    with connect(engine) as conn:
        requests = load_requests(conn, p)
        acted = first_actions(conn, requests["id"])
        unit, names = _units(conn, requests, by, p, personal_data)
        if weights is None:
            weights = street_weights(conn, "request_rates", p.street_id)
    return request_rates(requests, acted, now, unit, names, weights)


def rate_definitions(lang: Language = "zh") -> dict[str, str]:
    """How each rate is counted, in ``lang``, with the thresholds in force: rate key →
    sentence, plus ``ranking`` (who is ranked, and by what)."""
    return {
        "response": text(
            "响应率 = {REQUEST_RESPONSE_HOURS:g} 小时内首次响应(派单、党员领单、派至部门或上报"
            "街道)的件数 ÷ 当月受理件数",
            lang,
            REQUEST_RESPONSE_HOURS=settings.REQUEST_RESPONSE_HOURS,
        ),
        "resolution": text(
            "解决率 = 已办结且居民未表示“部分解决”或“未解决”的件数 ÷ 当月受理件数;部分解决另计",
            lang,
        ),
        "satisfaction": text(
            "满意率 = 评价 {REQUEST_SATISFIED_MIN_RATING} 星及以上的件数 ÷ 已评价件数",
            lang,
            REQUEST_SATISFIED_MIN_RATING=settings.REQUEST_SATISFIED_MIN_RATING,
        ),
        "on_time": text(
            "按时办结率 = 在类别办结时限内办结的件数 ÷ 已到办结时限的件数(已办结或已超期)",
            lang,
        ),
        "ranking": text(
            "按受理月份统计;不予受理与重复诉求另计、不计入各率。当月受理少于 "
            "{MIN_RANKED_REQUESTS} 件的单位列出但不参与排名;排名按考核得分(各率加权平均)。",
            lang,
            MIN_RANKED_REQUESTS=settings.MIN_RANKED_REQUESTS,
        ),
    }


def localise_rates(
    rates: pd.DataFrame, lang: Language = "zh", missing: str | None = None
) -> pd.DataFrame:
    """Rates columns named in ``lang`` (with units), ids dropped, ``ranked`` as 是/否; with
    ``missing`` (e.g. "—", for a table on screen), that text where nothing is counted (a rate
    without requests, the rank of a unit not ranked) — exports leave those cells empty."""
    shown = rates.drop(columns=[c for c in ("unit_id",) if c in rates])
    if "ranked" in shown:
        yes, no = text("是", lang), text("否", lang)
        shown = shown.assign(ranked=shown["ranked"].map({True: yes, False: no}))
    if missing is not None:
        shown = shown.astype(object).where(shown.notna(), missing)
    k = 0 if lang == "zh" else 1
    return shown.rename(columns={c: RATE_LABELS[c][k] for c in shown if c in RATE_LABELS})
