"""The under-covered ranking: one 0–100 score per grid or H3 hexagon, highest first, with why.

:func:`rank_areas` sums the building and request facts per unit, turns the factors into needs
and points, and returns a :class:`Ranking`; :func:`hotspot_classes` gives the Gi* class of each
unit for the hotspot factor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.errors import InputError
from gridmap.hotspots import request_hotspots
from gridmap.planning.factors import FACTORS, HOTSPOT_NEED, check_weights, explain, factor_needs
from gridmap.planning.facts import building_facts, request_units, worker_fte
from gridmap.planning.inputs import PlanningInputs
from gridmap.validation import require_frame

UNITS: tuple[str, ...] = ("grid", "h3")


@dataclass(frozen=True)
class Ranking:
    """Areas ranked by how under-covered they are.

    Attributes
    ----------
    table : GeoDataFrame
        One row per unit (EPSG:4326), highest score first: ``unit_id, label, community_id,
        grid_id`` (for hexagons: the grid holding most of its households), ``households,
        workers`` (full-time equivalent), ``members, available_members, households_beyond,
        open, overdue, hotspot_class``, ``no_leader, no_branch, no_building_leader``, one raw
        value column per factor of :data:`FACTORS`, ``need_<factor>`` (0–1),
        ``points_<factor>`` (its part of the score), ``score`` (0–100), ``rank`` (1 = most
        under-covered), ``why`` (中文) and ``why_en``.
    unit : {"grid", "h3"}
    resolution : int or None
    weights : dict[str, float]
        The weights used (points; the score divides by their sum).
    radius_m : float
    """

    table: gpd.GeoDataFrame
    unit: str
    resolution: int | None
    weights: dict[str, float]
    radius_m: float

    def top(self, n: int = settings.PLANNING_TOP_AREAS) -> gpd.GeoDataFrame:
        """The ``n`` most under-covered units with a score above 0."""
        return self.table[self.table["score"] > 0].head(n)

    def score_of(self, unit_id: object) -> float:
        """The score of one unit."""
        rows = self.table[self.table["unit_id"] == unit_id]
        if rows.empty:
            raise InputError(f"没有该单元 / no unit {unit_id!r} in this ranking")
        return float(rows["score"].iloc[0])


def _grid_labels(grids: pd.DataFrame) -> pd.Series:
    name = grids["name"] if "name" in grids else grids["code"]
    if "community_name" in grids:
        return (grids["community_name"].fillna("").astype(str) + " " + name.astype(str)).str.strip()
    return name.astype(str)


def rank_areas(
    inputs: PlanningInputs,
    unit: str = "grid",
    weights: Mapping[str, float] | None = None,
    hotspots: pd.DataFrame | None = None,
    resolution: int = settings.H3_RESOLUTION,
    community_ids: Sequence[int] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> Ranking:
    """Rank grids (or H3 hexagons) by how under-covered they are, and say why.

    Parameters
    ----------
    inputs : PlanningInputs
    unit : {"grid", "h3"}
        Grids, or hexagons of an H3 lattice across the grids (each hexagon holding at least one
        household).
    weights : mapping, optional
        Points per factor of :data:`FACTORS` (missing factors weigh 0); default
        ``settings.PLANNING_WEIGHTS``. Only their proportions matter.
    hotspots : DataFrame, optional
        ``unit_id, cls`` — Gi* classes of the same units (:func:`hotspot_classes`); without
        it the hotspot factor is 0 everywhere.
    resolution : int
        H3 resolution for ``unit="h3"``.
    community_ids : sequence of int, optional
        Only the grids of these communities (hexagons: those whose main grid is in them).
    ranges : mapping, optional
        (fine, poor) per factor; default ``settings.PLANNING_FACTOR_RANGES``.

    Returns
    -------
    Ranking

    Notes
    -----
    A hexagon's grid workers are its grids' workers shared out by households; its leadership
    need is the household-weighted mean over its buildings of (no grid leader + no branch + no
    building leader) / 3, which for a grid is the same formula with the grid's own leader and
    branch. Units without households have no rates (need 0) but keep their leadership gaps.
    With ``inputs.organisations`` the leadership need has a fourth part, 1 when the unit holds a
    blind spot (``blind_spots``: blind-spot buildings and buildings of new compounds without
    activity space, :mod:`gridmap.blindspots`): (… + blind spot) / 4. The weights are unchanged.
    """
    if unit not in UNITS:
        raise InputError(f"未知的分析单元 / unknown unit {unit!r}; known: {list(UNITS)}")
    chosen = check_weights(weights)
    facts = building_facts(inputs, resolution if unit == "h3" else None)
    reqs = request_units(inputs, resolution if unit == "h3" else None)
    key = "grid_id" if unit == "grid" else "h3_cell"
    facts = facts.assign(
        hh_beyond=np.where(facts["beyond"], facts["households"], 0.0),
        hh_no_bl=facts["households"] * facts["no_building_leader"],
        hh_no_leader=facts["households"] * facts["no_leader"],
        hh_no_branch=facts["households"] * facts["no_branch"],
    )
    sums = facts.dropna(subset=[key]).groupby(key)[
        ["households", "workers", "members", "available_members", "hh_beyond", "hh_no_bl",
         "hh_no_leader", "hh_no_branch", "blind_spot"]
    ].sum()  # fmt: skip
    if unit == "grid":
        grids = inputs.grids.reset_index(drop=True)
        ids = grids["id"].to_numpy()
        sums = sums.reindex(ids, fill_value=0.0)
        hh = sums["households"].to_numpy()
        table = gpd.GeoDataFrame(
            {
                "unit_id": ids,
                "label": _grid_labels(grids).to_numpy(),
                "community_id": grids["community_id"].to_numpy(),
                "grid_id": ids,
            },
            geometry=grids.geometry.to_crs(settings.STORAGE_SRID).to_numpy(),
            crs=settings.STORAGE_SRID,
        )
        table["workers"] = worker_fte(inputs.workers).reindex(ids, fill_value=0.0).to_numpy()
        table["no_leader"] = grids["leader_id"].isna().to_numpy(dtype=float)
        table["no_branch"] = grids["party_org_id"].isna().to_numpy(dtype=float)
    else:
        table, sums = _hexagon_table(inputs, facts, sums, resolution)
        hh = sums["households"].to_numpy()
        table["workers"] = sums["workers"].to_numpy()
        table["no_leader"] = _ratio(sums["hh_no_leader"], hh)
        table["no_branch"] = _ratio(sums["hh_no_branch"], hh)
    table["households"] = hh
    table["members"] = sums["members"].to_numpy()
    table["available_members"] = sums["available_members"].to_numpy()
    table["households_beyond"] = sums["hh_beyond"].to_numpy()
    table["no_building_leader"] = _ratio(sums["hh_no_bl"], hh)
    table["blind_spots"] = sums["blind_spot"].to_numpy().astype(np.int64)
    # blind spots (with organisations): a fourth part, whether the unit holds any
    blind_parts = 0 if inputs.organisations is None else 1
    open_counts = reqs.dropna(subset=[key]).groupby(key)["overdue"].agg(["size", "sum"])
    open_counts = open_counts.reindex(table["unit_id"].to_numpy(), fill_value=0)
    table["open"] = open_counts["size"].to_numpy(dtype=float)
    table["overdue"] = open_counts["sum"].to_numpy(dtype=float)
    cls = pd.Series("not_significant", index=table["unit_id"].to_numpy(), dtype=object)
    if hotspots is not None:
        require_frame(hotspots, "hotspots", ("unit_id", "cls"))
        given = hotspots.set_index("unit_id")["cls"]
        given = given[~given.index.duplicated()]
        cls = given.reindex(cls.index).fillna("not_significant")
    table["hotspot_class"] = cls.to_numpy()

    has_hh = hh > 0
    w = table["workers"].to_numpy()
    avail = table["available_members"].to_numpy()
    raw = pd.DataFrame(
        {
            # no worker (or no member) for households: as poor as it gets
            "households_per_worker": np.where(
                has_hh, np.divide(hh, w, out=np.full(len(hh), np.inf), where=w > 0), np.nan
            ),
            "households_per_member": np.where(
                has_hh, np.divide(hh, avail, out=np.full(len(hh), np.inf), where=avail > 0),
                np.nan,
            ),
            "members_per_100_households": np.where(
                has_hh, 100.0 * table["members"].to_numpy() / np.where(has_hh, hh, 1), np.nan
            ),
            "beyond_reach": np.where(
                has_hh, table["households_beyond"].to_numpy() / np.where(has_hh, hh, 1), np.nan
            ),
            "leadership": (
                table["no_leader"].to_numpy()
                + table["no_branch"].to_numpy()
                + table["no_building_leader"].to_numpy()
                + np.minimum(table["blind_spots"].to_numpy(), 1) * blind_parts
            ) / (3.0 + blind_parts),
            "open_per_100_households": np.where(
                has_hh, 100.0 * table["open"].to_numpy() / np.where(has_hh, hh, 1), np.nan
            ),
            "overdue_per_100_households": np.where(
                has_hh, 100.0 * table["overdue"].to_numpy() / np.where(has_hh, hh, 1), np.nan
            ),
            "hotspot": table["hotspot_class"].map(HOTSPOT_NEED).fillna(0.0).to_numpy(),
        },
        index=table.index,
    )  # fmt: skip
    needs = factor_needs(raw, ranges)
    total = sum(chosen.values())
    for factor in FACTORS:
        table[factor] = raw[factor].to_numpy()
        table[f"need_{factor}"] = needs[factor].to_numpy()
        table[f"points_{factor}"] = 100.0 * chosen[factor] * needs[factor].to_numpy() / total
    table["score"] = table[[f"points_{f}" for f in FACTORS]].sum(axis=1).round(1)
    if community_ids is not None:
        table = table[table["community_id"].isin(list(community_ids)).to_numpy()]
    table = table.sort_values(["score", "households"], ascending=[False, False], kind="stable")
    table = table.reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    radius = float(inputs.radius_m)
    table["why"] = explain(table, radius, settings.PLANNING_EXPLAIN_TOP, zh=True)
    table["why_en"] = explain(table, radius, settings.PLANNING_EXPLAIN_TOP, zh=False)
    return Ranking(
        table=table,
        unit=unit,
        resolution=resolution if unit == "h3" else None,
        weights=chosen,
        radius_m=radius,
    )


def _ratio(part: pd.Series | np.ndarray, whole: np.ndarray) -> np.ndarray:
    part = np.asarray(part, dtype=float)
    return np.divide(part, whole, out=np.zeros(len(part)), where=np.asarray(whole) > 0)


def _hexagon_table(
    inputs: PlanningInputs, facts: pd.DataFrame, sums: pd.DataFrame, resolution: int
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The hexagons holding households, labelled by the grid holding most of them."""
    cells = sums.index[sums["households"].to_numpy() > 0]
    polygons = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
    main = (
        facts.dropna(subset=["h3_cell"])
        .sort_values("households", ascending=False, kind="stable")
        .groupby(["h3_cell", "grid_id"], dropna=False)["households"]
        .sum()
        .reset_index()
        .sort_values(["h3_cell", "households"], ascending=[True, False], kind="stable")
        .drop_duplicates("h3_cell")
        .set_index("h3_cell")["grid_id"]
    )
    grid_of = main.reindex(cells).to_numpy()
    grids = inputs.grids.set_index("id")
    labels = _grid_labels(inputs.grids).set_axis(inputs.grids["id"].to_numpy())
    grid_label = labels.reindex(grid_of).fillna("").to_numpy()
    table = gpd.GeoDataFrame(
        {
            "unit_id": np.asarray(cells, dtype=object),
            "label": [
                f"六边形 {c}" + (f"({g})" if g else "")
                for c, g in zip(cells, grid_label, strict=True)
            ],
            "community_id": grids["community_id"].reindex(grid_of).to_numpy(),
            "grid_id": grid_of,
        },
        geometry=polygons,
        crs=settings.STORAGE_SRID,
    )
    return table, sums.reindex(cells)


def hotspot_classes(
    inputs: PlanningInputs,
    unit: str = "grid",
    resolution: int = settings.H3_RESOLUTION,
    permutations: int = settings.HOTSPOT_PERMUTATIONS,
) -> pd.DataFrame:
    """Gi* class (``unit_id, cls``) of each grid or hexagon, from all requests (counts), as
    :func:`gridmap.hotspots.request_hotspots` finds them; input for :func:`rank_areas`."""
    report = request_hotspots(
        inputs.requests,
        inputs.grids,
        inputs.buildings,
        unit=unit,
        resolution=resolution,
        permutations=permutations,
    )
    return pd.DataFrame(report.cells[["unit_id", "cls"]])
