"""request outcome and reject reason: ``request.outcome`` and ``request.close_reason``

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

The monthly assessment of request handling (接诉即办 三率) counts a request the resident calls
partly solved apart from a solved one, and counts rejected requests — duplicates among them —
apart from the accepted ones. ``outcome`` holds the resident's answer at evaluation (solved,
partly solved, not solved); ``close_reason`` the code from a fixed list a rejection carries,
beside its free-text note. Both nullable: requests from before this revision have neither.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain nullable VARCHARs: ADD COLUMN in place on both backends (no SQLite table rebuild)
    op.add_column("request", sa.Column("outcome", sa.String(length=24), nullable=True))
    op.add_column("request", sa.Column("close_reason", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request") as batch_op:
        batch_op.drop_column("close_reason")
        batch_op.drop_column("outcome")
