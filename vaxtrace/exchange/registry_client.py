"""Talking to the platform's registry over HTTP (mutual TLS in production): reading its change
feed, publishing a trace system's coding rules and products."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from vaxtrace.core.datasets.basic_data import VaccineProduct
from vaxtrace.core.datasets.elements import Model
from vaxtrace.core.registry import RegisteredCodingRule
from vaxtrace.exchange.registry_feed import Fetch


def changes_fetcher(client: httpx.Client, prefix: str = "/platform/v1") -> Fetch:
    """A ``fetch(since)`` for :func:`vaxtrace.exchange.registry_feed.follow_registry` over any
    httpx client."""

    def fetch(since: int) -> dict[str, Any]:
        response = client.get(f"{prefix}/registry/changes", params={"since": since})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    return fetch


def publish_rules(
    client: httpx.Client, rules: list[RegisteredCodingRule], prefix: str = "/platform/v1"
) -> list[str]:
    """Register a trace system's coding rules at the platform (again is harmless)."""
    named = [(f"rule {r.mah_uscc} {r.family}", r) for r in rules]
    return _publish(client, f"{prefix}/coding-rules", named)


def publish_products(
    client: httpx.Client, products: list[VaccineProduct], prefix: str = "/platform/v1"
) -> list[str]:
    """Register a trace system's products at the platform (again changes nothing)."""
    named = [(f"product {p.mah_uscc}/{p.product_code}", p) for p in products]
    return _publish(client, f"{prefix}/registry/products", named)


def _publish(client: httpx.Client, path: str, named: Sequence[tuple[str, Model]]) -> list[str]:
    """Post each item; one the platform refuses (say, of a MAH this system does not
    represent) does not stop the others. Answers the refusals, for the operator."""
    refused = []
    for name, item in named:
        response = client.post(path, json=item.model_dump(mode="json"))
        if 400 <= response.status_code < 500:
            refused.append(f"{name}: {response.text[:300]}")
        else:
            response.raise_for_status()
    return refused
