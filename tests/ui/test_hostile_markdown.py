"""Stored or typed text that looks like markdown is shown as text, never rendered: a request's
description, address and reporter, organisation and person names, codes typed into the pages
and error messages quoting them. An image in markdown would make every browser on the street
intranet fetch it from outside (a tracking beacon); links, ``:red[…]`` and ``$…$`` must not
render either. :func:`ui_common.md_text` escapes; these tests seed hostile text on a copy of the
demo street through the core and read what the pages hand to Streamlit's markdown."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd
import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import AlertBase, HeadingBase, Markdown, Radio, Toast
from test_app import APP

from gridmap import auth
from gridmap import organisation as org
from gridmap import requests as rq
from gridmap.db import open_database
from gridmap.repository import read_table
from ui_common import md_text

#: Markdown that must not render: an external image, a link, a colour directive, LaTeX, raw
#: HTML (Streamlit drops it anyway) and bold.
HOSTILE = (
    "![t](http://evil.example/t.png) [x](http://evil.example) :red[big] $x$ "
    "<img src=x onerror=alert(1)> **b**"
)
#: The same within the 100 characters an organisation's name may have.
HOSTILE_ORG = "![t](http://evil.example/t.png) [x](http://evil.example) :red[big] $x$ **b**"
#: A person's name (at most 50 characters).
HOSTILE_PERSON = "[x](http://evil.example) :red[p] $y$ **p**"
#: What must never reach a markdown string: the start of an image, the end of a link.
RAW = ("![t](", "](http://evil.example)")
#: The image as an escaped, literal markdown source (backslash before each punctuation mark).
ESCAPED_IMAGE = r"\!\[t\]\(http\:\/\/evil\.example\/t\.png\)"
ESCAPED_LINK = r"\[x\]\(http\:\/\/evil\.example\)"
BUILDING = "420303001-001-B0101"  # a demo building (see test_requests_page)


def markdown_sources(at: AppTest) -> Iterator[str]:
    """Every string the page hands to Streamlit to render as markdown: markdown and captions,
    alerts, titles and headers, toasts, and the labels and help of widgets, metrics, expanders
    and tabs, and radio options. (Tables, select options and plain text are not markdown.)"""
    for root in (at.main, at.sidebar):
        for node in root:
            if isinstance(node, Markdown | AlertBase | HeadingBase | Toast):
                yield str(node.value)
            proto = getattr(node, "proto", None)
            for name in ("label", "help"):
                if proto is not None and name in proto.DESCRIPTOR.fields_by_name:
                    yield str(getattr(proto, name))
            if isinstance(node, Radio):
                yield from map(str, node.options)


def assert_no_raw_markdown(at: AppTest) -> list[str]:
    """No markdown string holds the hostile image or link unescaped; the sources, for more."""
    assert not at.exception, at.exception
    sources = list(markdown_sources(at))
    assert sources, "no markdown found: the walk over the page is broken"
    leaked = [s for s in sources if any(raw in s for raw in RAW)]
    assert not leaked, leaked
    return sources


def shown_escaped(sources: list[str], *fragments: str) -> bool:
    """Whether one markdown string holds every fragment (the value, escaped, as text)."""
    return any(all(f in s for f in fragments) for s in sources)


def _admin(url: str) -> auth.Principal:
    engine = open_database(url)
    users = auth.list_users(engine)
    return auth.principal_for(engine, int(users.loc[users["name"] == "demo_admin", "id"].iloc[0]))


def _open(url: str, page: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


# --- md_text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "—"),
        (math.nan, "—"),
        (pd.NaT, "—"),
        (42, "42"),
        ("张三 **粗体**", r"张三 \*\*粗体\*\*"),
        ("![t](http://e.x/t.png)", r"\!\[t\]\(http\:\/\/e\.x\/t\.png\)"),
        (":red[a] :material/home: $x$", r"\:red\[a\] \:material\/home\: \$x\$"),
        ("# h\n- item\t| a |", r"\# h \- item \| a \|"),
        ("  <b>&amp;</b>  ", r"\<b\>\&amp\;\<\/b\>"),
        ("a\\b `c` ~d~", r"a\\b \`c\` \~d\~"),
        ("420303001-001-B0101 comm_code", "420303001-001-B0101 comm_code"),  # inert in a word
        ("-x _y_ a__b --", r"\-x \_y\_ a\_\_b \-\-"),
        ("热点 1:车城 a: b:c http://x :red[y]", r"热点 1:车城 a\: b\:c http\:\/\/x \:red\[y\]"),
    ],
)
def test_md_text_escapes_every_markdown_mark(value: object, expected: str) -> None:
    assert md_text(value) == expected


# --- 诉求办理 ---------------------------------------------------------------------------------


@pytest.fixture
def hostile_request(demo_copy: str) -> str:
    """A request whose description, address and reporter are hostile; its code."""
    engine = open_database(demo_copy)
    with auth.acting_as(_admin(demo_copy)):
        new = rq.log_request(
            engine,
            category="物业管理",
            description=HOSTILE,
            source="visit",
            now=rq.clock(rq.latest_event_at(engine)),
            building_code=BUILDING,
            address=HOSTILE,
            reporter=HOSTILE,
        )
        requests = rq.load_requests(engine)
    return str(requests.loc[requests["id"] == new, "code"].iloc[0])


def test_request_detail_shows_hostile_text_as_text(
    hostile_request: str, demo_copy: str, monkeypatch
) -> None:
    at = _open(demo_copy, "views/requests.py", monkeypatch)
    at.text_input(key="rq_code").set_value(hostile_request).run()
    assert at.subheader[1].value == f"诉求 {hostile_request}"
    sources = assert_no_raw_markdown(at)
    # the description is on the page, escaped: it reads as typed and renders nothing
    assert shown_escaped(
        sources, "诉求描述", ESCAPED_IMAGE, ESCAPED_LINK, r"\:red\[big\]", r"\$x\$"
    )
    # address and reporter (masked) are lines of the detail's facts: escaped, read as typed
    assert shown_escaped(sources, "**地址:**", ESCAPED_IMAGE, ESCAPED_LINK, r"\:red\[big\]")
    reporter = next(line for s in sources for line in s.splitlines() if "**诉求人:**" in line)
    assert auth.mask_name(HOSTILE)[0] in reporter and "evil" not in reporter.replace("\\", "")


def test_typed_codes_and_errors_quoting_them_are_text(demo_copy: str, monkeypatch) -> None:
    at = _open(demo_copy, "views/requests.py", monkeypatch)
    at.text_input(key="rq_code").set_value(HOSTILE).run()
    sources = assert_no_raw_markdown(at)
    assert any("没有编号为" in w.value and ESCAPED_IMAGE in w.value for w in at.warning)
    at.text_input(key="rq_code").set_value("").run()
    # a refused request: the core's message quotes the building code typed
    at.radio(key="log_mode").set_value("building").run()
    at.text_input(key="log_code").set_value(HOSTILE)
    at.text_area(key="log_description").set_value(HOSTILE)
    at.button(key="log_submit").click().run()
    sources = assert_no_raw_markdown(at)
    assert any(ESCAPED_LINK in e.value for e in at.error), [e.value for e in at.error]
    assert shown_escaped(sources, ESCAPED_IMAGE)


# --- 组织与人员 -------------------------------------------------------------------------------


@pytest.fixture
def hostile_orgs(demo_copy: str) -> str:
    """Organisation 3 renamed and a member added, both with hostile names; the URL."""
    engine = open_database(demo_copy)
    orgs = read_table(engine, "party_org")
    branch = int(orgs.loc[orgs["kind"].isin(org.MEMBER_ORG_KINDS), "id"].iloc[0])
    with auth.acting_as(_admin(demo_copy)):
        org.rename_org(engine, 3, HOSTILE_ORG)
        org.add_new_member(engine, HOSTILE_PERSON, branch, "resident", specialties=HOSTILE)
    return demo_copy


def test_organisation_page_shows_hostile_names_as_text(hostile_orgs: str, monkeypatch) -> None:
    at = _open(hostile_orgs, "views/organisation.py", monkeypatch)
    assert_no_raw_markdown(at)
    tree = at.dataframe[0].value
    assert tree.iloc[:, 0].str.strip().eq(HOSTILE_ORG).any()  # shown, as data
    assert f"{HOSTILE_ORG} (#3)" in at.selectbox(key="edit_org_id").options
    members = at.dataframe[1].value
    row = members[members["姓名"] == auth.mask_name(HOSTILE_PERSON)]  # masked by default
    assert list(row["志愿服务特长"]) == [HOSTILE]


def test_organisation_forms_echo_hostile_input_as_text(hostile_orgs: str, monkeypatch) -> None:
    at = _open(hostile_orgs, "views/organisation.py", monkeypatch)
    # a new organisation with a hostile name: the success message quotes it, escaped
    at.text_input(key="new_org_name").input(HOSTILE_ORG)
    at.selectbox(key="new_org_kind").set_value("joint_branch")
    at.selectbox(key="new_org_parent").set_value(2)
    next(b for b in at.button if b.label == "新建").click().run()
    sources = assert_no_raw_markdown(at)
    assert any("已新建" in s.value and ESCAPED_IMAGE in s.value for s in at.success)
    assert shown_escaped(sources, ESCAPED_LINK, r"\*\*b\*\*")
    names = read_table(open_database(hostile_orgs), "party_org")["name"]
    assert (names == HOSTILE_ORG).sum() == 2  # stored as typed
    # a refused member: the error quotes the building code typed
    at.text_input(key="add_member_name").input("王五")
    at.text_input(key="add_member_building").input(HOSTILE_PERSON)
    next(b for b in at.button if b.label == "新增").click().run()
    assert_no_raw_markdown(at)
    assert any(ESCAPED_LINK in e.value for e in at.error), [e.value for e in at.error]
