"""request department and duplicates: ``request.department``, ``duplicate_of``, ``reporters``

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Re-routing a request to another department, and merging duplicates (issue 22, items 3 and 4).
``department`` names the government department a request was sent to (部门接单), so it can be
changed with a reason (earlier revisions kept it only in the event's note). ``duplicate_of``
points from a merged duplicate to the request it was merged into; ``reporters`` counts the
residents behind a request (1, plus every duplicate merged into it: the "me too" count).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable (or defaulted) plain columns: ADD COLUMN in place on both backends; the foreign
    # key of duplicate_of is declared in the model and enforced on new databases, as SQLite
    # cannot add a constraint to an existing table without rebuilding it
    op.add_column("request", sa.Column("department", sa.String(length=60), nullable=True))
    op.add_column("request", sa.Column("duplicate_of", sa.Integer(), nullable=True))
    op.add_column(
        "request",
        sa.Column("reporters", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    op.create_index("ix_request_duplicate_of", "request", ["duplicate_of"])


def downgrade() -> None:
    op.drop_index("ix_request_duplicate_of", table_name="request")
    with op.batch_alter_table("request") as batch_op:
        batch_op.drop_column("reporters")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("department")
