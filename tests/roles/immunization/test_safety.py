"""A MAH's safety signals applied to the province's stock, and the dose gate that stops what
they stopped: dose-checks (read-only, audited), vaccinations and distributions refused with
every reason, a signal for goods the province never held taken without effect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from province_world import (
    BATCH_NO,
    BOXES,
    CASE,
    CONTENTS,
    CST,
    POV,
    PROVINCE_CDC,
    RECEIVED_AT,
    Province,
    batch_entry,
    dose,
    fields,
)
from sqlalchemy import Engine, select

from vaxtrace.core.coldchain.decisions import ExcursionDecision
from vaxtrace.core.coldchain.readings import TemperatureUpload
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import Distribution, ReceivingNote, Vaccination, VaccinationUndo
from vaxtrace.core.times import Clock, as_utc
from vaxtrace.store.held_reads import HeldReads
from vaxtrace.store.immunization import safety
from vaxtrace.store.immunization.schema import batch, dose_check, safety_signal, stock


@pytest.fixture
def at_site(province: Province) -> Province:
    """The provincial CDC received a case of batch B2024001 and supplied its first box to the
    vaccination site."""
    province.announce("FH1", [CASE], contents=CONTENTS, batches=[batch_entry([CASE])])
    province.receive("FH1", [CASE])
    province.supply(
        PROVINCE_CDC, Distribution(**fields("dist"), codes=(BOXES[0],), receiver_uscc=POV)
    )
    return province


def check(province: Province, code: str, actor: str = POV) -> dict[str, Any]:
    return province.svc.check_dose(actor, code)


def vaccinate(province: Province, code: str) -> Any:
    return province.svc.vaccinate(POV, Vaccination(**fields("vac"), code=code, vaccinator="李护士"))


def test_a_good_dose_passes_and_the_check_is_audited(at_site: Province) -> None:
    answer = check(at_site, dose(1))
    assert answer["allowed"] is True and answer["reasons"] == []
    assert (answer["batch_no"], answer["expiry_date"]) == (BATCH_NO, "2028-12-31")
    at_site.svc.flush()  # dose-checks are kept in batches
    with at_site.engine.connect() as conn:
        rows = conn.execute(select(dose_check.c.org_uscc, dose_check.c.allowed)).all()
    assert rows == [(POV, True)]


@pytest.mark.parametrize(
    ("signal", "reason"),
    [
        ({"kind": "lock", "lock_kind": "pending", "reason": "under review"}, "locked"),
        ({"kind": "lock", "lock_kind": "abnormal", "reason": "bad potency"}, "locked"),
        ({"kind": "recall", "recall_no": "ZH-1", "recall_level": 1}, "recalled"),
    ],
    ids=["pending", "abnormal", "recall"],
)
def test_a_batch_signal_stops_every_dose_of_the_batch(
    at_site: Province, signal: dict[str, Any], reason: str
) -> None:
    taken = at_site.signal(batch_nos=[BATCH_NO], **signal)
    assert taken["accepted"] and taken["codes_affected"] == 9  # case, 2 boxes, 6 doses
    answer = check(at_site, dose(1))
    assert answer["allowed"] is False and reason in answer["reasons"]
    with pytest.raises(DomainError) as refused:
        vaccinate(at_site, dose(2))
    assert refused.value.reason == reason
    assert reason in refused.value.details["reasons"]
    with pytest.raises(DomainError) as held:  # the CDC cannot pass the rest on either
        at_site.svc.distribute(
            PROVINCE_CDC, Distribution(**fields("dist"), codes=(BOXES[1],), receiver_uscc=POV)
        )
    assert held.value.reason == reason


def test_an_unlock_clears_a_pending_lock_only(at_site: Province) -> None:
    at_site.signal(batch_nos=[BATCH_NO], kind="lock", lock_kind="pending", reason="review")
    at_site.signal(batch_nos=[BATCH_NO], kind="unlock", reason="cleared")
    assert check(at_site, dose(1))["allowed"] is True
    at_site.signal(batch_nos=[BATCH_NO], kind="lock", lock_kind="abnormal", reason="failed")
    at_site.signal(batch_nos=[BATCH_NO], kind="unlock", reason="cleared")
    assert check(at_site, dose(1))["reasons"] == ["locked"]


def test_a_code_lock_stops_the_code_and_what_it_holds_only(at_site: Province) -> None:
    taken = at_site.signal(
        batch_nos=[BATCH_NO], codes=[BOXES[0]], kind="lock", lock_kind="pending", reason="r"
    )
    assert taken["codes_affected"] == 4  # the box and its three doses
    assert check(at_site, dose(1))["reasons"] == ["locked"]
    assert check(at_site, dose(4), actor=POV)["reasons"] == ["not_held"]  # still at the CDC
    at_site.signal(batch_nos=[BATCH_NO], codes=[BOXES[0]], kind="unlock", reason="ok")
    assert vaccinate(at_site, dose(1)).body["code"] == dose(1)


def test_every_reason_is_given_at_once(province: Province) -> None:
    province.announce(
        "FH2",
        [CASE],
        contents=CONTENTS,
        batches=[batch_entry([CASE], expiry="2025-01-31", released=False)],
    )
    province.receive("FH2", [CASE])
    province.signal(batch_nos=[BATCH_NO], kind="recall", recall_no="ZH-2", recall_level=2)
    answer = check(province, dose(1))
    assert answer["reasons"] == ["not_held", "recalled", "expired", "no_lot_release"]


def test_signals_for_goods_never_held_are_kept_and_change_no_stock(province: Province) -> None:
    before = province.counts()
    taken = province.signal(batch_nos=["NEVER1"], kind="recall", recall_no="ZH-3")
    assert taken["accepted"] and taken["codes_affected"] == 0
    locked = province.signal(
        batch_nos=["NEVER1"], codes=[dose(77)], kind="lock", lock_kind="pending", reason="r"
    )
    assert locked["codes_affected"] == 0
    after = province.counts()
    assert after["safety_signal"] == before["safety_signal"] + 2
    assert after["stock"] == before["stock"]
    with province.engine.connect() as conn:  # a recall sent ahead waits for the goods
        recall = conn.execute(select(batch.c.recall_no).where(batch.c.batch_no == "NEVER1"))
        assert recall.scalar_one() == "ZH-3"
        kinds = conn.execute(select(safety_signal.c.kind).order_by(safety_signal.c.kind)).scalars()
        assert list(kinds) == ["lock", "recall"]


def test_a_malformed_signal_is_refused_and_changes_nothing(province: Province) -> None:
    before = province.counts()
    with pytest.raises(DomainError) as refused:
        province.signal(batch_nos=[BATCH_NO], kind="lock", reason="no kind of lock")
    assert refused.value.reason == "malformed_document"
    assert refused.value.field is not None and "safety_signal" in refused.value.field
    assert province.counts() == before


def test_a_cdc_cannot_dose_check(at_site: Province) -> None:
    with pytest.raises(DomainError) as refused:
        check(at_site, dose(4), actor=PROVINCE_CDC)
    assert refused.value.reason == "wrong_organisation_kind"


def test_received_codes_carry_their_batch(at_site: Province) -> None:
    with at_site.engine.connect() as conn:
        batches = set(conn.execute(select(stock.c.batch_no)).scalars())
    assert batches == {BATCH_NO}


def test_a_freezer_excursion_at_the_site_stops_its_doses_until_a_person_decides(
    at_site: Province,
) -> None:
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    freeze = [
        {"time": (start + timedelta(minutes=10 * i)).isoformat(), "celsius": -2.0 if i else 5.0}
        for i in range(9)
    ] + [{"time": (start + timedelta(minutes=90)).isoformat(), "celsius": 5.0}]
    upload = TemperatureUpload.model_validate(
        {
            "client_document_id": "fridge-1",
            "equipment_id": "FRIDGE-1",
            "kind": "storage",
            "product_class": "freeze_sensitive_2_8",
            "readings": freeze,
        }
    )
    recorded = at_site.svc.record_temperatures(POV, upload).body
    [excursion] = [e for e in recorded["excursions"] if e["state"] == "open"]
    assert check(at_site, dose(1))["reasons"] == ["cold_chain_excursion"]
    with pytest.raises(DomainError) as refused:
        vaccinate(at_site, dose(2))
    assert refused.value.reason == "cold_chain_excursion"
    decision = ExcursionDecision(decision="usable", decided_by="王医生", reason="shake test ok")
    at_site.svc.decide_excursion(POV, int(excursion["id"]), decision)
    assert check(at_site, dose(1))["allowed"] is True


def test_a_receipt_scan_flags_what_a_lock_recall_or_expiry_stops(province: Province) -> None:
    province.announce(
        "FH3",
        [CASE],
        contents=CONTENTS,
        batches=[batch_entry([CASE], expiry="2025-01-31")],
    )
    province.signal(batch_nos=[BATCH_NO], kind="lock", lock_kind="pending", reason="review")
    accepted = province.svc.scan(PROVINCE_CDC, "FH3", CASE)
    assert accepted.result.value == "accepted"
    assert accepted.flags == ("locked", "expired")
    repeat = province.svc.scan(PROVINCE_CDC, "FH3", dose(1))  # inside the scanned case
    assert repeat.result.value == "repeat" and repeat.flags == ("locked", "expired")
    stray = province.svc.scan(PROVINCE_CDC, "FH3", dose(99))
    assert stray.result.value == "rejected" and stray.flags == ()


def test_a_good_receipt_scan_has_no_flags(province: Province) -> None:
    province.announce("FH4", [CASE], contents=CONTENTS, batches=[batch_entry([CASE])])
    assert province.svc.scan(PROVINCE_CDC, "FH4", CASE).flags == ()


def test_a_step_dated_in_the_future_is_refused_at_the_province(at_site: Province) -> None:
    before = at_site.counts()
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(DomainError) as refused:
        at_site.svc.vaccinate(
            POV, Vaccination(**fields("vac", tomorrow), code=dose(1), vaccinator="李护士")
        )
    assert (refused.value.reason, refused.value.field) == ("in_future", "business_time")
    after = at_site.counts()
    assert {**after, "dose_check": 0} == {**before, "dose_check": 0}


def test_the_province_refuses_a_step_before_the_codes_previous_one(at_site: Province) -> None:
    """What the codes' trace system would refuse (a step back-dated past the last one), the
    province refuses at its edge: the box came to the site on RECEIVED_AT."""
    hour_before = RECEIVED_AT - timedelta(hours=1)
    steps = [
        lambda: vaccinate_at(at_site, dose(1), hour_before),
        lambda: at_site.svc.distribute(
            PROVINCE_CDC,
            Distribution(**fields("dist", hour_before), codes=(BOXES[1],), receiver_uscc=POV),
        ),
    ]
    for step in steps:
        before = at_site.counts()
        with pytest.raises(DomainError) as refused:
            step()
        assert (refused.value.reason, refused.value.field) == (
            "before_previous_step",
            "business_time",
        )
        after = at_site.counts()
        assert {**after, "dose_check": 0} == {**before, "dose_check": 0}
    used = vaccinate_at(at_site, dose(1), RECEIVED_AT + timedelta(hours=3))
    undo = VaccinationUndo(
        **fields("undo", RECEIVED_AT + timedelta(hours=2)),
        vaccination_document_no=used.body["document_no"],
        reason="wrong child",
    )
    with pytest.raises(DomainError) as early:
        at_site.svc.undo_vaccination(POV, undo)
    assert early.value.reason == "before_previous_step"
    later = undo.model_copy(  # an hour after the vaccination, in China's time as it was given
        update={
            "client_document_id": "undo-later",
            "business_time": RECEIVED_AT + timedelta(hours=4),
        }
    )
    assert at_site.svc.undo_vaccination(POV, later).body["undoes"] == used.body["document_no"]


def test_the_clock_skew_the_province_allows_is_configured(immunization_engine: Engine) -> None:
    from province_world import make_province

    strict = make_province(immunization_engine, clock=Clock.with_skew(0))
    strict.announce("FH1", [CASE], contents=CONTENTS, batches=[batch_entry([CASE])])
    a_minute_ahead = datetime.now(UTC) + timedelta(minutes=1)
    strict.svc.scan(PROVINCE_CDC, "FH1", CASE)
    strict.journey("FH1")
    request = ReceivingNote(shipping_note_no="FH1", **fields("rcv", a_minute_ahead))
    with pytest.raises(DomainError) as refused:
        strict.svc.confirm_receipt(PROVINCE_CDC, request)
    assert refused.value.reason == "in_future"
    strict.svc.close()
    lenient = make_province(immunization_engine)  # the default: 5 minutes
    assert not lenient.svc.confirm_receipt(PROVINCE_CDC, request).replayed
    lenient.svc.close()


def vaccinate_at(province: Province, code: str, at: datetime) -> Any:
    return province.svc.vaccinate(
        POV, Vaccination(**fields("vac", at), code=code, vaccinator="李护士")
    )


def test_the_dose_check_reads_the_facts_a_transaction_reads(at_site: Province) -> None:
    """The dose-check's one statement through the driver sees what the gate sees inside a
    vaccination's transaction: holder, place, what a code holds, the MAH's status, the batch."""
    at_site.signal(
        batch_nos=[BATCH_NO], codes=[BOXES[0]], kind="lock", lock_kind="pending", reason="r"
    )
    codes = [CASE, *BOXES, dose(1), dose(4), dose(99)]
    with at_site.engine.connect() as conn:
        in_transaction = [safety.dose_facts(conn, code) for code in codes]
    reads = HeldReads(at_site.engine)
    assert [safety.dose_facts_at_once(reads, code) for code in codes] == in_transaction
    reads.close()
    case, box_at_site, box_at_cdc, locked, at_cdc, unknown = in_transaction
    assert case is not None and case.holds_codes and case.holder_uscc == PROVINCE_CDC
    assert box_at_site is not None and box_at_site.holder_uscc == POV
    assert box_at_cdc is not None and box_at_cdc.status is None
    assert locked is not None and locked.status is not None and not locked.holds_codes
    assert locked.batch is not None and locked.batch.batch_no == BATCH_NO
    assert at_cdc is not None and at_cdc.holder_uscc == PROVINCE_CDC
    assert unknown is None


def test_a_signals_time_is_kept_as_the_instant_it_names(province: Province) -> None:
    """A MAH's signal dated in China time is the same instant read back, on SQLite too
    (which keeps no zone: every time is written in UTC)."""
    china = datetime(2024, 4, 2, 9, 30, tzinfo=CST)
    province.signal(batch_nos=["NEVER2"], kind="recall", recall_no="ZH-4",
                    business_time=china.isoformat())  # fmt: skip
    with province.engine.connect() as conn:
        kept = conn.execute(select(safety_signal.c.business_time)).scalar_one()
    assert as_utc(kept) == china
