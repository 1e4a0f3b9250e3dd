"""The demo's buildings: footprints in their blocks, households and residents, names and uses.

:func:`draw_buildings` lays out each block's buildings in rows of slots between its roads, by
kind (walk-up, low-, mid- and high-rise, non-residential; see :data:`FOOTPRINT` and
:data:`KIND_P`), keeps the zones near the gap and split defects free except for the one
building each defect needs, scales the households to each block's target
(:func:`scale_households`) and names the buildings after their compound.
:func:`assign_to_grids` finds the grid of a building or a point, and :func:`building_extras`
adds building use, completion year and reserved activity space. The footprints, kind shares and
defect zones are shared with :mod:`gridmap.citygen`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.demo.frames import nullable_ints
from gridmap.demo.layout import (
    GAP_PAIRS,
    NEW_COMPOUND_COMMUNITY,
    SPLIT_PAIRS,
    Cell,
    community_code,
)
from gridmap.demo.names import COMPOUND_PREFIXES, COMPOUND_SUFFIXES, NONRES_KINDS, pick_one

#: Building kind → footprint share of its slot (in u, in v).
FOOTPRINT = {
    "walkup": (0.85, 0.45),
    "lowrise": (0.6, 0.4),
    "midrise": (0.8, 0.55),
    "highrise": (0.55, 0.75),
    "nonres": (0.85, 0.7),
}
#: The building kinds, in the order of :data:`KIND_P`.
KINDS = tuple(FOOTPRINT)
#: Block role ("normal", "over", "under") → probability of each of :data:`KINDS`.
KIND_P = {
    "normal": (0.55, 0.16, 0.10, 0.05, 0.14),
    "over": (0.35, 0.05, 0.25, 0.25, 0.10),
    "under": (0.30, 0.25, 0.0, 0.0, 0.45),
}
#: Compound names of the buildings left in the coverage gaps.
_GAP_COMPOUNDS = ("原粮食局家属院", "汽配厂老家属院")
#: Region of the west block of a gap pair kept free of regular buildings.
GAP_ZONE = shapely.Polygon([(1, 0), (0.7, 0.3), (0.7, 0.7), (1, 1)]).buffer(0.03)
#: Region of the west block of a split pair kept free of regular buildings.
SPLIT_ZONE = shapely.Polygon([(1, 0), (0.73, 0.3), (0.73, 0.7), (1, 1)]).buffer(0.03)
#: The building left in a coverage gap (unit-square box u0, u1, v0, v1 of the west block).
GAP_BUILDING_UV = (0.77, 0.93, 0.42, 0.58)
#: The building a moved boundary splits (unit-square box u0, u1, v0, v1 of the west block).
SPLIT_BUILDING_UV = (0.61, 0.81, 0.44, 0.56)


def _compound_names(rng: np.random.Generator) -> list[str]:
    names = [p + s for p in COMPOUND_PREFIXES for s in COMPOUND_SUFFIXES]
    order = rng.permutation(len(names))
    return [names[i] for i in order]


def _household_target(cell: Cell, rng: np.random.Generator) -> int:
    if cell.role == "over":
        return int(rng.integers(720, 781))
    if cell.role == "under":
        return int(rng.integers(130, 171))
    return int(rng.integers(330, 481))


def scale_households(base: np.ndarray, target: int) -> np.ndarray:
    """Scale base household counts to sum exactly to ``target`` (largest remainder)."""
    raw = base * target / base.sum()
    out = np.floor(raw).astype(int)
    remainder = target - out.sum()
    out[np.argsort(-(raw - out), kind="stable")[:remainder]] += 1
    return out


def _base_households(kind: str, rng: np.random.Generator) -> int:
    if kind == "walkup":
        return int(pick_one(rng, (18, 24, 24, 24, 30, 36)))
    if kind == "lowrise":
        return int(rng.integers(6, 17))
    if kind == "midrise":
        return int(rng.integers(48, 73))
    if kind == "highrise":
        return int(rng.integers(88, 131))
    return 0


def _cell_buildings(cell: Cell, rng: np.random.Generator, names: list[str]) -> list[dict]:
    """Buildings of one block: rows of slots inside the block, between its roads."""
    pos = (cell.col, cell.row)
    zone = None
    if pos in {w for w, _ in GAP_PAIRS}:
        zone = GAP_ZONE
    elif pos in {w for w, _ in SPLIT_PAIRS}:
        zone = SPLIT_ZONE.union(shapely.box(*np.take(SPLIT_BUILDING_UV, [0, 2, 1, 3])).buffer(0.02))
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
            kind = "highrise" if forced else str(rng.choice(KINDS, p=KIND_P[cell.role]))
            fu, fv = FOOTPRINT[kind]
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
        special = GAP_BUILDING_UV if zone is GAP_ZONE else SPLIT_BUILDING_UV
        slot = 90 if zone is GAP_ZONE else 91
        compound = compounds[0]
        if zone is GAP_ZONE:
            compound = _GAP_COMPOUNDS[[w for w, _ in GAP_PAIRS].index(pos)]
        out.append(_building_row(cell, slot, "walkup", special, 30, compound))
    return out


def _building_row(
    cell: Cell, slot: int, kind: str, uv: tuple[float, ...], base: int, compound: str
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
        "code": f"{community_code(cell.community)}-B{cell.grid_no:02d}{slot:02d}",
    }


def draw_buildings(cells: list[Cell], rng: np.random.Generator) -> list[dict]:
    """All buildings, with households scaled to each block's target."""
    names = _compound_names(rng)
    buildings: list[dict] = []
    for cell in cells:
        rows = _cell_buildings(cell, rng, names)
        regular = [r for r in rows if r["slot"] != 90]
        base = np.array([r["base"] for r in regular], dtype=float)
        households = scale_households(base, _household_target(cell, rng))
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
            r["name"] = f"{r['compound']}{pick_one(rng, NONRES_KINDS)}"


def assign_to_grids(geoms: np.ndarray, grids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def building_extras(buildings: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
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
        completion_year=nullable_ints([None if pd.isna(y) else int(y) for y in year]),
        activity_space_reserved=reserved,
    )
