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
    sidebar,
    street_layers,
    unit,
)

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
zh = lang == "zh"
key = database_key()
layers = street_layers(key)

st.title("规划分析" if zh else "Planning")
st.caption(
    "找出薄弱网格(网格员、党员、服务半径、组织、诉求、热点综合打分),为新增党群服务站选址,"
    "并试算增配党员、网格员或站点的效果。"
    if zh
    else "Find under-covered grids, site new service stations, and try what adding a member, a "
    "grid worker or a station would change."
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
area_unit = c3.radio(
    "分析单元" if zh else "Unit",
    ["grid", "h3"],
    format_func=lambda u: (
        ("网格" if zh else "Grids") if u == "grid" else ("六边形" if zh else "Hexagons")
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
with st.expander("权重(分,可调)" if zh else "Weights (points, adjustable)", expanded=False):
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
        "每项按 0(合理)到 1(薄弱)计需要程度,得分 = 加权平均 × 100。滑块从本街道的权重开始,"
        "调整只影响本页;街道管理员可把它保存为本街道的权重(报告与命令行也使用)。"
        if zh
        else "Each factor is a need from 0 (fine) to 1 (poor); score = weighted mean × 100. The "
        "sliders start at the street's weights and change this page only; the street "
        "administrator can save them as the street's (the report and the CLI use them too)."
    )
    if principal().can("manage_street"):
        save, reset = st.columns(2)
        try:
            if save.button("保存为本街道权重" if zh else "Save as the street's weights"):
                set_street_weights(engine(), "planning", weights)
                st.success("已保存。" if zh else "Saved.")
            if reset.button("恢复默认" if zh else "Back to the defaults"):
                reset_street_weights(engine(), "planning")
                for factor in FACTORS:
                    st.session_state.pop(f"w_{factor}", None)
                st.rerun()
        except GridmapError as exc:
            st.error(md_text(exc))
if sum(weights.values()) == 0:
    st.warning("权重不能全为 0。" if zh else "Weights cannot all be zero.")
    st.stop()

hot = hotspots(key, float(radius), area_unit, settings.H3_RESOLUTION)
ranking = rank_areas(
    inputs, unit=area_unit, weights=weights, hotspots=hot, community_ids=community_ids
)
table = ranking.table

# --- the map of the top areas -----------------------------------------------------------------
top = ranking.top(settings.PLANNING_TOP_AREAS)
st.subheader("最薄弱区域" if zh else "Most under-covered areas")
fmap = base_map(layers, basemap, lang, view)
add_street_layers(fmap, layers, lang, styles=MUTED_STYLES)
top_style = LayerStyle("top", "#d7301f", 0.55, 2.0)
shown_top = top.assign(score_text=top["score"].map(lambda s: f"{s:.1f}{unit('分')}"))
geojson_layer(
    shown_top,
    f"{'薄弱区域' if zh else 'Under-covered'} ({len(top)})",
    top_style,
    {
        "label": "区域" if zh else "Area",
        "score_text": "得分" if zh else "Score",
        "why" if zh else "why_en": "原因" if zh else "Why",
    },
).add_to(fmap)
add_layer_control(fmap, lang)
Legend(
    "图例" if zh else "Legend",
    [
        legend_entry(MUTED_STYLES["grid"], "网格" if zh else "Grid"),
        legend_entry(STYLES["service_station"], "党群服务站" if zh else "Service station", True),
        legend_entry(top_style, f"得分最高的 {len(top)} 个区域" if zh else f"Top {len(top)} areas"),
    ],
).add_to(fmap)
st_folium(fmap, height=480, use_container_width=True, returned_objects=[], key="planning_map")

# --- the ranking table ------------------------------------------------------------------------
st.subheader("薄弱区域排名" if zh else "Ranking")
columns = {
    "rank": "排名" if zh else "Rank",
    "label": "区域" if zh else "Area",
    "score": "得分" if zh else "Score",
    "households": "户数(户)" if zh else "Households",
    "workers": "网格员(人)" if zh else "Workers (FTE)",
    "members": "党员(名)" if zh else "Members",
    "why" if zh else "why_en": "原因" if zh else "Why",
}
st.dataframe(
    table.loc[:, list(columns)].rename(columns=columns),
    hide_index=True,
    use_container_width=True,
    key="ranking_table",
)

# --- station siting ---------------------------------------------------------------------------
st.subheader("党群服务站选址" if zh else "Station siting")
s1, s2 = st.columns(2)
k = s1.number_input(
    "新增站点数" if zh else "New stations",
    1,
    settings.PLANNING_SITES_MAX_K,
    settings.PLANNING_SITES_K,
    key="sites_k",
)
circles = {metres: minutes for minutes, metres in settings.LIFE_CIRCLE_M.items()}
site_radius = s2.radio(
    "步行距离" if zh else "Walking distance",
    list(circles),
    index=list(circles).index(int(radius)),
    format_func=lambda m: f"{m} 米" if zh else f"{m} m",
    horizontal=True,
    key="sites_radius",
)
result = siting(key, community, int(k), float(site_radius))
m1, m2, m3 = st.columns(3)
m1.metric(
    "选址前覆盖住户" if zh else "Within reach now",
    f"{result.before:,}{unit('户')} ({result.share('before'):.1%})",
)
m2.metric(
    "选址后覆盖住户" if zh else "Within reach after",
    f"{result.after:,}{unit('户')} ({result.share():.1%})",
)
m3.metric("新增覆盖住户" if zh else "Households gained", f"{result.gained:,}{unit('户')}")
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
fields = {"name": "楼栋" if zh else "Building", "households": "户数(户)" if zh else "Households"}
still = ~bld["before"].astype(bool) & ~bld["after"].astype(bool) & (bld["households"] > 0)
gained = ~bld["before"].astype(bool) & bld["after"].astype(bool)
geojson_layer(
    bld[still], "仍在服务半径外" if zh else "Still beyond reach", before_style, fields
).add_to(smap)
geojson_layer(bld[gained], "新增覆盖" if zh else "Newly in reach", after_style, fields).add_to(smap)
sites = result.sites.assign(gain_text=result.sites["gain"].map(lambda g: f"{g:,}{unit('户')}"))
geojson_layer(
    gpd.GeoDataFrame(sites, crs=4326),
    "新站点" if zh else "New sites",
    new_style,
    {"label": "站点" if zh else "Site", "gain_text": "新增覆盖" if zh else "Gain"},
    marker=folium.CircleMarker(radius=9, fill=True),
).add_to(smap)
add_layer_control(smap, lang)
Legend(
    "图例" if zh else "Legend",
    [
        legend_entry(
            STYLES["service_station"], "现有党群服务站" if zh else "Existing station", True
        ),
        legend_entry(new_style, "建议新站点" if zh else "Proposed site", True),
        legend_entry(after_style, "新增覆盖楼栋" if zh else "Newly in reach"),
        legend_entry(before_style, "仍在半径外楼栋" if zh else "Still beyond reach"),
    ],
).add_to(smap)
st_folium(smap, height=480, use_container_width=True, returned_objects=[], key="siting_map")
site_cols = {
    "order": "序号" if zh else "No.",
    "label": "候选地点" if zh else "Site",
    "kind": "类型" if zh else "Kind",
    "gain": "新增覆盖(户)" if zh else "Gain (hh)",
    "alone": "单独覆盖(户)" if zh else "Alone (hh)",
}
sites_table = pd.DataFrame(result.sites.drop(columns=result.sites.geometry.name))
sites_table["kind"] = sites_table["kind"].map(
    {"building": "非住宅楼栋" if zh else "Building", "lattice": "规则候选点" if zh else "Lattice"}
)
sites_table["lon"] = result.sites.geometry.x.round(6).to_numpy()
sites_table["lat"] = result.sites.geometry.y.round(6).to_numpy()
st.dataframe(
    sites_table.loc[:, [*site_cols, "lon", "lat"]].rename(
        columns={**site_cols, "lon": "经度" if zh else "Lon", "lat": "纬度" if zh else "Lat"}
    ),
    hide_index=True,
    use_container_width=True,
    key="sites_table",
)
st.caption(
    f"最大覆盖选址模型(MCLP,spopt + CBC 精确求解,状态:{result.status});"
    "候选地点为无住户的楼栋(商业、学校、办公等)和间距 "
    f"{settings.PLANNING_CANDIDATE_SPACING_M:.0f} 米的规则点;距离按直线计。"
    if zh
    else f"Maximal covering location problem (spopt MCLP, solved exactly by CBC: {result.status})."
)

# --- what-if ----------------------------------------------------------------------------------
st.subheader("假设分析" if zh else "What if")
grid_labels = dict(zip(inputs.grids["id"], inputs.grids["community_name"].fillna("") + " "
                       + inputs.grids["name"], strict=True))  # fmt: skip
grid_choices = [int(g) for g in ranking.table.get("grid_id", pd.Series(dtype=int)).dropna()
                if area_unit == "grid"] or [int(g) for g in inputs.grids["id"]]  # fmt: skip
w1, w2 = st.columns([1, 2])
action = w1.radio(
    "措施" if zh else "Step",
    ["member", "worker", "station"],
    format_func=lambda a: {
        "member": "增加一名党员" if zh else "Add a member",
        "worker": "增配一名兼职网格员" if zh else "Add a part-time grid worker",
        "station": "新增一处党群服务站" if zh else "Open a station",
    }[a],
    key="whatif_action",
)
try:
    if action == "station":
        default = result.sites.geometry.iloc[0] if len(result.sites) else None
        lon = w2.number_input("经度" if zh else "Longitude", value=float(default.x) if default
                              else 110.785, format="%.6f", key="whatif_lon")  # fmt: skip
        lat = w2.number_input("纬度" if zh else "Latitude", value=float(default.y) if default
                              else 32.635, format="%.6f", key="whatif_lat")  # fmt: skip
        change = what_if_station(inputs, lon, lat, weights=weights,
                                 hotspots=hot if area_unit == "grid" else None)  # fmt: skip
    else:
        grid = w2.selectbox(
            "网格" if zh else "Grid",
            grid_choices,
            format_func=lambda g: grid_labels.get(g, str(g)),
            key="whatif_grid",
        )
        step = what_if_member if action == "member" else what_if_worker
        change = step(inputs, grid, weights=weights, hotspots=hot if area_unit == "grid" else None)
        w2.metric(
            "该网格得分" if zh else "Grid score",
            f"{change.after.score_of(grid):.1f}",
            f"{change.delta:+.1f}",
            delta_color="inverse",
        )
    total_change = change.changes["delta"].sum()
    w2.caption(
        f"得分变化的区域 {len(change.changes)} 个,合计 {total_change:+.1f} 分(负值为改善)。"
        if zh
        else f"{len(change.changes)} areas change, {total_change:+.1f} points in all."
    )
    st.dataframe(
        change.changes.rename(
            columns={
                "label": "区域" if zh else "Area",
                "score_before": "原得分" if zh else "Before",
                "score_after": "新得分" if zh else "After",
                "delta": "变化" if zh else "Change",
                "rank_before": "原排名" if zh else "Rank before",
                "rank_after": "新排名" if zh else "Rank after",
            }
        ).drop(columns="unit_id"),
        hide_index=True,
        use_container_width=True,
        key="whatif_table",
    )
except GridmapError as exc:
    st.error(md_text(exc))

# --- the community report ---------------------------------------------------------------------
st.subheader("社区工作报告" if zh else "Community report")
r1, r2, r3 = st.columns([2, 1, 1])
community_names = dict(zip(layers.communities["code"], layers.communities["name"], strict=True))
report_codes = list(community_names)
report_community = r1.selectbox(
    "社区" if zh else "Community",
    report_codes,
    index=report_codes.index(community) if community in report_codes else 0,
    format_func=lambda c: community_names[c],
    key="report_community",
)
fmt = r2.radio("格式" if zh else "Format", ["html", "pdf"], horizontal=True, key="report_format")
if r3.button("生成报告" if zh else "Make the report", key="report_button"):
    try:
        with st.spinner("正在生成报告…" if zh else "Making the report…"):
            data = build_community_report(engine(), report_community, fmt, radius_m=float(radius))
        st.session_state["report"] = (report_community, fmt, data)
    except GridmapError as exc:
        st.error(md_text(exc))
made = st.session_state.get("report")
if made is not None:
    code, made_fmt, data = made
    st.download_button(
        ("下载报告" if zh else "Download the report") + f"({made_fmt.upper()})",
        data,
        file_name=f"{code}-report-{local_today():%Y%m%d}.{made_fmt}",
        mime="text/html" if made_fmt == "html" else "application/pdf",
        key="report_download",
    )
