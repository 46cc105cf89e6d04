"""The supervision system's exchange tables: its inbox of what the platform copies here."""

from __future__ import annotations

from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.supervision.schema import exchange, journal


def exchange_store() -> ExchangeStore:
    """The store of this node's inbox (``FromPlatform`` takes each event once through it)."""
    return ExchangeStore(exchange, journal)
