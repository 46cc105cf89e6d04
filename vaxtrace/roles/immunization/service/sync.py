"""Basic data from the platform: a province copies its change feed and takes the CDCs and
vaccination sites that run its system or that it represents there, and every later change
of a unit it holds."""

from __future__ import annotations

from typing import Any

from vaxtrace.exchange import registry_feed
from vaxtrace.store.engine import Engine
from vaxtrace.store.immunization.organisations import BASIC_DATA, UNITS


def follow_registry(
    engine: Engine, system_id: str, source: str, fetch: registry_feed.Fetch
) -> dict[str, Any]:
    """Apply every change of the platform's registry after the last one applied."""
    take = registry_feed.represented_organisations(system_id, UNITS)
    return registry_feed.follow_registry(engine, BASIC_DATA, source, fetch, take)
