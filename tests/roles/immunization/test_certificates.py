"""A CDC or site looks at a batch's lot release certificate (批签发证明): only a batch the
province holds or expects, with a lot release on record, and only the file whose SHA-256 the
batch data carried. The platform's side stands in for the platform here (what it answers is
the input); the whole way through the platform and the trace system runs in tests/test_demo."""

from __future__ import annotations

import hashlib

import anyio
import pytest
from province_world import BATCH_NO, MAH, Province, batch_entry, dose

from vaxtrace.core.errors import DomainError
from vaxtrace.core.signals import CertificateFile

FILED = b"%PDF-1.7 lot release certificate SP-B2024001"


class Platform:
    """What the platform answers to the province's ask, and how often it was asked."""

    def __init__(self, content: bytes) -> None:
        self.content, self.asked = content, 0

    async def __call__(self, mah_uscc: str, batch_no: str) -> CertificateFile:
        self.asked += 1
        return CertificateFile(self.content, "application/pdf")


def ask(province: Province, platform: Platform, mah: str = MAH, batch_no: str = BATCH_NO) -> bytes:
    async def go() -> bytes:
        found = await province.svc.lot_release_certificate(mah, batch_no, platform)
        return found.content

    return anyio.run(go)


@pytest.fixture
def announced(province: Province) -> Province:
    entry = batch_entry([dose(1)])
    entry["lot_release"]["certificate_sha256"] = hashlib.sha256(FILED).hexdigest()
    province.announce("FH1", [dose(1)], batches=[entry])
    return province


def test_the_file_on_record_is_shown(announced: Province) -> None:
    assert ask(announced, Platform(FILED)) == FILED


def test_another_file_is_refused(announced: Province) -> None:
    with pytest.raises(DomainError) as refused:
        ask(announced, Platform(b"%PDF-1.7 a forged certificate"))
    assert refused.value.reason == "certificate_file_mismatch"


def test_no_batch_or_no_lot_release_on_record_is_not_asked_for(province: Province) -> None:
    province.announce("FH1", [dose(1)], batches=[batch_entry([dose(1)], released=False)])
    platform = Platform(FILED)
    for batch_no, reason in (("B-NEVER-SEEN", "unknown_batch"), (BATCH_NO, "no_lot_release")):
        with pytest.raises(DomainError) as refused:
            ask(province, platform, batch_no=batch_no)
        assert (refused.value.reason, refused.value.field) == (reason, "batch_no")
    assert platform.asked == 0
