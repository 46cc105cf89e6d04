"""What the trace node keeps for the machinery every node shares: its outbox and inbox (see
:mod:`vaxtrace.store.exchange`) and its copy of the platform's registry (see
:mod:`vaxtrace.store.basic_data`), named here so that the role hands them on without
reaching for its tables."""

from __future__ import annotations

from vaxtrace.store.basic_data import RegistryCopy
from vaxtrace.store.exchange import ExchangeTables
from vaxtrace.store.trace import schema

EXCHANGE: ExchangeTables = schema.exchange
"""The trace node's outbox and inbox."""

BASIC_DATA: RegistryCopy = schema.basic_data
"""Basic data copied from the platform's registry, and how far its feed is applied."""
