"""The member responsibility zone map (党员责任区): the buildings members look after."""

from __future__ import annotations

import folium
import geopandas as gpd

from gridmap import settings
from gridmap.labels import Language, label
from gridmap.maps.base import add_layer_control, base_map, selection_bounds
from gridmap.maps.layers import building_fields, community_fields, geojson_layer
from gridmap.maps.style import MUTED_STYLES, LayerStyle, Legend, legend_entry
from gridmap.repository import StreetLayers

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
    fmap = base_map(layers, basemap, lang, selection_bounds(zoned))
    grids = layers.grids.assign(workers="") if grids is None else grids
    geojson_layer(layers.communities, label("community", lang), MUTED_STYLES["community"],
                   community_fields(lang)).add_to(fmap)  # fmt: skip
    geojson_layer(grids, label("grid", lang), STAFF_GRID_STYLE, staff_grid_fields(lang)).add_to(
        fmap
    )
    geojson_layer(layers.buildings, label("building", lang), MUTED_STYLES["building"],
                   building_fields(lang)).add_to(fmap)  # fmt: skip
    name = "党员责任区" if zh else "Member responsibility zones"
    geojson_layer(zoned, f"{name} ({len(zoned)})", ZONE_STYLE, zone_fields(lang)).add_to(fmap)
    add_layer_control(fmap, lang)
    entries = [
        legend_entry(STAFF_GRID_STYLE, label("grid", lang)),
        legend_entry(MUTED_STYLES["building"], label("building", lang)),
        legend_entry(ZONE_STYLE, "党员责任区楼栋" if zh else "Building in a member's zone"),
    ]
    Legend("图例" if zh else "Legend", [
        legend_entry(MUTED_STYLES["community"], label("community", lang)), *entries
    ]).add_to(fmap)  # fmt: skip
    return fmap
