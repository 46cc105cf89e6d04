"""Alembic environment of the immunization role; run through vaxtrace.store.migrate.upgrade."""

from vaxtrace.store.immunization.schema import metadata
from vaxtrace.store.migrate import run_env

run_env(metadata)
