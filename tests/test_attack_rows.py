"""Rows and values of an outside attack (issue 24, item 5), kept fixed on both backends.

:data:`ATTACK_ROWS` is a list of attack inputs, each written into ``tmp_path`` and imported into
the small world (tests/worlds.py) on SQLite and PostGIS: nonsense is refused with a sentence
naming file, row and field, no traceback, the database byte-for-byte unchanged (as
``_assert_rejected`` of tests/test_io.py asserts); what is valid (times with ``Z`` or an offset,
files without an optional column, phones with separators) is stored with the right values.
Further tests cover the member spreadsheet, the 12345 hotline file, the value checks of
:mod:`gridmap.validation`, and that a dry run needs the import's permission.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import shapely
from openpyxl import Workbook
from sqlalchemy import Engine
from unchanged import assert_rejected, fingerprint

from gridmap import auth
from gridmap import io as gio
from gridmap import organisation as org
from gridmap import requests as rq
from gridmap.errors import InputError, PermissionDenied
from gridmap.repository import read_table
from gridmap.validation import (
    ValueProblem,
    check_member_dates,
    local_naive,
    normalise_phone,
    plausible_count,
    require_scalar,
)
from worlds import LAT, LON, D

# --- the database fingerprint and the refusal check (as tests/test_io.py) ---------------------


# --- the attack inputs ------------------------------------------------------------------------

IN_A = (LON + 0.2 * D, LAT + 0.2 * D)  # community A, grid 1 (420303001-001-01)
IN_B = (LON + 3.5 * D, LAT + 0.5 * D)  # community B, which has no grid
STATION = (LON + 0.5 * D, LAT + 1.5 * D)


def _square(x: float, y: float, size: float = 0.1 * D) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def _geojson(*features: tuple[dict, dict | None]) -> str:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": props, "geometry": geom}
                for props, geom in features
            ],
        },
        ensure_ascii=False,
    )


def _point(xy: tuple[float, float]) -> dict:
    return {"type": "Point", "coordinates": list(xy)}


def _requests_csv(*rows: str, extra: str = "") -> str:
    """A requests file with a description column (the attack is elsewhere in the row)."""
    header = "code,source,category,status,received_at,lon,lat,description" + extra
    return "\n".join([header, *rows]) + "\n"


def _request(code: str, status: str = "received", at: str = "2026-02-01 08:00",
             xy: tuple[float, float] = IN_A, extra: str = "") -> str:  # fmt: skip
    return f"{code},report,环境卫生,{status},{at},{xy[0]},{xy[1]},楼道堆物{extra}"


def _members_csv(*rows: str) -> str:
    return "name,phone,category,joined_on,registered_on\n" + "\n".join(rows) + "\n"


def _requests_xlsx(path: Path) -> None:
    """A request workbook without the optional description column; a naive time cell."""
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "source", "category", "status", "received_at", "lon", "lat"])
    sheet.append(["XL1", "report", "环境卫生", "received", dt.datetime(2026, 2, 1, 8, 0), *IN_A])
    book.save(path)


def _ts(text_: str) -> pd.Timestamp:
    return pd.Timestamp(text_)


#: Attack inputs: ``file`` (written from ``content``: text, or a function writing the path),
#: ``layer``, and either ``expect`` (fragments of the refusal) or ``stored`` (table, key
#: column, key, and the values the row must hold).
ATTACK_ROWS: list[dict[str, Any]] = [
    # --- tracebacks instead of a sentence: integer overflow --------------------------------
    {"file": "households_1e20.geojson", "layer": "buildings",
     "content": _geojson(({"code": "N1", "households": 1e20}, _square(LON + 0.5 * D,
                                                                      LAT + 1.2 * D))),
     "expect": ["第 1 个要素 / feature 1", "field households", "超出合理范围", "0–20000"]},
    {"file": "households_9e18.csv", "layer": "buildings",
     "content": "code,households,wkt\n"
                f'N1,9000000000000000000,"{shapely.box(LON + 0.5 * D, LAT + 1.2 * D, LON + 0.6 * D, LAT + 1.3 * D).wkt}"\n',  # noqa: E501
     "expect": ["第 2 行 / row 2, 字段 / field households", "9000000000000000000",
                "plausible range"]},
    {"file": "residents_too_many.csv", "layer": "buildings",
     "content": "code,households,residents,wkt\n"
                f'N1,10,70000,"{shapely.box(LON + 0.5 * D, LAT + 1.2 * D, LON + 0.6 * D, LAT + 1.3 * D).wkt}"\n',  # noqa: E501
     "expect": ["第 2 行 / row 2, 字段 / field residents", "超出合理范围(0–60000)"]},
    {"file": "employees_overflow.csv", "layer": "organisations",
     "content": "code,name,community_code,kind,industry,employees,members\n"
                "O1,某公司,420303001-001,enterprise,餐饮,3000000000,2\n",
     "expect": ["第 2 行 / row 2, 字段 / field employees", "3000000000"]},
    # --- tracebacks instead of a sentence: valid files without an optional column -------------
    {"file": "requests_no_description.csv", "layer": "requests",
     "content": "code,source,category,status,received_at,lon,lat\n"
                f"X1,report,环境卫生,received,2026-02-01 08:00,{IN_A[0]},{IN_A[1]}\n",
     "stored": ("request", "code", "X1", {"description": "", "status": "received",
                                          "received_at": _ts("2026-02-01 08:00")})},
    {"file": "requests_no_description.geojson", "layer": "requests",
     "content": _geojson(({"code": "X2", "source": "visit", "category": "环境卫生",
                           "status": "received", "received_at": "2026-02-01 09:00"},
                          _point(IN_A))),
     "stored": ("request", "code", "X2", {"description": "", "source": "visit"})},
    {"file": "requests_no_description.xlsx", "layer": "requests", "content": _requests_xlsx,
     "stored": ("request", "code", "XL1", {"description": "",
                                           "received_at": _ts("2026-02-01 08:00")})},
    {"file": "members_only_required.csv", "layer": "members",
     "content": "name,category\n王五,resident\n",
     "stored": ("member", "category", "resident", {"status": "active", "joined_on": None})},
    {"file": "organisations_only_required.csv", "layer": "organisations",
     "content": "code,name,community_code,kind,industry\nO1,某公司,420303001-001,enterprise,餐饮\n",
     "stored": ("organisation", "code", "O1", {"employees": 0, "members": 0,
                                               "coverage": "none"})},
    {"file": "stations_only_required.csv", "layer": "stations",
     "content": f"name,level,lon,lat\n新站,community,{STATION[0]},{STATION[1]}\n",
     "stored": ("service_station", "name", "新站", {"level": "community",
                                                   "opening_hours": None})},
    # --- silent damage: times with Z or an offset ---------------------------------------------
    {"file": "requests_utc_z.csv", "layer": "requests",
     "content": _requests_csv(_request("Z1", at="2026-02-01T00:30:00Z")),
     "stored": ("request", "code", "Z1", {"received_at": _ts("2026-02-01 08:30")})},
    {"file": "requests_offsets.csv", "layer": "requests",
     "content": _requests_csv(
         _request("Z2", "resolved", "2026-02-01T08:30:00+09:00",
                  extra=",2026-02-01T01:00:00+00:00"),
         _request("Z3", at="2026-02-01 08:30", extra=","),  # naive: kept as read
         extra=",resolved_at"),
     "stored": ("request", "code", "Z2", {"received_at": _ts("2026-02-01 07:30"),
                                          "resolved_at": _ts("2026-02-01 09:00")})},
    {"file": "requests_naive_kept.csv", "layer": "requests",
     "content": _requests_csv(_request("Z4", at="2026-02-01 08:30")),
     "stored": ("request", "code", "Z4", {"received_at": _ts("2026-02-01 08:30")})},
    {"file": "requests_utc.geojson", "layer": "requests",
     "content": _geojson(({"code": "Z5", "source": "report", "category": "环境卫生",
                           "status": "received", "received_at": "2026-02-01T23:30:00Z",
                           "description": "d"}, _point(IN_A))),
     "stored": ("request", "code", "Z5", {"received_at": _ts("2026-02-02 07:30")})},
    # --- silent damage: arrays and objects ----------------------------------------------------
    {"file": "station_name_array.geojson", "layer": "stations",
     "content": _geojson(({"name": [1, 2], "level": "community"}, _point(STATION))),
     "expect": ["第 1 个要素 / feature 1, 字段 / field name", "值是数组([1, 2])",
                "must be a single value"]},
    {"file": "station_hours_object.geojson", "layer": "stations",
     "content": _geojson(({"name": "新站", "level": "community",
                           "opening_hours": {"mon": "8-17"}}, _point(STATION))),
     "expect": ["feature 1, 字段 / field opening_hours", "值是对象", "holds an object"]},
    {"file": "building_code_object_among_text.geojson", "layer": "buildings",
     "content": _geojson(({"code": "N1"}, _square(LON + 0.5 * D, LAT + 1.2 * D)),
                         ({"code": {"id": [7]}}, _square(LON + 0.7 * D, LAT + 1.2 * D))),
     "expect": ["第 2 个要素 / feature 2, 字段 / field code", "值是对象"]},
    {"file": "request_category_array.geojson", "layer": "requests",
     "content": _geojson(({"code": "A1", "source": "report", "category": ["环境", "卫生"],
                           "status": "received", "received_at": "2026-02-01 08:00"},
                          _point(IN_A))),
     "expect": ["feature 1, 字段 / field category", "holds an array"]},
    # --- accepted nonsense: members -------------------------------------------------------------
    {"file": "member_phone_words.csv", "layer": "members",
     "content": _members_csv("王五,call-me-maybe,resident,,"),
     "expect": ["第 2 行 / row 2, 字段 / field phone", "'call-me-maybe'", "不是有效的手机号"]},
    {"file": "member_phone_too_long.csv", "layer": "members",
     "content": _members_csv("王五,138123412345,resident,,"),
     "expect": ["row 2, 字段 / field phone", "not a mainland mobile or landline"]},
    {"file": "member_joined_2099.csv", "layer": "members",
     "content": _members_csv("王五,13900001111,resident,2099-01-01,"),
     "expect": ["第 2 行 / row 2, 字段 / field joined_on", "2099-01-01 晚于今天"]},
    {"file": "member_joined_1066.csv", "layer": "members",
     "content": _members_csv("王五,13900001111,resident,1066-10-14,"),
     "expect": ["row 2, 字段 / field joined_on", "早于建党(1921-07-01)"]},
    {"file": "member_registered_before_joining.csv", "layer": "members",
     "content": _members_csv("王五,13900001111,in_service,2010-07-01,2005-03-01"),
     "expect": ["row 2, 字段 / field registered_on", "2005-03-01 早于入党日期 2010-07-01"]},
    {"file": "member_phone_separators.csv", "layer": "members",
     "content": _members_csv("王六,138-1234-5678,resident,1990-07-01,",
                             "王七,(0719) 866 1234,resident,,"),
     "stored": ("person", "name", "王六", {"phone": "13812345678"})},
    # --- accepted nonsense: requests ------------------------------------------------------------
    {"file": "request_resolved_without_time.csv", "layer": "requests",
     "content": _requests_csv(_request("R1", "resolved")),
     "expect": ["第 2 行 / row 2, 字段 / field resolved_at", "须填写办结时间"]},
    {"file": "request_evaluated_without_time.csv", "layer": "requests",
     "content": _requests_csv(_request("R2", "evaluated", extra=",5"), extra=",rating"),
     "expect": ["row 2, 字段 / field resolved_at", "needs its resolution time"]},
    {"file": "request_resolved_before_received.csv", "layer": "requests",
     "content": _requests_csv(_request("R3", "resolved", extra=",2026-01-31 08:00"),
                              extra=",resolved_at"),
     "expect": ["row 2, 字段 / field resolved_at", "早于受理时间"]},
    {"file": "request_received_2099.csv", "layer": "requests",
     "content": _requests_csv(_request("R4", at="2099-02-01 08:00")),
     "expect": ["row 2, 字段 / field received_at", "is in the future"]},
    {"file": "request_grid_of_another_community.csv", "layer": "requests",
     "content": _requests_csv(_request("R5", xy=IN_B, extra=",420303001-001-01"),
                              extra=",grid_code"),
     "expect": ["第 2 行 / row 2, 字段 / field grid_code", "属于社区 420303001-001",
                "位于社区 420303001-002", "must be in its community"]},
    {"file": "request_grid_of_its_community.csv", "layer": "requests",
     "content": _requests_csv(_request("R6", extra=",420303001-001-01"), extra=",grid_code"),
     "stored": ("request", "code", "R6", {"grid_id": 1})},
]  # fmt: skip


def _write(tmp_path: Path, case: dict[str, Any]) -> Path:
    path = tmp_path / case["file"]
    content = case["content"]
    if callable(content):
        content(path)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _same(got: Any, want: Any) -> bool:
    if want is None:
        return got is None or pd.isna(got)
    if isinstance(want, pd.Timestamp):
        return pd.Timestamp(got) == want
    if isinstance(want, int) and not isinstance(want, bool):
        return int(got) == want
    return str(got) == str(want)


@pytest.mark.parametrize("case", ATTACK_ROWS, ids=[c["file"] for c in ATTACK_ROWS])
def test_attack_row(world: Engine, tmp_path: Path, case: dict[str, Any]) -> None:
    path = _write(tmp_path, case)
    if "expect" in case:
        assert_rejected(world, path, case["layer"], case["expect"], **case.get("options", {}))
        return
    table, key, value, wanted = case["stored"]
    plan = gio.import_file(world, case["layer"], path, **case.get("options", {}))
    assert plan.written
    rows = read_table(world, table)
    row = rows[rows[key].astype(str) == str(value)]
    assert len(row) == 1, rows
    for column, want in wanted.items():
        got = row[column].iloc[0]
        assert _same(got, want), (column, got, want)


def test_attack_list_covers_every_kind() -> None:
    refused = [c for c in ATTACK_ROWS if "expect" in c]
    read = [c for c in ATTACK_ROWS if "stored" in c]
    assert len(refused) >= 15 and len(read) >= 10
    assert {c["layer"] for c in ATTACK_ROWS} >= {"buildings", "stations", "members", "requests",
                                                  "organisations"}  # fmt: skip


def test_offsets_convert_to_the_stored_local_time(world: Engine, tmp_path: Path) -> None:
    """Both rows of the offsets file: the one with an offset converted, the naive one kept."""
    case = next(c for c in ATTACK_ROWS if c["file"] == "requests_offsets.csv")
    gio.import_file(world, "requests", _write(tmp_path, case))
    stored = read_table(world, "request").set_index("code")
    assert pd.Timestamp(stored.loc["Z3", "received_at"]) == pd.Timestamp("2026-02-01 08:30")
    assert pd.Timestamp(stored.loc["Z2", "received_at"]) == pd.Timestamp("2026-02-01 07:30")


def test_landline_is_stored_in_one_form(world: Engine, tmp_path: Path) -> None:
    case = next(c for c in ATTACK_ROWS if c["file"] == "member_phone_separators.csv")
    gio.import_file(world, "members", _write(tmp_path, case))
    people = read_table(world, "person").set_index("name")
    assert people.loc["王七", "phone"] == "07198661234"
    # the same people written another way are the same members: nothing new to add
    again = tmp_path / "again.csv"
    again.write_text(_members_csv("王六,13812345678,resident,1990-07-01,",
                                  "王七,0719-8661234,resident,,"), encoding="utf-8")  # fmt: skip
    assert gio.import_file(world, "members", again, dry_run=True).summary()["unchanged"] == 2


# --- the member spreadsheet of gridmap.organisation ------------------------------------------

BULK_HEADER = "姓名,手机,党员类别,党组织,楼栋编码,入党日期,报到日期\n"


@pytest.mark.parametrize(
    ("row", "expect"),
    [
        ("王五,13900001111,离退休党员,第1网格党支部,B001,2099-07-01,", ["joined_on", "晚于今天"]),
        ("王五,13900001111,离退休党员,第1网格党支部,B001,1066-10-14,", ["joined_on", "早于建党"]),
        ("王五,1390000111122,离退休党员,第1网格党支部,B001,,", ["手机", "不是有效的手机号"]),
        (
            "王五,13900001111,离退休党员,第1网格党支部,B001,1990-07-01,2099-01-01",
            ["registered_on", "in the future"],
        ),
    ],
    ids=["joined-2099", "joined-1066", "phone-13-digits", "registered-2099"],
)
def test_member_spreadsheet_refuses_impossible_values(world: Engine, row: str,
                                                      expect: list[str]) -> None:  # fmt: skip
    rows = org.read_member_file((BULK_HEADER + row + "\n").encode(), "members.csv")
    before = fingerprint(world)
    with pytest.raises(InputError) as info:
        org.import_members(world, rows, "members.csv")
    message = str(info.value)
    assert "members.csv 第 2 行" in message
    for fragment in expect:
        assert fragment in message, message
    assert fingerprint(world) == before


def test_member_spreadsheet_stores_phones_in_one_form(world: Engine) -> None:
    rows = org.read_member_file(
        (
            BULK_HEADER + "王五,+86 139-0000-1111,离退休党员,第1网格党支部,B001,1990-07-01,\n"
        ).encode(),
        "members.csv",
    )
    assert org.import_members(world, rows, "members.csv") == {"members": 1, "persons": 1}
    assert read_table(world, "person").set_index("name").loc["王五", "phone"] == "13900001111"


# --- the 12345 hotline file -------------------------------------------------------------------

HOTLINE_HEADER = "工单编号,受理时间,诉求类别,来电人,经度,纬度\n"


def test_hotline_times_with_z_are_local(world: Engine) -> None:
    data = (
        HOTLINE_HEADER
        + f"GD-Z,2026-01-02T01:10:00Z,环境卫生,刘大山,{IN_A[0]},{IN_A[1]}\n"
        + f"GD-N,2026-01-02 09:10,环境卫生,陈,{IN_A[0]},{IN_A[1]}\n"
    ).encode()
    done = rq.import_hotline(world, data, filename="hotline.csv")
    assert done.written == 2
    stored = read_table(world, "request").set_index("external_id")
    assert pd.Timestamp(stored.loc["GD-Z", "received_at"]) == pd.Timestamp("2026-01-02 09:10")
    assert pd.Timestamp(stored.loc["GD-N", "received_at"]) == pd.Timestamp("2026-01-02 09:10")
    assert stored.loc["GD-Z", "description"] == ""  # no description column: empty, not a crash


def test_hotline_preview_needs_the_import_permission(world: Engine) -> None:
    raw = rq.read_hotline(
        (HOTLINE_HEADER + f"GD-1,2026-01-02 09:10,环境卫生,刘大山,{IN_A[0]},{IN_A[1]}\n").encode(),
        "hotline.csv",
    )
    planner = auth.Principal(user_id=None, name="p", role="planner", street_id=1)
    with auth.acting_as(planner), pytest.raises(PermissionDenied):
        rq.preview_hotline(world, raw)
    worker = auth.Principal(None, "w", "grid_worker", street_id=1, community_id=1, grid_id=2)
    with auth.acting_as(worker):
        preview = rq.preview_hotline(world, raw)
    assert preview.ready.empty  # the row lies in grid 1: outside the worker's grid
    assert "outside your community or grid" in preview.rejected["reason"].iloc[0]


# --- a dry run tells nothing the role may not see ---------------------------------------------


@pytest.mark.parametrize("role", ["planner", "viewer", "secretary", "grid_worker"])
def test_dry_run_needs_the_import_permission(world: Engine, tmp_path: Path, role: str) -> None:
    """A planner probing a name with each category learns nothing: the dry run is refused in
    the core, with a sentence naming neither the person nor a category."""
    path = tmp_path / "probe.csv"
    path.write_text("name,phone,category\n张晓明,13812341234,in_service\n", encoding="utf-8")
    principal = auth.Principal(None, "u", role, street_id=1, community_id=1, grid_id=1)
    before = fingerprint(world)
    with auth.acting_as(principal), pytest.raises(PermissionDenied) as info:
        gio.import_file(world, "members", path, dry_run=True)
    message = str(info.value)
    assert "permission denied" in message and "import" in message
    assert "张晓明" not in message and "in_service" not in message and "张*明" not in message
    assert fingerprint(world) == before


def test_dry_run_of_an_administrator_still_works(world: Engine, tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    path.write_text("name,phone,category\n王五,139 0000 1111,resident\n", encoding="utf-8")
    admin = auth.Principal(None, "a", "street_admin", street_id=1)
    before = fingerprint(world)
    with auth.acting_as(admin):
        plan = gio.import_file(world, "members", path, dry_run=True)
    assert plan.summary()["added"] == 1 and not plan.written
    assert plan.persons["phone"].tolist() == ["13900001111"]
    assert fingerprint(world) == before


# --- the value checks, as the organisation forms call them ------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("13812341234", "13812341234"), ("138 1234 1234", "13812341234"),
     ("+86-138-1234-1234", "13812341234"), ("１３８１２３４１２３４", "13812341234"),
     (13812341234.0, "13812341234"), ("0719-8661234", "07198661234"),
     ("(010) 6512-3456", "01065123456"), ("8661234", "8661234"),
     ("0719-8661234 转 801", "07198661234-801"), ("0719-8661234-801", "07198661234-801"),
     ("", None), (None, None)],
)  # fmt: skip
def test_phones_accepted(raw: Any, stored: str | None) -> None:
    assert normalise_phone(raw) == stored


@pytest.mark.parametrize(
    "raw", ["call-me-maybe", "12345", "138123412345", "400-800-1234", "1381234123x", "23812341234"]
)
def test_phones_refused(raw: str) -> None:
    with pytest.raises(ValueProblem) as info:
        normalise_phone(raw)
    assert info.value.field == "phone" and " / " in str(info.value)


def test_member_dates() -> None:
    today = dt.date(2026, 12, 2)
    check_member_dates(dt.date(1921, 7, 1), dt.date(2026, 12, 2), None, today)
    cases = [
        ((dt.date(1921, 6, 30), None, None), "joined_on"),
        ((dt.date(2026, 12, 3), None, None), "joined_on"),
        ((dt.date(2000, 1, 1), dt.date(1999, 12, 31), None), "registered_on"),
        ((dt.date(2000, 1, 1), None, dt.date(1999, 1, 1)), "last_contact_on"),
        ((None, dt.date(2027, 1, 1), None), "registered_on"),
    ]
    for dates, field in cases:
        with pytest.raises(ValueProblem) as info:
            check_member_dates(*dates, today=today)
        assert info.value.field == field


def test_counts_and_scalars() -> None:
    assert plausible_count(500, "households") == 500
    for value in (20_001, -1, 10**20, True):
        with pytest.raises(ValueProblem):
            plausible_count(value, "households")
    with pytest.raises(ValueProblem):
        plausible_count(2**31, "rating")  # no limit of its own: the database's integer
    assert require_scalar("甲", "name") == "甲"
    for value in ([1], {"a": 1}, b"\x00", (1, 2)):
        with pytest.raises(ValueProblem):
            require_scalar(value, "name")


def test_local_naive() -> None:
    utc = dt.datetime(2026, 2, 1, 0, 30, tzinfo=dt.UTC)
    assert local_naive(utc) == dt.datetime(2026, 2, 1, 8, 30)
    assert local_naive(pd.Timestamp("2026-02-01T00:30:00Z")) == dt.datetime(2026, 2, 1, 8, 30)
    assert local_naive(dt.datetime(2026, 2, 1, 0, 30)) == dt.datetime(2026, 2, 1, 0, 30)
