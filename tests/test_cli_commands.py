"""The analysis, plan, organisation and account commands of ``gridmap`` run as a user types them
(click's runner, the real demo database), with their figures checked against the core; every
``--format json`` output parses with a strict parser (no NaN, no Infinity)."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from gridmap.cli import main
from gridmap.cli.common import json_text, strict_json_value
from gridmap.demo import DEMO_DEFECTS
from gridmap.density import member_density
from gridmap.redraw import list_plans
from gridmap.repository import layer_counts, load_street_layers, read_table

COMMUNITY = "420303001-003"


def _reject(constant: str) -> None:
    raise ValueError(f"not JSON: {constant}")


def strict(text: str):
    """Parse JSON the way other programs do: NaN and Infinity are errors."""
    return json.loads(text, parse_constant=_reject)


def run(url: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, [*args, "--db", url], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_strict_json_turns_nan_and_infinity_into_null() -> None:
    import numpy as np
    import pandas as pd

    payload = {"a": float("nan"), "b": [np.float64("inf"), -math.inf, np.int64(3)],
               "c": pd.NaT, "d": np.array([1.5, np.nan]), "e": pd.Timestamp("2026-01-02"),
               "f": None}  # fmt: skip
    value = strict(json_text(payload))
    assert value == {"a": None, "b": [None, None, 3], "c": None, "d": [1.5, None],
                     "e": "2026-01-02 00:00:00", "f": None}  # fmt: skip
    assert strict_json_value({1: True}) == {"1": True}
    with pytest.raises(ValueError, match="NaN"):
        strict('{"x": NaN}')


def test_density_json_matches_the_core_and_is_strict(demo_db_url: str) -> None:
    from gridmap.db import open_database

    engine = open_database(demo_db_url)
    layers = load_street_layers(engine)
    report = member_density(layers.grids, layers.buildings, read_table(engine, "member"))
    data = strict(run(demo_db_url, "density", "--format", "json"))
    assert data["totals"]["members"] == report.totals["members"]
    assert data["totals"]["households"] == pytest.approx(report.totals["households"])
    assert len(data["grids"]) == report.totals["grids"]
    # a category no member of a community has: rates with no households stay null, not NaN
    text = run(demo_db_url, "density", "--format", "json", "--community", "420303001-001")
    assert "NaN" not in text and strict(text)["totals"]["grids"] > 0
    plain = run(demo_db_url, "density")
    assert f"党员 {report.totals['members']:,} 名" in plain


def test_hotspots_names_the_demo_hotspot(demo_db_url: str) -> None:
    text = run(demo_db_url, "hotspots", "--category", DEMO_DEFECTS["hotspot_category"])
    assert DEMO_DEFECTS["hotspot_grid"] in text
    data = strict(run(demo_db_url, "hotspots", "--unit", "grid", "--format", "json"))
    assert data["unit"] == "grid" and 2900 < data["requests"] <= 3000  # those placed in a grid
    assert sum(data["classes"].values()) > 0
    assert all(row["cls"] != "not_significant" for row in data["significant"])


def test_sites_add_households_within_reach(demo_db_url: str) -> None:
    data = strict(run(demo_db_url, "sites", "-k", "2", "--community", "420303001-007",
                      "--format", "json"))  # fmt: skip
    assert data["k"] == 2 and len(data["sites"]) <= 2
    assert data["after"] == data["before"] + data["gained"] and data["gained"] >= 0
    assert data["after"] <= data["households"]


def test_org_commands(demo_db_url: str) -> None:
    tree = strict(run(demo_db_url, "org", "tree", "--format", "json"))
    orgs = read_table(demo_db_url_engine(demo_db_url), "party_org")
    assert len(tree) == len(orgs)
    assert {row["id"] for row in tree} == set(orgs["id"])
    advice = strict(run(demo_db_url, "org", "advice", "--all", "--format", "json"))
    assert sum(advice["summary"].values()) == len(advice["rows"])
    problems = strict(run(demo_db_url, "org", "advice", "--format", "json"))
    assert len(problems["rows"]) < len(advice["rows"])
    lost = strict(run(demo_db_url, "org", "lost", "--format", "json"))
    assert lost and {row["category"] for row in lost} <= {"lost_contact", "floating"}
    assert "失联" in run(demo_db_url, "org", "lost")


def demo_db_url_engine(url: str) -> Engine:
    from gridmap.db import open_database

    return open_database(url)


def test_info_user_list_and_requests_stats_are_strict_json(demo_db_url: str) -> None:
    info = strict(run(demo_db_url, "info", "--format", "json"))
    assert info["layers"] == layer_counts(demo_db_url_engine(demo_db_url))
    users = strict(run(demo_db_url, "user", "list", "--format", "json"))
    assert {"demo_admin", "demo_planner"} <= {u["name"] for u in users}
    assert not any("password" in key for u in users for key in u)
    stats = strict(run(demo_db_url, "requests", "stats", "--by", "grid", "--format", "json"))
    assert len(stats) == len(load_street_layers(demo_db_url_engine(demo_db_url)).grids)
    check = strict(run(demo_db_url, "check", "--format", "json", code=1))
    assert check["problems"] and check["summary"]


def test_a_plan_through_its_whole_life_from_the_command_line(demo: Engine) -> None:
    url = _url(demo)
    before = list_plans(demo, COMMUNITY)
    active_before = int(before.loc[before["status"] == "active", "id"].iloc[0])
    assert "active" in run(url, "plan", "list", "--community", COMMUNITY)

    out = run(url, "plan", "new", "--community", COMMUNITY, "--name", "命令行草案")
    draft = int(out.split("#")[1].split("(")[0])
    plans = list_plans(demo, COMMUNITY).set_index("id")
    assert plans.loc[draft, "status"] == "draft" and plans.loc[draft, "name"] == "命令行草案"

    validated = run(url, "plan", "validate", "--community", COMMUNITY, code=1)  # as active
    assert f"方案 #{draft}" in validated and "420303001-003-B0591" in validated
    run(url, "plan", "propose", "--community", COMMUNITY, "--reason", "与现行方案相同")
    returned = run(url, "plan", "return", "--community", COMMUNITY, "--comment", "请补充理由")
    assert "请补充理由" in returned
    assert list_plans(demo, COMMUNITY).set_index("id").loc[draft, "status"] == "draft"
    run(url, "plan", "propose", "--community", COMMUNITY, "--reason", "与现行方案相同,已补充")
    run(url, "plan", "approve", "--community", COMMUNITY)
    assert list_plans(demo, COMMUNITY).set_index("id").loc[draft, "status"] == "approved"
    run(url, "plan", "activate", "--community", COMMUNITY)
    plans = list_plans(demo, COMMUNITY).set_index("id")
    assert plans.loc[draft, "status"] == "active"
    assert plans.loc[active_before, "status"] == "retired"

    run(url, "plan", "rollback", "--community", COMMUNITY)
    plans = list_plans(demo, COMMUNITY).set_index("id")
    assert plans.loc[active_before, "status"] == "active"
    assert plans.loc[draft, "status"] != "active"

    audit = strict(run(url, "audit", "--format", "json", "--limit", "20"))
    actions = [row["action"] for row in audit]
    for action in ("plan_approve", "plan_activate", "plan_rollback"):
        assert action in actions, actions

    missing = run(url, "plan", "approve", "--community", COMMUNITY, code=2)
    assert "proposed" in missing and "gridmap plan list" in missing


def test_balance_from_the_command_line_writes_a_draft_within_the_norm(demo: Engine) -> None:
    url = _url(demo)
    out = run(url, "plan", "balance", "--community", "420303001-002")
    draft = int(out.split("#")[1].split(":")[0])
    plans = list_plans(demo, "420303001-002").set_index("id")
    assert plans.loc[draft, "status"] == "draft"
    low, high = (int(x) for x in out.split("户数 ")[1].split()[0].split("–"))
    assert low <= high
