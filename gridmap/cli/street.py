"""A street of one's own: ``gridmap street create`` (then ``gridmap import street``).

``street create`` is the first command of a street's own data. Pointed at a database file that
does not exist yet (or an empty PostgreSQL database), it creates it with the gridmap schema —
what someone starting a street expects; a gridmap database that already exists is used as it
is (an older one must be upgraded with ``gridmap init`` first).
"""

from __future__ import annotations

from pathlib import Path

import click

from gridmap.cli.common import db_option, reports_errors
from gridmap.cli.root import main


@main.group("street")
def street_group() -> None:
    """A street of your own (新建街道): create it, then `gridmap import street FILE`."""


@street_group.command("create")
@db_option
@click.option("--code", default=None, metavar="CODE", help="The street's code, e.g. 420303001.")
@click.option("--name", default=None, metavar="NAME", help="The street's name, e.g. 车城路街道.")
@click.option(
    "--boundary",
    default=None,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="The street's boundary: a polygon file in any import format (its .prj or CRS is "
    "used; else --crs).",
)
@click.option(
    "--boundary-layer",
    default=None,
    metavar="NAME",
    help="The boundary's layer in a file of several (default: the one named like 街道/street).",
)
@click.option(
    "--crs", default=None, metavar="CRS", help="The boundary's CRS (as `gridmap import`)."
)
@click.option("--fix-invalid", is_flag=True, help="Repair an invalid boundary (make_valid).")
@click.option(
    "--replace-demo",
    is_flag=True,
    help="On a database holding the demo street: delete the demo and create this street.",
)
@reports_errors
def street_create(
    db_url: str | None,
    code: str | None,
    name: str | None,
    boundary: Path | None,
    boundary_layer: str | None,
    crs: str | None,
    fix_invalid: bool,
    replace_demo: bool,
) -> None:
    """Create a street: its code, its name and (optionally) its boundary.

    A database file that does not exist yet is created. Then import the street's layers with
    `gridmap import street FILE` (a GeoPackage of several layers, a zip or folder of
    shapefiles, or one file per layer).
    """
    from gridmap.bootstrap import create_street, open_for_new_street

    engine = open_for_new_street(db_url)
    street_id = create_street(
        engine,
        code,
        name,
        boundary,
        crs=crs,
        boundary_layer=boundary_layer,
        fix_invalid=fix_invalid,
        replace_demo=replace_demo,
    )
    where = engine.url.render_as_string(hide_password=True)
    shown_db = f" --db {db_url}" if db_url else ""
    click.echo(
        f"已新建街道 / street created: {str(name).strip()} ({str(code).strip()}, id {street_id}) "
        f"in {where}"
    )
    click.echo(
        f"下一步 / next: gridmap import street 街道数据.gpkg{shown_db} --dry-run  "
        "(社区、网格、楼栋、党群服务站 / communities, grids, buildings, stations)"
    )


@street_group.command("weights")
@db_option
@click.option(
    "--kind",
    type=click.Choice(["coverage_score", "planning", "request_rates"]),  # weights.WEIGHT_KINDS
    default="coverage_score",
    show_default=True,
    help="The coverage score's weights, the planning ranking's or the request rates'.",
)
@click.option("--reset", is_flag=True, help="Go back to the defaults of gridmap/settings.py.")
@click.argument("changes", nargs=-1, metavar="[PART=POINTS ...]")
@reports_errors
def street_weights_command(
    db_url: str | None, kind: str, reset: bool, changes: tuple[str, ...]
) -> None:
    """Show the street's weights of --kind, or change some parts (PART=POINTS, the others
    keep theirs), or --reset them: street administrators only (--user), audited."""
    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.weights import reset_street_weights, set_street_weights, street_weights

    engine = open_database(db_url)
    if reset:
        weights = reset_street_weights(engine, kind)
    elif changes:
        weights = street_weights(engine, kind)
        for change in changes:
            part, sep, value = change.partition("=")
            if not sep:
                raise InputError(f"请写成 PART=POINTS / write PART=POINTS, not {change!r}")
            weights[part.strip()] = value.strip()
        weights = set_street_weights(engine, kind, weights)
    else:
        weights = street_weights(engine, kind)
    for part, points in weights.items():
        click.echo(f"{part}\t{points:g}")
