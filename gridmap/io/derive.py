"""What a file does not hold, derived and said so: a building's or grid's community from where it
stands (:func:`locate_communities`, the community holding most of it), a building's households
from footprint × floors (:func:`estimate_households`) and residents from households
(:func:`estimate_residents`), and the blanks of a buildings file filled with each estimate
flagged (:func:`derive_buildings`). :mod:`gridmap.io.imports` calls these while it prepares an
import; the settings they read are ``FLOOR_AREA_PER_HOUSEHOLD_M2``, ``DEFAULT_FLOORS`` and
``RESIDENTS_PER_HOUSEHOLD``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.crs import metric_crs
from gridmap.io.layers import LayerSpec
from gridmap.io.parsing import Collector
from gridmap.models import BuildingKind

#: Building kinds whose estimated households are at least 1 (others: 0, no one lives there).
DWELLING_KINDS: tuple[str, ...] = (BuildingKind.residential.value, BuildingKind.mixed.value)


def largest_share(geoms: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """For each geometry, the position of the polygon holding the largest part of its area
    (-1: none holds any), from one STRtree query; ties go to the first polygon."""
    found = np.full(len(geoms), -1, dtype=np.int64)
    present = ~shapely.is_missing(geoms)
    present[present] = ~shapely.is_empty(geoms[present]) & shapely.is_valid(geoms[present])
    if not present.any() or len(polygons) == 0:
        return found
    rows = np.flatnonzero(present)
    b, c = shapely.STRtree(polygons).query(geoms[rows], predicate="intersects")
    # Shares inside one building compare alike in degrees and metres at a street's scale.
    area = shapely.area(shapely.intersection(geoms[rows][b], polygons[c]))
    pairs = pd.DataFrame({"b": rows[b], "c": c, "area": area})
    pairs = pairs[pairs["area"] > 0].sort_values(["b", "area", "c"], ascending=[True, False, True])
    best = pairs.drop_duplicates("b")
    found[best["b"].to_numpy()] = best["c"].to_numpy()
    return found


def locate_communities(
    spec: LayerSpec,
    values: pd.DataFrame,
    refs: pd.DataFrame,
    missing: pd.Series,
    geoms: np.ndarray | None,
    communities: pd.DataFrame,
    column: str,
    out: Collector,
) -> pd.Series:
    """Rows without a community get the one holding most of their footprint; rows outside
    every community are problems. Returns which rows were located."""
    located = pd.Series(False, index=values.index)
    if geoms is None or not missing.any():
        return located
    polygons = communities[communities.geometry.notna()]
    positions = largest_share(np.asarray(geoms, dtype=object)[missing.to_numpy()],
                               np.asarray(polygons.geometry.values, dtype=object))  # fmt: skip
    index = values.index[missing.to_numpy()]
    found = positions >= 0
    refs.loc[index[found], "community_id"] = polygons["id"].to_numpy()[positions[found]]
    values.loc[index[found], "community_code"] = polygons["code"].to_numpy()[positions[found]]
    located.loc[index[found]] = True
    mine = np.asarray(geoms, dtype=object)[missing.to_numpy()]
    placed = ~shapely.is_missing(mine)  # rows without a usable geometry have their problem
    placed[placed] = ~shapely.is_empty(mine[placed]) & shapely.is_valid(mine[placed])
    for idx in index[~found & placed]:
        out.add(
            idx,
            column,
            f"{spec.zh}不在任何社区内(未给社区编码,按位置也找不到)",
            f"outside every community (no community code given, and none holds the "
            f"{'building' if spec.name == 'buildings' else 'grid'})",
        )
    return located


def estimate_households(
    geoms: np.ndarray | gpd.GeoSeries,
    floors: np.ndarray | pd.Series | None = None,
    kinds: np.ndarray | pd.Series | None = None,
) -> np.ndarray:
    """Households of buildings estimated from their footprints.

    ``footprint area (m², in the local UTM zone) × floors ÷``
    :data:`gridmap.settings.FLOOR_AREA_PER_HOUSEHOLD_M2`, rounded half up; at least 1 for a
    dwelling (:data:`DWELLING_KINDS`: residential, mixed), 0 for other kinds.

    Parameters
    ----------
    geoms : array of shapely polygons or GeoSeries
        Footprints in WGS 84 (a GeoSeries in another CRS is reprojected).
    floors : array-like of float, optional
        Floors of each building; blank → :data:`gridmap.settings.DEFAULT_FLOORS`.
    kinds : array-like of str, optional
        :class:`~gridmap.models.BuildingKind` values; default all residential.

    Returns
    -------
    numpy.ndarray of int64
    """
    series = geoms if isinstance(geoms, gpd.GeoSeries) else gpd.GeoSeries(geoms, crs=4326)
    if len(series) == 0:
        return np.zeros(0, dtype=np.int64)
    area = series.to_crs(metric_crs(gpd.GeoDataFrame(geometry=series))).area.to_numpy()
    levels = (
        np.full(len(series), float(settings.DEFAULT_FLOORS))
        if floors is None
        else pd.to_numeric(pd.Series(np.asarray(floors, dtype=object)), errors="coerce")
        .fillna(settings.DEFAULT_FLOORS)
        .to_numpy(dtype=float)
    )
    households = np.floor(area * levels / settings.FLOOR_AREA_PER_HOUSEHOLD_M2 + 0.5)
    dwelling = (
        np.ones(len(series), dtype=bool)
        if kinds is None
        else pd.Series(np.asarray(kinds, dtype=object)).isin(DWELLING_KINDS).to_numpy()
    )
    return np.where(dwelling, np.maximum(households, 1), 0).astype(np.int64)


def estimate_residents(households: np.ndarray | pd.Series) -> np.ndarray:
    """Residents estimated from households: ``households ×``
    :data:`gridmap.settings.RESIDENTS_PER_HOUSEHOLD`, rounded half up (int64)."""
    hh = np.asarray(households, dtype=float)
    return np.floor(hh * settings.RESIDENTS_PER_HOUSEHOLD + 0.5).astype(np.int64)


def derive_buildings(
    rows: pd.DataFrame,
    values: pd.DataFrame,
    located: pd.Series,
    existing: pd.DataFrame,
    keys: pd.Series,
) -> dict[str, pd.Series]:
    """Fill what a buildings file leaves blank, in place, and say which rows were derived.

    A blank name takes the address, else the code; a blank kind is residential; blank
    households are estimated (:func:`estimate_households`, with the file's floors) and blank
    residents too (:func:`estimate_residents`), each flagged ``…_estimated`` (a file may also
    flag its own figures as estimates). A building already in the database keeps what the
    file does not give: its name, community and kind, and its households and residents when
    those were counts (an estimate is estimated again, from the new footprint).

    Returns
    -------
    dict of str to pandas.Series
        Boolean masks over the rows: ``community``, ``name``, ``households``, ``residents``.
    """
    none = pd.Series(False, index=rows.index)
    matched = keys.isin(list(existing["_key"])).astype(bool) if len(existing) else none
    old = (
        existing.drop_duplicates("_key").set_index("_key").reindex(keys.to_numpy())
        if len(existing)
        else pd.DataFrame(index=keys.to_numpy(), columns=[*rows.columns, "id"])
    )
    old.index = rows.index

    def keep(column: str, blank: pd.Series) -> pd.Series:
        """Existing rows take their stored value where the file gives none."""
        take = blank & matched
        if take.any():
            rows.loc[take, column] = old.loc[take, column]
        return blank & ~matched

    no_name = rows["name"].isna()
    named = keep("name", no_name)
    address = values["address"].map(lambda a: a[:100] if isinstance(a, str) and a else None)
    rows.loc[named, "name"] = address[named].where(address[named].notna(), values["code"][named])
    keep("community_id", located)
    no_kind = rows["kind"].isna()
    rows.loc[keep("kind", no_kind), "kind"] = BuildingKind.residential.value

    def flagged(column: str) -> pd.Series:
        given = values[column]
        return given.map(lambda v: bool(v) if v is not None else False).astype(bool)

    def kept(column: str, blank: pd.Series) -> pd.Series:
        """Blank figures of existing rows that hold a count: the count stays."""
        if not len(existing):
            return none
        counted = old[f"{column}_estimated"].map(lambda v: v is not None and v == 0)
        take = blank & matched & counted.astype(bool)
        if take.any():
            rows.loc[take, column] = old.loc[take, column]
        return take

    no_hh = rows["households"].isna()
    stays = kept("households", no_hh)
    estimate = no_hh & ~stays
    if estimate.any():
        rows.loc[estimate, "households"] = estimate_households(
            np.asarray(rows.loc[estimate, "geom"], dtype=object),
            values.loc[estimate, "floors"],
            rows.loc[estimate, "kind"],
        )
    rows["households_estimated"] = estimate | (~no_hh & flagged("households_estimated"))
    no_res = rows["residents"].isna()
    res_stays = kept("residents", no_res)
    res_estimate = no_res & ~res_stays
    if res_estimate.any():
        rows.loc[res_estimate, "residents"] = estimate_residents(
            rows.loc[res_estimate, "households"].astype(float)
        )
    rows["residents_estimated"] = res_estimate | (~no_res & flagged("residents_estimated"))
    for col in ("households", "residents"):
        rows[col] = rows[col].map(int).astype(object)
    rows["households_estimated"] = rows["households_estimated"].astype(bool)
    rows["residents_estimated"] = rows["residents_estimated"].astype(bool)
    return {
        "community": located & ~matched,
        "name": named,
        "households": rows["households_estimated"],
        "residents": rows["residents_estimated"],
    }
