"""invariants in the database: one active plan per community, member versions, once-only points

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

- ``uq_grid_plan_one_active``: a partial unique index on ``grid_plan(community_id)`` where
  ``status = 'active'`` (SQLite and PostgreSQL alike), so no race between activations can leave
  a community with two active plans.
- ``member.version`` (1 for every existing member), the optimistic lock of member edits, raised
  by every UPDATE of the row: gridmap's edits raise it themselves, and a trigger
  (``member_version_bump``) raises it for any other UPDATE that leaves it as it was. A later
  migration that rebuilds ``member`` on SQLite (batch mode) must create the trigger again.
- ``member_point.dues_month`` (``YYYY-MM``, filled in for the dues entries already there) with
  the unique index ``uq_member_point_dues_month``: one dues entry per member and month; and
  ``uq_member_point_request``: one entry of each kind (its note: handled, rated well) per
  member and request.

A database that already breaks one of these rules (two active plans of a community, two dues
entries of one month, a request counted twice — what the races this revision closes could
leave) is refused before anything is changed, with a sentence naming the rows and how to put
them right; the database stays at revision 0006.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from gridmap.errors import DatabaseError

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ACTIVE = "status = 'active'"

SQLITE_UP = [
    """CREATE TRIGGER member_version_bump AFTER UPDATE ON member
FOR EACH ROW WHEN NEW.version = OLD.version
BEGIN UPDATE member SET version = OLD.version + 1 WHERE id = NEW.id; END""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS member_version_bump"]
POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION gridmap_member_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version = OLD.version THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END
$$""",
    """CREATE TRIGGER member_version_bump BEFORE UPDATE ON member
FOR EACH ROW EXECUTE FUNCTION gridmap_member_version_bump()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS member_version_bump ON member",
    "DROP FUNCTION IF EXISTS gridmap_member_version_bump()",
]


def _refuse(zh: str, en: str, rows: list[str], fix: str) -> None:
    listed = "\n".join(f"  - {r}" for r in rows)
    raise DatabaseError(
        f"无法升级数据库到 0007:{zh} / cannot upgrade the database to revision 0007: {en}:\n"
        f"{listed}\n{fix} Then run `gridmap init` again. Nothing was changed."
    )


def _check_active_plans(conn: sa.Connection) -> None:
    rows = conn.execute(
        sa.text(
            "SELECT p.id, p.name, p.community_id, c.code FROM grid_plan p "
            "JOIN community c ON c.id = p.community_id "
            f"WHERE p.{ACTIVE} ORDER BY p.community_id, p.id"
        )
    ).all()
    plans: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    for pid, name, cid, code in rows:
        plans[(cid, code)].append((int(pid), name))
    doubled = {k: v for k, v in plans.items() if len(v) > 1}
    if not doubled:
        return
    ids = [pid for v in doubled.values() for pid, _ in v]
    last = _last_activated(conn, ids)
    listed, retire = [], []
    for (_, code), found in doubled.items():
        keep = max((p for p, _ in found), key=lambda p: (last.get(p, -1), p))
        names = ", ".join(f"#{p}「{n}」" for p, n in found)
        listed.append(
            f"社区 {code}: {len(found)} 个生效方案 {names},最近生效的是 #{keep} / community "
            f"{code}: {len(found)} active plans, the last activated is #{keep}"
        )
        retire += [p for p, _ in found if p != keep]
    _refuse(
        "同一社区只能有一个生效方案",
        "a community may have only one active plan",
        listed,
        "Keep one plan per community active and retire the others, e.g. "
        f"UPDATE grid_plan SET status = 'retired' WHERE id IN "
        f"({', '.join(map(str, sorted(retire)))}); — then activate or roll back the plan you "
        "want in gridmap, which recomputes the buildings' grids.",
    )


def _last_activated(conn: sa.Connection, plan_ids: list[int]) -> dict[int, int]:
    """Plan id → the audit id of its latest activation, rollback to it or initial import."""
    rows = conn.execute(
        sa.text(
            "SELECT entity_id, MAX(id) FROM audit_log WHERE entity = 'grid_plan' AND action IN "
            "('plan_activate', 'plan_rollback', 'plan_initial') GROUP BY entity_id"
        )
    ).all()
    return {int(e): int(m) for e, m in rows if e is not None and int(e) in plan_ids}


#: The dues entries with their month, and the fill of ``dues_month``, per dialect (fixed SQL).
DUES_MONTHS = {
    "sqlite": "SELECT member_id, strftime('%Y-%m', at) AS month, id FROM member_point "
    "WHERE kind = 'dues' ORDER BY member_id, id",
    "postgresql": "SELECT member_id, to_char(at, 'YYYY-MM') AS month, id FROM member_point "
    "WHERE kind = 'dues' ORDER BY member_id, id",
}
FILL_DUES_MONTH = {
    "sqlite": "UPDATE member_point SET dues_month = strftime('%Y-%m', at) WHERE kind = 'dues'",
    "postgresql": "UPDATE member_point SET dues_month = to_char(at, 'YYYY-MM') WHERE kind = 'dues'",
}


def _check_points(conn: sa.Connection) -> None:
    dues = conn.execute(sa.text(DUES_MONTHS[conn.dialect.name])).all()
    months: dict[tuple[int, str], list[int]] = defaultdict(list)
    for member_id, month, pid in dues:
        months[(int(member_id), str(month))].append(int(pid))
    requests = conn.execute(
        sa.text(
            "SELECT member_id, request_id, note, id FROM member_point "
            "WHERE request_id IS NOT NULL ORDER BY member_id, id"
        )
    ).all()
    counted: dict[tuple[int, int], list[int]] = defaultdict(list)
    for member_id, request_id, note, pid in requests:
        counted[(int(member_id), int(request_id), note or "")].append(int(pid))
    listed, extra = [], []
    for (member_id, month), ids in months.items():
        if len(ids) > 1:
            entries = ", #".join(map(str, ids))
            listed.append(
                f"党员 {member_id} 在 {month} 有 {len(ids)} 条党费积分 (#{entries}) / member "
                f"{member_id} has {len(ids)} dues entries in {month}"
            )
            extra += ids[1:]
    for (member_id, request_id, _note), ids in counted.items():
        if len(ids) > 1:
            listed.append(
                f"党员 {member_id} 的诉求 {request_id} 计分 {len(ids)} 次 "
                f"(#{', #'.join(map(str, ids))}) / member {member_id} has request "
                f"{request_id} counted {len(ids)} times"
            )
            extra += ids[1:]
    if listed:
        _refuse(
            "党费每月只能计分一次,每件诉求只能计分一次",
            "dues count once a month and a request once per member and reason",
            listed,
            "Delete the extra entries (the later ones: DELETE FROM member_point WHERE id IN "
            f"({', '.join(map(str, sorted(extra)))});).",
        )


def upgrade() -> None:
    conn = op.get_bind()
    _check_active_plans(conn)
    _check_points(conn)
    op.create_index(
        "uq_grid_plan_one_active",
        "grid_plan",
        ["community_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    # ADD COLUMN in place (no table rebuild on SQLite); existing members start at version 1.
    op.add_column(
        "member",
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    op.add_column("member_point", sa.Column("dues_month", sa.String(length=7), nullable=True))
    op.execute(FILL_DUES_MONTH[conn.dialect.name])
    op.create_index(
        "uq_member_point_dues_month", "member_point", ["member_id", "dues_month"], unique=True
    )
    op.create_index(
        "uq_member_point_request",
        "member_point",
        ["member_id", "request_id", sa.text("coalesce(note, '')")],
        unique=True,
    )
    for statement in SQLITE_UP if conn.dialect.name == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    conn = op.get_bind()
    for statement in SQLITE_DOWN if conn.dialect.name == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
    op.drop_index("uq_member_point_request", table_name="member_point")
    op.drop_index("uq_member_point_dues_month", table_name="member_point")
    # DROP COLUMN in place (SQLite 3.35+): a batch rebuild of "member" drops the table, which
    # the rows referring to members (points, requests) refuse
    op.drop_column("member_point", "dues_month")
    op.drop_column("member", "version")
    op.drop_index("uq_grid_plan_one_active", table_name="grid_plan")
