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
from ui_common import ICON, engine, page_title, require, sidebar, t

st.set_page_config(page_title=page_title(__file__), page_icon=str(ICON), layout="wide")
lang, _ = sidebar()
zh = lang == "zh"
require("read_audit")

st.title(t("操作日志"))
st.caption(
    t(
        "每一次写入都留有记录:操作人、时间、操作、对象,以及修改前后的值。日志只能查看,不"
        "能修改或删除。"
    )
)

left, middle, right, far = st.columns(4)
user = left.text_input(t("操作人"), key="audit_user").strip() or None
action = middle.text_input(t("操作"), key="audit_action").strip() or None
entity = right.text_input(t("对象表"), key="audit_entity").strip() or None
today = local_today()  # the street's date (北京时间), not the server's
days = far.date_input(t("日期范围"), (today - dt.timedelta(days=30), today), key="audit_days")
since, until = (days[0], days[-1]) if isinstance(days, tuple) and days else (None, None)

rows = audit_log(engine(), user=user, action=action, entity=entity, since=since, until=until)
st.metric(t("记录数"), t("{n_rows:,} 条", n_rows=len(rows)))
restored = int((rows["origin"] == RESTORED).sum())
if restored:
    st.warning(
        t(
            (
                "其中 {restored} 条标为「恢复自备份」:这些记录来自恢复时的备份文件,不是本数"
                "据库的实时记录,文件可能被改动过,不能作为操作凭据。"
            ),
            restored=restored,
        )
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
        "at": t("时间"),
        "user": t("操作人"),
        "action": t("操作"),
        "action_code": t("操作代码"),
        "entity": t("对象表"),
        "entity_id": t("对象编号"),
        "before": t("修改前"),
        "after": t("修改后"),
        "origin": t("来源", context="views.audit: shown"),
    }
).drop(columns=["user_id"])
st.dataframe(shown, hide_index=True, width="stretch", key="audit_table")
st.download_button(
    t("下载 CSV"),
    table_to_csv(shown),
    file_name="audit_log.csv",
    mime="text/csv",
    key="audit_csv",
)
