"""append-only audit log: the database itself refuses UPDATE, DELETE and TRUNCATE of audit_log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

SQLite: two triggers that abort the statement. PostgreSQL: one trigger function raised by a row
trigger (UPDATE, DELETE) and a statement trigger (TRUNCATE, which row triggers do not see), so
no code path — gridmap's or a hand-typed statement through the app's account — can rewrite the
log. Only a schema owner dropping the triggers could (that is itself a schema change).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MESSAGE = "audit_log is append-only"

SQLITE_UP = [
    f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END""",
    f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
]

POSTGRES_UP = [
    f"""CREATE OR REPLACE FUNCTION gridmap_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION gridmap_audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION gridmap_audit_log_append_only()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP FUNCTION IF EXISTS gridmap_audit_log_append_only()",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(SQLITE_UP if sqlite else POSTGRES_UP)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(SQLITE_DOWN if sqlite else POSTGRES_DOWN)
