"""Files in and out (:mod:`gridmap.io`): ``gridmap import`` and ``export`` of a layer,
``import street`` (every layer of a street's files in one transaction), ``import osm``
(buildings from an OpenStreetMap extract), ``backup`` and ``restore`` of the whole street in
one GeoPackage.
"""

from __future__ import annotations

from pathlib import Path

import click

from gridmap.cli.common import db_option, reports_errors
from gridmap.cli.root import main
from gridmap.i18n import pair

LAYER_CHOICES = [
    "communities", "grids", "buildings", "stations", "members", "requests", "organisations",
]  # fmt: skip


def _parse_mapping(pairs: tuple[str, ...]) -> dict[str, str] | None:
    from gridmap.errors import InputError

    if not pairs:
        return None
    mapping = {}
    for item in pairs:
        column, sep, target = item.rpartition("=")
        if not sep or not column or not target:
            raise InputError(
                f"列对应应写成 列名=字段 / --mapping must be COLUMN=FIELD, not {item!r}"
            )
        mapping[column] = target
    return mapping


def _layer_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--layer KIND=NAME`` options of ``import street`` as kind → layer name."""
    from gridmap.errors import InputError

    out = {}
    for item in pairs:
        kind, sep, name = item.partition("=")
        if not sep or not kind.strip() or not name.strip():
            raise InputError(
                f"--layer 应写成 类型=图层名(如 buildings=房屋)/ --layer must be KIND=NAME "
                f"(e.g. buildings=houses), not {item!r}"
            )
        out[kind.strip()] = name.strip()
    return out


def _single_layer(layer: str, pairs: tuple[str, ...]) -> str | None:
    """The ``--layer NAME`` of a one-layer import (``KIND=NAME`` with this layer's kind too)."""
    from gridmap.errors import InputError
    from gridmap.io import layer_spec

    if not pairs:
        return None
    if len(pairs) > 1:
        raise InputError(
            "导入单个图层时 --layer 只能给一次 / --layer is given once for a one-layer import"
        )
    kind, sep, name = pairs[0].partition("=")
    if sep and kind.strip() and name.strip():
        if layer_spec(kind.strip()).name != layer_spec(layer).name:
            raise InputError(
                f"--layer {pairs[0]}:本次导入的是 {layer} / --layer {pairs[0]} names another "
                f"kind than {layer}"
            )
        return name.strip()
    return pairs[0]


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    from gridmap.errors import InputError

    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not (values[0] < values[2] and values[1] < values[3]):
        raise InputError(
            f"--bbox 应写成 最小经度,最小纬度,最大经度,最大纬度 / --bbox must be "
            f"minx,miny,maxx,maxy (lon/lat, min before max), not {text!r}"
        )
    return values  # type: ignore[return-value]


@main.command("import")
@db_option
@click.argument("layer", type=click.Choice([*LAYER_CHOICES, "street", "osm"]))
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
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
    help="Grids: the draft to import into (name or id; `gridmap plan new` makes one). Not "
    "needed for a community without any plan: its first grids become its active plan.",
)
@click.option(
    "--mapping",
    "mapping",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Map a file column to a field (repeat); default: guessed from the names.",
)
@click.option(
    "--layer",
    "layer_names",
    multiple=True,
    metavar="NAME|KIND=NAME",
    help="A file of several layers: the layer to import (NAME); for `import street`, which "
    "layer is which (KIND=NAME, repeat), e.g. --layer buildings=房屋.",
)
@click.option(
    "--street",
    default=None,
    metavar="CODE",
    help="import street: the street of the communities when the database holds several.",
)
@click.option(
    "--bbox",
    default=None,
    metavar="MINX,MINY,MAXX,MAXY",
    help="import osm: only what lies in this lon/lat box.",
)
@click.option(
    "--stations",
    is_flag=True,
    help="import osm: also write amenity points (community centres …) as candidate station "
    "sites to a GeoJSON file to review and import with `gridmap import stations`.",
)
@click.option(
    "--sites-out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="import osm --stations: where the candidate sites go (default "
    "NAME-candidate-sites.geojson here).",
)
@reports_errors
def import_(
    db_url: str | None,
    layer: str,
    files: tuple[Path, ...],
    crs: str | None,
    dry_run: bool,
    fix_invalid: bool,
    swap_latlon: bool,
    update: bool,
    plan: str | None,
    mapping: tuple[str, ...],
    layer_names: tuple[str, ...],
    street: str | None,
    bbox: str | None,
    stations: bool,
    sites_out: Path | None,
) -> None:
    """Import a layer from GeoJSON, GeoPackage, zipped Shapefile, KML, CSV or XLSX; a whole
    street (`import street FILE …`); or buildings from OpenStreetMap (`import osm FILE.osm.pbf`).

    Every row is checked first; any problem rejects the whole file (exit 2) with the row and
    field named, and nothing is written. The write is one transaction. A file of several
    layers (a GeoPackage, a zip of shapefiles) gives the layer named like LAYER, or the one
    chosen with --layer NAME.

    `import street` takes a GeoPackage of several layers, a zip or folder of shapefiles, or
    one file per layer; layers are matched by their names (社区/communities, 网格/grids,
    楼栋/buildings, 党群服务站/stations …, --layer KIND=NAME overrides) and imported in one
    transaction: a problem in any layer rejects the whole street.
    """
    from gridmap.db import open_database
    from gridmap.errors import InputError

    engine = open_database(db_url)
    options = {"crs": crs, "swap_latlon": swap_latlon, "fix_invalid": fix_invalid,
               "update": update, "plan": plan}  # fmt: skip
    if layer in ("street", "osm"):
        if mapping:
            raise InputError(
                f"import {layer} 按图层猜测列对应,不接受 --mapping;请逐层导入以指定列 / import "
                f"{layer} guesses each layer's columns: import a layer alone to map them"
            )
        if layer == "street":
            _import_street(engine, files, _layer_overrides(layer_names), street, dry_run, options)
        else:
            _import_osm(engine, files, bbox, stations, sites_out, dry_run, options)
        return
    if bbox or stations or sites_out or street:
        raise InputError(
            "--bbox、--stations、--sites-out 用于 import osm,--street 用于 import street / "
            "--bbox, --stations and --sites-out are for `import osm`, --street for "
            "`import street`"
        )
    if len(files) != 1:
        raise InputError(
            f"导入 {layer} 只接受一个文件(整个街道请用 gridmap import street)/ import {layer} "
            "takes one file (use `gridmap import street` for several)"
        )
    from gridmap.io import apply_import, prepare_import
    from gridmap.io.streets import read_layer_for

    source = read_layer_for(files[0], layer, _single_layer(layer, layer_names))
    result = prepare_import(engine, layer, source, _parse_mapping(mapping), **options)
    if not dry_run:
        apply_import(engine, result)
    click.echo(f"坐标系 / CRS: {result.source_crs}")
    prefix = "试导入(未写入) / dry run (nothing written): " if dry_run else "已导入 / imported: "
    click.echo(prefix + result.describe())


def _street_import(engine, sources, what: tuple[str, str], **kwargs) -> None:
    """Run :func:`gridmap.io.import_street` and print its mapping, counts and problems; exit 2
    (nothing written) when any layer has a problem, dry run or not."""
    from gridmap.errors import InputError
    from gridmap.io import StreetRejected, import_street

    try:
        result = import_street(engine, sources, **kwargs)
    except StreetRejected as exc:
        click.echo(exc.result.describe())
        raise InputError(
            f"{what[0]}被拒绝,数据库未作任何修改(问题见上)/ {what[1]} was rejected, nothing "
            "was written (the problems are listed above)"
        ) from None
    click.echo(result.describe())
    if not result.ok:  # a dry run that found problems
        raise InputError(
            "试导入发现问题(见上),未写入 / the dry run found problems (listed above); nothing "
            "was written"
        )


def _import_street(
    engine, files, layers: dict[str, str], street: str | None, dry_run: bool, options: dict
) -> None:
    """``gridmap import street``: every layer of the files, one transaction."""
    _street_import(engine, list(files), pair('整个街道导入'), layers=layers,
                   street=street, dry_run=dry_run, **options)  # fmt: skip


def _import_osm(
    engine,
    files,
    bbox: str | None,
    stations: bool,
    sites_out: Path | None,
    dry_run: bool,
    options: dict,
) -> None:
    """``gridmap import osm``: buildings from an OSM extract, through the same buildings import
    as any file, in one transaction; with ``--stations`` the candidate station sites are
    written to a file to review (OpenStreetMap knows no station level) and import."""
    from gridmap.errors import InputError
    from gridmap.io import read_osm

    if len(files) != 1:
        raise InputError("import osm 只接受一个 .osm.pbf 文件 / import osm takes one .osm.pbf file")
    tables = read_osm(files[0], _bbox(bbox), stations=stations)
    _street_import(engine, {"buildings": tables["buildings"]}, pair('OSM 导入'),
                   layers={"buildings": "buildings"}, dry_run=dry_run, **options)  # fmt: skip
    sites = tables.get("candidate_sites")
    if sites is None:
        return
    if dry_run:
        click.echo(
            f"候选站点 / candidate station sites: {len(sites.frame)} (试导入,未写出 / dry run)"
        )
        return
    out = sites_out or Path(f"{Path(files[0]).name.split('.')[0]}-candidate-sites.geojson")
    written = _write_sites(sites, out)
    click.echo(
        f"候选站点 {written} 处已写入 {out}:请核对,填写 level(街道/社区/小区)后用 "
        f"gridmap import stations {out} 导入 / {written} candidate station sites written to "
        f"{out}: review them, fill in level (street/community/compound), then "
        f"`gridmap import stations {out}`"
    )


def _write_sites(sites, out: Path) -> int:
    """Candidate station sites as a GeoJSON file that ``gridmap import stations`` reads once a
    level is filled in."""
    import geopandas as gpd
    import pyogrio

    frame = sites.frame.copy()
    frame.insert(0, "level", None)
    gdf = gpd.GeoDataFrame(frame, geometry=list(sites.geometry), crs=sites.crs or 4326)
    pyogrio.write_dataframe(gdf.to_crs(4326), out, driver="GeoJSON")
    return len(gdf)


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
