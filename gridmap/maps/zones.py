"""The member responsibility zone map (党员责任区): the buildings members look after."""

from __future__ import annotations

import folium
import geopandas as gpd

from gridmap import settings
from gridmap.i18n import text
from gridmap.labels import Language, label
from gridmap.maps.base import add_layer_control, base_map, selection_bounds
from gridmap.maps.layers import building_fields, community_fields, geojson_layer
from gridmap.maps.style import MUTED_STYLES, LayerStyle, Legend, legend_entry
from gridmap.repository import StreetLayers

ZONE_STYLE = LayerStyle("zone", "#d7301f", 0.6, 1.2)
STAFF_GRID_STYLE = LayerStyle("grid", "#1f6fb2", 0.04, 1.6, dash="4 3")


def staff_grid_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a grid with its staff (column → label): leader, workers, branch."""
    return {
        "name": label("grid", lang),
        "code": label("code", lang),
        "leader_name": label("leader", lang),
        "workers": text("网格员", lang, context="views.organisation"),
        "branch_name": label("branch", lang),
    }


def zone_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a building in a member's responsibility zone (column → label)."""
    return {
        "name": label("building", lang),
        "zone_members": text("责任党员", lang),
        "code": label("code", lang),
        "households": text("户数(户)", lang),
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
    fmap = base_map(layers, basemap, lang, selection_bounds(zoned))
    grids = layers.grids.assign(workers="") if grids is None else grids
    geojson_layer(layers.communities, label("community", lang), MUTED_STYLES["community"],
                   community_fields(lang)).add_to(fmap)  # fmt: skip
    geojson_layer(grids, label("grid", lang), STAFF_GRID_STYLE, staff_grid_fields(lang)).add_to(
        fmap
    )
    geojson_layer(layers.buildings, label("building", lang), MUTED_STYLES["building"],
                   building_fields(lang)).add_to(fmap)  # fmt: skip
    name = text("党员责任区", lang, context="maps.zones: zone map")
    geojson_layer(zoned, f"{name} ({len(zoned)})", ZONE_STYLE, zone_fields(lang)).add_to(fmap)
    add_layer_control(fmap, lang)
    entries = [
        legend_entry(STAFF_GRID_STYLE, label("grid", lang)),
        legend_entry(MUTED_STYLES["building"], label("building", lang)),
        legend_entry(ZONE_STYLE, text("党员责任区楼栋", lang)),
    ]
    Legend(text('图例', lang), [
        legend_entry(MUTED_STYLES["community"], label("community", lang)), *entries
    ]).add_to(fmap)  # fmt: skip
    return fmap
