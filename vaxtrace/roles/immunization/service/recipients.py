"""受种者: the children the province's vaccination sites manage.

A site's staff register the children of their site (duplicate candidates answered first; a
registration despite them needs the staff's confirmation), read them and their record (doses
with the schedule's evaluation and forecast: what a guardian's page shows), move a child's
record to another site of the province or export it to another province (with the guardian's
consent, logged), and merge a duplicate into the record kept (explicitly, with an audit
trail). Only the managing site's staff read or change a child (403 ``not_your_child``).

Personal data stays in the ``child`` tables: the province's journal keeps a child's
pseudonymous id and a digest of its data (``personal_sha256``), the exchange reports nothing
of it, and a vaccination names a child by its id as its ``vaccinee_ref``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.dose_gate import local_date
from vaxtrace.core.errors import DomainError
from vaxtrace.core.identifiers import DivisionCode
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recipients import (
    Candidate,
    ChildExport,
    ChildMerge,
    ChildMove,
    ChildRegistration,
    Consent,
    Person,
    candidates,
    check_registration,
    duplicate_pairs,
    new_child_id,
    personal_digest,
    vaccine_of,
)
from vaxtrace.core.recipients.matching import name_key
from vaxtrace.core.recipients.model import personal_data
from vaxtrace.core.schedule import Child, DoseGiven, Schedule, evaluate, national_schedule
from vaxtrace.core.times import Clock, as_utc
from vaxtrace.roles.immunization.service import due
from vaxtrace.roles.immunization.service.lookups import require_kind, unit
from vaxtrace.store.engine import Connection, Engine, IntegrityError, read_tx, write_tx
from vaxtrace.store.immunization import recipients as store
from vaxtrace.store.immunization.stock_views import product_copies

Row = Mapping[Any, Any]
"""A row as the store answers it."""

MAX_CHILDREN = 1000
"""The most children one listing answers."""


china_date = local_date
"""The day a moment is in China: a birth date, a dose's date, today."""


@dataclass(frozen=True, slots=True)
class Registered:
    """A registration's answer; ``created`` False when it repeats one already made (the same
    card, data and site): answered again, nothing written."""

    body: dict[str, Any]
    created: bool


# --- registration ------------------------------------------------------------------------------


def register(
    engine: Engine, clock: Clock, actor: str, user: str, request: ChildRegistration
) -> Registered:
    """建档 by the staff of a vaccination site, for their own site. A concurrent registration
    of the same card that committed first is met once more: answered as a repeat, or
    refused (``card_number_taken``)."""
    try:
        return _register(engine, clock, actor, user, request)
    except IntegrityError:
        return _register(engine, clock, actor, user, request)


def _register(
    engine: Engine, clock: Clock, actor: str, user: str, request: ChildRegistration
) -> Registered:
    with write_tx(engine) as conn:
        require_kind(unit(conn, actor), OrgKind.POV, "register a child")
        if request.site_uscc is not None and request.site_uscc != actor:
            raise DomainError(
                Reason.NOT_YOUR_SITE,
                f"a site registers its own children, not {request.site_uscc}'s",
                field="site_uscc",
            )
        now = clock.now()
        check_registration(request, china_date(now))
        personal = request.personal()
        digest = personal_digest(personal)
        again = _repeated(conn, actor, request.card_no, digest)
        if again is not None:
            return Registered({"child": again, "candidates": []}, created=False)
        child_id = new_child_id()
        phones = [g.phone for g in request.guardians]
        person = Person(
            child_id,
            actor,
            request.name,
            request.sex.value,
            request.birth_date,
            tuple(phones),
            request.resident_id,
        )
        found = candidates(person, _near(conn, person))
        if found and not request.confirm_not_duplicate:
            raise DomainError(
                Reason.POSSIBLE_DUPLICATE,
                f"{len(found)} registered child(ren) may be this one: check them, then merge "
                "or register again with confirm_not_duplicate",
                details={"candidates": [_candidate(c, actor) for c in found]},
            )
        acknowledged = [c.other.id for c in found]
        store.insert_child(
            conn,
            {
                "id": child_id,
                "site_uscc": actor,
                "name": request.name,
                "name_key": name_key(request.name),
                "sex": request.sex.value,
                "birth_date": request.birth_date,
                "birth_division": request.birth_division,
                "card_no": request.card_no,
                "resident_id": request.resident_id,
                "guardians": personal["guardians"],
                "personal_sha256": digest,
                "state": store.ACTIVE,
                "duplicates_acknowledged": acknowledged or None,
                "registered_by": user,
                "registered_at": now,
                "updated_at": now,
            },
            phones,
        )
        due.refresh(conn, [child_id], now)
        store.journal_child(
            conn,
            "child_registration",
            {
                "org_uscc": actor,
                "child_id": child_id,
                "personal_sha256": digest,
                "duplicates_acknowledged": acknowledged,
                "recorded_by": user,
            },
        )
        row = store.find_child(conn, child_id)
        assert row is not None
        return Registered(
            {"child": _view(row), "candidates": [_candidate(c, actor) for c in found]},
            created=True,
        )


def _repeated(conn: Connection, actor: str, card_no: str, digest: str) -> dict[str, Any] | None:
    """The child already registered with this card: the same registration again (answered
    again), else the card is another child's (refused)."""
    row = store.find_by_card(conn, card_no)
    if row is None:
        return None
    if row["site_uscc"] == actor and row["personal_sha256"] == digest:
        return _view(row)
    raise DomainError(
        Reason.CARD_NUMBER_TAKEN,
        "this vaccination card number is already another registration's",
        field="card_no",
    )


def _near(conn: Connection, person: Person) -> list[Person]:
    rows = store.people_near(
        conn,
        name_key=name_key(person.name),
        birth_date=person.birth_date,
        phones=person.phones,
        resident_id=person.resident_id,
    )
    return _people(conn, rows)


def _people(conn: Connection, rows: Sequence[Row]) -> list[Person]:
    phones = store.phones_of(conn, [str(r["id"]) for r in rows])
    return [
        Person(
            str(r["id"]),
            str(r["site_uscc"]),
            str(r["name"]),
            str(r["sex"]),
            r["birth_date"],
            tuple(phones.get(str(r["id"]), ())),
            r["resident_id"],
        )
        for r in rows
    ]


def masked(name: str) -> str:
    """A name another site's staff may see on a candidate: its first and last character
    (张*明, 李*)."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _candidate(candidate: Candidate, actor: str) -> dict[str, Any]:
    """A candidate as the site's staff see it: in full if theirs, else masked (no phone, no
    card, no resident id)."""
    other = candidate.other
    own = other.site_uscc == actor
    return {
        "child_id": other.id,
        "site_uscc": other.site_uscc,
        "name": other.name if own else masked(other.name),
        "sex": other.sex,
        "birth_date": other.birth_date.isoformat(),
        "score": candidate.score,
        "matched": list(candidate.matched),
    }


# --- reading ---------------------------------------------------------------------------------


def _view(row: Row) -> dict[str, Any]:
    return {
        "child_id": row["id"],
        "site_uscc": row["site_uscc"],
        "state": row["state"],
        "merged_into": row["merged_into"],
        "name": row["name"],
        "sex": row["sex"],
        "birth_date": row["birth_date"].isoformat(),
        "birth_division": row["birth_division"],
        "card_no": row["card_no"],
        "resident_id": row["resident_id"],
        "guardians": row["guardians"],
        "registered_at": as_utc(row["registered_at"]).isoformat(),
    }


def _managed(conn: Connection, actor: str, child_id: str, field: str | None = None) -> Any:
    """The child, if the actor's site manages it (whatever its state)."""
    row = store.find_child(conn, child_id)
    if row is None:
        raise DomainError(Reason.UNKNOWN_CHILD, f"no child {child_id}", field=field)
    if row["site_uscc"] != actor:
        raise DomainError(
            Reason.NOT_YOUR_CHILD, "the child is managed by another site", field=field
        )
    return row


def _active(conn: Connection, actor: str, child_id: str, field: str | None = None) -> Any:
    """The child, if the actor's site manages it and it is neither merged nor moved out."""
    row = _managed(conn, actor, child_id, field)
    if row["state"] == store.MERGED:
        raise DomainError(
            Reason.CHILD_MERGED,
            f"this record was merged into {row['merged_into']}",
            field=field,
            details={"merged_into": row["merged_into"]},
        )
    if row["state"] == store.MOVED_OUT:
        raise DomainError(
            Reason.CHILD_MOVED_OUT, "the child's record moved to another province", field=field
        )
    return row


def child(engine: Engine, actor: str, child_id: str) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return _view(_managed(conn, actor, child_id))


def children(engine: Engine, actor: str, state: str | None, limit: int) -> list[dict[str, Any]]:
    """The site's children, newest registration first."""
    with read_tx(engine) as conn:
        return [_view(r) for r in store.children_of(conn, actor, state, min(limit, MAX_CHILDREN))]


def record(
    engine: Engine, actor: str, child_id: str, today: date, schedule: Schedule | None = None
) -> dict[str, Any]:
    """A child's record: doses given (with every record merged into it), each with the
    schedule's evaluation, each series' status and next dose, the school-entry check and
    the record's moves and merges."""
    with read_tx(engine) as conn:
        row = _managed(conn, actor, child_id)
        return _record(conn, row, today, schedule or national_schedule())


def series_of(conn: Connection, row: Row, on: date, vaccine: str) -> dict[str, Any] | None:
    """The forecast on ``on`` of the series a vaccine (the schedule's short name) belongs to,
    for the child ``row``, as its record shows it; None for a vaccine outside the schedule."""
    schedule = national_schedule()
    product = schedule.products.get(vaccine)
    if product is None:
        return None
    found = _record(conn, row, on, schedule)
    return next((s for s in found["series"] if s["vaccine"] == product.series), None)


def verdict_of(conn: Connection, child_id: str, code: str, at: datetime) -> dict[str, Any] | None:
    """The schedule's verdict on the dose ``code`` given to the child at ``at``, its record
    as it is now in ``conn`` (series, dose, valid, reason: ``too_early`` …); None for a
    product outside the schedule. A dose the schedule would not count is still given: the
    answer tells the nurse at once, and the record shows it."""
    row = store.find_child(conn, child_id)
    if row is None:
        return None
    found = _record(conn, row, china_date(at), national_schedule())
    given = next((d for d in found["doses"] if d["code"] == code), None)
    return None if given is None else given["evaluation"]


def _record(conn: Connection, row: Row, today: date, schedule: Schedule) -> dict[str, Any]:
    family = store.merged_family(conn, str(row["id"]))
    doses = [_dose(d) for d in store.doses_of(conn, family)]
    products = product_copies(conn)
    short_names = list(schedule.products)
    for dose in doses:
        copy = products.get(f"{dose['mah_uscc']}/{dose['product_code']}") or {}
        dose["product_name"] = copy.get("generic_name")
        dose["vaccine"] = vaccine_of(dose["product_code"], dose["product_name"], short_names)
        dose["evaluation"] = None
    evaluated = _evaluate(row, doses, today, schedule)
    return {
        "child": _view(row),
        "assessment_date": today.isoformat(),
        "doses": doses,
        **evaluated,
        "moves": [_move(m) for m in store.moves_of(conn, family)],
        "merges": [_merge(m) for m in store.merges_into(conn, family)],
    }


def _dose(r: Row) -> dict[str, Any]:
    at = as_utc(r["vaccinated_at"])
    return {
        "document_no": r["document_no"],
        "vaccinated_at": at.isoformat(),
        "date": china_date(at).isoformat(),
        "product_code": r["product_code"],
        "mah_uscc": r["mah_uscc"],
        "batch_no": r["batch_no"],
        "expiry_date": None if r["expiry_date"] is None else r["expiry_date"].isoformat(),
        "code": r["code"],
        "site_uscc": r["site_uscc"],
        "vaccinator": r["vaccinator"],
        "dose_number": r["dose_number"],
    }


def _evaluate(
    row: Row, doses: list[dict[str, Any]], today: date, schedule: Schedule
) -> dict[str, Any]:
    """The engine's evaluation of the doses that are schedule vaccines, each verdict put
    back on its dose (doses of one vaccine on one day in the order given)."""
    given = [(i, d) for i, d in enumerate(doses) if d["vaccine"] is not None]
    days = [date.fromisoformat(d["date"]) for _, d in given]
    assessment = max([today, row["birth_date"], *days])  # a dose within the clock's skew
    found = evaluate(
        Child(
            birth_date=row["birth_date"],
            sex=row["sex"],
            assessment_date=assessment,
            doses=tuple(
                DoseGiven(d["vaccine"], day) for (_, d), day in zip(given, days, strict=True)
            ),
        ),
        schedule,
    )
    waiting: dict[tuple[str, str], list[int]] = {}
    for i, d in given:
        waiting.setdefault((d["vaccine"], d["date"]), []).append(i)
    for series in found.series:
        for judged in series.doses:
            slot = waiting.get((judged.vaccine, judged.date.isoformat()))
            if slot:
                doses[slot.pop(0)]["evaluation"] = {
                    "series": series.vaccine,
                    "dose": judged.dose,
                    "valid": judged.valid,
                    "reason": judged.reason.value,
                }
    for d in doses:
        d["vaccine_name"] = schedule.label(d["vaccine"]) if d["vaccine"] else None
    return {
        "edition": found.edition,
        "series": [
            {
                "vaccine": s.vaccine,
                "plan": s.plan,
                "status": s.status.value,
                "doses_valid": s.doses_valid,
                "doses_required": s.doses_required,
                "next": None
                if s.next is None
                else {
                    "dose": s.next.dose,
                    "products": list(s.next.products),
                    "earliest": s.next.earliest.isoformat(),
                    "recommended": s.next.recommended.isoformat(),
                    "overdue": None if s.next.overdue is None else s.next.overdue.isoformat(),
                    "latest": None if s.next.latest is None else s.next.latest.isoformat(),
                },
            }
            for s in found.series
        ],
        "school_entry": {
            "entry_date": found.school_entry.entry_date.isoformat(),
            "complete": found.school_entry.complete,
            "missing": [{"vaccine": m.vaccine, "dose": m.dose} for m in found.school_entry.missing],
        },
    }


def _move(m: Row) -> dict[str, Any]:
    return {
        "child_id": m["child_id"],
        "kind": m["kind"],
        "from_site_uscc": m["from_site_uscc"],
        "to_site_uscc": m["to_site_uscc"],
        "to_province": m["to_province"],
        "consent": m["consent"],
        "reason": m["reason"],
        "export_sha256": m["export_sha256"],
        "recorded_at": as_utc(m["recorded_at"]).isoformat(),
    }


def _merge(m: Row) -> dict[str, Any]:
    return {
        "kept_id": m["kept_id"],
        "merged_id": m["merged_id"],
        "site_uscc": m["site_uscc"],
        "reason": m["reason"],
        "moved": m["moved"],
        "recorded_by": m["recorded_by"],
        "recorded_at": as_utc(m["recorded_at"]).isoformat(),
    }


# --- a vaccination naming a child ---------------------------------------------------------------


def check_vaccinee(conn: Connection, actor: str, child_id: str, given_at: datetime) -> None:
    """A vaccination naming a child (its ``vaccinee_ref``): a child the site manages, not
    merged or moved out, born on or before the day of the dose."""
    row = _active(conn, actor, child_id, field="vaccinee_ref")
    day = china_date(given_at)
    if day < row["birth_date"]:
        raise DomainError(
            Reason.DOSE_BEFORE_BIRTH,
            f"the dose on {day} is before the child's birth date {row['birth_date']}",
            field="business_time",
        )


# --- moves and merges -------------------------------------------------------------------------


def _consent(consent: Consent, clock: Clock) -> dict[str, Any]:
    if consent.given_at > clock.now() + clock.skew:
        raise DomainError(
            Reason.IN_FUTURE, "consent cannot be given in the future", field="consent.given_at"
        )
    return consent.model_dump(mode="json")


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def move(
    engine: Engine, clock: Clock, actor: str, user: str, child_id: str, request: ChildMove
) -> dict[str, Any]:
    """迁出 within the province: the child's record is managed by another site from now."""
    with write_tx(engine) as conn:
        row = _active(conn, actor, child_id)
        if request.to_site_uscc == actor:
            raise DomainError(
                Reason.MOVE_TO_SELF, "the child is already your site's", field="to_site_uscc"
            )
        to = unit(conn, request.to_site_uscc, field="to_site_uscc")
        if to.kind is not OrgKind.POV:
            raise DomainError(
                Reason.WRONG_ORGANISATION_KIND,
                f"{to.uscc} is not a vaccination site",
                field="to_site_uscc",
            )
        consent = _consent(request.consent, clock)
        now = clock.now()
        store.hand_to_site(conn, child_id, to.uscc, now)
        due.refresh(conn, [child_id], now)
        store.record_move(
            conn,
            child_id=child_id,
            kind="site",
            from_site_uscc=actor,
            to_site_uscc=to.uscc,
            consent=consent,
            reason=request.reason,
            recorded_by=user,
            recorded_at=now,
        )
        body = {
            "child_id": child_id,
            "from_site_uscc": actor,
            "to_site_uscc": to.uscc,
            "consent_sha256": _digest(consent),
            "personal_sha256": row["personal_sha256"],
        }
        store.journal_child(conn, "child_move", {"org_uscc": actor, **body})
        return body | {"moved_at": now.isoformat()}


EXPORT_FORMAT = "vaxtrace.child-record-transfer/1"


def export(
    engine: Engine,
    clock: Clock,
    actor: str,
    user: str,
    child_id: str,
    request: ChildExport,
    schedule: Schedule | None = None,
) -> dict[str, Any]:
    """迁出 to another province: the child's whole record as a transfer document (personal
    data, doses, evaluation, consent) for the receiving province, its SHA-256 logged; the
    child is moved out here (read-only, its record kept)."""
    with write_tx(engine) as conn:
        acting = unit(conn, actor)
        row = _active(conn, actor, child_id)
        province = DivisionCode(request.to_province)
        if province.province != province:
            raise DomainError(
                Reason.OUT_OF_RANGE, "a province's division code (xx0000)", field="to_province"
            )
        if province == acting.division.province:
            raise DomainError(
                Reason.MOVE_TO_SELF, "that is this province: move it to a site", field="to_province"
            )
        consent = _consent(request.consent, clock)
        now = clock.now()
        content = _record(conn, row, china_date(now), schedule or national_schedule())
        document = {
            "format": EXPORT_FORMAT,
            "from_site_uscc": actor,
            "from_province": acting.division.province.value,
            "to_province": province.value,
            "exported_at": now.isoformat(),
            "consent": consent,
            "reason": request.reason,
            "record": content,
        }
        sha = _digest(document)
        store.set_state(conn, child_id, store.MOVED_OUT, now)
        due.refresh(conn, [child_id], now)
        store.record_move(
            conn,
            child_id=child_id,
            kind="province",
            from_site_uscc=actor,
            to_province=province.value,
            consent=consent,
            reason=request.reason,
            export_sha256=sha,
            recorded_by=user,
            recorded_at=now,
        )
        store.journal_child(
            conn,
            "child_export",
            {
                "org_uscc": actor,
                "child_id": child_id,
                "to_province": province.value,
                "export_sha256": sha,
                "consent_sha256": _digest(consent),
                "personal_sha256": row["personal_sha256"],
            },
        )
        return {"sha256": sha, "document": document}


def merge(
    engine: Engine, clock: Clock, actor: str, user: str, kept_id: str, request: ChildMerge
) -> dict[str, Any]:
    """合并: ``request.duplicate_id`` is merged into ``kept_id`` (both the site's, active):
    its doses count for the kept child, its guardians the kept child lacks are added, its
    resident id too if the kept child has none; the duplicate stays, merged."""
    with write_tx(engine) as conn:
        if request.duplicate_id == kept_id:
            raise DomainError(
                Reason.MERGE_WITH_SELF, "a record is not its own duplicate", field="duplicate_id"
            )
        kept = _active(conn, actor, kept_id)
        dup = _active(conn, actor, request.duplicate_id, field="duplicate_id")
        if kept["resident_id"] and dup["resident_id"] and kept["resident_id"] != dup["resident_id"]:
            raise DomainError(
                Reason.RESIDENT_ID_MISMATCH,
                "the two records have different resident ids: they are two children",
                field="duplicate_id",
            )
        phones = {g["phone"] for g in kept["guardians"]}
        added = [g for g in dup["guardians"] if g["phone"] not in phones]
        guardians = list(kept["guardians"]) + added
        resident_id = kept["resident_id"] or dup["resident_id"]
        personal = personal_data(dict(kept) | {"guardians": guardians, "resident_id": resident_id})
        personal["birth_date"] = kept["birth_date"].isoformat()
        digest = personal_digest(personal)
        family = store.merged_family(conn, request.duplicate_id)
        vaccinations = [
            {"site_uscc": d["site_uscc"], "document_no": d["document_no"]}
            for d in store.doses_of(conn, family)
        ]
        moved = {
            "vaccinations": vaccinations,
            "guardian_phones": [g["phone"] for g in added],
            "resident_id": kept["resident_id"] is None and dup["resident_id"] is not None,
            "merged_records": family,
        }
        now = clock.now()
        store.update_personal(
            conn, kept_id, now, guardians=guardians, resident_id=resident_id, personal_sha256=digest
        )
        store.add_phones(conn, kept_id, [g["phone"] for g in added])
        store.set_state(conn, request.duplicate_id, store.MERGED, now, merged_into=kept_id)
        due.refresh(conn, [kept_id, request.duplicate_id], now)
        store.record_merge(
            conn,
            kept_id=kept_id,
            merged_id=request.duplicate_id,
            site_uscc=actor,
            reason=request.reason,
            moved=moved,
            recorded_by=user,
            recorded_at=now,
        )
        store.journal_child(
            conn,
            "child_merge",
            {
                "org_uscc": actor,
                "kept_id": kept_id,
                "merged_id": request.duplicate_id,
                "kept_sha256_before": kept["personal_sha256"],
                "kept_sha256_after": digest,
                "merged_sha256": dup["personal_sha256"],
                "vaccinations_moved": len(vaccinations),
                "guardians_added": len(added),
                "recorded_by": user,
            },
        )
        return {
            "kept_id": kept_id,
            "merged_id": request.duplicate_id,
            "moved": moved,
            "recorded_by": user,
            "merged_at": now.isoformat(),
        }


# --- the duplicate pass ---------------------------------------------------------------------


def duplicates(engine: Engine, actor: str | None = None) -> list[dict[str, Any]]:
    """Every candidate pair of active children (the nightly pass); with ``actor``, the pairs
    with at least one child of that site, the other masked when another site's."""
    with read_tx(engine) as conn:
        people = _people(conn, store.active_people(conn))
    pairs = duplicate_pairs(people)
    if actor is not None:
        pairs = [p for p in pairs if actor in (p.of.site_uscc, p.other.site_uscc)]
    return [_pair(p, actor) for p in pairs]


def _pair(pair: Candidate, actor: str | None) -> dict[str, Any]:
    def side(person: Person) -> dict[str, Any]:
        shown = actor is None or person.site_uscc == actor
        return {
            "child_id": person.id,
            "site_uscc": person.site_uscc,
            "name": person.name if shown else masked(person.name),
            "sex": person.sex,
            "birth_date": person.birth_date.isoformat(),
        }

    return {
        "children": [side(pair.of), side(pair.other)],
        "score": pair.score,
        "matched": list(pair.matched),
    }
