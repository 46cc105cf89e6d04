"""A slow, plain reading of the validation rules' descriptions (vaxtrace.core.validation.rules)
over steps in memory: what the simulator's clean world and labelled anomalies are checked
against (no finding in the clean world; exactly the labels with the anomalies). Not the
engine: an independent statement of what each rule means, case by case."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from vaxtrace.core.validation.findings import document_subject
from vaxtrace.core.validation.rules import LATE_REPORT_HOURS
from vaxtrace.sim.supervised_chain import china_day

Step = Mapping[str, Any]
Key = tuple[str, str, str]

NOTES = {"201", "209"}
OUT_OF_HAND = {"209", "202", "322", "215", "216", "205"}
"""Steps by which a unit moves or uses codes it holds."""

REQUIRED: dict[str, tuple[str, ...]] = {
    "101": ("warehouse",),
    "902": ("certificate_no",),
    "107": ("verification",),
    "202": ("return_reason",),
    "215": ("reason",),
    "216": ("reason",),
    "205": ("reason", "executor", "supervisor"),
    "323": ("reason", "undoes_document_no"),
    "931": ("equipment_id", "rule_id", "tier", "minutes", "start_time"),
    "911": ("kind", "lock_kind"),
    "913": ("kind", "recall_no"),
}


def _doc(rule: str, s: Step) -> Key:
    return (rule, "document", document_subject(s["bill_type"], s["org_uscc"], s["document_no"]))


class _Chain:
    def __init__(self, steps: list[Step], kinds: Mapping[str, str], divisions: Mapping[str, str]):
        self.steps, self.kinds, self.divisions = steps, kinds, divisions
        self.notes = {
            (s["org_uscc"], s["document_no"]): s for s in steps if s["bill_type"] in NOTES
        }
        self.by_code: dict[str, list[Step]] = defaultdict(list)
        for s in sorted(steps, key=lambda s: s["business_time"]):
            for code in s["codes"]:
                self.by_code[code].append(s)
        self.batch: dict[str, tuple[str, str]] = {}
        self.expiry: dict[tuple[str, str], date] = {}
        self.on_batch: dict[tuple[str, str], list[Step]] = defaultdict(list)
        for s in steps:
            if s["bill_type"] == "101":
                for code in s["codes"]:
                    self.batch.setdefault(code, (s["mah_uscc"], s["batch_nos"][0]))
            if s["bill_type"] == "201":
                for b in (s["detail"] or {}).get("batches", ()):
                    key = (s["mah_uscc"], b["batch_no"])
                    self.expiry.setdefault(key, date.fromisoformat(b["expiry_date"]))
            if not s["codes"]:
                for b in s["batch_nos"]:
                    self.on_batch[(s["mah_uscc"], b)].append(s)

    def shipped_to(self, unit: str, code: str, before: Any) -> bool:
        return any(
            s["bill_type"] in {"201", "209", "202"} and s["counterparty_uscc"] == unit
            for s in self.by_code[code]
            if s["business_time"] <= before
        )

    def controls(self, code: str) -> list[Step]:
        """Steps on the code or its batch, in time order."""
        on_batch = self.on_batch.get(self.batch.get(code, ("", "")), [])
        return sorted(self.by_code[code] + on_batch, key=lambda s: s["business_time"])


def findings(
    steps: Iterable[Step], kinds: Mapping[str, str], divisions: Mapping[str, str]
) -> set[Key]:
    """What the rules find in ``steps``; ``kinds`` and ``divisions`` of the organisations
    (the registry's copy)."""
    chain = _Chain(list(steps), kinds, divisions)
    found: set[Key] = set()
    for s in chain.steps:
        found |= _of_step(chain, s)
    for code in chain.by_code:
        found |= _of_code(chain, code)
    return found


def _of_step(chain: _Chain, s: Step) -> set[Key]:
    found: set[Key] = set()
    bill, org, when = s["bill_type"], s["org_uscc"], s["business_time"]
    if s["reported_at"] - when > timedelta(hours=LATE_REPORT_HOURS):
        found.add(_doc("late_report", s))
    detail = s["detail"] or {}
    if any(detail.get(f) in (None, "") for f in REQUIRED.get(bill, ())):
        found.add(_doc("required_fields", s))
    if bill == "201":
        lot = [(b.get("lot_release") or {}).get("certificate_no") for b in detail["batches"]]
        if not all(lot):
            found.add(_doc("required_fields", s))
        if any(code not in chain.batch for code in s["codes"]):
            found.add(_doc("missing_production", s))
        made = [x for c in s["codes"] for x in chain.by_code[c] if x["bill_type"] == "101"]
        if any(x["business_time"] > s["business_time"] for x in made):
            found.add(_doc("time_order", s))
        if chain.kinds.get(s["counterparty_uscc"]) == "pov":
            found.add(_doc("mah_to_site", s))
    if bill == "209" and chain.kinds.get(org) == "pov":
        found.add(_doc("site_supplies", s))
    province = chain.divisions[org][:2]
    if bill == "209" and chain.kinds.get(org) == "cdc":
        to = s["counterparty_uscc"]
        found |= {_doc("cross_province", s)} if chain.divisions[to][:2] != province else set()
    if bill == "107":
        found |= _receipt(chain, s)
    if bill in NOTES:
        found |= _received_in_full(chain, s)
    if bill in OUT_OF_HAND:
        found |= _held(chain, s)
    return found


def _receipt(chain: _Chain, s: Step) -> set[Key]:
    note = chain.notes.get((s["counterparty_uscc"], s["source_document_no"]))
    if note is None:
        return {_doc("missing_shipment", s)}
    found: set[Key] = set()
    if note["counterparty_uscc"] != s["org_uscc"] or not set(s["codes"]) <= set(note["codes"]):
        found.add(_doc("source_mismatch", s))
    if s["business_time"] < note["business_time"]:
        found.add(_doc("time_order", s))
    for code in s["codes"]:
        earlier = [x for x in chain.by_code[code] if x["business_time"] < s["business_time"]]
        mine = [x for x in earlier if x["org_uscc"] == s["org_uscc"]]
        if mine and mine[-1]["bill_type"] == "107":
            found.add(_doc("received_twice", s))
    return found


def _received_in_full(chain: _Chain, note: Step) -> set[Key]:
    receipts = [
        s
        for s in chain.steps
        if s["bill_type"] == "107"
        and s["source_document_no"] == note["document_no"]
        and s["counterparty_uscc"] == note["org_uscc"]
        and s["org_uscc"] == note["counterparty_uscc"]
    ]
    got = {c for r in receipts for c in r["codes"]}
    return {_doc("quantity_mismatch", note)} if receipts and got < set(note["codes"]) else set()


def _held(chain: _Chain, s: Step) -> set[Key]:
    """A unit moving or using codes: shipped to it, and received by it before."""
    found: set[Key] = set()
    org, when = s["org_uscc"], s["business_time"]
    for code in s["codes"]:
        if not chain.shipped_to(org, code, when):
            if s["bill_type"] in {"209", "202"}:
                found.add(_doc("shipped_by_non_holder", s))
            continue
        receipts = [
            x for x in chain.by_code[code] if x["bill_type"] == "107" and x["org_uscc"] == org
        ]
        if not receipts:
            found.add(_doc("missing_receipt", s))
        elif min(r["business_time"] for r in receipts) > when:
            found.add(_doc("time_order", s))
    return found


def _of_code(chain: _Chain, code: str) -> set[Key]:
    found: set[Key] = set()
    uses = 0
    batch = chain.batch.get(code)
    expiry = chain.expiry.get(batch) if batch else None
    for s in chain.by_code[code]:
        if s["bill_type"] == "323":
            uses -= 1
        if s["bill_type"] != "322":
            continue
        uses += 1
        if uses > 1:
            found.add(("used_twice", "code", code))
        if expiry is not None and china_day(s["business_time"]) > expiry:
            found.add(("used_after_expiry", "code", code))
        before = [x for x in chain.controls(code) if x["business_time"] < s["business_time"]]
        bills = [x["bill_type"] for x in before]
        locks = [b for b in bills if b in {"911", "912"}]
        if locks and locks[-1] == "911":
            found.add(("used_while_locked", "code", code))
        if "913" in bills:
            found.add(("used_while_recalled", "code", code))
        if "931" in bills:
            found.add(("used_after_excursion", "code", code))
    return found
