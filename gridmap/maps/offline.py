"""Leaflet and its plugins from the app's own static folder, never from a CDN.

:class:`OfflineMap` loads Leaflet from ``static/vendor`` (served by Streamlit at
:data:`gridmap.settings.STATIC_URL`); :class:`OfflineHeatMap` and :class:`OfflineDraw` do the
same for leaflet.heat and Leaflet.draw, so every map works with no internet at all.
"""

from __future__ import annotations

from typing import ClassVar

import folium
import folium.plugins

from gridmap import settings

LEAFLET_VERSION = "1.9.4"
LEAFLET_DRAW_VERSION = "1.0.4"


class OfflineMap(folium.Map):
    """A folium map whose Leaflet JS/CSS come from the app's own static folder."""

    default_js: ClassVar[list[tuple[str, str]]] = [
        ("leaflet", f"{settings.STATIC_URL}/leaflet-{LEAFLET_VERSION}/leaflet.js")
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("leaflet_css", f"{settings.STATIC_URL}/leaflet-{LEAFLET_VERSION}/leaflet.css"),
    ]


class OfflineHeatMap(folium.plugins.HeatMap):
    """folium's HeatMap with leaflet.heat 0.2.0 served by the app (its default is a CDN)."""

    default_js: ClassVar[list[tuple[str, str]]] = [
        ("leaflet-heat.js", f"{settings.STATIC_URL}/leaflet.heat-0.2.0/leaflet-heat.js")
    ]


class OfflineDraw(folium.plugins.Draw):
    """folium's Draw plugin with Leaflet.draw served by the app (static/vendor), not a CDN."""

    default_js: ClassVar[list[tuple[str, str]]] = [
        (
            "leaflet_draw_js",
            f"{settings.STATIC_URL}/leaflet-draw-{LEAFLET_DRAW_VERSION}/leaflet.draw.js",
        )
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        (
            "leaflet_draw_css",
            f"{settings.STATIC_URL}/leaflet-draw-{LEAFLET_DRAW_VERSION}/leaflet.draw.css",
        )
    ]
