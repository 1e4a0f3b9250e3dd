"""Planning: which areas are under-covered, where new service stations help most, and what if.

Three tools for the street committee's planners (DESIGN.md §2):

Under-covered ranking (:func:`rank_areas`)
    For every grid, or every hexagon of an H3 lattice across the street, one 0–100 score
    combining eight factors (:data:`FACTORS`): households per grid worker, households per
    available member, members per 100 households, the share of households beyond walking reach
    of every station, leadership gaps, open and overdue requests per 100 households, and Gi*
    hotspot membership. Each factor's value becomes a *need* from 0 (fine) to 1 (poor) by the
    linear ramp of ``settings.PLANNING_FACTOR_RANGES``; the score is the weighted mean of the
    needs × 100 with the weights of ``settings.PLANNING_WEIGHTS`` (or the caller's). Every row
    says why, in a Chinese (and an English) sentence naming its top contributing factors.

Station siting (:func:`site_stations`)
    The maximal covering location problem (Church & ReVelle 1974) solved exactly by
    :class:`spopt.locate.MCLP` with PuLP's bundled CBC solver (offline): choose ``k`` new
    stations among candidate sites (:func:`candidate_sites`: buildings without households —
    shops, schools, offices — and a regular lattice of points) to maximise the households
    within the walking radius, given the existing stations. Households already in reach stay
    covered whatever is chosen, so the model is posed over the households beyond reach only
    (the same optimum, a smaller model).

What-if (:func:`what_if_member`, :func:`what_if_worker`, :func:`what_if_station`)
    Add a member to a grid, a grid worker, or a station at a point, and see each grid's score
    change.

Everything here is pure: (Geo)DataFrames in, (Geo)DataFrames out; no database, no clock ("now"
is an input), no UI. Distances are straight lines in the local UTM zone
(:func:`gridmap.crs.metric_crs`), as in :func:`gridmap.coverage.service_reach`.

The package's modules, each with one job (import the names below from ``gridmap.planning``):

- :mod:`~gridmap.planning.inputs` — :class:`PlanningInputs`, the layers read;
- :mod:`~gridmap.planning.facts` — per-building and per-request facts the factors are summed
  from;
- :mod:`~gridmap.planning.factors` — :data:`FACTORS`, :data:`HOTSPOT_NEED`,
  :func:`factor_needs` and the sentences that explain a score;
- :mod:`~gridmap.planning.ranking` — :func:`rank_areas` (:class:`Ranking`),
  :func:`hotspot_classes`;
- :mod:`~gridmap.planning.siting` — :func:`candidate_sites`, :func:`site_stations`
  (:class:`SitingResult`), :func:`solve_mclp`;
- :mod:`~gridmap.planning.whatif` — :func:`what_if_member`, :func:`what_if_worker`,
  :func:`what_if_station` (:class:`WhatIf`).
"""

from __future__ import annotations

from gridmap.planning.factors import FACTORS, HOTSPOT_NEED, factor_needs
from gridmap.planning.inputs import PlanningInputs
from gridmap.planning.ranking import UNITS, Ranking, hotspot_classes, rank_areas
from gridmap.planning.siting import SitingResult, candidate_sites, site_stations, solve_mclp
from gridmap.planning.whatif import WhatIf, what_if_member, what_if_station, what_if_worker

__all__ = [
    "FACTORS",
    "HOTSPOT_NEED",
    "UNITS",
    "PlanningInputs",
    "Ranking",
    "SitingResult",
    "WhatIf",
    "candidate_sites",
    "factor_needs",
    "hotspot_classes",
    "rank_areas",
    "site_stations",
    "solve_mclp",
    "what_if_member",
    "what_if_station",
    "what_if_worker",
]
