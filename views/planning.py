"""规划分析 — under-covered areas ranked with adjustable weights and a reason per row, new
service stations sited by the maximal covering location problem, what-if steps, and the printable
community report.

UI only: the analysis is :mod:`gridmap.planning`, the report :mod:`gridmap.report`.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridmap import settings
from gridmap.errors import GridmapError
from gridmap.i18n import text
from gridmap.maps import (
    MUTED_STYLES,
    STYLES,
    LayerStyle,
    Legend,
    add_layer_control,
    add_street_layers,
    base_map,
    geojson_layer,
    legend_entry,
)
from gridmap.planning import (
    FACTORS,
    PlanningInputs,
    candidate_sites,
    hotspot_classes,
    rank_areas,
    site_stations,
    what_if_member,
    what_if_station,
    what_if_worker,
)
from gridmap.report import build_community_report, load_planning_inputs
from gridmap.validation import local_today
from gridmap.weights import reset_street_weights, set_street_weights, street_weights
from ui_common import (
    ICON,
    WHOLE_STREET,
    community_picker,
    database_key,
    engine,
    map_view,
    md_text,
    page_title,
    principal,
    radius_picker,
    relabel,
    sidebar,
    street_layers,
    t,
    unit,
)

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
zh = lang == "zh"
key = database_key()
layers = street_layers(key)

st.title(t("规划分析"))
st.caption(
    t(
        "找出薄弱网格(网格员、党员、服务半径、组织、诉求、热点综合打分),为新增党群服务站"
        "选址,并试算增配党员、网格员或站点的效果。"
    )
)


@st.cache_data(ttl=60, show_spinner="正在加载规划数据… / Loading planning data…")
def planning_inputs(url: str, radius: float) -> PlanningInputs:
    inputs, _ = load_planning_inputs(engine(), radius, layers=street_layers(url))
    return inputs


@st.cache_data(ttl=60, show_spinner="正在计算诉求热点… / Computing request hotspots…")
def hotspots(url: str, radius: float, unit: str, resolution: int) -> pd.DataFrame:
    return hotspot_classes(planning_inputs(url, radius), unit, resolution)


@st.cache_data(ttl=60, show_spinner="正在求解站点选址(MCLP)… / Siting stations (MCLP)…")
def siting(url: str, community: str, k: int, radius: float):
    buildings, area = layers.buildings, layers.communities
    if community != WHOLE_STREET:
        area = layers.communities[layers.communities["code"] == community]
        buildings = buildings[buildings["community_id"] == area["id"].iloc[0]]
    candidates = candidate_sites(buildings, area)
    return site_stations(buildings, layers.stations, candidates, k=k, radius_m=radius)


# --- choices ----------------------------------------------------------------------------------
c1, c2, c3 = st.columns([1.2, 1.2, 1.2])
radius = radius_picker(c1, zh)
community = community_picker(c2, layers.communities, zh) or WHOLE_STREET
view = map_view(layers, None if community == WHOLE_STREET else community)
relabel("unit", ["grid", "h3"])
area_unit = c3.radio(
    t("分析单元", context="views.planning: area unit"),
    ["grid", "h3"],
    format_func=lambda u: (
        (text("网格", lang, context="views.hotspots: area unit"))
        if u == "grid"
        else (text("六边形", lang, context="views.planning: area unit"))
    ),
    key="unit",
)
inputs = planning_inputs(key, float(radius))
community_ids = (
    None
    if community == WHOLE_STREET
    else [int(layers.communities.set_index("code").loc[community, "id"])]
)

# --- weights ----------------------------------------------------------------------------------
street_default = street_weights(engine(), "planning")  # the street's own, else settings
with st.expander(t("权重(分,可调)"), expanded=False):
    cols = st.columns(4)
    weights = {}
    for i, (factor, names) in enumerate(FACTORS.items()):
        weights[factor] = cols[i % 4].slider(
            names[0] if zh else names[1],
            0,
            100,
            round(street_default[factor]),
            key=f"w_{factor}",
        )
    st.caption(
        t(
            "每项按 0(合理)到 1(薄弱)计需要程度,得分 = 加权平均 × 100。滑块从本街道的权"
            "重开始,调整只影响本页;街道管理员可把它保存为本街道的权重(报告与命令行也使用"
            ")。"
        )
    )
    if principal().can("manage_street"):
        save, reset = st.columns(2)
        try:
            if save.button(t("保存为本街道权重")):
                set_street_weights(engine(), "planning", weights)
                st.success(t("已保存。"))
            if reset.button(t("恢复默认")):
                reset_street_weights(engine(), "planning")
                for factor in FACTORS:
                    st.session_state.pop(f"w_{factor}", None)
                st.rerun()
        except GridmapError as exc:
            st.error(md_text(exc))
if sum(weights.values()) == 0:
    st.warning(t("权重不能全为 0。"))
    st.stop()

hot = hotspots(key, float(radius), area_unit, settings.H3_RESOLUTION)
ranking = rank_areas(
    inputs, unit=area_unit, weights=weights, hotspots=hot, community_ids=community_ids
)
table = ranking.table

# --- the map of the top areas -----------------------------------------------------------------
top = ranking.top(settings.PLANNING_TOP_AREAS)
st.subheader(t("最薄弱区域"))
fmap = base_map(layers, basemap, lang, view)
add_street_layers(fmap, layers, lang, styles=MUTED_STYLES)
top_style = LayerStyle("top", "#d7301f", 0.55, 2.0)
shown_top = top.assign(score_text=top["score"].map(lambda s: f"{s:.1f}{unit('分')}"))
geojson_layer(
    shown_top,
    f"{t('薄弱区域')} ({len(top)})",
    top_style,
    {
        "label": t("区域"),
        "score_text": t("得分"),
        "why" if zh else "why_en": t("原因"),
    },
).add_to(fmap)
add_layer_control(fmap, lang)
Legend(
    t("图例"),
    [
        legend_entry(MUTED_STYLES["grid"], t("网格")),
        legend_entry(STYLES["service_station"], t("党群服务站", context="views.planning"), True),
        legend_entry(top_style, t("得分最高的 {n_top} 个区域", n_top=len(top))),
    ],
).add_to(fmap)
st_folium(fmap, height=480, use_container_width=True, returned_objects=[], key="planning_map")

# --- the ranking table ------------------------------------------------------------------------
st.subheader(t("薄弱区域排名"))
columns = {
    "rank": t("排名"),
    "label": t("区域"),
    "score": t("得分"),
    "households": t("户数(户)"),
    "workers": t("网格员(人)"),
    "members": t("党员(名)"),
    "why" if zh else "why_en": t("原因"),
}
st.dataframe(
    table.loc[:, list(columns)].rename(columns=columns),
    hide_index=True,
    width="stretch",
    key="ranking_table",
)

# --- station siting ---------------------------------------------------------------------------
st.subheader(t("党群服务站选址"))
s1, s2 = st.columns(2)
k = s1.number_input(
    t("新增站点数"),
    1,
    settings.PLANNING_SITES_MAX_K,
    settings.PLANNING_SITES_K,
    key="sites_k",
)
circles = {metres: minutes for minutes, metres in settings.LIFE_CIRCLE_M.items()}
relabel("sites_radius", list(circles))
site_radius = s2.radio(
    t("步行距离"),
    list(circles),
    index=list(circles).index(int(radius)),
    format_func=lambda m: text("{m} 米", lang, m=m),
    horizontal=True,
    key="sites_radius",
)
result = siting(key, community, int(k), float(site_radius))
m1, m2, m3 = st.columns(3)
m1.metric(
    t("选址前覆盖住户"),
    f"{result.before:,}{unit('户')} ({result.share('before'):.1%})",
)
m2.metric(
    t("选址后覆盖住户"),
    f"{result.after:,}{unit('户')} ({result.share():.1%})",
)
m3.metric(t("新增覆盖住户"), f"{result.gained:,}{unit('户')}")
smap = base_map(layers, basemap, lang, view)
add_street_layers(smap, layers, lang, styles=MUTED_STYLES)
before_style = LayerStyle("before", "#f781bf", 0.7, 0.6)
after_style = LayerStyle("after", "#4daf4a", 0.7, 0.6)
new_style = LayerStyle("new_site", "#6a3d9a", 0.9, 2.0)
flags = result.buildings.set_index("building_id")
bld = layers.buildings.assign(
    before=layers.buildings["id"].map(flags["covered_before"]),
    after=layers.buildings["id"].map(flags["covered_after"]),
)
fields = {"name": t("楼栋"), "households": t("户数(户)")}
still = ~bld["before"].astype(bool) & ~bld["after"].astype(bool) & (bld["households"] > 0)
gained = ~bld["before"].astype(bool) & bld["after"].astype(bool)
geojson_layer(bld[still], t("仍在服务半径外"), before_style, fields).add_to(smap)
geojson_layer(bld[gained], t("新增覆盖"), after_style, fields).add_to(smap)
sites = result.sites.assign(gain_text=result.sites["gain"].map(lambda g: f"{g:,}{unit('户')}"))
geojson_layer(
    gpd.GeoDataFrame(sites, crs=4326),
    t("新站点"),
    new_style,
    {"label": t("站点"), "gain_text": t("新增覆盖", context="views.planning")},
    marker=folium.CircleMarker(radius=9, fill=True),
).add_to(smap)
add_layer_control(smap, lang)
Legend(
    t("图例"),
    [
        legend_entry(STYLES["service_station"], t("现有党群服务站"), True),
        legend_entry(new_style, t("建议新站点"), True),
        legend_entry(after_style, t("新增覆盖楼栋")),
        legend_entry(before_style, t("仍在半径外楼栋")),
    ],
).add_to(smap)
st_folium(smap, height=480, use_container_width=True, returned_objects=[], key="siting_map")
site_cols = {
    "order": t("序号"),
    "label": t("候选地点"),
    "kind": t("类型"),
    "gain": t("新增覆盖(户)"),
    "alone": t("单独覆盖(户)"),
}
sites_table = pd.DataFrame(result.sites.drop(columns=result.sites.geometry.name))
sites_table["kind"] = sites_table["kind"].map(
    {"building": t("非住宅楼栋"), "lattice": t("规则候选点")}
)
sites_table["lon"] = result.sites.geometry.x.round(6).to_numpy()
sites_table["lat"] = result.sites.geometry.y.round(6).to_numpy()
st.dataframe(
    sites_table.loc[:, [*site_cols, "lon", "lat"]].rename(
        columns={
            **site_cols,
            "lon": t("经度", context="views.planning"),
            "lat": t("纬度", context="views.planning"),
        }
    ),
    hide_index=True,
    width="stretch",
    key="sites_table",
)
st.caption(
    t(
        (
            "最大覆盖选址模型(MCLP,spopt + CBC 精确求解,状态:{status});候选地点为无住户的楼"
            "栋(商业、学校、办公等)和间距 {PLANNING_CANDIDATE_SPACING_M:.0f} 米的规则点;距离"
            "按直线计。"
        ),
        status=result.status,
        PLANNING_CANDIDATE_SPACING_M=settings.PLANNING_CANDIDATE_SPACING_M,
    )
)

# --- what-if ----------------------------------------------------------------------------------
st.subheader(t("假设分析"))
grid_labels = dict(zip(inputs.grids["id"], inputs.grids["community_name"].fillna("") + " "
                       + inputs.grids["name"], strict=True))  # fmt: skip
grid_choices = [int(g) for g in ranking.table.get("grid_id", pd.Series(dtype=int)).dropna()
                if area_unit == "grid"] or [int(g) for g in inputs.grids["id"]]  # fmt: skip
w1, w2 = st.columns([1, 2])
relabel("whatif_action", ["member", "worker", "station"])
action = w1.radio(
    t("措施"),
    ["member", "worker", "station"],
    format_func=lambda a: {
        "member": text("增加一名党员", lang),
        "worker": text("增配一名兼职网格员", lang),
        "station": text("新增一处党群服务站", lang),
    }[a],
    key="whatif_action",
)
try:
    if action == "station":
        default = result.sites.geometry.iloc[0] if len(result.sites) else None
        lon = w2.number_input(t('经度'), value=float(default.x) if default
                              else 110.785, format="%.6f", key="whatif_lon")  # fmt: skip
        lat = w2.number_input(t('纬度'), value=float(default.y) if default
                              else 32.635, format="%.6f", key="whatif_lat")  # fmt: skip
        change = what_if_station(inputs, lon, lat, weights=weights,
                                 hotspots=hot if area_unit == "grid" else None)  # fmt: skip
    else:
        relabel("whatif_grid", grid_choices)
        grid = w2.selectbox(
            t("网格"),
            grid_choices,
            format_func=lambda g: grid_labels.get(g, str(g)),
            key="whatif_grid",
        )
        step = what_if_member if action == "member" else what_if_worker
        change = step(inputs, grid, weights=weights, hotspots=hot if area_unit == "grid" else None)
        w2.metric(
            t("该网格得分"),
            f"{change.after.score_of(grid):.1f}",
            f"{change.delta:+.1f}",
            delta_color="inverse",
        )
    total_change = change.changes["delta"].sum()
    w2.caption(
        t(
            "得分变化的区域 {n_changes} 个,合计 {total_change:+.1f} 分(负值为改善)。",
            n_changes=len(change.changes),
            total_change=total_change,
        )
    )
    st.dataframe(
        change.changes.rename(
            columns={
                "label": t("区域"),
                "score_before": t("原得分"),
                "score_after": t("新得分"),
                "delta": t("变化"),
                "rank_before": t("原排名"),
                "rank_after": t("新排名"),
            }
        ).drop(columns="unit_id"),
        hide_index=True,
        width="stretch",
        key="whatif_table",
    )
except GridmapError as exc:
    st.error(md_text(exc))

# --- the community report ---------------------------------------------------------------------
st.subheader(t("社区工作报告"))
r1, r2, r3 = st.columns([2, 1, 1])
community_names = dict(zip(layers.communities["code"], layers.communities["name"], strict=True))
report_codes = list(community_names)
relabel("report_community", report_codes)
report_community = r1.selectbox(
    t("社区"),
    report_codes,
    index=report_codes.index(community) if community in report_codes else 0,
    format_func=lambda c: community_names[c],
    key="report_community",
)
fmt = r2.radio(t("格式"), ["html", "pdf"], horizontal=True, key="report_format")
if r3.button(t("生成报告"), key="report_button"):
    try:
        with st.spinner(t("正在生成报告…")):
            data = build_community_report(
                engine(), report_community, fmt, radius_m=float(radius), lang=lang
            )
        st.session_state["report"] = (report_community, fmt, data)
    except GridmapError as exc:
        st.error(md_text(exc))
made = st.session_state.get("report")
if made is not None:
    code, made_fmt, data = made
    st.download_button(
        (t("下载报告")) + f"({made_fmt.upper()})",
        data,
        file_name=f"{code}-report-{local_today():%Y%m%d}.{made_fmt}",
        mime="text/html" if made_fmt == "html" else "application/pdf",
        key="report_download",
    )
