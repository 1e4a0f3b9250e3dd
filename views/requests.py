"""诉求办理 — residents' requests through 收、办、评: the list by status with filters, the map of
open and overdue requests, logging a request by clicking the map (or by building code or
address), the detail view with its timeline and the actions its status allows, per-grid and
per-member statistics with downloads, the 12345 hotline import and the Open311 export.

UI only: the workflow and every number are :mod:`gridmap.requests`, the map
:func:`gridmap.maps.request_map`; every table and download holds only what the logged-in user
may see (the core's scope and masking, :mod:`gridmap.auth.scopes`).
"""

from __future__ import annotations

import json

import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from gridmap import requests as rq
from gridmap import settings
from gridmap.errors import GridmapError
from gridmap.io import table_to_csv, table_to_xlsx
from gridmap.maps import click_marker, request_map, selection_bounds
from gridmap.repository import read_table
from ui_common import (
    ICON,
    database_key,
    engine,
    from_link,
    md_text,
    page_title,
    personal_data,
    principal,
    require,
    role_tabs,
    sidebar,
    street_layers,
    t,
    to_link,
    unit,
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


def _first_text(*values: object) -> str:
    """The first of ``values`` that is a non-empty text ('' when none is)."""
    return next((v for v in values if isinstance(v, str) and v.strip()), "")


def fmt_time(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"


st.title(t("诉求办理", "Residents' requests"))
st.caption(
    t(
        "收、办、评:受理居民诉求并定位到网格和楼栋,派单给网格员、党员领单或部门接单,"
        "社区办不了的上报街道,办结后由居民评价(2 星及以下自动重办)。",
        "Collect, handle, evaluate: log a request (placed in its grid and building), assign it to "
        "a grid worker, a Party member or a department, escalate to the street, resolve, and let "
        "the resident rate it (2 stars or fewer reopens it).",
    )
)

# --- headline figures -------------------------------------------------------------------------
figures = rq.headline_figures(requests, now)
metrics = [
    (t("在办诉求", "Open"), f"{figures['open']:,}{unit('件')}"),
    (t("超期未办结", "Overdue, open"), f"{figures['overdue']:,}{unit('件')}"),
    (t("已办结", "Handled"), f"{figures['handled']:,}{unit('件')}"),
    (
        t("平均评价", "Average rating"),
        f"{figures['rating']:.2f}{unit('星')}" if figures["rating"] is not None else "—",
    ),
]
for column, (name, value) in zip(st.columns(4), metrics, strict=True):
    column.metric(name, value)
st.caption(t(f"统计时间:{now:%Y-%m-%d %H:%M}", f"As of {now:%Y-%m-%d %H:%M}"))

# --- filters ----------------------------------------------------------------------------------
#: A grid worker's page is built for a phone in the field: the filters folded, the map framed on
#: the own grid and shorter, the worklist first.
FIELD_WORKER = principal().role == "grid_worker"
filters = st.expander(t("筛选", "Filter"), expanded=not FIELD_WORKER)
f1, f2, f3, f4 = filters.columns([2, 2, 2, 1])
statuses = f1.multiselect(
    t("状态", "Status"),
    list(rq.STATUS_LABELS),
    default=list(rq.OPEN_STATUSES),
    format_func=lambda s: rq.STATUS_LABELS[s][i],
    key="rq_status",
    placeholder=t("请选择", "Choose"),
)
categories = f2.multiselect(
    t("类别", "Category"),
    sorted(set(settings.REQUEST_SLA_HOURS) | set(requests["category"])),
    key="rq_category",
    placeholder=t("请选择", "Choose"),
)
grids_chosen = f3.multiselect(
    t("网格", "Grid"),
    list(grid_codes),
    format_func=lambda g: grid_codes.get(g, str(g)),
    key="rq_grid",
    placeholder=t("请选择", "Choose"),
)
overdue_only = f4.checkbox(t("只看超期", "Overdue only"), key="rq_overdue")
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
        "地图显示所选条件下的在办诉求(超期为深红色)。点击地图,或用地图上的“我的位置”“地图中心”,"
        "为新诉求选定位置。",
        "The map shows the open requests of the filter (overdue in dark red). Click the map, or "
        "use “Where I am” or “Map centre” on it, to place a new request.",
    )
    if may_edit
    else t(
        "地图显示所选条件下的在办诉求(超期为深红色)。",
        "The map shows the open requests of the filter (overdue in dark red).",
    )
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
myself = t(f"本人({principal().name})", f"myself ({principal().name})")
# a role that records nothing (viewer) gets no 代为记录
behalf = (
    st.expander(
        t("代为记录纸质工单", "Recording a paper form for someone"),
        expanded=st.session_state.get("rq_actor") is not None,
    )
    if may_edit
    else None
)
actor = (
    None
    if behalf is None
    else behalf.selectbox(
        t(
            "代为记录(纸质工单上的网格员/网格长)",
            "On behalf of (grid worker / leader on a paper form)",
        ),
        [None, *people["id"]],
        format_func=lambda p: (
            myself if p is None else f"{people.set_index('id').loc[p, 'name']} (#{p})"
        ),
        key="rq_actor",
        help=t(
            "每一步都记入登录用户;代他人录入纸质工单时,在此选择该网格员或网格长,两人都会记下。",
            "Every step is signed by the logged-in user; when recording a paper form for someone "
            "else, choose that grid worker or leader here and both are stored.",
        ),
    )
)

# a role that may not log or import requests (viewer) gets no tab for it
tabs = role_tabs(
    {
        "list": t("诉求列表与办理", "List and handling"),
        "log": t("登记诉求", "Log a request") if may_edit else None,
        "stats": t("统计与导出", "Statistics and export"),
        "import": t("12345 热线导入", "12345 hotline import") if may_edit else None,
    }
)
tab_list, tab_stats = tabs["list"], tabs["stats"]
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


# --- list and detail --------------------------------------------------------------------------
with tab_list:
    flash = st.session_state.pop("rq_flash", None)
    if flash is not None:
        st.success(
            t(f"已保存。当前状态:{rq.STATUS_LABELS[flash][0]}", f"Saved: now {flash}")
            if flash in rq.STATUS_LABELS
            else t(f"已保存:{md_text(flash)}", f"Saved: {md_text(flash)}")
        )
    if may_edit:
        todo = rq.worklist(requests, now)
        scope_name = t("本网格", "your grid") if FIELD_WORKER else t("职责范围内", "in your scope")
        st.subheader(
            t(f"待办诉求({scope_name},{len(todo):,} 件)", f"To do ({scope_name}, {len(todo):,})")
        )
        if todo.empty:
            st.success(t("没有在办的诉求。", "No open request."))
        counts = todo["urgency"].value_counts()
        st.caption(
            " · ".join(
                f"{rq.URGENCY_LABELS[k][i]} {int(counts.get(k, 0))}{unit('件')}"
                for k in rq.URGENCY_LABELS
            )
            + t(
                f"(将到期:{settings.REQUEST_DUE_SOON_HOURS} 小时内到期)",
                f" (due soon: within {settings.REQUEST_DUE_SOON_HOURS} h)",
            )
        )
        colours = {"overdue": "red", "due_soon": "orange", "open": "blue"}
        for row in todo.head(settings.REQUEST_WORKLIST_SHOWN).itertuples():
            hours = row.hours_left
            left = (
                ""
                if hours != hours
                else t(f"超期 {-hours / 24:.1f} 天", f"{-hours / 24:.1f} days late")
                if hours < 0
                else t(f"剩 {hours:.0f} 小时", f"{hours:.0f} h left")
            )
            with st.container(border=True, key=f"rq_card_{row.id}"):
                card, button = st.columns([5, 1], vertical_alignment="center")
                card.markdown(
                    f":{colours[row.urgency]}[**{rq.URGENCY_LABELS[row.urgency][i]}**] "
                    f"{md_text(left)} · {md_text(row.category)} · "
                    f"{rq.STATUS_LABELS[row.status][i]}  \n"
                    f"{md_text(_first_text(row.address, row.description))}  \n"
                    f":gray[{md_text(row.code)} · {t('时限', 'due')} {fmt_time(row.due_at)}]"
                )
                if button.button(t("办理", "Open"), key=f"rq_todo_{row.id}"):
                    st.session_state["rq_selected"] = int(row.id)
                    st.rerun()

    if selected_id is not None and (requests["id"] == selected_id).any():
        detail = rq.request_detail(db, selected_id, personal_data=PERSONAL_DATA)
        st.subheader(f"{t('诉求', 'Request')} {md_text(detail['code'])}")
        assignee = detail["assignee_kind"]
        facts = {
            t("状态", "Status"): rq.STATUS_LABELS[detail["status"]][i],
            t("类别", "Category"): detail["category"],
            t("来源", "Source"): rq.SOURCE_LABELS[detail["source"]][i],
            t("网格", "Grid"): detail["grid_code"] or "—",
            t("楼栋", "Building"): detail["building_name"] or "—",
            t("地址", "Address"): detail["address"] or "—",
            t("诉求人", "Reporter"): detail["reporter"] or "—",
            t("承办", "Handled by"): (
                "—"
                if assignee is None
                else rq.ASSIGNEE_LABELS[assignee][i]
                + (f" {detail['assignee_name']}" if detail["assignee_name"] else "")
            ),
            t("受理时间", "Received"): fmt_time(detail["received_at"]),
            t("办结时限", "Due"): fmt_time(detail["due_at"]),
            t("办结时间", "Resolved"): fmt_time(detail["resolved_at"]),
            t("议事层级", "Decided at"): (
                rq.DECISION_LABELS[detail["decision_level"]][i] if detail["decision_level"] else "—"
            ),
            t("居民评价", "Rating"): f"{detail['rating']}{unit('星')}" if detail["rating"] else "—",
            t("12345 工单号", "12345 work order"): detail["external_id"] or "—",
        }
        # two columns of "field: value" lines, read without scrolling (one column on a phone)
        items = list(facts.items())
        half = (len(items) + 1) // 2
        for column, part in zip(st.columns(2), (items[:half], items[half:]), strict=True):
            column.markdown("\n".join(f"- **{name}:** {md_text(value)}" for name, value in part))
        st.markdown(f"**{t('诉求描述', 'Description')}:** {md_text(detail['description'])}")
        events = rq.timeline(db, selected_id, personal_data=PERSONAL_DATA)
        st.markdown(f"**{t('办理时间线', 'Timeline')}**")
        st.dataframe(
            pd.DataFrame(
                {
                    t("时间", "Time"): events["at"].map(fmt_time),
                    t("环节", "Step"): events["to_status"].map(lambda s: rq.STATUS_LABELS[s][i]),
                    t("操作用户", "By (account)"): events["user_name"].fillna(
                        t("(系统前记录)", "(before accounts)")
                    ),
                    t("代为记录", "On behalf of"): events["actor_name"].fillna(""),
                    t("说明", "Note"): events["note"].fillna(""),
                }
            ),
            hide_index=True,
            use_container_width=True,
            key="rq_timeline",
        )
        actions = detail["actions"]
        if not actions:
            st.info(t("该诉求已无可进行的操作。", "Nothing more can be done with this request."))
        else:
            action = st.radio(
                t("办理操作", "Action"),
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
                worker = st.selectbox(
                    t("网格员", "Grid worker"),
                    list(workers["id"]),
                    format_func=lambda p: f"{workers.set_index('id').loc[p, 'name']} (#{p})",
                    key="rq_worker",
                )
                if st.button(t("派单", "Assign"), key="rq_do") and worker is not None:
                    run_action(rq.assign, db, rid, int(worker), **kw)
            elif action == "dispatch":
                members = rq.member_table(db, personal_data=PERSONAL_DATA)
                zones = read_table(db, "member_zone")
                suggested = rq.suggest_members(
                    detail["grid_id"], detail["category"], members, requests, zones,
                    detail["building_id"],
                )  # fmt: skip
                if suggested.empty:
                    st.warning(t("该网格没有可领单的党员。", "No member in this grid can take it."))
                else:
                    st.caption(t("推荐党员(责任区、特长、在办件数)", "Suggested members"))
                    st.dataframe(
                        suggested.rename(
                            columns={
                                "member_id": t("党员编号", "Member id"),
                                "name": t("姓名", "Name"),
                                "specialties": t("特长", "Specialties"),
                                "load": t("在办(件)", "Open (count)"),
                                "reason": t("推荐理由", "Why"),
                            }
                        ).drop(columns=["category", "fits", "in_zone"]),
                        hide_index=True,
                        use_container_width=True,
                    )
                    names = suggested.set_index("member_id")["name"]
                    member = st.selectbox(
                        t("领单党员", "Member"),
                        list(suggested["member_id"]),
                        format_func=lambda m: f"{names.loc[m]} (#{m})",
                        key="rq_member",
                    )
                    if st.button(t("党员领单", "Dispatch"), key="rq_do"):
                        run_action(rq.dispatch, db, rid, int(member), **kw)
            elif action == "send_to_department":
                dept = st.text_input(t("承办部门", "Department"), key="rq_department")
                if st.button(t("派至部门", "Send"), key="rq_do"):
                    run_action(rq.send_to_department, db, rid, dept, **kw)
            elif action == "resolve":
                note = st.text_area(t("办结说明", "Resolution note"), key="rq_note")
                level = st.radio(
                    t("议事层级", "Decided at"),
                    [None, *rq.DECISION_LABELS],
                    format_func=lambda d: (
                        t("未记录", "not recorded") if d is None else rq.DECISION_LABELS[d][i]
                    ),
                    horizontal=True,
                    key="rq_level",
                )
                if st.button(t("办结", "Resolve"), key="rq_do"):
                    run_action(rq.resolve, db, rid, note, decision_level=level, **kw)
            elif action == "evaluate":
                rating = st.slider(t("居民评价(星)", "Rating (stars)"), 1, 5, 5, key="rq_rating")
                comment = st.text_input(t("评价意见", "Comment"), key="rq_comment")
                st.caption(
                    t(
                        f"{settings.REQUEST_REOPEN_MAX_RATING} 星及以下将自动重办。",
                        f"{settings.REQUEST_REOPEN_MAX_RATING} stars or fewer reopens it.",
                    )
                )
                if st.button(t("保存评价", "Save rating"), key="rq_do"):
                    run_action(rq.evaluate, db, rid, int(rating), comment, **kw)
            else:  # escalate, reject, reopen: a reason
                reason = st.text_input(t("原因", "Reason"), key="rq_reason")
                if st.button(rq.ACTION_LABELS[action][i], key="rq_do"):
                    func = {"escalate": rq.escalate, "reject": rq.reject, "reopen": rq.reopen}
                    run_action(func[action], db, rid, reason, **kw)

    late = rq.overdue_mask(listed, now)
    table = pd.DataFrame(
        {
            "id": listed["id"],
            t("编号", "Code"): listed["code"],
            t("状态", "Status"): listed["status"].map(lambda s: rq.STATUS_LABELS[s][i]),
            t("类别", "Category"): listed["category"],
            t("网格", "Grid"): listed["grid_id"].map(grid_codes),
            t("来源", "Source"): listed["source"].map(lambda s: rq.SOURCE_LABELS[s][i]),
            t("受理时间", "Received"): listed["received_at"].dt.strftime("%Y-%m-%d %H:%M"),
            t("办结时限", "Due"): listed["due_at"].dt.strftime("%Y-%m-%d %H:%M"),
            t("超期", "Overdue"): late.map({True: t("是", "yes"), False: ""}),
            t("描述", "Description"): listed["description"],
        }
    ).sort_values(t("受理时间", "Received"), ascending=False)
    st.subheader(t(f"诉求列表({len(table):,} 件)", f"Requests ({len(table):,})"))
    shown = table.drop(columns=["id"]).head(2000)
    st.dataframe(
        shown,
        hide_index=True,
        use_container_width=True,
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
    code = st.text_input(t("按编号打开诉求", "Open a request by code"), key="rq_code")
    if code:
        match = requests.loc[requests["code"] == code.strip(), "id"]
        if match.empty:
            st.warning(
                t(f"没有编号为 {md_text(code)} 的诉求。", f"No request with code {md_text(code)}.")
            )
        elif int(match.iloc[0]) != st.session_state.get("rq_selected"):
            st.session_state["rq_selected"] = int(match.iloc[0])
            st.rerun()

# --- log a request ----------------------------------------------------------------------------
if tab_log is not None:
    with tab_log:
        modes = {
            "point": t("地图点选", "Map click"),
            "building": t("楼栋编码", "Building code"),
            "address": t("地址", "Address"),
        }
        mode = st.radio(
            t("定位方式", "Place by"),
            list(modes),
            format_func=modes.get,
            horizontal=True,
            key="log_mode",
        )
        point = code = address = None
        if mode == "point":
            c1, c2 = st.columns(2)
            lon = c1.number_input(
                t("经度", "Longitude"), value=None, format="%.6f", key="log_lon", step=0.0001
            )
            lat = c2.number_input(
                t("纬度", "Latitude"), value=None, format="%.6f", key="log_lat", step=0.0001
            )
            if lon is None or lat is None:
                st.info(t("请在上方地图上点击诉求位置。", "Click the map above where it is."))
            else:
                point = (float(lon), float(lat))
        elif mode == "building":
            code = st.text_input(t("楼栋编码", "Building code"), key="log_code")
        address = st.text_input(
            t("地址(可选;按地址定位时必填)", "Address (required when placing by address)"),
            key="log_address",
        )
        categories_all = list(settings.REQUEST_SLA_HOURS)
        c1, c2 = st.columns(2)
        category = c1.selectbox(
            t("诉求类别", "Category"),
            categories_all,
            format_func=lambda c: (  # the language of this run: AppTest formats between runs
                f"{c}(时限 {rq.sla_hours(c)} 小时)" if zh else f"{c} (within {rq.sla_hours(c)} h)"
            ),
            key="log_category",
        )
        source = c2.selectbox(
            t("来源", "Source"),
            list(rq.SOURCE_LABELS),
            format_func=lambda s: rq.SOURCE_LABELS[s][i],
            key="log_source",
        )
        description = st.text_area(t("诉求描述", "Description"), key="log_description")
        reporter = st.text_input(
            t("诉求人(保存时脱敏)", "Reporter (stored masked)"), key="log_reporter"
        )
        submitted = st.button(t("登记诉求", "Log request"), key="log_submit", type="primary")
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
                st.session_state["rq_flash"] = t("已登记新诉求", "request logged")
                st.session_state["rq_logged"] = new
                st.rerun()
        if st.session_state.get("rq_logged"):
            logged = requests.loc[requests["id"] == st.session_state["rq_logged"]]
            if len(logged):
                logged_code = md_text(logged["code"].iloc[0])
                st.success(t(f"已登记诉求 {logged_code}", f"Logged {logged_code}"))

# --- statistics and export --------------------------------------------------------------------
with tab_stats:
    by_labels = {"grid": t("按网格", "Per grid"), "member": t("按党员", "Per member")}
    by = st.radio(
        t("统计维度", "By"),
        list(by_labels),
        format_func=by_labels.__getitem__,  # labels fixed now: the language of this run
        horizontal=True,
        key="stats_by",
    )
    # the user's grids and members only (the core cuts them), names as the role allows
    stats = rq.stats_for(db, now, by, personal_data=PERSONAL_DATA, scope=principal())
    shown_stats = rq.localise_stats(stats, lang)
    st.dataframe(shown_stats, hide_index=True, use_container_width=True, key="stats_table")
    st.caption(
        t(
            "办结用时 = 办结时间 − 受理时间;超期 = 未在时限内办结(含仍在办且已过时限);"
            f"党员领单办结得 {settings.REQUEST_POINTS_HANDLED} 分,"
            f"获 {settings.REQUEST_GOOD_RATING_MIN} 星及以上评价再加 "
            f"{settings.REQUEST_POINTS_GOOD_RATING} 分。",
            "Time to resolve = resolved − received; overdue = not resolved by its due time "
            f"(including open ones past due). A member earns {settings.REQUEST_POINTS_HANDLED} "
            f"points per request resolved, +{settings.REQUEST_POINTS_GOOD_RATING} for a rating of "
            f"{settings.REQUEST_GOOD_RATING_MIN} or more.",
        )
    )
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button(
        t("下载 CSV", "Download CSV"),
        table_to_csv(shown_stats),
        file_name=f"request_stats_{by}.csv",
        mime="text/csv",
    )
    d2.download_button(
        t("下载 Excel", "Download Excel"),
        table_to_xlsx(shown_stats, t("诉求统计", "stats")),
        file_name=f"request_stats_{by}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    open311 = rq.export_open311(db)
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

# --- 12345 hotline import ---------------------------------------------------------------------
if tab_import is not None:
    with tab_import:
        st.caption(
            t(
                "上传 12345 热线导出文件(CSV:UTF-8 / UTF-8 BOM / GBK;或 XLSX)。按坐标或地址定位;"
                "无法定位的行列出原因;已导入的工单号自动跳过,重复导入不会产生重复诉求。",
                "Upload a 12345 export (CSV in UTF-8 / UTF-8 BOM / GBK, or XLSX). Rows are "
                "placed by coordinates or address; rows that cannot be placed are listed with "
                "the reason; work orders already imported are skipped.",
            )
        )
        upload = st.file_uploader(
            t("热线文件", "Hotline file"), type=["csv", "xlsx"], key="hotline"
        )
        if upload is not None:
            try:
                raw = rq.read_hotline(upload.getvalue(), upload.name)
            except GridmapError as exc:
                st.error(md_text(exc))
                raw = None
            if raw is not None:
                guessed = rq.guess_mapping(raw.columns)
                crs = st.radio(
                    t("坐标系", "Coordinates"),
                    ["wgs84", "gcj02"],
                    format_func=lambda c: (
                        "WGS 84" if c == "wgs84" else t("GCJ-02(高德/腾讯)", "GCJ-02")
                    ),
                    horizontal=True,
                    key="hotline_crs",
                )
                st.markdown(t("**列对应**", "**Columns**"))
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
                                    "row": t("行号", "Row"),
                                    "external_id": t("工单号", "Work order"),
                                    "reason": t("原因", "Reason"),
                                }
                            ),
                            hide_index=True,
                            use_container_width=True,
                        )
                    ready = preview.ready.drop(columns=["geom"]).head(50)
                    st.dataframe(ready, hide_index=True, use_container_width=True)
                    if st.button(
                        t(f"导入 {len(preview.ready)} 条", f"Import {len(preview.ready)} rows"),
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
