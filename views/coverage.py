"""覆盖情况 — where the grid network is not doing its job: gaps, overlaps, buildings outside or
across grids, missing leaders and branches, grids out of the household norm, households beyond
walking reach of a service station; with a map, a problem list and the coverage score.

UI only: the analysis is :func:`gridmap.coverage.check_coverage`, the map
:func:`gridmap.maps.coverage_map`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridmap.coverage import (
    PROBLEM_KINDS,
    SCORE_PART_NAMES,
    SCORE_PARTS,
    filter_problems,
    problem_table,
)
from gridmap.io import table_to_csv, table_to_xlsx
from gridmap.labels import label, localise_columns
from gridmap.maps import coverage_map
from ui_common import (
    ICON,
    community_picker,
    coverage_report,
    database_key,
    map_view,
    page_title,
    radius_picker,
    relabel,
    sidebar,
    street_layers,
    t,
    unit,
    weights_form,
)

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
zh = lang == "zh"
key = database_key()
layers = street_layers(key)

st.title(t("网格覆盖情况"))
st.caption(
    t(
        "全覆盖、无缝隙、不重叠:查找未覆盖区域、重叠网格、不在网格或跨网格的楼栋、缺少网"
        "格长或党组织的网格、户数超出规定范围的网格,以及离党群服务站过远的住户。"
    )
)

# --- choices ----------------------------------------------------------------------------------
left, middle, right = st.columns([1.2, 1.2, 2.6])
radius = radius_picker(left, zh)
community = community_picker(middle, layers.communities, zh)
report = coverage_report(key, float(radius))
codes = None if community is None else [community]
in_scope = filter_problems(report.problems, codes)
present = [k for k in PROBLEM_KINDS if (in_scope["kind"] == k).any()]
kind_name = {k: v[0] if zh else v[1] for k, v in PROBLEM_KINDS.items()}
relabel("kinds", present, multiple=True)
kinds = right.multiselect(
    t("问题类型"),
    present,
    default=present,
    format_func=lambda k: f"{kind_name[k]} ({int((in_scope['kind'] == k).sum())})",
    key="kinds",
    placeholder=t("请选择"),
)
problems = filter_problems(in_scope, kinds=kinds)

# --- headline figures -------------------------------------------------------------------------
if codes is None:
    figures = report.summary
else:
    figures = report.community_summary.set_index("code").loc[community].to_dict()
score = figures.get("score")
metrics = [
    (t("综合得分(满分 100)"), "—" if score is None else f"{score:.1f}"),
    (t("问题数"), f"{len(in_scope)}{unit('个')}"),
    (t("未覆盖面积"), f"{figures['gap_area_m2']:,.0f} m²"),
    (t("重叠面积"), f"{figures['overlap_area_m2']:,.0f} m²"),
    (
        t("不在网格的楼栋"),
        f"{figures['unassigned_buildings']}{unit('栋')}",
    ),
    (t("跨网格楼栋"), f"{figures['split_buildings']}{unit('栋')}"),
    (
        t("户数超出规范的网格"),
        f"{figures['grids_too_small'] + figures['grids_too_large']}{unit('个')}",
    ),
    (
        t("{radius} 米外住户", radius=radius),
        f"{figures['households_beyond_reach']:,.0f}{unit('户')}",
    ),
]
for start in range(0, len(metrics), 4):
    row = metrics[start : start + 4]
    for column, (name, value) in zip(st.columns(4), row, strict=True):
        column.metric(name, value)

# --- problem list (choosing a row centres the map on it) -------------------------------------
table = problem_table(problems, lang)
text_columns = ["label", "community_code", "grid_code", "other_grid_code", "building_code"]
shown = table.drop(columns=["kind"]).fillna({c: "" for c in text_columns})
shown = localise_columns(shown, lang)
selection = st.session_state.get("problem_table")
rows = selection.selection.rows if selection is not None else []
focus = problems.geometry.iloc[rows[0]] if rows and rows[0] < len(problems) else None

fmap = coverage_map(
    layers,
    problems,
    lang=lang,
    basemap=basemap,
    focus=focus,
    view=map_view(layers, community),
)
st_folium(fmap, height=600, use_container_width=True, returned_objects=[], key="coverage_map")

st.subheader(t("问题清单({n_table} 个)", n_table=len(table)))
if table.empty:
    st.success(t("所选范围内未发现问题。"))
else:
    st.caption(t("点选一行,地图即定位到该问题。"))
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="problem_table",
    )
    csv_col, xlsx_col, _ = st.columns([1, 1, 4])
    csv_col.download_button(
        t("下载 CSV"),
        table_to_csv(shown),
        file_name="coverage_problems.csv",
        mime="text/csv",
    )
    xlsx_col.download_button(
        t("下载 Excel"),
        table_to_xlsx(shown, t("覆盖问题")),
        file_name="coverage_problems.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

# --- how the score is made --------------------------------------------------------------------
with st.expander(t("得分说明与各网格得分")):
    weights = pd.DataFrame(
        {
            "part": [SCORE_PART_NAMES[p][0 if zh else 1] for p in report.score_weights],
            "weight": list(report.score_weights.values()),
            "meaning": [SCORE_PARTS[p][0 if zh else 1] for p in report.score_weights],
        }
    )
    st.markdown(t("每项按 0–1 计满足程度,综合得分 = 各项满足程度按权重的加权平均 × 100。"))
    st.dataframe(
        weights.rename(
            columns={
                "part": t("项目"),
                "weight": t("权重(分)"),
                "meaning": t("含义"),
            }
        ),
        hide_index=True,
        width="stretch",
    )
    weights_form("coverage_score", dict(report.score_weights), SCORE_PART_NAMES, zh)
    grid_scores = report.grid_scores
    if codes is not None:
        grid_scores = grid_scores[grid_scores["grid_code"].str.startswith(community)]
    lowest = grid_scores.sort_values("score").loc[:, ["grid_code", "households", "score"]]
    st.markdown(t("**得分最低的网格**"))
    st.dataframe(
        lowest.rename(
            columns={
                "grid_code": label("grid_code", lang),
                "households": t("户数(户)"),
                "score": label("score", lang),
            }
        ).head(15),
        hide_index=True,
        width="stretch",
    )
