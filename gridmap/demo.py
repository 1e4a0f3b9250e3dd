"""A deterministic, realistic demo street for trying gridmap without real data.

:func:`build_demo` returns the rows of every table for one sub-district of 湖北省十堰市张湾区
(车城路街道): 7 communities, 80 grids, about 1,450 buildings with households and residents,
about 3,000 people (2,000 Party members, grid leaders and workers, building leaders), 20
Party–mass service stations, and 3,000 residents' requests with their 收、办、评 event history
over the 12 months before
:data:`gridmap.settings.DEMO_REFERENCE_DATE`. It is pure data — no database is touched; the CLI
and the repository save the frames.

The street is laid out in a local transverse Mercator plane as a lattice of smoothly warped
vertices along an east–west valley with a side-valley spur, then projected to WGS 84. Each lattice
cell is one block and one grid, so grids share vertices and tile their community exactly — except
for the deliberate defects listed in :data:`DEMO_DEFECTS`, which the analysis modules are expected
to find (coverage gaps, overlaps, split buildings, grids without leader or branch, oversized and
undersized grids, a request hotspot, and an area out of reach of every service station).

The same seed always gives identical frames; nothing depends on the clock.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gridmap import settings
from gridmap.models import (
    AssigneeKind,
    MemberCategory,
    OrgKind,
    PersonRole,
    PlanStatus,
    RequestSource,
    RequestStatus,
    StationLevel,
)

__all__ = ["DEMO_DEFECTS", "HOTSPOT_CATEGORY", "STREET_CODE", "STREET_NAME", "build_demo"]

# --- the layout -------------------------------------------------------------------------------

STREET_CODE = settings.DEMO_STREET_CODE
STREET_NAME = settings.DEMO_STREET_NAME
#: Local metric plane the layout is built in (centred on the street, metres).
LOCAL_PROJ = (
    "+proj=tmerc +lat_0=32.635 +lon_0=110.785 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
)
CELL_W = 150.0  # metres, east–west size of a block (road centre to road centre)
CELL_H = 240.0  # metres, north–south

#: One letter per block, north row first; "." is hillside or river (no block).
#: Row 3 runs east into a side valley (the spur of 百二河社区, far from every station).
LAYOUT: tuple[str, ...] = (
    "...ABBCCDDEEFF......",
    ".AAABBCCDDEFFF......",
    "AAABBCCCDDEFFF......",
    "AABBBCCDDDEEFFGGGGGG",
    ".AABBCCDDEEGGGG.....",
    "....BCDDEEGG........",
)
COMMUNITY_NAMES: dict[str, str] = {
    "A": "东岳路社区",
    "B": "柏林路社区",
    "C": "人民路社区",
    "D": "车城西路社区",
    "E": "三堰社区",
    "F": "公园路社区",
    "G": "百二河社区",
}

# Deliberate defects, by (column, row) of LAYOUT. Pairs are (west block, east block).
_GAP_PAIRS = (((2, 3), (3, 3)), ((8, 3), (9, 3)))
_OVERLAP_PAIRS = (((1, 1), (2, 1)), ((9, 4), (10, 4)))
_SPLIT_PAIRS = (((5, 2), (6, 2)), ((12, 1), (13, 1)))
_FAR_CELLS = ((18, 3), (19, 3))
_OVER_CELLS = ((4, 1), (9, 1))
_UNDER_CELLS = ((5, 4), (10, 2))
_NO_LEADER_CELLS = ((3, 0), (12, 2))
_NO_BRANCH_CELLS = ((0, 3), (12, 4))
_HOTSPOT_CELL = (7, 4)
HOTSPOT_CATEGORY = "停车管理"
_GAP_COMPOUNDS = ("原粮食局家属院", "汽配厂老家属院")

#: The deliberate defects of the demo street (any seed), by grid and building code.
DEMO_DEFECTS: dict[str, list[str] | list[tuple[str, str]] | str] = {
    "gap_grids": ["420303001-002-07", "420303001-004-08"],
    "overlap_pairs": [
        ("420303001-001-02", "420303001-001-03"),
        ("420303001-005-07", "420303001-005-08"),
    ],
    "buildings_outside_grid": ["420303001-002-B0790", "420303001-004-B0890"],
    "buildings_split": ["420303001-003-B0591", "420303001-006-B0491"],
    "grids_without_leader": ["420303001-001-01", "420303001-006-07"],
    "grids_without_branch": ["420303001-001-08", "420303001-007-08"],
    "buildings_without_leader": ["420303001-002-B0301", "420303001-004-B0401"],
    "grids_over_norm": ["420303001-002-03", "420303001-004-04"],
    "grids_under_norm": ["420303001-003-10", "420303001-005-04"],
    "hotspot_grid": "420303001-004-10",
    "hotspot_category": HOTSPOT_CATEGORY,
    "far_from_station_grids": ["420303001-007-05", "420303001-007-06"],
}

# --- name pools -------------------------------------------------------------------------------

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力鹏斌宇浩凯俊峰丹玲燕飞鑫波"
    "宁林海云成志国东春梅琴晶欣婷雪亮龙晨"
)
_PHONE_PREFIXES = (
    *(f"13{d}" for d in range(10)),
    *(f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
    *(f"18{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
)
# fmt: off
_COMPOUND_PREFIXES = (
    "东岳", "柏林", "人民", "车城", "三堰", "五堰", "六堰", "花果", "朝阳", "东风",
    "汽配", "公园", "大岭", "张湾", "红卫", "柳林", "阳光", "幸福", "和谐", "锦绣",
    "丹江", "武当", "汉江", "北京路", "重庆路", "天津路", "上海路", "浙江路", "广东路", "发展",
    "建设", "新华", "兴隆", "金苑", "龙门", "桂园", "紫荆", "东方", "二汽", "车桥",
    "铸造", "百二河", "茅箭", "青年", "文化", "卫生",
)
# fmt: on
_COMPOUND_SUFFIXES = ("小区", "花园", "家属院", "苑", "新村", "公寓", "嘉园", "雅居")
_NONRES_KINDS = ("商业楼", "综合楼", "幼儿园", "农贸市场", "社区卫生服务站", "小学教学楼", "办公楼")
_WORK_UNITS = (
    "十堰市人民医院",
    "十堰市太和医院",
    "东风汽车有限公司",
    "东风商用车有限公司",
    "张湾区教育局",
    "张湾区人民法院",
    "十堰市自然资源和规划局",
    "湖北医药学院",
    "汉江师范学院",
    "十堰市第一中学",
    "国网十堰供电公司",
    "十堰市公安局张湾区分局",
    "中国银行十堰分行",
    "十堰市城市管理执法委员会",
    "张湾区卫生健康局",
    "国家税务总局十堰市张湾区税务局",
)

# --- buildings --------------------------------------------------------------------------------

# kind → (footprint share of its slot in u, in v)
_FOOTPRINT = {
    "walkup": (0.85, 0.45),
    "lowrise": (0.6, 0.4),
    "midrise": (0.8, 0.55),
    "highrise": (0.55, 0.75),
    "nonres": (0.85, 0.7),
}
_KINDS = tuple(_FOOTPRINT)
_KIND_P = {
    "normal": (0.55, 0.16, 0.10, 0.05, 0.14),
    "over": (0.35, 0.05, 0.25, 0.25, 0.10),
    "under": (0.30, 0.25, 0.0, 0.0, 0.45),
}

# --- members and requests ---------------------------------------------------------------------

_CATEGORY_P = {
    MemberCategory.resident: 0.30,
    MemberCategory.in_service: 0.24,
    MemberCategory.retired: 0.28,
    MemberCategory.floating: 0.06,
    MemberCategory.lost_contact: 0.03,
    MemberCategory.retired_cadre: 0.06,
    MemberCategory.unemployed: 0.03,
}
_REQUEST_CATEGORY_P = {
    "环境卫生": 0.16,
    "物业管理": 0.15,
    "市政设施": 0.12,
    "停车管理": 0.09,
    "噪音扰民": 0.08,
    "邻里纠纷": 0.08,
    "治安安全": 0.05,
    "养老助残": 0.08,
    "供水供暖": 0.08,
    "政策咨询": 0.11,
}
_OUTDOOR_CATEGORIES = ("环境卫生", "市政设施", "停车管理")
_DESCRIPTIONS = {
    "环境卫生": ("{p}垃圾清运不及时，有异味", "{p}楼道堆放杂物，需清理", "{p}绿化带内垃圾较多"),
    "物业管理": ("{p}电梯经常故障", "{p}物业服务不到位，门禁损坏", "{p}楼顶漏水，物业未处理"),
    "市政设施": ("{p}路灯不亮", "{p}道路破损，雨天积水", "{p}下水道井盖松动"),
    "停车管理": ("{p}车辆乱停乱放，堵塞消防通道", "{p}停车位不足，占道停车", "{p}电动车充电难"),
    "噪音扰民": ("{p}夜间广场舞噪音大", "{p}装修噪音扰民", "{p}商铺音响声音过大"),
    "邻里纠纷": ("{p}楼上漏水引发纠纷", "{p}邻居占用公共区域", "{p}宠物扰邻"),
    "治安安全": (
        "{p}单元门禁失灵，存在安全隐患",
        "{p}楼道电动车充电有火灾隐患",
        "{p}夜间有可疑人员",
    ),
    "养老助残": ("{p}独居老人需要上门探访", "{p}残疾人申请帮扶", "{p}高龄老人助餐需求"),
    "供水供暖": ("{p}停水未提前通知", "{p}水压不足", "{p}燃气管道有异味"),
    "政策咨询": ("{p}咨询医保缴费政策", "{p}咨询低保申请条件", "{p}咨询老旧小区改造政策"),
}
_REJECT_REASONS = (
    "不属于受理范围，已告知诉求人向相关部门反映",
    "重复诉求，已合并办理",
    "诉求内容不明确，多次联系诉求人未果",
    "属司法程序事项，已引导通过法律途径解决",
)
_RECEIVED_NOTE = {
    "inspection": "网格员巡查发现",
    "visit": "入户走访收集",
    "report": "居民上报",
    "hotline": "12345热线转办",
}
_RATING_NOTES = {
    1: ("问题没有解决", "处理太慢"),
    2: ("处理不及时", "只解决了一部分"),
    3: ("基本解决", "还可以"),
    4: ("处理及时", "比较满意"),
    5: ("非常满意，网格员很负责", "当天就解决了，点赞", "态度很好，办事高效"),
}
_SOURCE_P = {
    RequestSource.inspection: 0.20,
    RequestSource.visit: 0.20,
    RequestSource.report: 0.35,
    RequestSource.hotline: 0.25,
}
_N_REQUESTS = 3000
_N_MEMBERS = 2000


# --- small helpers ----------------------------------------------------------------------------


@dataclass
class _Cell:
    """One lattice block = one grid."""

    col: int
    row: int
    letter: str
    community: int  # 0-based community index
    grid_no: int  # 1-based within its community
    quad: np.ndarray  # (4, 2) metric corners p00, p10, p11, p01 (counter-clockwise)
    ring: list[np.ndarray] = field(default_factory=list)  # grid outline, metric
    role: str = "normal"  # "over" / "under" / "normal" (household target)

    @property
    def code(self) -> str:
        return f"{_community_code(self.community)}-{self.grid_no:02d}"

    def at(self, u: float | np.ndarray, v: float | np.ndarray) -> np.ndarray:
        """Map unit-square coordinates to the block's quadrilateral (bilinear)."""
        return _bilinear(self.quad, u, v)


def _community_code(index: int) -> str:
    return f"{STREET_CODE}-{index + 1:03d}"


def _bilinear(quad: np.ndarray, u: float | np.ndarray, v: float | np.ndarray) -> np.ndarray:
    u = np.asarray(u, dtype=float)[..., None]
    v = np.asarray(v, dtype=float)[..., None]
    return (
        (1 - u) * (1 - v) * quad[0]
        + u * (1 - v) * quad[1]
        + u * v * quad[2]
        + (1 - u) * v * quad[3]
    )


@functools.cache
def _transformer() -> Transformer:
    return Transformer.from_crs(LOCAL_PROJ, f"EPSG:{settings.STORAGE_SRID}", always_xy=True)


def _to_lonlat(xy: np.ndarray) -> np.ndarray:
    """Project local metric coordinates (..., 2) to WGS 84, rounded to COORDINATE_DECIMALS."""
    xy = np.asarray(xy, dtype=float)
    lon, lat = _transformer().transform(xy[..., 0], xy[..., 1])
    return np.round(np.stack([lon, lat], axis=-1), settings.COORDINATE_DECIMALS)


def _multi(polygons: Sequence[shapely.Polygon] | np.ndarray) -> np.ndarray:
    """Wrap each polygon in its own one-part MultiPolygon."""
    polygons = np.asarray(polygons, dtype=object)
    return shapely.multipolygons(polygons, indices=np.arange(len(polygons)))


def _nullable(values: Sequence[int | None]) -> pd.arrays.IntegerArray:
    return pd.array(list(values), dtype="Int64")


def _geoframe(columns: dict[str, object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry="geom", crs=f"EPSG:{settings.STORAGE_SRID}")


def _pick(rng: np.random.Generator, items: Sequence[object]) -> object:
    return items[int(rng.integers(len(items)))]


def _mask(name: str) -> str:
    """Mask a personal name for storage: 张*明, 李*."""
    return name[0] + "*" + (name[-1] if len(name) > 2 else "")


# --- geometry: lattice, blocks, grids ---------------------------------------------------------


def _lattice(rng: np.random.Generator) -> np.ndarray:
    """Vertices (ncols+1, nrows+1, 2) of the block lattice, smoothly warped, in metres."""
    ncols, nrows = len(LAYOUT[0]), len(LAYOUT)
    i, k = np.meshgrid(np.arange(ncols + 1), np.arange(nrows + 1), indexing="ij")
    x = (i - ncols / 2) * CELL_W
    y = (k - nrows / 2) * CELL_H
    ph = rng.uniform(0, 2 * np.pi, 5)
    dx = 16 * np.sin(2 * np.pi * x / 730 + ph[0]) * np.cos(2 * np.pi * y / 610 + ph[1])
    dx += 7 * np.sin(2 * np.pi * y / 330 + ph[2])
    dy = 22 * np.sin(2 * np.pi * x / 540 + ph[3]) + 9 * np.cos(2 * np.pi * (x + y) / 400 + ph[4])
    bend = 5e-5 * x**2 - 60  # the valley curves gently
    angle = np.deg2rad(rng.uniform(8, 14))  # and runs east-north-east
    xw, yw = x + dx, y + dy + bend
    xr = xw * np.cos(angle) - yw * np.sin(angle)
    yr = xw * np.sin(angle) + yw * np.cos(angle)
    return np.stack([xr, yr], axis=-1)


def _cells(rng: np.random.Generator) -> list[_Cell]:
    """The blocks of LAYOUT, ordered by community and grid number (= grid id order)."""
    vertices = _lattice(rng)
    nrows = len(LAYOUT)
    letters = sorted(COMMUNITY_NAMES)
    cells: list[_Cell] = []
    numbers = dict.fromkeys(letters, 0)
    for row, line in enumerate(LAYOUT):
        for col, letter in enumerate(line):
            if letter == ".":
                continue
            numbers[letter] += 1
            k = nrows - 1 - row
            quad = np.array(
                [
                    vertices[col, k],
                    vertices[col + 1, k],
                    vertices[col + 1, k + 1],
                    vertices[col, k + 1],
                ]
            )
            cells.append(_Cell(col, row, letter, letters.index(letter), numbers[letter], quad))
    cells.sort(key=lambda c: (c.community, c.grid_no))
    for cell in cells:
        cell.ring = [cell.quad[0], cell.quad[1], cell.quad[2], cell.quad[3]]
        if (cell.col, cell.row) in _OVER_CELLS:
            cell.role = "over"
        elif (cell.col, cell.row) in _UNDER_CELLS:
            cell.role = "under"
    return cells


def _cell_at(cells: list[_Cell], pos: tuple[int, int]) -> _Cell:
    return next(c for c in cells if (c.col, c.row) == pos)


def _cut_east_edge(west: _Cell, east: _Cell, points: list[np.ndarray], share: bool) -> None:
    """Replace the shared edge p10→p11 of ``west`` by a path through ``points``.

    With ``share`` the east block takes the same path (the boundary moves, no gap or overlap);
    otherwise only the west block changes (leaving a gap or making an overlap).
    """
    west.ring = [west.ring[0], west.ring[1], *points, west.ring[-2], west.ring[-1]]
    if share:
        east.ring = [*east.ring, *points[::-1]]  # ring ends at p01 of east = p11 of west


def _apply_defects(cells: list[_Cell]) -> None:
    """Cut gaps, add overlaps and move boundaries through buildings (see DEMO_DEFECTS)."""
    for west_pos, east_pos in _GAP_PAIRS:
        west, east = _cell_at(cells, west_pos), _cell_at(cells, east_pos)
        _cut_east_edge(west, east, [west.at(0.7, 0.3), west.at(0.7, 0.7)], share=False)
    for west_pos, east_pos in _OVERLAP_PAIRS:
        west, east = _cell_at(cells, west_pos), _cell_at(cells, east_pos)
        _cut_east_edge(west, east, [east.at(0.07, 0.2), east.at(0.07, 0.8)], share=False)
    for west_pos, east_pos in _SPLIT_PAIRS:
        west, east = _cell_at(cells, west_pos), _cell_at(cells, east_pos)
        _cut_east_edge(west, east, [west.at(0.73, 0.3), west.at(0.73, 0.7)], share=True)


# Regions (unit square of the west block) kept free of regular buildings near each defect.
_GAP_ZONE = shapely.Polygon([(1, 0), (0.7, 0.3), (0.7, 0.7), (1, 1)]).buffer(0.03)
_SPLIT_ZONE = shapely.Polygon([(1, 0), (0.73, 0.3), (0.73, 0.7), (1, 1)]).buffer(0.03)
_GAP_BUILDING_UV = (0.77, 0.93, 0.42, 0.58)
_SPLIT_BUILDING_UV = (0.61, 0.81, 0.44, 0.56)


# --- buildings --------------------------------------------------------------------------------


def _compound_names(rng: np.random.Generator) -> list[str]:
    names = [p + s for p in _COMPOUND_PREFIXES for s in _COMPOUND_SUFFIXES]
    order = rng.permutation(len(names))
    return [names[i] for i in order]


def _household_target(cell: _Cell, rng: np.random.Generator) -> int:
    if cell.role == "over":
        return int(rng.integers(720, 781))
    if cell.role == "under":
        return int(rng.integers(130, 171))
    return int(rng.integers(330, 481))


def _scale_households(base: np.ndarray, target: int) -> np.ndarray:
    """Scale base household counts to sum exactly to ``target`` (largest remainder)."""
    raw = base * target / base.sum()
    out = np.floor(raw).astype(int)
    remainder = target - out.sum()
    out[np.argsort(-(raw - out), kind="stable")[:remainder]] += 1
    return out


def _base_households(kind: str, rng: np.random.Generator) -> int:
    if kind == "walkup":
        return int(_pick(rng, (18, 24, 24, 24, 30, 36)))
    if kind == "lowrise":
        return int(rng.integers(6, 17))
    if kind == "midrise":
        return int(rng.integers(48, 73))
    if kind == "highrise":
        return int(rng.integers(88, 131))
    return 0


def _cell_buildings(cell: _Cell, rng: np.random.Generator, names: list[str]) -> list[dict]:
    """Buildings of one block: rows of slots inside the block, between its roads."""
    pos = (cell.col, cell.row)
    zone = None
    if pos in {w for w, _ in _GAP_PAIRS}:
        zone = _GAP_ZONE
    elif pos in {w for w, _ in _SPLIT_PAIRS}:
        zone = _SPLIT_ZONE.union(
            shapely.box(*np.take(_SPLIT_BUILDING_UV, [0, 2, 1, 3])).buffer(0.02)
        )
    n_u, n_v = 3, (5 if cell.role == "under" else int(rng.choice([6, 7])))
    du, dv = 0.8 / n_u, 0.8 / n_v
    n_compounds = 1 if n_v * n_u < 16 or rng.random() < 0.3 else 2
    compounds = [names.pop() for _ in range(n_compounds)]
    out: list[dict] = []
    for b in range(n_v):
        compound = compounds[min(b * n_compounds // n_v, n_compounds - 1)]
        for a in range(n_u):
            slot = b * n_u + a + 1
            forced = cell.role == "over" and slot <= 2
            kind = "highrise" if forced else str(rng.choice(_KINDS, p=_KIND_P[cell.role]))
            fu, fv = _FOOTPRINT[kind]
            cu = 0.1 + (a + 0.5) * du + rng.uniform(-0.04, 0.04) * du
            cv = 0.9 - (b + 0.5) * dv + rng.uniform(-0.04, 0.04) * dv  # north row first
            uv = (cu - fu * du / 2, cu + fu * du / 2, cv - fv * dv / 2, cv + fv * dv / 2)
            vacant = not forced and rng.random() < 0.04  # green space, car park
            base = _base_households(kind, rng)
            box = shapely.box(uv[0], uv[2], uv[1], uv[3])
            if vacant or (zone is not None and zone.intersects(box)):
                continue
            out.append(_building_row(cell, slot, kind, uv, base, compound))
    if zone is not None:
        special = _GAP_BUILDING_UV if zone is _GAP_ZONE else _SPLIT_BUILDING_UV
        slot = 90 if zone is _GAP_ZONE else 91
        compound = compounds[0]
        if zone is _GAP_ZONE:
            compound = _GAP_COMPOUNDS[[w for w, _ in _GAP_PAIRS].index(pos)]
        out.append(_building_row(cell, slot, "walkup", special, 30, compound))
    return out


def _building_row(
    cell: _Cell, slot: int, kind: str, uv: tuple[float, ...], base: int, compound: str
) -> dict:
    u0, u1, v0, v1 = uv
    corners = cell.at(np.array([u0, u1, u1, u0]), np.array([v0, v0, v1, v1]))
    return {
        "cell": cell,
        "slot": slot,
        "kind": kind,
        "uv": uv,
        "corners": corners,
        "base": base,
        "compound": compound,
        "code": f"{_community_code(cell.community)}-B{cell.grid_no:02d}{slot:02d}",
    }


def _buildings(cells: list[_Cell], rng: np.random.Generator) -> list[dict]:
    """All buildings, with households scaled to each block's target."""
    names = _compound_names(rng)
    buildings: list[dict] = []
    for cell in cells:
        rows = _cell_buildings(cell, rng, names)
        regular = [r for r in rows if r["slot"] != 90]
        base = np.array([r["base"] for r in regular], dtype=float)
        households = _scale_households(base, _household_target(cell, rng))
        for r, h in zip(regular, households, strict=True):
            r["households"] = int(h)
        for r in rows:
            if r["slot"] == 90:
                r["households"] = r["base"]
            r["residents"] = round(r["households"] * rng.uniform(2.3, 2.9))
        _name_buildings(rows, rng)
        buildings.extend(rows)
    return buildings


def _name_buildings(rows: list[dict], rng: np.random.Generator) -> None:
    numbers: dict[str, int] = {}
    for r in rows:
        if r["households"] > 0:
            numbers[r["compound"]] = numbers.get(r["compound"], 0) + 1
            r["name"] = f"{r['compound']}{numbers[r['compound']]}栋"
        else:
            r["name"] = f"{r['compound']}{_pick(rng, _NONRES_KINDS)}"


def _assign_to_grids(geoms: np.ndarray, grids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the grid holding the largest share of each geometry (-1 if none), and the share.

    Both inputs are metric geometries; for points the share is 1 where a grid contains them.
    """
    tree = shapely.STRtree(grids)
    gi, gj = tree.query(geoms, predicate="intersects")
    best = np.full(len(geoms), -1)
    share = np.zeros(len(geoms))
    if len(gi):
        area = shapely.area(geoms[gi])
        part = np.where(area > 0, shapely.area(shapely.intersection(geoms[gi], grids[gj])), 1.0)
        part = part / np.where(area > 0, area, 1.0)
        order = np.lexsort((gj, -part, gi))  # per geometry: largest share, then lowest grid
        first = np.unique(gi[order], return_index=True)[1]
        best[gi[order][first]] = gj[order][first]
        share[gi[order][first]] = part[order][first]
    return best, share


# --- people -----------------------------------------------------------------------------------


class _People:
    """Collects persons as they are needed; names and phones are drawn at the end."""

    def __init__(self) -> None:
        self.roles: list[list[str]] = []

    def add(self, *roles: PersonRole) -> int:
        self.roles.append([r.value for r in roles])
        return len(self.roles)

    def frame(self, rng: np.random.Generator) -> pd.DataFrame:
        n = len(self.roles)
        return pd.DataFrame(
            {
                "id": np.arange(1, n + 1),
                "name": _names(rng, n),
                "phone": [
                    _pick(rng, _PHONE_PREFIXES) + f"{int(d):08d}" for d in rng.integers(0, 10**8, n)
                ],
                "id_suffix": [
                    f"{int(d):03d}" + ("X" if x < 0.09 else str(int(x * 10) % 10))
                    for d, x in zip(rng.integers(0, 1000, n), rng.random(n), strict=True)
                ],
                "roles": [",".join(r) for r in self.roles],
            }
        )


def _names(rng: np.random.Generator, n: int) -> list[str]:
    """Realistic Chinese names: common surnames weighted by rank, one or two given characters."""
    weights = 1.0 / (np.arange(len(_SURNAMES)) + 4.0)
    surnames = rng.choice(list(_SURNAMES), size=n, p=weights / weights.sum())
    first = rng.integers(0, len(_GIVEN), n)
    second = rng.integers(0, len(_GIVEN), n)
    single = rng.random(n) < 0.3
    return [
        s + _GIVEN[f] + ("" if one else _GIVEN[g])
        for s, f, g, one in zip(surnames, first, second, single, strict=True)
    ]


# --- the build --------------------------------------------------------------------------------


@dataclass
class _Demo:
    """Everything built so far, shared by the build steps."""

    rng: np.random.Generator
    cells: list[_Cell]
    buildings: list[dict]
    grid_metric: np.ndarray  # shapely polygons, metric, index = grid id - 1
    people: _People = field(default_factory=_People)
    grid_leader: dict[int, int | None] = field(default_factory=dict)  # grid index → person
    grid_workers: dict[int, list[tuple[int, bool]]] = field(default_factory=dict)
    orgs: list[dict] = field(default_factory=list)
    branch_of_grid: dict[int, int] = field(default_factory=dict)  # grid index → org id
    committee_of: dict[int, int] = field(default_factory=dict)  # community index → org id
    members: list[dict] = field(default_factory=list)
    stations: list[dict] = field(default_factory=list)


def active_plans(n_communities: int) -> pd.DataFrame:
    """One active grid plan per community (ids 1…n, community ids 1…n), approved in March 2024.

    Shared by the demo street and the synthetic city (:mod:`gridmap.citygen`).
    """
    n = n_communities
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "community_id": np.arange(1, n + 1),
            "name": ["2024年网格划分方案"] * n,
            "status": [PlanStatus.active.value] * n,
            "created_by": _nullable([None] * n),
            "created_at": [dt.datetime(2024, 3, 1, 9, 0)] * n,
            "approved_by": _nullable([None] * n),
            "approved_at": [dt.datetime(2024, 3, 15, 10, 30)] * n,
            "note": ["按每格300–500户划分，支部建在网格上"] * n,
        }
    )


def _admin_frames(cells: list[_Cell]) -> dict[str, pd.DataFrame]:
    """street, community and grid_plan."""
    n_comm = len(COMMUNITY_NAMES)
    blocks = [shapely.Polygon(_to_lonlat(np.array(c.quad))) for c in cells]
    communities = [
        shapely.union_all([b for b, c in zip(blocks, cells, strict=True) if c.community == i])
        for i in range(n_comm)
    ]
    street = shapely.union_all(communities)
    letters = sorted(COMMUNITY_NAMES)
    return {
        "street": _geoframe(
            {"id": [1], "code": [STREET_CODE], "name": [STREET_NAME], "geom": _multi([street])}
        ),
        "community": _geoframe(
            {
                "id": np.arange(1, n_comm + 1),
                "street_id": np.ones(n_comm, dtype=int),
                "code": [_community_code(i) for i in range(n_comm)],
                "name": [COMMUNITY_NAMES[letter] for letter in letters],
                "geom": _multi(communities),
            }
        ),
        "grid_plan": active_plans(n_comm),
    }


def _staff(demo: _Demo) -> None:
    """Grid leaders and grid workers (1 full-time, 0–2 part-time members per grid)."""
    rng = demo.rng
    for g, cell in enumerate(demo.cells):
        workers: list[tuple[int, bool]] = []
        no_leader = (cell.col, cell.row) in _NO_LEADER_CELLS
        leader_works = not no_leader and rng.random() < 0.5
        roles = [PersonRole.grid_worker] + ([PersonRole.grid_leader] if leader_works else [])
        full_time = demo.people.add(*roles)
        workers.append((full_time, False))
        if no_leader:
            demo.grid_leader[g] = None
        elif leader_works:
            demo.grid_leader[g] = full_time
        else:
            demo.grid_leader[g] = demo.people.add(PersonRole.grid_leader)
        for _ in range(int(rng.choice([0, 1, 1, 2]))):
            workers.append((demo.people.add(PersonRole.grid_worker), True))
        demo.grid_workers[g] = workers


def _organisation(demo: _Demo) -> None:
    """Party organisations: working committee → committees → grid branches (+ joint branches)."""
    orgs = demo.orgs
    orgs.append(_org(1, None, OrgKind.working_committee, f"{STREET_NAME}党工委", None, None))
    letters = sorted(COMMUNITY_NAMES)
    for i, letter in enumerate(letters):
        org_id = len(orgs) + 1
        orgs.append(_org(org_id, 1, OrgKind.committee, f"{COMMUNITY_NAMES[letter]}党委", i, None))
        demo.committee_of[i] = org_id
    for g, cell in enumerate(demo.cells):
        if (cell.col, cell.row) in _NO_BRANCH_CELLS:
            continue
        org_id = len(orgs) + 1
        name = f"{COMMUNITY_NAMES[cell.letter]}第{cell.grid_no}网格党支部"
        orgs.append(
            _org(org_id, demo.committee_of[cell.community], OrgKind.branch, name, cell.community, g)
        )
        demo.branch_of_grid[g] = org_id
    for letter, what in (("C", "非公企业"), ("G", "沿街商户")):
        i = letters.index(letter)
        name = f"{COMMUNITY_NAMES[letter]}{what}联合党支部"
        orgs.append(_org(len(orgs) + 1, demo.committee_of[i], OrgKind.joint_branch, name, i, None))


def _org(
    org_id: int,
    parent: int | None,
    kind: OrgKind,
    name: str,
    community: int | None,
    grid: int | None,
) -> dict:
    return {
        "id": org_id,
        "parent_id": parent,
        "kind": kind.value,
        "name": name,
        "community_id": None if community is None else community + 1,
        "grid_id": None if grid is None else grid + 1,
    }


def _building_leaders_and_groups(demo: _Demo) -> None:
    """Building leaders for every building with households; 楼栋党小组 in the biggest buildings."""
    unled = set(DEMO_DEFECTS["buildings_without_leader"])
    by_grid: dict[int, list[dict]] = {}
    for b in demo.buildings:
        b["leader_id"] = None
        if b["households"] > 0 and b["code"] not in unled:
            b["leader_id"] = demo.people.add(PersonRole.building_leader)
        b["party_org_id"] = demo.branch_of_grid.get(b["grid"]) if b["grid"] >= 0 else None
        if b["grid"] >= 0:
            by_grid.setdefault(b["grid"], []).append(b)
    for g, rows in sorted(by_grid.items()):
        branch = demo.branch_of_grid.get(g)
        if branch is None:
            continue
        biggest = sorted(rows, key=lambda r: (-r["households"], r["code"]))
        for b in biggest[: 1 + int(demo.rng.random() < 0.4)]:
            org_id = len(demo.orgs) + 1
            cell = demo.cells[g]
            demo.orgs.append(
                _org(org_id, branch, OrgKind.group, f"{b['name']}党小组", cell.community, None)
            )
            b["party_org_id"] = org_id


def _members(demo: _Demo) -> None:
    """2,000 members: part-time grid workers, some building leaders, and other residents."""
    rng = demo.rng
    residential = [b for b in demo.buildings if b["households"] > 0 and b["grid"] >= 0]
    grid_of = np.array([b["grid"] for b in residential])
    weight = np.array([b["households"] for b in residential], dtype=float)
    joint = {o["community_id"] - 1: o["id"] for o in demo.orgs if o["kind"] == "joint_branch"}
    seeds: list[tuple[int, dict, list[MemberCategory]]] = []
    for g, workers in demo.grid_workers.items():
        in_grid = np.flatnonzero(grid_of == g)
        for person, part_time in workers:
            if part_time:
                b = residential[int(rng.choice(in_grid, p=weight[in_grid] / weight[in_grid].sum()))]
                cats = [MemberCategory.resident, MemberCategory.retired, MemberCategory.in_service]
                seeds.append((person, b, cats))
    led = [b for b in residential if b["leader_id"] is not None]
    for i in np.sort(rng.choice(len(led), size=len(led) // 4, replace=False)):
        cats = [MemberCategory.resident, MemberCategory.retired, MemberCategory.retired_cadre]
        seeds.append((led[i]["leader_id"], led[i], cats))
    n_new = _N_MEMBERS - len(seeds)
    picks = rng.choice(len(residential), size=n_new, p=weight / weight.sum())
    all_cats = list(_CATEGORY_P)
    cats_new = rng.choice(len(all_cats), size=n_new, p=list(_CATEGORY_P.values()))
    for pick, c in zip(picks, cats_new, strict=True):
        roles = [PersonRole.stairwell_leader] if rng.random() < 0.08 else []
        seeds.append((demo.people.add(*roles), residential[pick], [all_cats[c]]))
    for person, b, cats in seeds:
        category = cats[int(rng.integers(len(cats)))]
        org = demo.branch_of_grid.get(b["grid"], demo.committee_of[b["cell"].community])
        if rng.random() < 0.04:
            org = demo.committee_of[b["cell"].community]
        community = b["cell"].community
        roaming = category in (MemberCategory.floating, MemberCategory.in_service)
        if community in joint and roaming and rng.random() < 0.3:
            org = joint[community]
        demo.members.append(_member_row(len(demo.members) + 1, person, org, category, b, rng))


def _member_row(
    member_id: int,
    person: int,
    org: int,
    category: MemberCategory,
    b: dict,
    rng: np.random.Generator,
) -> dict:
    old = category in (MemberCategory.retired, MemberCategory.retired_cadre)
    start, end = (1965, 1998) if old else (1975, 2024)
    if category == MemberCategory.in_service:
        start = 1995
    joined = dt.date(int(rng.integers(start, end + 1)), int(rng.integers(1, 13)), 1)
    joined += dt.timedelta(days=int(rng.integers(0, 28)))
    registered, unit = None, None
    if category == MemberCategory.in_service:
        year = int(rng.integers(max(2015, joined.year + 1), 2026))
        registered = dt.date(year, int(rng.integers(1, 11)), 1)
        registered += dt.timedelta(days=int(rng.integers(0, 28)))
        unit = str(_pick(rng, _WORK_UNITS))
    status = "lost_contact" if category == MemberCategory.lost_contact else "active"
    return {
        "id": member_id,
        "person_id": person,
        "party_org_id": org,
        "category": category.value,
        "building_id": b["id"],
        "joined_on": joined,
        "registered_on": registered,
        "work_unit": unit,
        "status": status,
    }


def _stations(demo: _Demo) -> None:
    """20 stations; every one kept more than 1 km from the far blocks of the spur."""
    far = shapely.union_all([demo.grid_metric[_grid_index(demo, p)] for p in _FAR_CELLS])
    candidates = [b for b in demo.buildings if b["slot"] < 90 and b["grid"] >= 0]
    points = shapely.points([b["corners"].mean(axis=0) for b in candidates])
    allowed = shapely.distance(points, far) > 1050.0
    communities = np.array([b["cell"].community for b in candidates])
    chosen: list[tuple[int, StationLevel]] = []

    def nearest(target: shapely.Point, mask: np.ndarray) -> int:
        d = np.where(mask, shapely.distance(points, target), np.inf)
        return int(np.argmin(d))

    street_centre = shapely.centroid(shapely.union_all(demo.grid_metric))
    chosen.append((nearest(street_centre, allowed), StationLevel.street))
    for i in range(len(COMMUNITY_NAMES)):
        centre = shapely.centroid(
            shapely.union_all(
                [p for p, c in zip(demo.grid_metric, demo.cells, strict=True) if c.community == i]
            )
        )
        chosen.append((nearest(centre, allowed & (communities == i)), StationLevel.community))
    residential = np.array([b["households"] > 0 for b in candidates])
    while len(chosen) < 20:  # farthest-point sampling of compound points
        taken = points[[c for c, _ in chosen]]
        d = shapely.distance(points[:, None], taken[None, :]).min(axis=1)
        d = np.where(allowed & residential, d, -1.0)
        chosen.append((int(np.argmax(d)), StationLevel.compound))
    xy = np.array([shapely.get_coordinates(points[c])[0] for c, _ in chosen])
    lonlat = _to_lonlat(xy)
    letters = sorted(COMMUNITY_NAMES)
    for n, ((c, level), (lon, lat)) in enumerate(zip(chosen, lonlat, strict=True)):
        b = candidates[c]
        community = b["cell"].community
        if level == StationLevel.street:
            name, hours, comm_id = f"{STREET_NAME}党群服务中心", "周一至周日 8:30-17:30", None
        elif level == StationLevel.community:
            name = f"{COMMUNITY_NAMES[letters[community]]}党群服务站"
            hours, comm_id = "周一至周五 8:30-12:00 14:30-18:00", community + 1
        else:
            name = f"{b['compound']}党群服务点"
            hours = str(_pick(demo.rng, ("周一至周日 8:30-17:30", "周一至周六 9:00-17:00")))
            comm_id = community + 1
        demo.stations.append(
            {
                "id": n + 1,
                "community_id": comm_id,
                "name": name,
                "level": level.value,
                "geom": shapely.Point(lon, lat),
                "opening_hours": hours,
            }
        )


def _grid_index(demo: _Demo, pos: tuple[int, int]) -> int:
    return next(g for g, c in enumerate(demo.cells) if (c.col, c.row) == pos)


# --- requests ---------------------------------------------------------------------------------


def _request_places(demo: _Demo) -> dict[str, np.ndarray]:
    """Where and what: building or street location, category, source, receipt time."""
    rng = demo.rng
    n_hot = int(rng.integers(280, 321))
    n_base = _N_REQUESTS - n_hot
    b_all = demo.buildings
    hot_grid = _grid_index(demo, _HOTSPOT_CELL)
    hot_compound = next(b["compound"] for b in b_all if b["grid"] == hot_grid)
    hot_idx = np.array([i for i, b in enumerate(b_all) if b["compound"] == hot_compound])
    weight = np.array([b["households"] + 8.0 for b in b_all])

    outdoor = rng.random(n_base) < 0.15
    building = np.where(outdoor, -1, rng.choice(len(b_all), size=n_base, p=weight / weight.sum()))
    building = np.concatenate([building, rng.choice(hot_idx, size=n_hot)])
    cats = list(_REQUEST_CATEGORY_P)
    p_cat = np.array(list(_REQUEST_CATEGORY_P.values()))
    category = np.array(cats, dtype=object)[rng.choice(len(cats), size=n_base, p=p_cat)]
    outdoor_cat = np.array(_OUTDOOR_CATEGORIES, dtype=object)[rng.integers(0, 3, n_base)]
    category = np.concatenate(
        [np.where(outdoor, outdoor_cat, category), [HOTSPOT_CATEGORY] * n_hot]
    )
    sources = [s.value for s in _SOURCE_P]
    source = np.concatenate(
        [
            np.array(sources, dtype=object)[rng.choice(4, size=n_base, p=list(_SOURCE_P.values()))],
            np.array(sources, dtype=object)[rng.choice(4, size=n_hot, p=[0.1, 0.1, 0.45, 0.35])],
        ]
    )
    day = np.concatenate(
        [rng.integers(0, 365, n_base), 365 - np.ceil(180 * rng.random(n_hot) ** 0.7).astype(int)]
    )
    hour = np.clip(rng.normal(13.5, 3.6, _N_REQUESTS), 7, 22.9)
    received = day * 1440 + (hour * 60).astype(int)
    # a point: inside the building, or anywhere in a random block for street-level requests
    u, v = rng.random(_N_REQUESTS), rng.random(_N_REQUESTS)
    cell_of = rng.integers(0, len(demo.cells), _N_REQUESTS)
    xy = np.empty((_N_REQUESTS, 2))
    for r in range(_N_REQUESTS):
        if building[r] >= 0:
            b = b_all[building[r]]
            u0, u1, v0, v1 = b["uv"]
            xy[r] = b["cell"].at(
                u0 + (0.15 + 0.7 * u[r]) * (u1 - u0), v0 + (0.15 + 0.7 * v[r]) * (v1 - v0)
            )
        else:
            xy[r] = demo.cells[cell_of[r]].at(0.02 + 0.96 * u[r], 0.02 + 0.96 * v[r])
    order = np.argsort(received, kind="stable")
    return {
        "building": building[order],
        "category": category[order],
        "source": source[order],
        "received": received[order],
        "xy": xy[order],
    }


def _timeline(rng: np.random.Generator, received: np.ndarray, sla: np.ndarray) -> dict:
    """Minutes (from the start of the year of requests) of each step; ``inf`` if never."""
    n = len(received)
    now = 365 * 1440
    inf = np.inf
    rejected = rng.random(n) < 0.025
    t_reject = np.where(rejected, received + 30 + rng.exponential(300, n).astype(int), inf)
    delay = 10 + rng.lognormal(np.log(90), 0.8, n)
    backlog = (received > now - 7 * 1440) & (rng.random(n) < 0.3)
    delay += np.where(backlog, rng.uniform(2, 8, n) * 1440, 0)
    t_assign = np.where(rejected, inf, np.round(received + delay))
    escalate = ~rejected & (rng.random(n) < 0.07)
    stuck = ~rejected & (rng.random(n) < 0.02)
    escalate |= stuck & (rng.random(n) < 0.5)
    t_escalate = np.where(escalate, np.round(t_assign + rng.uniform(6, 48, n) * 60), inf)
    start = np.where(escalate, t_escalate, t_assign)
    work = np.maximum(30, rng.lognormal(np.log(0.45), 0.55, n) * sla * 60)
    work += np.where(stuck, rng.uniform(20, 150, n) * 1440, 0)
    t_resolve = np.where(rejected, inf, np.round(start + work))
    evaluates = ~rejected & (rng.random(n) < 0.9)
    t_evaluate = np.where(
        evaluates, np.round(t_resolve + 60 + rng.lognormal(np.log(1200), 0.9, n)), inf
    )
    steps = {
        "received": received.astype(float),
        "assigned": t_assign,
        "escalated": t_escalate,
        "resolved": t_resolve,
        "evaluated": t_evaluate,
        "rejected": t_reject,
    }
    return {k: np.where(t < now, t, inf) for k, t in steps.items()}


def _status(steps: dict[str, np.ndarray]) -> np.ndarray:
    status = np.full(len(steps["received"]), RequestStatus.received.value, dtype=object)
    for name in ("assigned", "escalated", "resolved", "evaluated", "rejected"):
        status = np.where(np.isfinite(steps[name]), name, status)
    return status


def _minutes_to_datetime(minutes: np.ndarray) -> pd.Series:
    start = np.datetime64(settings.DEMO_REFERENCE_DATE - dt.timedelta(days=365), "m")
    finite = np.isfinite(minutes)
    values = np.full(len(minutes), np.datetime64("NaT"), dtype="datetime64[m]")
    values[finite] = start + minutes[finite].astype("int64").astype("timedelta64[m]")
    return pd.Series(values.astype("datetime64[s]"))


def _requests(demo: _Demo) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """3,000 requests with their events."""
    rng = demo.rng
    place = _request_places(demo)
    n = len(place["received"])
    sla = np.array(
        [settings.REQUEST_SLA_HOURS.get(c, settings.DEFAULT_SLA_HOURS) for c in place["category"]],
        dtype=float,
    )
    steps = _timeline(rng, place["received"], sla)
    status = _status(steps)
    grid_polys = demo.grid_metric
    points_metric = shapely.points(place["xy"])
    grid, _ = _assign_to_grids(points_metric, grid_polys)
    building = place["building"]
    kind, assignee, actors = _assignees(demo, grid, steps, rng)
    rating = np.where(
        status == "evaluated", rng.choice(5, size=n, p=[0.03, 0.04, 0.1, 0.28, 0.55]) + 1, 0
    )
    note = [
        str(_pick(rng, _RATING_NOTES[int(r)])) if r and rng.random() < 0.4 else None for r in rating
    ]
    reporters = [_mask(s) for s in _names(rng, n)]
    where = [_place_name(demo, int(b), int(g)) for b, g in zip(building, grid, strict=True)]
    description = [
        str(_pick(rng, _DESCRIPTIONS[c])).format(p=w)
        for c, w in zip(place["category"], where, strict=True)
    ]
    received = _minutes_to_datetime(steps["received"])
    lonlat = _to_lonlat(place["xy"])
    ids = np.arange(1, n + 1)
    requests = _geoframe(
        {
            "id": ids,
            "code": [
                f"{STREET_CODE}-{t:%Y%m%d}-{i:04d}" for t, i in zip(received, ids, strict=True)
            ],
            "source": place["source"].astype(str),
            "category": place["category"].astype(str),
            "description": description,
            "geom": shapely.points(lonlat),
            "building_id": _nullable([int(b) + 1 if b >= 0 else None for b in building]),
            "grid_id": _nullable([int(g) + 1 if g >= 0 else None for g in grid]),
            "status": status.astype(str),
            "reporter": reporters,
            "assignee_kind": kind,
            "assignee_id": _nullable(assignee),
            "received_at": received,
            "due_at": _minutes_to_datetime(steps["received"] + sla * 60),
            "resolved_at": _minutes_to_datetime(
                np.where(np.isin(status, ["resolved", "evaluated"]), steps["resolved"], np.inf)
            ),
            "rating": _nullable([int(r) if r else None for r in rating]),
            "rating_note": note,
        }
    )
    return requests, _events(steps, actors, kind, rating, place["source"], rng)


def _place_name(demo: _Demo, building: int, grid: int) -> str:
    if building >= 0:
        return str(demo.buildings[building]["name"])
    if grid >= 0:
        cell = demo.cells[grid]
        return f"{COMMUNITY_NAMES[cell.letter]}第{cell.grid_no}网格路段"
    return f"{STREET_NAME}辖区路段"


def _assignees(
    demo: _Demo, grid: np.ndarray, steps: dict[str, np.ndarray], rng: np.random.Generator
) -> tuple[list[str | None], list[int | None], dict[str, list[int | None]]]:
    """Assignee of each request and the actor (a person) of each of its steps."""
    members_of: dict[int, list[dict]] = {}
    grid_of_building = [b["grid"] for b in demo.buildings]
    for m in demo.members:
        members_of.setdefault(grid_of_building[m["building_id"] - 1], []).append(m)
    kinds: list[str | None] = []
    ids: list[int | None] = []
    actors: dict[str, list[int | None]] = {k: [] for k in steps}
    draw = rng.random((len(grid), 4))
    for r, g in enumerate(grid):
        workers = [p for p, _ in demo.grid_workers.get(g, [])]
        worker = workers[int(draw[r, 1] * len(workers))] if workers else None
        leader = demo.grid_leader.get(g) if g >= 0 else None
        kind, who, person = None, None, None
        if np.isfinite(steps["assigned"][r]):
            if np.isfinite(steps["escalated"][r]):
                kind = AssigneeKind.street
            elif draw[r, 0] < 0.6 and worker is not None:
                kind, who, person = AssigneeKind.grid_worker, worker, worker
            elif draw[r, 0] < 0.75 and members_of.get(g):
                m = members_of[g][int(draw[r, 2] * len(members_of[g]))]
                kind, who, person = AssigneeKind.member, m["id"], m["person_id"]
            else:
                kind = AssigneeKind.department
        kinds.append(None if kind is None else kind.value)
        ids.append(who)
        actors["received"].append(worker if draw[r, 3] < 0.9 else None)
        actors["assigned"].append(leader if leader is not None else worker)
        actors["escalated"].append(leader if leader is not None else worker)
        actors["resolved"].append(person)
        actors["evaluated"].append(None)
        actors["rejected"].append(worker)
    return kinds, ids, actors


def _events(
    steps: dict[str, np.ndarray],
    actors: dict[str, list[int | None]],
    kind: list[str | None],
    rating: np.ndarray,
    source: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One request_event row per step reached, in time order within each request."""
    n = len(steps["received"])
    escalated = np.isfinite(steps["escalated"])
    previous = {
        "received": np.full(n, None, dtype=object),
        "assigned": np.full(n, "received", dtype=object),
        "escalated": np.full(n, "assigned", dtype=object),
        "resolved": np.where(escalated, "escalated", "assigned").astype(object),
        "evaluated": np.full(n, "resolved", dtype=object),
        "rejected": np.full(n, "received", dtype=object),
    }
    assign_note = {
        "grid_worker": "派单至网格员",
        "member": "党员领单",
        "department": "派至职能部门办理",
        "street": "派单至网格员",
        None: None,
    }
    notes = {
        "received": np.array([_RECEIVED_NOTE[s] for s in source], dtype=object),
        "assigned": np.array([assign_note[k] for k in kind], dtype=object),
        "escalated": np.full(n, "社区无法办结，上报街道协调", dtype=object),
        "resolved": np.full(n, "已办结，已回访诉求人", dtype=object),
        "evaluated": np.array([f"居民评价{int(r)}星" for r in rating], dtype=object),
        "rejected": np.array(
            [_REJECT_REASONS[i] for i in rng.integers(0, len(_REJECT_REASONS), n)], dtype=object
        ),
    }
    parts = []
    for order, name in enumerate(steps):
        reached = np.flatnonzero(np.isfinite(steps[name]))
        parts.append(
            pd.DataFrame(
                {
                    "request_id": reached + 1,
                    "minute": steps[name][reached],
                    "step": order,
                    "actor_id": _nullable([actors[name][i] for i in reached]),
                    "from_status": previous[name][reached],
                    "to_status": name,
                    "note": notes[name][reached],
                }
            )
        )
    events = pd.concat(parts, ignore_index=True)
    events = events.sort_values(["request_id", "minute", "step"], kind="stable").reset_index(
        drop=True
    )
    return pd.DataFrame(
        {
            "id": np.arange(1, len(events) + 1),
            "request_id": events["request_id"].to_numpy(),
            "at": _minutes_to_datetime(events["minute"].to_numpy()),
            "actor_id": events["actor_id"].array,
            "from_status": events["from_status"].to_numpy(),
            "to_status": events["to_status"].astype(str).to_numpy(),
            "note": events["note"].to_numpy(),
        }
    )


# --- frames -----------------------------------------------------------------------------------


def _grid_frames(demo: _Demo) -> dict[str, pd.DataFrame]:
    cells = demo.cells
    rings = [shapely.Polygon(_to_lonlat(np.array(c.ring))) for c in cells]
    n = len(cells)
    grid = _geoframe(
        {
            "id": np.arange(1, n + 1),
            "plan_id": [c.community + 1 for c in cells],
            "code": [c.code for c in cells],
            "name": [f"第{c.grid_no}网格" for c in cells],
            "geom": _multi(rings),
            "leader_id": _nullable([demo.grid_leader[g] for g in range(n)]),
            "party_org_id": _nullable([demo.branch_of_grid.get(g) for g in range(n)]),
            "version": np.ones(n, dtype=int),
        }
    )
    workers = [(g + 1, p, pt) for g in range(n) for p, pt in demo.grid_workers[g]]
    grid_worker = pd.DataFrame(
        {
            "id": np.arange(1, len(workers) + 1),
            "grid_id": [w[0] for w in workers],
            "person_id": [w[1] for w in workers],
            "part_time": [w[2] for w in workers],
        }
    )
    return {"grid": grid, "grid_worker": grid_worker}


def _building_frame(demo: _Demo) -> gpd.GeoDataFrame:
    bs = demo.buildings
    corners = _to_lonlat(np.array([b["corners"] for b in bs]))
    return _geoframe(
        {
            "id": [b["id"] for b in bs],
            "community_id": [b["cell"].community + 1 for b in bs],
            "code": [b["code"] for b in bs],
            "name": [b["name"] for b in bs],
            "geom": _multi(shapely.polygons(corners)),
            "households": [b["households"] for b in bs],
            "residents": [b["residents"] for b in bs],
            "leader_id": _nullable([b["leader_id"] for b in bs]),
            "party_org_id": _nullable([b["party_org_id"] for b in bs]),
            "grid_id": _nullable([b["grid"] + 1 if b["grid"] >= 0 else None for b in bs]),
        }
    )


def _org_frame(orgs: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(orgs)
    for col in ("parent_id", "community_id", "grid_id"):
        frame[col] = _nullable(list(frame[col].astype(object).where(frame[col].notna(), None)))
    return frame


def _member_frame(members: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(members)
    for col in ("joined_on", "registered_on", "work_unit"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    frame["party_org_id"] = _nullable(list(frame["party_org_id"]))
    frame["building_id"] = _nullable(list(frame["building_id"]))
    return frame


def build_demo(seed: int = settings.DEMO_SEED) -> dict[str, pd.DataFrame]:
    """Return every table's rows, keyed by table name, in an order that satisfies foreign keys.

    Parameters
    ----------
    seed : int
        Seed of the random generator; the same seed always gives identical frames.

    Returns
    -------
    dict[str, pandas.DataFrame]
        ``street``, ``community``, ``grid_plan``, ``person``, ``party_org``, ``grid``,
        ``grid_worker``, ``building``, ``service_station``, ``member``, ``member_zone``,
        ``request``, ``request_event``, ``member_point`` and ``organisation``, each
        with exactly its table's columns and explicit ids from 1.
        Geometry tables are GeoDataFrames (column ``geom``, EPSG:4326, MultiPolygon areas and
        Point locations). ``party_org.grid_id`` and ``grid.party_org_id`` refer to each other;
        save both tables in one transaction with deferred foreign-key checks.
    """
    rng = np.random.default_rng(seed)
    cells = _cells(rng)
    _apply_defects(cells)
    grid_metric = np.array([shapely.Polygon(np.array(c.ring)) for c in cells], dtype=object)
    buildings = _buildings(cells, rng)
    polys = shapely.polygons(np.array([b["corners"] for b in buildings]))
    best, _ = _assign_to_grids(polys, grid_metric)
    for i, (b, g) in enumerate(zip(buildings, best, strict=True)):
        b["id"], b["grid"] = i + 1, int(g)
    demo = _Demo(rng=rng, cells=cells, buildings=buildings, grid_metric=grid_metric)
    _staff(demo)
    _organisation(demo)
    _building_leaders_and_groups(demo)
    _members(demo)
    _stations(demo)
    requests, events = _requests(demo)
    frames = _admin_frames(cells)
    grids = _grid_frames(demo)
    # A second generator for the later columns, so the first one's stream (and with it every
    # street, building and request above) stays as it was.
    extra = np.random.default_rng([seed, 2])
    members = _member_extras(_member_frame(demo.members), extra)
    tables = {
        "street": frames["street"],
        "community": frames["community"],
        "grid_plan": frames["grid_plan"],
        "person": demo.people.frame(rng),
        "party_org": _org_frame(demo.orgs),
        "grid": grids["grid"],
        "grid_worker": grids["grid_worker"],
        "building": _building_frame(demo),
        "service_station": _geoframe(
            {k: [s[k] for s in demo.stations] for k in demo.stations[0]}
        ).assign(community_id=lambda f: _nullable(list(f["community_id"]))),
        "member": members,
        "member_zone": _member_zones(members, demo, extra),
        "request": _request_extras(requests, extra),
        "request_event": events,
        "member_point": _member_points(members, requests, extra),
    }
    tables["building"] = _building_extras(tables["building"], extra)
    # A third generator for the organisations (两新组织), so every table above stays as it was.
    tables["organisation"] = _organisations(tables, np.random.default_rng([seed, 3]))
    return tables


_SPECIALTIES = (
    "法律咨询", "水电维修", "医疗保健", "心理疏导", "文艺宣传", "教育辅导", "政策宣讲", "家电维修",
    "助老服务", "环境整治", "矛盾调解", "电脑技术",
)  # fmt: skip


def _member_extras(members: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Volunteer specialties (about a third of members) and the last known contact of lost-
    contact (1–6 years ago) and floating (1–18 months ago) members."""
    n = len(members)
    count = np.where(rng.random(n) < 0.35, rng.integers(1, 3, size=n), 0)
    picks = [rng.choice(len(_SPECIALTIES), size=k, replace=False) for k in count]
    specialties = [",".join(_SPECIALTIES[i] for i in sorted(p)) if len(p) else None for p in picks]
    days_ago = np.where(
        members["category"] == MemberCategory.lost_contact.value,
        rng.integers(365, 6 * 365, size=n),
        rng.integers(30, 540, size=n),
    )
    roaming = members["category"].isin(
        [MemberCategory.lost_contact.value, MemberCategory.floating.value]
    )
    contact = [
        settings.DEMO_REFERENCE_DATE - dt.timedelta(days=int(d)) if r else None
        for d, r in zip(days_ago, roaming, strict=True)
    ]
    return members.assign(
        specialties=pd.Series(specialties, dtype=object),
        last_contact_on=pd.Series(contact, dtype=object),
    )


def _member_zones(members: pd.DataFrame, demo: _Demo, rng: np.random.Generator) -> pd.DataFrame:
    """党员责任区: a quarter of the active members each look after 1–3 buildings of their own
    grid, starting with the one they live in."""
    by_grid: dict[int, list[int]] = {}
    grid_of_building = {}
    for b in demo.buildings:
        if b["households"] > 0 and b["grid"] >= 0:
            by_grid.setdefault(b["grid"], []).append(b["id"])
            grid_of_building[b["id"]] = b["grid"]
    active = members[(members["status"] == "active") & members["building_id"].notna()]
    chosen = active[rng.random(len(active)) < 0.25]
    rows: list[tuple[int, int]] = []
    for member_id, home in zip(chosen["id"], chosen["building_id"], strict=True):
        neighbours = [b for b in by_grid[grid_of_building[int(home)]] if b != int(home)]
        extra = rng.choice(neighbours, size=min(len(neighbours), int(rng.integers(0, 3))),
                           replace=False)  # fmt: skip
        rows.extend((int(member_id), int(b)) for b in [int(home), *sorted(extra)])
    frame = pd.DataFrame(rows, columns=["member_id", "building_id"])
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _request_extras(requests: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Where handled requests were decided (楼栋听事、小区议事、社区决事) and the 12345 work
    order numbers of hotline requests."""
    n = len(requests)
    done = requests["status"].isin(["resolved", "evaluated"]).to_numpy()
    level = rng.choice(["building", "compound", "community"], size=n, p=[0.55, 0.3, 0.15])
    hotline = (requests["source"] == "hotline").to_numpy()
    serial = rng.permutation(900_000)[:n] + 100_000
    external = [
        f"12345-{t:%Y%m%d}-{k:06d}" if h else None
        for t, k, h in zip(requests["received_at"], serial, hotline, strict=True)
    ]
    return requests.assign(
        decision_level=pd.Series(np.where(done, level, None), dtype=object),
        external_id=pd.Series(external, dtype=object),
        address=pd.Series([None] * n, dtype=object),
    )


def _member_points(
    members: pd.DataFrame, requests: gpd.GeoDataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """党员积分 of the last 12 months under the rules of :mod:`gridmap.settings`: points for every
    request a member resolved, study sessions and activities (a few a year), and dues paid in
    each of the last three months by most active members."""
    ref = dt.datetime.combine(settings.DEMO_REFERENCE_DATE, dt.time(18, 0))
    rows: list[tuple[int, dt.datetime, str, int, object, object]] = []
    handled = requests[
        (requests["assignee_kind"] == "member") & requests["status"].isin(["resolved", "evaluated"])
    ]
    for member_id, at, request_id in zip(
        handled["assignee_id"], handled["resolved_at"], handled["id"], strict=True
    ):
        rows.append((int(member_id), pd.Timestamp(at).to_pydatetime(), "request",
                     settings.MEMBER_POINTS["request"], int(request_id), None))  # fmt: skip
    active = members[members["status"] == "active"]["id"].to_numpy()
    for kind, most, note in (("study", 6, "“三会一课”学习"), ("activity", 4, "志愿服务活动")):
        counts = rng.integers(0, most + 1, size=len(active))
        for member_id, n in zip(active, counts, strict=True):
            for day in np.sort(rng.integers(1, 365, size=n)):
                at = ref - dt.timedelta(days=int(day), hours=int(rng.integers(0, 9)))
                rows.append((int(member_id), at, kind, settings.MEMBER_POINTS[kind], None, note))
    paying = active[rng.random(len(active)) < 0.9]
    for months_ago in (2, 1, 0):
        month = (ref.replace(day=1) - dt.timedelta(days=31 * months_ago)).replace(day=5, hour=9)
        rows.extend((int(m), month, "dues", settings.MEMBER_POINTS["dues"], None, "按时交纳党费")
                    for m in paying)  # fmt: skip
    rows.sort(key=lambda r: (r[1], r[0], r[2]))
    frame = pd.DataFrame(rows, columns=["member_id", "at", "kind", "points", "request_id", "note"])
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    frame["request_id"] = _nullable(list(frame["request_id"]))
    return frame


#: What the demo's non-residential buildings are used for, by the end of their name.
_NONRES_USE = {
    "商业楼": "commercial",
    "综合楼": "mixed",
    "幼儿园": "public",
    "农贸市场": "commercial",
    "社区卫生服务站": "public",
    "小学教学楼": "public",
    "办公楼": "office",
}
#: The community of the demo's one new compound (2023) without reserved activity space.
NEW_COMPOUND_COMMUNITY = "420303001-006"  # holds the new compound without space


def _building_extras(buildings: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Building use (from the name of non-residential buildings), and for residential
    compounds a completion year (1985–2016, a few 2019–2022 with activity space reserved) —
    plus one compound completed in 2023 with no activity space reserved."""
    names = buildings["name"].astype(str)
    kind = pd.Series("residential", index=buildings.index, dtype=object)
    for suffix, use in _NONRES_USE.items():
        kind[(buildings["households"] == 0) & names.str.endswith(suffix)] = use
    compound = names.str.replace(r"\d+栋$", "", regex=True).where(kind == "residential")
    compounds = sorted(compound.dropna().unique())
    years = dict(zip(compounds, rng.integers(1985, 2017, size=len(compounds)), strict=True))
    newer = rng.choice(len(compounds), size=4, replace=False)
    for i in newer:
        years[compounds[i]] = int(rng.integers(2019, 2023))
    in_community = buildings["code"].str.startswith(NEW_COMPOUND_COMMUNITY)
    candidates = sorted(compound[in_community & compound.notna()].unique())
    newest = candidates[int(rng.integers(len(candidates)))]
    years[newest] = 2023
    year = compound.map(years)
    reserved = pd.Series([None] * len(buildings), index=buildings.index, dtype=object)
    recent = year >= 2019
    reserved[recent] = True
    reserved[compound == newest] = False
    return buildings.assign(
        kind=kind,
        completion_year=_nullable([None if pd.isna(y) else int(y) for y in year]),
        activity_space_reserved=reserved,
    )


# --- organisations (两新组织) and blind spots ---------------------------------------------------

#: The community whose commercial, office and mixed-use buildings form the demo's office and
#: commercial quarter (人民路社区, with its 非公企业联合党支部).
QUARTER_COMMUNITY = "420303001-003"
#: The community of the one uncovered social organisation outside the quarter.
_ELSEWHERE_DEFECT_COMMUNITY = "420303001-005"
#: Name template and kind of the demo's organisations, by industry.
_ORG_TEMPLATES: dict[str, tuple[str, str]] = {
    "汽车零部件": ("十堰{}汽车零部件有限公司", "enterprise"),
    "电子商务": ("十堰{}电子商务有限公司", "enterprise"),
    "物流快递": ("十堰{}物流有限公司", "enterprise"),
    "餐饮": ("十堰{}餐饮管理有限公司", "enterprise"),
    "商贸零售": ("十堰{}商贸有限公司", "enterprise"),
    "信息技术": ("十堰{}网络科技有限公司", "enterprise"),
    "文化传媒": ("十堰{}文化传媒有限公司", "enterprise"),
    "咨询服务": ("十堰{}企业管理咨询有限公司", "enterprise"),
    "医疗健康": ("十堰{}口腔诊所", "enterprise"),
    "法律服务": ("湖北{}律师事务所", "social"),
    "社会工作": ("十堰市{}社会工作服务中心", "social"),
    "教育培训": ("十堰市张湾区{}培训学校", "social"),
}
_OFFICE_INDUSTRIES = ("信息技术", "电子商务", "文化传媒", "咨询服务", "法律服务", "社会工作",
                      "教育培训", "汽车零部件")  # fmt: skip
_SHOP_INDUSTRIES = ("餐饮", "商贸零售", "物流快递", "医疗健康", "电子商务", "教育培训")
_BRANDS = (
    "华泰", "金桥", "恒通", "汉江", "武当", "博远", "新元", "东成", "瑞丰", "安和", "德润", "宏图",
    "天诚", "百川", "众合", "卓越", "锦程", "通达", "嘉禾", "盛世", "鼎新", "永兴", "康宁", "启航",
    "聚力", "远景", "和信", "同心", "长青", "优创", "智联", "广益", "诚信", "方圆", "美佳", "合众",
)  # fmt: skip
#: The deliberate blind spots, in code order (O001…): industry, brand, employees, members,
#: coverage and where (anchor: a quarter building; near1/near2: its two nearest quarter
#: buildings; far: the quarter building farthest from it; elsewhere: an office building of
#: _ELSEWHERE_DEFECT_COMMUNITY).
_DEFECT_ORGS: tuple[tuple[str, str, int, int, str, str], ...] = (
    ("汽车零部件", "鑫达", 48, 5, "none", "far"),  # ≥ 3 members, no branch of its own
    ("电子商务", "云途", 12, 1, "none", "anchor"),  # small, uncovered: joint branch proposed
    ("物流快递", "速达", 9, 2, "liaison", "near1"),  # small, liaison only: not enough
    ("商贸零售", "优品", 6, 0, "none", "near2"),  # no members, no liaison
    ("法律服务", "明德", 8, 1, "none", "far"),  # small, uncovered, no similar neighbour
    ("餐饮", "楚风", 35, 4, "joint_branch", "anchor"),  # ≥ 3 members only in a joint branch
    ("社会工作", "暖阳", 7, 0, "none", "elsewhere"),  # social organisation outside the quarter
)

DEMO_DEFECTS["organisations_uncovered"] = [
    *(f"{QUARTER_COMMUNITY}-O{i:03d}" for i in range(1, 7)),
    f"{_ELSEWHERE_DEFECT_COMMUNITY}-O001",
]
#: For the default seed (building uses and compound names follow the drawn building names):
#: the buildings holding those organisations (all commercial, office or mixed-use), and the
#: one compound completed in 2023 without Party–mass activity space (see _building_extras).
DEMO_DEFECTS["blind_spot_buildings"] = [
    "420303001-003-B0413",
    "420303001-003-B0415",
    "420303001-003-B0702",
    "420303001-003-B1208",
    "420303001-005-B0314",
]
DEMO_DEFECTS["compound_without_activity_space"] = ["五堰嘉园"]
#: The one joint branch proposed for the quarter's small uncovered firms (adjacent, similar).
DEMO_DEFECTS["joint_branch_proposal"] = [f"{QUARTER_COMMUNITY}-O{i:03d}" for i in (2, 3, 4)]


def _org_places(buildings: gpd.GeoDataFrame) -> dict[str, int]:
    """Positions (in ``buildings``) of the defect organisations' buildings."""
    metric = buildings.to_crs(buildings.estimate_utm_crs())
    use = metric["kind"].isin(["commercial", "office", "mixed"])
    quarter = np.flatnonzero((use & metric["code"].str.startswith(QUARTER_COMMUNITY)).to_numpy())
    geoms = np.asarray(metric.geometry.values, dtype=object)[quarter]
    dist = shapely.distance(geoms[:, None], geoms[None, :])
    close = (dist <= 0.75 * settings.ORG_ADJACENT_M).sum(axis=1)
    anchor = int(np.argmax(close))  # the first with the most close neighbours
    nearest = np.argsort(dist[anchor], kind="stable")
    other = metric["code"].str.startswith(_ELSEWHERE_DEFECT_COMMUNITY) & (
        metric["kind"] == "office"
    )
    return {
        "anchor": int(quarter[anchor]),
        "near1": int(quarter[nearest[1]]),
        "near2": int(quarter[nearest[2]]),
        "far": int(quarter[int(np.argmax(dist[anchor]))]),
        "elsewhere": int(np.flatnonzero(other.to_numpy())[0]),
    }


def _organisations(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> pd.DataFrame:
    """The office and commercial quarter's firms and social organisations (plus a few
    elsewhere): mostly covered by their rule, with the blind spots of :data:`_DEFECT_ORGS`."""
    buildings = tables["building"]
    orgs = tables["party_org"]
    joint = {
        int(c): int(i)
        for c, i in zip(
            orgs.loc[orgs["kind"] == OrgKind.joint_branch.value, "community_id"],
            orgs.loc[orgs["kind"] == OrgKind.joint_branch.value, "id"],
            strict=True,
        )
    }
    grid_code = dict(zip(tables["grid"]["id"], tables["grid"]["code"], strict=True))
    workers = tables["grid_worker"].assign(community=lambda f: f["grid_id"].map(grid_code).str[:13])
    liaisons = {
        c: sorted(set(f["person_id"]))[:3] for c, f in workers.groupby("community", sort=True)
    }
    rows: list[dict] = []
    counter: dict[str, int] = {}

    def add(pos: int, industry: str, brand: str, employees: int, members: int, coverage: str,
            party_org: int | None = None, liaison: int | None = None) -> None:  # fmt: skip
        community = str(buildings["code"].iloc[pos])[:13]
        counter[community] = counter.get(community, 0) + 1
        template, kind = _ORG_TEMPLATES[industry]
        rows.append(
            {
                "community_id": int(buildings["community_id"].iloc[pos]),
                "building_id": int(buildings["id"].iloc[pos]),
                "code": f"{community}-O{counter[community]:03d}",
                "name": template.format(brand),
                "kind": kind,
                "industry": industry,
                "employees": int(employees),
                "members": int(members),
                "coverage": coverage,
                "party_org_id": party_org,
                "liaison_id": liaison,
            }
        )

    places = _org_places(buildings)
    for industry, brand, employees, members, coverage, where in _DEFECT_ORGS:
        community = str(buildings["code"].iloc[places[where]])[:13]
        party_org = joint.get(int(buildings["community_id"].iloc[places[where]]))
        add(places[where], industry, brand, employees, members, coverage,
            party_org if coverage == "joint_branch" else None,
            liaisons[community][0] if coverage == "liaison" else None)  # fmt: skip

    use = buildings["kind"].isin(["commercial", "office", "mixed"]).to_numpy()
    in_quarter = buildings["code"].str.startswith(QUARTER_COMMUNITY).to_numpy()
    quarter = list(np.flatnonzero(use & in_quarter))
    others = np.flatnonzero(use & ~in_quarter)
    elsewhere = sorted(rng.choice(others, size=min(12, len(others)), replace=False).tolist())
    brands = iter(rng.permutation(len(_BRANDS)).tolist() * 4)
    places_list = [p for p in quarter for _ in range(int(rng.integers(1, 4)))] + elsewhere
    for pos in places_list:
        community = str(buildings["code"].iloc[pos])[:13]
        pool = _OFFICE_INDUSTRIES if buildings["kind"].iloc[pos] == "office" else _SHOP_INDUSTRIES
        industry = str(pool[int(rng.integers(len(pool)))])
        employees = max(2, int(np.exp(rng.normal(2.3, 0.8))))
        members = int(rng.binomial(employees, 0.07))
        party_org = joint.get(int(buildings["community_id"].iloc[pos]))
        if 0 < members < settings.BRANCH_MIN_MEMBERS and party_org is None:
            members = 0  # no joint branch nearby: its members' relations sit elsewhere
        if members >= settings.BRANCH_MIN_MEMBERS:
            coverage, party_org, liaison = "own_branch", None, None
        elif members > 0 or (party_org is not None and rng.random() < 0.3):
            coverage, liaison = "joint_branch", None
        else:
            pick = liaisons[community]
            coverage, party_org, liaison = "liaison", None, int(pick[int(rng.integers(len(pick)))])
        add(pos, industry, _BRANDS[next(brands)], employees, members, coverage, party_org, liaison)

    frame = pd.DataFrame(rows).sort_values("code", kind="stable").reset_index(drop=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    frame["party_org_id"] = _nullable(list(frame["party_org_id"]))
    frame["liaison_id"] = _nullable(list(frame["liaison_id"]))
    return frame
