"""Member points (党员积分): what an entry is worth under the rules, recording it, summing up.

The rules live in :mod:`gridmap.settings` (``MEMBER_POINTS``, ``MEMBER_POINTS_YEAR_CAP``,
``MEMBER_POINTS_MAX_ADJUSTMENT``); :func:`award_points` also enforces dues once a month and
request points once per handled request.

The rules hold under concurrent writers: :func:`award_points` checks them inside the
transaction that writes the entry, with the member's row locked
(:func:`~gridmap.organisation.members.lock_member`), so twenty secretaries recording at once
cannot pass the yearly cap; and the database itself refuses a second dues entry of a month or a
second entry for one request (unique indexes on ``member_point``).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from gridmap import settings
from gridmap.auth import audited
from gridmap.db import retry_when_busy, transaction
from gridmap.errors import ConflictError, InputError
from gridmap.models import PointKind
from gridmap.organisation.checks import fetch_row
from gridmap.organisation.kinds import POINT_LABELS
from gridmap.organisation.members import check_member_version, lock_member
from gridmap.repository import table

__all__ = ["award_points", "points_for_entry", "points_summary"]


def points_for_entry(
    kind: str | PointKind,
    earned_this_year: int,
    points: int | None = None,
) -> int:
    """Points one new entry is worth under the rules of :mod:`gridmap.settings`.

    Parameters
    ----------
    kind : PointKind or its value
    earned_this_year : int
        Points of this kind the member already has in the entry's calendar year.
    points : int, optional
        Only for ``"other"``: the adjustment, non-zero and at most
        ``MEMBER_POINTS_MAX_ADJUSTMENT`` either way.

    Returns
    -------
    int
        ``MEMBER_POINTS[kind]`` (or ``points``), cut so the year's total stays within
        ``MEMBER_POINTS_YEAR_CAP[kind]``; 0 when the cap is reached. Deductions are not cut.

    Examples
    --------
    >>> points_for_entry("study", 0), points_for_entry("study", 23), points_for_entry("study", 24)
    (2, 1, 0)
    """
    kind = str(getattr(kind, "value", kind))
    if kind not in settings.MEMBER_POINTS:
        raise InputError(f"未知的积分类型 / unknown point kind {kind!r}")
    if kind == PointKind.other.value:
        limit = settings.MEMBER_POINTS_MAX_ADJUSTMENT
        if points is None or points == 0 or abs(int(points)) > limit:
            raise InputError(f"其他积分需为 ±1–{limit} 分 / other points must be ±1–{limit}")
        value = int(points)
    else:
        if points is not None:
            raise InputError(f"{kind} 积分按规则计算,不能指定 / {kind} points follow the rules")
        value = settings.MEMBER_POINTS[kind]
    if value <= 0:
        return value
    room = settings.MEMBER_POINTS_YEAR_CAP[kind] - int(earned_this_year)
    return max(0, min(value, room))


@retry_when_busy
@audited(
    "member_points", "member_point", permission="edit_organisation", scope={"member_id": "member"}
)
def award_points(
    engine: Engine,
    member_id: int,
    kind: str | PointKind,
    at: dt.datetime,
    points: int | None = None,
    request_id: int | None = None,
    note: str | None = None,
    version: int | None = None,
) -> int:
    """Record one points entry under the rules and return the points it carried.

    Rules (settings): ``MEMBER_POINTS`` per kind, ``MEMBER_POINTS_YEAR_CAP`` per kind and
    calendar year; dues at most once a calendar month; request points need a resolved or
    evaluated request, once per member and request. They are checked with the member's row
    locked, in the transaction that writes the entry; the entry raises the member's version.

    Parameters
    ----------
    version : int, optional
        The member's version the recorder read (what the page showed): given, the entry is
        refused when the member — or their points — changed since (optimistic lock).

    Raises
    ------
    InputError
        Unknown member or request, a bad kind or amount.
    ConflictError
        The year's cap is reached, dues already recorded that month, the request already
        counted or not yet handled; or ``version`` is stale.
    """
    kind = str(getattr(kind, "value", kind))
    pts, member = table("member_point"), table("member")
    with transaction(engine) as conn:
        row = lock_member(conn, member_id)
        check_member_version(row, version)
        mine = pts.c.member_id == int(member_id)
        if kind == PointKind.request.value:
            req = fetch_row(conn, "request", request_id, "诉求")
            if req["status"] not in ("resolved", "evaluated"):
                raise ConflictError(f"诉求 {req['code']} 尚未办结 / request not resolved yet")
            if conn.execute(
                select(pts.c.id).where(mine, pts.c.request_id == int(request_id))
            ).first():  # type: ignore[arg-type]
                raise ConflictError(f"诉求 {req['code']} 已计分 / request already counted")
        elif request_id is not None:
            raise InputError("只有办理诉求积分可关联诉求 / only request points name a request")
        year = dt.datetime(at.year, 1, 1)
        same = conn.execute(
            select(pts.c.at, pts.c.points).where(
                mine,
                pts.c.kind == kind,
                pts.c.at >= year,
                pts.c.at < year.replace(year=at.year + 1),
            )
        ).all()
        if kind == PointKind.dues.value and any(
            (t.year, t.month) == (at.year, at.month) for t, _ in same
        ):
            raise ConflictError(f"{at:%Y年%m月} 党费已计分 / dues already counted for {at:%Y-%m}")
        earned = sum(max(0, p) for _, p in same)
        value = points_for_entry(kind, earned, points)
        if value == 0:
            raise ConflictError(
                f"{POINT_LABELS[kind][0]}积分本年度已达上限 "
                f"{settings.MEMBER_POINTS_YEAR_CAP[kind]} 分 / the {at.year} cap for {kind} "
                "points is reached"
            )
        try:
            conn.execute(
                insert(pts).values(
                    member_id=int(member_id),
                    at=at,
                    kind=kind,
                    points=value,
                    request_id=request_id,
                    note=note,
                    dues_month=f"{at:%Y-%m}" if kind == PointKind.dues.value else None,
                )
            )
        except IntegrityError as exc:  # the database's once-only rules (another writer won)
            raise ConflictError(
                f"该积分已记录(党费每月一次、每件诉求一次)/ already recorded: dues count once a "
                f"month, a request once (member {member_id}, {at:%Y-%m})"
            ) from exc
        conn.execute(
            update(member).where(member.c.id == int(member_id)).values(version=member.c.version + 1)
        )
    return value


def points_summary(points: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Points per member and kind (columns ``study … other``, ``total``), optionally one year.

    Parameters
    ----------
    points : DataFrame
        ``member_point`` rows (``member_id, at, kind, points``).
    year : int, optional
        Only entries of this calendar year.
    """
    kinds = list(settings.MEMBER_POINTS)
    frame = points
    if year is not None and not frame.empty:
        frame = frame[pd.to_datetime(frame["at"]).dt.year == year]
    if frame.empty:
        return pd.DataFrame(columns=["member_id", *kinds, "total"]).astype(int)
    table_ = frame.pivot_table(
        index="member_id", columns="kind", values="points", aggfunc="sum", fill_value=0
    ).reindex(columns=kinds, fill_value=0)
    table_["total"] = table_.sum(axis=1)
    return table_.astype(int).reset_index().rename_axis(columns=None)
