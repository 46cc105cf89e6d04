"""The province's exchange tables (数据交换): what the platform forwards here (its inbox) and
the steps it reports to the platform (its outbox)."""

from __future__ import annotations

from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.immunization.schema import exchange, journal


def exchange_store() -> ExchangeStore:
    """The store of the province's inbox and outbox."""
    return ExchangeStore(exchange, journal)
