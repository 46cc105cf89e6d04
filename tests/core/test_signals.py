"""Safety signals (安全控制信息): complete for their kind, read with a refusal naming the field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from tests.refusals import refused_with
from vaxtrace.core.datasets.locks import LockKind
from vaxtrace.core.errors import DomainError
from vaxtrace.core.signals import (
    STATUSES_SENT,
    SafetySignal,
    SignalKind,
    read_signal,
)
from vaxtrace.core.status import Status

MAH = "91110000600037341L"
CODES = ["80000010000000017123", "80000010000000027456"]
BATCH: dict[str, Any] = {
    "batch_no": "B2026001",
    "product_code": "HEPB-10",
    "production_date": "2026-06-30",
    "expiry_date": "2027-06-30",
    "lot_release": {
        "certificate_no": "SG20260001",
        "authority": "中国食品药品检定研究院",
        "release_date": "2026-08-01",
        "certificate_sha256": "ab" * 32,
    },
}

COMPLETE: dict[SignalKind, dict[str, Any]] = {
    SignalKind.LOCK: {"lock_kind": "pending", "codes": CODES},
    SignalKind.UNLOCK: {},
    SignalKind.RECALL: {"recall_no": "RC-2026-7", "recall_level": 2, "reason": "效价偏低"},
    SignalKind.RECALL_CLOSED: {"recall_no": "RC-2026-7"},
    SignalKind.STATUS: {"status": "suspended", "codes": CODES[:1]},
    SignalKind.BATCH: {"batches": [BATCH, {**BATCH, "batch_no": "B2026002", "lot_release": None}]},
}


def signal(of: SignalKind = SignalKind.LOCK, **changes: Any) -> dict[str, Any]:
    return (
        {
            "kind": of.value,
            "mah_uscc": MAH,
            "document_no": "SD2026-0001",
            "business_time": "2026-11-20T09:00:00+08:00",
            "batch_nos": ["B2026001"],
        }
        | COMPLETE[of]
        | changes
    )


def refusal(payload: Any) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as caught:
        read_signal(payload)
    return caught.value.reason, caught.value.field


def test_every_kind_has_a_complete_case() -> None:
    assert set(COMPLETE) == set(SignalKind)


@pytest.mark.parametrize("kind", list(SignalKind), ids=[k.value for k in SignalKind])
def test_a_complete_signal_of_each_kind_reads(kind: SignalKind) -> None:
    read = read_signal({"safety_signal": signal(kind)})
    assert read.kind is kind and read.mah_uscc == MAH and read.batch_nos == ("B2026001",)
    assert read.business_time.utcoffset() is not None


def test_what_a_signal_carries_reads_as_the_domain_types() -> None:
    lock = read_signal({"safety_signal": signal(SignalKind.LOCK)})
    assert lock.lock_kind is LockKind.PENDING and lock.codes == tuple(CODES)
    status = read_signal({"safety_signal": signal(SignalKind.STATUS)})
    assert status.status is Status.SUSPENDED
    batch = read_signal({"safety_signal": signal(SignalKind.BATCH)}).batches
    assert batch[0].expiry_date == date(2027, 6, 30)
    assert batch[0].lot_release is not None and batch[0].lot_release.certificate_no == "SG20260001"
    assert batch[1].lot_release is None


@pytest.mark.parametrize(
    ("kind", "changes", "says"),
    [
        (SignalKind.LOCK, {"lock_kind": None}, "a lock names its lock_kind"),
        (SignalKind.RECALL, {"recall_no": None}, "a recall names its recall_no"),
        (SignalKind.RECALL, {"recall_no": ""}, "a recall names its recall_no"),
        (SignalKind.RECALL_CLOSED, {"recall_no": None}, "a recall names its recall_no"),
        (SignalKind.STATUS, {"codes": None}, "a status signal names its codes"),
        (SignalKind.STATUS, {"status": None}, "a status signal names its codes"),
        (SignalKind.STATUS, {"status": "normal"}, "a status signal names its codes"),
        (SignalKind.STATUS, {"status": "recalling"}, "a status signal names its codes"),
        (SignalKind.STATUS, {"status": "pending"}, "a status signal names its codes"),
        (SignalKind.BATCH, {"batches": []}, "a batch signal carries the batches"),
    ],
    ids=[
        "lock-without-kind",
        "recall-without-no",
        "recall-with-empty-no",
        "recall-closed-without-no",
        "status-without-codes",
        "status-without-status",
        "status-normal",
        "status-recalling",
        "status-pending",
        "batch-without-batches",
    ],
)
def test_an_incomplete_signal_is_refused(
    kind: SignalKind, changes: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        SafetySignal.model_validate(signal(kind, **changes))
    assert refusal({"safety_signal": signal(kind, **changes)}) == (
        "malformed_document",
        "payload.safety_signal",
    )


@pytest.mark.parametrize(
    "status", sorted(STATUSES_SENT), ids=sorted(s.value for s in STATUSES_SENT)
)
def test_a_status_signal_carries_damaged_destroyed_or_suspended(status: Status) -> None:
    assert {Status.DAMAGED, Status.DESTROYED, Status.SUSPENDED} == STATUSES_SENT
    read = SafetySignal.model_validate(signal(SignalKind.STATUS, status=status.value))
    assert read.status is status


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lock_kind": "frozen"}, "payload.safety_signal.lock_kind"),
        ({"kind": "pause"}, "payload.safety_signal.kind"),
        ({"batch_nos": []}, "payload.safety_signal.batch_nos"),
        ({"batch_nos": [f"B{n}" for n in range(1001)]}, "payload.safety_signal.batch_nos"),
        ({"business_time": "2026-11-20T09:00:00"}, "payload.safety_signal.business_time"),
        ({"mah_uscc": "91110000600037341M"}, "payload.safety_signal.mah_uscc"),
        ({"document_no": "S" * 61}, "payload.safety_signal.document_no"),
        ({"codes": []}, "payload.safety_signal.codes"),
        ({"recall_level": 4}, "payload.safety_signal.recall_level"),
        ({"status": "melted"}, "payload.safety_signal.status"),
        ({"batches": [{**BATCH, "batch_no": ""}]}, "payload.safety_signal.batches.0.batch_no"),
        (
            {
                "batches": [
                    {
                        **BATCH,
                        "lot_release": {**BATCH["lot_release"], "certificate_sha256": "A" * 64},
                    }
                ]
            },
            "payload.safety_signal.batches.0.lot_release.certificate_sha256",
        ),
        ({"priority": "high"}, "payload.safety_signal.priority"),
        ({"lock_kind": None}, "payload.safety_signal"),  # the whole signal is incomplete
    ],
    ids=[
        "unknown-lock-kind",
        "unknown-kind",
        "no-batch",
        "1001-batches",
        "naive-business-time",
        "bad-mah-uscc",
        "document-no-too-long",
        "empty-codes",
        "recall-level-4",
        "unknown-status",
        "empty-batch-no",
        "bad-certificate-hash",
        "extra-field",
        "lock-without-kind",
    ],
)
def test_a_malformed_signal_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    assert refusal({"safety_signal": signal(**changes)}) == ("malformed_document", field)


@pytest.mark.parametrize(
    "batch_nos", [["B1"], [f"B{n}" for n in range(1000)]], ids=["one-batch", "1000-batches"]
)
def test_a_signal_names_one_to_a_thousand_batches(batch_nos: list[str]) -> None:
    assert read_signal({"safety_signal": signal(batch_nos=batch_nos)}).batch_nos == tuple(batch_nos)


@pytest.mark.parametrize(
    "payload",
    [{"shipping_note": {}}, {}, ["safety_signal"], None, "safety_signal"],
    ids=["another-document", "empty", "a-list", "none", "a-string"],
)
def test_a_payload_without_a_signal(payload: Any) -> None:
    assert refusal(payload) == ("unknown_document", "payload")


@pytest.mark.parametrize("kind", list(SignalKind), ids=[k.value for k in SignalKind])
def test_a_signal_survives_the_wire(kind: SignalKind) -> None:
    sent = SafetySignal.model_validate(signal(kind))
    wire = sent.model_dump(mode="json")
    assert read_signal({"safety_signal": wire}) == sent
    assert read_signal({"safety_signal": wire}).business_time == datetime.fromisoformat(
        "2026-11-20T09:00:00+08:00"
    )


# --- the lot release certificate file ----------------------------------------------------------


def test_a_certificate_is_shown_only_as_the_file_on_record() -> None:
    import hashlib

    from vaxtrace.core.signals import CertificateFile

    found = CertificateFile(b"%PDF-1.7 certificate", "application/pdf")
    filed = hashlib.sha256(b"%PDF-1.7 certificate").hexdigest()
    assert found.sha256 == filed and found.check(filed.upper()) is found
    for other in (hashlib.sha256(b"another file").hexdigest(), None):
        with refused_with(409) as refused:
            found.check(other)
        assert refused.value.reason == "certificate_file_mismatch"
