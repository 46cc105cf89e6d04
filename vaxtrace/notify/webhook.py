"""A JSON POST per message to a webhook (an SMS gateway, a messaging service): the body is
``{"to", "subject", "text", "data"}``; any 2xx answer is delivery, anything else (another
status, a timeout, no connection) a :class:`NotifyError`."""

from __future__ import annotations

import httpx

from vaxtrace.notify.base import Message, NotifyError


class WebhookNotifier:
    channel = "webhook"

    def __init__(
        self, url: str, *, timeout: float = 10.0, headers: dict[str, str] | None = None
    ) -> None:
        self.url = url
        self.client = httpx.Client(timeout=timeout, headers=headers or {})

    def send(self, message: Message) -> None:
        body = {
            "to": message.to,
            "subject": message.subject,
            "text": message.text,
            "data": dict(message.data),
        }
        try:
            answer = self.client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise NotifyError(f"webhook: {type(exc).__name__}: {exc}") from exc
        if not answer.is_success:
            raise NotifyError(f"webhook answered {answer.status_code}")

    def close(self) -> None:
        self.client.close()
