"""Folium map builders: layers, legends, escaped pop-ups, base maps — usable without the app.

Maps work with no internet at all: :class:`OfflineMap` loads Leaflet from the app's own static
folder (``static/vendor``, served by Streamlit at :data:`gridmap.settings.STATIC_URL`), never from
a CDN, and the default base map is "none". Every string shown in a pop-up or tooltip is
HTML-escaped here, so a name such as ``<script>…`` is shown, not run.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement, Template

from gridmap import settings
from gridmap.labels import Language, label
from gridmap.repository import StreetLayers

LEAFLET_VERSION = "1.9.4"
#: Coordinates sent to the browser keep 6 decimals (≈ 0.1 m): smaller pages, no visible change.
BROWSER_DECIMALS = 6


class OfflineMap(folium.Map):
    """A folium map whose Leaflet JS/CSS come from the app's own static folder."""

    default_js: ClassVar[list[tuple[str, str]]] = [
        ("leaflet", f"{settings.STATIC_URL}/leaflet-{LEAFLET_VERSION}/leaflet.js")
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("leaflet_css", f"{settings.STATIC_URL}/leaflet-{LEAFLET_VERSION}/leaflet.css"),
    ]


# --- base maps --------------------------------------------------------------------------------

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


# --- GeoJSON for the browser ------------------------------------------------------------------


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


# --- layer styles and legend ------------------------------------------------------------------


@dataclass(frozen=True)
class LayerStyle:
    """How one layer is drawn, and how it appears in the legend."""

    key: str
    colour: str
    fill_opacity: float
    weight: float
    dash: str | None = None

    def style(self, _feature: dict | None = None) -> dict:
        """The Leaflet path options of this layer."""
        return {
            "color": self.colour,
            "weight": self.weight,
            "fillColor": self.colour,
            "fillOpacity": self.fill_opacity,
            "dashArray": self.dash,
        }


STYLES: dict[str, LayerStyle] = {
    "street": LayerStyle("street", "#7a0c0c", 0.0, 3.0),
    "community": LayerStyle("community", "#c8161d", 0.04, 2.5),
    "grid": LayerStyle("grid", "#1f6fb2", 0.08, 1.2, dash="4 3"),
    "building": LayerStyle("building", "#6b6b6b", 0.55, 0.6),
    "service_station": LayerStyle("service_station", "#e08a00", 0.9, 1.5),
}

LEGEND_TEMPLATE = """
{% macro html(this, kwargs) %}
<div class="gridmap-legend" style="position:absolute; z-index:9999; bottom:44px; left:12px;
  background:rgba(255,255,255,.92); padding:8px 10px; border:1px solid #999; border-radius:4px;
  font:13px/1.5 'Noto Sans CJK SC','Microsoft YaHei',sans-serif;">
  <div style="font-weight:600; margin-bottom:4px;">{{ this.title }}</div>
  {% for colour, fill, text, round in this.entries %}
  <div><span style="display:inline-block; width:14px; height:14px; margin-right:6px;
    vertical-align:middle; border:2px solid {{ colour }}; background:{{ fill }};
    {% if round %}border-radius:50%;{% endif %}"></span>{{ text }}</div>
  {% endfor %}
</div>
{% endmacro %}
"""


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


class Legend(MacroElement):
    """A fixed legend in the map corner: one swatch per layer, text escaped."""

    def __init__(self, title: str, entries: Sequence[tuple[str, str, str, bool]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.title = html.escape(title)
        self.entries = [(c, f, html.escape(t), r) for c, f, t, r in entries]
        self._template = Template(LEGEND_TEMPLATE)


def legend_entry(style: LayerStyle, text: str, round_: bool = False) -> tuple[str, str, str, bool]:
    """One legend swatch drawn like the layer: (outline colour, fill, text, round)."""
    fill = style.colour if style.fill_opacity > 0.3 else "transparent"
    return (style.colour, fill, text, round_)


def legend_for(
    keys: Sequence[str],
    lang: Language = "zh",
    extra: Sequence[tuple[str, str, str, bool]] = (),
) -> Legend:
    """The legend of the given base layers, in their drawing colours, plus ``extra`` entries."""
    entries = [legend_entry(STYLES[k], label(k, lang), k == "service_station") for k in keys]
    return Legend("图例" if lang == "zh" else "Legend", [*entries, *extra])


# --- the street map ---------------------------------------------------------------------------


def _geojson_layer(
    frame: gpd.GeoDataFrame,
    name: str,
    style: LayerStyle,
    fields: dict[str, str],
    show: bool = True,
    marker: folium.CircleMarker | None = None,
) -> folium.FeatureGroup:
    """One toggleable layer: features with a tooltip and an escaped pop-up.

    Pop-ups are GeoJSON pop-ups built by Leaflet itself: folium's HTML pop-ups need jQuery,
    which the offline map does not load.
    """
    group = folium.FeatureGroup(name=name, show=show)
    if frame.empty:
        return group
    data = browser_geojson(frame, list(fields))
    aliases = [fields[f] for f in fields]
    folium.GeoJson(
        data,
        name=name,
        style_function=style.style,
        highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.35},
        tooltip=folium.GeoJsonTooltip(fields=list(fields)[:2], aliases=aliases[:2]),
        popup=folium.GeoJsonPopup(fields=list(fields), aliases=aliases, max_width=320),
        smooth_factor=0.5,
        marker=marker,
    ).add_to(group)
    return group


def station_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a service station (column → label)."""
    zh = lang == "zh"
    return {
        "name": label("service_station", lang),
        "level_label": "级别" if zh else "Level",
        "opening_hours": "开放时间" if zh else "Opening hours",
    }


STATION_LEVELS = {
    "street": ("街道党群服务中心", "Street centre"),
    "community": ("社区党群服务站", "Community station"),
    "compound": ("小区党群服务点", "Compound point"),
}


def _station_layer(stations: gpd.GeoDataFrame, lang: Language) -> folium.FeatureGroup:
    """Stations as circle markers from one GeoJSON layer (no per-marker elements)."""
    shown = stations.assign(
        level_label=stations["level"].map(
            lambda v: STATION_LEVELS.get(v, (v, v))[0 if lang == "zh" else 1]
        )
    )
    marker = folium.CircleMarker(radius=7, fill=True)
    return _geojson_layer(
        shown,
        label("service_station", lang),
        STYLES["service_station"],
        station_fields(lang),
        marker=marker,
    )


def grid_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a grid (column → label)."""
    zh = lang == "zh"
    return {
        "name": label("grid", lang),
        "code": label("code", lang),
        "community_name": label("community", lang),
        "leader_name": label("leader", lang),
        "branch_name": label("branch", lang),
        "households": "户数(户)" if zh else "Households",
        "buildings": "楼栋(栋)" if zh else "Buildings",
    }


def building_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a building (column → label)."""
    zh = lang == "zh"
    return {
        "name": label("building", lang),
        "code": label("code", lang),
        "households": "户数(户)" if zh else "Households",
        "residents": "人口(人)" if zh else "Residents",
        "leader_name": label("building_leader", lang),
    }


def community_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a community (column → label)."""
    return {"name": label("community", lang), "code": label("code", lang)}


def street_map(
    layers: StreetLayers,
    basemap: str = settings.DEFAULT_BASEMAP,
    lang: Language = "zh",
) -> folium.Map:
    """The street overview map: communities, grids, buildings and stations, each toggleable.

    Parameters
    ----------
    layers : StreetLayers
        From :func:`gridmap.repository.load_street_layers`, with the display columns added by
        :func:`gridmap.repository.load_street_layers` (``leader_name``, ``branch_name`` …).
    basemap : {"none", "osm", "tianditu"}
    lang : {"zh", "en"}

    Returns
    -------
    folium.Map
        With a layer control, a legend, and the view fitted to the street.
    """
    fmap = base_map(layers, basemap, lang)
    add_street_layers(fmap, layers, lang)
    folium.LayerControl(collapsed=False).add_to(fmap)
    legend_for(BASE_LAYERS, lang).add_to(fmap)
    return fmap


#: The street's own layers, drawn under every thematic map.
BASE_LAYERS: tuple[str, ...] = ("community", "grid", "building", "service_station")


def base_map(
    layers: StreetLayers, basemap: str = settings.DEFAULT_BASEMAP, lang: Language = "zh"
) -> folium.Map:
    """An empty offline map fitted to the street, with a base map and a metric scale."""
    fmap = OfflineMap(location=_centre(layers), zoom_start=15, tiles=None)
    add_basemap(fmap, basemap, lang)
    MetricScale().add_to(fmap)
    bounds = _bounds(layers)
    if bounds is not None:
        fmap.fit_bounds(bounds)
    return fmap


def add_street_layers(
    fmap: folium.Map,
    layers: StreetLayers,
    lang: Language = "zh",
    styles: dict[str, LayerStyle] | None = None,
) -> None:
    """Add the communities, grids, buildings and stations as toggleable layers."""
    styles = {**STYLES, **(styles or {})}
    fields = {
        "community": community_fields(lang),
        "grid": grid_fields(lang),
        "building": building_fields(lang),
    }
    frames = {
        "community": layers.communities,
        "grid": layers.grids,
        "building": layers.buildings,
    }
    for key, frame in frames.items():
        _geojson_layer(frame, label(key, lang), styles[key], fields[key]).add_to(fmap)
    _station_layer(layers.stations, lang).add_to(fmap)


def _bounds(layers: StreetLayers) -> list[list[float]] | None:
    frame = layers.communities if not layers.communities.empty else layers.buildings
    if frame.empty:
        return None
    minx, miny, maxx, maxy = frame.total_bounds
    return [[miny, minx], [maxy, maxx]]


def _centre(layers: StreetLayers) -> tuple[float, float]:
    bounds = _bounds(layers)
    if bounds is None:  # an empty database: show 十堰市张湾区
        return (32.635, 110.78)
    (south, west), (north, east) = bounds
    return ((south + north) / 2, (west + east) / 2)


# --- the coverage map -------------------------------------------------------------------------

#: The street's layers drawn quietly under the problems.
MUTED_STYLES: dict[str, LayerStyle] = {
    "community": LayerStyle("community", "#7a0c0c", 0.0, 2.0),
    "grid": LayerStyle("grid", "#5b7fa6", 0.0, 1.0, dash="4 3"),
    "building": LayerStyle("building", "#9a9a9a", 0.35, 0.4),
}
FOCUS_STYLE = LayerStyle("focus", "#000000", 0.0, 4.0, dash="8 6")
#: Problems drawn as lines (coverage edges) get a heavier stroke.
LINE_KINDS = frozenset({"invalid_coverage"})


def problem_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a problem (column → label)."""
    return {
        "kind_label": label("label", lang),
        "detail": label("detail", lang),
        "grid_code": label("grid_code", lang),
        "building_code": label("building_code", lang),
    }


def coverage_map(
    layers: StreetLayers,
    problems: gpd.GeoDataFrame,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
    focus: shapely.Geometry | None = None,
) -> folium.Map:
    """The coverage map: the street quietly underneath, one toggleable layer per problem kind.

    Parameters
    ----------
    layers : StreetLayers
    problems : GeoDataFrame
        :attr:`gridmap.coverage.CoverageReport.problems`, possibly filtered, in EPSG:4326.
    lang, basemap
        As for :func:`street_map`.
    focus : shapely geometry, optional
        A problem to centre on: the map is fitted to it and it is outlined in black.

    Returns
    -------
    folium.Map
        Layer names carry the count (``网格重叠 (2)``); the legend lists only the kinds shown.
    """
    from gridmap.coverage import PROBLEM_KINDS

    fmap = base_map(layers, basemap, lang)
    add_street_layers(fmap, layers, lang, styles=MUTED_STYLES)
    entries = []
    for kind, (zh, en, colour) in PROBLEM_KINDS.items():
        rows = problems[problems["kind"] == kind]
        if rows.empty:
            continue
        name = zh if lang == "zh" else en
        weight = 4.0 if kind in LINE_KINDS else 2.0
        style = LayerStyle(kind, colour, 0.45, weight)
        shown = rows.assign(kind_label=name)
        _geojson_layer(shown, f"{name} ({len(rows)})", style, problem_fields(lang)).add_to(fmap)
        entries.append(legend_entry(style, name))
    if focus is not None and not focus.is_empty:
        _add_focus(fmap, focus, lang)
    folium.LayerControl(collapsed=False).add_to(fmap)
    legend_for(("community", "grid", "building"), lang, extra=entries).add_to(fmap)
    return fmap


def _add_focus(fmap: folium.Map, focus: shapely.Geometry, lang: Language) -> None:
    """Outline the chosen problem and fit the view to it (at least ~150 m across)."""
    outline = gpd.GeoDataFrame(
        {"what": ["所选问题" if lang == "zh" else "Selected problem"]},
        geometry=[focus],
        crs=settings.STORAGE_SRID,
    )
    _geojson_layer(outline, outline["what"].iloc[0], FOCUS_STYLE, {"what": ""}).add_to(fmap)
    minx, miny, maxx, maxy = focus.bounds
    pad = 0.0008  # degrees ≈ 80 m: a building or a gap is seen with its neighbours
    fmap.fit_bounds([[miny - pad, minx - pad], [maxy + pad, maxx + pad]])
