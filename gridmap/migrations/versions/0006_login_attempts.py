"""login attempts, session epochs and the demo's fingerprint

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- ``login_attempt(id, key, failures, pending, last_at)``: the login throttle, one row per
  normalised user name (its SHA-256, so unknown names are throttled like known ones), reserved
  atomically before a password is checked.
- ``user.session_epoch`` (0 for every existing user): raised by every password change or reset,
  change of role or scope and disabling, so a session started before it ends, also in another
  process.
- ``demo_fingerprint(id, digest, columns)``: the digest of the demo street's content, recorded
  when the demo is built; demo logins work only while the data still has it. A demo database
  built before this revision gets its fingerprint here only when nothing was written since it
  was built (its audit log holds nothing but logins after the last ``demo_replace``, and the
  demo logins are there); any other demo has none, so its demo logins stop until
  ``gridmap demo --force`` builds it again (the safe side).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
        sa.UniqueConstraint("key", name=op.f("uq_login_attempt_key")),
    )
    op.create_index(op.f("ix_login_attempt_last_at"), "login_attempt", ["last_at"], unique=False)
    op.create_table(
        "demo_fingerprint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_fingerprint")),
    )
    # ADD COLUMN in place (no table rebuild on SQLite); existing users start at epoch 0.
    op.add_column(
        "user",
        sa.Column("session_epoch", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    fingerprint_an_untouched_demo(op.get_bind())


#: Audit actions that are no write to the street's data.
LOGIN_ACTIONS = ("login", "login_failed", "login_locked")


def fingerprint_an_untouched_demo(conn: sa.Connection) -> None:
    """Record the fingerprint of a demo built before this revision that nothing has changed."""
    from gridmap.auth.passwords import DEMO_USERS, is_demo_database, record_demo_fingerprint

    if not is_demo_database(conn):
        return
    log = sa.table("audit_log", sa.column("id"), sa.column("action"))
    user = sa.table("user", sa.column("name"))
    built = conn.execute(
        sa.select(sa.func.max(log.c.id)).where(log.c.action == "demo_replace")
    ).scalar()
    writes = conn.execute(
        sa.select(sa.func.count())
        .select_from(log)
        .where(log.c.id > (built or 0), log.c.action.not_in(LOGIN_ACTIONS))
    ).scalar_one()
    logins = conn.execute(
        sa.select(sa.func.count()).select_from(user).where(user.c.name.in_(list(DEMO_USERS)))
    ).scalar_one()
    if not writes and logins == len(DEMO_USERS):
        record_demo_fingerprint(conn)


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+), not a batch rebuild of "user": a
    # rebuild drops the table, which the rows referring to users (plans, audit) would refuse.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.dialect.dbapi.sqlite_version_info < (3, 35):
        with op.batch_alter_table("user") as batch_op:
            batch_op.drop_column("session_epoch")
    else:
        op.drop_column("user", "session_epoch")
    op.drop_table("demo_fingerprint")
    op.drop_index(op.f("ix_login_attempt_last_at"), table_name="login_attempt")
    op.drop_table("login_attempt")
