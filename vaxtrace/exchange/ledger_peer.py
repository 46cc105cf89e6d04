"""Reading another node's log over HTTP, as a witness does."""

from __future__ import annotations

import base64

import httpx


class HttpPeerLog:
    """A peer's log routes (``…/ledger``) through any httpx client (network or ASGI)."""

    def __init__(self, client: httpx.Client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix.rstrip("/")

    def checkpoint(self) -> str:
        response = self.client.get(f"{self.prefix}/checkpoint")
        response.raise_for_status()
        return response.text

    def consistency(self, old: int, new: int) -> list[bytes]:
        response = self.client.get(
            f"{self.prefix}/proofs/consistency", params={"old": old, "new": new}
        )
        response.raise_for_status()
        return [base64.b64decode(p) for p in response.json()["proof"]]

    def send_cosignature(self, note: str) -> None:
        response = self.client.post(
            f"{self.prefix}/cosignatures",
            content=note.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        response.raise_for_status()

    def key(self) -> str:
        """The log's verifier key."""
        return self.keys()[0]

    def keys(self) -> list[str]:
        """The log's verifier key, then the key its cosignatures of other logs are made with."""
        response = self.client.get(f"{self.prefix}/key")
        response.raise_for_status()
        return response.text.splitlines()
