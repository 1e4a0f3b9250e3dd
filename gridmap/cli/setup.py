"""Set-up commands: ``init`` and ``demo`` write a database, ``info`` counts it, ``serve`` runs
the map app (Streamlit), creating the first administrator on a database without users.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from gridmap import settings
from gridmap.cli.common import db_option, echo_json, reports_errors
from gridmap.cli.root import main
from gridmap.errors import DatabaseError
from gridmap.labels import bilingual

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PATH = REPO_ROOT / "app.py"
#: What ``gridmap serve`` runs: the app behind security headers, errors reported by id (asgi.py).
SERVED_PATH = REPO_ROOT / "asgi.py"


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
@click.option(
    "--scale",
    default="street",
    show_default=True,
    metavar="street|city|N",
    help="street: the demo street; city: a synthetic city of 1,000,000 buildings in 20,000 "
    "grids; N: a synthetic city of N buildings (gridmap.citygen).",
)
@reports_errors
def demo(db_url: str | None, seed: int, force: bool, scale: str) -> None:
    """Create the demo street (车城路街道, 十堰市张湾区) with its deliberate defects, or a
    synthetic city drawn the same way (--scale city or a number of buildings)."""
    from gridmap.bootstrap import create_demo_database
    from gridmap.citygen import resolve_scale
    from gridmap.errors import InputError
    from gridmap.repository import layer_counts

    try:
        n_buildings = resolve_scale(scale)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if n_buildings is None:
        engine = create_demo_database(db_url, seed=seed, force=force)
    else:
        from gridmap.citygen import build_city, save_city
        from gridmap.db import init_database, make_engine

        engine = make_engine(db_url, create=True)
        init_database(engine)
        save_city(engine, build_city(n_buildings, seed=seed), force=force)
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
        echo_json(payload)
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
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on. The default serves this machine only; put a reverse proxy "
    "in front (README, 服务器) or pass 0.0.0.0 to open it to the network.",
)
@click.option(
    "--headless/--open-browser",
    default=False,
    help="Do not open a browser window (servers, tests).",
)
@reports_errors
def serve(db_url: str | None, port: int, address: str, headless: bool) -> None:
    """Start the map app (Streamlit). On a fresh machine it opens on the demo street."""
    from gridmap.bootstrap import open_or_create_default

    if not (APP_PATH.exists() and SERVED_PATH.exists()):
        raise DatabaseError(f"找不到应用 / app not found at {APP_PATH}: install with pip -e .")
    engine = open_or_create_default(db_url)
    _first_admin(engine)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(SERVED_PATH),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true" if headless else "false",
        "--server.showEmailPrompt", "false",  # a first start must not stop to ask for an email
        "--browser.gatherUsageStats", "false",
        "--server.enableStaticServing", "true",
    ]  # fmt: skip
    click.echo(f"gridmap: http://{address}:{port}  ({engine.url.render_as_string()})")
    sys.stdout.flush()
    sys.stderr.flush()
    # Streamlit takes this process's place: a signal to `gridmap serve` reaches the server itself
    # and no child is left listening when it ends.
    os.chdir(REPO_ROOT)
    os.execve(sys.executable, cmd, env)


# --- users and the audit log (gridmap.auth) ---------------------------------------------------


def _first_admin(engine: Any) -> None:
    """On a database without users: create the first street administrator from
    GRIDMAP_ADMIN_PASSWORD, else from a prompt (never a default password)."""
    from gridmap.auth import ensure_admin, list_users

    if len(list_users(engine)):
        return
    created = ensure_admin(engine)
    if created is None and sys.stdin.isatty():
        click.echo(
            f"尚无用户:请为管理员 {settings.ADMIN_NAME} 设置密码 / no users yet: choose a "
            f"password for the administrator {settings.ADMIN_NAME}"
        )
        password = click.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
        created = ensure_admin(engine, password)
    if created is None:
        click.secho(
            "尚无用户,无人能登录:请设置 GRIDMAP_ADMIN_PASSWORD 或运行 `gridmap user add` / no "
            "users yet, nobody can log in: set GRIDMAP_ADMIN_PASSWORD or run `gridmap user add`",
            err=True,
            fg="yellow",
        )
    else:
        click.echo(f"已创建管理员 / administrator created: {settings.ADMIN_NAME}")
