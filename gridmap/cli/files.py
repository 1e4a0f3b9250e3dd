"""Files in and out (:mod:`gridmap.io`): ``gridmap import`` and ``export`` of a layer, ``backup``
and ``restore`` of the whole street in one GeoPackage.
"""

from __future__ import annotations

from pathlib import Path

import click

from gridmap.cli.common import db_option, reports_errors
from gridmap.cli.root import main

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
