"""What the platform adds to a message it forwards (转发): the system and envelope the message
came from (``forwarded_from``), read the same way by every node that takes one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Origin:
    """The system that sent a message first, its envelope's event id there, and when that
    envelope was made (``sent_at``, None when the forwarder did not say)."""

    system_id: str
    event_id: str
    sent_at: datetime | None = None


def forwarded_from(header: Mapping[str, Any]) -> dict[str, Any]:
    """What a forwarder adds to a message it passes on, from the header it came in."""
    return {
        "system_id": header["system_id"],
        "event_id": header["event_id"],
        "created_at": header.get("created_at"),
    }


def origin_of(
    payload: Mapping[str, Any], *, sender: str, event_id: str, sent_at: datetime | None = None
) -> Origin:
    """The origin named in ``forwarded_from``; a message not forwarded is its own origin
    (``sender``, ``event_id``, ``sent_at``)."""
    found = payload.get("forwarded_from") or {}
    if not found:
        return Origin(sender, event_id, sent_at)
    system_id = str(found.get("system_id") or sender)
    return Origin(system_id, str(found.get("event_id") or event_id), made_at(found))


def made_at(header: Mapping[str, Any]) -> datetime | None:
    """When an envelope was made, as its header (or a forwarder's ``forwarded_from``) says."""
    made = header.get("created_at")
    return datetime.fromisoformat(made) if isinstance(made, str) else None
