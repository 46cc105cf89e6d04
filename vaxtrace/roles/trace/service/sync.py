"""Basic data from the platform: a trace system copies its change feed and takes every
organisation into its own registry (any CDC may be a consignee of its notes)."""

from __future__ import annotations

from typing import Any

from vaxtrace.exchange import registry_feed
from vaxtrace.roles.trace.service.registry import put_organisations
from vaxtrace.store.engine import Engine
from vaxtrace.store.trace.registry import BASIC_DATA


def follow_registry(engine: Engine, source: str, fetch: registry_feed.Fetch) -> dict[str, Any]:
    """Apply every change of the platform's registry after the last one applied."""
    take = registry_feed.every_organisation(put_organisations)
    return registry_feed.follow_registry(engine, BASIC_DATA, source, fetch, take)
