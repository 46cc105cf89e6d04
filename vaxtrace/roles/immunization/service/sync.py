"""Basic data from the platform: a province copies its change feed and takes the CDCs and
vaccination sites its system represents there, and every later change of a unit it holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from vaxtrace.exchange.basic_data import Fetch, represented_organisations, sync_registry
from vaxtrace.roles.immunization.service.identities import held_units, take_units
from vaxtrace.store.immunization.schema import basic_data


def follow_registry(engine: Engine, system_id: str, source: str, fetch: Fetch) -> dict[str, Any]:
    """Apply every change of the platform's registry after the last one applied."""
    take = represented_organisations(system_id, take_units, held_units)
    return sync_registry(engine, basic_data, source, fetch, take)
