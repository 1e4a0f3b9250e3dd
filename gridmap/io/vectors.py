"""GeoJSON, GeoPackage, Shapefile and KML/KMZ read through GDAL (pyogrio) as a
:class:`~gridmap.io.layers.SourceTable`.

Each reader first checks what GDAL would otherwise trust, and refuses with a sentence naming
the file (and the feature and field where there is one):

- GeoJSON: UTF-8 text, valid JSON, not nested deeper than :data:`GEOJSON_MAX_DEPTH`, a CRS of
  its own rather than a link (:func:`~gridmap.io.offline.geojson_reference`), no NUL character
  in a property;
- GeoPackage: an SQLite file, no NUL byte in a text column;
- Shapefile: its sidecars present, its ``.prj`` a definition rather than a URL or path, its
  attributes' encoding declared (``.cpg``, the ``.dbf`` language byte) or detected
  (:func:`~gridmap.io.encodings.dbf_encoding`), no NUL byte inside a text value;
- KML: no ``NetworkLink`` or remote ``href`` (:func:`~gridmap.io.offline.kml_reference`), no
  NUL byte; a KMZ is unpacked through the one container check
  (:mod:`~gridmap.io.containers`), and GDAL reads only its main ``.kml``.

A zip of shapefiles, a folder and the choice among several layers are
:mod:`~gridmap.io.sources`'s job.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import logging
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from gridmap.i18n import pair
from gridmap.io.containers import checked_archive, read_member
from gridmap.io.encodings import (
    dbf_encoding,
    dbf_nul_issues,
    has_nul,
    nul_issue,
    sniff_binary,
    strict_decode,
)
from gridmap.io.layers import ImportRejected, Issue, SourceTable, file_error
from gridmap.io.offline import geojson_reference, kml_reference, prj_reference

log = logging.getLogger(__name__)

#: How deeply a GeoJSON document may nest objects and arrays (a MultiPolygon feature in a
#: FeatureCollection needs 7 levels); deeper is an attack on the parser, not geography.
GEOJSON_MAX_DEPTH = 64

#: Tables QGIS keeps in a GeoPackage besides the layers: never data to import.
QGIS_TABLES = frozenset({"layer_styles", "qgis_projects"})

#: ``.cpg`` words for the encodings of Chinese shapefiles, and the encoding each means.
CPG_ENCODINGS: dict[str, str] = {
    "UTF-8": "UTF-8", "UTF8": "UTF-8", "65001": "UTF-8", "GBK": "GB18030", "CP936": "GB18030",
    "936": "GB18030", "ANSI 936": "GB18030", "GB2312": "GB18030", "GB18030": "GB18030",
    "CP_GBK": "GB18030", "EUC-CN": "GB18030",
}  # fmt: skip
_LDID_ENCODINGS = {0x4D: "GB18030", 0x7A: "GB18030", 0x57: None}  # 0x57: "ANSI", undecided


def vector_table(
    gdf: gpd.GeoDataFrame, kind: str, shown: str, encoding: str | None = None
) -> SourceTable:
    """A GeoDataFrame read by GDAL as a :class:`SourceTable` (features count from 1)."""
    geoms = np.asarray(gdf.geometry.values, dtype=object) if gdf.geometry is not None else None
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    crs = pyproj.CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
    return SourceTable(shown, kind, frame, geoms, crs, 1, encoding)


def pyogrio_read(path: str | Path, shown: str, what: str, **kwargs: Any) -> gpd.GeoDataFrame:
    """``pyogrio.read_dataframe``, any GDAL error refused as a sentence naming the file."""
    import pyogrio

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return pyogrio.read_dataframe(path, **kwargs)
    except Exception as exc:  # GDAL's errors are many and untyped; all mean "unreadable"
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise file_error(
            shown, f"无法读取为 {what}(文件损坏或不是该格式)", f"cannot read it as {what}: {reason}"
        ) from exc


# --- GeoJSON -------------------------------------------------------------------------------------


def _depth(doc: Any) -> int:
    """How deeply objects and arrays nest in a parsed JSON document (without recursion; a
    list that starts with a number — coordinates — is not looked into)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            values: Any = item.values()
        elif item and not isinstance(item[0], int | float):
            values = item
        else:
            continue
        stack.extend((v, depth + 1) for v in values if isinstance(v, dict | list))
    return deepest


def _too_deep(shown: str) -> ImportRejected:
    return file_error(
        shown,
        f"GeoJSON 嵌套过深(超过 {GEOJSON_MAX_DEPTH} 层),不是正常的地理数据",
        f"the GeoJSON nests deeper than {GEOJSON_MAX_DEPTH} levels: not geographic data",
    )


def read_geojson(path: Path, shown: str) -> SourceTable:
    """Read a GeoJSON file (checked first: see the module's docstring)."""
    raw = path.read_bytes()
    if sniff_binary(raw[:4096]):
        raise file_error(
            shown,
            "文件内容是二进制数据,不是 GeoJSON 文本",
            "the file holds binary data, not GeoJSON text",
        )
    text = strict_decode(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw, "utf-8", shown)
    if text.lstrip().startswith("<"):
        raise file_error(
            shown,
            "文件内容是 HTML/XML(可能是下载时得到的网页),不是 GeoJSON",
            "the file holds HTML/XML (perhaps a web page saved by mistake), not GeoJSON",
        )
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise file_error(
            shown,
            f"JSON 语法错误(第 {exc.lineno} 行第 {exc.colno} 列:{exc.msg}),文件可能不完整",
            f"JSON syntax error at line {exc.lineno} column {exc.colno} ({exc.msg}); "
            "the file may be truncated",
        ) from exc
    except RecursionError as exc:
        raise _too_deep(shown) from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise file_error(
            shown, f"JSON 中有无法读取的值({exc})", f"the JSON holds a value it cannot read: {exc}"
        ) from exc
    if _depth(doc) > GEOJSON_MAX_DEPTH:
        raise _too_deep(shown)
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise file_error(
            shown,
            f"不是 GeoJSON 要素集合(type 为 {found!r})",
            f"not a GeoJSON FeatureCollection (its type is {found!r})",
        )
    if doc["type"] == "FeatureCollection" and not doc.get("features"):
        raise file_error(shown, "文件中没有要素", "the file has no features")
    problem = geojson_reference(doc)
    if problem is not None:
        raise ImportRejected(shown, [problem])
    features = doc["features"] if doc["type"] == "FeatureCollection" else [doc]
    if isinstance(features, list):
        issues = _property_nuls(features)
        if issues:
            raise ImportRejected(shown, issues, pair("个要素"))
    gdf = pyogrio_read(path, shown, "GeoJSON")
    return vector_table(gdf, "geojson", shown, "UTF-8")


def _property_nuls(features: list[Any]) -> list[Issue]:
    """A problem for each property (name or text value) of a feature holding a NUL."""
    issues = []
    for number, feature in enumerate(features, start=1):
        values = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(values, dict) or not (has_nul(values.values()) or has_nul(values)):
            continue
        for key, value in values.items():
            if "\x00" in str(key) or (isinstance(value, str) and "\x00" in value):
                issues.append(nul_issue(number, str(key).replace("\x00", "\\0")))
    return issues


# --- GeoPackage ----------------------------------------------------------------------------------


def gpkg_layers(path: Path, shown: str) -> list[tuple[str, Any]]:
    """The layers of a GeoPackage (name, geometry type; QGIS's own tables left out)."""
    import pyogrio

    with path.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise file_error(
                shown, "不是有效的 GeoPackage 文件", "not a GeoPackage (not an SQLite file)"
            )
    try:
        listed = [(str(n), g) for n, g in pyogrio.list_layers(path)]
    except Exception as exc:
        raise file_error(shown, "GeoPackage 已损坏", f"damaged GeoPackage: {exc}") from exc
    listed = [(n, g) for n, g in listed if n.lower() not in QGIS_TABLES]
    if not listed:
        raise file_error(shown, "GeoPackage 中没有图层", "the GeoPackage has no layer")
    return listed


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def gpkg_nul_issues(path: Path, layer: str) -> list[Issue]:
    """A problem for each text cell of a GeoPackage layer holding a NUL byte (GDAL would cut
    the value there); rows count features from 1 in the layer's order. The file is opened
    read-only; a file SQLite cannot read gives no problem here (GDAL then says what is wrong).
    """
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    issues: list[Issue] = []
    try:
        columns = [
            str(row[1])
            for row in conn.execute(f"PRAGMA table_info({_quoted(layer)})")
            if "CHAR" in str(row[2]).upper() or "TEXT" in str(row[2]).upper()
        ]
        for column in columns:
            query = (
                f"SELECT (SELECT count(*) FROM {_quoted(layer)} AS b WHERE b.rowid <= a.rowid) "
                f"FROM {_quoted(layer)} AS a WHERE instr(CAST({_quoted(column)} AS BLOB), "
                "x'00') > 0 LIMIT 100"
            )
            issues += [nul_issue(int(number), column) for (number,) in conn.execute(query)]
    except sqlite3.Error:
        return issues
    finally:
        conn.close()
    return sorted(issues, key=lambda i: (i.row or 0, i.field or ""))


def read_gpkg_layer(path: Path, shown: str, layer: str, geometry_type: Any) -> SourceTable:
    """Read one layer of a GeoPackage (an attribute table when ``geometry_type`` is None)."""
    issues = gpkg_nul_issues(path, layer)
    if issues:
        raise ImportRejected(shown, issues, pair("个要素"))
    read = pyogrio_read(path, shown, "GeoPackage", layer=layer)
    if geometry_type is None:  # an attribute table (e.g. Party members)
        frame = pd.DataFrame(read).reset_index(drop=True)
        return SourceTable(shown, "gpkg", frame, None, None, 1, "UTF-8")
    return vector_table(read, "gpkg", shown)


# --- Shapefile -----------------------------------------------------------------------------------


def sidecar(shp: Path, suffix: str) -> Path:
    """A shapefile's part with ``suffix`` (``.dbf``, ``.prj`` …), in whatever case it is named."""
    for p in shp.parent.iterdir():
        if p.stem == shp.stem and p.suffix.lower() == suffix:
            return p
    return shp.with_suffix(suffix)


def shapefile_encoding(shp: Path, shown: str) -> str:
    """The encoding of a shapefile's attributes: its .cpg, else the .dbf language byte, else
    UTF-8 or GB18030 as the records decode (:func:`~gridmap.io.encodings.dbf_encoding`)."""
    cpg = shp.with_suffix(".cpg")
    if not cpg.exists():
        cpg = next(
            (p for p in shp.parent.iterdir() if p.name.lower() == shp.stem.lower() + ".cpg"), cpg
        )
    if cpg.exists():
        declared = cpg.read_bytes().decode("ascii", errors="replace").strip().upper()
        encoding = CPG_ENCODINGS.get(declared)
        if encoding is None:
            try:
                encoding = codecs.lookup(declared).name
            except LookupError as exc:
                raise file_error(
                    shown,
                    f".cpg 声明了未知的编码 {declared!r}",
                    f"the .cpg declares an unknown encoding {declared!r}",
                ) from exc
        return encoding
    data = sidecar(shp, ".dbf").read_bytes()
    if len(data) > 32 and _LDID_ENCODINGS.get(data[29]):
        return str(_LDID_ENCODINGS[data[29]])
    return dbf_encoding(data, shown)


def read_shp(shp: Path, shown: str) -> SourceTable:
    """Read a shapefile on disk, with its sidecars beside it (checked first: see the module's
    docstring)."""
    for suffix in (".dbf", ".shx"):
        if not sidecar(shp, suffix).exists():
            raise file_error(
                shown,
                f"Shapefile 缺少 {suffix} 文件(请把同名的 .shp .shx .dbf .prj .cpg 一起压缩)",
                f"the shapefile lacks its {suffix} file (zip .shp, .shx, .dbf, .prj and .cpg "
                "together)",
            )
    prj = sidecar(shp, ".prj")
    if prj.exists():
        problem = prj_reference(prj.read_bytes()[:65536].decode("utf-8", errors="replace"))
        if problem is not None:
            raise ImportRejected(shown, [problem])
    encoding = shapefile_encoding(shp, shown)
    issues = dbf_nul_issues(sidecar(shp, ".dbf").read_bytes(), encoding)
    if issues:
        raise ImportRejected(shown, issues, pair("个要素"))
    gdf = pyogrio_read(shp, shown, "Shapefile", encoding=encoding)
    return vector_table(gdf, "shapefile", shown, encoding)


# --- KML and KMZ ---------------------------------------------------------------------------------


def _check_kml_text(raw: bytes, shown: str) -> None:
    head = raw[:4096]
    if sniff_binary(head) or (b"<kml" not in head.lower() and b"<?xml" not in head.lower()):
        raise file_error(shown, "不是 KML 文件(没有 <kml> 标记)", "not a KML file (no <kml>)")
    if b"\x00" in raw:
        row = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ImportRejected(
            shown,
            [
                Issue(
                    "KML 中含有 NUL 字符(\\0),不是有效的 XML;请删除该字符后另存",
                    "the KML holds a NUL character (\\0), which XML does not allow; remove it "
                    "and save again",
                    row=row,
                )
            ],
        )
    problem = kml_reference(raw.decode("utf-8", errors="replace"))
    if problem is not None:
        raise ImportRejected(shown, [problem])


def _kmz_main(path: Path, shown: str, folder: Path) -> Path:
    """Unpack a KMZ's main ``.kml`` (``doc.kml``, else the first ``.kml``) into ``folder``."""
    with checked_archive(path, shown, "kmz") as (archive, members):
        kmls = [m for m in members if m.filename.lower().endswith(".kml")]
        if not kmls:
            raise file_error(shown, "KMZ 中没有 .kml 文件", "the KMZ holds no .kml file")
        main = next((m for m in kmls if m.filename.lower() == "doc.kml"), kmls[0])
        target = folder / "doc.kml"
        target.write_bytes(read_member(archive, main, shown, "kmz"))
    return target


def read_kml(path: Path, shown: str) -> SourceTable:
    """Read a KML or KMZ file: every layer's placemarks in one table (checked first: see the
    module's docstring)."""
    import zipfile

    kmz = ".kmz" in (path.suffix.lower(), Path(shown).suffix.lower())
    with tempfile.TemporaryDirectory(prefix="gridmap-kmz-") as folder:
        if kmz and zipfile.is_zipfile(path):
            path = _kmz_main(path, shown, Path(folder))
        _check_kml_text(path.read_bytes(), shown)
        return _read_kml_layers(path, shown)


def _read_kml_layers(path: Path, shown: str) -> SourceTable:
    import pyogrio

    driver = "LIBKML" if "LIBKML" in pyogrio.list_drivers() else "KML"
    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise file_error(shown, "无法读取 KML", f"cannot read the KML: {exc}") from exc
    frames = []
    for layer in layers:
        gdf = pyogrio_read(path, shown, "KML", layer=layer)
        if len(gdf):
            frames.append(gdf)
    if not frames:
        raise file_error(shown, "KML 中没有地标", "the KML holds no placemarks")
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
    keep = [c for c in gdf.columns if c == gdf.geometry.name or gdf[c].notna().any()]
    log.debug("KML read with the %s driver", driver)
    return vector_table(gdf[keep], "kml", shown, "UTF-8")
