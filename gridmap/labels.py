"""User-facing names of layers, fields and enum values: Chinese first, English on request.

The CLI, the maps and the app all take their words from here, so a term reads the same
everywhere and matches the glossary of DESIGN.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

Language = Literal["zh", "en"]

#: (中文, English) for every table, column and enum value shown to users.
LABELS: dict[str, tuple[str, str]] = {
    # layers
    "street": ("街道", "Street"),
    "community": ("社区", "Community"),
    "grid_plan": ("网格划分方案", "Grid plan"),
    "grid": ("网格", "Grid"),
    "grid_worker": ("网格员配置", "Grid workers"),
    "building": ("楼栋", "Building"),
    "service_station": ("党群服务站(点)", "Service station"),
    "party_org": ("党组织", "Party organisation"),
    "person": ("人员", "Person"),
    "member": ("党员", "Party member"),
    "request": ("诉求", "Request"),
    "request_event": ("诉求流转记录", "Request event"),
    "user": ("用户", "User"),
    "audit_log": ("操作日志", "Audit log"),
    # headline figures and summary columns
    "communities": ("社区数", "Communities"),
    "grids": ("网格数", "Grids"),
    "buildings": ("楼栋数", "Buildings"),
    "households": ("户数", "Households"),
    "estimated_households": ("其中估算户数", "Of which estimated"),
    "households_estimated": ("户数为估算", "Households estimated"),
    "residents_estimated": ("人口为估算", "Residents estimated"),
    "residents": ("人口", "Residents"),
    "members": ("党员数", "Party members"),
    "stations": ("党群服务站(点)", "Service stations"),
    "open_requests": ("未办结诉求", "Open requests"),
    "code": ("编码", "Code"),
    "name": ("名称", "Name"),
    "leader": ("网格长", "Grid leader"),
    "building_leader": ("楼栋长", "Building leader"),
    "branch": ("党组织", "Party branch"),
    "none": ("无", "none"),
    # problem tables (gridmap.coverage.TABLE_COLUMNS)
    "kind": ("类型代码", "Kind"),
    "label": ("问题类型", "Problem"),
    "community_code": ("社区编码", "Community code"),
    "grid_code": ("网格编码", "Grid code"),
    "other_grid_code": ("相关网格", "Other grid"),
    "building_code": ("楼栋编码", "Building code"),
    "area_m2": ("面积(平方米)", "Area (m²)"),
    "share": ("占比", "Share"),
    "distance_m": ("距离(米)", "Distance (m)"),
    "detail": ("说明", "Detail"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "score": ("综合得分", "Score"),
    # units
    "unit_households": ("户", "households"),
    "unit_people": ("人", "people"),
    "unit_count": ("个", ""),
    # base maps
    "basemap_none": ("无底图(离线)", "No base map (offline)"),
    "basemap_osm": ("OpenStreetMap", "OpenStreetMap"),
    "basemap_tianditu": ("天地图", "Tianditu"),
}


def label(key: str, lang: Language = "zh") -> str:
    """The user-facing name of ``key`` in ``lang``; the key itself when it has none."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def localise_columns(table: pd.DataFrame, lang: Language = "zh") -> pd.DataFrame:
    """The table with its column names in ``lang`` (unknown columns keep their names)."""
    return table.rename(columns={c: label(c, lang) for c in table.columns})


def bilingual(key: str) -> str:
    """``中文 / English`` for messages read by both kinds of user (CLI output)."""
    zh, en = LABELS.get(key, (key, key))
    return zh if zh == en else f"{zh} / {en}"
