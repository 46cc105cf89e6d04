"""Keeping a role's log while its node runs: signing in quiet spells, and witnessing other
logs so that each is anchored outside its own node.

Who witnesses whom: in ``--role all`` every role's log the others' (in-process); in a
federation the platform every connected system that registered its log's key (over mutual
TLS, at the endpoint it registered), and each system takes the platform's cosignatures,
trusting the cosigning key the platform's log publishes; any node also the peers its
settings name (``ledger_peers``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import httpx

from vaxtrace.core.errors import DomainError
from vaxtrace.exchange.ledger_peer import HttpPeerLog
from vaxtrace.ledger.checkpoint import NoteError, VerifierKey
from vaxtrace.log.service import LedgerService, LocalPeerLog

logger = logging.getLogger("vaxtrace")

ClientAt = Callable[[str], AbstractContextManager[httpx.Client]]
"""A client whose base URL is the given one (plain HTTP, or presenting this node's
certificate)."""

Watched = Callable[[], list[tuple[str, VerifierKey]]]
"""The logs to witness over HTTP now: (URL of their log routes, their verifier key)."""


def plain_client(base_url: str) -> AbstractContextManager[httpx.Client]:
    return httpx.Client(base_url=base_url, timeout=30)


def peers_of(texts: list[str]) -> list[tuple[str, VerifierKey]]:
    """``ledger_peers`` entries ("base URL, a space, the log's key") as log routes and keys:
    the routes are the key's role's (its name ends with the role)."""
    peers = []
    for text in texts:
        base_url, _, key_text = text.strip().partition(" ")
        key = VerifierKey.parse(key_text)
        role = key.name.rsplit("/", 1)[-1]
        peers.append((f"{base_url.rstrip('/')}/{role}/v1/ledger", key))
    return peers


@dataclass
class LogKeeper:
    """One round, every ``ledger_checkpoint_seconds``, of what keeps a role's log."""

    ledger: LedgerService
    client_at: ClientAt = plain_client
    watched: Watched = lambda: []
    local_peers: list[LedgerService] = field(default_factory=list)
    witness_log: str | None = None
    """The log routes whose cosigning key this log trusts (the platform's), if any."""

    def round(self) -> None:
        self.ledger.sign_if_due()
        self._trust_witness()
        for url, key in self.watched():
            self._witness_over_http(url, key)
        for peer in self.local_peers:
            self._witness_here(peer)

    def _trust_witness(self) -> None:
        """Take the witness's cosigning key from its log routes (over mutual TLS: its
        server certificate is the federation CA's), until it is known."""
        if self.witness_log is None:
            return
        try:
            with self.client_at(self.witness_log) as client:
                cosigner = VerifierKey.parse(HttpPeerLog(client, "").keys()[1])
        except (httpx.HTTPError, NoteError, IndexError) as exc:
            logger.warning("the witness's key at %s is not known yet: %s", self.witness_log, exc)
            return
        self.ledger.trust_witness(cosigner)
        self.witness_log = None

    def _witness_over_http(self, url: str, key: VerifierKey) -> None:
        try:
            with self.client_at(url) as client:
                self.ledger.witness(key, HttpPeerLog(client, ""))
        except httpx.HTTPError as exc:  # the peer is down: try again next round
            logger.warning("witnessing %s at %s failed: %s", key.name, url, exc)

    def _witness_here(self, peer: LedgerService) -> None:
        try:
            self.ledger.witness(peer.verifier, LocalPeerLog(peer))
        except DomainError as exc:  # nothing signed there yet: next round
            logger.debug("witnessing %s: %s", peer.origin, exc.message)
        except Exception:  # a broken round must not stop the log being kept
            logger.exception("witnessing %s failed", peer.origin)
