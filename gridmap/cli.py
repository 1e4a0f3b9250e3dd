"""The ``gridmap`` command line: one click group, one small function per sub-command.

Every sub-command takes ``--db URL`` (else ``GRIDMAP_DATABASE_URL``, else the embedded SQLite
file). A :class:`~gridmap.errors.GridmapError` ends the command with its message on stderr and
its exit code, never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gridmap import settings
from gridmap.errors import DatabaseError, GridmapError
from gridmap.labels import bilingual

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_PATH = REPO_ROOT / "app.py"

db_option = click.option(
    "--db",
    "db_url",
    envvar="GRIDMAP_DATABASE_URL",
    default=None,
    metavar="URL",
    help="Database URL: sqlite:///file.db or postgresql+psycopg://user@host/db "
    "(default: GRIDMAP_DATABASE_URL, else the embedded SQLite file).",
)


def reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a GridmapError into a clear message and its exit code, with no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GridmapError as exc:
            click.secho(f"错误 / error: {exc}", err=True, fg="red")
            sys.exit(exc.exit_code)

    return wrapper


@click.group()
@click.version_option(package_name="gridmap")
def main() -> None:
    """gridmap — 社区党建网格化管理: coverage gaps, member density and request hotspots."""


@main.command()
@db_option
@reports_errors
def init(db_url: str | None) -> None:
    """Create an empty gridmap database, or upgrade an older one to this version's schema."""
    from gridmap.db import init_database, make_engine

    engine = make_engine(db_url, create=True)
    revision = init_database(engine)
    where = engine.url.render_as_string(hide_password=True)
    click.echo(f"数据库已就绪 / database ready: {where} (schema {revision})")


@main.command()
@db_option
@click.option(
    "--seed",
    type=int,
    default=settings.DEMO_SEED,
    show_default=True,
    help="Same seed, same demo street.",
)
@click.option("--force", is_flag=True, help="Replace what the database already holds.")
@reports_errors
def demo(db_url: str | None, seed: int, force: bool) -> None:
    """Create the demo street (车城路街道, 十堰市张湾区) with its deliberate defects."""
    from gridmap.bootstrap import create_demo_database
    from gridmap.repository import layer_counts

    engine = create_demo_database(db_url, seed=seed, force=force)
    counts = layer_counts(engine)
    where = engine.url.render_as_string(hide_password=True)
    click.echo(f"示范街道已生成 / demo street written to {where}")
    for name in ("community", "grid", "building", "member", "service_station", "request"):
        click.echo(f"  {bilingual(name)}: {counts[name]}")


@main.command()
@db_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def info(db_url: str | None, fmt: str) -> None:
    """Counts per layer and per community."""
    from gridmap.db import open_database
    from gridmap.repository import community_summary, layer_counts

    engine = open_database(db_url)
    counts = layer_counts(engine)
    summary = community_summary(engine)
    if fmt == "json":
        payload = {
            "database": engine.url.render_as_string(hide_password=True),
            "layers": counts,
            "communities": summary.reset_index().to_dict("records"),
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(engine.url.render_as_string(hide_password=True))
    for name, n in counts.items():
        click.echo(f"  {bilingual(name):<32} {n:>8}")
    if not summary.empty:
        click.echo("")
        click.echo(_summary_text(summary))


def _summary_text(summary: Any) -> str:
    """The per-community table with Chinese headers, aligned for a terminal."""
    from gridmap.labels import label

    shown = summary.rename(columns={c: label(c) for c in summary.columns})
    return shown.to_string(index=False)


#: Exit code of ``gridmap check`` when it found problems (0: none found).
PROBLEMS_FOUND_EXIT = 1


@main.command()
@db_option
@click.option(
    "--community",
    "community_codes",
    multiple=True,
    metavar="CODE",
    help="Only this community (repeat for several); default: the whole street.",
)
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
    """Check grid coverage: gaps, overlaps, buildings, leaders, sizes and service reach.

    Prints every problem and exits with 1 when any is found (0 when none), so it can run in a
    script or a nightly job.
    """
    from gridmap.coverage import check_coverage, filter_problems, problem_table
    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.repository import load_street_layers

    layers = load_street_layers(open_database(db_url))
    known = set(layers.communities["code"])
    unknown = sorted(set(community_codes) - known)
    if unknown:
        raise InputError(
            f"未知的社区编码 / unknown community code(s) {unknown}; "
            f"known: {', '.join(sorted(known))}"
        )
    report = check_coverage(
        layers.communities, layers.grids, layers.buildings, layers.stations, float(radius)
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
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


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


@main.command()
@db_option
@click.option("--port", type=int, default=8501, show_default=True)
@click.option(
    "--headless/--open-browser",
    default=False,
    help="Do not open a browser window (servers, tests).",
)
@reports_errors
def serve(db_url: str | None, port: int, headless: bool) -> None:
    """Start the map app (Streamlit). On a fresh machine it opens on the demo street."""
    from gridmap.bootstrap import open_or_create_default

    if not APP_PATH.exists():
        raise DatabaseError(f"找不到应用 / app not found at {APP_PATH}: install with pip -e .")
    engine = open_or_create_default(db_url)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP_PATH),
        "--server.port", str(port),
        "--server.headless", "true" if headless else "false",
        "--browser.gatherUsageStats", "false",
        "--server.enableStaticServing", "true",
    ]  # fmt: skip
    click.echo(f"gridmap: http://localhost:{port}  ({engine.url.render_as_string()})")
    sys.exit(subprocess.call(cmd, cwd=REPO_ROOT, env=env))


if __name__ == "__main__":
    main()
