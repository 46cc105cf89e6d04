"""``TraceService``: the trace role's use cases over its own database, in one object.

Each method delegates to the module of its domain concept, where the rules and their
docstrings live.
"""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.basic_data import CodingRule, Organisation, VaccineProduct
from vaxtrace.core.datasets.corrections import Correction
from vaxtrace.core.datasets.locks import Lock, Unlock
from vaxtrace.core.datasets.movements import (
    Destruction,
    SalesReturn,
    ShippingNote,
    ShippingNoteUpload,
)
from vaxtrace.core.datasets.production import (
    Batch,
    Commission,
    LotRelease,
    Pack,
    Replace,
    SelfInspection,
    Unpack,
    Warehousing,
)
from vaxtrace.core.datasets.recalls import Recall, RecallClosure, RecallReceipt
from vaxtrace.core.datasets.temperature import TemperatureRecord
from vaxtrace.core.signals import CertificateFile
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.exchange.registry_feed import Fetch
from vaxtrace.log.service import LedgerService
from vaxtrace.roles.trace.service import (
    commissioning,
    corrections,
    locks,
    movements,
    packaging,
    quality,
    queries,
    recalls,
    registry,
    replay,
    sync,
    temperature,
)
from vaxtrace.store.engine import Engine
from vaxtrace.store.write_frame import WriteResult


class TraceService:
    """The trace role's use cases over its own database."""

    def __init__(
        self,
        engine: Engine,
        ledger: LedgerService | None = None,
        outbox: Outbox | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock or Clock()
        """What business times are judged against: now, with the clock skew tolerated."""
        self.outbox = outbox
        """Where shipping notes leave for the platform; None for a node not yet connected."""
        self.ledger = ledger
        """Signs checkpoints when due; every write appends its leaves whether or not."""
        self.tokens = registry.staff_tokens(engine)
        """The staff's API tokens (the one token service, over this role's table)."""
        if ledger is not None:
            ledger.readers = self  # who may read an event's document is the trace role's rule

    def _signed(self, result: WriteResult) -> WriteResult:
        if self.ledger is not None and not result.replayed:
            self.ledger.sign_if_due(result.log_size)
        return result

    # --- identities and basic data: registry ----------------------------------------------

    def register_organisation(self, org: Organisation) -> dict[str, Any]:
        return registry.register_organisation(self.engine, org)

    def issue_token(self, org_uscc: str, label: str = "api") -> str:
        return self.tokens.issue(org_uscc, label)

    def authenticate(self, token: str) -> str | None:
        return self.tokens.holder(token)

    def register_product(self, actor: str, item: VaccineProduct) -> dict[str, Any]:
        return registry.register_product(self.engine, actor, item)

    def register_coding_rule(self, actor: str, rule: CodingRule) -> dict[str, Any]:
        return registry.register_coding_rule(self.engine, actor, rule)

    def register_batch(self, actor: str, item: Batch) -> dict[str, Any]:
        return registry.register_batch(self.engine, actor, item)

    # --- codes and packaging: commissioning, packaging ------------------------------------

    def commission(self, actor: str, request: Commission) -> WriteResult:
        return self._signed(commissioning.commission(self.engine, actor, request, self.clock))

    def pack(self, actor: str, request: Pack) -> WriteResult:
        return self._signed(packaging.pack(self.engine, actor, request, self.clock))

    def unpack(self, actor: str, request: Unpack) -> WriteResult:
        return self._signed(packaging.unpack(self.engine, actor, request, self.clock))

    def replace(self, actor: str, request: Replace) -> WriteResult:
        return self._signed(packaging.replace(self.engine, actor, request, self.clock))

    # --- batch quality steps: quality -----------------------------------------------------

    def self_inspect(self, actor: str, request: SelfInspection) -> WriteResult:
        return self._signed(
            quality.self_inspect(self.engine, actor, request, self.clock, self.outbox)
        )

    def release_lot(
        self, actor: str, request: LotRelease, certificate: bytes, media_type: str
    ) -> WriteResult:
        return self._signed(
            quality.release_lot(
                self.engine, actor, request, certificate, media_type, self.clock, self.outbox
            )
        )

    # --- movements of code sets: movements, recalls ---------------------------------------

    def warehouse(self, actor: str, request: Warehousing) -> WriteResult:
        return self._signed(
            movements.warehouse(self.engine, actor, request, self.clock, self.outbox)
        )

    def ship(self, actor: str, request: ShippingNote) -> WriteResult:
        return self._signed(movements.ship(self.engine, actor, request, self.clock, self.outbox))

    def ship_all(self, actor: str, upload: ShippingNoteUpload) -> list[WriteResult]:
        results = movements.ship_all(self.engine, actor, upload, self.clock, self.outbox)
        written = [r for r in results if not r.replayed]
        if written:  # every note written carries the log's size after the upload
            self._signed(written[-1])
        return results

    def sales_return(self, actor: str, request: SalesReturn) -> WriteResult:
        return self._signed(movements.sales_return(self.engine, actor, request, self.clock))

    def start_recall(self, actor: str, request: Recall) -> WriteResult:
        return self._signed(
            recalls.start_recall(self.engine, actor, request, self.clock, self.outbox)
        )

    def close_recall(self, actor: str, request: RecallClosure) -> WriteResult:
        return self._signed(
            recalls.close_recall(self.engine, actor, request, self.clock, self.outbox)
        )

    def recall_receipt(self, actor: str, request: RecallReceipt) -> WriteResult:
        return self._signed(recalls.recall_receipt(self.engine, actor, request, self.clock))

    def destroy(self, actor: str, request: Destruction) -> WriteResult:
        return self._signed(movements.destroy(self.engine, actor, request, self.clock))

    # --- records, locks and corrections: temperature, locks, corrections ------------------

    def record_temperature(self, actor: str, request: TemperatureRecord) -> WriteResult:
        return self._signed(temperature.record_temperature(self.engine, actor, request, self.clock))

    def lock(self, actor: str, request: Lock) -> WriteResult:
        return self._signed(locks.lock(self.engine, actor, request, self.clock, self.outbox))

    def unlock(self, actor: str, request: Unlock) -> WriteResult:
        return self._signed(locks.unlock(self.engine, actor, request, self.clock, self.outbox))

    def correct(self, actor: str, request: Correction) -> WriteResult:
        return self._signed(corrections.correct(self.engine, actor, request, self.clock))

    # --- queries ----------------------------------------------------------------------------

    def sync_registry(self, source: str, fetch: Fetch) -> dict[str, Any]:
        """Apply the platform's basic-data changes since the last sync."""
        return sync.follow_registry(self.engine, source, fetch)

    def trace(self, text: str, *, proofs: bool = False) -> dict[str, Any]:
        """A code's record; with ``proofs``, each event carries its inclusion proof against a
        signed checkpoint, so a reader can check the history without trusting this node."""
        answer = queries.trace(self.engine, text)
        if proofs and self.ledger is not None:
            checkpoints: dict[str, str] = {}
            for event in answer["history"]:
                bundle = self.ledger.inclusion(event["event_id"])
                checkpoints[str(bundle["tree_size"])] = bundle["checkpoint"]
                event["ledger"] = {
                    k: bundle[k] for k in ("leaf_index", "tree_size", "document", "proof")
                }
            answer["ledger"] = {"log_key": self.ledger.verifier.text(), "checkpoints": checkpoints}
        return answer

    def code_record(self, reader: str, text: str, *, proofs: bool = False) -> dict[str, Any]:
        """A code's full record (see :meth:`trace`) for the MAH whose code it is; for anyone
        else's staff the public view (:meth:`consumer_view`), as the consumer sees it."""
        if self.mah_of(text) != reader:
            return self.consumer_view(text)
        return self.trace(text, proofs=proofs)

    def mah_of(self, text: str) -> str:
        """The MAH whose code it is (a code of any level, as typed, scanned or a link)."""
        return queries.mah_of(self.engine, text)

    def may_read_event(self, reader: str, document: bytes) -> bool:
        """Whether ``reader`` may see an event's logged document (the log asks, see
        :meth:`LedgerService.proof_for`)."""
        return queries.may_read_event(self.engine, reader, document)

    def batch_summary(self, actor: str, batch_no: str) -> dict[str, Any]:
        return queries.batch_summary(self.engine, actor, batch_no)

    def lot_release_certificate(self, mah_uscc: str, batch_no: str) -> CertificateFile:
        """批签发证明: the certificate file filed with a batch's lot release."""
        return quality.certificate(self.engine, mah_uscc, batch_no)

    def consumer_view(self, text: str) -> dict[str, Any]:
        return queries.consumer_view(self.engine, text)

    def check_state(self) -> replay.StateCheck | None:
        """The first code whose row differs from what the log makes of it (None: all agree)."""
        return replay.check_state(self.engine)
