"""Input checks and preparation: layers validated at the boundary, brought to one metric CRS,
positionally indexed and repaired, plus the small array helpers every check shares."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.crs import metric_crs, to_metric
from gridmap.errors import InputError

#: Geometry types of a polygon layer.
POLYGONAL = ("Polygon", "MultiPolygon")


_POLYGON, _MULTIPOLYGON = 3, 6


COMMUNITY_COLUMNS = ("id", "code")


GRID_COLUMNS = ("id", "code", "community_id", "leader_id", "party_org_id")


BUILDING_COLUMNS = ("id", "code", "households", "leader_id")


STATION_COLUMNS = ("id",)


log = logging.getLogger(__name__)


def check_frame(
    frame: object, name: str, columns: Sequence[str], geom_types: Sequence[str] | None
) -> None:
    """Fail with a sentence a user understands when a layer cannot be analysed."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a (Geo)DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name} lacks the column(s) {', '.join(missing)}; it needs {', '.join(columns)}"
        )
    if "id" in columns and frame["id"].duplicated().any():
        dupes = frame.loc[frame["id"].duplicated(), "id"].unique()[:5].tolist()
        raise InputError(f"编号重复 / {name} has duplicate ids: {dupes}")
    if geom_types is None:
        return
    if not isinstance(frame, gpd.GeoDataFrame) or frame.active_geometry_name is None:
        raise InputError(f"{name} must be a GeoDataFrame with an active geometry column")
    if frame.crs is None:
        raise InputError(
            f"{name} has no CRS, so its coordinates cannot be measured; "
            f"set one first, e.g. {name}.set_crs(4326)"
        )
    geoms = np.asarray(frame.geometry.values, dtype=object)
    absent = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if absent.any():
        raise InputError(f"缺少图形 / {name} {some_ids(frame, absent)} have no geometry")
    types = frame.geometry.geom_type
    wrong = ~types.isin(geom_types).to_numpy()
    if wrong.any():
        found = ", ".join(sorted(set(types[wrong])))
        raise InputError(
            f"图形类型不对 / {name} must hold {' or '.join(geom_types)} geometries, but "
            f"{some_ids(frame, wrong)} are {found}"
        )


def some_ids(frame: pd.DataFrame, mask: np.ndarray) -> str:
    """A few codes (else ids) of the rows in ``mask``, for a message."""
    key = "code" if "code" in frame else "id" if "id" in frame else None
    values = frame.loc[mask, key] if key else frame.index[mask]
    shown = ", ".join(str(v) for v in list(values)[:5])
    more = f" and {int(mask.sum()) - 5} more" if mask.sum() > 5 else ""
    return f"{key or 'rows'} {shown}{more}"


def analysis_crs(*frames: gpd.GeoDataFrame | None) -> pyproj.CRS | None:
    """The metric CRS to measure in: the frames' own when they share a metre-based projected
    CRS, else the UTM zone of the first non-empty frame; None when every frame is empty."""
    present = [f for f in frames if f is not None and len(f)]
    if not present:
        return None
    first = pyproj.CRS.from_user_input(present[0].crs)
    metric = first.is_projected and all(a.unit_name in ("metre", "meter") for a in first.axis_info)
    if metric and all(pyproj.CRS.from_user_input(f.crs) == first for f in present):
        return first
    return metric_crs(present[0])


def prepare_layer(frame: gpd.GeoDataFrame, crs: pyproj.CRS | None) -> gpd.GeoDataFrame:
    """The frame in the metric CRS, positionally indexed, with invalid polygons repaired."""
    out = frame.reset_index(drop=True)
    if crs is not None:
        out = to_metric(out, crs)
    geoms = geom_array(out)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        log.warning("repairing %d invalid geometries (%s)", invalid.sum(), some_ids(out, invalid))
        fixed = geoms.copy()
        fixed[invalid] = to_polygonal(shapely.make_valid(geoms[invalid]))
        out = out.copy()
        out[out.geometry.name] = gpd.GeoSeries(fixed, crs=out.crs)
    return out


def geom_array(frame: gpd.GeoDataFrame) -> np.ndarray:
    """The frame's geometries as a numpy object array."""
    return np.asarray(frame.geometry.values, dtype=object)


def polygon_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polygons inside each geometry (lines and points of collections dropped), with the
    index of the geometry each came from."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    subparts, sub_index = shapely.get_parts(parts, return_index=True)  # multi inside collection
    index = index[sub_index]
    polygon = shapely.get_type_id(subparts) == _POLYGON
    return subparts[polygon], index[polygon]


def to_polygonal(geoms: np.ndarray) -> np.ndarray:
    """Each geometry reduced to its polygonal part: a Polygon when it has one, else a
    MultiPolygon (empty when it has none)."""
    geoms = np.asarray(geoms, dtype=object)
    out = shapely.empty(len(geoms), geom_type=shapely.GeometryType.MULTIPOLYGON)
    parts, index = polygon_parts(geoms)
    if len(parts):
        shapely.multipolygons(parts, indices=index, out=out)
    single = np.bincount(index, minlength=len(geoms)) == 1
    out[single] = shapely.get_geometry(out[single], 0)  # a lone polygon stays a Polygon
    return out


def ids_at(ids: pd.Series, positions: np.ndarray) -> pd.Series:
    """``ids`` at the given positions, missing (NA) where a position is -1."""
    positions = np.asarray(positions, dtype=np.int64)
    if len(ids) == 0:
        return pd.Series([pd.NA] * len(positions), dtype=object)
    values = ids.iloc[np.where(positions >= 0, positions, 0)].reset_index(drop=True)
    values = values.astype("Int64") if pd.api.types.is_integer_dtype(ids) else values.astype(object)
    values[positions < 0] = pd.NA
    return values


def household_counts(buildings: pd.DataFrame) -> np.ndarray:
    """Households of each building as integers (0 where missing)."""
    if "households" not in buildings:
        return np.zeros(len(buildings), dtype=np.int64)
    values = pd.to_numeric(buildings["households"], errors="coerce").fillna(0)
    return values.to_numpy(dtype=np.int64)
