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

st.title("网格覆盖情况" if zh else "Grid coverage")
st.caption(
    "全覆盖、无缝隙、不重叠:查找未覆盖区域、重叠网格、不在网格或跨网格的楼栋、缺少网格长或党组织的网格、"
    "户数超出规定范围的网格,以及离党群服务站过远的住户。"
    if zh
    else "Full coverage, no gaps, no overlaps: gaps, overlapping grids, buildings outside or "
    "across grids, grids without a leader or branch, grids out of the household norm, and "
    "households far from a service station."
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
kinds = right.multiselect(
    "问题类型" if zh else "Problem kinds",
    present,
    default=present,
    format_func=lambda k: f"{kind_name[k]} ({int((in_scope['kind'] == k).sum())})",
    key="kinds",
    placeholder=t("请选择", "Choose"),
)
problems = filter_problems(in_scope, kinds=kinds)

# --- headline figures -------------------------------------------------------------------------
if codes is None:
    figures = report.summary
else:
    figures = report.community_summary.set_index("code").loc[community].to_dict()
score = figures.get("score")
metrics = [
    ("综合得分(满分 100)" if zh else "Score (of 100)", "—" if score is None else f"{score:.1f}"),
    ("问题数" if zh else "Problems", f"{len(in_scope)}{unit('个')}"),
    ("未覆盖面积" if zh else "Gap area", f"{figures['gap_area_m2']:,.0f} m²"),
    ("重叠面积" if zh else "Overlap area", f"{figures['overlap_area_m2']:,.0f} m²"),
    (
        "不在网格的楼栋" if zh else "Buildings in no grid",
        f"{figures['unassigned_buildings']}{unit('栋')}",
    ),
    ("跨网格楼栋" if zh else "Split buildings", f"{figures['split_buildings']}{unit('栋')}"),
    (
        "户数超出规范的网格" if zh else "Grids out of norm",
        f"{figures['grids_too_small'] + figures['grids_too_large']}{unit('个')}",
    ),
    (
        f"{radius} 米外住户" if zh else f"Households beyond {radius} m",
        f"{figures['households_beyond_reach']:,.0f}{unit('户')}",
    ),
]
for start in range(0, len(metrics), 4):
    row = metrics[start : start + 4]
    for column, (name, value) in zip(st.columns(4), row, strict=True):
        column.metric(name, value)

# --- problem list (choosing a row centres the map on it) -------------------------------------
table = problem_table(problems)
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

st.subheader(f"问题清单({len(table)} 个)" if zh else f"Problems ({len(table)})")
if table.empty:
    st.success("所选范围内未发现问题。" if zh else "No problems in this selection.")
else:
    st.caption("点选一行,地图即定位到该问题。" if zh else "Choose a row to centre the map on it.")
    st.dataframe(
        shown,
        hide_index=True,
        use_container_width=True,
        on_select="rerun",
        selection_mode="single-row",
        key="problem_table",
    )
    csv_col, xlsx_col, _ = st.columns([1, 1, 4])
    csv_col.download_button(
        "下载 CSV" if zh else "Download CSV",
        table_to_csv(shown),
        file_name="coverage_problems.csv",
        mime="text/csv",
    )
    xlsx_col.download_button(
        "下载 Excel" if zh else "Download Excel",
        table_to_xlsx(shown, "覆盖问题" if zh else "problems"),
        file_name="coverage_problems.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

# --- how the score is made --------------------------------------------------------------------
with st.expander("得分说明与各网格得分" if zh else "How the score is made, and grid scores"):
    weights = pd.DataFrame(
        {
            "part": [SCORE_PART_NAMES[p][0 if zh else 1] for p in report.score_weights],
            "weight": list(report.score_weights.values()),
            "meaning": [SCORE_PARTS[p][0 if zh else 1] for p in report.score_weights],
        }
    )
    st.markdown(
        "每项按 0–1 计满足程度,综合得分 = 各项满足程度按权重的加权平均 × 100。"
        if zh
        else "Each part is fulfilled from 0 to 1; the score is the weighted mean × 100."
    )
    st.dataframe(
        weights.rename(
            columns={
                "part": "项目" if zh else "Part",
                "weight": "权重(分)" if zh else "Weight (points)",
                "meaning": "含义" if zh else "Meaning",
            }
        ),
        hide_index=True,
        use_container_width=True,
    )
    weights_form("coverage_score", dict(report.score_weights), SCORE_PART_NAMES, zh)
    grid_scores = report.grid_scores
    if codes is not None:
        grid_scores = grid_scores[grid_scores["grid_code"].str.startswith(community)]
    lowest = grid_scores.sort_values("score").loc[:, ["grid_code", "households", "score"]]
    st.markdown("**得分最低的网格**" if zh else "**Lowest-scoring grids**")
    st.dataframe(
        lowest.rename(
            columns={
                "grid_code": label("grid_code", lang),
                "households": "户数(户)" if zh else "Households",
                "score": label("score", lang),
            }
        ).head(15),
        hide_index=True,
        use_container_width=True,
    )
