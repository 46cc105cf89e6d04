"""The trace node's state is a function of its log: ``check_state`` replays the logged events
and names the first code whose row differs, on copies tampered with raw SQL as an operator
with file access would (issue 12, item 1)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.roles.trace.test_downstream import PLATFORM, PLATFORM_SIGNER, forwarded, report
from tests.roles.trace.trace_world import World, write_fields
from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.roles.trace.service.downstream import DownstreamReceiver
from vaxtrace.roles.trace.service.replay import StateCheck, check_state
from vaxtrace.store.append_only import drop_append_only
from vaxtrace.store.ledger import verify_log
from vaxtrace.store.trace.documents import TRACE_LEDGER


def _journey(world: World) -> dict[str, str]:
    """A case shipped to the CDC, one of its boxes supplied to the site, a dose of it used;
    another box unpacked from its case and packed back, a label replaced, a dose locked."""
    case, spare = world.nmpa_cases[0], world.nmpa_cases[1]
    box, other_box = world.children(case)[:2]
    dose, packed = world.children(box)[:2]
    world.ok("/unpacks", write_fields("up", parent=case, children=[other_box]))
    world.ok("/packs", write_fields("pk", parent=case, children=[other_box]))
    world.ok("/shipping-notes", world.ship_body([case], 500))
    cdc, pov = world.cdc.uscc, world.pov.uscc
    steps = [
        report("107", cdc, [case], counterparty_uscc=world.mah.uscc, shipping_note_no="FH1",
               verification="verified", expected_quantity=500, actual_quantity=500),
        report("209", cdc, [box], 2, counterparty_uscc=pov),
        report("322", pov, [dose], 3),
    ]  # fmt: skip
    receiver = DownstreamReceiver(world.engine, "platform", PLATFORM_SIGNER.verifier())
    answers = receiver.receive_batch(PLATFORM, [forwarded(e) for e in steps])
    assert all(a["accepted"] for a in answers)
    spare_box, locked_box = world.children(spare)[:2]
    spare_dose, torn = world.children(spare_box)[:2]
    new_label = issue_nmpa20(torn[:7], 999_999_999)
    world.ok("/replacements", write_fields("rp", old_code=torn, new_code=new_label, reason="torn"))
    lock = write_fields("lk", codes=[locked_box], kind="pending", reason="temperature excursion")
    world.ok("/locks", lock)
    return {"case": case, "box": box, "dose": dose, "packed_dose": packed, "other_case": spare,
            "other_box": spare_box, "other_dose": spare_dose, "new_label": new_label}  # fmt: skip


def _tamper(engine: Engine, *statements: str, **params: Any) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def _without_triggers(engine: Engine, table: str) -> None:
    """An operator who drops the append-only triggers first."""
    with engine.begin() as conn:
        drop_append_only(conn, [table])


def _log_still_verifies(engine: Engine) -> None:
    """What `vaxtrace ledger verify` checked before: the tampering leaves the log intact."""
    with engine.connect() as conn:
        assert verify_log(TRACE_LEDGER, conn).ok


def _event_of(engine: Engine, bill_type: str) -> int:
    with engine.connect() as conn:
        query = text("SELECT max(id) FROM trace_event WHERE bill_type = :b")
        return int(conn.execute(query, {"b": bill_type}).scalar_one())


def test_a_clean_log_and_its_tables_agree(world: World) -> None:
    _journey(world)
    assert check_state(world.engine) is None


def test_a_used_dose_set_back_to_normal_at_the_mah_is_named(world: World) -> None:
    codes = _journey(world)
    _tamper(
        world.engine,
        "UPDATE trace_code SET status = 'normal', holder_uscc = :mah WHERE code = :dose",
        mah=world.mah.uscc,
        dose=codes["dose"],
    )
    _log_still_verifies(world.engine)
    found = check_state(world.engine)
    assert found == StateCheck(
        f"code {codes['dose']}: status is normal in trace_code; the log makes it used "
        f"(event {_event_of(world.engine, '322')})",
        _event_of(world.engine, "322"),
        codes["dose"],
        "status",
        "normal",
        "used",
    )


def test_a_holder_changed_alone_is_named(world: World) -> None:
    codes = _journey(world)
    _tamper(
        world.engine,
        "UPDATE trace_code SET holder_uscc = :mah WHERE code = :dose",
        mah=world.mah.uscc,
        dose=codes["dose"],
    )
    found = check_state(world.engine)
    assert found is not None
    assert (found.code, found.field, found.table, found.log) == (
        codes["dose"], "holder", world.mah.uscc, world.pov.uscc,
    )  # fmt: skip
    assert found.event_id == _event_of(world.engine, "322")


def test_a_dose_moved_into_another_case_is_named(world: World) -> None:
    codes = _journey(world)
    _tamper(
        world.engine,
        "UPDATE trace_code SET parent_id = (SELECT id FROM trace_code WHERE code = :box) "
        "WHERE code = :dose",
        box=codes["other_box"],
        dose=codes["packed_dose"],
    )
    _log_still_verifies(world.engine)
    found = check_state(world.engine)
    assert found == StateCheck(
        f"code {codes['packed_dose']}: parent is {codes['other_box']} in trace_code; "
        f"the log makes it {codes['box']} (event {_event_of(world.engine, '209')})",
        _event_of(world.engine, "209"),  # the dose's last step: supplied in its box
        codes["packed_dose"],
        "parent",
        codes["other_box"],
        codes["box"],
    )


def test_a_counterfeit_inserted_under_commission_event_1_is_named(world: World) -> None:
    codes = _journey(world)
    fake = codes["dose"][:-3] + "999"
    _tamper(
        world.engine,
        "INSERT INTO trace_code (id, code, level, product_id, batch_id, parent_id, parent_since, "
        "status, holder_uscc, commission_event_id) SELECT (SELECT max(id) + 1 FROM trace_code), "
        ":fake, level, product_id, batch_id, NULL, NULL, 'lot_released', holder_uscc, 1 "
        "FROM trace_code WHERE id = 3",
        fake=fake,
    )
    _log_still_verifies(world.engine)
    found = check_state(world.engine)
    assert found is not None
    assert (found.code, found.field, found.event_id) == (fake, "existence", 1)
    assert found.message.startswith(f"code {fake} is in trace_code (lot_released at ")
    assert found.message.endswith("no event of the log issued it: commission event 1, "
                                  "which its row names, did not")  # fmt: skip


def test_a_code_deleted_from_the_table_is_named(world: World) -> None:
    codes = _journey(world)
    _tamper(world.engine, "DELETE FROM trace_code WHERE code = :dose", dose=codes["other_dose"])
    found = check_state(world.engine)
    assert found is not None
    assert (found.code, found.field, found.table, found.log) == (
        codes["other_dose"], "existence", None, "exists",
    )  # fmt: skip


def test_a_code_slipped_into_what_a_commission_issued_breaks_its_root(world: World) -> None:
    """The codes kept beside a commission are what its leaf's root commits to."""
    _journey(world)
    _without_triggers(world.engine, "commissioned_code")
    _tamper(world.engine, "UPDATE commissioned_code SET parent_id = NULL WHERE code_id = 3")
    found = check_state(world.engine)
    assert found is not None and found.code is None and found.event_id is not None
    assert "no longer hash to the root its leaf carries" in found.message


@pytest.mark.parametrize("column", ["codes", "root"])
def test_a_rewritten_commission_digest_breaks_the_leaf(world: World, column: str) -> None:
    _journey(world)
    _without_triggers(world.engine, "commission_digest")
    changes = {"codes": "codes = codes + 1", "root": "root = :zero"}
    _tamper(world.engine, f"UPDATE commission_digest SET {changes[column]}", zero=b"\x00" * 32)
    with world.engine.connect() as conn:
        verdict = verify_log(TRACE_LEDGER, conn)
    assert not verdict.ok and "was altered" in verdict.problem
