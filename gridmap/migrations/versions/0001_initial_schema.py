"""initial schema: the data model of DESIGN.md section 3

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gridmap.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


GEOMETRY_TABLES = ("street", "community", "grid", "building", "service_station", "request")


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _inline_on_sqlite(constraint: sa.ForeignKeyConstraint) -> list[sa.ForeignKeyConstraint]:
    """SQLite takes a forward reference inline; PostgreSQL gets it after both tables exist."""
    return [] if _is_postgres() else [constraint]


def upgrade() -> None:
    op.create_table(
        "street",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("geom", gridmap.models.Geometry("MULTIPOLYGON"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_street")),
        sa.UniqueConstraint("code", name=op.f("uq_street_code")),
    )

    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("id_suffix", sa.String(length=6), nullable=True),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    op.create_table(
        "community",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("geom", gridmap.models.Geometry("MULTIPOLYGON"), nullable=True),
        sa.ForeignKeyConstraint(
            ["street_id"], ["street.id"], name=op.f("fk_community_street_id_street")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community")),
        sa.UniqueConstraint("code", name=op.f("uq_community_code")),
    )
    op.create_index(op.f("ix_community_street_id"), "community", ["street_id"], unique=False)

    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "street_admin",
                "secretary",
                "grid_worker",
                "planner",
                "viewer",
                name="userrole",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_user_community_id_community")
        ),
        *_inline_on_sqlite(
            sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_user_grid_id_grid"))
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["street.id"], name=op.f("fk_user_street_id_street")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("name", name=op.f("uq_user_name")),
    )
    op.create_table(
        "grid_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "proposed",
                "approved",
                "active",
                "retired",
                name="planstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["user.id"], name=op.f("fk_grid_plan_approved_by_user")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_grid_plan_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user.id"], name=op.f("fk_grid_plan_created_by_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_plan")),
    )
    op.create_index(op.f("ix_grid_plan_community_id"), "grid_plan", ["community_id"], unique=False)

    op.create_table(
        "party_org",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "working_committee",
                "committee",
                "general_branch",
                "branch",
                "joint_branch",
                "group",
                name="orgkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_party_org_community_id_community")
        ),
        *_inline_on_sqlite(
            sa.ForeignKeyConstraint(
                ["grid_id"],
                ["grid.id"],
                name=op.f("fk_party_org_grid_id_grid"),
                initially="DEFERRED",
                deferrable=True,
            )
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["party_org.id"], name=op.f("fk_party_org_parent_id_party_org")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_org")),
    )
    op.create_index(op.f("ix_party_org_community_id"), "party_org", ["community_id"], unique=False)
    op.create_index(op.f("ix_party_org_grid_id"), "party_org", ["grid_id"], unique=False)
    op.create_index(op.f("ix_party_org_parent_id"), "party_org", ["parent_id"], unique=False)

    op.create_table(
        "grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("geom", gridmap.models.Geometry("MULTIPOLYGON"), nullable=True),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("party_org_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["person.id"], name=op.f("fk_grid_leader_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["party_org_id"],
            ["party_org.id"],
            name=op.f("fk_grid_party_org_id_party_org"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["grid_plan.id"], name=op.f("fk_grid_plan_id_grid_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid")),
        sa.UniqueConstraint("plan_id", "code", name=op.f("uq_grid_plan_id_code")),
    )
    op.create_index(op.f("ix_grid_plan_id"), "grid", ["plan_id"], unique=False)

    op.create_table(
        "grid_worker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("part_time", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_grid_worker_grid_id_grid")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_grid_worker_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_worker")),
        sa.UniqueConstraint("grid_id", "person_id", name=op.f("uq_grid_worker_grid_id_person_id")),
    )
    op.create_index(op.f("ix_grid_worker_grid_id"), "grid_worker", ["grid_id"], unique=False)
    op.create_index(op.f("ix_grid_worker_person_id"), "grid_worker", ["person_id"], unique=False)

    op.create_table(
        "building",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("geom", gridmap.models.Geometry("MULTIPOLYGON"), nullable=True),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("party_org_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_building_community_id_community")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_building_grid_id_grid")),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["person.id"], name=op.f("fk_building_leader_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["party_org_id"], ["party_org.id"], name=op.f("fk_building_party_org_id_party_org")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_building")),
        sa.UniqueConstraint("code", name=op.f("uq_building_code")),
    )
    op.create_index(op.f("ix_building_community_id"), "building", ["community_id"], unique=False)
    op.create_index(op.f("ix_building_grid_id"), "building", ["grid_id"], unique=False)

    op.create_table(
        "service_station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "street", "community", "compound", name="stationlevel", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("geom", gridmap.models.Geometry("POINT"), nullable=True),
        sa.Column("opening_hours", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_service_station_community_id_community"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_station")),
    )
    op.create_index(
        op.f("ix_service_station_community_id"), "service_station", ["community_id"], unique=False
    )

    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("party_org_id", sa.Integer(), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "resident",
                "in_service",
                "retired",
                "floating",
                "lost_contact",
                "retired_cadre",
                "unemployed",
                name="membercategory",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("work_unit", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"], ["building.id"], name=op.f("fk_member_building_id_building")
        ),
        sa.ForeignKeyConstraint(
            ["party_org_id"], ["party_org.id"], name=op.f("fk_member_party_org_id_party_org")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_member_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
    )
    op.create_index(op.f("ix_member_building_id"), "member", ["building_id"], unique=False)
    op.create_index(op.f("ix_member_party_org_id"), "member", ["party_org_id"], unique=False)
    op.create_index(op.f("ix_member_person_id"), "member", ["person_id"], unique=False)

    op.create_table(
        "request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "inspection",
                "visit",
                "report",
                "hotline",
                name="requestsource",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("geom", gridmap.models.Geometry("POINT"), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "assigned",
                "escalated",
                "resolved",
                "evaluated",
                "rejected",
                name="requeststatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("reporter", sa.String(length=50), nullable=True),
        sa.Column(
            "assignee_kind",
            sa.Enum(
                "grid_worker",
                "member",
                "department",
                "street",
                name="assigneekind",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"], ["building.id"], name=op.f("fk_request_building_id_building")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_request_grid_id_grid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request")),
        sa.UniqueConstraint("code", name=op.f("uq_request_code")),
    )
    op.create_index(op.f("ix_request_building_id"), "request", ["building_id"], unique=False)
    op.create_index(op.f("ix_request_category"), "request", ["category"], unique=False)
    op.create_index(op.f("ix_request_grid_id"), "request", ["grid_id"], unique=False)
    op.create_index(op.f("ix_request_received_at"), "request", ["received_at"], unique=False)
    op.create_index(op.f("ix_request_status"), "request", ["status"], unique=False)

    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column(
            "from_status",
            sa.Enum(
                "received",
                "assigned",
                "escalated",
                "resolved",
                "evaluated",
                "rejected",
                name="requeststatus",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "received",
                "assigned",
                "escalated",
                "resolved",
                "evaluated",
                "rejected",
                name="requeststatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["person.id"], name=op.f("fk_request_event_actor_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["request.id"], name=op.f("fk_request_event_request_id_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_event")),
    )
    op.create_index(
        op.f("ix_request_event_request_id"), "request_event", ["request_id"], unique=False
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_audit_log_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)

    if _is_postgres():
        # Cyclic references (grid ↔ party_org, grid ↔ user) are added once both tables exist.
        op.create_foreign_key(op.f("fk_user_grid_id_grid"), "user", "grid", ["grid_id"], ["id"])
        op.create_foreign_key(
            op.f("fk_party_org_grid_id_grid"),
            "party_org",
            "grid",
            ["grid_id"],
            ["id"],
            deferrable=True,
            initially="DEFERRED",
        )
        # GiST indexes on every geometry column (SQLite keeps WKB; analysis uses STRtree).
        for table in GEOMETRY_TABLES:
            op.create_index(f"ix_{table}_geom", table, ["geom"], postgresql_using="gist")


def downgrade() -> None:
    # The cyclic keys first (PostgreSQL refuses to drop a table another table's key points
    # to), then the tables, children first.
    if _is_postgres():
        op.drop_constraint(op.f("fk_user_grid_id_grid"), "user", type_="foreignkey")
        op.drop_constraint(op.f("fk_party_org_grid_id_grid"), "party_org", type_="foreignkey")
    for table in reversed(
        [
            "street",
            "person",
            "community",
            "user",
            "grid_plan",
            "party_org",
            "grid",
            "grid_worker",
            "building",
            "service_station",
            "member",
            "request",
            "request_event",
            "audit_log",
        ]
    ):
        op.drop_table(table)
