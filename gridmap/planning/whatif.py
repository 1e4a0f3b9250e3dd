"""What-if: add a member, a grid worker or a station, rank again and compare (:class:`WhatIf`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.errors import InputError
from gridmap.planning.facts import household_counts
from gridmap.planning.inputs import PlanningInputs
from gridmap.planning.ranking import Ranking, rank_areas


@dataclass(frozen=True)
class WhatIf:
    """How the ranking changes after one planning step.

    Attributes
    ----------
    before, after : Ranking
    changes : DataFrame
        Units whose score changed: ``unit_id, label, score_before, score_after, delta``
        (negative = less under-covered), ``rank_before, rank_after``; largest drop first.
    target : object or None
        The unit acted on (a grid id), None for a station.
    delta : float
        The target's score change (for a station: the sum over all changed units).
    """

    before: Ranking
    after: Ranking
    changes: pd.DataFrame
    target: object | None
    delta: float


def _compare(before: Ranking, after: Ranking, target: object | None) -> WhatIf:
    cols = ["unit_id", "label", "score", "rank"]
    merged = before.table[cols].merge(
        after.table[["unit_id", "score", "rank"]], on="unit_id", suffixes=("_before", "_after")
    )
    merged["delta"] = (merged["score_after"] - merged["score_before"]).round(1)
    changes = merged[merged["delta"] != 0].sort_values("delta", kind="stable")
    changes = changes[
        ["unit_id", "label", "score_before", "score_after", "delta", "rank_before", "rank_after"]
    ].reset_index(drop=True)
    if target is not None:
        row = merged[merged["unit_id"] == target]
        delta = float(row["delta"].iloc[0]) if len(row) else 0.0
    else:
        delta = float(changes["delta"].sum())
    return WhatIf(before=before, after=after, changes=changes, target=target, delta=delta)


def _check_grid(inputs: PlanningInputs, grid_id: object) -> None:
    if grid_id not in set(inputs.grids["id"]):
        raise InputError(f"网格不存在 / no active grid with id {grid_id!r}")


def what_if_member(
    inputs: PlanningInputs,
    grid_id: int,
    n: int = 1,
    category: str = "resident",
    **rank_options,
) -> WhatIf:
    """Add ``n`` members (of ``category``) living in a grid (in its largest building) and
    rank again. ``rank_options`` go to :func:`rank_areas` (grid unit)."""
    _check_grid(inputs, grid_id)
    in_grid = inputs.buildings[inputs.buildings["grid_id"] == grid_id]
    if in_grid.empty:
        raise InputError(f"网格 {grid_id} 内没有楼栋 / grid {grid_id} holds no building")
    building = in_grid.iloc[int(np.argmax(household_counts(in_grid)))]["id"]
    start = int(pd.to_numeric(inputs.members["id"], errors="coerce").max() or 0) + 1
    added = pd.DataFrame(
        {"id": range(start, start + n), "category": category, "building_id": building}
    )
    members = pd.concat([inputs.members, added], ignore_index=True)
    return _run(inputs, replace(inputs, members=members), grid_id, rank_options)


def what_if_worker(
    inputs: PlanningInputs, grid_id: int, n: int = 1, part_time: bool = True, **rank_options
) -> WhatIf:
    """Add ``n`` grid workers (part-time 兼职网格员 by default) to a grid and rank again."""
    _check_grid(inputs, grid_id)
    added = pd.DataFrame({"grid_id": [grid_id] * n, "part_time": [part_time] * n})
    workers = pd.concat([inputs.workers, added], ignore_index=True)
    return _run(inputs, replace(inputs, workers=workers), grid_id, rank_options)


def what_if_station(inputs: PlanningInputs, lon: float, lat: float, **rank_options) -> WhatIf:
    """Open a station at (lon, lat) (WGS 84) and rank again; every grid it reaches changes."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(f"坐标不在经纬度范围内 / ({lon}, {lat}) is not a WGS 84 lon/lat")
    start = int(pd.to_numeric(inputs.stations["id"], errors="coerce").max() or 0) + 1
    new = gpd.GeoDataFrame(
        {"id": [start]}, geometry=[shapely.Point(lon, lat)], crs=settings.STORAGE_SRID
    )
    old = inputs.stations[["id", inputs.stations.geometry.name]].to_crs(settings.STORAGE_SRID)
    old = old.rename_geometry("geometry") if old.geometry.name != "geometry" else old
    stations = gpd.GeoDataFrame(pd.concat([old, new], ignore_index=True), crs=4326)
    return _run(inputs, replace(inputs, stations=stations), None, rank_options)


def _run(
    inputs: PlanningInputs, changed: PlanningInputs, target: object | None, options: dict
) -> WhatIf:
    options = {"unit": "grid", **options}
    if options["unit"] != "grid":
        raise InputError("假设分析按网格进行 / what-if runs on grids (unit='grid')")
    return _compare(rank_areas(inputs, **options), rank_areas(changed, **options), target)
