"""The notifiers against real local servers: a mail reaches an SMTP server (aiosmtpd) with
its headers and Chinese text; a webhook POST carries the message as JSON; every failure (no
server, a refusal, a status, a timeout) is a NotifyError, never silence."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import Hook, free_port, http_server, smtp_server

from vaxtrace.notify import Message, NotifyError, SmtpNotifier, WebhookNotifier, configured
from vaxtrace.settings import Settings

MESSAGE = Message(
    to="13800138000",
    subject="接种提醒：张晓梅",
    text="王丽您好：张晓梅需要接种以下疫苗：\n  乙肝疫苗（HepB）第2剂",
    data={"child_id": "ch-0123456789abcdef", "doses": [{"vaccine": "HepB", "dose": 2}]},
)


def test_a_mail_reaches_the_smtp_server_at_the_sms_gateway_address() -> None:
    with smtp_server() as (port, box):
        notifier = SmtpNotifier(
            "127.0.0.1", port, "reminders@cdc.example", recipient_domain="sms.example"
        )
        notifier.send(MESSAGE)
        notifier.send(Message(to="guardian@example.org", subject="s", text="t"))
    (to, mail), (to2, _) = box.mails
    assert to == ["13800138000@sms.example"] and to2 == ["guardian@example.org"]
    assert mail["From"] == "reminders@cdc.example" and mail["To"] == "13800138000@sms.example"
    assert mail["Subject"] == "接种提醒：张晓梅"
    assert mail.get_content().replace("\r\n", "\n").strip() == MESSAGE.text
    assert mail["Message-ID"] and mail["Date"]


def test_smtp_failures_are_errors() -> None:
    with pytest.raises(NotifyError, match="mail phones"):  # a phone and no gateway domain
        SmtpNotifier("127.0.0.1", free_port()).send(MESSAGE)
    with pytest.raises(NotifyError, match="ConnectionRefused"):  # nobody listening
        SmtpNotifier("127.0.0.1", free_port(), recipient_domain="x.example").send(MESSAGE)


def test_a_webhook_gets_the_message_as_json() -> None:
    hook = Hook()
    with http_server(hook) as url:
        notifier = WebhookNotifier(url, timeout=2)
        notifier.send(MESSAGE)
        notifier.close()
    (body,) = hook.bodies
    assert body == {
        "to": "13800138000",
        "subject": MESSAGE.subject,
        "text": MESSAGE.text,
        "data": {"child_id": "ch-0123456789abcdef", "doses": [{"vaccine": "HepB", "dose": 2}]},
    }


def test_webhook_failures_are_errors() -> None:
    hook = Hook(statuses=[503, 200])
    with http_server(hook) as url:
        notifier = WebhookNotifier(url, timeout=2)
        with pytest.raises(NotifyError, match="503"):
            notifier.send(MESSAGE)
        notifier.send(MESSAGE)  # the next one goes
        notifier.close()
    assert hook.answered == [503, 200] and len(hook.bodies) == 1
    slow = Hook(delay=1.0)
    with http_server(slow) as url:
        notifier = WebhookNotifier(url, timeout=0.2)
        with pytest.raises(NotifyError, match="Timeout"):
            notifier.send(MESSAGE)
        notifier.close()
    with pytest.raises(NotifyError, match="ConnectError"):
        WebhookNotifier(f"http://127.0.0.1:{free_port()}/", timeout=1).send(MESSAGE)


def test_the_settings_name_the_notifiers(tmp_path: Path) -> None:
    assert configured(Settings(data_dir=tmp_path)) == []
    found = configured(
        Settings(
            data_dir=tmp_path,
            smtp_host="mail.example",
            smtp_port=2525,
            smtp_recipient_domain="sms.example",
            notify_webhook_url="http://127.0.0.1:9/hook",
            notify_timeout_seconds=3,
        )
    )
    assert [n.channel for n in found] == ["smtp", "webhook"]
    smtp = found[0]
    assert isinstance(smtp, SmtpNotifier)
    assert (smtp.host, smtp.port, smtp.timeout) == ("mail.example", 2525, 3)
    for notifier in found:
        notifier.close()
