"""User-facing names of layers, fields and enum values: Chinese first, English on request.

The CLI, the maps and the app all take their words from here, so a term reads the same
everywhere and matches the glossary of DESIGN.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

Language = Literal["zh", "en"]

#: (中文, English) for every table, column and enum value shown to users.
LABELS: dict[str, tuple[str, str]] = {
    # layers
    "street": ("街道", "Street"),
    "community": ("社区", "Community"),
    "grid_plan": ("网格划分方案", "Grid plan"),
    "grid": ("网格", "Grid"),
    "grid_worker": ("网格员配置", "Grid workers"),
    "building": ("楼栋", "Building"),
    "service_station": ("党群服务站(点)", "Service station"),
    "party_org": ("党组织", "Party organisation"),
    "person": ("人员", "Person"),
    "member": ("党员", "Party member"),
    "request": ("诉求", "Request"),
    "request_event": ("诉求流转记录", "Request event"),
    "user": ("用户", "User"),
    "audit_log": ("操作日志", "Audit log"),
    # headline figures and summary columns
    "communities": ("社区数", "Communities"),
    "grids": ("网格数", "Grids"),
    "buildings": ("楼栋数", "Buildings"),
    "households": ("户数", "Households"),
    "estimated_households": ("其中估算户数", "Of which estimated"),
    "households_estimated": ("户数为估算", "Households estimated"),
    "residents_estimated": ("人口为估算", "Residents estimated"),
    "residents": ("人口", "Residents"),
    "members": ("党员数", "Party members"),
    "stations": ("党群服务站(点)", "Service stations"),
    "open_requests": ("未办结诉求", "Open requests"),
    "code": ("编码", "Code"),
    "name": ("名称", "Name"),
    "leader": ("网格长", "Grid leader"),
    "building_leader": ("楼栋长", "Building leader"),
    "branch": ("党组织", "Party branch"),
    "none": ("无", "none"),
    # problem tables (gridmap.coverage.TABLE_COLUMNS)
    "kind": ("类型代码", "Kind"),
    "label": ("问题类型", "Problem"),
    "community_code": ("社区编码", "Community code"),
    "grid_code": ("网格编码", "Grid code"),
    "other_grid_code": ("相关网格", "Other grid"),
    "building_code": ("楼栋编码", "Building code"),
    "area_m2": ("面积(平方米)", "Area (m²)"),
    "share": ("占比", "Share"),
    "distance_m": ("距离(米)", "Distance (m)"),
    "detail": ("说明", "Detail"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "score": ("综合得分", "Score"),
    # units
    "unit_households": ("户", "households"),
    "unit_people": ("人", "people"),
    "unit_count": ("个", ""),
    # base maps
    "basemap_none": ("无底图(离线)", "No base map (offline)"),
    "basemap_osm": ("OpenStreetMap", "OpenStreetMap"),
    "basemap_tianditu": ("天地图", "Tianditu"),
}


#: (中文, English) of every action the audit log records (``audit_log.action``).
AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    "login": ("登录", "Log in"),
    "login_failed": ("登录失败", "Failed login"),
    "login_locked": ("登录被锁定", "Login locked"),
    "user_create": ("新建用户", "User created"),
    "user_change": ("修改用户", "User changed"),
    "user_disable": ("停用用户", "User disabled"),
    "user_reset_password": ("重置密码", "Password reset"),
    "street_create": ("新建街道", "Street created"),
    "clear": ("清空街道数据", "Street data cleared"),
    "demo_replace": ("写入示范数据", "Demo written"),
    "street_create_replace_demo": ("新建街道(替换示范数据)", "Street created (demo replaced)"),
    "street_import": ("导入街道", "Street imported"),
    "street_weights": ("设置本街道权重", "Street weights set"),
    "street_weights_reset": ("恢复默认权重", "Street weights reset"),
    "import": ("导入数据", "Data imported"),
    "restore": ("从备份恢复", "Restored from a backup"),
    "plan_initial": ("初始网格方案", "Initial grid plan"),
    "plan_new_draft": ("新建方案草稿", "Draft plan created"),
    "plan_propose": ("提交方案", "Plan proposed"),
    "plan_approve": ("批准方案", "Plan approved"),
    "plan_activate": ("启用方案", "Plan activated"),
    "plan_rollback": ("回退方案", "Plan rolled back"),
    "plan_balance": ("自动均衡方案", "Plan auto-balanced"),
    "request_create": ("登记诉求", "Request logged"),
    "request_import": ("导入诉求", "Requests imported"),
    "request_log": ("受理诉求", "Request logged"),
    "request_assign": ("派单至网格员", "Assigned to a grid worker"),
    "request_dispatch": ("党员领单", "Dispatched to a member"),
    "request_send_to_department": ("部门接单", "Sent to a department"),
    "request_escalate": ("上报街道", "Escalated to the street"),
    "request_resolve": ("办结诉求", "Request resolved"),
    "request_evaluate": ("居民评价", "Resident's rating"),
    "request_reject": ("不予受理", "Request rejected"),
    "request_reopen": ("重新办理", "Request reopened"),
    "org_create": ("新建党组织", "Organisation created"),
    "org_rename": ("党组织改名", "Organisation renamed"),
    "org_move": ("调整党组织隶属", "Organisation moved"),
    "org_change_kind": ("调整党组织类型", "Organisation type changed"),
    "org_dissolve": ("撤销党组织", "Organisation dissolved"),
    "person_add": ("新增人员", "Person added"),
    "person_edit": ("修改人员信息", "Person edited"),
    "person_stairwell_leader": ("设置单元长", "Stairwell leader set"),
    "member_add": ("新增党员", "Member added"),
    "member_add_new": ("新增党员(新人员)", "Member added (new person)"),
    "member_edit": ("修改党员信息", "Member edited"),
    "member_move": ("党员转接", "Member moved"),
    "member_import": ("导入党员", "Members imported"),
    "member_points": ("党员积分", "Member points"),
    "member_zone": ("划定党员责任区", "Member zone set"),
    "grid_set_leader": ("设置网格长", "Grid leader set"),
    "grid_add_worker": ("增配网格员", "Grid worker added"),
    "grid_remove_worker": ("移除网格员", "Grid worker removed"),
    "building_set_leader": ("设置楼栋长", "Building leader set"),
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
    pair = AUDIT_ACTIONS.get(action)
    if pair is None:
        return action
    return pair[0] if lang == "zh" else pair[1]


def label(key: str, lang: Language = "zh") -> str:
    """The user-facing name of ``key`` in ``lang``; the key itself when it has none."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def localise_columns(table: pd.DataFrame, lang: Language = "zh") -> pd.DataFrame:
    """The table with its column names in ``lang`` (unknown columns keep their names)."""
    return table.rename(columns={c: label(c, lang) for c in table.columns})


def bilingual(key: str) -> str:
    """``中文 / English`` for messages read by both kinds of user (CLI output)."""
    zh, en = LABELS.get(key, (key, key))
    return zh if zh == en else f"{zh} / {en}"
