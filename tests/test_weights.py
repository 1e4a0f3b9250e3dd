"""gridmap.weights: the weights a street sets for its coverage score and planning ranking —
stored per street, checked, audited, refused to any role but the street administrator, read
by the check, the report and the CLI (issue 19, item 5)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from gridmap import auth, settings
from gridmap.cli import main
from gridmap.coverage import check_coverage, coverage_score
from gridmap.errors import InputError, PermissionDenied
from gridmap.repository import load_street_layers, read_table
from gridmap.weights import (
    WEIGHT_KINDS,
    check_weights,
    reset_street_weights,
    set_street_weights,
    street_weights,
)


def _user(engine: Engine, name: str, role: str, **scope) -> auth.Principal:
    auth.create_user(engine, name, "a long test secret", role, principal=auth.SYSTEM, **scope)
    users = auth.list_users(engine)
    return auth.principal_for(engine, int(users.loc[users["name"] == name, "id"].iloc[0]))


def test_a_street_sets_its_weights_and_the_check_scores_with_them(world: Engine) -> None:
    assert street_weights(world, "coverage_score") == settings.COVERAGE_SCORE_WEIGHTS
    admin = _user(world, "jiedao", "street_admin")
    mine = {**settings.COVERAGE_SCORE_WEIGHTS, "reach": 60.0, "size": 0.0}
    with auth.acting_as(admin):
        stored = set_street_weights(world, "coverage_score", mine)
    assert stored == mine and street_weights(world, "coverage_score") == mine
    assert street_weights(world, "planning") == settings.PLANNING_WEIGHTS  # kinds apart

    log = read_table(world, "audit_log").query("action == 'street_weights'")
    assert len(log) == 1 and log["user_id"].iloc[0] == admin.user_id
    assert json.loads(log["after"].iloc[0]) == {"coverage_score": mine}

    layers = load_street_layers(world)
    report = check_coverage(
        layers.communities, layers.grids, layers.buildings, layers.stations,
        score_weights=street_weights(world, "coverage_score"),
    )  # fmt: skip
    parts = report.grid_scores[list(mine)]
    assert report.score_weights == mine
    assert report.grid_scores["score"].tolist() == coverage_score(parts, mine).tolist()
    default = check_coverage(layers.communities, layers.grids, layers.buildings, layers.stations)
    assert not default.grid_scores["score"].equals(report.grid_scores["score"])

    with auth.acting_as(admin):
        assert reset_street_weights(world, "coverage_score") == settings.COVERAGE_SCORE_WEIGHTS
    assert street_weights(world, "coverage_score") == settings.COVERAGE_SCORE_WEIGHTS


@pytest.mark.parametrize(
    "change, words",
    [
        ({"reach": -1}, "between 0 and 100"),
        ({"reach": float("nan")}, "between 0 and 100"),
        ({"reach": 101}, "between 0 and 100"),
        ({"reach": "很多"}, "not a number"),
        ({"speed": 3}, "unknown ['speed']"),
        ({k: 0 for k in settings.COVERAGE_SCORE_WEIGHTS}, "cannot all be 0"),
    ],
)
def test_bad_weights_are_refused_naming_the_part_and_nothing_is_stored(
    world: Engine, change: dict, words: str
) -> None:
    admin = _user(world, "jiedao", "street_admin")
    with auth.acting_as(admin), pytest.raises(InputError, match=re.escape(words)):
        set_street_weights(world, "coverage_score", {**settings.COVERAGE_SCORE_WEIGHTS, **change})
    assert read_table(world, "street_setting").empty
    with pytest.raises(InputError, match="missing"):
        check_weights("planning", {"hotspot": 10})
    with pytest.raises(InputError, match="unknown kind"):
        street_weights(world, "colour")


def test_only_the_street_administrator_sets_weights(world: Engine) -> None:
    code = str(read_table(world, "community")["code"].iloc[0])
    secretary = _user(world, "shuji", "secretary", community_code=code)
    for who in (secretary, _user(world, "guihua", "planner")):
        with auth.acting_as(who), pytest.raises(PermissionDenied):
            set_street_weights(world, "planning", dict(settings.PLANNING_WEIGHTS))
        with auth.acting_as(who), pytest.raises(PermissionDenied):
            reset_street_weights(world, "planning")
    assert read_table(world, "street_setting").empty


def test_the_cli_shows_and_changes_the_weights_and_check_uses_them(world: Engine) -> None:
    url = world.url.render_as_string(hide_password=False)
    run = CliRunner().invoke
    shown = run(main, ["street", "weights", "--kind", "planning", "--db", url])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[0] == f"households_per_worker\t{15:g}"
    changed = run(main, ["street", "weights", "reach=50", "size=0", "--db", url])
    assert changed.exit_code == 0, changed.output
    lines = dict(line.split("\t") for line in changed.output.splitlines())
    assert lines["reach"] == "50" and lines["size"] == "0"
    assert lines["coverage"] == f"{settings.COVERAGE_SCORE_WEIGHTS['coverage']:g}"
    bad = run(main, ["street", "weights", "reach=-5", "--db", url])
    assert bad.exit_code != 0 and "reach" in bad.output
    assert street_weights(world, "coverage_score")["reach"] == 50.0

    check = run(main, ["check", "--format", "json", "--db", url])
    layers = load_street_layers(world)
    mine = street_weights(world, "coverage_score")
    report = check_coverage(
        layers.communities, layers.grids, layers.buildings, layers.stations,
        organisations=read_table(world, "organisation"), score_weights=mine,
    )  # fmt: skip
    payload = json.loads(check.output[check.output.index("{") :])
    assert payload["summary"]["score"] == pytest.approx(report.summary["score"])
    assert set(WEIGHT_KINDS) == {"coverage_score", "planning", "request_rates"}
    rates = run(main, ["street", "weights", "--kind", "request_rates", "on_time=20", "--db", url])
    assert rates.exit_code == 0, rates.output
    assert street_weights(world, "request_rates")["on_time"] == 20.0
