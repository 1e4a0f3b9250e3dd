"""The coverage map: the street quietly underneath, one layer per coverage problem kind."""

from __future__ import annotations

import folium
import geopandas as gpd
import shapely

from gridmap import settings
from gridmap.i18n import text
from gridmap.labels import Language, label
from gridmap.maps.base import Bounds, add_layer_control, base_map, frame_map
from gridmap.maps.layers import add_street_layers, geojson_layer
from gridmap.maps.style import MUTED_STYLES, LayerStyle, legend_entry, legend_for
from gridmap.repository import StreetLayers

FOCUS_STYLE = LayerStyle("focus", "#000000", 0.0, 4.0, dash="8 6")
#: Problems drawn as lines (coverage edges) get a heavier stroke.
LINE_KINDS = frozenset({"invalid_coverage"})


def problem_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a problem (column → label)."""
    return {
        "kind_label": label("label", lang),
        "detail" if lang == "zh" else "detail_en": label("detail", lang),
        "grid_code": label("grid_code", lang),
        "building_code": label("building_code", lang),
    }


def coverage_map(
    layers: StreetLayers,
    problems: gpd.GeoDataFrame,
    lang: Language = "zh",
    basemap: str = settings.DEFAULT_BASEMAP,
    focus: shapely.Geometry | None = None,
    view: Bounds | None = None,
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
    view : (west, south, east, north), optional
        The selection to frame (a community): default the street.

    Returns
    -------
    folium.Map
        Layer names carry the count (``网格重叠 (2)``); the legend lists only the kinds shown.
    """
    from gridmap.coverage import PROBLEM_KINDS

    fmap = base_map(layers, basemap, lang, view)
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
        geojson_layer(shown, f"{name} ({len(rows)})", style, problem_fields(lang)).add_to(fmap)
        entries.append(legend_entry(style, name))
    if focus is not None and not focus.is_empty:
        _add_focus(fmap, focus, lang)
    add_layer_control(fmap, lang)
    legend_for(("community", "grid", "building"), lang, extra=entries).add_to(fmap)
    return fmap


def _add_focus(fmap: folium.Map, focus: shapely.Geometry, lang: Language) -> None:
    """Outline the chosen problem and fit the view to it (at least ~150 m across)."""
    outline = gpd.GeoDataFrame(
        {"what": [text("所选问题", lang)]},
        geometry=[focus],
        crs=settings.STORAGE_SRID,
    )
    geojson_layer(outline, outline["what"].iloc[0], FOCUS_STYLE, {"what": ""}).add_to(fmap)
    # 0.0008° ≈ 80 m: a building or a gap is seen with its neighbours
    frame_map(fmap, focus.bounds, pad=0.0008)
