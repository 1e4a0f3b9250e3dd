"""``gridmap check``: grid coverage problems (gaps, overlaps, buildings, leaders, sizes, service
reach, blind spots) printed as text or JSON, with exit code 1 when any is found.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from gridmap import settings
from gridmap.cli.common import (
    PROBLEMS_FOUND_EXIT,
    communities_option,
    db_option,
    echo_json,
    reports_errors,
)
from gridmap.cli.root import main


@main.command()
@db_option
@communities_option
@click.option(
    "--radius",
    type=click.Choice(["300", "500", "1000"]),
    default=str(settings.SERVICE_REACH_M),
    show_default=True,
    help="Walking radius to a service station, metres (5/10/15-minute life circle).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def check(db_url: str | None, community_codes: tuple[str, ...], radius: str, fmt: str) -> None:
    """Check grid coverage: gaps, overlaps, buildings, leaders, sizes, service reach and blind
    spots (两新组织 without Party coverage, blind-spot buildings, new compounds without space).

    Prints every problem and exits with 1 when any is found (0 when none), so it can run in a
    script or a nightly job.
    """
    from gridmap.coverage import check_coverage, filter_problems, problem_table
    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.repository import load_street_layers, read_table
    from gridmap.weights import street_weights

    engine = open_database(db_url)
    layers = load_street_layers(engine)
    known = set(layers.communities["code"])
    unknown = sorted(set(community_codes) - known)
    if unknown:
        raise InputError(
            f"未知的社区编码 / unknown community code(s) {unknown}; "
            f"known: {', '.join(sorted(known))}"
        )
    organisations = read_table(engine, "organisation")  # 两新组织: blind spots too
    organisations = organisations[organisations["community_id"].isin(layers.communities["id"])]
    report = check_coverage(
        layers.communities,
        layers.grids,
        layers.buildings,
        layers.stations,
        float(radius),
        organisations=organisations,
        score_weights=street_weights(engine, "coverage_score"),  # the street's own weights
    )
    problems = filter_problems(report.problems, community_codes or None)
    table = problem_table(problems)
    if fmt == "json":
        _print_check_json(report, table, community_codes)
    else:
        _print_check_text(report, table, community_codes)
    sys.exit(PROBLEMS_FOUND_EXIT if len(table) else 0)


def _check_summary(report: Any, community_codes: tuple[str, ...]) -> dict:
    if not community_codes:
        return dict(report.summary)
    rows = report.community_summary[report.community_summary["code"].isin(community_codes)]
    return {row["code"]: row for row in rows.to_dict("records")}


def _print_check_json(report: Any, table: Any, community_codes: tuple[str, ...]) -> None:
    payload = {
        "radius_m": report.radius_m,
        "summary": _check_summary(report, community_codes),
        "problems": json.loads(table.to_json(orient="records", force_ascii=False)),
    }
    echo_json(payload)


def _print_check_text(report: Any, table: Any, community_codes: tuple[str, ...]) -> None:
    scope = "、".join(community_codes) if community_codes else "全街道 / whole street"
    if table.empty:
        click.echo(f"未发现问题 / no problems found ({scope}, 服务半径 {report.radius_m:.0f} 米)")
        return
    click.echo(
        f"发现 {len(table)} 个问题 / {len(table)} problems ({scope}, "
        f"服务半径 {report.radius_m:.0f} 米):"
    )
    for label, group in table.groupby("label", sort=False):
        click.echo(f"\n【{label}】{len(group)} 个")
        for detail, grid, building in zip(
            group["detail"], group["grid_code"], group["building_code"], strict=True
        ):
            code = building if isinstance(building, str) else grid
            click.echo(f"  - {detail}" + (f"  [{code}]" if isinstance(code, str) else ""))
    score = report.summary.get("score")
    if score is not None and not community_codes:
        click.echo(f"\n覆盖综合得分 / coverage score: {score:.1f} / 100")
