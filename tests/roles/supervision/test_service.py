"""The supervision node takes the steps the platform copies to it, once each and all or none,
only from the platform, and shows each regulator the steps done inside its division."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select

from tests.refusals import refused_with
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.errors import DomainError
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import read_tx
from vaxtrace.store.supervision.schema import supervised_step

PLATFORM_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PLATFORM = SystemIdentity("platform", make_uscc("12100000MB0000001"), 1)
MAH = make_uscc("91320100MA1X00001")
PROVINCE = make_uscc("11320000MB0X00001")  # 示例省药品监督管理局, 320000
CITY = make_uscc("11320100MB0X00002")  # 示例市市场监督管理局, 320100
ELSEWHERE = make_uscc("11330000MB0X00003")  # a neighbouring province's, 330000


@pytest.fixture
def watch(supervision_engine: Engine) -> SupervisionService:
    svc = SupervisionService(supervision_engine, "platform", PLATFORM_SIGNER.verifier())
    for uscc, name, division in (
        (PROVINCE, "示例省药品监督管理局", "320000"),
        (CITY, "示例市市场监督管理局", "320100"),
        (ELSEWHERE, "邻省药品监督管理局", "330000"),
    ):
        svc.register_organisation(
            Organisation(uscc=uscc, name=name, kind=OrgKind.REGULATOR, division_code=division)
        )
    return svc


def copied(
    sequence: int,
    division: str = "320106",
    bill_type: str = "322",
    signer: Ed25519Signer = PLATFORM_SIGNER,
    **step: Any,
) -> dict[str, Any]:
    """A step as the platform copies it here."""
    body = {
        "bill_type": bill_type,
        "org_uscc": MAH,
        "division_code": division,
        "document_no": f"D{sequence}",
        "business_time": "2026-11-20T09:00:00+08:00",
        "codes": [f"8000001000000{sequence:07d}"],
    } | step
    return seal(
        signer,
        system_id="platform",
        event_type="20",
        event_subtype=bill_type,
        data_owner=MAH,
        sequence=sequence,
        payload={
            "supervised_step": body,
            "forwarded_from": {"system_id": "province-32", "event_id": f"e-{sequence}"},
        },
    )


def stored(watch: SupervisionService) -> int:
    with read_tx(watch.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(supervised_step)).scalar_one())


def test_steps_are_taken_once_in_order(watch: SupervisionService) -> None:
    batch = [copied(1), copied(2)]
    assert [r["accepted"] for r in watch.receive_batch(PLATFORM, batch)] == [True, True]
    assert [r["duplicate"] for r in watch.receive_batch(PLATFORM, batch)] == [True, True]
    steps = watch.steps(PROVINCE)["steps"]
    assert [s["document_no"] for s in steps] == ["D2", "D1"]  # newest first
    assert steps[0]["reported_by"] == "province-32" and steps[0]["data_owner"] == MAH
    assert steps[0]["business_time"] == "2026-11-20T01:00:00+00:00"


def test_only_the_platform_delivers_here(watch: SupervisionService) -> None:
    with refused_with(403) as caught:
        watch.receive_batch(SystemIdentity("trace-a", MAH, 2), [copied(1)])
    assert caught.value.reason == "not_the_platform"
    impostor = Ed25519Signer(Ed25519PrivateKey.generate())
    with pytest.raises(DomainError) as caught:
        watch.receive_batch(PLATFORM, [copied(1, signer=impostor)])
    assert caught.value.reason == "unknown_key"
    assert stored(watch) == 0


def test_a_malformed_step_refuses_the_whole_batch(watch: SupervisionService) -> None:
    with pytest.raises(DomainError) as caught:
        watch.receive_batch(PLATFORM, [copied(1), copied(2, division="32")])
    assert caught.value.reason == "malformed_step"
    assert caught.value.field == "envelopes[1].payload.supervised_step"
    assert stored(watch) == 0
    assert watch.receive_batch(PLATFORM, [copied(1)])[0]["accepted"] is True


def test_each_regulator_sees_the_steps_of_its_division(watch: SupervisionService) -> None:
    places = {1: "320106", 2: "320500", 3: "330100", 4: "320100"}
    watch.receive_batch(PLATFORM, [copied(n, division=d) for n, d in places.items()])

    def seen(regulator: str, **filters: Any) -> list[str]:
        return [s["division_code"] for s in watch.steps(regulator, **filters)["steps"]]

    assert seen(PROVINCE) == ["320100", "320500", "320106"]
    assert seen(CITY) == ["320100", "320106"]
    assert seen(ELSEWHERE) == ["330100"]
    assert watch.steps(CITY)["division_code"] == "320100"
    # a page at a time, and by bill type
    first = watch.steps(PROVINCE, limit=2)["steps"]
    rest = watch.steps(PROVINCE, before=first[-1]["id"])["steps"]
    assert [s["division_code"] for s in first + rest] == seen(PROVINCE)
    assert seen(PROVINCE, bill_type="201") == []


def test_a_shipping_note_is_seen_where_its_consignee_is(watch: SupervisionService) -> None:
    watch.receive_batch(PLATFORM, [copied(1, division="320100", bill_type="201")])
    assert [s["bill_type"] for s in watch.steps(CITY, bill_type="201")["steps"]] == ["201"]
    assert watch.steps(ELSEWHERE)["steps"] == []


def test_only_regulators_are_registered_and_get_tokens(watch: SupervisionService) -> None:
    cdc = Organisation(
        uscc=make_uscc("12320000MB0000001"),
        name="示例省疾病预防控制中心",
        kind=OrgKind.CDC,
        division_code="320000",
    )
    with pytest.raises(DomainError) as caught:
        watch.register_organisation(cdc)
    assert (caught.value.reason, caught.value.field) == ("not_a_regulator", "kind")
    with refused_with(404):
        watch.issue_token(cdc.uscc)
    token = watch.issue_token(CITY, "staff")
    assert watch.authenticate(token) == CITY
    assert watch.authenticate(token + "x") is None
    with refused_with(404):
        watch.steps(cdc.uscc)


def finding(sequence: int, division: str = "320106", **changes: Any) -> dict[str, Any]:
    """A refusal as the platform copies it here: a MAH's trace system refused a site's
    vaccination report (the site in ``division``)."""
    body = {
        "refused_event_id": f"e-forwarded-{sequence}",
        "origin_system_id": "province-32",
        "origin_event_id": f"e-report-{sequence}",
        "receiver_system_id": "trace-a",
        "status": 409,
        "reason": "locked",
        "field": "codes",
        "detail": "1 code(s) e.g. 80000010000000017: the code is locked (pending)",
        "bill_type": "322",
        "document_no": f"JZ{sequence}",
        "org_uscc": make_uscc("12320106MB0X00009"),
        "codes": ["80000010000000017"],
        "code_count": 1,
        "advice": "do not use them",
        "refused_at": "2026-11-23T09:00:00+08:00",
        "division_code": division,
    } | changes
    return seal(
        PLATFORM_SIGNER,
        system_id="platform",
        event_type="20",
        event_subtype="refusal",
        data_owner=str(body["org_uscc"] or MAH),
        sequence=sequence,
        payload={"refusal_finding": body},
    )


def test_each_regulator_sees_the_refusals_of_its_division(watch: SupervisionService) -> None:
    places = {1: "320106", 2: "330100", 3: "320500"}
    sent = [finding(n, d) for n, d in places.items()]
    assert [t["accepted"] for t in watch.receive_batch(PLATFORM, sent)] == [True, True, True]
    assert watch.receive_batch(PLATFORM, sent[:1])[0]["duplicate"] is True

    def seen(regulator: str, **page: Any) -> list[str]:
        return [f["division_code"] for f in watch.findings(regulator, **page)["findings"]]

    assert seen(PROVINCE) == ["320500", "320106"]  # newest first, inside its province only
    assert seen(CITY) == ["320106"] and seen(ELSEWHERE) == ["330100"]
    (one,) = watch.findings(CITY)["findings"]
    assert (one["kind"], one["reason"], one["bill_type"], one["document_no"]) == (
        "exchange_refusal",
        "locked",
        "322",
        "JZ1",
    )
    assert (one["refused_by"], one["reported_by"]) == ("trace-a", "province-32")
    assert one["codes"] == ["80000010000000017"] and one["found_at"] == "2026-11-23T01:00:00+00:00"
    first = watch.findings(PROVINCE, limit=1)["findings"]
    assert seen(PROVINCE, before=first[0]["id"]) == ["320106"]
    assert stored(watch) == 0  # findings are not steps


def test_a_malformed_finding_refuses_the_batch(watch: SupervisionService) -> None:
    for broken, field in (
        (finding(1, division="32"), "envelopes[0].payload.refusal_finding"),
        (finding(1, org_uscc=None), "envelopes[0].payload.refusal_finding.org_uscc"),
    ):
        with pytest.raises(DomainError) as caught:
            watch.receive_batch(PLATFORM, [broken])
        assert (caught.value.reason, caught.value.field) == ("malformed_finding", field)
    assert watch.findings(PROVINCE)["findings"] == []
