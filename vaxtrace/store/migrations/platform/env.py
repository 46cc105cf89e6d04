"""Alembic environment of the platform role; run through :func:`vaxtrace.store.migrate.upgrade`."""

from __future__ import annotations

from alembic import context

from vaxtrace.store.platform.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
