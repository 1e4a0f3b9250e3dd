"""Files in and out: import layers from the files users hold, export them, back a street up.

Import reads GeoJSON, GeoPackage, zipped Shapefile (honouring ``.cpg``; GBK attributes), KML
(GDAL's LIBKML driver through pyogrio), CSV and XLSX with lon/lat or WKT columns. It runs in
three steps, each usable alone (the page shows the first two to the user):

1. :func:`read_source` — the file as a table of text plus geometry and the CRS it declares;
2. :func:`prepare_import` — columns mapped to fields, coordinates brought to WGS 84 (projected
   CRSs, GCJ-02/BD-09, swapped axes only when asked), every row validated against the file and
   the database (one query per layer), giving an :class:`ImportPlan` of what would be added,
   changed and left alone — the dry run — or an :class:`ImportRejected` listing every problem;
3. :func:`apply_import` — the plan written in one transaction: all rows or none.

Problems name the file, the row (spreadsheets count as Excel does: the header is row 1, the
first record row 2) or feature (1-based) and the field, in Chinese and English.

Export writes each layer, or the whole street, to GeoJSON, GeoPackage, zipped Shapefile (with a
``.cpg``), XLSX and CSV (UTF-8 with BOM), using the field names import reads back, so an export
re-imports unchanged. Spreadsheet cells are neutralised against formula injection: text that
starts with ``= + - @`` or a tab/CR gets a leading apostrophe (and import strips it again).
:func:`backup` / :func:`restore` put every table of the database, ids included, into one
GeoPackage and back.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import logging
import math
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Boolean, Connection, Date, DateTime, Engine, Integer, bindparam, select

from gridmap import auth, settings
from gridmap.auth import mask_name
from gridmap.crs import (
    OFFSET_SYSTEMS,
    detect_projected_crs,
    geometries_to_wgs84,
    latlon_swapped,
    metric_crs,
    parse_crs,
    swap_xy,
)
from gridmap.db import head_revision, transaction
from gridmap.errors import InputError
from gridmap.models import (
    GEOMETRY_TABLES,
    MemberCategory,
    OrganisationKind,
    PartyCoverage,
    PlanStatus,
    RequestSource,
    RequestStatus,
    StationLevel,
    street_tables,
    table_order,
)
from gridmap.repository import insert_frame, read_query, read_table, table

log = logging.getLogger(__name__)

# --- spreadsheets: formula injection ----------------------------------------------------------

#: Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, made inert with a leading apostrophe.

    Numbers and other values pass through. :func:`unneutralise_formula` undoes it on import.

    Examples
    --------
    >>> neutralise_formula('=HYPERLINK("http://x","点我")')
    '\\'=HYPERLINK("http://x","点我")'
    >>> neutralise_formula(-3), neutralise_formula("3栋")
    (-3, '3栋')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unneutralise_formula(value: Any) -> Any:
    """Undo :func:`neutralise_formula`: ``'=…`` read from a spreadsheet becomes ``=…``."""
    if isinstance(value, str) and value[:1] == "'" and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def _neutralise_frame(table_: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(table_).copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_formula)
    out.columns = [neutralise_formula(str(c)) for c in out.columns]
    return out


def table_to_csv(table: pd.DataFrame) -> bytes:
    """A table as CSV bytes, UTF-8 with BOM, without the index; formulas neutralised."""
    return _neutralise_frame(table).to_csv(index=False).encode("utf-8-sig")


def table_to_xlsx(table: pd.DataFrame, sheet_name: str = "Sheet1") -> bytes:
    """A table as the bytes of an XLSX workbook with one sheet (openpyxl); formulas
    neutralised, so every text cell is stored as text."""
    return tables_to_xlsx({sheet_name: table})


def tables_to_xlsx(tables: Mapping[str, pd.DataFrame]) -> bytes:
    """Several tables as the sheets of one XLSX workbook (sheet names cut to 31 characters)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet_name, frame in tables.items():
            _neutralise_frame(frame).to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()


# --- what can be imported ---------------------------------------------------------------------

#: Words users write for enum values, besides the values themselves.
ENUM_WORDS: dict[str, dict[str, str]] = {
    "level": {"街道": "street", "街道党群服务中心": "street", "社区": "community",
              "社区党群服务站": "community", "小区": "compound", "小区党群服务点": "compound"},
    "category": {"在册": "resident", "在册居民党员": "resident", "居民党员": "resident",
                 "在职": "in_service", "在职党员": "in_service", "双报到": "in_service",
                 "离退休": "retired", "离退休党员": "retired", "流动": "floating",
                 "流动党员": "floating", "失联": "lost_contact", "失联党员": "lost_contact",
                 "离退休干部": "retired_cadre", "下岗失业": "unemployed",
                 "下岗失业党员": "unemployed"},
    "source": {"查": "inspection", "巡查": "inspection", "访": "visit", "走访": "visit",
               "报": "report", "上报": "report", "12345": "hotline", "热线": "hotline"},
    "status": {"已受理": "received", "受理": "received", "已派单": "assigned",
               "已上报": "escalated", "已办结": "resolved", "办结": "resolved",
               "已评价": "evaluated", "不予受理": "rejected"},
    "kind": {"企业": "enterprise", "非公企业": "enterprise", "非公有制企业": "enterprise",
             "社会组织": "social"},
    "coverage": {"单独建立党支部": "own_branch", "单独组建": "own_branch", "单建": "own_branch",
                 "联合党支部": "joint_branch", "联合组建": "joint_branch", "联建": "joint_branch",
                 "党建指导员": "liaison", "仅选派党建指导员": "liaison",
                 "选派党建指导员": "liaison", "无": "none", "未覆盖": "none", "未建立": "none"},
}  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One importable field of a layer.

    ``kind`` is ``str``, ``int``, ``enum``, ``date``, ``datetime``, ``ref`` (a code looked up in
    another layer) or ``coord`` (lon/lat/wkt columns of a spreadsheet).
    """

    name: str
    zh: str
    kind: str = "str"
    required: bool = False
    aliases: tuple[str, ...] = ()
    max_len: int | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def label(self) -> str:
        return f"{self.zh}({self.name})"


@dataclass(frozen=True)
class LayerSpec:
    """What an import layer is: its table, geometry kind and fields; ``key`` identifies a row
    (duplicates in the file or against the database are found by it)."""

    name: str
    table: str
    zh: str
    en: str
    geometry: str | None  # "polygon", "point" or None
    fields: tuple[Field, ...]
    key: str

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


_COORD_FIELDS = (
    Field("lon", "经度", "coord", aliases=("经度", "lng", "long", "longitude", "x", "lon_gcj")),
    Field("lat", "纬度", "coord", aliases=("纬度", "latitude", "y")),
    Field("wkt", "几何(WKT)", "coord", aliases=("geometry", "geom", "几何", "shape", "坐标串")),
)


def _f(name: str, zh: str, kind: str = "str", **kw: Any) -> Field:
    return Field(name, zh, kind, **kw)


LAYERS: dict[str, LayerSpec] = {
    "communities": LayerSpec(
        "communities", "community", "社区", "communities", "polygon",
        (_f("code", "社区编码", required=True, aliases=("编码", "社区代码", "代码"), max_len=32),
         _f("name", "社区名称", required=True, aliases=("名称", "社区", "Name"), max_len=100),
         _f("street_code", "街道编码", "ref", aliases=("街道代码", "street_cod"))),
        "code"),
    "grids": LayerSpec(
        "grids", "grid", "网格", "grids", "polygon",
        (_f("code", "网格编码", required=True, aliases=("编码", "网格代码", "代码"), max_len=32),
         _f("name", "网格名称", required=True, aliases=("名称", "网格", "Name"), max_len=100),
         _f("community_code", "社区编码", "ref", aliases=("所属社区编码", "comm_code",
                                                       "community_", "社区代码"))),
        "code"),
    "buildings": LayerSpec(
        "buildings", "building", "楼栋", "buildings", "polygon",
        (_f("code", "楼栋编码", required=True, aliases=("编码", "楼栋代码", "代码"), max_len=40),
         _f("name", "楼栋名称", required=True, aliases=("名称", "楼栋", "楼号", "Name"),
            max_len=100),
         _f("community_code", "社区编码", "ref", required=True,
            aliases=("所属社区编码", "comm_code", "community_", "社区代码")),
         _f("households", "户数", "int", aliases=("户数(户)",), minimum=0),
         _f("residents", "人口", "int", aliases=("人数", "人口(人)", "居民数"), minimum=0)),
        "code"),
    "stations": LayerSpec(
        "stations", "service_station", "党群服务站(点)", "service stations", "point",
        (_f("name", "站点名称", required=True, aliases=("名称", "站点", "Name"), max_len=100),
         _f("level", "站点级别", "enum", required=True, aliases=("级别", "层级"),
            choices=tuple(StationLevel)),
         _f("community_code", "社区编码", "ref", aliases=("所属社区编码", "comm_code",
                                                       "community_", "社区代码")),
         _f("opening_hours", "开放时间", aliases=("开放时间段", "open_hours"), max_len=100)),
        "name"),
    "members": LayerSpec(
        "members", "member", "党员", "Party members", None,
        (_f("name", "姓名", required=True, aliases=("党员姓名", "名字"), max_len=50),
         _f("phone", "电话", aliases=("手机", "手机号", "联系电话"), max_len=20),
         _f("id_suffix", "身份证后四位", aliases=("身份证后4位", "证件尾号"), max_len=6),
         _f("category", "党员类别", "enum", required=True, aliases=("类别", "党员类型"),
            choices=tuple(MemberCategory)),
         _f("building_code", "楼栋编码", "ref", aliases=("所在楼栋编码", "bldg_code",
                                                      "building_c")),
         _f("party_org", "所在党组织", "ref", aliases=("党组织", "党支部", "party_org")),
         _f("joined_on", "入党日期", "date", aliases=("入党时间",)),
         _f("registered_on", "报到日期", "date", aliases=("双报到日期", "registered")),
         _f("work_unit", "工作单位", aliases=("单位",), max_len=100),
         _f("status", "状态", aliases=("党员状态",), max_len=20)),
        "name"),  # with the phone: see _member_key
    "requests": LayerSpec(
        "requests", "request", "诉求", "requests", "point",
        (_f("code", "诉求编号", required=True, aliases=("编号", "工单号", "诉求编码"), max_len=32),
         _f("source", "来源", "enum", required=True, aliases=("诉求来源",),
            choices=tuple(RequestSource)),
         _f("category", "类别", required=True, aliases=("诉求类别", "事项类别"), max_len=40),
         _f("description", "诉求内容", aliases=("内容", "描述", "descriptio")),
         _f("status", "状态", "enum", required=True, aliases=("办理状态",),
            choices=tuple(RequestStatus)),
         _f("received_at", "受理时间", "datetime", required=True, aliases=("受理日期",
                                                                           "received_a")),
         _f("due_at", "办理时限", "datetime", aliases=("截止时间",)),
         _f("resolved_at", "办结时间", "datetime", aliases=("resolved_a",)),
         _f("reporter", "反映人", aliases=("诉求人", "报告人"), max_len=50),
         _f("grid_code", "网格编码", "ref", aliases=("所属网格编码",)),
         _f("building_code", "楼栋编码", "ref", aliases=("bldg_code", "building_c")),
         _f("rating", "评价", "int", aliases=("满意度", "评分"), minimum=1, maximum=5),
         _f("rating_note", "评价说明", aliases=("评价意见", "rating_not"))),
        "code"),
    "organisations": LayerSpec(
        "organisations", "organisation", "两新组织", "organisations", None,
        (_f("code", "组织编码", required=True, aliases=("统一社会信用代码", "信用代码", "编码"),
            max_len=40),
         _f("name", "组织名称", required=True, aliases=("名称", "企业名称", "单位名称"),
            max_len=100),
         _f("community_code", "社区编码", "ref", required=True,
            aliases=("所属社区编码", "comm_code", "community_", "社区代码")),
         _f("building_code", "楼栋编码", "ref", aliases=("所在楼栋编码", "bldg_code",
                                                      "building_c")),
         _f("kind", "组织类型", "enum", required=True, aliases=("类型",),
            choices=tuple(OrganisationKind)),
         _f("industry", "行业", required=True, aliases=("所属行业", "行业类别"), max_len=40),
         _f("employees", "从业人员", "int", aliases=("职工人数", "员工人数", "从业人数"),
            minimum=0),
         _f("members", "党员人数", "int", aliases=("党员数", "党员"), minimum=0),
         _f("coverage", "党组织覆盖", "enum", aliases=("覆盖方式", "党组织覆盖方式"),
            choices=tuple(PartyCoverage)),
         _f("party_org", "所在党组织", "ref", aliases=("党组织", "党支部", "party_org"))),
        "code"),
}  # fmt: skip

#: Layer names users type (CLI), Chinese included.
LAYER_ALIASES: dict[str, str] = {
    **{k: k for k in LAYERS},
    "community": "communities", "社区": "communities", "grid": "grids", "网格": "grids",
    "building": "buildings", "楼栋": "buildings", "station": "stations",
    "service_station": "stations", "党群服务站": "stations", "member": "members",
    "党员": "members", "request": "requests", "诉求": "requests",
    "organisation": "organisations", "两新组织": "organisations",
}  # fmt: skip


def layer_spec(name: str) -> LayerSpec:
    """The import layer for a name users type (``buildings``, ``building``, ``楼栋`` …)."""
    key = LAYER_ALIASES.get(str(name).strip().lower(), LAYER_ALIASES.get(str(name).strip()))
    if key is None:
        raise InputError(
            f"未知的图层 / unknown layer {name!r}; 可选 / choose one of: {', '.join(LAYERS)}"
        )
    return LAYERS[key]


# --- problems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem with an input file: where (row or feature, field) and what, in two languages.

    ``row`` is as users count it (see :attr:`SourceTable.row_base`); None for the whole file.
    """

    zh: str
    en: str
    row: int | None = None
    field: str | None = None

    def text(self, unit: tuple[str, str] = ("行", "row")) -> str:
        where = []
        if self.row is not None:
            where.append(f"第 {self.row} {unit[0]} / {unit[1]} {self.row}")
        if self.field is not None:
            where.append(f"字段 / field {self.field}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.zh} / {self.en}" if prefix else f"{self.zh} / {self.en}"


class ImportRejected(InputError):
    """An import that was refused because of problems in the file; nothing was written.

    Attributes
    ----------
    file : str
    issues : list of Issue
    """

    def __init__(self, file: str, issues: list[Issue], unit: tuple[str, str] = ("行", "row")):
        self.file = file
        self.issues = list(issues)
        self.unit = unit
        shown = self.issues[: settings.IMPORT_MAX_ISSUES_SHOWN]
        lines = [
            f"{file}: 导入被拒绝,数据库未作任何修改 / import rejected, nothing was written "
            f"({len(self.issues)} 个问题 / problem{'s' if len(self.issues) != 1 else ''})"
        ]
        lines += [f"  - {issue.text(unit)}" for issue in shown]
        if len(self.issues) > len(shown):
            rest = len(self.issues) - len(shown)
            lines.append(f"  … 另有 {rest} 个问题 / and {rest} more")
        super().__init__("\n".join(lines))


def _file_error(file: str, zh: str, en: str) -> ImportRejected:
    return ImportRejected(file, [Issue(zh, en)])


# --- reading files ----------------------------------------------------------------------------

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
    """

    name: str
    kind: str
    frame: pd.DataFrame
    geometry: np.ndarray | None
    crs: pyproj.CRS | None
    row_base: int
    encoding: str | None = None
    issues: list[Issue] = field(default_factory=list)

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


def read_upload(name: str, data: bytes) -> SourceTable:
    """Read an uploaded file for import (the app's upload widget, an HTTP client).

    The size is checked before anything touches the disk; the bytes go to a private
    temporary folder under a fixed name (``upload`` + the recognised suffix), which is removed
    afterwards, so a crafted file name can neither write nor read outside it.

    Raises
    ------
    ImportRejected
        As :func:`read_source`; oversized uploads are refused without being written.
    """
    shown = upload_name(name)
    if len(data) > settings.IMPORT_MAX_BYTES:
        limit = settings.IMPORT_MAX_BYTES / 2**20
        raise _file_error(
            shown,
            f"文件过大({len(data) / 2**20:.1f} MB,上限 {limit:.0f} MB);请按社区拆分后分批导入",
            f"file too large ({len(data) / 2**20:.1f} MB, the limit is {limit:.0f} MB); "
            "split it, e.g. by community",
        )
    suffix = Path(shown).suffix.lower()
    suffix = suffix if suffix in SUFFIXES else ""
    with tempfile.TemporaryDirectory(prefix="gridmap-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return read_source(path, shown)


def read_source(path: str | Path, name: str | None = None) -> SourceTable:
    """Read a file for import, whatever its format, without judging its content yet.

    Parameters
    ----------
    path : str or Path
    name : str, optional
        The name shown in messages (an uploaded file's own name); default the file name.

    Raises
    ------
    ImportRejected
        When the file is empty, too large, damaged, of an unknown kind or not what its name
        says, with a sentence naming the file.
    """
    path = Path(path)
    shown = name or path.name
    kind = SUFFIXES.get(Path(shown).suffix.lower()) or SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise _file_error(
            shown,
            f"不支持的文件类型 {Path(shown).suffix or '(无扩展名)'};支持 GeoJSON、GeoPackage、"
            "Shapefile(zip 压缩包)、KML、CSV、XLSX",
            f"unsupported file type {Path(shown).suffix or '(no extension)'!r}; use GeoJSON, "
            "GeoPackage, zipped Shapefile, KML, CSV or XLSX (save .xls files as .xlsx)",
        )
    if not path.is_file():
        raise _file_error(shown, "文件不存在", "file not found")
    size = path.stat().st_size
    if size == 0:
        raise _file_error(shown, "文件是空的(0 字节)", "the file is empty (0 bytes)")
    if size > settings.IMPORT_MAX_BYTES:
        limit = settings.IMPORT_MAX_BYTES / 2**20
        raise _file_error(
            shown,
            f"文件过大({size / 2**20:.1f} MB,上限 {limit:.0f} MB);请按社区拆分后分批导入",
            f"file too large ({size / 2**20:.1f} MB, the limit is {limit:.0f} MB); "
            "split it, e.g. by community",
        )
    reader = {
        "geojson": _read_geojson,
        "gpkg": _read_gpkg,
        "shapefile": _read_shapefile,
        "kml": _read_kml,
        "csv": _read_csv,
        "xlsx": _read_xlsx,
    }[kind]
    return reader(path, shown)


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
        raise _file_error(
            shown, f"无法读取为 {what}(文件损坏或不是该格式)", f"cannot read it as {what}: {reason}"
        ) from exc


def _read_geojson(path: Path, shown: str) -> SourceTable:
    raw = path.read_bytes()
    if _sniff_binary(raw[:4096]):
        raise _file_error(
            shown,
            "文件内容是二进制数据,不是 GeoJSON 文本",
            "the file holds binary data, not GeoJSON text",
        )
    text = raw.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("<"):
        raise _file_error(
            shown,
            "文件内容是 HTML/XML(可能是下载时得到的网页),不是 GeoJSON",
            "the file holds HTML/XML (perhaps a web page saved by mistake), not GeoJSON",
        )
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _file_error(
            shown,
            f"JSON 语法错误(第 {exc.lineno} 行第 {exc.colno} 列:{exc.msg}),文件可能不完整",
            f"JSON syntax error at line {exc.lineno} column {exc.colno} ({exc.msg}); "
            "the file may be truncated",
        ) from exc
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise _file_error(
            shown,
            f"不是 GeoJSON 要素集合(type 为 {found!r})",
            f"not a GeoJSON FeatureCollection (its type is {found!r})",
        )
    if doc["type"] == "FeatureCollection" and not doc.get("features"):
        raise _file_error(shown, "文件中没有要素", "the file has no features")
    gdf = _pyogrio_read(path, shown, "GeoJSON")
    return _vector_table(gdf, "geojson", shown, "UTF-8")


def _read_gpkg(path: Path, shown: str) -> SourceTable:
    import pyogrio

    with path.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise _file_error(
                shown, "不是有效的 GeoPackage 文件", "not a GeoPackage (not an SQLite file)"
            )
    try:
        listed = [(str(n), g) for n, g in pyogrio.list_layers(path)]
    except Exception as exc:
        raise _file_error(shown, "GeoPackage 已损坏", f"damaged GeoPackage: {exc}") from exc
    layers = [n for n, _ in listed]
    if not layers:
        raise _file_error(shown, "GeoPackage 中没有图层", "the GeoPackage has no layer")
    if len(layers) > 1:
        raise _file_error(
            shown,
            f"GeoPackage 含多个图层({', '.join(layers)}),请每次导入一个",
            f"the GeoPackage holds several layers ({', '.join(layers)}); export one per file",
        )
    read = _pyogrio_read(path, shown, "GeoPackage", layer=layers[0])
    if listed[0][1] is None:  # an attribute table (e.g. Party members)
        frame = pd.DataFrame(read).reset_index(drop=True)
        return SourceTable(shown, "gpkg", frame, None, None, 1, "UTF-8")
    return _vector_table(read, "gpkg", shown)


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
                raise _file_error(
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
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _file_error(
            shown,
            "zip 压缩包已损坏或不完整(下载中断?)",
            "the zip file is damaged or truncated (an interrupted download?)",
        ) from exc
    with archive, tempfile.TemporaryDirectory(prefix="gridmap-import-") as tmp:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir() and not m.filename.startswith("__MACOSX")
        ]
        total = sum(m.file_size for m in members)
        if total > settings.IMPORT_MAX_BYTES:
            raise _file_error(
                shown,
                f"解压后过大({total / 2**20:.1f} MB)",
                f"too large once unzipped ({total / 2**20:.1f} MB)",
            )
        shps = [m for m in members if m.filename.lower().endswith(".shp")]
        if not shps:
            names = ", ".join(m.filename for m in members[:8]) or "(空 / empty)"
            raise _file_error(
                shown,
                f"压缩包中没有 .shp 文件(内容:{names})",
                f"no .shp file in the zip (it holds: {names})",
            )
        if len(shps) > 1:
            names = ", ".join(m.filename for m in shps)
            raise _file_error(
                shown,
                f"压缩包中有多个 Shapefile({names}),请每次导入一个",
                f"the zip holds several shapefiles ({names}); zip one per file",
            )
        stem = Path(shps[0].filename).stem
        wanted = [m for m in members if Path(m.filename).stem == stem]
        try:
            for member in wanted:  # flat, by base name only: no path from the zip is trusted
                target = Path(tmp) / (stem + Path(member.filename).suffix.lower())
                target.write_bytes(archive.read(member))
        except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as exc:
            raise _file_error(
                shown,
                "zip 压缩包已损坏或不完整(下载中断?)",
                f"the zip file is damaged or truncated: {exc}",
            ) from exc
        return _read_shp(Path(tmp) / f"{stem}.shp", shown)


def _read_shp(shp: Path, shown: str) -> SourceTable:
    for suffix in (".dbf", ".shx"):
        if not _sidecar(shp, suffix).exists():
            raise _file_error(
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
            raise _file_error(shown, "不是 KML 文件(没有 <kml> 标记)", "not a KML file (no <kml>)")
    driver = "LIBKML" if "LIBKML" in pyogrio.list_drivers() else "KML"
    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise _file_error(shown, "无法读取 KML", f"cannot read the KML: {exc}") from exc
    frames = []
    for layer in layers:
        gdf = _pyogrio_read(path, shown, "KML", layer=layer)
        if len(gdf):
            frames.append(gdf)
    if not frames:
        raise _file_error(shown, "KML 中没有地标", "the KML holds no placemarks")
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
        raise _file_error(
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
        raise _file_error(shown, "文件没有内容", "the file has no content")
    if text.lstrip().lower().startswith(("<!doctype", "<html", "<?xml")):
        raise _file_error(
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
        raise _file_error(shown, "第 1 行(表头)是空的", "row 1 (the header) is empty")
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        raise _file_error(
            shown, f"表头第 {blank[0]} 列没有列名", f"header column {blank[0]} has no name"
        )
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise _file_error(shown, f"表头中列名 {n!r} 重复", f"column {n!r} appears twice")
        seen.add(n)


def _read_xlsx(path: Path, shown: str) -> SourceTable:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(path):
        raise _file_error(
            shown,
            "不是有效的 XLSX 文件(已损坏,或是改了扩展名的 .xls/CSV)",
            "not a valid XLSX workbook (damaged, or an .xls/CSV renamed)",
        )
    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:
        raise _file_error(
            shown, "XLSX 文件已损坏,无法打开", f"the XLSX workbook is damaged: {exc}"
        ) from exc
    try:
        sheet = book.worksheets[0]
        rows = list(sheet.iter_rows())
    finally:
        book.close()
    rows = [r for r in rows if any(c.value not in (None, "") for c in r)]
    if not rows:
        raise _file_error(shown, "工作表是空的", "the worksheet is empty")
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


# --- column mapping ---------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-()()]", "", str(text)).lower()


def import_fields(layer: str | LayerSpec, spreadsheet: bool) -> tuple[Field, ...]:
    """The fields a layer's columns can map to (plus lon/lat/WKT for spreadsheets)."""
    spec = layer if isinstance(layer, LayerSpec) else layer_spec(layer)
    extra = _COORD_FIELDS if spreadsheet and spec.geometry else ()
    return spec.fields + extra


def suggest_mapping(source: SourceTable, layer: str | LayerSpec) -> dict[str, str]:
    """A column → field mapping guessed from the column names (English, Chinese, the short
    names Shapefiles keep, and the ``Name`` of KML). Users confirm or change it."""
    spec = layer if isinstance(layer, LayerSpec) else layer_spec(layer)
    fields = import_fields(spec, source.geometry is None)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for col in source.columns:
        key = _norm(col)
        for f in fields:
            if f.name in taken:
                continue
            names = {_norm(f.name), _norm(f.zh), *(_norm(a) for a in f.aliases)}
            if key in names:
                mapping[col] = f.name
                taken.add(f.name)
                break
    return mapping


# --- preparing an import: parse, place, validate ----------------------------------------------

DMS_PATTERN = re.compile(r"\d+(\.\d+)?\s*[°度]\s*(\d+(\.\d+)?\s*['′分]?)?")


@dataclass
class ImportPlan:
    """What an import would do — the dry run — and the rows to write.

    Attributes
    ----------
    layer : LayerSpec
    file : str
    added : pandas.DataFrame
        New rows, in table columns (a GeoDataFrame for spatial layers).
    changed : pandas.DataFrame
        Existing rows that would be updated (``id`` of the row in the database).
    unchanged : int
        Rows already in the database exactly as in the file, left alone.
    repaired : list of int
        Rows or features whose invalid geometry was repaired (make_valid), as users count them.
    swapped : bool
        Whether latitude and longitude were exchanged.
    source_crs : str
        The coordinate system the file was read in.
    warnings : list of str
    """

    layer: LayerSpec
    file: str
    added: pd.DataFrame
    changed: pd.DataFrame
    unchanged: int
    repaired: list[int] = field(default_factory=list)
    swapped: bool = False
    source_crs: str = "EPSG:4326"
    warnings: list[str] = field(default_factory=list)
    persons: pd.DataFrame | None = None  # members: person rows to add or update
    written: bool = False

    def summary(self) -> dict[str, int]:
        """Counts: ``added``, ``changed``, ``unchanged``, ``repaired``."""
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "repaired": len(self.repaired),
        }

    def describe(self) -> str:
        """One bilingual sentence for the CLI and the page."""
        s = self.summary()
        text = (
            f"{self.layer.zh}: 新增 {s['added']} 条,更新 {s['changed']} 条,"
            f"不变 {s['unchanged']} 条 / {self.layer.en}: {s['added']} to add, "
            f"{s['changed']} to change, {s['unchanged']} left alone"
        )
        if self.repaired:
            rows = ", ".join(map(str, self.repaired[:10]))
            text += f";修复无效几何 {len(self.repaired)} 处 / repaired geometry: {rows}"
        if self.swapped:
            text += ";已交换经纬度 / latitude and longitude swapped"
        return text


class _Collector:
    """Issues of one import, with the source's row numbering."""

    def __init__(self, source: SourceTable) -> None:
        self.source = source
        self.issues: list[Issue] = list(source.issues)

    def row(self, index: Any) -> int:
        return int(index) + self.source.row_base

    def add(self, index: Any, field_name: str | None, zh: str, en: str) -> None:
        row = None if index is None else self.row(index)
        self.issues.append(Issue(zh, en, row, field_name))

    def raise_if_any(self) -> None:
        if self.issues:
            ordered = sorted(self.issues, key=lambda i: (i.row is not None, i.row or 0))
            raise ImportRejected(self.source.name, ordered, self.source.unit)


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, str) and not value.strip()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if float(value).is_integer() else None
    text = str(value).strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        return int(float(text))
    return None


def _parse_datetime(value: Any, date_only: bool) -> Any:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
        return value.date() if date_only else value
    if isinstance(value, dt.date):
        return value if date_only else dt.datetime(value.year, value.month, value.day)
    text = str(value).strip()
    text = re.sub(r"(\d+)年(\d+)月(\d+)日?", r"\1-\2-\3", text).replace("/", "-")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    parsed = parsed.replace(tzinfo=None)
    return parsed.date() if date_only else parsed


def _parse_enum(value: Any, f: Field) -> str | None:
    text = str(value).strip()
    if text in f.choices:
        return text
    return ENUM_WORDS.get(f.name, {}).get(text) or (
        text.lower() if text.lower() in f.choices else None
    )


def _parse_fields(
    spec: LayerSpec, source: SourceTable, mapping: Mapping[str, str], out: _Collector
) -> pd.DataFrame:
    """The mapped columns parsed into typed values; problems go to ``out``."""
    by_field = {fname: col for col, fname in mapping.items()}
    frame = source.frame
    values = pd.DataFrame(index=frame.index)
    for f in spec.fields:
        col = by_field.get(f.name)
        if col is None:
            if f.required and not (f.name == "community_code" and spec.name == "grids"):
                out.add(
                    None,
                    f.name,
                    f"缺少必填字段 {f.label()};请在列对应中指定一列",
                    f"missing the required field {f.name} ({f.zh}); map a column to it",
                )
            values[f.name] = None
            continue
        parsed = []
        for index, raw in frame[col].items():
            if _blank(raw):
                if f.required:
                    out.add(index, col, f"{f.zh}不能为空", f"{f.name} must not be empty")
                parsed.append(None)
                continue
            parsed.append(_parse_value(f, raw, index, col, out))
        values[f.name] = pd.Series(parsed, index=frame.index, dtype=object)
    return values


def _parse_value(f: Field, raw: Any, index: Any, col: str, out: _Collector) -> Any:
    if f.kind == "int":
        number = _parse_int(raw)
        low, high = f.minimum, f.maximum
        if (
            number is None
            or (low is not None and number < low)
            or (high is not None and number > high)
        ):
            span = f"{low}–{high}" if high is not None else f"≥ {low}"
            out.add(
                index,
                col,
                f"{f.zh}应为整数({span}),而不是 {_text(raw)[:40]!r}",
                f"{f.name} must be a whole number ({span}), not {_text(raw)[:40]!r}",
            )
        return number
    if f.kind == "enum":
        value = _parse_enum(raw, f)
        if value is None:
            out.add(
                index,
                col,
                f"{f.zh}的取值 {_text(raw)[:40]!r} 无效,可选:{', '.join(f.choices)}",
                f"{f.name} {_text(raw)[:40]!r} is not one of {', '.join(f.choices)}",
            )
        return value
    if f.kind in ("date", "datetime"):
        value = _parse_datetime(raw, f.kind == "date")
        if value is None:
            out.add(
                index,
                col,
                f"{f.zh}不是日期时间:{_text(raw)[:40]!r}(应如 2024-03-01 09:30)",
                f"{f.name} is not a date/time: {_text(raw)[:40]!r} (write 2024-03-01 09:30)",
            )
        return value
    text = _text(raw)
    if f.max_len is not None and len(text) > f.max_len:
        out.add(
            index,
            col,
            f"{f.zh}过长({len(text)} 字,上限 {f.max_len})",
            f"{f.name} is too long ({len(text)} characters, at most {f.max_len})",
        )
    return text


def _number(raw: Any) -> float | None:
    if isinstance(raw, int | float | np.integer | np.floating) and not isinstance(raw, bool):
        return float(raw)
    text = str(raw).strip()
    try:
        return float(text)
    except ValueError:
        return None


def _spreadsheet_geometry(
    spec: LayerSpec, source: SourceTable, mapping: Mapping[str, str], out: _Collector
) -> np.ndarray:
    by_field = {fname: col for col, fname in mapping.items()}
    frame = source.frame
    geoms = np.full(len(frame), None, dtype=object)
    if "wkt" in by_field:
        col = by_field["wkt"]
        for i, (index, raw) in enumerate(frame[col].items()):
            if _blank(raw):
                out.add(index, col, "几何为空", "the geometry is empty")
                continue
            try:
                geoms[i] = shapely.from_wkt(str(raw).strip())
            except shapely.errors.ShapelyError:
                out.add(
                    index,
                    col,
                    f"不是有效的 WKT:{str(raw)[:40]!r}",
                    f"not valid WKT: {str(raw)[:40]!r}",
                )
        return geoms
    if "lon" in by_field and "lat" in by_field:
        if spec.geometry != "point":
            out.add(
                None,
                by_field["lon"],
                f"{spec.zh}是面图层,经纬度只能表示点;请提供 WKT 列",
                f"{spec.en} are polygons: lon/lat columns give points; map a WKT column",
            )
            return geoms
        for i, index in enumerate(frame.index):
            xy = []
            for name in ("lon", "lat"):
                col = by_field[name]
                raw = frame.at[index, col]
                if _blank(raw):
                    out.add(index, col, "坐标为空", "the coordinate is empty")
                    break
                value = _number(raw)
                if value is None:
                    if DMS_PATTERN.search(str(raw)):
                        out.add(
                            index,
                            col,
                            f"坐标 {str(raw)[:30]!r} 是度分秒格式;请换算为十进制度(如 110.78)",
                            f"coordinate {str(raw)[:30]!r} is degrees-minutes-seconds; "
                            "write decimal degrees (e.g. 110.78)",
                        )
                    else:
                        out.add(
                            index,
                            col,
                            f"坐标不是数字:{str(raw)[:30]!r}",
                            f"the coordinate is not a number: {str(raw)[:30]!r}",
                        )
                    break
                xy.append(value)
            if len(xy) == 2:
                geoms[i] = shapely.Point(xy)
        return geoms
    if spec.geometry:
        out.add(
            None,
            "lon/lat/wkt",
            "没有坐标列:请把经度、纬度两列或一列 WKT 对应到 lon、lat 或 wkt",
            "no coordinate columns: map longitude and latitude (lon, lat) or a WKT column",
        )
    return geoms


def _street_extent(engine: Engine) -> shapely.Geometry | None:
    streets = read_table(engine, "street")
    geoms = [g for g in streets.geometry if g is not None and not g.is_empty]
    if not geoms:
        communities = read_table(engine, "community")
        geoms = [g for g in communities.geometry if g is not None and not g.is_empty]
    return shapely.union_all(geoms) if geoms else None


def _describe_crs(source_crs: pyproj.CRS | str) -> str:
    if isinstance(source_crs, str):
        return OFFSET_SYSTEMS.get(source_crs, source_crs)
    epsg = source_crs.to_epsg()
    return f"EPSG:{epsg} {source_crs.name}" if epsg else source_crs.name


def _place_geometry(
    spec: LayerSpec,
    geoms: np.ndarray,
    index: pd.Index,
    source: SourceTable,
    crs: str | pyproj.CRS | None,
    swap: bool,
    extent: shapely.Geometry | None,
    out: _Collector,
) -> tuple[np.ndarray, pyproj.CRS | str, bool]:
    """Bring geometries to WGS 84: the CRS given, else the file's, else detected."""
    present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not present.any():
        return geoms, pyproj.CRS.from_epsg(4326), False
    coords = shapely.get_coordinates(geoms[present])
    x, y = coords[:, 0], coords[:, 1]
    if crs is not None:
        try:
            source_crs = parse_crs(crs)
        except ValueError as exc:
            raise _file_error(source.name, str(exc), str(exc)) from exc
    elif source.crs is not None:
        source_crs = source.crs
    elif (np.abs(x) <= 180).all() and (np.abs(y) <= 180).all():
        source_crs = pyproj.CRS.from_epsg(4326)
    else:
        detected = detect_projected_crs(x, y)
        if detected is None:
            out.add(
                None,
                None,
                "坐标不是经纬度,且文件未声明坐标系;请指定坐标系(如 CGCS2000 高斯-克吕格 "
                "3 度带 EPSG:4546,或 UTM EPSG:32649)",
                "the coordinates are not degrees and the file declares no CRS; choose one "
                "(e.g. --crs 4546 for CGCS2000 3° Gauss-Kruger CM 111°E, 32649 for UTM 49N)",
            )
            return geoms, pyproj.CRS.from_epsg(4326), False
        source_crs = pyproj.CRS.from_epsg(detected)
    geographic = isinstance(source_crs, str) or source_crs.is_geographic
    swapped = False
    if geographic:
        ext = extent.bounds if extent is not None else None
        if latlon_swapped(x, y, ext):
            if swap:
                geoms = geoms.copy()
                geoms[present] = swap_xy(geoms[present])
                swapped = True
            else:
                out.add(
                    None,
                    None,
                    "经纬度似乎颠倒(纬度写在了经度列);确认后选择“交换经纬度”(命令行 --swap-latlon)",
                    "latitude and longitude look swapped; accept the fix with "
                    "--swap-latlon (or the page's swap option)",
                )
                return geoms, source_crs, False
        elif swap:
            geoms = geoms.copy()
            geoms[present] = swap_xy(geoms[present])
            swapped = True
        coords = shapely.get_coordinates(geoms[present])
        bad = (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
        if bad.any():
            counts = shapely.get_num_coordinates(geoms[present])
            owner = np.repeat(np.flatnonzero(present), counts)
            for i in np.unique(owner[bad])[:50]:
                out.add(
                    index[i],
                    None,
                    "坐标超出经纬度范围(经度 ±180°,纬度 ±90°);坐标系是否选错?",
                    "coordinates out of the lon/lat range (±180°, ±90°); is the CRS wrong?",
                )
            return geoms, source_crs, swapped
    try:
        geoms = geoms.copy()
        geoms[present] = geometries_to_wgs84(geoms[present], source_crs)
    except Exception as exc:  # pyproj errors for impossible coordinates
        out.add(None, None, f"坐标转换失败:{exc}", f"cannot transform the coordinates: {exc}")
    return geoms, source_crs, swapped


def _check_geometry(
    spec: LayerSpec,
    geoms: np.ndarray,
    index: pd.Index,
    fix_invalid: bool,
    extent: shapely.Geometry | None,
    out: _Collector,
) -> tuple[np.ndarray, list[int]]:
    """Type, emptiness, validity and extent of each geometry; invalid ones repaired on request."""
    geoms = geoms.copy()
    repaired: list[int] = []
    wanted = {"polygon": ("Polygon", "MultiPolygon"), "point": ("Point",)}[spec.geometry or ""]
    word = {"polygon": ("面", "a polygon"), "point": ("点", "a point")}[spec.geometry or ""]
    ok = np.zeros(len(geoms), dtype=bool)
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            if g is not None or out.row(index[i]) not in {x.row for x in out.issues}:
                out.add(index[i], "geometry", "几何为空", "the geometry is empty")
            continue
        if g.geom_type == "MultiPoint" and spec.geometry == "point" and len(g.geoms) == 1:
            geoms[i] = g = g.geoms[0]
        if g.has_z:
            geoms[i] = g = shapely.force_2d(g)
        if g.geom_type not in wanted:
            out.add(
                index[i],
                "geometry",
                f"几何类型为 {g.geom_type},{spec.zh}需要{word[0]}",
                f"the geometry is a {g.geom_type}; {spec.en} need {word[1]}",
            )
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            if not fix_invalid:
                out.add(
                    index[i],
                    "geometry",
                    f"几何无效({reason});确认后可选择“修复无效几何”(命令行 --fix-invalid)",
                    f"invalid geometry ({reason}); accept a repair with --fix-invalid",
                )
                continue
            fixed = shapely.make_valid(g)
            polys = [p for p in getattr(fixed, "geoms", [fixed]) if p.geom_type in wanted]
            fixed = shapely.union_all(polys) if polys else shapely.Polygon()
            if fixed.is_empty or fixed.area == 0:
                out.add(
                    index[i],
                    "geometry",
                    f"几何无效且无法修复({reason})",
                    f"invalid geometry that cannot be repaired ({reason})",
                )
                continue
            geoms[i] = fixed
            repaired.append(out.row(index[i]))
        ok[i] = True
    if extent is not None and ok.any():
        frame = gpd.GeoDataFrame(geometry=[extent], crs=4326)
        metric = metric_crs(frame)
        zone = frame.to_crs(metric).buffer(settings.IMPORT_EXTENT_BUFFER_M).iloc[0]
        placed = gpd.GeoSeries(geoms[ok], crs=4326).to_crs(metric).values
        inside = shapely.intersects(np.asarray(placed, dtype=object), zone)
        for i in np.flatnonzero(ok)[~inside][:200]:
            c = geoms[i].representative_point()
            out.add(
                index[i],
                "geometry",
                f"位于街道范围以外(超过 {settings.IMPORT_EXTENT_BUFFER_M:.0f} 米;"
                f"位置 {c.x:.5f}, {c.y:.5f});坐标系或经纬度顺序是否有误?",
                f"lies outside the street (more than {settings.IMPORT_EXTENT_BUFFER_M:.0f} m; "
                f"at {c.x:.5f}, {c.y:.5f}); is the CRS or the axis order wrong?",
            )
    return geoms, repaired


def _lookup(engine_or_conn: Any, name: str, columns: Iterable[str]) -> pd.DataFrame:
    tbl = table(name)
    cols = [tbl.c[c] for c in columns]
    with engine_or_conn.connect() as conn:
        result = conn.execute(select(*cols))
        return pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))


def _resolve_refs(
    spec: LayerSpec,
    values: pd.DataFrame,
    by_field: Mapping[str, str],
    engine: Engine,
    plan: str | None,
    out: _Collector,
) -> pd.DataFrame:
    """Codes that point at other layers turned into ids, each layer read in one query."""
    refs = pd.DataFrame(index=values.index)

    def resolve(fname: str, known: Mapping[str, Any], what: tuple[str, str]) -> pd.Series:
        col = by_field.get(fname, fname)
        ids = []
        for index, code in values[fname].items():
            if code is None:
                ids.append(None)
                continue
            if code not in known:
                out.add(
                    index,
                    col,
                    f"{what[0]} {code!r} 在数据库中不存在",
                    f"unknown {what[1]} {code!r}: not in the database",
                )
                ids.append(None)
            else:
                ids.append(known[code])
        return pd.Series(ids, index=values.index, dtype=object)

    names = {f.name for f in spec.fields}
    if "street_code" in names:
        streets = _lookup(engine, "street", ["id", "code"])
        if streets.empty:
            out.add(
                None,
                None,
                "数据库中还没有街道;请先建立街道(gridmap demo 或恢复备份)",
                "the database holds no street yet; create one first",
            )
            refs["street_id"] = None
        elif values["street_code"].isna().all():
            if len(streets) > 1:
                out.add(
                    None,
                    "street_code",
                    "数据库中有多个街道,请提供街道编码列",
                    "the database holds several streets: map a street_code column",
                )
            refs["street_id"] = int(streets["id"].iloc[0])
            values["street_code"] = streets["code"].iloc[0]
        else:
            refs["street_id"] = resolve(
                "street_code",
                dict(zip(streets["code"], streets["id"], strict=True)),
                ("街道编码", "street code"),
            )
    if "community_code" in names:
        com = _lookup(engine, "community", ["id", "code"])
        known = dict(zip(com["code"], com["id"], strict=True))
        if spec.name == "grids" and "community_code" not in by_field:
            # grid codes are street–community–grid: the community is the code's prefix
            values["community_code"] = values["code"].map(
                lambda c: c.rsplit("-", 1)[0] if isinstance(c, str) and "-" in c else None
            )
            for index, c in values["community_code"].items():
                if c is None and values.at[index, "code"] is not None:
                    out.add(
                        index,
                        "community_code",
                        "缺少社区编码(网格编码中也读不出)",
                        "no community code (and none in the grid code)",
                    )
        refs["community_id"] = resolve("community_code", known, ("社区编码", "community code"))
    if spec.name == "grids":
        plans = _lookup(engine, "grid_plan", ["id", "community_id", "name", "status"])
        if plan is None:
            chosen = plans[plans["status"] == PlanStatus.active.value]
            what = ("没有生效的网格方案", "has no active grid plan")
        else:
            chosen = plans[(plans["name"] == plan) | (plans["id"].astype(str) == str(plan))]
            what = (f"没有名为 {plan!r} 的网格方案", f"has no grid plan {plan!r}")
        by_community = dict(zip(chosen["community_id"], chosen["id"], strict=False))
        plan_ids = []
        for index, cid in refs["community_id"].items():
            if cid is None:
                plan_ids.append(None)
            elif cid not in by_community:
                code = values.at[index, "community_code"]
                out.add(
                    index,
                    by_field.get("community_code", "community_code"),
                    f"社区 {code} {what[0]}",
                    f"community {code} {what[1]}",
                )
                plan_ids.append(None)
            else:
                plan_ids.append(int(by_community[cid]))
        refs["plan_id"] = plan_ids
    if "grid_code" in names:
        grid, gp = table("grid"), table("grid_plan")
        with engine.connect() as conn:
            rows = conn.execute(
                select(grid.c.id, grid.c.code)
                .join(gp, gp.c.id == grid.c.plan_id)
                .where(gp.c.status == PlanStatus.active.value)
            ).fetchall()
        refs["grid_id"] = resolve("grid_code", {c: i for i, c in rows}, ("网格编码", "grid code"))
    if "building_code" in names:
        b = _lookup(engine, "building", ["id", "code"])
        refs["building_id"] = resolve(
            "building_code",
            dict(zip(b["code"], b["id"], strict=True)),
            ("楼栋编码", "building code"),
        )
    if "party_org" in names:
        orgs = _lookup(engine, "party_org", ["id", "name"])
        counts = orgs["name"].value_counts()
        known = {n: i for n, i in zip(orgs["name"], orgs["id"], strict=True) if counts[n] == 1}
        for index, name in values["party_org"].items():
            if name is not None and counts.get(name, 0) > 1:
                out.add(
                    index,
                    by_field.get("party_org", "party_org"),
                    f"党组织名称 {name!r} 不唯一",
                    f"party organisation {name!r} is ambiguous",
                )
        refs["party_org_id"] = resolve(
            "party_org",
            {**known, **{n: None for n in counts.index if counts[n] > 1}},
            ("党组织", "party organisation"),
        )
    return refs


def _member_key(name: Any, phone: Any) -> str:
    return f"{name}|{'' if _blank(phone) else phone}"


def _rows_for_table(spec: LayerSpec, values: pd.DataFrame, refs: pd.DataFrame) -> pd.DataFrame:
    """Parsed values and resolved ids in the columns of the layer's table."""
    out = pd.DataFrame(index=values.index)
    for f in spec.fields:
        if f.kind == "ref" or (f.name in ("name", "phone", "id_suffix") and spec.name == "members"):
            continue
        out[f.name] = values[f.name]
    for col in refs.columns:
        out[col] = refs[col]
    if spec.name == "buildings":
        out["households"] = out["households"].map(lambda v: 0 if v is None else v)
        out["residents"] = out["residents"].map(lambda v: 0 if v is None else v)
    if spec.name == "requests":
        out["reporter"] = out["reporter"].map(lambda v: mask_name(v) if v else v)
    if spec.name == "members":
        out["status"] = out["status"].map(lambda v: v or "active")
    if spec.name == "organisations":
        for col in ("employees", "members"):
            out[col] = out[col].map(lambda v: 0 if v is None else v)
        out["coverage"] = out["coverage"].map(lambda v: v or PartyCoverage.none.value)
    if spec.name == "grids":
        out = out.drop(columns=["community_id"])
    return out


def _comparable(value: Any) -> Any:
    if _blank(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def _same_geometry(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a = shapely.MultiPolygon([a]) if a.geom_type == "Polygon" else a
    b = shapely.MultiPolygon([b]) if b.geom_type == "Polygon" else b
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=1e-9))


def prepare_import(
    engine: Engine,
    layer: str | LayerSpec,
    source: SourceTable,
    mapping: Mapping[str, str] | None = None,
    *,
    crs: str | int | pyproj.CRS | None = None,
    swap_latlon: bool = False,
    fix_invalid: bool = False,
    update: bool = False,
    plan: str | None = None,
) -> ImportPlan:
    """Validate a file against the layer and the database and say what an import would do.

    Parameters
    ----------
    engine : Engine
    layer : str or LayerSpec
        ``communities``, ``grids``, ``buildings``, ``stations``, ``members`` or ``requests``.
    source : SourceTable
        From :func:`read_source`.
    mapping : dict, optional
        Column → field; default :func:`suggest_mapping`. Unmapped columns are ignored.
    crs : optional
        The coordinates' CRS when the file declares none or declares it wrongly: an EPSG code,
        ``wgs84``, ``cgcs2000``, ``gcj02`` (高德/腾讯) or ``bd09`` (百度).
    swap_latlon : bool
        Exchange latitude and longitude (offered when they look swapped).
    fix_invalid : bool
        Repair invalid polygons with ``make_valid`` (reported in :attr:`ImportPlan.repaired`).
    update : bool
        Let rows whose code is in the database with other values update them; otherwise such
        rows are refused as duplicates.
    plan : str, optional
        Grids: the name (or id) of the plan to import into; default each community's active plan.

    Returns
    -------
    ImportPlan
        The dry run: rows to add, to change, and how many are left alone.

    Raises
    ------
    ImportRejected
        Listing every problem (file, row or feature, field). Nothing is written.
    """
    spec = layer if isinstance(layer, LayerSpec) else layer_spec(layer)
    out = _Collector(source)
    spreadsheet = source.geometry is None
    if mapping is None:
        mapping = suggest_mapping(source, spec)
    mapping = {str(c): f for c, f in mapping.items() if f}
    allowed = {f.name for f in import_fields(spec, spreadsheet)}
    for col, fname in mapping.items():
        if col not in source.columns:
            out.add(None, col, f"文件中没有列 {col!r}", f"the file has no column {col!r}")
        if fname not in allowed:
            out.add(
                None,
                col,
                f"{spec.zh}没有字段 {fname!r};可选:{', '.join(sorted(allowed))}",
                f"{spec.en} have no field {fname!r}; choose from {', '.join(sorted(allowed))}",
            )
    targets = list(mapping.values())
    for fname in {t for t in targets if targets.count(t) > 1}:
        cols = [c for c, f in mapping.items() if f == fname]
        out.add(
            None,
            fname,
            f"多列对应到同一字段:{', '.join(cols)}",
            f"several columns map to the same field: {', '.join(cols)}",
        )
    out.raise_if_any()

    if source.frame.empty:
        raise _file_error(source.name, "文件中没有数据行", "the file has no records")
    values = _parse_fields(spec, source, mapping, out)
    index = source.frame.index
    extent = _street_extent(engine) if spec.geometry else None
    geoms = None
    source_crs: pyproj.CRS | str = pyproj.CRS.from_epsg(4326)
    swapped, repaired = False, []
    if spec.geometry:
        geoms = (
            _spreadsheet_geometry(spec, source, mapping, out)
            if spreadsheet
            else np.asarray(source.geometry, dtype=object)
        )
        geoms, source_crs, swapped = _place_geometry(
            spec, geoms, index, source, crs, swap_latlon, extent, out
        )
        geoms, repaired = _check_geometry(spec, geoms, index, fix_invalid, extent, out)

    by_field = {f: c for c, f in mapping.items()}
    # duplicates within the file
    if spec.name == "members":
        keys = pd.Series(
            [_member_key(n, p) for n, p in zip(values["name"], values["phone"], strict=True)],
            index=index,
        )
    else:
        keys = values[spec.key]
    first_row: dict[Any, int] = {}
    key_col = by_field.get(spec.key, spec.key)
    for idx, key in keys.items():
        if key is None or (spec.name == "members" and values.at[idx, "name"] is None):
            continue
        if key in first_row:
            out.add(
                idx,
                key_col,
                f"{spec.field(spec.key).zh} {str(key).split('|')[0]!r} 与第 "
                f"{first_row[key]} {source.unit[0].lstrip('个')}重复",
                f"duplicate {spec.key} {str(key).split('|')[0]!r}: also in "
                f"{source.unit[1]} {first_row[key]}",
            )
        else:
            first_row[key] = out.row(idx)

    refs = _resolve_refs(spec, values, by_field, engine, plan, out)
    out.raise_if_any()

    rows = _rows_for_table(spec, values, refs)
    if geoms is not None:
        rows["geom"] = geoms
    added, changed, unchanged, persons = _diff_against_database(
        engine, spec, rows, values, keys, update, by_field, out
    )
    out.raise_if_any()
    return ImportPlan(
        layer=spec,
        file=source.name,
        added=added,
        changed=changed,
        unchanged=unchanged,
        repaired=repaired,
        swapped=swapped,
        source_crs=_describe_crs(source_crs),
        persons=persons,
    )


def _diff_against_database(
    engine: Engine,
    spec: LayerSpec,
    rows: pd.DataFrame,
    values: pd.DataFrame,
    keys: pd.Series,
    update: bool,
    by_field: Mapping[str, str],
    out: _Collector,
) -> tuple[pd.DataFrame, pd.DataFrame, int, pd.DataFrame | None]:
    """Split rows into new, changed and unchanged against the database (one query per table)."""
    if spec.name == "members":
        existing = _existing_members(engine)
    else:
        existing = read_table(engine, spec.table)
        if spec.name == "grids":
            existing["_key"] = list(zip(existing["plan_id"], existing["code"], strict=True))
        else:
            existing["_key"] = existing[spec.key]
    if spec.name == "grids":
        keys = pd.Series(list(zip(rows["plan_id"], rows["code"], strict=True)), index=rows.index)
    by_key = {k: i for i, k in zip(existing.index, existing["_key"], strict=True)}
    compare = [c for c in rows.columns if c in existing.columns]
    new_idx, changed_idx, changed_ids, unchanged = [], [], [], 0
    for idx, key in keys.items():
        if key not in by_key:
            new_idx.append(idx)
            continue
        old = existing.loc[by_key[key]]
        diffs = []
        for c in compare:
            a, b = rows.at[idx, c], old[c]
            if c == "geom":
                if not _same_geometry(a, b):
                    diffs.append(c)
            elif _comparable(a) != _comparable(b):
                diffs.append(c)
        if not diffs:
            unchanged += 1
        elif update:
            changed_idx.append(idx)
            changed_ids.append(int(old["id"]))
        else:
            shown_key = str(key[1] if isinstance(key, tuple) else key).split("|")[0]
            out.add(
                idx,
                by_field.get(spec.key, spec.key),
                f"{spec.field(spec.key).zh} {shown_key!r} 已在数据库中,且 {', '.join(diffs)} "
                "不同;如要更新请选择“更新已有记录”(命令行 --update)",
                f"{spec.key} {shown_key!r} is already in the database with a different "
                f"{', '.join(diffs)}; choose update (--update) to change it",
            )
    added = rows.loc[new_idx].copy()
    changed = rows.loc[changed_idx].copy()
    changed["id"] = changed_ids
    persons = None
    if spec.name == "members":
        persons = values.loc[new_idx + changed_idx, ["name", "phone", "id_suffix"]].copy()
        old_person = dict(zip(existing.index, existing["person_id"], strict=True))
        persons["id"] = [None] * len(new_idx) + [
            int(old_person[by_key[keys[i]]]) for i in changed_idx
        ]
    if spec.geometry:
        added = gpd.GeoDataFrame(added, geometry="geom", crs=4326)
        changed = gpd.GeoDataFrame(changed, geometry="geom", crs=4326)
    return added, changed, unchanged, persons


def _existing_members(engine: Engine) -> pd.DataFrame:
    member, person = table("member"), table("person")
    with engine.connect() as conn:
        result = conn.execute(
            select(member, person.c.name, person.c.phone, person.c.id_suffix).join(
                person, person.c.id == member.c.person_id
            )
        )
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    frame["_key"] = [_member_key(n, p) for n, p in zip(frame["name"], frame["phone"], strict=True)]
    return frame


# --- writing ----------------------------------------------------------------------------------


def _update_rows(conn: Any, name: str, frame: pd.DataFrame) -> int:
    if frame.empty:
        return 0
    from gridmap.repository import frame_records

    tbl = table(name)
    ids = [int(i) for i in frame["id"]]
    records = frame_records(name, frame.drop(columns=["id"]))
    for record, row_id in zip(records, ids, strict=True):
        record["_id"] = row_id
    columns = {c: bindparam(c) for c in records[0] if c != "_id"}
    stmt = tbl.update().where(tbl.c.id == bindparam("_id")).values(**columns)
    if "version" in tbl.c:
        stmt = stmt.values(version=tbl.c.version + 1)
    conn.execute(stmt, records)
    return len(records)


def apply_import(engine: Engine, plan: ImportPlan) -> dict[str, int]:
    """Write an :class:`ImportPlan` in one transaction (all or nothing).

    Returns
    -------
    dict
        ``added``, ``changed``, ``unchanged`` counts.
    """
    spec = plan.layer
    principal = auth.current_principal()
    principal.require("import")
    with transaction(engine) as conn:
        auth.audit(conn, principal, "import", spec.table, None, None,
                   {"layer": spec.name, "added": len(plan.added),
                    "changed": len(plan.changed), "unchanged": plan.unchanged})  # fmt: skip
        if spec.name == "members" and plan.persons is not None:
            persons = plan.persons
            new_people = persons[persons["id"].isna()].drop(columns=["id"])
            person_tbl, member_tbl = table("person"), table("member")
            next_id = (conn.execute(select(_max_id(person_tbl))).scalar() or 0) + 1
            new_ids = list(range(next_id, next_id + len(new_people)))
            insert_frame(conn, "person", new_people.assign(id=new_ids, roles=""))
            _update_rows(conn, "person", persons[persons["id"].notna()])
            next_member = (conn.execute(select(_max_id(member_tbl))).scalar() or 0) + 1
            added = plan.added.assign(
                person_id=new_ids, id=range(next_member, next_member + len(plan.added))
            )
            insert_frame(conn, "member", added)
            _update_rows(conn, "member", plan.changed)
        else:
            insert_frame(conn, spec.table, plan.added)
            _update_rows(conn, spec.table, plan.changed)
    plan.written = True
    return {"added": len(plan.added), "changed": len(plan.changed), "unchanged": plan.unchanged}


def _max_id(tbl: Any) -> Any:
    from sqlalchemy import func

    return func.max(tbl.c.id)


def import_file(
    engine: Engine,
    layer: str,
    path: str | Path,
    *,
    dry_run: bool = False,
    name: str | None = None,
    mapping: Mapping[str, str] | None = None,
    **options: Any,
) -> ImportPlan:
    """Read, validate and (unless ``dry_run``) write a file: the CLI's ``gridmap import``.

    ``options`` are those of :func:`prepare_import`. Raises :class:`ImportRejected` (nothing
    written) when the file has problems.
    """
    source = read_source(path, name)
    plan = prepare_import(engine, layer, source, mapping, **options)
    if not dry_run:
        apply_import(engine, plan)
    return plan


# --- export -----------------------------------------------------------------------------------

EXPORT_FORMATS: tuple[str, ...] = ("geojson", "gpkg", "shp", "xlsx", "csv")
#: Characters an Excel cell holds; a longer WKT would be cut by Excel.
XLSX_CELL_MAX = 32_767
#: Shapefile field names are at most 10 characters: the short names import also reads.
SHAPEFILE_NAMES: dict[str, str] = {
    "community_code": "comm_code", "street_code": "street_cod", "opening_hours": "open_hours",
    "building_code": "bldg_code", "registered_on": "registered", "description": "descriptio",
    "received_at": "received_a", "resolved_at": "resolved_a", "rating_note": "rating_not",
}  # fmt: skip


def export_frame(
    engine: Engine, layer: str | LayerSpec, scope: auth.Principal | None = None
) -> pd.DataFrame:
    """A layer as the table users get: the import fields, codes instead of ids.

    Grids are those of each community's active plan. A GeoDataFrame for spatial layers. Only
    the rows ``scope`` (default: :func:`gridmap.auth.current_principal`) may see, with names,
    phones, ID suffixes and request text masked for its role (:func:`gridmap.auth.mask_frame`).
    """
    spec = layer if isinstance(layer, LayerSpec) else layer_spec(layer)
    scope = scope if scope is not None else auth.current_principal()
    scope.require("export")
    with engine.connect() as conn:
        if spec.table == "organisation":  # 两新组织: those of the communities in scope
            rows = read_table(conn, spec.table)
            cids = auth.community_ids(conn, scope)
            rows = rows if cids is None else rows[rows["community_id"].isin(sorted(cids))]
        else:
            rows = auth.scope_rows(conn, read_table(conn, spec.table), spec.table, scope)
        codes = {
            n: dict(zip(f["id"], f["code"], strict=True))
            for n, f in (
                ("street", _lookup(engine, "street", ["id", "code"])),
                ("community", _lookup(engine, "community", ["id", "code"])),
                ("building", _lookup(engine, "building", ["id", "code"])),
                ("grid", _lookup(engine, "grid", ["id", "code"])),
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
    columns = [f.name for f in spec.fields]
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
        elif isinstance(sample, bool):
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


# --- backup and restore -----------------------------------------------------------------------

BACKUP_FORMAT = 1
_META_LAYER = "gridmap_backup"


def _missing(value: Any) -> bool:
    """None, NaN, NaT or NA — but not an empty string, which a backup keeps as it is."""
    return (
        value is None
        or value is pd.NaT
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    )


def _column_kind(col: Any) -> str:
    if col.name == "geom":
        return "geometry"
    if isinstance(col.type, Boolean):
        return "bool"
    if isinstance(col.type, DateTime):
        return "datetime"
    if isinstance(col.type, Date):
        return "date"
    if isinstance(col.type, Integer):
        return "int"
    return "str"


def backup(engine: Engine, path: str | Path, progress: Callable[[str], None] | None = None):
    """Write every table of the database — the street, ids included — to one GeoPackage.

    Spatial tables become GeoPackage feature layers, the others attribute tables; dates and
    times are stored as ISO text so nothing is rounded; a ``gridmap_backup`` table records the
    schema revision and each table's columns and row count.

    Returns
    -------
    dict
        Rows written per table.
    """
    auth.current_principal().require("backup")  # every table, personal data in clear
    import pyogrio

    path = Path(path)
    if path.exists():
        path.unlink()
    meta: dict[str, Any] = {"format": BACKUP_FORMAT, "schema": head_revision(), "tables": {}}
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for tbl in table_order()[0]:
            if progress:
                progress(tbl.name)
            frame = read_table(conn, tbl.name)
            kinds = {c.name: _column_kind(c) for c in tbl.columns}
            meta["tables"][tbl.name] = {"rows": len(frame), "columns": kinds}
            counts[tbl.name] = len(frame)
            if frame.empty:
                continue
            plain = pd.DataFrame({c: frame[c] for c in frame.columns if c != "geom"})
            for col, kind in kinds.items():
                if kind in ("datetime", "date"):
                    plain[col] = [None if _missing(v) else v.isoformat() for v in frame[col]]
                elif kind in ("int", "bool"):
                    plain[col] = pd.array(
                        [None if _missing(v) else int(v) for v in frame[col]], dtype="Int64"
                    )
                elif kind == "str":
                    plain[col] = [None if _missing(v) else str(v) for v in frame[col]]
            if tbl.name in GEOMETRY_TABLES:
                out = gpd.GeoDataFrame(plain, geometry=list(frame.geometry.values), crs=4326)
                pyogrio.write_dataframe(
                    out, path, layer=str(tbl.name), driver="GPKG", geometry_type="Unknown"
                )
            else:
                pyogrio.write_dataframe(plain, path, layer=str(tbl.name), driver="GPKG")
    pyogrio.write_dataframe(
        pd.DataFrame({"key": ["meta"], "value": [json.dumps(meta, ensure_ascii=False)]}),
        path,
        layer=_META_LAYER,
        driver="GPKG",
    )
    return counts


def restore(engine: Engine, path: str | Path, force: bool = False) -> dict[str, int]:
    """Put a :func:`backup` GeoPackage back into a database, ids and all, in one transaction.

    Parameters
    ----------
    force : bool
        Replace what the database holds (deleted in the same transaction). Without it a
        database that already holds a street is refused.

    Raises
    ------
    InputError
        When the file is not a gridmap backup, was made by another schema revision, or the
        database is not empty and ``force`` is False. Nothing is changed.
    """
    principal = auth.current_principal()
    principal.require("backup")
    import pyogrio

    path = Path(path)
    shown = path.name
    if not path.is_file() or path.stat().st_size == 0:
        raise _file_error(shown, "备份文件不存在或是空的", "the backup file is missing or empty")
    with path.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise _file_error(shown, "不是 GeoPackage 备份文件", "not a GeoPackage backup")
    try:
        layers = {str(n) for n, _ in pyogrio.list_layers(path)}
        if _META_LAYER not in layers:
            raise _file_error(
                shown, "不是 gridmap 备份(缺少 gridmap_backup 表)", "not a gridmap backup"
            )
        meta = json.loads(pyogrio.read_dataframe(path, layer=_META_LAYER)["value"].iloc[0])
    except ImportRejected:
        raise
    except Exception as exc:
        raise _file_error(shown, "备份文件已损坏", f"the backup is damaged: {exc}") from exc
    if meta.get("schema") != head_revision():
        raise _file_error(
            shown,
            f"备份的数据库版本 {meta.get('schema')} 与当前 {head_revision()} 不同",
            f"the backup has schema {meta.get('schema')}, this gridmap {head_revision()}",
        )
    order, late = table_order()
    frames: dict[str, pd.DataFrame] = {}
    for tbl in order:
        info = meta["tables"].get(tbl.name, {"rows": 0, "columns": {}})
        if not info["rows"]:
            continue
        read = pyogrio.read_dataframe(path, layer=str(tbl.name))
        if len(read) != info["rows"]:
            raise _file_error(shown, f"表 {tbl.name} 行数不符", f"table {tbl.name} is incomplete")
        out = pd.DataFrame(index=read.index)
        for col, kind in info["columns"].items():
            if kind == "geometry":
                out[col] = list(read.geometry.values)
                continue
            series = read[col]
            if kind in ("int", "bool"):
                cast = bool if kind == "bool" else int
                out[col] = [None if _missing(v) else cast(round(float(v))) for v in series]
            elif kind == "datetime":
                out[col] = [None if _missing(v) else dt.datetime.fromisoformat(v) for v in series]
            elif kind == "date":
                out[col] = [None if _missing(v) else dt.date.fromisoformat(v) for v in series]
            else:
                out[col] = [None if _missing(v) else str(v) for v in series]
            out[col] = out[col].astype(object)
        frames[tbl.name] = out
    from gridmap.bootstrap import replace_street

    with transaction(engine) as conn:
        holds = conn.execute(select(_max_id(table("street")))).scalar() is not None
        if holds and not force:
            raise InputError(
                "数据库中已有数据;恢复会替换全部内容,请加 --force 确认 / the database already "
                "holds data; restoring replaces all of it: confirm with --force. Nothing was "
                "changed."
            )
        counts, _ = replace_street(
            conn, lambda c: _restore_frames(c, frames, late), "restore", {"file": shown}
        )
    return counts


def _restore_frames(conn: Connection, frames: dict[str, pd.DataFrame], late: list) -> dict:
    """Write a backup's tables into a street emptied by ``replace_street``.

    The live accounts and audit log stay (append-only): the backup's users are merged by name
    (:func:`_merge_users`), its audit rows appended where the live log lacks them
    (:func:`_append_audit_rows`), and every reference to a user follows the merge.
    """
    late_cols = [fk.parent.name for fk in late]
    users = frames.pop("user", pd.DataFrame(columns=["id", "name", *late_cols]))
    log_rows = frames.pop("audit_log", None)
    user_ids, added = _merge_users(conn, users, late_cols)
    refs = [(t.name, fk.parent.name) for t in street_tables() for fk in t.foreign_keys
            if fk.column.table.name == "user"]  # fmt: skip
    for name, col in refs:
        if name in frames and col in frames[name]:
            frames[name][col] = frames[name][col].map(lambda v: user_ids.get(v, v))
    counts = {t.name: insert_frame(conn, t.name, frames[t.name])
              for t in street_tables() if t.name in frames}  # fmt: skip
    if not added.empty:  # their scope points into the data just written
        _update_rows(conn, "user", added[["id", *late_cols]])
    counts["user"] = len(users)
    counts["audit_log"] = _append_audit_rows(conn, log_rows, user_ids)
    return counts


def _merge_users(
    conn: Connection, users: pd.DataFrame, late_cols: list[str]
) -> tuple[dict[int, int], pd.DataFrame]:
    """Add the backup's users the database lacks.

    A live user of the same name is the same account (kept as it is). Others keep their id
    when it is free and get a new one when it is not; they are written with an empty scope.

    Returns
    -------
    tuple
        Backup id → live id for every backup user, and the added users' rows (under their
        live ids) with the scope the backup gave them, to set once the street is in.
    """
    user = table("user")
    live = dict(conn.execute(select(user.c.name, user.c.id)).all())
    taken = set(live.values())
    user_ids: dict[int, int] = {}
    fresh = users[~users["name"].isin(list(live))]
    keep_id = fresh[~fresh["id"].isin(list(taken))]
    insert_frame(conn, "user", keep_id.assign(**dict.fromkeys(late_cols)))
    user_ids |= {int(i): int(i) for i in keep_id["id"]}
    for row in fresh[fresh["id"].isin(list(taken))].to_dict("records"):  # clashes: a few
        values = {k: v for k, v in row.items() if k != "id"} | dict.fromkeys(late_cols)
        user_ids[int(row["id"])] = int(
            conn.execute(user.insert().values(**values)).inserted_primary_key[0]
        )
    added = fresh.assign(id=fresh["id"].map(lambda v: user_ids[int(v)]))
    user_ids |= {int(r["id"]): live[r["name"]] for r in users.to_dict("records")
                 if r["name"] in live}  # fmt: skip
    return user_ids, added


_AUDIT_CONTENT = ["at", "action", "entity", "before", "after"]


def _audit_keys(frame: pd.DataFrame) -> pd.Series:
    """One comparable text per audit row: its time (to the microsecond) and content."""
    at = pd.to_datetime(frame["at"]).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    rest = frame[_AUDIT_CONTENT[1:]].astype(object).where(frame[_AUDIT_CONTENT[1:]].notna(), "")
    return at.str.cat(rest.astype(str), sep="\x1f")


def _append_audit_rows(
    conn: Connection, rows: pd.DataFrame | None, user_ids: dict[int, int]
) -> int:
    """Append the backup's audit rows the live log lacks; return how many.

    A live row with the same id and the same content is the same event (the backup came from
    this database) and is not written twice. Rows whose id is free keep it (a restore into a
    fresh database brings the whole history back, ids and all); rows whose id the live log uses
    for another event get a new one. User ids follow the account merge.
    """
    if rows is None or rows.empty:
        return 0
    log = table("audit_log")
    rows = rows.assign(user_id=rows["user_id"].map(lambda v: user_ids.get(v, v)))
    is_user = rows["entity"] == "user"
    rows.loc[is_user, "entity_id"] = rows.loc[is_user, "entity_id"].map(
        lambda v: user_ids.get(v, v)
    )
    query = select(*(log.c[c] for c in ["id", *_AUDIT_CONTENT]))
    live = read_query(conn, query.where(log.c.id.in_([int(i) for i in rows["id"]])), False)
    live_keys = dict(zip(live["id"], _audit_keys(live), strict=True))
    same = rows["id"].map(live_keys).eq(_audit_keys(rows))
    clash = rows["id"].isin(list(live_keys)) & ~same
    insert_frame(conn, "audit_log", rows[~same & ~clash])
    insert_frame(conn, "audit_log", rows[clash].drop(columns="id"))
    return int((~same).sum())
