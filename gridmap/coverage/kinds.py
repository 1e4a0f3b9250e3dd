"""What a coverage problem is: its kinds (with label and map colour) and its columns."""

from __future__ import annotations

from gridmap.i18n import pair

#: Every problem kind, in display order: code → (中文, English, colour).
PROBLEM_KINDS: dict[str, tuple[str, str, str]] = {
    "gap": (*pair("网格未覆盖区域"), "#e31a1c"),
    "gap_sliver": (*pair("细小缝隙"), "#fb9a99"),
    "overlap": (*pair("网格重叠", "problem kinds"), "#ff7f00"),
    "overlap_sliver": (*pair("细小重叠"), "#fdbf6f"),
    "outside_community": (*pair("网格超出社区边界"), "#6a3d9a"),
    "invalid_coverage": (*pair("网格边界不吻合"), "#cab2d6"),
    "building_unassigned": (*pair("楼栋不在任何网格"), "#b15928"),
    "building_mostly_outside": (*pair("楼栋大部分在网格外"), "#d95f02"),
    "building_split": (*pair("楼栋跨网格"), "#e7298a"),
    "grid_no_leader": (*pair("网格未配网格长"), "#1f78b4"),
    "grid_no_branch": (*pair("网格未建党组织"), "#a6cee3"),
    "building_no_leader": (*pair("楼栋未配楼栋长"), "#33a02c"),
    "grid_too_small": (*pair("网格户数偏少"), "#b2df8a"),
    "grid_too_large": (*pair("网格户数偏多"), "#08519c"),
    "beyond_reach": (*pair("服务半径外住户"), "#f781bf"),
    # Blind spots (gridmap.blindspots), only when check_coverage is given organisations:
    "org_uncovered": (*pair("两新组织未覆盖"), "#d73027"),
    "blind_spot_building": (*pair("党建盲区楼宇", "problem kinds"), "#8c2d04"),
    "compound_no_activity_space": (*pair("新建小区未配建党群活动场所", "problem kinds"), "#4d9221"),
}


#: Columns of :attr:`CoverageReport.problems` (plus the geometry column ``geom``).
PROBLEM_COLUMNS: tuple[str, ...] = (
    "kind",
    "label",
    "community_id",
    "community_code",
    "grid_id",
    "grid_code",
    "other_grid_code",
    "building_id",
    "building_code",
    "area_m2",
    "households",
    "share",
    "distance_m",
    "detail",
    "detail_en",
)
