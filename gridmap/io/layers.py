"""What can be imported, what a file holds, and what is wrong with it.

The import layers (:data:`LAYERS`: table, geometry kind, fields and the words users write for
them), a file as read (:class:`SourceTable`, made by :mod:`~gridmap.io.sources`) and the
problems an import reports (:class:`Issue`, :class:`ImportRejected`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from gridmap import settings
from gridmap.errors import InputError
from gridmap.i18n import pair
from gridmap.models import (
    BuildingKind,
    MemberCategory,
    OrganisationKind,
    PartyCoverage,
    RequestSource,
    RequestStatus,
    StationLevel,
)

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
    # building kinds (楼栋用途), in Chinese and as OpenStreetMap's building=* values
    "building_kind": {"住宅": "residential", "住宅楼": "residential", "居民楼": "residential",
                      "住宅小区": "residential", "apartments": "residential",
                      "house": "residential", "detached": "residential",
                      "terrace": "residential", "dormitory": "residential",
                      "写字楼": "office", "办公": "office", "办公楼": "office",
                      "商业": "commercial", "商铺": "commercial", "商场": "commercial",
                      "retail": "commercial", "商住": "mixed", "商住楼": "mixed",
                      "商住混合": "mixed", "公共建筑": "public", "公共": "public",
                      "学校": "public", "医院": "public", "机关": "public", "school": "public",
                      "hospital": "public", "civic": "public", "government": "public",
                      "university": "public", "kindergarten": "public", "工业": "industrial",
                      "厂房": "industrial", "仓库": "industrial", "warehouse": "industrial"},
}  # fmt: skip

#: Words users write for yes and no (flags such as ``households_estimated``).
BOOL_WORDS: dict[str, bool] = {
    "true": True, "yes": True, "y": True, "1": True, "是": True, "估算": True, "√": True,
    "false": False, "no": False, "n": False, "0": False, "否": False, "实数": False,
    "统计": False, "×": False,
}  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One importable field of a layer.

    ``kind`` is ``str``, ``int``, ``number`` (a decimal), ``bool``, ``enum``, ``date``,
    ``datetime``, ``ref`` (a code looked up in another layer) or ``coord`` (lon/lat/wkt columns
    of a spreadsheet). ``words`` names the :data:`ENUM_WORDS` entry of an enum (default its
    name). A field that is not ``stored`` is read only to derive others (a building's address
    gives its name, its floors its estimated households) and has no column of its own.
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
    stored: bool = True
    words: str | None = None

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


#: The coordinate fields of a spreadsheet: lon/lat columns or one WKT column.
COORD_FIELDS = (
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
         # blank: from the address, else the code
         _f("name", "楼栋名称", aliases=("名称", "楼栋", "楼号", "Name"), max_len=100),
         # blank: the community holding most of the footprint
         _f("community_code", "社区编码", "ref",
            aliases=("所属社区编码", "comm_code", "community_", "社区代码")),
         # blank: estimated from footprint × floors (flagged households_estimated)
         _f("households", "户数", "int", aliases=("户数(户)",), minimum=0),
         # blank: households × settings.RESIDENTS_PER_HOUSEHOLD (flagged residents_estimated)
         _f("residents", "人口", "int", aliases=("人数", "人口(人)", "居民数"), minimum=0),
         _f("kind", "楼栋用途", "enum", aliases=("用途", "建筑用途", "楼栋类型"),
            choices=tuple(BuildingKind), words="building_kind"),
         _f("households_estimated", "户数为估算", "bool",
            aliases=("户数估算", "估算户数", "hh_est")),
         _f("residents_estimated", "人口为估算", "bool",
            aliases=("人口估算", "估算人口", "res_est")),
         _f("address", "地址", aliases=("楼栋地址", "详细地址", "门牌地址", "addr", "addr:full"),
            max_len=200, stored=False),
         _f("floors", "层数", "number", aliases=("楼层数", "地上层数", "building:levels",
                                                "building_levels", "building_l", "levels"),
            minimum=1, maximum=200, stored=False)),
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

    def text(self, unit: tuple[str, str] = pair("行")) -> str:
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

    def __init__(self, file: str, issues: list[Issue], unit: tuple[str, str] = pair("行")):
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


def file_error(file: str, zh: str, en: str) -> ImportRejected:
    """An :class:`ImportRejected` with one problem of the whole file."""
    return ImportRejected(file, [Issue(zh, en)])


# --- a file as read ----------------------------------------------------------------------------


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
        return pair("行") if self.geometry is None else pair("个要素")

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]
