"""What a coverage problem is: its kinds (with label and map colour) and its columns."""

from __future__ import annotations

#: Every problem kind, in display order: code → (中文, English, colour).
PROBLEM_KINDS: dict[str, tuple[str, str, str]] = {
    "gap": ("网格未覆盖区域", "Gap in grid coverage", "#e31a1c"),
    "gap_sliver": ("细小缝隙", "Sliver gap", "#fb9a99"),
    "overlap": ("网格重叠", "Overlapping grids", "#ff7f00"),
    "overlap_sliver": ("细小重叠", "Sliver overlap", "#fdbf6f"),
    "outside_community": ("网格超出社区边界", "Grid outside its community", "#6a3d9a"),
    "invalid_coverage": ("网格边界不吻合", "Grid edges do not match", "#cab2d6"),
    "building_unassigned": ("楼栋不在任何网格", "Building in no grid", "#b15928"),
    "building_mostly_outside": (
        "楼栋大部分在网格外",
        "Building mostly outside every grid",
        "#d95f02",
    ),
    "building_split": ("楼栋跨网格", "Building split across grids", "#e7298a"),
    "grid_no_leader": ("网格未配网格长", "Grid without a grid leader", "#1f78b4"),
    "grid_no_branch": ("网格未建党组织", "Grid without a Party branch or group", "#a6cee3"),
    "building_no_leader": ("楼栋未配楼栋长", "Building without a building leader", "#33a02c"),
    "grid_too_small": ("网格户数偏少", "Grid below the household norm", "#b2df8a"),
    "grid_too_large": ("网格户数偏多", "Grid above the household norm", "#08519c"),
    "beyond_reach": ("服务半径外住户", "Households beyond service reach", "#f781bf"),
    # Blind spots (gridmap.blindspots), only when check_coverage is given organisations:
    "org_uncovered": ("两新组织未覆盖", "Organisation without Party coverage", "#d73027"),
    "blind_spot_building": ("党建盲区楼宇", "Blind-spot building", "#8c2d04"),
    "compound_no_activity_space": (
        "新建小区未配建党群活动场所",
        "New compound without Party–mass activity space",
        "#4d9221",
    ),
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
)
