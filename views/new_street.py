"""新建街道 — a street from its own files, without the command line: create the street, upload
its files, check the guessed layers and columns, preview the street on a map with the problems
the import would create, then import it in one go.

UI only: the street is created by :func:`gridmap.bootstrap.create_street`, files are read by
:func:`gridmap.io.read_upload_layers`, layers matched by :func:`gridmap.io.streets.match_layers`
and columns by :func:`gridmap.io.suggest_mapping`; the preview is
:func:`gridmap.onboarding.preview_street` (the real import, rolled back) and the import
:func:`gridmap.io.import_street`.
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from gridmap.bootstrap import create_street
from gridmap.coverage import PROBLEM_KINDS
from gridmap.errors import GridmapError
from gridmap.i18n import text
from gridmap.io import (
    LAYERS,
    StreetRejected,
    import_fields,
    import_street,
    read_upload_layers,
    suggest_mapping,
)
from gridmap.io.streets import IMPORT_ORDER, match_layers
from gridmap.maps import coverage_map
from gridmap.onboarding import preview_street
from gridmap.repository import read_table
from ui_common import ICON, engine, md_text, page_title, relabel, require, sidebar, t, unit

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
zh = lang == "zh"
require("import")
db = engine()

#: Kinds a file's layer can be taken as, "ignore" first.
KINDS = ["__ignore__", *[k for k in IMPORT_ORDER if k in LAYERS]]
#: Upload types the reader knows (gridmap.io.SUFFIXES).
UPLOAD_TYPES = ["gpkg", "zip", "geojson", "json", "kml", "kmz", "csv", "xlsx"]


def kind_label(kind: str) -> str:
    if kind == "__ignore__":
        return t("(不导入)", context="views.new_street: kind label")
    spec = LAYERS[kind]
    return spec.zh if zh else spec.en.capitalize()


def show_error(exc: GridmapError) -> None:
    st.error(md_text(exc))


st.title(t("新建街道"))
st.caption(
    t(
        "用本街道自己的数据开始:建立街道,上传社区、网格、楼栋、党群服务站图层(一个多图层"
        " GeoPackage、一个装有 Shapefile 的 zip,或每层一个文件),核对图层与字段对应,在地"
        "图上预览导入后的街道和覆盖问题,确认后一次导入。楼栋缺少社区、名称或户数时由位置"
        "、地址和占地面积推算,推算值标为“估算”。"
    )
)

# --- 1. the street ----------------------------------------------------------------------------
streets = read_table(db, "street")
st.subheader(t("1. 街道"))
if len(streets):
    for row in streets.itertuples():
        st.markdown(f"**{md_text(row.name)}**({md_text(row.code)})")
    st.caption(t("街道已建立,可继续上传数据。"))
else:
    with st.form("new_street_form"):
        left, right = st.columns(2)
        code = left.text_input(
            t("街道编码"),
            key="ns_code",
            help=t("统计用区划代码前 9 位,例如 420303001"),
        )
        name = right.text_input(t("街道名称"), key="ns_name")
        boundary_file = st.file_uploader(
            t("街道边界(可选,无边界时取各社区的范围)"),
            type=UPLOAD_TYPES,
            key="ns_boundary",
        )
        create = st.form_submit_button(t("建立街道"), type="primary")
    if create:
        try:
            boundary = None
            if boundary_file is not None:
                from gridmap.io import read_upload

                boundary = read_upload(boundary_file.name, boundary_file.getvalue())
            create_street(db, code.strip(), name.strip(), boundary)
        except GridmapError as exc:
            show_error(exc)
        else:
            st.cache_data.clear()
            st.session_state["ns_message"] = t("街道已建立。")
            st.rerun()
if message := st.session_state.pop("ns_message", None):
    st.success(message)
if not len(streets):
    st.stop()

# --- 2. the files -----------------------------------------------------------------------------
st.subheader(t("2. 上传数据文件"))
uploads = st.file_uploader(
    t("社区、网格、楼栋、党群服务站等图层"),
    type=UPLOAD_TYPES,
    accept_multiple_files=True,
    key="ns_files",
)
if not uploads:
    st.info(
        t(
            "上传一个或多个文件。图层按名称识别(社区/community、网格/grid、楼栋/buildin"
            "g、党群服务站/station,单复数、前后缀均可),下一步可以改。"
        )
    )
    st.stop()

signature = tuple((f.name, f.size, f.file_id) for f in uploads)
if st.session_state.get("ns_signature") != signature:
    found = {}
    try:
        for upload in uploads:
            read = read_upload_layers(upload.name, upload.getvalue())
            for layer_name, source in read.items():
                key = layer_name if layer_name not in found else f"{upload.name}:{layer_name}"
                found[key] = source
    except GridmapError as exc:
        show_error(exc)
        st.stop()
    st.session_state["ns_signature"] = signature
    st.session_state["ns_sources"] = found
    st.session_state.pop("ns_preview", None)
sources = st.session_state["ns_sources"]

# --- 3. layers and columns --------------------------------------------------------------------
st.subheader(t("3. 核对图层与字段"))
guessed, _ignored, _issues = match_layers(sources)
guess_of = {name: kind for kind, name in guessed.items()}
chosen: dict[str, str] = {}
for index, (name, source) in enumerate(sources.items()):
    cols = st.columns([2, 2, 3])
    cols[0].markdown(f"**{md_text(name)}**")
    cols[0].caption(t("{n_frame:,} 条,{kind}", n_frame=len(source.frame), kind=source.kind))
    relabel(f"ns_kind_{index}", KINDS)
    kind = cols[1].selectbox(
        t("导入为"),
        KINDS,
        index=KINDS.index(guess_of.get(name, "__ignore__")),
        format_func=kind_label,
        key=f"ns_kind_{index}",
    )
    if kind != "__ignore__":
        if kind in chosen:
            cols[2].warning(t("与上面的图层重复"))
        chosen[kind] = name
        cols[2].caption(", ".join(md_text(c) for c in source.columns))

mappings: dict[str, dict[str, str]] = {}
for kind, name in chosen.items():
    source = sources[name]
    spec = LAYERS[kind]
    suggested = suggest_mapping(source, kind)
    field_of = {field: column for column, field in suggested.items()}
    with st.expander(t("{zh}:字段对应({name})", zh=spec.zh, name=md_text(name), en=spec.en)):
        mapping: dict[str, str] = {}
        options = ["", *source.columns]
        grid = st.columns(3)
        for i, fld in enumerate(import_fields(kind, source.kind in ("csv", "xlsx"))):
            default = field_of.get(fld.name, "")
            relabel(f"ns_map_{kind}_{fld.name}", options)
            picked = grid[i % 3].selectbox(
                f"{fld.zh}" + (" *" if fld.required else "") if zh else f"{fld.name}",
                options,
                index=options.index(default) if default in options else 0,
                format_func=lambda c: c or text("(无)", lang),
                key=f"ns_map_{kind}_{fld.name}",
            )
            if picked:
                mapping[picked] = fld.name
        mappings[kind] = mapping

options = {"layers": chosen, "mappings": mappings}
if st.session_state.get("ns_options") != repr(options):
    st.session_state.pop("ns_preview", None)

# --- 4. preview -------------------------------------------------------------------------------
st.subheader(t("4. 预览"))
if st.button(t("预览导入结果"), key="ns_preview_go", disabled=not chosen):
    with st.spinner(t("正在试导入并检查覆盖…")):
        try:
            st.session_state["ns_preview"] = preview_street(db, sources, **options)
            st.session_state["ns_options"] = repr(options)
        except GridmapError as exc:
            show_error(exc)

preview = st.session_state.get("ns_preview")
if preview is None:
    st.stop()
if not preview.ok:
    st.error(t("有 {n_problems} 个问题,整个街道不会导入:", n_problems=len(preview.result.problems)))
    for problem in preview.result.problems:
        st.markdown(f"- {md_text(problem.text())}")
else:
    figures = preview.figures()
    metrics = [
        (t("社区", context="views.new_street"), f"{figures['communities']:,}{unit('个')}"),
        (t("网格", context="views.hotspots: area unit"), f"{figures['grids']:,}{unit('个')}"),
        (t("楼栋", context="views.new_street"), f"{figures['buildings']:,}{unit('栋')}"),
        (t("户数"), f"{figures['households']:,}{unit('户')}"),
        (
            t("其中估算户数"),
            f"{figures['households_estimated']:,}{unit('户')}",
        ),
        (t("党群服务站"), f"{figures['stations']:,}{unit('个')}"),
    ]
    for column, (label, value) in zip(st.columns(len(metrics)), metrics, strict=True):
        column.metric(label, value)
    if figures["buildings_estimated"]:
        st.caption(
            t(
                "{buildings_estimated:,} 栋楼的户数由占地面积 × 层数推算(标为“估算”)。",
                buildings_estimated=figures["buildings_estimated"],
            )
        )
    problems = preview.report.problems
    counts = problems["kind"].value_counts()
    if len(counts):
        st.warning(
            t("导入后覆盖检查会发现:")
            + "、".join(
                f"{PROBLEM_KINDS[k][0] if zh else PROBLEM_KINDS[k][1]} {n}"
                for k, n in counts.items()
            )
        )
    else:
        st.success(t("导入后覆盖检查没有问题。"))
    fmap = coverage_map(preview.layers, problems, lang=lang, basemap=basemap)
    st_folium(fmap, height=560, use_container_width=True, returned_objects=[], key="ns_map")
    with st.expander(t("导入明细")):
        st.text(preview.result.describe())

    # --- 5. import --------------------------------------------------------------------------------
    st.subheader(t("5. 导入"))
    if st.button(t("确认导入整个街道"), type="primary", key="ns_go"):
        try:
            done = import_street(db, sources, **options)
        except StreetRejected as exc:
            st.error(md_text(exc))
        except GridmapError as exc:
            show_error(exc)
        else:
            st.cache_data.clear()
            for key in ("ns_preview", "ns_sources", "ns_signature", "ns_options"):
                st.session_state.pop(key, None)
            added = sum(layer.counts().get("added", 0) for layer in done.layers)
            st.session_state["ns_message"] = t("已导入整个街道:新增 {added:,} 条。", added=added)
            st.switch_page("views/overview.py")
