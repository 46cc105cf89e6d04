"""A province asking the platform for a batch's lot release certificate (批签发证明), which
the platform fetches from the MAH's trace system (mutual TLS both ways).

Awaited on the event loop, with no worker thread held: in one process the platform and the
trace role answer on the same loop. Every ask ends within ``timeout`` seconds."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import anyio
import httpx

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import CertificateFile
from vaxtrace.exchange.transport import AsyncClients

CERTIFICATE_PATH = "/platform/v1/exchange/lot-release-certificates"


class PlatformCertificates:
    """``await fetch(mah_uscc, batch_no)``: the certificate as the platform passes it on."""

    def __init__(self, clients: AsyncClients, base: str, timeout: float) -> None:
        self.clients, self.base, self.timeout = clients, base, timeout

    async def __call__(self, mah_uscc: str, batch_no: str) -> CertificateFile:
        path = f"{CERTIFICATE_PATH}/{quote(mah_uscc, safe='')}/{quote(batch_no, safe='')}"
        try:
            with anyio.fail_after(self.timeout):
                async with self.clients(self.base) as client:
                    response = await client.get(path)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise DomainError(
                Reason.PLATFORM_UNAVAILABLE,
                f"the platform did not answer within {self.timeout:g} s; try again later",
            ) from exc
        except httpx.TransportError as exc:
            raise DomainError(
                Reason.PLATFORM_UNREACHABLE, f"the platform at {self.base} did not answer: {exc}"
            ) from exc
        if response.status_code == 200:
            media_type = response.headers.get("content-type", "application/octet-stream")
            return CertificateFile(response.content, media_type)
        raise _refusal(response)


def _refusal(response: httpx.Response) -> DomainError:
    """The platform's problem answer in the domain's words (its reason kept)."""
    problem: dict[str, Any] = {}
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        problem = response.json()
    reason = str(problem.get("reason", Reason.PLATFORM_FAILED))
    detail = f"the platform says: {problem.get('detail', response.status_code)}"
    if response.status_code in (403, 404):
        return DomainError(reason, detail, field="batch_no")
    return DomainError(reason if response.status_code == 503 else Reason.PLATFORM_FAILED, detail)
