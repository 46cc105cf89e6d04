"""Use cases of the collaborative platform (协同服务平台): the registry of organisations and
connected systems with a change feed every node pulls, the coding-rule registry that keeps
codes unique across MAHs, and address resolution (which trace system holds a code)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, RowMapping

from vaxtrace.core import codes as codes_
from vaxtrace.core.datasets import CodeFamilyName, VaccineProduct
from vaxtrace.core.downstream import DownstreamEvent, read_event
from vaxtrace.core.errors import Conflict, DomainError, Forbidden, NotFound, Unavailable
from vaxtrace.core.refusal import FINDING, REFUSAL, RefusalNotice, notice_of
from vaxtrace.core.registry import (
    ConnectedSystem,
    FeedKind,
    RegisteredCodingRule,
    RegisteredOrganisation,
    RuleEntryKind,
    SystemRole,
    gtin_prefixes,
)
from vaxtrace.core.signals import CertificateFile, SafetySignal, read_signal
from vaxtrace.core.supervision import SHIPPING_NOTE, Step, sees
from vaxtrace.exchange.delivery import Inbox, Outbox, Refused, take_batch
from vaxtrace.exchange.envelope import Ed25519Verifier, Opened, open_envelope, payload_of
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.public_client import AskOwner, OwnerAsker
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.platform import alerts, registry, routes, schema

CHANGES_PAGE = 1000


def _exchange_verifier(system: Any, alg: str, key_id: str) -> Ed25519Verifier | None:
    """The registered exchange key of a system, if the envelope names it."""
    key = system.get("exchange_key")
    if not key or alg != "Ed25519":
        return None
    verifier = Ed25519Verifier.from_text(key)
    return verifier if verifier.key_id == key_id else None


DOCUMENTS = {
    "shipping_note": SystemRole.TRACE.value,
    "downstream_event": SystemRole.IMMUNIZATION.value,
    "safety_signal": SystemRole.TRACE.value,
}
"""What the exchange carries, and the role of system that may send it."""

REFUSALS_TAKEN_BY = frozenset({SystemRole.IMMUNIZATION.value})
"""The roles of system that take a refusal back (a province makes it an alert for the unit
that did the step); for others the platform's alert is the record."""

DELIVERY_REFUSED = "delivery_refused"
"""The reason of the platform's alert when a system refused what the platform forwarded."""


def _checked_document(opened: Opened, role: str) -> DownstreamEvent | SafetySignal | None:
    """Check the one document an envelope carries (only the systems that make it may send
    it); answers a province's report or a MAH's safety signal read, None for a shipping
    note."""
    payload = opened.payload
    kinds = [k for k in DOCUMENTS if isinstance(payload, dict) and k in payload]
    if len(kinds) != 1:
        raise DomainError(
            "unknown_document",
            f"the payload carries one of {', '.join(DOCUMENTS)}",
            field="payload",
        )
    if DOCUMENTS[kinds[0]] != role:
        raise Forbidden(
            "wrong_sender_role",
            f"a {kinds[0]} comes from a {DOCUMENTS[kinds[0]]} system, not a {role} system",
            field="payload",
        )
    if kinds[0] == "shipping_note":
        return None
    if kinds[0] == "safety_signal":
        signal = read_signal(payload)
        if signal.mah_uscc != opened.header["data_owner"]:
            raise Forbidden(
                "owner_mismatch",
                "a MAH's signal concerns that MAH's goods (data_owner)",
                field="payload.safety_signal.mah_uscc",
            )
        return signal
    event = read_event(payload)
    if event.org_uscc != opened.header["data_owner"]:
        raise Forbidden(
            "owner_mismatch",
            "a province reports for the organisation that did the step (data_owner)",
            field="payload.downstream_event.org_uscc",
        )
    return event


def _alert(conn: Connection, reason: str, opened: Opened, **detail: Any) -> None:
    alerts.raise_alert(
        conn, reason, str(opened.header["event_id"]), str(opened.header["system_id"]), detail
    )


class PlatformService:
    def __init__(self, engine: Engine, outbox: Outbox | None = None) -> None:
        self.engine = engine
        self.inbox = Inbox(ExchangeStore(schema.exchange))
        self.outbox = outbox

    @property
    def outbox(self) -> Outbox | None:
        """Where the platform forwards to connected systems; None until it has its own
        system id. What a receiver refuses from it travels back (see :meth:`_refused`)."""
        return self._outbox

    @outbox.setter
    def outbox(self, outbox: Outbox | None) -> None:
        self._outbox = outbox
        if outbox is not None:
            outbox.on_refused = self._refused

    # --- registry (basic data) ----------------------------------------------------------

    @contextmanager
    def _registry_tx(self) -> Iterator[Connection]:
        """A write of the registry, its writers taking turns (see registry.lock_feed)."""
        with write_tx(self.engine) as conn:
            registry.lock_feed(conn)
            yield conn

    @staticmethod
    def _record(
        conn: Connection,
        kind: str,
        key: str,
        data: dict[str, Any],
        found: RowMapping | None,
        put: Callable[[int], None],
    ) -> tuple[int, bool]:
        """Enter ``data`` in the feed as the latest of ``kind`` ``key`` and ``put`` it with its
        version, unless it is what ``found`` already says: every change enters the feed once.
        Answers the version and whether it changed."""
        if found is not None and found["data"] == data:
            return int(found["version"]), False
        version = registry.record_change(conn, kind, key, data)
        put(version)
        return version, True

    def register_organisation(self, org: RegisteredOrganisation) -> dict[str, Any]:
        """Add or update an organisation; every change enters the feed once."""
        data = org.model_dump(mode="json")
        with self._registry_tx() as conn:
            found = registry.find_organisation(conn, org.uscc)
            version, changed = self._record(
                conn,
                FeedKind.ORGANISATION,
                org.uscc,
                data,
                found,
                lambda v: registry.put_organisation(conn, org.uscc, data, v),
            )
        return {"uscc": org.uscc, "version": version, "changed": changed}

    def register_system(self, item: ConnectedSystem) -> dict[str, Any]:
        """Register a connected system and the organisations it may submit data for."""
        data = item.model_dump(mode="json")
        with self._registry_tx() as conn:
            for i, uscc in enumerate((item.operator_uscc, *item.represents)):
                if registry.find_organisation(conn, uscc) is None:
                    field = "operator_uscc" if i == 0 else f"represents[{i - 1}]"
                    raise DomainError(
                        "unknown_organisation", f"{uscc} is not registered", field=field
                    )
            found = registry.find_system(conn, item.system_id)
            version, changed = self._record(
                conn,
                FeedKind.SYSTEM,
                item.system_id,
                data,
                found,
                lambda v: registry.put_system(conn, data, v),
            )
        return {"system_id": item.system_id, "version": version, "changed": changed}

    def changes(self, since: int) -> dict[str, Any]:
        """Basic-data changes after ``since``, oldest first, a page at a time."""
        with read_tx(self.engine) as conn:
            rows = registry.changes_since(conn, since, CHANGES_PAGE)
            latest = registry.current_version(conn)
        return {
            "since": since,
            "latest": latest,
            "changes": [
                {
                    "version": int(r["version"]),
                    "kind": r["kind"],
                    "key": r["key"],
                    "data": r["data"],
                }
                for r in rows
            ],
        }

    # --- coding rules ---------------------------------------------------------------------

    def register_coding_rule(
        self, caller: SystemIdentity, rule: RegisteredCodingRule
    ) -> dict[str, Any]:
        """A trace system registers a MAH's coding rule; overlaps with another MAH's refused."""
        with write_tx(self.engine) as conn:
            self._check_caller(conn, caller, rule.mah_uscc)
            entries = list(rule.entries)
            taken = {r["entry"] for r in self._refuse_overlaps(conn, rule, entries)}
            fresh = [e for e in entries if e not in taken]
            if not fresh:  # published again, as trace systems do: nothing new
                return {"rule_id": None, "entries": 0, "already_registered": len(taken)}
            rule_id = registry.add_rule(
                conn, caller.system_id, rule.mah_uscc, rule.model_dump(mode="json")
            )
            registry.add_entries(
                conn, rule_id, rule.kind.value, fresh, rule.mah_uscc, caller.system_id
            )
        return {"rule_id": rule_id, "entries": len(fresh), "already_registered": len(taken)}

    # --- products (疫苗产品) ---------------------------------------------------------------

    def register_product(self, caller: SystemIdentity, product: VaccineProduct) -> dict[str, Any]:
        """A trace system registers a product of a MAH it represents, for every node's basic
        data; every change enters the feed once. Each identification code must be in a coding
        rule of that MAH (registered first), so no two MAHs' products share one."""
        data = product.model_dump(mode="json")
        key = f"{product.mah_uscc}/{product.product_code}"
        with self._registry_tx() as conn:
            self._check_caller(conn, caller, product.mah_uscc)
            self._refuse_unclaimed(conn, product)
            found = registry.find_product(conn, product.mah_uscc, product.product_code)
            version, changed = self._record(
                conn,
                FeedKind.PRODUCT,
                key,
                data,
                found,
                lambda v: registry.put_product(conn, data, v),
            )
        return {"key": key, "version": version, "changed": changed}

    @staticmethod
    def _refuse_unclaimed(conn: Connection, product: VaccineProduct) -> None:
        gs1 = product.family is CodeFamilyName.GS1
        for i, level in enumerate(product.levels):
            code = level.identification_code
            entry = _entry_covering(conn, code, gs1=gs1)
            owner = None if entry is None else entry["mah_uscc"]
            field = f"levels[{i}].identification_code"
            if owner is None:
                raise DomainError(
                    "not_in_coding_rule",
                    f"{code} is in no coding rule: register the MAH's coding rule first",
                    field=field,
                )
            if owner != product.mah_uscc:
                raise Conflict(
                    "identification_code_taken",
                    f"{code} is in a coding rule of {owner}",
                    field=field,
                )

    @staticmethod
    def _check_caller(conn: Connection, caller: SystemIdentity, mah_uscc: str) -> None:
        found = registry.find_system(conn, caller.system_id)
        if found is None:
            raise Forbidden("unknown_system", f"{caller.system_id} is not a registered system")
        data = found["data"]
        if data["role"] != SystemRole.TRACE.value:
            raise Forbidden(
                "not_a_trace_system", "only trace systems register coding rules and products"
            )
        if data["operator_uscc"] != caller.org_uscc:
            raise Forbidden(
                "certificate_mismatch", "the certificate's organisation does not run this system"
            )
        if mah_uscc not in data["represents"]:
            raise Forbidden(
                "not_represented",
                f"{caller.system_id} does not represent {mah_uscc}",
                field="mah_uscc",
            )

    @staticmethod
    def _refuse_overlaps(
        conn: Connection, rule: RegisteredCodingRule, entries: list[str]
    ) -> list[RowMapping]:
        """Refuse a rule overlapping another MAH's; answers the entries already registered
        (the same MAH's, of the same kind: a rule published again)."""
        clashes: list[tuple[str, str]] = []
        exact = RuleEntryKind.IDENTIFICATION_CODE.value
        prefix = RuleEntryKind.GS1_COMPANY_PREFIX.value
        registered = registry.entries_in(conn, entries)
        for row in registered:
            if row["mah_uscc"] != rule.mah_uscc or row["kind"] != rule.kind.value:
                clashes.append((row["entry"], row["mah_uscc"]))
        if rule.family is CodeFamilyName.GS1:
            for entry in entries:
                if rule.kind is RuleEntryKind.IDENTIFICATION_CODE:
                    covering = registry.entries_in(conn, gtin_prefixes(entry), prefix)
                else:  # a company prefix clashes with prefixes above or below it and with
                    # every GTIN (any indicator digit) under it
                    covering = registry.entries_in(
                        conn, [entry[:n] for n in range(6, len(entry) + 1)], prefix
                    ) + registry.entries_starting(conn, entry, prefix, rule.mah_uscc)
                    covering += [
                        r
                        for d in "0123456789"
                        for r in registry.entries_starting(conn, d + entry, exact, rule.mah_uscc)
                    ]
                clashes += [
                    (r["entry"], r["mah_uscc"]) for r in covering if r["mah_uscc"] != rule.mah_uscc
                ]
        if clashes:
            entry, owner = clashes[0]
            raise Conflict(
                "overlapping_rule",
                f"{len(clashes)} entr(ies) overlap another MAH's rule, e.g. {entry} of {owner}",
                field="entries",
            )
        return registered

    # --- the exchange (数据交换) ------------------------------------------------------------

    def receive_envelope(self, caller: SystemIdentity, envelope: Any) -> dict[str, Any]:
        """Take one signed envelope (see :meth:`receive_batch`)."""
        return self.receive_batch(caller, [envelope])[0]

    def receive_batch(self, caller: SystemIdentity, envelopes: list[Any]) -> list[dict[str, Any]]:
        """Take a batch of signed envelopes from a connected system, each once, all or none:
        the sender is the verified certificate, each signature is checked against the key
        that system registered, and it may only carry data of organisations it represents."""
        with write_tx(self.engine) as conn:
            system = registry.find_system(conn, caller.system_id)
            if system is None:
                raise Forbidden("unknown_system", f"{caller.system_id} is not registered")
            if system["operator_uscc"] != caller.org_uscc:
                raise Forbidden(
                    "certificate_mismatch",
                    "the certificate's organisation does not run this system",
                )
            areas = registry.supervised_areas(conn)  # the same for every envelope of the batch
            return take_batch(
                envelopes,
                lambda envelope: self._take(conn, caller, system["data"], areas, envelope),
            )

    def _take(
        self,
        conn: Connection,
        caller: SystemIdentity,
        system: Any,
        areas: list[tuple[str, str]],
        envelope: Any,
    ) -> dict[str, Any]:
        if isinstance(envelope, dict) and envelope.get("system_id") != caller.system_id:
            raise Forbidden(
                "sender_mismatch", "the envelope names another sending system", field="system_id"
            )
        opened = open_envelope(
            envelope, lambda _sender, alg, key_id: _exchange_verifier(system, alg, key_id)
        )
        if opened.header["data_owner"] not in system["represents"]:
            raise Forbidden(
                "not_represented",
                f"{caller.system_id} does not represent {opened.header['data_owner']}",
                field="data_owner",
            )
        report = _checked_document(opened, system["role"])
        fresh = self.inbox.receive(conn, opened)
        forwarded = self._forward(conn, opened, report, areas) if fresh else None
        return {
            "event_id": opened.header["event_id"],
            "accepted": fresh,
            "duplicate": not fresh,
            "forwarded_to": forwarded,
        }

    def _forward(
        self,
        conn: Connection,
        opened: Opened,
        report: DownstreamEvent | SafetySignal | None,
        areas: list[tuple[str, str]],
    ) -> list[str] | None:
        """Route what was taken on, in the transaction that took it (so it is forwarded
        exactly when it is taken): a shipping note to the province serving its consignee, a
        province's report to the trace system owning each of its codes. What cannot be
        routed is kept and raises an operator alert."""
        if self.outbox is None:
            return None
        if isinstance(report, SafetySignal):
            return self._forward_signal(conn, opened, report, areas)
        step, where = _step_of(opened, report)
        if report is None:
            routed = self._forward_note(conn, opened)
        else:
            routed = self._split_by_owner(conn, opened, report)
        return routed + self._copy_to_supervision(conn, opened, step, where, areas)

    def _copy_to_supervision(
        self,
        conn: Connection,
        opened: Opened,
        step: Step,
        where: str,
        areas: list[tuple[str, str]],
    ) -> list[str]:
        """Every step also goes, whole, to each supervision system whose regulator's area
        holds where it happened (``where``: a note's consignee CDC, a report's doer)."""
        division = registry.division_of(conn, where) if areas else None
        receivers = sorted({s for s, area in areas if division and sees(area, division)})
        if not receivers:
            return []
        copy = step.model_dump(mode="json") | {"division_code": division}
        for system_id in receivers:
            self._post(conn, system_id, opened, {"supervised_step": copy})
        return receivers

    def _forward_note(self, conn: Connection, opened: Opened) -> list[str]:
        note = opened.payload["shipping_note"]
        receiver = registry.system_representing(
            conn, SystemRole.IMMUNIZATION.value, note["consignee_uscc"]
        )
        if receiver is None:
            _alert(conn, "no_province_system", opened, consignee_uscc=note["consignee_uscc"])
            return []
        batch_nos = [str(b["batch_no"]) for b in note.get("batches") or []]
        mah = str(opened.header["data_owner"])
        routes.add_routes(conn, mah, batch_nos, receiver, str(note["consignee_uscc"]))
        self._post(conn, receiver, opened, {"shipping_note": note})
        return [receiver]

    def _forward_signal(
        self,
        conn: Connection,
        opened: Opened,
        signal: SafetySignal,
        areas: list[tuple[str, str]],
    ) -> list[str]:
        """A MAH's safety signal goes to every immunization system the platform sent goods
        of its batches to, in each one's queue after the notes it concerns (a batch nobody
        was sent yet needs no signal: its note will carry the batch's state), and to the
        supervision systems whose area holds a consignee of those goods, once per division."""
        routed = routes.routes_of(conn, signal.mah_uscc, signal.batch_nos)
        systems = sorted({s for s, _ in routed})
        payload = {"safety_signal": signal.model_dump(mode="json")}
        for system_id in systems:
            self._post(conn, system_id, opened, payload)
        divisions = sorted({d for _, c in routed if (d := registry.division_of(conn, c))})
        copies = sorted({(w, d) for w, area in areas for d in divisions if sees(area, d)})
        for watcher, division in copies:
            self._post(conn, watcher, opened, payload | {"division_code": division})
        return systems + sorted({w for w, _ in copies})

    def _split_by_owner(
        self, conn: Connection, opened: Opened, event: DownstreamEvent
    ) -> list[str]:
        owners: dict[str, list[str]] = {}
        unroutable: list[str] = []
        for code, system_id in self._owners(conn, event.codes):
            if system_id is None:
                unroutable.append(code)
            else:
                owners.setdefault(system_id, []).append(code)
        if unroutable:
            _alert(conn, "no_rule", opened, codes=unroutable[:100], count=len(unroutable))
        for part, (system_id, codes) in enumerate(sorted(owners.items()), start=1):
            piece = event.only(tuple(codes)).model_dump(mode="json")
            split = {"part": part, "parts": len(owners), "codes_in_event": len(event.codes)}
            self._post(conn, system_id, opened, {"downstream_event": piece, "split": split})
        return sorted(owners)

    def _owners(self, conn: Connection, texts: tuple[str, ...]) -> list[tuple[str, str | None]]:
        """Each code with the trace system holding it (None where no rule covers it);
        resolved once per identification code."""
        systems: dict[str, str | None] = {}
        answer: list[tuple[str, str | None]] = []
        for text in texts:
            try:
                code = codes_.parse_code(text)
            except codes_.CodeError:
                answer.append((text, None))
                continue
            key = code.identification_code
            if key not in systems:
                row = _entry_covering(
                    conn, code.identification_code, gs1=code.family is codes_.CodeFamily.GS1
                )
                systems[key] = None if row is None else str(row["system_id"])
            answer.append((text, systems[key]))
        return answer

    def _post(
        self, conn: Connection, receiver: str, opened: Opened, payload: dict[str, Any]
    ) -> None:
        assert self.outbox is not None
        self.outbox.post(
            conn,
            receiver,
            event_type=str(opened.header["event_type"]),
            event_subtype=str(opened.header["event_subtype"]),
            data_owner=str(opened.header["data_owner"]),
            payload=payload
            | {
                "forwarded_from": {
                    "system_id": opened.header["system_id"],
                    "event_id": opened.header["event_id"],
                }
            },
        )

    def _refused(self, conn: Connection, message: RowMapping, refused: Refused) -> None:
        """A system refused a message the platform sent it (final, in the transaction that
        makes it so): keep it as an exchange alert, send the refusal back to the system the
        message came from, and copy it to the supervision systems of the area of the unit that
        did the step. A refused refusal, or a refused copy to a supervision system, is only
        kept as an alert (nothing goes back and forth)."""
        assert self.outbox is not None
        envelope = message["envelope"]
        payload = payload_of(envelope)
        notice = notice_of(
            payload,
            refused_event_id=str(message["event_id"]),
            sender=str(envelope["system_id"]),
            data_owner=str(envelope["data_owner"]),
            receiver=str(message["receiver"]),
            refusal=refused.parts,
            at=self.outbox.now(),
        )
        returned: str | None = None
        findings: list[str] = []
        if not {REFUSAL, FINDING, "supervised_step"} & set(payload):
            returned = self._return_refusal(conn, notice)
            findings = self._copy_finding(conn, notice)
        alerts.raise_alert(
            conn,
            DELIVERY_REFUSED,
            notice.origin_event_id,
            notice.origin_system_id,
            notice.model_dump(mode="json") | {"returned_to": returned, "findings_to": findings},
        )

    def _return_refusal(self, conn: Connection, notice: RefusalNotice) -> str | None:
        """Send the refusal to the system the message came from, if it takes refusals."""
        assert self.outbox is not None
        origin = registry.find_system(conn, notice.origin_system_id)
        if origin is None or origin["role"] not in REFUSALS_TAKEN_BY:
            return None
        self.outbox.post(
            conn,
            notice.origin_system_id,
            event_type="20",
            event_subtype=REFUSAL,
            data_owner=notice.org_uscc or origin["operator_uscc"],
            payload={REFUSAL: notice.model_dump(mode="json")},
        )
        return notice.origin_system_id

    def _copy_finding(self, conn: Connection, notice: RefusalNotice) -> list[str]:
        """Copy the refusal to each supervision system whose regulator's area holds the unit
        that did the step (as its steps are copied, see :meth:`_copy_to_supervision`)."""
        assert self.outbox is not None
        areas = registry.supervised_areas(conn)
        division = registry.division_of(conn, notice.org_uscc) if notice.org_uscc else None
        receivers = sorted({s for s, area in areas if division and sees(area, division)})
        finding = notice.model_dump(mode="json") | {"division_code": division}
        for system_id in receivers:
            self.outbox.post(
                conn,
                system_id,
                event_type="20",
                event_subtype=REFUSAL,
                data_owner=notice.org_uscc or "",
                payload={FINDING: finding},
            )
        return receivers

    def exchange_alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest data taken but not routable, and messages refused by the systems they
        were forwarded to, newest first, for the operator."""
        with read_tx(self.engine) as conn:
            rows = alerts.latest_alerts(conn, limit)
        return [
            {
                "id": int(r["id"]),
                "reason": r["reason"],
                "event_id": r["event_id"],
                "sender": r["sender"],
                "detail": r["detail"],
                "raised_at": r["raised_at"].isoformat(),
            }
            for r in rows
        ]

    # --- the public query entry (公众查询) ----------------------------------------------------

    async def public_query(self, text: str, ask: AskOwner, wait: float) -> dict[str, Any]:
        """A code as typed, scanned or a Digital Link → the owning trace system's consumer view
        (product, MAH, batch, expiry, lot release, status; no personal data).

        Async: the owner is awaited with no worker thread held (in one process the trace role
        needs one to answer); only the resolution, a read, runs in one, once one is free
        within ``wait`` seconds (else 503 ``busy``)."""
        try:
            with anyio.fail_after(wait):
                where = await anyio.to_thread.run_sync(self.resolve, text)
        except TimeoutError as exc:
            raise Unavailable(
                "busy", f"no worker free for a public query within {wait:g} s; try again shortly"
            ) from exc
        view = await ask(where["endpoint"], where["code"])
        return {"resolved": {k: where[k] for k in ("system_id", "mah_uscc", "family")}} | view

    async def lot_release_certificate(
        self,
        caller: SystemIdentity,
        batch: tuple[str, str],
        asker: OwnerAsker,
        wait: float,
    ) -> CertificateFile:
        """批签发证明 of a MAH's batch (``batch``: MAH, batch number), from the trace system
        that represents the MAH, for a system the batch's goods were routed to or a
        supervision system. Async like the public query: no worker thread is held while the
        trace system answers."""
        try:
            with anyio.fail_after(wait):
                endpoint = await anyio.to_thread.run_sync(self._certificate_source, caller, batch)
        except TimeoutError as exc:
            raise Unavailable("busy", f"no worker free within {wait:g} s; try again") from exc
        return await asker.certificate(endpoint, *batch)

    def _certificate_source(self, caller: SystemIdentity, batch: tuple[str, str]) -> str:
        """The endpoint of the trace system to ask for a batch's certificate, if ``caller``
        may have it: goods of the batch were routed to it, or it supervises."""
        mah_uscc, batch_no = batch
        with read_tx(self.engine) as conn:
            holders = {system_id for system_id, _ in routes.routes_of(conn, mah_uscc, [batch_no])}
            asking = registry.find_system(conn, caller.system_id)
            supervises = asking is not None and asking["role"] == "supervision"
            if caller.system_id not in holders and not supervises:
                raise Forbidden(
                    "not_a_holder",
                    f"no goods of batch {batch_no} were sent to {caller.system_id}",
                    field="batch_no",
                )
            source = registry.system_representing(conn, "trace", mah_uscc)
            found = None if source is None else registry.find_system(conn, source)
        if found is None:
            raise NotFound(
                "unknown_mah", f"no trace system represents {mah_uscc}", field="mah_uscc"
            )
        return str(found["data"]["endpoint"])

    # --- address resolution ----------------------------------------------------------------

    def resolve(self, text: str) -> dict[str, Any]:
        """Which trace system holds this code (any family, typed, scanned or a Digital Link)."""
        code = codes_.parse_field(text, "code")
        with read_tx(self.engine) as conn:
            row = _entry_covering(
                conn, code.identification_code, gs1=code.family is codes_.CodeFamily.GS1
            )
            if row is None:
                raise NotFound(
                    "no_rule",
                    f"no registered coding rule covers {code.identification_code}",
                    field="code",
                )
            found = registry.find_system(conn, row["system_id"])
        assert found is not None
        return {
            "code": code.value,
            "family": code.family.value,
            "identification_code": code.identification_code,
            "mah_uscc": row["mah_uscc"],
            "system_id": row["system_id"],
            "endpoint": found["data"]["endpoint"],
        }


def _entry_covering(conn: Connection, identification_code: str, *, gs1: bool) -> Any:
    """The coding-rule entry that covers an identification code: the code itself, else (GS1)
    the longest company prefix it falls under; None if no rule covers it."""
    exact = registry.entries_in(
        conn, [identification_code], RuleEntryKind.IDENTIFICATION_CODE.value
    )
    if exact:
        return exact[0]
    if gs1:
        prefixes = gtin_prefixes(identification_code)
        found = registry.entries_in(conn, prefixes, RuleEntryKind.GS1_COMPANY_PREFIX.value)
        if found:
            return max(found, key=lambda r: len(r["entry"]))
    return None


def _step_of(opened: Opened, report: DownstreamEvent | None) -> tuple[Step, str]:
    """The step an envelope records, and whose place it happened at (a report's doer, a
    note's consignee). A report was read in full already; a note lacking what a step needs,
    or with values no step can have, is refused."""
    if report is not None:
        fields = report.model_dump(include={"document_no", "business_time", "codes"})
        step = Step.model_construct(
            bill_type=report.bill_type.value, org_uscc=report.org_uscc, **fields
        )
        return step, report.org_uscc
    note = opened.payload["shipping_note"]
    try:
        step = Step.model_validate(
            {
                "bill_type": SHIPPING_NOTE,
                "org_uscc": opened.header["data_owner"],
                "document_no": note["document_no"],
                "business_time": note["business_time"],
                "codes": note["codes"],
            }
        )
        return step, str(note["consignee_uscc"])
    except (KeyError, TypeError, ValidationError) as exc:
        raise DomainError(
            "malformed_note",
            f"a shipping note names its consignee, number, time and codes: {exc}",
            field="payload.shipping_note",
        ) from exc
