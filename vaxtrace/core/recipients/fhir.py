"""A child's record (接种记录) as FHIR: a ``collection`` Bundle of the child's ``Patient``, an
``Immunization`` per dose given, an ``ImmunizationEvaluation`` per dose the schedule judged
(valid or not, and why) and one ``ImmunizationRecommendation`` with each series' forecast.

Built from the record the province serves (``recipients.record``) and validated with the
``fhir.resources`` models before it is answered, so an export is never malformed. The models
are its R4B ones (FHIR 4.3.0): the R4 technical correction, which left Patient and the
Immunization resources with R4's (4.0.1) elements. Codes: HL7's terminology where one fits
(performer function, dose status, forecast status) and LOINC's date criteria, as the FHIR
specification's example value sets name them; VaxTrace's own codes under ``urn:vaxtrace:``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from vaxtrace.core.schedule import Schedule

FHIR_JSON = "application/fhir+json"
"""The media type of an export (RFC 6838 registration by HL7)."""

NAMESPACE = uuid.UUID("6f1c7a52-6b1e-4d0c-9a57-3c1f1d2b8e41")
"""Names the resources' ``urn:uuid:`` ids: the same record exports with the same ids."""

SYSTEM = {
    "card": "urn:vaxtrace:vaccination-card-no",
    "resident_id": "urn:vaxtrace:cn-resident-id",
    "trace_code": "urn:vaxtrace:trace-code",
    "document": "urn:vaxtrace:vaccination-document-no",
    "uscc": "urn:vaxtrace:uscc",
    "product": "urn:vaxtrace:product-code",
    "vaccine": "urn:vaxtrace:schedule-vaccine",
    "division": "urn:vaxtrace:division-code",
    "verdict": "urn:vaxtrace:dose-verdict",
    "series_status": "urn:vaxtrace:series-status",
    "performer": "http://terminology.hl7.org/CodeSystem/v2-0443",
    "dose_status": "http://terminology.hl7.org/CodeSystem/immunization-evaluation-dose-status",
    "dose_reason": "http://terminology.hl7.org/CodeSystem/immunization-evaluation-dose-status-reason",
    "forecast": "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status",
    "loinc": "http://loinc.org",
}

DATE_CRITERIA = (
    ("earliest", "30981-5", "Earliest date to give"),
    ("recommended", "30980-7", "Date vaccine due"),
    ("overdue", "59778-1", "Date when overdue for immunization"),
    ("latest", "59777-3", "Latest date to give immunization"),
)
"""The forecast's dates as LOINC's immunization date criteria."""

FORECAST = {"due": "due", "overdue": "overdue", "complete": "complete"}
"""Series statuses HL7's forecast status codes say; the others travel as VaxTrace's only."""

TIMING = {"too_early", "too_late", "interval_too_short", "live_vaccine_interval"}
"""Dose verdicts HL7 calls ``outsidesched`` (given outside the schedule's ages or intervals)."""

GENDER = {"M": "male", "F": "female"}


def record_bundle(record: dict[str, Any], schedule: Schedule) -> dict[str, Any]:
    """The FHIR Bundle of a child's record, validated; ``record`` as the province serves it."""
    child = record["child"]
    patient = _urn("Patient", child["child_id"])
    entries: list[dict[str, Any]] = [_entry(patient, _patient(child))]
    for n, dose in enumerate(record["doses"], start=1):
        immunization = _urn("Immunization", f"{child['child_id']}/{n}")
        entries.append(_entry(immunization, _immunization(dose, patient)))
        if dose.get("evaluation"):
            evaluation = _urn("ImmunizationEvaluation", f"{child['child_id']}/{n}")
            resource = _evaluation(dose, record, patient, immunization, schedule)
            entries.append(_entry(evaluation, resource))
    recommendation = _urn("ImmunizationRecommendation", child["child_id"])
    entries.append(_entry(recommendation, _recommendation(record, patient, schedule)))
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(NAMESPACE, f"Bundle/{child['child_id']}")),
        "type": "collection",
        "timestamp": f"{record['assessment_date']}T00:00:00+08:00",
        "entry": entries,
    }
    Bundle.model_validate(bundle)
    return bundle


def _urn(kind: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{kind}/{key}')}"


def _entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource}


def _ref(full_url: str) -> dict[str, str]:
    return {"reference": full_url}


def _patient(child: dict[str, Any]) -> dict[str, Any]:
    identifiers = [{"system": SYSTEM["card"], "value": child["card_no"]}]
    if child.get("resident_id"):
        identifiers.append({"system": SYSTEM["resident_id"], "value": child["resident_id"]})
    return {
        "resourceType": "Patient",
        "identifier": identifiers,
        "active": child["state"] == "active",
        "name": [{"text": child["name"]}],
        "gender": GENDER.get(child["sex"], "unknown"),
        "birthDate": child["birth_date"],
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                "valueAddress": {"district": child["birth_division"]},
            }
        ],
        "contact": [
            {
                "relationship": [{"text": g["relation"]}],
                "name": {"text": g["name"]},
                "telecom": [{"system": "phone", "value": g["phone"]}],
            }
            for g in child["guardians"]
        ],
        "managingOrganization": {
            "identifier": {"system": SYSTEM["uscc"], "value": child["site_uscc"]}
        },
    }


def _vaccine_code(dose: dict[str, Any]) -> dict[str, Any]:
    codings = [
        {
            "system": SYSTEM["product"],
            "code": f"{dose['mah_uscc']}/{dose['product_code']}",
            **({"display": dose["product_name"]} if dose.get("product_name") else {}),
        }
    ]
    if dose.get("vaccine"):
        codings.append(
            {
                "system": SYSTEM["vaccine"],
                "code": dose["vaccine"],
                **({"display": dose["vaccine_name"]} if dose.get("vaccine_name") else {}),
            }
        )
    text = dose.get("product_name") or dose.get("vaccine_name") or dose["product_code"]
    return {"coding": codings, "text": text}


def _immunization(dose: dict[str, Any], patient: str) -> dict[str, Any]:
    judged = dose.get("evaluation") or {}
    number = judged.get("dose") or dose.get("dose_number")
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "identifier": [
            {"system": SYSTEM["trace_code"], "value": dose["code"]},
            {"system": SYSTEM["document"], "value": dose["document_no"]},
        ],
        "status": "completed",
        "vaccineCode": _vaccine_code(dose),
        "patient": _ref(patient),
        "occurrenceDateTime": dose["vaccinated_at"],
        "primarySource": True,
        "location": {"identifier": {"system": SYSTEM["uscc"], "value": dose["site_uscc"]}},
        "manufacturer": {"identifier": {"system": SYSTEM["uscc"], "value": dose["mah_uscc"]}},
        "lotNumber": dose["batch_no"],
        "performer": [
            {
                "function": {"coding": [{"system": SYSTEM["performer"], "code": "AP"}]},
                "actor": {"display": dose["vaccinator"]},
            }
        ],
    }
    if dose.get("expiry_date"):
        resource["expirationDate"] = dose["expiry_date"]
    if dose.get("vaccine"):
        applied: dict[str, Any] = {"series": judged.get("series") or dose["vaccine"]}
        if number:
            applied["doseNumberPositiveInt"] = int(number)
        else:
            applied["doseNumberString"] = "unknown"
        resource["protocolApplied"] = [applied]
    return resource


def _disease(series: str, schedule: Schedule) -> dict[str, Any]:
    return {"text": schedule.diseases.get(series, series)}


def _evaluation(
    dose: dict[str, Any], record: dict[str, Any], patient: str, event: str, schedule: Schedule
) -> dict[str, Any]:
    judged = dose["evaluation"]
    status = "valid" if judged["valid"] else "notvalid"
    resource: dict[str, Any] = {
        "resourceType": "ImmunizationEvaluation",
        "status": "completed",
        "patient": _ref(patient),
        "date": record["assessment_date"],
        "targetDisease": _disease(judged["series"], schedule),
        "immunizationEvent": _ref(event),
        "doseStatus": {"coding": [{"system": SYSTEM["dose_status"], "code": status}]},
        "series": judged["series"],
        "doseNumberPositiveInt": int(judged["dose"]),
    }
    if not judged["valid"]:
        codings = [{"system": SYSTEM["verdict"], "code": judged["reason"]}]
        if judged["reason"] in TIMING:
            codings.insert(0, {"system": SYSTEM["dose_reason"], "code": "outsidesched"})
        resource["doseStatusReason"] = [{"coding": codings, "text": judged["reason"]}]
    return resource


def _recommendation(record: dict[str, Any], patient: str, schedule: Schedule) -> dict[str, Any]:
    return {
        "resourceType": "ImmunizationRecommendation",
        "patient": _ref(patient),
        "date": f"{record['assessment_date']}T00:00:00+08:00",
        "recommendation": [_forecast(s, schedule) for s in record["series"]],
    }


def _forecast(series: dict[str, Any], schedule: Schedule) -> dict[str, Any]:
    status = series["status"]
    codings = [{"system": SYSTEM["series_status"], "code": status}]
    if status in FORECAST:
        codings.insert(0, {"system": SYSTEM["forecast"], "code": FORECAST[status]})
    found: dict[str, Any] = {
        "targetDisease": _disease(series["vaccine"], schedule),
        "forecastStatus": {"coding": codings, "text": status},
        "series": series["plan"] or series["vaccine"],
        "seriesDosesPositiveInt": int(series["doses_required"]),
    }
    upcoming = series.get("next")
    if upcoming:
        found["vaccineCode"] = [
            {"coding": [{"system": SYSTEM["vaccine"], "code": p}], "text": p}
            for p in upcoming["products"]
        ]
        found["doseNumberPositiveInt"] = int(upcoming["dose"])
        found["dateCriterion"] = [
            {"code": {"coding": [{"system": SYSTEM["loinc"], "code": code, "display": name}]},
             "value": f"{upcoming[key]}T00:00:00+08:00"}
            for key, code, name in DATE_CRITERIA
            if upcoming.get(key)
        ]  # fmt: skip
    return found
