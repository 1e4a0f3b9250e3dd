"""网格调整 — redraw a community's grids: drafts copied from the active plan, edits on the map
(draw, upload or paste a polygon; split by a drawn line; merge; move buildings; delete; undo),
the live household balance after every edit, auto-balance, the diff against the active plan,
and propose / approve / activate / rollback.

UI only: everything is :mod:`gridmap.redraw`; the map is :func:`gridmap.maps.redraw_map`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridmap import auth, redraw, settings
from gridmap.errors import GridmapError
from gridmap.maps import redraw_map
from gridmap.repository import read_table
from ui_common import (
    ICON,
    community_picker,
    engine,
    from_link,
    md_text,
    page_title,
    principal,
    sidebar,
    t,
    to_link,
    unit,
)

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
zh = lang == "zh"
db = engine()

STATUS = {
    "draft": ("草稿", "Draft"),
    "proposed": ("已提交", "Proposed"),
    "approved": ("已批准", "Approved"),
    "active": ("生效中", "Active"),
    "retired": ("已停用", "Retired"),
}


def can(action: str) -> bool:
    """Whether the logged-in user's role may take a plan action, so the page shows only the
    buttons it may use (:data:`gridmap.redraw.PLAN_ACTION_ROLES`); the core's
    :func:`gridmap.redraw.authorise` refuses the rest, scope included, whatever the page shows."""
    return principal().role in redraw.PLAN_ACTION_ROLES.get(action, ())


def run(action, *args, success: str, **kwargs):
    """Run a core action; show its error as a sentence, else remember a message and rerun."""
    try:
        result = action(*args, **kwargs)
    except GridmapError as exc:
        st.error(md_text(exc))
        return None
    st.session_state["redraw_message"] = success
    st.rerun()
    return result


st.title(t("网格调整", "Grid redrawing"))
st.caption(
    t(
        "从生效方案复制草稿,在地图上修改网格(绘制、上传或粘贴边界,画线分割,合并,移动楼栋),"
        "每次修改后即时核算各网格户数;也可自动均衡。草稿经提交、街道批准后生效,可回退到上一方案。",
        "Copy the active plan into a draft, edit it on the map (draw, upload or paste a boundary, "
        "split by a line, merge, move buildings) and see each grid's households after every edit; "
        "or auto-balance. A draft is proposed, approved by the street, activated, and can be "
        "rolled back to the previous plan.",
    )
)
if message := st.session_state.pop("redraw_message", None):
    st.success(message)

# --- community and plan -----------------------------------------------------------------------
# only the communities the user may redraw or see: a secretary gets their own
communities = auth.scope_rows(db, read_table(db, "community"), "community", principal())
left, middle, right = st.columns([1.2, 2.2, 1.6])
community = community_picker(left, communities, zh, whole_street=False)
plans = redraw.list_plans(db, community)
if plans.empty:
    st.info(t("该社区还没有网格方案。", "This community has no grid plan yet."))
plan_labels = {
    int(
        row.id
    ): f"#{row.id} {row.name} · {STATUS[row.status][0 if zh else 1]} · {row.grids}{unit('格')}"
    for row in plans.itertuples()
}
drafts = plans[plans["status"] == "draft"]
default = (
    int(drafts["id"].iloc[0]) if len(drafts) else (int(plans["id"].iloc[0]) if len(plans) else None)
)
options = list(plan_labels)
pending = st.session_state.pop("redraw_pending_plan", None)
if pending in options:  # a plan just created: show it
    st.session_state[f"plan_{community}"] = pending
else:  # a link to a plan (?plan=ID) opens it
    from_link("plan", f"plan_{community}", options, parse=int)
plan_id = (
    middle.selectbox(
        t("方案", "Plan"),
        options,
        index=options.index(default) if default in options else 0,
        format_func=plan_labels.get,
        key=f"plan_{community}",
    )
    if options
    else None
)
to_link("plan", plan_id, default)
with right:
    st.write("")
    if can("edit") and st.button(t("新建草案(复制生效方案)", "New draft (copy of active)")):
        try:
            st.session_state["redraw_pending_plan"] = redraw.new_draft(db, community)
        except GridmapError as exc:
            st.error(md_text(exc))
        else:
            st.session_state["redraw_message"] = t("已新建草案。", "Draft created.")
            st.rerun()
    balance = can("edit") and st.button(
        t("自动均衡生成草案", "Auto-balance into a new draft"), key="balance"
    )
if balance:
    bar = st.progress(0.0, text=t("自动均衡…", "Balancing…"))
    try:
        new_id, result = redraw.balance_draft(
            db, community, progress=lambda f, m: bar.progress(min(f, 1.0), text=m)
        )
    except GridmapError as exc:
        st.error(md_text(exc))
    else:
        st.session_state["redraw_pending_plan"] = new_id
        st.session_state["redraw_message"] = (
            f"{t('已生成草案', 'Draft created')} #{new_id}: {md_text(result.message)}"
        )
        st.rerun()

if plan_id is None:
    st.stop()

# --- the plan, its metrics and the map --------------------------------------------------------
layers = redraw.load_plan(db, plan_id)
status = layers.plan["status"]
is_draft = status == "draft"
metrics = redraw.layers_metrics(layers)
versions = dict(zip(layers.grids["code"], layers.grids["version"], strict=True))
seen_key = f"seen_versions_{plan_id}"
seen = st.session_state.get(seen_key, versions)  # what the user saw before this click
active_id = redraw.active_plan_id(db, community)
active = redraw.load_plan(db, active_id).grids if active_id and active_id != plan_id else None

s = metrics.summary
figures = [
    (t("网格数", "Grids"), f"{s['grids']}{unit('个')}"),
    (t("户数超出规范", "Out of norm"), f"{s['out_of_norm']}{unit('个')}"),
    (t("最大偏离目标", "Largest deviation"), f"{s['max_deviation']}{unit('户')}"),
    (t("未覆盖区域", "Gaps"), f"{s['gaps']}{unit('处')}"),
    (t("未覆盖面积", "Gap area"), f"{s['gap_area_m2']:,.0f} m²"),
    (t("网格重叠", "Overlaps"), f"{s['overlaps']}{unit('处')}"),
    (t("不在网格的楼栋", "Buildings in no grid"), f"{s['unassigned_buildings']}{unit('栋')}"),
]
for column, (name, value) in zip(st.columns(len(figures)), figures, strict=True):
    column.metric(name, value)

code_by_id = dict(zip(layers.grids["id"], layers.grids["code"], strict=True))
buildings = layers.buildings.assign(
    grid_code=[None if pd.isna(g) else code_by_id[g] for g in metrics.assignment["grid_id"]]
)
shown_grids = layers.grids.merge(
    metrics.grids[["code", "households", "norm"]], on="code", how="left"
)
map_col, table_col = st.columns([3, 2])
with map_col:
    fmap = redraw_map(
        layers.community, shown_grids, buildings, active, lang, basemap, drawing=is_draft
    )
    drawn = st_folium(
        fmap,
        height=620,
        use_container_width=True,
        returned_objects=["last_active_drawing", "all_drawings"],
        key=f"redraw_map_{plan_id}",
    )
with table_col:
    st.markdown(
        t(
            f"**各网格户数**(规范 {settings.GRID_HOUSEHOLDS_MIN}–{settings.GRID_HOUSEHOLDS_MAX} 户,"
            f"目标 {settings.GRID_HOUSEHOLDS_TARGET} 户)",
            f"**Households per grid** (norm {settings.GRID_HOUSEHOLDS_MIN}–"
            f"{settings.GRID_HOUSEHOLDS_MAX}, target {settings.GRID_HOUSEHOLDS_TARGET})",
        )
    )
    norm_text = {
        "ok": t("符合", "ok"),
        "small": t("偏少", "too few"),
        "large": t("偏多", "too many"),
    }
    balance_table = pd.DataFrame(
        {
            t("网格编码", "Grid code"): metrics.grids["code"],
            t("户数(户)", "Households"): metrics.grids["households"],
            t("规范", "Norm"): metrics.grids["norm"].map(norm_text),
            t("楼栋(栋)", "Buildings"): metrics.grids["buildings"],
            t("人口(人)", "Residents"): metrics.grids["residents"],
            t("党员(名)", "Members"): metrics.grids["members"],
            t("面积(m²)", "Area (m²)"): metrics.grids["area_m2"].round(0).astype(int),
            t("紧凑度", "Compactness"): metrics.grids["compactness"].round(2),
            t("连片", "Contiguous"): metrics.grids["contiguous"].map(
                {True: t("是", "yes"), False: t("否", "no")}
            ),
        }
    )
    off_norm = (metrics.grids["norm"] != "ok").to_numpy()
    styled = balance_table.style.apply(
        lambda col: ["background-color: #fde0dc" if bad else "" for bad in off_norm], axis=0
    )
    st.dataframe(styled, hide_index=True, width="stretch", key="balance_table")

# --- edits ------------------------------------------------------------------------------------
codes = list(layers.grids["code"])


def drawn_shape(kind: str, key: str):
    """The polygon or line to use: the last drawing on the map, an uploaded file, or pasted
    GeoJSON (the first one given, in that order of the choice)."""
    source = st.radio(
        t("图形来源", "Shape from"),
        ["draw", "upload", "paste"],
        format_func=lambda v: {
            "draw": t("地图上最后绘制的图形", "last drawing on the map"),
            "upload": t("上传 GeoJSON 文件", "upload a GeoJSON file"),
            "paste": t("粘贴 GeoJSON", "paste GeoJSON"),
        }[v],
        horizontal=True,
        key=f"{key}_source",
    )
    if source == "draw":
        last = (drawn or {}).get("last_active_drawing")
        if not last:
            st.caption(
                t(
                    "先用地图左上角的工具画一个面(或分割用的线)。",
                    "Draw a polygon (or a split line) with the tools at the map's top left.",
                )
            )
        return last
    if source == "upload":
        file = st.file_uploader("GeoJSON", type=["geojson", "json"], key=f"{key}_file")
        return None if file is None else file.getvalue().decode("utf-8-sig")
    text = st.text_area("GeoJSON (WGS 84)", key=f"{key}_text", height=100)
    return text or None


if is_draft and can("edit"):
    st.subheader(t("修改草稿", "Edit the draft"))
    insist = st.checkbox(
        t(
            "按所画边界原样保存(不吸附邻接网格,可能产生缝隙或重叠)",
            "Keep the shape exactly as drawn (no snapping; may leave gaps or overlaps)",
        ),
        key="insist",
    )
    tabs = st.tabs(
        [
            t("修改边界", "Reshape"),
            t("新建网格", "New grid"),
            t("分割", "Split"),
            t("合并", "Merge"),
            t("移动楼栋", "Move buildings"),
            t("删除网格", "Delete"),
            t("撤销", "Undo"),
        ]
    )
    with tabs[0]:
        target = st.selectbox(t("网格", "Grid"), codes, key="reshape_grid")
        shape = drawn_shape("polygon", "reshape")
        if st.button(t("用此边界替换", "Replace the boundary"), key="reshape_go"):
            if shape is None:
                st.error(t("没有图形。", "No shape given."))
            else:
                run(
                    redraw.set_grid_geometry,
                    db,
                    plan_id,
                    target,
                    shape,
                    seen,
                    insist=insist,
                    success=t(
                        f"已修改网格 {md_text(target)} 的边界。",
                        f"Grid {md_text(target)} reshaped.",
                    ),
                )
    with tabs[1]:
        new_name = st.text_input(t("名称(可留空)", "Name (optional)"), key="create_name")
        shape = drawn_shape("polygon", "create")
        if st.button(t("新建网格", "Create the grid"), key="create_go"):
            if shape is None:
                st.error(t("没有图形。", "No shape given."))
            else:
                run(
                    redraw.create_grid,
                    db,
                    plan_id,
                    shape,
                    new_name or None,
                    None,
                    seen,
                    insist=insist,
                    success=t("已新建网格。", "Grid created."),
                )
    with tabs[2]:
        target = st.selectbox(t("网格", "Grid"), codes, key="split_grid")
        line = drawn_shape("line", "split")
        if st.button(t("按此线分割", "Split along the line"), key="split_go"):
            if line is None:
                st.error(t("没有分割线。", "No line given."))
            else:
                run(
                    redraw.split_grid,
                    db,
                    plan_id,
                    target,
                    line,
                    seen,
                    success=t(f"已分割网格 {md_text(target)}。", f"Grid {md_text(target)} split."),
                )
    with tabs[3]:
        a, b = st.columns(2)
        keep = a.selectbox(t("保留的网格", "Grid kept"), codes, key="merge_keep")
        rest = [c for c in codes if c != keep]
        other = b.selectbox(t("并入的网格", "Grid merged in"), rest, key="merge_other")
        if st.button(t("合并", "Merge"), key="merge_go") and other:
            run(
                redraw.merge_grids,
                db,
                plan_id,
                keep,
                other,
                seen,
                success=t(
                    f"已将 {md_text(other)} 并入 {md_text(keep)}。",
                    f"{md_text(other)} merged into {md_text(keep)}.",
                ),
            )
    with tabs[4]:
        labels = dict(zip(buildings["code"], buildings["name"], strict=True))
        chosen = st.multiselect(
            t("楼栋", "Buildings"),
            list(buildings["code"]),
            format_func=lambda c: f"{labels[c]} ({c})",
            key="move_buildings",
            placeholder=t("请选择", "Choose"),
        )
        target = st.selectbox(t("移入网格", "Into grid"), codes, key="move_target")
        if st.button(t("移动", "Move"), key="move_go"):
            run(
                redraw.move_buildings,
                db,
                plan_id,
                chosen,
                target,
                seen,
                success=t(f"已移入网格 {md_text(target)}。", f"Moved into {md_text(target)}."),
            )
    with tabs[5]:
        target = st.selectbox(t("网格", "Grid"), codes, key="delete_grid")
        st.caption(
            t(
                "删除后其范围并入相邻网格(勾选“原样保存”则留空)。",
                "Its area goes to the neighbours (left empty when keeping shapes as drawn).",
            )
        )
        if st.button(t("删除网格", "Delete the grid"), key="delete_go"):
            run(
                redraw.delete_grid,
                db,
                plan_id,
                target,
                seen,
                insist=insist,
                success=t(f"已删除网格 {md_text(target)}。", f"Grid {md_text(target)} deleted."),
            )
    with tabs[6]:
        if st.button(t("撤销上一步修改", "Undo the last edit"), key="undo_go"):
            try:
                undone = redraw.undo_last_edit(db, plan_id, versions=seen)
            except GridmapError as exc:
                st.error(md_text(exc))
            else:
                st.session_state["redraw_message"] = (
                    t("已撤销。", "Undone.")
                    if undone
                    else t("没有可撤销的修改。", "Nothing to undo.")
                )
                st.rerun()

# --- validation, diff and the life cycle ------------------------------------------------------
st.subheader(t("检查与审批", "Checks and approval"))
issues = redraw.validate_plan(metrics, layers.buildings)
if issues:
    st.warning(
        t(f"未通过 {len(issues)} 项检查:", f"{len(issues)} checks fail:")
        + "\n"
        + "\n".join(f"- {md_text(i.message)}" for i in issues)
    )
else:
    st.success(t("全覆盖、无重叠、楼栋归属唯一、户数均在规范内。", "The plan passes every check."))

diff = redraw.diff_against_active(db, plan_id)
if diff is not None:
    with st.expander(
        t(
            f"与生效方案对比:变动网格 {diff.summary['grids_changed']} 个,移动楼栋 "
            f"{diff.summary['buildings_moved']} 栋 / {diff.summary['households_moved']} 户,"
            f"涉及网格长 {diff.summary['leaders_affected']} 人、"
            f"党组织 {diff.summary['branches_affected']} 个",
            f"Against the active plan: {diff.summary['grids_changed']} grids changed, "
            f"{diff.summary['buildings_moved']} buildings / {diff.summary['households_moved']} "
            f"households move, {diff.summary['leaders_affected']} leaders and "
            f"{diff.summary['branches_affected']} branches affected",
        )
    ):
        status_text = {
            "added": t("新增", "added"),
            "removed": t("撤销", "removed"),
            "reshaped": t("调整", "reshaped"),
            "unchanged": t("未变", "unchanged"),
        }
        st.dataframe(
            diff.grids.assign(status=diff.grids["status"].map(status_text)).rename(
                columns={
                    "code": t("网格编码", "Grid code"),
                    "status": t("变动", "Change"),
                    "households_before": t("调整前户数", "Households before"),
                    "households_after": t("调整后户数", "Households after"),
                    "changed_area_m2": t("变动面积(m²)", "Changed area (m²)"),
                    "leader_changed": t("网格长变动", "Leader changed"),
                    "branch_changed": t("党组织变动", "Branch changed"),
                }
            ),
            hide_index=True,
            width="stretch",
            key="diff_grids",
        )
        st.dataframe(
            diff.buildings.rename(
                columns={
                    "code": t("楼栋编码", "Building"),
                    "households": t("户数(户)", "Households"),
                    "from_code": t("原网格", "From grid"),
                    "to_code": t("新网格", "To grid"),
                }
            ).drop(columns="building_id"),
            hide_index=True,
            width="stretch",
            key="diff_buildings",
        )

cols = st.columns(4)
if status == "draft" and can("propose"):
    with cols[0]:
        reason = st.text_area(
            t("未通过检查时的理由", "Reason, when checks fail"), key="propose_reason", height=80
        )
        if st.button(t("提交审批", "Propose"), key="propose_go"):
            run(
                redraw.propose,
                db,
                plan_id,
                reason or None,
                success=t("已提交审批。", "Proposed for approval."),
            )
if status == "proposed" and can("approve"):
    cols[1].caption(t("由街道审批", "The street approves"))
    if cols[1].button(t("批准", "Approve"), key="approve_go"):
        run(redraw.approve, db, plan_id, success=t("已批准。", "Approved."))
if (
    status == "approved"
    and can("activate")
    and cols[2].button(t("生效", "Activate"), key="activate_go")
):
    run(redraw.activate, db, plan_id, success=t("方案已生效,楼栋归属已重算。", "Activated."))
if active_id is not None and can("rollback"):  # noqa: SIM102
    if cols[3].button(t("回退到上一方案", "Roll back to the previous plan"), key="rollback_go"):
        run(redraw.rollback, db, community, success=t("已回退到上一方案。", "Rolled back."))

with st.expander(t("方案说明与操作记录", "Plan note and history")):
    st.write(md_text(layers.plan.get("note") or None))
    audit = read_table(db, "audit_log")
    mine = audit[(audit["entity"] == "grid_plan") & (audit["entity_id"] == plan_id)]
    st.dataframe(
        mine[["at", "user_id", "action"]].rename(
            columns={
                "at": t("时间", "Time"),
                "user_id": t("用户", "User"),
                "action": t("操作", "Action"),
            }
        ),
        hide_index=True,
        width="stretch",
        key="history",
    )

st.session_state[seen_key] = versions  # what this user now sees (for stale-edit checks)
