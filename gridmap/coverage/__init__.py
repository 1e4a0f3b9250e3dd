"""Coverage analysis: where the grid network of a street is not doing its job.

Checks the rules of DESIGN.md §2 — full coverage without gaps or overlaps, one grid per
building, grid size, leadership, service reach — on whole layers at once (shapely 2 / STRtree,
no per-feature loops), and combines them into a 0–100 score per grid and per community.

Everything here is pure: it takes (Geo)DataFrames as :mod:`gridmap.repository` loads them
(geometry in any CRS, usually EPSG:4326) and returns (Geo)DataFrames; it never touches the
database or the UI. Areas are in m² and distances in m, measured in the local UTM zone chosen
by :func:`gridmap.crs.metric_crs`. The frames returned by the single checks keep that metric
CRS; :func:`check_coverage` returns its problems in EPSG:4326 for the map.

Tolerances (all from :mod:`gridmap.settings`, read at call time)
    A gap, overlap or outside part of at most ``OVERLAP_TOLERANCE_M2`` is numerical noise and
    dropped; one larger than that but below ``SLIVER_MAX_M2`` is reported as a sliver
    (``gap_sliver`` / ``overlap_sliver``), apart from the real gaps and overlaps.

Inputs (columns beyond these are ignored; ``name`` columns are used in messages when present)
    communities : ``id, code`` and polygons.
    grids : ``id, code, community_id, leader_id, party_org_id`` and polygons (active grids).
    buildings : ``id, code, households, leader_id`` and polygons; ``community_id`` optional
        (else found from the building's position).
    stations : ``id`` and points.

The package's modules, each with one job (import the names below from ``gridmap.coverage``):

- :mod:`~gridmap.coverage.kinds` — the problem kinds (:data:`PROBLEM_KINDS`) and columns
  (:data:`PROBLEM_COLUMNS`);
- :mod:`~gridmap.coverage.prepare` — input checks, the metric CRS, preparing layers, shared
  array helpers; the input columns (:data:`COMMUNITY_COLUMNS` …);
- :mod:`~gridmap.coverage.assignment` — :func:`assign_buildings` (:class:`Assignment`);
- :mod:`~gridmap.coverage.geometry` — :func:`find_gaps`, :func:`find_overlaps`,
  :func:`grids_outside_community`, :func:`coverage_validity`;
- :mod:`~gridmap.coverage.rules` — :func:`leadership_gaps`, :func:`grid_households`,
  :func:`grid_size_problems`, :func:`service_reach` (:class:`ServiceReach`);
- :mod:`~gridmap.coverage.score` — :func:`coverage_score` and its parts (:data:`SCORE_PARTS`,
  :data:`SCORE_PART_NAMES`);
- :mod:`~gridmap.coverage.context` — the prepared layers and display names of one check;
- :mod:`~gridmap.coverage.problems` — the problem rows of every kind, with their messages;
- :mod:`~gridmap.coverage.summaries` — grid and community scores, community and street
  summaries;
- :mod:`~gridmap.coverage.check` — :func:`check_coverage` and :class:`CoverageReport`;
- :mod:`~gridmap.coverage.lists` — :func:`filter_problems`, :func:`problem_table`
  (:data:`TABLE_COLUMNS`) for the UI, the CLI and exports.

Inside the package, the public checks have ``*_prepared`` twins (e.g.
:func:`~gridmap.coverage.geometry.gaps_prepared`) that take layers already checked and prepared
by :func:`~gridmap.coverage.prepare.prepare_layer`: :func:`check_coverage` prepares each layer
once and runs the twins.
"""

from __future__ import annotations

from gridmap.coverage.assignment import Assignment, assign_buildings
from gridmap.coverage.check import CoverageReport, check_coverage
from gridmap.coverage.geometry import (
    coverage_validity,
    find_gaps,
    find_overlaps,
    grids_outside_community,
)
from gridmap.coverage.kinds import PROBLEM_COLUMNS, PROBLEM_KINDS
from gridmap.coverage.lists import TABLE_COLUMNS, filter_problems, problem_table
from gridmap.coverage.prepare import (
    BUILDING_COLUMNS,
    COMMUNITY_COLUMNS,
    GRID_COLUMNS,
    STATION_COLUMNS,
)
from gridmap.coverage.rules import (
    ServiceReach,
    grid_households,
    grid_size_problems,
    leadership_gaps,
    service_reach,
)
from gridmap.coverage.score import SCORE_PART_NAMES, SCORE_PARTS, coverage_score

__all__ = [
    "BUILDING_COLUMNS",
    "COMMUNITY_COLUMNS",
    "GRID_COLUMNS",
    "PROBLEM_COLUMNS",
    "PROBLEM_KINDS",
    "SCORE_PARTS",
    "SCORE_PART_NAMES",
    "STATION_COLUMNS",
    "TABLE_COLUMNS",
    "Assignment",
    "CoverageReport",
    "ServiceReach",
    "assign_buildings",
    "check_coverage",
    "coverage_score",
    "coverage_validity",
    "filter_problems",
    "find_gaps",
    "find_overlaps",
    "grid_households",
    "grid_size_problems",
    "grids_outside_community",
    "leadership_gaps",
    "problem_table",
    "service_reach",
]
