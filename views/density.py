"""党员分布 — how Party members are spread: members per grid, per 100 households and per km², by
category, with a classed choropleth, an optional point-density heat layer, and the thinnest
grids listed first.

UI only: the analysis is :func:`gridmap.density.member_density`, the map
:func:`gridmap.maps.density_map`. Aggregates only, except the member list, which goes through
:func:`gridmap.density.member_roster` (names masked) and :func:`_roster_allowed`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridmap import settings
from gridmap.auth import scope_rows
from gridmap.density import (
    CATEGORY_LABELS,
    DENSITY_MEASURES,
    SCHEMES,
    DensityReport,
    classify,
    heat_points,
    member_density,
    member_roster,
)
from gridmap.i18n import pair, text
from gridmap.io import table_to_csv
from gridmap.labels import localise_redacted
from gridmap.maps import density_map
from gridmap.repository import read_table
from ui_common import (
    CACHE_TTL_S,
    ICON,
    community_picker,
    database_key,
    engine,
    map_view,
    page_title,
    personal_data,
    principal,
    relabel,
    sidebar,
    street_layers,
    t,
    unit,
)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def members_table(url: str) -> pd.DataFrame:
    """The ``member`` rows (no personal data: names live in ``person``), cached per database."""
    return scope_rows(engine(), read_table(engine(), "member"), "member", principal())


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="正在统计党员分布… / Counting Party members…")
def density_report(
    url: str, categories: tuple[str, ...], community_ids: tuple[int, ...] | None
) -> DensityReport:
    """Member density of the chosen categories and communities, cached per database."""
    layers = street_layers(url)
    return member_density(
        layers.grids, layers.buildings, members_table(url), categories, community_ids
    )


def _roster_allowed() -> bool:
    """Whether the user may see the member list (names masked).

    Planners see aggregates only (gridmap.auth): no list, not even masked names.
    """
    return not principal().aggregates_only


st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
zh = lang == "zh"
key = database_key()
layers = street_layers(key)

st.title(t("党员分布"))
st.caption(
    t(
        "每个网格、楼栋的党员数、每百户党员数、每平方公里党员数及各类党员(在职党员双报到"
        "、离退休、流动、失联等);每百户党员最少的网格排在最前。"
    )
)

# --- choices ----------------------------------------------------------------------------------
left, middle, right = st.columns([1.2, 2.4, 1.4])
community = community_picker(left, layers.communities, zh)
relabel("density_categories", list(CATEGORY_LABELS), multiple=True)
categories = middle.multiselect(
    t("党员类别"),
    list(CATEGORY_LABELS),
    default=list(CATEGORY_LABELS),
    format_func=lambda c: CATEGORY_LABELS[c][0 if zh else 1],
    key="density_categories",
    placeholder=t("请选择"),
)
relabel("density_measure", list(DENSITY_MEASURES))
measure = right.selectbox(
    t("指标"),
    list(DENSITY_MEASURES),
    format_func=lambda m: DENSITY_MEASURES[m][0 if zh else 1],
    key="density_measure",
)
left2, middle2, right2 = st.columns([2.4, 1.2, 1.4])
relabel("density_scheme", list(SCHEMES))
scheme = left2.radio(
    t("分级方法"),
    list(SCHEMES),
    index=list(SCHEMES).index(settings.DENSITY_SCHEME),
    format_func=lambda s: SCHEMES[s][1 if zh else 2],
    horizontal=True,
    key="density_scheme",
)
k = middle2.slider(t("分级数"), 3, 7, settings.DENSITY_CLASSES, key="density_classes")
heat = right2.checkbox(t("显示党员分布热力图层"), value=False, key="density_heat")

chosen = layers.communities["code"] == community
community_ids = (
    None if community is None else tuple(int(i) for i in layers.communities.loc[chosen, "id"])
)
report = density_report(key, tuple(categories), community_ids)
totals = report.totals

# --- headline figures -------------------------------------------------------------------------
per100 = totals["members_per_100_households"]
per_km2 = totals["members_per_km2"]
outside = int(totals["unplaced_households"])
metrics = [
    (t("党员数"), f"{totals['members']:,}{unit('名')}", None),
    (
        t("每百户党员数"),
        "—" if per100 != per100 else f"{per100:.1f}{unit('名/百户')}",
        t("网格内党员数 ÷ 网格内户数 × 100。"),
    ),
    (
        t("每平方公里党员数"),
        "—" if per_km2 != per_km2 else f"{per_km2:,.0f}{unit('名/km²')}",
        t("网格内党员数 ÷ 网格面积。"),
    ),
    (t("网格数"), f"{totals['grids']}{unit('个')}", None),
    (
        t("网格内户数"),
        f"{totals['households']:,.0f}{unit('户')}",
        (t("另有 {outside:,} 户所在楼栋不在任何网格,不计入(总览的户数含这些户)。", outside=outside))
        if outside
        else None,
    ),
    (
        t("双报到在职党员"),
        f"{totals['in_service_registered']:,}{unit('名')}",
        None,
    ),
    (t("失联党员"), f"{totals['lost_contact']:,}{unit('名')}", None),
    (
        t("未落到网格的党员"),
        f"{totals['unplaced_members']:,}{unit('名')}",
        None,
    ),
]
for start in range(0, len(metrics), 4):
    for column, (name, value, why) in zip(st.columns(4), metrics[start : start + 4], strict=True):
        column.metric(name, value, help=why)

# --- the map ----------------------------------------------------------------------------------
zh_name, en_name, zh_unit, en_unit = DENSITY_MEASURES[measure]
classes = classify(report.grids[measure], scheme, k)
fmap = density_map(
    layers,
    report.grids,
    measure,
    classes,
    title=f"{zh_name}({SCHEMES[scheme][1]})" if zh else f"{en_name} ({SCHEMES[scheme][2]})",
    unit=zh_unit if zh else en_unit,
    lang=lang,
    basemap=basemap,
    heat=heat_points(report.buildings) if heat else None,
    view=map_view(layers, community),
)
st_folium(fmap, height=600, use_container_width=True, returned_objects=[], key="density_map")

# --- the grid table (thinnest first) ----------------------------------------------------------
COLUMNS = {
    "grid_code": pair("网格编码"),
    "grid_name": pair("网格"),
    "community_name": pair("社区"),
    "households": pair("户数(户)"),
    "members": pair("党员(名)"),
    "members_per_100_households": pair("每百户党员(名/百户)"),
    "members_per_km2": pair("每平方公里党员(名/km²)"),
    "in_service_registered": pair("双报到在职党员(名)"),
    **{
        c: (text("{category}(名)", category=z), text("{category}(名)", "en", category=e))
        for c, (z, e) in CATEGORY_LABELS.items()
    },
}
table = pd.DataFrame(report.grids.drop(columns=report.grids.geometry.name))
table = table.loc[:, list(COLUMNS)].round({"members_per_100_households": 2, "members_per_km2": 0})
shown = table.rename(columns={c: v[0 if zh else 1] for c, v in COLUMNS.items()})
st.subheader(t("各网格党员分布({n_table} 个网格,每百户党员最少的在前)", n_table=len(table)))
st.dataframe(shown, hide_index=True, width="stretch", key="density_table")
st.download_button(
    t("下载 CSV"),
    table_to_csv(shown),
    file_name="member_density.csv",
    mime="text/csv",
)

with st.expander(t("各楼栋党员分布")):
    buildings = pd.DataFrame(report.buildings.drop(columns=report.buildings.geometry.name))
    building_columns = {
        "building_code": pair("楼栋编码"),
        "building_name": pair("楼栋"),
        "households": pair("户数(户)"),
        "members": pair("党员(名)"),
        "members_per_100_households": pair("每百户党员(名/百户)"),
        "in_service_registered": pair("双报到在职党员(名)"),
    }
    buildings = buildings.sort_values(["members_per_100_households", "building_code"])
    st.dataframe(
        buildings.loc[:, list(building_columns)]
        .round({"members_per_100_households": 1})
        .rename(columns={c: v[0 if zh else 1] for c, v in building_columns.items()}),
        hide_index=True,
        width="stretch",
    )

if _roster_allowed():
    with st.expander(t("网格党员名单(姓名已脱敏)")):
        relabel("roster_grid", list(report.grids["grid_code"]))
        grid_choice = st.selectbox(
            t("网格"),
            list(report.grids["grid_code"]),
            format_func=lambda c: f"{c} {report.grids.set_index('grid_code').loc[c, 'grid_name']}",
            key="roster_grid",
        )
        people = read_table(engine(), "person")[["id", "name"]]
        roster = member_roster(
            members_table(key)[lambda m: m["category"].isin(categories)],
            people,
            layers.buildings,
            layers.grids[layers.grids["code"] == grid_choice],
            personal_data=personal_data(),
        )
        roster["category"] = roster["category"].map(lambda c: CATEGORY_LABELS[c][0 if zh else 1])
        st.dataframe(
            localise_redacted(roster, lang).rename(
                columns={
                    "grid_code": t("网格编码"),
                    "building_code": t("楼栋编码"),
                    "name": t("姓名"),
                    "category": t("类别"),
                    "registered_on": t("双报到日期"),
                }
            ),
            hide_index=True,
            width="stretch",
        )
