"""Alembic environment of the trace role; run through :func:`vaxtrace.store.migrate.upgrade`."""

from vaxtrace.store.migrate import run_env
from vaxtrace.store.trace.schema import metadata

run_env(metadata)
