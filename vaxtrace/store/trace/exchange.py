"""The trace node's exchange tables (数据交换): the shipping notes it sends to the platform (its
outbox) and what the platform forwards here (its inbox, see :mod:`vaxtrace.store.exchange`)."""

from __future__ import annotations

from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.trace.schema import exchange


def exchange_store() -> ExchangeStore:
    """The store of the trace node's inbox and outbox."""
    return ExchangeStore(exchange)
