"""Readers entitled (issue 12, rule 1): a MAH reads the full record of its own codes (holder,
consignees, the chain down to the vaccination site); of another MAH's codes, the public view
only, as a consumer sees it: 200 with the public fields, not an error. Without a token, 401."""

from __future__ import annotations

from typing import Any

import pytest

from tests.roles.trace.test_downstream import PLATFORM, PLATFORM_SIGNER, forwarded, report
from tests.roles.trace.trace_world import OtherMah, World, assert_problem, expect
from vaxtrace.roles.trace.service.downstream import DownstreamReceiver

PRIVATE = ("holder_uscc", "history", "containers", "children", "ledger")
"""What the full record shows and the public view never does."""


def _used_dose(world: World) -> str:
    """A dose of the world's MAH shipped to the CDC, supplied to the site and used there."""
    case = world.nmpa_cases[0]
    box = world.children(case)[0]
    dose = world.children(box)[0]
    world.ok("/shipping-notes", world.ship_body([case], 500))
    cdc, pov = world.cdc.uscc, world.pov.uscc
    steps = [
        report("107", cdc, [case], counterparty_uscc=world.mah.uscc, shipping_note_no="FH1")
        | {"verification": "verified", "expected_quantity": 500, "actual_quantity": 500},
        report("209", cdc, [box], 2, counterparty_uscc=pov),
        report("322", pov, [dose], 3),
    ]
    receiver = DownstreamReceiver(world.engine, "platform", PLATFORM_SIGNER.verifier())
    receiver.receive_batch(PLATFORM, [forwarded(e) for e in steps])
    return dose


def _public(world: World, code: str) -> dict[str, Any]:
    return expect(world.client.get("/trace/v1/public/codes", params={"code": code}), 200)


def test_a_mah_reads_the_full_record_of_its_own_code(world: World) -> None:
    dose = _used_dose(world)
    full = world.trace(dose)
    assert full["holder_uscc"] == world.pov.uscc and full["status"] == "used"
    assert [e["bill_type"] for e in full["history"]][-3:] == ["107", "209", "322"]


@pytest.mark.parametrize("proofs", ["false", "true"])
def test_another_mahs_token_reads_the_public_view_only(
    world: World, other_mah: OtherMah, proofs: str
) -> None:
    dose = _used_dose(world)
    answer = world.get("/codes", other_mah.headers, code=dose, proofs=proofs)
    body = expect(answer, 200)
    assert body == _public(world, dose)
    assert not set(PRIVATE) & set(body)
    assert world.pov.uscc not in answer.text and world.cdc.uscc not in answer.text


def test_each_mah_reads_its_own_codes_in_full_and_the_others_in_public(
    world: World, other_mah: OtherMah
) -> None:
    theirs = other_mah.cases[0]
    assert expect(world.get("/codes", other_mah.headers, code=theirs), 200)["history"]
    assert expect(world.get("/codes", code=theirs), 200) == _public(world, theirs)


def test_a_consignees_token_reads_the_public_view(world: World) -> None:
    dose = _used_dose(world)
    assert expect(world.get("/codes", world.cdc_headers, code=dose), 200) == _public(world, dose)


def test_no_token_no_record(world: World) -> None:
    answer = world.get("/codes", {}, code=world.nmpa_cases[0])
    assert_problem(answer, 401, "unauthenticated", None)
