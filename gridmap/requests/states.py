"""What a request can be and do: its statuses (open and closed), the labels (中文, English)
of statuses, assignees, sources, decision levels and actions, and :data:`TRANSITIONS`, the legal
moves between statuses that every write is checked against (:func:`check_transition`).
"""

from __future__ import annotations

import enum

from gridmap.errors import ConflictError
from gridmap.models import RequestStatus

S = RequestStatus
#: Statuses of a request still being handled.
OPEN_STATUSES: tuple[str, ...] = (S.received.value, S.assigned.value, S.escalated.value)
#: Statuses of a request whose handling has ended (Open311 "closed").
CLOSED_STATUSES: tuple[str, ...] = (S.resolved.value, S.evaluated.value, S.rejected.value)

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "received": ("已受理", "Received"),
    "assigned": ("已派单", "Assigned"),
    "escalated": ("已上报", "Escalated"),
    "resolved": ("已办结", "Resolved"),
    "evaluated": ("已评价", "Evaluated"),
    "rejected": ("不予受理", "Rejected"),
}
ASSIGNEE_LABELS: dict[str, tuple[str, str]] = {
    "grid_worker": ("网格员", "Grid worker"),
    "member": ("党员领单", "Party member"),
    "department": ("部门接单", "Department"),
    "street": ("上报街道", "Street"),
}
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "inspection": ("查(巡查)", "Inspection"),
    "visit": ("访(走访)", "Visit"),
    "report": ("报(居民上报)", "Resident report"),
    "hotline": ("12345 热线", "12345 hotline"),
}
DECISION_LABELS: dict[str, tuple[str, str]] = {
    "building": ("楼栋听事", "Building"),
    "compound": ("小区议事", "Compound"),
    "community": ("社区决事", "Community"),
}


class Action(enum.StrEnum):
    """The moves of a request."""

    log = "log"  # 受理
    assign = "assign"  # 派单至网格员
    dispatch = "dispatch"  # 党员领单
    send_to_department = "send_to_department"  # 部门接单
    escalate = "escalate"  # 上报街道
    resolve = "resolve"  # 办结
    evaluate = "evaluate"  # 评价
    reject = "reject"  # 不予受理
    reopen = "reopen"  # 重办


ACTION_LABELS: dict[str, tuple[str, str]] = {
    "log": ("受理", "Log"),
    "assign": ("派单至网格员", "Assign to grid worker"),
    "dispatch": ("党员领单", "Dispatch to member"),
    "send_to_department": ("部门接单", "Send to department"),
    "escalate": ("上报街道", "Escalate to street"),
    "resolve": ("办结", "Resolve"),
    "evaluate": ("居民评价", "Evaluate"),
    "reject": ("不予受理", "Reject"),
    "reopen": ("重新办理", "Reopen"),
}

#: The legal moves: (status before, action) → status after. ``reopen`` goes back to whoever
#: handled it: ``escalated`` when the street had it, ``assigned`` when someone else did,
#: ``received`` when no one did (a rejected request taken up again).
TRANSITIONS: dict[tuple[str | None, Action], str] = {
    (None, Action.log): S.received,
    **{
        (before, action): S.assigned
        for before in (S.received, S.assigned)
        for action in (Action.assign, Action.dispatch, Action.send_to_department)
    },
    (S.escalated, Action.send_to_department): S.assigned,  # the street hands it to a department
    (S.received, Action.escalate): S.escalated,
    (S.assigned, Action.escalate): S.escalated,
    (S.assigned, Action.resolve): S.resolved,
    (S.escalated, Action.resolve): S.resolved,
    (S.received, Action.reject): S.rejected,
    (S.resolved, Action.evaluate): S.evaluated,
    (S.resolved, Action.reopen): S.assigned,
    (S.evaluated, Action.reopen): S.assigned,
    (S.rejected, Action.reopen): S.received,
}


def allowed_actions(status: str) -> list[Action]:
    """The actions a request in ``status`` allows, in workflow order."""
    return [a for a in Action if (status, a) in TRANSITIONS]


def _status_text(status: str | None) -> str:
    if status is None:
        return "—"
    zh, en = STATUS_LABELS.get(str(status), (status, status))
    return f"{zh} / {en}"


def check_transition(code: str, status: str, action: Action) -> str:
    """The status after ``action``, or a ConflictError naming what the status allows."""
    after = TRANSITIONS.get((status, action))
    if after is None:
        allowed = "、".join(ACTION_LABELS[a][0] for a in allowed_actions(status)) or "无"
        zh, en = ACTION_LABELS[action]
        raise ConflictError(
            f"诉求 {code} 当前为「{_status_text(status)}」，不能{zh} / request {code} is "
            f"{STATUS_LABELS[status][1].lower()}: cannot {en.lower()}. 可进行的操作 / allowed: "
            f"{allowed}"
        )
    return str(after)
