"""Receipt with scan verification (扫码验收): what a CDC's scan of a code at the door means for
the shipping note (发货单) it receives against, and whether the receipt as a whole is verified.

In the manner of an event check-in desk: every scan gets a decision — *accepted*, *repeat*
(idempotent: the code or its container was scanned already) or *rejected* — with a stable,
machine-readable reason. A listed code counts as received when it was scanned, when a container
around it was, or when everything the note says it holds was. Codes are compared in canonical
form, so a GS1 element string as scanned and the human-readable ``(01)…(21)…`` of the same pack
are one code.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from vaxtrace.core.codes import CodeError, parse_code
from vaxtrace.core.downstream import Verification
from vaxtrace.core.reasons import ScanReason


class ScanResult(StrEnum):
    ACCEPTED = "accepted"
    REPEAT = "repeat"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ScanDecision:
    """What one scan means. ``code`` is the canonical code, None when it could not be read;
    ``lineage`` the code and the containers around it on the note, innermost first (empty
    when the code is not on the note or was not looked for)."""

    result: ScanResult
    reason: ScanReason
    code: str | None
    message: str
    lineage: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    """What stops the code being used though it is on the note (the dose gate's
    ``stop_reasons``: locked, recalled, expired, …): received, but not into usable stock."""


def canonical(text: str) -> str | None:
    """The canonical form of a code in any form, or None when it is not a readable code."""
    try:
        return parse_code(text).value
    except CodeError:
        return None


@dataclass(frozen=True, slots=True)
class ExpectedCode:
    """One code a note says was sent, as a scan looks it up: the container the note puts it
    in (None for a listed code), the doses it holds, and its place in :attr:`Consignment.codes`
    (listed codes first, in the note's order; containers before what they hold)."""

    code: str
    parent_code: str | None
    doses: int
    position: int

    @property
    def listed(self) -> bool:
        return self.parent_code is None


@dataclass(frozen=True, slots=True)
class Place:
    """Where a scanned code sits on its note: ``lineage`` is the code and every container
    around it, innermost first (empty: not on the note); ``scanned`` those of them whose
    scan was accepted already."""

    lineage: tuple[str, ...]
    scanned: frozenset[str] = frozenset()


PlaceOf = Callable[[str], Place]
"""Where a canonical code sits on the note a scan is against (a lookup by the caller)."""


@dataclass(frozen=True)
class Consignment:
    """What a shipping note says was sent: the codes it lists and, when the note carries
    ``contents``, what each container holds, all in canonical form.

    The containment is a forest rooted at the listed codes; use :func:`consignment` to build
    one from a note, which cuts cycles and codes claimed twice.
    """

    listed: tuple[str, ...]
    children: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    parent: Mapping[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        """Every code of the consignment, containers before what they hold."""
        order = list(self.listed)
        for code in order:  # grows while walked: breadth first
            order.extend(self.children.get(code, ()))
        return order

    def lineage(self, code: str) -> list[str]:
        """The code and every container around it, innermost first."""
        chain = [code]
        while chain[-1] in self.parent:
            chain.append(self.parent[chain[-1]])
        return chain

    def within(self, code: str) -> list[str]:
        """Everything the note says ``code`` holds, at any depth."""
        found = list(self.children.get(code, ()))
        for inner in found:  # grows while walked
            found.extend(self.children.get(inner, ()))
        return found

    def doses(self) -> dict[str, int]:
        """Doses in each code: 1 for a code the note says holds nothing, else the sum of what
        it holds."""
        counts: dict[str, int] = {}
        for code in reversed(self.codes):
            inside = self.children.get(code, ())
            counts[code] = sum(counts[c] for c in inside) if inside else 1
        return counts

    def place_of(self, scanned: Collection[str]) -> PlaceOf:
        """The place of a code on this consignment, given the codes accepted already."""
        listed = frozenset(self.listed)

        def place(code: str) -> Place:
            if code not in self.parent and code not in listed:
                return Place(())
            lineage = tuple(self.lineage(code))
            return Place(lineage, frozenset(c for c in lineage if c in scanned))

        return place

    def expected_codes(self) -> list[ExpectedCode]:
        """Every code of the consignment as it is kept for scans, in :attr:`codes` order."""
        doses = self.doses()
        return [
            ExpectedCode(code, self.parent.get(code), doses[code], position)
            for position, code in enumerate(self.codes)
        ]

    @classmethod
    def of_expected(cls, rows: Iterable[ExpectedCode]) -> Consignment:
        """The consignment kept as :meth:`expected_codes`, read back without reading a code
        again (``rows`` in any order)."""
        ordered = sorted(rows, key=lambda r: r.position)
        children: dict[str, list[str]] = {}
        for row in ordered:
            if row.parent_code is not None:
                children.setdefault(row.parent_code, []).append(row.code)
        return cls(
            tuple(r.code for r in ordered if r.parent_code is None),
            {k: tuple(v) for k, v in children.items()},
            {r.code: r.parent_code for r in ordered if r.parent_code is not None},
        )

    def placement(self, received: Iterable[str]) -> list[tuple[str, str | None]]:
        """Each received code with what the note says it holds, as ``(code, container)``:
        the received codes themselves loose (container None), containers first."""
        rows: list[tuple[str, str | None]] = [(code, None) for code in received]
        for code, _ in rows:  # grows while walked
            rows.extend((child, code) for child in self.children.get(code, ()))
        return rows


def consignment(
    listed: Iterable[str], contents: Mapping[str, Iterable[str]] | None = None
) -> Consignment:
    """Read a note's listed codes and optional ``contents`` ({container: [codes directly
    inside]}) into canonical form. A code that cannot be read is kept as written (it can then
    never be scanned, so the receipt shows it missing); contents that do not hang below a listed
    code, that repeat a code or that loop are ignored.

    Done once per note, when it is announced (reading a GS1 code takes ~0.1 ms); scans look
    codes up in what :meth:`Consignment.expected_codes` kept."""
    roots = tuple(dict.fromkeys(canonical(c) or c.strip() for c in listed))
    inside = {
        canonical(k) or k.strip(): [canonical(c) or c.strip() for c in v]
        for k, v in (contents or {}).items()
    }
    seen = set(roots)
    children: dict[str, tuple[str, ...]] = {}
    parent: dict[str, str] = {}
    queue = list(roots)
    for code in queue:  # grows while walked: breadth first
        kept = [c for c in dict.fromkeys(inside.get(code, ())) if c not in seen]
        seen.update(kept)
        if kept:
            children[code] = tuple(kept)
            parent.update((c, code) for c in kept)
            queue.extend(kept)
    return Consignment(roots, children, parent)


class ReceiptState(StrEnum):
    """Where the receipt of a note stands (收货状态)."""

    OPEN = "open"  # nothing confirmed yet (scanned or not)
    PARTIAL = "partial"  # some confirmed; what comes late can be confirmed later
    RECEIVED = "received"  # every listed code received: the note is closed


@dataclass(frozen=True, slots=True)
class NoteView:
    """What a scan needs to know of the note it is scanned against, before its code."""

    consignee_uscc: str
    closed: bool


def decide_scan(
    note: NoteView | None, actor_uscc: str, text: str, place_of: PlaceOf
) -> ScanDecision:
    """Decide one scan of ``text`` by ``actor_uscc`` against ``note`` (None: no such note).

    ``place_of`` answers where the canonical code sits on the note and what around it was
    accepted already; it is asked once, and only when the note takes the scan and the code
    reads, so a scan refused for its note costs no lookup of its code."""
    refusal = _refuse_note(note, actor_uscc)
    if refusal is not None:
        return refusal
    try:
        code = parse_code(text).value
    except CodeError as exc:
        return _rejected(ScanReason.MALFORMED_CODE, None, f"{exc.reason}: {exc.message}")
    return _decide_code(code, place_of(code))


def _refuse_note(note: NoteView | None, actor_uscc: str) -> ScanDecision | None:
    """Why no scan by ``actor_uscc`` is taken against ``note``, if it is not."""
    if note is None:
        return _rejected(ScanReason.UNKNOWN_NOTE, None, "no such shipping note was announced")
    if note.consignee_uscc != actor_uscc:
        return _rejected(
            ScanReason.WRONG_CONSIGNEE, None, "the note is addressed to another organisation"
        )
    if note.closed:
        return _rejected(
            ScanReason.NOTE_CLOSED, None, "everything on this note was received already"
        )
    return None


def _decide_code(code: str, place: Place) -> ScanDecision:
    lineage, scanned = place.lineage, place.scanned
    if not lineage:
        return _rejected(ScanReason.NOT_ON_NOTE, code, "this code is not on the note")
    if code in scanned:
        return ScanDecision(
            ScanResult.REPEAT,
            ScanReason.ALREADY_SCANNED,
            code,
            "scanned before: counted once",
            lineage,
        )
    around = next((c for c in lineage[1:] if c in scanned), None)
    if around is not None:
        return ScanDecision(
            ScanResult.REPEAT,
            ScanReason.INSIDE_SCANNED_CONTAINER,
            code,
            f"inside {around}, which was scanned: counted with it",
            lineage,
        )
    if len(lineage) == 1:
        return ScanDecision(ScanResult.ACCEPTED, ScanReason.ON_NOTE, code, "on the note", lineage)
    return ScanDecision(
        ScanResult.ACCEPTED,
        ScanReason.INSIDE_LISTED_CONTAINER,
        code,
        f"inside {lineage[-1]}, which is on the note",
        lineage,
    )


def _rejected(reason: ScanReason, code: str | None, message: str) -> ScanDecision:
    return ScanDecision(ScanResult.REJECTED, reason, code, message)


@dataclass(frozen=True, slots=True)
class ReceiptVerification:
    """收货核验 of a receiving note: what was received against what the note listed.

    ``received`` are the outermost codes received (a case received whole is one code);
    ``missing`` the listed codes not received whole. Quantities are in doses: a code counts 1
    unless the note's ``contents`` say what it holds.
    """

    verification: Verification
    reason: str | None
    expected_quantity: int
    actual_quantity: int
    received: tuple[str, ...]
    missing: tuple[str, ...]


def verify_receipt(goods: Consignment, scanned: Collection[str]) -> ReceiptVerification:
    """Verified when every listed code was received; failed with the count missing otherwise."""
    covered = _covered(goods, set(scanned))
    doses = goods.doses()
    received = _outermost(goods, covered)
    missing = tuple(c for c in goods.listed if c not in covered)
    reason = (
        f"missing_codes: {len(missing)} of {len(goods.listed)} not scanned" if missing else None
    )
    return ReceiptVerification(
        verification=Verification.FAILED if missing else Verification.VERIFIED,
        reason=reason,
        expected_quantity=sum(doses[c] for c in goods.listed),
        actual_quantity=sum(doses[c] for c in received),
        received=received,
        missing=missing,
    )


def received_now(
    goods: Consignment, scanned: Collection[str], confirmed: Collection[str]
) -> list[tuple[str, str | None]]:
    """What a confirmation receives that earlier ones of the same note did not (``confirmed``:
    the codes they received, containers and contents alike), each as ``(code, container)``,
    containers first. A code stays in its container when the container comes with it; else
    it comes loose (a box that came late is not put back into a case opened at the door)."""
    covered, done = _covered(goods, set(scanned)), set(confirmed)
    new = [c for c in goods.codes if c in covered and c not in done]
    fresh = set(new)
    return [(code, parent if (parent := goods.parent.get(code)) in fresh else None) for code in new]


def reported(
    goods: Consignment, placement: Sequence[tuple[str, str | None]], confirmed: Collection[str]
) -> tuple[str, ...]:
    """The codes a confirmation reports received (107): the outermost of ``placement``
    (:func:`received_now`), except that a container opened by an earlier confirmation (part of
    what it holds was received then) is reported by what came of it now, so that nothing is
    reported received twice."""
    fresh = {code for code, _ in placement}
    done = set(confirmed)
    found: list[str] = []
    queue = [code for code, container in placement if container is None]
    for code in queue:  # grows while walked
        if done.intersection(goods.within(code)):
            queue.extend(c for c in goods.children.get(code, ()) if c in fresh)
        else:
            found.append(code)
    return tuple(found)


def state_after(verified: ReceiptVerification) -> ReceiptState:
    """The state of a note once a confirmation with this verification is recorded."""
    if verified.verification is Verification.VERIFIED:
        return ReceiptState.RECEIVED
    return ReceiptState.PARTIAL


def _covered(goods: Consignment, scanned: set[str]) -> set[str]:
    """Codes received: scanned, inside a scanned container, or all they hold received."""
    order = goods.codes
    covered = scanned.intersection(order)
    for code in order:  # containers first: what a scanned case holds is received with it
        if goods.parent.get(code) in covered:
            covered.add(code)
    for code in reversed(order):  # then upwards: a case whose boxes all came is received
        inside = goods.children.get(code, ())
        if inside and all(c in covered for c in inside):
            covered.add(code)
    return covered


def _outermost(goods: Consignment, covered: set[str]) -> tuple[str, ...]:
    found: list[str] = []
    queue = list(goods.listed)
    for code in queue:  # grows while walked
        if code in covered:
            found.append(code)
        else:
            queue.extend(goods.children.get(code, ()))
    return tuple(found)
