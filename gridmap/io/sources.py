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

The formats themselves are read by :mod:`~gridmap.io.vectors` (GeoJSON, GeoPackage,
Shapefile, KML/KMZ through GDAL) and :mod:`~gridmap.io.tables` (CSV, XLSX), guarded by
:mod:`~gridmap.io.offline` (GDAL and PROJ kept off the network — switched off when this module
is imported, before any file is read — and files naming something outside themselves refused),
:mod:`~gridmap.io.containers` (every zip, KMZ and XLSX checked, the size limit applied to the
unpacked bytes) and :mod:`~gridmap.io.encodings` (encodings detected or refused, NUL bytes
refused). :func:`read_spreadsheet` gives other readers (members lists, hotline exports) a CSV
or XLSX as text with the same checks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gridmap import settings
from gridmap.i18n import pair
from gridmap.io.containers import checked_archive, read_member
from gridmap.io.layers import ImportRejected, SourceTable, file_error
from gridmap.io.offline import disable_network
from gridmap.io.tables import read_csv, read_xlsx
from gridmap.io.vectors import (
    QGIS_TABLES as QGIS_TABLES,  # re-exported: a GeoPackage's tables that are never layers
)
from gridmap.io.vectors import (
    gpkg_layers,
    read_geojson,
    read_gpkg_layer,
    read_kml,
    read_shp,
)

log = logging.getLogger(__name__)

disable_network()  # before any file is read, for the whole process


#: File kinds by suffix.
SUFFIXES: dict[str, str] = {
    ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shapefile",
    ".shp": "shapefile", ".kml": "kml", ".kmz": "kml", ".csv": "csv", ".txt": "csv",
    ".xlsx": "xlsx",
}  # fmt: skip


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
               pair('请按社区拆分后分批导入'))  # fmt: skip
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
        "geojson": read_geojson,
        "gpkg": _read_gpkg,
        "shapefile": _read_shapefile,
        "kml": read_kml,
        "csv": read_csv,
        "xlsx": read_xlsx,
    }[kind]
    return reader(path, shown)


# --- files of several layers ------------------------------------------------------------------


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
        with checked_archive(path, shown) as (_, members):
            layers = [
                m.filename for m in members if Path(m.filename).suffix.lower() in _LAYER_SUFFIXES
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


def _gpkg_entries(path: Path, shown: str) -> list[_Entry]:
    listed = gpkg_layers(path, shown)
    if len(listed) == 1:
        return [_Entry(listed[0][0], shown, lambda: read_gpkg_layer(path, shown, *listed[0]))]
    return [
        _Entry(n, f"{shown}:{n}", lambda n=n, g=g: read_gpkg_layer(path, f"{shown}:{n}", n, g))
        for n, g in listed
    ]


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
        if _links_out(p, folder):
            raise file_error(
                where,
                "这是指向文件夹以外的链接(符号链接),gridmap 不读取其输入以外的文件;请复制真正的"
                "文件进来",
                "it is a (symbolic) link out of the folder, and gridmap reads no file outside "
                "its input; copy the real file in",
            )
        if suffix == ".gpkg":
            listed = gpkg_layers(p, where)
            if len(listed) == 1:
                n, g = listed[0]
                entries.append(
                    _Entry(
                        p.stem, where, lambda p=p, w=where, n=n, g=g: read_gpkg_layer(p, w, n, g)
                    )
                )
            else:
                entries += [
                    _Entry(n, f"{where}:{n}",
                           lambda p=p, w=f"{where}:{n}", n=n, g=g: read_gpkg_layer(p, w, n, g))
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


def _links_out(path: Path, folder: Path) -> bool:
    """True when ``path``, or a folder between it and ``folder``, is a symbolic link."""
    here = path
    while here != folder and here != here.parent:
        if here.is_symlink():
            return True
        here = here.parent
    return False


def _zip_entries(path: Path, shown: str, tmp: Path) -> list[_Entry]:
    """Unpack a zip's importable files into ``tmp`` (by their own names and folders inside
    the zip, never outside ``tmp``) and list its layers."""
    with checked_archive(path, shown) as (archive, members):
        wanted = [m for m in members if Path(m.filename).suffix.lower() in _LAYER_SUFFIXES]
        if not wanted:
            names = ", ".join(m.filename for m in members[:8]) or "(空 / empty)"
            raise file_error(
                shown,
                f"压缩包中没有 .shp 文件(内容:{names})",
                f"no .shp file in the zip (it holds: {names})",
            )
        stems = {_zip_stem(m.filename) for m in wanted}
        for member in members:
            parts = [p for p in re.split(r"[/\\]", member.filename) if p not in ("", ".", "..")]
            if not parts or _zip_stem(member.filename) not in stems:
                continue  # only the layers and their sidecars (.dbf .shx .prj .cpg)
            parts[-1] = Path(parts[-1]).stem + Path(parts[-1]).suffix.lower()
            target = tmp.joinpath(*[_UNSAFE_NAME.sub("_", p) for p in parts])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_member(archive, member, shown))
    return _folder_entries(tmp, shown)


def _zip_stem(filename: str) -> str:
    """A zip member's path without its suffix, so a layer's sidecar files go with it."""
    return filename.rsplit(".", 1)[0] if "." in filename.rsplit("/", 1)[-1] else filename


def _read_gpkg(path: Path, shown: str) -> SourceTable:
    listed = gpkg_layers(path, shown)
    if len(listed) > 1:
        raise _several_layers(shown, "gpkg", [n for n, _ in listed])
    return read_gpkg_layer(path, shown, *listed[0])


def _read_shapefile(path: Path, shown: str) -> SourceTable:
    """A ``.shp`` with its sidecars, or a zip holding one shapefile (unpacked flat into a
    private temporary folder after the container check)."""
    if path.suffix.lower() == ".shp":
        return read_shp(path, shown)
    with (
        checked_archive(path, shown) as (archive, members),
        tempfile.TemporaryDirectory(prefix="gridmap-import-") as tmp,
    ):
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
        for member in members:  # flat, by base name only: no path from the zip is trusted
            if Path(member.filename).stem == stem:
                target = Path(tmp) / (stem + Path(member.filename).suffix.lower())
                target.write_bytes(read_member(archive, member, shown))
        return read_shp(Path(tmp) / f"{stem}.shp", shown)


# --- tables for other readers ---------------------------------------------------------------------


def _as_text(value: Any) -> str | None:
    """A cell as the text a user sees: None when blank; whole numbers without ``.0``."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, dt.datetime):
        value = value.isoformat(sep=" ")
    elif isinstance(value, dt.date | dt.time):
        value = value.isoformat()
    text = str(value).strip()
    return text or None


def read_spreadsheet(source: str | Path | bytes, filename: str | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX file as a table of text, with every check an import makes.

    For readers with columns of their own (a members list, a 12345 hotline export): the same
    encodings, limits, container, reference, NUL and formula checks as :func:`read_source`.

    Parameters
    ----------
    source : path or bytes
        The file, or its bytes (then ``filename`` says CSV or XLSX by its extension).
    filename : str, optional
        The name shown in messages; default the file's name (``table.csv`` for bytes).

    Returns
    -------
    pandas.DataFrame
        The header's names as columns, every cell as stripped text or None (numbers as
        written: ``13800000000``, not ``1.38e10``), indexed by the spreadsheet row number (the
        header is row 1).

    Raises
    ------
    ImportRejected
        Naming the file (and row and field): unreadable, empty, only whitespace or
        delimiters, an encoding neither UTF-8 nor GBK, a formula or NUL character in a cell.
    """
    if isinstance(source, bytes):
        shown = upload_name(filename or "table.csv")
        suffix = _check_upload(shown, source)
        if suffix not in (".csv", ".txt", ".xlsx"):
            suffix = ".csv"
        with tempfile.TemporaryDirectory(prefix="gridmap-upload-") as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(source)
            table = _read_single(SUFFIXES[suffix], path, shown)
    else:
        path = Path(source)
        shown = filename or path.name
        kind = _file_kind(path, shown)
        if kind not in ("csv", "xlsx"):
            raise file_error(
                shown, "请提供 CSV 或 XLSX 表格", "give a spreadsheet: a CSV or XLSX file"
            )
        table = _read_single(kind, path, shown)
    if table.issues:
        raise ImportRejected(shown, table.issues)
    frame = table.frame.map(_as_text).astype(object)
    frame.index = [int(i) + table.row_base for i in frame.index]
    return frame
