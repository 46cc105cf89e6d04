"""Alembic environment of the supervision role; run through vaxtrace.store.migrate.upgrade."""

from vaxtrace.store.migrate import run_env
from vaxtrace.store.supervision.schema import metadata

run_env(metadata)
