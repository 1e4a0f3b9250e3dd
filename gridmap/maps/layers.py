"""Shared layer builders: toggleable GeoJSON layers with tooltips and escaped pop-ups.

:func:`geojson_layer` is the one layer every map draws with (short property keys, pop-ups built
by Leaflet itself); :func:`add_street_layers` adds the street's communities, grids, buildings and
stations; the ``*_fields`` functions name the pop-up fields of each layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import pandas as pd

from gridmap.i18n import pair, text
from gridmap.labels import Language, label, localise_redacted
from gridmap.maps.geojson import browser_geojson
from gridmap.maps.style import STYLES, LayerStyle
from gridmap.repository import StreetLayers


def geojson_layer(
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
    return {
        "name": label("service_station", lang),
        "level_label": text("级别", lang),
        "opening_hours": text("开放时间", lang),
    }


STATION_LEVELS = {
    "street": pair("街道党群服务中心"),
    "community": pair("社区党群服务站"),
    "compound": pair("小区党群服务点"),
}


def _station_layer(stations: gpd.GeoDataFrame, lang: Language) -> folium.FeatureGroup:
    """Stations as circle markers from one GeoJSON layer (no per-marker elements)."""
    shown = stations.assign(
        level_label=stations["level"].map(
            lambda v: STATION_LEVELS.get(v, (v, v))[0 if lang == "zh" else 1]
        )
    )
    marker = folium.CircleMarker(radius=7, fill=True)
    return geojson_layer(
        shown,
        label("service_station", lang),
        STYLES["service_station"],
        station_fields(lang),
        marker=marker,
    )


def grid_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a grid (column → label)."""
    return {
        "name": label("grid", lang),
        "code": label("code", lang),
        "community_name": label("community", lang),
        "leader_name": label("leader", lang),
        "branch_name": label("branch", lang),
        "households": text("户数(户)", lang),
        "buildings": text("楼栋(栋)", lang),
    }


def building_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a building (column → label).

    Kept to three: buildings are most of every map's payload (a street has thousands), and
    each extra field is sent once per building; codes and residents are in the tables.
    Estimated households read as such when the frame went through :func:`building_popups`.
    """
    return {
        "name": label("building", lang),
        "households": text("户数(户)", lang),
        "leader_name": label("building_leader", lang),
    }


def building_popups(buildings: gpd.GeoDataFrame, lang: Language) -> gpd.GeoDataFrame:
    """Buildings as their pop-ups show them: households estimated at import (the
    ``households_estimated`` flag) read "120(估算)" / "120 (estimated)", counts as they are.

    Returns a copy whose ``households`` column is display text; a frame without the flag is
    returned unchanged.
    """
    if buildings.empty or "households_estimated" not in buildings:
        return buildings
    flag = buildings["households_estimated"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    count = pd.to_numeric(buildings["households"], errors="coerce")
    shown = count.map(lambda v: "" if pd.isna(v) else f"{int(v)}")
    mark = text("(估算)", lang)  # what follows an estimated figure
    return buildings.assign(households=shown.where(~flag, shown + mark))


def community_fields(lang: Language) -> dict[str, str]:
    """Pop-up fields of a community (column → label)."""
    return {"name": label("community", lang), "code": label("code", lang)}


def with_missing(frame: pd.DataFrame, columns: Sequence[str], lang: Language) -> pd.DataFrame:
    """``frame`` with an empty value of ``columns`` shown as 未配备 (none): a leader or branch
    that does not exist reads differently from one hidden from the user (the role's
    :data:`gridmap.auth.REDACTED`)."""
    none = text("未配备", lang)
    present = [c for c in columns if c in frame.columns]
    if not present or frame.empty:
        return frame
    filled = {c: frame[c].where(frame[c].notna() & (frame[c] != ""), none) for c in present}
    shown = localise_redacted(pd.DataFrame(filled), lang)  # hidden: "(hidden)" in English
    return frame.assign(**{c: shown[c] for c in present})


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
        "grid": with_missing(layers.grids, ("leader_name", "branch_name"), lang),
        "building": with_missing(building_popups(layers.buildings, lang), ("leader_name",), lang),
    }
    for key, frame in frames.items():
        geojson_layer(frame, label(key, lang), styles[key], fields[key]).add_to(fmap)
    _station_layer(layers.stations, lang).add_to(fmap)
