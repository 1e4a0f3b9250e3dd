"""Input checks shared by the analysis modules: say what is wrong with a layer, up front.

Like geopandas' sjoin, a public analysis function checks its frames before any work and raises
an :class:`~gridmap.errors.InputError` a user can act on (which columns are missing, that a CRS
is needed), instead of failing deep inside with a KeyError.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from gridmap.errors import InputError


def require_frame(frame: object, name: str, columns: Sequence[str], geo: bool = False) -> None:
    """Check that ``frame`` is a DataFrame holding ``columns`` (and a GeoDataFrame with a CRS).

    Parameters
    ----------
    frame : object
        What the caller was given.
    name : str
        How the message names it ("grids", "requests" …).
    columns : sequence of str
        Columns it must have.
    geo : bool
        It must also be a GeoDataFrame with a CRS.

    Raises
    ------
    TypeError
        Not a DataFrame at all (a programming error).
    InputError
        Missing columns or CRS, named in Chinese and English.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a (Geo)DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name} 缺少列 / lacks the column(s) {', '.join(missing)}; "
            f"it needs {', '.join(columns)}"
        )
    if geo and (not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None):
        raise InputError(
            f"{name} 须为带坐标系的图层 / must be a GeoDataFrame with a CRS (e.g. EPSG:4326)"
        )
