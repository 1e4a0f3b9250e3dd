"""The map frame: an empty offline map fitted to the street, its base map and scale bar.

:func:`base_map` starts every street map: an :class:`~gridmap.maps.offline.OfflineMap` centred
on and fitted to the street (:func:`street_bounds`, :func:`street_centre`), the chosen base map
(:func:`add_basemap`: none, OpenStreetMap or 天地图) and a metric :class:`MetricScale`.
"""

from __future__ import annotations

import folium
from branca.element import MacroElement, Template

from gridmap import settings
from gridmap.labels import Language, label
from gridmap.maps.offline import OfflineMap
from gridmap.repository import StreetLayers

TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


def add_basemap(fmap: folium.Map, basemap: str, lang: Language = "zh") -> None:
    """Add the chosen base map: ``"none"`` (offline), ``"osm"`` or ``"tianditu"``.

    天地图 serves CGCS2000 tiles that line up with WGS 84 data at map scale; it needs
    :data:`gridmap.settings.TIANDITU_KEY`.

    Raises
    ------
    ValueError
        For an unknown base map, or 天地图 without a key.
    """
    if basemap == "none":
        return
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name=label("basemap_osm", lang), control=False).add_to(
            fmap
        )
        return
    if basemap == "tianditu":
        if not settings.TIANDITU_KEY:
            raise ValueError("天地图需要密钥 / Tianditu needs a key: set GRIDMAP_TIANDITU_KEY")
        for layer in ("vec", "cva"):  # vector base + Chinese annotation
            folium.TileLayer(
                tiles=TIANDITU_URL.format(s="{s}", layer=layer, key=settings.TIANDITU_KEY),
                attr="© 天地图 Tianditu",
                subdomains="01234567",
                name=label("basemap_tianditu", lang),
                control=False,
                max_zoom=18,
            ).add_to(fmap)
        return
    raise ValueError(f"unknown base map {basemap!r}; choose one of {settings.BASEMAPS}")


class MetricScale(MacroElement):
    """A scale bar in metres only (Leaflet's default adds feet and miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true, maxWidth: 160})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


def base_map(
    layers: StreetLayers, basemap: str = settings.DEFAULT_BASEMAP, lang: Language = "zh"
) -> folium.Map:
    """An empty offline map fitted to the street, with a base map and a metric scale."""
    fmap = OfflineMap(location=street_centre(layers), zoom_start=15, tiles=None)
    add_basemap(fmap, basemap, lang)
    MetricScale().add_to(fmap)
    bounds = street_bounds(layers)
    if bounds is not None:
        fmap.fit_bounds(bounds)
    return fmap


def street_bounds(layers: StreetLayers) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the communities (else buildings); None if empty."""
    frame = layers.communities if not layers.communities.empty else layers.buildings
    if frame.empty:
        return None
    minx, miny, maxx, maxy = frame.total_bounds
    return [[miny, minx], [maxy, maxx]]


def street_centre(layers: StreetLayers) -> tuple[float, float]:
    """The (lat, lon) centre of :func:`street_bounds`; 十堰市张湾区 for an empty street."""
    bounds = street_bounds(layers)
    if bounds is None:  # an empty database: show 十堰市张湾区
        return (32.635, 110.78)
    (south, west), (north, east) = bounds
    return ((south + north) / 2, (west + east) / 2)
