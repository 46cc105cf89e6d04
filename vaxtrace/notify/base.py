"""The notifier protocol and the message it sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from vaxtrace.settings import Settings


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one person. ``to`` is the person's address as the caller knows it (a
    phone number, an email address): each channel makes its own address of it. ``data`` is
    the message as data, for channels that take it (a webhook)."""

    to: str
    subject: str
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)


class NotifyError(Exception):
    """A message not delivered, and why (the reason is kept; no personal data in it)."""


class Notifier(Protocol):
    """A channel that delivers messages, one at a time; :meth:`send` returns once the channel
    accepted the message, or raises :class:`NotifyError`."""

    @property
    def channel(self) -> str:
        """The channel's name, kept with each message sent (``smtp``, ``webhook``)."""
        ...

    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


def configured(settings: Settings) -> list[Notifier]:
    """The notifiers the settings configure: SMTP when ``smtp_host`` is set, the webhook when
    ``notify_webhook_url`` is."""
    from vaxtrace.notify.smtp import SmtpNotifier
    from vaxtrace.notify.webhook import WebhookNotifier

    found: list[Notifier] = []
    if settings.smtp_host:
        found.append(
            SmtpNotifier(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_from,
                recipient_domain=settings.smtp_recipient_domain,
                timeout=settings.notify_timeout_seconds,
            )
        )
    if settings.notify_webhook_url:
        found.append(
            WebhookNotifier(settings.notify_webhook_url, timeout=settings.notify_timeout_seconds)
        )
    return found
