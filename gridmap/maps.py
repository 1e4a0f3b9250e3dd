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
import folium.plugins
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


def _embed_json_as_utf8() -> None:
    """Let folium write GeoJSON with Chinese as UTF-8 instead of ``\\uXXXX`` escapes.

    folium renders ``{{ this.data|tojson }}`` with Jinja's ``tojson``, which still escapes
    ``< > & '`` (safe inside ``<script>``); only the 6-byte escapes of non-ASCII text go. On the
    demo street this makes the overview page 6 % smaller (BENCHMARKS.md §4).
    """
    policies = folium.GeoJson._template.environment.policies
    policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}


_embed_json_as_utf8()


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
    # Short property keys (p0, p1 …): a key is sent once per feature, a label once per layer.
    keys = [f"p{i}" for i in range(len(fields))]
    short = frame.rename(columns=dict(zip(fields, keys, strict=True)))
    data = browser_geojson(short, keys)
    aliases = list(fields.values())
    folium.GeoJson(
        data,
        name=name,
        style_function=style.style,
        highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.35},
        tooltip=folium.GeoJsonTooltip(fields=keys[:2], aliases=aliases[:2]),
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, max_width=320),
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
    """Pop-up fields of a building (column → label).

    Kept to three: buildings are most of every map's payload (a street has thousands), and
    each extra field is sent once per building; codes and residents are in the tables.
    """
    zh = lang == "zh"
    return {
        "name": label("building", lang),
        "households": "户数(户)" if zh else "Households",
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


# --- member responsibility zones (党员责任区) --------------------------------------------------

ZONE_STYLE = LayerStyle("zone", "#d7301f", 0.6, 1.2)
STAFF_GRID_STYLE = LayerStyle("grid", "#1f6fb2", 0.04, 1.6, dash="4 3")


def staff_grid_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a grid with its staff (column → label): leader, workers, branch."""
    zh = lang == "zh"
    return {
        "name": label("grid", lang),
        "code": label("code", lang),
        "leader_name": label("leader", lang),
        "workers": "网格员" if zh else "Grid workers",
        "branch_name": label("branch", lang),
    }


def zone_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a building in a member's responsibility zone (column → label)."""
    zh = lang == "zh"
    return {
        "name": label("building", lang),
        "zone_members": "责任党员" if zh else "Members responsible",
        "code": label("code", lang),
        "households": "户数(户)" if zh else "Households",
        "leader_name": label("building_leader", lang),
    }


def zone_map(
    layers: StreetLayers,
    zoned: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame | None = None,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
) -> folium.Map:
    """Member responsibility zones: the buildings members look after, over the street.

    Parameters
    ----------
    layers : StreetLayers
    zoned : GeoDataFrame
        Buildings in a zone with ``zone_members`` (masked names) and the building columns of
        :func:`zone_fields`.
    grids : GeoDataFrame, optional
        Grids with a ``workers`` column (masked names); pop-ups then show the grid's leader,
        workers and branch. Default: ``layers.grids`` without workers.
    """
    zh = lang == "zh"
    fmap = base_map(layers, basemap, lang)
    grids = layers.grids.assign(workers="") if grids is None else grids
    _geojson_layer(layers.communities, label("community", lang), MUTED_STYLES["community"],
                   community_fields(lang)).add_to(fmap)  # fmt: skip
    _geojson_layer(grids, label("grid", lang), STAFF_GRID_STYLE, staff_grid_fields(lang)).add_to(
        fmap
    )
    _geojson_layer(layers.buildings, label("building", lang), MUTED_STYLES["building"],
                   building_fields(lang)).add_to(fmap)  # fmt: skip
    name = "党员责任区" if zh else "Member responsibility zones"
    _geojson_layer(zoned, f"{name} ({len(zoned)})", ZONE_STYLE, zone_fields(lang)).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    entries = [
        legend_entry(STAFF_GRID_STYLE, label("grid", lang)),
        legend_entry(MUTED_STYLES["building"], label("building", lang)),
        legend_entry(ZONE_STYLE, "党员责任区楼栋" if zh else "Building in a member's zone"),
    ]
    Legend("图例" if zh else "Legend", [
        legend_entry(MUTED_STYLES["community"], label("community", lang)), *entries
    ]).add_to(fmap)  # fmt: skip
    if not zoned.empty:
        minx, miny, maxx, maxy = zoned.total_bounds
        pad = 0.001
        fmap.fit_bounds([[miny - pad, minx - pad], [maxy + pad, maxx + pad]])
    return fmap


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


# --- member density and request hotspot maps --------------------------------------------------


class OfflineHeatMap(folium.plugins.HeatMap):
    """folium's HeatMap with leaflet.heat 0.2.0 served by the app (its default is a CDN)."""

    default_js: ClassVar[list[tuple[str, str]]] = [
        ("leaflet-heat.js", f"{settings.STATIC_URL}/leaflet.heat-0.2.0/leaflet-heat.js")
    ]


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
    zh = lang == "zh"
    return {
        "grid_name": label("grid", lang),
        "value_text": "数值" if zh else "Value",
        "community_name": label("community", lang),
        "grid_code": label("code", lang),
        "households": "户数(户)" if zh else "Households",
        "members": "党员(名)" if zh else "Members",
        "per_100_text": "每百户党员(名)" if zh else "Members per 100 households",
        "in_service_registered": "双报到在职党员(名)" if zh else "Registered in-service",
        "lost_contact": "失联党员(名)" if zh else "Lost contact",
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
    """
    fmap = base_map(layers, basemap, lang)
    add_street_layers(fmap, layers, lang, styles=MUTED_STYLES)
    zh = lang == "zh"
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
    for k, (text, colour) in enumerate(zip(classification.labels(unit), colours, strict=True)):
        rows = shown[classes == k]
        style = LayerStyle(f"class_{k}", colour, 0.7, 1.0)
        _geojson_layer(rows, f"{text} ({len(rows)})", style, density_fields(lang)).add_to(fmap)
        entries.append((colour, colour, text, False))
    missing = shown[classes < 0]
    if len(missing):
        name = "无数据(无住户)" if zh else "No data (no households)"
        _geojson_layer(
            missing, f"{name} ({len(missing)})", NO_DATA_STYLE, density_fields(lang)
        ).add_to(fmap)
        entries.append(legend_entry(NO_DATA_STYLE, name))
    if heat is not None and len(heat):
        OfflineHeatMap(
            np.asarray(heat, dtype=float).round(BROWSER_DECIMALS).tolist(),
            name="党员分布热力" if zh else "Member heat",
            show=True,
            radius=18,
            blur=14,
            min_opacity=0.3,
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    Legend(title, entries).add_to(fmap)
    return fmap


def hotspot_fields(lang: Language, unit: str) -> dict[str, str]:
    """Pop-up fields of a unit on the hotspot map (column → label)."""
    zh = lang == "zh"
    first = label("grid", lang) if unit == "grid" else ("六边形(H3)" if zh else "Hexagon (H3)")
    return {
        "label": first,
        "cls_label": "类别" if zh else "Class",
        "requests": "诉求(件)" if zh else "Requests",
        "value_text": "数值" if zh else "Value",
        "households": "户数(户)" if zh else "Households",
        "z_text": "Gi* z 值" if zh else "Gi* z-score",
        "p_text": "p 值" if zh else "p-value",
        "grid_code": label("grid_code", lang),
    }


def request_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of an open request (column → label)."""
    zh = lang == "zh"
    return {
        "category": "类别" if zh else "Category",
        "state_text": "状态" if zh else "State",
        "code": label("code", lang),
        "received_text": "受理时间" if zh else "Received",
        "due_text": "办结时限" if zh else "Due",
    }


OVERDUE_STYLE = LayerStyle("overdue", "#7f0000", 0.9, 1.2)
OPEN_STYLE = LayerStyle("open", "#f28e00", 0.85, 1.0)


def hotspot_map(
    layers: StreetLayers,
    cells: gpd.GeoDataFrame,
    unit: str,
    value_unit: str,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
    open_requests: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """The hotspot map: one layer per Gi* class (red hot, blue cold) and the open requests.

    Parameters
    ----------
    cells : GeoDataFrame
        :attr:`gridmap.hotspots.HotspotReport.cells`, EPSG:4326.
    unit : {"grid", "h3"}
    value_unit : str
        Unit of the analysed value (件, 件/百户 …) for pop-ups.
    open_requests : GeoDataFrame, optional
        :func:`gridmap.hotspots.open_requests`: overdue and open-in-time requests as two
        point layers.
    """
    from gridmap.hotspots import HOTSPOT_CLASSES

    zh = lang == "zh"
    fmap = base_map(layers, basemap, lang)
    add_street_layers(fmap, layers, lang, styles=MUTED_STYLES)
    shown = cells.assign(
        value_text=cells["value"].map(lambda v: f"{v:,.2f} {value_unit}"),
        z_text=cells["z_sim"]
        .where(cells["z_sim"].notna(), cells["z"])
        .map(lambda v: "—" if v != v else f"{v:.2f}"),
        p_text=cells["p"].map(lambda v: f"{v:.3f}"),
    )
    entries = []
    for key, (zh_name, en_name, colour) in HOTSPOT_CLASSES.items():
        name = zh_name if zh else en_name
        rows = shown[shown["cls"] == key].assign(cls_label=name)
        quiet = key == "not_significant"
        style = LayerStyle(key, colour, 0.12 if quiet else 0.65, 0.6 if quiet else 1.0)
        if len(rows):
            layer_name = f"{name} ({len(rows)})"
            _geojson_layer(rows, layer_name, style, hotspot_fields(lang, unit)).add_to(fmap)
        entries.append((colour, colour, name, False))
    if open_requests is not None and len(open_requests):
        marker = folium.CircleMarker(radius=4, fill=True)
        fields = request_fields(lang)
        parts = (
            (True, OVERDUE_STYLE, "已超期未办结" if zh else "Overdue"),
            (False, OPEN_STYLE, "未办结(未超期)" if zh else "Open, in time"),
        )
        for late, style, name in parts:
            rows = open_requests[open_requests["overdue"].to_numpy() == late]
            rows = rows.assign(
                state_text=name,
                received_text=pd.to_datetime(rows["received_at"]).dt.strftime("%Y-%m-%d %H:%M"),
                due_text=pd.to_datetime(rows["due_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            )
            layer = _geojson_layer(rows, f"{name} ({len(rows)})", style, fields, marker=marker)
            layer.add_to(fmap)
            entries.append(legend_entry(style, name, round_=True))
    folium.LayerControl(collapsed=False).add_to(fmap)
    Legend("诉求热点 Gi*" if zh else "Request hotspots (Gi*)", entries).add_to(fmap)
    return fmap


# --- the request-handling map (诉求办理) --------------------------------------------------------

SELECTED_STYLE = LayerStyle("selected", "#000000", 0.0, 3.0)


def request_map(
    layers: StreetLayers,
    requests: gpd.GeoDataFrame,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
    selected: shapely.Point | None = None,
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
    """
    zh = lang == "zh"
    fmap = base_map(layers, basemap, lang)
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
        (False, OPEN_STYLE, ("在办诉求", "Open requests")),
        (True, OVERDUE_STYLE, ("超期诉求", "Overdue requests")),
    ):
        rows = shown[shown["overdue"] == overdue]
        name = zh_name if zh else en_name
        marker = folium.CircleMarker(radius=6 if overdue else 5, fill=True)
        _geojson_layer(rows, f"{name} ({len(rows)})", style, request_fields(lang), marker=marker
                       ).add_to(fmap)  # fmt: skip
        entries.append(legend_entry(style, name, round_=True))
    if selected is not None and not selected.is_empty:
        ring = gpd.GeoDataFrame(
            {"what": ["所选诉求" if zh else "Selected request"]},
            geometry=[selected],
            crs=settings.STORAGE_SRID,
        )
        marker = folium.CircleMarker(radius=12, fill=False)
        _geojson_layer(ring, ring["what"].iloc[0], SELECTED_STYLE, {"what": ""}, marker=marker
                       ).add_to(fmap)  # fmt: skip
        fmap.location = [selected.y, selected.x]
        pad = 0.002
        fmap.fit_bounds(
            [[selected.y - pad, selected.x - pad], [selected.y + pad, selected.x + pad]]
        )
    folium.LayerControl(collapsed=False).add_to(fmap)
    legend_for(("community", "grid", "building"), lang, extra=entries).add_to(fmap)
    return fmap


# --- the redraw map (网格调整) ------------------------------------------------------------------

LEAFLET_DRAW_VERSION = "1.0.4"


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


#: Colours that tell neighbouring grids apart on the redraw map (cycled by grid).
GRID_PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
)  # fmt: skip
ACTIVE_OUTLINE_STYLE = LayerStyle("active_plan", "#000000", 0.0, 2.0, dash="6 4")
OUT_OF_NORM_STYLE = LayerStyle("out_of_norm", "#d62728", 0.0, 4.0, dash="2 4")


def _coloured_layer(
    frame: gpd.GeoDataFrame, name: str, fields: dict[str, str], fill: float, weight: float
) -> folium.FeatureGroup:
    """Features drawn in the colour held by their ``colour`` column, with tooltip and pop-up."""
    group = folium.FeatureGroup(name=name)
    if frame.empty:
        return group
    data = browser_geojson(frame, [*fields, "colour"])
    aliases = list(fields.values())
    folium.GeoJson(
        data,
        name=name,
        style_function=lambda f: {
            "color": f["properties"]["colour"],
            "weight": weight,
            "fillColor": f["properties"]["colour"],
            "fillOpacity": fill,
        },
        tooltip=folium.GeoJsonTooltip(fields=list(fields)[:3], aliases=aliases[:3]),
        popup=folium.GeoJsonPopup(fields=list(fields), aliases=aliases, max_width=320),
        smooth_factor=0.5,
    ).add_to(group)
    return group


def redraw_map(
    community: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    active: gpd.GeoDataFrame | None = None,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
    drawing: bool = True,
) -> folium.Map:
    """The map of 网格调整: a plan's grids and its buildings coloured by grid, the active plan's
    outlines beside them, grids out of the household norm outlined in red, and (when
    ``drawing``) the Leaflet.draw tools for a polygon or a split line.

    Parameters
    ----------
    community : GeoDataFrame
        One row (EPSG:4326).
    grids : GeoDataFrame
        ``code, name, households, norm`` (``"ok"``/``"small"``/``"large"``) and polygons.
    buildings : GeoDataFrame
        ``code, name, households, grid_code`` (None outside every grid) and polygons.
    active : GeoDataFrame, optional
        The active plan's grids (``code, name``), drawn as dashed outlines.
    """
    zh = lang == "zh"
    minx, miny, maxx, maxy = community.total_bounds
    fmap = OfflineMap(location=((miny + maxy) / 2, (minx + maxx) / 2), zoom_start=16, tiles=None)
    add_basemap(fmap, basemap, lang)
    MetricScale().add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    _geojson_layer(
        community, label("community", lang), STYLES["community"], community_fields(lang)
    ).add_to(fmap)
    colour = {c: GRID_PALETTE[i % len(GRID_PALETTE)] for i, c in enumerate(grids["code"])}
    households = "户数(户)" if zh else "Households"
    shown = grids.assign(colour=grids["code"].map(colour))
    grid_name = "方案网格" if zh else "Plan grids"
    fields = {"name": label("grid", lang), "code": label("code", lang), "households": households}
    _coloured_layer(shown, grid_name, fields, 0.12, 2.0).add_to(fmap)
    homes = buildings.assign(colour=buildings["grid_code"].map(colour).fillna("#444444"))
    fields = {
        "name": label("building", lang),
        "grid_code": label("grid_code", lang),
        "households": households,
        "code": label("code", lang),
    }
    _coloured_layer(homes, label("building", lang), fields, 0.6, 0.6).add_to(fmap)
    entries = [legend_entry(STYLES["community"], label("community", lang))]
    each = "按网格着色" if zh else "one colour each"
    entries.append(("#1f77b4", "#1f77b4", f"{grid_name}({each})", False))
    homes_name = "楼栋(同网格颜色)" if zh else "Buildings (grid colour)"
    entries.append(legend_entry(STYLES["building"], homes_name))
    off = grids[grids["norm"] != "ok"]
    if len(off):
        off_name = "户数超出规范" if zh else "Out of household norm"
        _geojson_layer(
            off, f"{off_name} ({len(off)})", OUT_OF_NORM_STYLE, {"name": off_name, "code": ""}
        ).add_to(fmap)
        entries.append(legend_entry(OUT_OF_NORM_STYLE, off_name))
    if active is not None and len(active):
        active_name = "生效方案网格" if zh else "Active plan grids"
        _geojson_layer(
            active, active_name, ACTIVE_OUTLINE_STYLE, {"name": active_name, "code": ""}
        ).add_to(fmap)
        entries.append(legend_entry(ACTIVE_OUTLINE_STYLE, active_name))
    if drawing:
        OfflineDraw(
            position="topleft",
            show_geometry_on_click=False,
            draw_options={
                "polyline": {"shapeOptions": {"color": "#000000"}},
                "polygon": {"allowIntersection": False},
                "rectangle": True,
                "circle": False,
                "circlemarker": False,
                "marker": False,
            },
            edit_options={"edit": False},
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    Legend("图例" if zh else "Legend", entries).add_to(fmap)
    return fmap
