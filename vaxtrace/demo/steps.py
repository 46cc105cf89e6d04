"""What the demo's staff do through the HTTP API: a document's identity, the CDC's receipt of
a note and supply of a case to a site, the site's receipt (each with its logger's record), and
finding a dose inside a case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def document(client_document_id: str) -> dict[str, Any]:
    return {
        "client_document_id": client_document_id,
        "document_no": client_document_id.upper(),
        "business_time": datetime.now(UTC).isoformat(),
    }


def receive_and_supply(
    client: TestClient,
    staff: tuple[dict[str, str], dict[str, str]],
    pov: str,
    note_no: str,
    prefix: str,
    when: str,
) -> str:
    """The CDC scans and confirms a note and supplies its first case to the site ``pov``,
    which scans and confirms that case in turn (``staff``: the CDC's and the site's
    credentials): answers the case's code, or ``!`` and what went wrong."""
    as_cdc, as_pov = staff
    api = "/immunization/v1"
    notes = client.get(f"{api}/receipts", headers=as_cdc).json()
    codes = next((list(n["codes"]) for n in notes if n["note_no"] == note_no), [])
    for code in codes:
        client.post(f"{api}/receipts/{note_no}/scans", json={"code": code}, headers=as_cdc)
    if not codes:
        return f"!no codes on {note_no}"
    at = {"business_time": when}
    supply = document(f"{prefix}-supply") | at | {"codes": codes[:1], "receiver_uscc": pov}
    arrived = f"{api}/receipts/{supply['document_no']}"
    records = f"{api}/temperature-records"
    steps = [
        (records, as_cdc, _journey(f"{prefix}-trip", note_no, when)),
        (f"{api}/receipts/{note_no}/confirm", as_cdc, document(f"{prefix}-receipt") | at),
        (f"{api}/distributions", as_cdc, supply),
        (f"{arrived}/scans", as_pov, {"code": codes[0]}),
        (records, as_pov, _journey(f"{prefix}-van", supply["document_no"], when)),
        (f"{arrived}/confirm", as_pov, document(f"{prefix}-arrival") | at),
    ]
    for path, who, body in steps:
        answer = client.post(path, json=body, headers=who)
        if answer.status_code != 201:
            return f"!{path} ({note_no}): HTTP {answer.status_code} {answer.text[:300]}"
    return str(codes[0])


def _journey(client_document_id: str, delivery: str, arrived: str) -> dict[str, Any]:
    """The logger record of a delivery's journey (the two hours before it arrived, at 4–6 °C),
    which its receiver uploads before confirming the receipt."""
    end = datetime.fromisoformat(arrived)
    readings = [
        {"time": (end - timedelta(minutes=10 * n)).isoformat(), "celsius": 4.0 + (n % 3)}
        for n in range(12, -1, -1)
    ]
    return {
        "client_document_id": client_document_id,
        "equipment_id": f"LOGGER-{client_document_id.upper()}",
        "kind": "transport",
        "product_class": "freeze_sensitive_2_8",
        "related_document_no": delivery,
        "readings": readings,
    }


def a_dose_inside(client: TestClient, top: str, headers: dict[str, str], nth: int = 0) -> str:
    """The ``nth`` code (first by default) of the innermost level down from ``top`` (a dose),
    from the site's stock, one packing level at a time."""
    code = top
    for _level in range(3):
        answer = client.get("/immunization/v1/stock", params={"code": code}, headers=headers)
        inside = answer.json().get("inside") or []
        if not inside:
            break
        code = str(inside[0] if len(inside) <= nth else inside[nth])
    return code
