"""总览 — the street overview: headline figures and the map of communities, grids, buildings
and service stations; the app's first page (``app.py`` routes to it).

UI only: data from :mod:`gridmap.repository`, the map from :mod:`gridmap.maps`.
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from gridmap.labels import label
from gridmap.maps import street_map
from gridmap.repository import headline_figures
from ui_common import (
    ICON,
    database_key,
    engine,
    map_view,
    md_text,
    principal,
    sidebar,
    street_layers,
    summary_table,
    t,
    unit,
)

st.set_page_config(
    page_title=t("gridmap 社区党建网格化管理"),
    page_icon=str(ICON),
    layout="wide",
)
lang, basemap = sidebar()
zh = lang == "zh"
db = engine()
layers = street_layers(database_key())
if not len(layers.streets) and principal().can("import"):
    st.switch_page("views/new_street.py")  # a database with no street starts with the wizard
if message := st.session_state.pop("ns_message", None):
    st.success(message)
street_name = md_text(layers.streets["name"].iloc[0]) if len(layers.streets) else ""

st.title(t("{street_name} 党建网格总览", street_name=street_name))
st.caption(t("街道 → 社区 → 网格 → 楼栋:点击地图上的区域查看网格长、党组织和户数。"))

figures = headline_figures(db)
units = {
    "communities": "个",
    "grids": "个",
    "buildings": "栋",
    "households": "户",
    "members": "名",
    "open_requests": "件",
}
items = list(units.items())
for start in range(0, len(items), 3):  # two rows of three: whole numbers, never cut off
    for col, (key, zh_unit) in zip(st.columns(3), items[start : start + 3], strict=True):
        value = f"{figures[key]:,}{unit(zh_unit)}"
        col.metric(label(key, lang), value)

estimated = int(summary_table(database_key())["estimated_households"].sum())
if estimated:
    st.caption(
        t(
            "户数中估算 {estimated:,} 户:由占地面积 × 层数推算(没有实际户数的楼栋)。",
            estimated=estimated,
        )
    )

if not figures["communities"]:
    st.info(
        t(
            "数据库中还没有街道数据。请在 **新建街道** 页面上传本街道的文件并新建街道,或"
            "在命令行运行 `gridmap street create --code 街道编码 --name 街道名称`,再 `g"
            "ridmap import street 文件`(示范街道:`gridmap demo`)。"
        )
    )

fmap = street_map(layers, basemap=basemap, lang=lang, view=map_view(layers, None))
st_folium(fmap, height=640, use_container_width=True, returned_objects=[], key="street_map")
