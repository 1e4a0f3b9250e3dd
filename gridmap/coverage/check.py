"""The whole check: :func:`check_coverage` runs every check on a street and gathers problems,
scores and summaries into a :class:`CoverageReport`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap import settings
from gridmap.coverage.assignment import assign_prepared
from gridmap.coverage.context import Context
from gridmap.coverage.geometry import (
    check_grid_communities,
    gaps_prepared,
    invalid_coverage_prepared,
    outside_prepared,
    overlaps_prepared,
)
from gridmap.coverage.kinds import PROBLEM_KINDS
from gridmap.coverage.prepare import (
    BUILDING_COLUMNS,
    COMMUNITY_COLUMNS,
    GRID_COLUMNS,
    POLYGONAL,
    STATION_COLUMNS,
    analysis_crs,
    check_frame,
    geom_array,
    ids_at,
    prepare_layer,
)
from gridmap.coverage.problems import blind_spot_problems, collect_problems
from gridmap.coverage.rules import grid_size_problems, leadership_gaps, reach_prepared, valid_radius
from gridmap.coverage.summaries import (
    assignment_table,
    score_communities,
    score_grids,
    summarise_communities,
    summarise_street,
)


@dataclass(frozen=True)
class CoverageReport:
    """Everything :func:`check_coverage` found.

    Attributes
    ----------
    problems : geopandas.GeoDataFrame
        One row per problem, columns :data:`PROBLEM_COLUMNS` and geometry ``geom`` in
        EPSG:4326: ``kind`` (a key of :data:`PROBLEM_KINDS`), ``label`` (its Chinese name),
        ``community_id/_code``, ``grid_id/_code``, ``other_grid_code`` (overlaps),
        ``building_id/_code``, ``area_m2``, ``households``, ``share``, ``distance_m`` and
        ``detail``, a short Chinese sentence naming the thing and the number.
    grid_scores : pandas.DataFrame
        Per grid: ``grid_id, grid_code, community_id, buildings, households``, the score parts
        (0–1, see :data:`SCORE_PARTS`) and ``score`` (0–100).
    community_scores : pandas.DataFrame
        The same per community (``community_id, community_code``).
    assignment : pandas.DataFrame
        :attr:`Assignment.buildings` plus ``building_code, grid_code, community_id``.
    splits : pandas.DataFrame
        :attr:`Assignment.splits`.
    reach : pandas.DataFrame
        :attr:`ServiceReach.buildings`: each building's nearest station and distance.
    summary : dict
        Headline figures of the whole street (see :func:`check_coverage`).
    community_summary : pandas.DataFrame
        The same figures per community, indexed by community id.
    radius_m : float
        The service radius used.
    metric_crs : pyproj.CRS or None
        The CRS areas and distances were measured in (None for an empty street).
    problem_kinds : mapping
        :data:`PROBLEM_KINDS`, for the legend: kind → (中文, English, colour).
    score_weights : mapping
        :data:`gridmap.settings.COVERAGE_SCORE_WEIGHTS` used for the scores (explained in
        :data:`SCORE_PARTS`).
    """

    problems: gpd.GeoDataFrame
    grid_scores: pd.DataFrame
    community_scores: pd.DataFrame
    assignment: pd.DataFrame
    splits: pd.DataFrame
    reach: pd.DataFrame
    summary: dict[str, float | None]
    community_summary: pd.DataFrame
    radius_m: float
    metric_crs: pyproj.CRS | None = None
    problem_kinds: Mapping[str, tuple[str, str, str]] = field(default_factory=lambda: PROBLEM_KINDS)
    score_weights: Mapping[str, float] = field(
        default_factory=lambda: dict(settings.COVERAGE_SCORE_WEIGHTS)
    )

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return len(self.problems) == 0


def check_coverage(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame | None = None,
    radius_m: float | None = None,
    organisations: pd.DataFrame | None = None,
    score_weights: Mapping[str, float] | None = None,
) -> CoverageReport:
    """Run every coverage check on a street (or part of one) and gather the problems.

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        ``id, code`` (``name`` optional) and polygons.
    grids : geopandas.GeoDataFrame
        The active grids: ``id, code, community_id, leader_id, party_org_id`` (``name``
        optional) and polygons, as :func:`gridmap.repository.active_grids` returns them.
    buildings : geopandas.GeoDataFrame
        ``id, code, households, leader_id`` (``name``, ``community_id`` optional) and polygons.
    stations : geopandas.GeoDataFrame, optional
        Service stations: ``id`` and points. None or empty: every household is beyond reach.
    radius_m : float, optional
        Service radius in metres (300 / 500 / 1000); default ``settings.SERVICE_REACH_M``.
    organisations : pandas.DataFrame, optional
        两新组织 (:data:`gridmap.blindspots.ORGANISATION_COLUMNS`). Given (even empty), the
        blind spots of :mod:`gridmap.blindspots` are added: ``org_uncovered``,
        ``blind_spot_building`` and ``compound_no_activity_space`` (the last from the
        buildings' ``completion_year`` / ``activity_space_reserved``). None: neither.
    score_weights : mapping, optional
        Points each score part weighs (the street's own: :func:`gridmap.weights.street_weights`
        with ``"coverage_score"``); default :data:`gridmap.settings.COVERAGE_SCORE_WEIGHTS`.

    Returns
    -------
    CoverageReport
        Every building is in exactly one grid or in none (:func:`assign_buildings`): in none
        when no grid holds any of it (``building_unassigned``) or when at least
        ``settings.BUILDING_OUTSIDE_SHARE`` of it lies outside every grid
        (``building_mostly_outside``, with that share). A gap's ``buildings`` and
        ``households`` are those of the buildings in no grid that it holds most of, so
        households in grids plus households in no grid are all households.

        ``summary`` holds: ``communities, grids, buildings, households, community_area_m2,
        gap_area_m2`` (gaps and sliver gaps), ``gaps, gap_slivers, overlap_area_m2`` (area
        covered by two or more grids), ``overlaps, overlap_slivers, outside_area_m2,
        invalid_coverage_grids, unassigned_buildings, unassigned_households`` (buildings in no
        grid, wholly or mostly outside), ``mostly_outside_buildings,
        mostly_outside_households, split_buildings, grids_no_leader, grids_no_branch,
        buildings_no_leader, grids_too_small, grids_too_large, households_beyond_reach,
        organisations_uncovered, blind_spot_buildings, compounds_no_activity_space, radius_m,
        problems`` and ``score`` (mean of the community scores).

    Raises
    ------
    InputError
        A layer lacks a column or a CRS, holds the wrong geometry type, or a grid belongs to
        no community given.
    """
    check_frame(communities, "communities", COMMUNITY_COLUMNS, POLYGONAL)
    check_frame(grids, "grids", GRID_COLUMNS, POLYGONAL)
    check_frame(buildings, "buildings", BUILDING_COLUMNS, POLYGONAL)
    if stations is None:
        stations = gpd.GeoDataFrame({"id": []}, geometry=[], crs=settings.STORAGE_SRID)
    check_frame(stations, "stations", STATION_COLUMNS, ("Point",))
    check_grid_communities(grids, communities)
    radius = valid_radius(radius_m)

    crs = analysis_crs(communities, grids, buildings, stations)
    com = prepare_layer(communities, crs)
    grd = prepare_layer(grids, crs)
    bld = _with_communities(prepare_layer(buildings, crs), com)
    sta = prepare_layer(stations, crs)

    assignment = assign_prepared(bld, grd)
    gaps = gaps_prepared(com, grd, _unassigned(bld, assignment.buildings))
    overlaps = overlaps_prepared(grd)
    outside = outside_prepared(grd, com)
    invalid = invalid_coverage_prepared(grd)
    leadership = leadership_gaps(grd, bld)
    sizes = grid_size_problems(grd, assignment.buildings, bld)
    reach = reach_prepared(bld, sta, radius, assignment.buildings)

    ctx = Context(com, grd, bld, assignment, radius)
    blind = [] if organisations is None else blind_spot_problems(ctx, organisations, crs)
    problems = collect_problems(
        ctx, gaps, overlaps, outside, invalid, leadership, sizes, reach, blind
    )
    weights = dict(settings.COVERAGE_SCORE_WEIGHTS if score_weights is None else score_weights)
    grid_scores = score_grids(ctx, overlaps, outside, reach, weights)
    community_scores = score_communities(ctx, gaps, overlaps, grid_scores, reach, weights)
    community_summary = summarise_communities(ctx, problems, gaps, overlaps, community_scores)
    summary = summarise_street(community_summary, problems, radius)
    return CoverageReport(
        problems=problems.to_crs(settings.STORAGE_SRID),
        grid_scores=grid_scores,
        community_scores=community_scores,
        assignment=assignment_table(ctx),
        splits=assignment.splits,
        reach=reach.buildings,
        summary=summary,
        community_summary=community_summary,
        radius_m=radius,
        metric_crs=crs,
        score_weights=weights,
    )


def _with_communities(
    buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Buildings with ``community_id``: their own where given, else the community holding a
    point inside the building."""
    if "community_id" in buildings and buildings["community_id"].notna().all():
        return buildings
    found = np.full(len(buildings), -1, dtype=np.int64)
    if len(buildings) and len(communities):
        points = shapely.point_on_surface(geom_array(buildings))
        p, c = shapely.STRtree(geom_array(communities)).query(points, predicate="intersects")
        first = np.unique(p, return_index=True)[1]
        found[p[first]] = c[first]
    spatial = ids_at(communities["id"], found)
    out = buildings.copy()
    if "community_id" in out:
        out["community_id"] = out["community_id"].where(out["community_id"].notna(), spatial)
    else:
        out["community_id"] = spatial.to_numpy()
    return out


def _unassigned(buildings: gpd.GeoDataFrame, assignment: pd.DataFrame) -> gpd.GeoDataFrame:
    """Buildings in no grid (wholly or mostly outside every grid): the ones whose households
    the gaps hold (a building mostly in a grid is that grid's, however much lies in a gap)."""
    return buildings[assignment["grid_id"].isna().to_numpy()]
