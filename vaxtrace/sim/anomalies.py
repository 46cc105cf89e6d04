"""Labelled anomalies (注入的异常) for the validation rules of
:mod:`vaxtrace.core.validation.rules`: one injector per rule id, each making one case whose
steps breach that rule and no other, and the label a perfect engine would find (rule, subject
kind, subject). Never imported by production code.

Every case has doses of its own (three, a batch of its own, identification code ``89…``),
so that it neither touches the clean world's doses nor another case's, and a clean chain up
to the point of the anomaly: produced (101) and batch facts (901, 902) by a MAH of the world,
shipped to the provincial CDC (201, with the batch's master data) and received (107),
distributed to a county CDC (209) and received, distributed to a site (209) and received;
each step reported within the hour, times rising. A case stops where its anomaly is: doses
shipped and never received, or left in stock, break no rule (a note is judged for quantity
only once a receipt of it is reported; a missing receipt only when the unit then acts on the
codes).

Per rule, the case and why only that rule fires:

- ``missing_production``: no 101 for the codes; 901, 902 on the batch, a 201 with the
  batch's master data, its 107 in full. Label: the 201. Everything after the note is in
  order; the note itself is the first step of the codes.
- ``missing_shipment``: chain to the county CDC's 107; the site then reports a 107 naming
  the county CDC and a document number nobody reported. Label: that 107. No document exists,
  so it is not a source mismatch; the site does nothing more.
- ``missing_receipt``: chain to the county CDC's 209 to the site; no 107 at the site, which
  vaccinates one dose (322). Label: the 322. The 209 has no receipt, so no quantity check.
- ``source_mismatch``: the county CDC distributes two doses to site A (209 a) and one to
  site B (209 b); B receives b in full; A reports a 107 of its two doses citing b (which
  exists, but shipped other codes to another unit). Label: A's 107. a has no receipt, so no
  quantity check; b was received in full by its consignee.
- ``time_order``: chain to the site, whose 107 happened 30 minutes before the 209 it
  answers (and after everything earlier). Label: the 107.
- ``required_fields``: 101, 901 and a 902 lot release without its certificate number; the
  doses stay at the MAH. Label: the 902.
- ``received_twice``: chain to the site; an hour later the site reports a second 107 of the
  same codes citing the same 209 (sources right). Label: the second 107.
- ``used_twice``: chain to the site; two 322 of one dose, two hours apart, no undo. Label:
  the dose's code.
- ``shipped_by_non_holder``: chain to county CDC 1's 107; county CDC 2, to which the codes
  were never shipped, distributes them to one of its sites (209), which does not answer.
  Label: county CDC 2's 209. Nothing was shipped to it, so it owes no receipt.
- ``late_report``: chain to the site, whose 107 reaches the platform 30 hours after it
  happened. Label: the 107.
- ``quantity_mismatch``: chain to the county CDC's 209 of three doses to the site, which
  receives two (107 citing it, expected 3, actual 2) and does nothing with the third.
  Label: the 209.
- ``mah_to_site``: 101, 901, 902; the MAH's 201 names a site as consignee (kept where the
  site is); nobody answers. Label: the 201.
- ``site_supplies``: chain to site A; A distributes the doses to site B of the same county
  (209), which does not answer. Label: A's 209.
- ``cross_province``: chain to the provincial CDC's 107; it distributes the doses (209) to
  the neighbouring province's CDC, which does not answer. Label: the 209.
- ``used_after_expiry``: the batch's expiry date is the day (China time) an hour after the
  site received the doses; everything until then is in order; one dose is used three days
  later. Label: the code.
- ``used_while_locked``: chain to the site; the MAH locks the doses (911, abnormal, on
  codes); one is used after. Label: the code.
- ``used_while_recalled``: chain to the site; the MAH recalls the whole batch (913, level
  1); one dose is used after. Label: the code.
- ``used_after_excursion``: chain to the site; the site reports an excursion on the doses
  (931); one is used after. Label: the code.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.validation.findings import SubjectKind, document_subject
from vaxtrace.core.validation.rules import BY_ID, RULES, RuleId
from vaxtrace.sim.supervised_chain import (
    ANOMALY,
    START,
    ChainBatch,
    ChainStep,
    County,
    Progress,
    SupervisedWorld,
    china_day,
    event_id,
    excursion_detail,
    load_fast,
    load_steps,
    make_step,
)
from vaxtrace.store.engine import Engine, write_tx

CASE_DOSES = 3
"""Doses of one case."""

FIRST_CASE = START + timedelta(days=150)
"""When the first case's doses are produced (after the clean world's chain)."""

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class Label(TypedDict):
    """What a perfect validation engine finds for one case."""

    rule: str
    subject_kind: str
    subject: str


@dataclass(frozen=True)
class Injection:
    """The steps of the cases, in order, and their labels."""

    steps: list[ChainStep]
    labels: list[Label]


@dataclass
class _Case:
    """One anomaly's doses, cast and steps."""

    world: SupervisedWorld
    number: int
    seed: int
    rng: random.Random
    batch: ChainBatch
    county: County
    site: Organisation
    steps: list[ChainStep] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return self.batch.codes()

    @property
    def mah(self) -> Organisation:
        return self.batch.mah

    @property
    def t0(self) -> datetime:
        return self.batch.produced_at

    def add(
        self,
        bill: str,
        org: Organisation,
        offset: timedelta,
        codes: Sequence[str],
        *,
        late: timedelta | None = None,
        **more: Any,
    ) -> str:
        """Add a step ``offset`` after the case's start; its document number."""
        n = len(self.steps) + 1
        no = f"AN{bill}{self.seed % 1000:03d}{self.number:05d}{n:02d}"
        at = self.t0 + offset
        reported = at + (late or timedelta(minutes=self.rng.randint(1, 50)))
        event = event_id(ANOMALY, self.seed, self.number, n)
        self.steps.append(make_step(event, bill, org, no, at, codes, reported_at=reported, **more))
        return no

    def code_label(self, rule: str, code: str) -> Label:
        return {"rule": rule, "subject_kind": SubjectKind.CODE.value, "subject": code}

    def document_label(self, rule: str, bill: str, org: Organisation, no: str) -> Label:
        subject = document_subject(bill, org.uscc, no)
        return {"rule": rule, "subject_kind": SubjectKind.DOCUMENT.value, "subject": subject}

    # the clean chain, step by step

    def produce(self, *, certificate: bool = True, codes: bool = True) -> str:
        """101 (unless ``codes`` is false), 901 and 902 of the case's batch; the 902's number."""
        b = self.batch
        on_batch: dict[str, Any] = {"mah_uscc": self.mah.uscc, "batch_nos": (b.batch_no,)}
        if codes:
            self.add(
                "101",
                self.mah,
                timedelta(0),
                self.codes,
                detail={"warehouse": "成品库"},
                **on_batch,
            )
        self.add(
            "901",
            self.mah,
            HOUR,
            (),
            detail={"conclusion": "合格", "report_no": f"ZJ{b.batch_no}"},
            **on_batch,
        )
        release = {"conclusion": "符合规定"} | (
            {"certificate_no": b.certificate_no} if certificate else {}
        )
        return self.add("902", self.mah, 2 * HOUR, (), detail=release, **on_batch)

    def ship(self, to: Organisation) -> str:
        """The MAH's 201 of the case's doses to ``to``, a day after production."""
        return self.add(
            "201",
            self.mah,
            DAY,
            self.codes,
            division=to.division_code,
            counterparty_uscc=to.uscc,
            mah_uscc=self.mah.uscc,
            batch_nos=(self.batch.batch_no,),
            detail={"expected_quantity": CASE_DOSES, "batches": [self.batch.master_data()]},
        )

    def receive(
        self,
        unit: Organisation,
        shipper: Organisation,
        note: str,
        offset: timedelta,
        codes: Sequence[str],
        *,
        expected: int | None = None,
        late: timedelta | None = None,
    ) -> str:
        detail = {
            "verification": "verified",
            "expected_quantity": len(codes) if expected is None else expected,
            "actual_quantity": len(codes),
        }
        return self.add(
            "107",
            unit,
            offset,
            codes,
            late=late,
            counterparty_uscc=shipper.uscc,
            source_document_no=note,
            detail=detail,
        )

    def distribute(
        self, frm: Organisation, to: Organisation, offset: timedelta, codes: Sequence[str]
    ) -> str:
        return self.add("209", frm, offset, codes, counterparty_uscc=to.uscc)

    def to_provincial_cdc(self) -> None:
        """Produced, shipped to the provincial CDC and received there."""
        self.produce()
        cdc = self.world.provincial_cdc
        self.receive(cdc, self.mah, self.ship(cdc), DAY + 20 * HOUR, self.codes)

    def to_county(self) -> None:
        """… and distributed to the case's county CDC, received there."""
        self.to_provincial_cdc()
        cdc, county = self.world.provincial_cdc, self.county.cdc
        no = self.distribute(cdc, county, 2 * DAY, self.codes)
        self.receive(county, cdc, no, 2 * DAY + 5 * HOUR, self.codes)

    def shipped_to_site(self) -> str:
        """… and distributed to the case's site (the 209's number)."""
        self.to_county()
        return self.distribute(self.county.cdc, self.site, 3 * DAY, self.codes)

    def to_site(self, *, late: timedelta | None = None, early: bool = False) -> str:
        """… and received by the site (the 107's number): three hours after the 209, or
        half an hour before it when ``early``."""
        note = self.shipped_to_site()
        offset = 3 * DAY - timedelta(minutes=30) if early else 3 * DAY + 3 * HOUR
        return self.receive(self.site, self.county.cdc, note, offset, self.codes, late=late)

    def vaccinate(self, code: str, offset: timedelta = 4 * DAY) -> str:
        return self.add("322", self.site, offset, (code,))


Injector = Callable[[_Case], Label]


def _missing_production(case: _Case) -> Label:
    case.produce(codes=False)
    cdc = case.world.provincial_cdc
    note = case.ship(cdc)
    case.receive(cdc, case.mah, note, DAY + 20 * HOUR, case.codes)
    return case.document_label(RuleId.MISSING_PRODUCTION, "201", case.mah, note)


def _missing_shipment(case: _Case) -> Label:
    case.to_county()
    ghost = f"PSGHOST{case.seed % 1000:03d}{case.number:05d}"
    no = case.receive(case.site, case.county.cdc, ghost, 3 * DAY + 3 * HOUR, case.codes)
    return case.document_label(RuleId.MISSING_SHIPMENT, "107", case.site, no)


def _missing_receipt(case: _Case) -> Label:
    case.shipped_to_site()
    return case.document_label(
        RuleId.MISSING_RECEIPT, "322", case.site, case.vaccinate(case.codes[0])
    )


def _source_mismatch(case: _Case) -> Label:
    case.to_county()
    county, other = case.county.cdc, _other_site(case)
    codes = case.codes
    case.distribute(county, case.site, 3 * DAY, codes[:2])
    elsewhere = case.distribute(county, other, 3 * DAY + HOUR, codes[2:])
    case.receive(other, county, elsewhere, 3 * DAY + 4 * HOUR, codes[2:])
    no = case.receive(case.site, county, elsewhere, 3 * DAY + 5 * HOUR, codes[:2])
    return case.document_label(RuleId.SOURCE_MISMATCH, "107", case.site, no)


def _time_order(case: _Case) -> Label:
    return case.document_label(RuleId.TIME_ORDER, "107", case.site, case.to_site(early=True))


def _required_fields(case: _Case) -> Label:
    return case.document_label(
        RuleId.REQUIRED_FIELDS, "902", case.mah, case.produce(certificate=False)
    )


def _received_twice(case: _Case) -> Label:
    case.to_site()
    note = case.steps[-1].step["source_document_no"]
    no = case.receive(case.site, case.county.cdc, note, 3 * DAY + 4 * HOUR, case.codes)
    return case.document_label(RuleId.RECEIVED_TWICE, "107", case.site, no)


def _used_twice(case: _Case) -> Label:
    case.to_site()
    code = case.codes[0]
    case.vaccinate(code)
    case.vaccinate(code, 4 * DAY + 2 * HOUR)
    return case.code_label(RuleId.USED_TWICE, code)


def _shipped_by_non_holder(case: _Case) -> Label:
    case.to_county()
    other = next(c for c in case.world.counties if c.cdc.uscc != case.county.cdc.uscc)
    no = case.distribute(other.cdc, other.sites[0], 3 * DAY, case.codes)
    return case.document_label(RuleId.SHIPPED_BY_NON_HOLDER, "209", other.cdc, no)


def _late_report(case: _Case) -> Label:
    no = case.to_site(late=timedelta(hours=30))
    return case.document_label(RuleId.LATE_REPORT, "107", case.site, no)


def _quantity_mismatch(case: _Case) -> Label:
    note = case.shipped_to_site()
    codes = case.codes
    case.receive(
        case.site, case.county.cdc, note, 3 * DAY + 3 * HOUR, codes[:2], expected=len(codes)
    )
    return case.document_label(RuleId.QUANTITY_MISMATCH, "209", case.county.cdc, note)


def _mah_to_site(case: _Case) -> Label:
    case.produce()
    return case.document_label(RuleId.MAH_TO_SITE, "201", case.mah, case.ship(case.site))


def _site_supplies(case: _Case) -> Label:
    case.to_site()
    no = case.distribute(case.site, _other_site(case), 4 * DAY, case.codes)
    return case.document_label(RuleId.SITE_SUPPLIES, "209", case.site, no)


def _cross_province(case: _Case) -> Label:
    case.to_provincial_cdc()
    cdc = case.world.provincial_cdc
    no = case.distribute(cdc, case.world.outsiders[0], 2 * DAY, case.codes)
    return case.document_label(RuleId.CROSS_PROVINCE, "209", cdc, no)


def _used_after_expiry(case: _Case) -> Label:
    case.to_site()
    code = case.codes[0]
    case.vaccinate(code, 6 * DAY + 3 * HOUR)
    return case.code_label(RuleId.USED_AFTER_EXPIRY, code)


def _used_while_locked(case: _Case) -> Label:
    case.to_site()
    lock = {"kind": "lock", "lock_kind": "abnormal", "reason": "疑似质量问题"}
    case.add("911", case.mah, 3 * DAY + 6 * HOUR, case.codes, mah_uscc=case.mah.uscc, detail=lock)
    code = case.codes[0]
    case.vaccinate(code)
    return case.code_label(RuleId.USED_WHILE_LOCKED, code)


def _used_while_recalled(case: _Case) -> Label:
    case.to_site()
    b = case.batch
    recall = {
        "kind": "recall",
        "recall_no": f"ZH{b.batch_no}",
        "recall_level": 1,
        "reason": "质量问题",
    }
    batch: dict[str, Any] = {"mah_uscc": case.mah.uscc, "batch_nos": (b.batch_no,)}
    case.add("913", case.mah, 3 * DAY + 6 * HOUR, (), detail=recall, **batch)
    code = case.codes[0]
    case.vaccinate(code)
    return case.code_label(RuleId.USED_WHILE_RECALLED, code)


def _used_after_excursion(case: _Case) -> Label:
    case.to_site()
    end = case.t0 + 3 * DAY + 6 * HOUR
    case.add(
        "931", case.site, 3 * DAY + 6 * HOUR, case.codes, detail=excursion_detail(case.site, end)
    )
    code = case.codes[0]
    case.vaccinate(code)
    return case.code_label(RuleId.USED_AFTER_EXCURSION, code)


def _other_site(case: _Case) -> Organisation:
    return next(s for s in case.county.sites if s.uscc != case.site.uscc)


INJECTORS: dict[str, Injector] = {
    RuleId.MISSING_PRODUCTION: _missing_production,
    RuleId.MISSING_SHIPMENT: _missing_shipment,
    RuleId.MISSING_RECEIPT: _missing_receipt,
    RuleId.SOURCE_MISMATCH: _source_mismatch,
    RuleId.TIME_ORDER: _time_order,
    RuleId.REQUIRED_FIELDS: _required_fields,
    RuleId.RECEIVED_TWICE: _received_twice,
    RuleId.USED_TWICE: _used_twice,
    RuleId.SHIPPED_BY_NON_HOLDER: _shipped_by_non_holder,
    RuleId.LATE_REPORT: _late_report,
    RuleId.QUANTITY_MISMATCH: _quantity_mismatch,
    RuleId.MAH_TO_SITE: _mah_to_site,
    RuleId.SITE_SUPPLIES: _site_supplies,
    RuleId.CROSS_PROVINCE: _cross_province,
    RuleId.USED_AFTER_EXPIRY: _used_after_expiry,
    RuleId.USED_WHILE_LOCKED: _used_while_locked,
    RuleId.USED_WHILE_RECALLED: _used_while_recalled,
    RuleId.USED_AFTER_EXCURSION: _used_after_excursion,
}
"""One injector per rule id of :data:`vaxtrace.core.validation.rules.RULES`."""

EXPIRING = frozenset({RuleId.USED_AFTER_EXPIRY})
"""Cases whose batch expires the day its doses reach the site."""


def inject(
    world: SupervisedWorld,
    kinds: Collection[str] | None = None,
    *,
    per_kind: int = 1,
    seed: int = 1,
) -> Injection:
    """``per_kind`` cases of each rule of ``kinds`` (every rule by default), in the order of
    the rules; the same for the same world, kinds, count and seed."""
    wanted = [r.id for r in RULES if kinds is None or r.id in kinds]
    unknown = set(kinds or ()) - set(BY_ID)
    if unknown:
        raise ValueError(f"no such rule: {', '.join(sorted(unknown))}")
    steps: list[ChainStep] = []
    labels: list[Label] = []
    for number, rule in enumerate(r for r in wanted for _ in range(per_kind)):
        case = _case(world, rule, number, seed)
        label = INJECTORS[rule](case)
        assert label["rule"] == rule and BY_ID[rule].subject_kind.value == label["subject_kind"]
        steps += case.steps
        labels.append(label)
    return Injection(steps, labels)


def _case(world: SupervisedWorld, rule: str, number: int, seed: int) -> _Case:
    rng = random.Random(f"{seed}:{rule}:{number}")
    mah = world.mahs[rng.randrange(len(world.mahs))]
    county = world.counties[rng.randrange(len(world.counties))]
    site = county.sites[rng.randrange(len(county.sites))]
    produced = FIRST_CASE + timedelta(hours=6 * number)
    expires = produced + (3 * DAY + 4 * HOUR if rule in EXPIRING else timedelta(days=730))
    tag = f"{seed % 1000:03d}{number:05d}"
    batch = ChainBatch(
        index=number,
        mah=mah,
        batch_no=f"AN{tag}",
        product_code=world.batches[number % len(world.batches)].product_code,
        identification_code=f"89{number:05d}",
        first_serial=(seed % 1000) * 1000,
        doses=CASE_DOSES,
        produced_at=produced,
        expiry_date=china_day(expires),
        certificate_no=f"SZAN{tag}",
    )
    return _Case(world, number, seed, rng, batch, county, site)


def load_with_anomalies(
    engine: Engine,
    world: SupervisedWorld,
    *,
    per_kind: int = 1,
    seed: int = 1,
    progress: Progress | None = None,
) -> Injection:
    """A fresh supervision node given the clean world in bulk, then ``per_kind`` cases of
    every rule one add_step each (as the platform would pass them on); the cases and labels
    (``per_kind`` 0: the clean world alone)."""
    load_fast(engine, world, progress=progress)
    made = inject(world, per_kind=per_kind, seed=seed)
    with write_tx(engine) as conn:
        load_steps(conn, made.steps)
    return made


def write_labels(path: Path, labels: Sequence[Label]) -> None:
    """Keep ``labels`` as a JSON list."""
    path.write_text(json.dumps(list(labels), ensure_ascii=False, indent=1), encoding="utf-8")


def read_labels(path: Path) -> list[Label]:
    """Labels kept by :func:`write_labels`."""
    found = json.loads(path.read_text(encoding="utf-8"))
    return [
        Label(rule=x["rule"], subject_kind=x["subject_kind"], subject=x["subject"]) for x in found
    ]
