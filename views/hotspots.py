"""诉求热点 — where residents' requests cluster: Getis-Ord Gi* over grids or an H3 hexagon
lattice, hot and cold at 99/95/90 % confidence, with the open and overdue requests, per-grid
figures (open, median time to resolve, average rating) and a plain-language summary.

The 时空趋势 view shows emerging hot spots: Gi* month by month and each unit's Mann–Kendall
trend, classed as ArcGIS's Emerging Hot Spot Analysis does.

UI only: the analyses are :func:`gridmap.hotspots.request_hotspots` and
:func:`gridmap.emerging.emerging_hotspots`, the maps :func:`gridmap.maps.hotspot_map` and
:func:`gridmap.maps.emerging_map`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridmap import settings
from gridmap.auth import scope_rows
from gridmap.emerging import EMERGING_CLASSES, EmergingReport, emerging_hotspots, summarise_emerging
from gridmap.hotspots import (
    HOTSPOT_CLASSES,
    MEASURES,
    SOURCE_LABELS,
    STATUS_FILTERS,
    HotspotReport,
    filter_requests,
    grid_request_stats,
    open_requests,
    request_hotspots,
    summarise_hotspots,
)
from gridmap.i18n import pair, text
from gridmap.io import table_to_csv
from gridmap.maps import emerging_map, hotspot_map
from gridmap.repository import read_table
from gridmap.requests import street_now
from ui_common import (
    CACHE_TTL_S,
    ICON,
    database_key,
    engine,
    md_text,
    page_title,
    principal,
    relabel,
    sidebar,
    street_layers,
    t,
    unit,
)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="正在加载诉求… / Loading requests…")
def requests_table(url: str) -> pd.DataFrame:
    """Every request (reporters are stored masked), cached per database."""
    return scope_rows(engine(), read_table(engine(), "request"), "request", principal())


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="正在计算 Gi* 热点… / Computing Gi* hotspots…")
def hotspot_report(
    url: str,
    categories: tuple[str, ...] | None,
    sources: tuple[str, ...] | None,
    start: dt.date,
    end: dt.date,
    status: str,
    now: dt.datetime,
    unit: str,
    measure: str,
    resolution: int,
    fdr: bool,
    inference: str,
) -> HotspotReport:
    """Gi* of the filtered requests, cached per database and choice."""
    layers = street_layers(url)
    chosen = filter_requests(requests_table(url), categories, sources, start, end, status, now)
    return request_hotspots(
        chosen,
        layers.grids,
        layers.buildings,
        unit=unit,
        measure=measure,
        resolution=resolution,
        fdr=fdr,
        inference=inference,
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="正在逐月计算时空热点… / Computing month by month…")
def emerging_report(
    url: str,
    categories: tuple[str, ...] | None,
    sources: tuple[str, ...] | None,
    now: dt.datetime,
    months: int,
    unit: str,
    resolution: int,
    fdr: bool,
    inference: str,
) -> EmergingReport:
    """Emerging hot spots of the chosen requests, cached per database and choice."""
    layers = street_layers(url)
    chosen = filter_requests(requests_table(url), categories, sources)
    return emerging_hotspots(chosen, layers.grids, now, months, unit=unit, resolution=resolution,
                             fdr=fdr, inference=inference)  # fmt: skip


st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
zh = lang == "zh"
key = database_key()
layers = street_layers(key)
requests = requests_table(key)
# "Now" is read here, never in the analysis: the one "now" of every page (the demo street lives
# at its reference date)
now = street_now(engine())

st.title(t("诉求热点"))
st.caption(
    t(
        "用 Getis-Ord Gi* 统计找出诉求明显聚集(热点)或明显偏少(冷点)的网格或六边形区域;"
        "置信度由置换检验得出,可选错误发现率(FDR)校正。"
    )
)


def show_trend(trend: EmergingReport, area_unit: str, months: int) -> None:
    """The 时空趋势 view: summary, figures, the map, the classed units and one unit's months."""
    k = 0 if zh else 1
    st.info("\n\n".join(map(md_text, summarise_emerging(trend, lang))))
    counts = trend.counts()
    groups = [
        (t("新增/连续热点"), counts["new_hot"] + counts["consecutive_hot"]),
        (t("加剧热点"), counts["intensifying_hot"]),
        (t("持续热点"), counts["persistent_hot"]),
        (t("其他热点"), sum(v for c, v in counts.items() if c.endswith("_hot")) - sum(
            counts[c] for c in ("new_hot", "consecutive_hot", "intensifying_hot",
                                "persistent_hot"))),
        (t("冷点"), sum(v for c, v in counts.items() if c.endswith("_cold"))),
    ]  # fmt: skip
    for column, (name, value) in zip(st.columns(len(groups)), groups, strict=True):
        column.metric(name, t("{value} 个", value=value))
    fmap = emerging_map(layers, trend.cells, area_unit, months, lang=lang, basemap=basemap)
    st_folium(fmap, height=600, use_container_width=True, returned_objects=[],
              key="emerging_map")  # fmt: skip
    classed = trend.cells[trend.cells["cls"] != "no_pattern"]
    table = pd.DataFrame(classed.drop(columns=classed.geometry.name))
    order = {c: n for n, c in enumerate(EMERGING_CLASSES)}
    table = table.assign(_o=table["cls"].map(order))
    table = table.sort_values(["_o", "final_z"], ascending=[True, False])
    st.subheader(t("有时空模式的单元({n_units} 个)", n_units=len(table)))
    st.dataframe(
        table.assign(cls=table["cls"].map(lambda c: EMERGING_CLASSES[c][k]))
        .loc[
            :,
            [
                "label",
                "grid_code",
                "cls",
                "requests",
                "hot_months",
                "cold_months",
                "trend",
                "trend_p",
                "final_z",
            ],
        ]
        .rename(
            columns={
                "label": t("单元"),
                "grid_code": t("网格编码"),
                "cls": t("时空模式"),
                "requests": t("诉求(件)"),
                "hot_months": t("热点月数(个)"),
                "cold_months": t("冷点月数(个)"),
                "trend": t("趋势 τ"),
                "trend_p": t("趋势 p 值"),
                "final_z": t("最近一月 z 值"),
            }
        ),
        hide_index=True,
        width="stretch",
        key="emerging_table",
    )
    if len(table):
        shown_as = table["label"].where(table["label"] != "", table["unit_id"])
        names = dict(zip(table["unit_id"], shown_as, strict=True))
        relabel("emerging_unit", list(names))
        picked = st.selectbox(t("逐月 z 值"), list(names), format_func=lambda u: str(names[u]),
                              key="emerging_unit")  # fmt: skip
        months_of = trend.series[trend.series["unit_id"] == picked].set_index("month")
        st.line_chart(months_of[["z"]].rename(columns={"z": t("Gi* z 值")}), height=240,
                      x_label=t("月份"), y_label=t("Gi* z 值"))  # fmt: skip
    st.markdown(
        t(
            "每月分别计算 Getis-Ord Gi*,某月热点(冷点)指该月在 90% 及以上置信度显著;对每个单元"
            "逐月的 z 值做 Mann–Kendall 趋势检验(scipy 的 Kendall τ,p < {EMERGING_TREND_ALPHA:g}"
            " 为显著)。分类沿用 ArcGIS“新兴热点分析”:新增、连续、加剧、持续、减弱、零星、振荡、"
            "历史;“持续”等要求至少 {share:.0%} 的月份为热点。",
            EMERGING_TREND_ALPHA=settings.EMERGING_TREND_ALPHA, share=settings.EMERGING_SHARE,
        )
    )  # fmt: skip


# --- choices ----------------------------------------------------------------------------------
relabel("hot_view", ["now", "trend"])
view_kind = st.radio(
    t("查看"),
    ["now", "trend"],
    format_func=lambda v: t("本期热点") if v == "now" else t("时空趋势(逐月)"),
    horizontal=True,
    key="hot_view",
)
trend_view = view_kind == "trend"
c1, c2, c3, c4 = st.columns([1.1, 1.1, 1.2, 1.6])
relabel("hot_unit", list(settings.HOTSPOT_UNITS))
area_unit = c1.radio(
    t("分析单元"),
    list(settings.HOTSPOT_UNITS),
    index=list(settings.HOTSPOT_UNITS).index(settings.HOTSPOT_UNIT),
    format_func=lambda u: (
        (text("网格", lang, context="views.hotspots: area unit"))
        if u == "grid"
        else (text("六边形(H3)", lang))
    ),
    key="hot_unit",
)
if area_unit not in settings.HOTSPOT_UNITS:  # a choice lost when the labels changed language
    area_unit = settings.HOTSPOT_UNIT
resolution = c2.selectbox(
    t("六边形分辨率"),
    list(settings.H3_RESOLUTIONS),
    index=list(settings.H3_RESOLUTIONS).index(settings.H3_RESOLUTION),
    disabled=area_unit != "h3",
    key="hot_resolution",
)
relabel("hot_measure", list(MEASURES))
measure = c3.radio(
    t("指标"),
    list(MEASURES),
    format_func=lambda m: MEASURES[m][0 if zh else 1],
    key="hot_measure",
    disabled=trend_view,
    help=t("时空趋势按每月诉求件数计算。") if trend_view else None,
)
fdr = c4.checkbox(
    t("错误发现率(FDR)校正"),
    value=settings.HOTSPOT_FDR,
    key="hot_fdr",
    help=t("同时检验很多区域时,控制误报热点的比例(Benjamini–Hochberg)。"),
)
analytic = c4.checkbox(
    t("用正态近似代替置换检验"),
    value=settings.HOTSPOT_INFERENCE == "analytic",
    key="hot_analytic",
)
categories_all = sorted(requests["category"].dropna().unique())
f1, f2, f3, f4 = st.columns([1.8, 1.4, 1.0, 1.4])
categories = f1.multiselect(
    t("诉求类别(不选为全部)"),
    categories_all,
    key="hot_categories",
    placeholder=t("请选择"),
)
relabel("hot_sources", list(SOURCE_LABELS), multiple=True)
sources = f2.multiselect(
    t("来源(不选为全部)"),
    list(SOURCE_LABELS),
    format_func=lambda s: SOURCE_LABELS[s][0 if zh else 1],
    key="hot_sources",
    placeholder=t("请选择"),
)
if trend_view:
    months = f3.number_input(
        t("月数"), min_value=3, max_value=36, value=settings.EMERGING_MONTHS, step=1,
        key="hot_months", help=t("分析截至上一个完整月的最近若干个月。"),
    )  # fmt: skip
    status, start, end = "all", now.date() - dt.timedelta(days=365), now.date()
else:
    relabel("hot_status", list(STATUS_FILTERS))
    status = f3.radio(
        t("状态"),
        list(STATUS_FILTERS),
        format_func=lambda s: STATUS_FILTERS[s][0 if zh else 1],
        key="hot_status",
    )
    window = f4.date_input(
        t("受理时间", context="views.hotspots: window"),
        value=(now.date() - dt.timedelta(days=365), now.date()),
        key="hot_window",
    )
    start, end = window if isinstance(window, tuple) and len(window) == 2 else (None, None)

if trend_view:
    trend = emerging_report(
        key, tuple(categories) or None, tuple(sources) or None, now, int(months), area_unit,
        int(resolution), fdr, "analytic" if analytic else "permutation",
    )  # fmt: skip
    show_trend(trend, area_unit, int(months))
    st.stop()

report = hotspot_report(
    key,
    tuple(categories) or None,
    tuple(sources) or None,
    start,
    end,
    status,
    now,
    area_unit,
    measure,
    int(resolution),
    fdr,
    "analytic" if analytic else "permutation",
)
in_window = filter_requests(requests, tuple(categories) or None, tuple(sources) or None, start, end)
unresolved = open_requests(in_window, now)

# --- summary and headline figures -------------------------------------------------------------
# Each sentence names communities, grids and a request category as stored: literal text.
st.info("\n\n".join(map(md_text, summarise_hotspots(report, lang))))
counts = report.counts()
hot = sum(v for k, v in counts.items() if k.startswith("hot"))
cold = sum(v for k, v in counts.items() if k.startswith("cold"))
unit_word = t("网格", context="views.hotspots: unit word") if area_unit == "grid" else t("六边形")
metrics = [
    (t("分析的诉求"), f"{len(report.requests):,}{unit('件')}"),
    (t("热点{unit_word}", unit_word=unit_word), t("{hot} 个", hot=hot)),
    (t("冷点{unit_word}", unit_word=unit_word), t("{cold} 个", cold=cold)),
    (t("未办结"), f"{len(unresolved):,}{unit('件')}"),
    (t("已超期未办结"), f"{int(unresolved['overdue'].sum()):,}{unit('件')}"),
]
for column, (name, value) in zip(st.columns(len(metrics)), metrics, strict=True):
    column.metric(name, value)

zh_unit, en_unit = MEASURES[measure][2], MEASURES[measure][3]
fmap = hotspot_map(
    layers,
    report.cells,
    area_unit,
    zh_unit if zh else en_unit,
    lang=lang,
    basemap=basemap,
    open_requests=unresolved,
)
st_folium(fmap, height=600, use_container_width=True, returned_objects=[], key="hotspot_map")
if report.fdr:
    cut = ", ".join(f"{round(c * 100)}%: p < {p:.4f}" for c, p in report.cutoffs.items())
    st.caption((t("FDR 校正后的 p 值界限 — ")) + cut)

# --- per-grid figures -------------------------------------------------------------------------
stats = grid_request_stats(in_window, layers.grids, now)
columns = {
    "grid_code": pair("网格编码"),
    "grid_name": pair("网格"),
    "community_name": pair("社区"),
    "requests": pair("诉求(件)"),
    "open": pair("未办结(件)"),
    "overdue": pair("已超期(件)"),
    "median_hours_to_resolve": pair("办结用时中位数(小时)"),
    "mean_rating": pair("平均评价(1–5 分)"),
}
shown = (
    stats.loc[:, list(columns)]
    .round({"median_hours_to_resolve": 1, "mean_rating": 2})
    .rename(columns={c: v[0 if zh else 1] for c, v in columns.items()})
)
st.subheader(t("各网格诉求办理情况"))
st.dataframe(shown, hide_index=True, width="stretch", key="hot_grid_table")
st.download_button(
    t("下载 CSV"),
    table_to_csv(shown),
    file_name="requests_per_grid.csv",
    mime="text/csv",
)

with st.expander(t("显著的热点与冷点")):
    significant = report.cells[report.cells["cls"] != "not_significant"]
    table = pd.DataFrame(significant.drop(columns=significant.geometry.name))
    table["cls"] = table["cls"].map(lambda c: HOTSPOT_CLASSES[c][0 if zh else 1])
    st.dataframe(
        table.loc[:, ["label", "grid_code", "cls", "requests", "value", "z", "p"]]
        .round({"value": 2, "z": 2, "p": 4})
        .rename(
            columns={
                "label": t("单元"),
                "grid_code": t("网格编码"),
                "cls": t("类别", context="views.hotspots"),
                "requests": t("诉求(件)"),
                "value": t("数值({zh_unit})", zh_unit=zh_unit, en_unit=en_unit),
                "z": t("Gi* z 值"),
                "p": t("p 值"),
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.markdown(
        t(
            "Gi* 衡量一个区域连同其相邻区域的诉求是否明显高于(热点)或低于(冷点)全街道的"
            "平均水平。单个网格远高于四周时,热点会落在它周边的网格上;六边形单元可以看清"
            "网格内部。"
        )
    )
