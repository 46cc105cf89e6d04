"""The platform's exchange tables (数据交换): what it takes from connected systems (its inbox)
and what it forwards to them (its outbox)."""

from __future__ import annotations

from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.platform.schema import exchange, journal


def exchange_store() -> ExchangeStore:
    """The store of the platform's inbox and outbox."""
    return ExchangeStore(exchange, journal)
