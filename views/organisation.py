"""组织与人员 — the Party organisation tree, leaders, members (双报到, specialties), member
responsibility zones on a map, organisation-form advice, lost-contact and floating members, and
member points; with forms that edit them.

UI only: reads, edits, the advice and the lists go through :mod:`gridmap.organisation`, the map
:func:`gridmap.maps.zone_map`. Names and phones are masked unless the user's role allows them in
clear and the user switched that on (``PERSONAL_DATA``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridmap import organisation as org
from gridmap import settings
from gridmap.auth import current_time
from gridmap.errors import GridmapError, InputError
from gridmap.i18n import text
from gridmap.io import table_to_csv
from gridmap.labels import label
from gridmap.maps import zone_map
from gridmap.organisation import (
    FORM_LABELS,
    STATUS_LABELS,
    lost_contact_members,
    lost_contact_summary,
)
from gridmap.repository import read_table
from gridmap.validation import local_today
from ui_common import (
    ICON,
    community_picker,
    database_key,
    engine,
    md_text,
    page_title,
    personal_data,
    relabel,
    require,
    sidebar,
    street_layers,
    t,
    unit,
)

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, basemap = sidebar()
require("read_masked_names")  # planners: aggregates only
#: Names, phones and ID suffixes unmasked: the role allows it and the user switched it on.
PERSONAL_DATA = personal_data()
zh = lang == "zh"
key = database_key()


@st.cache_data(ttl=60, show_spinner="正在加载组织与人员… / Loading organisations and people…")
def _data(url: str, personal_data: bool) -> org.OrgData:
    return org.load_organisation(engine(), personal_data)


@st.cache_data(ttl=60, show_spinner=False)
def _advice(url: str):
    return org.street_advice(engine())


@st.cache_data(ttl=60, show_spinner=False)
def _table(url: str, name: str) -> pd.DataFrame:
    frame = read_table(engine(), name)
    return frame.drop(columns="geom") if "geom" in frame else frame


def _pair(pair: tuple[str, str]) -> str:
    return pair[0] if zh else pair[1]


def _edited(message: str) -> None:
    """After an edit: drop cached reads, keep the message for the next run, rerun."""
    st.cache_data.clear()
    st.session_state["org_flash"] = message
    st.rerun()


#: Where a run of the page keeps the member versions it showed (member id → version).
SHOWN_VERSIONS_KEY = "org_member_versions"


def _shown_version(member_id: int) -> int:
    """The version of a member as the page the user filled the form on showed it (the run
    before this one: a submitted form reruns the page, which reads the data afresh). Edits
    carry it, so one made on a stale page is refused (已被他人修改,请刷新) instead of undoing
    someone else's change."""
    version = SHOWN_BEFORE.get(int(member_id))
    if version is None:
        raise InputError(
            f"党员 {int(member_id)} 不在本页列出的党员中,请刷新后重试 / member {int(member_id)} "
            "is not among the members shown: reload and try again"
        )
    return version


def _run(action, message: str) -> None:
    """Run one core edit; show its error as a sentence, never a traceback."""
    try:
        action()
    except GridmapError as exc:
        st.error(md_text(exc))
        return
    _edited(message)


data = _data(key, PERSONAL_DATA)
communities = _table(key, "community")
buildings = _table(key, "building")
layers = street_layers(key)
advice = _advice(key)
orgs = data.orgs
members = data.members
#: The versions the page showed before this run (what a submitted form was filled in on).
SHOWN_BEFORE: dict[int, int] = st.session_state.get(SHOWN_VERSIONS_KEY, {})
st.session_state[SHOWN_VERSIONS_KEY] = {
    int(i): int(v) for i, v in zip(members["id"], members["version"], strict=True)
}

st.title(t("组织与人员"))
st.caption(
    t(
        "党组织体系(街道党工委—社区党委—网格党支部—楼栋党小组)、网格长与网格员、党员(含"
        "双报到在职党员)、党员责任区、党组织设置建议与失联流动党员。姓名与电话按权限脱敏"
        "显示。"
    )
)
flash = st.session_state.pop("org_flash", None)
if flash:
    st.success(flash)

problems = advice.problems()
metrics = [
    (t("党组织", context="views.organisation: metrics"), f"{len(orgs)}{unit('个')}"),
    (t("党员"), f"{len(members):,}{unit('名')}"),
    (
        t("双报到在职党员", context="views.organisation: metrics"),
        f"{int((members['category'] == 'in_service').sum())}{unit('名')}",
    ),
    (
        t("失联党员"),
        f"{int((members['category'] == 'lost_contact').sum())}{unit('名')}",
    ),
    (t("流动党员"), f"{int((members['category'] == 'floating').sum())}{unit('名')}"),
    (t("设置待调整"), f"{len(problems)}{unit('项')}"),
]
for column, (name, value) in zip(st.columns(len(metrics)), metrics, strict=True):
    column.metric(name, value)

org_names = dict(zip(orgs["id"], orgs["name"], strict=True))
kind_of = dict(zip(orgs["id"], orgs["kind"], strict=True))
persons = data.persons
person_label = {int(i): f"{n} (#{i})" for i, n in zip(persons["id"], persons["name"], strict=True)}
community_name = dict(zip(communities["id"], communities["name"], strict=True))
building_code = dict(zip(buildings["id"], buildings["code"], strict=True))

tabs = st.tabs(
    [
        t("组织架构"),
        t("党员"),
        t("设置建议"),
        t("失联与流动党员"),
        t("党员责任区"),
        t("网格长与楼栋长"),
        t("党员积分"),
        t("两新组织与党建盲区"),
    ]
)

# --- the tree ---------------------------------------------------------------------------------
with tabs[0]:
    tree = pd.DataFrame(
        {
            t("党组织"): [
                "　" * max(int(d), 0) + str(n)
                for d, n in zip(orgs["depth"], orgs["name"], strict=True)
            ],
            t("类型"): orgs["kind"].map(lambda k: _pair(org.KIND_LABELS[k])),
            t("社区"): orgs["community_id"].map(community_name).fillna(""),
            t("直属党员(名)"): orgs["members"],
            t("党员合计(名)"): orgs["members_total"],
            "id": orgs["id"],
        }
    )
    st.dataframe(tree, hide_index=True, width="stretch", height=420, key="org_tree")
    ids = orgs["id"].astype(int).tolist()

    def org_label(i: int | None) -> str:
        return t("(无,顶层)") if i is None else f"{org_names[i]} (#{i})"

    left, right = st.columns(2)
    with left.form("create_org"):
        st.markdown(t("**新建党组织**"))
        name = st.text_input(t("名称"), key="new_org_name")
        relabel("new_org_kind", list(org.KIND_LABELS))
        kind = st.selectbox(
            t("类型"),
            list(org.KIND_LABELS),
            index=3,
            format_func=lambda k: _pair(org.KIND_LABELS[k]),
            key="new_org_kind",
        )
        relabel("new_org_parent", [None, *ids])
        parent = st.selectbox(
            t("上级组织"), [None, *ids], format_func=org_label, key="new_org_parent"
        )
        if st.form_submit_button(t("新建")):
            _run(
                lambda: org.create_org(engine(), name, kind, parent),
                t("已新建「{name}」", name=md_text(name)),
            )
    with right.form("edit_org"):
        st.markdown(t("**改名 / 调整隶属 / 撤销**"))
        relabel("edit_org_id", ids)
        target = st.selectbox(t('党组织'), ids, format_func=org_label,
                              key="edit_org_id")  # fmt: skip
        new_name = st.text_input(t("新名称(改名时填)"), key="edit_org_name")
        relabel("edit_org_parent", [None, *ids])
        new_parent = st.selectbox(
            t("新上级 / 接收组织"),
            [None, *ids],
            format_func=org_label,
            key="edit_org_parent",
        )
        relabel("edit_org_action", ["rename", "move", "dissolve"])
        action = st.radio(
            t("操作"),
            ["rename", "move", "dissolve"],
            format_func=lambda a: {
                "rename": text("改名", lang),
                "move": text("调整隶属", lang),
                "dissolve": text("撤销(下级、党员、楼栋、网格转入接收组织)", lang),
            }[a],
            horizontal=True,
            key="edit_org_action",
        )
        if st.form_submit_button(t("执行")):
            if action == "rename":
                _run(lambda: org.rename_org(engine(), target, new_name), t("已改名"))
            elif action == "move":
                _run(lambda: org.move_org(engine(), target, new_parent), t("已调整"))
            else:
                _run(
                    lambda: org.dissolve_org(engine(), target, new_parent),
                    t("已撤销"),
                )

# --- members ----------------------------------------------------------------------------------
with tabs[1]:
    f1, f2 = st.columns(2)
    relabel("member_community", [None, *communities["id"].astype(int)])
    chosen_c = f1.selectbox(
        t("社区"),
        [None, *communities["id"].astype(int)],
        format_func=lambda c: text("全街道", lang) if c is None else community_name[c],
        key="member_community",
    )
    relabel("member_categories", list(org.CATEGORY_LABELS), multiple=True)
    chosen_cat = f2.multiselect(
        t("类别", context="views.organisation"),
        list(org.CATEGORY_LABELS),
        format_func=lambda c: _pair(org.CATEGORY_LABELS[c]),
        key="member_categories",
        placeholder=t("请选择"),
    )
    shown = members
    if chosen_c is not None:
        shown = shown[shown["community_id"] == chosen_c]
    if chosen_cat:
        shown = shown[shown["category"].isin(chosen_cat)]
    member_table = pd.DataFrame(
        {
            "id": shown["id"],
            t("姓名"): shown["name"],
            t("类别"): shown["category"].map(lambda c: _pair(org.CATEGORY_LABELS[c])),
            t("党组织"): shown["party_org_id"].map(org_names),
            t("楼栋"): shown["building_id"].map(building_code),
            t("工作单位"): shown["work_unit"],
            t("报到日期"): shown["registered_on"],
            t("志愿服务特长"): shown["specialties"],
            t("状态"): shown["status"],
        }
    )
    st.caption(t("共 {n_shown} 名", n_shown=len(shown)))
    st.dataframe(member_table, hide_index=True, width="stretch", height=360,
                 key="member_table")  # fmt: skip
    member_orgs = [int(i) for i in ids if kind_of[i] in org.MEMBER_ORG_KINDS]
    add_col, edit_col = st.columns(2)
    with add_col.form("add_member"):
        st.markdown(t("**新增党员**"))
        m_name = st.text_input(t("姓名"), key="add_member_name")
        m_phone = st.text_input(t("手机"), key="add_member_phone")
        relabel("add_member_category", list(org.CATEGORY_LABELS))
        m_cat = st.selectbox(t('类别'), list(org.CATEGORY_LABELS),
                             format_func=lambda c: _pair(org.CATEGORY_LABELS[c]),
                             key="add_member_category")  # fmt: skip
        relabel("add_member_org", member_orgs)
        m_org = st.selectbox(t('党组织'), member_orgs, format_func=org_label,
                             key="add_member_org")  # fmt: skip
        m_building = st.text_input(t("楼栋编码"), key="add_member_building")
        m_unit = st.text_input(t("工作单位(双报到)"), key="add_member_unit")
        m_reg = st.date_input(t('报到日期(双报到)'), value=None,
                              key="add_member_registered")  # fmt: skip
        m_spec = st.text_input(t('志愿服务特长(逗号分隔)'),
                               key="add_member_specialties")  # fmt: skip
        if st.form_submit_button(t("新增")):
            code_to_id = {v: k for k, v in building_code.items()}

            def add() -> None:
                if m_building and m_building not in code_to_id:
                    raise InputError(f"楼栋编码 {m_building} 不存在 / unknown building code")
                org.add_new_member(
                    engine(), m_name, m_org, m_cat, phone=m_phone or None,
                    building_id=code_to_id.get(m_building), work_unit=m_unit or None,
                    registered_on=m_reg, specialties=m_spec or None,
                )  # fmt: skip

            _run(add, t("已新增党员"))
    with edit_col.form("edit_member"):
        st.markdown(t("**修改 / 转接党员**"))
        e_id = st.number_input(t('党员编号(id)'), min_value=1, step=1,
                               key="edit_member_id")  # fmt: skip
        relabel("edit_member_category", [None, *org.CATEGORY_LABELS])
        e_cat = st.selectbox(
            t("新类别"),
            [None, *org.CATEGORY_LABELS],
            format_func=lambda c: (
                text("(不变)", lang) if c is None else _pair(org.CATEGORY_LABELS[c])
            ),
            key="edit_member_category",
        )
        relabel("edit_member_org", [None, *member_orgs])
        e_org = st.selectbox(t('转入党组织'), [None, *member_orgs],
                             format_func=lambda i: text('(不变)', lang) if i is None
                             else org_label(i), key="edit_member_org")  # fmt: skip
        e_unit = st.text_input(t("工作单位"), key="edit_member_unit")
        e_reg = st.date_input(
            t("报到日期", context="views.organisation"), value=None, key="edit_member_reg"
        )
        e_contact = st.date_input(t('最后联系日期'), value=None,
                                  key="edit_member_contact")  # fmt: skip
        e_spec = st.text_input(t("志愿服务特长"), key="edit_member_spec")
        if st.form_submit_button(t("保存")):
            changes = {
                k: v
                for k, v in {
                    "category": e_cat, "party_org_id": e_org, "work_unit": e_unit or None,
                    "registered_on": e_reg, "last_contact_on": e_contact,
                    "specialties": e_spec or None,
                }.items()
                if v is not None
            }  # fmt: skip
            _run(
                lambda: org.edit_member(
                    engine(), int(e_id), version=_shown_version(int(e_id)), **changes
                ),
                t("已保存"),
            )
    with st.expander(t("批量导入党员(CSV/Excel)")):
        st.caption(
            t(
                "列:姓名、党员类别、党组织、楼栋编码或地址,可选 手机、身份证后四位、入党"
                "日期、报到日期、工作单位、志愿服务特长、最后联系日期。CSV 可为 UTF-8 或"
                " GBK;有错误的行会逐行列出,且不导入任何数据。"
            )
        )
        upload = st.file_uploader(
            t("选择文件", context="views.organisation"), type=["csv", "xlsx"], key="member_file"
        )
        if upload is not None and st.button(t("导入"), key="member_import"):

            def do_import() -> None:
                rows = org.read_member_file(upload.getvalue(), upload.name)
                result = org.import_members(engine(), rows, upload.name)
                st.session_state["import_result"] = result

            _run(do_import, t("导入完成"))

# --- form advice ------------------------------------------------------------------------------
with tabs[2]:
    st.caption(
        t(
            (
                "党员 {BRANCH_MIN_MEMBERS} 名以上可单独建支部,{GENERAL_BRANCH_MIN_MEMBERS}–"
                "{COMMITTEE_MIN_MEMBERS} 名设党总支,{COMMITTEE_MIN_MEMBERS} 名以上设党委;不"
                "足 3 名的与地域相邻、类型相近的单元联合组建联合党支部;党员不足 3 名的支部需"
                "充实。"
            ),
            BRANCH_MIN_MEMBERS=settings.BRANCH_MIN_MEMBERS,
            GENERAL_BRANCH_MIN_MEMBERS=settings.GENERAL_BRANCH_MIN_MEMBERS,
            COMMITTEE_MIN_MEMBERS=settings.COMMITTEE_MIN_MEMBERS - 1,
        )
    )
    cols = st.columns(len(STATUS_LABELS))
    for column, (status, pair) in zip(cols, STATUS_LABELS.items(), strict=True):
        column.metric(_pair(pair), f"{advice.summary[status]}{unit('项')}")
    show_all = st.toggle(t("显示全部(含设置合理)"), key="advice_all")
    rows = advice.table if show_all else problems
    level_names = {"community": t('社区'), "grid": t('网格'),
                   "organisation": t('党组织')}  # fmt: skip
    advice_table = pd.DataFrame(
        {
            t("层级"): rows["level"].map(level_names),
            t("社区"): rows["community_name"],
            t("网格编码"): rows["grid_code"],
            t("党组织"): rows["org_name"],
            t("党员(名)"): rows["members"],
            t("应设"): rows["form_needed"].map(lambda f: _pair(FORM_LABELS[f])),
            t("现设"): rows["form_has"].map(lambda f: _pair(FORM_LABELS[f])),
            t("结论"): rows["status"].map(lambda s: _pair(STATUS_LABELS[s])),
            t("建议"): rows["advice" if zh else "advice_en"],
        }
    )
    if advice_table.empty:
        st.success(t("各社区、网格的党组织设置均合理。"))
    st.dataframe(advice_table, hide_index=True, width="stretch", key="advice_table")
    st.download_button(t('下载 CSV'), table_to_csv(advice_table),
                       file_name="org_advice.csv", mime="text/csv")  # fmt: skip

# --- lost contact -----------------------------------------------------------------------------
with tabs[3]:
    today = st.date_input(t("统计日期"), value=local_today(), key="lost_today")
    lost = lost_contact_members(members, communities, orgs, today)
    summary = lost_contact_summary(lost)
    st.dataframe(
        summary.rename(
            columns={
                "community_code": label("community_code", lang),
                "community_name": label("community", lang),
                "lost_contact": t("失联党员(名)"),
                "floating": t("流动党员(名)"),
                "overdue": t("需联系(名)"),
                "longest_days": t("最长未联系(天)"),
            }
        ),
        hide_index=True,
        width="stretch",
        key="lost_summary",
    )
    st.dataframe(
        pd.DataFrame(
            {
                label("community", lang): lost["community_name"],
                t("姓名"): lost["name"],
                t("类别"): lost["category"].map(lambda c: _pair(org.CATEGORY_LABELS[c])),
                t("党组织"): lost["org_name"],
                t("最后联系"): lost["last_contact_on"],
                t("未联系时长"): lost["since_text" if zh else "since_text_en"],
                t("需联系"): lost["overdue"],
            }
        ),
        hide_index=True,
        width="stretch",
        key="lost_table",
    )

# --- responsibility zones ---------------------------------------------------------------------
with tabs[4]:
    zone_code = community_picker(st, communities, zh, whole_street=False)
    zone_c = int(communities.loc[communities["code"] == zone_code, "id"].iloc[0])
    in_c = layers.buildings[layers.buildings["community_id"] == zone_c]
    zoned = org.zone_buildings(in_c, data.zones, members)
    grids = layers.grids.assign(workers=org.grid_staff(layers.grids, data.grid_workers, persons))
    st.caption(
        t(
            (
                "本社区 {nunique} 栋楼划入党员责任区,共 {nunique2} 名党员负责。点击楼栋可查"
                "看责任党员,点击网格可查看网格长、网格员与党组织。"
            ),
            nunique=zoned["id"].nunique(),
            nunique2=data.zones[data.zones["building_id"].isin(in_c["id"])]["member_id"].nunique(),
        )
    )
    fmap = zone_map(layers, zoned, grids=grids, lang=lang, basemap=basemap)
    st_folium(fmap, height=560, use_container_width=True, returned_objects=[], key="zone_map")
    with st.form("zone_form"):
        st.markdown(t("**划定责任区**"))
        z_member = st.number_input(t('党员编号(id)'), min_value=1, step=1,
                                   key="zone_member")  # fmt: skip
        z_codes = st.multiselect(t('负责的楼栋'), in_c["code"].tolist(),
                                 key="zone_buildings",
    placeholder=t('请选择'),
)  # fmt: skip
        if st.form_submit_button(t("保存责任区")):
            chosen = in_c.loc[in_c["code"].isin(z_codes), "id"].astype(int).tolist()
            _run(lambda: org.set_member_zone(engine(), int(z_member), chosen),
                 t('责任区已保存'))  # fmt: skip

# --- leaders ----------------------------------------------------------------------------------
with tabs[5]:
    grid_rows = layers.grids.assign(
        workers=org.grid_staff(layers.grids, data.grid_workers, persons)
    ).sort_values("code")
    st.dataframe(
        pd.DataFrame(
            {
                label("grid_code", lang): grid_rows["code"],
                label("leader", lang): grid_rows["leader_name"],
                t("网格员", context="views.organisation"): grid_rows["workers"],
                label("branch", lang): grid_rows["branch_name"],
            }
        ),
        hide_index=True,
        width="stretch",
        key="leader_table",
    )
    grid_ids = grid_rows["id"].astype(int).tolist()
    grid_code = dict(zip(grid_rows["id"], grid_rows["code"], strict=True))
    person_ids = list(person_label)
    with st.form("leader_form"):
        st.markdown(t("**网格长 / 网格员**"))
        relabel("leader_grid", grid_ids)
        l_grid = st.selectbox(label("grid", lang), grid_ids, format_func=lambda g: grid_code[g],
                              key="leader_grid")  # fmt: skip
        relabel("leader_person", person_ids)
        l_person = st.selectbox(
            t("人员"),
            person_ids,
            format_func=lambda p: person_label[p],
            key="leader_person",
        )
        relabel("leader_action", ["leader", "worker", "part_time", "remove"])
        l_action = st.radio(
            t("操作"),
            ["leader", "worker", "part_time", "remove"],
            format_func=lambda a: {
                "leader": text("设为网格长", lang),
                "worker": text("加为专职网格员", lang),
                "part_time": text("加为兼职网格员", lang),
                "remove": text("移出网格员", lang),
            }[a],
            horizontal=True,
            key="leader_action",
        )
        if st.form_submit_button(t("保存")):
            version = org.grid_versions(engine())[l_grid]

            def leader_edit() -> None:
                if l_action == "leader":
                    org.set_grid_leader(engine(), l_grid, l_person, version)
                elif l_action == "remove":
                    org.remove_grid_worker(engine(), l_grid, l_person, version)
                else:
                    org.add_grid_worker(engine(), l_grid, l_person, version,
                                        part_time=l_action == "part_time")  # fmt: skip

            _run(leader_edit, t("已保存"))
    with st.form("building_leader_form"):
        st.markdown(t("**楼栋长 / 单元长**"))
        b_code = st.text_input(t("楼栋编码"), key="bl_building")
        relabel("bl_person", person_ids)
        b_person = st.selectbox(t('人员'), person_ids,
                                format_func=lambda p: person_label[p], key="bl_person")  # fmt: skip
        b_stair = st.checkbox(t("同时设为单元长"), key="bl_stair")
        if st.form_submit_button(t("保存")):
            code_to_id = {v: k for k, v in building_code.items()}

            def building_edit() -> None:
                if b_code not in code_to_id:
                    raise InputError(f"楼栋编码 {b_code} 不存在 / unknown building code")
                org.set_building_leader(engine(), code_to_id[b_code], b_person)
                if b_stair:
                    org.set_stairwell_leader(engine(), b_person)

            _run(building_edit, t("已保存"))

# --- points -----------------------------------------------------------------------------------
with tabs[6]:
    year = st.number_input(t('年度'), min_value=2000, max_value=2100,
                           value=local_today().year, step=1, key="points_year")  # fmt: skip
    summary = org.points_summary(data.points, int(year))
    rules = pd.DataFrame(
        {
            t("积分项目"): [_pair(org.POINT_LABELS[k]) for k in settings.MEMBER_POINTS],
            t("每次(分)"): list(settings.MEMBER_POINTS.values()),
            t("年度上限(分)"): [settings.MEMBER_POINTS_YEAR_CAP[k] for k in settings.MEMBER_POINTS],
        }
    )
    st.dataframe(rules, hide_index=True, key="points_rules")
    if summary.empty:
        st.info(t("本年度尚无积分记录。"))
    else:
        named = summary.assign(name=summary["member_id"].map(members.set_index("id")["name"]))
        st.dataframe(named.sort_values("total", ascending=False), hide_index=True,
                     width="stretch", key="points_table")  # fmt: skip
    with st.form("points_form"):
        p_member = st.number_input(t('党员编号(id)'), min_value=1, step=1,
                                   key="points_member")  # fmt: skip
        relabel("points_kind", list(settings.MEMBER_POINTS))
        p_kind = st.selectbox(t('积分项目'), list(settings.MEMBER_POINTS),
                              format_func=lambda k: _pair(org.POINT_LABELS[k]),
                              key="points_kind")  # fmt: skip
        p_value = st.number_input(t('分值(仅“其他”)'), value=0, step=1,
                                  key="points_value")  # fmt: skip
        p_request = st.number_input(t('诉求编号(办理诉求)'), value=0,
                                    min_value=0, step=1, key="points_request")  # fmt: skip
        if st.form_submit_button(t("记分")):
            _run(
                lambda: org.award_points(
                    engine(), int(p_member), p_kind, current_time().replace(microsecond=0),
                    points=int(p_value) if p_kind == "other" else None,
                    request_id=int(p_request) if p_kind == "request" else None,
                    version=_shown_version(int(p_member)),
                ),
                t('已记分'),
            )  # fmt: skip

# --- blind spots: 两新组织, office and commercial buildings, new compounds ------------------------
with tabs[7]:
    from gridmap import blindspots

    all_orgs = _table(key, "organisation")
    scoped = all_orgs[all_orgs["community_id"].isin(layers.communities["id"])]
    found = blindspots.analyse_blind_spots(scoped, layers.buildings, persons)
    st.caption(
        t(
            (
                "规则：党员 {BRANCH_MIN_MEMBERS} 名以上单独建立党支部；1–{BRANCH_MIN_MEMBERS2}"
                " 名建立或加入联合党支部；没有党员的至少选派党建指导员。未达到的为党建盲区。"
                "联合党支部建议：相距 {ORG_ADJACENT_M:,.0f} 米以内且行业相近。"
            ),
            BRANCH_MIN_MEMBERS=settings.BRANCH_MIN_MEMBERS,
            BRANCH_MIN_MEMBERS2=settings.BRANCH_MIN_MEMBERS - 1,
            ORG_ADJACENT_M=settings.ORG_ADJACENT_M,
        )
    )
    counts = found.summary
    blind_metrics = [
        (t('两新组织'), f"{counts['organisations']}{unit('个')}"),
        (t('未覆盖'), f"{counts['organisations_uncovered']}{unit('个')}"),
        (
            t('党建盲区楼宇'),
            f"{counts['blind_spot_buildings']}{unit('栋')}",
        ),
        (t('新建小区未配建活动场所'),
         f"{counts['compounds_no_activity_space']}{unit('个')}"),
        (t('建议联合党支部'),
         f"{counts['proposed_joint_branches']}{unit('个')}"),
    ]  # fmt: skip
    for column, (name, value) in zip(st.columns(len(blind_metrics)), blind_metrics, strict=True):
        column.metric(name, value)
    st.subheader(t("未覆盖的两新组织"))
    if found.uncovered.empty:
        st.info(t("两新组织均已按规则覆盖。"))
    else:
        shown = found.uncovered.assign(
            building=found.uncovered["building_id"].map(building_code),
            community=found.uncovered["community_id"].map(community_name),
            coverage_label=found.uncovered["coverage"].map(
                lambda c: _pair(blindspots.COVERAGE_LABELS[c])
            ),
            why=found.uncovered["reason" if zh else "reason_en"],
        )[["code", "name", "community", "building", "industry", "employees", "members",
           "coverage_label", "why"]]  # fmt: skip
        shown.columns = [t('编码'), t('名称'), t('社区'),
                         t('楼栋'), t('行业'),
                         t('从业人员(人)'), t('党员(名)'),
                         t('现覆盖方式'), t('说明')]  # fmt: skip
        st.dataframe(shown, hide_index=True, width="stretch", key="blind_uncovered")
    st.subheader(t("党建盲区楼宇"))
    spots = pd.DataFrame(found.buildings.drop(columns="geometry"))
    if spots.empty:
        st.info(t("没有党建盲区楼宇。"))
    else:
        st.dataframe(spots, hide_index=True, width="stretch", key="blind_buildings")
    st.subheader(t("新建小区未配建党群活动场所"))
    compounds = pd.DataFrame(found.compounds.drop(columns="geometry"))
    if compounds.empty:
        st.info(t("没有需要配建活动场所的新建小区。"))
    else:
        compounds["community_id"] = compounds["community_id"].map(community_name)
        st.dataframe(compounds.drop(columns="building_ids"), hide_index=True,
                     width="stretch", key="blind_compounds")  # fmt: skip
    st.subheader(t("建议组建的联合党支部"))
    if found.proposals.empty:
        st.info(t('没有可联合组建的相邻、行业相近的小微组织。'))  # fmt: skip
    else:
        proposals = found.proposals.drop(columns="organisation_ids").assign(
            community_id=found.proposals["community_id"].map(community_name),
            viable=found.proposals["viable"].map(
                lambda v: t('党员人数已够，可组建') if v
                else t('党员不足，需上级党组织选派党员')
            ),
        )  # fmt: skip
        st.dataframe(proposals, hide_index=True, width="stretch", key="blind_proposals")
    st.subheader(t("党建指导员工作量"))
    if found.liaisons.empty:
        st.info(t("尚未选派党建指导员。"))
    else:
        st.dataframe(found.liaisons, hide_index=True, width="stretch",
                     key="blind_liaisons")  # fmt: skip
        over = int(found.liaisons["overloaded"].sum())
        if over:
            st.warning(
                t(
                    "{over} 名党建指导员联系的组织超过 {LIAISON_MAX_ORGANISATIONS} 个。",
                    over=over,
                    LIAISON_MAX_ORGANISATIONS=settings.LIAISON_MAX_ORGANISATIONS,
                )
            )
