"""The request-handling map (诉求办理): open and overdue requests over the street.

Also the request pop-up fields (:func:`request_fields`), the open / overdue styles, which the
hotspot map draws its open requests with, and :class:`PlaceHere`, the map's buttons that place a
new request where the user stands (the phone's location) or at the map's centre.
"""

from __future__ import annotations

import json

import folium
import geopandas as gpd
import shapely
from branca.element import MacroElement, Template

from gridmap import settings
from gridmap.i18n import pair, text
from gridmap.labels import Language, label
from gridmap.maps.base import Bounds, add_layer_control, base_map, frame_map
from gridmap.maps.geojson import browser_geojson
from gridmap.maps.layers import building_fields, community_fields, geojson_layer, grid_fields
from gridmap.maps.style import MUTED_STYLES, LayerStyle, legend_entry, legend_for
from gridmap.repository import StreetLayers


def request_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of an open request (column → label)."""
    return {
        "category": text("类别", lang),
        "state_text": text("状态", lang, context="maps.requests: request fields"),
        "code": label("code", lang),
        "received_text": text("受理时间", lang),
        "due_text": text("办结时限", lang),
    }


OVERDUE_STYLE = LayerStyle("overdue", "#7f0000", 0.9, 1.2)
OPEN_STYLE = LayerStyle("open", "#f28e00", 0.85, 1.0)


SELECTED_STYLE = LayerStyle("selected", "#000000", 0.0, 3.0)


class PlaceHere(MacroElement):
    """Two buttons on the map that place a new request as a click would: 我的位置 (the
    device's location, e.g. a grid worker's phone in the field: the map moves there) and 地图
    中心 (the centre of the map as the user has panned it). Either fires the map's ``click`` at
    that point, which the page takes like any click (:func:`click_marker`); a refused or
    unavailable location says so on the button."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .gridmap-place a { display:block; width:auto; min-width:30px; padding:0 8px;
          font:13px/30px 'Noto Sans CJK SC','Microsoft YaHei',sans-serif; text-align:left;
          white-space:nowrap; background:#fff; color:#1f5fbf; text-decoration:none; }
        .gridmap-place a + a { border-top:1px solid #ccc; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var words = {{ this.words_json }};
            function place(latlng) { map.fire('click', {latlng: latlng}); }
            var control = L.control({position: 'topleft'});
            control.onAdd = function () {
                var box = L.DomUtil.create('div', 'leaflet-bar gridmap-place');
                var here = L.DomUtil.create('a', 'gridmap-place-here', box);
                here.href = '#'; here.textContent = words.here; here.title = words.here_help;
                var centre = L.DomUtil.create('a', 'gridmap-place-centre', box);
                centre.href = '#'; centre.textContent = words.centre;
                centre.title = words.centre_help;
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.on(centre, 'click', function (e) {
                    L.DomEvent.preventDefault(e); place(map.getCenter());
                });
                L.DomEvent.on(here, 'click', function (e) {
                    L.DomEvent.preventDefault(e);
                    here.textContent = words.finding;
                    map.once('locationfound', function (found) {
                        here.textContent = words.here; place(found.latlng);
                    });
                    map.once('locationerror', function () {
                        here.textContent = words.no_location;
                    });
                    map.locate({setView: true, maxZoom: 18, timeout: 10000});
                });
                return box;
            };
            control.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, lang: Language = "zh") -> None:
        super().__init__()
        self._name = "PlaceHere"
        words = {
            "here": text("◎ 我的位置", lang),
            "here_help": text("在我当前所在位置登记新诉求", lang),
            "centre": text("✚ 地图中心", lang),
            "centre_help": text("在地图中心登记新诉求", lang),
            "finding": text("正在定位…", lang),
            "no_location": text("无法定位,请拖动地图", lang),
        }
        self.words_json = json.dumps(words, ensure_ascii=False).replace("<", "\\u003c")


#: Where the user clicked to place a new request: a dashed blue ring.
CLICKED_STYLE = LayerStyle("clicked", "#1f5fbf", 0.25, 2.5, dash="4 3")


def request_map(
    layers: StreetLayers,
    requests: gpd.GeoDataFrame,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
    selected: shapely.Point | None = None,
    view: Bounds | None = None,
    placing: bool = False,
) -> folium.Map:
    """The 诉求办理 map: the street quietly underneath, open requests on time and overdue as two
    toggleable point layers (names carry the count), and the chosen request ringed.

    Parameters
    ----------
    layers : StreetLayers
    requests : GeoDataFrame
        Points with a boolean ``overdue`` and the text columns of :func:`request_fields`
        (:func:`gridmap.requests.map_frame` makes them).
    lang, basemap
        As for :func:`street_map`.
    selected : shapely Point, optional
        The request shown in the detail view: ringed in black, and the map centred on it.
    view : (west, south, east, north), optional
        The selection to frame when no request is chosen (the user's grid): default the street.
    placing : bool
        Add :class:`PlaceHere`, the buttons that place a new request where the user is or at
        the map's centre (for users who may log requests).

    The legend also shows the ring of :func:`click_marker` (新诉求位置), which the page adds
    without redrawing the map (so a click keeps the user's zoom).
    """
    zh = lang == "zh"
    fmap = base_map(layers, basemap, lang, view)
    # The street underneath with tooltips only: a pop-up would swallow the click that places a
    # new request (Leaflet stops a click that opens a pop-up from reaching the map).
    under = {
        "community": (layers.communities, community_fields(lang)),
        "grid": (layers.grids, grid_fields(lang)),
        "building": (layers.buildings, building_fields(lang)),
    }
    for key, (frame, fields) in under.items():
        group = folium.FeatureGroup(name=label(key, lang), show=True)
        if not frame.empty:
            tips = list(fields)[:2]
            folium.GeoJson(
                browser_geojson(frame, tips),
                style_function=MUTED_STYLES[key].style,
                tooltip=folium.GeoJsonTooltip(fields=tips, aliases=[fields[f] for f in tips]),
                smooth_factor=0.5,
            ).add_to(group)
        group.add_to(fmap)
    entries = []
    shown = requests[~requests.geometry.is_empty & requests.geometry.notna()]
    for overdue, style, (zh_name, en_name) in (
        (False, OPEN_STYLE, pair("在办诉求", "maps.requests: request map")),
        (True, OVERDUE_STYLE, pair("超期诉求")),
    ):
        rows = shown[shown["overdue"] == overdue]
        name = zh_name if zh else en_name
        marker = folium.CircleMarker(radius=6 if overdue else 5, fill=True)
        geojson_layer(rows, f"{name} ({len(rows)})", style, request_fields(lang), marker=marker
                       ).add_to(fmap)  # fmt: skip
        entries.append(legend_entry(style, name, round_=True))
    if selected is not None and not selected.is_empty:
        ring = gpd.GeoDataFrame(
            {"what": [text("所选诉求", lang)]},
            geometry=[selected],
            crs=settings.STORAGE_SRID,
        )
        marker = folium.CircleMarker(radius=12, fill=False)
        geojson_layer(ring, ring["what"].iloc[0], SELECTED_STYLE, {"what": ""}, marker=marker
                       ).add_to(fmap)  # fmt: skip
        frame_map(fmap, selected.bounds, pad=0.002)
    entries.append(legend_entry(CLICKED_STYLE, _click_name(lang), round_=True))
    if placing:
        PlaceHere(lang).add_to(fmap)
    add_layer_control(fmap, lang)
    legend_for(("community", "grid", "building"), lang, extra=entries).add_to(fmap)
    return fmap


def _click_name(lang: Language) -> str:
    return text("新诉求位置", lang)


def click_marker(point: shapely.Point | None, lang: Language = "zh") -> folium.FeatureGroup:
    """Where the user clicked to place a new request (EPSG:4326 lon/lat): a dashed blue ring,
    as a layer the page hands to ``st_folium(feature_group_to_add=…)`` so that the map is not
    redrawn (the zoom stays). Empty when there is no point."""
    group = folium.FeatureGroup(name=_click_name(lang), control=False)
    if point is not None and not point.is_empty:
        style = CLICKED_STYLE.style()
        folium.CircleMarker(
            location=[point.y, point.x],
            radius=9,
            color=style["color"],
            weight=style["weight"],
            dash_array=CLICKED_STYLE.dash,
            fill=True,
            fill_opacity=CLICKED_STYLE.fill_opacity,
            interactive=False,
        ).add_to(group)
    return group
