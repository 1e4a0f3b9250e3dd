"""street settings: ``street_setting`` holds the choices a street makes in the app

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

The weights of the coverage score and of the planning ranking were fixed in
``gridmap/settings.py``; a street administrator now sets them for the street in the app (and
``gridmap street weights``). One row per (street, key), JSON value, who and when; no row means
the default.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "street_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["street_id"], ["street.id"], name=op.f("fk_street_setting_street_id_street")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_street_setting_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_street_setting")),
        sa.UniqueConstraint("street_id", "key", name=op.f("uq_street_setting_street_id_key")),
    )


def downgrade() -> None:
    op.drop_table("street_setting")
