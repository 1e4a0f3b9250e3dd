"""The vocabulary of the organisation side: labels and the rules of which kind sits where.

(中文, English) labels of organisation kinds, member categories, person roles and point kinds,
the parent kinds each organisation kind may have (:data:`ALLOWED_PARENTS`), where members'
relations and grids' own organisations may sit, and the member statuses. Plain data, imported
by every other module of :mod:`gridmap.organisation`.
"""

from __future__ import annotations

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
    "working_committee": ("党工委", "Working committee"),
    "committee": ("党委", "Committee"),
    "general_branch": ("党总支", "General branch"),
    "branch": ("党支部", "Branch"),
    "joint_branch": ("联合党支部", "Joint branch"),
    "group": ("党小组", "Group"),
}
#: (中文, English) of each member category.
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "resident": ("在册居民党员", "Resident"),
    "in_service": ("在职党员(双报到)", "In-service (registered)"),
    "retired": ("离退休党员", "Retired"),
    "floating": ("流动党员", "Floating"),
    "lost_contact": ("失联党员", "Lost contact"),
    "retired_cadre": ("离退休干部", "Retired cadre"),
    "unemployed": ("下岗失业党员", "Unemployed"),
}
#: (中文, English) of each person role.
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "grid_leader": ("网格长", "Grid leader"),
    "grid_worker": ("网格员", "Grid worker"),
    "building_leader": ("楼栋长", "Building leader"),
    "stairwell_leader": ("单元长", "Stairwell leader"),
}
#: (中文, English) of each point kind.
POINT_LABELS: dict[str, tuple[str, str]] = {
    "study": ("学习", "Study"),
    "activity": ("活动", "Activities"),
    "request": ("办理诉求", "Requests handled"),
    "dues": ("按时交纳党费", "Dues"),
    "other": ("其他", "Other"),
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
