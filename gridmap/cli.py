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


#: Where ``--user`` is kept for the sub-command (click shares ``meta`` with nested contexts).
_USER_KEY = "gridmap.user"
#: Commands that act on the schema or the machine, not as a user of the data.
OPERATOR_ONLY = frozenset({"init", "serve"})
USER_HELP = (
    "Act as this gridmap user: their role, scope and masking apply to what the command reads, "
    "writes and exports, and the audit log names them (password from GRIDMAP_PASSWORD, else a "
    "prompt). Default: the local operator, with full rights (who can run gridmap here can read "
    "the database file anyway)."
)


def _remember_user(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[_USER_KEY] = value


def _login(engine: Any, user_name: str | None) -> Any:
    """The principal of ``--user`` (authenticated), or None for the local operator."""
    from gridmap.auth import authenticate

    if not user_name:
        return None
    password = os.environ.get("GRIDMAP_PASSWORD") or click.prompt(
        f"{user_name} 的密码 / password", hide_input=True
    )
    return authenticate(engine, user_name, password)


def _run_as_user(func: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Run a sub-command as the ``--user`` given (anywhere on the line), if one was."""
    from gridmap.auth import acting_as
    from gridmap.db import open_database

    ctx = click.get_current_context(silent=True)
    user_name = ctx.meta.get(_USER_KEY) if ctx is not None else None
    if not user_name or (ctx is not None and ctx.command.name in OPERATOR_ONLY):
        return func(**kwargs)  # init and serve: the schema and the server (it has its login)
    principal = _login(open_database(kwargs.get("db_url")), user_name)
    with acting_as(principal):
        return func(**kwargs)


def reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a GridmapError into a clear message and its exit code, with no traceback, and run
    the command as the ``--user`` given (:func:`_run_as_user`)."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return _run_as_user(func, kwargs)
        except GridmapError as exc:
            click.secho(f"错误 / error: {exc}", err=True, fg="red")
            sys.exit(exc.exit_code)

    return wrapper


@click.group()
@click.version_option(package_name="gridmap")
@click.option(
    "--user",
    metavar="NAME",
    envvar="GRIDMAP_USER",
    expose_value=False,
    callback=_remember_user,
    help=USER_HELP,
)
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
    """Check grid coverage: gaps, overlaps, buildings, leaders, sizes, service reach and blind
    spots (两新组织 without Party coverage, blind-spot buildings, new compounds without space).

    Prints every problem and exits with 1 when any is found (0 when none), so it can run in a
    script or a nightly job.
    """
    from gridmap.coverage import check_coverage, filter_problems, problem_table
    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.repository import load_street_layers, read_table

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


# --- requests (诉求办理) ------------------------------------------------------------------------


@main.group("requests")
def requests_group() -> None:
    """Residents' requests (诉求): 12345 hotline import, Open311 export, handling statistics."""


def _parse_now(now: str | None) -> Any:
    """--now as a datetime (local time), else the clock (never before the latest event)."""
    import datetime as dt

    from gridmap.errors import InputError
    from gridmap.requests import clock

    if now is None:
        return clock()
    try:
        return dt.datetime.fromisoformat(now)
    except ValueError:
        raise InputError(
            f"无法识别的时间 / cannot read --now {now!r}: use e.g. 2026-10-31T08:00"
        ) from None


@requests_group.command("import")
@db_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--crs",
    type=click.Choice(["wgs84", "gcj02"]),
    default="wgs84",
    show_default=True,
    help="Coordinates of the file: WGS 84, or GCJ-02 (高德/腾讯) converted on import.",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Column of a field when the header is not recognised, e.g. --map external_id=单号 "
    "(fields: external_id, received_at, category, description, reporter, address, lon, lat).",
)
@click.option("--strict", is_flag=True, help="Write nothing when any row is rejected.")
@click.option("--dry-run", is_flag=True, help="Check and list the rows, write nothing.")
@reports_errors
def requests_import(
    db_url: str | None,
    file: Path,
    crs: str,
    mappings: tuple[str, ...],
    strict: bool,
    dry_run: bool,
) -> None:
    """Import a 12345 hotline export (CSV in UTF-8/UTF-8 BOM/GBK, or XLSX).

    Rows are placed by coordinates or by an address matched to a building name; rows that
    cannot be placed are listed with the reason; work orders already imported are skipped, so
    importing the same file twice adds nothing. Exits 1 when any row was rejected.
    """
    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.requests import guess_mapping, import_hotline, preview_hotline, read_hotline

    engine = open_database(db_url)
    mapping = None
    if mappings:
        mapping = guess_mapping(read_hotline(file).columns)
        for item in mappings:
            key, sep, column = item.partition("=")
            if not sep:
                raise InputError(f"--map 需要 FIELD=COLUMN / --map needs FIELD=COLUMN: {item!r}")
            mapping[key.strip()] = column.strip()
    if dry_run:
        result = preview_hotline(engine, read_hotline(file), mapping, crs)
    else:
        result = import_hotline(engine, file, mapping=mapping, crs=crs, strict=strict)
    click.echo(("(试运行 / dry run) " if dry_run else "") + result.summary())
    for row in result.rejected.itertuples():
        click.echo(f"  第 {row.row} 行 / row {row.row} [{row.external_id}]: {row.reason}")
    sys.exit(PROBLEMS_FOUND_EXIT if len(result.rejected) else 0)


@requests_group.command("open311")
@db_option
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--services",
    "services_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the service list (GET services.json) to this file.",
)
@click.option(
    "--status",
    type=click.Choice(["all", "open", "closed"]),
    default="all",
    show_default=True,
)
@reports_errors
def requests_open311(db_url: str | None, out: Path, services_out: Path | None, status: str) -> None:
    """Export requests as Open311 GeoReport v2 JSON (the body of GET requests.json)."""
    from gridmap.db import open_database
    from gridmap.requests import CLOSED_STATUSES, OPEN_STATUSES, export_open311

    statuses = {"all": None, "open": OPEN_STATUSES, "closed": CLOSED_STATUSES}[status]
    payload = export_open311(open_database(db_url), statuses)
    out.write_text(json.dumps(payload["requests"], ensure_ascii=False, indent=1), "utf-8")
    click.echo(f"已导出 {len(payload['requests'])} 条诉求 / requests written to {out}")
    if services_out is not None:
        services_out.write_text(
            json.dumps(payload["services"], ensure_ascii=False, indent=1), "utf-8"
        )
        click.echo(f"已导出 {len(payload['services'])} 类服务 / services written to {services_out}")


@requests_group.command("stats")
@db_option
@click.option("--by", type=click.Choice(["grid", "member"]), default="grid", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (default: standard output).")  # fmt: skip
@click.option("--now", default=None, metavar="ISO", help="Count overdue as of this time.")
@reports_errors
def requests_stats(
    db_url: str | None, by: str, fmt: str, out: Path | None, now: str | None
) -> None:
    """Per grid or per member: requests handled, median time to resolve, overdue, average
    rating and member points (for the periodic appraisal). Member names are masked."""
    from gridmap.db import open_database
    from gridmap.requests import localise_stats, stats_for

    stats = stats_for(open_database(db_url), _parse_now(now), by=by)
    if fmt == "json":
        data = json.dumps(
            json.loads(stats.to_json(orient="records", force_ascii=False)),
            ensure_ascii=False,
            indent=1,
        ).encode("utf-8")
    else:
        data = localise_stats(stats).to_csv(index=False).encode("utf-8-sig")
    if out is None:
        click.echo(data.decode("utf-8-sig"), nl=False)
    else:
        out.write_bytes(data)
        click.echo(f"已导出 {len(stats)} 行 / {len(stats)} rows written to {out}", err=True)


LAYER_CHOICES = [
    "communities", "grids", "buildings", "stations", "members", "requests", "organisations",
]  # fmt: skip


def _parse_mapping(pairs: tuple[str, ...]) -> dict[str, str] | None:
    from gridmap.errors import InputError

    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        column, sep, target = pair.rpartition("=")
        if not sep or not column or not target:
            raise InputError(
                f"列对应应写成 列名=字段 / --mapping must be COLUMN=FIELD, not {pair!r}"
            )
        mapping[column] = target
    return mapping


@main.command("import")
@db_option
@click.argument("layer", type=click.Choice(LAYER_CHOICES))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--crs",
    default=None,
    metavar="CRS",
    help="Coordinates' CRS when the file declares none: EPSG code (4546, 32649), "
    "wgs84, cgcs2000, gcj02 (高德/腾讯) or bd09 (百度).",
)
@click.option("--dry-run", is_flag=True, help="Check and report what would change; write nothing.")
@click.option("--fix-invalid", is_flag=True, help="Repair invalid polygons (make_valid), reported.")
@click.option("--swap-latlon", is_flag=True, help="Exchange latitude and longitude.")
@click.option("--update", is_flag=True, help="Update rows whose code is already in the database.")
@click.option(
    "--plan",
    default=None,
    metavar="NAME",
    help="Grids: the plan to import into (default: each community's active plan).",
)
@click.option(
    "--mapping",
    "mapping",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Map a file column to a field (repeat); default: guessed from the names.",
)
@reports_errors
def import_(
    db_url: str | None,
    layer: str,
    file: Path,
    crs: str | None,
    dry_run: bool,
    fix_invalid: bool,
    swap_latlon: bool,
    update: bool,
    plan: str | None,
    mapping: tuple[str, ...],
) -> None:
    """Import a layer from GeoJSON, GeoPackage, zipped Shapefile, KML, CSV or XLSX.

    Every row is checked first; any problem rejects the whole file (exit 2) with the row and
    field named, and nothing is written. The write is one transaction.
    """
    from gridmap.db import open_database
    from gridmap.io import import_file

    engine = open_database(db_url)
    result = import_file(
        engine,
        layer,
        file,
        dry_run=dry_run,
        mapping=_parse_mapping(mapping),
        crs=crs,
        swap_latlon=swap_latlon,
        fix_invalid=fix_invalid,
        update=update,
        plan=plan,
    )
    click.echo(f"坐标系 / CRS: {result.source_crs}")
    prefix = "试导入(未写入) / dry run (nothing written): " if dry_run else "已导入 / imported: "
    click.echo(prefix + result.describe())


@main.command()
@db_option
@click.argument("layer", type=click.Choice([*LAYER_CHOICES, "street"]))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "gpkg", "shp", "xlsx", "csv"]),
    required=True,
    help="File format (shp is a zip with .cpg; street geojson/csv zip).",
)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@reports_errors
def export(db_url: str | None, layer: str, fmt: str, out: Path) -> None:
    """Export a layer, or the whole street, to GeoJSON, GeoPackage, Shapefile, XLSX or CSV.

    With --user only that user's community or grid is exported, personal data masked for
    their role (a planner's export holds no names, phones or request text)."""
    from gridmap.db import open_database
    from gridmap.io import export_layer

    data = export_layer(open_database(db_url), layer, fmt)
    out.write_bytes(data)
    click.echo(f"已导出 / exported {layer} → {out} ({len(data):,} bytes)")


@main.command()
@db_option
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@reports_errors
def backup(db_url: str | None, out: Path) -> None:
    """Back the whole street up into one GeoPackage (every table, ids included; street
    administrators only when --user is given)."""
    from gridmap.db import open_database
    from gridmap.io import backup as write_backup

    counts = write_backup(open_database(db_url), out)
    click.echo(f"已备份 / backed up {sum(counts.values())} rows in {len(counts)} tables → {out}")


@main.command()
@db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace what the database already holds.")
@reports_errors
def restore(db_url: str | None, file: Path, force: bool) -> None:
    """Restore a street from a `gridmap backup` GeoPackage, in one transaction."""
    from gridmap.db import open_database
    from gridmap.io import restore as read_backup

    counts = read_backup(open_database(db_url), file, force=force)
    click.echo(f"已恢复 / restored {sum(counts.values())} rows from {file}")


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
    "--category",
    "categories",
    multiple=True,
    metavar="CATEGORY",
    help="Count only this member category (resident, in_service, retired, floating, "
    "lost_contact, retired_cadre, unemployed; repeat for several); default: all.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def density(
    db_url: str | None, community_codes: tuple[str, ...], categories: tuple[str, ...], fmt: str
) -> None:
    """Member density per grid: members, per 100 households, per km², by category.

    Grids with the fewest members per 100 households come first.
    """
    from gridmap.db import open_database
    from gridmap.density import member_density
    from gridmap.repository import load_street_layers, read_table

    engine = open_database(db_url)
    layers = load_street_layers(engine)
    community_ids = _community_ids(layers, community_codes)
    report = member_density(
        layers.grids,
        layers.buildings,
        read_table(engine, "member"),
        categories or None,
        community_ids,
    )
    table = report.grids.drop(columns=report.grids.geometry.name)
    table = table.drop(columns=["grid_id", "community_id"]).round(
        {"area_km2": 4, "members_per_100_households": 2, "members_per_km2": 1}
    )
    if fmt == "json":
        payload = {
            "totals": report.totals,
            "categories": list(report.categories),
            "grids": json.loads(table.to_json(orient="records", force_ascii=False)),
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return
    totals = report.totals
    click.echo(
        f"党员 {totals['members']:,} 名 / members, 户 {totals['households']:,.0f} / households, "
        f"每百户 {totals['members_per_100_households']:.2f} 名 / per 100 households, "
        f"每平方公里 {totals['members_per_km2']:,.0f} 名 / per km²"
    )
    shown = table.loc[
        :,
        [
            "grid_code",
            "community_name",
            "grid_name",
            "households",
            "members",
            "members_per_100_households",
            "members_per_km2",
            "in_service_registered",
            "lost_contact",
        ],
    ].rename(
        columns={
            "grid_code": "网格编码",
            "community_name": "社区",
            "grid_name": "网格",
            "households": "户数",
            "members": "党员",
            "members_per_100_households": "每百户党员",
            "members_per_km2": "每平方公里党员",
            "in_service_registered": "双报到",
            "lost_contact": "失联",
        }
    )
    click.echo(shown.to_string(index=False))


def _community_ids(layers: Any, community_codes: tuple[str, ...]) -> tuple[int, ...] | None:
    """Community ids of the given codes (None for none given); unknown codes are an error."""
    from gridmap.errors import InputError

    if not community_codes:
        return None
    known = dict(zip(layers.communities["code"], layers.communities["id"], strict=True))
    unknown = sorted(set(community_codes) - set(known))
    if unknown:
        raise InputError(
            f"未知的社区编码 / unknown community code(s) {unknown}; "
            f"known: {', '.join(sorted(known))}"
        )
    return tuple(int(known[c]) for c in community_codes)


@main.command()
@db_option
@click.option(
    "--category",
    "categories",
    multiple=True,
    metavar="CATEGORY",
    help="Only this request category, e.g. 停车管理 (repeat for several).",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Choice(["inspection", "visit", "report", "hotline"]),
    help="Only this source: 查 inspection, 访 visit, 报 report, 12345 hotline.",
)
@click.option(
    "--status",
    type=click.Choice(["all", "open", "overdue"]),
    default="all",
    show_default=True,
    help="All requests, open ones, or open and past due.",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Received on or after this day (YYYY-MM-DD).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Received on or before this day (YYYY-MM-DD).",
)
@click.option(
    "--now",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    default=None,
    help="When 'overdue' is judged (default: now; the demo street's reference date).",
)
@click.option(
    "--unit",
    type=click.Choice(list(settings.HOTSPOT_UNITS)),
    default=settings.HOTSPOT_UNIT,
    show_default=True,
    help="Grids (contiguity) or H3 hexagons.",
)
@click.option(
    "--resolution",
    type=click.IntRange(0, 15),
    default=settings.H3_RESOLUTION,
    show_default=True,
    help="H3 resolution for --unit h3.",
)
@click.option(
    "--measure",
    type=click.Choice(["count", "rate"]),
    default="count",
    show_default=True,
    help="Requests, or requests per 100 households.",
)
@click.option(
    "--fdr/--no-fdr",
    default=settings.HOTSPOT_FDR,
    show_default=True,
    help="False-discovery-rate control.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def hotspots(
    db_url: str | None,
    categories: tuple[str, ...],
    sources: tuple[str, ...],
    status: str,
    since: Any,
    until: Any,
    now: Any,
    unit: str,
    resolution: int,
    measure: str,
    fdr: bool,
    fmt: str,
) -> None:
    """Request hotspots (Getis-Ord Gi*): the significant hot and cold grids or hexagons.

    Prints a plain-language summary of the strongest hotspots and every significant unit.
    """  # fmt: skip
    import datetime as dt

    from gridmap.db import open_database
    from gridmap.hotspots import (
        HOTSPOT_CLASSES,
        filter_requests,
        is_demo_street,
        request_hotspots,
        summarise_hotspots,
    )
    from gridmap.repository import load_street_layers, read_table

    engine = open_database(db_url)
    layers = load_street_layers(engine)
    if now is None:
        now = (
            dt.datetime.combine(settings.DEMO_REFERENCE_DATE, dt.time())
            if is_demo_street(layers.streets)
            else dt.datetime.now()
        )
    chosen = filter_requests(
        read_table(engine, "request"),
        categories or None,
        sources or None,
        since.date() if since else None,
        until.date() if until else None,
        status,
        now,
    )
    report = request_hotspots(
        chosen, layers.grids, layers.buildings, unit=unit, measure=measure,
        resolution=resolution, fdr=fdr,
    )  # fmt: skip
    cells = report.cells[report.cells["cls"] != "not_significant"]
    table = cells.loc[:, ["unit_id", "grid_code", "cls", "requests", "value", "z", "p"]].copy()
    table["unit_id"] = table["unit_id"].astype(str)
    table["_order"] = table["cls"].map({k: i for i, k in enumerate(HOTSPOT_CLASSES)})
    table = table.sort_values(["_order", "p"]).drop(columns="_order")
    table = table.round({"value": 3, "z": 3, "p": 4})
    if fmt == "json":
        payload = {
            "unit": unit,
            "resolution": report.resolution,
            "measure": measure,
            "fdr": fdr,
            "requests": len(report.requests),
            "classes": report.counts(),
            "summary": summarise_hotspots(report, "zh"),
            "significant": table.to_dict("records"),
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=float))
        return
    for line in summarise_hotspots(report, "zh"):
        click.echo(line)
    click.echo("")
    for key, count in report.counts().items():
        if count:
            click.echo(f"  {HOTSPOT_CLASSES[key][0]} / {HOTSPOT_CLASSES[key][1]}: {count}")
    if len(table):
        click.echo("")
        click.echo(table.to_string(index=False))


@main.group("org")
def org_group() -> None:
    """Party organisations (党组织): the tree, organisation-form advice, lost-contact members."""


@org_group.command("tree")
@db_option
@click.option(
    "--community",
    "community_code",
    default=None,
    metavar="CODE",
    help="Only this community's organisations.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def org_tree_command(db_url: str | None, community_code: str | None, fmt: str) -> None:
    """The organisation tree, indented, with members held directly and in total."""
    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.organisation import KIND_LABELS, load_organisation
    from gridmap.repository import read_table

    engine = open_database(db_url)
    tree = load_organisation(engine).orgs
    if community_code is not None:
        communities = read_table(engine, "community")
        match = communities.loc[communities["code"] == community_code, "id"]
        if match.empty:
            raise InputError(f"未知的社区编码 / unknown community code {community_code!r}")
        tree = tree[tree["community_id"] == int(match.iloc[0])]
    if fmt == "json":
        cols = [
            "id",
            "parent_id",
            "kind",
            "name",
            "community_id",
            "grid_id",
            "depth",
            "members",
            "members_total",
        ]
        click.echo(tree[cols].to_json(orient="records", force_ascii=False, indent=2))
        return
    for row in tree.itertuples():
        indent = "  " * max(int(row.depth), 0)
        kind = KIND_LABELS.get(row.kind, (row.kind,))[0]
        click.echo(f"{indent}{row.name} [{kind}] 党员 {row.members_total} 名")


@org_group.command("advice")
@db_option
@click.option("--all", "show_all", is_flag=True, help="Also list the units whose form fits.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def org_advice_command(db_url: str | None, show_all: bool, fmt: str) -> None:
    """Organisation-form advice: for each community and grid, the form its member count calls
    for (≥ 3 branch, 50–100 general branch, > 100 committee) against the form it has; joint
    branches with adjacent, similar neighbours for units under 3 members."""
    from gridmap.db import open_database
    from gridmap.organisation import street_advice
    from gridmap.orgform import STATUS_LABELS

    advice = street_advice(open_database(db_url))
    rows = advice.table if show_all else advice.problems()
    if fmt == "json":
        payload = {
            "summary": advice.summary,
            "rows": json.loads(rows.to_json(orient="records", force_ascii=False)),
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    counts = "、".join(f"{STATUS_LABELS[k][0]} {v}" for k, v in advice.summary.items() if v)
    click.echo(f"党组织设置建议 / organisation-form advice: {counts}")
    for row in rows.itertuples():
        where = (
            row.grid_code
            if isinstance(row.grid_code, str)
            else (row.org_name if row.level == "organisation" else row.community_code)
        )
        click.echo(f"  [{STATUS_LABELS[row.status][0]}] {where}: {row.advice}")


@org_group.command("lost")
@db_option
@click.option(
    "--today",
    default=None,
    metavar="YYYY-MM-DD",
    help="Count days since contact up to this day (default: today).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def org_lost_command(db_url: str | None, today: str | None, fmt: str) -> None:
    """Lost-contact (失联) and floating (流动) members per community, with time since contact
    (names masked)."""
    import datetime as dt

    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.organisation import street_lost_contact
    from gridmap.orgform import lost_contact_summary

    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        raise InputError(f"无法识别的日期 / cannot read --today {today!r}") from None
    lost = street_lost_contact(open_database(db_url), day)
    if fmt == "json":
        click.echo(lost.to_json(orient="records", force_ascii=False, indent=2, date_format="iso"))
        return
    summary = lost_contact_summary(lost)
    click.echo(f"失联与流动党员 / lost-contact and floating members ({day:%Y-%m-%d}):")
    click.echo(summary.to_string(index=False))


@main.group("members")
def members_group() -> None:
    """Party members (党员): bulk import from a spreadsheet."""


@members_group.command("import")
@db_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_errors
def members_import(db_url: str | None, file: Path) -> None:
    """Import members from a CSV (UTF-8 or GBK) or XLSX file: all rows or none.

    Columns: 姓名, 党员类别, 党组织 (name), 楼栋编码 or 地址, and optionally 手机, 身份证后四位,
    入党日期, 报到日期, 工作单位, 志愿服务特长, 最后联系日期. Bad rows are listed by row and field
    and nothing is written (exit 2).
    """
    from gridmap.db import open_database
    from gridmap.organisation import import_members, read_member_file

    engine = open_database(db_url)
    rows = read_member_file(file)
    result = import_members(engine, rows, file.name)
    click.echo(
        f"已导入 {result['members']} 名党员(新增人员 {result['persons']} 人) / imported "
        f"{result['members']} members ({result['persons']} new persons) from {file.name}"
    )


@main.group("plan")
def plan_group() -> None:
    """Grid plans (网格划分方案): drafts, validation, approval, activation, rollback and
    auto-balance. Each command works on one community (--community CODE)."""


community_option = click.option(
    "--community", "community_code", required=True, metavar="CODE", help="The community's code."
)
plan_option = click.option(
    "--plan",
    "plan_id",
    type=int,
    default=None,
    metavar="ID",
    help="The plan (default: the community's newest plan in the state the command needs).",
)


def _plan_in_state(engine: Any, community_code: str, plan_id: int | None, status: str) -> int:
    """The given plan (checked to belong to the community), else the newest in ``status``."""
    from gridmap.errors import InputError
    from gridmap.redraw import list_plans

    plans = list_plans(engine, community_code)
    if plan_id is not None:
        if plan_id not in set(plans["id"]):
            raise InputError(
                f"方案 #{plan_id} 不属于社区 {community_code} / plan {plan_id} is not a plan of "
                f"community {community_code}"
            )
        return plan_id
    matching = plans[plans["status"] == status]
    if matching.empty:
        raise InputError(
            f"社区 {community_code} 没有状态为 {status} 的方案 / community {community_code} has no "
            f"{status} plan; give --plan ID (see `gridmap plan list --community {community_code}`)"
        )
    return int(matching["id"].iloc[0])


@plan_group.command("list")
@db_option
@community_option
@reports_errors
def plan_list(db_url: str | None, community_code: str) -> None:
    """The community's plans, newest first, with their state and grid count."""
    from gridmap.db import open_database
    from gridmap.redraw import list_plans

    plans = list_plans(open_database(db_url), community_code)
    if plans.empty:
        click.echo(f"社区 {community_code} 没有方案 / no plans")
        return
    shown = plans[["id", "name", "status", "grids", "created_at", "approved_at"]]
    click.echo(shown.to_string(index=False))


@plan_group.command("new")
@db_option
@community_option
@click.option("--name", default=None, help="The draft's name (default: community and time).")
@reports_errors
def plan_new(db_url: str | None, community_code: str, name: str | None) -> None:
    """Start a draft as a copy of the community's active plan."""
    from gridmap.db import open_database
    from gridmap.redraw import load_plan, new_draft

    engine = open_database(db_url)
    plan_id = new_draft(engine, community_code, name)
    grids = len(load_plan(engine, plan_id).grids)
    click.echo(f"已建草案 #{plan_id}({grids} 个网格) / draft {plan_id} created ({grids} grids)")


def _print_metrics(metrics: Any) -> None:
    table = metrics.grids[
        ["code", "buildings", "households", "residents", "members", "area_m2", "compactness"]
    ].copy()
    table["area_m2"] = table["area_m2"].round(0).astype(int)
    table["compactness"] = table["compactness"].round(2)
    table["norm"] = metrics.grids["norm"].map({"ok": "", "small": "偏少", "large": "偏多"})
    click.echo(table.to_string(index=False))
    s = metrics.summary
    click.echo(
        f"网格 {s['grids']} 个；未覆盖 {s['gaps']} 处 {s['gap_area_m2']:,.0f} 平方米；重叠 "
        f"{s['overlaps']} 处；不在网格的楼栋 {s['unassigned_buildings']} 栋；跨网格楼栋 "
        f"{s['split_buildings']} 栋；户数超出规范 {s['out_of_norm']} 个；最大偏离目标 "
        f"{s['max_deviation']} 户"
    )


@plan_group.command("validate")
@db_option
@community_option
@plan_option
@reports_errors
def plan_validate(db_url: str | None, community_code: str, plan_id: int | None) -> None:
    """Live figures of a plan (default: the newest draft) and what stops it being proposed.

    Exits 1 when the plan has issues, 0 when it may be proposed as it is.
    """
    from gridmap.db import open_database
    from gridmap.redraw import diff_against_active, layers_metrics, load_plan, validate_plan

    engine = open_database(db_url)
    plan_id = _plan_in_state(engine, community_code, plan_id, "draft")
    layers = load_plan(engine, plan_id)
    metrics = layers_metrics(layers)
    click.echo(f"方案 #{plan_id}「{layers.plan['name']}」({layers.plan['status']})")
    _print_metrics(metrics)
    diff = diff_against_active(engine, plan_id)
    if diff is not None:
        d = diff.summary
        click.echo(
            f"与生效方案相比 / against the active plan: 变动网格 {d['grids_changed']} 个，"
            f"移动楼栋 {d['buildings_moved']} 栋 {d['households_moved']} 户，涉及网格长 "
            f"{d['leaders_affected']} 人、党组织 {d['branches_affected']} 个"
        )
    issues = validate_plan(metrics, layers.buildings)
    if not issues:
        click.echo("检查通过，可以提交 / the plan passes every check")
        return
    click.echo(f"未通过 {len(issues)} 项 / {len(issues)} issues:")
    for issue in issues:
        click.echo(f"  - {issue.message}")
    sys.exit(PROBLEMS_FOUND_EXIT)


@plan_group.command("propose")
@db_option
@community_option
@plan_option
@click.option("--reason", default=None, help="Why the plan may go ahead despite its issues.")
@reports_errors
def plan_propose(
    db_url: str | None,
    community_code: str,
    plan_id: int | None,
    reason: str | None,
) -> None:
    """Propose a draft for the street's approval (a plan with issues needs --reason)."""
    from gridmap.db import open_database
    from gridmap.redraw import propose

    engine = open_database(db_url)
    plan_id = _plan_in_state(engine, community_code, plan_id, "draft")
    issues = propose(engine, plan_id, reason)
    extra = f",附理由接受 {len(issues)} 项问题" if issues else ""
    click.echo(f"方案 #{plan_id} 已提交{extra} / plan {plan_id} proposed")


@plan_group.command("approve")
@db_option
@community_option
@plan_option
@reports_errors
def plan_approve(db_url: str | None, community_code: str, plan_id: int | None) -> None:
    """Approve a proposed plan (the street's decision), recording the approver."""
    from gridmap.db import open_database
    from gridmap.redraw import approve

    engine = open_database(db_url)
    plan_id = _plan_in_state(engine, community_code, plan_id, "proposed")
    approve(engine, plan_id)
    click.echo(f"方案 #{plan_id} 已批准 / plan {plan_id} approved")


@plan_group.command("activate")
@db_option
@community_option
@plan_option
@reports_errors
def plan_activate(db_url: str | None, community_code: str, plan_id: int | None) -> None:
    """Activate an approved plan: the previous one is retired, building grids recomputed."""
    from gridmap.db import open_database
    from gridmap.redraw import activate

    engine = open_database(db_url)
    plan_id = _plan_in_state(engine, community_code, plan_id, "approved")
    retired = activate(engine, plan_id)
    was = f",方案 #{retired} 已停用" if retired else ""
    click.echo(f"方案 #{plan_id} 已生效{was} / plan {plan_id} is active")


@plan_group.command("rollback")
@db_option
@community_option
@reports_errors
def plan_rollback(db_url: str | None, community_code: str) -> None:
    """Re-activate the plan the active one replaced, exactly as it was."""
    from gridmap.db import open_database
    from gridmap.redraw import rollback

    plan_id = rollback(open_database(db_url), community_code)
    click.echo(f"已回退到方案 #{plan_id} / rolled back to plan {plan_id}")


@plan_group.command("balance")
@db_option
@community_option
@click.option("--name", default=None, help="The draft's name.")
@reports_errors
def plan_balance(db_url: str | None, community_code: str, name: str | None) -> None:
    """Propose a draft that regroups the community's buildings into contiguous grids within
    the household norm (METIS). Exits 1 when the norm cannot be met (the draft is still
    written, with the reason)."""
    from gridmap.db import open_database
    from gridmap.redraw import balance_draft

    engine = open_database(db_url)
    with click.progressbar(length=100, label="自动均衡 / balancing", file=sys.stderr) as bar:
        done = [0]

        def progress(fraction: float, _message: str) -> None:
            step = int(fraction * 100) - done[0]
            if step > 0:
                bar.update(step)
                done[0] += step

        plan_id, result = balance_draft(engine, community_code, name, progress=progress)
    sizes = result.grids["households"]
    click.echo(f"草案 #{plan_id}: {len(sizes)} 个网格 / grids, 户数 {sizes.min()}–{sizes.max()}")
    click.echo(result.message)
    if not result.feasible:
        sys.exit(PROBLEMS_FOUND_EXIT)


@main.command("report")
@db_option
@click.option("--community", "community_code", required=True, metavar="CODE",
              help="Community code, e.g. 420303001-004.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html",
              show_default=True,
              help="html: one self-contained page; pdf: printed by Chromium.")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write.")  # fmt: skip
@click.option("--radius", type=click.Choice(["300", "500", "1000"]),
              default=str(settings.SERVICE_REACH_M), show_default=True,
              help="Walking radius of a service station (m).")  # fmt: skip
@reports_errors
def report_command(db_url: str | None, community_code: str, fmt: str, out: Path,
                   radius: str) -> None:  # fmt: skip
    """A printable community report (社区工作报告) for the street committee's meeting.

    Maps (drawn offline), coverage problems, member density, request hotspots, request
    handling, organisation-form advice and the under-covered ranking; HTML or PDF.
    """
    from gridmap.db import open_database
    from gridmap.report import build_community_report

    engine = open_database(db_url)
    data = build_community_report(engine, community_code, fmt, radius_m=float(radius))
    out.write_bytes(data)
    click.echo(f"已生成报告 / report written: {out} ({len(data):,} bytes)")


@main.command("sites")
@db_option
@click.option("--community", "community_code", default=None, metavar="CODE",
              help="Only this community's households and sites (default: street).")  # fmt: skip
@click.option("-k", "k", type=int, default=settings.PLANNING_SITES_K, show_default=True,
              help="New stations to site.")  # fmt: skip
@click.option("--radius", type=click.Choice(["300", "500", "1000"]),
              default=str(settings.SERVICE_REACH_M), show_default=True,
              help="Walking radius of a service station (m).")  # fmt: skip
@click.option("--spacing", type=float, default=settings.PLANNING_CANDIDATE_SPACING_M,
              show_default=True,
              help="Metres between lattice candidate points (0: none).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)  # fmt: skip
@reports_errors
def sites_command(db_url: str | None, community_code: str | None, k: int, radius: str,
                  spacing: float, fmt: str) -> None:  # fmt: skip
    """Site k new Party–mass service stations (maximal covering, spopt MCLP + CBC).

    Candidates are the buildings without households and a lattice of points; prints the
    households within reach before and after, and the households each new site adds.
    """
    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.planning import candidate_sites, site_stations
    from gridmap.repository import load_street_layers

    layers = load_street_layers(open_database(db_url))
    buildings, area = layers.buildings, layers.communities
    if community_code is not None:
        area = layers.communities[layers.communities["code"] == community_code]
        if area.empty:
            raise InputError(f"社区编码不存在 / no community with code {community_code!r}")
        buildings = buildings[buildings["community_id"] == area["id"].iloc[0]]
    candidates = candidate_sites(buildings, area, spacing_m=spacing or None)
    result = site_stations(buildings, layers.stations, candidates, k=k, radius_m=float(radius))
    sites = result.sites.assign(lon=result.sites.geometry.x.round(6),
                                lat=result.sites.geometry.y.round(6))  # fmt: skip
    rows = sites.loc[:, ["order", "site_id", "kind", "label", "gain", "alone", "lon", "lat"]]
    if fmt == "json":
        payload = {
            "community": community_code, "k": k, "radius_m": float(radius),
            "status": result.status, "households": result.households,
            "before": result.before, "after": result.after, "gained": result.gained,
            "sites": rows.to_dict("records"),
        }  # fmt: skip
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=int))
        return
    click.echo(
        f"{radius} 米内住户 / households within {radius} m: {result.before:,} → {result.after:,}"
        f" (+{result.gained:,}), {result.share('before'):.1%} → {result.share():.1%}"
        f"  [{result.status}, {len(candidates)} candidates]"
    )
    if rows.empty:
        click.echo("无需新增站点 / no new site adds households within reach")
    else:
        click.echo(rows.to_string(index=False))


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
    _first_admin(engine)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP_PATH),
        "--server.port", str(port),
        "--server.headless", "true" if headless else "false",
        "--server.showEmailPrompt", "false",  # a first start must not stop to ask for an email
        "--browser.gatherUsageStats", "false",
        "--server.enableStaticServing", "true",
    ]  # fmt: skip
    click.echo(f"gridmap: http://localhost:{port}  ({engine.url.render_as_string()})")
    sys.exit(subprocess.call(cmd, cwd=REPO_ROOT, env=env))


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


ROLE_CHOICE = click.Choice(["street_admin", "secretary", "grid_worker", "planner", "viewer"])


def scope_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--street`` / ``--community`` / ``--grid``: the codes of a user's scope."""
    for flag, name, help_text in reversed(
        [
            ("--street", "street_code", "Street code (street-wide roles)."),
            ("--community", "community_code", "Community code (secretary)."),
            ("--grid", "grid_code", "Grid code (grid worker)."),
        ]
    ):
        func = click.option(flag, name, default=None, help=help_text)(func)
    return func


@main.group("user")
def user_group() -> None:
    """Users of the app: add, list, disable, reset a password."""


@user_group.command("add")
@db_option
@click.argument("name")
@click.option(
    "--role",
    type=ROLE_CHOICE,
    required=True,
)
@scope_options
@click.password_option(
    envvar="GRIDMAP_NEW_PASSWORD", help="The password (GRIDMAP_NEW_PASSWORD, else a prompt)."
)
@reports_errors
def user_add(db_url: str | None, name: str, role: str, street_code: str | None,
             community_code: str | None, grid_code: str | None, password: str) -> None:  # fmt: skip
    """Add a user with a role and a scope; the password is asked for (never echoed)."""
    from gridmap.auth import create_user
    from gridmap.db import open_database

    user_id = create_user(open_database(db_url), name, password, role, street_code=street_code,
                          community_code=community_code, grid_code=grid_code)  # fmt: skip
    click.echo(f"已添加用户 / user added: {name} ({role}, id {user_id})")


@user_group.command("list")
@db_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@reports_errors
def user_list(db_url: str | None, fmt: str) -> None:
    """Every user with role, scope and whether disabled (never a password hash)."""
    from gridmap.auth import list_users
    from gridmap.db import open_database

    users = list_users(open_database(db_url))
    if fmt == "json":
        click.echo(json.dumps(users.to_dict("records"), ensure_ascii=False, indent=2))
        return
    for row in users.itertuples():
        scope = row.grid_code or row.community_code or row.street_code or "—"
        state = "已停用 / disabled" if row.disabled else ""
        click.echo(f"{row.id:>4}  {row.name:<20} {row.role:<13} {scope:<20} {state}")


@user_group.command("disable")
@db_option
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
@reports_errors
def user_disable(db_url: str | None, name: str, enable: bool) -> None:
    """Disable a user (they can no longer log in; open sessions end), or --enable again."""
    from gridmap.auth import disable_user
    from gridmap.db import open_database

    disable_user(open_database(db_url), name, disabled=not enable)
    click.echo(f"{'已启用 / enabled' if enable else '已停用 / disabled'}: {name}")


@user_group.command("change")
@db_option
@click.argument("name")
@click.option(
    "--role",
    type=ROLE_CHOICE,
    default=None,
    help="The new role (default: keep it).",
)
@scope_options
@reports_errors
def user_change(db_url: str | None, name: str, role: str | None, street_code: str | None,
                community_code: str | None, grid_code: str | None) -> None:  # fmt: skip
    """Give a user a new role or scope (and enable them again); their sessions end."""
    from gridmap.auth import change_user
    from gridmap.db import open_database

    change_user(open_database(db_url), name, role, street_code=street_code,
                community_code=community_code, grid_code=grid_code)  # fmt: skip
    click.echo(f"已修改 / changed: {name}")


@user_group.command("reset-password")
@db_option
@click.argument("name")
@click.password_option(
    envvar="GRIDMAP_NEW_PASSWORD", help="The new password (GRIDMAP_NEW_PASSWORD, else a prompt)."
)
@reports_errors
def user_reset_password(db_url: str | None, name: str, password: str) -> None:
    """Set a new password for a user (asked for, never echoed)."""
    from gridmap.auth import reset_password
    from gridmap.db import open_database

    reset_password(open_database(db_url), name, password)
    click.echo(f"密码已重置 / password reset: {name}")


@main.command("audit")
@db_option
@click.option(
    "--by", "user_filter", default=None, metavar="NAME", help="Only rows written by this user."
)
@click.option("--action", default=None, help="Only this action (e.g. plan_approve, login_failed).")
@click.option("--entity", default=None, help="Only this table (request, grid_plan, member …).")
@click.option("--since", default=None, help="From this date (YYYY-MM-DD).")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@reports_errors
def audit_command(db_url: str | None, user_filter: str | None, action: str | None,
                  entity: str | None, since: str | None, limit: int, fmt: str) -> None:  # fmt: skip
    """The audit log, newest first: who changed what, when, before and after."""
    import datetime as dt

    from gridmap.auth import audit_log
    from gridmap.db import open_database
    from gridmap.errors import InputError

    try:
        start = dt.date.fromisoformat(since) if since else None
    except ValueError:
        raise InputError(f"--since 应为 YYYY-MM-DD / --since must be YYYY-MM-DD: {since}") from None
    rows = audit_log(open_database(db_url), user=user_filter, action=action, entity=entity,
                     since=start, limit=limit)  # fmt: skip
    if fmt == "json":
        click.echo(rows.to_json(orient="records", force_ascii=False, date_format="iso"))
        return
    for row in rows.itertuples():
        who = row.user or "system"
        click.echo(f"{row.at:%Y-%m-%d %H:%M:%S}  {who:<16} {row.action:<22} {row.entity} "
                   f"#{row.entity_id if row.entity_id is not None else '—'}")  # fmt: skip


if __name__ == "__main__":
    main()


def _accept_user_anywhere(group: click.Group) -> None:
    """Give every sub-command its own ``--user`` too (``gridmap export --user li ...``)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_user_anywhere(command)
        elif command.name not in OPERATOR_ONLY:
            command.params.append(
                click.Option(
                    ["--user"],
                    metavar="NAME",
                    envvar="GRIDMAP_USER",
                    expose_value=False,
                    callback=_remember_user,
                    help=USER_HELP,
                )
            )


_accept_user_anywhere(main)
