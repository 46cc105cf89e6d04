"""The trace role's REST API end to end: every endpoint's happy path, idempotent writes, and
every kind of bad input refused as problem+json with the database left unchanged."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from trace_world import (
    CERTIFICATE,
    PRODUCED,
    SHIPPED_AT,
    OtherMah,
    World,
    assert_problem,
    at,
    expect,
    snapshot,
    write_fields,
)

from vaxtrace.core.codes import GS, gs1_canonical, issue_nmpa20
from vaxtrace.store.trace.schema import trace_event

# --- helpers ---------------------------------------------------------------------------------


def ident(world: World, level: int, *, gs1: bool = False) -> str:
    product = world.gs1 if gs1 else world.nmpa
    return product.levels[level - 1].identification_code


def events(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(trace_event)).scalar_one())


def bills(trace: dict[str, Any]) -> list[str]:
    return [e["bill_type"] for e in trace["history"]]


def box_and_dose(world: World, case: str) -> tuple[str, str]:
    box = world.children(case)[0]
    return box, world.children(box)[0]


# --- basic data: products, coding rules, batches ----------------------------------------------


def test_registering_a_product_again_with_the_same_data_is_a_no_op(world: World) -> None:
    data = world.nmpa.model_dump(mode="json")
    before = snapshot(world.engine)
    assert world.ok("/products", data) == data
    assert snapshot(world.engine) == before


def test_a_product_registered_again_with_other_data_is_refused(world: World) -> None:
    data = world.nmpa.model_dump(mode="json") | {"trade_name": "另一个名字"}
    before = snapshot(world.engine)
    world.refused(world.post("/products", data), 409, "product_exists", "product_code", before)


def test_coding_rules_of_both_families(world: World) -> None:
    for product, algorithm in ((world.nmpa, "VT-MOD97-10x2"), (world.gs1, "GS1-MOD10")):
        idents = [s.identification_code for s in product.levels]
        body = {
            "family": product.family.value,
            "identification_codes": idents,
            "serial_format": "N9" if product.family.value == "nmpa20" else "X..20",
            "check_algorithm": algorithm,
        }
        answer = world.ok("/coding-rules", body)
        assert answer == {"rule_id": answer["rule_id"]} | body
        assert isinstance(answer["rule_id"], int)
        before = snapshot(world.engine)
        assert world.ok("/coding-rules", body) == answer  # the same rule again: a no-op
        assert snapshot(world.engine) == before


def test_a_coding_rule_of_the_wrong_family_is_refused(world: World) -> None:
    body = {
        "family": "nmpa20",
        "identification_codes": [ident(world, 1, gs1=True)],
        "serial_format": "N9",
        "check_algorithm": "VT-MOD97-10x2",
    }
    before = snapshot(world.engine)
    world.refused(
        world.post("/coding-rules", body), 422, "family_mismatch", "identification_codes", before
    )


def test_a_product_reusing_an_identification_code_is_refused(world: World) -> None:
    copy = world.nmpa.model_copy(update={"product_code": "HEPB-20"})
    before = snapshot(world.engine)
    response = world.post("/products", copy.model_dump(mode="json"))
    world.refused(response, 409, "identification_code_taken", "levels", before)


def test_a_coding_rule_over_unknown_identification_codes_is_refused(world: World) -> None:
    body = {
        "family": "nmpa20",
        "identification_codes": [ident(world, 1), "8999999"],
        "serial_format": "N9",
        "check_algorithm": "VT-MOD97-10x2",
    }
    before = snapshot(world.engine)
    world.refused(
        world.post("/coding-rules", body),
        422,
        "unknown_identification_code",
        "identification_codes",
        before,
    )


def test_batch_registration_is_idempotent_on_its_number(world: World) -> None:
    first = world.register_batch(world.nmpa, "HB240301", quantity=1000)
    assert first["batch_no"] == "HB240301"
    before = snapshot(world.engine)
    assert world.register_batch(world.nmpa, "HB240301", quantity=1000) == first
    assert snapshot(world.engine) == before
    world.refused(
        world.post("/batches", first | {"quantity": 999}), 409, "batch_exists", "batch_no", before
    )


# --- commissioning ---------------------------------------------------------------------------


def test_generated_commission_builds_the_hierarchy(world: World) -> None:
    assert len(world.nmpa_cases) == 2
    assert len(world.codes(world.nmpa_batch, 2)) == 100
    assert len(world.codes(world.nmpa_batch, 1)) == 1000
    case = world.nmpa_cases[0]
    found = world.trace(case)
    assert found["level"] == 3 and found["family"] == "nmpa20"
    assert len(found["children"]) == 50
    assert {c["level"] for c in found["children"]} == {2}
    box, dose = box_and_dose(world, case)
    dose_trace = world.trace(dose)
    assert dose_trace["containers"] == [box, case]
    assert dose_trace["children"] == []
    assert dose_trace["product"]["product_code"] == "HEPB"
    assert dose_trace["batch_no"] == world.nmpa_batch
    assert dose_trace["production_date"] == PRODUCED.isoformat()
    assert dose_trace["status"] == "normal"
    assert dose_trace["holder_uscc"] == world.mah.uscc
    assert bills(dose_trace) == ["commission", "self_inspection", "lot_release", "101"]
    # GS1 family: canonical 01 GTIN 21 serial under the product's GTINs
    gs1_case = world.gs1_cases[0]
    assert gs1_case.startswith("01" + ident(world, 3, gs1=True) + "21")
    gs1_box, gs1_dose = box_and_dose(world, gs1_case)
    assert gs1_dose.startswith("01" + ident(world, 1, gs1=True) + "21")
    assert world.trace(gs1_dose)["containers"] == [gs1_box, gs1_case]
    assert len(world.children(gs1_box)) == 5


def test_generated_codes_carry_our_published_check(world: World) -> None:
    from vaxtrace.core.codes import has_vt_check

    assert all(has_vt_check(c) for c in world.codes(world.nmpa_batch, 1))


def test_commission_of_uploaded_relations_in_every_scanned_form(world: World) -> None:
    world.register_batch(world.gs1, "IPV240301", quantity=400)
    g1, g2, g3 = (ident(world, lvl, gs1=True) for lvl in (1, 2, 3))
    case = "https://id.vaxtrace.example/01/" + g3 + "/21/C0001"  # GS1 Digital Link URI
    box_a = f"]d201{g2}17{(PRODUCED + timedelta(days=700)):%y%m%d}10IPV240301{GS}21B0001"
    box_b = f"(01){g2}(21)B0002"  # human-readable (AI) form
    relations = [
        {"code": case, "level": 3},
        {"code": box_a, "level": 2, "parent": case},
        {"code": box_b, "level": 2, "parent": gs1_canonical(g3, "C0001")},
        *(
            {"code": gs1_canonical(g1, f"D000{i}"), "level": 1, "parent": box}
            for i, box in ((1, box_a), (2, box_a), (3, box_b))
        ),
    ]
    done = world.ok(
        "/commissions", write_fields("com", at(PRODUCED), batch_no="IPV240301", relations=relations)
    )
    assert done["codes_by_level"] == {"1": 3, "2": 2, "3": 1}
    assert done["operation"] == "commission" and isinstance(done["event_id"], int)
    found = world.trace(gs1_canonical(g3, "C0001"))
    assert found["family"] == "gs1"
    assert world.children(found["code"]) == [gs1_canonical(g2, "B0001"), gs1_canonical(g2, "B0002")]
    dose = world.trace(gs1_canonical(g1, "D0003"))
    assert dose["containers"] == [gs1_canonical(g2, "B0002"), gs1_canonical(g3, "C0001")]
    assert dose["status"] == "other" and dose["batch_no"] == "IPV240301"


def test_generated_codes_continue_after_uploaded_serials(world: World) -> None:
    world.register_batch(world.nmpa, "HB240301", quantity=1000)
    case = issue_nmpa20(ident(world, 3), 700_000_000)
    box = issue_nmpa20(ident(world, 2), 700_000_000)
    dose = issue_nmpa20(ident(world, 1), 700_000_000)
    relations = [
        {"code": f"{case[:7]} {case[7:]}", "level": 3},  # printed as 7 + 13 digits
        {"code": box, "level": 2, "parent": case},
        {"code": dose, "level": 1, "parent": box},
    ]
    world.ok("/commissions", write_fields("com", batch_no="HB240301", relations=relations))
    world.ok("/commissions", write_fields("com", batch_no="HB240301", cases=1))
    cases = world.codes("HB240301", 3)
    assert cases[0] == case
    assert cases[1] == issue_nmpa20(ident(world, 3), 700_000_001)
    assert len(world.codes("HB240301", 1)) == 501
    # each code's history holds its own commission, not the batch's other one
    uploaded, generated = world.trace(dose), world.trace(world.codes("HB240301", 1)[-1])
    assert bills(uploaded) == bills(generated) == ["commission"]
    assert uploaded["history"][0]["event_id"] != generated["history"][0]["event_id"]


# --- packaging: pack, unpack, replace ---------------------------------------------------------


def test_unpack_one_box_then_pack_it_back(world: World) -> None:
    case = world.nmpa_cases[0]
    box = world.children(case)[0]
    done = world.ok("/unpacks", write_fields("up", parent=case, children=[box]))
    assert done["parent"] == case and done["unpacked"] == 1
    assert world.trace(box)["containers"] == []
    assert len(world.children(case)) == 49
    assert "unpack" in bills(world.trace(box))
    done = world.ok("/packs", write_fields("pk", parent=case, children=[box]))
    assert (done["parent"], done["packed"]) == (case, 1)
    assert world.trace(box)["containers"] == [case]
    assert bills(world.trace(box))[-2:] == ["unpack", "pack"]


def test_unpack_a_whole_box_and_pack_its_doses_again(world: World) -> None:
    box = world.children(world.nmpa_cases[0])[1]
    doses = world.children(box)
    done = world.ok("/unpacks", write_fields("up", parent=box))
    assert done["unpacked"] == 10
    assert world.children(box) == []
    assert world.trace(doses[0])["containers"] == []
    world.ok("/packs", write_fields("pk", parent=box, children=doses[:4]))
    assert world.children(box) == sorted(doses[:4])
    assert world.trace(doses[0])["containers"] == [box, world.nmpa_cases[0]]


def test_replacing_a_damaged_dose_label(world: World) -> None:
    case = world.nmpa_cases[0]
    box, old = box_and_dose(world, case)
    new = issue_nmpa20(ident(world, 1), 800_000_000)
    done = world.ok(
        "/replacements", write_fields("rp", old_code=old, new_code=new, reason="标签破损")
    )
    assert done["old_code"] == old and done["new_code"] == new
    old_trace = world.trace(old)
    assert old_trace["status"] == "suspended" and old_trace["replaced_by"] == new
    assert old_trace["containers"] == []
    new_trace = world.trace(new)
    assert new_trace["status"] == "normal" and new_trace["holder_uscc"] == world.mah.uscc
    assert new_trace["containers"] == [box, case]
    assert new in world.children(box) and old not in world.children(box)
    assert new_trace["history"][-1]["bill_type"] == "replace"


def test_replacing_a_box_moves_its_doses_to_the_new_code(world: World) -> None:
    case = world.nmpa_cases[1]
    box = world.children(case)[0]
    doses = world.children(box)
    new = issue_nmpa20(ident(world, 2), 800_000_000)
    world.ok("/replacements", write_fields("rp", old_code=box, new_code=new, reason="外箱标签污损"))
    assert world.children(box) == []
    assert world.children(new) == doses
    assert world.trace(doses[0])["containers"] == [new, case]


def test_a_replaced_code_cannot_be_replaced_again(world: World) -> None:
    old = box_and_dose(world, world.nmpa_cases[0])[1]
    first = issue_nmpa20(ident(world, 1), 800_000_000)
    world.ok("/replacements", write_fields("rp", old_code=old, new_code=first, reason="破损"))
    second = issue_nmpa20(ident(world, 1), 800_000_001)
    before = snapshot(world.engine)
    response = world.post(
        "/replacements", write_fields("rp", old_code=old, new_code=second, reason="破损")
    )
    world.refused(response, 409, "already_replaced", "old_code", before)


# --- batch quality steps ---------------------------------------------------------------------


def test_self_inspection_then_lot_release_move_the_batch(world: World) -> None:
    world.register_batch(world.gs1, "IPV240301", quantity=400)
    world.ok("/commissions", write_fields("com", at(PRODUCED), batch_no="IPV240301", cases=1))
    dose = world.codes("IPV240301", 1)[0]
    assert world.trace(dose)["status"] == "other"
    done = world.self_inspect("IPV240301", at(PRODUCED, 20))
    assert done["codes_updated"] == 1 + 80 + 400 and done["batch_no"] == "IPV240301"
    assert world.trace(dose)["status"] == "self_inspected"
    assert world.get("/public/codes", code=dose).json()["lot_release"] is None
    response = world.release(world.lot_release_body("IPV240301", at(PRODUCED, 50), 400))
    done = expect(response, 201)
    assert response.headers["Idempotent-Replayed"] == "false"
    assert done["certificate_sha256"] == hashlib.sha256(CERTIFICATE).hexdigest()
    assert done["codes_updated"] == 481
    assert world.trace(dose)["status"] == "lot_released"
    public = expect(world.get("/public/codes", code=dose), 200)
    assert public["lot_release"] == {
        "certificate_no": "SJIPV240301",
        "release_date": at(PRODUCED, 50).date().isoformat(),
        "authority": "中国食品药品检定研究院",
    }


def test_warehousing_makes_released_codes_normal(world: World) -> None:
    found = world.trace(world.gs1_cases[0])
    assert found["status"] == "normal"
    assert found["history"][-1]["bill_type"] == "101"
    assert found["history"][-1]["payload"] == {"warehouse": "成品冷库A", "codes": 1}


def test_business_times_keep_their_instant(world: World) -> None:
    """A time sent in China Standard Time is the same instant when read back (both backends)."""
    found = world.trace(world.nmpa_cases[0])
    commission = found["history"][0]
    assert commission["business_time"] == at(PRODUCED, 0, 10).astimezone(UTC).isoformat()


# --- shipping and what a trace shows afterwards ------------------------------------------------


def test_shipping_a_case_and_tracing_a_dose_inside_it(world: World) -> None:
    case = world.nmpa_cases[0]
    box, dose = box_and_dose(world, case)
    body = world.ship_body([case], 500, source_document="SO-2024-0001")
    done = world.ok("/shipping-notes", body)
    assert done["operation"] == "shipping_note"
    assert done["codes"] == 1 and done["doses"] == 500 and done["unpacked"] == []
    assert done["batches"] == [{"batch_no": world.nmpa_batch, "product_code": "HEPB", "doses": 500}]
    found = world.trace(dose)
    assert found["status"] == "normal"
    assert found["holder_uscc"] == world.cdc.uscc
    assert found["containers"] == [box, case]
    shipped = [e for e in found["history"] if e["bill_type"] == "201"]
    assert len(shipped) == 1
    assert shipped[0]["event_id"] == done["event_id"]
    assert shipped[0]["document_no"] == body["document_no"]
    assert shipped[0]["source_document"] == "SO-2024-0001"
    assert shipped[0]["payload"]["consignee_uscc"] == world.cdc.uscc
    assert shipped[0]["payload"]["expected_quantity"] == 500
    # the other case stays with the MAH
    assert world.trace(world.nmpa_cases[1])["holder_uscc"] == world.mah.uscc


def test_a_box_taken_out_before_the_case_ships_does_not_inherit_the_shipment(
    world: World,
) -> None:
    case = world.nmpa_cases[0]
    box, dose = box_and_dose(world, case)
    world.ok("/unpacks", write_fields("up", at(SHIPPED_AT.date(), -1), parent=case, children=[box]))
    world.ok("/shipping-notes", world.ship_body([case], 490))
    for code in (box, dose):
        found = world.trace(code)
        assert "201" not in bills(found)
        assert found["holder_uscc"] == world.mah.uscc
        assert case not in found["containers"]
        assert "101" in bills(found)  # the case's events while the box was inside remain
    assert "201" in bills(world.trace(world.children(case)[0]))


def test_shipping_codes_of_every_level_unpacks_the_listed_ones(world: World) -> None:
    case = world.nmpa_cases[1]
    box_a, box_b = world.children(case)[:2]
    doses = world.children(box_b)[:3]
    gs1_box = world.children(world.gs1_cases[0])[0]
    done = world.ok("/shipping-notes", world.ship_body([box_a, *doses, gs1_box], 10 + 3 + 5))
    assert sorted(done["unpacked"]) == sorted([box_a, *doses, gs1_box])
    assert done["batches"] == [
        {"batch_no": world.nmpa_batch, "product_code": "HEPB", "doses": 13},
        {"batch_no": world.gs1_batch, "product_code": "IPV", "doses": 5},
    ]
    assert world.trace(doses[0])["containers"] == []
    assert world.trace(world.children(box_a)[0])["containers"] == [box_a]
    assert len(world.children(box_b)) == 7
    assert world.trace(case)["holder_uscc"] == world.mah.uscc


def test_batch_summary_counts_doses_by_holder_and_status(world: World) -> None:
    world.ok("/shipping-notes", world.ship_body([world.nmpa_cases[0]], 500))
    summary = expect(world.get(f"/batches/{world.nmpa_batch}"), 200)
    assert summary == {
        "batch_no": world.nmpa_batch,
        "product_code": "HEPB",
        "expiry_date": summary["expiry_date"],
        "doses": 1000,
        "by_holder_and_status": sorted(
            [
                {"holder_uscc": world.cdc.uscc, "status": "normal", "doses": 500},
                {"holder_uscc": world.mah.uscc, "status": "normal", "doses": 500},
            ],
            key=lambda r: r["holder_uscc"],
        ),
    }
    assert date.fromisoformat(summary["expiry_date"]) > PRODUCED


def test_an_unknown_batch_summary_is_404(world: World) -> None:
    assert_problem(world.get("/batches/NOPE"), 404, "unknown_batch", "batch_no")


# --- returns, recalls, destruction -------------------------------------------------------------


def test_sales_return_brings_goods_back_from_the_cdc(world: World) -> None:
    case = world.nmpa_cases[0]
    world.ok("/shipping-notes", world.ship_body([case], 500))
    box = world.children(case)[0]
    body = write_fields(
        "rt", SHIPPED_AT + timedelta(days=3), codes=[box], from_uscc=world.cdc.uscc
    ) | {"reason_code": "damaged"}
    done = world.ok("/sales-returns", body)
    assert done["doses"] == 10 and done["unpacked"] == [box]
    found = world.trace(box)
    assert found["holder_uscc"] == world.mah.uscc and found["status"] == "normal"
    assert found["history"][-1]["bill_type"] == "103"
    assert found["history"][-1]["payload"]["reason_code"] == "damaged"
    assert world.trace(case)["holder_uscc"] == world.cdc.uscc


def test_recall_recall_receipt_and_destruction(world: World) -> None:
    case = world.nmpa_cases[0]
    dose = box_and_dose(world, case)[1]
    world.ok("/shipping-notes", world.ship_body([case], 500))
    recall = write_fields(
        "rc",
        SHIPPED_AT + timedelta(days=10),
        recall_no="ZH-2024-001",
        batch_nos=[world.nmpa_batch],
        reason="效价不合格",
        level=2,
        range="province",
    )
    done = world.ok("/recalls", recall)
    assert done["state"] == "in_progress" and done["codes_updated"] == 2 + 100 + 1000
    assert world.trace(dose)["status"] == "recalling"
    receipt = write_fields(
        "rr",
        SHIPPED_AT + timedelta(days=12),
        codes=[case],
        recall_no="ZH-2024-001",
        from_uscc=world.cdc.uscc,
    )
    done = world.ok("/recall-receipts", receipt)
    assert done["doses"] == 500
    found = world.trace(dose)
    assert found["status"] == "recalled" and found["holder_uscc"] == world.mah.uscc
    destruction = write_fields(
        "ds",
        SHIPPED_AT + timedelta(days=20),
        codes=[case],
        reason="召回销毁",
        executor="李四",
        supervisor="王五(市场监管局)",
        place="危废处置中心",
    )
    done = world.ok("/destructions", destruction)
    assert done["doses"] == 500
    found = world.trace(dose)
    assert found["status"] == "destroyed"
    assert bills(found)[-4:] == ["201", "recall", "108", "205"]
    assert found["history"][-1]["payload"]["supervisor"] == "王五(市场监管局)"
    # the other case, still at the MAH and never shipped, is recalling
    assert world.trace(world.nmpa_cases[1])["status"] == "recalling"


def test_a_closed_recall_frees_nothing(world: World) -> None:
    """召回完成: the MAH closes its recall with a summary; what was not returned stays
    recalling, a recall is closed once, and only the MAH's own recall can be closed."""
    recall = write_fields(
        "rc",
        SHIPPED_AT + timedelta(days=10),
        recall_no="ZH-2024-002",
        batch_nos=[world.nmpa_batch],
        reason="效价不合格",
        level=2,
        range="province",
    )
    world.ok("/recalls", recall)
    closure = write_fields(
        "cl", SHIPPED_AT + timedelta(days=30), recall_no="ZH-2024-002", summary="召回 2 箱, 销毁"
    )
    done = world.ok("/recall-closures", closure)
    assert (done["recall_no"], done["state"]) == ("ZH-2024-002", "closed")
    assert world.trace(world.nmpa_cases[1])["status"] == "recalling"
    for recall_no, status, reason in (
        ("ZH-2024-002", 409, "recall_closed"),
        ("ZH-NONE", 404, "unknown_recall"),
    ):
        before = snapshot(world.engine)
        again = write_fields(
            "cl", SHIPPED_AT + timedelta(days=31), recall_no=recall_no, summary="x"
        )
        world.refused(world.post("/recall-closures", again), status, reason, "recall_no", before)


def test_a_mock_recall_changes_no_status(world: World) -> None:
    body = write_fields(
        "rc",
        recall_no="MOCK-2024-01",
        batch_nos=[world.gs1_batch],
        reason="模拟召回演练",
        level=3,
        mock=True,
        range="city",
    )
    assert world.ok("/recalls", body)["codes_updated"] == 0
    assert world.trace(world.gs1_cases[0])["status"] == "normal"


def test_destroying_damaged_stock_at_the_mah(world: World) -> None:
    box = world.children(world.gs1_cases[0])[0]
    body = write_fields("ds", codes=[box], reason="冷链断链", executor="李四", supervisor="王五")
    done = world.ok("/destructions", body)
    assert done["doses"] == 5
    assert world.trace(box)["status"] == "destroyed"
    assert world.trace(box)["containers"] == []


def test_temperature_records_for_storage_and_transport(world: World) -> None:
    start = SHIPPED_AT
    readings = [
        {"time": (start + timedelta(minutes=5 * i)).isoformat(), "celsius": c}
        for i, c in enumerate([4.1, 4.3, 5.0, 6.2, 5.5])
    ]
    for kind, equipment in (("storage", "冷库A-01"), ("transport", "苏A·12345 冷藏车")):
        body = write_fields(
            "tr",
            start,
            kind=kind,
            equipment_id=equipment,
            related_document_no="SN000001" if kind == "transport" else None,
            start_time=start.isoformat(),
            end_time=(start + timedelta(minutes=20)).isoformat(),
            readings=readings,
        )
        done = world.ok("/temperature-records", body)
        assert done | {"event_id": 0} == {
            "operation": "temperature",
            "document_no": body["document_no"],
            "event_id": 0,
            "kind": kind,
            "equipment_id": equipment,
            "related_document_no": body["related_document_no"],
            "min_celsius": 4.1,
            "max_celsius": 6.2,
            "readings": 5,
        }


# --- queries ------------------------------------------------------------------------------------


def test_a_code_is_found_however_it_is_typed_or_scanned(world: World) -> None:
    gs1_box = world.children(world.gs1_cases[0])[0]
    gtin, serial = gs1_box[2:16], gs1_box[18:]
    expiry = date.fromisoformat(world.trace(gs1_box)["expiry_date"])
    for form in (
        gs1_box,
        f"]d201{gtin}17{expiry:%y%m%d}10{world.gs1_batch}{GS}21{serial}",
        f"(01){gtin}(21){serial}",
        f"https://id.vaxtrace.example/01/{gtin}/21/{serial}",
    ):
        assert world.trace(form)["code"] == gs1_box, form
    case = world.nmpa_cases[0]
    assert world.trace(f"{case[:7]} {case[7:]}")["code"] == case


def test_consumer_view_is_public_and_has_no_holder(world: World) -> None:
    world.ok("/shipping-notes", world.ship_body([world.nmpa_cases[0]], 500))
    dose = box_and_dose(world, world.nmpa_cases[0])[1]
    response = world.client.get("/trace/v1/public/codes", params={"code": dose})
    public = expect(response, 200)
    assert set(public) == {
        "code",
        "generic_name",
        "trade_name",
        "strength",
        "mah",
        "manufacturer",
        "approval_number",
        "batch_no",
        "expiry_date",
        "lot_release",
        "status",
    }
    assert public["mah"] == world.mah.name
    assert public["generic_name"] == world.nmpa.generic_name
    assert public["lot_release"]["certificate_no"] == f"SJ{world.nmpa_batch}"
    assert world.cdc.uscc not in response.text and world.mah.uscc not in response.text


def test_unknown_codes_are_404(world: World) -> None:
    never_issued = issue_nmpa20(ident(world, 1), 123_456_789)
    assert_problem(world.get("/codes", code=never_issued), 404, "not_commissioned", "code")
    response = world.client.get("/trace/v1/public/codes", params={"code": never_issued})
    assert_problem(response, 404, "not_commissioned", "code")
    assert "never issued" in response.json()["detail"]
    foreign = issue_nmpa20("8999999", 1)  # an identification code nobody registered here
    assert_problem(world.get("/codes", code=foreign), 404, "not_commissioned", "code")
    response = world.client.get("/trace/v1/public/codes", params={"code": foreign})
    assert_problem(response, 404, "not_commissioned", "code")


# --- idempotency ---------------------------------------------------------------------------------


def test_a_retried_shipping_note_is_answered_again_and_writes_nothing(world: World) -> None:
    body = world.ship_body([world.nmpa_cases[0]], 500)
    first = world.post("/shipping-notes", body)
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    before, count = snapshot(world.engine), events(world)
    again = world.post("/shipping-notes", body)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert events(world) == count
    assert snapshot(world.engine) == before


def test_a_reused_client_document_id_with_another_body_is_refused(world: World) -> None:
    body = world.ship_body([world.nmpa_cases[0]], 500)
    world.ok("/shipping-notes", body)
    before = snapshot(world.engine)
    other = body | {"shipper": "赵六"}
    world.refused(
        world.post("/shipping-notes", other),
        409,
        "client_document_id_reused",
        "client_document_id",
        before,
    )
    # the same id for another kind of write is a reuse too
    warehousing = {k: body[k] for k in ("client_document_id", "document_no", "business_time")}
    warehousing |= {"codes": [world.nmpa_cases[1]], "warehouse": "成品冷库B"}
    world.refused(
        world.post("/warehousings", warehousing),
        409,
        "client_document_id_reused",
        "client_document_id",
        before,
    )


@pytest.mark.parametrize("path", ["/commissions", "/self-inspections", "/recalls", "/unpacks"])
def test_retries_of_other_writes_are_replayed(world: World, path: str) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "/commissions": write_fields("com", batch_no=world.gs1_batch, cases=1),
        "/self-inspections": write_fields(
            "si", batch_no=world.gs1_batch, report_no="QC-2", conclusion="pass"
        ),
        "/recalls": write_fields(
            "rc", recall_no="R1", batch_nos=[world.gs1_batch], reason="r", level=1, range="city"
        ),
        "/unpacks": write_fields("up", parent=world.nmpa_cases[0]),
    }
    if path == "/commissions":
        world.register_batch(world.gs1, "IPV240301", quantity=400)
        bodies[path]["batch_no"] = "IPV240301"
    first = world.post(path, bodies[path])
    assert first.status_code == 201, first.text
    before = snapshot(world.engine)
    again = world.post(path, bodies[path])
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == first.json()
    assert snapshot(world.engine) == before


def test_a_retried_lot_release_is_replayed_and_another_file_is_a_reuse(world: World) -> None:
    world.register_batch(world.gs1, "IPV240301", quantity=400)
    world.ok("/commissions", write_fields("com", at(PRODUCED), batch_no="IPV240301", cases=1))
    world.self_inspect("IPV240301", at(PRODUCED, 20))
    body = world.lot_release_body("IPV240301", at(PRODUCED, 50), 400)
    first = world.release(body)
    assert first.status_code == 201
    before = snapshot(world.engine)
    again = world.release(body)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == first.json()
    assert snapshot(world.engine) == before
    world.refused(
        world.release(body, certificate=b"another file"),
        409,
        "client_document_id_reused",
        "client_document_id",
        before,
    )


# --- bad input: each refused as problem+json, the database unchanged -----------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("8000000000000001234", "bad_length"),  # 19 digits: one lost in typing
        ("70000000000000012345", "bad_prefix"),  # 20 digits not beginning with 8
        ("hello", "unparseable"),
        ("(01)06901234567891(21)X1", "gs1_bad_gtin"),
        ("", "empty"),
    ],
)
def test_a_malformed_code_is_refused(world: World, bad: str, reason: str) -> None:
    before = snapshot(world.engine)
    body = world.ship_body([world.nmpa_cases[0], bad], 500)
    world.refused(world.post("/shipping-notes", body), 422, reason, "codes[1]", before)
    if bad:
        assert_problem(world.get("/codes", code=bad), 422, reason, "code")


def test_a_gs1_scan_without_its_gs_separator_is_refused(world: World) -> None:
    gs1_box = world.children(world.gs1_cases[0])[0]
    gtin, serial = gs1_box[2:16], gs1_box[18:]
    scan = f"]d201{gtin}10B1{GS}21{serial}"
    assert world.trace(scan)["code"] == gs1_box  # with the separator it reads fine
    swallowed = scan.replace(GS, "")  # AI (10) swallows (21) and the serial
    before = snapshot(world.engine)
    body = write_fields("wh", codes=[swallowed], warehouse="成品冷库A")
    world.refused(
        world.post("/warehousings", body), 422, "gs_separator_missing", "codes[0]", before
    )
    assert_problem(world.get("/codes", code=swallowed), 422, "gs_separator_missing", "code")


def test_a_batch_of_an_unknown_product_is_refused(world: World) -> None:
    before = snapshot(world.engine)
    body = {
        "product_code": "NOPE",
        "batch_no": "X1",
        "production_date": "2024-01-01",
        "expiry_date": "2026-01-01",
        "quantity": 10,
    }
    world.refused(world.post("/batches", body), 404, "unknown_product", "product_code", before)


def test_an_upload_with_an_unknown_identification_code_is_refused(world: World) -> None:
    world.register_batch(world.nmpa, "HB240301", quantity=1000)
    before = snapshot(world.engine)
    box = issue_nmpa20(ident(world, 2), 700_000_000)
    relations = [
        {"code": box, "level": 2},
        {"code": issue_nmpa20("8999999", 1), "level": 1, "parent": box},  # no such product
    ]
    body = write_fields("com", batch_no="HB240301", relations=relations)
    world.refused(
        world.post("/commissions", body),
        422,
        "unknown_identification_code",
        "relations[1].code",
        before,
    )
    # a known identification code at the wrong level is unknown for that level
    relations[1] = {"code": issue_nmpa20(ident(world, 3), 700_000_000), "level": 1, "parent": box}
    body = write_fields("com", batch_no="HB240301", relations=relations)
    world.refused(
        world.post("/commissions", body),
        422,
        "unknown_identification_code",
        "relations[1].code",
        before,
    )


def test_an_upload_of_a_code_already_commissioned_is_refused(world: World) -> None:
    world.register_batch(world.nmpa, "HB240301", quantity=1000)
    before = snapshot(world.engine)
    box = issue_nmpa20(ident(world, 2), 700_000_000)
    taken = world.codes(world.nmpa_batch, 1)[0]
    relations = [{"code": box, "level": 2}, {"code": taken, "level": 1, "parent": box}]
    body = write_fields("com", batch_no="HB240301", relations=relations)
    world.refused(
        world.post("/commissions", body), 409, "already_commissioned", "relations", before
    )


def test_an_upload_with_a_code_in_two_parents_is_refused(world: World) -> None:
    world.register_batch(world.nmpa, "HB240301", quantity=1000)
    before = snapshot(world.engine)
    box_a = issue_nmpa20(ident(world, 2), 700_000_000)
    box_b = issue_nmpa20(ident(world, 2), 700_000_001)
    dose = issue_nmpa20(ident(world, 1), 700_000_000)
    relations = [
        {"code": box_a, "level": 2},
        {"code": box_b, "level": 2},
        {"code": dose, "level": 1, "parent": box_a},
        {"code": dose, "level": 1, "parent": box_b},
    ]
    body = write_fields("com", batch_no="HB240301", relations=relations)
    world.refused(world.post("/commissions", body), 409, "two_parents", "relations[3].code", before)


def test_an_upload_with_a_parent_missing_from_the_file_is_refused(world: World) -> None:
    world.register_batch(world.nmpa, "HB240301", quantity=1000)
    before = snapshot(world.engine)
    box = issue_nmpa20(ident(world, 2), 700_000_000)
    relations = [{"code": issue_nmpa20(ident(world, 1), 700_000_000), "level": 1, "parent": box}]
    body = write_fields("com", batch_no="HB240301", relations=relations)
    world.refused(
        world.post("/commissions", body), 422, "unknown_parent", "relations[0].parent", before
    )


def test_a_commission_beyond_the_batch_quantity_is_refused(world: World) -> None:
    world.register_batch(world.nmpa, "HB240301", quantity=600)
    before = snapshot(world.engine)
    body = write_fields("com", batch_no="HB240301", cases=2)
    world.refused(world.post("/commissions", body), 422, "exceeds_batch_quantity", "cases", before)


def test_shipping_another_mahs_code_is_refused(world: World, other_mah: OtherMah) -> None:
    before = snapshot(world.engine)
    body = world.ship_body([world.nmpa_cases[0], other_mah.cases[0]], 500 + 300)
    world.refused(world.post("/shipping-notes", body), 409, "not_held", "codes", before)


def test_shipping_codes_already_shipped_is_refused(world: World) -> None:
    case = world.nmpa_cases[0]
    world.ok("/shipping-notes", world.ship_body([case], 500))
    before = snapshot(world.engine)
    dose = box_and_dose(world, case)[1]
    for codes, doses in (([case], 500), ([dose], 1)):
        body = world.ship_body(codes, doses)
        world.refused(world.post("/shipping-notes", body), 409, "already_shipped", "codes", before)


def test_shipping_codes_under_recall_is_refused(world: World) -> None:
    recall = write_fields(
        "rc", recall_no="ZH-1", batch_nos=[world.nmpa_batch], reason="r", level=1, range="national"
    )
    world.ok("/recalls", recall)
    before = snapshot(world.engine)
    body = world.ship_body([world.nmpa_cases[0]], 500)
    world.refused(world.post("/shipping-notes", body), 409, "illegal_transition", "codes", before)


def test_shipping_before_lot_release_is_refused(world: World) -> None:
    cases = world.make_batch(world.gs1, "IPV240301", release=False)
    assert world.trace(cases[0])["status"] == "self_inspected"
    before = snapshot(world.engine)
    body = world.ship_body(cases, 400)
    world.refused(world.post("/shipping-notes", body), 409, "not_lot_released", "codes", before)


def test_shipping_an_expired_batch_is_refused(world: World) -> None:
    produced, expiry = date(2020, 1, 6), date(2021, 1, 5)
    cases = world.make_batch(world.gs1, "IPV200106", produced=produced, expiry=expiry)
    before = snapshot(world.engine)
    late = world.ship_body(cases, 400, business_time=at(expiry, 1).isoformat())
    world.refused(world.post("/shipping-notes", late), 409, "expired", "codes", before)
    # on the expiry day itself it may still be sold
    world.ok("/shipping-notes", world.ship_body(cases, 400, business_time=at(expiry).isoformat()))


def test_a_shipping_note_whose_quantity_does_not_match_its_codes_is_refused(world: World) -> None:
    before = snapshot(world.engine)
    body = world.ship_body([world.nmpa_cases[0]], 499)
    world.refused(
        world.post("/shipping-notes", body), 422, "quantity_mismatch", "expected_quantity", before
    )


def test_a_lot_release_above_the_batch_quantity_is_refused(world: World) -> None:
    world.make_batch(world.gs1, "IPV240301", release=False, warehouse=False)
    before = snapshot(world.engine)
    body = world.lot_release_body("IPV240301", at(PRODUCED, 50), 401)
    world.refused(world.release(body), 422, "quantity_mismatch", "quantity", before)


def test_shipping_to_a_pov_is_refused(world: World) -> None:
    before = snapshot(world.engine)
    body = world.ship_body([world.nmpa_cases[0]], 500, consignee_uscc=world.pov.uscc)
    world.refused(
        world.post("/shipping-notes", body), 422, "consignee_not_cdc", "consignee_uscc", before
    )


def test_listing_a_code_and_its_container_is_refused(world: World) -> None:
    case = world.nmpa_cases[0]
    box = world.children(case)[0]
    before = snapshot(world.engine)
    body = world.ship_body([case, box], 500)
    world.refused(world.post("/shipping-notes", body), 409, "listed_twice", "codes", before)
    body = world.ship_body([case, case], 500)
    world.refused(world.post("/shipping-notes", body), 422, "duplicate_code", "codes", before)


def test_unknown_codes_in_a_document_are_refused(world: World) -> None:
    before = snapshot(world.engine)
    unknown = issue_nmpa20(ident(world, 1), 123_456_789)
    body = world.ship_body([world.nmpa_cases[0], unknown], 501)
    world.refused(world.post("/shipping-notes", body), 422, "unknown_code", "codes", before)


def test_packing_into_a_full_case_or_across_batches_is_refused(world: World) -> None:
    full = world.nmpa_cases[1]
    box = world.children(world.nmpa_cases[0])[0]
    world.ok("/unpacks", write_fields("up", parent=world.nmpa_cases[0], children=[box]))
    before = snapshot(world.engine)
    body = write_fields("pk", parent=full, children=[box])
    world.refused(world.post("/packs", body), 422, "over_capacity", "children", before)
    gs1_box = world.children(world.gs1_cases[0])[0]
    body = write_fields("pk", parent=gs1_box, children=[box])
    world.refused(world.post("/packs", body), 422, "level_mismatch", "children[0]", before)


@pytest.mark.parametrize(
    ("path", "drop", "field"),
    [
        ("/shipping-notes", "shipper", "shipper"),
        ("/shipping-notes", "codes", "codes"),
        ("/shipping-notes", "client_document_id", "client_document_id"),
        ("/shipping-notes", "business_time", "business_time"),
        ("/destructions", "supervisor", "supervisor"),
        ("/batches", "expiry_date", "expiry_date"),
        ("/recalls", "batch_nos", "batch_nos"),
    ],
)
def test_a_missing_required_field_is_named(world: World, path: str, drop: str, field: str) -> None:
    case = world.nmpa_cases[0]
    full: dict[str, dict[str, Any]] = {
        "/shipping-notes": world.ship_body([case], 500),
        "/destructions": write_fields(
            "ds", codes=[case], reason="破损", executor="李四", supervisor="王五"
        ),
        "/batches": {
            "product_code": "HEPB",
            "batch_no": "HB240301",
            "production_date": "2024-03-01",
            "expiry_date": "2027-03-01",
            "quantity": 1000,
        },
        "/recalls": write_fields(
            "rc", recall_no="R1", batch_nos=[world.nmpa_batch], reason="r", level=1, range="city"
        ),
    }
    body = {k: v for k, v in full[path].items() if k != drop}
    before = snapshot(world.engine)
    world.refused(world.post(path, body), 422, "invalid_missing", field, before)


def test_a_naive_business_time_is_refused(world: World) -> None:
    before = snapshot(world.engine)
    body = world.ship_body([world.nmpa_cases[0]], 500, business_time="2024-04-01T09:00:00")
    world.refused(
        world.post("/shipping-notes", body), 422, "invalid_timezone_aware", "business_time", before
    )


def test_a_lot_release_with_missing_parts_is_refused(world: World) -> None:
    world.make_batch(world.gs1, "IPV240301", release=False, warehouse=False)
    before = snapshot(world.engine)
    body = world.lot_release_body("IPV240301", at(PRODUCED, 50), 400)
    del body["certificate_no"]
    world.refused(world.release(body), 422, "invalid_missing", "data.certificate_no", before)
    body = world.lot_release_body("IPV240301", at(PRODUCED, 50), 400)
    world.refused(
        world.release(body, certificate=b""), 422, "missing_certificate", "certificate", before
    )
    response = world.client.post(
        "/trace/v1/lot-releases", data={"data": "{not json"}, headers=world.headers
    )
    world.refused(response, 422, "invalid_missing", "certificate", before)
    response = world.client.post(
        "/trace/v1/lot-releases",
        data={"data": "{not json"},
        files={"certificate": ("c.pdf", CERTIFICATE, "application/pdf")},
        headers=world.headers,
    )
    world.refused(response, 422, "invalid_json_invalid", "data", before)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer vt_not-a-token"}, {"Authorization": "Basic dXNlcjpwdw=="}],
    ids=["no-token", "bad-token", "not-bearer"],
)
def test_writes_and_traces_need_a_valid_token(world: World, headers: dict[str, str]) -> None:
    before = snapshot(world.engine)
    body = world.ship_body([world.nmpa_cases[0]], 500)
    response = world.post("/shipping-notes", body, headers)
    world.refused(response, 401, "unauthenticated", None, before)
    assert response.headers["www-authenticate"] == "Bearer"
    assert_problem(
        world.get("/codes", headers, code=world.nmpa_cases[0]), 401, "unauthenticated", None
    )
    assert_problem(world.get(f"/batches/{world.nmpa_batch}", headers), 401, "unauthenticated", None)


def test_a_mah_cannot_register_another_mahs_product(world: World, other_mah: OtherMah) -> None:
    theirs = other_mah.product.model_copy(update={"product_code": "RABV-COPY"})
    before = snapshot(world.engine)
    response = world.post("/products", theirs.model_dump(mode="json"))
    world.refused(response, 422, "not_your_product", "mah_uscc", before)


def test_a_cdc_cannot_register_products(world: World) -> None:
    mine = world.nmpa.model_dump(mode="json") | {"mah_uscc": world.cdc.uscc, "product_code": "X"}
    before = snapshot(world.engine)
    response = world.post("/products", mine, world.cdc_headers)
    world.refused(response, 422, "wrong_organisation_kind", None, before)


def test_a_mah_cannot_act_on_another_mahs_batch(world: World, other_mah: OtherMah) -> None:
    before = snapshot(world.engine)
    body = write_fields("si", batch_no=other_mah.batch_no, report_no="QC", conclusion="pass")
    world.refused(world.post("/self-inspections", body), 404, "unknown_batch", "batch_no", before)
    assert_problem(world.get(f"/batches/{other_mah.batch_no}"), 404, "unknown_batch", "batch_no")


def test_a_shipping_note_number_used_twice_is_refused(world: World) -> None:
    first = world.ship_body([world.nmpa_cases[0]], 500)
    world.ok("/shipping-notes", first)
    before = snapshot(world.engine)
    again = world.ship_body([world.nmpa_cases[1]], 500, document_no=first["document_no"])
    world.refused(
        world.post("/shipping-notes", again), 409, "shipping_note_exists", "document_no", before
    )


def test_a_recall_receipt_must_cite_a_recall_of_those_batches(world: World) -> None:
    world.ok("/shipping-notes", world.ship_body([world.nmpa_cases[0], world.gs1_cases[0]], 900))
    for no, batch_no in (("ZH-1", world.nmpa_batch), ("ZH-2", world.gs1_batch)):
        body = write_fields(
            "rc", recall_no=no, batch_nos=[batch_no], reason="r", level=1, range="city"
        )
        world.ok("/recalls", body)
    before = snapshot(world.engine)
    for recall_no, reason, field in (
        ("NOPE", "unknown_recall", "recall_no"),
        ("ZH-2", "not_in_recall", "codes"),
    ):
        body = write_fields(
            "rr", codes=[world.nmpa_cases[0]], recall_no=recall_no, from_uscc=world.cdc.uscc
        )
        status = 404 if reason == "unknown_recall" else 409
        world.refused(world.post("/recall-receipts", body), status, reason, field, before)


def test_an_uploaded_gs1_code_of_another_batch_is_refused(world: World) -> None:
    world.register_batch(world.gs1, "IPV240301", quantity=400)
    before = snapshot(world.engine)
    case = f"]d201{ident(world, 3, gs1=True)}10IPV240110{GS}21C0001"  # says batch IPV240110
    body = write_fields("com", batch_no="IPV240301", relations=[{"code": case, "level": 3}])
    world.refused(
        world.post("/commissions", body), 422, "batch_mismatch", "relations[0].code", before
    )


def test_a_certificate_file_above_the_limit_is_refused(world: World) -> None:
    world.make_batch(world.gs1, "IPV240301", release=False, warehouse=False)
    limit = world.client.app.state.settings.lot_release_file_max_bytes  # type: ignore[attr-defined]
    body = world.lot_release_body("IPV240301", at(PRODUCED, 50), 400)
    before = snapshot(world.engine)
    response = world.release(body, certificate=b"%" * (limit + 1))
    world.refused(response, 422, "certificate_too_large", "certificate", before)
    expect(world.release(body, certificate=b"%" * limit), 201)


def test_validation_problems_name_the_field_not_the_request_part(world: World) -> None:
    assert_problem(world.get("/codes"), 422, "invalid_missing", "code")
    response = world.client.post(
        "/trace/v1/shipping-notes",
        content=b'{"codes": [',
        headers=world.headers | {"content-type": "application/json"},
    )
    assert_problem(response, 422, "invalid_json_invalid", None)


def test_generated_gs1_serials_skip_uploaded_ones_of_any_shape(world: World) -> None:
    """Uploaded serials may be alphanumeric or short; generation must still not collide."""
    world.register_batch(world.gs1, "IPV240301", quantity=800)
    g1, g2, g3 = (ident(world, lvl, gs1=True) for lvl in (1, 2, 3))
    relations = [
        {"code": gs1_canonical(g3, "C0001"), "level": 3},
        {"code": gs1_canonical(g3, "7"), "level": 3},
        {"code": gs1_canonical(g2, "5A0000000000"), "level": 2, "parent": gs1_canonical(g3, "7")},
        {"code": gs1_canonical(g1, "000000000900"), "level": 1},
    ]
    world.ok("/commissions", write_fields("com", batch_no="IPV240301", relations=relations))
    done = world.ok("/commissions", write_fields("com", batch_no="IPV240301", cases=1))
    assert done["codes_by_level"] == {"1": 400, "2": 80, "3": 1}
    generated = world.codes("IPV240301", 3)[-1]
    assert generated == gs1_canonical(g3, "000000000002")  # the world's case was 1
    doses = world.codes("IPV240301", 1)
    assert doses[-400] == gs1_canonical(g1, "000000000901")


def test_concurrent_retries_of_one_write_apply_it_once(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = world.ship_body([world.nmpa_cases[0]], 500)
    count = events(world)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: world.post("/shipping-notes", body), range(4)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201], [r.text for r in answers]
    assert len({r.text for r in answers}) == 1
    assert events(world) == count + 1


def test_unknown_routes_answer_problem_json(world: World) -> None:
    assert_problem(world.get("/nothing-here"), 404, "not_found", None)
    response = world.client.delete("/trace/v1/products", headers=world.headers)
    assert_problem(response, 405, "method_not_allowed", None)
