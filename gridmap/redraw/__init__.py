"""Grid redrawing: versioned plans, edits on a draft, live balance, validation, auto-balance.

A community's grids belong to a plan (:class:`~gridmap.models.GridPlan`): draft → proposed →
approved → active → retired. A draft starts as a copy of the active plan; edits change only a
draft; activating an approved plan retires the previous one and recomputes the cached
``Building.grid_id`` (largest overlap, :func:`gridmap.coverage.assign_buildings`); rollback
re-activates the previous plan exactly as it was (retired plans are never changed).

The package has two halves; import the names below from ``gridmap.redraw``.

Pure geometry and analysis (no database):

- :mod:`~gridmap.redraw.geometry` — small geometry helpers on the storage precision grid and
  :func:`geometry_from_geojson`;
- :mod:`~gridmap.redraw.edits` — :func:`reshape_grids` (clip to the community and, unless the
  user insists, snap to neighbouring edges and hand released or taken area to the neighbours so
  no new gap or overlap appears), :func:`split_geometry`, :func:`keep_buildings_whole` (a
  split goes around buildings), :func:`stitch_neighbours` (neighbours take a cut's vertices),
  :func:`merge_geometries`, :func:`area_for_buildings`;
- :mod:`~gridmap.redraw.metrics` — :func:`grid_metrics` / :func:`plan_metrics` (buildings,
  households, residents, members, area, Polsby–Popper compactness, contiguity; gaps, overlaps,
  grids out of the household norm, largest deviation from the target) and
  :func:`validate_plan`;
- :mod:`~gridmap.redraw.diff` — :func:`plan_diff`;
- :mod:`~gridmap.redraw.balance` — :func:`auto_balance` (METIS graph partitioning of the
  buildings' Voronoi adjacency, via pymetis, with contiguous parts and household weights).

Database operations:

- :mod:`~gridmap.redraw.plans` — :func:`list_plans`, :func:`active_plan_id`,
  :func:`load_plan`, :func:`layers_metrics`, :func:`diff_against_active`;
- :mod:`~gridmap.redraw.checks` — :func:`plan_check` (what ``gridmap check`` will report for
  the community once the plan is active, each problem marked new or not) and
  :func:`plan_issues` (what needs a written reason to propose it);
- :mod:`~gridmap.redraw.permissions` — who may (:data:`PLAN_ACTION_ROLES`,
  :func:`authorise`) and who did (the audit log);
- :mod:`~gridmap.redraw.draft` — the edits (:func:`set_grid_geometry`, :func:`create_grid`,
  :func:`delete_grid`, :func:`split_grid`, :func:`merge_grids`, :func:`move_buildings`,
  :func:`undo_last_edit`);
- :mod:`~gridmap.redraw.lifecycle` — :func:`new_draft`, the state changes (:func:`propose`,
  :func:`approve`, :func:`activate`, :func:`rollback`) and :func:`balance_draft`.

Each database operation that writes is one transaction (:func:`gridmap.db.transaction`) and
writes one :class:`~gridmap.models.AuditLog` row. Every edit takes the grid versions the caller
saw (``versions``); a grid changed since is refused with a
:class:`~gridmap.errors.ConflictError` naming who changed it, and the ORM's optimistic lock
(``Grid.version``) refuses a concurrent write that slips in between.

Geometry is edited in WGS 84 on a fixed precision grid of ``10**-COORDINATE_DECIMALS`` degrees
(the precision the database keeps), so shared edges stay identical vertex for vertex; areas,
lengths and snap distances are measured in metres.
"""

from __future__ import annotations

from gridmap.redraw.balance import BalanceResult, ProgressCallback, auto_balance
from gridmap.redraw.checks import PLAN_KINDS, PlanCheck, plan_check, plan_issues, plan_street_grids
from gridmap.redraw.diff import PlanDiff, plan_diff
from gridmap.redraw.draft import (
    EDIT_ACTIONS,
    create_grid,
    delete_grid,
    merge_grids,
    move_buildings,
    set_grid_geometry,
    set_grid_staff,
    split_grid,
    split_preview,
    undo_last_edit,
)
from gridmap.redraw.edits import (
    area_for_buildings,
    keep_buildings_whole,
    merge_geometries,
    reshape_grids,
    split_geometry,
    stitch_neighbours,
)
from gridmap.redraw.geometry import geometry_from_geojson
from gridmap.redraw.lifecycle import (
    activate,
    approve,
    balance_draft,
    new_draft,
    propose,
    return_to_draft,
    returned_comment,
    rollback,
)
from gridmap.redraw.metrics import (
    Issue,
    PlanMetrics,
    grid_metrics,
    plan_metrics,
    validate_plan,
)
from gridmap.redraw.permissions import PLAN_ACTION_ROLES, authorise
from gridmap.redraw.plans import (
    PlanLayers,
    active_plan_id,
    diff_against_active,
    layers_metrics,
    list_plans,
    load_plan,
)

__all__ = [
    "EDIT_ACTIONS",
    "PLAN_ACTION_ROLES",
    "PLAN_KINDS",
    "BalanceResult",
    "Issue",
    "PlanCheck",
    "PlanDiff",
    "PlanLayers",
    "PlanMetrics",
    "ProgressCallback",
    "activate",
    "active_plan_id",
    "approve",
    "area_for_buildings",
    "authorise",
    "auto_balance",
    "balance_draft",
    "create_grid",
    "delete_grid",
    "diff_against_active",
    "geometry_from_geojson",
    "grid_metrics",
    "keep_buildings_whole",
    "layers_metrics",
    "list_plans",
    "load_plan",
    "merge_geometries",
    "merge_grids",
    "move_buildings",
    "new_draft",
    "plan_check",
    "plan_diff",
    "plan_issues",
    "plan_metrics",
    "plan_street_grids",
    "propose",
    "reshape_grids",
    "return_to_draft",
    "returned_comment",
    "rollback",
    "set_grid_geometry",
    "set_grid_staff",
    "split_geometry",
    "split_grid",
    "split_preview",
    "stitch_neighbours",
    "undo_last_edit",
    "validate_plan",
]
