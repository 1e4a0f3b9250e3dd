"""The demo's 3,000 residents' requests (诉求) over the thirteen months up to the reference date
(2025-10-01 … 2026-10-30) and their 收、办、评 event history.

:func:`draw_requests` draws where each request comes from (a building or a street location,
with a hotspot of one category in one compound, and blocks whose requests follow a trend:
:data:`TREND_CELLS`), its category, source and receipt time from 2025-10-01 to the day before
:data:`gridmap.settings.DEMO_REFERENCE_DATE`, the times of its steps (assigned,
escalated, resolved, evaluated or rejected, within the category's SLA), its assignee (grid
worker, member, department or street) and the actor of each step, the resident's answer and a
rejection's reason code, and returns the ``request`` and ``request_event`` frames. Communities
differ in how fast they first act on a request and in how harshly residents rate, so their
monthly rates (:mod:`gridmap.requests.rates`) differ. :func:`request_extras` adds, from its own
generator, the decision level of handled requests and the 12345 work order numbers of hotline
requests; :func:`mark_duplicates` the merged and the pending duplicates.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.demo.buildings import assign_to_grids
from gridmap.demo.frames import geoframe, nullable_ints
from gridmap.demo.layout import (
    COMMUNITY_NAMES,
    HOTSPOT_CATEGORY,
    HOTSPOT_CELL,
    STREET_CODE,
    STREET_NAME,
    to_lonlat,
)
from gridmap.demo.names import mask_name, person_names, pick_one
from gridmap.demo.state import Demo, grid_index
from gridmap.models import AssigneeKind, RequestSource, RequestStatus
from gridmap.requests.states import RATING_NOTE

_REQUEST_CATEGORY_P = {
    "环境卫生": 0.16,
    "物业管理": 0.15,
    "市政设施": 0.12,
    "停车管理": 0.09,
    "噪音扰民": 0.08,
    "邻里纠纷": 0.08,
    "治安安全": 0.05,
    "养老助残": 0.08,
    "供水供暖": 0.08,
    "政策咨询": 0.11,
}
_OUTDOOR_CATEGORIES = ("环境卫生", "市政设施", "停车管理")
_DESCRIPTIONS = {
    "环境卫生": ("{p}垃圾清运不及时，有异味", "{p}楼道堆放杂物，需清理", "{p}绿化带内垃圾较多"),
    "物业管理": ("{p}电梯经常故障", "{p}物业服务不到位，门禁损坏", "{p}楼顶漏水，物业未处理"),
    "市政设施": ("{p}路灯不亮", "{p}道路破损，雨天积水", "{p}下水道井盖松动"),
    "停车管理": ("{p}车辆乱停乱放，堵塞消防通道", "{p}停车位不足，占道停车", "{p}电动车充电难"),
    "噪音扰民": ("{p}夜间广场舞噪音大", "{p}装修噪音扰民", "{p}商铺音响声音过大"),
    "邻里纠纷": ("{p}楼上漏水引发纠纷", "{p}邻居占用公共区域", "{p}宠物扰邻"),
    "治安安全": (
        "{p}单元门禁失灵，存在安全隐患",
        "{p}楼道电动车充电有火灾隐患",
        "{p}夜间有可疑人员",
    ),
    "养老助残": ("{p}独居老人需要上门探访", "{p}残疾人申请帮扶", "{p}高龄老人助餐需求"),
    "供水供暖": ("{p}停水未提前通知", "{p}水压不足", "{p}燃气管道有异味"),
    "政策咨询": ("{p}咨询医保缴费政策", "{p}咨询低保申请条件", "{p}咨询老旧小区改造政策"),
}
_REJECT_REASONS = (
    "不属于受理范围，已告知诉求人向相关部门反映",
    "重复诉求，已合并办理",
    "诉求内容不明确，多次联系诉求人未果",
    "属司法程序事项，已引导通过法律途径解决",
)
#: The reason code of each rejection note (:class:`gridmap.models.CloseReason`).
_REJECT_CODES = dict(
    zip(_REJECT_REASONS, ("not_our_responsibility", "duplicate", "cannot_contact",
                          "legal_process"), strict=True)
)  # fmt: skip
#: How long each community takes to first act on a request, against the street's usual pace
#: (so response rates differ between communities), by LAYOUT letter.
_COMMUNITY_PACE = {"A": 0.6, "B": 1.0, "C": 2.6, "D": 0.8, "E": 1.6, "F": 1.2, "G": 0.9}
#: Communities whose residents rate more harshly (their satisfaction rate is lower).
_HARSH_COMMUNITIES = ("C", "F")
_RECEIVED_NOTE = {
    "inspection": "网格员巡查发现",
    "visit": "入户走访收集",
    "report": "居民上报",
    "hotline": "12345热线转办",
}
_RATING_NOTES = {
    1: ("问题没有解决", "处理太慢"),
    2: ("处理不及时", "只解决了一部分"),
    3: ("基本解决", "还可以"),
    4: ("处理及时", "比较满意"),
    5: ("非常满意，网格员很负责", "当天就解决了，点赞", "态度很好，办事高效"),
}
_SOURCE_P = {
    RequestSource.inspection: 0.20,
    RequestSource.visit: 0.20,
    RequestSource.report: 0.35,
    RequestSource.hotline: 0.25,
}
_N_REQUESTS = 3000
_REF = settings.DEMO_REFERENCE_DATE
#: The requests span whole calendar months: from the first day of the month a year before the
#: reference date up to the day before it (2025-10-01 … 2026-10-30), so the twelve whole months
#: before "now" that trends are read over (:mod:`gridmap.emerging`) all hold a month of requests.
_FIRST_DAY = dt.date(_REF.year - 1, _REF.month, 1)
_REQUEST_DAYS = (_REF - _FIRST_DAY).days


def _request_places(demo: Demo) -> dict[str, np.ndarray]:
    """Where and what: building or street location, category, source, receipt time."""
    rng = demo.rng
    n_hot = int(rng.integers(280, 321))
    n_base = _N_REQUESTS - n_hot
    b_all = demo.buildings
    hot_grid = grid_index(demo, HOTSPOT_CELL)
    hot_compound = next(b["compound"] for b in b_all if b["grid"] == hot_grid)
    hot_idx = np.array([i for i, b in enumerate(b_all) if b["compound"] == hot_compound])
    weight = np.array([b["households"] + 8.0 for b in b_all])

    outdoor = rng.random(n_base) < 0.15
    building = np.where(outdoor, -1, rng.choice(len(b_all), size=n_base, p=weight / weight.sum()))
    building = np.concatenate([building, rng.choice(hot_idx, size=n_hot)])
    cats = list(_REQUEST_CATEGORY_P)
    p_cat = np.array(list(_REQUEST_CATEGORY_P.values()))
    category = np.array(cats, dtype=object)[rng.choice(len(cats), size=n_base, p=p_cat)]
    outdoor_cat = np.array(_OUTDOOR_CATEGORIES, dtype=object)[rng.integers(0, 3, n_base)]
    category = np.concatenate(
        [np.where(outdoor, outdoor_cat, category), [HOTSPOT_CATEGORY] * n_hot]
    )
    sources = [s.value for s in _SOURCE_P]
    source = np.concatenate(
        [
            np.array(sources, dtype=object)[rng.choice(4, size=n_base, p=list(_SOURCE_P.values()))],
            np.array(sources, dtype=object)[rng.choice(4, size=n_hot, p=[0.1, 0.1, 0.45, 0.35])],
        ]
    )
    day = np.concatenate(
        [rng.integers(0, 365, n_base), 365 - np.ceil(180 * rng.random(n_hot) ** 0.7).astype(int)]
    )
    day = day * _REQUEST_DAYS // 365  # the draws of a 365-day year, spread over the span
    building = _shape_trends(demo, building, day, n_base)
    hour = np.clip(rng.normal(13.5, 3.6, _N_REQUESTS), 7, 22.9)
    received = day * 1440 + (hour * 60).astype(int)
    # a point: inside the building, or anywhere in a random block for street-level requests
    u, v = rng.random(_N_REQUESTS), rng.random(_N_REQUESTS)
    cell_of = rng.integers(0, len(demo.cells), _N_REQUESTS)
    xy = np.empty((_N_REQUESTS, 2))
    for r in range(_N_REQUESTS):
        if building[r] >= 0:
            b = b_all[building[r]]
            u0, u1, v0, v1 = b["uv"]
            xy[r] = b["cell"].at(
                u0 + (0.15 + 0.7 * u[r]) * (u1 - u0), v0 + (0.15 + 0.7 * v[r]) * (v1 - v0)
            )
        else:
            xy[r] = demo.cells[cell_of[r]].at(0.02 + 0.96 * u[r], 0.02 + 0.96 * v[r])
    order = np.argsort(received, kind="stable")
    return {
        "building": building[order],
        "category": category[order],
        "source": source[order],
        "received": received[order],
        "xy": xy[order],
    }


#: Blocks whose requests follow a trend over the twelve whole months before the reference
#: date, so each long-running class of emerging hot spots occurs (:mod:`gridmap.emerging`):
#: class → ((column, row) of LAYOUT, the residues mod :data:`_TREND_MODULUS` of the ordinary
#: requests it may take, extra requests in each calendar month, oldest first; -1: none of its
#: own that month, so it shows as a cold spot).
TREND_CELLS: dict[str, tuple[tuple[int, int], tuple[int, ...], tuple[int, ...]]] = {
    "intensifying_hot": ((1, 2), (0, 5), tuple(9 + 3 * m for m in range(12))),
    "persistent_hot": ((13, 2), (1,), (16,) * 12),
    "diminishing_hot": ((5, 0), (2, 4), tuple(36 - 2 * m for m in range(12))),
    "historical_hot": ((15, 3), (3,), (18,) * 11 + (5,)),
    "new_hot": ((10, 1), (6,), (0,) * 11 + (24,)),
    "oscillating_hot": ((3, 4), (7,), (0, 0, -1, -1, -1, 0, 0, 24, 0, 0, 0, 24)),
}
_TREND_MODULUS = 8


def _calendar_month(day: np.ndarray) -> np.ndarray:
    """Calendar month of each request day (0: the month of the first day of requests)."""
    start = np.datetime64(_FIRST_DAY, "D")
    months = (start + day.astype("timedelta64[D]")).astype("datetime64[M]")
    return (months - start.astype("datetime64[M]")).astype(int)


def _shape_trends(demo: Demo, building: np.ndarray, day: np.ndarray, n_base: int) -> np.ndarray:
    """Move some of the street's ordinary requests — those whose index has one of the
    target's residues, in the order drawn — into the buildings of each :data:`TREND_CELLS`
    block (a cluster of hexagons, as Gi* needs), as many each month as its profile says; no
    random draw, so every other figure keeps its stream."""
    building = building.copy()
    month = _calendar_month(day)
    index = np.arange(n_base)
    for pos, residues, profile in TREND_CELLS.values():
        grid = grid_index(demo, pos)
        targets = [i for i, b in enumerate(demo.buildings) if b["grid"] == grid]
        mine = np.isin(index % _TREND_MODULUS, residues)
        pool = index[mine & ~np.isin(building[:n_base], targets)]
        moved: list[int] = []
        for m, wanted in enumerate(profile):
            moved += pool[month[pool] == m][: max(wanted, 0)].tolist()
            if wanted < 0:  # a month of none: the block's own requests go to other buildings
                own = index[np.isin(building[:n_base], targets) & (month[:n_base] == m)]
                building[own] = building[(own + 97) % n_base]
        building[moved] = np.resize(np.array(targets), len(moved))
    return building


def _timeline(
    rng: np.random.Generator, received: np.ndarray, sla: np.ndarray, pace: np.ndarray
) -> dict:
    """Minutes (from the start of the year of requests) of each step; ``inf`` if never.
    ``pace`` scales each request's wait for its first action (its community's pace)."""
    n = len(received)
    now = _REQUEST_DAYS * 1440
    inf = np.inf
    rejected = rng.random(n) < 0.025
    t_reject = np.where(rejected, received + 30 + rng.exponential(300, n).astype(int), inf)
    delay = (10 + rng.lognormal(np.log(90), 0.8, n)) * pace
    backlog = (received > now - 7 * 1440) & (rng.random(n) < 0.3)
    delay += np.where(backlog, rng.uniform(2, 8, n) * 1440, 0)
    t_assign = np.where(rejected, inf, np.round(received + delay))
    escalate = ~rejected & (rng.random(n) < 0.07)
    stuck = ~rejected & (rng.random(n) < 0.02)
    escalate |= stuck & (rng.random(n) < 0.5)
    t_escalate = np.where(escalate, np.round(t_assign + rng.uniform(6, 48, n) * 60), inf)
    start = np.where(escalate, t_escalate, t_assign)
    work = np.maximum(30, rng.lognormal(np.log(0.45), 0.55, n) * sla * 60)
    work += np.where(stuck, rng.uniform(20, 150, n) * 1440, 0)
    t_resolve = np.where(rejected, inf, np.round(start + work))
    evaluates = ~rejected & (rng.random(n) < 0.9)
    t_evaluate = np.where(
        evaluates, np.round(t_resolve + 60 + rng.lognormal(np.log(1200), 0.9, n)), inf
    )
    steps = {
        "received": received.astype(float),
        "assigned": t_assign,
        "escalated": t_escalate,
        "resolved": t_resolve,
        "evaluated": t_evaluate,
        "rejected": t_reject,
    }
    return {k: np.where(t < now, t, inf) for k, t in steps.items()}


def _outcomes(rating: np.ndarray) -> np.ndarray:
    """The resident's answer behind each rating: 4–5 solved, 3 partly, 1–2 not; 0 none."""
    answer = np.select([rating >= 4, rating == 3, rating > 0],
                       ["solved", "partly_solved", "not_solved"], "")  # fmt: skip
    return np.where(answer == "", None, answer).astype(object)


def _status(steps: dict[str, np.ndarray]) -> np.ndarray:
    status = np.full(len(steps["received"]), RequestStatus.received.value, dtype=object)
    for name in ("assigned", "escalated", "resolved", "evaluated", "rejected"):
        status = np.where(np.isfinite(steps[name]), name, status)
    return status


def _minutes_to_datetime(minutes: np.ndarray) -> pd.Series:
    start = np.datetime64(_FIRST_DAY, "m")
    finite = np.isfinite(minutes)
    values = np.full(len(minutes), np.datetime64("NaT"), dtype="datetime64[m]")
    values[finite] = start + minutes[finite].astype("int64").astype("timedelta64[m]")
    return pd.Series(values.astype("datetime64[s]"))


def draw_requests(demo: Demo) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """3,000 requests with their events."""
    rng = demo.rng
    place = _request_places(demo)
    n = len(place["received"])
    sla = np.array(
        [settings.REQUEST_SLA_HOURS.get(c, settings.DEFAULT_SLA_HOURS) for c in place["category"]],
        dtype=float,
    )
    grid, _ = assign_to_grids(shapely.points(place["xy"]), demo.grid_metric)
    letter = np.array([demo.cells[g].letter if g >= 0 else "" for g in grid], dtype=object)
    pace = np.array([_COMMUNITY_PACE.get(k, 1.0) for k in letter])
    steps = _timeline(rng, place["received"], sla, pace)
    status = _status(steps)
    building = place["building"]
    kind, assignee, actors = _assignees(demo, grid, steps, rng)
    rating = np.where(
        status == "evaluated", rng.choice(5, size=n, p=[0.03, 0.04, 0.1, 0.28, 0.55]) + 1, 0
    )
    # where residents are harder to please: every third top rating there is a 3 (no rng draw)
    harsh = np.isin(letter, _HARSH_COMMUNITIES) & (rating == 5) & (np.arange(n) % 3 == 0)
    rating = np.where(harsh, 3, rating)
    note = [
        str(pick_one(rng, _RATING_NOTES[int(r)])) if r and rng.random() < 0.4 else None
        for r in rating
    ]
    reporters = [mask_name(s) for s in person_names(rng, n)]
    where = [_place_name(demo, int(b), int(g)) for b, g in zip(building, grid, strict=True)]
    description = [
        str(pick_one(rng, _DESCRIPTIONS[c])).format(p=w)
        for c, w in zip(place["category"], where, strict=True)
    ]
    received = _minutes_to_datetime(steps["received"])
    lonlat = to_lonlat(place["xy"])
    ids = np.arange(1, n + 1)
    requests = geoframe(
        {
            "id": ids,
            "code": [
                f"{STREET_CODE}-{t:%Y%m%d}-{i:04d}" for t, i in zip(received, ids, strict=True)
            ],
            "source": place["source"].astype(str),
            "category": place["category"].astype(str),
            "description": description,
            "geom": shapely.points(lonlat),
            "building_id": nullable_ints([int(b) + 1 if b >= 0 else None for b in building]),
            "grid_id": nullable_ints([int(g) + 1 if g >= 0 else None for g in grid]),
            "status": status.astype(str),
            "reporter": reporters,
            "assignee_kind": kind,
            "assignee_id": nullable_ints(assignee),
            "received_at": received,
            "due_at": _minutes_to_datetime(steps["received"] + sla * 60),
            "resolved_at": _minutes_to_datetime(
                np.where(np.isin(status, ["resolved", "evaluated"]), steps["resolved"], np.inf)
            ),
            "rating": nullable_ints([int(r) if r else None for r in rating]),
            "rating_note": note,
            "outcome": pd.Series(_outcomes(rating), dtype=object),
        }
    )
    events = _events(steps, actors, kind, rating, place["source"], rng)
    rejects = events[events["to_status"] == "rejected"]
    code = rejects.set_index("request_id")["note"].map(_REJECT_CODES)
    requests["close_reason"] = pd.Series(requests["id"].map(code), dtype=object)
    return requests, events


def _place_name(demo: Demo, building: int, grid: int) -> str:
    if building >= 0:
        return str(demo.buildings[building]["name"])
    if grid >= 0:
        cell = demo.cells[grid]
        return f"{COMMUNITY_NAMES[cell.letter]}第{cell.grid_no}网格路段"
    return f"{STREET_NAME}辖区路段"


def _assignees(
    demo: Demo, grid: np.ndarray, steps: dict[str, np.ndarray], rng: np.random.Generator
) -> tuple[list[str | None], list[int | None], dict[str, list[int | None]]]:
    """Assignee of each request and the actor (a person) of each of its steps."""
    members_of: dict[int, list[dict]] = {}
    grid_of_building = [b["grid"] for b in demo.buildings]
    for m in demo.members:
        members_of.setdefault(grid_of_building[m["building_id"] - 1], []).append(m)
    kinds: list[str | None] = []
    ids: list[int | None] = []
    actors: dict[str, list[int | None]] = {k: [] for k in steps}
    draw = rng.random((len(grid), 4))
    for r, g in enumerate(grid):
        workers = [p for p, _ in demo.grid_workers.get(g, [])]
        worker = workers[int(draw[r, 1] * len(workers))] if workers else None
        leader = demo.grid_leader.get(g) if g >= 0 else None
        kind, who, person = None, None, None
        if np.isfinite(steps["assigned"][r]):
            if np.isfinite(steps["escalated"][r]):
                kind = AssigneeKind.street
            elif draw[r, 0] < 0.6 and worker is not None:
                kind, who, person = AssigneeKind.grid_worker, worker, worker
            elif draw[r, 0] < 0.75 and members_of.get(g):
                m = members_of[g][int(draw[r, 2] * len(members_of[g]))]
                kind, who, person = AssigneeKind.member, m["id"], m["person_id"]
            else:
                kind = AssigneeKind.department
        kinds.append(None if kind is None else kind.value)
        ids.append(who)
        actors["received"].append(worker if draw[r, 3] < 0.9 else None)
        actors["assigned"].append(leader if leader is not None else worker)
        actors["escalated"].append(leader if leader is not None else worker)
        actors["resolved"].append(person)
        actors["evaluated"].append(None)
        actors["rejected"].append(worker)
    return kinds, ids, actors


def _events(
    steps: dict[str, np.ndarray],
    actors: dict[str, list[int | None]],
    kind: list[str | None],
    rating: np.ndarray,
    source: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One request_event row per step reached, in time order within each request."""
    n = len(steps["received"])
    escalated = np.isfinite(steps["escalated"])
    previous = {
        "received": np.full(n, None, dtype=object),
        "assigned": np.full(n, "received", dtype=object),
        "escalated": np.full(n, "assigned", dtype=object),
        "resolved": np.where(escalated, "escalated", "assigned").astype(object),
        "evaluated": np.full(n, "resolved", dtype=object),
        "rejected": np.full(n, "received", dtype=object),
    }
    assign_note = {
        "grid_worker": "派单至网格员",
        "member": "党员领单",
        "department": "派至职能部门办理",
        "street": "派单至网格员",
        None: None,
    }
    notes = {
        "received": np.array([_RECEIVED_NOTE[s] for s in source], dtype=object),
        "assigned": np.array([assign_note[k] for k in kind], dtype=object),
        "escalated": np.full(n, "社区无法办结，上报街道协调", dtype=object),
        "resolved": np.full(n, "已办结，已回访诉求人", dtype=object),
        "evaluated": np.array([RATING_NOTE.format(rating=int(r)) for r in rating], dtype=object),
        "rejected": np.array(
            [_REJECT_REASONS[i] for i in rng.integers(0, len(_REJECT_REASONS), n)], dtype=object
        ),
    }
    parts = []
    for order, name in enumerate(steps):
        reached = np.flatnonzero(np.isfinite(steps[name]))
        parts.append(
            pd.DataFrame(
                {
                    "request_id": reached + 1,
                    "minute": steps[name][reached],
                    "step": order,
                    "actor_id": nullable_ints([actors[name][i] for i in reached]),
                    "from_status": previous[name][reached],
                    "to_status": name,
                    "note": notes[name][reached],
                }
            )
        )
    events = pd.concat(parts, ignore_index=True)
    events = events.sort_values(["request_id", "minute", "step"], kind="stable").reset_index(
        drop=True
    )
    return pd.DataFrame(
        {
            "id": np.arange(1, len(events) + 1),
            "request_id": events["request_id"].to_numpy(),
            "at": _minutes_to_datetime(events["minute"].to_numpy()),
            "actor_id": events["actor_id"].array,
            "user_id": pd.array([pd.NA] * len(events), dtype="Int64"),  # before accounts
            "from_status": events["from_status"].to_numpy(),
            "to_status": events["to_status"].astype(str).to_numpy(),
            "note": events["note"].to_numpy(),
        }
    )


def request_extras(requests: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Where handled requests were decided (楼栋听事、小区议事、社区决事) and the 12345 work
    order numbers of hotline requests."""
    n = len(requests)
    done = requests["status"].isin(["resolved", "evaluated"]).to_numpy()
    level = rng.choice(["building", "compound", "community"], size=n, p=[0.55, 0.3, 0.15])
    hotline = (requests["source"] == "hotline").to_numpy()
    serial = rng.permutation(900_000)[:n] + 100_000
    external = [
        f"12345-{t:%Y%m%d}-{k:06d}" if h else None
        for t, k, h in zip(requests["received_at"], serial, hotline, strict=True)
    ]
    answers = requests[["outcome", "close_reason"]]  # after the extras, as the table has them
    return requests.drop(columns=list(answers)).assign(
        decision_level=pd.Series(np.where(done, level, None), dtype=object),
        external_id=pd.Series(external, dtype=object),
        address=pd.Series([None] * n, dtype=object),
        outcome=answers["outcome"].to_numpy(),
        close_reason=answers["close_reason"].to_numpy(),
    )


def _moved(point: shapely.Point, by: np.ndarray) -> shapely.Point:
    """``point`` moved ``by`` degrees, at the stored precision."""
    return shapely.transform(point, lambda xy: np.round(xy + by, settings.COORDINATE_DECIMALS))


def mark_duplicates(requests: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The demo's duplicate cases (:mod:`gridmap.requests.duplicates`), with no random draw.

    Every rejection with the reason code ``duplicate`` becomes a merged duplicate of the latest
    earlier request of its category received within
    :data:`~gridmap.settings.DUPLICATE_DAYS` (its place moved a few metres from it, the
    original's ``reporters`` counting it). The three latest requests nobody holds yet with an
    earlier open request received within those days take that request's category, place and
    description, so they are proposed as its duplicates and wait to be merged.
    """
    out = requests.copy()
    out["department"] = pd.Series([None] * len(out), dtype=object, index=out.index)
    out["duplicate_of"] = pd.array([None] * len(out), dtype="Int64")
    out["reporters"] = 1
    received = pd.to_datetime(out["received_at"])
    window = pd.Timedelta(days=settings.DUPLICATE_DAYS)
    shift = np.array([0.00003, 0.0])  # degrees east: about 3 m
    where = ["geom", "building_id", "grid_id"]

    def earlier(j: int, rows: pd.Series) -> int | None:
        """The latest row of ``rows`` received before request ``j`` within the window."""
        before = rows & (received < received[j]) & (received >= received[j] - window)
        before.loc[j] = False
        return int(received[before].idxmax()) if before.any() else None

    for j in out.index[out["close_reason"].eq("duplicate").fillna(False)]:
        i = earlier(j, out["category"].eq(out.at[j, "category"]))
        if i is None:
            continue
        out.loc[j, where[1:]] = out.loc[i, where[1:]].to_numpy()
        out.loc[j, "geom"] = _moved(out.at[i, "geom"], shift)
        out.at[j, "duplicate_of"] = int(out.at[i, "id"])
        out.at[i, "reporters"] += 1
    is_open = out["status"].isin(["received", "assigned", "escalated"])
    waiting = out["status"].eq("received")  # nobody holds them yet: free to move to any grid
    latest = list(out.index[waiting])[::-1][:3]
    originals = is_open & out["duplicate_of"].isna() & ~out.index.isin(latest)
    for j in latest:
        i = earlier(j, originals)
        if i is None:
            continue
        category = out.at[i, "category"]
        out.loc[j, where[1:]] = out.loc[i, where[1:]].to_numpy()
        out.loc[j, "geom"] = _moved(out.at[i, "geom"], -shift)
        out.at[j, "category"] = category
        out.at[j, "description"] = out.at[i, "description"]
        sla = settings.REQUEST_SLA_HOURS.get(category, settings.DEFAULT_SLA_HOURS)
        out.at[j, "due_at"] = received[j] + pd.Timedelta(hours=sla)
    return out
