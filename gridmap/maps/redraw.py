"""The redraw map (网格调整): a plan's grids and buildings coloured by grid, with drawing tools."""

from __future__ import annotations

import folium
import geopandas as gpd
from branca.element import MacroElement, Template

from gridmap import settings
from gridmap.i18n import text
from gridmap.labels import Language, label
from gridmap.maps.base import (
    MapLabels,
    MetricScale,
    add_basemap,
    add_layer_control,
    frame_map,
    label_points,
)
from gridmap.maps.geojson import browser_geojson
from gridmap.maps.layers import community_fields, geojson_layer
from gridmap.maps.offline import OfflineDraw, OfflineMap
from gridmap.maps.style import STYLES, LayerStyle, Legend, legend_entry

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


class DrawWordsZh(MacroElement):
    """The drawing toolbar (Leaflet.draw) in Chinese: its buttons, hints and actions
    (``L.drawLocal``, read when the toolbar is made)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (d) {
            if (!d) return;
            var t = d.draw.toolbar;
            t.actions.title = '取消绘制'; t.actions.text = '取消';
            t.finish.title = '完成绘制'; t.finish.text = '完成';
            t.undo.title = '删除最后一个点'; t.undo.text = '删除最后一点';
            t.buttons.polyline = '画分割线'; t.buttons.polygon = '画网格边界';
            t.buttons.rectangle = '画矩形'; t.buttons.circle = '画圆';
            t.buttons.marker = '放置标记'; t.buttons.circlemarker = '放置圆点';
            var h = d.draw.handlers;
            h.polygon.tooltip.start = '点击开始画边界。';
            h.polygon.tooltip.cont = '点击继续画边界。';
            h.polygon.tooltip.end = '点击第一个点结束。';
            h.polyline.error = '<strong>错误:</strong>边线不能相交!';
            h.polyline.tooltip.start = '点击开始画线。';
            h.polyline.tooltip.cont = '点击继续画线。';
            h.polyline.tooltip.end = '点击最后一个点结束。';
            h.rectangle.tooltip.start = '按住并拖动画矩形。';
            h.simpleshape.tooltip.end = '松开鼠标完成。';
            var e = d.edit.toolbar;
            e.actions.save.title = '保存修改'; e.actions.save.text = '保存';
            e.actions.cancel.title = '放弃修改'; e.actions.cancel.text = '取消';
            e.actions.clearAll.title = '清除全部'; e.actions.clearAll.text = '全部清除';
            e.buttons.edit = '编辑'; e.buttons.editDisabled = '没有可编辑的图形';
            e.buttons.remove = '删除'; e.buttons.removeDisabled = '没有可删除的图形';
            d.edit.handlers.remove.tooltip.text = '点击图形删除。';
        })(window.L && L.drawLocal);
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "DrawWordsZh"


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
    frame_map(fmap, (minx, miny, maxx, maxy))
    geojson_layer(
        community, label("community", lang), STYLES["community"], community_fields(lang)
    ).add_to(fmap)
    colour = {c: GRID_PALETTE[i % len(GRID_PALETTE)] for i, c in enumerate(grids["code"])}
    households = text("户数(户)", lang)
    shown = grids.assign(colour=grids["code"].map(colour))
    grid_name = text("方案网格", lang)
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
    each = text("按网格着色", lang)
    entries.append(("#1f77b4", "#1f77b4", f"{grid_name}({each})", False))
    homes_name = text("楼栋(同网格颜色)", lang)
    entries.append(legend_entry(STYLES["building"], homes_name))
    off = grids[grids["norm"] != "ok"]
    if len(off):
        off_name = text("户数超出规范", lang, context="maps.redraw: redraw map")
        geojson_layer(
            off, f"{off_name} ({len(off)})", OUT_OF_NORM_STYLE, {"name": off_name, "code": ""}
        ).add_to(fmap)
        entries.append(legend_entry(OUT_OF_NORM_STYLE, off_name))
    if active is not None and len(active):
        active_name = text("生效方案网格", lang)
        geojson_layer(
            active, active_name, ACTIVE_OUTLINE_STYLE, {"name": active_name, "code": ""}
        ).add_to(fmap)
        entries.append(legend_entry(ACTIVE_OUTLINE_STYLE, active_name))
    if drawing:
        if zh:
            DrawWordsZh().add_to(fmap)  # before the toolbar is made: it reads L.drawLocal
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
    add_layer_control(fmap, lang)
    Legend(text("图例", lang), entries).add_to(fmap)
    MapLabels([("gridmap-label-grid", 0, 22, label_points(grids))]).add_to(fmap)
    return fmap
