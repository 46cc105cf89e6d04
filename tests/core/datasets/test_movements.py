"""Movements: destruction, shipping notes and shipping-note uploads."""

from __future__ import annotations

from typing import Any

from tests.core.datasets.datasets_world import MAH, WRITE, refused
from vaxtrace.core.datasets.movements import (
    MAX_UPLOAD_CODES,
    Destruction,
    ShippingNote,
    ShippingNoteUpload,
)


def test_destruction_needs_reason_executor_and_supervisor() -> None:
    base = {**WRITE, "codes": ["C1"], "reason": "过期", "executor": "张三", "supervisor": "李四"}
    assert Destruction.model_validate(base).supervisor == "李四"
    for field in ("reason", "executor", "supervisor"):
        refused(Destruction, {k: v for k, v in base.items() if k != field}, field)
        refused(Destruction, {**base, field: "  "}, field)


def test_shipping_note_checks_usccs() -> None:
    base = {
        **WRITE,
        "codes": ["C1"],
        "consignee_uscc": MAH,
        "shipper": "王五",
        "expected_quantity": 1,
    }
    assert ShippingNote.model_validate(base).distributor_uscc is None
    refused(ShippingNote, {**base, "consignee_uscc": "91110000600037341M"}, "consignee_uscc")
    refused(ShippingNote, {**base, "distributor_uscc": "91110000600037341M"}, "distributor_uscc")
    refused(ShippingNote, {**base, "codes": []}, "codes")


def _notes(sizes: list[int]) -> list[dict[str, Any]]:
    return [
        {
            **WRITE,
            "client_document_id": f"doc-{n}",
            "codes": [f"C{n}-{i}" for i in range(size)],
            "consignee_uscc": MAH,
            "shipper": "王五",
            "expected_quantity": size,
        }
        for n, size in enumerate(sizes)
    ]


def test_an_upload_lists_at_most_as_many_codes_as_one_note_may() -> None:
    half = MAX_UPLOAD_CODES // 2
    upload = ShippingNoteUpload.model_validate({"shipping_notes": _notes([half, half])})
    assert len(upload.shipping_notes) == 2
    refused(ShippingNoteUpload, {"shipping_notes": _notes([half, half + 1])}, "an upload may list")


def test_an_upload_holds_1_to_1000_notes_each_with_its_own_id() -> None:
    refused(ShippingNoteUpload, {"shipping_notes": []}, "shipping_notes")
    refused(ShippingNoteUpload, {"shipping_notes": _notes([1] * 1001)}, "at most 1000")
    twins = _notes([1, 1])
    twins[1]["client_document_id"] = twins[0]["client_document_id"]
    refused(ShippingNoteUpload, {"shipping_notes": twins}, "share a client_document_id")
