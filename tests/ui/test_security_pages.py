"""Issue 11 on the pages: SQL injection typed into every free-text filter and search, a secretary
steering the page state at another community, and a planner on every page."""

from __future__ import annotations

import pytest
from auth_helpers import login
from sqlalchemy import text
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap import auth
from gridmap.db import make_engine
from gridmap.models import ACCOUNT_TABLES
from gridmap.repository import layer_counts, read_table

INJECTIONS = ["'; DROP TABLE request; --", "x' OR '1'='1", "1 UNION SELECT password_hash FROM user"]


@pytest.fixture(autouse=True)
def _app_database(demo_copy: str, monkeypatch) -> None:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_copy)


def _data_counts(url: str) -> dict[str, int]:
    return {k: v for k, v in layer_counts(make_engine(url)).items() if k not in ACCOUNT_TABLES}


@pytest.mark.parametrize("value", INJECTIONS)
def test_audit_filters_take_injection_as_text(demo_copy: str, value: str) -> None:
    auth.authenticate(make_engine(demo_copy), "demo_viewer", auth.DEMO_USERS["demo_viewer"][1])
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page("views/audit.py").run()
    assert len(at.dataframe[0].value) > 0
    for key in ("audit_user", "audit_action", "audit_entity"):
        at.text_input(key=key).input(value).run()
        assert not at.exception, at.exception
        assert at.dataframe[0].value.empty if at.dataframe else True
        at.text_input(key=key).input("").run()
    hashes = set(read_table(make_engine(demo_copy), "user")["password_hash"])
    assert not [m for m in at.markdown if any(h in m.value for h in hashes)]


@pytest.mark.parametrize("value", INJECTIONS)
def test_request_search_takes_injection_as_text(demo_copy: str, value: str) -> None:
    before = _data_counts(demo_copy)
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page("views/requests.py").run()
    at.text_input(key="rq_code").input(value).run()
    assert not at.exception, at.exception
    assert any("没有编号为" in w.value for w in at.warning)
    assert _data_counts(demo_copy) == before


def test_a_secretary_cannot_steer_the_page_to_another_community(demo_copy: str) -> None:
    """Crafted page state: the id of a request of another community put into the session."""
    engine = make_engine(demo_copy)
    with engine.connect() as conn:
        foreign = conn.execute(
            text(
                "SELECT r.id FROM request r JOIN grid g ON g.id = r.grid_id "
                "JOIN grid_plan p ON p.id = g.plan_id JOIN community c ON c.id = p.community_id "
                "WHERE c.code <> :code LIMIT 1"
            ),
            {"code": auth.DEMO_COMMUNITY_CODE},
        ).scalar_one()
    code = read_table(engine, "request").set_index("id").loc[foreign, "code"]
    at = login(AppTest.from_file(APP, default_timeout=120), name="demo_secretary").run()
    at.switch_page("views/requests.py").run()
    at.session_state["rq_selected"] = int(foreign)
    at.run()
    assert not at.exception, at.exception
    assert not [s for s in at.subheader if code in s.value]
    at.text_input(key="rq_code").input(code).run()
    assert any("没有编号为" in w.value for w in at.warning)


@pytest.mark.parametrize(
    "page",
    [
        "app.py",
        "views/coverage.py",
        "views/density.py",
        "views/hotspots.py",
        "views/planning.py",
        "views/communities.py",
        "views/redraw.py",
        "views/data_io.py",
    ],
)
def test_a_planner_sees_no_name_or_phone_on_any_page(demo_copy: str, page: str) -> None:
    people = read_table(make_engine(demo_copy), "person")
    names = {n for n in people["name"].dropna() if len(n) >= 2}
    phones = set(people["phone"].dropna())
    at = login(AppTest.from_file(APP, default_timeout=180), name="demo_planner").run()
    if page != "app.py":
        at.switch_page(page).run()
    assert not at.exception, at.exception
    shown = [e.value for e in [*at.markdown, *at.caption, *at.text, *at.info, *at.warning]]
    shown += [f.value.to_csv() for f in at.dataframe]
    blob = "\n".join(str(s) for s in shown)
    assert not [n for n in names if n in blob]
    assert not [p for p in phones if p in blob]


def test_query_parameters_do_not_widen_a_secretarys_scope(demo_copy: str) -> None:
    communities = read_table(make_engine(demo_copy), "community")
    other = communities[communities["code"] != auth.DEMO_COMMUNITY_CODE]
    at = AppTest.from_file(APP, default_timeout=120)
    for key in ("community", "community_id", "scope", "role", "user"):
        at.query_params[key] = str(other["id"].iloc[0]) if "community" in key else "street_admin"
    at = login(at, name="demo_secretary").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["社区数"] == "1 个"
    shown = "\n".join(str(f.value.to_csv()) for f in at.dataframe)
    assert not [n for n in other["name"] if n in shown]
