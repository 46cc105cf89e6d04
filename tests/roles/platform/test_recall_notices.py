"""Public recall notices (召回公告): a supervision system announces a real recall to the platform,
which keeps one notice per MAH and recall number (the closing replaces the opening, never the
reverse), lists them at its public entry and names them in the public view of every code of
a noticed batch. Only a supervision system sends a notice, for a regulator it represents."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from tests.roles.platform.test_exchange import MAH, SIGNER, hub, refused
from tests.roles.platform.test_public_query import nodes
from vaxtrace.app import build_app
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.roles.platform.service.notices import KEPT_SECONDS
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc

__all__ = ["hub", "nodes"]  # the fixtures

REGULATOR = make_uscc("11320000MB0X00001")
WATCH_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
WATCH = SystemIdentity("watch-32", REGULATOR, 3)


def watching(hub: PlatformService) -> PlatformService:
    hub.register_organisation(
        RegisteredOrganisation(
            uscc=REGULATOR, name="示例省药品监督管理局", kind="regulator", division_code="320000"
        )
    )
    hub.register_system(
        ConnectedSystem(
            system_id="watch-32",
            name="watch-32",
            role="supervision",
            operator_uscc=REGULATOR,
            endpoint="https://watch-32.example",
            represents=(REGULATOR,),
            exchange_key=WATCH_SIGNER.public_text(),
        )
    )
    return hub


def notice(sequence: int, mah: str = MAH, batch: str = "B1", **more: Any) -> dict[str, object]:
    body = {
        "mah_uscc": mah,
        "recall_no": "RC1",
        "level": 1,
        "batch_nos": [batch],
        "reason": "无菌检查不合格",
        "ordered": False,
        "started_at": "2026-11-09T09:00:00+08:00",
        "state": "open",
    } | more
    return seal(
        WATCH_SIGNER,
        system_id="watch-32",
        event_type="20",
        event_subtype="recall_notice",
        data_owner=REGULATOR,
        sequence=sequence,
        payload={"recall_notice": body},
    )


def test_a_notice_is_kept_once_and_its_closing_replaces_it(hub: PlatformService) -> None:
    watching(hub)
    first = notice(1)
    taken = hub.receive_envelope(WATCH, first)
    assert taken["accepted"] and taken["forwarded_to"] == []  # kept here, sent nowhere
    assert hub.receive_envelope(WATCH, first)["duplicate"]
    closed = {"state": "closed", "closed_at": "2026-11-13T09:00:00+08:00"}
    hub.receive_envelope(WATCH, notice(2, **closed))
    hub.receive_envelope(WATCH, notice(3))  # a late opening does not reopen it
    (kept,) = hub.recall_notices()["recalls"]
    assert (kept["recall_no"], kept["state"], kept["published_by"]) == ("RC1", "closed", REGULATOR)
    assert kept["batch_nos"] == ["B1"] and kept["closed_at"].startswith("2026-11-13T01:00:00")
    assert hub.recall_notices(state="open")["recalls"] == []


def test_only_a_supervision_system_announces_for_whom_it_represents(
    hub: PlatformService,
) -> None:
    watching(hub)
    from_a_mah = seal(
        SIGNER,
        system_id="trace-a",
        event_type="20",
        event_subtype="recall_notice",
        data_owner=MAH,
        sequence=1,
        payload={"recall_notice": {"mah_uscc": MAH}},
    )
    refused(hub, SystemIdentity("trace-a", MAH, 1), from_a_mah, "wrong_sender_role")
    refused(hub, WATCH, notice(1, level=4), "malformed_document")
    for_another = seal(
        WATCH_SIGNER,
        system_id="watch-32",
        event_type="20",
        event_subtype="recall_notice",
        data_owner=MAH,
        sequence=1,
        payload={"recall_notice": {}},
    )
    refused(hub, WATCH, for_another, "not_represented")
    assert hub.recall_notices()["recalls"] == []


def test_the_public_entry_lists_the_notices(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path), roles=("platform",))
    watching(app.state.platform).receive_envelope(WATCH, notice(1))
    with TestClient(app) as client:
        listed = client.get("/platform/v1/public/recalls")
        assert listed.status_code == 200, listed.text
        assert [n["recall_no"] for n in listed.json()["recalls"]] == ["RC1"]
        assert client.get("/platform/v1/public/recalls", params={"state": "closed"}).json() == {
            "recalls": []
        }
        bad = client.get("/platform/v1/public/recalls", params={"state": "maybe"})
        assert bad.status_code == 422 and bad.json()["field"] == "state"


def test_a_codes_public_view_names_the_notices_of_its_batch(
    nodes: tuple[TestClient, list[str], dict[str, Any]],
) -> None:
    platform, samples, _ = nodes
    before = platform.get("/platform/v1/public/codes", params={"code": samples[0]}).json()
    assert "recall_notices" not in before
    mah, batch = before["resolved"]["mah_uscc"], before["batch_no"]
    hub = watching(platform.app.state.platform)  # type: ignore[attr-defined]
    hub.receive_envelope(WATCH, notice(1, mah=mah, batch=batch))
    time.sleep(KEPT_SECONDS)  # the noticed batches are read again at most every second
    after = platform.get("/platform/v1/public/codes", params={"code": samples[0]}).json()
    assert [(n["recall_no"], n["level"], n["state"]) for n in after["recall_notices"]] == [
        ("RC1", 1, "open")
    ]
