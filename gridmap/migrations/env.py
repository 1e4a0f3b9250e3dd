"""Alembic environment: runs migrations on the connection gridmap.db hands over."""

from __future__ import annotations

from alembic import context

from gridmap.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run on the connection in ``config.attributes['connection']`` (see gridmap.db)."""
    connection = context.config.attributes.get("connection")
    if connection is None:  # `alembic` command line: build the engine the one usual way
        from gridmap.db import make_engine

        with make_engine(create=True).begin() as conn:
            _run(conn)
    else:
        _run(connection)


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate on SQLite must not propose the PostgreSQL-only GiST indexes."""
    is_gist = type_ == "index" and (name or "").endswith("_geom")
    return not is_gist


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        user_module_prefix="gridmap.models.",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
