"""A child's record as FHIR: every resource validates with fhir.resources' models, every dose,
verdict and forecast date travels, and a malformed record is never exported."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from vaxtrace.core.recipients.fhir import SYSTEM, record_bundle
from vaxtrace.core.schedule import national_schedule

MAH = "91320100MA1X000009"
SITE = "12320102MB1X00002K"


def dose(n: int, day: str, evaluation: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "document_no": f"JZ-{n}",
        "vaccinated_at": f"{day}T01:30:00+00:00",
        "date": day,
        "product_code": "HEPB-10",
        "product_name": "乙型肝炎疫苗(酿酒酵母)",
        "vaccine": "HepB",
        "vaccine_name": "乙肝疫苗",
        "mah_uscc": MAH,
        "batch_no": "B2024001",
        "expiry_date": "2026-03-31",
        "code": f"8{n:019d}",
        "site_uscc": SITE,
        "vaccinator": "李护士",
        "dose_number": None,
        "evaluation": evaluation,
    }


def record() -> dict[str, Any]:
    valid = {"series": "HepB", "dose": 1, "valid": True, "reason": "valid"}
    early = {"series": "HepB", "dose": 2, "valid": False, "reason": "interval_too_short"}
    return {
        "child": {
            "child_id": "ch-0123456789abcdef",
            "site_uscc": SITE,
            "state": "active",
            "merged_into": None,
            "name": "张晓梅",
            "sex": "F",
            "birth_date": "2024-03-01",
            "birth_division": "320102",
            "card_no": "320102-2024-0001",
            "resident_id": None,
            "guardians": [{"name": "王丽", "relation": "mother", "phone": "13800138000"}],
            "registered_at": "2024-03-01T02:00:00+00:00",
        },
        "assessment_date": "2024-04-15",
        "doses": [dose(1, "2024-03-01", valid), dose(2, "2024-03-20", early)],
        "series": [
            {
                "vaccine": "HepB",
                "plan": "HepB",
                "status": "not_yet_due",
                "doses_valid": 1,
                "doses_required": 3,
                "next": {
                    "dose": 2,
                    "products": ["HepB"],
                    "earliest": "2024-04-01",
                    "recommended": "2024-04-01",
                    "overdue": "2025-03-01",
                    "latest": None,
                },
            },
            {
                "vaccine": "BCG",
                "plan": "BCG",
                "status": "overdue",
                "doses_valid": 0,
                "doses_required": 1,
                "next": {
                    "dose": 1,
                    "products": ["BCG"],
                    "earliest": "2024-03-01",
                    "recommended": "2024-03-01",
                    "overdue": "2024-06-01",
                    "latest": "2028-03-01",
                },
            },
        ],
    }


def of(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_record_exports_as_a_valid_bundle_with_every_dose_and_verdict() -> None:
    bundle = record_bundle(record(), national_schedule())
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection" and len(parsed.entry or []) == 6
    (patient,) = of(bundle, "Patient")
    assert (patient["gender"], patient["birthDate"]) == ("female", "2024-03-01")
    assert patient["contact"][0]["telecom"][0]["value"] == "13800138000"
    first, second = of(bundle, "Immunization")
    assert first["lotNumber"] == "B2024001" and first["expirationDate"] == "2026-03-31"
    assert {"system": SYSTEM["trace_code"], "value": "80000000000000000001"} in first["identifier"]
    assert first["protocolApplied"] == [{"series": "HepB", "doseNumberPositiveInt": 1}]
    assert first["performer"][0]["actor"] == {"display": "李护士"}
    assert second["protocolApplied"] == [{"series": "HepB", "doseNumberPositiveInt": 2}]
    ok, not_ok = of(bundle, "ImmunizationEvaluation")
    assert ok["doseStatus"]["coding"][0]["code"] == "valid"
    assert not_ok["doseStatus"]["coding"][0]["code"] == "notvalid"
    reasons = [c["code"] for c in not_ok["doseStatusReason"][0]["coding"]]
    assert reasons == ["outsidesched", "interval_too_short"]
    assert not_ok["immunizationEvent"]["reference"] == bundle["entry"][3]["fullUrl"]
    assert ok["targetDisease"]["text"].startswith("乙型病毒性肝炎")
    (forecast,) = of(bundle, "ImmunizationRecommendation")
    hepb, bcg = forecast["recommendation"]
    assert hepb["forecastStatus"]["coding"] == [
        {"system": SYSTEM["series_status"], "code": "not_yet_due"}
    ]
    assert bcg["forecastStatus"]["coding"][0] == {"system": SYSTEM["forecast"], "code": "overdue"}
    dates = {c["code"]["coding"][0]["code"]: c["value"][:10] for c in bcg["dateCriterion"]}
    assert dates == {
        "30981-5": "2024-03-01",
        "30980-7": "2024-03-01",
        "59778-1": "2024-06-01",
        "59777-3": "2028-03-01",
    }
    assert "59777-3" not in {c["code"]["coding"][0]["code"] for c in hepb["dateCriterion"]}


def test_the_same_record_exports_with_the_same_ids() -> None:
    assert record_bundle(record(), national_schedule()) == record_bundle(
        record(), national_schedule()
    )


def test_a_malformed_record_is_never_exported() -> None:
    broken = record()
    broken["doses"][0]["vaccinated_at"] = "the second of March"
    with pytest.raises(ValidationError):
        record_bundle(broken, national_schedule())
