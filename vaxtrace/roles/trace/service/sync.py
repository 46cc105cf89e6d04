"""Basic data from the platform: a trace system copies its change feed and takes every
organisation into its own registry (any CDC may be a consignee of its notes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from vaxtrace.exchange import registry_feed
from vaxtrace.roles.trace.service.registry import put_organisations
from vaxtrace.store.trace.schema import basic_data


def follow_registry(engine: Engine, source: str, fetch: registry_feed.Fetch) -> dict[str, Any]:
    """Apply every change of the platform's registry after the last one applied."""
    take = registry_feed.every_organisation(put_organisations)
    return registry_feed.follow_registry(engine, basic_data, source, fetch, take)
