"""What a request can be and do: its statuses (open and closed), the labels (中文, English)
of statuses, assignees, sources, decision levels and actions, and :data:`TRANSITIONS`, the legal
moves between statuses that every write is checked against (:func:`check_transition`).
"""

from __future__ import annotations

import enum

from gridmap.errors import ConflictError
from gridmap.i18n import pair
from gridmap.models import RequestStatus

S = RequestStatus
#: Statuses of a request still being handled.
OPEN_STATUSES: tuple[str, ...] = (S.received.value, S.assigned.value, S.escalated.value)
#: Statuses of a request whose handling has ended (Open311 "closed").
CLOSED_STATUSES: tuple[str, ...] = (S.resolved.value, S.evaluated.value, S.rejected.value)

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "received": pair("已受理"),
    "assigned": pair("已派单"),
    "escalated": pair("已上报"),
    "resolved": pair("已办结", "status"),
    "evaluated": pair("已评价"),
    "rejected": pair("不予受理", "status"),
}
ASSIGNEE_LABELS: dict[str, tuple[str, str]] = {
    "grid_worker": pair("网格员"),
    "member": pair("党员领单", "assignee"),
    "department": pair("部门接单", "assignee"),
    "street": pair("上报街道", "assignee"),
}
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "inspection": pair("查(巡查)"),
    "visit": pair("访(走访)"),
    "report": pair("报(居民上报)"),
    "hotline": pair("12345 热线"),
}
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "solved": pair("已解决"),
    "partly_solved": pair("部分解决"),
    "not_solved": pair("未解决"),
}
#: The reason codes of a rejection (:class:`gridmap.models.CloseReason`).
CLOSE_REASON_LABELS: dict[str, tuple[str, str]] = {
    "not_our_responsibility": pair("不属于受理范围"),
    "duplicate": pair("重复诉求"),
    "cannot_contact": pair("无法联系诉求人"),
    "other_body": pair("已由其他单位办理"),
    "legal_process": pair("属司法、仲裁等法定途径"),
    "other": pair("其他", "reason"),
}
DECISION_LABELS: dict[str, tuple[str, str]] = {
    "building": pair("楼栋听事"),
    "compound": pair("小区议事"),
    "community": pair("社区决事"),
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
    reroute = "reroute"  # 改派:类别或承办部门
    merge = "merge"  # 合并为重复诉求


ACTION_LABELS: dict[str, tuple[str, str]] = {
    "log": pair("受理"),
    "assign": pair("派单至网格员", "action"),
    "dispatch": pair("党员领单", "action"),
    "send_to_department": pair("部门接单", "action"),
    "escalate": pair("上报街道", "action"),
    "resolve": pair("办结"),
    "evaluate": pair("居民评价", "action"),
    "reject": pair("不予受理", "action"),
    "reopen": pair("重新办理", "action"),
    "reroute": pair("改派(类别/部门)", "action"),
    "merge": pair("合并为重复诉求", "action"),
}

#: The event note of a rating (:func:`gridmap.requests.evaluate`), and the pattern that reads
#: the rating back from it (a low rating reopens the request and clears its row's rating; the
#: event keeps it).
RATING_NOTE = "居民评价{rating}星"
RATING_NOTE_PATTERN = r"^居民评价(\d)星"

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
    # re-routing keeps the status (a step of its own in the timeline); a merged duplicate is
    # closed as rejected with the reason code ``duplicate``
    **{(before, Action.reroute): before for before in (S.received, S.assigned, S.escalated)},
    **{(before, Action.merge): S.rejected for before in (S.received, S.assigned, S.escalated)},
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
