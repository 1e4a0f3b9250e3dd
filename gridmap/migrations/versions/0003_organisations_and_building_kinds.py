"""organisations and building kinds: 两新组织, building use, new compounds' activity space

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=24)


BUILDING_KINDS = ("residential", "office", "commercial", "mixed", "public", "industrial")


def upgrade() -> None:
    # ADD COLUMN in place (no table rebuild on SQLite): the stored schema stays reproducible.
    op.add_column(
        "building",
        sa.Column(
            "kind",
            _enum("buildingkind", *BUILDING_KINDS),
            nullable=False,
            server_default="residential",
        ),
    )
    op.add_column("building", sa.Column("completion_year", sa.Integer(), nullable=True))
    op.add_column("building", sa.Column("activity_space_reserved", sa.Boolean(), nullable=True))
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", _enum("organisationkind", "enterprise", "social"), nullable=False),
        sa.Column("industry", sa.String(length=40), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column(
            "coverage",
            _enum("partycoverage", "own_branch", "joint_branch", "liaison", "none"),
            nullable=False,
        ),
        sa.Column("party_org_id", sa.Integer(), nullable=True),
        sa.Column("liaison_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"], ["building.id"], name=op.f("fk_organisation_building_id_building")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_organisation_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["liaison_id"], ["person.id"], name=op.f("fk_organisation_liaison_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["party_org_id"], ["party_org.id"], name=op.f("fk_organisation_party_org_id_party_org")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("code", name=op.f("uq_organisation_code")),
    )
    op.create_index(op.f("ix_organisation_building_id"), "organisation", ["building_id"])
    op.create_index(op.f("ix_organisation_community_id"), "organisation", ["community_id"])


def downgrade() -> None:
    op.drop_table("organisation")
    with op.batch_alter_table("building") as batch_op:
        batch_op.drop_column("activity_space_reserved")
        batch_op.drop_column("completion_year")
        batch_op.drop_column("kind")
