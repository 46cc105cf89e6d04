"""Printable PDFs of children: a child's vaccination certificate (预防接种证 / 接种记录), and
for a school-entry check the certificates of its complete children (入学入托预防接种证查验证明)
and the catch-up notices of the others (补种通知单). Rendered by :mod:`vaxtrace.pdf` with a
CJK font found at run time (``font``: a file, else fontconfig's; ``no_pdf_font`` when none).
(Lot-release certificates are another thing: ``service/certificates.py``.)"""

from __future__ import annotations

from datetime import date
from typing import Any

from vaxtrace.core.schedule import Schedule
from vaxtrace.core.school_entry import RowStatus
from vaxtrace.pdf import (
    catch_up_notices,
    cjk_font,
    school_entry_certificates,
    vaccination_certificate,
)
from vaxtrace.roles.immunization.service import recipients, school_entry
from vaxtrace.store.engine import Engine, read_tx
from vaxtrace.store.immunization.school_entry import names_of


def _names(engine: Engine, usccs: set[str]) -> dict[str, str]:
    with read_tx(engine) as conn:
        return names_of(conn, usccs)


def child_certificate(
    engine: Engine,
    actor: str,
    child_id: str,
    today: date,
    font: str | None = None,
    schedule: Schedule | None = None,
) -> bytes:
    """预防接种证: the child's every dose and its evaluation, for the managing site's staff."""
    path = cjk_font(font)
    record = recipients.record(engine, actor, child_id, today, schedule)
    usccs = {record["child"]["site_uscc"]}
    for d in record["doses"]:
        usccs.update((d["site_uscc"], d["mah_uscc"]))
    return vaccination_certificate(record, path, _names(engine, usccs))


def _check_pdf(
    engine: Engine, actor: str, check_id: str, status: RowStatus, font: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]], str, Any]:
    path = cjk_font(font)
    check, rows = school_entry.check_rows(engine, actor, check_id, [status.value])
    issuer = _names(engine, {check["org_uscc"]}).get(check["org_uscc"], check["org_uscc"])
    return check, rows, issuer, path


def check_certificates(engine: Engine, actor: str, check_id: str, font: str | None = None) -> bytes:
    """入学入托预防接种证查验证明 of every complete child of a check, one a page."""
    check, rows, issuer, path = _check_pdf(engine, actor, check_id, RowStatus.COMPLETE, font)
    return school_entry_certificates(check, rows, path, issuer)


def check_catch_up(engine: Engine, actor: str, check_id: str, font: str | None = None) -> bytes:
    """补种通知单 of every child of a check with doses missing, one a page."""
    check, rows, issuer, path = _check_pdf(engine, actor, check_id, RowStatus.INCOMPLETE, font)
    return catch_up_notices(check, rows, path, issuer)
