"""The demo street's layout: constants, the warped lattice of blocks, and the defects cut into it.

This module holds what every other part of :mod:`gridmap.demo` builds on: the street's code and
name (from :mod:`gridmap.settings`), the local transverse Mercator plane the street is laid out in
(:data:`LOCAL_PROJ`) and its projection to WGS 84 (:func:`to_lonlat`), the block plan
(:data:`LAYOUT`, one letter per block and community), the positions of the deliberate defects and
the codes they produce (:data:`DEMO_DEFECTS`), and the blocks themselves: :func:`lattice_cells`
draws the smoothly warped lattice of :class:`Cell` blocks (one block = one grid) and
:func:`apply_defects` moves the east edges that make gaps, overlaps and split buildings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from pyproj import Transformer

from gridmap import settings

#: Code and name of the demo street (:data:`gridmap.settings.DEMO_STREET_CODE` and ``_NAME``).
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
#: Community name by LAYOUT letter; communities are numbered in letter order.
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
#: Blocks whose shared edge is moved into the west block, leaving a coverage gap.
GAP_PAIRS = (((2, 3), (3, 3)), ((8, 3), (9, 3)))
_OVERLAP_PAIRS = (((1, 1), (2, 1)), ((9, 4), (10, 4)))
#: Blocks whose shared edge moves through a building on both sides (a split building).
SPLIT_PAIRS = (((5, 2), (6, 2)), ((12, 1), (13, 1)))
#: The spur's far blocks, kept out of reach of every service station.
FAR_CELLS = ((18, 3), (19, 3))
_OVER_CELLS = ((4, 1), (9, 1))
_UNDER_CELLS = ((5, 4), (10, 2))
#: Blocks whose grid has no grid leader.
NO_LEADER_CELLS = ((3, 0), (12, 2))
#: Blocks whose grid has no Party branch.
NO_BRANCH_CELLS = ((0, 3), (12, 4))
#: The block of the request hotspot.
HOTSPOT_CELL = (7, 4)
#: The request category of the hotspot.
HOTSPOT_CATEGORY = "停车管理"
#: The community whose commercial, office and mixed-use buildings form the demo's office and
#: commercial quarter (人民路社区, with its 非公企业联合党支部).
QUARTER_COMMUNITY = "420303001-003"
#: The community of the one uncovered social organisation outside the quarter.
ELSEWHERE_DEFECT_COMMUNITY = "420303001-005"
#: The community of the demo's one new compound (2023) without reserved activity space.
NEW_COMPOUND_COMMUNITY = "420303001-006"

#: The deliberate defects of the demo street (any seed), by grid, building and organisation code.
#: ``blind_spot_buildings`` and ``compound_without_activity_space`` hold for the default seed
#: (building uses and compound names follow the drawn building names): the buildings holding
#: the uncovered organisations (all commercial, office or mixed-use), and the one compound
#: completed in 2023 without Party–mass activity space (see
#: :func:`gridmap.demo.buildings.building_extras`). ``joint_branch_proposal`` is the one joint
#: branch proposed for the quarter's small uncovered firms (adjacent, similar).
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
    "organisations_uncovered": [
        *(f"{QUARTER_COMMUNITY}-O{i:03d}" for i in range(1, 7)),
        f"{ELSEWHERE_DEFECT_COMMUNITY}-O001",
    ],
    "blind_spot_buildings": [
        "420303001-003-B0413",
        "420303001-003-B0415",
        "420303001-003-B0702",
        "420303001-003-B1208",
        "420303001-005-B0314",
    ],
    "compound_without_activity_space": ["五堰嘉园"],
    "joint_branch_proposal": [f"{QUARTER_COMMUNITY}-O{i:03d}" for i in (2, 3, 4)],
}


@dataclass
class Cell:
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
        return f"{community_code(self.community)}-{self.grid_no:02d}"

    def at(self, u: float | np.ndarray, v: float | np.ndarray) -> np.ndarray:
        """Map unit-square coordinates to the block's quadrilateral (bilinear)."""
        return bilinear(self.quad, u, v)


def community_code(index: int) -> str:
    """The code of the community of 0-based ``index``: ``<street code>-001``…"""
    return f"{STREET_CODE}-{index + 1:03d}"


def bilinear(quad: np.ndarray, u: float | np.ndarray, v: float | np.ndarray) -> np.ndarray:
    """Map unit-square coordinates to the quadrilateral ``quad`` (corners p00, p10, p11, p01)."""
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


def to_lonlat(xy: np.ndarray) -> np.ndarray:
    """Project local metric coordinates (..., 2) to WGS 84, rounded to COORDINATE_DECIMALS."""
    xy = np.asarray(xy, dtype=float)
    lon, lat = _transformer().transform(xy[..., 0], xy[..., 1])
    return np.round(np.stack([lon, lat], axis=-1), settings.COORDINATE_DECIMALS)


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


def lattice_cells(rng: np.random.Generator) -> list[Cell]:
    """The blocks of LAYOUT, ordered by community and grid number (= grid id order)."""
    vertices = _lattice(rng)
    nrows = len(LAYOUT)
    letters = sorted(COMMUNITY_NAMES)
    cells: list[Cell] = []
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
            cells.append(Cell(col, row, letter, letters.index(letter), numbers[letter], quad))
    cells.sort(key=lambda c: (c.community, c.grid_no))
    for cell in cells:
        cell.ring = [cell.quad[0], cell.quad[1], cell.quad[2], cell.quad[3]]
        if (cell.col, cell.row) in _OVER_CELLS:
            cell.role = "over"
        elif (cell.col, cell.row) in _UNDER_CELLS:
            cell.role = "under"
    return cells


def _cell_at(cells: list[Cell], pos: tuple[int, int]) -> Cell:
    return next(c for c in cells if (c.col, c.row) == pos)


def _cut_east_edge(west: Cell, east: Cell, points: list[np.ndarray], share: bool) -> None:
    """Replace the shared edge p10→p11 of ``west`` by a path through ``points``.

    With ``share`` the east block takes the same path (the boundary moves, no gap or overlap);
    otherwise only the west block changes (leaving a gap or making an overlap).
    """
    west.ring = [west.ring[0], west.ring[1], *points, west.ring[-2], west.ring[-1]]
    if share:
        east.ring = [*east.ring, *points[::-1]]  # ring ends at p01 of east = p11 of west


def apply_defects(cells: list[Cell]) -> None:
    """Cut gaps, add overlaps and move boundaries through buildings (see DEMO_DEFECTS)."""
    for west_pos, east_pos in GAP_PAIRS:
        west, east = _cell_at(cells, west_pos), _cell_at(cells, east_pos)
        _cut_east_edge(west, east, [west.at(0.7, 0.3), west.at(0.7, 0.7)], share=False)
    for west_pos, east_pos in _OVERLAP_PAIRS:
        west, east = _cell_at(cells, west_pos), _cell_at(cells, east_pos)
        _cut_east_edge(west, east, [east.at(0.07, 0.2), east.at(0.07, 0.8)], share=False)
    for west_pos, east_pos in SPLIT_PAIRS:
        west, east = _cell_at(cells, west_pos), _cell_at(cells, east_pos)
        _cut_east_edge(west, east, [west.at(0.73, 0.3), west.at(0.73, 0.7)], share=True)
