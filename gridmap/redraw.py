"""Grid redrawing: versioned plans, edits on a draft, live balance, validation, auto-balance.

A community's grids belong to a plan (:class:`~gridmap.models.GridPlan`): draft → proposed →
approved → active → retired. A draft starts as a copy of the active plan; edits change only a
draft; activating an approved plan retires the previous one and recomputes the cached
``Building.grid_id`` (largest overlap, :func:`gridmap.coverage.assign_buildings`); rollback
re-activates the previous plan exactly as it was (retired plans are never changed).

The module has two halves.

Pure geometry and analysis (no database): :func:`reshape_grids` (clip to the community and,
unless the user insists, snap to neighbouring edges and hand released or taken area to the
neighbours so no new gap or overlap appears), :func:`split_geometry`, :func:`merge_geometries`,
:func:`area_for_buildings`, :func:`grid_metrics` / :func:`plan_metrics` (buildings, households,
residents, members, area, Polsby–Popper compactness, contiguity; gaps, overlaps, grids out of the
household norm, largest deviation from the target), :func:`validate_plan`, :func:`plan_diff` and
:func:`auto_balance` (METIS graph partitioning of the buildings' Voronoi adjacency, via pymetis,
with contiguous parts and household weights).

Database operations: :func:`new_draft`, the edits (:func:`set_grid_geometry`,
:func:`create_grid`, :func:`delete_grid`, :func:`split_grid`, :func:`merge_grids`,
:func:`move_buildings`, :func:`undo_last_edit`), the state changes (:func:`propose`,
:func:`approve`, :func:`activate`, :func:`rollback`) and :func:`balance_draft`. Each is one
transaction (:func:`gridmap.db.transaction`) and writes one :class:`~gridmap.models.AuditLog`
row. Every edit takes the grid versions the caller saw (``versions``); a grid changed since is
refused with a :class:`~gridmap.errors.ConflictError` naming who changed it, and the ORM's
optimistic lock (``Grid.version``) refuses a concurrent write that slips in between.

Geometry is edited in WGS 84 on a fixed precision grid of ``10**-COORDINATE_DECIMALS`` degrees
(the precision the database keeps), so shared edges stay identical vertex for vertex; areas,
lengths and snap distances are measured in metres.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import split as _shapely_split
from sqlalchemy import Connection, Engine, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gridmap import auth, settings
from gridmap.coverage import (
    assign_buildings,
    find_gaps,
    find_overlaps,
    grid_households,
)
from gridmap.crs import metric_crs
from gridmap.db import connect, transaction
from gridmap.errors import ConflictError, InputError, PermissionDenied
from gridmap.models import AuditLog, Grid, GridPlan, PlanStatus, User
from gridmap.repository import read_table, table

__all__ = [
    "EDIT_ACTIONS",
    "BalanceResult",
    "Issue",
    "PlanDiff",
    "PlanLayers",
    "PlanMetrics",
    "activate",
    "approve",
    "area_for_buildings",
    "auto_balance",
    "balance_draft",
    "create_grid",
    "delete_grid",
    "geometry_from_geojson",
    "grid_metrics",
    "list_plans",
    "load_plan",
    "merge_geometries",
    "merge_grids",
    "move_buildings",
    "new_draft",
    "plan_diff",
    "plan_metrics",
    "propose",
    "reshape_grids",
    "rollback",
    "set_grid_geometry",
    "split_geometry",
    "split_grid",
    "undo_last_edit",
    "validate_plan",
]

log = logging.getLogger(__name__)

#: Audit actions that change a draft's grids (the ones :func:`undo_last_edit` can undo).
EDIT_ACTIONS: tuple[str, ...] = (
    "grid_reshape",
    "grid_create",
    "grid_delete",
    "grid_split",
    "grid_merge",
    "buildings_move",
)
_METRES_PER_DEGREE = 111_320.0
ProgressCallback = Callable[[float, str], None]


def _precision() -> float:
    return 10.0**-settings.COORDINATE_DECIMALS


def _degrees(metres: float) -> float:
    """A distance in metres as degrees of latitude (a safe bound for longitude too)."""
    return metres / _METRES_PER_DEGREE


# --- small geometry helpers -------------------------------------------------------------------


def _polygonal(geom: shapely.Geometry | None) -> shapely.Geometry:
    """The polygonal part of a geometry, repaired; an empty MultiPolygon when it has none."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    polys = [p for p in polys if not p.is_empty]
    if not polys:
        return shapely.MultiPolygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _op(fn: Callable, a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    """A set operation on the storage precision grid, reduced to its polygonal part."""
    return _polygonal(fn(a, b, grid_size=_precision()))


def _area_m2(geom: shapely.Geometry) -> float:
    """Area of a WGS 84 geometry in m² (local equirectangular scale; exact enough for edits)."""
    if geom is None or geom.is_empty:
        return 0.0
    lat = shapely.centroid(geom).y
    return geom.area * _METRES_PER_DEGREE**2 * math.cos(math.radians(lat))


def _shared_length(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Length (degrees) of the border two polygons share."""
    if a.is_empty or b.is_empty:
        return 0.0
    return shapely.length(shapely.intersection(a.boundary, b.boundary, grid_size=_precision()))


def _as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    geom = _polygonal(geom)
    return geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])


def geometry_from_geojson(
    data: str | Mapping[str, Any], kind: str = "polygon", where: str = "GeoJSON"
) -> shapely.Geometry:
    """A shapely geometry from GeoJSON text or a parsed object (geometry, Feature or
    FeatureCollection; several features are unioned), in WGS 84 longitude/latitude.

    Parameters
    ----------
    data : str or mapping
    kind : {"polygon", "line"}
        What the edit needs: a (multi)polygon, or a (multi)line to split by.
    where : str
        How to name the input in an error (a file name, "绘制的图形" …).

    Raises
    ------
    InputError
        Unreadable JSON, no geometry, the wrong kind, or coordinates outside ±180/±90.
    """
    try:
        obj = json.loads(data) if isinstance(data, str | bytes) else dict(data)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where} 不是有效的 GeoJSON / is not valid GeoJSON: {exc}") from exc
    kind_of = obj.get("type")
    if kind_of == "FeatureCollection":
        geoms = [f.get("geometry") for f in obj.get("features") or []]
    elif kind_of == "Feature":
        geoms = [obj.get("geometry")]
    else:
        geoms = [obj]
    geoms = [g for g in geoms if g]
    if not geoms:
        raise InputError(f"{where} 中没有图形 / holds no geometry")
    try:
        shapes = [shapely.geometry.shape(g) for g in geoms]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"{where} 的图形无法读取 / has an unreadable geometry: {exc}") from exc
    wanted = ("Polygon", "MultiPolygon") if kind == "polygon" else ("LineString", "MultiLineString")
    wrong = sorted({s.geom_type for s in shapes} - set(wanted))
    if wrong:
        need = "面(Polygon)" if kind == "polygon" else "线(LineString)"
        raise InputError(
            f"{where} 须是{need} / must be {' or '.join(wanted)}, but holds {', '.join(wrong)}"
        )
    geom = shapely.union_all(shapes) if len(shapes) > 1 else shapes[0]
    xmin, ymin, xmax, ymax = geom.bounds
    if min(xmin, xmax) < -180 or max(xmin, xmax) > 180 or min(ymin, ymax) < -90 or ymax > 90:
        raise InputError(
            f"{where} 的坐标超出经纬度范围 / has coordinates outside longitude ±180 / "
            "latitude ±90: send WGS 84 longitude, latitude"
        )
    return shapely.set_precision(geom, _precision()) if kind == "polygon" else geom


# --- pure edits -------------------------------------------------------------------------------


def reshape_grids(
    grids: Mapping[str, shapely.Geometry],
    target: str,
    new: shapely.Geometry,
    community: shapely.Geometry,
    insist: bool = False,
    snap_m: float | None = None,
) -> dict[str, shapely.Geometry]:
    """Give grid ``target`` the polygon ``new`` and keep the plan free of new gaps and overlaps.

    The new polygon is always clipped to the community. Unless ``insist``: its vertices are
    snapped to neighbouring grid edges within ``snap_m``; neighbours lose the area the new
    polygon takes; each piece of area the grid gives up goes to the neighbour sharing the
    longest border with it (a piece touching no other grid stays with the grid, so no new gap
    opens). With ``insist`` the polygon is taken as drawn and the neighbours are left alone.

    Parameters
    ----------
    grids : mapping of code → geometry
        The plan's grids in WGS 84; ``target`` may be missing (a new grid).
    target : str
    new : shapely geometry
        Polygonal, WGS 84.
    community : shapely geometry
    insist : bool
    snap_m : float, optional
        Default :data:`gridmap.settings.REDRAW_SNAP_M`.

    Returns
    -------
    dict of code → geometry
        Every grid whose geometry changed (``target`` always).

    Raises
    ------
    InputError
        When nothing of the polygon lies in the community, or it would swallow a whole grid.
    """
    snap = _degrees(settings.REDRAW_SNAP_M if snap_m is None else snap_m)
    shape = _op(shapely.intersection, _polygonal(new), _polygonal(community))
    if shape.is_empty:
        raise InputError("新图形不在社区范围内 / the new polygon lies outside the community")
    if insist:
        return {target: shape}
    others = {c: _polygonal(g) for c, g in grids.items() if c != target}
    if others:
        edges = shapely.union_all([g.boundary for g in others.values()])
        shape = _polygonal(shapely.snap(shape, edges, snap))
        shape = _op(shapely.intersection, shape, _polygonal(community))
    changed: dict[str, shapely.Geometry] = {}
    for code, geom in others.items():
        if shapely.relate_pattern(geom, shape, "2********"):
            rest = _op(shapely.difference, geom, shape)
            if _area_m2(rest) <= settings.OVERLAP_TOLERANCE_M2:
                raise InputError(
                    f"新图形会完全覆盖网格 {code} / the new polygon would swallow grid {code}: "
                    "merge or delete that grid instead"
                )
            changed[code] = rest
    released = _op(shapely.difference, _polygonal(grids.get(target)), shape)
    for piece in shapely.get_parts(released):
        if _area_m2(piece) <= settings.OVERLAP_TOLERANCE_M2:
            continue
        current = {c: changed.get(c, g) for c, g in others.items()}
        borders = {c: _shared_length(piece, g) for c, g in current.items()}
        best = max(borders, key=lambda c: (borders[c], c), default=None)
        if best is not None and borders[best] > 0:
            changed[best] = _op(shapely.union, current[best], piece)
        else:
            shape = _op(shapely.union, shape, piece)
    changed[target] = shape
    return changed


def _extend_line(line: shapely.Geometry, distance: float) -> shapely.Geometry:
    """Each line part with both ends pushed out by ``distance`` along its end segments."""
    parts = []
    for part in shapely.get_parts(line):
        xy = np.asarray(part.coords, dtype=float)
        if len(xy) < 2:
            continue
        for end, prev in ((0, 1), (-1, -2)):
            d = xy[end] - xy[prev]
            norm = float(np.hypot(*d))
            if norm > 0:
                xy[end] = xy[end] + d / norm * distance
        parts.append(shapely.LineString(xy))
    return shapely.MultiLineString(parts) if len(parts) > 1 else parts[0]


def split_geometry(
    geom: shapely.Geometry, line: shapely.Geometry, snap_m: float | None = None
) -> tuple[shapely.Geometry, shapely.Geometry]:
    """Split a grid polygon in two by a drawn line (:func:`shapely.ops.split`).

    The line's ends are first extended by ``snap_m`` (default ``REDRAW_SNAP_M``) so a line
    stopping just short of the edge still cuts.

    Returns
    -------
    (larger, smaller) : shapely geometries

    Raises
    ------
    InputError
        When the line does not cut the grid into exactly two pieces.
    """
    snap = _degrees(settings.REDRAW_SNAP_M if snap_m is None else snap_m)
    geom = _polygonal(geom)
    if line is None or line.is_empty or line.geom_type not in ("LineString", "MultiLineString"):
        raise InputError("分割须用一条线 / a split needs a line")
    pieces = [
        p
        for p in shapely.get_parts(_shapely_split(geom, _extend_line(line, snap)))
        if _area_m2(p) > settings.OVERLAP_TOLERANCE_M2
    ]
    if len(pieces) != 2:
        raise InputError(
            f"分割线须完整穿过网格、把它分成两块(现在是 {len(pieces)} 块) / the line must cross "
            f"the grid once and cut it into two pieces (it gives {len(pieces)})"
        )
    pieces = [shapely.set_precision(p, _precision()) for p in pieces]
    pieces.sort(key=lambda p: -p.area)
    return pieces[0], pieces[1]


def merge_geometries(a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    """The union of two adjacent grids.

    Raises
    ------
    InputError
        When the grids share no border (they are not adjacent).
    """
    a, b = _polygonal(a), _polygonal(b)
    if _shared_length(a, b) <= 0 and not shapely.relate_pattern(a, b, "2********"):
        raise InputError("两个网格不相邻，不能合并 / the two grids are not adjacent")
    return _op(shapely.union, a, b)


def area_for_buildings(
    grid: shapely.Geometry, moving: Sequence[shapely.Geometry], staying: Sequence[shapely.Geometry]
) -> shapely.Geometry:
    """The part of ``grid`` that goes with the ``moving`` buildings when they leave it.

    The grid is divided among its buildings by the Voronoi cells of their representative points;
    the moving buildings' cells and footprints go, without any staying building's footprint.

    Raises
    ------
    InputError
        When no building stays (moving all of them would empty the grid).
    """
    grid = _polygonal(grid)
    if not staying:
        raise InputError(
            "该网格的楼栋将全部移出，网格会被清空 / every building of the grid would move "
            "out, leaving it empty: merge the grids instead"
        )
    points = shapely.point_on_surface(np.asarray([*moving, *staying], dtype=object))
    cells = _voronoi_cells(points, grid)
    taken = shapely.union_all(
        [*cells[: len(moving)], *(_op(shapely.intersection, b, grid) for b in moving)]
    )
    return _op(shapely.difference, _op(shapely.intersection, taken, grid), _union(staying))


def _union(geoms: Sequence[shapely.Geometry]) -> shapely.Geometry:
    return _polygonal(shapely.union_all(list(geoms), grid_size=_precision()))


def _voronoi_cells(points: np.ndarray, region: shapely.Geometry) -> list[shapely.Geometry]:
    """One Voronoi cell per point (in point order), clipped to ``region``; duplicate points
    share their cell."""
    xy = shapely.get_coordinates(points)
    unique, inverse = np.unique(np.round(xy, 9), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if len(unique) == 1:
        cells = np.array([region], dtype=object)
    else:
        raw = shapely.voronoi_polygons(shapely.multipoints(unique), extend_to=region, ordered=True)
        cells = np.asarray(shapely.get_parts(raw), dtype=object)
    clipped = [_op(shapely.intersection, c, region) for c in cells]
    return [clipped[i] for i in inverse]


# --- metrics ----------------------------------------------------------------------------------


def _frame_crs(frame: gpd.GeoDataFrame, *others: gpd.GeoDataFrame):
    present = [f for f in (frame, *others) if f is not None and len(f)]
    return metric_crs(present[0]) if present else None


def _numbers(buildings: pd.DataFrame, column: str) -> np.ndarray:
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
        assignment = _assignment(buildings, grids)
    counts = grid_households(grids, assignment, buildings)
    extra = pd.DataFrame(
        {
            "grid_id": assignment["grid_id"].to_numpy(),
            "residents": _numbers(buildings, "residents"),
            "members": _numbers(buildings, "members"),
        }
    )
    sums = (
        extra[extra["grid_id"].notna()]
        .groupby("grid_id")[["residents", "members"]]
        .sum()
        .reindex(grids["id"].to_numpy(), fill_value=0)
    )
    geoms = np.asarray(grids.geometry.values, dtype=object)
    crs = _frame_crs(grids)
    metric = (
        np.asarray(grids.geometry.to_crs(crs).values, dtype=object) if crs is not None else geoms
    )
    area = shapely.area(metric)
    perimeter = shapely.length(metric)
    compact = np.divide(
        4 * np.pi * area, perimeter**2, out=np.zeros_like(area), where=perimeter > 0
    )
    parts = np.array([len(shapely.get_parts(_polygonal(g))) for g in geoms], dtype=np.int64)
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


def _assignment(buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.DataFrame:
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
    assignment = _assignment(buildings, grids)
    table_ = grid_metrics(grids, buildings, assignment)
    gaps = find_gaps(community, grids, buildings)
    overlaps = find_overlaps(grids) if len(grids) else gpd.GeoDataFrame(geometry=[], crs=grids.crs)
    if "area_m2" not in overlaps:
        overlaps = overlaps.assign(area_m2=pd.Series(dtype=float))
    unassigned = assignment["grid_id"].isna()
    deviation = table_["deviation"].abs()
    summary = {
        "grids": len(grids),
        "households": int(_numbers(buildings, "households").sum()),
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
    """One reason a plan is not ready: a ``kind`` and a message (中文 / English)."""

    kind: str
    message: str


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
                f"有 {s['gaps']} 处未覆盖区域，共 {s['gap_area_m2']:,.0f} 平方米 / "
                f"{s['gaps']} gaps, {s['gap_area_m2']:,.0f} m²",
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
                f"有 {s['overlaps']} 处网格重叠({pairs}) / {s['overlaps']} overlaps ({pairs})",
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
                f"{len(outside)} 栋楼不在任何网格({named(outside)}) / "
                f"{len(outside)} buildings in no grid",
            )
        )
    split = a.loc[a["is_split"].astype(bool), "building_id"]
    if len(split):
        issues.append(
            Issue(
                "building_split",
                f"{len(split)} 栋楼跨网格({named(split)}) / {len(split)} buildings split across "
                "grids",
            )
        )
    g = metrics.grids
    for _, row in g[~g["contiguous"]].iterrows():
        issues.append(
            Issue(
                "grid_not_contiguous",
                f"网格 {row['code']} 由 {row['parts']} 块组成，不连片 / grid {row['code']} is in "
                f"{row['parts']} separate pieces",
            )
        )
    for _, row in g[g["norm"] != "ok"].iterrows():
        small = row["norm"] == "small"
        bound = settings.GRID_HOUSEHOLDS_MIN if small else settings.GRID_HOUSEHOLDS_MAX
        issues.append(
            Issue(
                "grid_too_small" if small else "grid_too_large",
                f"网格 {row['code']} {row['households']:,} 户，"
                f"{'低于下限' if small else '超过上限'} {bound:,} 户 / grid {row['code']} has "
                f"{row['households']:,} households, {'below' if small else 'above'} {bound:,}",
            )
        )
    return issues


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
    crs = _frame_crs(buildings, draft, active)

    def codes_of(grids: gpd.GeoDataFrame) -> pd.Series:
        a = _assignment(buildings, grids)
        code_by_id = pd.Series(grids["code"].to_numpy(), index=grids["id"].to_numpy())
        return a["grid_id"].map(lambda g: None if pd.isna(g) else code_by_id[g])

    before, after = codes_of(active), codes_of(draft)
    hh = _numbers(buildings, "households")
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


# --- auto-balance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceResult:
    """A proposed grouping of a community's buildings into grids (see :func:`auto_balance`).

    Attributes
    ----------
    grids : geopandas.GeoDataFrame
        ``group, households, buildings`` and the grid polygon (EPSG:4326), north-west first.
    groups : pandas.Series
        Building id → group number (index into ``grids``).
    feasible : bool
        True when every grid is within the household norm and contiguous.
    message : str
        What was found (中文 / English), including why the norm is infeasible when it is.
    """

    grids: gpd.GeoDataFrame
    groups: pd.Series
    feasible: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def _adjacency(cells: list[shapely.Geometry]) -> list[list[int]]:
    """Rook adjacency of polygons (sharing a border of positive length)."""
    geo = np.asarray(cells, dtype=object)
    neighbours: list[list[int]] = [[] for _ in cells]
    if len(geo) < 2:
        return neighbours
    a, b = shapely.STRtree(geo).query(geo, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.length(shapely.intersection(geo[a], geo[b], grid_size=_precision()))
    for i, j, length in zip(a, b, shared, strict=True):
        if length > 0:
            neighbours[i].append(int(j))
            neighbours[j].append(int(i))
    return neighbours


def _components(neighbours: list[list[int]]) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(neighbours)
    rows = [i for i, js in enumerate(neighbours) for _ in js]
    cols = [j for js in neighbours for j in js]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _metis(
    neighbours: list[list[int]], weights: np.ndarray, k: int, low: int, high: int, tries: int
) -> np.ndarray:
    """The best METIS partition into ``k`` contiguous parts over ``tries`` seeds and balance
    tolerances: fewest parts outside [low, high], then the smallest spread."""
    import pymetis

    n = len(neighbours)
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=np.int64)
    xadj = np.zeros(n + 1, dtype=np.int64)
    xadj[1:] = np.cumsum([len(js) for js in neighbours])
    adjncy = np.asarray([j for js in neighbours for j in js], dtype=np.int64)
    graph = pymetis.CSRAdjacency(xadj, adjncy)
    mean = max(float(weights.sum()) / k, 1.0)
    loosest = max(int((high / mean - 1.0) * 1000), 1)
    best, best_key = None, None
    for attempt in range(tries):
        ufactor = max(1, loosest >> (attempt % 4))  # halve the allowed imbalance, then repeat
        options = pymetis.Options(seed=attempt, ufactor=ufactor, contig=True)
        try:
            _, parts = pymetis.part_graph(
                k, graph, vweights=weights.astype(np.int64), options=options
            )
        except RuntimeError as exc:  # METIS could not honour contiguity on this graph
            log.debug("METIS failed (attempt %d): %s", attempt, exc)
            continue
        parts = np.asarray(parts, dtype=np.int64)
        sizes = np.bincount(parts, weights=weights, minlength=k)
        out = int(
            ((sizes < low) | (sizes > high)).sum() + (np.bincount(parts, minlength=k) == 0).sum()
        )
        key = (out, float(sizes.max() - sizes.min()))
        if best_key is None or key < best_key:
            best, best_key = parts, key
        if out == 0:
            break
    if best is None:
        raise InputError("METIS 无法划分该社区 / METIS could not partition this community")
    return best


def auto_balance(
    community: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    households_min: int | None = None,
    households_max: int | None = None,
    progress: ProgressCallback | None = None,
) -> BalanceResult:
    """Group a community's buildings into contiguous grids within the household norm.

    The community is divided into the Voronoi cells of its buildings (clipped to the community);
    cells sharing a border are neighbours. Each connected part of that graph is cut by METIS
    (:func:`pymetis.part_graph` with ``contig`` and household weights) into
    ``round(households / GRID_HOUSEHOLDS_TARGET)`` parts, clamped to what the norm allows;
    ``BALANCE_TRIES`` seeds and balance tolerances are tried and the partition with the fewest
    grids out of the norm is kept. A grid's polygon is its cells, minus other grids' buildings,
    plus its own buildings, within the community, so no building is split.

    Parameters
    ----------
    community : GeoDataFrame
        One row, the community polygon (EPSG:4326).
    buildings : GeoDataFrame
        ``id, households`` and polygons (EPSG:4326).
    households_min, households_max : int, optional
        The norm; default ``settings.GRID_HOUSEHOLDS_MIN`` / ``MAX``.
    progress : callable(fraction, message), optional

    Returns
    -------
    BalanceResult
        ``feasible`` is False, with the reason in ``message``, when no number of grids fits the
        norm (too few households, one building above the maximum), or no partition was found.
    """
    low = settings.GRID_HOUSEHOLDS_MIN if households_min is None else households_min
    high = settings.GRID_HOUSEHOLDS_MAX if households_max is None else households_max
    if low > high:
        raise InputError(f"户数范围为空 / the household norm is empty: {low} > {high}")
    if len(community) != 1:
        raise InputError(f"auto_balance needs exactly one community, got {len(community)}")
    if len(buildings) == 0:
        raise InputError("社区没有楼栋，无法自动划分 / the community has no buildings to group")
    report = progress or (lambda _f, _m: None)
    region = _polygonal(community.geometry.iloc[0])
    footprints = [
        _op(shapely.intersection, _polygonal(g), region) for g in buildings.geometry.values
    ]
    points = np.asarray(
        [
            shapely.point_on_surface(f if not f.is_empty else _polygonal(g))
            for f, g in zip(footprints, buildings.geometry.values, strict=True)
        ],
        dtype=object,
    )
    report(0.05, "计算楼栋邻接 / building adjacency")
    cells = _voronoi_cells(points, region)
    neighbours = _adjacency(cells)
    component = _components(neighbours)
    weights = _numbers(buildings, "households")
    groups = np.zeros(len(buildings), dtype=np.int64)
    reasons: list[str] = []
    big = weights > high
    if big.any():
        codes = buildings["code"].to_numpy()[big] if "code" in buildings else np.flatnonzero(big)
        reasons.append(
            f"楼栋 {', '.join(map(str, codes[:5]))} 单栋超过 {high} 户 / buildings above {high} "
            "households on their own"
        )
    offset = 0
    labels = np.unique(component)
    for step, c in enumerate(labels):
        members = np.flatnonzero(component == c)
        total = int(weights[members].sum())
        k_low, k_high = math.ceil(total / high), total // low if low > 0 else len(members)
        k = max(1, round(total / settings.GRID_HOUSEHOLDS_TARGET))
        if k_low > k_high:
            reasons.append(
                f"连片区域 {step + 1} 共 {total} 户，无法分成 {low}–{high} 户的网格 / a connected "
                f"area of {total} households cannot be cut into grids of {low}–{high}"
            )
        else:
            k = min(max(k, k_low), k_high)
        k = max(1, min(k, len(members)))
        local = {int(m): i for i, m in enumerate(members)}
        sub = [[local[j] for j in neighbours[m] if j in local] for m in members]
        parts = _metis(sub, weights[members], k, low, high, settings.BALANCE_TRIES)
        groups[members] = parts + offset
        offset += k
        report(0.1 + 0.7 * (step + 1) / len(labels), f"METIS 划分 {step + 1}/{len(labels)}")
    report(0.85, "生成网格边界 / building grid polygons")
    grids = _group_polygons(groups, cells, footprints, region, weights)
    order = np.lexsort(
        (shapely.get_x(shapely.centroid(grids.geometry.values)),
         -shapely.get_y(shapely.centroid(grids.geometry.values)))
    )  # fmt: skip
    renumber = np.empty(len(order), dtype=np.int64)
    renumber[grids["group"].to_numpy()[order]] = np.arange(len(order))
    grids = grids.iloc[order].assign(group=np.arange(len(order))).reset_index(drop=True)
    groups = renumber[groups]
    sizes = grids["households"].to_numpy()
    out = int(((sizes < low) | (sizes > high)).sum())
    split = int((grids["parts"] > 1).sum())
    feasible = not reasons and out == 0 and split == 0
    if feasible:
        message = (
            f"已分成 {len(grids)} 个网格，户数 {sizes.min()}–{sizes.max()}，"
            f"均在 {low}–{high} 户内 / "
            f"{len(grids)} grids of {sizes.min()}–{sizes.max()} households, all within the norm"
        )
    else:
        found = (
            f"最佳结果仍有 {out} 个网格超出 {low}–{high} 户、{split} 个不连片 / the best "
            f"partition still has {out} grids out of the norm and {split} not contiguous"
        )
        message = "；".join([*reasons, found]) if reasons else found
    report(1.0, "完成 / done")
    return BalanceResult(
        grids.drop(columns="parts"),
        pd.Series(groups, index=buildings["id"].to_numpy(), name="group"),
        feasible,
        message,
        {"out_of_norm": out, "not_contiguous": split, "infeasible": reasons},
    )


def _group_polygons(
    groups: np.ndarray,
    cells: list[shapely.Geometry],
    footprints: list[shapely.Geometry],
    region: shapely.Geometry,
    weights: np.ndarray,
) -> gpd.GeoDataFrame:
    """Each group's polygon: its cells, except where another group's building stands, plus its
    own buildings, within the community.

    The cell, building and community outlines are noded once and polygonised into faces; each
    face goes to the group of the building it lies in, else of the cell it lies in, and each
    group is the coverage union of its faces. Neighbouring grids therefore share their edges
    vertex for vertex (a valid coverage, as :func:`shapely.coverage_invalid_edges` checks).
    """
    outlines = [g.boundary for g in (*cells, *footprints, region) if not g.is_empty]
    noded = shapely.union_all(outlines, grid_size=_precision())
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    faces = faces[shapely.area(faces) > 0]
    probes = shapely.point_on_surface(faces)
    inside = shapely.intersects(region, probes)
    faces, probes = faces[inside], probes[inside]
    owner = np.full(len(faces), -1, dtype=np.int64)
    for source in (np.asarray(cells, dtype=object), np.asarray(footprints, dtype=object)):
        f, i = shapely.STRtree(source).query(probes, predicate="intersects")
        owner[f] = groups[i]  # buildings come second: a face in a building follows it
    rows = []
    for g in np.unique(groups):
        mine = np.flatnonzero(groups == g)
        own = faces[owner == g]
        shape = _polygonal(shapely.coverage_union_all(own)) if len(own) else shapely.MultiPolygon()
        rows.append(
            {
                "group": int(g),
                "households": int(weights[mine].sum()),
                "buildings": len(mine),
                "parts": len(shapely.get_parts(shape)),
                "geom": shape,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geom", crs=settings.STORAGE_SRID)


# --- the database: plans and their layers -----------------------------------------------------


@dataclass(frozen=True)
class PlanLayers:
    """One plan and what its metrics need, each loaded in one query.

    Attributes
    ----------
    plan : dict
        The ``grid_plan`` row plus ``community_code`` and ``community_name``.
    community : GeoDataFrame
        The plan's community (one row).
    grids : GeoDataFrame
        The plan's grids (``grid`` columns plus ``community_id``), ordered by code.
    buildings : GeoDataFrame
        The community's buildings with ``members`` (Party members registered in each).
    """

    plan: dict[str, Any]
    community: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _community_row(conn: Connection, code: str) -> dict:
    com = table("community")
    row = conn.execute(select(com.c.id, com.c.code, com.c.name).where(com.c.code == code)).first()
    if row is None:
        known = conn.execute(select(com.c.code).order_by(com.c.code)).scalars().all()
        raise InputError(
            f"未知的社区编码 / unknown community code {code!r}; known: {', '.join(known)}"
        )
    return dict(row._mapping)


def list_plans(engine: Engine | Connection, community_code: str | None = None) -> pd.DataFrame:
    """Plans with their community and grid count, newest first.

    Returns
    -------
    pandas.DataFrame
        ``id, community_id, community_code, name, status, created_by, created_at, approved_by,
        approved_at, note, grids``.
    """
    plan, com, grid = table("grid_plan"), table("community"), table("grid")
    counts = (
        select(grid.c.plan_id, func.count(grid.c.id).label("grids"))
        .group_by(grid.c.plan_id)
        .subquery()
    )
    query = (
        select(
            plan.c.id,
            plan.c.community_id,
            com.c.code.label("community_code"),
            plan.c.name,
            plan.c.status,
            plan.c.created_by,
            plan.c.created_at,
            plan.c.approved_by,
            plan.c.approved_at,
            plan.c.note,
            func.coalesce(counts.c.grids, 0).label("grids"),
        )
        .join(com, com.c.id == plan.c.community_id)
        .outerjoin(counts, counts.c.plan_id == plan.c.id)
        .order_by(plan.c.id.desc())
    )
    with connect(engine) as conn:
        if community_code is not None:
            cid = _community_row(conn, community_code)["id"]
            query = query.where(plan.c.community_id == cid)
        result = conn.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    frame["status"] = frame["status"].map(lambda s: getattr(s, "value", s))
    return frame


def active_plan_id(engine: Engine | Connection, community_code: str) -> int | None:
    """Id of the community's active plan, or None."""
    plan = table("grid_plan")
    with connect(engine) as conn:
        cid = _community_row(conn, community_code)["id"]
        return conn.execute(
            select(plan.c.id).where(
                plan.c.community_id == cid, plan.c.status == PlanStatus.active.value
            )
        ).scalar()


def load_plan(engine: Engine | Connection, plan_id: int) -> PlanLayers:
    """The plan, its community, its grids and the community's buildings (with member counts)."""
    plan, com, grid = table("grid_plan"), table("community"), table("grid")
    bld, member = table("building"), table("member")
    with connect(engine) as conn:
        row = conn.execute(select(plan).where(plan.c.id == plan_id)).first()
        if row is None:
            raise InputError(f"方案不存在 / no grid plan with id {plan_id}")
        info = dict(row._mapping)
        info["status"] = getattr(info["status"], "value", info["status"])
        community = read_table(conn, "community", com.c.id == info["community_id"])
        info["community_code"] = community["code"].iloc[0]
        info["community_name"] = community["name"].iloc[0]
        grids = read_table(conn, "grid", grid.c.plan_id == plan_id)
        buildings = read_table(conn, "building", bld.c.community_id == info["community_id"])
        counts = conn.execute(
            select(member.c.building_id, func.count(member.c.id))
            .join(bld, bld.c.id == member.c.building_id)
            .where(bld.c.community_id == info["community_id"])
            .group_by(member.c.building_id)
        ).all()
    grids = grids.assign(community_id=info["community_id"]).sort_values("code", kind="stable")
    members = pd.Series(dict(counts), dtype="int64")
    buildings = buildings.assign(
        members=members.reindex(buildings["id"].to_numpy()).fillna(0).to_numpy(dtype=np.int64)
    )
    return PlanLayers(info, community, grids.reset_index(drop=True), buildings)


def layers_metrics(layers: PlanLayers) -> PlanMetrics:
    """:func:`plan_metrics` of loaded plan layers."""
    return plan_metrics(layers.community, layers.grids, layers.buildings)


def diff_against_active(engine: Engine | Connection, plan_id: int) -> PlanDiff | None:
    """:func:`plan_diff` of a plan against its community's active plan (None when there is
    none, or the plan is the active one)."""
    layers = load_plan(engine, plan_id)
    active = active_plan_id(engine, layers.plan["community_code"])
    if active is None or active == plan_id:
        return None
    return plan_diff(layers.grids, load_plan(engine, active).grids, layers.buildings)


# --- the database: who may, who did -----------------------------------------------------------

#: Roles allowed to take each plan action once roles are enforced (issue 11: users and roles).
PLAN_ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "edit": ("secretary", "street_admin"),
    "propose": ("secretary", "street_admin"),
    "approve": ("street_admin",),
    "activate": ("street_admin",),
    "rollback": ("street_admin",),
}


def authorise(conn: Connection, action: str, user_id: int | None, plan: GridPlan) -> None:
    """Role hook for plan actions: :data:`PLAN_ACTION_ROLES` names who may do what.

    Enforced by :mod:`gridmap.auth`: the acting principal is the stored user ``user_id`` when
    given, else :func:`gridmap.auth.current_principal` (the logged-in user of the app, or the
    local operator of the CLI). Its role must be listed for the action (``approve``,
    ``activate`` and ``rollback`` need a ``street_admin``) and the plan's community must lie in
    its scope; :class:`~gridmap.errors.PermissionDenied` otherwise.
    """
    if action not in PLAN_ACTION_ROLES:
        raise ValueError(f"unknown plan action {action!r}")
    principal = auth.principal_for(conn, user_id) if user_id is not None else None
    principal = principal or auth.current_principal()
    if principal.role not in PLAN_ACTION_ROLES[action]:
        principal.require(auth.PLAN_PERMISSIONS[action])
        raise PermissionDenied(f"无权限 / permission denied: {action}")
    if not auth.in_scope(conn, principal, "community", plan.community_id):
        raise PermissionDenied(
            "无权限:该社区不在您的管辖范围内 / permission denied: the plan's community is "
            "outside your scope"
        )


def _user_name(conn: Connection, user_id: int | None) -> str:
    if user_id is None:
        return "未登录用户 / an anonymous user"
    name = conn.execute(select(User.name).where(User.id == user_id)).scalar()
    return name or f"用户 #{user_id}"


def _audit(
    session: Session,
    action: str,
    entity: str,
    entity_id: int | None,
    user_id: int | None,
    before: Any,
    after: Any,
) -> None:
    if user_id is None:  # the logged-in user of the app (gridmap.auth), if any
        user_id = auth.current_principal().user_id
    session.add(
        AuditLog(
            at=_now(),
            user_id=user_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=None if before is None else json.dumps(before, ensure_ascii=False),
            after=None if after is None else json.dumps(after, ensure_ascii=False),
        )
    )


# --- the database: edits on a draft -----------------------------------------------------------


def _snapshot(grid: Grid) -> dict[str, Any]:
    return {
        "id": grid.id,
        "code": grid.code,
        "name": grid.name,
        "geom": shapely.to_wkb(grid.geom, hex=True),
        "leader_id": grid.leader_id,
        "party_org_id": grid.party_org_id,
        "version": grid.version,
    }


@dataclass
class _Draft:
    """A draft being edited inside one transaction."""

    session: Session
    plan: GridPlan
    community: shapely.Geometry
    community_code: str
    grids: dict[str, Grid]
    user_id: int | None
    versions: Mapping[str, int] | None = None
    touched: set[str] = field(default_factory=set)
    before: dict[str, dict] = field(default_factory=dict)

    def geoms(self) -> dict[str, shapely.Geometry]:
        return {c: g.geom for c, g in self.grids.items()}

    def grid(self, code: str) -> Grid:
        try:
            return self.grids[code]
        except KeyError:
            if self.versions is not None and code in self.versions:
                raise ConflictError(
                    f"网格 {code} 已被删除 / grid {code} has been deleted since you loaded the "
                    "plan; reload and try again"
                ) from None
            raise InputError(
                f"方案中没有网格 {code} / the plan has no grid {code}; it has "
                f"{', '.join(sorted(self.grids)) or 'none'}"
            ) from None

    def _touch(self, code: str) -> None:
        if code in self.grids and code not in self.before and code not in self.touched:
            _check_version(self, code)
            self.before[code] = _snapshot(self.grids[code])
        self.touched.add(code)

    def set_geom(self, code: str, geom: shapely.Geometry) -> None:
        grid = self.grid(code)
        self._touch(code)
        grid.geom = _as_multipolygon(geom)

    def add(self, code: str, name: str, geom: shapely.Geometry, **extra: Any) -> Grid:
        if code in self.grids:
            raise InputError(f"网格编码 {code} 已存在 / grid code {code} is already in the plan")
        grid = Grid(
            plan_id=self.plan.id, code=code, name=name, geom=_as_multipolygon(geom), **extra
        )
        self.session.add(grid)
        self.grids[code] = grid
        self.touched.add(code)
        return grid

    def remove(self, code: str) -> None:
        grid = self.grid(code)
        self._touch(code)
        self.session.delete(grid)
        del self.grids[code]

    def next_code(self) -> str:
        """The next free grid code of the community: ``<community code>-NN``."""
        prefix = f"{self.community_code}-"
        numbers = [
            int(c[len(prefix) :])
            for c in self.grids
            if c.startswith(prefix) and c[len(prefix) :].isdigit()
        ]
        return f"{prefix}{(max(numbers) if numbers else 0) + 1:02d}"


def _check_version(draft: _Draft, code: str) -> None:
    """Refuse the edit when a grid the caller saw has changed since (naming who changed it)."""
    if draft.versions is None or code not in draft.versions:
        return
    grid = draft.grids[code]
    if grid.version != draft.versions[code]:
        who, when = _last_change(draft.session.connection(), draft.plan.id, grid.id)
        raise ConflictError(
            f"网格 {code} 已被 {who} 于 {when} 修改"
            f"(版本 {draft.versions[code]} → {grid.version}) / "
            f"grid {code} was changed by {who} at {when} (version {draft.versions[code]} → "
            f"{grid.version}); reload the plan and redo your edit"
        )


def _last_change(conn: Connection, plan_id: int, grid_id: int) -> tuple[str, str]:
    audit = table("audit_log")
    rows = conn.execute(
        select(audit.c.user_id, audit.c.at, audit.c.after)
        .where(audit.c.entity == "grid_plan", audit.c.entity_id == plan_id)
        .order_by(audit.c.id.desc())
    ).all()
    for user_id, at, after in rows:
        grids = (json.loads(after) or {}).get("grids", {}) if after else {}
        if any(g.get("id") == grid_id for g in grids.values()):
            return _user_name(conn, user_id), f"{at:%Y-%m-%d %H:%M}"
    return "另一位用户 / another user", "刚才 / just now"


@contextmanager
def _editing(
    engine: Engine,
    plan_id: int,
    action: str,
    user_id: int | None,
    versions: Mapping[str, int] | None,
    detail: dict[str, Any] | None = None,
) -> Iterator[_Draft]:
    """One edit of a draft in one transaction, audited; stale versions raise ConflictError."""
    with transaction(engine) as conn:
        session = Session(bind=conn, autoflush=False, expire_on_commit=False)
        try:
            plan = session.get(GridPlan, plan_id)
            if plan is None:
                raise InputError(f"方案不存在 / no grid plan with id {plan_id}")
            if plan.status != PlanStatus.draft:
                raise ConflictError(
                    f"方案「{plan.name}」状态为 {plan.status.value}，只能修改草稿 / plan "
                    f"{plan.name!r} is {plan.status.value}: only drafts can be edited"
                )
            authorise(conn, "edit", user_id, plan)
            com = table("community")
            crow = conn.execute(
                select(com.c.code).where(com.c.id == plan.community_id)
            ).scalar_one()
            community = read_table(conn, "community", com.c.id == plan.community_id)
            grids = session.scalars(select(Grid).where(Grid.plan_id == plan_id)).all()
            draft = _Draft(
                session,
                plan,
                _polygonal(community.geometry.iloc[0]),
                crow,
                {g.code: g for g in grids},
                user_id,
                versions,
            )
            yield draft
            session.flush()
            after = {
                c: _snapshot(draft.grids[c]) for c in sorted(draft.touched) if c in draft.grids
            }
            _audit(
                session,
                action,
                "grid_plan",
                plan_id,
                user_id,
                {"grids": draft.before},
                {"grids": after, **(detail or {})},
            )
            session.flush()
        except StaleDataError as exc:
            raise ConflictError(
                "网格刚被其他人修改，本次修改未保存 / a grid was changed by someone else at the "
                "same moment; nothing was saved: reload the plan and redo your edit"
            ) from exc
        finally:
            session.close()


def _resolve_geometry(geometry: shapely.Geometry | str | Mapping, kind: str) -> shapely.Geometry:
    if isinstance(geometry, shapely.Geometry):
        return geometry
    return geometry_from_geojson(geometry, kind, "绘制或上传的图形 / the drawn or uploaded shape")


def set_grid_geometry(
    engine: Engine,
    plan_id: int,
    code: str,
    geometry: shapely.Geometry | str | Mapping,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
    insist: bool = False,
) -> list[str]:
    """Replace a draft grid's polygon (shapely or GeoJSON), clipped to the community and, unless
    ``insist``, snapped so no new gap or overlap appears (:func:`reshape_grids`).

    Returns
    -------
    list of str
        Codes of the grids that changed (neighbours included).
    """
    geom = _resolve_geometry(geometry, "polygon")
    with _editing(engine, plan_id, "grid_reshape", user_id, versions, {"code": code}) as d:
        d.grid(code)
        changed = reshape_grids(d.geoms(), code, geom, d.community, insist)
        for c, g in changed.items():
            d.set_geom(c, g)
        return sorted(changed)


def create_grid(
    engine: Engine,
    plan_id: int,
    geometry: shapely.Geometry | str | Mapping,
    name: str | None = None,
    code: str | None = None,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
    insist: bool = False,
) -> str:
    """Add a grid to a draft; its polygon takes its area from the neighbours unless ``insist``.

    Returns
    -------
    str
        The new grid's code (the next free ``<community>-NN`` unless given).
    """
    geom = _resolve_geometry(geometry, "polygon")
    with _editing(engine, plan_id, "grid_create", user_id, versions) as d:
        code = code or d.next_code()
        if code in d.grids:
            raise InputError(f"网格编码 {code} 已存在 / grid code {code} is already in the plan")
        changed = reshape_grids(d.geoms(), code, geom, d.community, insist)
        for c, g in changed.items():
            if c != code:
                d.set_geom(c, g)
        d.add(code, name or f"第{code.rsplit('-', 1)[-1]}网格", changed[code])
        return code


def delete_grid(
    engine: Engine,
    plan_id: int,
    code: str,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
    insist: bool = False,
) -> list[str]:
    """Delete a draft grid; unless ``insist`` its area goes to the neighbours (each piece to the
    one sharing the longest border) so no gap opens where a neighbour exists.

    Returns
    -------
    list of str
        Codes of the neighbours that grew.
    """
    with _editing(engine, plan_id, "grid_delete", user_id, versions, {"code": code}) as d:
        old = d.grid(code).geom
        grown: list[str] = []
        if not insist:
            current = {c: g for c, g in d.geoms().items() if c != code}
            for piece in shapely.get_parts(_polygonal(old)):
                borders = {c: _shared_length(piece, g) for c, g in current.items()}
                best = max(borders, key=lambda c: (borders[c], c), default=None)
                if best is not None and borders[best] > 0:
                    current[best] = _op(shapely.union, current[best], piece)
                    grown.append(best)
            for c in sorted(set(grown)):
                d.set_geom(c, current[c])
        d.remove(code)
        return sorted(set(grown))


def split_grid(
    engine: Engine,
    plan_id: int,
    code: str,
    line: shapely.Geometry | str | Mapping,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
    new_code: str | None = None,
    new_name: str | None = None,
) -> str:
    """Split a draft grid in two by a line (:func:`split_geometry`): the larger piece keeps the
    grid, its leader and branch; the smaller becomes a new grid without them.

    Returns
    -------
    str
        The new grid's code.
    """
    cut = _resolve_geometry(line, "line")
    with _editing(engine, plan_id, "grid_split", user_id, versions, {"code": code}) as d:
        larger, smaller = split_geometry(d.grid(code).geom, cut)
        d.set_geom(code, larger)
        new_code = new_code or d.next_code()
        d.add(new_code, new_name or f"第{new_code.rsplit('-', 1)[-1]}网格", smaller)
        return new_code


def merge_grids(
    engine: Engine,
    plan_id: int,
    code: str,
    other: str,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
) -> str:
    """Merge grid ``other`` into adjacent grid ``code`` (which keeps its leader and branch).

    Returns
    -------
    str
        ``code``.
    """
    if code == other:
        raise InputError("不能把网格与自身合并 / cannot merge a grid with itself")
    with _editing(
        engine, plan_id, "grid_merge", user_id, versions, {"code": code, "merged": other}
    ) as d:
        merged = merge_geometries(d.grid(code).geom, d.grid(other).geom)
        d.remove(other)
        d.set_geom(code, merged)
        return code


def move_buildings(
    engine: Engine,
    plan_id: int,
    building_codes: Sequence[str],
    to_code: str,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
) -> list[str]:
    """Move buildings into grid ``to_code`` by reshaping the polygons around them.

    Each building's current grid gives up the part of itself nearest the moving buildings
    (:func:`area_for_buildings`) to the target grid (:func:`reshape_grids`).

    Returns
    -------
    list of str
        Codes of the grids that changed.
    """
    if not building_codes:
        raise InputError("没有选择楼栋 / no buildings chosen to move")
    with _editing(
        engine,
        plan_id,
        "buildings_move",
        user_id,
        versions,
        {"buildings": list(building_codes), "to": to_code},
    ) as d:
        d.grid(to_code)
        bld = table("building")
        conn = d.session.connection()
        buildings = read_table(conn, "building", bld.c.community_id == d.plan.community_id)
        unknown = sorted(set(building_codes) - set(buildings["code"]))
        if unknown:
            raise InputError(
                f"社区中没有楼栋 {', '.join(unknown)} / no such buildings in the community"
            )
        grids = gpd.GeoDataFrame(
            {"id": list(range(len(d.grids))), "code": list(d.grids)},
            geometry=[g.geom for g in d.grids.values()],
            crs=settings.STORAGE_SRID,
        )
        where = _assignment(buildings, grids)
        code_of = dict(zip(grids["id"], grids["code"], strict=True))
        current = [None if pd.isna(g) else code_of[g] for g in where["grid_id"]]
        buildings = buildings.assign(grid_code=current)
        moving = buildings[buildings["code"].isin(list(building_codes))]
        taken = []
        for source, group in moving.groupby("grid_code", dropna=False, sort=True):
            if source == to_code:
                continue
            if source is None or pd.isna(source):
                taken.extend(group.geometry.values)  # a building in no grid: take its footprint
                continue
            staying = buildings[
                (buildings["grid_code"] == source) & ~buildings["code"].isin(list(building_codes))
            ]
            taken.append(
                area_for_buildings(
                    d.grid(source).geom, list(group.geometry.values), list(staying.geometry.values)
                )
            )
        if not taken:
            return []
        target = _op(shapely.union, d.grid(to_code).geom, _union(taken))
        changed = reshape_grids(d.geoms(), to_code, target, d.community)
        for c, g in changed.items():
            d.set_geom(c, g)
        return sorted(changed)


def undo_last_edit(
    engine: Engine,
    plan_id: int,
    user_id: int | None = None,
    versions: Mapping[str, int] | None = None,
) -> str | None:
    """Undo the newest edit of a draft not yet undone, restoring its grids as they were.

    ``versions`` are the grid versions the caller saw: when someone else has edited the plan
    since, the undo is refused rather than undoing their edit.

    Returns
    -------
    str or None
        The action undone (e.g. ``"grid_split"``), None when there is nothing to undo.

    Raises
    ------
    ConflictError
        When a grid of that edit has changed since the caller loaded the plan.
    """
    audit = table("audit_log")
    with transaction(engine) as conn:
        rows = conn.execute(
            select(audit.c.id, audit.c.action, audit.c.before, audit.c.after)
            .where(audit.c.entity == "grid_plan", audit.c.entity_id == plan_id)
            .order_by(audit.c.id.desc())
        ).all()
        undone = {
            (json.loads(r.after) or {}).get("undid") for r in rows if r.action == "undo" and r.after
        }
        target = next((r for r in rows if r.action in EDIT_ACTIONS and r.id not in undone), None)
        if target is None:
            return None
        before = json.loads(target.before or "{}").get("grids", {})
        after = json.loads(target.after or "{}").get("grids", {})
    with _editing(engine, plan_id, "undo", user_id, versions, {"undid": target.id}) as d:
        for code in after:
            if code not in before:
                d.remove(code)
        for code, snap in before.items():
            geom = shapely.from_wkb(snap["geom"])
            if code in d.grids:
                d.set_geom(code, geom)
                d.grids[code].name = snap["name"]
                d.grids[code].leader_id = snap["leader_id"]
                d.grids[code].party_org_id = snap["party_org_id"]
            else:
                d.add(
                    code,
                    snap["name"],
                    geom,
                    leader_id=snap["leader_id"],
                    party_org_id=snap["party_org_id"],
                )
    return target.action


# --- the database: plan life cycle ------------------------------------------------------------


@contextmanager
def _plan_session(engine: Engine) -> Iterator[Session]:
    with transaction(engine) as conn:
        session = Session(bind=conn, autoflush=False, expire_on_commit=False)
        try:
            yield session
            session.flush()
        except StaleDataError as exc:
            raise ConflictError(
                "网格刚被其他人修改，操作未完成 / a grid was changed by someone else at the same "
                "moment; nothing was saved"
            ) from exc
        finally:
            session.close()


def _plan(session: Session, plan_id: int, *statuses: PlanStatus) -> GridPlan:
    plan = session.get(GridPlan, plan_id)
    if plan is None:
        raise InputError(f"方案不存在 / no grid plan with id {plan_id}")
    if statuses and plan.status not in statuses:
        wanted = " / ".join(s.value for s in statuses)
        raise ConflictError(
            f"方案「{plan.name}」状态为 {plan.status.value}，此操作需要 {wanted} / plan "
            f"{plan.name!r} is {plan.status.value}; this needs {wanted}"
        )
    return plan


def new_draft(
    engine: Engine,
    community_code: str,
    name: str | None = None,
    user_id: int | None = None,
) -> int:
    """A new draft plan for a community, a copy of its active plan (empty when there is none).

    Grids keep their codes, names, polygons, leaders and branches.

    Returns
    -------
    int
        The new plan's id.
    """
    with _plan_session(engine) as session:
        conn = session.connection()
        com = _community_row(conn, community_code)
        active = session.scalars(
            select(GridPlan).where(
                GridPlan.community_id == com["id"], GridPlan.status == PlanStatus.active
            )
        ).first()
        plan = GridPlan(
            community_id=com["id"],
            name=name or f"{com['name']} 调整草案 {_now():%Y-%m-%d %H:%M}",
            status=PlanStatus.draft,
            created_by=user_id,
            created_at=_now(),
            note=f"复制自方案 #{active.id}「{active.name}」" if active else None,
        )
        authorise(conn, "edit", user_id, plan)
        session.add(plan)
        session.flush()
        copied = 0
        if active is not None:
            for grid in session.scalars(select(Grid).where(Grid.plan_id == active.id)).all():
                session.add(
                    Grid(
                        plan_id=plan.id,
                        code=grid.code,
                        name=grid.name,
                        geom=grid.geom,
                        leader_id=grid.leader_id,
                        party_org_id=grid.party_org_id,
                    )
                )
                copied += 1
        _audit(
            session,
            "plan_new_draft",
            "grid_plan",
            plan.id,
            user_id,
            None,
            {"from_plan": active.id if active else None, "grids": copied},
        )
        return plan.id


def propose(
    engine: Engine, plan_id: int, reason: str | None = None, user_id: int | None = None
) -> list[Issue]:
    """Propose a draft for approval after validating it (:func:`validate_plan`).

    A plan with issues is proposed only with a written ``reason``, kept in the plan's note.

    Returns
    -------
    list of Issue
        The issues accepted with the reason (empty for a clean plan).

    Raises
    ------
    InputError
        When the plan has issues and no reason was given (the issues are listed).
    """
    layers = load_plan(engine, plan_id)
    issues = validate_plan(layers_metrics(layers), layers.buildings)
    reason = (reason or "").strip()
    if issues and not reason:
        listed = "\n".join(f"  - {i.message}" for i in issues)
        raise InputError(
            f"方案未通过检查，需填写理由才能提交 / the plan fails {len(issues)} checks; propose "
            f"it with a written reason or fix them:\n{listed}"
        )
    with _plan_session(engine) as session:
        plan = _plan(session, plan_id, PlanStatus.draft)
        authorise(session.connection(), "propose", user_id, plan)
        if issues:
            accepted = "；".join(i.message for i in issues)
            plan.note = "\n".join(
                filter(
                    None, [plan.note, f"提交理由 / reason: {reason}", f"未满足 / open: {accepted}"]
                )
            )
        plan.status = PlanStatus.proposed
        _audit(
            session,
            "plan_propose",
            "grid_plan",
            plan_id,
            user_id,
            {"status": "draft"},
            {"status": "proposed", "reason": reason or None, "issues": [i.kind for i in issues]},
        )
    return issues


def approve(engine: Engine, plan_id: int, approver_id: int | None = None) -> None:
    """Approve a proposed plan, recording the approver (``approved_by``) and time.

    The street's approval: :func:`authorise` is the hook where issue 11 checks that the
    approver is a ``street_admin`` of the plan's street.
    """
    with _plan_session(engine) as session:
        plan = _plan(session, plan_id, PlanStatus.proposed)
        authorise(session.connection(), "approve", approver_id, plan)
        plan.status = PlanStatus.approved
        plan.approved_by = approver_id
        plan.approved_at = _now()
        _audit(
            session,
            "plan_approve",
            "grid_plan",
            plan_id,
            approver_id,
            {"status": "proposed"},
            {"status": "approved", "approved_by": approver_id},
        )


def _make_active(session: Session, plan: GridPlan) -> int | None:
    """Retire the community's active plan, activate ``plan``, recompute building grids and
    branch links, and let requests, grid workers and grid-scoped users follow into the new
    grids. Returns the plan retired (None when there was none)."""
    conn = session.connection()
    previous = session.scalars(
        select(GridPlan).where(
            GridPlan.community_id == plan.community_id,
            GridPlan.status == PlanStatus.active,
            GridPlan.id != plan.id,
        )
    ).all()
    for old in previous:
        old.status = PlanStatus.retired
    plan.status = PlanStatus.active
    session.flush()
    grid, bld, org = table("grid"), table("building"), table("party_org")
    grids = read_table(conn, "grid", grid.c.plan_id == plan.id)
    buildings = read_table(conn, "building", bld.c.community_id == plan.community_id)
    assignment = _assignment(buildings, grids)
    records = [
        {"b_id": int(b), "g_id": None if pd.isna(g) else int(g)}
        for b, g in zip(assignment["building_id"], assignment["grid_id"], strict=True)
    ]
    if records:
        conn.execute(
            update(bld).where(bld.c.id == bindparam("b_id")).values(grid_id=bindparam("g_id")),
            records,
        )
    links = [
        {"o_id": int(o), "g_id": int(g)}
        for g, o in zip(grids["id"], grids["party_org_id"], strict=True)
        if pd.notna(o)
    ]
    if links:  # branches built on the grid (支部建在网格上) follow it into the new plan
        conn.execute(
            update(org).where(org.c.id == bindparam("o_id")).values(grid_id=bindparam("g_id")),
            links,
        )
    old_ids = [
        int(i) for i in read_table(conn, "grid", grid.c.plan_id.in_([p.id for p in previous]))["id"]
    ]
    _follow_new_grids(conn, old_ids, grids)
    return previous[0].id if previous else None


def _follow_new_grids(conn: Connection, old_ids: list[int], grids: gpd.GeoDataFrame) -> None:
    """What pointed at the retired plan's grids follows into the new plan's grids.

    Requests go to the new grid that holds their point; grid workers of an old grid are copied
    to the new grid that holds most of it when that grid has none yet; users scoped to an old
    grid (grid workers) are scoped to that same new grid. The retired grids keep their own rows,
    so a rollback finds them as they were.
    """
    if not old_ids or grids.empty:
        return
    grid, req, worker, user = table("grid"), table("request"), table("grid_worker"), table("user")
    old = read_table(conn, "grid", grid.c.id.in_(old_ids))
    new_geoms = np.asarray(grids.geometry.values)
    o, n = shapely.STRtree(new_geoms).query(np.asarray(old.geometry.values), "intersects")
    overlap = shapely.area(shapely.intersection(old.geometry.values[o], new_geoms[n]))
    pairs = pd.DataFrame({"old": old["id"].to_numpy()[o], "new": grids["id"].to_numpy()[n],
                          "area": overlap}).sort_values("area", ascending=False)  # fmt: skip
    successor = pairs.drop_duplicates("old").set_index("old")["new"]  # where most of it went
    predecessor = pairs.drop_duplicates("new").set_index("new")["old"]  # where most came from

    requests = read_table(conn, "request", req.c.grid_id.in_(old_ids))
    if len(requests):
        r, g = shapely.STRtree(new_geoms).query(np.asarray(requests.geometry.values), "intersects")
        holder = pd.Series(grids["id"].to_numpy()[g], index=requests["id"].to_numpy()[r])
        holder = holder[~holder.index.duplicated()]
        moves = [
            {"r_id": int(i), "g_id": int(holder[i]) if i in holder.index else None}
            for i in requests["id"]
        ]
        conn.execute(
            update(req).where(req.c.id == bindparam("r_id")).values(grid_id=bindparam("g_id")),
            moves,
        )

    workers = read_table(conn, "grid_worker", worker.c.grid_id.in_(old_ids))
    staffed = set(
        read_table(conn, "grid_worker", worker.c.grid_id.in_(list(grids["id"])))["grid_id"]
    )
    copies = [
        {"grid_id": int(new), "person_id": int(w.person_id), "part_time": bool(w.part_time)}
        for new, old_id in predecessor.items()
        if new not in staffed
        for w in workers[workers["grid_id"] == old_id].itertuples()
    ]
    if copies:
        conn.execute(worker.insert(), copies)

    users = read_table(conn, "user", user.c.grid_id.in_(old_ids))
    scoped = [
        {"u_id": int(u), "g_id": int(successor[g])}
        for u, g in zip(users["id"], users["grid_id"], strict=True)
        if g in successor.index
    ]
    if scoped:
        conn.execute(
            update(user).where(user.c.id == bindparam("u_id")).values(grid_id=bindparam("g_id")),
            scoped,
        )


def activate(engine: Engine, plan_id: int, user_id: int | None = None) -> int | None:
    """Activate an approved plan: the previous active plan is retired and every building's
    cached grid is recomputed (largest overlap).

    Returns
    -------
    int or None
        The plan retired.
    """
    with _plan_session(engine) as session:
        plan = _plan(session, plan_id, PlanStatus.approved)
        authorise(session.connection(), "activate", user_id, plan)
        retired = _make_active(session, plan)
        _audit(
            session,
            "plan_activate",
            "grid_plan",
            plan_id,
            user_id,
            {"active": retired},
            {"active": plan_id, "retired": retired},
        )
        return retired


def rollback(engine: Engine, community_code: str, user_id: int | None = None) -> int:
    """Re-activate the plan that the community's active plan replaced, exactly as it was.

    The active plan is retired; building grids and branch links are recomputed from the
    re-activated plan, whose grids were never changed.

    Returns
    -------
    int
        The plan now active.

    Raises
    ------
    ConflictError
        When the community has no active plan or no earlier plan to go back to.
    """
    audit = table("audit_log")
    with _plan_session(engine) as session:
        conn = session.connection()
        com = _community_row(conn, community_code)
        current = session.scalars(
            select(GridPlan).where(
                GridPlan.community_id == com["id"], GridPlan.status == PlanStatus.active
            )
        ).first()
        if current is None:
            raise ConflictError(f"社区 {community_code} 没有生效的方案 / has no active plan")
        authorise(conn, "rollback", user_id, current)
        rows = conn.execute(
            select(audit.c.action, audit.c.before)
            .where(
                audit.c.entity == "grid_plan",
                audit.c.entity_id == current.id,
                audit.c.action.in_(("plan_activate", "plan_rollback")),
            )
            .order_by(audit.c.id.desc())
        ).all()
        previous_id = next(
            (
                json.loads(r.before or "{}").get("active")
                for r in rows
                if r.action == "plan_activate"
            ),
            None,
        )
        previous = session.get(GridPlan, previous_id) if previous_id else None
        if previous is None or previous.status != PlanStatus.retired:
            raise ConflictError(
                f"社区 {community_code} 没有可回退的上一方案 / no earlier plan to roll back to "
                f"(the active plan #{current.id} did not replace a retired one)"
            )
        _make_active(session, previous)
        _audit(
            session,
            "plan_rollback",
            "grid_plan",
            previous.id,
            user_id,
            {"active": current.id},
            {"active": previous.id, "retired": current.id},
        )
        return previous.id


def balance_draft(
    engine: Engine,
    community_code: str,
    name: str | None = None,
    user_id: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[int, BalanceResult]:
    """Propose a draft regrouping the community's buildings with :func:`auto_balance`.

    Each new grid inherits the leader and branch of the active grid whose households it takes
    most of (each active grid's at most once, largest overlap first).

    Returns
    -------
    (plan id, BalanceResult)
        The draft is written even when the norm is infeasible; ``result.feasible`` and
        ``result.message`` say so.
    """
    with connect(engine) as conn:
        com = _community_row(conn, community_code)
        community = read_table(conn, "community", table("community").c.id == com["id"])
        buildings = read_table(conn, "building", table("building").c.community_id == com["id"])
        grid = table("grid")
        active = active_plan_id(conn, community_code)
        old = read_table(conn, "grid", grid.c.plan_id == active) if active is not None else None
    result = auto_balance(community, buildings, progress=progress)
    inherit = _inherit_leaders(result, buildings, old)
    with _plan_session(engine) as session:
        plan = GridPlan(
            community_id=com["id"],
            name=name or f"{com['name']} 自动均衡 {_now():%Y-%m-%d %H:%M}",
            status=PlanStatus.draft,
            created_by=user_id,
            created_at=_now(),
            note=f"自动均衡(METIS) / auto-balance: {result.message}",
        )
        authorise(session.connection(), "edit", user_id, plan)
        session.add(plan)
        session.flush()
        for i, row in result.grids.iterrows():
            code = f"{community_code}-{i + 1:02d}"
            leader, org = inherit.get(int(row["group"]), (None, None))
            session.add(
                Grid(
                    plan_id=plan.id,
                    code=code,
                    name=f"第{i + 1}网格",
                    geom=_as_multipolygon(row["geom"]),
                    leader_id=leader,
                    party_org_id=org,
                )
            )
        _audit(
            session,
            "plan_balance",
            "grid_plan",
            plan.id,
            user_id,
            None,
            {"grids": len(result.grids), "feasible": result.feasible, "message": result.message},
        )
        return plan.id, result


def _inherit_leaders(
    result: BalanceResult, buildings: pd.DataFrame, old: gpd.GeoDataFrame | None
) -> dict[int, tuple[int | None, int | None]]:
    if old is None or len(old) == 0:
        return {}
    where = _assignment(buildings, old)
    overlap = (
        pd.DataFrame(
            {
                "group": result.groups.reindex(buildings["id"].to_numpy()).to_numpy(),
                "grid": where["grid_id"].to_numpy(),
                "hh": _numbers(buildings, "households") + 1,  # +1: empty buildings count a little
            }
        )
        .dropna()
        .groupby(["group", "grid"])["hh"]
        .sum()
        .sort_values(ascending=False, kind="stable")
    )
    by_id = old.set_index("id")
    out: dict[int, tuple[int | None, int | None]] = {}
    used: set = set()
    for (group, grid_id), _ in overlap.items():
        if int(group) in out or grid_id in used:
            continue
        leader, org = by_id.loc[grid_id, "leader_id"], by_id.loc[grid_id, "party_org_id"]
        out[int(group)] = (
            None if pd.isna(leader) else int(leader),
            None if pd.isna(org) else int(org),
        )
        used.add(grid_id)
    return out
