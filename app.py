"""gridmap — the street overview: headline figures and the map of communities, grids, buildings
and service stations. The other pages live in ``pages/``.

Run with ``gridmap serve`` (or ``streamlit run app.py``). UI only: data from
:mod:`gridmap.repository`, the map from :mod:`gridmap.maps`.
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from gridmap.labels import label
from gridmap.maps import street_map
from gridmap.repository import headline_figures
from ui_common import ICON, database_key, engine, md_text, sidebar, street_layers

st.set_page_config(page_title="gridmap 社区党建网格化管理", page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
zh = lang == "zh"
db = engine()
layers = street_layers(database_key())
street_name = md_text(layers.streets["name"].iloc[0]) if len(layers.streets) else ""

st.title(f"{street_name} 党建网格总览" if zh else f"{street_name} — grid overview")
st.caption(
    "街道 → 社区 → 网格 → 楼栋:点击地图上的区域查看网格长、党组织和户数。"
    if zh
    else "Street → community → grid → building: click an area for its leader, branch and size."
)

figures = headline_figures(db)
units = {
    "communities": "个",
    "grids": "个",
    "buildings": "栋",
    "households": "户",
    "members": "名",
    "open_requests": "件",
}
columns = st.columns(len(units))
for col, (key, unit) in zip(columns, units.items(), strict=True):
    value = f"{figures[key]:,} {unit}" if zh else f"{figures[key]:,}"
    col.metric(label(key, lang), value)

if not figures["communities"]:
    st.info(
        "数据库中还没有街道数据。运行 `gridmap demo` 生成示范街道,或导入本街道的数据。"
        if zh
        else "The database holds no street yet: run `gridmap demo`, or import your street."
    )

fmap = street_map(layers, basemap=basemap, lang=lang)
st_folium(fmap, height=640, use_container_width=True, returned_objects=[], key="street_map")
