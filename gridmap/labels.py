"""User-facing names of layers, fields and enum values: Chinese first, English on request.

The CLI, the maps and the app all take their words from here, so a term reads the same
everywhere and matches the glossary of DESIGN.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from gridmap.i18n import english, pair

if TYPE_CHECKING:
    import pandas as pd

Language = Literal["zh", "en"]

#: (中文, English) for every table, column and enum value shown to users.
LABELS: dict[str, tuple[str, str]] = {
    # layers
    "street": pair("街道"),
    "community": pair("社区"),
    "grid_plan": pair("网格划分方案"),
    "grid": pair("网格"),
    "grid_worker": pair("网格员配置"),
    "building": pair("楼栋"),
    "service_station": pair("党群服务站(点)"),
    "party_org": pair("党组织", "labels"),
    "person": pair("人员"),
    "member": pair("党员", "labels"),
    "request": pair("诉求"),
    "request_event": pair("诉求流转记录"),
    "user": pair("用户"),
    "audit_log": pair("操作日志"),
    # headline figures and summary columns
    "communities": pair("社区数"),
    "grids": pair("网格数"),
    "buildings": pair("楼栋数"),
    "households": pair("户数"),
    "estimated_households": pair("其中估算户数"),
    "households_estimated": pair("户数为估算"),
    "residents_estimated": pair("人口为估算"),
    "residents": pair("人口"),
    "members": pair("党员数", "labels"),
    "stations": pair("党群服务站(点)", "labels"),
    "open_requests": pair("未办结诉求"),
    "code": pair("编码"),
    "name": pair("名称"),
    "leader": pair("网格长"),
    "building_leader": pair("楼栋长"),
    "branch": pair("党组织", "labels 2"),
    "none": pair("无"),
    # problem tables (gridmap.coverage.TABLE_COLUMNS)
    "kind": pair("类型代码"),
    "label": pair("问题类型", "labels"),
    "community_code": pair("社区编码", "labels"),
    "grid_code": pair("网格编码"),
    "other_grid_code": pair("相关网格"),
    "building_code": pair("楼栋编码"),
    "area_m2": pair("面积(平方米)"),
    "share": pair("占比"),
    "distance_m": pair("距离(米)"),
    "detail": pair("说明", "labels"),
    "lon": pair("经度"),
    "lat": pair("纬度"),
    "score": pair("综合得分"),
    # base maps
    "basemap_none": pair("无底图(离线)"),
    "basemap_osm": ("OpenStreetMap", "OpenStreetMap"),
    "basemap_tianditu": pair("天地图"),
}


#: (中文, English) of every action the audit log records (``audit_log.action``).
AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    "login": pair("登录"),
    "login_failed": pair("登录失败"),
    "login_locked": pair("登录被锁定"),
    "user_create": pair("新建用户"),
    "user_change": pair("修改用户"),
    "user_disable": pair("停用用户"),
    "user_reset_password": pair("重置密码"),
    "street_create": pair("新建街道", "audit actions"),
    "clear": pair("清空街道数据"),
    "demo_replace": pair("写入示范数据"),
    "street_create_replace_demo": pair("新建街道(替换示范数据)"),
    "street_import": pair("导入街道"),
    "street_weights": pair("设置本街道权重"),
    "street_weights_reset": pair("恢复默认权重"),
    "import": pair("导入数据"),
    "restore": pair("从备份恢复"),
    "plan_initial": pair("初始网格方案"),
    "plan_new_draft": pair("新建方案草稿"),
    "plan_propose": pair("提交方案"),
    "plan_approve": pair("批准方案"),
    "plan_return": pair("退回方案"),
    "plan_activate": pair("启用方案"),
    "plan_rollback": pair("回退方案"),
    "plan_balance": pair("自动均衡方案"),
    "request_create": pair("登记诉求", "audit actions"),
    "request_import": pair("导入诉求"),
    "request_log": pair("受理诉求"),
    "request_assign": pair("派单至网格员"),
    "request_dispatch": pair("党员领单", "audit actions"),
    "request_send_to_department": pair("部门接单"),
    "request_escalate": pair("上报街道"),
    "request_resolve": pair("办结诉求"),
    "request_evaluate": pair("居民评价", "audit actions"),
    "request_reject": pair("不予受理"),
    "request_reopen": pair("重新办理"),
    "request_reroute": pair("改派诉求"),
    "request_merge": pair("合并重复诉求"),
    "org_create": pair("新建党组织"),
    "org_rename": pair("党组织改名"),
    "org_move": pair("调整党组织隶属"),
    "org_change_kind": pair("调整党组织类型"),
    "org_dissolve": pair("撤销党组织"),
    "person_add": pair("新增人员"),
    "person_edit": pair("修改人员信息"),
    "person_stairwell_leader": pair("设置单元长"),
    "member_add": pair("新增党员"),
    "member_add_new": pair("新增党员(新人员)"),
    "member_edit": pair("修改党员信息"),
    "member_move": pair("党员转接"),
    "member_import": pair("导入党员"),
    "member_points": pair("党员积分", "audit actions"),
    "member_zone": pair("划定党员责任区"),
    "grid_set_leader": pair("设置网格长"),
    "grid_add_worker": pair("增配网格员"),
    "grid_remove_worker": pair("移除网格员"),
    "building_set_leader": pair("设置楼栋长"),
}


#: Chinese counting words (量词) and units, and what follows a figure in English: a count reads
#: bare in English ("12") where its label says what is counted; a unit that adds meaning keeps a
#: word ("1,204 households", "6.0 per 100 households").
UNITS: dict[str, str] = {
    "个": "",
    "栋": "",
    "户": "households",
    "人": "people",
    "名": "",
    "件": "",
    "处": "",
    "项": "",
    "格": "grids",
    "条": "rows",
    "分": "points",
    "星": "★",
    "小时": "h",
    "名/百户": "per 100 households",
    "名/km²": "per km²",
}


def unit(zh_unit: str, lang: Language = "zh") -> str:
    """What follows a figure counted in ``zh_unit``, with its leading space ("" when none).

    Parameters
    ----------
    zh_unit
        The Chinese counting word or unit, a key of :data:`UNITS`.
    lang
        The language shown.

    Raises
    ------
    KeyError
        ``zh_unit`` is not in :data:`UNITS`: every unit the app shows has its English.
    """
    english = UNITS[zh_unit]
    shown = zh_unit if lang == "zh" else english
    return f" {shown}" if shown else ""


def action_label(action: str, lang: Language = "zh") -> str:
    """The audit log's ``action`` in ``lang``; an action not in :data:`AUDIT_ACTIONS` shows
    its key (never silently renamed)."""
    names = AUDIT_ACTIONS.get(action)
    if names is None:
        return action
    return names[0] if lang == "zh" else names[1]


def label(key: str, lang: Language = "zh") -> str:
    """The user-facing name of ``key`` in ``lang``; the key itself when it has none."""
    names = LABELS.get(key)
    if names is None:
        return key
    return names[0] if lang == "zh" else names[1]


def localise_columns(table: pd.DataFrame, lang: Language = "zh") -> pd.DataFrame:
    """The table with its column names in ``lang`` (unknown columns keep their names), and
    in English the redaction mark (:data:`gridmap.auth.REDACTED`) of hidden values in English."""
    shown = table.rename(columns={c: label(c, lang) for c in table.columns})
    return shown if lang == "zh" else localise_redacted(shown, lang)


def localise_redacted(table: pd.DataFrame, lang: Language = "zh") -> pd.DataFrame:
    """The table with every hidden value's mark (:data:`gridmap.auth.REDACTED`, stored in
    Chinese) shown in ``lang``."""
    from gridmap.auth.masking import REDACTED

    if lang == "zh" or table.empty:
        return table
    text_columns = [c for c in table.columns if table[c].dtype == object]
    if not text_columns:
        return table
    return table.assign(**{c: table[c].replace(REDACTED, english(REDACTED)) for c in text_columns})


def bilingual(key: str) -> str:
    """``中文 / English`` for messages read by both kinds of user (CLI output)."""
    zh, en = LABELS.get(key, (key, key))
    return zh if zh == en else f"{zh} / {en}"
