"""Member density: how Party members are spread over a street's grids and buildings.

Counts members per grid and per building (by category, DESIGN.md §1), and relates them to
households (members per 100 households) and to area (members per km²); in-service members
registered where they live (双报到) and lost-contact members are counted apart. Choropleth
classes come from :mod:`mapclassify` (quantiles, natural breaks, equal interval).

Everything here is pure: it takes the frames :mod:`gridmap.repository` loads (``member`` rows,
the active grids and buildings of :func:`gridmap.repository.load_street_layers`) and returns
(Geo)DataFrames; it never touches the database or the UI. Areas are measured in the local UTM
zone (:func:`gridmap.crs.metric_crs`).

Personal data: :func:`member_density` returns aggregates only. :func:`member_roster` is the one
function that returns member rows with names; it masks them (张*明) unless asked otherwise, and
the planner role never receives it (aggregates only).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.auth import mask_names
from gridmap.crs import metric_crs
from gridmap.errors import InputError
from gridmap.i18n import pair
from gridmap.models import MemberCategory
from gridmap.validation import require_frame

__all__ = [
    "CATEGORY_LABELS",
    "DENSITY_MEASURES",
    "SCHEMES",
    "Classification",
    "DensityReport",
    "classify",
    "heat_points",
    "member_density",
    "member_roster",
]

#: Member categories in display order, with (中文, English) names.
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    MemberCategory.resident.value: pair("在册居民党员"),
    MemberCategory.in_service.value: pair("在职党员(双报到)"),
    MemberCategory.retired.value: pair("离退休党员"),
    MemberCategory.floating.value: pair("流动党员"),
    MemberCategory.lost_contact.value: pair("失联党员"),
    MemberCategory.retired_cadre.value: pair("离退休干部"),
    MemberCategory.unemployed.value: pair("下岗失业党员"),
}

#: Measures a density map can show: column → (中文, English, unit 中文, unit English).
DENSITY_MEASURES: dict[str, tuple[str, str, str, str]] = {
    "members_per_100_households": (*pair("每百户党员数"), *pair("名/百户")),
    "members": (*pair("党员数"), *pair("名")),
    "members_per_km2": (*pair("每平方公里党员数"), *pair("名/km²")),
    "in_service_registered": (*pair("双报到在职党员", "density measures"), *pair("名")),
}

#: Classification schemes: key → (mapclassify class, 中文, English).
SCHEMES: dict[str, tuple[type, str, str]] = {
    "quantiles": (mapclassify.Quantiles, *pair("分位数")),
    "natural_breaks": (mapclassify.FisherJenks, *pair("自然断点(Jenks)")),
    "equal_interval": (mapclassify.EqualInterval, *pair("等间距")),
}

MEMBER_COLUMNS = ("id", "category", "building_id")
GRID_COLUMNS = ("id", "code", "community_id")
BUILDING_COLUMNS = ("id", "code", "households", "grid_id", "community_id")


@dataclass(frozen=True)
class DensityReport:
    """Member density of a street (or of some communities and categories).

    Attributes
    ----------
    grids : GeoDataFrame
        One row per grid (EPSG:4326), ordered by ``members_per_100_households`` ascending
        (the thinnest grids first; grids without households last): ``grid_id, grid_code,
        grid_name, community_id, community_name, households, residents, area_km2, members,
        members_per_100_households, members_per_km2, in_service_registered``, and one count
        column per member category (``resident``, ``in_service`` …).
    buildings : GeoDataFrame
        One row per building holding households or members: the same figures per building,
        plus ``grid_id``.
    categories : tuple of str
        The member categories counted in ``members``.
    unplaced_members : int
        Members (of those categories, in scope) whose building is unknown or in no grid.
    unplaced_households : int
        Households of buildings in scope that lie in no grid: not in ``households`` (which
        counts the grids'), so the street's own total is ``households + unplaced_households``.
    """

    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    categories: tuple[str, ...]
    unplaced_members: int
    unplaced_households: int = 0

    @property
    def totals(self) -> dict[str, float]:
        """Street (or scope) totals: households, members, members per 100 households, per km²."""
        g = self.grids
        households = float(g["households"].sum())
        members = int(g["members"].sum())
        area = float(g["area_km2"].sum())
        out: dict[str, float] = {
            "grids": len(g),
            "households": households,
            "members": members,
            "area_km2": area,
            "members_per_100_households": 100.0 * members / households if households else np.nan,
            "members_per_km2": members / area if area else np.nan,
            "in_service_registered": int(g["in_service_registered"].sum()),
            "lost_contact": int(g["lost_contact"].sum()),
            "unplaced_members": self.unplaced_members,
            "unplaced_households": self.unplaced_households,
        }
        return out


def _check_categories(categories: Sequence[str] | None) -> tuple[str, ...]:
    if categories is None:
        return tuple(CATEGORY_LABELS)
    unknown = sorted(set(categories) - set(CATEGORY_LABELS))
    if unknown:
        raise InputError(
            f"未知的党员类别 / unknown member category {unknown}; "
            f"known: {', '.join(CATEGORY_LABELS)}"
        )
    return tuple(c for c in CATEGORY_LABELS if c in set(categories))


def _per(numerator: np.ndarray, denominator: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """numerator / denominator × scale, NaN where the denominator is 0."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(len(num), np.nan)
    ok = den > 0
    out[ok] = scale * num[ok] / den[ok]
    return out


def member_density(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    members: pd.DataFrame,
    categories: Sequence[str] | None = None,
    community_ids: Sequence[int] | None = None,
) -> DensityReport:
    """Members per grid and per building: counts, per 100 households, per km², by category.

    Parameters
    ----------
    grids : GeoDataFrame
        Active grids: ``id, code, community_id`` and polygons; ``name`` and
        ``community_name`` are kept when present.
    buildings : GeoDataFrame
        ``id, code, households, grid_id, community_id`` and polygons; ``grid_id`` is the cached
        grid of the active plan (a building in no grid has none). ``residents`` optional.
    members : DataFrame
        ``member`` rows: ``id, category, building_id``; ``registered_on`` (双报到 date)
        optional.
    categories : sequence of str, optional
        Member categories counted in ``members`` and the densities (default: all). The
        per-category columns are always all there, for the categories chosen.
    community_ids : sequence of int, optional
        Only these communities' grids and buildings (default: the whole street).

    Returns
    -------
    DensityReport

    Raises
    ------
    InputError
        For a missing column or an unknown category.

    Notes
    -----
    A member is placed in the grid of the building they live in (``member.building_id`` →
    ``building.grid_id``). In-service members count as registered (``in_service_registered``)
    when they have a 双报到 date. Members per 100 households is ``100 × members / households``,
    undefined (NaN) for a grid without households; per km² uses the grid's area in the local
    UTM zone.
    """
    require_frame(grids, "grids", GRID_COLUMNS, geo=True)
    require_frame(buildings, "buildings", BUILDING_COLUMNS, geo=True)
    require_frame(members, "members", MEMBER_COLUMNS)
    cats = _check_categories(categories)
    grids_in = grids
    buildings_in = buildings
    if community_ids is not None:
        wanted = list(community_ids)
        grids_in = grids[grids["community_id"].isin(wanted)]
        buildings_in = buildings[buildings["community_id"].isin(wanted)]

    chosen = members[members["category"].isin(cats)]
    registered = (
        chosen["registered_on"].notna()
        if "registered_on" in chosen
        else pd.Series(True, index=chosen.index)
    )
    per_member = pd.DataFrame(
        {
            "building_id": chosen["building_id"].to_numpy(),
            "category": chosen["category"].to_numpy(),
            "registered": (
                (chosen["category"] == MemberCategory.in_service.value) & registered
            ).to_numpy(),
        }
    )
    by_building = _counts(per_member, "building_id")
    bld = _building_table(buildings_in, by_building)
    grid_of = bld.set_index("building_id")["grid_id"]
    per_member["grid_id"] = grid_of.reindex(per_member["building_id"].to_numpy()).to_numpy()
    in_scope = per_member["building_id"].isin(bld["building_id"]).to_numpy()
    placed = in_scope & per_member["grid_id"].isin(grids_in["id"]).to_numpy()
    unplaced = int((in_scope & ~placed).sum())
    by_grid = _counts(per_member[placed], "grid_id")
    grid_table = _grid_table(grids_in, bld, by_grid)
    outside = ~bld["grid_id"].isin(grids_in["id"]).to_numpy()
    return DensityReport(
        grids=grid_table,
        buildings=bld,
        categories=cats,
        unplaced_members=unplaced,
        unplaced_households=int(bld.loc[outside, "households"].sum()),
    )


def _counts(per_member: pd.DataFrame, key: str) -> pd.DataFrame:
    """Members per ``key``: one column per category, ``members``, ``in_service_registered``."""
    frame = per_member.dropna(subset=[key])
    table = pd.crosstab(frame[key], frame["category"])
    table = table.reindex(columns=list(CATEGORY_LABELS), fill_value=0)
    table["members"] = table.sum(axis=1)
    table["in_service_registered"] = frame.groupby(key)["registered"].sum()
    return table.astype(np.int64)


_COUNT_COLUMNS = (*CATEGORY_LABELS, "members", "in_service_registered")


def _area_km2(frame: gpd.GeoDataFrame) -> np.ndarray:
    if frame.empty:
        return np.zeros(0)
    return frame.geometry.to_crs(metric_crs(frame)).area.to_numpy() / 1e6


def _attach(frame: pd.DataFrame, counts: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    joined = counts.reindex(ids, fill_value=0)
    for col in _COUNT_COLUMNS:
        frame[col] = joined[col].to_numpy(dtype=np.int64) if len(ids) else np.zeros(0, np.int64)
    return frame


def _building_table(buildings: gpd.GeoDataFrame, counts: pd.DataFrame) -> gpd.GeoDataFrame:
    ids = buildings["id"].to_numpy()
    households = pd.to_numeric(buildings["households"], errors="coerce").fillna(0).to_numpy()
    residents = (
        pd.to_numeric(buildings["residents"], errors="coerce").fillna(0).to_numpy()
        if "residents" in buildings
        else np.zeros(len(buildings))
    )
    frame = pd.DataFrame(
        {
            "building_id": ids,
            "building_code": buildings["code"].to_numpy(),
            "building_name": buildings["name"].to_numpy() if "name" in buildings else None,
            "grid_id": buildings["grid_id"].to_numpy(),
            "community_id": buildings["community_id"].to_numpy(),
            "households": households.astype(np.int64),
            "residents": residents.astype(np.int64),
            "area_km2": _area_km2(buildings),
        }
    )
    frame = _attach(frame, counts, ids)
    frame["members_per_100_households"] = _per(frame["members"], households, 100.0)
    frame["members_per_km2"] = _per(frame["members"], frame["area_km2"])
    out = gpd.GeoDataFrame(frame, geometry=buildings.geometry.to_numpy(), crs=buildings.crs)
    keep = (out["households"] > 0) | (out["members"] > 0)
    return out[keep.to_numpy()].to_crs(settings.STORAGE_SRID).reset_index(drop=True)


def _grid_table(
    grids: gpd.GeoDataFrame, buildings: pd.DataFrame, counts: pd.DataFrame
) -> gpd.GeoDataFrame:
    ids = grids["id"].to_numpy()
    sums = buildings.groupby("grid_id")[["households", "residents"]].sum().reindex(ids)
    frame = pd.DataFrame(
        {
            "grid_id": ids,
            "grid_code": grids["code"].to_numpy(),
            "grid_name": grids["name"].to_numpy() if "name" in grids else grids["code"].to_numpy(),
            "community_id": grids["community_id"].to_numpy(),
            "community_name": (
                grids["community_name"].to_numpy() if "community_name" in grids else None
            ),
            "households": sums["households"].fillna(0).to_numpy(dtype=np.int64),
            "residents": sums["residents"].fillna(0).to_numpy(dtype=np.int64),
            "area_km2": _area_km2(grids),
        }
    )
    frame = _attach(frame, counts, ids)
    frame["members_per_100_households"] = _per(frame["members"], frame["households"], 100.0)
    frame["members_per_km2"] = _per(frame["members"], frame["area_km2"])
    out = gpd.GeoDataFrame(frame, geometry=grids.geometry.to_numpy(), crs=grids.crs)
    out = out.to_crs(settings.STORAGE_SRID)
    order = np.lexsort((out["grid_code"].to_numpy(), out["members_per_100_households"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


# --- classification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """Classes of a choropleth.

    Attributes
    ----------
    scheme : str
        A key of :data:`SCHEMES`.
    bins : ndarray
        Upper bound of each class (the last is the maximum).
    classes : ndarray of int
        The class (0 … k-1) of each value; -1 for a missing value.
    lower : float
        The minimum value (lower bound of the first class).
    """

    scheme: str
    bins: np.ndarray
    classes: np.ndarray
    lower: float

    @property
    def k(self) -> int:
        """Number of classes."""
        return len(self.bins)

    def labels(self, unit: str = "", decimals: int = 1) -> list[str]:
        """One ``"lower – upper unit"`` label per class."""
        edges = [self.lower, *self.bins]
        suffix = f" {unit}" if unit else ""
        return [
            f"{edges[i]:,.{decimals}f} – {edges[i + 1]:,.{decimals}f}{suffix}"
            for i in range(self.k)
        ]


def classify(
    values: Sequence[float] | np.ndarray | pd.Series,
    scheme: str = settings.DENSITY_SCHEME,
    k: int = settings.DENSITY_CLASSES,
) -> Classification:
    """Class breaks of a choropleth by :mod:`mapclassify`.

    Parameters
    ----------
    values : array-like of float
        Missing values (NaN) are left out of the breaks and get class -1.
    scheme : {"quantiles", "natural_breaks", "equal_interval"}
        Quantiles (equal counts), natural breaks (Fisher–Jenks, optimal and deterministic) or
        equal intervals.
    k : int
        Number of classes; fewer when there are fewer distinct values.

    Raises
    ------
    InputError
        For an unknown scheme or k < 1.
    """
    if scheme not in SCHEMES:
        raise InputError(
            f"未知的分级方法 / unknown classification {scheme!r}; known: {list(SCHEMES)}"
        )
    if k < 1:
        raise InputError(f"分级数至少为 1 / the number of classes must be at least 1, got {k}")
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(y)
    classes = np.full(len(y), -1, dtype=np.int64)
    if not ok.any():
        return Classification(scheme, np.zeros(0), classes, 0.0)
    distinct = np.unique(y[ok])
    k = min(k, len(distinct))
    lower = float(distinct[0])
    if k == 1:
        classes[ok] = 0
        return Classification(scheme, np.array([float(distinct[-1])]), classes, lower)
    method = SCHEMES[scheme][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Fisher–Jenks without numba: fine for a street's grids
        result = method(y[ok], k=k)
    bins = np.asarray(result.bins, dtype=float)
    classes[ok] = np.asarray(result.yb, dtype=np.int64)
    return Classification(scheme, bins, classes, lower)


# --- point density and member lists -----------------------------------------------------------


def heat_points(buildings: gpd.GeoDataFrame, column: str = "members") -> np.ndarray:
    """``[[lat, lon, weight], …]`` of buildings with a positive ``column``, for a heat layer.

    One point per building (a point on its surface), weighted by its members: aggregates only,
    no member's own location.
    """
    rows = buildings[pd.to_numeric(buildings[column], errors="coerce").fillna(0) > 0]
    if rows.empty:
        return np.zeros((0, 3))
    frame = rows.to_crs(settings.STORAGE_SRID)
    points = shapely.point_on_surface(np.asarray(frame.geometry.values))
    return np.column_stack(
        [shapely.get_y(points), shapely.get_x(points), frame[column].to_numpy(dtype=float)]
    )


def member_roster(
    members: pd.DataFrame,
    people: pd.DataFrame,
    buildings: pd.DataFrame,
    grids: pd.DataFrame,
    personal_data: bool = False,
) -> pd.DataFrame:
    """The members of some grids, one row each: name, category, building, grid, 双报到 date.

    This is the only function of the module that returns names: the planner role never calls
    it (aggregates only), the others get masked names (张*明) unless they may see personal
    data.

    Parameters
    ----------
    members : DataFrame
        ``id, person_id, category, building_id`` (``registered_on`` optional).
    people : DataFrame
        ``person`` rows: ``id, name``. Phones and ID numbers are never read here.
    buildings : DataFrame
        ``id, code, grid_id``.
    grids : DataFrame
        ``id, code`` of the grids wanted.
    personal_data : bool
        Show full names (default False: masked with :func:`gridmap.auth.mask_name`).

    Returns
    -------
    DataFrame
        ``grid_code, building_code, name, category, registered_on``, ordered by grid,
        building and category.
    """
    require_frame(members, "members", ("id", "person_id", "category", "building_id"))
    require_frame(people, "people", ("id", "name"))
    require_frame(buildings, "buildings", ("id", "code", "grid_id"))
    require_frame(grids, "grids", ("id", "code"))
    names = people.set_index("id")["name"]
    bld = buildings.set_index("id")
    grid_codes = grids.set_index("id")["code"]
    grid_id = bld["grid_id"].reindex(members["building_id"].to_numpy()).to_numpy()
    keep = pd.Series(grid_id).isin(grid_codes.index).to_numpy()
    chosen = members[keep]
    shown_names = names.reindex(chosen["person_id"].to_numpy()).reset_index(drop=True)
    if not personal_data:
        shown_names = mask_names(shown_names)
    out = pd.DataFrame(
        {
            "grid_code": grid_codes.reindex(grid_id[keep]).to_numpy(),
            "building_code": bld["code"].reindex(chosen["building_id"].to_numpy()).to_numpy(),
            "name": shown_names.to_numpy(),
            "category": chosen["category"].to_numpy(),
            "registered_on": (
                chosen["registered_on"].to_numpy() if "registered_on" in chosen else None
            ),
        }
    )
    rank = {c: i for i, c in enumerate(CATEGORY_LABELS)}
    out["_rank"] = out["category"].map(rank)
    return (
        out.sort_values(["grid_code", "building_code", "_rank"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )
