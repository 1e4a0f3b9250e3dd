"""How a draft differs from the active plan: :func:`plan_diff` compares them grid by grid
(added, removed, reshaped; new leader or branch) and lists the buildings and households that
change grid (:class:`PlanDiff`), without the database.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely

from gridmap import settings
from gridmap.redraw.metrics import building_assignment, frame_crs, int_column


@dataclass(frozen=True)
class PlanDiff:
    """How a draft differs from the active plan (see :func:`plan_diff`).

    Attributes
    ----------
    grids : pandas.DataFrame
        Per grid code: ``code, status`` (``added``, ``removed``, ``reshaped``, ``unchanged``),
        ``households_before, households_after, changed_area_m2, leader_changed,
        branch_changed``.
    buildings : pandas.DataFrame
        Buildings that change grid: ``building_id, code, households, from_code, to_code``.
    summary : dict
        ``grids_changed, added, removed, reshaped, buildings_moved, households_moved,
        leaders_affected, branches_affected``.
    """

    grids: pd.DataFrame
    buildings: pd.DataFrame
    summary: dict[str, int]


def plan_diff(
    draft: gpd.GeoDataFrame, active: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame
) -> PlanDiff:
    """Compare a draft with the active plan, grid by grid (matched by ``code``).

    Parameters
    ----------
    draft, active : GeoDataFrame
        ``id, code, leader_id, party_org_id`` and polygons.
    buildings : GeoDataFrame
        ``id, code, households`` and polygons.

    Returns
    -------
    PlanDiff
        A grid is reshaped when its polygon changed by more than ``OVERLAP_TOLERANCE_M2``;
        leaders and branches affected are those of grids added, removed, reshaped or given a
        new leader or branch.
    """
    crs = frame_crs(buildings, draft, active)

    def codes_of(grids: gpd.GeoDataFrame) -> pd.Series:
        a = building_assignment(buildings, grids)
        code_by_id = pd.Series(grids["code"].to_numpy(), index=grids["id"].to_numpy())
        return a["grid_id"].map(lambda g: None if pd.isna(g) else code_by_id[g])

    before, after = codes_of(active), codes_of(draft)
    hh = int_column(buildings, "households")
    moved = before.fillna("").to_numpy() != after.fillna("").to_numpy()
    moves = pd.DataFrame(
        {
            "building_id": buildings["id"].to_numpy()[moved],
            "code": buildings["code"].to_numpy()[moved] if "code" in buildings else None,
            "households": hh[moved],
            "from_code": before.to_numpy()[moved],
            "to_code": after.to_numpy()[moved],
        }
    )
    old = active.set_index("code")
    new = draft.set_index("code")
    codes = sorted(set(old.index) | set(new.index))
    hh_before = pd.Series(hh).groupby(before.to_numpy()).sum()
    hh_after = pd.Series(hh).groupby(after.to_numpy()).sum()
    rows = []
    leaders: set = set()
    branches: set = set()
    for code in codes:
        a = old.loc[code] if code in old.index else None
        b = new.loc[code] if code in new.index else None
        changed_area = 0.0
        if a is None:
            status = "added"
        elif b is None:
            status = "removed"
        else:
            sym = gpd.GeoSeries(
                [shapely.symmetric_difference(a[active.geometry.name], b[draft.geometry.name])],
                crs=active.crs,
            )
            changed_area = float(sym.to_crs(crs).area.iloc[0]) if crs is not None else 0.0
            status = "reshaped" if changed_area > settings.OVERLAP_TOLERANCE_M2 else "unchanged"
        leader_changed = _differs(a, b, "leader_id")
        branch_changed = _differs(a, b, "party_org_id")
        if status != "unchanged" or leader_changed or branch_changed:
            for row in (a, b):
                if row is not None:
                    if pd.notna(row.get("leader_id")):
                        leaders.add(row["leader_id"])
                    if pd.notna(row.get("party_org_id")):
                        branches.add(row["party_org_id"])
        rows.append(
            {
                "code": code,
                "status": status,
                "households_before": int(hh_before.get(code, 0)) if a is not None else 0,
                "households_after": int(hh_after.get(code, 0)) if b is not None else 0,
                "changed_area_m2": changed_area,
                "leader_changed": leader_changed,
                "branch_changed": branch_changed,
            }
        )
    grids = pd.DataFrame(
        rows,
        columns=[
            "code",
            "status",
            "households_before",
            "households_after",
            "changed_area_m2",
            "leader_changed",
            "branch_changed",
        ],
    )
    counts = grids["status"].value_counts()
    summary = {
        "grids_changed": int((grids["status"] != "unchanged").sum()),
        "added": int(counts.get("added", 0)),
        "removed": int(counts.get("removed", 0)),
        "reshaped": int(counts.get("reshaped", 0)),
        "buildings_moved": len(moves),
        "households_moved": int(moves["households"].sum()),
        "leaders_affected": len(leaders),
        "branches_affected": len(branches),
    }
    return PlanDiff(grids, moves, summary)


def _differs(a: pd.Series | None, b: pd.Series | None, column: str) -> bool:
    if a is None or b is None:
        return False
    x, y = a.get(column), b.get(column)
    if pd.isna(x) and pd.isna(y):
        return False
    return bool(pd.isna(x) or pd.isna(y) or x != y)
