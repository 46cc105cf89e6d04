"""The province takes the shipping notes the platform forwards (on SQLite and PostgreSQL): each
note becomes an expected receipt, its codes read once into the form a scan looks up."""

from __future__ import annotations

from typing import Any

import pytest
from province_world import BOXES, CASE, CONTENTS, DOSES, Province, dose
from sqlalchemy import select

from vaxtrace.store.immunization.schema import expected_code, expected_receipt

pytestmark = pytest.mark.filterwarnings("error")

GTIN = "06901234567892"


def kept(province: Province, note_no: str) -> list[tuple[Any, ...]]:
    """The expected codes of a note, in the note's order."""
    query = (
        select(
            expected_code.c.code,
            expected_code.c.parent_code,
            expected_code.c.doses,
            expected_code.c.position,
        )
        .join(expected_receipt, expected_receipt.c.event_id == expected_code.c.note_event_id)
        .where(expected_receipt.c.note_no == note_no)
        .order_by(expected_code.c.position)
    )
    with province.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def test_a_note_is_read_once_into_its_expected_codes(province: Province) -> None:
    province.announce("FH1", [CASE, f"(01){GTIN}(21)SER001", "not-a-code"], contents=CONTENTS)
    assert kept(province, "FH1") == [
        (CASE, None, 6, 0),
        (f"01{GTIN}21SER001", None, 1, 1),  # canonical, whatever form the note used
        ("not-a-code", None, 1, 2),  # kept as written: it can only be missing
        (BOXES[0], CASE, 3, 3),
        (BOXES[1], CASE, 3, 4),
        *((d, BOXES[0], 1, 5 + n) for n, d in enumerate(DOSES[BOXES[0]])),
        *((d, BOXES[1], 1, 8 + n) for n, d in enumerate(DOSES[BOXES[1]])),
    ]


def test_each_note_keeps_its_own_codes(province: Province) -> None:
    province.announce("FH1", [dose(1), dose(2)])
    province.announce("FH2", [dose(2), dose(3)], contents={dose(3): [dose(1)]})
    assert kept(province, "FH1") == [(dose(1), None, 1, 0), (dose(2), None, 1, 1)]
    assert kept(province, "FH2") == [
        (dose(2), None, 1, 0),
        (dose(3), None, 1, 1),
        (dose(1), dose(3), 1, 2),
    ]
    assert province.counts()["expected_code"] == 5
