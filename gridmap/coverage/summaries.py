"""Scores and summaries of the whole check: score parts per grid and per community, headline
figures per community and for the street, and the building assignment table."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.coverage.context import Context, display_names
from gridmap.coverage.prepare import geom_array, household_counts
from gridmap.coverage.rules import ServiceReach, grid_households
from gridmap.coverage.score import coverage_score, safe_share, size_fulfilment


def score_grids(
    ctx: Context,
    overlaps: gpd.GeoDataFrame,
    outside: gpd.GeoDataFrame,
    reach: ServiceReach,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Score parts and score of each grid (:attr:`CoverageReport.grid_scores`)."""
    grids, bld = ctx.grids, ctx.buildings
    ids = grids["id"].to_numpy()
    area = shapely.area(geom_array(grids))
    overlap_area = (
        pd.concat(
            [
                overlaps[["grid_a", "area_m2"]].set_axis(["grid_id", "area"], axis=1),
                overlaps[["grid_b", "area_m2"]].set_axis(["grid_id", "area"], axis=1),
            ]
        )
        .groupby("grid_id")["area"]
        .sum()
        .reindex(ids, fill_value=0.0)
        .to_numpy()
    )
    outside_area = outside.set_index("grid_id")["area_m2"].reindex(ids, fill_value=0.0).to_numpy()
    counts = grid_households(grids, ctx.assignment.buildings, bld)
    table = ctx.assignment.buildings.assign(
        households=household_counts(bld),
        whole=lambda t: np.where(t["is_split"], 0, t["households"]),
        led=lambda t: np.where(bld["leader_id"].notna().to_numpy(), t["households"], 0),
        near=lambda t: np.where(reach.buildings["beyond"].to_numpy(), 0, t["households"]),
    )
    sums = (
        table[table["grid_id"].notna()]
        .groupby("grid_id")[["households", "whole", "led", "near"]]
        .sum()
        .reindex(ids, fill_value=0)
    )
    households = counts["households"].to_numpy()
    parts = pd.DataFrame(
        {
            "coverage": 1.0 - safe_share(overlap_area + outside_area, area),
            "assignment": safe_share(sums["whole"], households),
            "grid_leadership": 0.5 * grids["leader_id"].notna().to_numpy()
            + 0.5 * grids["party_org_id"].notna().to_numpy(),
            "building_leaders": safe_share(sums["led"], households),
            "size": size_fulfilment(
                households, settings.GRID_HOUSEHOLDS_MIN, settings.GRID_HOUSEHOLDS_MAX
            ),
            "reach": safe_share(sums["near"], households),
        }
    )
    head = pd.DataFrame(
        {
            "grid_id": ids,
            "grid_code": grids["code"].to_numpy(),
            "community_id": grids["community_id"].to_numpy(),
            "buildings": counts["buildings"].to_numpy(),
            "households": households,
        }
    )
    out = pd.concat([head, parts], axis=1)
    out["score"] = coverage_score(parts, weights)
    return out


def score_communities(
    ctx: Context,
    gaps: gpd.GeoDataFrame,
    overlaps: gpd.GeoDataFrame,
    grid_scores: pd.DataFrame,
    reach: ServiceReach,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Score parts and score of each community (``community_scores``); ``weights`` as for
    :func:`gridmap.coverage.coverage_score`."""
    com, bld = ctx.communities, ctx.buildings
    ids = com["id"].to_numpy()
    area = shapely.area(geom_array(com))
    gap_area = gaps.groupby("community_id")["area_m2"].sum().reindex(ids, fill_value=0.0)
    overlap_area = _union_area_by(overlaps).reindex(ids, fill_value=0.0)
    table = ctx.assignment.buildings.assign(
        community_id=bld["community_id"].to_numpy(),
        households=household_counts(bld),
        whole=lambda t: np.where(t["is_split"] | t["grid_id"].isna(), 0, t["households"]),
        led=lambda t: np.where(bld["leader_id"].notna().to_numpy(), t["households"], 0),
        near=lambda t: np.where(reach.buildings["beyond"].to_numpy(), 0, t["households"]),
    )
    sums = (
        table.groupby("community_id")[["households", "whole", "led", "near"]]
        .sum()
        .reindex(ids, fill_value=0)
    )
    per_grid = grid_scores.groupby("community_id")[["grid_leadership", "size"]].mean()
    per_grid = per_grid.reindex(ids, fill_value=0.0)  # a community without grids scores 0 here
    households = sums["households"].to_numpy()
    uncovered = gap_area.to_numpy() + overlap_area.to_numpy()
    parts = pd.DataFrame(
        {
            "coverage": 1.0 - safe_share(uncovered, area),
            "assignment": safe_share(sums["whole"], households),
            "grid_leadership": per_grid["grid_leadership"].to_numpy(),
            "building_leaders": safe_share(sums["led"], households),
            "size": per_grid["size"].to_numpy(),
            "reach": safe_share(sums["near"], households),
        }
    )
    head = pd.DataFrame(
        {
            "community_id": ids,
            "community_code": com["code"].to_numpy(),
            "grids": grid_scores.groupby("community_id")
            .size()
            .reindex(ids, fill_value=0)
            .to_numpy(),
            "households": households,
        }
    )
    out = pd.concat([head, parts], axis=1)
    out["score"] = coverage_score(parts, weights)
    return out


def _union_area_by(overlaps: gpd.GeoDataFrame) -> pd.Series:
    """Area covered by two or more grids, per community (overlapping pairs unioned)."""
    if len(overlaps) == 0:
        return pd.Series(dtype=float)
    merged = overlaps[["community_id", overlaps.geometry.name]].dissolve(by="community_id")
    return pd.Series(shapely.area(geom_array(merged)), index=merged.index)


_COUNTED_KINDS = {
    "gaps": "gap",
    "gap_slivers": "gap_sliver",
    "overlaps": "overlap",
    "overlap_slivers": "overlap_sliver",
    "invalid_coverage_grids": "invalid_coverage",
    "unassigned_buildings": "building_unassigned",  # + the mostly outside, below
    "mostly_outside_buildings": "building_mostly_outside",
    "split_buildings": "building_split",
    "grids_no_leader": "grid_no_leader",
    "grids_no_branch": "grid_no_branch",
    "buildings_no_leader": "building_no_leader",
    "grids_too_small": "grid_too_small",
    "grids_too_large": "grid_too_large",
    "organisations_uncovered": "org_uncovered",
    "blind_spot_buildings": "blind_spot_building",
    "compounds_no_activity_space": "compound_no_activity_space",
}


def summarise_communities(
    ctx: Context,
    problems: gpd.GeoDataFrame,
    gaps: gpd.GeoDataFrame,
    overlaps: gpd.GeoDataFrame,
    community_scores: pd.DataFrame,
) -> pd.DataFrame:
    """Headline figures per community (:attr:`CoverageReport.community_summary`)."""
    com = ctx.communities
    ids = pd.Index(com["id"].to_numpy(), name="community_id")
    kinds = problems.groupby(["community_id", "kind"]).size().unstack(fill_value=0)
    areas = problems.assign(area=pd.to_numeric(problems["area_m2"], errors="coerce"))
    by_kind_area = areas.groupby(["community_id", "kind"])["area"].sum().unstack(fill_value=0.0)
    hh = pd.to_numeric(problems["households"], errors="coerce").fillna(0)
    by_kind_hh = problems.assign(hh=hh).groupby(["community_id", "kind"])["hh"].sum()
    by_kind_hh = by_kind_hh.unstack(fill_value=0)
    scores = community_scores.set_index("community_id")

    def column(frame: pd.DataFrame, kind: str, fill: float = 0) -> np.ndarray:
        if kind not in frame:
            return np.full(len(ids), fill)
        return frame[kind].reindex(ids, fill_value=fill).fillna(fill).to_numpy()

    out = pd.DataFrame(
        {
            "code": com["code"].to_numpy(),
            "name": display_names(com).to_numpy(),
            "grids": scores["grids"].to_numpy(),
            "buildings": ctx.buildings.groupby("community_id").size().reindex(ids, fill_value=0),
            "households": scores["households"].to_numpy(),
            "community_area_m2": shapely.area(geom_array(com)),
            "gap_area_m2": gaps.groupby("community_id")["area_m2"]
            .sum()
            .reindex(ids, fill_value=0.0),
            "overlap_area_m2": _union_area_by(overlaps).reindex(ids, fill_value=0.0),
            "outside_area_m2": column(by_kind_area, "outside_community"),
            "unassigned_households": column(by_kind_hh, "building_unassigned")
            + column(by_kind_hh, "building_mostly_outside"),
            "mostly_outside_households": column(by_kind_hh, "building_mostly_outside"),
            "households_beyond_reach": column(by_kind_hh, "beyond_reach"),
        },
        index=ids,
    )
    for name, kind in _COUNTED_KINDS.items():
        out[name] = column(kinds, kind).astype(np.int64)
    # buildings in no grid: wholly outside every grid, or mostly (the latter also apart)
    out["unassigned_buildings"] += out["mostly_outside_buildings"]
    out["problems"] = kinds.sum(axis=1).reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
    out["score"] = scores["score"].to_numpy()
    return out


def summarise_street(
    community_summary: pd.DataFrame, problems: pd.DataFrame, radius: float
) -> dict[str, float | None]:
    """Headline figures of the street, summed from those per community."""
    summary: dict[str, float | None] = {"communities": len(community_summary)}
    for col in community_summary.columns:
        if col in ("code", "name", "score", "problems"):
            continue
        total = community_summary[col].sum()
        summary[col] = float(total) if col.endswith("_m2") else int(total)
    summary["problems"] = len(problems)
    summary["radius_m"] = radius
    scores = community_summary["score"]
    summary["score"] = round(float(scores.mean()), 1) if len(scores) else None
    return summary


def assignment_table(ctx: Context) -> pd.DataFrame:
    """The building assignment with building and grid codes and community ids."""
    table = ctx.assignment.buildings.copy()
    table.insert(1, "building_code", ctx.buildings["code"].to_numpy())
    table.insert(
        3, "grid_code", [None if pd.isna(g) else ctx.grid_code[g] for g in table["grid_id"]]
    )
    table["community_id"] = ctx.buildings["community_id"].to_numpy()
    return table
