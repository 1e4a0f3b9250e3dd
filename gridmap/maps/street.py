"""The street overview map: communities, grids, buildings and stations, each toggleable."""

from __future__ import annotations

import folium

from gridmap import settings
from gridmap.labels import Language
from gridmap.maps.base import Bounds, add_layer_control, base_map
from gridmap.maps.layers import add_street_layers
from gridmap.maps.style import legend_for
from gridmap.repository import StreetLayers

#: The street's own layers, drawn under every thematic map.
BASE_LAYERS: tuple[str, ...] = ("community", "grid", "building", "service_station")


def street_map(
    layers: StreetLayers,
    basemap: str = settings.DEFAULT_BASEMAP,
    lang: Language = "zh",
    view: Bounds | None = None,
) -> folium.Map:
    """The street overview map: communities, grids, buildings and stations, each toggleable.

    Parameters
    ----------
    layers : StreetLayers
        From :func:`gridmap.repository.load_street_layers`, with the display columns added by
        :func:`gridmap.repository.load_street_layers` (``leader_name``, ``branch_name`` …).
    basemap : {"none", "osm", "tianditu"}
    lang : {"zh", "en"}
    view : (west, south, east, north), optional
        The selection to frame (a community): default the street.

    Returns
    -------
    folium.Map
        With a layer control, a legend, and the view fitted to the street.
    """
    fmap = base_map(layers, basemap, lang, view)
    add_street_layers(fmap, layers, lang)
    add_layer_control(fmap, lang)
    legend_for(BASE_LAYERS, lang).add_to(fmap)
    return fmap
