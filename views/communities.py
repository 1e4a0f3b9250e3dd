"""社区概况 — per-community counts: grids, buildings, households, residents, members, stations
and open requests, with a CSV download. UI only: the numbers come from
:func:`gridmap.repository.community_summary`.
"""

from __future__ import annotations

import streamlit as st

from gridmap.io import table_to_csv
from gridmap.labels import label
from ui_common import ICON, database_key, page_title, sidebar, summary_table, t

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, _basemap = sidebar()
zh = lang == "zh"

st.title(t("社区概况"))
summary = summary_table(database_key())
if summary.empty:
    st.info(t("还没有社区数据。"))
    st.stop()

units = {
    "grids": "个",
    "buildings": "栋",
    "households": "户",
    "estimated_households": "户",
    "residents": "人",
    "members": "名",
    "stations": "个",
    "open_requests": "件",
}
headers = {"code": label("code", lang), "name": label("community", lang)}
for key, unit in units.items():
    headers[key] = f"{label(key, lang)}({unit})" if zh else label(key, lang)
shown = summary.rename(columns=headers)
if not summary["estimated_households"].any():
    shown = shown.drop(columns=headers["estimated_households"])  # only counted households
st.dataframe(shown, hide_index=True, width="stretch")

total = summary[list(units)].sum()
st.caption(
    t(
        (
            "合计:{n_summary} 个社区、{grids} 个网格、{households:,} 户、{members:,} 名党员"
            "、{open_requests} 件未办结诉求。"
        ),
        n_summary=len(summary),
        grids=total["grids"],
        households=total["households"],
        members=total["members"],
        open_requests=total["open_requests"],
    )
)
st.download_button(
    t("下载 CSV"),
    table_to_csv(shown),  # UTF-8 with BOM for Excel, formulas neutralised
    file_name="communities.csv",
    mime="text/csv",
)
