"""Folium map builders: layers, legends, escaped pop-ups, base maps — usable without the app.

Maps work with no internet at all: :class:`OfflineMap` loads Leaflet from the app's own static
folder (``static/vendor``, served by Streamlit at :data:`gridmap.settings.STATIC_URL`), never from
a CDN, and the default base map is "none". Every string shown in a pop-up or tooltip is
HTML-escaped here, so a name such as ``<script>…`` is shown, not run.

The package's modules, each with one job (import the names below from ``gridmap.maps``):

- :mod:`~gridmap.maps.offline` — :class:`OfflineMap`, :class:`OfflineHeatMap`,
  :class:`OfflineDraw`: Leaflet and its plugins from the static folder;
- :mod:`~gridmap.maps.geojson` — :func:`browser_geojson`, :func:`escape_text`: the compact,
  escaped GeoJSON sent to the browser (and Chinese embedded as UTF-8);
- :mod:`~gridmap.maps.style` — :class:`LayerStyle`, :data:`STYLES`, :data:`MUTED_STYLES`,
  :class:`Legend`, :func:`legend_entry`, :func:`legend_for`;
- :mod:`~gridmap.maps.base` — :func:`base_map`, :func:`add_basemap`, :class:`MetricScale`,
  :class:`PhoneGestures`, :func:`frame_map` (:class:`MapView`), :func:`community_bounds`,
  :func:`grid_bounds`, :func:`add_labels` (:class:`MapLabels`), :func:`add_layer_control`,
  :func:`street_bounds`, :func:`street_centre`: the map frame;
- :mod:`~gridmap.maps.layers` — :func:`geojson_layer`, :func:`add_street_layers`,
  :func:`with_missing` and the pop-up fields of the street's layers;
- one module per map: :mod:`~gridmap.maps.street` (:func:`street_map`),
  :mod:`~gridmap.maps.zones` (:func:`zone_map`), :mod:`~gridmap.maps.coverage`
  (:func:`coverage_map`), :mod:`~gridmap.maps.density` (:func:`density_map`),
  :mod:`~gridmap.maps.requests` (:func:`request_map`, :func:`click_marker`, :class:`PlaceHere`),
  :mod:`~gridmap.maps.hotspots` (:func:`hotspot_map`, :func:`emerging_map`) and
  :mod:`~gridmap.maps.redraw` (:func:`redraw_map`, :class:`DrawWordsZh`).
"""

from __future__ import annotations

from gridmap.maps.base import (
    COMMUNITY_LABEL_ZOOMS,
    GRID_LABEL_ZOOMS,
    TIANDITU_URL,
    Bounds,
    LayerControlText,
    MapLabels,
    MapView,
    MetricScale,
    PhoneGestures,
    add_basemap,
    add_labels,
    add_layer_control,
    base_map,
    community_bounds,
    frame_map,
    grid_bounds,
    label_points,
    selection_bounds,
    street_bounds,
    street_centre,
)
from gridmap.maps.coverage import FOCUS_STYLE, LINE_KINDS, coverage_map, problem_fields
from gridmap.maps.density import DENSITY_COLOURS, NO_DATA_STYLE, density_fields, density_map
from gridmap.maps.geojson import BROWSER_DECIMALS, browser_geojson, escape_text
from gridmap.maps.hotspots import emerging_fields, emerging_map, hotspot_fields, hotspot_map
from gridmap.maps.layers import (
    STATION_LEVELS,
    add_street_layers,
    building_fields,
    building_popups,
    community_fields,
    geojson_layer,
    grid_fields,
    station_fields,
    with_missing,
)
from gridmap.maps.offline import (
    LEAFLET_DRAW_VERSION,
    LEAFLET_VERSION,
    OfflineDraw,
    OfflineHeatMap,
    OfflineMap,
)
from gridmap.maps.redraw import (
    ACTIVE_OUTLINE_STYLE,
    GRID_PALETTE,
    OUT_OF_NORM_STYLE,
    DrawWordsZh,
    redraw_map,
)
from gridmap.maps.requests import (
    CLICKED_STYLE,
    OPEN_STYLE,
    OVERDUE_STYLE,
    SELECTED_STYLE,
    PlaceHere,
    click_marker,
    request_fields,
    request_map,
)
from gridmap.maps.street import BASE_LAYERS, street_map
from gridmap.maps.style import (
    LEGEND_TEMPLATE,
    MUTED_STYLES,
    STYLES,
    LayerStyle,
    Legend,
    legend_entry,
    legend_for,
)
from gridmap.maps.zones import (
    STAFF_GRID_STYLE,
    ZONE_STYLE,
    staff_grid_fields,
    zone_fields,
    zone_map,
)

__all__ = [
    "ACTIVE_OUTLINE_STYLE",
    "BASE_LAYERS",
    "BROWSER_DECIMALS",
    "CLICKED_STYLE",
    "COMMUNITY_LABEL_ZOOMS",
    "DENSITY_COLOURS",
    "FOCUS_STYLE",
    "GRID_LABEL_ZOOMS",
    "GRID_PALETTE",
    "LEAFLET_DRAW_VERSION",
    "LEAFLET_VERSION",
    "LEGEND_TEMPLATE",
    "LINE_KINDS",
    "MUTED_STYLES",
    "NO_DATA_STYLE",
    "OPEN_STYLE",
    "OUT_OF_NORM_STYLE",
    "OVERDUE_STYLE",
    "SELECTED_STYLE",
    "STAFF_GRID_STYLE",
    "STATION_LEVELS",
    "STYLES",
    "TIANDITU_URL",
    "ZONE_STYLE",
    "Bounds",
    "DrawWordsZh",
    "LayerControlText",
    "LayerStyle",
    "Legend",
    "MapLabels",
    "MapView",
    "MetricScale",
    "OfflineDraw",
    "OfflineHeatMap",
    "OfflineMap",
    "PhoneGestures",
    "PlaceHere",
    "add_basemap",
    "add_labels",
    "add_layer_control",
    "add_street_layers",
    "base_map",
    "browser_geojson",
    "building_fields",
    "building_popups",
    "click_marker",
    "community_bounds",
    "community_fields",
    "coverage_map",
    "density_fields",
    "density_map",
    "emerging_fields",
    "emerging_map",
    "escape_text",
    "frame_map",
    "geojson_layer",
    "grid_bounds",
    "grid_fields",
    "hotspot_fields",
    "hotspot_map",
    "label_points",
    "legend_entry",
    "legend_for",
    "problem_fields",
    "redraw_map",
    "request_fields",
    "request_map",
    "selection_bounds",
    "staff_grid_fields",
    "station_fields",
    "street_bounds",
    "street_centre",
    "street_map",
    "with_missing",
    "zone_fields",
    "zone_map",
]
