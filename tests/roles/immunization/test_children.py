"""Recipients (受种者) through the service on SQLite and PostgreSQL: a site registers its own
children (duplicate candidates first, registering anyway only when confirmed), reads only its
own, links vaccinations by the child's id, sees its record evaluated by the schedule, moves it
to another site or exports it to another province with consent, and merges duplicates with an
audit trail. Every refusal changes nothing; the journal never holds personal data."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from province_world import (
    BOXES,
    CASE,
    CITY_CDC,
    CONTENTS,
    CST,
    OTHER_POV,
    POV,
    PROVINCE_CDC,
    RECEIVED_AT,
    Province,
    dose,
    fields,
    refused,
)
from sqlalchemy import select
from stdnum.cn import ric

from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import Distribution, Vaccination
from vaxtrace.core.recipients import ChildExport, ChildMerge, ChildMove, ChildRegistration
from vaxtrace.store.immunization import schema

BORN = date(2024, 3, 1)


def resident_id(born: date = BORN, female: bool = True, division: str = "320102") -> str:
    body = f"{division}{born:%Y%m%d}00{2 if female else 1}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last digit


def registration(**extra: Any) -> ChildRegistration:
    values: dict[str, Any] = {
        "name": "张晓梅",
        "sex": "F",
        "birth_date": BORN.isoformat(),
        "birth_division": "320102",
        "guardians": [{"name": "王丽", "relation": "mother", "phone": "13800138000"}],
        "card_no": "320102-2024-0001",
    }
    return ChildRegistration(**(values | extra))


def consent() -> dict[str, Any]:
    return {
        "given_by": "王丽",
        "relation": "mother",
        "method": "signed_form",
        "given_at": "2024-06-01T09:00:00+08:00",
    }


def register(province: Province, site: str = POV, **extra: Any) -> str:
    done = province.svc.register_child(site, registration(**extra), "staff-1")
    assert done.created
    return str(done.body["child"]["child_id"])


@pytest.fixture
def at_site(province: Province) -> Province:
    """The site holds a box of three doses (HEPB-10, lot-released) received on 2 April 2024."""
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    province.supply(
        PROVINCE_CDC, Distribution(**fields("dist"), codes=(BOXES[0],), receiver_uscc=POV)
    )
    return province


def vaccination(code: str, ref: str, when: datetime = RECEIVED_AT) -> Vaccination:
    return Vaccination(**fields("vac", when), code=code, vaccinee_ref=ref, vaccinator="李护士")


# --- registration --------------------------------------------------------------------------


def test_a_site_registers_a_child_and_reads_it(province: Province) -> None:
    rid = resident_id()
    child_id = register(province, resident_id=rid)
    assert child_id.startswith("ch-") and len(child_id) == 19
    found = province.svc.child(POV, child_id)
    assert (found["name"], found["sex"], found["birth_date"]) == ("张晓梅", "F", "2024-03-01")
    assert found["resident_id"] == rid and found["site_uscc"] == POV
    assert found["guardians"] == [{"name": "王丽", "relation": "mother", "phone": "13800138000"}]
    assert [c["child_id"] for c in province.svc.children(POV)] == [child_id]
    assert province.svc.children(OTHER_POV) == []


def test_the_same_registration_again_is_answered_again(province: Province) -> None:
    child_id = register(province)
    before = province.counts()
    again = province.svc.register_child(POV, registration(), "staff-1")
    assert not again.created and again.body["child"]["child_id"] == child_id
    assert province.counts() == before
    refused(
        province,
        "card_number_taken",
        province.svc.register_child,
        POV,
        registration(name="李四"),
        "staff-1",
    )


def test_bad_registrations_are_refused_and_change_nothing(province: Province) -> None:
    tomorrow = (datetime.now(CST) + timedelta(days=2)).date().isoformat()
    reg = province.svc.register_child
    refused(province, "birth_in_future", reg, POV, registration(birth_date=tomorrow), "s")
    other = resident_id(date(2024, 3, 2))
    refused(province, "resident_id_mismatch", reg, POV, registration(resident_id=other), "s")
    male = resident_id(female=False)
    refused(province, "resident_id_mismatch", reg, POV, registration(resident_id=male), "s")
    refused(province, "not_your_site", reg, POV, registration(site_uscc=OTHER_POV), "s")
    refused(province, "wrong_organisation_kind", reg, CITY_CDC, registration(), "s")
    for bad in ({"resident_id": "320102202403010021"}, {"resident_id": "32010220240301002"}):
        with pytest.raises(ValueError) as caught:
            registration(**bad)
        assert "resident" in str(caught.value)
    with pytest.raises(ValueError, match="not a phone number"):
        registration(guardians=[{"name": "王丽", "relation": "mother", "phone": "12345"}])


# --- duplicates ----------------------------------------------------------------------------


def test_duplicate_candidates_are_answered_and_registering_anyway_needs_confirmation(
    province: Province,
) -> None:
    first = register(province)
    # the same child keyed by ear at another site: another character, a typo in the phone
    same = {
        "name": "张小梅",
        "card_no": "320205-2024-0099",
        "guardians": [{"name": "王莉", "relation": "mother", "phone": "13800138001"}],
    }
    error = refused(
        province,
        "possible_duplicate",
        province.svc.register_child,
        OTHER_POV,
        registration(**same),
        "s",
    )
    (candidate,) = error.details["candidates"]
    assert candidate["child_id"] == first and candidate["name"] == "张*梅"  # another site's
    assert "name_pinyin" in candidate["matched"] and "birth_date" in candidate["matched"]
    confirmed = province.svc.register_child(
        OTHER_POV, registration(**same, confirm_not_duplicate=True), "s"
    )
    assert confirmed.created and [c["child_id"] for c in confirmed.body["candidates"]] == [first]
    # an unrelated child born the same day is no candidate
    register(
        province,
        name="李建国",
        sex="M",
        card_no="320102-2024-0002",
        guardians=[{"name": "李强", "relation": "father", "phone": "13900139000"}],
    )
    pairs = province.svc.child_duplicates()
    assert len(pairs) == 1 and pairs[0]["score"] >= 0.75
    assert {c["child_id"] for c in pairs[0]["children"]} == {
        first,
        confirmed.body["child"]["child_id"],
    }
    mine = province.svc.child_duplicates(POV)
    assert [c["name"] for c in mine[0]["children"]].count("张*梅") == 1


# --- who reads what ----------------------------------------------------------------------------


def test_a_site_reads_only_its_own_children(province: Province) -> None:
    child_id = register(province)
    with pytest.raises(Exception) as caught:
        province.svc.child(OTHER_POV, child_id)
    assert getattr(caught.value, "reason", None) == "not_your_child"
    with pytest.raises(Exception) as caught:
        province.svc.child_record(OTHER_POV, child_id)
    assert getattr(caught.value, "reason", None) == "not_your_child"
    with pytest.raises(Exception) as caught:
        province.svc.child(POV, "ch-0000000000000000")
    assert getattr(caught.value, "reason", None) == "unknown_child"


# --- vaccinations and the record ----------------------------------------------------------------


def test_a_vaccination_names_the_child_and_the_record_is_evaluated(at_site: Province) -> None:
    child_id = register(at_site)
    at_site.svc.vaccinate(POV, vaccination(dose(1), child_id), "staff-1")
    record = at_site.svc.child_record(POV, child_id, on=date(2024, 4, 15))
    (given,) = record["doses"]
    assert (given["code"], given["site_uscc"], given["vaccinator"]) == (dose(1), POV, "李护士")
    assert (given["product_code"], given["batch_no"], given["date"]) == (
        "HEPB-10",
        "B2024001",
        "2024-04-02",
    )
    assert given["vaccine"] == "HepB" and given["mah_uscc"]
    assert given["vaccine_name"] == "乙肝疫苗"  # the schedule's name, for a guardian's page
    assert given["evaluation"] == {"series": "HepB", "dose": 1, "valid": True, "reason": "valid"}
    hepb = next(s for s in record["series"] if s["vaccine"] == "HepB")
    assert hepb["doses_valid"] == 1 and hepb["status"] == "not_yet_due"
    assert hepb["next"]["dose"] == 2 and hepb["next"]["earliest"] == "2024-04-30"
    assert record["school_entry"]["complete"] is False
    # what travels names no child; the journal keeps the id and a digest only
    assert child_id not in str([event.model_dump() for _, event in at_site.reports()])
    assert_no_personal_data_journaled(at_site)


def test_the_vaccinations_answer_tells_the_nurse_the_schedules_verdict(at_site: Province) -> None:
    """A dose the schedule would not count is still given (the nurse's judgement), and the
    answer says so at once; a retry answers the same."""
    child_id = register(at_site)
    first = at_site.svc.vaccinate(POV, vaccination(dose(1), child_id), "staff-1")
    assert first.body["schedule"] == {"series": "HepB", "dose": 1, "valid": True, "reason": "valid"}
    soon = vaccination(dose(2), child_id, RECEIVED_AT + timedelta(days=7))
    second = at_site.svc.vaccinate(POV, soon, "staff-1")
    assert second.body["schedule"]["valid"] is False
    assert second.body["schedule"]["reason"] == "interval_too_short"
    again = at_site.svc.vaccinate(POV, soon, "staff-1")
    assert again.replayed and again.body == second.body


def test_a_dose_before_birth_or_for_another_sites_child_is_refused(at_site: Province) -> None:
    later = register(at_site, birth_date="2024-05-01", card_no="320102-2024-0003")
    use = at_site.svc.vaccinate
    refused(at_site, "dose_before_birth", use, POV, vaccination(dose(1), later), "u")
    theirs = register(at_site, OTHER_POV, name="赵六", card_no="320205-2024-0004")
    refused(at_site, "not_your_child", use, POV, vaccination(dose(1), theirs), "u")
    refused(at_site, "unknown_child", use, POV, vaccination(dose(1), "ch-0123456789abcdef"), "u")


# --- moves and exports ---------------------------------------------------------------------


def test_a_child_moves_to_another_site_with_consent(province: Province) -> None:
    child_id = register(province)
    move = ChildMove(to_site_uscc=OTHER_POV, consent=consent(), reason="搬家")
    refused(
        province,
        "move_to_self",
        province.svc.move_child,
        POV,
        child_id,
        move.model_copy(update={"to_site_uscc": POV}),
    )
    refused(
        province,
        "wrong_organisation_kind",
        province.svc.move_child,
        POV,
        child_id,
        move.model_copy(update={"to_site_uscc": CITY_CDC}),
    )
    moved = province.svc.move_child(POV, child_id, move, "staff-1")
    assert (moved["from_site_uscc"], moved["to_site_uscc"]) == (POV, OTHER_POV)
    assert province.svc.child(OTHER_POV, child_id)["site_uscc"] == OTHER_POV
    refused(province, "not_your_child", province.svc.child, POV, child_id)
    (logged,) = province.svc.child_record(OTHER_POV, child_id)["moves"]
    assert logged["consent"]["given_by"] == "王丽" and logged["kind"] == "site"


def test_a_child_is_exported_to_another_province(province: Province) -> None:
    child_id = register(province, resident_id=resident_id())
    export = ChildExport(to_province="110000", consent=consent())
    refused(
        province,
        "move_to_self",
        province.svc.export_child,
        POV,
        child_id,
        export.model_copy(update={"to_province": "320000"}),
    )
    done = province.svc.export_child(POV, child_id, export, "staff-1")
    document = done["document"]
    assert document["to_province"] == "110000" and document["from_province"] == "320000"
    assert document["record"]["child"]["name"] == "张晓梅"
    assert document["consent"]["method"] == "signed_form"
    assert province.svc.child(POV, child_id)["state"] == "moved_out"
    (logged,) = province.svc.child_record(POV, child_id)["moves"]
    assert logged["export_sha256"] == done["sha256"]
    again = ChildMove(to_site_uscc=OTHER_POV, consent=consent())
    refused(province, "child_moved_out", province.svc.move_child, POV, child_id, again)
    assert_no_personal_data_journaled(province)


# --- merges ------------------------------------------------------------------------------------


def test_a_merge_is_explicit_and_keeps_its_audit_trail(at_site: Province) -> None:
    kept = register(at_site)
    dup = at_site.svc.register_child(
        POV,
        registration(
            name="张小梅",
            card_no="320102-2024-0077",
            resident_id=resident_id(),
            guardians=[{"name": "张伟", "relation": "father", "phone": "13700137000"}],
            confirm_not_duplicate=True,
        ),
        "staff-2",
    ).body["child"]["child_id"]
    at_site.svc.vaccinate(POV, vaccination(dose(1), dup), "staff-1")
    refused(
        at_site,
        "merge_with_self",
        at_site.svc.merge_children,
        POV,
        kept,
        ChildMerge(duplicate_id=kept, reason="同一人"),
    )
    merged = at_site.svc.merge_children(
        POV, kept, ChildMerge(duplicate_id=dup, reason="同一人, 母亲确认"), "staff-1"
    )
    assert merged["moved"]["guardian_phones"] == ["13700137000"]
    assert merged["moved"]["resident_id"] is True
    assert [v["site_uscc"] for v in merged["moved"]["vaccinations"]] == [POV]
    record = at_site.svc.child_record(POV, kept, on=date(2024, 4, 15))
    assert [d["code"] for d in record["doses"]] == [dose(1)]
    assert record["child"]["resident_id"] == resident_id()
    assert len(record["child"]["guardians"]) == 2
    (audit,) = record["merges"]
    assert (audit["kept_id"], audit["merged_id"], audit["recorded_by"]) == (kept, dup, "staff-1")
    assert at_site.svc.child(POV, dup)["state"] == "merged"
    later = vaccination(dose(2), dup)
    error = refused(at_site, "child_merged", at_site.svc.vaccinate, POV, later, "u")
    assert error.details["merged_into"] == kept
    assert_no_personal_data_journaled(at_site)


def assert_no_personal_data_journaled(province: Province) -> None:
    """The province's journal holds no name, phone, card or resident id."""
    with province.engine.connect() as conn:
        documents = [
            bytes(d).decode()
            for d in conn.execute(select(schema.journal.table.c.document)).scalars()
        ]
        people = conn.execute(select(schema.child)).mappings().all()
    text = "\n".join(documents)
    assert any(json.loads(d)["kind"] == "child_registration" for d in documents)
    for person in people:
        for secret in (person["name"], person["card_no"], person["resident_id"]):
            assert secret is None or secret not in text
        for guardian in person["guardians"]:
            assert guardian["phone"] not in text and guardian["name"] not in text


def test_concurrent_registrations_of_one_card_make_one_child(province: Province) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def attempt(_: int) -> str:
        try:
            done = province.svc.register_child(POV, registration(), "staff-1")
        except DomainError as exc:
            return exc.reason
        return str(done.body["child"]["child_id"])

    with ThreadPoolExecutor(8) as pool:
        answers = set(pool.map(attempt, range(16)))
    assert len(answers) == 1 and next(iter(answers)).startswith("ch-"), answers
    assert province.svc.children(POV)[0]["child_id"] in answers


def test_a_dose_too_soon_is_listed_as_invalid_with_its_reason(at_site: Province) -> None:
    child_id = register(at_site, birth_date="2024-03-20")
    at_site.svc.vaccinate(POV, vaccination(dose(1), child_id), "staff-1")
    at_site.svc.vaccinate(POV, vaccination(dose(2), child_id, RECEIVED_AT + timedelta(days=1)))
    record = at_site.svc.child_record(POV, child_id, on=date(2024, 4, 10))
    assert [d["evaluation"] for d in record["doses"]] == [
        {"series": "HepB", "dose": 1, "valid": True, "reason": "valid"},
        {"series": "HepB", "dose": 2, "valid": False, "reason": "too_early"},
    ]
    hepb = next(s for s in record["series"] if s["vaccine"] == "HepB")
    assert (hepb["doses_valid"], hepb["next"]["dose"], hepb["next"]["earliest"]) == (
        1,
        2,
        "2024-04-30",
    )
