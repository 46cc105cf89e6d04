"""NMPAB/T 1004 data sets as pydantic models: what they accept and what they refuse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from vaxtrace.core.datasets.basic_data import (
    CodeFamilyName,
    LevelSpec,
    Organisation,
    OrgKind,
    PackagingLevel,
    VaccineProduct,
)
from vaxtrace.core.datasets.movements import (
    MAX_UPLOAD_CODES,
    Destruction,
    ShippingNote,
    ShippingNoteUpload,
)
from vaxtrace.core.datasets.production import Batch, CodeRelation, Commission
from vaxtrace.core.datasets.temperature import Reading, TemperatureRecord

MAH = "91110000600037341L"
GTINS = ("06901234567892", "16901234567899", "26901234567896")  # one per level, valid checks
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
WRITE: dict[str, Any] = {"client_document_id": "doc-1", "business_time": T0, "document_no": "N1"}


def product(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "product_code": "HEPB-10",
        "mah_uscc": MAH,
        "generic_name": "乙型肝炎疫苗(酿酒酵母)",
        "trade_name": "乙肝",
        "drug_standard_code": "86901234000012",
        "dosage_form": "注射剂",
        "strength": "10μg/0.5ml",
        "pack_spec": "1支/盒",
        "shelf_life_months": 36,
        "approval_number": "国药准字S20000001",
        "nip": True,
        "manufacturer": "某生物制品有限公司",
        "family": "gs1",
        "levels": [
            {"level": 1, "identification_code": GTINS[0]},
            {"level": 2, "identification_code": GTINS[1], "children": 10},
            {"level": 3, "identification_code": GTINS[2], "children": 50},
        ],
    }
    data.update(changes)
    return data


def refused(model: type[Any], data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    assert fragment in str(info.value), str(info.value)


# --- vaccine product --------------------------------------------------------------------------


def test_a_valid_three_level_product() -> None:
    vaccine = VaccineProduct.model_validate(product())
    assert vaccine.family is CodeFamilyName.GS1
    assert [s.level for s in vaccine.levels] == [
        PackagingLevel.DOSE,
        PackagingLevel.BOX,
        PackagingLevel.CASE,
    ]
    assert vaccine.doses_per(1) == 1
    assert vaccine.doses_per(2) == 10
    assert vaccine.doses_per(3) == 500
    assert vaccine.storage_condition == "2-8°C"
    assert vaccine.imported is False


def test_a_valid_20_digit_family_product() -> None:
    levels = [
        {"level": 1, "identification_code": "8123451"},
        {"level": 2, "identification_code": "8123452", "children": 5},
    ]
    vaccine = VaccineProduct.model_validate(product(family="nmpa20", levels=levels))
    assert vaccine.doses_per(2) == 5
    assert vaccine.doses_per(3) == 5  # no level 3: a "case" is the top level


def test_a_one_level_product() -> None:
    vaccine = VaccineProduct.model_validate(
        product(levels=[{"level": 1, "identification_code": GTINS[0]}])
    )
    assert vaccine.doses_per(1) == 1


def test_product_strips_and_normalises() -> None:
    vaccine = VaccineProduct.model_validate(
        product(mah_uscc=" 91110000600037341l ", drug_standard_code=" 86901234000012 ")
    )
    assert vaccine.mah_uscc == MAH
    assert vaccine.drug_standard_code == "86901234000012"


def test_product_is_frozen_and_strict_about_fields() -> None:
    vaccine = VaccineProduct.model_validate(product())
    with pytest.raises(ValidationError):
        vaccine.nip = False  # type: ignore[misc]
    refused(VaccineProduct, product(colour="blue"), "colour")


@pytest.mark.parametrize("level", [2, 3])
def test_a_level_above_doses_must_say_how_many_it_holds(level: int) -> None:
    data = product()
    data["levels"][level - 1] = {"level": level, "identification_code": GTINS[level - 1]}
    refused(VaccineProduct, data, f"level {level} must say how many units it holds")


def test_a_dose_holds_nothing() -> None:
    data = product()
    data["levels"][0] = {"level": 1, "identification_code": GTINS[0], "children": 2}
    refused(VaccineProduct, data, "a dose (level 1) holds no units")


@pytest.mark.parametrize("numbers", [[2], [1, 3], [2, 1], [1, 2, 2], [1, 1]])
def test_levels_must_be_1_to_n_in_order(numbers: list[int]) -> None:
    levels = [
        {"level": n, "identification_code": GTINS[i], "children": 0 if n == 1 else 3}
        for i, n in enumerate(numbers)
    ]
    refused(VaccineProduct, product(levels=levels), "levels must be 1, 1–2 or 1–3, in order")


def test_no_more_than_three_levels_and_at_least_one() -> None:
    refused(VaccineProduct, product(levels=[]), "levels")
    four = [*product()["levels"], {"level": 3, "identification_code": GTINS[2], "children": 2}]
    refused(VaccineProduct, product(levels=four), "levels")


def test_each_level_needs_its_own_identification_code() -> None:
    data = product()
    data["levels"][2]["identification_code"] = GTINS[1]
    refused(VaccineProduct, data, "each packaging level needs its own identification code")


@pytest.mark.parametrize(
    "gtin", ["06901234567891", "0690123456789", "069012345678920", "0690123456789X"]
)
def test_gs1_product_needs_gtin_14_with_valid_check(gtin: str) -> None:
    data = product()
    data["levels"][0]["identification_code"] = gtin
    refused(VaccineProduct, data, "a GTIN-14 with a valid check digit")


@pytest.mark.parametrize("code", ["7123456", "812345", "81234567", "812345A"])
def test_nmpa20_product_needs_7_digits_beginning_with_8(code: str) -> None:
    levels = [{"level": 1, "identification_code": code}]
    refused(VaccineProduct, product(family="nmpa20", levels=levels), "7 digits beginning with 8")


def test_family_and_identification_code_must_agree() -> None:
    # GTINs under the 20-digit family and 7-digit codes under GS1 are both refused
    refused(VaccineProduct, product(family="nmpa20"), "7 digits beginning with 8")
    levels = [{"level": 1, "identification_code": "8123451"}]
    refused(VaccineProduct, product(levels=levels), "GTIN-14")


@pytest.mark.parametrize("uscc", ["91110000600037341M", "9111000060003734", "91110000600037341O"])
def test_product_refuses_a_bad_mah_uscc(uscc: str) -> None:
    refused(VaccineProduct, product(mah_uscc=uscc), "unified social credit code")


@pytest.mark.parametrize("code", ["86901234000013", "76901234000012", "8690123400001"])
def test_product_refuses_a_bad_drug_standard_code(code: str) -> None:
    refused(VaccineProduct, product(drug_standard_code=code), "drug standard code")


@pytest.mark.parametrize("months", [0, 121])
def test_shelf_life_bounds(months: int) -> None:
    refused(VaccineProduct, product(shelf_life_months=months), "shelf_life_months")


def test_level_children_bounds() -> None:
    with pytest.raises(ValidationError):
        LevelSpec(level=PackagingLevel.BOX, identification_code=GTINS[1], children=-1)
    with pytest.raises(ValidationError):
        LevelSpec(level=PackagingLevel.BOX, identification_code=GTINS[1], children=100_001)


# --- organisations ----------------------------------------------------------------------------


def test_an_organisation() -> None:
    org = Organisation(
        uscc=MAH, name="某某市疾病预防控制中心", kind=OrgKind.CDC, division_code="110105"
    )
    assert org.division_code == "110105"
    assert org.licences == ()


@pytest.mark.parametrize("division", ["11010", "000000", "110001", "ABCDEF"])
def test_organisation_refuses_a_bad_division_code(division: str) -> None:
    refused(
        Organisation,
        {"uscc": MAH, "name": "某某接种门诊部", "kind": "pov", "division_code": division},
        "division code",
    )


def test_organisation_refuses_a_bad_uscc() -> None:
    refused(
        Organisation,
        {
            "uscc": "91110000600037341M",
            "name": "某某接种门诊部",
            "kind": "pov",
            "division_code": "110105",
        },
        "checksum",
    )


# --- batches ----------------------------------------------------------------------------------


def batch(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "product_code": "HEPB-10",
        "batch_no": "20260301-1",
        "production_date": date(2026, 3, 1),
        "expiry_date": date(2029, 2, 28),
        "quantity": 100_000,
    }
    data.update(changes)
    return data


def test_a_batch() -> None:
    assert Batch.model_validate(batch()).expiry_date == date(2029, 2, 28)
    assert Batch.model_validate(batch(expiry_date=date(2026, 3, 2))).quantity == 100_000


@pytest.mark.parametrize("expiry", [date(2026, 2, 28), date(2026, 3, 1)])
def test_batch_expiry_must_follow_production(expiry: date) -> None:
    refused(Batch, batch(expiry_date=expiry), "expiry_date must be after production_date")


@pytest.mark.parametrize("batch_no", ["", "B 1", "B/1", "X" * 21])
def test_batch_number_format(batch_no: str) -> None:
    refused(Batch, batch(batch_no=batch_no), "batch_no")


def test_batch_quantity_is_positive() -> None:
    refused(Batch, batch(quantity=0), "quantity")


# --- commissioning ----------------------------------------------------------------------------


def test_commission_by_generation_or_by_upload() -> None:
    assert Commission.model_validate({**WRITE, "batch_no": "B1", "cases": 10}).cases == 10
    relations = [
        {"code": "CASE1", "level": 3},
        {"code": "BOX1", "level": 2, "parent": "CASE1"},
        {"code": "DOSE1", "level": 1, "parent": "BOX1"},
    ]
    upload = Commission.model_validate({**WRITE, "batch_no": "B1", "relations": relations})
    assert upload.relations is not None
    assert upload.relations[2] == CodeRelation(
        code="DOSE1", level=PackagingLevel.DOSE, parent="BOX1"
    )


def test_commission_needs_exactly_one_source() -> None:
    refused(Commission, {**WRITE, "batch_no": "B1"}, "give either cases")
    refused(
        Commission,
        {**WRITE, "batch_no": "B1", "cases": 1, "relations": [{"code": "C", "level": 1}]},
        "give either cases",
    )


def test_commission_refuses_an_empty_upload() -> None:
    with pytest.raises(ValidationError):
        Commission.model_validate({**WRITE, "batch_no": "B1", "relations": []})


@pytest.mark.parametrize("cases", [0, 100_001])
def test_commission_case_bounds(cases: int) -> None:
    refused(Commission, {**WRITE, "batch_no": "B1", "cases": cases}, "cases")


# --- writes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", ["", "a b", "单据1", "x" * 65])
def test_client_document_id_format(doc_id: str) -> None:
    refused(
        Commission,
        {**WRITE, "client_document_id": doc_id, "batch_no": "B1", "cases": 1},
        "client_document_id",
    )


def test_business_time_must_carry_a_time_zone() -> None:
    naive = {**WRITE, "business_time": datetime(2026, 3, 1, 8, 0)}
    refused(Commission, {**naive, "batch_no": "B1", "cases": 1}, "business_time")


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


# --- temperature ------------------------------------------------------------------------------


def record(readings: list[tuple[timedelta, float]], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        **WRITE,
        "kind": "transport",
        "equipment_id": "冷藏车-01",
        "start_time": T0,
        "end_time": T0 + timedelta(hours=2),
        "readings": [{"time": T0 + offset, "celsius": c} for offset, c in readings],
    }
    data.update(changes)
    return data


def test_a_temperature_record() -> None:
    rec = TemperatureRecord.model_validate(
        record([(timedelta(0), 4.5), (timedelta(minutes=5), 7.9), (timedelta(hours=2), 2.1)])
    )
    assert rec.minimum == 2.1
    assert rec.maximum == 7.9


def test_readings_in_another_time_zone_are_compared_as_instants() -> None:
    beijing = timezone(timedelta(hours=8))
    data = record([])
    data["readings"] = [{"time": (T0 + timedelta(hours=1)).astimezone(beijing), "celsius": 5.0}]
    assert TemperatureRecord.model_validate(data).maximum == 5.0


@pytest.mark.parametrize(
    "offsets",
    [
        [timedelta(seconds=-1)],
        [timedelta(hours=2, seconds=1)],
        [timedelta(0), timedelta(hours=3)],
        [timedelta(days=-1), timedelta(minutes=5), timedelta(days=1)],
    ],
)
def test_readings_outside_the_span_are_refused(offsets: list[timedelta]) -> None:
    outside = sum(1 for o in offsets if not timedelta(0) <= o <= timedelta(hours=2))
    refused(
        TemperatureRecord,
        record([(o, 5.0) for o in offsets]),
        f"{outside} reading(s) fall outside start_time..end_time",
    )


def test_record_end_before_start() -> None:
    refused(
        TemperatureRecord,
        record([(timedelta(0), 5.0)], end_time=T0 - timedelta(minutes=1)),
        "end_time is before start_time",
    )


def test_record_needs_readings() -> None:
    refused(TemperatureRecord, record([]), "readings")


@pytest.mark.parametrize("celsius", [-90.1, 80.1, float("nan"), float("inf")])
def test_implausible_readings(celsius: float) -> None:
    with pytest.raises(ValidationError):
        Reading(time=T0, celsius=celsius)


def test_reading_time_must_carry_a_time_zone() -> None:
    with pytest.raises(ValidationError):
        Reading(time=datetime(2026, 3, 1, 8, 0), celsius=5.0)
