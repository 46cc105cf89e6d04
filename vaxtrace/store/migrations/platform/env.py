"""Alembic environment of the platform role; run through :func:`vaxtrace.store.migrate.upgrade`."""

from vaxtrace.store.migrate import run_env
from vaxtrace.store.platform.schema import metadata

run_env(metadata)
