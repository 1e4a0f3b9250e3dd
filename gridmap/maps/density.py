"""The member density map: a choropleth of grids by class, with an optional heat layer."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import settings
from gridmap.i18n import text
from gridmap.labels import Language, label
from gridmap.maps.base import Bounds, add_layer_control, base_map
from gridmap.maps.geojson import BROWSER_DECIMALS
from gridmap.maps.layers import add_street_layers, geojson_layer
from gridmap.maps.offline import OfflineHeatMap
from gridmap.maps.style import MUTED_STYLES, LayerStyle, Legend, legend_entry
from gridmap.repository import StreetLayers

#: Sequential reds (ColorBrewer Reds) for density classes, light to dark; k ≤ 7 classes.
DENSITY_COLOURS: tuple[str, ...] = (
    "#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d", "#99000d",
)  # fmt: skip
NO_DATA_STYLE = LayerStyle("no_data", "#bdbdbd", 0.15, 0.8, dash="2 3")


def _class_colours(k: int) -> list[str]:
    """k colours spread over :data:`DENSITY_COLOURS`, light to dark."""
    if k <= 0:
        return []
    positions = np.linspace(0, len(DENSITY_COLOURS) - 1, k).round().astype(int)
    return [DENSITY_COLOURS[i] for i in positions]


def density_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a grid on the density map (column → label)."""
    return {
        "grid_name": label("grid", lang),
        "value_text": text("数值", lang),
        "community_name": label("community", lang),
        "grid_code": label("code", lang),
        "households": text("户数(户)", lang),
        "members": text("党员(名)", lang),
        "per_100_text": text("每百户党员(名)", lang),
        "in_service_registered": text("双报到在职党员(名)", lang),
        "lost_contact": text("失联党员(名)", lang),
    }


def density_map(
    layers: StreetLayers,
    grids: gpd.GeoDataFrame,
    column: str,
    classification: object,
    title: str,
    unit: str,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
    heat: np.ndarray | None = None,
    view: Bounds | None = None,
) -> folium.Map:
    """The member density map: a choropleth of grids, one toggleable layer per class.

    Parameters
    ----------
    layers : StreetLayers
        Drawn quietly underneath.
    grids : GeoDataFrame
        :attr:`gridmap.density.DensityReport.grids` (possibly filtered), EPSG:4326.
    column : str
        The measure drawn (``members_per_100_households`` …).
    classification : gridmap.density.Classification
        Of ``grids[column]``, in the same row order.
    title, unit : str
        The legend's title and the unit of the class labels (名/百户 …).
    heat : ndarray, optional
        ``[[lat, lon, weight], …]`` for a point-density heat layer (leaflet.heat, served
        locally), shown and toggleable.
    view : (west, south, east, north), optional
        The selection to frame (a community): default the street.
    """
    fmap = base_map(layers, basemap, lang, view)
    add_street_layers(fmap, layers, lang, styles=MUTED_STYLES)
    values = pd.to_numeric(grids[column], errors="coerce")
    shown = grids.assign(
        value_text=values.map(lambda v: "—" if v != v else f"{v:,.1f} {unit}"),
        per_100_text=grids["members_per_100_households"].map(
            lambda v: "—" if v != v else f"{v:,.1f}"
        ),
    )
    classes = np.asarray(classification.classes)
    colours = _class_colours(classification.k)
    entries = []
    for k, (name, colour) in enumerate(zip(classification.labels(unit), colours, strict=True)):
        rows = shown[classes == k]
        style = LayerStyle(f"class_{k}", colour, 0.7, 1.0)
        geojson_layer(rows, f"{name} ({len(rows)})", style, density_fields(lang)).add_to(fmap)
        entries.append((colour, colour, name, False))
    missing = shown[classes < 0]
    if len(missing):
        name = text("无数据(无住户)", lang)
        geojson_layer(
            missing, f"{name} ({len(missing)})", NO_DATA_STYLE, density_fields(lang)
        ).add_to(fmap)
        entries.append(legend_entry(NO_DATA_STYLE, name))
    if heat is not None and len(heat):
        OfflineHeatMap(
            np.asarray(heat, dtype=float).round(BROWSER_DECIMALS).tolist(),
            name=text("党员分布热力", lang),
            show=True,
            radius=18,
            blur=14,
            min_opacity=0.3,
        ).add_to(fmap)
    add_layer_control(fmap, lang)
    Legend(title, entries).add_to(fmap)
    return fmap
