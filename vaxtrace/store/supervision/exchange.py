"""The supervision system's exchange tables: its inbox of what the platform copies here."""

from __future__ import annotations

from vaxtrace.store.supervision.schema import exchange

INBOX = exchange
"""The exchange tables of this node (``FromPlatform`` takes each event once through them)."""
