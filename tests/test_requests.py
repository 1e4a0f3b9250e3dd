"""诉求办理 (gridmap.requests): the 收办评 workflow on both backends, placement, SLA and overdue,
statistics, member suggestions, the 12345 hotline import and the Open311 GeoReport v2 export.

The world is tests/worlds.clean_world (two grids side by side, buildings 1栋…20栋, grid 1 on the
west) with a grid worker, and members in both grids added here.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point
from sqlalchemy import Engine, select

from gridmap import requests as rq
from gridmap import settings
from gridmap.cli import main
from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import ConflictError, InputError
from gridmap.repository import read_table, save_tables, table
from worlds import LAT, LON, D, clean_world

NOW = dt.datetime(2026, 1, 5, 9, 0)
HOUR = dt.timedelta(hours=1)
#: A point inside building 1 (B001, 1栋, grid 1) and one inside building 11 (grid 2).
IN_B001 = (LON + 0.15 * D, LAT + 0.35 * D)
IN_B011 = (LON + D + 0.15 * D, LAT + 0.35 * D)
OUTSIDE = (LON + 10 * D, LAT + 10 * D)


def world() -> dict[str, pd.DataFrame]:
    """clean_world plus a grid worker (person 2, grid 1), a second grid worker (person 3, grid
    2), and members: 1 in grid 1 (in service), 2 in grid 1 (水电维修), 3 lost contact in grid
    1, 4 in grid 2; member 2 looks after building 1."""
    w = clean_world()
    w["person"] = pd.DataFrame(
        [
            {"id": 1, "name": "张晓明", "phone": "13812341234", "id_suffix": "123X",
             "roles": "grid_leader,building_leader"},
            {"id": 2, "name": "李网格", "phone": None, "id_suffix": None, "roles": "grid_worker"},
            {"id": 3, "name": "王网格", "phone": None, "id_suffix": None, "roles": "grid_worker"},
            {"id": 4, "name": "赵党员", "phone": None, "id_suffix": None, "roles": ""},
            {"id": 5, "name": "钱失联", "phone": None, "id_suffix": None, "roles": ""},
            {"id": 6, "name": "孙二格", "phone": None, "id_suffix": None, "roles": ""},
        ]
    )  # fmt: skip
    w["grid_worker"] = pd.DataFrame(
        [{"id": 1, "grid_id": 1, "person_id": 2, "part_time": False},
         {"id": 2, "grid_id": 2, "person_id": 3, "part_time": True}]
    )  # fmt: skip
    base = {"party_org_id": 2, "joined_on": None, "registered_on": None, "work_unit": None,
            "status": "active", "last_contact_on": None}  # fmt: skip
    w["member"] = pd.DataFrame(
        [
            base | {"id": 1, "person_id": 1, "category": "in_service", "building_id": 1,
                    "specialties": "法律咨询"},
            base | {"id": 2, "person_id": 4, "category": "retired", "building_id": 2,
                    "specialties": "水电维修,助老服务"},
            base | {"id": 3, "person_id": 5, "category": "lost_contact", "building_id": 3,
                    "specialties": "水电维修"},
            base | {"id": 4, "person_id": 6, "category": "resident", "building_id": 11,
                    "specialties": None, "party_org_id": 3},
        ]
    )  # fmt: skip
    w["member_zone"] = pd.DataFrame([{"id": 1, "member_id": 2, "building_id": 1}])
    order = ["street", "community", "person", "grid_plan", "party_org", "grid", "grid_worker",
             "building", "member", "member_zone", "service_station", "request",
             "request_event"]  # fmt: skip
    return {k: w[k] for k in order}


@pytest.fixture
def db(engine: Engine) -> Engine:
    save_tables(engine, world())
    return engine


def status_of(engine: Engine, request_id: int) -> str:
    req = table("request")
    with engine.connect() as conn:
        return str(conn.execute(select(req.c.status).where(req.c.id == request_id)).scalar())


def log(engine: Engine, **kw) -> int:
    args = {"category": "供水供暖", "description": "楼道水管漏水", "source": "report", "now": NOW}
    return rq.log_request(engine, **(args | {"point": IN_B001} | kw))


# --- the workflow -----------------------------------------------------------------------------


def test_transition_table() -> None:
    assert rq.allowed_actions("received") == [
        "assign", "dispatch", "send_to_department", "escalate", "reject", "reroute", "merge",
    ]  # fmt: skip
    assert rq.allowed_actions("escalated") == ["send_to_department", "resolve", "reroute", "merge"]
    assert rq.allowed_actions("resolved") == ["evaluate", "reopen"]
    assert rq.allowed_actions("evaluated") == ["reopen"]
    assert rq.allowed_actions("rejected") == ["reopen"]
    # every status reached by a move allows at least one further move
    assert all(rq.allowed_actions(after) for after in rq.TRANSITIONS.values())


def test_log_by_point_places_and_sets_the_due_time(db: Engine) -> None:
    rid = log(db, reporter="王小红", actor_id=2)
    detail = rq.request_detail(db, rid)
    assert (detail["grid_id"], detail["building_id"]) == (1, 1)
    assert detail["status"] == "received" and detail["reporter"] == "王*红"
    assert detail["due_at"] == NOW + settings.REQUEST_SLA_HOURS["供水供暖"] * HOUR
    assert re.fullmatch(rf"420303001-20260105-{rid:04d}", detail["code"])
    assert detail["actions"][0] == "assign"
    events = rq.timeline(db, rid)
    assert list(events["to_status"]) == ["received"] and events["actor_name"][0] == "李*格"


def test_every_step_is_signed_by_the_logged_in_user(db: Engine) -> None:
    """Issue 19, item 2: the user account is stored on every event (``user_id``), beside the
    grid worker it was recorded for (``actor_id``); the timeline names both."""
    from gridmap import auth

    auth.create_user(db, "li_wang", "a long enough password", "street_admin", principal=auth.SYSTEM)
    users = auth.list_users(db)
    li = auth.principal_for(db, int(users.loc[users["name"] == "li_wang", "id"].iloc[0]))
    with auth.acting_as(li):
        rid = log(db)  # herself
        rq.assign(db, rid, 2, now=NOW + HOUR, actor_id=2)  # a paper form of grid worker 2
    events = rq.timeline(db, rid)
    assert events["user_name"].tolist() == ["li_wang", "li_wang"]
    assert events["actor_name"].tolist() == [None, "李*格"]
    stored = read_table(db, "request_event").query("request_id == @rid")
    assert set(stored["user_id"]) == {li.user_id}
    rid = log(db)  # the local operator (no account) signs nothing
    assert rq.timeline(db, rid)["user_name"].isna().all()


def test_log_by_building_code_and_by_address(db: Engine) -> None:
    by_code = rq.request_detail(db, log(db, point=None, building_code="B011"))
    assert (by_code["grid_id"], by_code["building_id"]) == (2, 11)
    # "11栋" must win over "1栋", which it contains
    by_addr = rq.request_detail(db, log(db, point=None, address="测试街道甲社区 11 号楼 2单元"))
    assert (by_addr["grid_id"], by_addr["building_id"]) == (2, 11)
    assert by_addr["address"] == "测试街道甲社区 11 号楼 2单元"
    by_addr = rq.request_detail(db, log(db, point=None, address="甲社区1栋302"))
    assert by_addr["building_id"] == 1
    gcj = wgs84_to_gcj02(*IN_B011)
    by_gcj = rq.request_detail(db, log(db, point=(float(gcj[0]), float(gcj[1])), crs="gcj02"))
    assert by_gcj["building_id"] == 11


@pytest.mark.parametrize(
    "where, fragment",
    [
        ({"point": OUTSIDE}, "不在本街道任何网格内"),
        ({"point": None, "building_code": "B999"}, "B999"),
        ({"point": None, "address": "不存在小区"}, "未匹配到楼栋"),
        ({"point": None}, "缺少坐标"),
        ({"category": ""}, "诉求类别"),
        ({"source": "email"}, "unknown source"),
    ],
)
def test_log_refuses_what_cannot_be_placed(db: Engine, where: dict, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        log(db, **where)
    assert read_table(db, "request")["id"].tolist() == [1]  # nothing written


def test_full_lifecycle_with_escalation(db: Engine) -> None:
    rid = log(db)
    assert rq.assign(db, rid, 2, now=NOW + HOUR, actor_id=1) == "assigned"
    assert rq.escalate(db, rid, "涉及供水管网改造", now=NOW + 2 * HOUR, actor_id=1) == "escalated"
    assert rq.request_detail(db, rid)["assignee_kind"] == "street"
    t = NOW + 3 * HOUR
    assert rq.send_to_department(db, rid, "十堰市水务局", now=t, actor_id=1) == "assigned"
    done = NOW + 30 * HOUR
    assert rq.resolve(db, rid, "已更换管道", now=done, decision_level="community") == "resolved"
    assert rq.evaluate(db, rid, 5, "很满意", now=done + HOUR) == "evaluated"
    detail = rq.request_detail(db, rid)
    assert detail["resolved_at"] == done and detail["rating"] == 5
    assert detail["decision_level"] == "community" and detail["rating_note"] == "很满意"
    events = rq.timeline(db, rid)
    assert list(events["to_status"]) == [
        "received", "assigned", "escalated", "assigned", "resolved", "evaluated",
    ]  # fmt: skip
    assert list(events["from_status"][1:]) == list(events["to_status"][:-1])
    assert "十堰市水务局" in events["note"][3] and events["note"][4].startswith("社区决事")
    assert events["at"].is_monotonic_increasing


def test_low_rating_reopens_and_member_points(db: Engine) -> None:
    rid = log(db)
    rq.dispatch(db, rid, 2, now=NOW + HOUR, actor_id=2)
    rq.resolve(db, rid, "已修好", now=NOW + 5 * HOUR, decision_level="building")
    assert rq.evaluate(db, rid, 2, "又漏了", now=NOW + 6 * HOUR) == "assigned"
    detail = rq.request_detail(db, rid)
    assert detail["rating"] is None and detail["resolved_at"] is None
    assert detail["assignee_kind"] == "member" and detail["assignee_id"] == 2
    assert detail["due_at"] == NOW + 6 * HOUR + settings.REQUEST_SLA_HOURS["供水供暖"] * HOUR
    # resolved again and rated well: handled points only once, plus the good-rating bonus
    rq.resolve(db, rid, "重新更换", now=NOW + 8 * HOUR)
    assert rq.evaluate(db, rid, 5, now=NOW + 9 * HOUR) == "evaluated"
    events = rq.timeline(db, rid)
    assert list(events["to_status"]) == [
        "received", "assigned", "resolved", "evaluated", "assigned", "resolved", "evaluated",
    ]  # fmt: skip
    points = read_table(db, "member_point")
    assert points["member_id"].tolist() == [2, 2] and points["request_id"].tolist() == [rid] * 2
    expected = settings.REQUEST_POINTS_HANDLED + settings.REQUEST_POINTS_GOOD_RATING
    assert points["points"].sum() == expected
    stats = rq.stats_for(db, NOW + 10 * HOUR, by="member")
    row = stats.set_index("member_id").loc[2]
    assert (row["handled"], row["points"], row["average_rating"]) == (1, expected, 5.0)
    assert row["member_name"] == "赵*员"


def test_reject_and_reopen_a_rejected_request(db: Engine) -> None:
    rid = log(db)
    with pytest.raises(InputError, match="理由"):
        rq.reject(db, rid, "  ", now=NOW)
    assert rq.reject(db, rid, "不属于社区职责范围", now=NOW + HOUR) == "rejected"
    assert rq.reopen(db, rid, "居民补充材料", now=NOW + 2 * HOUR) == "received"


@pytest.mark.parametrize(
    "action, error, fragment",
    [
        (lambda e, r: rq.resolve(e, r, "x", now=NOW), ConflictError, "不能办结"),
        (lambda e, r: rq.evaluate(e, r, 5, now=NOW), ConflictError, "cannot evaluate"),
        (lambda e, r: rq.reopen(e, r, "x", now=NOW), ConflictError, "allowed"),
        (lambda e, r: rq.dispatch(e, r, 4, now=NOW), InputError, "网格报到"),
        (lambda e, r: rq.dispatch(e, r, 3, now=NOW), InputError, "失联"),
        (lambda e, r: rq.dispatch(e, r, 99, now=NOW), InputError, "99"),
        (lambda e, r: rq.assign(e, r, 3, now=NOW), InputError, "网格员或网格长"),
        (lambda e, r: rq.assign(e, r, 2, now=NOW - HOUR), InputError, "早于"),
        (lambda e, r: rq.assign(e, r, 2, now=NOW, actor_id=77), InputError, "77"),
        (lambda e, r: rq.send_to_department(e, r, "", now=NOW), InputError, "部门"),
        (lambda e, r: rq.escalate(e, 999, "x", now=NOW), InputError, "999"),
    ],
)
def test_illegal_moves_are_refused_and_change_nothing(db: Engine, action, error, fragment) -> None:
    rid = log(db)
    with pytest.raises(error, match=fragment):
        action(db, rid)
    assert status_of(db, rid) == "received"
    assert len(rq.timeline(db, rid)) == 1


def test_rating_must_be_one_to_five(db: Engine) -> None:
    rid = log(db)
    rq.assign(db, rid, 1, now=NOW)  # the grid leader may take it too
    rq.resolve(db, rid, "done", now=NOW + HOUR)
    for bad in (0, 6, 2.5, True):
        with pytest.raises(InputError, match="1–5"):
            rq.evaluate(db, rid, bad, now=NOW + 2 * HOUR)
    assert status_of(db, rid) == "resolved"


def test_a_stale_move_is_a_conflict(db: Engine) -> None:
    """Two workers act on the same request: the second, acting on what it read before the
    first wrote, is refused and writes nothing."""
    from gridmap.db import transaction
    from gridmap.requests.workflow import current_state, write_move

    rid = log(db)
    with db.connect() as conn:
        stale = current_state(conn, rid)
    rq.assign(db, rid, 2, now=NOW + HOUR)
    with pytest.raises(ConflictError, match="changed by someone else"), transaction(db) as conn:
        write_move(conn, stale, {"status": "rejected"}, NOW + HOUR, None, "x", "rejected")
    assert status_of(db, rid) == "assigned"
    assert len(rq.timeline(db, rid)) == 2


# --- pure parts -------------------------------------------------------------------------------


def frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    for col in ("received_at", "due_at", "resolved_at"):
        if col in out:
            out[col] = pd.to_datetime(out[col])
    return out


def test_due_times_and_overdue() -> None:
    received = pd.Series(pd.to_datetime(["2026-01-01 08:00", "2026-01-01 08:00"]))
    due = rq.due_times(pd.Series(["噪音扰民", "未知类别"]), received)
    assert list(due) == [pd.Timestamp("2026-01-02 08:00"), pd.Timestamp("2026-01-04 08:00")]
    t0, t1, t2 = "2026-01-01", "2026-01-02", "2026-01-03"
    reqs = frame(
        [
            {"status": "assigned", "due_at": t1, "resolved_at": None},  # open, past due
            {"status": "assigned", "due_at": t2, "resolved_at": None},  # open, in time
            {"status": "resolved", "due_at": t0, "resolved_at": t1},  # resolved late
            {"status": "evaluated", "due_at": t2, "resolved_at": t1},  # resolved in time
            {"status": "rejected", "due_at": t0, "resolved_at": None},  # never overdue
            {"status": "received", "due_at": None, "resolved_at": None},  # no due time
        ]
    )
    now = dt.datetime(2026, 1, 2, 12)
    assert rq.overdue_mask(reqs, now).tolist() == [True, False, True, False, False, False]
    assert rq.overdue_mask(reqs, now, open_only=True).tolist() == [True] + [False] * 5


def test_request_stats_by_grid_and_member() -> None:
    base = {"received_at": "2026-01-01 00:00", "due_at": "2026-01-02 00:00", "rating": None,
            "assignee_kind": "member", "resolved_at": None}  # fmt: skip
    reqs = frame(
        [
            base | {"id": 1, "grid_id": 1, "status": "evaluated", "assignee_id": 7,
                    "resolved_at": "2026-01-01 10:00", "rating": 5},
            base | {"id": 2, "grid_id": 1, "status": "resolved", "assignee_id": 7,
                    "resolved_at": "2026-01-03 00:00"},  # 48 h, late
            base | {"id": 3, "grid_id": 1, "status": "evaluated", "assignee_id": 8,
                    "resolved_at": "2026-01-01 20:00", "rating": 2},
            base | {"id": 4, "grid_id": 2, "status": "assigned", "assignee_id": 8},
            base | {"id": 5, "grid_id": None, "status": "received", "assignee_kind": None,
                    "assignee_id": None},
        ]
    )  # fmt: skip
    reqs["grid_id"] = pd.array(reqs["grid_id"], dtype="Int64")
    reqs["assignee_id"] = pd.array(reqs["assignee_id"], dtype="Int64")
    grids = pd.DataFrame({"id": [1, 2, 3], "code": ["G1", "G2", "G3"], "name": ["一", "二", "三"]})
    points = pd.DataFrame(
        {"member_id": [7, 7, 8], "points": [2, 1, 2], "request_id": [1, 1, 3],
         "kind": ["request", "request", "request"]}
    )  # fmt: skip
    now = dt.datetime(2026, 1, 5)
    by_grid = rq.request_stats(reqs, now, "grid", grids=grids, points=points).set_index("grid_code")
    assert by_grid.loc["G1", ["requests", "handled", "open", "overdue", "points"]].tolist() == [
        3, 3, 0, 1, 5,
    ]  # fmt: skip
    assert by_grid.loc["G1", "median_hours_to_resolve"] == 20.0
    assert by_grid.loc["G1", "average_rating"] == 3.5
    assert by_grid.loc["G2", ["requests", "open", "overdue"]].tolist() == [1, 1, 1]
    assert by_grid.loc["G3", "requests"] == 0 and np.isnan(by_grid.loc["G3", "average_rating"])
    members = pd.DataFrame({"id": [7, 8], "name": ["甲*", "乙*"]})
    by_member = rq.request_stats(reqs, now, "member", members=members, points=points)
    assert by_member["member_id"].tolist() == [7, 8]
    seven = by_member.iloc[0]
    assert (seven["handled"], seven["overdue"], seven["points"]) == (2, 1, 3)
    assert seven["median_hours_to_resolve"] == 29.0 and seven["member_name"] == "甲*"
    with pytest.raises(InputError):
        rq.request_stats(reqs, now, "community")


def test_suggest_members_by_zone_specialty_and_load(db: Engine) -> None:
    members = rq.member_table(db)
    assert members.loc[0, "name"] == "张*明"
    assert rq.member_table(db, personal_data=True).loc[0, "name"] == "张晓明"
    requests = rq.load_requests(db)
    zones = read_table(db, "member_zone")
    best = rq.suggest_members(1, "供水供暖", members, requests, zones, building_id=1)
    # member 2: zone + 水电维修; member 1 next; lost-contact 3 and grid-2 member 4 never
    assert best["member_id"].tolist() == [2, 1]
    assert best.loc[0, "fits"] == "水电维修" and bool(best.loc[0, "in_zone"])
    rid = log(db, category="邻里纠纷")
    rq.dispatch(db, rid, 1, now=NOW)
    loaded = rq.suggest_members(1, "环境卫生", members, rq.load_requests(db))
    assert loaded["member_id"].tolist() == [2, 1] and loaded["load"].tolist() == [0, 1]
    assert rq.suggest_members(None, "环境卫生", members, requests).empty


def test_match_addresses() -> None:
    buildings = pd.DataFrame(
        {"id": [1, 2, 3, 4], "name": ["阳光小区1栋", "阳光小区11栋", "幼儿园", "幼儿园"],
         "community_name": ["甲社区", "甲社区", "甲社区", "乙社区"]}
    )  # fmt: skip
    found = rq.match_addresses(
        ["阳光小区１１号楼", "十堰市阳光小区1栋3单元", "甲社区幼儿园", "幼儿园", "", "无名楼"],
        buildings,
    )
    assert found["building_id"].tolist()[:3] == [2, 1, 3]
    assert "2 栋同名" in found["reason"][3] and "缺少地址" in found["reason"][4]
    assert "未匹配" in found["reason"][5]


# --- 12345 hotline import ---------------------------------------------------------------------

HOTLINE_HEADER = [
    "工单编号",
    "受理时间",
    "诉求类别",
    "诉求内容",
    "来电人",
    "事发地址",
    "经度",
    "纬度",
]
HOTLINE_ROWS = [
    ["GD-001", "2026-01-02 08:30", "供水供暖", "没有暖气", "刘大山", "", *IN_B001],
    ["GD-002", "2026/01/02 09:10", "噪音扰民", "夜间施工", "陈", "甲社区 11号楼", "", ""],
    ["GD-003", "", "环境卫生", "垃圾", "", "1栋", "", ""],  # row 4: no time
    ["GD-004", "2026-01-02 11:00", "环境卫生", "垃圾", "", "火星小区", "", ""],  # row 5: no match
    ["GD-005", "2026-01-02 12:00", "市政设施", "路灯", "", "", *OUTSIDE],  # row 6: no grid
    ["GD-001", "2026-01-02 13:00", "供水供暖", "重复", "", "", *IN_B001],  # row 7: repeated
    ["GD-006", "2026-01-02 14:00", "养老助残", "助餐", "周", "", *IN_B011],
]
HOTLINE_REJECTED = {4: "受理时间", 5: "未匹配到楼栋", 6: "不在本街道任何网格内", 7: "重复"}


def hotline_bytes(kind: str, rows: list[list] = HOTLINE_ROWS) -> tuple[bytes, str]:
    table_ = pd.DataFrame(rows, columns=HOTLINE_HEADER)
    if kind == "xlsx":
        buffer = io.BytesIO()
        table_.to_excel(buffer, index=False)
        return buffer.getvalue(), "hotline.xlsx"
    text = table_.to_csv(index=False)
    encoding = {"utf8": "utf-8", "utf8-bom": "utf-8-sig", "gbk": "gbk"}[kind]
    return text.encode(encoding), "hotline.csv"


@pytest.mark.parametrize("kind", ["utf8", "utf8-bom", "gbk", "xlsx"])
def test_read_hotline_in_each_encoding(kind: str) -> None:
    data, name = hotline_bytes(kind)
    raw = rq.read_hotline(data, name)
    assert list(raw.columns) == HOTLINE_HEADER and len(raw) == len(HOTLINE_ROWS)
    assert raw.loc[0, "来电人"] == "刘大山" and raw.loc[1, "事发地址"] == "甲社区 11号楼"
    assert rq.guess_mapping(raw.columns) == {
        "external_id": "工单编号", "received_at": "受理时间", "category": "诉求类别",
        "description": "诉求内容", "reporter": "来电人", "address": "事发地址", "lon": "经度",
        "lat": "纬度",
    }  # fmt: skip


def test_read_hotline_refuses_bad_files() -> None:
    with pytest.raises(InputError, match="编码"):
        rq.read_hotline("工单编号\n甲".encode("utf-16"), "x.csv")
    with pytest.raises(InputError, match="没有数据行"):
        rq.read_hotline("工单编号,受理时间\n".encode(), "x.csv")
    with pytest.raises(InputError, match="Excel"):
        rq.read_hotline(b"PK\x03\x04broken", "x.xlsx")


@pytest.mark.parametrize("kind", ["utf8", "gbk", "xlsx"])
def test_hotline_import_and_idempotent_reimport(db: Engine, kind: str, tmp_path) -> None:
    data, name = hotline_bytes(kind)
    path = tmp_path / name
    path.write_bytes(data)
    first = rq.import_hotline(db, path, actor_id=2)
    assert first.written == 3 and len(first.request_ids) == 3
    rejected = dict(zip(first.rejected["row"], first.rejected["reason"], strict=True))
    assert set(rejected) == set(HOTLINE_REJECTED)
    for row, fragment in HOTLINE_REJECTED.items():
        assert fragment in rejected[row], (row, rejected[row])
    stored = read_table(db, "request").set_index("external_id")
    assert stored.loc["GD-001", "building_id"] == 1 and stored.loc["GD-001", "reporter"] == "刘*山"
    assert stored.loc["GD-002", "building_id"] == 11 and stored.loc["GD-002", "grid_id"] == 2
    assert stored.loc["GD-006", "source"] == "hotline"
    assert pd.Timestamp(stored.loc["GD-002", "received_at"]) == pd.Timestamp("2026-01-02 09:10")
    events = read_table(db, "request_event")
    assert (events["request_id"].isin(first.request_ids)).sum() == 3

    again = rq.import_hotline(db, path)
    assert again.written == 0 and sorted(again.duplicates["external_id"]) == [
        "GD-001", "GD-002", "GD-006",
    ]  # fmt: skip
    assert len(read_table(db, "request")) == 1 + 3


def test_hotline_gcj02_strict_and_mapping(db: Engine) -> None:
    lon, lat = wgs84_to_gcj02(*IN_B011)
    rows = [["GD-100", "2026-01-03 08:00", "环境卫生", "垃圾", "", "", float(lon), float(lat)]]
    data, name = hotline_bytes("utf8", rows)
    wgs = rq.import_hotline(db, data, filename=name, crs="wgs84", strict=False)
    # read as WGS 84 the point lands a few hundred metres off: outside the small world
    assert wgs.written == 0 and "不在本街道任何网格内" in wgs.rejected["reason"][0]
    gcj = rq.import_hotline(db, data, filename=name, crs="gcj02")
    assert gcj.written == 1
    assert read_table(db, "request").set_index("external_id").loc["GD-100", "building_id"] == 11

    data, name = hotline_bytes("utf8")
    before = len(read_table(db, "request"))
    with pytest.raises(InputError, match="nothing written"):
        rq.import_hotline(db, data, filename=name, strict=True)
    assert len(read_table(db, "request")) == before

    renamed = pd.DataFrame(HOTLINE_ROWS[:1], columns=["单号", *HOTLINE_HEADER[1:]])
    raw = rq.read_hotline(renamed.to_csv(index=False).encode(), "x.csv")
    with pytest.raises(InputError, match="external_id"):
        rq.preview_hotline(db, raw)
    mapping = rq.guess_mapping(raw.columns) | {"external_id": "单号"}
    assert len(rq.preview_hotline(db, raw, mapping).ready) == 1
    with pytest.raises(InputError, match="没有列"):
        rq.preview_hotline(db, raw, mapping | {"lon": "X"})


# --- Open311 GeoReport v2 ---------------------------------------------------------------------

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def check_open311(payload: dict) -> None:
    """The fields and types GeoReport v2 gives for GET services and GET requests."""
    services = payload["services"]
    codes = [s["service_code"] for s in services]
    assert len(codes) == len(set(codes))
    for s in services:
        assert set(s) == set(rq.OPEN311_SERVICE_FIELDS)
        assert isinstance(s["service_name"], str) and s["metadata"] is False
        assert s["type"] in ("realtime", "batch", "blackbox")
    for r in payload["requests"]:
        assert list(r) == list(rq.OPEN311_REQUEST_FIELDS)
        assert isinstance(r["service_request_id"], str) and r["service_request_id"]
        assert r["status"] in ("open", "closed")
        assert r["service_code"] in codes
        for key in ("requested_datetime", "updated_datetime"):
            assert ISO.match(r[key]), r[key]
        assert r["expected_datetime"] is None or ISO.match(r["expected_datetime"])
        assert r["updated_datetime"] >= r["requested_datetime"]
        assert isinstance(r["lat"], float) and isinstance(r["long"], float)
        assert -90 <= r["lat"] <= 90 and -180 <= r["long"] <= 180
    json.dumps(payload, ensure_ascii=False)  # serialisable as is


def test_open311_export(db: Engine) -> None:
    rid = log(db, address="甲社区1栋")
    rq.assign(db, rid, 2, now=NOW + HOUR)
    rq.resolve(db, rid, "ok", now=NOW + 2 * HOUR)
    payload = rq.export_open311(db)
    check_open311(payload)
    by_id = {r["service_request_id"]: r for r in payload["requests"]}
    mine = by_id[rq.request_detail(db, rid)["code"]]
    assert mine["status"] == "closed" and mine["service_code"] == "water_heating"
    assert mine["requested_datetime"] == "2026-01-05T09:00:00+08:00"
    assert mine["updated_datetime"] == "2026-01-05T11:00:00+08:00"
    assert mine["address"] == "甲社区1栋" and mine["address_id"] == "B001"
    assert by_id["R20260101-0001"]["status"] == "open"
    only_open = rq.export_open311(db, rq.OPEN_STATUSES)["requests"]
    assert [r["service_request_id"] for r in only_open] == ["R20260101-0001"]


# --- the demo street and the command line -----------------------------------------------------


def test_demo_street_stats_and_open311(demo_db_url: str) -> None:
    from gridmap.db import open_database

    engine = open_database(demo_db_url)
    now = dt.datetime.combine(settings.DEMO_REFERENCE_DATE, dt.time())
    requests = rq.load_requests(engine)
    by_grid = rq.stats_for(engine, now, "grid")
    assert by_grid["requests"].sum() == requests["grid_id"].notna().sum()
    assert (
        by_grid["overdue"].sum()
        == rq.overdue_mask(requests[requests["grid_id"].notna()], now).sum()
    )
    assert by_grid["overdue"].sum() > 0 and by_grid["median_hours_to_resolve"].notna().all()
    by_member = rq.stats_for(engine, now, "member")
    assert by_member["requests"].sum() == (requests["assignee_kind"] == "member").sum()
    assert not by_member["member_name"].str.contains(r"^[^*]{3,}$").any()  # masked
    payload = rq.export_open311(engine)
    assert len(payload["requests"]) == len(requests) == 3000
    check_open311(payload)
    # placement agrees with the demo's own grid for (nearly) every request
    grids = rq.place_points(requests.geometry.to_numpy(), *_layers(engine))["grid_id"]
    agree = (grids.astype("Float64") == requests["grid_id"].astype("Float64")).mean()
    assert agree > 0.99


def _layers(engine: Engine):
    from gridmap.repository import active_grids

    return active_grids(engine), read_table(engine, "building")


def test_cli_import_stats_and_open311(engine: Engine, tmp_path) -> None:
    save_tables(engine, world())
    url = engine.url.render_as_string(hide_password=False)
    data, name = hotline_bytes("gbk")
    path = tmp_path / name
    path.write_bytes(data)
    run = CliRunner().invoke
    dry = run(main, ["requests", "import", "--db", url, "--dry-run", str(path)])
    assert dry.exit_code == 1 and "dry run" in dry.output and "第 5 行" in dry.output
    assert len(read_table(engine, "request")) == 1
    first = run(main, ["requests", "import", "--db", url, str(path)])
    assert first.exit_code == 1, first.output  # rows were rejected
    assert "3 imported" in first.output and "row 6" in first.output
    again = run(main, ["requests", "import", "--db", url, str(path)])
    assert "0 imported, 3 already present" in again.output

    out = tmp_path / "requests.json"
    services = tmp_path / "services.json"
    done = run(main, ["requests", "open311", "--db", url, str(out), "--services", str(services)])
    assert done.exit_code == 0, done.output
    check_open311({"requests": json.loads(out.read_text("utf-8")),
                   "services": json.loads(services.read_text("utf-8"))})  # fmt: skip

    stats = run(main, ["requests", "stats", "--db", url, "--by", "grid", "--now", "2026-01-05"])
    assert stats.exit_code == 0, stats.output
    table_ = pd.read_csv(io.StringIO(stats.output))
    assert table_["诉求(件)"].sum() == 4 and list(table_["网格编码"])[:1] == ["420303001-001-01"]
    js = run(main, ["requests", "stats", "--db", url, "--by", "member", "--format", "json"])
    assert js.exit_code == 0 and json.loads(js.output) == []
    bad = run(main, ["requests", "stats", "--db", url, "--now", "yesterday"])
    assert bad.exit_code == InputError.exit_code and "--now" in bad.output


def test_point_helpers() -> None:
    assert rq.normalise_address(" 阳光小区 ３号楼 ") == "阳光小区3栋"
    placed = rq.place_points(np.array([Point(*OUTSIDE), None], dtype=object),
                             *_tiny_layers())  # fmt: skip
    assert placed["grid_id"].isna().all()


def _tiny_layers():
    import geopandas as gpd

    w = clean_world()
    grids = w["grid"][["id", "geom"]]
    return gpd.GeoDataFrame(grids, geometry="geom", crs=4326), w["building"]


def test_clock_never_goes_back() -> None:
    future = dt.datetime(2100, 1, 1)
    assert rq.clock(future) == future
    assert rq.clock(dt.datetime(2000, 1, 1)).year >= 2026


def test_headline_figures_count_open_overdue_handled_and_the_mean_rating() -> None:
    import datetime as dt

    import pandas as pd

    now = dt.datetime(2026, 10, 31, 12, 0)
    requests = pd.DataFrame(
        {
            "status": ["received", "assigned", "resolved", "evaluated", "rejected"],
            "due_at": pd.to_datetime(["2026-10-30", "2026-11-02", "2026-10-20", None, None]),
            "resolved_at": pd.to_datetime([None, None, "2026-10-25", "2026-10-01", None]),
            "rating": [None, None, 4, 2, None],
        }
    )
    figures = rq.headline_figures(requests, now)
    assert figures == {"open": 2, "overdue": 1, "handled": 2, "rating": 3.0}
    assert rq.headline_figures(requests.assign(rating=None), now)["rating"] is None


def test_one_now_for_every_page_report_and_command(demo_db_url: str) -> None:
    """Issue 19, item 4: the requests page, the hotspots page, the report and the CLI read
    the same "now": the demo's reference date on the demo street, the clock elsewhere."""
    from gridmap.db import open_database
    from gridmap.report import report_now

    demo = open_database(demo_db_url)
    now = rq.street_now(demo)
    assert now == dt.datetime.combine(settings.DEMO_REFERENCE_DATE, dt.time())
    assert report_now(demo) == now
    result = CliRunner().invoke(
        main, ["requests", "stats", "--by", "grid", "--db", demo_db_url, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    expected = rq.stats_for(demo, now, "grid")
    shown = json.loads(result.output)
    assert sum(r["overdue"] for r in shown) == int(expected["overdue"].sum())


def test_elsewhere_now_is_the_local_clock_never_before_the_latest_step(db: Engine) -> None:
    before = rq.street_now(db)
    assert abs((before - rq.clock()).total_seconds()) < 5
    rid = log(db, now=dt.datetime(2099, 1, 1, 8, 0))  # a step recorded in the future
    assert rq.street_now(db) == dt.datetime(2099, 1, 1, 8, 0) and rid


def test_worklist_orders_open_requests_by_urgency() -> None:
    """Overdue first, then due within REQUEST_DUE_SOON_HOURS, then the rest; earliest due first
    within each; closed requests left out (hand-built, known answer)."""
    now = dt.datetime(2026, 10, 31, 12, 0)
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "status": ["received", "assigned", "resolved", "escalated", "received", "assigned"],
            "due_at": pd.to_datetime(
                [
                    "2026-11-05 12:00",  # open, 120 h left
                    "2026-10-31 11:00",  # 1 h late
                    "2026-10-01 00:00",  # resolved: not on the list
                    "2026-10-20 00:00",  # 11.5 days late
                    "2026-11-01 12:00",  # 24 h left: due soon
                    None,  # no due time: open, last
                ]
            ),
        }
    )
    todo = rq.worklist(frame, now, soon_hours=48)
    assert todo["id"].tolist() == [4, 2, 5, 1, 6]
    assert todo["urgency"].tolist() == ["overdue", "overdue", "due_soon", "open", "open"]
    assert todo["hours_left"].iloc[:4].tolist() == [-276.0, -1.0, 24.0, 120.0]
    assert rq.worklist(frame, now, soon_hours=200)["urgency"].tolist()[3] == "due_soon"


def test_rerouting_recomputes_the_due_time_and_is_audited(db: Engine) -> None:
    """Issue 22 item 4: another category brings its time limit from the start of the running
    limit; another department needs a department already; both steps audited; nothing changes
    on a refusal."""
    rid = log(db, category="供水供暖")
    before = rq.request_detail(db, rid)
    old_hours, new_hours = rq.sla_hours("供水供暖"), rq.sla_hours("环境卫生")
    assert old_hours != new_hours
    with pytest.raises(InputError, match="原因"):
        rq.reroute(db, rid, " ", category="环境卫生", now=NOW + HOUR)
    with pytest.raises(InputError, match="nothing"):
        rq.reroute(db, rid, "同类", category="供水供暖", now=NOW + HOUR)
    with pytest.raises(InputError, match="部门接单"):
        rq.reroute(db, rid, "换部门", department="水务局", now=NOW + HOUR)
    assert len(rq.timeline(db, rid)) == 1
    assert rq.reroute(db, rid, "实为垃圾清运", category="环境卫生", now=NOW + HOUR) == "received"
    after = rq.request_detail(db, rid)
    assert after["category"] == "环境卫生"
    assert pd.Timestamp(after["due_at"]) == pd.Timestamp(before["received_at"]) + pd.Timedelta(
        hours=new_hours
    )
    step = rq.timeline(db, rid).iloc[-1]
    assert "供水供暖 → 环境卫生" in step["note"] and "实为垃圾清运" in step["note"]
    assert step["from_status"] == step["to_status"] == "received"

    rq.send_to_department(db, rid, "城管局", now=NOW + 2 * HOUR)
    assert rq.request_detail(db, rid)["department"] == "城管局"
    rq.reroute(db, rid, "属水务职责", department="水务局", now=NOW + 3 * HOUR)
    assert rq.request_detail(db, rid)["department"] == "水务局"
    log_rows = read_table(db, "audit_log").query("action == 'request_reroute'")
    assert len(log_rows) == 2
    last = json.loads(log_rows["before"].iloc[-1]), json.loads(log_rows["after"].iloc[-1])
    assert (last[0]["department"], last[1]["department"]) == ("城管局", "水务局")
    # a reopened request's limit runs from the reopening: the new category keeps that start
    rq.resolve(db, rid, "已清运", now=NOW + 4 * HOUR)
    rq.reopen(db, rid, "又堆满了", now=NOW + 5 * HOUR)
    rq.reroute(db, rid, "实为供水", category="供水供暖", now=NOW + 6 * HOUR)
    due = pd.Timestamp(rq.request_detail(db, rid)["due_at"])
    assert due == pd.Timestamp(NOW + 5 * HOUR) + pd.Timedelta(hours=old_hours)
    rq.resolve(db, rid, "修好", now=NOW + 7 * HOUR)
    with pytest.raises(ConflictError, match="改派"):
        rq.reroute(db, rid, "迟了", category="环境卫生", now=NOW + 8 * HOUR)


def test_duplicates_are_proposed_and_merged_once(db: Engine) -> None:
    """Issue 22 item 3: the same category close by and soon after an open one is proposed;
    merging closes the duplicate (counted apart by the rates) and the original counts both
    reporters; a merged duplicate cannot be reopened, and nothing merges into a duplicate."""
    first = log(db, description="楼道漏水")
    near = (IN_B001[0] + 0.00002, IN_B001[1])  # ~2 m east
    second = log(db, description="楼道还在漏水", point=near, now=NOW + 24 * HOUR)
    other_kind = log(db, category="停车管理", point=near, now=NOW + 24 * HOUR)
    far = log(db, point=IN_B011, now=NOW + 24 * HOUR)
    late = log(db, point=near, now=NOW + (settings.DUPLICATE_DAYS * 24 + 1) * HOUR)
    found = rq.possible_duplicates(db).set_index("request_id")
    assert found.loc[second, "original_id"] == first
    assert 0 < found.loc[second, "distance_m"] < 5 and found.loc[second, "days_after"] == 1.0
    assert late in found.index and found.loc[late, "original_id"] == second  # 1 day after it
    assert {first, other_kind, far}.isdisjoint(found.index)
    assert list(rq.possible_duplicates(db, [second])["request_id"]) == [second]

    with pytest.raises(InputError, match="itself"):
        rq.merge_duplicate(db, second, second, now=NOW + 25 * HOUR)
    assert rq.merge_duplicate(db, second, first, now=NOW + 25 * HOUR) == "rejected"
    dup, orig = rq.request_detail(db, second), rq.request_detail(db, first)
    assert (dup["close_reason"], dup["duplicate_of"]) == ("duplicate", first)
    assert orig["reporters"] == 2 and orig["status"] == "received"
    assert "附议 2 人" in rq.timeline(db, first).iloc[-1]["note"]
    assert "reopen" not in dup["actions"]  # the page offers no move that must fail
    with pytest.raises(ConflictError, match="merged into"):
        rq.reopen(db, second, "误合并", now=NOW + 26 * HOUR)
    with pytest.raises(ConflictError, match="duplicate itself"):
        rq.merge_duplicate(db, late, second, now=NOW + 200 * HOUR)
    # the late one now proposes the original (its own candidate was merged away) … if near
    again = rq.possible_duplicates(db, [late])
    assert again.empty or int(again["original_id"].iloc[0]) == first
    # the rates count the matter once: one accepted, one duplicate
    requests = rq.load_requests(db)
    pair = requests[requests["id"].isin([first, second])]
    facts = rq.request_facts(pair, pd.Series(dtype="datetime64[ns]"), NOW + 26 * HOUR)
    assert int(facts["accepted"].sum()) == 1 and int(facts["duplicates"].sum()) == 1


def test_cli_duplicates_merge_and_reroute(db: Engine) -> None:
    url = db.url.render_as_string(hide_password=False)
    first = log(db, description="路灯不亮")
    second = log(db, point=(IN_B001[0] + 0.00002, IN_B001[1]), now=NOW + 2 * HOUR)
    codes = read_table(db, "request").set_index("id")["code"]

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, ["requests", *args, "--db", url])
        assert result.exit_code == code, result.output
        return result.output

    listed = json.loads(run("duplicates", "--format", "json"))
    assert [(r["request_id"], r["original_id"]) for r in listed] == [(second, first)]
    assert f"{codes[second]} → {codes[first]}" in run("duplicates")
    out = run("reroute", codes[second], "--category", "市政设施", "--reason", "路灯属市政",
              "--now", (NOW + 3 * HOUR).isoformat())  # fmt: skip
    assert "市政设施" in out and rq.request_detail(db, second)["category"] == "市政设施"
    assert run("duplicates", "--format", "json").strip() == "[]"  # no longer the same kind
    rq.reroute(db, second, "改回", category="供水供暖", now=NOW + 4 * HOUR)
    run("merge", str(second), "--into", codes[first], "--now", (NOW + 5 * HOUR).isoformat())
    assert rq.request_detail(db, first)["reporters"] == 2
    refused = run("merge", str(first), "--into", str(second), code=ConflictError.exit_code)
    assert "duplicate itself" in refused and "Traceback" not in refused
    assert "不存在" in run("merge", "R-nope", "--into", "1", code=InputError.exit_code)


def test_closing_carries_a_reason_code(db: Engine) -> None:
    rid = log(db)
    rq.assign(db, rid, 2, now=NOW)
    with pytest.raises(InputError, match="merged"):
        rq.resolve(db, rid, "重复", code="duplicate", now=NOW + HOUR)
    with pytest.raises(InputError, match="closing reason"):
        rq.resolve(db, rid, "x", code="nonsense", now=NOW + HOUR)
    rq.resolve(db, rid, "水务公司已修复", code="other_body", now=NOW + HOUR)
    detail = rq.request_detail(db, rid)
    assert (detail["status"], detail["close_reason"]) == ("resolved", "other_body")
    assert "办结原因" in rq.timeline(db, rid).iloc[-1]["note"]
    rq.reopen(db, rid, "又漏了", now=NOW + 2 * HOUR)
    assert rq.request_detail(db, rid)["close_reason"] is None
