"""The province's tables that the exchange's shared machinery works on, handed over whole: its
outbox and inbox, its copy of the platform's registry feed, its register of units. A service
passes them on to that machinery (vaxtrace.exchange) and never queries them itself."""

from __future__ import annotations

from vaxtrace.store.immunization.schema import basic_data, exchange, organisation

EXCHANGE = exchange
"""The role's outbox and inbox."""

REGISTRY_COPY = basic_data
"""Basic data copied from the platform's registry, and how far its feed is applied."""

UNITS = organisation
"""The province's CDCs and vaccination sites."""
