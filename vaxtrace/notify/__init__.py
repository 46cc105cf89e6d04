"""Notifiers: how a node tells a person something (a guardian's reminder, a supervisor's
alert), each channel behind one protocol (:class:`Notifier`): mail through an SMTP server
(:class:`SmtpNotifier`) and a JSON POST to a webhook (:class:`WebhookNotifier`, e.g. an SMS
gateway). A failed delivery raises :class:`NotifyError`; the caller keeps it and tries again."""

from vaxtrace.notify.base import Message, Notifier, NotifyError, configured
from vaxtrace.notify.smtp import SmtpNotifier
from vaxtrace.notify.webhook import WebhookNotifier

__all__ = [
    "Message",
    "Notifier",
    "NotifyError",
    "SmtpNotifier",
    "WebhookNotifier",
    "configured",
]
