"""What the platform adds to a message it forwards (转发): the system and envelope the message
came from (``forwarded_from``), read the same way by every node that takes one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Origin:
    """The system that sent a message first, and its envelope's event id there."""

    system_id: str
    event_id: str


def origin_of(payload: Mapping[str, Any], *, sender: str, event_id: str) -> Origin:
    """The origin named in ``forwarded_from``; a message not forwarded is its own origin
    (``sender``, ``event_id``)."""
    found = payload.get("forwarded_from") or {}
    return Origin(str(found.get("system_id") or sender), str(found.get("event_id") or event_id))
