"""The province's stock is a function of its journal: every kind of write that changes it
(receipts of a MAH's note and of a CDC's distribution, distribution, vaccination and its undo,
damage, destruction, scrap, a return to the MAH and the same codes received again) and every
signal (a code locked, unlocked; a batch locked, recalled) made through the real service,
then the stock rebuilt from the journal alone matches the table; a row altered afterwards is
named with the entry that should have produced it. On both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from province_world import (
    BATCH_NO,
    BOXES,
    CASE,
    CONTENTS,
    MAH,
    POV,
    PROVINCE_CDC,
    RECEIVED_AT,
    Province,
    batch_entry,
    dose,
    fields,
)
from sqlalchemy import Connection, delete, insert, select, update

from vaxtrace.core.datasets.movements import Destruction, ReturnReason
from vaxtrace.core.immunization import (
    DamageReport,
    Distribution,
    GoodsReturn,
    Scrap,
    Vaccination,
    VaccinationUndo,
)
from vaxtrace.core.mirror import Difference, first_difference
from vaxtrace.core.province_replay import StockDifference
from vaxtrace.store.engine import read_tx
from vaxtrace.store.immunization.schema import batch, journal, stock
from vaxtrace.store.mirrors import IMMUNIZATION, kept_rows, stock_replayed, table_rows

GS1_DOSE = "0106901234567892" + "21SER001"
LATER = RECEIVED_AT + timedelta(hours=1)


@pytest.fixture
def lived(province: Province) -> Province:
    """A province that did everything that changes stock once."""
    p, svc = province, province.svc
    p.announce("FH1", [CASE, GS1_DOSE], contents=CONTENTS)
    p.receive("FH1", [CASE, GS1_DOSE])
    supplied = Distribution(**fields("dist"), codes=(BOXES[0],), receiver_uscc=POV)
    p.supply(PROVINCE_CDC, supplied)  # 209, then the site's 107 of what is in transit
    svc.vaccinate(POV, Vaccination(**fields("vac"), code=dose(1), vaccinator="李护士"))
    wrong = Vaccination(**fields("vac"), code=dose(2), vaccinator="李护士")
    svc.vaccinate(POV, wrong)
    svc.undo_vaccination(
        POV,
        VaccinationUndo(
            **fields("undo", when=LATER),
            vaccination_document_no=wrong.document_no,
            reason="scanned the wrong dose",
        ),
    )
    svc.report_damage(
        POV, DamageReport(**fields("dmg", when=LATER), codes=(dose(3),), reason="broken")
    )
    svc.destroy(
        POV,
        Destruction(
            **fields("des", when=LATER),
            codes=(dose(3),),
            reason="broken vial",
            executor="王五",
            supervisor="赵六",
        ),
    )
    svc.scrap(PROVINCE_CDC, Scrap(**fields("scr"), codes=(dose(4),), reason="label unreadable"))
    svc.return_goods(
        PROVINCE_CDC,
        GoodsReturn(
            **fields("ret"),
            codes=(GS1_DOSE,),
            counterparty_uscc=MAH,
            reason_code=ReturnReason.QUALITY,
        ),
    )
    p.announce("FH2", [GS1_DOSE], batches=[batch_entry([GS1_DOSE], batch_no="B2024002")])
    p.receive("FH2", [GS1_DOSE])  # the returned dose comes back: a new stay
    lock = {"kind": "lock", "batch_nos": [BATCH_NO], "lock_kind": "pending", "reason": "复核"}
    p.signal(**lock, codes=[dose(5)])
    p.signal(**lock, codes=[dose(6)])
    p.signal(kind="unlock", batch_nos=[BATCH_NO], codes=[dose(5)])
    p.signal(kind="lock", batch_nos=["B2024009"], lock_kind="abnormal", reason="sent ahead")
    p.signal(kind="recall", batch_nos=["B2024002"], recall_no="ZH-1", reason="召回")
    return p


def _found(p: Province) -> StockDifference | None:
    with read_tx(p.engine) as conn:
        return stock_replayed(conn)


def _batch_difference(p: Province) -> Difference | None:
    """The ``batch`` table against the journal (signals and the notes' batch data)."""
    [mirror] = [m for m in IMMUNIZATION if m.table is batch]
    with read_tx(p.engine) as conn:
        rows = table_rows(conn, mirror)
        kept = kept_rows(conn, journal, mirror)
    return first_difference(rows, kept, mirror.key, mirror.fields)


def _entry(conn: Connection, kind: str, nth: int = -1) -> int:
    return int(journal.entries(conn, kind)[nth]["id"])


def test_the_stock_rebuilt_from_the_journal_matches_the_table(lived: Province) -> None:
    assert lived.stock_of(dose(1))["state"] == "used"  # type: ignore[index]
    assert lived.stock_of(dose(6))["mah_status"] == "pending"  # type: ignore[index]
    assert lived.stock_of(GS1_DOSE)["batch_no"] == "B2024002"  # type: ignore[index]
    assert _found(lived) is None
    assert _batch_difference(lived) is None


Tampering = Callable[[Connection], Any]


def _set(code: str, **values: Any) -> Tampering:
    return lambda conn: conn.execute(update(stock).where(stock.c.code == code).values(**values))


TAMPERINGS: dict[str, tuple[Tampering, str, str, Callable[[Connection], int] | None]] = {
    "a used dose back in stock": (
        _set(dose(1), state="in_stock"),
        dose(1),
        "state is in_stock in stock; the journal makes it used",
        lambda conn: _entry(conn, "vaccination", 0),
    ),
    "a locked dose unlocked": (
        _set(dose(6), mah_status=None),
        dose(6),
        "mah_status is none in stock; the journal makes it pending",
        lambda conn: _entry(conn, "safety_signal", 1),
    ),
    "a holder changed": (
        _set(dose(5), holder_uscc=POV),
        dose(5),
        f"holder_uscc is {POV} in stock; the journal makes it {PROVINCE_CDC}",
        None,
    ),
    "a dose taken out of its box": (
        _set(dose(6), parent_code=None),
        dose(6),
        f"parent_code is none in stock; the journal makes it {BOXES[1]}",
        None,
    ),
    "a batch changed": (
        _set(dose(5), batch_no="B2024002"),
        dose(5),
        f"batch_no is B2024002 in stock; the journal makes it {BATCH_NO}",
        None,
    ),
    "a step's time moved": (
        _set(dose(5), stepped_at=RECEIVED_AT - timedelta(days=30)),
        dose(5),
        "stepped_at is",
        None,
    ),
    "a row deleted": (
        lambda conn: conn.execute(delete(stock).where(stock.c.code == dose(6))),
        dose(6),
        "is missing from stock; entry",
        None,
    ),
}


@pytest.mark.parametrize("name", TAMPERINGS)
def test_a_tampered_stock_row_is_named(lived: Province, name: str) -> None:
    tamper, code, said, entry_of = TAMPERINGS[name]
    with lived.engine.begin() as conn:
        tamper(conn)
    found = _found(lived)
    assert found is not None and found.code == code, found
    assert said in found.message, found.message
    if entry_of is not None:
        with read_tx(lived.engine) as conn:
            assert found.entry_id == entry_of(conn)
            assert f"(entry {found.entry_id})" in found.message


def test_a_code_inserted_outside_the_log_is_named(lived: Province) -> None:
    forged = dose(99)
    with lived.engine.begin() as conn:
        row = conn.execute(select(stock).where(stock.c.code == dose(5))).mappings().one()
        conn.execute(insert(stock).values({**row, "code": forged, "parent_code": None}))
    found = _found(lived)
    assert found is not None and (found.code, found.field) == (forged, "existence")
    assert "no entry of the journal put it there: inserted outside the log" in found.message


def test_a_batch_unlocked_in_the_table_is_named(lived: Province) -> None:
    with lived.engine.begin() as conn:
        key = (batch.c.mah_uscc == MAH) & (batch.c.batch_no == "B2024009")
        conn.execute(update(batch).where(key).values(lock_kind=None))
    difference = _batch_difference(lived)
    with read_tx(lived.engine) as conn:
        signal = _entry(conn, "safety_signal", 3)
    assert difference is not None and difference.field == "lock_kind"
    assert difference.entry_id == signal
    assert 'the table says null, the log "abnormal"' in difference.describe()
