"""GeoJSON for the browser: only the shown properties, HTML-escaped, coordinates rounded.

:func:`browser_geojson` sends each feature's chosen columns as escaped text (a name such as
``<script>…`` is shown, not run) with coordinates kept to :data:`BROWSER_DECIMALS`; importing
this module also makes folium embed Chinese as UTF-8 rather than ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Coordinates sent to the browser keep 6 decimals (≈ 0.1 m): smaller pages, no visible change.
BROWSER_DECIMALS = 6


def _embed_json_as_utf8() -> None:
    """Let folium write GeoJSON with Chinese as UTF-8 instead of ``\\uXXXX`` escapes.

    folium renders ``{{ this.data|tojson }}`` with Jinja's ``tojson``, which still escapes
    ``< > & '`` (safe inside ``<script>``); only the 6-byte escapes of non-ASCII text go. On the
    demo street this makes the overview page 6 % smaller (BENCHMARKS.md §4).
    """
    policies = folium.GeoJson._template.environment.policies
    policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}


_embed_json_as_utf8()


def escape_text(values: pd.Series) -> pd.Series:
    """HTML-escape every value of a column as text; missing values become ``""``."""
    return values.map(lambda v: "" if v is None or v is pd.NA or v != v else html.escape(str(v)))


def browser_geojson(
    frame: gpd.GeoDataFrame,
    properties: Sequence[str],
    decimals: int = BROWSER_DECIMALS,
) -> dict:
    """A GeoJSON FeatureCollection for the browser: only ``properties``, escaped, rounded.

    Parameters
    ----------
    frame : GeoDataFrame
        In EPSG:4326.
    properties : sequence of str
        Columns to send; every value is sent as escaped text.
    decimals : int
        Coordinate precision.
    """
    geoms = shapely.set_precision(np.asarray(frame.geometry.values), 10.0**-decimals)
    single = (shapely.get_type_id(geoms) == shapely.GeometryType.MULTIPOLYGON) & (
        shapely.get_num_geometries(geoms) == 1
    )
    geoms[single] = shapely.get_geometry(geoms[single], 0)  # a one-part building: a Polygon
    props = pd.DataFrame({name: escape_text(frame[name]) for name in properties})
    features = [
        {"type": "Feature", "properties": row, "geometry": geom}
        for row, geom in zip(
            props.to_dict("records"),
            (shapely.geometry.mapping(g) for g in geoms),
            strict=True,
        )
    ]
    return {"type": "FeatureCollection", "features": features}
