"""操作日志 — the audit log: who changed what, when, with the values before and after.

Street administrators only. Read-only: gridmap has no way to change or delete an audit row.
Rows a restore brought in from a backup file are marked as restored (their own column, and a
warning above the table), never shown as this database's live history.
UI only: the rows come from :func:`gridmap.auth.audit_log` (filters are bound parameters).
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from gridmap.auth import audit_log
from gridmap.auth.auditing import ORIGIN_LABELS, RESTORED
from gridmap.io import table_to_csv
from gridmap.labels import action_label, label
from gridmap.validation import local_today
from ui_common import ICON, engine, page_title, require, sidebar

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, _ = sidebar()
zh = lang == "zh"
require("read_audit")

st.title("操作日志" if zh else "Audit log")
st.caption(
    "每一次写入都留有记录:操作人、时间、操作、对象,以及修改前后的值。日志只能查看,不能修改或删除。"
    if zh
    else "Every write leaves a row: who, when, what, and the values before and after. The log "
    "can be read, never changed or deleted."
)

left, middle, right, far = st.columns(4)
user = left.text_input("操作人" if zh else "User", key="audit_user").strip() or None
action = middle.text_input("操作" if zh else "Action", key="audit_action").strip() or None
entity = right.text_input("对象表" if zh else "Table", key="audit_entity").strip() or None
today = local_today()  # the street's date (北京时间), not the server's
days = far.date_input(
    "日期范围" if zh else "Dates", (today - dt.timedelta(days=30), today), key="audit_days"
)
since, until = (days[0], days[-1]) if isinstance(days, tuple) and days else (None, None)

rows = audit_log(engine(), user=user, action=action, entity=entity, since=since, until=until)
st.metric("记录数" if zh else "Rows", f"{len(rows):,} 条" if zh else f"{len(rows):,}")
restored = int((rows["origin"] == RESTORED).sum())
if restored:
    st.warning(
        f"其中 {restored} 条标为「恢复自备份」:这些记录来自恢复时的备份文件,不是本数据库的实时"
        "记录,文件可能被改动过,不能作为操作凭据。"
        if zh
        else f"{restored} of these rows are marked restored: they came from a backup file at a "
        "restore, not from this database's live history, and the file may have been edited."
    )
rows = rows.assign(
    origin=rows["origin"].map(lambda o: ORIGIN_LABELS.get(o, (o, o))[int(not zh)]),
    action_code=rows["action"],  # the key the 操作 filter and `gridmap audit --action` take
    action=rows["action"].map(lambda a: action_label(a, lang)),
    entity=rows["entity"].map(lambda e: label(e, lang)),
)
first = ["id", "at", "origin"]  # the origin next to the time: a restored row reads as one
rows = rows[first + [c for c in rows.columns if c not in first]]
shown = rows.rename(
    columns={
        "at": "时间" if zh else "Time",
        "user": "操作人" if zh else "User",
        "action": "操作" if zh else "Action",
        "action_code": "操作代码" if zh else "Action key",
        "entity": "对象表" if zh else "Table",
        "entity_id": "对象编号" if zh else "Id",
        "before": "修改前" if zh else "Before",
        "after": "修改后" if zh else "After",
        "origin": "来源" if zh else "Origin",
    }
).drop(columns=["user_id"])
st.dataframe(shown, hide_index=True, width="stretch", key="audit_table")
st.download_button(
    "下载 CSV" if zh else "Download CSV",
    table_to_csv(shown),
    file_name="audit_log.csv",
    mime="text/csv",
    key="audit_csv",
)
