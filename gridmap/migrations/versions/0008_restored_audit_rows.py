"""restored audit rows: ``audit_log.origin`` tells the rows this database wrote from a backup's

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

``audit_log.origin`` is ``live`` for every row this database writes (and for every row already
there) and ``restored`` for the rows a restore brings in from a backup file, whatever the file
says: a backup can be edited, so its history is shown as restored, never as live. The log stays
append-only (the triggers of revision 0004 are kept: adding a column with a default fires no
UPDATE trigger, and the column is dropped in place on downgrade).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN in place (no table rebuild, so the append-only triggers stay); rows read live
    op.add_column(
        "audit_log",
        sa.Column("origin", sa.String(10), nullable=False, server_default="live"),
    )


def downgrade() -> None:
    # DROP COLUMN in place on both backends (SQLite 3.35+): a batch rebuild of the table would
    # drop its append-only triggers with it
    op.execute("ALTER TABLE audit_log DROP COLUMN origin")
