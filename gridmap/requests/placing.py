"""Where a request is: map points, building codes and address texts placed in a building
and a grid, for whole arrays at once (STRtree), address texts matched to building names after
normalising both (:func:`normalise_address`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.crs import gcj02_to_wgs84, metric_crs
from gridmap.errors import InputError

_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def normalise_address(text: str | None) -> str:
    """An address or building name reduced for matching: NFKC, no spaces or punctuation,
    ASCII digits, 号楼/幢/座 → 栋 (``"东岳小区 3 号楼"`` → ``"东岳小区3栋"``)."""
    if text is None or text != text:
        return ""
    out = unicodedata.normalize("NFKC", str(text)).translate(_FULLWIDTH)
    out = re.sub(r"[\s,，.。·\-—_()（）#]", "", out)
    out = re.sub(r"(\d+)(?:号楼|幢|座|号栋)", r"\1栋", out)
    return out


def match_addresses(addresses: Sequence[str | None], buildings: pd.DataFrame) -> pd.DataFrame:
    """Match address texts to buildings by name.

    An address matches a building whose normalised name (:func:`normalise_address`) it equals,
    else the longest building name it contains (``"车城路街道桂园嘉园3栋2单元501"`` → 桂园嘉园3栋;
    ``"桂园嘉园13栋"`` does not contain ``"桂园嘉园3栋"``). Two buildings of that name are
    ambiguous unless the address also names one's community.

    Parameters
    ----------
    addresses : sequence of str
    buildings : DataFrame
        ``id, name``; optional ``community_name``.

    Returns
    -------
    DataFrame
        Per address: ``building_id`` (nullable Int64) and ``reason`` (why none, else None).
    """
    names = buildings["name"].map(normalise_address).to_numpy(dtype=object)
    ids = buildings["id"].to_numpy()
    communities = (
        buildings["community_name"].fillna("").map(normalise_address).to_numpy(dtype=object)
        if "community_name" in buildings
        else np.full(len(buildings), "", dtype=object)
    )
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if name:
            by_name.setdefault(name, []).append(i)
    ordered = sorted(by_name, key=len, reverse=True)
    found: list[int | None] = []
    reasons: list[str | None] = []
    for raw in addresses:
        text = normalise_address(raw)
        if not text:
            found.append(None)
            reasons.append("缺少地址 / no address")
            continue
        hits = by_name.get(text)
        if hits is None:
            name = next((n for n in ordered if n in text), None)
            hits = by_name.get(name) if name is not None else None
        if not hits:
            found.append(None)
            reasons.append(f"地址「{raw}」未匹配到楼栋 / address matches no building name")
            continue
        if len(hits) > 1:
            named = [i for i in hits if communities[i] and communities[i] in text]
            if len(named) == 1:
                hits = named
        if len(hits) > 1:
            found.append(None)
            reasons.append(
                f"地址「{raw}」对应 {len(hits)} 栋同名楼栋，请写明社区 / address matches "
                f"{len(hits)} buildings of that name: add the community"
            )
            continue
        found.append(int(ids[hits[0]]))
        reasons.append(None)
    return pd.DataFrame(
        {"building_id": pd.array(found, dtype="Int64"), "reason": pd.Series(reasons, dtype=object)}
    )


def place_points(
    points: Sequence[shapely.Point] | np.ndarray,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    snap_m: float | None = None,
) -> pd.DataFrame:
    """The grid and building of each point, for whole arrays at once (STRtree).

    A point inside a building, or within ``snap_m`` metres of one (default
    :data:`settings.REQUEST_BUILDING_SNAP_M`), is in the nearest such building. Its grid is the
    building's cached grid when it has one, else the active grid containing the point (the
    lowest grid id where two overlap).

    Parameters
    ----------
    points : array of shapely Points, EPSG:4326
    grids : GeoDataFrame
        Active grids: ``id`` and polygons (EPSG:4326).
    buildings : GeoDataFrame
        ``id``, optional ``grid_id``, and polygons (EPSG:4326).
    snap_m : float, optional

    Returns
    -------
    DataFrame
        ``grid_id`` and ``building_id`` (nullable Int64), one row per point in order.
    """
    pts = np.asarray(points, dtype=object)
    n = len(pts)
    grid_id = np.full(n, -1, dtype="int64")
    building_id = np.full(n, -1, dtype="int64")
    valid = ~shapely.is_missing(pts) & ~shapely.is_empty(pts) if n else np.zeros(0, bool)
    if n and valid.any() and len(buildings):
        snap = settings.REQUEST_BUILDING_SNAP_M if snap_m is None else snap_m
        crs = metric_crs(buildings)
        b_m = buildings.geometry.to_crs(crs).to_numpy()
        p_m = gpd.GeoSeries(pts[valid], crs=settings.STORAGE_SRID).to_crs(crs).to_numpy()
        tree = shapely.STRtree(b_m)
        p_idx, b_idx = tree.query_nearest(p_m, max_distance=snap, all_matches=False)
        where = np.flatnonzero(valid)[p_idx]
        building_id[where] = buildings["id"].to_numpy()[b_idx]
        if "grid_id" in buildings:
            cached = pd.array(buildings["grid_id"], dtype="Int64")[b_idx]
            has = ~pd.isna(cached)
            grid_id[where[has]] = np.asarray(cached[has], dtype="int64")
    need = valid & (grid_id < 0)
    if need.any() and len(grids):
        tree = shapely.STRtree(grids.geometry.to_numpy())
        p_idx, g_idx = tree.query(pts[need], predicate="intersects")
        ids = grids["id"].to_numpy()[g_idx]
        first = pd.Series(ids).groupby(p_idx).min()  # lowest id where grids overlap
        grid_id[np.flatnonzero(need)[first.index.to_numpy()]] = first.to_numpy()
    return pd.DataFrame(
        {
            "grid_id": pd.array(np.where(grid_id < 0, None, grid_id), dtype="Int64"),
            "building_id": pd.array(np.where(building_id < 0, None, building_id), dtype="Int64"),
        }
    )


def _point_in_building(geoms: np.ndarray) -> np.ndarray:
    """A point inside each building (its point on surface), rounded like stored coordinates."""
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    return shapely.set_precision(pts, 10.0**-settings.COORDINATE_DECIMALS)


def place_requests(
    rows: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    crs: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Place rows by coordinates, else building code, else address text (vectorised).

    Parameters
    ----------
    rows : DataFrame
        Any of ``lon, lat`` (numbers), ``building_code``, ``address``.
    grids, buildings : GeoDataFrame
        Active grids (``id``) and buildings (``id, code, name, grid_id``), EPSG:4326.
    crs : {"wgs84", "gcj02"}
        Coordinates of ``lon, lat``: WGS 84, or GCJ-02 (高德/腾讯) converted to WGS 84.

    Returns
    -------
    GeoDataFrame
        Per row, in order: ``geom`` (the point), ``grid_id``, ``building_id``, ``placed_by``
        (``"point" | "building_code" | "address"``) and ``reason`` (why the row could not be
        placed — no usable location, or in no grid — else None).
    """
    if crs not in ("wgs84", "gcj02"):
        raise InputError(f"坐标系只能是 wgs84 或 gcj02 / crs must be wgs84 or gcj02, not {crs!r}")
    n = len(rows)
    index = pd.RangeIndex(n)
    col = lambda name: (  # noqa: E731
        rows[name].reset_index(drop=True) if name in rows else pd.Series([None] * n, dtype=object)
    )
    lon = pd.to_numeric(col("lon"), errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(col("lat"), errors="coerce").to_numpy(dtype=float)
    has_xy = np.isfinite(lon) & np.isfinite(lat)
    bad_xy = has_xy & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    has_xy &= ~bad_xy
    if crs == "gcj02" and has_xy.any():
        lon[has_xy], lat[has_xy] = gcj02_to_wgs84(lon[has_xy], lat[has_xy])
    geoms = np.full(n, None, dtype=object)
    geoms[has_xy] = shapely.points(np.column_stack([lon[has_xy], lat[has_xy]]))
    placed_by = np.where(has_xy, "point", None).astype(object)
    reason = np.full(n, None, dtype=object)
    reason[bad_xy] = "坐标超出经纬度范围 / coordinates out of range"

    building_id = pd.array([None] * n, dtype="Int64")
    b_index = pd.Series(np.arange(len(buildings)), index=buildings["code"].astype(str))
    codes = col("building_code").astype(object)
    by_code = ~has_xy & ~bad_xy & codes.notna().to_numpy() & (codes.astype(str).str.strip() != "")
    if by_code.any():
        wanted = codes[by_code].astype(str).str.strip()
        pos = b_index.reindex(wanted.to_numpy()).to_numpy()
        known = ~np.isnan(pos)
        rows_known = np.flatnonzero(by_code)[known]
        b_rows = pos[known].astype(int)
        geoms[rows_known] = _point_in_building(buildings.geometry.to_numpy()[b_rows])
        building_id[rows_known] = buildings["id"].to_numpy()[b_rows]
        placed_by[rows_known] = "building_code"
        for r, code in zip(np.flatnonzero(by_code)[~known], wanted[~known], strict=True):
            reason[r] = f"楼栋编码 {code} 不存在 / no building with code {code}"
    addresses = col("address")
    by_address = (
        ~has_xy & ~bad_xy & ~by_code & addresses.notna().to_numpy() & (addresses.astype(str) != "")
    )
    if by_address.any():
        matched = match_addresses(list(addresses[by_address]), buildings)
        rows_addr = np.flatnonzero(by_address)
        ok = matched["building_id"].notna().to_numpy()
        if ok.any():
            by_id = pd.Series(np.arange(len(buildings)), index=buildings["id"].to_numpy())
            pos = by_id.reindex(matched["building_id"][ok].to_numpy()).to_numpy()
            geoms[rows_addr[ok]] = _point_in_building(buildings.geometry.to_numpy()[pos])
            building_id[rows_addr[ok]] = matched["building_id"][ok].to_numpy()
            placed_by[rows_addr[ok]] = "address"
        reason[rows_addr[~ok]] = matched["reason"][~ok].to_numpy()
    nothing = ~has_xy & ~bad_xy & ~by_code & ~by_address
    reason[nothing] = "缺少坐标、楼栋编码和地址 / no coordinates, building code or address"

    located = np.array([g is not None for g in geoms])
    placed = place_points(geoms[located], grids, buildings) if located.any() else None
    grid_id = pd.array([None] * n, dtype="Int64")
    if placed is not None:
        rows_loc = np.flatnonzero(located)
        grid_id[rows_loc] = placed["grid_id"].to_numpy()
        from_point = placed_by[rows_loc] == "point"
        building_id[rows_loc[from_point]] = placed["building_id"].to_numpy()[from_point]
        # placed by building: its cached grid wins (place_points found it from the point)
        known_b = ~from_point
        if known_b.any() and "grid_id" in buildings:
            cached = (
                buildings.set_index("id")["grid_id"]
                .reindex(np.asarray(building_id[rows_loc[known_b]], dtype="int64"))
                .to_numpy()
            )
            keep = pd.notna(cached)
            target = rows_loc[known_b][keep]
            grid_id[target] = pd.array(cached[keep], dtype="Int64")
    no_grid = located & pd.isna(grid_id)
    reason[no_grid] = "位置不在本街道任何网格内 / the location lies in no grid of this street"
    return gpd.GeoDataFrame(
        {
            "grid_id": grid_id,
            "building_id": building_id,
            "placed_by": placed_by,
            "reason": reason,
        },
        geometry=gpd.GeoSeries(geoms, crs=settings.STORAGE_SRID),
        index=index,
    ).rename_geometry("geom")
