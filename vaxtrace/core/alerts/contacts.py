"""告警联系人: the named people of a division whom its alerts are sent to. Drug GSP asks that an
alarm reach at least 3 named people (DOMAIN.md §10): a division with fewer is reported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from vaxtrace.core.datasets.elements import Model
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

MIN_CONTACTS = 3
"""Named people an alarm must reach (药品经营质量管理规范 automatic monitoring: at least 3)."""

MAX_CONTACTS = 50
"""Contacts one division may list."""

Channel = Literal["smtp", "webhook"]
"""How a contact is told: a mail (an address, or a phone at the SMS gateway) or a webhook."""


class Contact(Model):
    """One named person of a division and how to reach them."""

    name: str = Field(min_length=1, max_length=100, description="姓名 the person, not a role")
    address: str = Field(
        min_length=3,
        max_length=200,
        pattern=r"^\S+$",
        description="a mail address, or a phone number (mailed at the SMS gateway, or posted "
        "to the webhook)",
    )
    channel: Channel = Field(default="smtp", description="smtp or webhook")


def check_contacts(people: Sequence[Contact]) -> None:
    """Refuse a list naming one address twice on one channel (``duplicate_contact``)."""
    seen: set[tuple[str, str]] = set()
    for i, person in enumerate(people):
        key = (person.channel, person.address)
        if key in seen:
            raise DomainError(
                Reason.DUPLICATE_CONTACT,
                f"{person.channel} {person.address} is listed twice",
                field=f"contacts[{i}].address",
            )
        seen.add(key)


def shortfall(count: int) -> str | None:
    """What to tell a division with ``count`` contacts: None when there are enough."""
    if count >= MIN_CONTACTS:
        return None
    return (
        f"{count} contact(s): drug GSP asks that alarms reach at least {MIN_CONTACTS} named people"
    )
