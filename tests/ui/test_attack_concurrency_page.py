"""组织与人员 under a concurrent edit (issue 24): the member form carries the version the page
showed, so an edit made on a page someone else has changed since is refused with a sentence,
and nothing of it is written; once the page shows the new version, the edit goes through."""

from __future__ import annotations

from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import organisation as org
from gridmap.db import open_database
from gridmap.repository import read_table

PAGE = "views/organisation.py"


def _member(url: str, member_id: int) -> dict:
    members = read_table(open_database(url), "member")
    return members.set_index("id").loc[member_id].to_dict()


def _save_member_form(at: AppTest, member_id: int, specialties: str) -> AppTest:
    at.number_input(key="edit_member_id").set_value(member_id)
    at.text_input(key="edit_member_spec").input(specialties)
    next(b for b in at.button if b.form_id == "edit_member").click().run()
    assert not at.exception, at.exception
    return at


def test_an_edit_on_a_page_changed_since_is_refused(demo_copy: str, monkeypatch) -> None:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_copy)
    at = login(AppTest.from_file(APP, default_timeout=180)).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    member_id = int(read_table(open_database(demo_copy), "member")["id"].min())
    shown = int(_member(demo_copy, member_id)["version"])

    # someone else edits the member after the page was drawn
    org.edit_member(open_database(demo_copy), member_id, specialties="另一位书记的修改")

    _save_member_form(at, member_id, "页面上的修改")
    assert any("已被他人修改" in e.value and "reload" in e.value for e in at.error), at.error
    after = _member(demo_copy, member_id)
    assert after["specialties"] == "另一位书记的修改" and after["version"] == shown + 1

    _save_member_form(at, member_id, "页面上的修改")  # the page now shows the new version
    assert any("已保存" in s.value for s in at.success), at.success
    after = _member(demo_copy, member_id)
    assert after["specialties"] == "页面上的修改" and after["version"] == shown + 2
