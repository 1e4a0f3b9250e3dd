"""estimated building figures: households and residents flagged when estimated at import

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

``building.households_estimated`` and ``building.residents_estimated`` (false for every row
already there: those figures were counted) mark households estimated from footprint × floors
and residents from households × residents per household, so no map, table, export or report
shows an estimate as a count.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ("households_estimated", "residents_estimated")


def upgrade() -> None:
    # ADD COLUMN in place (no table rebuild on SQLite); existing rows read false.
    for name in COLUMNS:
        op.add_column(
            "building",
            sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()),
        )


def downgrade() -> None:
    with op.batch_alter_table("building") as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
