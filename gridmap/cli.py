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
