"""Batch quality steps: the MAH's 自检 self-inspection and the 批签发 lot release."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.production import Conclusion, LotRelease, SelfInspection
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import CertificateFile
from vaxtrace.core.status import Action
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.trace.service.lookups import own_batch
from vaxtrace.roles.trace.service.reporting import report_batch_fact
from vaxtrace.roles.trace.service.writes import (
    QUALITY_STEPS,
    batches_step,
    check_batches_order,
    write,
)
from vaxtrace.store.engine import Connection, Engine, read_tx
from vaxtrace.store.trace.events import EventHeader, append_event
from vaxtrace.store.trace.quality import (
    add_lot_release,
    add_self_inspection,
    inspected,
    lot_release_file,
    released,
)
from vaxtrace.store.write_frame import WriteResult


def self_inspect(
    engine: Engine,
    actor: str,
    request: SelfInspection,
    clock: Clock,
    outbox: Outbox | None = None,
) -> WriteResult:
    """自检: record the MAH's inspection of a batch (not before its codes were issued); with
    an outbox, reported to the supervision systems through the platform."""

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        found = own_batch(conn, actor, request.batch_no)
        check_batches_order(conn, header, [found["id"]], QUALITY_STEPS)
        payload = request.model_dump(mode="json", include={"batch_no", "report_no", "conclusion"})
        event_id = append_event(conn, header, payload)
        add_self_inspection(conn, found["id"], event_id, payload)
        action = Action.SELF_INSPECT if request.conclusion is Conclusion.PASS else None
        moved = batches_step(conn, [found["id"]], event_id, action)
        _report(conn, outbox, actor, request, False, payload)
        return event_id, {"batch_no": request.batch_no, "codes_updated": moved}

    return write(
        engine,
        actor,
        "self_inspection",
        request,
        apply,
        bill_type="self_inspection",
        clock=clock,
    )


def release_lot(
    engine: Engine,
    actor: str,
    request: LotRelease,
    certificate: bytes,
    media_type: str,
    clock: Clock,
    outbox: Outbox | None = None,
) -> WriteResult:
    """批签发: record the lot release with its certificate file (not before the batch's
    self-inspection); with an outbox, reported to the supervision systems through the
    platform."""
    if not certificate:
        raise DomainError(
            Reason.MISSING_CERTIFICATE,
            "the lot release certificate file is empty",
            field="certificate",
        )

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        found = own_batch(conn, actor, request.batch_no)
        if released(conn, found["id"]):
            raise DomainError(
                Reason.ALREADY_RELEASED,
                f"batch {request.batch_no} has a lot release",
                field="batch_no",
            )
        check_batches_order(conn, header, [found["id"]], QUALITY_STEPS)
        passed = inspected(conn, found["id"], passed=True)
        if request.conclusion is Conclusion.PASS and not passed:
            raise DomainError(
                Reason.NOT_SELF_INSPECTED,
                f"batch {request.batch_no} has no passing self-inspection",
                field="batch_no",
            )
        if request.quantity > found["quantity"]:
            raise DomainError(
                Reason.QUANTITY_MISMATCH,
                f"released {request.quantity} > batch {found['quantity']}",
                field="quantity",
            )
        filed = CertificateFile(certificate, media_type)
        sha = filed.sha256
        payload = request.model_dump(
            mode="json",
            include={"batch_no", "certificate_no", "conclusion", "authority", "quantity"},
        ) | {"certificate_sha256": sha}
        event_id = append_event(conn, header, payload)
        release_date = request.business_time.date()
        add_lot_release(conn, found["id"], event_id, payload, release_date, filed)
        action = Action.LOT_RELEASE if request.conclusion is Conclusion.PASS else None
        moved = batches_step(conn, [found["id"]], event_id, action)
        _report(conn, outbox, actor, request, True, payload)
        return event_id, {
            "batch_no": request.batch_no,
            "certificate_sha256": sha,
            "codes_updated": moved,
        }

    return write(
        engine,
        actor,
        "lot_release",
        request,
        apply,
        bill_type="lot_release",
        clock=clock,
        extra=certificate,
    )


def _report(
    conn: Connection,
    outbox: Outbox | None,
    actor: str,
    request: SelfInspection | LotRelease,
    lot_release: bool,
    payload: dict[str, Any],
) -> None:
    report_batch_fact(
        conn,
        outbox,
        actor,
        lot_release=lot_release,
        document_no=request.document_no,
        business_time=request.business_time,
        batch_no=request.batch_no,
        detail={k: v for k, v in payload.items() if k != "batch_no"},
    )


def certificate(engine: Engine, mah_uscc: str, batch_no: str) -> CertificateFile:
    """批签发证明 of a batch as filed with its lot release; 404 when none is."""
    with read_tx(engine) as conn:
        found = lot_release_file(conn, mah_uscc, batch_no)
    if found is None:
        raise DomainError(
            Reason.NO_LOT_RELEASE, f"no lot release of {mah_uscc}'s batch {batch_no} is on file"
        )
    return CertificateFile(bytes(found["certificate_file"]), found["certificate_media_type"])
