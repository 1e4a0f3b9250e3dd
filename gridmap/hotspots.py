"""Request hotspots: where residents' requests cluster, by Getis-Ord Gi*.

The statistic is :class:`esda.G_Local` with ``star=True`` (the unit itself counts in its own
neighbourhood) on binary contiguity weights — grids that touch (:mod:`libpysal` Queen or Rook)
or H3 hexagons that are neighbours (:mod:`h3`, v4 API) — with conditional-permutation pseudo
p-values (``p_sim``, seeded) or the normal approximation (``p_norm``), and optional
false-discovery-rate control by :func:`esda.fdr` (Benjamini–Hochberg). Each unit is classed hot
or cold at 99/95/90 % confidence, or not significant (:data:`HOTSPOT_CLASSES`).

Requests are filtered first (:func:`filter_requests`: category, source 查/访/报/12345, time
window, status open/overdue/all); :func:`grid_request_stats` gives per grid the open requests,
the median time to resolve and the average rating; :func:`summarise_hotspots` says in plain
words where the strongest hotspots are, in what category, and how many requests they hold.

Everything here is pure: (Geo)DataFrames in, (Geo)DataFrames out, no database and no clock —
"now" is always a parameter (the demo street's is :data:`gridmap.settings.DEMO_REFERENCE_DATE`).

Reading the classes: Gi* finds *clusters*. A single grid far above all its neighbours raises the
statistic of each neighbour (their neighbourhoods include it) while its own conditional
permutation test, which holds its value fixed, may find its neighbours unremarkable; such a grid
shows as a ring of hot neighbours. The hexagon lattice sees inside grids and finds it.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import esda
import geopandas as gpd
import h3
import libpysal
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import connected_components

from gridmap import settings
from gridmap.errors import InputError
from gridmap.i18n import pair, text
from gridmap.labels import Language
from gridmap.models import RequestSource, RequestStatus
from gridmap.validation import require_frame

__all__ = [
    "HOTSPOT_CLASSES",
    "MEASURES",
    "SOURCE_LABELS",
    "STATUS_FILTERS",
    "HotspotReport",
    "assign_grids",
    "filter_requests",
    "getis_ord",
    "grid_request_stats",
    "grid_weights",
    "h3_lattice",
    "hotspot_clusters",
    "is_demo_street",
    "open_requests",
    "request_hotspots",
    "request_units",
    "summarise_hotspots",
]

#: Gi* classes, strongest hot first: key → (中文, English, colour of the red–blue legend).
HOTSPOT_CLASSES: dict[str, tuple[str, str, str]] = {
    "hot_99": (*pair("热点(99% 置信度)"), "#b2182b"),
    "hot_95": (*pair("热点(95% 置信度)"), "#ef8a62"),
    "hot_90": (*pair("热点(90% 置信度)"), "#fddbc7"),
    "not_significant": (*pair("不显著"), "#d9d9d9"),
    "cold_90": (*pair("冷点(90% 置信度)"), "#d1e5f0"),
    "cold_95": (*pair("冷点(95% 置信度)"), "#67a9cf"),
    "cold_99": (*pair("冷点(99% 置信度)"), "#2166ac"),
}

#: Request sources with their short names (查、访、报、12345).
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    RequestSource.inspection.value: pair("查(巡查)"),
    RequestSource.visit.value: pair("访(走访)"),
    RequestSource.report.value: pair("报(居民上报)"),
    RequestSource.hotline.value: pair("12345 热线"),
}

#: Status filters: key → (中文, English).
STATUS_FILTERS: dict[str, tuple[str, str]] = {
    "all": pair("全部"),
    "open": pair("未办结"),
    "overdue": pair("已超期未办结"),
}

#: What a hotspot analysis counts per unit: key → (中文, English, unit 中文, unit English).
MEASURES: dict[str, tuple[str, str, str, str]] = {
    "count": (*pair("诉求件数"), *pair("件", "measures")),
    "rate": (*pair("每百户诉求件数"), *pair("件/百户")),
}

#: Statuses of a request not yet handled to the end.
OPEN_STATUSES: tuple[str, ...] = (
    RequestStatus.received.value,
    RequestStatus.assigned.value,
    RequestStatus.escalated.value,
)
_RESOLVED = (RequestStatus.resolved.value, RequestStatus.evaluated.value)

REQUEST_COLUMNS = ("id", "category", "source", "status", "received_at", "due_at", "resolved_at")


def is_demo_street(streets: pd.DataFrame) -> bool:
    """Whether the street is the built-in demo street (its "now" is the demo reference date)."""
    if "code" not in streets or len(streets) != 1:
        return False
    return (
        streets["code"].iloc[0] == settings.DEMO_STREET_CODE
        and streets["name"].iloc[0] == settings.DEMO_STREET_NAME
    )


# --- filters ----------------------------------------------------------------------------------


def _timestamp(value: dt.date | dt.datetime | None, end: bool) -> pd.Timestamp | None:
    """A window bound: a date means the whole day (start at 00:00, end after 24:00)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return pd.Timestamp(value)
    stamp = pd.Timestamp(value)
    return stamp + pd.Timedelta(days=1) if end else stamp


def _is_open(requests: pd.DataFrame) -> np.ndarray:
    return requests["status"].isin(OPEN_STATUSES).to_numpy()


def _is_overdue(requests: pd.DataFrame, now: dt.datetime) -> np.ndarray:
    due = pd.to_datetime(requests["due_at"])
    return _is_open(requests) & (due < pd.Timestamp(now)).fillna(False).to_numpy(dtype=bool)


def filter_requests(
    requests: gpd.GeoDataFrame,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    start: dt.date | dt.datetime | None = None,
    end: dt.date | dt.datetime | None = None,
    status: str = "all",
    now: dt.datetime | None = None,
) -> gpd.GeoDataFrame:
    """The requests of some categories and sources, received in a window, in a status.

    Parameters
    ----------
    requests : GeoDataFrame
        ``request`` rows with points: ``id, category, source, status, received_at, due_at,
        resolved_at``.
    categories, sources : sequence of str, optional
        Keep only these (None: all). Sources are ``inspection`` 查, ``visit`` 访, ``report`` 报,
        ``hotline`` 12345.
    start, end : date or datetime, optional
        Received at or after ``start`` and before ``end``; a date ``end`` includes that day.
    status : {"all", "open", "overdue"}
        ``open``: received, assigned or escalated; ``overdue``: open and past its due time.
    now : datetime
        The moment "overdue" is judged at; needed for ``status="overdue"``.

    Raises
    ------
    InputError
        For an unknown source or status, an empty window, or "overdue" without ``now``.
    """
    require_frame(requests, "requests", REQUEST_COLUMNS)
    if status not in STATUS_FILTERS:
        raise InputError(
            f"未知的状态筛选 / unknown status filter {status!r}; known: {list(STATUS_FILTERS)}"
        )
    unknown = sorted(set(sources or ()) - set(SOURCE_LABELS))
    if unknown:
        raise InputError(
            f"未知的诉求来源 / unknown request source {unknown}; known: {list(SOURCE_LABELS)}"
        )
    lo, hi = _timestamp(start, end=False), _timestamp(end, end=True)
    if lo is not None and hi is not None and hi <= lo:
        raise InputError(f"时间范围为空 / the time window is empty: {start} to {end}")
    mask = np.ones(len(requests), dtype=bool)
    if categories is not None:
        mask &= requests["category"].isin(list(categories)).to_numpy()
    if sources is not None:
        mask &= requests["source"].isin(list(sources)).to_numpy()
    received = pd.to_datetime(requests["received_at"])
    if lo is not None:
        mask &= (received >= lo).to_numpy()
    if hi is not None:
        mask &= (received < hi).to_numpy()
    if status == "open":
        mask &= _is_open(requests)
    elif status == "overdue":
        if now is None:
            raise InputError("判断超期需要当前时间 / the overdue filter needs `now`")
        mask &= _is_overdue(requests, now)
    return requests[mask]


def open_requests(requests: gpd.GeoDataFrame, now: dt.datetime) -> gpd.GeoDataFrame:
    """Unresolved requests with ``overdue`` (past due at ``now``) and ``hours_overdue``."""
    require_frame(requests, "requests", REQUEST_COLUMNS)
    rows = requests[_is_open(requests)].copy()
    late = pd.Timestamp(now) - pd.to_datetime(rows["due_at"])
    rows["overdue"] = (late > pd.Timedelta(0)).fillna(False).to_numpy(dtype=bool)
    rows["hours_overdue"] = np.where(rows["overdue"], late.dt.total_seconds() / 3600.0, 0.0)
    return rows


# --- units and weights ------------------------------------------------------------------------


def assign_grids(requests: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> np.ndarray:
    """The active grid of each request: its stored ``grid_id`` when that grid is active, else
    the grid its point lies in (NaN for none). Vectorised (one spatial join)."""
    ids = grids["id"].to_numpy()
    stored = (
        pd.to_numeric(requests["grid_id"], errors="coerce").to_numpy(dtype=float)
        if "grid_id" in requests
        else np.full(len(requests), np.nan)
    )
    out = np.where(np.isin(stored, ids), stored, np.nan)
    todo = np.flatnonzero(np.isnan(out))
    if len(todo) and len(grids):
        points = requests.geometry.iloc[todo].to_crs(grids.crs)
        tree = shapely.STRtree(np.asarray(grids.geometry.values))
        hit_point, hit_grid = tree.query(np.asarray(points.values), predicate="intersects")
        first = pd.Series(hit_grid).groupby(hit_point).min()
        out[todo[first.index.to_numpy()]] = ids[first.to_numpy()]
    return out


def grid_weights(
    grids: gpd.GeoDataFrame, contiguity: str = settings.HOTSPOT_CONTIGUITY
) -> libpysal.weights.W:
    """Contiguity weights between grids (ids = grid ids): ``queen`` (a shared vertex) or
    ``rook`` (a shared edge), from :mod:`libpysal`."""
    kinds = {"queen": libpysal.weights.Queen, "rook": libpysal.weights.Rook}
    if contiguity not in kinds:
        raise InputError(
            f"未知的邻接方式 / unknown contiguity {contiguity!r}; known: {list(kinds)}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands are fine: Gi* then sees the unit alone
        return kinds[contiguity].from_dataframe(
            grids, ids=grids["id"].tolist(), use_index=False, silence_warnings=True
        )


def _cell_of(points: gpd.GeoSeries, resolution: int) -> np.ndarray:
    lonlat = points.to_crs(settings.STORAGE_SRID)
    xs, ys = shapely.get_x(lonlat.values), shapely.get_y(lonlat.values)
    return np.array(
        [h3.latlng_to_cell(y, x, resolution) for x, y in zip(xs, ys, strict=True)], dtype=object
    )


def h3_lattice(
    area: shapely.Geometry | None,
    points: gpd.GeoSeries,
    resolution: int = settings.H3_RESOLUTION,
) -> tuple[gpd.GeoDataFrame, libpysal.weights.W]:
    """An H3 hexagon lattice over an area (and every point), with its neighbour weights.

    Parameters
    ----------
    area : shapely geometry in EPSG:4326, optional
        Hexagons whose centre lies in it are in the lattice.
    points : GeoSeries
        Hexagons holding a point are in the lattice too.
    resolution : int
        H3 resolution (0–15); see :data:`gridmap.settings.H3_RESOLUTIONS`.

    Returns
    -------
    (cells, w)
        ``cells``: ``h3_cell`` and hexagon polygons (EPSG:4326), sorted by cell; ``w``:
        binary weights whose ids are the cells, neighbours being adjacent hexagons.
    """
    if not 0 <= resolution <= 15:
        raise InputError(f"H3 分辨率应在 0–15 之间 / H3 resolution must be 0–15, got {resolution}")
    cells: set[str] = set()
    if area is not None and not area.is_empty:
        cells.update(h3.geo_to_cells(area, resolution))
    if len(points):
        cells.update(_cell_of(points, resolution).tolist())
    order = sorted(cells)
    members = set(order)
    neighbours = {c: sorted(n for n in h3.grid_ring(c, 1) if n in members) for c in order}
    polygons = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in order]
    frame = gpd.GeoDataFrame({"h3_cell": order}, geometry=polygons, crs=settings.STORAGE_SRID)
    w = libpysal.weights.W(neighbours, id_order=order, silence_warnings=True)
    return frame, w


# --- the statistic ----------------------------------------------------------------------------


def getis_ord(
    values: Sequence[float] | np.ndarray,
    w: libpysal.weights.W,
    permutations: int = settings.HOTSPOT_PERMUTATIONS,
    seed: int = settings.HOTSPOT_SEED,
    fdr: bool = settings.HOTSPOT_FDR,
    inference: str = settings.HOTSPOT_INFERENCE,
    confidence_levels: Sequence[float] = settings.HOTSPOT_CONFIDENCE_LEVELS,
) -> tuple[pd.DataFrame, dict[float, float]]:
    """Gi* of each unit, its p-value and its hot/cold class.

    Parameters
    ----------
    values : array of float
        One value per unit, in the order of ``w.id_order``.
    w : libpysal.weights.W
        Binary contiguity weights (the unit itself is added: ``star=True``).
    permutations : int
        Conditional permutations for ``p_sim`` (esda), seeded by ``seed``.
    fdr : bool
        Control the false-discovery rate: a class at confidence c needs ``p`` below
        :func:`esda.fdr` (``p``, 1 − c) instead of ``p ≤ 1 − c``.
    inference : {"permutation", "analytic"}
        Use ``p_sim`` (and the sign of ``z_sim``) or ``p_norm`` (and the sign of ``z``).
    confidence_levels : sequence of float
        Strongest first; each needs a class key ``hot_<percent>``/``cold_<percent>``.

    Returns
    -------
    (table, cutoffs)
        ``table``: ``value, gi, z, p_norm, z_sim, p_sim, p, cls`` in ``w.id_order``;
        ``cutoffs``: the p-value each confidence level needed (after FDR when on).

    Notes
    -----
    This is :class:`esda.G_Local` (``star=True``, ``transform="B"``): binary weights keep
    esda's analytic variance exact for Gi* (Getis & Ord 1992). A field without variance (all
    values equal, e.g. no requests) has nothing to test: every unit is not significant.
    """
    if inference not in ("permutation", "analytic"):
        raise InputError(
            f"未知的检验方式 / unknown inference {inference!r}; use permutation or analytic"
        )
    y = np.asarray(values, dtype=float)
    if len(y) != w.n:
        raise InputError(f"{len(y)} values for {w.n} units: one value per unit is needed")
    table = pd.DataFrame({"value": y})
    flat = len(y) < 3 or np.nanstd(y) == 0 or not np.isfinite(y).all()
    if flat:
        for col in ("gi", "z", "z_sim"):
            table[col] = np.nan
        for col in ("p_norm", "p_sim", "p"):
            table[col] = 1.0
        table["cls"] = "not_significant"
        return table, {c: (1 - c) for c in confidence_levels}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(
            y,
            w,
            transform="B",
            permutations=permutations,
            star=True,
            keep_simulations=True,
            n_jobs=1,
            seed=seed,
        )
    table["gi"] = np.asarray(g.Gs, dtype=float)
    table["z"] = np.asarray(g.Zs, dtype=float)
    table["p_norm"] = np.asarray(g.p_norm, dtype=float)
    table["z_sim"] = np.asarray(g.z_sim, dtype=float) if permutations else np.nan
    table["p_sim"] = np.asarray(g.p_sim, dtype=float) if permutations else np.nan
    if inference == "permutation" and permutations:
        p, direction = table["p_sim"].to_numpy(), np.sign(table["z_sim"].to_numpy())
    else:
        p, direction = table["p_norm"].to_numpy(), np.sign(table["z"].to_numpy())
    table["p"] = p
    cls = np.full(len(y), "not_significant", dtype=object)
    cutoffs: dict[float, float] = {}
    for level in sorted(confidence_levels, reverse=True):
        alpha = 1.0 - level
        if fdr:
            cutoff = float(esda.fdr(p, alpha))
            passed = p < cutoff
        else:
            cutoff = alpha
            passed = p <= alpha + 1e-12
        cutoffs[level] = cutoff
        percent = round(level * 100)
        free = cls == "not_significant"
        cls[free & passed & (direction > 0)] = f"hot_{percent}"
        cls[free & passed & (direction < 0)] = f"cold_{percent}"
    table["cls"] = cls
    return table, cutoffs


# --- the analysis -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HotspotReport:
    """Gi* over grids or hexagons, with the requests it counted.

    Attributes
    ----------
    cells : GeoDataFrame
        One row per unit (EPSG:4326): ``unit_id`` (grid id or H3 cell), ``label``,
        ``grid_code``/``grid_name``/``community_name`` (for hexagons: of the grid holding its
        centre), ``requests``, ``households``, ``value``, ``gi``, ``z``, ``p_norm``, ``z_sim``,
        ``p_sim``, ``p``, ``cls``, ``cls_label``-free (labels are the UI's).
    requests : DataFrame
        The counted requests: ``request_id, category, unit_id, grid_id``.
    weights : libpysal.weights.W
        The weights used (ids = ``cells.unit_id``).
    unit, measure, inference : str
    resolution : int or None
        H3 resolution for ``unit="h3"``.
    fdr : bool
    cutoffs : dict[float, float]
        The p-value each confidence level needed.
    permutations : int
    """

    cells: gpd.GeoDataFrame
    requests: pd.DataFrame
    weights: libpysal.weights.W
    unit: str
    measure: str
    inference: str
    resolution: int | None
    fdr: bool
    cutoffs: dict[float, float]
    permutations: int

    def counts(self) -> dict[str, int]:
        """Units per class, every class present (zeros included)."""
        found = self.cells["cls"].value_counts()
        return {k: int(found.get(k, 0)) for k in HOTSPOT_CLASSES}


def _grid_labels(grids: gpd.GeoDataFrame) -> pd.DataFrame:
    name = grids["name"] if "name" in grids else grids["code"]
    community = grids["community_name"] if "community_name" in grids else pd.Series("", grids.index)
    return pd.DataFrame(
        {
            "grid_id": grids["id"].to_numpy(),
            "grid_code": grids["code"].to_numpy(),
            "grid_name": name.to_numpy(),
            "community_name": community.fillna("").to_numpy(),
        }
    )


def request_units(
    requests: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    unit: str = settings.HOTSPOT_UNIT,
    resolution: int = settings.H3_RESOLUTION,
    contiguity: str = settings.HOTSPOT_CONTIGUITY,
    area: shapely.Geometry | None = None,
) -> tuple[gpd.GeoDataFrame, libpysal.weights.W, pd.DataFrame]:
    """The units a hotspot analysis counts requests in — grids, or H3 hexagons over the grids
    and every request — their neighbour weights, and the unit of each request.

    Parameters are those of :func:`request_hotspots`.

    Returns
    -------
    (units, w, counted)
        ``units``: ``unit_id``, labels (``grid_id, grid_code, grid_name, community_name,
        label``), ``households`` and polygons (EPSG:4326); ``w``: binary contiguity weights
        on ``unit_id``; ``counted``: ``request_id, category, unit_id, grid_id`` (and
        ``received_at`` when the requests have it) of each request in a unit.
    """
    if unit not in settings.HOTSPOT_UNITS:
        raise InputError(
            f"未知的分析单元 / unknown unit {unit!r}; known: {list(settings.HOTSPOT_UNITS)}"
        )
    grids = grids.to_crs(settings.STORAGE_SRID)
    requests = requests.to_crs(settings.STORAGE_SRID)
    grid_of_request = assign_grids(requests, grids)
    labels = _grid_labels(grids)
    if unit == "grid":
        frame = labels.assign(unit_id=labels["grid_id"])
        frame = gpd.GeoDataFrame(frame, geometry=grids.geometry.to_numpy(), crs=grids.crs)
        frame["label"] = (frame["community_name"] + " " + frame["grid_name"]).str.strip()
        frame["households"] = _grid_households(grids, buildings)
        unit_of_request = [None if np.isnan(g) else int(g) for g in grid_of_request]
        w = grid_weights(grids, contiguity)
    else:
        extent = area if area is not None else shapely.union_all(np.asarray(grids.geometry.values))
        cells, w = h3_lattice(extent, requests.geometry, resolution)
        frame = _hexagon_labels(cells, grids, labels)
        frame["households"] = _hexagon_households(cells, buildings, resolution)
        unit_of_request = _cell_of(requests.geometry, resolution) if len(requests) else []
    counted = pd.DataFrame(
        {
            "request_id": requests["id"].to_numpy(),
            "category": requests["category"].to_numpy(),
            "unit_id": np.asarray(unit_of_request, dtype=object),
            "grid_id": grid_of_request,
        }
    )
    if "received_at" in requests:
        counted["received_at"] = pd.to_datetime(requests["received_at"]).to_numpy()
    return frame, w, counted[counted["unit_id"].notna()].reset_index(drop=True)


def request_hotspots(
    requests: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    unit: str = settings.HOTSPOT_UNIT,
    measure: str = "count",
    resolution: int = settings.H3_RESOLUTION,
    contiguity: str = settings.HOTSPOT_CONTIGUITY,
    permutations: int = settings.HOTSPOT_PERMUTATIONS,
    seed: int = settings.HOTSPOT_SEED,
    fdr: bool = settings.HOTSPOT_FDR,
    inference: str = settings.HOTSPOT_INFERENCE,
    area: shapely.Geometry | None = None,
) -> HotspotReport:
    """Getis-Ord Gi* hotspots of (already filtered) requests over grids or H3 hexagons.

    Parameters
    ----------
    requests : GeoDataFrame
        Requests with points (see :func:`filter_requests`); ``grid_id`` used when active.
    grids : GeoDataFrame
        Active grids: ``id, code`` and polygons (``name``, ``community_name``, ``households``
        optional).
    buildings : GeoDataFrame, optional
        ``households`` and polygons: needed for ``measure="rate"`` over hexagons (a grid's
        households come from ``grids.households`` when present, else from buildings by
        ``grid_id``).
    unit : {"grid", "h3"}
    measure : {"count", "rate"}
        Requests, or requests per 100 households; units without households are left out of a
        rate analysis.
    resolution : int
        H3 resolution (``unit="h3"``).
    contiguity : {"queen", "rook"}
        Grid neighbours (``unit="grid"``).
    permutations, seed, fdr, inference
        As for :func:`getis_ord`.
    area : shapely geometry, optional
        The lattice's extent for ``unit="h3"`` (default: the union of the grids).

    Returns
    -------
    HotspotReport
    """
    require_frame(requests, "requests", ("id", "category"), geo=True)
    require_frame(grids, "grids", ("id", "code"), geo=True)
    if measure not in MEASURES:
        raise InputError(f"未知的指标 / unknown measure {measure!r}; known: {list(MEASURES)}")
    frame, w, counted = request_units(
        requests, grids, buildings, unit, resolution, contiguity, area
    )
    frame["requests"] = (
        counted.groupby("unit_id").size().reindex(frame["unit_id"], fill_value=0).to_numpy()
    )
    if measure == "rate":
        keep = frame["households"].to_numpy() > 0
        frame = frame[keep].reset_index(drop=True)
        w = _subset(w, frame["unit_id"].tolist())
        frame["value"] = 100.0 * frame["requests"] / frame["households"]
    else:
        frame["value"] = frame["requests"].astype(float)
    order = pd.Index(frame["unit_id"]).get_indexer(w.id_order)
    frame = frame.iloc[order].reset_index(drop=True)
    table, cutoffs = getis_ord(frame["value"].to_numpy(), w, permutations, seed, fdr, inference)
    for col in table.columns.drop("value"):
        frame[col] = table[col].to_numpy()
    counted = counted[counted["unit_id"].isin(frame["unit_id"])].reset_index(drop=True)
    return HotspotReport(
        cells=frame,
        requests=counted,
        weights=w,
        unit=unit,
        measure=measure,
        inference=inference,
        resolution=resolution if unit == "h3" else None,
        fdr=fdr,
        cutoffs=cutoffs,
        permutations=permutations,
    )


def _subset(w: libpysal.weights.W, ids: list) -> libpysal.weights.W:
    keep = set(ids)
    neighbours = {i: [n for n in w.neighbors[i] if n in keep] for i in ids}
    return libpysal.weights.W(neighbours, id_order=ids, silence_warnings=True)


def _grid_households(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None) -> np.ndarray:
    if "households" in grids:
        return pd.to_numeric(grids["households"], errors="coerce").fillna(0).to_numpy()
    if buildings is None or "grid_id" not in buildings:
        return np.zeros(len(grids))
    sums = buildings.groupby("grid_id")["households"].sum()
    return sums.reindex(grids["id"].to_numpy(), fill_value=0).to_numpy(dtype=float)


def _hexagon_households(
    cells: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None, resolution: int
) -> np.ndarray:
    """Households per hexagon: each building counts in the hexagon holding a point on it."""
    if buildings is None or buildings.empty:
        return np.zeros(len(cells))
    spots = gpd.GeoSeries(
        shapely.point_on_surface(np.asarray(buildings.geometry.values)), crs=buildings.crs
    )
    cell = _cell_of(spots, resolution)
    households = pd.to_numeric(buildings["households"], errors="coerce").fillna(0).to_numpy()
    sums = pd.Series(households).groupby(cell).sum()
    return sums.reindex(cells["h3_cell"], fill_value=0).to_numpy(dtype=float)


def _hexagon_labels(
    cells: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, labels: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Each hexagon with the grid holding its centre (for pop-ups and summaries)."""
    centres = (
        shapely.points([h3.cell_to_latlng(c)[::-1] for c in cells["h3_cell"]])
        if len(cells)
        else np.array([], dtype=object)
    )
    centre_frame = gpd.GeoDataFrame(geometry=centres, crs=settings.STORAGE_SRID)
    grid_of = assign_grids(centre_frame.assign(id=np.arange(len(cells))), grids)
    info = labels.set_index("grid_id").reindex(grid_of)
    frame = gpd.GeoDataFrame(
        {
            "unit_id": cells["h3_cell"].to_numpy(),
            "grid_id": grid_of,
            "grid_code": info["grid_code"].to_numpy(),
            "grid_name": info["grid_name"].to_numpy(),
            "community_name": info["community_name"].fillna("").to_numpy(),
        },
        geometry=cells.geometry.to_numpy(),
        crs=settings.STORAGE_SRID,
    )
    frame["label"] = frame["unit_id"]
    return frame


# --- clusters and summary ---------------------------------------------------------------------


def hotspot_clusters(report: HotspotReport, kind: str = "hot") -> pd.DataFrame:
    """Neighbouring hot (or cold) units joined into clusters, strongest first.

    Returns
    -------
    DataFrame
        One row per cluster: ``cluster, units, unit_ids, requests, confidence`` (highest level
        reached), ``peak_z``, ``top_category``, ``top_category_requests``, and the grid holding
        most of its requests (``grid_id, grid_code, grid_name, community_name``).
    """
    cells = report.cells
    flagged = cells["cls"].str.startswith(kind).to_numpy()
    columns = [
        "cluster", "units", "unit_ids", "requests", "confidence", "peak_z", "top_category",
        "top_category_requests", "grid_id", "grid_code", "grid_name", "community_name",
    ]  # fmt: skip
    if not flagged.any():
        return pd.DataFrame(columns=columns)
    idx = np.flatnonzero(flagged)
    sparse = report.weights.sparse.tocsr()[idx][:, idx]
    _, component = connected_components(sparse, directed=False)
    chosen = cells.iloc[idx].assign(_cluster=component)
    chosen["_level"] = chosen["cls"].str.split("_").str[1].astype(int)
    z = chosen["z_sim"].where(chosen["z_sim"].notna(), chosen["z"]).abs()
    chosen["_z"] = z.to_numpy()
    counted = report.requests.merge(chosen[["unit_id", "_cluster"]], on="unit_id", how="inner")
    rows = []
    for cluster, group in chosen.groupby("_cluster"):
        reqs = counted[counted["_cluster"] == cluster]
        top = reqs["category"].value_counts()
        grids = reqs["grid_id"].dropna().value_counts()
        if len(grids):
            grid_id = grids.index[0]
        else:  # no request in a grid: the grid of the strongest unit
            grid_id = group.sort_values("_z").iloc[-1].get("grid_id", np.nan)
        where = cells[cells["grid_id"] == grid_id] if "grid_id" in cells else cells.iloc[0:0]
        info = where.iloc[0] if len(where) else None
        rows.append(
            {
                "cluster": int(cluster),
                "units": len(group),
                "unit_ids": list(group["unit_id"]),
                "requests": int(group["requests"].sum()),
                "confidence": int(group["_level"].max()),
                "peak_z": float(group["_z"].max()),
                "top_category": top.index[0] if len(top) else None,
                "top_category_requests": int(top.iloc[0]) if len(top) else 0,
                "grid_id": grid_id,
                "grid_code": info["grid_code"] if info is not None else None,
                "grid_name": info["grid_name"] if info is not None else None,
                "community_name": info["community_name"] if info is not None else None,
            }
        )
    out = pd.DataFrame(rows, columns=columns)
    out = out.sort_values(["confidence", "peak_z", "requests"], ascending=False)
    return out.reset_index(drop=True)


def summarise_hotspots(
    report: HotspotReport,
    lang: Language = "zh",
    top: int = settings.HOTSPOT_SUMMARY_TOP,
) -> list[str]:
    """A few plain sentences on the strongest hotspots: where, what category, how many.

    The grid named for a cluster is the one holding most of its requests.
    """
    zh = lang == "zh"
    clusters = hotspot_clusters(report, "hot")
    cold = hotspot_clusters(report, "cold")
    unit_word = pair("个网格") if report.unit == "grid" else pair("个六边形")
    if clusters.empty:
        lines = [text("在所选条件下未发现统计上显著的诉求热点。", lang)]
    else:
        lines = []
        for rank, row in enumerate(clusters.head(top).itertuples(), start=1):
            share = row.top_category_requests / row.requests if row.requests else 0.0
            place = " ".join(x for x in (row.community_name, row.grid_name) if x) or "—"
            code = f"({row.grid_code})" if row.grid_code else ""
            lines.append(
                text(
                    "热点 {rank}:{place}{code}一带,{units}{unit_word},{confidence}% 置信度;"
                    "共 {requests:,} 件诉求,其中「{category}」{category_requests:,} 件"
                    "(占 {share:.0%})。",
                    lang,
                    rank=rank,
                    place=place,
                    code=code,
                    units=row.units,
                    unit_word=unit_word[0 if zh else 1],
                    confidence=row.confidence,
                    requests=row.requests,
                    category=row.top_category,
                    category_requests=row.top_category_requests,
                    share=share,
                )
            )
    if not cold.empty:
        n = int(cold["units"].sum())
        lines.append(
            text(
                "另有 {n}{unit_word}为冷点(诉求明显少于周边)。",
                lang,
                n=n,
                unit_word=unit_word[0 if zh else 1],
            )
        )
    return lines


# --- per-grid request figures -----------------------------------------------------------------


def grid_request_stats(
    requests: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, now: dt.datetime
) -> pd.DataFrame:
    """Per grid: requests, open, overdue, median hours to resolve, average rating.

    Parameters
    ----------
    requests : GeoDataFrame
        Requests (filtered as wanted), with ``rating`` optional.
    grids : GeoDataFrame
        Active grids (``id, code``; ``name``, ``community_name`` kept when present).
    now : datetime
        The moment "overdue" is judged at.

    Returns
    -------
    DataFrame
        One row per grid, most open requests first: ``grid_id, grid_code, grid_name,
        community_name, requests, open, overdue, median_hours_to_resolve, mean_rating``
        (NaN where nothing was resolved or rated).
    """
    require_frame(requests, "requests", REQUEST_COLUMNS, geo=True)
    require_frame(grids, "grids", ("id", "code"), geo=True)
    grid_id = assign_grids(requests.to_crs(grids.crs), grids)
    received = pd.to_datetime(requests["received_at"])
    resolved = pd.to_datetime(requests["resolved_at"])
    done = requests["status"].isin(_RESOLVED).to_numpy() & resolved.notna().to_numpy()
    hours = np.where(done, (resolved - received).dt.total_seconds() / 3600.0, np.nan)
    rating = (
        pd.to_numeric(requests["rating"], errors="coerce").to_numpy(dtype=float)
        if "rating" in requests
        else np.full(len(requests), np.nan)
    )
    per = pd.DataFrame(
        {
            "grid_id": grid_id,
            "open": _is_open(requests).astype(int),
            "overdue": _is_overdue(requests, now).astype(int),
            "hours": hours,
            "rating": rating,
        }
    ).dropna(subset=["grid_id"])
    grouped = per.groupby("grid_id")
    ids = grids["id"].to_numpy()
    stats = pd.DataFrame(
        {
            "requests": grouped.size(),
            "open": grouped["open"].sum(),
            "overdue": grouped["overdue"].sum(),
            "median_hours_to_resolve": grouped["hours"].median(),
            "mean_rating": grouped["rating"].mean(),
        }
    ).reindex(ids)
    labels = _grid_labels(grids)
    out = labels.assign(
        requests=stats["requests"].fillna(0).to_numpy(dtype=np.int64),
        open=stats["open"].fillna(0).to_numpy(dtype=np.int64),
        overdue=stats["overdue"].fillna(0).to_numpy(dtype=np.int64),
        median_hours_to_resolve=stats["median_hours_to_resolve"].to_numpy(),
        mean_rating=stats["mean_rating"].to_numpy(),
    )
    return out.sort_values(
        ["open", "overdue", "requests", "grid_code"], ascending=[False, False, False, True]
    ).reset_index(drop=True)
