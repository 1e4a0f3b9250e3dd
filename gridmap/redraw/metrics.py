"""Live figures and validation of a plan, without the database.

:func:`grid_metrics` counts each grid's buildings, households, residents and members and
measures its area, Polsby–Popper compactness and contiguity against the household norm;
:func:`plan_metrics` adds the plan's gaps, overlaps and unassigned or split buildings
(:class:`PlanMetrics`); :func:`validate_plan` lists what stops a plan from being proposed as it
is (:class:`Issue`). :func:`building_assignment`, :func:`int_column` and :func:`frame_crs` are
shared with the diff, auto-balance and life-cycle modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.coverage import (
    assign_buildings,
    find_gaps,
    find_overlaps,
    grid_households,
)
from gridmap.crs import metric_crs
from gridmap.errors import InputError
from gridmap.i18n import LANGS, Language, text
from gridmap.redraw.geometry import polygonal


def frame_crs(frame: gpd.GeoDataFrame, *others: gpd.GeoDataFrame):
    """The metric CRS (:func:`gridmap.crs.metric_crs`) of the first non-empty frame, or None."""
    present = [f for f in (frame, *others) if f is not None and len(f)]
    return metric_crs(present[0]) if present else None


def int_column(buildings: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as int64 (blanks count 0; all zeros when the column is missing)."""
    if column not in buildings:
        return np.zeros(len(buildings), dtype=np.int64)
    return pd.to_numeric(buildings[column], errors="coerce").fillna(0).to_numpy(dtype=np.int64)


def grid_metrics(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    assignment: pd.DataFrame | None = None,
    households_min: int | None = None,
    households_max: int | None = None,
) -> pd.DataFrame:
    """Live figures of each grid of a plan.

    Parameters
    ----------
    grids : GeoDataFrame
        ``id, code`` and polygons (``name`` kept when present).
    buildings : GeoDataFrame
        ``id, households`` and polygons; ``residents`` and ``members`` counted when present.
    assignment : DataFrame, optional
        :attr:`gridmap.coverage.Assignment.buildings` of these buildings to these grids
        (computed when not given).
    households_min, households_max : int, optional
        The norm; default ``settings.GRID_HOUSEHOLDS_MIN`` / ``MAX``.

    Returns
    -------
    pandas.DataFrame
        ``grid_id, code, name, buildings, households, residents, members, area_m2,
        compactness`` (Polsby–Popper 4πA/P², 1 for a circle), ``parts`` (separate polygons),
        ``contiguous``, ``norm`` (``"ok"``, ``"small"``, ``"large"``) and ``deviation``
        (households minus ``settings.GRID_HOUSEHOLDS_TARGET``), in the grids' order.
    """
    low = settings.GRID_HOUSEHOLDS_MIN if households_min is None else households_min
    high = settings.GRID_HOUSEHOLDS_MAX if households_max is None else households_max
    if assignment is None:
        assignment = building_assignment(buildings, grids)
    counts = grid_households(grids, assignment, buildings)
    extra = pd.DataFrame(
        {
            "grid_id": assignment["grid_id"].to_numpy(),
            "residents": int_column(buildings, "residents"),
            "members": int_column(buildings, "members"),
        }
    )
    sums = (
        extra[extra["grid_id"].notna()]
        .groupby("grid_id")[["residents", "members"]]
        .sum()
        .reindex(grids["id"].to_numpy(), fill_value=0)
    )
    geoms = np.asarray(grids.geometry.values, dtype=object)
    crs = frame_crs(grids)
    metric = (
        np.asarray(grids.geometry.to_crs(crs).values, dtype=object) if crs is not None else geoms
    )
    area = shapely.area(metric)
    perimeter = shapely.length(metric)
    compact = np.divide(
        4 * np.pi * area, perimeter**2, out=np.zeros_like(area), where=perimeter > 0
    )
    parts = np.array([len(shapely.get_parts(polygonal(g))) for g in geoms], dtype=np.int64)
    households = counts["households"].to_numpy()
    return pd.DataFrame(
        {
            "grid_id": grids["id"].to_numpy(),
            "code": grids["code"].to_numpy(),
            "name": grids["name"].to_numpy() if "name" in grids else grids["code"].to_numpy(),
            "buildings": counts["buildings"].to_numpy(),
            "households": households,
            "residents": sums["residents"].to_numpy(dtype=np.int64),
            "members": sums["members"].to_numpy(dtype=np.int64),
            "area_m2": area,
            "compactness": compact,
            "parts": parts,
            "contiguous": parts == 1,
            "norm": np.where(households < low, "small", np.where(households > high, "large", "ok")),
            "deviation": households - settings.GRID_HOUSEHOLDS_TARGET,
        }
    )


def building_assignment(buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """The building → grid table of :func:`gridmap.coverage.assign_buildings` (largest
    overlap); every building unassigned when there are no grids or no buildings."""
    if len(grids) == 0 or len(buildings) == 0:
        return pd.DataFrame(
            {
                "building_id": buildings["id"].to_numpy(),
                "grid_id": pd.Series([pd.NA] * len(buildings), dtype="Int64"),
                "share": np.zeros(len(buildings)),
                "covered_share": np.zeros(len(buildings)),
                "n_grids": np.zeros(len(buildings), dtype=np.int64),
                "is_split": np.zeros(len(buildings), dtype=bool),
            }
        )
    return assign_buildings(buildings, grids).buildings


@dataclass(frozen=True)
class PlanMetrics:
    """Live figures of a plan (see :func:`plan_metrics`).

    Attributes
    ----------
    grids : pandas.DataFrame
        :func:`grid_metrics`.
    assignment : pandas.DataFrame
        :attr:`gridmap.coverage.Assignment.buildings` (building → grid by largest overlap).
    gaps, overlaps : geopandas.GeoDataFrame
        :func:`gridmap.coverage.find_gaps` / :func:`~gridmap.coverage.find_overlaps`.
    summary : dict
        ``grids, households, gaps, gap_area_m2, overlaps, overlap_area_m2,
        unassigned_buildings, split_buildings, non_contiguous, out_of_norm, too_small,
        too_large, max_deviation`` (largest absolute deviation from the target, households).
    """

    grids: pd.DataFrame
    assignment: pd.DataFrame
    gaps: gpd.GeoDataFrame
    overlaps: gpd.GeoDataFrame
    summary: dict[str, float]


def plan_metrics(
    community: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame
) -> PlanMetrics:
    """Live figures of one community's plan after an edit.

    Parameters
    ----------
    community : GeoDataFrame
        One row: ``id, code`` and the community polygon.
    grids : GeoDataFrame
        The plan's grids: ``id, code`` and polygons (``community_id`` filled in when missing).
    buildings : GeoDataFrame
        The community's buildings: ``id, households`` (``residents, members``) and polygons.

    Returns
    -------
    PlanMetrics
    """
    if len(community) != 1:
        raise InputError(f"plan_metrics needs exactly one community, got {len(community)}")
    grids = grids.assign(community_id=community["id"].iloc[0])
    assignment = building_assignment(buildings, grids)
    table_ = grid_metrics(grids, buildings, assignment)
    gaps = find_gaps(community, grids, buildings)
    overlaps = find_overlaps(grids) if len(grids) else gpd.GeoDataFrame(geometry=[], crs=grids.crs)
    if "area_m2" not in overlaps:
        overlaps = overlaps.assign(area_m2=pd.Series(dtype=float))
    unassigned = assignment["grid_id"].isna()
    deviation = table_["deviation"].abs()
    summary = {
        "grids": len(grids),
        "households": int(int_column(buildings, "households").sum()),
        "gaps": len(gaps),
        "gap_area_m2": float(gaps["area_m2"].sum()),
        "overlaps": len(overlaps),
        "overlap_area_m2": float(overlaps["area_m2"].sum()),
        "unassigned_buildings": int(unassigned.sum()),
        "split_buildings": int(assignment["is_split"].sum()),
        "non_contiguous": int((~table_["contiguous"]).sum()),
        "too_small": int((table_["norm"] == "small").sum()),
        "too_large": int((table_["norm"] == "large").sum()),
        "out_of_norm": int((table_["norm"] != "ok").sum()),
        "max_deviation": int(deviation.max()) if len(deviation) else 0,
    }
    return PlanMetrics(table_, assignment, gaps, overlaps, summary)


@dataclass(frozen=True)
class Issue:
    """One reason a plan is not ready: a ``kind`` and its message in Chinese and English."""

    kind: str
    zh: str
    en: str

    @property
    def message(self) -> str:
        """Both languages in one line (中文 / English), for the command line and the log."""
        return f"{self.zh} / {self.en}"

    def in_language(self, lang: Language) -> str:
        """The message in ``lang``."""
        return self.zh if lang == "zh" else self.en


def validate_plan(
    metrics: PlanMetrics,
    buildings: pd.DataFrame | None = None,
) -> list[Issue]:
    """What stops a plan from being proposed as it is.

    Full coverage (no gap), no overlaps, every building in exactly one grid (none outside, none
    split), every grid contiguous and within the household norm.

    Parameters
    ----------
    metrics : PlanMetrics
    buildings : DataFrame, optional
        ``id, code`` to name buildings in the messages.

    Returns
    -------
    list of Issue
        Empty when the plan may be proposed without a written reason.
    """
    issues: list[Issue] = []
    s = metrics.summary
    if s["gaps"]:
        issues.append(
            Issue(
                "gap",
                *(
                    text(
                        "有 {n:,} 处未覆盖区域，共 {area:,.0f} 平方米",
                        lang,
                        n=s["gaps"],
                        area=s["gap_area_m2"],
                    )
                    for lang in LANGS
                ),
            )
        )
    if s["overlaps"]:
        pairs = ", ".join(
            f"{a}/{b}"
            for a, b in zip(
                metrics.overlaps["grid_a_code"], metrics.overlaps["grid_b_code"], strict=True
            )
        )
        issues.append(
            Issue(
                "overlap",
                *(
                    text("有 {n:,} 处网格重叠({pairs})", lang, n=s["overlaps"], pairs=pairs)
                    for lang in LANGS
                ),
            )
        )
    codes = (
        pd.Series(buildings["code"].to_numpy(), index=buildings["id"].to_numpy())
        if buildings is not None and "code" in buildings
        else None
    )

    def named(ids: pd.Series) -> str:
        shown = [str(codes.get(i, i)) if codes is not None else str(i) for i in ids[:5]]
        return ", ".join(shown) + (f" … (+{len(ids) - 5})" if len(ids) > 5 else "")

    a = metrics.assignment
    outside = a.loc[a["grid_id"].isna(), "building_id"]
    if len(outside):
        issues.append(
            Issue(
                "building_unassigned",
                *(
                    text(
                        "{n:,} 栋楼不在任何网格({named})",
                        lang,
                        n=len(outside),
                        named=named(outside),
                    )
                    for lang in LANGS
                ),
            )
        )
    split = a.loc[a["is_split"].astype(bool), "building_id"]
    if len(split):
        issues.append(
            Issue(
                "building_split",
                *(
                    text("{n:,} 栋楼跨网格({named})", lang, n=len(split), named=named(split))
                    for lang in LANGS
                ),
            )
        )
    g = metrics.grids
    for _, row in g[~g["contiguous"]].iterrows():
        issues.append(
            Issue(
                "grid_not_contiguous",
                *(
                    text(
                        "网格 {grid} 由 {parts} 块组成，不连片",
                        lang,
                        grid=row["code"],
                        parts=row["parts"],
                    )
                    for lang in LANGS
                ),
            )
        )
    for _, row in g[g["norm"] != "ok"].iterrows():
        small = row["norm"] == "small"
        bound = settings.GRID_HOUSEHOLDS_MIN if small else settings.GRID_HOUSEHOLDS_MAX
        issues.append(
            Issue(
                "grid_too_small" if small else "grid_too_large",
                *(
                    text(
                        "网格 {grid} {households:,} 户，低于下限 {bound:,} 户",
                        lang,
                        grid=row["code"],
                        households=row["households"],
                        bound=bound,
                    )
                    if small
                    else text(
                        "网格 {grid} {households:,} 户，超过上限 {bound:,} 户",
                        lang,
                        grid=row["code"],
                        households=row["households"],
                        bound=bound,
                    )
                    for lang in LANGS
                ),
            )
        )
    return issues
