"""Street analyses: ``gridmap density`` (members per grid), ``hotspots`` (Getis-Ord Gi* request
hotspots) and ``sites`` (new service stations by maximal covering).
"""

from __future__ import annotations

import json
from typing import Any

import click

from gridmap import settings
from gridmap.cli.common import communities_option, db_option, echo_json, reports_errors
from gridmap.cli.root import main


@main.command()
@db_option
@communities_option
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
        echo_json(payload)
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
    "--emerging",
    is_flag=True,
    help="Emerging hot spots: Gi* per month and the Mann-Kendall trend of each unit, classed "
    "as ArcGIS does (new, consecutive, intensifying, persistent, diminishing, sporadic, "
    "oscillating, historical; cold spots alike).",
)
@click.option(
    "--months",
    type=int,
    default=settings.EMERGING_MONTHS,
    show_default=True,
    help="With --emerging: the last whole months analysed.",
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
    emerging: bool,
    months: int,
    fmt: str,
) -> None:
    """Request hotspots (Getis-Ord Gi*): the significant hot and cold grids or hexagons.

    Prints a plain-language summary of the strongest hotspots and every significant unit;
    with --emerging, how each unit's hotspot changed over the last --months months.
    """  # fmt: skip

    from gridmap.auth import current_principal, scope_rows
    from gridmap.db import open_database
    from gridmap.hotspots import (
        HOTSPOT_CLASSES,
        filter_requests,
        request_hotspots,
        summarise_hotspots,
    )
    from gridmap.repository import load_street_layers, read_table

    engine = open_database(db_url)
    layers = load_street_layers(engine)
    if now is None:
        from gridmap.requests import street_now

        now = street_now(engine)
    chosen = filter_requests(
        scope_rows(engine, read_table(engine, "request"), "request", current_principal()),
        categories or None,
        sources or None,
        since.date() if since else None,
        until.date() if until else None,
        status,
        now,
    )
    if emerging:
        _emerging(chosen, layers.grids, now, months, unit, resolution, fdr, fmt)
        return
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
        echo_json(payload)
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


def _emerging(
    chosen: Any, grids: Any, now: Any, months: int, unit: str, resolution: int, fdr: bool,
    fmt: str,
) -> None:  # fmt: skip
    """Print the emerging hot spots of ``chosen`` (:func:`gridmap.emerging.emerging_hotspots`)."""
    from gridmap.emerging import EMERGING_CLASSES, emerging_hotspots, summarise_emerging

    report = emerging_hotspots(chosen, grids, now, months, unit=unit, resolution=resolution,
                               fdr=fdr)  # fmt: skip
    cells = report.cells[report.cells["cls"] != "no_pattern"]
    table = cells.loc[:, ["unit_id", "grid_code", "label", "cls", "requests", "hot_months",
                          "cold_months", "trend", "trend_p", "final_z"]].copy()  # fmt: skip
    table["unit_id"] = table["unit_id"].astype(str)
    table["_order"] = table["cls"].map({k: i for i, k in enumerate(EMERGING_CLASSES)})
    table = table.sort_values(["_order", "final_z"], ascending=[True, False]).drop(columns="_order")
    if fmt == "json":
        echo_json({"unit": unit, "resolution": report.resolution, "months": report.months,
                   "fdr": fdr, "classes": report.counts(),
                   "summary": summarise_emerging(report, "zh"),
                   "units": table.to_dict("records")})  # fmt: skip
        return
    for line in summarise_emerging(report, "zh"):
        click.echo(line)
    if len(table):
        shown = table.assign(cls=table["cls"].map(lambda c: EMERGING_CLASSES[c][0]))
        click.echo("")
        click.echo(shown.to_string(index=False))


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
        echo_json(payload)
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
