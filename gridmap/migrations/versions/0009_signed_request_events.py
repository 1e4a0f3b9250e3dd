"""signed request events: ``request_event.user_id`` is the logged-in user who made the step

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Each step of a request (收、办、评) records the user account that made it, besides the grid
worker or leader it was made for (``actor_id``, a person: set when an administrator records a
paper form on someone's behalf). Steps written before this revision, and the demo's history,
have no user (NULL). On SQLite the table is rebuilt (batch mode) to carry the foreign key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_event") as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.create_index(op.f("ix_request_event_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key(
            op.f("fk_request_event_user_id_user"), "user", ["user_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("request_event") as batch_op:
        batch_op.drop_constraint(op.f("fk_request_event_user_id_user"), type_="foreignkey")
        batch_op.drop_index(op.f("ix_request_event_user_id"))
        batch_op.drop_column("user_id")
