"""数据导入导出 — bring layers in from the files users hold, and take them out again.

Import: upload a file, choose the layer, check the column mapping against a preview, confirm the
coordinate system (read from the file, detected, or chosen: WGS 84, GCJ-02 高德, BD-09 百度,
CGCS2000 Gauss–Krüger, UTM), accept a lat/lon swap or a geometry repair only when offered, read
the dry-run summary, then import in one transaction. Export: any layer or the whole street as
GeoJSON, GeoPackage, Shapefile, XLSX or CSV. Backup: the whole street as one GeoPackage,
offered only to a role that may back up (street administrators).

Prepared files are kept in the session for the user who prepared them only
(:func:`ui_common.keep_prepared`) and dropped at logout; the backup is written in a temporary
folder the core removes before the download is offered (:func:`gridmap.io.backups.backup_bytes`).

UI only: everything is :mod:`gridmap.io`.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from gridmap import io as gio
from gridmap import settings
from gridmap.errors import GridmapError
from gridmap.i18n import pair, text
from gridmap.io.backups import backup_bytes
from ui_common import (
    ICON,
    engine,
    in_language,
    keep_prepared,
    md_text,
    page_title,
    prepared,
    principal,
    relabel,
    role_tabs,
    sidebar,
    t,
    unit,
)

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, _basemap = sidebar()
zh = lang == "zh"
db = engine()


#: Coordinate systems offered, besides "as the file says / detected".
CRS_CHOICES: dict[str, tuple[str, str]] = {
    "auto": pair("按文件声明或自动识别"),
    "wgs84": pair("WGS 84 经纬度(GPS、天地图、奥维)"),
    "gcj02": pair("GCJ-02(高德、腾讯)"),
    "bd09": pair("BD-09(百度)"),
    "cgcs2000": pair("CGCS2000 经纬度"),
    "4546": pair("CGCS2000 3度带 中央经线 111°E(EPSG:4546)"),
    "4525": pair("CGCS2000 3度带 37 带带号(EPSG:4525)"),
    "32649": ("WGS 84 / UTM 49N(EPSG:32649)", "WGS 84 / UTM 49N (32649)"),
    "32650": ("WGS 84 / UTM 50N(EPSG:32650)", "WGS 84 / UTM 50N (32650)"),
    "other": pair("其他 EPSG 代码…"),
}
FORMAT_NAMES = {
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "shp": "Shapefile (zip)",
    "xlsx": "Excel (XLSX)",
    "csv": "CSV (UTF-8 BOM)",
}


def layer_name(key: str) -> str:
    if key == "street":
        return t("整个街道(全部图层)")
    spec = gio.LAYERS[key]
    return spec.zh if zh else spec.en


def show_rejection(exc: GridmapError) -> None:
    """The error sentence, and for an import every problem as a table."""
    if isinstance(exc, gio.ImportRejected):
        st.error(md_text(str(exc).splitlines()[0]))
        unit = exc.unit
        rows = [
            {
                t("位置"): "" if i.row is None else f"{in_language(unit)} {i.row}",
                t("字段"): i.field or "",
                t("问题"): i.zh if zh else i.en,
            }
            for i in exc.issues
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.error(md_text(exc))


@st.cache_data(show_spinner=False, max_entries=4)
def read_upload(name: str, data: bytes) -> gio.SourceTable:
    """The uploaded file read once per content (cached by its bytes)."""
    return gio.read_upload(name, data)


st.title(t("数据导入导出"))
# import, backup and restore are street administrators' work: other roles get export only
tabs = role_tabs(
    {
        "import": t("导入") if principal().can("import") else None,
        "export": t("导出"),
        "backup": t("备份") if principal().can("backup") else None,
    }
)
tab_import, tab_export, tab_backup = tabs.get("import"), tabs["export"], tabs.get("backup")

# --- import -----------------------------------------------------------------------------------
if tab_import is not None:
    with tab_import:
        st.caption(
            t(
                "支持 GeoJSON、GeoPackage、Shapefile(zip,含 .cpg)、KML、CSV、XLSX(经纬度"
                "列或 WKT 列)。先检查、后导入:有任何问题整批拒绝,数据库不会改动。"
            )
        )
        relabel("import_layer", list(gio.LAYERS))
        layer = st.selectbox(
            t('导入到图层'), list(gio.LAYERS), format_func=layer_name,
            key="import_layer",
        )  # fmt: skip
        spec = gio.LAYERS[layer]
        uploaded = st.file_uploader(
            t("选择文件"),
            type=[s.lstrip(".") for s in gio.SUFFIXES],
            key="import_file",
            help=t(
                "单个文件不超过 {IMPORT_MAX_BYTES} MB",
                IMPORT_MAX_BYTES=settings.IMPORT_MAX_BYTES // 2**20,
            ),
        )
        source = None
        if uploaded is not None:
            try:
                source = read_upload(uploaded.name, uploaded.getvalue())
            except GridmapError as exc:
                show_rejection(exc)
        if source is not None:
            spreadsheet = source.geometry is None
            declared = md_text(source.crs.to_string()) if source.crs is not None else t("未声明")
            file_name, encoding = md_text(source.name), md_text(source.encoding or None)
            st.markdown(
                t(
                    (
                        "**{file_name}**:{n_frame} 条记录,编码 {encoding},文件声明的坐标系 "
                        "{declared}。"
                    ),
                    file_name=file_name,
                    n_frame=len(source.frame),
                    encoding=encoding,
                    declared=declared,
                )
            )
            st.dataframe(
                source.frame.head(settings.IMPORT_PREVIEW_ROWS).astype(str),
                hide_index=True,
                width="stretch",
            )

            st.subheader(t("列对应"))
            suggested = gio.suggest_mapping(source, spec)
            fields = gio.import_fields(spec, spreadsheet)
            options = ["", *(f.name for f in fields)]
            names = {f.name: f"{f.zh} ({f.name}){' *' if f.required else ''}" for f in fields}
            mapping: dict[str, str] = {}
            columns = st.columns(3)
            file_hash = hashlib.sha1(uploaded.getvalue()).hexdigest()[:8]
            for i, col in enumerate(source.columns):
                relabel(f"map_{layer}_{file_hash}_{i}", options)
                choice = columns[i % 3].selectbox(
                    md_text(col),  # a column name of the file: a label renders markdown
                    options,
                    index=options.index(suggested.get(col, "")),
                    format_func=lambda f: names.get(f, text("(不导入)", lang)),
                    key=f"map_{layer}_{file_hash}_{i}",
                )
                if choice:
                    mapping[col] = choice
            st.caption(t("* 为必填字段。"))

            crs_value = None
            if spec.geometry:
                relabel("import_crs", list(CRS_CHOICES))
                crs_key = st.selectbox(
                    t('坐标系'), list(CRS_CHOICES),
                    format_func=lambda k: CRS_CHOICES[k][0 if zh else 1], key="import_crs",
                )  # fmt: skip
                if crs_key == "other":
                    crs_value = st.text_input("EPSG", "4326", key="import_epsg") or None
                elif crs_key != "auto":
                    crs_value = crs_key
            left, right = st.columns(2)
            update = left.checkbox(
                t("更新数据库中已有的同编码记录"),
                key="import_update",
            )
            plan_name = None
            if layer == "grids":
                plan_name = (
                    right.text_input(
                        t("导入到网格草案(名称或编号;尚无方案的社区可留空,首次导入即成生效方案)"),
                        key="import_plan",
                    )
                    or None
                )
            swap = st.session_state.get("import_swap", False)
            fix = st.session_state.get("import_fix", False)
            offers: list[str] = []
            plan = None
            try:
                plan = gio.prepare_import(
                    db, spec, source, mapping, crs=crs_value, swap_latlon=swap,
                    fix_invalid=fix, update=update, plan=plan_name,
                )  # fmt: skip
            except GridmapError as exc:
                if isinstance(exc, gio.ImportRejected):
                    hints = " ".join(i.en for i in exc.issues)
                    offers = [o for o, word in (("swap", "--swap-latlon"), ("fix", "--fix-invalid"))
                              if word in hints]  # fmt: skip
                show_rejection(exc)
            if offers or swap or fix:
                st.subheader(t("需要确认的修正"))
            if "swap" in offers or swap:
                st.checkbox(
                    t("交换经纬度(文件中纬度与经度写反了)"),
                    key="import_swap",
                )
            if "fix" in offers or fix:
                st.checkbox(
                    t("修复无效几何(make_valid,修复的行会列出)"),
                    key="import_fix",
                )
            if plan is not None:
                st.subheader(t("试导入结果"))
                summary = plan.summary()
                for column, (key, name) in zip(
                    st.columns(4),
                    [("added", t("新增", context="views.data_io: plan")),
                     ("changed", t("更新")), ("unchanged", t("不变")), ("repaired", t("修复几何"))],
                    strict=True,
                ):  # fmt: skip
                    column.metric(name, f"{summary[key]}{unit('条')}")
                read_as = md_text(plan.source_crs)  # may be named by the file's .prj
                st.caption(t("坐标系:{read_as}", read_as=read_as))
                if plan.repaired:
                    st.warning(t("已修复无效几何的位置:") + ", ".join(map(str, plan.repaired)))
                nothing = summary["added"] + summary["changed"] == 0
                go = st.button(t("导入"), type="primary", disabled=nothing, key="import_go")
                if go:
                    try:
                        counts = gio.apply_import(db, plan)
                    except GridmapError as exc:
                        show_rejection(exc)
                    else:
                        st.cache_data.clear()
                        st.success(
                            t(
                                "已导入:新增 {added} 条,更新 {changed} 条。",
                                added=counts["added"],
                                changed=counts["changed"],
                            )
                        )

# --- export -----------------------------------------------------------------------------------
with tab_export:
    left, middle, right = st.columns([2, 2, 1])
    relabel("export_layer", ["street", *gio.LAYERS])
    export_layer = left.selectbox(
        t("图层"), ["street", *gio.LAYERS], format_func=layer_name, key="export_layer"
    )
    relabel("export_format", list(gio.EXPORT_FORMATS))
    fmt = middle.selectbox(
        t('格式'), list(gio.EXPORT_FORMATS), format_func=FORMAT_NAMES.get,
        key="export_format",
    )  # fmt: skip
    st.caption(
        t(
            "Shapefile 以 zip 提供并附 .cpg(UTF-8);表格中点为经纬度列、面为 WKT 列;以 ="
            " + - @ 开头的文字前加 ' 防止公式注入。"
        )
    )
    if right.button(t("生成文件"), key="export_go"):
        try:
            keep_prepared(
                "export_data",
                (gio.export_filename(export_layer, fmt), gio.export_layer(db, export_layer, fmt)),
            )
        except GridmapError as exc:
            st.session_state.pop("export_data", None)
            show_rejection(exc)
    ready = prepared("export_data")
    if ready is not None:
        st.download_button(
            t("下载 {ready}", ready=ready[0]),
            ready[1],
            file_name=ready[0],
            key="export_download",
        )

# --- backup -----------------------------------------------------------------------------------
if tab_backup is not None:
    with tab_backup:
        st.markdown(
            t(
                "把整个街道(全部表,含人员、用户和日志,编号不变)备份为一个 GeoPackage 文"
                "件。恢复请在命令行运行 `gridmap restore 文件.gpkg --force`:街道数据整体"
                "替换,用户账号与操作日志保留(备份中的日志补入,并标为「恢复自备份」)。"
            )
        )
        if st.button(t("生成备份"), key="backup_go"):
            try:
                data, counts = backup_bytes(db)  # its temporary folder is gone already
            except GridmapError as exc:
                st.session_state.pop("backup_data", None)
                show_rejection(exc)
            else:
                keep_prepared("backup_data", (data, sum(counts.values())))
        ready_backup = prepared("backup_data")
        if ready_backup is not None:
            data, rows = ready_backup
            st.caption(t("共 {rows} 行。", rows=rows))
            st.download_button(
                t("下载备份"),
                data,
                file_name="gridmap_backup.gpkg",
                key="backup_download",
            )
