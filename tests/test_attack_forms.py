"""The members and hotline readers, and the organisation forms, under the attack of issue 24
(item 5), on both backends.

The member spreadsheet (:func:`gridmap.organisation.read_member_file`) and the 12345 hotline
file (:func:`gridmap.requests.read_hotline`) are read with the checks of every import
(:func:`gridmap.io.read_spreadsheet`): a whitespace-only file, a formula cell, Big5 text and a
NUL character are refused with a sentence naming the file (and row and field), never a
traceback, an empty phone or mojibake, and the database is unchanged; rows are numbered as the
spreadsheet numbers them, blank lines included. Form edits (:func:`~gridmap.organisation.
edit_member`, :func:`~gridmap.organisation.add_new_member`, :func:`~gridmap.organisation.
edit_person`) go through the value checks of the imports: an impossible date or a malformed
phone is refused as a :class:`~gridmap.validation.ValueProblem` naming the form field, nothing
changed; a valid phone is stored in the form an import stores.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine
from unchanged import contents

from gridmap import organisation as org
from gridmap import requests as rq
from gridmap.errors import InputError
from gridmap.repository import read_table
from gridmap.validation import ValueProblem, normalise_phone
from worlds import LAT, LON, D

IN_A = (LON + 0.2 * D, LAT + 0.2 * D)  # community A, grid 1, building B001's block


def _xlsx(rows: list[list[object]]) -> bytes:
    """A workbook as openpyxl writes it: a formula cell has no cached value."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the files --------------------------------------------------------------------------------

MEMBER_HEADER = ["姓名", "手机", "党员类别", "党组织", "楼栋编码"]
MEMBER_ROW = ["王五", "13900001111", "离退休党员", "第1网格党支部", "B001"]
HOTLINE_HEADER = ["工单编号", "受理时间", "诉求类别", "来电人", "经度", "纬度"]
HOTLINE_ROW = ["GD-1", "2026-01-02 09:10", "环境卫生", "刘大山", IN_A[0], IN_A[1]]


def _csv(rows: list[list[object]]) -> str:
    return "".join(",".join(str(v) for v in row) + "\n" for row in rows)


_BIG5_MEMBERS = _csv([["姓名", "手機", "黨員類別", "黨組織", "樓棟編碼"],
                      ["陳大文", "13800000001", "離退休黨員", "第1網格黨支部", "B001"],
                      ["林志明", "13800000002", "在冊居民黨員", "黨支部", "B001"]])  # fmt: skip
_BIG5_HOTLINE = _csv([["工單編號", "受理時間", "訴求類別", "來電人", "經度", "緯度"],
                      ["GD-1", "2026-01-02 09:10", "環境衛生", "陳大文", *IN_A],
                      ["GD-2", "2026-01-02 09:20", "環境衛生", "林志明", *IN_A]])  # fmt: skip
_NO_CONTENT = "文件没有内容"
_BIG5 = "Big5"
_FORMULA = "单元格是公式"
_NUL = "NUL"
_LINK = '=HYPERLINK("http://x","y")'

#: (file name, bytes, fragments the refusal must hold) for the member spreadsheet.
MEMBER_FILES = {
    "whitespace-csv": ("members.csv", b" \n \t \n\n", [_NO_CONTENT]),
    "whitespace-xlsx": ("members.xlsx", _xlsx([["  "], [None, " "]]), [_NO_CONTENT]),
    "formula-phone": (
        "members.xlsx",
        _xlsx([MEMBER_HEADER, MEMBER_ROW, ["王六", "=B2+1", *MEMBER_ROW[2:]]]),
        ["第 3 行", "字段 / field 手机", _FORMULA],
    ),
    "big5": ("members.csv", _BIG5_MEMBERS.encode("big5"), [_BIG5]),
    "nul": (
        "members.csv",
        _csv([MEMBER_HEADER, ["王\x00五", *MEMBER_ROW[1:]]]).encode(),
        ["第 2 行", "字段 / field 姓名", _NUL],
    ),
}

#: The same attacks on the 12345 hotline file.
HOTLINE_FILES = {
    "whitespace-csv": ("hotline.csv", b"  \r\n\t\r\n", [_NO_CONTENT]),
    "whitespace-xlsx": ("hotline.xlsx", _xlsx([[" "], [None, "  "]]), [_NO_CONTENT]),
    "formula-reporter": (
        "hotline.xlsx",
        _xlsx([HOTLINE_HEADER, HOTLINE_ROW, ["GD-2", HOTLINE_ROW[1], "环境卫生", _LINK, *IN_A]]),
        ["第 3 行", "字段 / field 来电人", _FORMULA],
    ),
    "big5": ("hotline.csv", _BIG5_HOTLINE.encode("big5"), [_BIG5]),
    "nul": (
        "hotline.csv",
        _csv([HOTLINE_HEADER, ["GD-1", HOTLINE_ROW[1], "环境卫生", "刘\x00大山", *IN_A]]).encode(),
        ["第 2 行", "字段 / field 来电人", _NUL],
    ),
}


@pytest.mark.parametrize("case", list(MEMBER_FILES))
def test_member_file_attack_is_refused_with_a_sentence(world: Engine, case: str) -> None:
    name, data, fragments = MEMBER_FILES[case]
    before = contents(world)
    with pytest.raises(InputError) as info:
        rows = org.read_member_file(data, name)
        org.import_members(world, rows, name)
    message = str(info.value)
    assert message.startswith(f"{name}: ") and " / " in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert contents(world) == before


@pytest.mark.parametrize("case", list(HOTLINE_FILES))
def test_hotline_file_attack_is_refused_with_a_sentence(world: Engine, case: str) -> None:
    name, data, fragments = HOTLINE_FILES[case]
    before = contents(world)
    with pytest.raises(InputError) as info:
        rq.import_hotline(world, data, filename=name, actor_id=1)
    message = str(info.value)
    assert message.startswith(f"{name}: ") and " / " in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert contents(world) == before


def test_member_rows_are_numbered_as_the_spreadsheet_numbers_them(world: Engine) -> None:
    """A blank line counts: the bad row is the file's row 4, not the third record's 3."""
    text = _csv([MEMBER_HEADER, MEMBER_ROW]) + "\n" + _csv([["王六", "call-me-maybe",
                                                            *MEMBER_ROW[2:]]])  # fmt: skip
    rows = org.read_member_file(text.encode(), "members.csv")
    assert rows["row"].tolist() == [2, 4]
    before = contents(world)
    with pytest.raises(InputError) as info:
        org.import_members(world, rows, "members.csv")
    assert "members.csv 第 4 行" in str(info.value) and "call-me-maybe" in str(info.value)
    assert contents(world) == before


def test_hotline_rows_are_numbered_as_the_spreadsheet_numbers_them(world: Engine) -> None:
    text = (
        _csv([HOTLINE_HEADER, HOTLINE_ROW])
        + "\n\n"
        + _csv([["GD-2", "yesterday", "环境卫生", "陈", *IN_A]])
    )
    raw = rq.read_hotline(text.encode(), "hotline.csv")
    assert raw.loc[1, "工单编号"] == "GD-2"  # indexed 0, 1, … as before
    done = rq.import_hotline(world, text.encode(), filename="hotline.csv", actor_id=1)
    assert done.written == 1
    assert done.rejected["row"].tolist() == [5]
    assert "受理时间" in done.rejected["reason"].iloc[0]


def test_valid_member_workbook_still_imports_with_numbers_as_written(world: Engine) -> None:
    data = _xlsx([MEMBER_HEADER, ["王五", 13900001111, "离退休党员", "第1网格党支部", "B001"]])
    rows = org.read_member_file(data, "members.xlsx")
    assert rows.loc[0, "phone"] == "13900001111" and rows["row"].tolist() == [2]
    assert org.import_members(world, rows, "members.xlsx") == {"members": 1, "persons": 1}
    assert read_table(world, "person").set_index("name").loc["王五", "phone"] == "13900001111"


# --- the forms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"last_contact_on": dt.date(2099, 1, 1)}, "last_contact_on", "晚于今天"),
        ({"joined_on": dt.date(1066, 10, 14)}, "joined_on", "早于建党"),
        ({"registered_on": dt.date(1990, 1, 1)}, "registered_on", "早于入党日期"),
        ({"joined_on": "2099-07-01"}, "joined_on", "晚于今天"),
    ],
    ids=["contact-2099", "joined-1066", "registered-before-joining", "joined-2099-text"],
)
def test_member_edit_with_an_impossible_date_is_refused(
    world: Engine, changes: dict, field: str, fragment: str
) -> None:
    before = contents(world)
    with pytest.raises(ValueProblem) as info:
        org.edit_member(world, 1, version=1, **changes)
    assert info.value.field == field
    assert fragment in str(info.value) and " / " in str(info.value)
    assert contents(world) == before


def test_new_member_with_an_impossible_date_adds_no_one(world: Engine) -> None:
    before = contents(world)
    with pytest.raises(ValueProblem) as info:
        org.add_new_member(world, "王五", 2, "retired", phone="13900001111",
                           joined_on=dt.date(2099, 7, 1))  # fmt: skip
    assert info.value.field == "joined_on"
    assert contents(world) == before


@pytest.mark.parametrize("phone", ["call-me-maybe", "1234567890123", "400-810-8888", "12ab"])
def test_person_edit_with_a_bad_phone_is_refused(world: Engine, phone: str) -> None:
    before = contents(world)
    with pytest.raises(ValueProblem) as info:
        org.edit_person(world, 1, name="张晓明", phone=phone)
    assert info.value.field == "phone"
    assert "不是有效的手机号或固定电话" in str(info.value)
    with pytest.raises(ValueProblem):
        org.add_new_member(world, "王五", 2, "retired", phone=phone)
    assert contents(world) == before


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("+86 139-0000-1111", "13900001111"), ("0719-866 1234", "07198661234"),
     ("０７１９－８６６１２３４ 转 12", "07198661234-12")],
)  # fmt: skip
def test_forms_store_phones_as_imports_do(world: Engine, typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored  # what an import stores
    org.edit_person(world, 1, phone=typed)
    assert read_table(world, "person").set_index("id").loc[1, "phone"] == stored
    pid, _ = org.add_new_member(world, "王五", 2, "retired", phone=typed)
    assert read_table(world, "person").set_index("id").loc[pid, "phone"] == stored
