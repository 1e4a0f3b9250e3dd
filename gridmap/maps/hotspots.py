"""The request hotspot maps: one layer per Gi* class (red hot, blue cold) and the open requests
(:func:`hotspot_map`); one layer per emerging hot spot class (:func:`emerging_map`)."""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd

from gridmap import settings
from gridmap.i18n import text
from gridmap.labels import Language, label
from gridmap.maps.base import Bounds, add_layer_control, base_map
from gridmap.maps.layers import add_street_layers, geojson_layer
from gridmap.maps.requests import OPEN_STYLE, OVERDUE_STYLE, request_fields
from gridmap.maps.style import MUTED_STYLES, LayerStyle, Legend, legend_entry
from gridmap.repository import StreetLayers


def hotspot_fields(lang: Language, unit: str) -> dict[str, str]:
    """Pop-up fields of a unit on the hotspot map (column → label)."""
    first = (
        label("grid", lang)
        if unit == "grid"
        else (text("六边形(H3)", lang, context="maps.hotspots: hotspot fields"))
    )
    return {
        "label": first,
        "cls_label": text("类别", lang, context="views.hotspots"),
        "requests": text("诉求(件)", lang),
        "value_text": text("数值", lang),
        "households": text("户数(户)", lang),
        "z_text": text("Gi* z 值", lang, context="maps.hotspots: hotspot fields"),
        "p_text": text("p 值", lang, context="maps.hotspots: hotspot fields"),
        "grid_code": label("grid_code", lang),
    }


def hotspot_map(
    layers: StreetLayers,
    cells: gpd.GeoDataFrame,
    unit: str,
    value_unit: str,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
    open_requests: gpd.GeoDataFrame | None = None,
    view: Bounds | None = None,
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
    view : (west, south, east, north), optional
        The selection to frame (a community): default the street.
    """
    from gridmap.hotspots import HOTSPOT_CLASSES

    zh = lang == "zh"
    fmap = base_map(layers, basemap, lang, view)
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
            geojson_layer(rows, layer_name, style, hotspot_fields(lang, unit)).add_to(fmap)
        entries.append((colour, colour, name, False))
    if open_requests is not None and len(open_requests):
        marker = folium.CircleMarker(radius=4, fill=True)
        fields = request_fields(lang)
        parts = (
            (True, OVERDUE_STYLE, text("已超期未办结", lang)),
            (False, OPEN_STYLE, text("未办结(未超期)", lang)),
        )
        for late, style, name in parts:
            rows = open_requests[open_requests["overdue"].to_numpy() == late]
            rows = rows.assign(
                state_text=name,
                received_text=pd.to_datetime(rows["received_at"]).dt.strftime("%Y-%m-%d %H:%M"),
                due_text=pd.to_datetime(rows["due_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            )
            layer = geojson_layer(rows, f"{name} ({len(rows)})", style, fields, marker=marker)
            layer.add_to(fmap)
            entries.append(legend_entry(style, name, round_=True))
    add_layer_control(fmap, lang)
    Legend(text("诉求热点 Gi*", lang), entries).add_to(fmap)
    return fmap


def emerging_fields(lang: Language, unit: str) -> dict[str, str]:
    """Pop-up fields of a unit on the emerging hot spot map (column → label)."""
    fields = hotspot_fields(lang, unit)
    return {
        "label": fields["label"],
        "cls_label": text("时空模式", lang),
        "requests": fields["requests"],
        "months_text": text("热点 / 冷点月数", lang),
        "trend_text": text("趋势(Mann–Kendall τ,p)", lang),
        "z_text": text("最近一月 z 值", lang),
        "grid_code": fields["grid_code"],
    }


def emerging_map(
    layers: StreetLayers,
    cells: gpd.GeoDataFrame,
    unit: str,
    months: int,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
    view: Bounds | None = None,
) -> folium.Map:
    """The emerging hot spot map: one layer per class present (reds hot, blues cold; units
    with no pattern faint), the legend listing the classes present.

    Parameters
    ----------
    cells : GeoDataFrame
        :attr:`gridmap.emerging.EmergingReport.cells`, EPSG:4326.
    unit : {"grid", "h3"}
    months : int
        How many months were analysed (for pop-ups).
    """
    from gridmap.emerging import EMERGING_CLASSES

    zh = lang == "zh"
    fmap = base_map(layers, basemap, lang, view)
    add_street_layers(fmap, layers, lang, styles=MUTED_STYLES)
    shown = cells.assign(
        months_text=cells["hot_months"].astype(str) + " / " + cells["cold_months"].astype(str)
        + f" / {months}",
        trend_text=cells["trend"].map(lambda v: f"{v:+.2f}")
        + cells["trend_p"].map(lambda v: f"(p = {v:.3f})"),
        z_text=cells["final_z"].map(lambda v: f"{v:.2f}"),
    )  # fmt: skip
    entries = []
    for key, (zh_name, en_name, colour) in EMERGING_CLASSES.items():
        rows = shown[shown["cls"] == key]
        if rows.empty:
            continue
        name = zh_name if zh else en_name
        quiet = key == "no_pattern"
        style = LayerStyle(key, "#bdbdbd" if quiet else colour, 0.08 if quiet else 0.7,
                           0.5 if quiet else 1.0)  # fmt: skip
        layer_name = f"{name} ({len(rows)})"
        geojson_layer(
            rows.assign(cls_label=name), layer_name, style, emerging_fields(lang, unit)
        ).add_to(fmap)
        entries.append((colour, colour, f"{name} {len(rows)}", False))
    add_layer_control(fmap, lang)
    Legend(text("时空热点趋势(近 {months} 个月)", lang, months=months), entries).add_to(fmap)
    return fmap
