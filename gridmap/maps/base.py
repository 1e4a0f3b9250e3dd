"""The map frame: an offline map framed on its data, with base map, scale bar and labels.

:func:`base_map` starts every street map: an :class:`~gridmap.maps.offline.OfflineMap` framed
on the street or on the selection (:func:`frame_map`, :class:`MapView`: also when the map is
first drawn in a hidden tab), the chosen base map (:func:`add_basemap`: none, OpenStreetMap or
天地图), a metric :class:`MetricScale` and community and grid names that follow the zoom
(:class:`MapLabels`). :func:`add_layer_control` adds the folded, localised layer list.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement, Template

from gridmap import settings
from gridmap.i18n import text
from gridmap.labels import Language, label
from gridmap.maps.offline import OfflineMap
from gridmap.repository import StreetLayers

#: (west, south, east, north) in degrees (EPSG:4326), as ``GeoDataFrame.total_bounds``.
Bounds = tuple[float, float, float, float]

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


class PhoneGestures(MacroElement):
    """On a touch phone, one finger scrolls the page and two move or zoom the map (Leaflet
    would otherwise catch every swipe over a map that fills the screen)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if (L.Browser.mobile && L.Browser.touch) {
            {{ this._parent.get_name() }}.dragging.disable();
        }
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "PhoneGestures"


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


def _script_json(value: object) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


class MapView(MacroElement):
    """Frames the map on ``bounds`` when it is drawn, and once more the first time its frame
    gets a size: a map drawn in a hidden tab (``st.tabs``) has none, and Leaflet would
    otherwise show it at world zoom."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var view = L.latLngBounds({{ this.bounds_json }});
            var box = map.getContainer();
            map.fitBounds(view);
            if (box.clientWidth > 0 || !window.ResizeObserver) return;
            var watch = new ResizeObserver(function () {
                if (box.clientWidth === 0) return;
                watch.disconnect();
                map.invalidateSize();
                map.fitBounds(view);
            });
            watch.observe(box);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, bounds: Bounds) -> None:
        super().__init__()
        self._name = "MapView"
        self.bounds = bounds

    @property
    def bounds_json(self) -> str:
        """``[[south, west], [north, east]]`` for ``L.latLngBounds``."""
        west, south, east, north = self.bounds
        return _script_json([[south, west], [north, east]])


def frame_map(fmap: folium.Map, bounds: Bounds | None, pad: float = 0.0) -> None:
    """Frame ``fmap`` on ``bounds`` (padded by ``pad`` degrees each side); the last call wins.

    Nothing changes for ``None`` or bounds with NaN (an empty selection).
    """
    if bounds is None or any(v != v for v in bounds):
        return
    west, south, east, north = (float(v) for v in bounds)
    padded = (west - pad, south - pad, east + pad, north + pad)
    view = getattr(fmap, "_gridmap_view", None)
    if view is None:
        view = MapView(padded)
        view.add_to(fmap)
        fmap._gridmap_view = view
    else:
        view.bounds = padded


def selection_bounds(frame: gpd.GeoDataFrame) -> Bounds | None:
    """The bounds of ``frame`` (EPSG:4326), None when it is empty."""
    if frame.empty:
        return None
    west, south, east, north = frame.total_bounds
    return (float(west), float(south), float(east), float(north))


def community_bounds(layers: StreetLayers, code: str | None) -> Bounds | None:
    """The bounds of community ``code`` (None for the whole street or an unknown code)."""
    if code is None or layers.communities.empty:
        return None
    return selection_bounds(layers.communities[layers.communities["code"] == code])


def grid_bounds(layers: StreetLayers, code: str, community: str | None = None) -> Bounds | None:
    """The bounds of grid ``code`` of ``layers`` (a link to a grid, ``?grid=CODE``).

    Parameters
    ----------
    layers : StreetLayers
        The street's layers, already cut to what the user may see.
    code : str
        The grid's code.
    community : str, optional
        The community chosen on the page: a grid of another community is not framed.

    Returns
    -------
    Bounds or None
        None for a grid not in ``layers`` (or not in ``community``).
    """
    grids = layers.grids
    if grids.empty:
        return None
    linked = grids[grids["code"] == code]
    if community is not None:
        ids = layers.communities.loc[layers.communities["code"] == community, "id"]
        linked = linked[linked["community_id"].isin(ids)]
    return selection_bounds(linked)


#: Zoom levels at which names are shown: communities when the street is seen whole, grids
#: from the zoom a community fills the map (the demo street fits at zoom 15 on a desktop).
COMMUNITY_LABEL_ZOOMS = (12, 15)
GRID_LABEL_ZOOMS = (16, 22)

LABEL_CSS = """
.gridmap-label { background: none; border: none; white-space: nowrap; pointer-events: none;
  transform: translate(-50%, -50%); font: 12px/1.2 'Noto Sans CJK SC','Microsoft YaHei',sans-serif;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
.gridmap-label-community { font-size: 14px; font-weight: 700; color: #7a0c0c; }
.gridmap-label-grid { color: #174f80; }
"""


class MapLabels(MacroElement):
    """Names drawn on the map at the zooms they are readable at: one group per kind, each
    ``(css class, lowest zoom, highest zoom, [(lat, lon, text), …])``; text escaped; the
    labels take no clicks."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            {{ this.groups_json }}.forEach(function (g) {
                var layer = L.layerGroup(g.items.map(function (it) {
                    return L.marker([it[0], it[1]], {
                        interactive: false, keyboard: false,
                        icon: L.divIcon({className: 'gridmap-label ' + g.cls, html: it[2],
                                         iconSize: null})
                    });
                }));
                function update() {
                    var z = map.getZoom();
                    if (z >= g.min && z <= g.max) { layer.addTo(map); } else { layer.remove(); }
                }
                map.on('zoomend', update);
                update();
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, groups: Sequence[tuple[str, int, int, Sequence[tuple[float, float, str]]]]
    ) -> None:
        super().__init__()
        self._name = "MapLabels"
        self.css = LABEL_CSS
        self.groups = [
            {
                "cls": cls,
                "min": low,
                "max": high,
                "items": [[round(y, 6), round(x, 6), html.escape(name)] for y, x, name in items],
            }
            for cls, low, high, items in groups
        ]

    @property
    def groups_json(self) -> str:
        """The label groups as script-safe JSON."""
        return _script_json(self.groups)


def label_points(frame: gpd.GeoDataFrame, column: str = "name") -> list[tuple[float, float, str]]:
    """``(lat, lon, text)`` at a point inside each feature (vectorised ``point_on_surface``)."""
    if frame.empty or column not in frame.columns:
        return []
    shown = frame[frame.geometry.notna() & frame[column].notna()]
    points = shapely.point_on_surface(shown.geometry.to_numpy())
    xs, ys = shapely.get_x(points), shapely.get_y(points)
    return [
        (float(y), float(x), str(name))
        for x, y, name in zip(xs, ys, shown[column], strict=True)
        if x == x  # an empty geometry has no point
    ]


def add_labels(fmap: folium.Map, layers: StreetLayers, view: Bounds | None = None) -> None:
    """Community names at street zoom and grid names from community zoom on; the grids of the
    communities a selection frames whole (``view``: one community) are named from street zoom."""
    grids = layers.grids
    early = np.zeros(len(grids), dtype=bool)
    if view is not None and not layers.communities.empty and "community_id" in grids.columns:
        west, south, east, north = view
        box = shapely.box(west, south, east, north)
        framed = layers.communities[shapely.covers(box, layers.communities.geometry.to_numpy())]
        early = grids["community_id"].isin(framed["id"]).to_numpy()
    low, high = GRID_LABEL_ZOOMS
    MapLabels(
        [
            ("gridmap-label-community", *COMMUNITY_LABEL_ZOOMS, label_points(layers.communities)),
            ("gridmap-label-grid", low, high, label_points(grids[~early])),
            ("gridmap-label-grid", COMMUNITY_LABEL_ZOOMS[1], high, label_points(grids[early])),
        ]
    ).add_to(fmap)


class LayerControlText(MacroElement):
    """The folded layer list's button titled in the UI language (Leaflet says "Layers")."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var box = {{ this.control.get_name() }}.getContainer();
            var toggle = box.querySelector('.leaflet-control-layers-toggle');
            if (toggle) { toggle.title = {{ this.title_json }};
                          toggle.setAttribute('aria-label', {{ this.title_json }}); }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, control: folium.LayerControl, title: str) -> None:
        super().__init__()
        self._name = "LayerControlText"
        self.control = control
        self.title_json = _script_json(title)


def add_layer_control(fmap: folium.Map, lang: Language = "zh") -> folium.LayerControl:
    """The layer list, folded into a button at the top right (opened by a click or hover) so
    that it covers no data; its button is titled 图层 / Layers."""
    control = folium.LayerControl(collapsed=True)
    control.add_to(fmap)
    LayerControlText(control, text("图层", lang, context="maps.base: add layer control")).add_to(
        fmap
    )
    return control


def base_map(
    layers: StreetLayers,
    basemap: str = settings.DEFAULT_BASEMAP,
    lang: Language = "zh",
    view: Bounds | None = None,
) -> folium.Map:
    """An offline map framed on ``view`` (default: the street), with a base map, a metric
    scale and the names of communities and grids (:func:`add_labels`)."""
    fmap = OfflineMap(location=street_centre(layers), zoom_start=15, tiles=None)
    add_basemap(fmap, basemap, lang)
    MetricScale().add_to(fmap)
    PhoneGestures().add_to(fmap)
    street = street_bounds(layers)
    if street is not None:
        (south, west), (north, east) = street
        frame_map(fmap, (west, south, east, north))
    frame_map(fmap, view, pad=0.0005)
    add_labels(fmap, layers, view)
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
