"""signed request events: ``request_event.user_id`` is the logged-in user who made the step

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Each step of a request (收、办、评) records the user account that made it, besides the grid
worker or leader it was made for (``actor_id``, a person: set when an administrator records a
paper form on someone's behalf). Steps written before this revision, and the demo's history,
have no user (NULL). On SQLite the column and its foreign key are added in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # ADD COLUMN in place with its (named) foreign key: no table rebuild, whose constraint
        # order would differ from run to run and make the demo database differ per build
        op.execute(
            "ALTER TABLE request_event ADD COLUMN user_id INTEGER "
            'CONSTRAINT fk_request_event_user_id_user REFERENCES "user" (id)'
        )
    else:
        op.add_column("request_event", sa.Column("user_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_request_event_user_id_user"), "request_event", "user", ["user_id"], ["id"]
        )
    op.create_index(op.f("ix_request_event_user_id"), "request_event", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_request_event_user_id"), table_name="request_event")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column with a foreign key in place: rebuild the table without it
        with op.batch_alter_table("request_event") as batch_op:
            batch_op.drop_column("user_id")
    else:
        op.drop_constraint(
            op.f("fk_request_event_user_id_user"), "request_event", type_="foreignkey"
        )
        op.drop_column("request_event", "user_id")
