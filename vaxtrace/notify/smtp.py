"""Mail through an SMTP server (stdlib ``smtplib``). A phone number is mailed at
``PHONE@recipient_domain`` (an email-to-SMS gateway) when a domain is set."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from vaxtrace.notify.base import Message, NotifyError


class SmtpNotifier:
    channel = "smtp"

    def __init__(
        self,
        host: str,
        port: int = 25,
        sender: str = "vaxtrace@localhost",
        *,
        recipient_domain: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.recipient_domain = recipient_domain
        self.timeout = timeout

    def address(self, to: str) -> str:
        """The mail address of ``to``: itself if one, else the phone at the SMS gateway."""
        if "@" in to:
            return to
        if self.recipient_domain:
            return f"{to}@{self.recipient_domain}"
        raise NotifyError("no mail address: set smtp_recipient_domain to mail phones")

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = self.address(message.to)
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        mail.set_content(message.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                refused = smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifyError(f"smtp {self.host}:{self.port}: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise NotifyError(f"smtp {self.host}:{self.port} refused the recipient")

    def close(self) -> None:
        """Nothing kept open: each message has its own connection."""
