"""``ImmunizationService``: the use cases of the provincial immunization system gathered into
the one object the API and CLI use."""

from __future__ import annotations

from datetime import date, timedelta
from typing import IO, Any

from vaxtrace.core.coldchain.decisions import ExcursionDecision, ExcursionState
from vaxtrace.core.coldchain.readings import TemperatureHeader, TemperatureUpload
from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.datasets.movements import Destruction
from vaxtrace.core.immunization import (
    DamageReport,
    Distribution,
    GoodsReturn,
    ReceivingNote,
    Scrap,
    Unit,
    Vaccination,
    VaccinationUndo,
)
from vaxtrace.core.receipt import ScanDecision
from vaxtrace.core.recipients import ChildExport, ChildMerge, ChildMove, ChildRegistration
from vaxtrace.core.recipients.fhir import record_bundle
from vaxtrace.core.schedule import Schedule, national_schedule
from vaxtrace.core.school_entry import MAX_ROWS
from vaxtrace.core.signals import CertificateFile
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import FromPlatform, Outbox
from vaxtrace.exchange.envelope import Opened, Verifier
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.registry_feed import Fetch
from vaxtrace.log.service import LedgerService, names_reader
from vaxtrace.roles.immunization.service import (
    alerts,
    certificates,
    certificates_pdf,
    coldchain,
    disposal,
    dose_checks,
    exchange,
    identities,
    inventory,
    movements,
    public,
    receipts,
    receiving,
    recipients,
    records,
    school_entry,
    signals,
    sync,
)
from vaxtrace.roles.immunization.service.writes import SYSTEM_CLOCK
from vaxtrace.store.engine import Connection, Engine, read_tx
from vaxtrace.store.held_reads import HeldReads
from vaxtrace.store.immunization import receipts as receipts_store
from vaxtrace.store.immunization.exchange import exchange_store
from vaxtrace.store.immunization.safety import dose_check_audit
from vaxtrace.store.memo import Remembered
from vaxtrace.store.write_frame import WriteResult


def _take(conn: Connection, opened: Opened, document: exchange.Document) -> dict[str, Any]:
    """One envelope the platform forwarded: a MAH's safety signal applied to the stock, a
    shipping note expected (its batch data kept for the gate), a refusal kept as an alert."""
    if isinstance(opened.payload, dict) and "safety_signal" in opened.payload:
        return signals.take_signal(conn, opened)
    note = opened.payload.get("shipping_note")
    if note is not None:
        signals.take_note_batches(conn, str(opened.header["data_owner"]), note)
    return exchange.announce(conn, opened, document)


TOKEN_SECONDS = 10.0
"""How long a staff token's unit (and the unit's kind) is remembered between requests."""


class ImmunizationService:
    """The province's node. With an ``outbox``, every write reports its step to the platform
    in the write's own transaction. :meth:`close` it when done: it writes the scans' audit
    still pending."""

    def __init__(
        self,
        engine: Engine,
        platform_id: str,
        platform_key: Verifier | None,
        *,
        outbox: Outbox | None = None,
        ledger: LedgerService | None = None,
        undo_window: timedelta = timedelta(hours=24),
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.engine = engine
        self.undo_window = undo_window
        self.clock = clock
        """What "now" is to the writes, and the clock skew their business times may have."""
        self.from_platform = FromPlatform(engine, exchange_store(), platform_id, platform_key)
        self.outbox = outbox
        self.ledger = ledger
        """Signs checkpoints over the journal; every decision is journaled whether or not."""
        if ledger is not None:
            ledger.readers = self  # a unit's staff read the entries about their unit
        self.scan_audit = receipts.ScanAudit(engine)
        """How scans are kept: each in the audit, in batches (see receipts.ScanAudit)."""
        self.tokens = identities.staff_tokens(engine)
        """The staff's API tokens (the one token service, over this role's table)."""
        self._token_holder: Remembered[str, str | None] = Remembered(
            self.tokens.holder, TOKEN_SECONDS
        )
        self._unit_of: Remembered[str, Unit | None] = Remembered(
            lambda uscc: identities.find(engine, uscc), TOKEN_SECONDS
        )
        self.check_audit = dose_check_audit(engine)
        self.public = public.PublicServices(engine, clock)
        """Sites near me, appointments, guardians' accounts (issue 13 item 7)."""
        self.held_reads = HeldReads(engine)
        """The dose-check's read, through a connection each thread keeps."""
        """How read-only dose-checks are kept: each in the gate's audit, in batches (a
        vaccination's own decision is kept in its write's transaction)."""

    def flush(self) -> None:
        """Write the audit rows still pending (scans, dose-checks)."""
        self.scan_audit.flush()
        self.check_audit.flush()

    def close(self) -> None:
        """Write what is pending (the scans' and dose-checks' audit); close held reads."""
        self.scan_audit.close()
        self.check_audit.close()
        self.held_reads.close()

    @property
    def outbox(self) -> Outbox | None:
        """Where every write reports its step to the platform; None without an exchange.
        What the platform refuses of it becomes an alert of the unit that did the step."""
        return self._outbox

    @outbox.setter
    def outbox(self, outbox: Outbox | None) -> None:
        self._outbox = outbox
        if outbox is not None:
            outbox.on_refused = alerts.refused_by_platform(self.from_platform.platform_id)

    # --- the exchange (mutual TLS) ---------------------------------------------------------

    def receive_envelope(self, caller: SystemIdentity, envelope: Any) -> dict[str, Any]:
        """Take one envelope (see :meth:`receive_batch`)."""
        return self.receive_batch(caller, [envelope])[0]

    def receive_batch(self, caller: SystemIdentity, envelopes: list[Any]) -> list[dict[str, Any]]:
        """Only the platform forwards to a province (shipping notes, the MAHs' safety signals,
        refusals of its reports); each event is taken once, a batch all or none."""
        return self.from_platform.take(caller.system_id, envelopes, exchange.read, _take)

    def expected(self, consignee_uscc: str) -> list[dict[str, Any]]:
        """Shipping notes announced to a CDC, oldest first."""
        return receipts.expected(self.engine, consignee_uscc)

    def count(self) -> int:
        """How many MAHs' shipping notes the platform announced here."""
        with read_tx(self.engine) as conn:
            return receipts_store.shipping_notes(conn)

    # --- refusal alerts (拒收告警) -------------------------------------------------------------

    def alerts(
        self, actor: str, *, state: str | None = None, before: int | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """The unit's alerts of refused reports, newest first."""
        return alerts.listing(self.engine, actor, state=state, before=before, limit=limit)

    def acknowledge_alert(
        self, actor: str, alert_id: int, note: str | None = None
    ) -> dict[str, Any]:
        return alerts.acknowledge(self.engine, actor, alert_id, note)

    def open_alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        """Every unit's open alerts, newest first, for the node's operator."""
        return alerts.open_alerts(self.engine, limit)

    # --- organisations and staff -------------------------------------------------------------

    def register_organisation(self, org: Organisation) -> dict[str, Any]:
        return identities.register_organisation(self.engine, org)

    def issue_token(self, org_uscc: str, label: str = "api") -> str:
        return self.tokens.issue(org_uscc, label)

    def authenticate(self, token: str) -> str | None:
        """The unit a staff token belongs to (remembered for a few seconds: every request
        asks)."""
        return self._token_holder(token)

    def may_read_event(self, reader: str, document: bytes) -> bool:
        return names_reader(reader, document)

    def sync_registry(self, system_id: str, source: str, fetch: Fetch) -> dict[str, Any]:
        """Apply the platform's basic-data changes since the last sync, as system
        ``system_id`` (whose units the province takes)."""
        return sync.follow_registry(self.engine, system_id, source, fetch)

    # --- receipt with scan verification ------------------------------------------------------

    def scan(
        self, actor: str, note_no: str, code: str, shipper_uscc: str | None = None
    ) -> ScanDecision:
        return self._scanned(actor, note_no, code, shipper_uscc).answer()

    async def scan_on_loop(
        self, actor: str, note_no: str, code: str, shipper_uscc: str | None = None
    ) -> ScanDecision:
        """:meth:`scan` on the event loop, no worker thread held (the hot path at the door)."""
        return await self._scanned(actor, note_no, code, shipper_uscc).answer_on_loop()

    def _scanned(
        self, actor: str, note_no: str, code: str, shipper_uscc: str | None
    ) -> receipts.Scanned:
        return receipts.scan(self.engine, self.scan_audit, actor, note_no, code, shipper_uscc)

    def receipt(self, actor: str, note_no: str, shipper_uscc: str | None = None) -> dict[str, Any]:
        return receipts.progress(self.engine, actor, note_no, shipper_uscc)

    def confirm_receipt(self, actor: str, request: ReceivingNote) -> WriteResult:
        return receiving.confirm_receipt(self.engine, self.outbox, actor, request, self.clock)

    # --- movements and stock ---------------------------------------------------------------

    def distribute(self, actor: str, request: Distribution) -> WriteResult:
        return movements.distribute(self.engine, self.outbox, actor, request, self.clock)

    def vaccinate(self, actor: str, request: Vaccination, user: str | None = None) -> WriteResult:
        """322 接种 by ``user`` (a staff token's identity; the unit itself when not given)."""
        return movements.vaccinate(
            self.engine, self.outbox, actor, request, user or actor, self.clock
        )

    def undo_vaccination(
        self, actor: str, request: VaccinationUndo, user: str | None = None
    ) -> WriteResult:
        """接种冲销 by whoever recorded the vaccination, within the undo window."""
        return movements.undo_vaccination(
            self.engine, self.outbox, actor, request, user or actor, self.undo_window, self.clock
        )

    def vaccination_records(
        self, actor: str, vaccinee_ref: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The site's vaccination records, newest first (one recipient's with vaccinee_ref)."""
        return records.vaccination_records(self.engine, actor, vaccinee_ref, limit)

    def return_goods(self, actor: str, request: GoodsReturn) -> WriteResult:
        return movements.return_goods(self.engine, self.outbox, actor, request, self.clock)

    def report_damage(self, actor: str, request: DamageReport) -> WriteResult:
        return movements.report_damage(self.engine, self.outbox, actor, request, self.clock)

    async def lot_release_certificate(
        self, mah_uscc: str, batch_no: str, fetch: certificates.FetchCertificate
    ) -> CertificateFile:
        """批签发证明 of a batch the province holds or expects, checked against its record."""
        return await certificates.lot_release_certificate(self.engine, mah_uscc, batch_no, fetch)

    def check_dose(self, actor: str, code: str) -> dict[str, Any]:
        """接种前核验: may this site give this dose now (every reason why not)? Audited."""
        return dose_checks.check_dose(
            self.held_reads, self.check_audit, self._unit_of(actor), actor, code
        )

    def stock(self, actor: str, code: str | None = None) -> dict[str, Any]:
        """The unit's stock; one code of it when ``code`` is given."""
        if code is None:
            return inventory.summary(self.engine, actor)
        return inventory.by_code(self.engine, actor, code)

    # --- cold chain ----------------------------------------------------------------------------

    def record_temperatures(self, actor: str, upload: TemperatureUpload) -> WriteResult:
        """温度记录: readings of a fridge or vehicle; an excursion holds the unit's stock."""
        return coldchain.record_temperatures(self.engine, actor, upload, outbox=self.outbox)

    def record_logger_file(
        self, actor: str, header: TemperatureHeader, content: bytes
    ) -> WriteResult:
        """温度记录 from a logger's CSV export (``time,celsius``)."""
        return coldchain.record_logger_file(self.engine, actor, header, content, outbox=self.outbox)

    def excursions(self, actor: str, state: ExcursionState | None = None) -> list[dict[str, Any]]:
        return coldchain.excursions(self.engine, actor, state)

    def excursion(self, actor: str, excursion_id: int) -> dict[str, Any]:
        return coldchain.excursion(self.engine, actor, excursion_id)

    def decide_excursion(
        self, actor: str, excursion_id: int, decision: ExcursionDecision
    ) -> WriteResult:
        """温度超标处置 by a named person: usable releases the codes, abnormal keeps them out."""
        return coldchain.decide(self.engine, actor, excursion_id, decision)

    # --- stock in doses, expiry, disposal ------------------------------------------------------

    def stock_summary(self, actor: str, on: date | None = None) -> dict[str, Any]:
        """库存汇总: the unit's doses by product, batch, expiry and status."""
        return inventory.dose_summary(self.engine, actor, on)

    def near_expiry_stock(self, actor: str, days: int, on: date | None = None) -> dict[str, Any]:
        """近效期: batches the unit holds that expire within ``days`` days."""
        return inventory.near_expiry_stock(self.engine, actor, days, on)

    def expired_stock(self, actor: str, on: date | None = None) -> dict[str, Any]:
        """过期: batches the unit holds that have expired."""
        return inventory.expired_stock(self.engine, actor, on)

    def public_stock(self, division: str, on: date | None = None) -> dict[str, Any]:
        """疫苗库存 for the public: the doses each site in a division can give today."""
        return inventory.public_stock(self.engine, division, on)

    def province_stock(self, actor: str, on: date | None = None) -> dict[str, Any]:
        """The stock of every unit in a CDC's area, unit by unit."""
        return inventory.province_stock(self.engine, actor, on)

    def expire_stock(self, on: date | None = None, source: str = "command") -> dict[str, Any]:
        """过期处理: the batches held that expired since the last run, kept once."""
        return inventory.expire(self.engine, on=on, source=source)

    def scrap(self, actor: str, request: Scrap) -> WriteResult:
        """216 报废出库 of goods the unit holds."""
        return disposal.scrap(self.engine, self.outbox, actor, request, self.clock)

    def destroy(self, actor: str, request: Destruction) -> WriteResult:
        """205 销毁出库 of goods the unit holds, with reason, executor and supervisor."""
        return disposal.destroy(self.engine, self.outbox, actor, request, self.clock)

    # --- recipients (受种者) -----------------------------------------------------------------

    def today(self) -> date:
        """The China date now, by the node's clock."""
        return recipients.china_date(self.clock.now())

    def register_child(
        self, actor: str, request: ChildRegistration, user: str | None = None
    ) -> recipients.Registered:
        """建档 of a child of the site; refused with the duplicate candidates unless the
        staff confirm it is another child; the same registration again is answered again."""
        return recipients.register(self.engine, self.clock, actor, user or actor, request)

    def child(self, actor: str, child_id: str) -> dict[str, Any]:
        """A child the site manages (its personal data)."""
        return recipients.child(self.engine, actor, child_id)

    def children(
        self, actor: str, state: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The site's children, newest registration first."""
        return recipients.children(self.engine, actor, state, limit)

    def child_record(self, actor: str, child_id: str, on: date | None = None) -> dict[str, Any]:
        """A child's record: doses with the schedule's evaluation, status and forecast."""
        return recipients.record(self.engine, actor, child_id, on or self.today(), self.schedule)

    def child_fhir(self, actor: str, child_id: str, on: date | None = None) -> dict[str, Any]:
        """The child's record as a FHIR Bundle (Patient, Immunization, ImmunizationEvaluation,
        ImmunizationRecommendation), validated."""
        schedule = self.schedule or national_schedule()
        return record_bundle(self.child_record(actor, child_id, on), schedule)

    def move_child(
        self, actor: str, child_id: str, request: ChildMove, user: str | None = None
    ) -> dict[str, Any]:
        """迁出 to another site of the province, with the guardian's consent."""
        return recipients.move(self.engine, self.clock, actor, user or actor, child_id, request)

    def export_child(
        self, actor: str, child_id: str, request: ChildExport, user: str | None = None
    ) -> dict[str, Any]:
        """迁出 to another province: the transfer document; the child is moved out here."""
        return recipients.export(self.engine, self.clock, actor, user or actor, child_id, request)

    def merge_children(
        self, actor: str, kept_id: str, request: ChildMerge, user: str | None = None
    ) -> dict[str, Any]:
        """合并 of a duplicate into the record kept, with its audit trail."""
        return recipients.merge(self.engine, self.clock, actor, user or actor, kept_id, request)

    def child_duplicates(self, actor: str | None = None) -> list[dict[str, Any]]:
        """The duplicate pass: candidate pairs (of one site's children with ``actor``)."""
        return recipients.duplicates(self.engine, actor)

    # --- school-entry checks (入学入托查验) and printable PDFs ------------------------------------

    pdf_font: str | None = None
    """The CJK font file PDFs embed; None: the one fontconfig lists (see vaxtrace.pdf)."""
    schedule: Schedule | None = None
    """The schedule school-entry checks and certificates judge by; None: the national one."""

    def check_roster(
        self,
        actor: str,
        where: school_entry.School,
        stream: IO[bytes],
        user: str | None = None,
        file_name: str | None = None,
        max_rows: int = MAX_ROWS,
    ) -> school_entry.Checked:
        """入学入托查验 of a school's roster (CSV or XLSX); the same file again answers the
        check made."""
        return school_entry.check(
            self.engine, self.clock, actor, user or actor, where, stream,
            file_name=file_name, max_rows=max_rows, schedule=self.schedule,
        )  # fmt: skip

    def recheck_roster(self, actor: str, check_id: str, user: str | None = None) -> dict[str, Any]:
        """复查: the check's rows judged again against the records as they are now."""
        return school_entry.recheck(
            self.engine, self.clock, actor, user or actor, check_id, self.schedule
        )

    def school_entry_check(self, actor: str, check_id: str) -> dict[str, Any]:
        return school_entry.read_check(self.engine, actor, check_id)

    def school_entry_summary(self, actor: str) -> dict[str, Any]:
        """Counts per school: the unit's checks; a CDC's, its area's."""
        return school_entry.summary(self.engine, actor)

    def child_school_entry(
        self, actor: str, child_id: str, level: str = "primary", on: date | None = None
    ) -> dict[str, Any]:
        """The school-entry check of one child the site manages."""
        record = recipients.record(self.engine, actor, child_id, on or self.today(), self.schedule)
        return school_entry.child_check(self.engine, actor, record, level, self.schedule)

    def child_certificate_pdf(self, actor: str, child_id: str, on: date | None = None) -> bytes:
        """预防接种证 of a child the site manages, as PDF."""
        return certificates_pdf.child_certificate(
            self.engine, actor, child_id, on or self.today(), self.pdf_font, self.schedule
        )

    def school_entry_pdf(self, actor: str, check_id: str, catch_up: bool = False) -> bytes:
        """A check's certificates of its complete children, or (``catch_up``) the catch-up
        notices of the others, as PDF."""
        if catch_up:
            return certificates_pdf.check_catch_up(self.engine, actor, check_id, self.pdf_font)
        return certificates_pdf.check_certificates(self.engine, actor, check_id, self.pdf_font)
