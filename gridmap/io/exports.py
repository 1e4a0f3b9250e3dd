"""Export: a layer, or the whole street, as the bytes of a file.

GeoJSON, GeoPackage, zipped Shapefile (with a ``.cpg``), XLSX and CSV (UTF-8 with BOM), using
the field names import reads back, so an export re-imports unchanged; spreadsheet cells are
neutralised against formula injection (:mod:`gridmap.io.spreadsheets`). Buildings carry
``households_estimated`` and ``residents_estimated`` (``hh_est`` / ``res_est`` in a Shapefile),
so an estimated figure never reads as a count — and comes back flagged when re-imported.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gridmap import auth
from gridmap.db import connect
from gridmap.errors import InputError
from gridmap.io.database import read_columns
from gridmap.io.layers import LAYERS, LayerSpec, layer_spec
from gridmap.io.spreadsheets import table_to_csv, tables_to_xlsx
from gridmap.models import PlanStatus
from gridmap.repository import read_table

EXPORT_FORMATS: tuple[str, ...] = ("geojson", "gpkg", "shp", "xlsx", "csv")
#: Characters an Excel cell holds; a longer WKT would be cut by Excel.
XLSX_CELL_MAX = 32_767
#: Shapefile field names are at most 10 characters: the short names import also reads.
SHAPEFILE_NAMES: dict[str, str] = {
    "community_code": "comm_code", "street_code": "street_cod", "opening_hours": "open_hours",
    "building_code": "bldg_code", "registered_on": "registered", "description": "descriptio",
    "received_at": "received_a", "resolved_at": "resolved_a", "rating_note": "rating_not",
    "households_estimated": "hh_est", "residents_estimated": "res_est",
}  # fmt: skip


def export_frame(
    engine: Engine | Connection, layer: str | LayerSpec, scope: auth.Principal | None = None
) -> pd.DataFrame:
    """A layer as the table users get: the import fields, codes instead of ids.

    Grids are those of each community's active plan. A GeoDataFrame for spatial layers. Only
    the rows ``scope`` (default: :func:`gridmap.auth.current_principal`) may see, with names,
    phones, ID suffixes and request text masked for its role (:func:`gridmap.auth.mask_frame`).
    """
    spec = layer if isinstance(layer, LayerSpec) else layer_spec(layer)
    scope = scope if scope is not None else auth.current_principal()
    scope.require("export")
    with connect(engine) as conn:
        if spec.table == "organisation":  # 两新组织: those of the communities in scope
            rows = read_table(conn, spec.table)
            cids = auth.community_ids(conn, scope)
            rows = rows if cids is None else rows[rows["community_id"].isin(sorted(cids))]
        else:
            rows = auth.scope_rows(conn, read_table(conn, spec.table), spec.table, scope)
        codes = {
            n: dict(zip(f["id"], f["code"], strict=True))
            for n, f in (
                ("street", read_columns(conn, "street", ["id", "code"])),
                ("community", read_columns(conn, "community", ["id", "code"])),
                ("building", read_columns(conn, "building", ["id", "code"])),
                ("grid", read_columns(conn, "grid", ["id", "code"])),
            )
        }
        if spec.name == "grids":
            plans = read_table(conn, "grid_plan")
            active = plans[plans["status"] == PlanStatus.active.value]
            community_of = dict(zip(active["id"], active["community_id"], strict=True))
            rows = rows[rows["plan_id"].isin(community_of)].copy()
            rows["community_code"] = rows["plan_id"].map(community_of).map(codes["community"])
        if spec.name == "members":
            persons = read_table(conn, "person").set_index("id")
            orgs = read_table(conn, "party_org").set_index("id")["name"]
            for col in ("name", "phone", "id_suffix"):
                rows[col] = rows["person_id"].map(persons[col])
            rows["party_org"] = rows["party_org_id"].map(orgs)
        if spec.name == "organisations":
            orgs = read_table(conn, "party_org").set_index("id")["name"]
            rows["party_org"] = rows["party_org_id"].map(orgs)
    for ref, source in (("street", "street"), ("community", "community"),
                        ("building", "building"), ("grid", "grid")):  # fmt: skip
        if f"{ref}_id" in rows and f"{ref}_code" in {f.name for f in spec.fields}:
            rows[f"{ref}_code"] = rows[f"{ref}_id"].map(codes[source])
    columns = [f.name for f in spec.fields if f.stored]
    frame = rows[columns + (["geom"] if spec.geometry else [])].reset_index(drop=True)
    for col in columns:
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return auth.mask_frame(frame, scope, names=["name"] if spec.name == "members" else [])


def _spreadsheet_frame(frame: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame:
    """Geometry as lon/lat columns (points) or a WKT column (polygons)."""
    if not spec.geometry:
        return pd.DataFrame(frame)
    out = pd.DataFrame(frame.drop(columns="geom"))
    geoms = np.asarray(frame["geom"].values, dtype=object)
    if spec.geometry == "point":
        out["lon"] = shapely.get_x(geoms)
        out["lat"] = shapely.get_y(geoms)
    else:
        out["wkt"] = shapely.to_wkt(geoms, rounding_precision=-1)
    return out


def _vector_frame(frame: pd.DataFrame, fmt: str) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame(frame.copy(), geometry="geom", crs=4326)
    for col in out.columns:
        if col == "geom":
            continue
        sample = next((v for v in out[col] if v is not None), None)
        if isinstance(sample, dt.date) and (fmt == "shp" or isinstance(sample, dt.datetime)):
            out[col] = out[col].map(lambda v: None if v is None else v.isoformat())
        elif isinstance(sample, bool | np.bool_):  # true/false (a Shapefile: 1/0)
            flags = [None if v is None else bool(v) for v in out[col]]
            out[col] = pd.array(flags, dtype="Int64" if fmt == "shp" else "boolean")
        elif isinstance(sample, int):
            out[col] = pd.array(out[col], dtype="Int64")
    if fmt == "shp":
        out = out.rename(columns=SHAPEFILE_NAMES)
    return out.rename_geometry("geometry")


def _write_vector(frame: gpd.GeoDataFrame, fmt: str, path: Path, layer: str) -> None:
    import pyogrio

    driver = {"geojson": "GeoJSON", "gpkg": "GPKG", "shp": "ESRI Shapefile"}[fmt]
    kwargs: dict[str, Any] = {"layer": layer}
    if fmt == "shp":
        kwargs["encoding"] = "UTF-8"  # written to the .cpg too
    if fmt == "geojson":
        kwargs = {"layer": layer, "COORDINATE_PRECISION": 15}
    pyogrio.write_dataframe(frame, path, driver=driver, **kwargs)


def export_layer(
    engine: Engine, layer: str, fmt: str, scope: auth.Principal | None = None
) -> bytes:
    """One layer (or ``street`` for every layer) as the bytes of a file.

    Formats: ``geojson`` (a ``.zip`` of one file per layer for the street), ``gpkg`` (one layer
    per layer), ``shp`` (a ``.zip`` holding ``.shp .shx .dbf .prj .cpg``, one set per layer),
    ``xlsx`` (one sheet per layer), ``csv`` (UTF-8 with BOM; a ``.zip`` for the street).
    Points become lon/lat columns in spreadsheets, polygons a WKT column.
    """
    if fmt not in EXPORT_FORMATS:
        raise InputError(
            f"不支持的导出格式 / unsupported export format {fmt!r}: {', '.join(EXPORT_FORMATS)}"
        )
    specs = list(LAYERS.values()) if layer == "street" else [layer_spec(layer)]
    if layer != "street" and not specs[0].geometry and fmt in ("geojson", "shp"):
        raise InputError(
            f"{specs[0].zh}没有位置,请导出为 XLSX、CSV 或 GeoPackage / {specs[0].en} have no "
            "location: export them as xlsx, csv or gpkg"
        )
    frames = {spec.name: (spec, export_frame(engine, spec, scope)) for spec in specs}
    if fmt == "xlsx":
        sheets = {n: _spreadsheet_frame(f, s) for n, (s, f) in frames.items()}
        for name, sheet in sheets.items():
            if "wkt" in sheet and len(sheet) and sheet["wkt"].str.len().max() > XLSX_CELL_MAX:
                raise InputError(
                    f"{name} 的边界过于复杂,超出 Excel 单元格上限 {XLSX_CELL_MAX} 字;请导出为 "
                    f"GeoPackage / {name} has a boundary longer than an Excel cell holds "
                    f"({XLSX_CELL_MAX} characters); export it as gpkg"
                )
        return tables_to_xlsx(sheets)
    if fmt == "csv" and len(frames) == 1:
        ((spec, frame),) = frames.values()
        return table_to_csv(_spreadsheet_frame(frame, spec))
    with tempfile.TemporaryDirectory(prefix="gridmap-export-") as tmp:
        folder = Path(tmp)
        files: list[Path] = []
        for name, (spec, frame) in frames.items():
            if fmt == "csv":
                path = folder / f"{name}.csv"
                path.write_bytes(table_to_csv(_spreadsheet_frame(frame, spec)))
                files.append(path)
                continue
            if not spec.geometry:
                if fmt == "gpkg":  # attribute table in the GeoPackage
                    import pyogrio

                    pyogrio.write_dataframe(_plain(frame), folder / "export.gpkg", layer=name)
                else:
                    path = folder / f"{name}.csv"
                    path.write_bytes(table_to_csv(frame))
                    files.append(path)
                continue
            if fmt == "gpkg":
                _write_vector(_vector_frame(frame, fmt), fmt, folder / "export.gpkg", name)
            else:
                suffix = ".geojson" if fmt == "geojson" else ".shp"
                path = folder / f"{name}{suffix}"
                _write_vector(_vector_frame(frame, fmt), fmt, path, name)
                files += sorted(p for p in folder.iterdir() if p.stem == name and p not in files)
        if fmt == "gpkg":
            return (folder / "export.gpkg").read_bytes()
        if fmt == "geojson" and len(frames) == 1:
            return files[0].read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.name)
        return buffer.getvalue()


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame).copy()
    for col in out.columns:
        sample = next((v for v in out[col] if v is not None and v == v), None)
        if isinstance(sample, dt.date | dt.datetime):
            out[col] = out[col].map(lambda v: None if v is None or v != v else v.isoformat())
        elif isinstance(sample, bool | np.bool_):
            out[col] = pd.array([None if v is None else int(v) for v in out[col]], dtype="Int64")
        elif isinstance(sample, int | np.integer):
            out[col] = pd.array(out[col], dtype="Int64")
    return out


def export_filename(layer: str, fmt: str) -> str:
    """The file name an export is saved under (``buildings.geojson``, ``street_shp.zip`` …)."""
    zipped = fmt == "shp" or (layer == "street" and fmt in ("geojson", "csv"))
    if zipped:
        return f"{layer}_{fmt}.zip"
    return f"{layer}.{fmt}"
