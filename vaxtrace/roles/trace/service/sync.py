"""Basic data from the platform: a trace system copies its change feed and takes every
organisation into its own registry (any CDC may be a consignee of its notes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from vaxtrace.exchange.basic_data import Fetch, every_organisation, sync_registry
from vaxtrace.roles.trace.service.registry import put_organisations
from vaxtrace.store.trace.schema import basic_data


def follow_registry(engine: Engine, source: str, fetch: Fetch) -> dict[str, Any]:
    """Apply every change of the platform's registry after the last one applied."""
    return sync_registry(engine, basic_data, source, fetch, every_organisation(put_organisations))
