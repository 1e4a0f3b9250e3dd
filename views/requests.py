"""诉求办理 — residents' requests through 收、办、评: the list by status with filters, the map of
open and overdue requests, logging a request by clicking the map (or by building code or
address), the detail view with its timeline and the actions its status allows, per-grid and
per-member statistics with downloads, the monthly assessment (三率考核: the ranking, each unit's
rates month by month, the street's weights), the 12345 hotline import and the Open311 export.

UI only: the workflow and every number are :mod:`gridmap.requests`, the map
:func:`gridmap.maps.request_map`; every table and download holds only what the logged-in user
may see (the core's scope and masking, :mod:`gridmap.auth.scopes`).
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from gridmap import requests as rq
from gridmap import settings
from gridmap.errors import GridmapError
from gridmap.i18n import text
from gridmap.io import table_to_csv, table_to_xlsx, tables_to_xlsx
from gridmap.maps import click_marker, request_map, selection_bounds
from gridmap.repository import read_table
from gridmap.weights import street_weights
from ui_common import (
    CACHE_TTL_S,
    ICON,
    database_key,
    engine,
    fragment,
    from_link,
    md_text,
    page_title,
    personal_data,
    principal,
    relabel,
    require,
    role_tabs,
    sidebar,
    street_layers,
    t,
    to_link,
    unit,
    weights_form,
)

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
require("read_masked_names")  # planners: aggregates only (figures on the other pages)
#: Names in full only for roles allowed to see them, and only when switched on.
PERSONAL_DATA = personal_data()
zh = lang == "zh"
i = 0 if zh else 1
db = engine()
layers = street_layers(database_key())
now = rq.street_now(db)  # the one "now" of every page (the demo's reference date on the demo)
requests = rq.load_requests(db)
grid_codes = dict(zip(layers.grids["id"], layers.grids["code"], strict=True))


# The tabs' analyses, cached per database version, user scope and choice (a page rerun — a
# filter of the list, a click on the map — recomputes none of them).
@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=64)
def _stats(key: str, now: object, by: str, personal: bool) -> pd.DataFrame:
    return rq.stats_for(engine(), now, by, personal_data=personal, scope=principal())


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=64)
def _rates(key: str, now: object, by: str, personal: bool, weights: dict) -> pd.DataFrame:
    return rq.rates_for(
        engine(), now, by, personal_data=personal, scope=principal(), weights=weights
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=64)
def _digest(key: str, now: object, day: object, personal: bool) -> rq.Digest:
    return rq.digest_for(engine(), now, day, scope=principal(), personal_data=personal)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=8)
def _open311(key: str) -> dict:
    return rq.export_open311(engine())


def _first_text(*values: object) -> str:
    """The first of ``values`` that is a non-empty text ('' when none is)."""
    return next((v for v in values if isinstance(v, str) and v.strip()), "")


def fmt_time(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"


st.title(t("诉求办理"))
st.caption(
    t(
        "收、办、评:受理居民诉求并定位到网格和楼栋,派单给网格员、党员领单或部门接单,社区"
        "办不了的上报街道,办结后由居民评价(2 星及以下自动重办)。"
    )
)

# --- headline figures -------------------------------------------------------------------------
figures = rq.headline_figures(requests, now)
metrics = [
    (t("在办诉求"), f"{figures['open']:,}{unit('件')}"),
    (t("超期未办结"), f"{figures['overdue']:,}{unit('件')}"),
    (t("已办结"), f"{figures['handled']:,}{unit('件')}"),
    (
        t("平均评价"),
        f"{figures['rating']:.2f}{unit('星')}" if figures["rating"] is not None else "—",
    ),
]
for column, (name, value) in zip(st.columns(4), metrics, strict=True):
    column.metric(name, value)
st.caption(t("统计时间:{now:%Y-%m-%d %H:%M}", now=now))

# --- filters ----------------------------------------------------------------------------------
#: A grid worker's page is built for a phone in the field: the filters folded, the map framed on
#: the own grid and shorter, the worklist first.
FIELD_WORKER = principal().role == "grid_worker"
filters = st.expander(t("筛选"), expanded=not FIELD_WORKER)
f1, f2, f3, f4 = filters.columns([2, 2, 2, 1])
relabel("rq_status", list(rq.STATUS_LABELS), multiple=True)
statuses = f1.multiselect(
    t("状态"),
    list(rq.STATUS_LABELS),
    default=list(rq.OPEN_STATUSES),
    format_func=lambda s: rq.STATUS_LABELS[s][i],
    key="rq_status",
    placeholder=t("请选择"),
)
categories = f2.multiselect(
    t("类别"),
    sorted(set(settings.REQUEST_SLA_HOURS) | set(requests["category"])),
    key="rq_category",
    placeholder=t("请选择"),
)
relabel("rq_grid", list(grid_codes), multiple=True)
grids_chosen = f3.multiselect(
    t("网格"),
    list(grid_codes),
    format_func=lambda g: grid_codes.get(g, str(g)),
    key="rq_grid",
    placeholder=t("请选择"),
)
overdue_only = f4.checkbox(t("只看超期"), key="rq_overdue")
listed = rq.filter_requests(requests, now, statuses, categories, grids_chosen, overdue_only)

# --- the map (a click chooses where a new request is) -----------------------------------------
# a link to a request (?request=CODE) opens it; the chosen request is in the address
linked = from_link("request", "rq_linked", list(requests["code"]))
if linked is not None:
    st.session_state["rq_selected"] = int(requests.loc[requests["code"] == linked, "id"].iloc[0])
selected_id = st.session_state.get("rq_selected")
if selected_id is not None and (requests["id"] == selected_id).any():
    to_link("request", requests.loc[requests["id"] == selected_id, "code"].iloc[0])
selected_point = None
if selected_id is not None and (requests["id"] == selected_id).any():
    selected_point = requests.loc[requests["id"] == selected_id].geometry.iloc[0]
#: The log form's fields, emptied once a request is logged (so a second click logs nothing);
#: emptied here, before the map and the form are drawn.
LOG_FIELDS = {"log_lon": None, "log_lat": None, "log_code": "", "log_address": "",
              "log_description": "", "log_reporter": ""}  # fmt: skip
if st.session_state.pop("log_clear", False):
    for key, empty in LOG_FIELDS.items():  # set, not deleted: the browser shows them empty
        st.session_state[key] = empty


def take_click(returned: object) -> None:
    """A new click on the map places the request being logged there."""
    last = returned.get("last_clicked") if isinstance(returned, dict) else None
    if last and last != st.session_state.get("rq_last_click"):
        st.session_state["rq_last_click"] = last
        st.session_state["log_lon"] = round(float(last["lng"]), 6)
        st.session_state["log_lat"] = round(float(last["lat"]), 6)
        st.session_state["log_mode"] = "point"


take_click(st.session_state.get("request_map"))  # the click of this run, before the map is drawn
clicked_point = None  # where the user clicked to place a new request: ringed on the map
if st.session_state.get("log_lon") is not None and st.session_state.get("log_lat") is not None:
    clicked_point = shapely.Point(st.session_state["log_lon"], st.session_state["log_lat"])
may_edit = principal().can("edit_requests")
own_grid = layers.grids[layers.grids["id"] == principal().grid_id] if FIELD_WORKER else None
fmap = request_map(
    layers,
    rq.map_frame(listed, now, lang),
    lang,
    basemap,
    selected_point,
    view=selection_bounds(own_grid) if own_grid is not None else None,
    placing=may_edit,
)
st.caption(
    t(
        "地图显示所选条件下的在办诉求(超期为深红色)。点击地图,或用地图上的“我的位置”“地"
        "图中心”,为新诉求选定位置。"
    )
    if may_edit
    else t("地图显示所选条件下的在办诉求(超期为深红色)。")
)
clicked = st_folium(
    fmap,
    height=420 if FIELD_WORKER else 560,
    use_container_width=True,
    returned_objects=["last_clicked"],
    feature_group_to_add=click_marker(clicked_point, lang),  # no redraw: the zoom stays
    key="request_map",
)
take_click(clicked)  # (the same click, when the component's state was not there yet)

people = rq.staff(db, personal_data=PERSONAL_DATA)  # cut to the user's scope, masked
myself = t("本人({name})", name=principal().name)
# a role that records nothing (viewer) gets no 代为记录
behalf = (
    st.expander(
        t("代为记录纸质工单"),
        expanded=st.session_state.get("rq_actor") is not None,
    )
    if may_edit
    else None
)
relabel("rq_actor", [None, *people["id"]])
actor = (
    None
    if behalf is None
    else behalf.selectbox(
        t("代为记录(纸质工单上的网格员/网格长)"),
        [None, *people["id"]],
        format_func=lambda p: (
            myself if p is None else f"{people.set_index('id').loc[p, 'name']} (#{p})"
        ),
        key="rq_actor",
        help=t("每一步都记入登录用户;代他人录入纸质工单时,在此选择该网格员或网格长,两人都会记下。"),
    )
)

# a role that may not log or import requests (viewer) gets no tab for it
tabs = role_tabs(
    {
        "list": t("诉求列表与办理"),
        "log": t("登记诉求") if may_edit else None,
        "stats": t("统计与导出"),
        "rates": t("三率考核"),
        "digest": t("每日简报"),
        "import": t("12345 热线导入") if may_edit else None,
    }
)
tab_list, tab_stats, tab_rates = tabs["list"], tabs["stats"], tabs["rates"]
tab_digest = tabs["digest"]
tab_log, tab_import = tabs.get("log"), tabs.get("import")


def run_action(func, *args, **kwargs) -> None:
    """Call a workflow function; show its error, or remember the success and rerun."""
    try:
        result = func(*args, **kwargs)
    except GridmapError as exc:
        st.error(md_text(exc))
        return
    st.session_state["rq_flash"] = result
    st.rerun()


def _open_picked() -> None:
    """Open the request picked from the possible duplicates, and clear the pick."""
    picked = st.session_state.get("rq_dup_open")
    if picked is not None:
        st.session_state["rq_selected"] = int(picked)
        st.session_state["rq_dup_open"] = None


# --- list and detail --------------------------------------------------------------------------
with tab_list:
    flash = st.session_state.pop("rq_flash", None)
    if flash is not None:
        st.success(
            t(
                "已保存。当前状态:{STATUS_LABELS}",
                STATUS_LABELS=rq.STATUS_LABELS[flash][0],
                flash=flash,
            )
            if flash in rq.STATUS_LABELS
            else t("已保存:{flash}", flash=md_text(flash))
        )
    if may_edit:
        todo = rq.worklist(requests, now)
        scope_name = t("本网格") if FIELD_WORKER else t("职责范围内")
        st.subheader(
            t("待办诉求({scope_name},{n_todo:,} 件)", scope_name=scope_name, n_todo=len(todo))
        )
        if todo.empty:
            st.success(t("没有在办的诉求。"))
        counts = todo["urgency"].value_counts()
        st.caption(
            " · ".join(
                f"{rq.URGENCY_LABELS[k][i]} {int(counts.get(k, 0))}{unit('件')}"
                for k in rq.URGENCY_LABELS
            )
            + t(
                "(将到期:{REQUEST_DUE_SOON_HOURS} 小时内到期)",
                REQUEST_DUE_SOON_HOURS=settings.REQUEST_DUE_SOON_HOURS,
            )
        )
        colours = {"overdue": "red", "due_soon": "orange", "open": "blue"}
        for row in todo.head(settings.REQUEST_WORKLIST_SHOWN).itertuples():
            hours = row.hours_left
            left = (
                ""
                if hours != hours
                else t("超期 {v:.1f} 天", v=-hours / 24)
                if hours < 0
                else t("剩 {hours:.0f} 小时", hours=hours)
            )
            with st.container(border=True, key=f"rq_card_{row.id}"):
                card, button = st.columns([5, 1], vertical_alignment="center")
                card.markdown(
                    f":{colours[row.urgency]}[**{rq.URGENCY_LABELS[row.urgency][i]}**] "
                    f"{md_text(left)} · {md_text(row.category)} · "
                    f"{rq.STATUS_LABELS[row.status][i]}  \n"
                    f"{md_text(_first_text(row.address, row.description))}  \n"
                    f":gray[{md_text(row.code)} · {t('时限')} {fmt_time(row.due_at)}]"
                )
                if button.button(t("办理"), key=f"rq_todo_{row.id}"):
                    st.session_state["rq_selected"] = int(row.id)
                    st.rerun()
        proposals = rq.duplicate_candidates(requests)
        if len(proposals):
            with st.expander(t("疑似重复诉求({n_dup:,} 件)", n_dup=len(proposals))):
                st.caption(
                    t("同一类别、相距 {DUPLICATE_DISTANCE_M:g} 米内、{DUPLICATE_DAYS:g} 天内先后"
                      "受理的在办诉求。打开后核实,确为重复的在“办理操作”中合并。",
                      DUPLICATE_DISTANCE_M=settings.DUPLICATE_DISTANCE_M,
                      DUPLICATE_DAYS=settings.DUPLICATE_DAYS)
                )  # fmt: skip
                st.dataframe(
                    pd.DataFrame(
                        {
                            t("诉求"): proposals["request_code"],
                            t("疑似重复于"): proposals["original_code"],
                            t("类别"): proposals["category"],
                            t("相距(米)"): proposals["distance_m"],
                            t("晚于原诉求(天)"): proposals["days_after"],
                        }
                    ),
                    hide_index=True,
                    width="stretch",
                    key="rq_duplicates",
                )
                codes = proposals.set_index("request_id")["request_code"]
                relabel("rq_dup_open", list(codes.index))
                st.selectbox(
                    t("打开诉求"), list(codes.index), format_func=codes.__getitem__,
                    index=None, key="rq_dup_open", on_change=_open_picked,
                    placeholder=t("请选择"),
                )  # fmt: skip

    if selected_id is not None and (requests["id"] == selected_id).any():
        detail = rq.request_detail(db, selected_id, personal_data=PERSONAL_DATA)
        st.subheader(f"{t('诉求')} {md_text(detail['code'])}")
        assignee = detail["assignee_kind"]
        facts = {
            t("状态"): rq.STATUS_LABELS[detail["status"]][i],
            t("类别"): detail["category"],
            t("来源"): rq.SOURCE_LABELS[detail["source"]][i],
            t("网格"): detail["grid_code"] or "—",
            t("楼栋"): detail["building_name"] or "—",
            t("地址"): detail["address"] or "—",
            t("诉求人"): detail["reporter"] or "—",
            t("承办"): (
                "—"
                if assignee is None
                else rq.ASSIGNEE_LABELS[assignee][i]
                + (f" {detail['assignee_name']}" if detail["assignee_name"] else "")
            ),
            t("受理时间"): fmt_time(detail["received_at"]),
            t("办结时限"): fmt_time(detail["due_at"]),
            t("办结时间"): fmt_time(detail["resolved_at"]),
            t("议事层级"): (
                rq.DECISION_LABELS[detail["decision_level"]][i] if detail["decision_level"] else "—"
            ),
            t("居民评价"): f"{detail['rating']}{unit('星')}" if detail["rating"] else "—",
            t("12345 工单号"): detail["external_id"] or "—",
            t("承办部门"): detail["department"] or "—",
            t("附议居民"): f"{int(detail['reporters'] or 1)}{unit('人')}",
        }
        # two columns of "field: value" lines, read without scrolling (one column on a phone)
        items = list(facts.items())
        half = (len(items) + 1) // 2
        for column, part in zip(st.columns(2), (items[:half], items[half:]), strict=True):
            column.markdown("\n".join(f"- **{name}:** {md_text(value)}" for name, value in part))
        st.markdown(f"**{t('诉求描述')}:** {md_text(detail['description'])}")
        if detail["duplicate_of"] is not None:
            st.info(
                t("已作为重复诉求合并到诉求 {original},请办理原诉求。",
                  original=md_text(requests.set_index("id")["code"].get(
                      int(detail["duplicate_of"]), f"#{int(detail['duplicate_of'])}")))
            )  # fmt: skip
        proposal = (
            rq.duplicate_candidates(requests, requests["id"] == int(selected_id))
            if detail["status"] in rq.OPEN_STATUSES
            else pd.DataFrame()
        )
        if len(proposal):
            best = proposal.iloc[0]
            st.warning(
                t("可能与在办诉求 {original_code} 重复:同一类别,相距 {distance:.0f} 米,晚 "
                  "{days:.1f} 天受理。确认后可在“办理操作”中合并。",
                  original_code=md_text(best["original_code"]), distance=best["distance_m"],
                  days=best["days_after"])
            )  # fmt: skip
        events = rq.timeline(db, selected_id, personal_data=PERSONAL_DATA)
        st.markdown(f"**{t('办理时间线')}**")
        st.dataframe(
            pd.DataFrame(
                {
                    t("时间"): events["at"].map(fmt_time),
                    t("环节"): events["to_status"].map(lambda s: rq.STATUS_LABELS[s][i]),
                    t("操作用户"): events["user_name"].fillna(t("(系统前记录)")),
                    t("代为记录"): events["actor_name"].fillna(""),
                    t("说明", context="views.requests"): events["note"].fillna(""),
                }
            ),
            hide_index=True,
            width="stretch",
            key="rq_timeline",
        )
        actions = detail["actions"]
        if not actions:
            st.info(t("该诉求已无可进行的操作。"))
        else:
            relabel("rq_action", actions)
            action = st.radio(
                t("办理操作"),
                actions,
                format_func=lambda a: rq.ACTION_LABELS[a][i],
                horizontal=True,
                key="rq_action",
            )
            kw = {"now": now, "actor_id": actor}
            rid = int(selected_id)
            if action == "assign":
                workers = rq.staff(db, detail["grid_id"], personal_data=PERSONAL_DATA)
                if detail["grid_id"] is None:
                    workers = people
                relabel("rq_worker", list(workers["id"]))
                worker = st.selectbox(
                    t("网格员"),
                    list(workers["id"]),
                    format_func=lambda p: f"{workers.set_index('id').loc[p, 'name']} (#{p})",
                    key="rq_worker",
                )
                if st.button(t("派单"), key="rq_do") and worker is not None:
                    run_action(rq.assign, db, rid, int(worker), **kw)
            elif action == "dispatch":
                members = rq.member_table(db, personal_data=PERSONAL_DATA)
                zones = read_table(db, "member_zone")
                suggested = rq.suggest_members(
                    detail["grid_id"], detail["category"], members, requests, zones,
                    detail["building_id"],
                )  # fmt: skip
                if suggested.empty:
                    st.warning(t("该网格没有可领单的党员。"))
                else:
                    st.caption(t("推荐党员(责任区、特长、在办件数)"))
                    st.dataframe(
                        suggested.rename(
                            columns={
                                "member_id": t("党员编号"),
                                "name": t("姓名"),
                                "specialties": t("特长"),
                                "load": t("在办(件)"),
                                "reason": t("推荐理由"),
                            }
                        ).drop(columns=["category", "fits", "in_zone"]),
                        hide_index=True,
                        width="stretch",
                    )
                    names = suggested.set_index("member_id")["name"]
                    relabel("rq_member", list(suggested["member_id"]))
                    member = st.selectbox(
                        t("领单党员"),
                        list(suggested["member_id"]),
                        format_func=lambda m: f"{names.loc[m]} (#{m})",
                        key="rq_member",
                    )
                    if st.button(t("党员领单"), key="rq_do"):
                        run_action(rq.dispatch, db, rid, int(member), **kw)
            elif action == "send_to_department":
                dept = st.text_input(t("承办部门"), key="rq_department")
                if st.button(t("派至部门"), key="rq_do"):
                    run_action(rq.send_to_department, db, rid, dept, **kw)
            elif action == "resolve":
                note = st.text_area(t("办结说明"), key="rq_note")
                relabel("rq_level", [None, *rq.DECISION_LABELS])
                level = st.radio(
                    t("议事层级"),
                    [None, *rq.DECISION_LABELS],
                    format_func=lambda d: (
                        text("未记录", lang) if d is None else rq.DECISION_LABELS[d][i]
                    ),
                    horizontal=True,
                    key="rq_level",
                )
                relabel(
                    "rq_close_code",
                    [None, *(c for c in rq.CLOSE_REASON_LABELS if c != "duplicate")],
                )
                closing = st.selectbox(
                    t("办结原因(非办理完成时选择)"),
                    [None, *(c for c in rq.CLOSE_REASON_LABELS if c != "duplicate")],
                    format_func=lambda c: (
                        text("办理完成", lang) if c is None else rq.CLOSE_REASON_LABELS[c][i]
                    ),
                    key="rq_close_code",
                )
                if st.button(t("办结"), key="rq_do"):
                    run_action(rq.resolve, db, rid, note, decision_level=level, code=closing,
                               **kw)  # fmt: skip
            elif action == "evaluate":
                rating = st.slider(t("居民评价(星)"), 1, 5, 5, key="rq_rating")
                relabel("rq_outcome", [None, *rq.OUTCOME_LABELS])
                outcome = st.radio(
                    t("居民表示"),
                    [None, *rq.OUTCOME_LABELS],
                    format_func=lambda o: (
                        text("未询问", lang) if o is None else rq.OUTCOME_LABELS[o][i]
                    ),
                    horizontal=True,
                    key="rq_outcome",
                )
                comment = st.text_input(t("评价意见"), key="rq_comment")
                st.caption(
                    t(
                        "{REQUEST_REOPEN_MAX_RATING} 星及以下或居民表示未解决,将自动重办。",
                        REQUEST_REOPEN_MAX_RATING=settings.REQUEST_REOPEN_MAX_RATING,
                    )
                )
                if st.button(t("保存评价"), key="rq_do"):
                    run_action(rq.evaluate, db, rid, int(rating), comment, outcome=outcome, **kw)
            elif action == "reroute":
                known = list(dict.fromkeys([*settings.REQUEST_SLA_HOURS, detail["category"]]))
                relabel("rq_new_category", known)
                new_category = st.selectbox(
                    t("改为类别"),
                    known,
                    index=known.index(detail["category"]),
                    format_func=lambda c: t("{c}(办结时限 {hours} 小时)", c=c,
                                            hours=rq.sla_hours(c)),
                    key="rq_new_category",
                )  # fmt: skip
                new_department = None
                if detail["assignee_kind"] == "department":
                    new_department = st.text_input(
                        t("改派部门"), value=detail["department"] or "", key="rq_new_department"
                    )
                st.caption(t("改为新类别后,办结时限按新类别从本轮受理(或重办)时起重新计算。"))
                reason = st.text_input(t("改派原因"), key="rq_reason")
                if st.button(t("改派"), key="rq_do"):
                    run_action(rq.reroute, db, rid, reason, category=new_category,
                               department=new_department, **kw)  # fmt: skip
            elif action == "merge":
                others = requests[
                    requests["status"].isin(rq.OPEN_STATUSES)
                    & requests["duplicate_of"].isna()
                    & (requests["id"] != rid)
                ].sort_values("received_at", ascending=False)
                proposed = [int(v) for v in proposal["original_id"]] if len(proposal) else []
                choices = list(dict.fromkeys([*proposed, *others["id"].astype(int)]))
                codes = requests.set_index("id")["code"]
                relabel("rq_merge_into", choices)
                into = st.selectbox(
                    t("合并到原诉求"),
                    choices,
                    format_func=lambda r: (
                        f"{codes.loc[r]}" + (t("(建议)") if r in proposed else "")
                    ),
                    key="rq_merge_into",
                )
                st.caption(
                    t("本诉求将作为重复诉求关闭(不予受理·重复),原诉求的附议人数加上本诉求的。")
                )
                if st.button(t("合并"), key="rq_do") and into is not None:
                    run_action(rq.merge_duplicate, db, rid, int(into), **kw)
            elif action == "reject":
                relabel("rq_reason_code", list(rq.CLOSE_REASON_LABELS))
                code = st.selectbox(
                    t("不予受理原因"),
                    list(rq.CLOSE_REASON_LABELS),
                    format_func=lambda c: rq.CLOSE_REASON_LABELS[c][i],
                    key="rq_reason_code",
                )
                reason = st.text_input(t("说明"), key="rq_reason")
                if st.button(rq.ACTION_LABELS[action][i], key="rq_do"):
                    run_action(rq.reject, db, rid, reason, code=code, **kw)
            else:  # escalate, reopen: a reason
                reason = st.text_input(t("原因", context="views.requests"), key="rq_reason")
                if st.button(rq.ACTION_LABELS[action][i], key="rq_do"):
                    func = {"escalate": rq.escalate, "reopen": rq.reopen}
                    run_action(func[action], db, rid, reason, **kw)

    late = rq.overdue_mask(listed, now)
    table = pd.DataFrame(
        {
            "id": listed["id"],
            t("编号"): listed["code"],
            t("状态"): listed["status"].map(lambda s: rq.STATUS_LABELS[s][i]),
            t("类别"): listed["category"],
            t("网格"): listed["grid_id"].map(grid_codes),
            t("来源"): listed["source"].map(lambda s: rq.SOURCE_LABELS[s][i]),
            t("受理时间"): listed["received_at"].dt.strftime("%Y-%m-%d %H:%M"),
            t("办结时限"): listed["due_at"].dt.strftime("%Y-%m-%d %H:%M"),
            t("超期"): late.map({True: t("是"), False: ""}),
            t("描述"): listed["description"],
        }
    ).sort_values(t("受理时间"), ascending=False)
    st.subheader(t("诉求列表({n_table:,} 件)", n_table=len(table)))
    shown = table.drop(columns=["id"]).head(2000)
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="request_table",
    )
    chosen_rows = st.session_state.get("request_table")
    rows = chosen_rows.selection.rows if chosen_rows is not None else []
    if rows and rows[0] < len(shown):
        picked = int(table["id"].iloc[rows[0]])
        if picked != st.session_state.get("rq_table_pick"):
            st.session_state["rq_table_pick"] = picked
            st.session_state["rq_selected"] = picked
            st.rerun()
    code = st.text_input(t("按编号打开诉求"), key="rq_code")
    if code:
        match = requests.loc[requests["code"] == code.strip(), "id"]
        if match.empty:
            st.warning(t("没有编号为 {code} 的诉求。", code=md_text(code)))
        elif int(match.iloc[0]) != st.session_state.get("rq_selected"):
            st.session_state["rq_selected"] = int(match.iloc[0])
            st.rerun()

# --- log a request ----------------------------------------------------------------------------
if tab_log is not None:
    with tab_log:
        modes = {
            "point": t("地图点选"),
            "building": t("楼栋编码"),
            "address": t("地址"),
        }
        relabel("log_mode", list(modes))
        mode = st.radio(
            t("定位方式"),
            list(modes),
            format_func=modes.get,
            horizontal=True,
            key="log_mode",
        )
        point = code = address = None
        if mode == "point":
            c1, c2 = st.columns(2)
            lon = c1.number_input(t("经度"), value=None, format="%.6f", key="log_lon", step=0.0001)
            lat = c2.number_input(t("纬度"), value=None, format="%.6f", key="log_lat", step=0.0001)
            if lon is None or lat is None:
                st.info(t("请在上方地图上点击诉求位置。"))
            else:
                point = (float(lon), float(lat))
        elif mode == "building":
            code = st.text_input(t("楼栋编码"), key="log_code")
        address = st.text_input(
            t("地址(可选;按地址定位时必填)"),
            key="log_address",
        )
        categories_all = list(settings.REQUEST_SLA_HOURS)
        c1, c2 = st.columns(2)
        relabel("log_category", categories_all)
        category = c1.selectbox(
            t("诉求类别"),
            categories_all,
            format_func=lambda c: (  # the language of this run: AppTest formats between runs
                text("{c}(时限 {c2} 小时)", lang, c=c, c2=rq.sla_hours(c))
            ),
            key="log_category",
        )
        relabel("log_source", list(rq.SOURCE_LABELS))
        source = c2.selectbox(
            t("来源"),
            list(rq.SOURCE_LABELS),
            format_func=lambda s: rq.SOURCE_LABELS[s][i],
            key="log_source",
        )
        description = st.text_area(t("诉求描述"), key="log_description")
        reporter = st.text_input(t("诉求人(保存时脱敏)"), key="log_reporter")
        submitted = st.button(
            t("登记诉求", context="views.requests"), key="log_submit", type="primary"
        )
        untouched = all(st.session_state.get(k) == v for k, v in LOG_FIELDS.items())
        if submitted and st.session_state.get("log_done") and untouched:
            submitted = False  # a second click on the form just logged and emptied: nothing
        if submitted:
            try:
                new = rq.log_request(
                    db,
                    category=category,
                    description=description,
                    source=source,
                    now=now,
                    point=point if mode == "point" else None,
                    building_code=code if mode == "building" else None,
                    address=address or None,
                    reporter=reporter or None,
                    actor_id=actor,
                )
            except GridmapError as exc:
                st.error(md_text(exc))
            else:
                st.session_state["log_done"] = True  # first, before anything is drawn
                st.session_state["log_clear"] = True
                st.session_state["rq_selected"] = new
                st.session_state["rq_flash"] = t("已登记新诉求")
                st.session_state["rq_logged"] = new
                st.rerun()
        if st.session_state.get("rq_logged"):
            logged = requests.loc[requests["id"] == st.session_state["rq_logged"]]
            if len(logged):
                logged_code = md_text(logged["code"].iloc[0])
                st.success(t("已登记诉求 {logged_code}", logged_code=logged_code))


# --- statistics and export --------------------------------------------------------------------
@fragment
def stats_tab() -> None:
    """统计与导出: a change of its widgets reruns this tab only (not the map)."""
    by_labels = {"grid": t("按网格"), "member": t("按党员")}
    relabel("stats_by", list(by_labels))
    by = st.radio(
        t("统计维度"),
        list(by_labels),
        format_func=by_labels.__getitem__,  # labels fixed now: the language of this run
        horizontal=True,
        key="stats_by",
    )
    # the user's grids and members only (the core cuts them), names as the role allows
    stats = _stats(database_key(), now, by, PERSONAL_DATA)
    shown_stats = rq.localise_stats(stats, lang)
    st.dataframe(shown_stats, hide_index=True, width="stretch", key="stats_table")
    st.caption(
        t(
            (
                "办结用时 = 办结时间 − 受理时间;超期 = 未在时限内办结(含仍在办且已过时限);党"
                "员领单办结得 {REQUEST_POINTS_HANDLED} 分,获 {REQUEST_GOOD_RATING_MIN} 星及"
                "以上评价再加 {REQUEST_POINTS_GOOD_RATING} 分。"
            ),
            REQUEST_POINTS_HANDLED=settings.REQUEST_POINTS_HANDLED,
            REQUEST_GOOD_RATING_MIN=settings.REQUEST_GOOD_RATING_MIN,
            REQUEST_POINTS_GOOD_RATING=settings.REQUEST_POINTS_GOOD_RATING,
        )
    )
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button(
        t("下载 CSV"),
        table_to_csv(shown_stats),
        file_name=f"request_stats_{by}.csv",
        mime="text/csv",
    )
    d2.download_button(
        t("下载 Excel"),
        table_to_xlsx(shown_stats, t("诉求统计")),
        file_name=f"request_stats_{by}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    open311 = _open311(database_key())
    d3.download_button(
        "Open311 requests.json",
        json.dumps(open311["requests"], ensure_ascii=False, indent=1).encode("utf-8"),
        file_name="requests.json",
        mime="application/json",
    )
    d4.download_button(
        "Open311 services.json",
        json.dumps(open311["services"], ensure_ascii=False, indent=1).encode("utf-8"),
        file_name="services.json",
        mime="application/json",
    )


# --- the monthly assessment (接诉即办 三率) -----------------------------------------------------
@fragment
def rates_tab() -> None:
    """三率考核: a change of unit, month or unit shown reruns this tab only."""
    units = {key: rq.RATE_UNITS[key][i] for key in rq.rate_units(principal())}
    c_by, c_month = st.columns([3, 2])
    relabel("rates_by", list(units))
    rate_by = c_by.radio(
        t("考核单位"), list(units), index=min(1, len(units) - 1) if "street" in units else 0,
        format_func=units.__getitem__, horizontal=True, key="rates_by",
    )  # fmt: skip
    rate_weights = street_weights(db, "request_rates")  # the street's own, else settings
    rates = _rates(database_key(), now, rate_by, PERSONAL_DATA, rate_weights)
    months = sorted(set(rates["month"]), reverse=True)
    default_month = str(rq.assessed_month(now))
    if not months:
        st.info(t("职责范围内还没有诉求,暂无考核数据。"))
    else:
        month = c_month.selectbox(
            t("考核月份"),
            months,
            index=months.index(default_month) if default_month in months else 0,
            key="rates_month",
        )
        ranking = rq.rank_month(rates, month)
        total = rq.total_rates(ranking, rate_weights)
        st.markdown(
            t("**{month} 职责范围内合计**(受理 {accepted:,} 件)", month=month,
              accepted=int(total["accepted"]))
        )  # fmt: skip
        cols = st.columns(len(rq.RATES) + 1)
        for col, (key, label) in zip(cols, rq.RATES.items(), strict=False):
            value = total[f"{key}_rate"]
            col.metric(label[i], "—" if pd.isna(value) else f"{value:.1f}%")
        cols[-1].metric(
            t("不予受理 / 重复"), f"{int(total['rejected'])} / {int(total['duplicates'])}"
        )
        st.dataframe(
            rq.localise_rates(ranking, lang, missing="—"),
            hide_index=True,
            width="stretch",
            key="rates_table",
        )
        for sentence in rq.rate_definitions(lang).values():
            st.caption(sentence)
        named = rates.drop_duplicates("unit_id").fillna({"unit_name": "", "unit_code": ""})
        labels = {
            int(r.unit_id): f"{r.unit_name} {r.unit_code}".strip() for r in named.itertuples()
        }
        relabel(
            f"rates_unit_{rate_by}", list(dict.fromkeys([*ranking["unit_id"].astype(int), *labels]))
        )
        picked = st.selectbox(
            t("逐月走势"),
            list(dict.fromkeys([*ranking["unit_id"].astype(int), *labels])),  # ranked first
            format_func=labels.__getitem__,
            key=f"rates_unit_{rate_by}",  # its own choice per kind of unit
        )
        series = rq.unit_series(rates, picked)
        chart = (
            series[[f"{k}_rate" for k in rq.RATES]]
            .rename(columns={f"{k}_rate": f"{label[i]} (%)" for k, label in rq.RATES.items()})
            .rename_axis("month")
            .reset_index()
            .melt("month", var_name="rate", value_name="value")
            .dropna(subset=["value"])
        )
        # points as well as lines: a month between months without requests still shows
        st.altair_chart(
            alt.Chart(chart)
            .mark_line(point=True)
            .encode(
                x=alt.X("month:O", title=t("受理月份")),
                y=alt.Y("value:Q", title=t("比率(%)"), scale=alt.Scale(domain=[0, 100])),
                color=alt.Color("rate:N", title=None, legend=alt.Legend(orient="bottom")),
                tooltip=["month", "rate", "value"],
            )
            .properties(height=280),
            width="stretch",
        )
        d1, d2 = st.columns(2)
        d1.download_button(
            t("下载本月考核表(Excel)"),
            table_to_xlsx(rq.localise_rates(ranking, lang), t("诉求三率考核")),
            file_name=f"request_rates_{rate_by}_{month}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="rates_xlsx",
        )
        d2.download_button(
            t("下载逐月考核表(CSV)"),
            table_to_csv(rq.localise_rates(rates, lang)),
            file_name=f"request_rates_{rate_by}_by_month.csv",
            mime="text/csv",
            key="rates_csv",
        )
    weights_form("request_rates", rate_weights, rq.RATES, zh)


# --- the day's digest for the morning meeting ---------------------------------------------------
@fragment
def digest_tab() -> None:
    """每日简报: another day reruns this tab only."""
    default_day = rq.digest_day(now)
    day = st.date_input(
        t("简报日期"), value=default_day, max_value=now.date(), key="digest_day",
        help=t("默认为最近一个完整的日子;当天未结束时按当前时刻统计。"),
    )  # fmt: skip
    try:
        digest = _digest(database_key(), now, day, PERSONAL_DATA)
    except GridmapError as exc:
        st.error(md_text(exc))
    else:
        st.caption(
            t("{day} 的诉求要情,截至 {as_of};即将到期:{REQUEST_DUE_LIST_HOURS:g} 小时内到期。",
              day=str(digest.day), as_of=fmt_time(digest.as_of),
              REQUEST_DUE_LIST_HOURS=settings.REQUEST_DUE_LIST_HOURS)
        )  # fmt: skip
        counts = digest.counts()
        for col, part in zip(st.columns(len(rq.DIGEST_PARTS)), rq.DIGEST_PARTS, strict=True):
            col.metric(rq.DIGEST_TITLES[part][i], f"{counts[part]:,}{unit('件')}")
        for part in [*rq.DIGEST_PARTS, "by_worker"]:
            frame = getattr(digest, part)
            if len(frame):
                st.markdown(f"**{rq.DIGEST_TITLES[part][i]}**")
                st.dataframe(
                    rq.localise_digest(frame, lang, grid_codes),
                    hide_index=True,
                    width="stretch",
                    key=f"digest_{part}",
                )
        st.download_button(
            t("下载简报(Excel)"),
            tables_to_xlsx(rq.digest_tables(digest, lang, grid_codes)),
            file_name=f"request_digest_{digest.day}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="digest_xlsx",
        )


# --- 12345 hotline import ---------------------------------------------------------------------
@fragment
def import_tab() -> None:
    """12345 热线导入: the upload, its mapping and preview rerun this tab only; the import
    reruns the whole page (the new requests on the list and the map)."""
    st.caption(
        t(
            "上传 12345 热线导出文件(CSV:UTF-8 / UTF-8 BOM / GBK;或 XLSX)。按坐标或"
            "地址定位;无法定位的行列出原因;已导入的工单号自动跳过,重复导入不会产生重"
            "复诉求。"
        )
    )
    upload = st.file_uploader(t("热线文件"), type=["csv", "xlsx"], key="hotline")
    if upload is not None:
        try:
            raw = rq.read_hotline(upload.getvalue(), upload.name)
        except GridmapError as exc:
            st.error(md_text(exc))
            raw = None
        if raw is not None:
            guessed = rq.guess_mapping(raw.columns)
            relabel("hotline_crs", ["wgs84", "gcj02"])
            crs = st.radio(
                t("坐标系", context="views.requests"),
                ["wgs84", "gcj02"],
                format_func=lambda c: "WGS 84" if c == "wgs84" else text("GCJ-02(高德/腾讯)", lang),
                horizontal=True,
                key="hotline_crs",
            )
            st.markdown(t("**列对应**"))
            mapping = {}
            cols = st.columns(4)
            options = [None, *raw.columns]
            for n, fieldname in enumerate(rq.HOTLINE_FIELDS):
                default = guessed.get(fieldname)
                mapping[fieldname] = cols[n % 4].selectbox(
                    fieldname,
                    options,
                    index=options.index(default) if default in options else 0,
                    key=f"hotline_map_{fieldname}",
                )
            try:
                preview = rq.preview_hotline(db, raw, mapping, crs)
            except GridmapError as exc:
                st.error(md_text(exc))
                preview = None
            if preview is not None:
                st.info(preview.summary())
                if len(preview.rejected):
                    st.dataframe(
                        preview.rejected.rename(
                            columns={
                                "row": t("行号"),
                                "external_id": t("工单号"),
                                "reason": t("原因", context="views.requests"),
                            }
                        ),
                        hide_index=True,
                        width="stretch",
                    )
                ready = preview.ready.drop(columns=["geom"]).head(50)
                st.dataframe(ready, hide_index=True, width="stretch")
                if st.button(
                    t("导入 {n_ready} 条", n_ready=len(preview.ready)),
                    key="hotline_import",
                    disabled=preview.ready.empty,
                ):
                    try:
                        done = rq.import_hotline(
                            db, upload.getvalue(), filename=upload.name, mapping=mapping,
                            crs=crs, actor_id=actor,
                        )  # fmt: skip
                    except GridmapError as exc:
                        st.error(md_text(exc))
                    else:
                        st.session_state["rq_flash"] = done.summary()
                        st.rerun()


with tab_stats:
    stats_tab()
with tab_rates:
    rates_tab()
with tab_digest:
    digest_tab()
if tab_import is not None:
    with tab_import:
        import_tab()
