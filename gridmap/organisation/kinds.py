"""The vocabulary of the organisation side: labels and the rules of which kind sits where.

(中文, English) labels of organisation kinds, member categories, person roles and point kinds,
the parent kinds each organisation kind may have (:data:`ALLOWED_PARENTS`), where members'
relations and grids' own organisations may sit, and the member statuses. Plain data, imported
by every other module of :mod:`gridmap.organisation`.
"""

from __future__ import annotations

from gridmap.i18n import pair

__all__ = [
    "ALLOWED_PARENTS",
    "CATEGORY_LABELS",
    "GRID_ORG_KINDS",
    "KIND_LABELS",
    "MEMBER_ORG_KINDS",
    "MEMBER_STATUSES",
    "POINT_LABELS",
    "ROLE_LABELS",
]

#: (中文, English) of each organisation kind.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "working_committee": pair("党工委", "kind"),
    "committee": pair("党委", "kind"),
    "general_branch": pair("党总支", "kind"),
    "branch": pair("党支部", "kind"),
    "joint_branch": pair("联合党支部"),
    "group": pair("党小组", "kind"),
}
#: (中文, English) of each member category.
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "resident": pair("在册居民党员"),
    "in_service": pair("在职党员(双报到)"),
    "retired": pair("离退休党员"),
    "floating": pair("流动党员"),
    "lost_contact": pair("失联党员"),
    "retired_cadre": pair("离退休干部"),
    "unemployed": pair("下岗失业党员"),
}
#: (中文, English) of each person role.
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "grid_leader": pair("网格长"),
    "grid_worker": pair("网格员"),
    "building_leader": pair("楼栋长"),
    "stairwell_leader": pair("单元长"),
}
#: (中文, English) of each point kind.
POINT_LABELS: dict[str, tuple[str, str]] = {
    "study": pair("学习"),
    "activity": pair("活动"),
    "request": pair("办理诉求"),
    "dues": pair("按时交纳党费"),
    "other": pair("其他"),
}

#: Kinds an organisation's parent may have (None: it may be a root).
ALLOWED_PARENTS: dict[str, tuple[str | None, ...]] = {
    "working_committee": (None,),
    "committee": (None, "working_committee"),
    "general_branch": ("working_committee", "committee"),
    "branch": ("working_committee", "committee", "general_branch"),
    "joint_branch": ("working_committee", "committee", "general_branch"),
    "group": ("general_branch", "branch", "joint_branch"),
}
#: Kinds a member's organisation relation (组织关系) may sit in; groups hold none of their own.
MEMBER_ORG_KINDS: tuple[str, ...] = ("committee", "general_branch", "branch", "joint_branch")
#: Kinds that can be a grid's own organisation (支部建在网格上).
GRID_ORG_KINDS: tuple[str, ...] = ("general_branch", "branch", "joint_branch", "group")
MEMBER_STATUSES: tuple[str, ...] = ("active", "lost_contact", "transferred_out", "deceased")
