"""Reading files for import: any supported format as a :class:`SourceTable`.

GeoJSON, GeoPackage, zipped Shapefile (honouring ``.cpg``; GBK attributes), KML (GDAL's LIBKML
driver through pyogrio), CSV and XLSX are read as a table of text plus geometry and the CRS the
file declares, without judging the content yet; damaged, empty, oversized or mislabelled files
are refused with an :class:`~gridmap.io.layers.ImportRejected` naming the file.

A file may hold several layers — a GeoPackage exported from QGIS, a ``.zip`` or a folder of
shapefiles (each with its ``.cpg``/GBK handling) or of other files — :func:`source_layers`
names them, :func:`read_layers` reads some or all of them (:func:`read_upload_layers` for an
upload), and :func:`read_source` reads the one chosen with ``layer=``; without it a file of
several layers is refused with the list of their names. QGIS's own tables (``layer_styles``,
``qgis_projects``) are never layers.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from gridmap import settings
from gridmap.io.layers import ImportRejected, Issue, file_error
from gridmap.io.spreadsheets import unneutralise_formula

log = logging.getLogger(__name__)


#: File kinds by suffix.
SUFFIXES: dict[str, str] = {
    ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shapefile",
    ".shp": "shapefile", ".kml": "kml", ".kmz": "kml", ".csv": "csv", ".txt": "csv",
    ".xlsx": "xlsx",
}  # fmt: skip

_CPG_ENCODINGS = {
    "UTF-8": "UTF-8", "UTF8": "UTF-8", "65001": "UTF-8", "GBK": "GB18030", "CP936": "GB18030",
    "936": "GB18030", "ANSI 936": "GB18030", "GB2312": "GB18030", "GB18030": "GB18030",
    "CP_GBK": "GB18030", "EUC-CN": "GB18030",
}  # fmt: skip
_LDID_ENCODINGS = {0x4D: "GB18030", 0x7A: "GB18030", 0x57: None}  # 0x57: "ANSI", undecided


@dataclass
class SourceTable:
    """A file read for import: its columns as text, its geometry and the CRS it declares.

    Attributes
    ----------
    name : str
        The file name shown in messages.
    kind : str
        ``geojson``, ``gpkg``, ``shapefile``, ``kml``, ``csv`` or ``xlsx``.
    frame : pandas.DataFrame
        The attribute columns, as read (text for spreadsheets).
    geometry : numpy.ndarray or None
        Shapely geometries of vector files; None for spreadsheets (built from mapped columns).
    crs : pyproj.CRS or None
        The CRS the file declares (GeoJSON: WGS 84); None when it declares none.
    row_base : int
        Add to a 0-based record index to get the number users see: 2 for spreadsheets (the
        header is row 1), 1 for features.
    encoding : str or None
        The text encoding used (spreadsheets and shapefiles).
    issues : list of Issue
        Problems found while reading cells (formula cells), reported with the rest.
    layer : str or None
        The layer's name inside a file of several layers (a GeoPackage layer, a shapefile's
        base name in a zip or folder); None for a file of one layer.
    """

    name: str
    kind: str
    frame: pd.DataFrame
    geometry: np.ndarray | None
    crs: pyproj.CRS | None
    row_base: int
    encoding: str | None = None
    issues: list[Issue] = field(default_factory=list)
    layer: str | None = None

    @property
    def unit(self) -> tuple[str, str]:
        return ("行", "row") if self.geometry is None else ("个要素", "feature")

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


def upload_name(name: str) -> str:
    """The base name of an uploaded file as its sender gave it, safe to show and log.

    Browsers send a bare name, but nothing stops a client from sending ``../../x.csv``,
    ``C:\\x\\y.csv`` or control characters: directories (either separator) are dropped,
    control and reserved characters replaced, the length capped. The name is never used as a
    path (:func:`read_upload`).
    """
    base = re.split(r"[/\\]", str(name or ""))[-1].strip().lstrip(".") or "upload"
    return _UNSAFE_NAME.sub("_", base)[-120:]


def _check_upload(shown: str, data: bytes) -> str:
    """The suffix an upload is stored under (``""`` when unknown), after the size check."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        limit = settings.IMPORT_MAX_BYTES / 2**20
        raise file_error(
            shown,
            f"文件过大({len(data) / 2**20:.1f} MB,上限 {limit:.0f} MB);请按社区拆分后分批导入",
            f"file too large ({len(data) / 2**20:.1f} MB, the limit is {limit:.0f} MB); "
            "split it, e.g. by community",
        )
    suffix = Path(shown).suffix.lower()
    return suffix if suffix in SUFFIXES else ""


def read_upload(name: str, data: bytes, layer: str | None = None) -> SourceTable:
    """Read an uploaded file for import (the app's upload widget, an HTTP client).

    The size is checked before anything touches the disk; the bytes go to a private
    temporary folder under a fixed name (``upload`` + the recognised suffix), which is removed
    afterwards, so a crafted file name can neither write nor read outside it.

    Parameters
    ----------
    name : str
        The file's name as the sender gave it (:func:`upload_name` makes it safe).
    data : bytes
    layer : str, optional
        The layer to read from a file of several (:func:`read_source`).

    Raises
    ------
    ImportRejected
        As :func:`read_source`; oversized uploads are refused without being written.
    """
    shown = upload_name(name)
    suffix = _check_upload(shown, data)
    with tempfile.TemporaryDirectory(prefix="gridmap-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return read_source(path, shown, layer=layer)


def read_upload_layers(
    name: str, data: bytes, only: Iterable[str] | None = None
) -> dict[str, SourceTable]:
    """Read every layer (or the ``only`` ones) of an uploaded file, as :func:`read_layers`.

    The bytes are stored as :func:`read_upload` stores them, and removed afterwards.
    """
    shown = upload_name(name)
    suffix = _check_upload(shown, data)
    with tempfile.TemporaryDirectory(prefix="gridmap-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return read_layers(path, shown, only=only)


def _file_kind(path: Path, shown: str) -> str:
    """The kind of a file (:data:`SUFFIXES`) after checking that it exists, is not empty and
    not too large; a refusal names the file."""
    kind = SUFFIXES.get(Path(shown).suffix.lower()) or SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise file_error(
            shown,
            f"不支持的文件类型 {Path(shown).suffix or '(无扩展名)'};支持 GeoJSON、GeoPackage、"
            "Shapefile(zip 压缩包)、KML、CSV、XLSX",
            f"unsupported file type {Path(shown).suffix or '(no extension)'!r}; use GeoJSON, "
            "GeoPackage, zipped Shapefile, KML, CSV or XLSX (save .xls files as .xlsx)",
        )
    check_file(path, shown, settings.IMPORT_MAX_BYTES,
               ("请按社区拆分后分批导入", "split it, e.g. by community"))  # fmt: skip
    return kind


def check_file(path: Path, shown: str, max_bytes: int, advice: tuple[str, str]) -> None:
    """Refuse, naming the file, a path that is no file, is empty, or is larger than
    ``max_bytes`` (with ``advice`` (中文, English) on what to do instead)."""
    if not path.is_file():
        raise file_error(shown, "文件不存在", "file not found")
    size = path.stat().st_size
    if size == 0:
        raise file_error(shown, "文件是空的(0 字节)", "the file is empty (0 bytes)")
    if size > max_bytes:
        limit = max_bytes / 2**20
        raise file_error(
            shown,
            f"文件过大({size / 2**20:.1f} MB,上限 {limit:.0f} MB);{advice[0]}",
            f"file too large ({size / 2**20:.1f} MB, the limit is {limit:.0f} MB); {advice[1]}",
        )


def read_source(path: str | Path, name: str | None = None, layer: str | None = None) -> SourceTable:
    """Read a file for import, whatever its format, without judging its content yet.

    Parameters
    ----------
    path : str or Path
        A file, or a folder of shapefiles and other files (then ``layer`` is needed unless it
        holds one).
    name : str, optional
        The name shown in messages (an uploaded file's own name); default the file name.
    layer : str, optional
        The layer to read from a file of several (:func:`source_layers` names them); without
        it such a file is refused with the list of its layers.

    Raises
    ------
    ImportRejected
        When the file is empty, too large, damaged, of an unknown kind or not what its name
        says, holds several layers and none was chosen, or not the one chosen — with a
        sentence naming the file.
    """
    path = Path(path)
    shown = name or path.name
    if path.is_dir():
        return _one_layer(path, shown, layer)
    kind = _file_kind(path, shown)
    if kind == "gpkg" or (kind == "shapefile" and path.suffix.lower() != ".shp"):
        return _one_layer(path, shown, layer)
    source = _read_single(kind, path, shown)
    if layer is not None and not _same_name(layer, Path(shown).stem):
        raise _no_such_layer(shown, layer, [Path(shown).stem])
    return source


def _read_single(kind: str, path: Path, shown: str) -> SourceTable:
    reader = {
        "geojson": _read_geojson,
        "gpkg": _read_gpkg,
        "shapefile": _read_shapefile,
        "kml": _read_kml,
        "csv": _read_csv,
        "xlsx": _read_xlsx,
    }[kind]
    return reader(path, shown)


# --- files of several layers ------------------------------------------------------------------

#: Tables QGIS keeps in a GeoPackage besides the layers: never data to import.
QGIS_TABLES = frozenset({"layer_styles", "qgis_projects"})


@dataclass
class _Entry:
    """One layer of a file: its name, how messages name it, and how to read it."""

    name: str
    shown: str
    load: Callable[[], SourceTable]


def _same_name(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _no_such_layer(shown: str, layer: str, names: list[str]) -> ImportRejected:
    listed = ", ".join(names) or "(无 / none)"
    return file_error(
        shown,
        f"文件中没有图层 {layer!r};其中的图层:{listed}",
        f"the file has no layer {layer!r}; its layers: {listed}",
    )


def _several_layers(shown: str, kind: str, names: list[str]) -> ImportRejected:
    listed = ", ".join(names)
    if kind == "gpkg":
        zh = f"GeoPackage 含多个图层({listed})"
        en = f"the GeoPackage holds several layers ({listed})"
    elif kind == "shapefile":
        zh = f"压缩包中有多个 Shapefile({listed})"
        en = f"the zip holds several shapefiles ({listed})"
    else:
        zh, en = f"文件夹中有多个图层({listed})", f"the folder holds several layers ({listed})"
    return file_error(
        shown,
        f"{zh},请用 --layer 名称 选择一个,或用 gridmap import street 一次导入整个街道",
        f"{en}: choose one with --layer NAME, or import them all with `gridmap import street`",
    )


def _one_layer(path: Path, shown: str, layer: str | None) -> SourceTable:
    """The one layer of a GeoPackage, zip or folder: the chosen one, or the only one."""
    with _opened(path, shown) as entries:
        if layer is None:
            if len(entries) == 1:
                return entries[0].load()
            kind = "folder" if path.is_dir() else _file_kind(path, shown)
            names = [
                e.shown.removeprefix(f"{shown}/") if kind != "gpkg" else e.name for e in entries
            ]
            raise _several_layers(shown, kind, names)
        chosen = [e for e in entries if _same_name(e.name, layer) or _same_name(e.shown, layer)]
        if not chosen:
            raise _no_such_layer(shown, layer, [e.name for e in entries])
        return chosen[0].load()


def source_layers(path: str | Path, name: str | None = None) -> list[str]:
    """The names of the layers a file holds, in the file's order.

    A GeoPackage's layers (QGIS's own tables left out), the base names of the shapefiles and
    other importable files in a ``.zip`` or a folder, or the file's own base name for a file
    of one layer. Nothing is read but the listing.

    Raises
    ------
    ImportRejected
        When the file cannot be opened (as :func:`read_source`).
    """
    path = Path(path)
    shown = name or path.name
    with _opened(path, shown) as entries:
        return [e.name for e in entries]


def read_layers(
    path: str | Path, name: str | None = None, only: Iterable[str] | None = None
) -> dict[str, SourceTable]:
    """Read the layers of a file: every one, or the ``only`` ones (by name, any case).

    Parameters
    ----------
    path : str or Path
        A GeoPackage, a ``.zip`` or folder of shapefiles (and other files), or a file of one
        layer.
    name : str, optional
        The name shown in messages; default the file name.
    only : iterable of str, optional
        The layers to read (:func:`source_layers` names them); others are not read at all.

    Returns
    -------
    dict
        Layer name → :class:`SourceTable`, in the file's order. Each table's
        :attr:`~SourceTable.name` says where it came from (``街道.gpkg:楼栋``,
        ``街道.zip/楼栋.shp``) and its :attr:`~SourceTable.layer` the layer's name.

    Raises
    ------
    ImportRejected
        When the file, or one of the layers read, cannot be read; or a name in ``only`` is
        not a layer of the file.
    """
    path = Path(path)
    shown = name or path.name
    wanted = None if only is None else [str(n) for n in only]
    with _opened(path, shown) as entries:
        if wanted is not None:
            for n in wanted:
                if not any(_same_name(e.name, n) for e in entries):
                    raise _no_such_layer(shown, n, [e.name for e in entries])
        out: dict[str, SourceTable] = {}
        for entry in entries:
            if wanted is not None and not any(_same_name(entry.name, n) for n in wanted):
                continue
            source = entry.load()
            source.layer = entry.name
            out[entry.name] = source
        return out


@contextlib.contextmanager
def _opened(path: Path, shown: str) -> Iterator[list[_Entry]]:
    """The layers of a file, readable while the context is open (a zip is unpacked into a
    private temporary folder for that time)."""
    if path.is_dir():
        yield _folder_entries(path, shown)
        return
    kind = _file_kind(path, shown)
    if kind == "gpkg":
        yield _gpkg_entries(path, shown)
    elif kind == "shapefile" and path.suffix.lower() != ".shp":
        with _open_zip(path, shown) as archive:
            layers = [
                m.filename
                for m in archive.infolist()
                if not m.is_dir()
                and not m.filename.startswith("__MACOSX")
                and Path(m.filename).suffix.lower() in _LAYER_SUFFIXES
            ]
        if len(layers) <= 1 and all(n.lower().endswith(".shp") for n in layers):
            # one shapefile (or none: its own message): read as it always was
            stem = Path(layers[0]).stem if layers else Path(shown).stem
            yield [_Entry(stem, shown, lambda: _read_shapefile(path, shown))]
            return
        with tempfile.TemporaryDirectory(prefix="gridmap-import-") as tmp:
            yield _zip_entries(path, shown, Path(tmp))
    else:
        stem = Path(shown).stem
        yield [_Entry(stem, shown, lambda: _read_single(kind, path, shown))]


def _gpkg_layers(path: Path, shown: str) -> list[tuple[str, Any]]:
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


def _gpkg_entries(path: Path, shown: str) -> list[_Entry]:
    listed = _gpkg_layers(path, shown)
    if len(listed) == 1:
        return [_Entry(listed[0][0], shown, lambda: _read_gpkg_layer(path, shown, *listed[0]))]
    return [
        _Entry(n, f"{shown}:{n}", lambda n=n, g=g: _read_gpkg_layer(path, f"{shown}:{n}", n, g))
        for n, g in listed
    ]


def _read_gpkg_layer(path: Path, shown: str, layer: str, geometry_type: Any) -> SourceTable:
    read = _pyogrio_read(path, shown, "GeoPackage", layer=layer)
    if geometry_type is None:  # an attribute table (e.g. Party members)
        frame = pd.DataFrame(read).reset_index(drop=True)
        return SourceTable(shown, "gpkg", frame, None, None, 1, "UTF-8")
    return _vector_table(read, "gpkg", shown)


#: Suffixes read as layers inside a zip or a folder (a shapefile's other parts are not layers).
_LAYER_SUFFIXES = frozenset(SUFFIXES) - {".zip", ".txt"} | {".shp"}


def _folder_entries(folder: Path, shown: str) -> list[_Entry]:
    """The layers of a folder: each shapefile, each other importable file (a GeoPackage's
    layers), nested folders included; hidden files and macOS's ``__MACOSX`` left out."""
    entries: list[_Entry] = []
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part.startswith((".", "__MACOSX")) for part in p.relative_to(folder).parts)
    )
    for p in files:
        suffix = p.suffix.lower()
        if suffix not in _LAYER_SUFFIXES:
            continue
        where = f"{shown}/{p.relative_to(folder).as_posix()}"
        if suffix == ".gpkg":
            listed = _gpkg_layers(p, where)
            if len(listed) == 1:
                n, g = listed[0]
                entries.append(
                    _Entry(
                        p.stem, where, lambda p=p, w=where, n=n, g=g: _read_gpkg_layer(p, w, n, g)
                    )
                )
            else:
                entries += [
                    _Entry(n, f"{where}:{n}",
                           lambda p=p, w=f"{where}:{n}", n=n, g=g: _read_gpkg_layer(p, w, n, g))
                    for n, g in listed
                ]  # fmt: skip
            continue
        kind = SUFFIXES.get(suffix, "shapefile")
        entries.append(_Entry(p.stem, where, lambda p=p, w=where, k=kind: _read_single(k, p, w)))
    if not entries:
        raise file_error(
            shown,
            "其中没有可导入的文件(Shapefile、GeoPackage、GeoJSON、KML、CSV、XLSX)",
            "it holds no file to import (Shapefile, GeoPackage, GeoJSON, KML, CSV, XLSX)",
        )
    seen: dict[str, str] = {}
    for e in entries:
        key = e.name.casefold()
        if key in seen:
            raise file_error(
                shown,
                f"有两个同名图层 {e.name!r}({seen[key]} 与 {e.shown}),请改名其中一个",
                f"two layers are both called {e.name!r} ({seen[key]} and {e.shown}); rename one",
            )
        seen[key] = e.shown
    return entries


def _zip_entries(path: Path, shown: str, tmp: Path) -> list[_Entry]:
    """Unpack a zip's importable files into ``tmp`` (by their own names and folders inside
    the zip, never outside ``tmp``) and list its layers."""
    archive = _open_zip(path, shown)
    with archive:
        members = _zip_members(archive, shown)
        wanted = [m for m in members if Path(m.filename).suffix.lower() in _LAYER_SUFFIXES]
        if not wanted:
            names = ", ".join(m.filename for m in members[:8]) or "(空 / empty)"
            raise file_error(
                shown,
                f"压缩包中没有 .shp 文件(内容:{names})",
                f"no .shp file in the zip (it holds: {names})",
            )
        stems = {_zip_stem(m.filename) for m in wanted}
        try:
            for member in members:
                parts = [p for p in re.split(r"[/\\]", member.filename) if p not in ("", ".", "..")]
                if not parts or _zip_stem(member.filename) not in stems:
                    continue  # only the layers and their sidecars (.dbf .shx .prj .cpg)
                parts[-1] = Path(parts[-1]).stem + Path(parts[-1]).suffix.lower()
                target = tmp.joinpath(*[_UNSAFE_NAME.sub("_", p) for p in parts])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
        except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as exc:
            raise file_error(
                shown,
                "zip 压缩包已损坏或不完整(下载中断?)",
                f"the zip file is damaged or truncated: {exc}",
            ) from exc
    return _folder_entries(tmp, shown)


def _zip_stem(filename: str) -> str:
    """A zip member's path without its suffix, so a layer's sidecar files go with it."""
    return filename.rsplit(".", 1)[0] if "." in filename.rsplit("/", 1)[-1] else filename


def _zip_members(archive: zipfile.ZipFile, shown: str) -> list[zipfile.ZipInfo]:
    """The files of a zip (no folders, no macOS resource forks), refused when they would
    unpack to more than :data:`gridmap.settings.IMPORT_MAX_BYTES`."""
    members = [
        m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")
    ]
    total = sum(m.file_size for m in members)
    if total > settings.IMPORT_MAX_BYTES:
        raise file_error(
            shown,
            f"解压后过大({total / 2**20:.1f} MB)",
            f"too large once unzipped ({total / 2**20:.1f} MB)",
        )
    return members


def _open_zip(path: Path, shown: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise file_error(
            shown,
            "zip 压缩包已损坏或不完整(下载中断?)",
            "the zip file is damaged or truncated (an interrupted download?)",
        ) from exc


def _sniff_binary(head: bytes) -> bool:
    """True for bytes that are not text: NUL bytes, or a line neither UTF-8 nor GB18030."""
    if b"\x00" in head:
        return True
    lines = head.splitlines()
    if len(head) >= 4096 and lines:
        lines = lines[:-1]  # the sample may cut the last line inside a character
    for line in lines:
        for encoding in ("utf-8", "gb18030"):
            try:
                line.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            return True
    return False


def _vector_table(gdf: gpd.GeoDataFrame, kind: str, shown: str, encoding: str | None = None):
    geoms = np.asarray(gdf.geometry.values, dtype=object) if gdf.geometry is not None else None
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    crs = pyproj.CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
    return SourceTable(shown, kind, frame, geoms, crs, 1, encoding)


def _pyogrio_read(path: str | Path, shown: str, what: str, **kwargs: Any) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return pyogrio.read_dataframe(path, **kwargs)
    except Exception as exc:  # GDAL's errors are many and untyped; all mean "unreadable"
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise file_error(
            shown, f"无法读取为 {what}(文件损坏或不是该格式)", f"cannot read it as {what}: {reason}"
        ) from exc


def _read_geojson(path: Path, shown: str) -> SourceTable:
    raw = path.read_bytes()
    if _sniff_binary(raw[:4096]):
        raise file_error(
            shown,
            "文件内容是二进制数据,不是 GeoJSON 文本",
            "the file holds binary data, not GeoJSON text",
        )
    text = raw.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("<"):
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
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise file_error(
            shown,
            f"不是 GeoJSON 要素集合(type 为 {found!r})",
            f"not a GeoJSON FeatureCollection (its type is {found!r})",
        )
    if doc["type"] == "FeatureCollection" and not doc.get("features"):
        raise file_error(shown, "文件中没有要素", "the file has no features")
    gdf = _pyogrio_read(path, shown, "GeoJSON")
    return _vector_table(gdf, "geojson", shown, "UTF-8")


def _read_gpkg(path: Path, shown: str) -> SourceTable:
    listed = _gpkg_layers(path, shown)
    if len(listed) > 1:
        raise _several_layers(shown, "gpkg", [n for n, _ in listed])
    return _read_gpkg_layer(path, shown, *listed[0])


def _shapefile_encoding(shp: Path, shown: str) -> str:
    """The encoding of a shapefile's attributes: its .cpg, else the .dbf language byte, else
    whichever of UTF-8 and GB18030 decodes the records."""
    cpg = shp.with_suffix(".cpg")
    if not cpg.exists():
        cpg = next(
            (p for p in shp.parent.iterdir() if p.name.lower() == shp.stem.lower() + ".cpg"), cpg
        )
    if cpg.exists():
        declared = cpg.read_bytes().decode("ascii", errors="replace").strip().upper()
        encoding = _CPG_ENCODINGS.get(declared)
        if encoding is None:
            try:
                encoding = __import__("codecs").lookup(declared).name
            except LookupError as exc:
                raise file_error(
                    shown,
                    f".cpg 声明了未知的编码 {declared!r}",
                    f"the .cpg declares an unknown encoding {declared!r}",
                ) from exc
        return encoding
    dbf = _sidecar(shp, ".dbf")
    data = dbf.read_bytes()
    if len(data) > 32 and _LDID_ENCODINGS.get(data[29]):
        return str(_LDID_ENCODINGS[data[29]])
    header = int.from_bytes(data[8:10], "little") if len(data) > 10 else 0
    records = data[header:]
    try:
        records.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


def _sidecar(shp: Path, suffix: str) -> Path:
    for p in shp.parent.iterdir():
        if p.stem == shp.stem and p.suffix.lower() == suffix:
            return p
    return shp.with_suffix(suffix)


def _read_shapefile(path: Path, shown: str) -> SourceTable:
    if path.suffix.lower() == ".shp":
        return _read_shp(path, shown)
    archive = _open_zip(path, shown)
    with archive, tempfile.TemporaryDirectory(prefix="gridmap-import-") as tmp:
        members = _zip_members(archive, shown)
        shps = [m for m in members if m.filename.lower().endswith(".shp")]
        if not shps:
            names = ", ".join(m.filename for m in members[:8]) or "(空 / empty)"
            raise file_error(
                shown,
                f"压缩包中没有 .shp 文件(内容:{names})",
                f"no .shp file in the zip (it holds: {names})",
            )
        if len(shps) > 1:
            raise _several_layers(shown, "shapefile", [m.filename for m in shps])
        stem = Path(shps[0].filename).stem
        wanted = [m for m in members if Path(m.filename).stem == stem]
        try:
            for member in wanted:  # flat, by base name only: no path from the zip is trusted
                target = Path(tmp) / (stem + Path(member.filename).suffix.lower())
                target.write_bytes(archive.read(member))
        except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as exc:
            raise file_error(
                shown,
                "zip 压缩包已损坏或不完整(下载中断?)",
                f"the zip file is damaged or truncated: {exc}",
            ) from exc
        return _read_shp(Path(tmp) / f"{stem}.shp", shown)


def _read_shp(shp: Path, shown: str) -> SourceTable:
    for suffix in (".dbf", ".shx"):
        if not _sidecar(shp, suffix).exists():
            raise file_error(
                shown,
                f"Shapefile 缺少 {suffix} 文件(请把同名的 .shp .shx .dbf .prj .cpg 一起压缩)",
                f"the shapefile lacks its {suffix} file (zip .shp, .shx, .dbf, .prj and .cpg "
                "together)",
            )
    encoding = _shapefile_encoding(shp, shown)
    gdf = _pyogrio_read(shp, shown, "Shapefile", encoding=encoding)
    return _vector_table(gdf, "shapefile", shown, encoding)


def _read_kml(path: Path, shown: str) -> SourceTable:
    import pyogrio

    if path.suffix.lower() == ".kml" or Path(shown).suffix.lower() == ".kml":
        head = path.read_bytes()[:4096]
        if _sniff_binary(head) or (b"<kml" not in head.lower() and b"<?xml" not in head.lower()):
            raise file_error(shown, "不是 KML 文件(没有 <kml> 标记)", "not a KML file (no <kml>)")
    driver = "LIBKML" if "LIBKML" in pyogrio.list_drivers() else "KML"
    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise file_error(shown, "无法读取 KML", f"cannot read the KML: {exc}") from exc
    frames = []
    for layer in layers:
        gdf = _pyogrio_read(path, shown, "KML", layer=layer)
        if len(gdf):
            frames.append(gdf)
    if not frames:
        raise file_error(shown, "KML 中没有地标", "the KML holds no placemarks")
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
    keep = [c for c in gdf.columns if c == gdf.geometry.name or gdf[c].notna().any()]
    log.debug("KML read with the %s driver", driver)
    return _vector_table(gdf[keep], "kml", shown, "UTF-8")


def _decode_text(raw: bytes, shown: str) -> tuple[str, str]:
    """Text of a CSV: BOM-marked UTF-8/16, else UTF-8, else GB18030; a file mixing UTF-8 and GBK
    lines is refused, naming the first row of each."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return _strict(raw[3:], "utf-8", shown), "UTF-8 (BOM)"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(raw, "utf-16", shown), "UTF-16"
    if _sniff_binary(raw[:4096]):
        raise file_error(
            shown, "文件内容是二进制数据,不是 CSV 文本", "the file holds binary data, not CSV text"
        )
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    utf8_row = other_row = None
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_row = utf8_row or number
        except UnicodeDecodeError:
            other_row = other_row or number
    if utf8_row is not None and other_row is not None:
        raise ImportRejected(
            shown,
            [
                Issue(
                    f"文件混用了两种编码:第 {utf8_row} 行是 UTF-8,第 {other_row} 行不是"
                    "(多半是 GBK);请用同一种编码另存",
                    f"the file mixes encodings: row {utf8_row} is UTF-8 but row {other_row} is "
                    "not (GBK?); save it again in one encoding",
                    row=other_row,
                )
            ],
        )
    return _strict(raw, "gb18030", shown), "GB18030"


def _strict(raw: bytes, encoding: str, shown: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise ImportRejected(
            shown,
            [Issue(f"无法按 {encoding} 解码", f"cannot be decoded as {encoding}", row=row)],
        ) from exc


def _read_csv(path: Path, shown: str) -> SourceTable:
    text, encoding = _decode_text(path.read_bytes(), shown)
    if not text.strip():
        raise file_error(shown, "文件没有内容", "the file has no content")
    if text.lstrip().lower().startswith(("<!doctype", "<html", "<?xml")):
        raise file_error(
            shown,
            "文件内容是 HTML/XML(可能是下载时得到的网页),不是 CSV",
            "the file holds HTML/XML (perhaps a web page saved by mistake), not CSV",
        )
    sample = text[:4096]
    try:
        delimiter = csv.Sniffer().sniff(sample.splitlines()[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    header, body = rows[0], rows[1:]
    _check_header(header, shown)
    issues = []
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            issues.append(
                Issue(
                    f"有 {len(row)} 列,表头有 {len(header)} 列",
                    f"has {len(row)} columns, the header has {len(header)}",
                    row=number,
                )
            )
    if issues:
        raise ImportRejected(shown, issues)
    frame = pd.DataFrame(body, columns=[h.strip() for h in header], dtype=object)
    frame = frame.map(lambda v: unneutralise_formula(v.strip()) if isinstance(v, str) else v)
    return SourceTable(shown, "csv", frame, None, None, 2, encoding)


def _check_header(header: list[Any], shown: str) -> None:
    names = [str(h).strip() if h is not None else "" for h in header]
    if not any(names):
        raise file_error(shown, "第 1 行(表头)是空的", "row 1 (the header) is empty")
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        raise file_error(
            shown, f"表头第 {blank[0]} 列没有列名", f"header column {blank[0]} has no name"
        )
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise file_error(shown, f"表头中列名 {n!r} 重复", f"column {n!r} appears twice")
        seen.add(n)


def _read_xlsx(path: Path, shown: str) -> SourceTable:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(path):
        raise file_error(
            shown,
            "不是有效的 XLSX 文件(已损坏,或是改了扩展名的 .xls/CSV)",
            "not a valid XLSX workbook (damaged, or an .xls/CSV renamed)",
        )
    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:
        raise file_error(
            shown, "XLSX 文件已损坏,无法打开", f"the XLSX workbook is damaged: {exc}"
        ) from exc
    try:
        sheet = book.worksheets[0]
        rows = list(sheet.iter_rows())
    finally:
        book.close()
    rows = [r for r in rows if any(c.value not in (None, "") for c in r)]
    if not rows:
        raise file_error(shown, "工作表是空的", "the worksheet is empty")
    header = [c.value for c in rows[0]]
    while header and header[-1] in (None, ""):
        header.pop()
    _check_header(header, shown)
    names = [str(h).strip() for h in header]
    issues: list[Issue] = []
    records = []
    for row in rows[1:]:
        values = []
        for col, cell in enumerate(row[: len(names)]):
            value = cell.value
            if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
                issues.append(
                    Issue(
                        f"单元格是公式({str(value)[:40]}),只接受数值或文字",
                        f"the cell is a formula ({str(value)[:40]}); only values are accepted",
                        row=cell.row,
                        field=names[col],
                    )
                )
            values.append(unneutralise_formula(value))
        values += [None] * (len(names) - len(values))
        records.append(values)
    frame = pd.DataFrame(records, columns=names, dtype=object)
    source = SourceTable(shown, "xlsx", frame, None, None, 2, "XLSX")
    source.row_base = 2
    source.issues = issues
    # rows were filtered for blank lines: keep the worksheet's own row numbers for messages
    source.frame.index = [r[0].row - 2 for r in rows[1:]]
    return source
