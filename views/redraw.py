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
from gridmap import organisation as org
from gridmap.coverage import problem_table
from gridmap.errors import GridmapError
from gridmap.i18n import pair, text
from gridmap.labels import localise_columns
from gridmap.maps import redraw_map
from gridmap.repository import read_table
from ui_common import (
    CACHE_TTL_S,
    ICON,
    community_picker,
    database_key,
    engine,
    from_link,
    md_text,
    page_title,
    personal_data,
    principal,
    relabel,
    sidebar,
    t,
    to_link,
    unit,
)

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
zh = lang == "zh"
db = engine()


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=16)
def plan_check(key: str, plan_id: int) -> redraw.PlanCheck:
    """What ``gridmap check`` will report once the plan is active (per data version: an edit
    makes a new key)."""
    return redraw.plan_check(engine(), plan_id)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=16)
def plan_issues(key: str, plan_id: int) -> list[redraw.Issue]:
    """What needs a written reason to propose the plan."""
    return redraw.plan_issues(engine(), plan_id, plan_check(key, plan_id))


STATUS = {
    "draft": pair("草稿"),
    "proposed": pair("已提交"),
    "approved": pair("已批准"),
    "active": pair("生效中"),
    "retired": pair("已停用"),
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


st.title(t("网格调整"))
st.caption(
    t(
        "从生效方案复制草稿,在地图上修改网格(绘制、上传或粘贴边界,画线分割,合并,移动楼栋"
        "),每次修改后即时核算各网格户数;也可自动均衡。草稿经提交、街道批准后生效,可回退"
        "到上一方案。"
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
    st.info(t("该社区还没有网格方案。"))
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
relabel(f"plan_{community}", options)
plan_id = (
    middle.selectbox(
        t("方案"),
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
    if can("edit") and st.button(t("新建草案(复制生效方案)")):
        try:
            st.session_state["redraw_pending_plan"] = redraw.new_draft(db, community)
        except GridmapError as exc:
            st.error(md_text(exc))
        else:
            st.session_state["redraw_message"] = t("已新建草案。")
            st.rerun()
    balance = can("edit") and st.button(t("自动均衡生成草案"), key="balance")
if balance:
    bar = st.progress(0.0, text=t("自动均衡…"))
    try:
        new_id, result = redraw.balance_draft(
            db, community, progress=lambda f, m: bar.progress(min(f, 1.0), text=m)
        )
    except GridmapError as exc:
        st.error(md_text(exc))
    else:
        st.session_state["redraw_pending_plan"] = new_id
        st.session_state["redraw_message"] = (
            f"{t('已生成草案')} #{new_id}: {md_text(result.message)}"
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
    (t("网格数"), f"{s['grids']}{unit('个')}"),
    (t("户数超出规范"), f"{s['out_of_norm']}{unit('个')}"),
    (t("最大偏离目标"), f"{s['max_deviation']}{unit('户')}"),
    (t("未覆盖区域"), f"{s['gaps']}{unit('处')}"),
    (t("未覆盖面积"), f"{s['gap_area_m2']:,.0f} m²"),
    (t("网格重叠"), f"{s['overlaps']}{unit('处')}"),
    (t("不在网格的楼栋"), f"{s['unassigned_buildings']}{unit('栋')}"),
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
            (
                "**各网格户数**(规范 {GRID_HOUSEHOLDS_MIN}–{GRID_HOUSEHOLDS_MAX} 户,"
                "目标 {GRID_HOUSEHOLDS_TARGET} 户)"
            ),
            GRID_HOUSEHOLDS_MIN=settings.GRID_HOUSEHOLDS_MIN,
            GRID_HOUSEHOLDS_MAX=settings.GRID_HOUSEHOLDS_MAX,
            GRID_HOUSEHOLDS_TARGET=settings.GRID_HOUSEHOLDS_TARGET,
        )
    )
    norm_text = {
        "ok": t("符合"),
        "small": t("偏少"),
        "large": t("偏多"),
    }
    balance_table = pd.DataFrame(
        {
            t("网格编码"): metrics.grids["code"],
            t("户数(户)"): metrics.grids["households"],
            t("规范"): metrics.grids["norm"].map(norm_text),
            t("楼栋(栋)"): metrics.grids["buildings"],
            t("人口(人)"): metrics.grids["residents"],
            t("党员(名)"): metrics.grids["members"],
            t("面积(m²)"): metrics.grids["area_m2"].round(0).astype(int),
            t("紧凑度"): metrics.grids["compactness"].round(2),
            t("连片"): metrics.grids["contiguous"].map({True: t("是"), False: t("否")}),
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
    relabel(f"{key}_source", ["draw", "upload", "paste"])
    source = st.radio(
        t("图形来源"),
        ["draw", "upload", "paste"],
        format_func=lambda v: {
            "draw": text("地图上最后绘制的图形", lang),
            "upload": text("上传 GeoJSON 文件", lang),
            "paste": text("粘贴 GeoJSON", lang),
        }[v],
        horizontal=True,
        key=f"{key}_source",
    )
    if source == "draw":
        last = (drawn or {}).get("last_active_drawing")
        if not last:
            st.caption(t("先用地图左上角的工具画一个面(或分割用的线)。"))
        return last
    if source == "upload":
        file = st.file_uploader("GeoJSON", type=["geojson", "json"], key=f"{key}_file")
        return None if file is None else file.getvalue().decode("utf-8-sig")
    pasted = st.text_area("GeoJSON (WGS 84)", key=f"{key}_text", height=100)
    return pasted or None


if is_draft and can("edit"):
    st.subheader(t("修改草稿"))
    insist = st.checkbox(
        t("按所画边界原样保存(不吸附邻接网格,可能产生缝隙或重叠)"),
        key="insist",
    )
    tabs = st.tabs(
        [
            t("修改边界"),
            t("新建网格"),
            t("分割"),
            t("合并"),
            t("移动楼栋"),
            t("删除网格"),
            t("撤销"),
        ]
    )
    with tabs[0]:
        target = st.selectbox(t("网格"), codes, key="reshape_grid")
        shape = drawn_shape("polygon", "reshape")
        if st.button(t("用此边界替换"), key="reshape_go"):
            if shape is None:
                st.error(t("没有图形。"))
            else:
                run(
                    redraw.set_grid_geometry,
                    db,
                    plan_id,
                    target,
                    shape,
                    seen,
                    insist=insist,
                    success=t("已修改网格 {target} 的边界。", target=md_text(target)),
                )
    with tabs[1]:
        new_name = st.text_input(t("名称(可留空)"), key="create_name")
        shape = drawn_shape("polygon", "create")
        if st.button(t("新建网格", context="views.redraw"), key="create_go"):
            if shape is None:
                st.error(t("没有图形。"))
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
                    success=t("已新建网格。"),
                )
    with tabs[2]:
        target = st.selectbox(t("网格"), codes, key="split_grid")
        line = drawn_shape("line", "split")
        as_drawn = st.checkbox(
            t("按原线分割(被线穿过的楼栋将跨两个网格)"),
            key="split_as_drawn",
            help=t("默认:被分割线穿过的楼栋整栋划入占其面积较大的一侧,分割线随楼栋边线走。"),
        )
        kept = None
        if line is not None:
            try:  # what the split will do, before the click: the buildings kept whole
                cut = redraw.geometry_from_geojson(line, "line", t("分割线"))
                grid_geom = layers.grids.set_index("code").loc[target, "geom"]
                kept = redraw.split_preview(grid_geom, cut, layers.buildings, as_drawn)[2]
            except GridmapError as exc:
                st.warning(md_text(exc))
        if kept is not None and len(kept):
            side = {"larger": t("保留原编码的一侧"), "smaller": t("新网格")}
            st.caption(
                t(
                    "分割线穿过 {n} 栋楼,将整栋划入:{buildings}",
                    n=len(kept),
                    buildings=text("、", lang).join(
                        f"{code}({side[s]} {share:.0%})"
                        for code, s, share in zip(
                            kept["code"], kept["side"], kept["share"], strict=True
                        )
                    ),
                )
            )
        if st.button(t("按此线分割"), key="split_go"):
            if line is None:
                st.error(t("没有分割线。"))
            else:
                whole = "" if kept is None or kept.empty else text("、", lang).join(kept["code"])
                run(
                    redraw.split_grid,
                    db,
                    plan_id,
                    target,
                    line,
                    seen,
                    keep_as_drawn=as_drawn,
                    success=t("已分割网格 {target}。", target=md_text(target))
                    + (t("整栋保留:{buildings}。", buildings=md_text(whole)) if whole else ""),
                )
    with tabs[3]:
        a, b = st.columns(2)
        keep = a.selectbox(t("保留的网格"), codes, key="merge_keep")
        rest = [c for c in codes if c != keep]
        other = b.selectbox(t("并入的网格"), rest, key="merge_other")
        if st.button(t("合并"), key="merge_go") and other:
            run(
                redraw.merge_grids,
                db,
                plan_id,
                keep,
                other,
                seen,
                success=t("已将 {other} 并入 {keep}。", other=md_text(other), keep=md_text(keep)),
            )
    with tabs[4]:
        labels = dict(zip(buildings["code"], buildings["name"], strict=True))
        relabel("move_buildings", list(buildings["code"]), multiple=True)
        chosen = st.multiselect(
            t("楼栋", context="views.new_street"),
            list(buildings["code"]),
            format_func=lambda c: f"{labels[c]} ({c})",
            key="move_buildings",
            placeholder=t("请选择"),
        )
        target = st.selectbox(t("移入网格"), codes, key="move_target")
        if st.button(t("移动"), key="move_go"):
            run(
                redraw.move_buildings,
                db,
                plan_id,
                chosen,
                target,
                seen,
                success=t("已移入网格 {target}。", target=md_text(target)),
            )
    with tabs[5]:
        target = st.selectbox(t("网格"), codes, key="delete_grid")
        st.caption(t("删除后其范围并入相邻网格(勾选“原样保存”则留空)。"))
        if st.button(t("删除网格", context="views.redraw"), key="delete_go"):
            run(
                redraw.delete_grid,
                db,
                plan_id,
                target,
                seen,
                insist=insist,
                success=t("已删除网格 {target}。", target=md_text(target)),
            )
    with tabs[6]:
        if st.button(t("撤销上一步修改"), key="undo_go"):
            try:
                undone = redraw.undo_last_edit(db, plan_id, versions=seen)
            except GridmapError as exc:
                st.error(md_text(exc))
            else:
                st.session_state["redraw_message"] = (
                    t("已撤销。") if undone else t("没有可撤销的修改。")
                )
                st.rerun()

# --- validation, diff and the life cycle ------------------------------------------------------
st.subheader(t("检查与审批"))
if is_draft and (returned := redraw.returned_comment(layers.plan.get("note"))):
    st.warning(t("街道退回了此方案,意见:{comment}", comment=md_text(returned)))
check = plan_check(database_key(), plan_id)
issues = plan_issues(database_key(), plan_id)
st.caption(
    t(
        "以下是方案生效后“覆盖情况”和 gridmap check 将报告的全部问题(与其检查完全相同);"
        "“新增”为现行方案没有的问题。"
    )
)
if issues:
    st.warning(
        t("需填写理由才能提交的 {n_issues} 项:", n_issues=len(issues))
        + "\n"
        + "\n".join(f"- {md_text(i.in_language(lang))}" for i in issues)
    )
else:
    st.success(t("全覆盖、无重叠、楼栋归属唯一、户数均在规范内。"))
if len(check.problems):
    listed = problem_table(check.problems, lang).assign(new=check.problems["new"].to_numpy())
    listed = listed.fillna({"grid_code": "", "building_code": ""})  # blank, not "None"
    listed["new"] = listed["new"].map({True: t("新增", context="plan check"), False: t("原有")})
    st.dataframe(
        localise_columns(
            listed.loc[:, ["new", "label", "grid_code", "building_code", "detail"]], lang
        ).rename(columns={"new": t("与现行方案比")}),
        hide_index=True,
        width="stretch",
        key="plan_check_table",
    )

# a grid the draft left without a leader or branch (a split's or a balance's new grid) gets
# them here, in the same draft, before it is proposed
unstaffed = sorted(
    set(check.problems.loc[check.problems["kind"].isin(["grid_no_leader", "grid_no_branch"])
                           & check.problems["new"], "grid_code"].dropna())
)  # fmt: skip
if is_draft and can("edit") and unstaffed:
    with st.expander(t("为新网格配备网格长和党组织({n} 个网格)", n=len(unstaffed)), expanded=True):
        people = org.load_organisation(db, personal_data=personal_data()).persons
        person_label = {int(i): f"{n} (#{i})" for i, n in zip(people["id"], people["name"],
                                                               strict=True)}  # fmt: skip
        orgs = read_table(db, "party_org")
        mine = (orgs["community_id"] == layers.plan["community_id"]) | orgs["community_id"].isna()
        orgs = orgs[orgs["kind"].isin(org.GRID_ORG_KINDS) & mine]
        org_label = dict(zip(orgs["id"].astype(int), orgs["name"], strict=True))
        s1, s2, s3, s4 = st.columns([1, 2, 2, 1])
        relabel("staff_grid", unstaffed)
        staff_grid = s1.selectbox(t("网格"), unstaffed, key="staff_grid")
        relabel("staff_leader", [None, *person_label])
        staff_leader = s2.selectbox(
            t("网格长"), [None, *person_label], key="staff_leader",
            format_func=lambda p: t("不变") if p is None else person_label[p],
        )  # fmt: skip
        relabel("staff_org", [None, *org_label])
        staff_org = s3.selectbox(
            t("党组织(党支部/党小组)"), [None, *org_label], key="staff_org",
            format_func=lambda o: t("不变") if o is None else org_label[o],
            help=t("新党支部可先在“组织与人员”中建立,再在此指定。"),
        )  # fmt: skip
        if s4.button(t("保存"), key="staff_go"):
            run(
                redraw.set_grid_staff,
                db,
                plan_id,
                staff_grid,
                staff_leader,
                staff_org,
                seen,
                success=t("已为网格 {grid} 配备。", grid=md_text(staff_grid)),
            )

diff = redraw.diff_against_active(db, plan_id)
if diff is not None:
    with st.expander(
        t(
            (
                "与生效方案对比:变动网格 {grids_changed} 个,移动楼栋 {buildings_moved} 栋 /"
                " {households_moved} 户,涉及网格长 {leaders_affected} 人、"
                "党组织 {branches_affected} 个"
            ),
            grids_changed=diff.summary["grids_changed"],
            buildings_moved=diff.summary["buildings_moved"],
            households_moved=diff.summary["households_moved"],
            leaders_affected=diff.summary["leaders_affected"],
            branches_affected=diff.summary["branches_affected"],
        )
    ):
        status_text = {
            "added": t("新增", context="views.redraw"),
            "removed": t("撤销", context="views.redraw"),
            "reshaped": t("调整"),
            "unchanged": t("未变"),
        }
        st.dataframe(
            diff.grids.assign(status=diff.grids["status"].map(status_text)).rename(
                columns={
                    "code": t("网格编码"),
                    "status": t("变动"),
                    "households_before": t("调整前户数"),
                    "households_after": t("调整后户数"),
                    "changed_area_m2": t("变动面积(m²)"),
                    "leader_changed": t("网格长变动"),
                    "branch_changed": t("党组织变动"),
                }
            ),
            hide_index=True,
            width="stretch",
            key="diff_grids",
        )
        st.dataframe(
            diff.buildings.rename(
                columns={
                    "code": t("楼栋编码", context="views.redraw"),
                    "households": t("户数(户)"),
                    "from_code": t("原网格"),
                    "to_code": t("新网格"),
                }
            ).drop(columns="building_id"),
            hide_index=True,
            width="stretch",
            key="diff_buildings",
        )

cols = st.columns(4)
if status == "draft" and can("propose"):
    with cols[0]:
        reason = st.text_area(t("未通过检查时的理由"), key="propose_reason", height=80)
        if st.button(t("提交审批"), key="propose_go"):
            run(
                redraw.propose,
                db,
                plan_id,
                reason or None,
                success=t("已提交审批。"),
            )
if status == "proposed" and can("approve"):
    cols[1].caption(t("由街道审批"))
    if cols[1].button(t("批准"), key="approve_go"):
        run(redraw.approve, db, plan_id, success=t("已批准。"))
    with cols[0]:
        comment = st.text_area(t("退回意见(社区将看到)"), key="return_comment", height=80)
        if st.button(t("退回修改"), key="return_go"):
            run(
                redraw.return_to_draft,
                db,
                plan_id,
                comment,
                success=t("已退回社区修改。"),
            )
if status == "approved" and can("activate") and cols[2].button(t("生效"), key="activate_go"):
    run(redraw.activate, db, plan_id, success=t("方案已生效,楼栋归属已重算。"))
if active_id is not None and can("rollback"):  # noqa: SIM102
    if cols[3].button(t("回退到上一方案"), key="rollback_go"):
        run(redraw.rollback, db, community, success=t("已回退到上一方案。"))

with st.expander(t("方案说明与操作记录")):
    st.write(md_text(layers.plan.get("note") or None))
    audit = read_table(db, "audit_log")
    mine = audit[(audit["entity"] == "grid_plan") & (audit["entity_id"] == plan_id)]
    st.dataframe(
        mine[["at", "user_id", "action"]].rename(
            columns={
                "at": t("时间"),
                "user_id": t("用户"),
                "action": t("操作"),
            }
        ),
        hide_index=True,
        width="stretch",
        key="history",
    )

st.session_state[seen_key] = versions  # what this user now sees (for stale-edit checks)
