"""requests and people: decision level, hotline numbers, specialties, responsibility zones,
member points

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=24)


def upgrade() -> None:
    op.create_table(
        "member_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"], ["building.id"], name=op.f("fk_member_zone_building_id_building")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_member_zone_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_zone")),
        sa.UniqueConstraint(
            "member_id", "building_id", name=op.f("uq_member_zone_member_id_building_id")
        ),
    )
    op.create_index(op.f("ix_member_zone_building_id"), "member_zone", ["building_id"])
    op.create_index(op.f("ix_member_zone_member_id"), "member_zone", ["member_id"])

    op.create_table(
        "member_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column(
            "kind", _enum("pointkind", "study", "activity", "request", "dues", "other"),
            nullable=False,
        ),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_member_point_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["request.id"], name=op.f("fk_member_point_request_id_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_point")),
    )  # fmt: skip
    op.create_index(op.f("ix_member_point_member_id"), "member_point", ["member_id"])

    # Plain ADD COLUMN and CREATE INDEX: SQLite does them in place (no table rebuild), so the
    # stored schema text stays byte-for-byte reproducible.
    op.add_column("member", sa.Column("specialties", sa.String(length=200), nullable=True))
    op.add_column("member", sa.Column("last_contact_on", sa.Date(), nullable=True))
    op.add_column(
        "request",
        sa.Column(
            "decision_level",
            _enum("decisionlevel", "building", "compound", "community"),
            nullable=True,
        ),
    )
    op.add_column("request", sa.Column("external_id", sa.String(length=64), nullable=True))
    op.add_column("request", sa.Column("address", sa.String(length=200), nullable=True))
    op.create_index(op.f("ix_request_external_id"), "request", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_request_external_id"), table_name="request")
    with op.batch_alter_table("request") as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("external_id")
        batch_op.drop_column("decision_level")
    with op.batch_alter_table("member") as batch_op:
        batch_op.drop_column("last_contact_on")
        batch_op.drop_column("specialties")
    op.drop_table("member_point")
    op.drop_table("member_zone")
