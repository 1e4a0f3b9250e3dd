"""Navigation by role (issue 19, item 1): each demo role finds only its pages in the sidebar
(``gridmap.auth.ROLE_PAGES``), a page outside its list opened by address says so and shows
nothing of it, tabs a role may not use are absent, and the sidebar's settings stay from page to
page."""

from __future__ import annotations

import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import auth
from ui_common import PAGES, page_key

TITLES = {page_key(script): zh for script, zh, _ in PAGES}
SCRIPTS = {page_key(script): script for script, _, _ in PAGES}
REFUSED = "您的角色无权查看此页面。"


@pytest.fixture(autouse=True)
def _demo(demo_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db_url)


def _as(name: str) -> AppTest:
    return login(AppTest.from_file(APP, default_timeout=180), name=name).run()


def _links(at: AppTest) -> list[str]:
    return [link.proto.label for link in at.sidebar.get("page_link")]


@pytest.mark.parametrize("name", list(auth.DEMO_USERS))
def test_each_role_finds_only_its_pages(name: str) -> None:
    role = auth.DEMO_USERS[name][0]
    at = _as(name)
    assert not at.exception, at.exception
    assert _links(at) == [TITLES[key] for key in auth.ROLE_PAGES[role]]


@pytest.mark.parametrize(
    ("name", "page"),
    [("demo_planner", "requests"), ("demo_planner", "organisation"), ("demo_viewer", "redraw"),
     ("demo_worker", "planning"), ("demo_secretary", "audit"), ("demo_secretary", "new_street")],
)  # fmt: skip
def test_a_page_outside_the_role_says_so_and_shows_nothing_of_it(name: str, page: str) -> None:
    role = auth.DEMO_USERS[name][0]
    assert page not in auth.ROLE_PAGES[role]
    at = _as(name)
    at.switch_page(SCRIPTS[page]).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [REFUSED]
    assert not at.title and not at.dataframe and not at.tabs  # the page did not run
    assert _links(at) == [TITLES[key] for key in auth.ROLE_PAGES[role]]


def test_a_viewer_gets_no_tab_to_log_or_import_requests() -> None:
    at = _as("demo_viewer")
    at.switch_page(SCRIPTS["requests"]).run()
    assert not at.exception, at.exception
    assert [tab.label for tab in at.tabs] == [
        "诉求列表与办理",
        "统计与导出",
        "三率考核",
        "每日简报",
    ]
    worker = _as("demo_worker")
    worker.switch_page(SCRIPTS["requests"]).run()
    assert "登记诉求" in [tab.label for tab in worker.tabs]


def test_only_a_street_administrator_gets_import_and_backup_tabs() -> None:
    secretary = _as("demo_secretary")
    secretary.switch_page(SCRIPTS["data_io"]).run()
    assert not secretary.exception, secretary.exception
    assert [tab.label for tab in secretary.tabs] == ["导出"]
    admin = _as("demo_admin")
    admin.switch_page(SCRIPTS["data_io"]).run()
    assert [tab.label for tab in admin.tabs] == ["导入", "导出", "备份"]


def test_language_base_map_and_full_names_stay_from_page_to_page() -> None:
    at = _as("demo_admin")
    at.sidebar.radio(key="lang").set_value("English").run()
    at.sidebar.selectbox(key="basemap").set_value("osm").run()
    at.sidebar.toggle(key="show_personal").set_value(True).run()
    for page in ("coverage", "requests", "overview"):
        at.switch_page(SCRIPTS[page]).run()
        assert not at.exception, at.exception
        assert at.sidebar.radio(key="lang").value == "English"
        assert at.sidebar.selectbox(key="basemap").value == "osm"
        assert at.sidebar.toggle(key="show_personal").value is True
        assert _links(at)[0] == "Overview"
    assert "grid overview" in at.title[0].value


def test_a_secretary_picks_only_her_community_on_the_redraw_page() -> None:
    at = _as("demo_secretary")
    at.switch_page(SCRIPTS["redraw"]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="community").value == auth.DEMO_COMMUNITY_CODE
    assert len(at.selectbox(key="community").options) == 1


def test_links_to_a_request_and_a_plan_open_them() -> None:
    """Issue 19, item 3: ``/requests?request=CODE`` opens that request's detail and
    ``/redraw?community=C&plan=ID`` that plan; the choice is written back into the address."""
    from gridmap import redraw
    from gridmap import requests as rq
    from gridmap.bootstrap import open_or_create_default

    engine = open_or_create_default()
    code = rq.load_requests(engine)["code"].iloc[5]
    at = login(AppTest.from_file(APP, default_timeout=180))
    at.query_params["request"] = code
    at.run()
    at.switch_page(SCRIPTS["requests"]).run()
    assert not at.exception, at.exception
    assert f"诉求 {code}" in [h.value for h in at.subheader]
    assert at.query_params["request"] in (code, [code])

    community = "420303001-002"
    plans = redraw.list_plans(engine, community)
    wanted = int(plans["id"].iloc[-1])
    at = login(AppTest.from_file(APP, default_timeout=180))
    at.query_params["community"] = community
    at.query_params["plan"] = str(wanted)
    at.run()
    at.switch_page(SCRIPTS["redraw"]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="community").value == community
    assert at.selectbox(key=f"plan_{community}").value == wanted


def test_a_link_to_a_grid_frames_the_maps_on_it() -> None:
    """Issue 19, item 3: ``?grid=CODE`` frames the maps on that grid (``gridmap.maps.grid_bounds``,
    none for a grid of another community)."""
    from gridmap.bootstrap import open_or_create_default
    from gridmap.maps import community_bounds, grid_bounds
    from gridmap.repository import load_street_layers

    layers = load_street_layers(open_or_create_default())
    grid = layers.grids.iloc[0]
    own = layers.communities.loc[layers.communities["id"] == grid["community_id"], "code"].iloc[0]
    other = layers.communities.loc[layers.communities["code"] != own, "code"].iloc[0]
    framed = grid_bounds(layers, grid["code"], own)
    assert framed == tuple(float(v) for v in layers.grids.geometry.iloc[0].bounds)
    assert grid_bounds(layers, grid["code"]) == framed
    assert grid_bounds(layers, grid["code"], other) is None
    assert grid_bounds(layers, "no-such-grid") is None
    west, south, east, north = community_bounds(layers, own)
    assert west <= framed[0] and south <= framed[1] and framed[2] <= east and framed[3] <= north

    at = login(AppTest.from_file(APP, default_timeout=180))
    at.query_params["grid"] = grid["code"]
    at.run()
    for script in (SCRIPTS["overview"], SCRIPTS["coverage"], SCRIPTS["density"]):
        at.switch_page(script).run()
        assert not at.exception, at.exception
    assert at.query_params["grid"] in (grid["code"], [grid["code"]])
