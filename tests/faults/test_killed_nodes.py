"""Nodes killed mid-work (SIGKILL: no shutdown of any kind) and started again: the trace node
while MAHs' staff ship, the platform while it forwards. Afterwards no shipping note is lost
or applied twice, every retry is answered as the first time, the exchange drains by itself,
and every node's log still verifies."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from tests.journeys import journey_record
from tests.test_exchange_nodes import (
    ARRIVED,
    _boxes,
    _cdc,
    _cli,
    _demo,
    _document,
    _events_of,
    _rows,
    _wait,
)
from vaxtrace.cli import app
from vaxtrace.sim.federation import Federation, MahNode, NodeProcess, free_port

NOTES = 24
"""Shipping notes posted, a box each; the trace node is killed once a third are answered."""


def _notes(node: MahNode, cdc: str) -> list[dict[str, Any]]:
    return [
        {
            "client_document_id": f"crash-{n}",
            "document_no": f"CRASH-{n}",
            "business_time": "2026-11-01T09:00:00+08:00",
            "codes": [code],
            "consignee_uscc": cdc,
            "shipper": "物流部",
            "expected_quantity": doses,
        }
        for n, (code, doses) in enumerate(_boxes(node, NOTES))
    ]


def _post(url: str, token: str, note: dict[str, Any]) -> httpx.Response | None:
    """The answer, or None where the node died before answering."""
    try:
        return httpx.post(
            f"{url}/trace/v1/shipping-notes",
            json=note,
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,
        )
    except httpx.TransportError:
        return None


def _keep_checkpoint(url: str, folder: Path) -> tuple[Path, Path]:
    """The trace node's signed checkpoint and verifier key, kept outside the node."""
    folder.mkdir()
    kept = []
    for name in ("checkpoint", "key"):
        answer = httpx.get(f"{url}/trace/v1/ledger/{name}")
        assert answer.status_code == 200, answer.text
        (folder / name).write_text(answer.text)
        kept.append(folder / name)
    return kept[0], kept[1]


def _log_verifies(env: dict[str, str], role: str, folder: Path) -> None:
    """``role``'s log on the node of ``env`` verifies (its leaves, tree and checkpoints, and
    the tables it is compared with) against a checkpoint signed now and kept in ``folder``."""
    folder.mkdir(exist_ok=True)
    kept = []
    for command in ("checkpoint", "key"):
        answer = CliRunner().invoke(app, ["ledger", command, "--role", role], env=env)
        assert answer.exit_code == 0, answer.output
        (folder / f"{role}-{command}").write_text(answer.stdout)
        kept.append(str(folder / f"{role}-{command}"))
    trusted = ["--trusted", kept[0], "--trusted-key", kept[1]]
    verified = CliRunner().invoke(app, ["ledger", "verify", "--role", role, *trusted], env=env)
    assert verified.exit_code == 0, verified.output


def _kill_when(node: NodeProcess, futures: list[Future[Any]], answered: int) -> None:
    """Kill ``node`` once ``answered`` of ``futures`` have an answer."""
    for _ in range(600):
        if sum(f.done() for f in futures) >= answered:
            break
        time.sleep(0.02)
    node.kill()


def _until(read: Callable[[], int], at_least: int) -> int:
    for _ in range(300):
        if read() >= at_least:
            break
        time.sleep(0.05)
    return read()


def test_killed_trace_node_and_platform_lose_nothing_and_apply_nothing_twice(
    tmp_path: Path,
) -> None:
    _demo(tmp_path / "mah")
    federation = Federation(tmp_path)
    mah = federation.add_mah_node("trace-a", tmp_path / "mah", 0)
    cdc = _cdc(mah)
    port = free_port()
    env = federation.add_province("province-32", cdc, tmp_path / "province", port)
    notes = _notes(mah, cdc)
    trace = NodeProcess(mah.env, "--role", "trace")
    platform = federation.platform_process()
    province = federation.system_process("immunization", env, port)

    def at_platform() -> list[str]:
        return _rows(
            federation.hub / "platform.sqlite",
            "SELECT sequence FROM exchange_inbox WHERE sender = 'trace-a' ORDER BY sequence",
        )

    def at_province() -> list[str]:
        database = tmp_path / "province" / "immunization.sqlite"
        return _rows(database, "SELECT note_no FROM expected_receipt ORDER BY sequence")

    try:
        province.start()
        platform.start()
        url = trace.start()
        trusted = _keep_checkpoint(url, tmp_path / "kept")  # as a witness would, before
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(_post, url, mah.token, note) for note in notes]
            _kill_when(trace, futures, NOTES // 3)
        first = {n: f.result() for n, f in enumerate(futures)}
        accepted = {n: a.json() for n, a in first.items() if a is not None and a.status_code == 201}
        assert all(a is None or a.status_code == 201 for a in first.values()), first
        assert 0 < len(accepted) < NOTES  # killed midway: some answered, some not

        url = trace.start()
        for n, note in enumerate(notes):  # staff retry every note, answered or not
            again = _post(url, mah.token, note)
            assert again is not None and again.status_code in (200, 201), again
            if n in accepted:  # the first answer stands: a replay, applied once
                assert again.status_code == 200 and again.json() == accepted[n]

        _until(lambda: len(at_platform()), NOTES // 2)
        platform.kill()  # while it takes and forwards the trace node's notes
        platform.start()
        got = _wait(at_province, NOTES)
    finally:
        for node in (trace, platform, province):
            node.stop()
        federation.close()

    numbers = sorted(note["document_no"] for note in notes)
    assert sorted(got) == numbers  # every note reached the province, once
    sequences = [int(s) for s in at_platform()]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    shipped = _rows(
        tmp_path / "mah" / "trace.sqlite",
        "SELECT note_no FROM shipping_note WHERE note_no LIKE 'CRASH-%' ORDER BY note_no",
    )
    assert shipped == numbers  # the trace node kept each once
    verify = ["ledger", "verify", "--trusted", str(trusted[0]), "--trusted-key", str(trusted[1])]
    verified = CliRunner().invoke(app, verify, env=mah.env)  # with the node's own settings
    assert verified.exit_code == 0, verified.output
    _log_verifies(federation.platform_env(), "platform", tmp_path / "kept")
    _log_verifies(env, "immunization", tmp_path / "kept")


RECEIPTS = 12
"""Shipping notes the province's CDC confirms; the province node is killed midway."""


def test_a_province_killed_while_confirming_reports_each_receipt_once(tmp_path: Path) -> None:
    _demo(tmp_path / "mah")
    federation = Federation(tmp_path)
    mah = federation.add_mah_node("trace-a", tmp_path / "mah", 0, port=free_port())
    cdc = _cdc(mah)
    port, folder = free_port(), tmp_path / "province"
    env = federation.add_province("province-32", cdc, folder, port)
    d = ["--role", "immunization", "--data-dir", str(folder)]
    _cli("org", "add", cdc, "示例省疾病预防控制中心", "--kind", "cdc", "--division", "320000", *d)
    as_cdc = {"Authorization": f"Bearer {_cli('token', 'issue', cdc, *d)}"}
    notes = _notes(mah, cdc)[:RECEIPTS]
    trace, platform = federation.mah_process(mah), federation.platform_process()
    province = federation.system_process("immunization", env, port)
    try:
        platform.start()
        with federation.client(mah.system_id) as client:
            url = trace.start()
            for note in notes:
                shipped = client.post(
                    f"{url}/trace/v1/shipping-notes",
                    json=note,
                    headers={"Authorization": f"Bearer {mah.token}"},
                )
                assert shipped.status_code == 201, shipped.text
        api = f"{province.start()}/immunization/v1"
        staff = federation.client("province-32")

        def listed() -> list[str]:
            return [n["note_no"] for n in staff.get(f"{api}/receipts", headers=as_cdc).json()]

        assert len(_wait(listed, RECEIPTS)) == RECEIPTS
        for note in notes:
            number = note["document_no"]
            box = note["codes"][0]
            scan = staff.post(f"{api}/receipts/{number}/scans", json={"code": box}, headers=as_cdc)
            assert scan.status_code == 201, scan.text
            trip = journey_record(number, ARRIVED)
            kept = staff.post(f"{api}/temperature-records", json=trip, headers=as_cdc)
            assert kept.status_code == 201, kept.text

        def confirm(n: int) -> httpx.Response | None:
            try:
                number = notes[n]["document_no"]
                body = _document(100 + n)
                return staff.post(f"{api}/receipts/{number}/confirm", json=body, headers=as_cdc)
            except httpx.TransportError:
                return None

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(confirm, n) for n in range(RECEIPTS)]
            _kill_when(province, futures, RECEIPTS // 3)
        first = {n: f.result() for n, f in enumerate(futures)}
        accepted = {n: a.json() for n, a in first.items() if a is not None and a.status_code == 201}
        assert 0 < len(accepted) < RECEIPTS
        staff.close()
        api = f"{province.start()}/immunization/v1"
        staff = federation.client("province-32")
        for n in range(RECEIPTS):
            again = confirm(n)
            assert again is not None and again.status_code in (200, 201), again
            if n in accepted:
                assert again.status_code == 200 and again.json() == accepted[n]
        staff.close()

        def reported() -> list[str]:
            receipts = [_events_of(mah, note["codes"][0]).count(f"107 {cdc}") for note in notes]
            return [str(count) for count in receipts if count]

        counts = _wait(reported, RECEIPTS)
        time.sleep(1)  # a receipt applied twice would show by now
        counts = reported()
    finally:
        for node in (trace, platform, province):
            node.stop()
        federation.close()
    assert counts == ["1"] * RECEIPTS  # each receipt reached the MAH once
    _log_verifies(env, "immunization", tmp_path / "kept")
    _log_verifies(federation.platform_env(), "platform", tmp_path / "kept")
