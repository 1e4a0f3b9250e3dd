"""A deterministic synthetic city at a chosen scale, drawn like the demo street.

:func:`build_city` returns the rows of the tables the map and the coverage check read — street,
community, grid_plan, person, party_org, grid, building and service_station — for a city of any
number of buildings (1,000,000 buildings make 20,012 grids in 322 communities and 33 streets).
It is pure data (no database is touched) and vectorised throughout, so a million buildings take
seconds, not minutes. :func:`save_city` writes it into an initialised database.

The shapes are the demo street's (:mod:`gridmap.demo`): a smoothly warped lattice of blocks of
``CELL_W`` × ``CELL_H`` metres, one block per grid, buildings laid out in rows of slots inside
each block with the demo's footprint shares, the deliberate defects cut the same way (an east
edge moved inwards leaves a gap, outwards makes an overlap, moved on both sides through a
building splits it), projected to WGS 84 with the demo's local transverse Mercator plane and
rounded alike. Blocks are denser than the demo's (``SLOTS_U`` × ``SLOTS_V`` slots) so that a
grid holds about 50 buildings, as in a city of 1M buildings and 20k grids; communities are
tiles of ``COMMUNITY_TILE`` × ``COMMUNITY_TILE`` blocks (about 64 grids), streets groups of
``STREET_COMMUNITIES`` communities.

The same ``(buildings, seed)`` always gives identical frames; nothing depends on the clock.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.demo import (
    CELL_H,
    CELL_W,
    COMPOUND_PREFIXES,
    FOOTPRINT,
    GAP_BUILDING_UV,
    GAP_ZONE,
    KIND_P,
    KINDS,
    SPLIT_BUILDING_UV,
    SPLIT_ZONE,
    STREET_CODE,
    active_plans,
    bilinear,
    geoframe,
    nullable_ints,
    person_names,
    scale_households,
    to_lonlat,
    to_multipolygons,
)
from gridmap.models import OrgKind, PersonRole, StationLevel

__all__ = [
    "CITY_BUILDINGS",
    "COMMUNITY_TILE",
    "SCALES",
    "SLOTS_U",
    "SLOTS_V",
    "build_city",
    "city_defects",
    "resolve_scale",
    "save_city",
]

#: Buildings of the named scales: ``street`` is the demo street itself (gridmap.demo).
CITY_BUILDINGS = 1_000_000
SCALES: dict[str, int | None] = {"street": None, "city": CITY_BUILDINGS}
#: Building slots of a block, east–west × north–south (the demo has 3 × 6–7).
SLOTS_U, SLOTS_V = 5, 11
#: Communities are tiles of this many blocks on a side (≈ 64 grids each).
COMMUNITY_TILE = 8
#: Communities per street (街道).
STREET_COMMUNITIES = 10
#: Share of slots left empty (green space, car parks): about 50 buildings per grid.
VACANT_SHARE = 0.09
#: Share of interior east edges carrying each deliberate defect.
DEFECT_SHARE = {"gap": 0.004, "overlap": 0.004, "split": 0.004}
#: Share of grids without a leader / without a branch, and over / under the household norm.
GRID_DEFECT_SHARE = {"no_leader": 0.01, "no_branch": 0.01, "over": 0.03, "under": 0.03}
#: Share of residential buildings without a building leader; slots one leader looks after.
NO_BUILDING_LEADER_SHARE = 0.02
SLOTS_PER_BUILDING_LEADER = 4
#: Service stations per community (the first of a street's is the street centre).
STATIONS_PER_COMMUNITY = 3

_SLOTS = SLOTS_U * SLOTS_V
_EXPECTED_PER_GRID = _SLOTS * (1 - VACANT_SHARE) * 0.96  # a few slots are lost to defects
_COMMUNITY_SUFFIXES = ("", "东", "西", "南", "北", "中", "新", "老")
_PLACE = "十堰市"


def resolve_scale(scale: str | int) -> int | None:
    """Buildings of a scale: ``"street"`` → None (the demo street), ``"city"`` → 1,000,000,
    a positive integer (or its text) → that many buildings.

    Raises
    ------
    ValueError
        For anything else, with the accepted values.
    """
    if isinstance(scale, str) and scale in SCALES:
        return SCALES[scale]
    try:
        n = int(scale)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise ValueError(
            f"规模不对 / scale must be 'street', 'city' or a positive number of buildings, "
            f"got {scale!r}"
        )
    return n


def _layout(n_grids: int) -> tuple[int, int]:
    """Lattice columns and rows holding ``n_grids`` blocks, roughly square on the ground and
    a whole number of community tiles wide."""
    cols = math.sqrt(n_grids * CELL_H / CELL_W)
    cols = max(COMMUNITY_TILE, math.ceil(cols / COMMUNITY_TILE) * COMMUNITY_TILE)
    cols = min(cols, max(1, n_grids)) if n_grids < COMMUNITY_TILE else cols
    return cols, math.ceil(n_grids / cols)


def _lattice(rng: np.random.Generator, ncols: int, nrows: int) -> np.ndarray:
    """Vertices (ncols+1, nrows+1, 2) in metres: the demo's warp, repeated over the city."""
    i, k = np.meshgrid(np.arange(ncols + 1), np.arange(nrows + 1), indexing="ij")
    x = (i - ncols / 2) * CELL_W
    y = (k - nrows / 2) * CELL_H
    ph = rng.uniform(0, 2 * np.pi, 5)
    dx = 16 * np.sin(2 * np.pi * x / 730 + ph[0]) * np.cos(2 * np.pi * y / 610 + ph[1])
    dx += 7 * np.sin(2 * np.pi * y / 330 + ph[2])
    dy = 22 * np.sin(2 * np.pi * x / 540 + ph[3]) + 9 * np.cos(2 * np.pi * (x + y) / 400 + ph[4])
    angle = np.deg2rad(rng.uniform(8, 14))
    xr = x * np.cos(angle) - (y + dy) * np.sin(angle) + dx
    yr = x * np.sin(angle) + (y + dy) * np.cos(angle)
    return np.stack([xr, yr], axis=-1)


def city_defects(frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """How many deliberate defects of each kind a built city carries (from its ``attrs``)."""
    return dict(frames["grid"].attrs.get("defects", {}))


def build_city(buildings: int, seed: int = settings.DEMO_SEED) -> dict[str, pd.DataFrame]:
    """Return every table's rows for a synthetic city of exactly ``buildings`` buildings.

    Parameters
    ----------
    buildings : int
        Number of buildings (≈ 50 per grid: 1,000,000 gives 20,000 grids).
    seed : int
        Seed of the random generator; the same seed always gives identical frames.

    Returns
    -------
    dict[str, pandas.DataFrame]
        ``street, community, grid_plan, person, party_org, grid, building, service_station``
        with their tables' columns and explicit ids from 1, in an order that satisfies foreign
        keys (``grid.party_org_id`` and ``party_org.grid_id`` refer to each other: save them
        in one transaction). ``grid.attrs["defects"]`` counts the deliberate defects.
    """
    n_buildings = resolve_scale(buildings)
    if n_buildings is None:
        raise ValueError("build_city needs a number of buildings; 'street' is gridmap.demo")
    rng = np.random.default_rng(seed)
    n_grids = max(1, math.ceil(n_buildings / _EXPECTED_PER_GRID))
    ncols, nrows = _layout(n_grids)
    # Generate whole rows, then keep the first blocks until there are enough buildings.
    vertices = _lattice(rng, ncols, nrows)
    cell = np.arange(ncols * nrows)
    col, row = cell % ncols, cell // ncols
    quads = np.stack(
        [
            vertices[col, row],
            vertices[col + 1, row],
            vertices[col + 1, row + 1],
            vertices[col, row + 1],
        ],
        axis=1,
    )  # (cells, 4, 2) counter-clockwise
    tiles_x = math.ceil(ncols / COMMUNITY_TILE)
    community = (row // COMMUNITY_TILE) * tiles_x + col // COMMUNITY_TILE

    role = np.full(len(cell), "normal", dtype=object)
    draw = rng.random((len(cell), 6))
    role[draw[:, 0] < GRID_DEFECT_SHARE["over"]] = "over"
    role[(draw[:, 0] >= 0.5) & (draw[:, 0] < 0.5 + GRID_DEFECT_SHARE["under"])] = "under"
    # East-edge defects between two blocks of the same community (west block carries it).
    east_ok = (col < ncols - 1) & (community == np.roll(community, -1))
    edge = np.full(len(cell), "", dtype=object)
    cum = 0.0
    for kind, share in DEFECT_SHARE.items():
        edge[east_ok & (draw[:, 1] >= cum) & (draw[:, 1] < cum + share)] = kind
        cum += share
    # A defect block's east neighbour gets no defect of its own (rings stay simple).
    edge[np.roll(edge != "", 1) & (edge != "")] = ""

    slots = _slots(rng, quads, role, edge)
    keep_cells = int(np.searchsorted(np.cumsum(slots["per_cell"]), n_buildings) + 1)
    keep_cells = min(keep_cells, len(cell))
    if slots["per_cell"][:keep_cells].sum() < n_buildings:
        raise ValueError(f"could not place {n_buildings} buildings")  # pragma: no cover
    edge = edge[:keep_cells]
    communities_used = np.unique(community[:keep_cells])
    com_index = np.searchsorted(communities_used, community[:keep_cells])
    grid_no = _number_within(com_index)

    frames = _admin(rng, quads[:keep_cells], com_index)
    b = {k: v[:n_buildings] for k, v in slots.items() if k != "per_cell"}
    frames |= _grids_and_people(rng, quads, com_index, grid_no, edge, draw, b, frames["community"])
    frames["building"] = _building_frame(rng, quads, com_index, grid_no, b, edge, frames)
    frames["service_station"] = _stations(
        rng, frames["building"], frames["community"]["name"].to_numpy()
    )
    order = ("street", "community", "grid_plan", "person", "party_org", "grid", "building")
    out = {k: frames[k] for k in order}
    out["service_station"] = frames["service_station"]
    out["grid"].attrs["defects"] = {
        "gap": int((edge == "gap").sum()),
        "overlap": int((edge == "overlap").sum()),
        "split": int((edge == "split").sum()),
    }
    return out


def _number_within(groups: np.ndarray) -> np.ndarray:
    """1-based running number of each item within its (sorted, contiguous or not) group."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    run = np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    out = np.empty(len(groups), dtype=np.int64)
    out[order] = run + 1
    return out


def _slots(
    rng: np.random.Generator, quads: np.ndarray, role: np.ndarray, edge: np.ndarray
) -> dict[str, np.ndarray]:
    """Every building as unit-square boxes of its block: kinds, households, corners (metres).

    Slots follow the demo's rows (north row first, three-quarters of each slot built on, the
    demo's footprint shares per kind); blocks carrying a gap or split keep the defect zone free
    and hold the demo's special building there instead.
    """
    n_cells = len(quads)
    du, dv = 0.8 / SLOTS_U, 0.8 / SLOTS_V
    a = np.tile(np.arange(SLOTS_U), SLOTS_V)
    bb = np.repeat(np.arange(SLOTS_V), SLOTS_U)
    kinds = np.empty((n_cells, _SLOTS), dtype=object)
    for r in ("normal", "over", "under"):
        mask = role == r
        kinds[mask] = rng.choice(np.array(KINDS), size=(mask.sum(), _SLOTS), p=KIND_P[r])
    fu = np.vectorize(lambda k: FOOTPRINT[k][0], otypes=[float])(kinds)
    fv = np.vectorize(lambda k: FOOTPRINT[k][1], otypes=[float])(kinds)
    jitter = rng.uniform(-0.04, 0.04, (n_cells, _SLOTS, 2))
    cu = 0.1 + (a + 0.5) * du + jitter[..., 0] * du
    cv = 0.9 - (bb + 0.5) * dv + jitter[..., 1] * dv
    u0, u1 = cu - fu * du / 2, cu + fu * du / 2
    v0, v1 = cv - fv * dv / 2, cv + fv * dv / 2
    present = rng.random((n_cells, _SLOTS)) >= VACANT_SHARE
    split_zone = SPLIT_ZONE.union(
        shapely.box(*np.take(SPLIT_BUILDING_UV, [0, 2, 1, 3])).buffer(0.02)
    )  # as the demo keeps it free
    for kind, zone in (("gap", GAP_ZONE), ("split", split_zone)):
        rows = np.flatnonzero(edge == kind)
        boxes = shapely.box(u0[rows], v0[rows], u1[rows], v1[rows])
        present[rows] &= ~shapely.intersects(boxes, zone)
    base = np.select(
        [kinds == "walkup", kinds == "lowrise", kinds == "midrise", kinds == "highrise"],
        [
            rng.choice([18, 24, 24, 24, 30, 36], (n_cells, _SLOTS)),
            rng.integers(6, 17, (n_cells, _SLOTS)),
            rng.integers(48, 73, (n_cells, _SLOTS)),
            rng.integers(88, 131, (n_cells, _SLOTS)),
        ],
        0,
    ).astype(float)
    target = np.where(
        role == "over",
        rng.integers(720, 781, n_cells),
        np.where(role == "under", rng.integers(130, 171, n_cells), rng.integers(330, 481, n_cells)),
    )
    households = np.zeros((n_cells, _SLOTS), dtype=np.int64)
    weights = np.where(present, base, 0.0)
    has = weights.sum(axis=1) > 0
    for c in np.flatnonzero(has):  # largest remainder per block, as the demo does
        households[c] = scale_households(weights[c], int(target[c]))
    slot_no = np.tile(np.arange(1, _SLOTS + 1), (n_cells, 1))
    cell_of = np.repeat(np.arange(n_cells), _SLOTS).reshape(n_cells, _SLOTS)
    # The special building of a gap or split block (the demo's slots 90 and 91).
    special = np.flatnonzero(np.isin(edge, ("gap", "split")))
    sp_uv = np.array(
        [GAP_BUILDING_UV if edge[c] == "gap" else SPLIT_BUILDING_UV for c in special]
    ).reshape(-1, 4)
    flat = {
        "cell": cell_of[present],
        "slot": slot_no[present],
        "kind": kinds[present],
        "households": households[present],
        "uv": np.stack([u0[present], u1[present], v0[present], v1[present]], axis=-1),
    }
    flat = {
        "cell": np.r_[flat["cell"], special],
        "slot": np.r_[flat["slot"], np.where(edge[special] == "gap", 90, 91)],
        "kind": np.r_[flat["kind"], np.full(len(special), "walkup", dtype=object)],
        "households": np.r_[flat["households"], np.full(len(special), 30)],
        "uv": np.r_[flat["uv"], sp_uv],
    }
    order = np.lexsort((flat["slot"], flat["cell"]))
    flat = {k: v[order] for k, v in flat.items()}
    flat["per_cell"] = np.bincount(flat["cell"], minlength=n_cells)
    return flat


def _corners(quads: np.ndarray, cell: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Corners (n, 4, 2) in metres of unit-square boxes ``uv`` (u0, u1, v0, v1) of blocks."""
    u = uv[:, [0, 1, 1, 0]]
    v = uv[:, [2, 2, 3, 3]]
    q = quads[cell].transpose(1, 0, 2)[:, :, None, :]  # (4, n, 1, 2) for demo.bilinear
    return bilinear(q, u, v)


def _admin(rng: np.random.Generator, quads: np.ndarray, com_index: np.ndarray) -> dict:
    """street, community and grid_plan: communities are the union of their blocks."""
    blocks = shapely.polygons(to_lonlat(quads))
    n_com = int(com_index.max()) + 1
    com_geoms = np.array(
        [shapely.union_all(blocks[com_index == i]) for i in range(n_com)], dtype=object
    )
    street_of = np.arange(n_com) // STREET_COMMUNITIES
    n_streets = int(street_of.max()) + 1
    street_codes = [f"{int(STREET_CODE) + s:09d}" for s in range(n_streets)]
    street_geoms = [shapely.union_all(com_geoms[street_of == s]) for s in range(n_streets)]
    names = [
        f"{COMPOUND_PREFIXES[i % len(COMPOUND_PREFIXES)]}"
        f"{_COMMUNITY_SUFFIXES[(i // len(COMPOUND_PREFIXES)) % len(_COMMUNITY_SUFFIXES)]}社区"
        + ("" if i < len(COMPOUND_PREFIXES) * len(_COMMUNITY_SUFFIXES) else str(i))
        for i in range(n_com)
    ]
    com_codes = [
        f"{street_codes[street_of[i]]}-{i % STREET_COMMUNITIES + 1:03d}" for i in range(n_com)
    ]
    return {
        "street": geoframe(
            {
                "id": np.arange(1, n_streets + 1),
                "code": street_codes,
                "name": [f"{_PLACE}第{s + 1}街道" for s in range(n_streets)],
                "geom": _as_multi(street_geoms),
            }
        ),
        "community": geoframe(
            {
                "id": np.arange(1, n_com + 1),
                "street_id": street_of + 1,
                "code": com_codes,
                "name": names,
                "geom": _as_multi(com_geoms),
            }
        ),
        "grid_plan": active_plans(n_com),
    }


def _as_multi(geoms: list[shapely.Geometry] | np.ndarray) -> np.ndarray:
    """Polygons and multipolygons as one MultiPolygon each."""
    parts, index = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    return shapely.multipolygons(parts, indices=index)


def _grid_rings(quads: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """Grid polygons (metres → WGS 84) with the demo's east-edge cuts at defect blocks."""
    n = len(edge)
    west_pts = {  # points replacing the east edge p10 → p11 of the west block (unit square)
        "gap": ((0.7, 0.3), (0.7, 0.7)),
        "split": ((0.73, 0.3), (0.73, 0.7)),
    }
    rings: list[np.ndarray] = []
    for c in range(n):
        q = quads[c]
        kind = edge[c]
        if kind in west_pts:
            pts = [bilinear(q, u, v) for u, v in west_pts[kind]]
            ring = [q[0], q[1], *pts, q[2], q[3]]
        elif kind == "overlap":  # into the east block, as far as 7 % of its width
            east = quads[c + 1]
            ring = [q[0], q[1], bilinear(east, 0.07, 0.2), bilinear(east, 0.07, 0.8), q[2], q[3]]
        else:
            ring = [q[0], q[1], q[2], q[3]]
        if c > 0 and edge[c - 1] == "split":  # the east block follows the moved boundary
            pts = [bilinear(quads[c - 1], u, v) for u, v in west_pts["split"]]
            ring = [*ring, pts[1], pts[0]]
        rings.append(np.asarray(ring))
    counts = np.array([len(r) for r in rings])
    coords = to_lonlat(np.concatenate(rings))
    closed = shapely.linearrings(coords, indices=np.repeat(np.arange(n), counts))
    return shapely.polygons(closed)


def _grids_and_people(
    rng: np.random.Generator,
    quads: np.ndarray,
    com_index: np.ndarray,
    grid_no: np.ndarray,
    edge: np.ndarray,
    draw: np.ndarray,
    b: dict[str, np.ndarray],
    communities: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """Grids, their leaders and branches; building leaders (one per few slots of a block)."""
    n = len(com_index)
    n_com = len(communities)
    com_codes = communities["code"].to_numpy()
    com_names = communities["name"].to_numpy()
    no_leader = draw[:n, 2] < GRID_DEFECT_SHARE["no_leader"]
    no_branch = draw[:n, 3] < GRID_DEFECT_SHARE["no_branch"]
    # persons: grid leaders first, then building leaders by (block, slot group)
    leader_person = np.where(no_leader, 0, np.cumsum(~no_leader))
    n_grid_leaders = int((~no_leader).sum())
    group = b["cell"] * _SLOTS + (b["slot"] - 1) // SLOTS_PER_BUILDING_LEADER
    groups, b_group = np.unique(group, return_inverse=True)
    n_people = n_grid_leaders + len(groups)
    roles = np.array(
        [PersonRole.grid_leader.value] * n_grid_leaders
        + [PersonRole.building_leader.value] * len(groups),
        dtype=object,
    )
    person = pd.DataFrame(
        {
            "id": np.arange(1, n_people + 1),
            "name": person_names(rng, n_people),
            "phone": [f"139{int(d):08d}" for d in rng.integers(0, 10**8, n_people)],
            "id_suffix": [f"{int(d):04d}" for d in rng.integers(0, 10**4, n_people)],
            "roles": roles,
        }
    )
    b["leader_id"] = n_grid_leaders + b_group + 1
    b["no_leader"] = (b["households"] > 0) & (rng.random(len(b["cell"])) < NO_BUILDING_LEADER_SHARE)
    # party organisations: one committee per community, one branch per grid (unless missing)
    committee_id = np.arange(1, n_com + 1)
    branch_grids = np.flatnonzero(~no_branch)
    branch_id = np.zeros(n, dtype=np.int64)
    branch_id[branch_grids] = n_com + 1 + np.arange(len(branch_grids))
    party_org = pd.DataFrame(
        {
            "id": np.r_[committee_id, branch_id[branch_grids]],
            "parent_id": nullable_ints([None] * n_com + list(com_index[branch_grids] + 1)),
            "kind": [OrgKind.committee.value] * n_com + [OrgKind.branch.value] * len(branch_grids),
            "name": [f"{c}党委" for c in com_names]
            + [f"{com_names[com_index[g]]}第{int(grid_no[g])}网格党支部" for g in branch_grids],
            "community_id": nullable_ints(list(committee_id) + list(com_index[branch_grids] + 1)),
            "grid_id": nullable_ints([None] * n_com + list(branch_grids + 1)),
        }
    )
    grid = geoframe(
        {
            "id": np.arange(1, n + 1),
            "plan_id": com_index + 1,
            "code": [
                f"{com_codes[c]}-{int(g):02d}" for c, g in zip(com_index, grid_no, strict=True)
            ],
            "name": [f"第{int(g)}网格" for g in grid_no],
            "geom": to_multipolygons(_grid_rings(quads, edge)),
            "leader_id": nullable_ints([int(p) if p else None for p in leader_person]),
            "party_org_id": nullable_ints([int(o) if o else None for o in branch_id]),
            "version": np.ones(n, dtype=int),
        }
    )
    return {"person": person, "party_org": party_org, "grid": grid}


def _building_frame(
    rng: np.random.Generator,
    quads: np.ndarray,
    com_index: np.ndarray,
    grid_no: np.ndarray,
    b: dict[str, np.ndarray],
    edge: np.ndarray,
    frames: dict[str, pd.DataFrame],
) -> gpd.GeoDataFrame:
    """Buildings in WGS 84, with their cached grid (none for a gap's building)."""
    com_codes = frames["community"]["code"].to_numpy()
    corners = to_lonlat(_corners(quads, b["cell"], b["uv"]))
    cells, slots = b["cell"], b["slot"]
    households = b["households"]
    residents = np.round(households * rng.uniform(2.3, 2.9, len(households))).astype(np.int64)
    codes = [
        f"{com_codes[com_index[c]]}-B{int(grid_no[c]):02d}{int(s):02d}"
        for c, s in zip(cells, slots, strict=True)
    ]
    names = [
        f"第{int(grid_no[c])}网格{int(s)}号楼" if h else f"第{int(grid_no[c])}网格{int(s)}号商业楼"
        for c, s, h in zip(cells, slots, households, strict=True)
    ]
    leader = pd.array(np.where(b["no_leader"], 0, b["leader_id"]), dtype="Int64")
    leader[b["no_leader"]] = pd.NA
    # the split building lies mostly west of the moved boundary: its own block's grid
    grid_id = pd.array(cells + 1, dtype="Int64")
    grid_id[slots == 90] = pd.NA  # wholly inside the gap
    building = gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(cells) + 1),
            "community_id": com_index[cells] + 1,
            "code": codes,
            "name": names,
            "households": households,
            "residents": residents,
            "leader_id": leader,
            "party_org_id": pd.array([pd.NA] * len(cells), dtype="Int64"),
            "grid_id": grid_id,
        },
        geometry=to_multipolygons(shapely.polygons(corners)),
        crs=f"EPSG:{settings.STORAGE_SRID}",
    ).rename_geometry("geom")
    cols = ["id", "community_id", "code", "name", "geom", "households", "residents"]
    return building[[*cols, "leader_id", "party_org_id", "grid_id"]]


def _stations(
    rng: np.random.Generator, buildings: gpd.GeoDataFrame, com_names: np.ndarray
) -> gpd.GeoDataFrame:
    """``STATIONS_PER_COMMUNITY`` stations per community, at the centre of chosen buildings."""
    n_com = len(com_names)
    com = buildings["community_id"].to_numpy() - 1
    order = np.argsort(com, kind="stable")
    starts = np.searchsorted(com[order], np.arange(n_com))
    ends = np.searchsorted(com[order], np.arange(n_com), side="right")
    picks = []
    for i in range(n_com):
        size = ends[i] - starts[i]
        if size == 0:
            continue
        k = min(STATIONS_PER_COMMUNITY, size)
        chosen = starts[i] + np.sort(rng.choice(size, k, replace=False))
        picks.extend((i, int(order[c]), j) for j, c in enumerate(chosen))
    n = len(picks)
    geoms = np.asarray(buildings.geometry.values, dtype=object)
    points = shapely.centroid(geoms[[p[1] for p in picks]])
    coords = np.round(shapely.get_coordinates(points), settings.COORDINATE_DECIMALS)
    levels = [
        StationLevel.street.value
        if j == 0 and i % STREET_COMMUNITIES == 0
        else StationLevel.community.value
        if j == 0
        else StationLevel.compound.value
        for i, _, j in picks
    ]
    return geoframe(
        {
            "id": np.arange(1, n + 1),
            "community_id": nullable_ints([i + 1 for i, _, _ in picks]),
            "name": [
                f"{com_names[i]}党群服务站" if j == 0 else f"{com_names[i]}第{j}党群服务点"
                for i, _, j in picks
            ],
            "level": levels,
            "geom": shapely.points(coords),
            "opening_hours": ["周一至周日 8:30-17:30"] * n,
        }
    )


def save_city(engine, frames: dict[str, pd.DataFrame], force: bool = False) -> dict[str, int]:
    """Write a built city into an initialised database in one transaction.

    Like :func:`gridmap.bootstrap.load_demo`: a database that already holds a street is left
    untouched (:class:`~gridmap.errors.ConflictError`) unless ``force`` replaces it.
    """
    from gridmap.bootstrap import replace_street
    from gridmap.db import is_empty
    from gridmap.errors import ConflictError
    from gridmap.repository import save_tables

    if is_empty(engine):
        return save_tables(engine, frames)
    if not force:
        where = engine.url.render_as_string(hide_password=True)
        raise ConflictError(
            f"数据库中已有数据 / the database {where} already holds a street; nothing was "
            "changed. Use --force to replace it."
        )
    return replace_street(engine, lambda conn: save_tables(conn, frames), "city_replace")[0]
