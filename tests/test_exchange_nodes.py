"""The exchange across processes over mutual TLS: MAH trace nodes → platform → province node.
A receiver is stopped midway each time, and nothing is lost when it comes back."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
from typer.testing import CliRunner

from tests.journeys import journey_record
from vaxtrace.cli import app
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.errors import DomainError
from vaxtrace.sim.catalogue import make_uscc, provincial_regulator, vaccination_sites
from vaxtrace.sim.federation import Federation, MahNode, free_port, serve_node

runner = CliRunner()


def _demo(folder: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--no-serve", "--units", "2000", "--data-dir", str(folder)]
    )
    assert result.exit_code == 0, result.output


def _rows(database: Path, query: str) -> list[str]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        return [str(r[0]) for r in db.execute(query)]


def _wait(read: Callable[[], list[str]], count: int) -> list[str]:
    for _ in range(150):
        got = read()
        if len(got) >= count:
            return got
        time.sleep(0.1)
    return read()


def _wait_for(read: Callable[[], list[str]], expected: list[str]) -> list[str]:
    for _ in range(150):
        if read() == expected:
            break
        time.sleep(0.1)
    return read()


def _boxes(node: MahNode, count: int = 4) -> list[tuple[str, int]]:
    """``count`` boxes still at the MAH, with their doses (shipping a box opens its case)."""
    with sqlite3.connect(node.data_dir / "trace.sqlite") as db:
        rows = db.execute(
            "SELECT b.code, (SELECT count(*) FROM trace_code d WHERE d.parent_id = b.id) "
            "FROM trace_code b JOIN product p ON p.id = b.product_id WHERE b.level = 2 AND "
            "b.holder_uscc = ? AND p.mah_uscc = ? ORDER BY b.id LIMIT ?",
            (node.mah_uscc, node.mah_uscc, count),
        ).fetchall()
    assert len(rows) == count
    return [(str(r[0]), int(r[1])) for r in rows]


def _cdc(node: MahNode) -> str:
    return _rows(node.data_dir / "trace.sqlite", "SELECT uscc FROM organisation WHERE kind='cdc'")[
        0
    ]


def _shipper(url: str, node: MahNode, cdc: str, tag: str) -> Callable[..., None]:
    """Ship box ``n`` in note ``n``: one number posts a note, several go as one upload."""
    boxes = _boxes(node)

    def note(n: int) -> dict[str, object]:
        return {
            "client_document_id": f"e2e-{n}",
            "document_no": f"E2E-{tag}-{n}",
            "business_time": "2026-11-01T09:00:00+08:00",
            "codes": [boxes[n][0]],
            "consignee_uscc": cdc,
            "shipper": "物流部",
            "expected_quantity": boxes[n][1],
        }

    def ship(*numbers: int) -> None:
        headers = {"Authorization": f"Bearer {node.token}"}
        if len(numbers) == 1:
            answer = httpx.post(
                f"{url}/trace/v1/shipping-notes", json=note(numbers[0]), headers=headers
            )
        else:
            upload = {"shipping_notes": [note(n) for n in numbers]}
            answer = httpx.post(
                f"{url}/trace/v1/shipping-note-uploads", json=upload, headers=headers
            )
        assert answer.status_code == 201, answer.text

    return ship


def test_shipping_notes_reach_the_platform_once_in_order(tmp_path: Path) -> None:
    _demo(tmp_path / "mah")
    federation = Federation(tmp_path)
    node = federation.add_mah_node("trace-a", tmp_path / "mah", 0)
    inbox = federation.hub / "platform.sqlite"

    def received() -> list[str]:
        return _rows(
            inbox, "SELECT sender || ':' || sequence FROM exchange_inbox ORDER BY sequence"
        )

    with serve_node(node.env, "--role", "trace") as url:
        ship = _shipper(url, node, _cdc(node), "a")
        with federation.serve_platform():
            ship(0)
            ship(1)
            first = _wait(received, 2)
            # the demo that made the data shipped through its in-process federation first, so
            # this system's queue starts after the demo's notes
            start = int(first[0].split(":")[1])
            assert first == [f"trace-a:{start}", f"trace-a:{start + 1}"]
        ship(2)  # the platform is down: the notes wait in the MAH's outbox
        ship(3)
        time.sleep(1)
        assert len(received()) == 2
        with federation.serve_platform():
            got = _wait(received, 4)
    assert got == [f"trace-a:{start + n}" for n in range(4)]
    federation.close()


def test_every_node_keeps_in_step_with_the_platform_by_itself(tmp_path: Path) -> None:
    """A trace, a province and a supervision node, each its own process over mutual TLS: the
    trace node publishes its coding rules and products; every node pulls the registry, keeps
    a copy and takes what its role needs, and a change at the platform reaches each."""
    _demo(tmp_path / "mah")
    federation = Federation(tmp_path)
    node = federation.add_mah_node("trace-a", tmp_path / "mah", 0)
    cdc, regulator = _cdc(node), provincial_regulator()
    ports = {"immunization": free_port(), "supervision": free_port()}
    envs = {
        "immunization": federation.add_province(
            "province-32", cdc, tmp_path / "province", ports["immunization"]
        ),
        "supervision": federation.add_supervision(
            "watch-32", regulator, tmp_path / "watch", ports["supervision"]
        ),
    }
    trace_db = node.data_dir / "trace.sqlite"
    province_db = tmp_path / "province" / "immunization.sqlite"
    watch_db = tmp_path / "watch" / "supervision.sqlite"
    pov = make_uscc("12320102MB0000099")
    code = _rows(
        trace_db,
        "SELECT c.code FROM trace_code c JOIN product p ON p.id = c.product_id "
        f"WHERE p.mah_uscc = '{node.mah_uscc}' LIMIT 1",
    )[0]
    products = _rows(
        trace_db, f"SELECT product_code FROM product WHERE mah_uscc = '{node.mah_uscc}'"
    )
    assert products

    def name_of(uscc: str, database: Path, table: str = "organisation") -> Callable[[], list[str]]:
        return lambda: _rows(database, f"SELECT name FROM {table} WHERE uscc = '{uscc}'")

    def products_known(database: Path) -> list[str]:
        query = "SELECT key FROM basic_data WHERE kind = 'product' ORDER BY key"
        return [key.split("/")[1] for key in _rows(database, query)]

    def resolved() -> list[str]:
        try:
            return [federation.platform.resolve(code)["system_id"]]
        except DomainError:
            return []

    assert resolved() == []
    with contextlib.ExitStack() as stack:
        stack.enter_context(federation.serve_platform())
        stack.enter_context(serve_node(node.env, "--role", "trace"))
        for role, env in envs.items():
            stack.enter_context(federation.serve_system(role, env, ports[role]))
        assert _wait(resolved, 1) == ["trace-a"]
        for database in (province_db, watch_db):  # the MAH's products reach every node
            assert sorted(_wait(lambda d=database: products_known(d), len(products))) == sorted(
                products
            )
        assert _wait(name_of(cdc, province_db), 1) == ["示例省疾病预防控制中心"]
        assert _wait(name_of(regulator.uscc, watch_db, "regulator"), 1) == [regulator.name]
        # a vaccination site joins the province; the regulator is renamed
        federation.add_organisation(pov, "示例市鼓楼区社区卫生服务中心", OrgKind.POV, "320106")
        federation.represent("province-32", pov)
        federation.add_organisation(
            regulator.uscc, "示例省药品监督管理局稽查局", OrgKind.REGULATOR, "320000"
        )
        for database in (trace_db, province_db):
            assert _wait(name_of(pov, database), 1) == ["示例市鼓楼区社区卫生服务中心"]
        renamed = ["示例省药品监督管理局稽查局"]
        assert _wait_for(name_of(regulator.uscc, watch_db, "regulator"), renamed) == renamed
        assert name_of(regulator.uscc, province_db)() == []  # not the province's
    federation.close()


def test_two_mahs_reach_the_province_through_the_platform(tmp_path: Path) -> None:
    """Platform, two MAH trace nodes and one province node, each its own process."""
    federation = Federation(tmp_path)
    nodes = []
    for index, name in enumerate(("trace-a", "trace-b")):
        _demo(tmp_path / name)
        nodes.append(federation.add_mah_node(name, tmp_path / name, index))
    cdc = _cdc(nodes[0])
    province_port = free_port()
    province = federation.add_province("province-32", cdc, tmp_path / "province", province_port)
    database = tmp_path / "province" / "immunization.sqlite"
    watch_port = free_port()
    watch = federation.add_supervision(
        "watch-32", provincial_regulator(), tmp_path / "watch", watch_port
    )

    def expected() -> list[str]:
        return _rows(database, "SELECT note_no FROM expected_receipt ORDER BY sequence")

    def supervised() -> list[str]:
        return _rows(
            tmp_path / "watch" / "supervision.sqlite",
            "SELECT document_no FROM supervised_step WHERE bill_type = '201' ORDER BY id",
        )

    with contextlib.ExitStack() as stack:
        ships = [
            _shipper(stack.enter_context(serve_node(n.env, "--role", "trace")), n, cdc, str(i))
            for i, n in enumerate(nodes)
        ]
        stack.enter_context(federation.serve_platform())
        stack.enter_context(federation.serve_system("supervision", watch, watch_port))
        with federation.serve_province(province, province_port):
            for n in (0, 1):
                for ship in ships:
                    ship(n)
            assert len(_wait(expected, 4)) == 4
        # the province is down: the platform keeps the notes in its outbox; the first MAH
        # sends its two as one upload
        ships[0](2, 3)
        for n in (2, 3):
            ships[1](n)
        time.sleep(1)
        assert len(expected()) == 4
        with federation.serve_province(province, province_port):
            got = _wait(expected, 8)
        # the province's regulator was told of every note, whether the province was up or not
        assert sorted(_wait(supervised, 8)) == sorted(got)
    assert sorted(got) == sorted(f"E2E-{i}-{n}" for i in (0, 1) for n in range(4))
    for i in (0, 1):  # each MAH's notes arrive in the order it shipped them
        assert [g for g in got if g.startswith(f"E2E-{i}-")] == [f"E2E-{i}-{n}" for n in range(4)]
    federation.close()


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _events_of(node: MahNode, code: str) -> list[str]:
    return _rows(
        node.data_dir / "trace.sqlite",
        "SELECT e.bill_type || ' ' || e.org_uscc FROM trace_event e "
        "JOIN event_code ec ON ec.event_id = e.id JOIN trace_code c ON c.id = ec.code_id "
        f"WHERE c.code = '{code}' ORDER BY e.id",
    )


ARRIVED = datetime.fromisoformat("2026-11-05T09:00:00+08:00")
"""When the deliveries of the province test arrived (their journeys end then)."""


def _document(n: int, **body: object) -> dict[str, object]:
    return {
        "client_document_id": f"prov-{n}",
        "document_no": f"PROV-{n}",
        "business_time": "2026-11-05T10:00:00+08:00",
    } | body


def test_province_reports_reach_each_owner_over_mutual_tls(tmp_path: Path) -> None:
    """The way back: the province node's receipts, a distribution mixing two MAHs' boxes and
    the site's receipt of it go to the platform, which splits them by code owner to each MAH's
    trace node."""
    federation = Federation(tmp_path)
    nodes = []
    for index, name in enumerate(("trace-a", "trace-b")):
        _demo(tmp_path / name)
        nodes.append(federation.add_mah_node(name, tmp_path / name, index, port=free_port()))
    cdc, pov = _cdc(nodes[0]), vaccination_sites()[0]
    port, folder = free_port(), tmp_path / "province"
    province = federation.add_province("province-32", cdc, folder, port, (pov,))
    d = ["--role", "immunization", "--data-dir", str(folder)]
    _cli("org", "add", cdc, "示例省疾病预防控制中心", "--kind", "cdc", "--division", "320000", *d)
    _cli("org", "add", pov.uscc, pov.name, "--kind", "pov", "--division", pov.division_code, *d)
    as_cdc = {"Authorization": f"Bearer {_cli('token', 'issue', cdc, *d)}"}
    as_pov = {"Authorization": f"Bearer {_cli('token', 'issue', pov.uscc, *d)}"}
    boxes = [_boxes(node)[0] for node in nodes]
    with contextlib.ExitStack() as stack:
        stack.enter_context(federation.serve_platform())
        base = stack.enter_context(federation.serve_province(province, port))
        for i, node in enumerate(nodes):
            url = stack.enter_context(federation.serve_mah(node))
            box, doses = boxes[i]
            with federation.client(node.system_id) as mah:
                body = {
                    "client_document_id": f"ship-{i}",
                    "document_no": f"FH-{i}",
                    "business_time": "2026-11-01T09:00:00+08:00",
                    "codes": [box],
                    "consignee_uscc": cdc,
                    "shipper": "物流部",
                    "expected_quantity": doses,
                }
                headers = {"Authorization": f"Bearer {node.token}"}
                answer = mah.post(f"{url}/trace/v1/shipping-notes", json=body, headers=headers)
                assert answer.status_code == 201, answer.text
        staff = stack.enter_context(federation.client("province-32"))
        api = f"{base}/immunization/v1"

        def notes() -> list[str]:
            return [n["note_no"] for n in staff.get(f"{api}/receipts", headers=as_cdc).json()]

        assert sorted(_wait(notes, 2)) == ["FH-0", "FH-1"]
        records = f"{api}/temperature-records"  # each journey's logger, before each receipt
        for i, (box, _doses) in enumerate(boxes):
            scan = staff.post(f"{api}/receipts/FH-{i}/scans", json={"code": box}, headers=as_cdc)
            assert scan.status_code == 201, scan.text
            trip = staff.post(records, json=journey_record(f"FH-{i}", ARRIVED), headers=as_cdc)
            assert trip.status_code == 201, trip.text
            done = staff.post(f"{api}/receipts/FH-{i}/confirm", json=_document(i), headers=as_cdc)
            assert done.status_code == 201, done.text
        mixed = _document(9, codes=[box for box, _ in boxes], receiver_uscc=pov.uscc)
        supplied = staff.post(f"{api}/distributions", json=mixed, headers=as_cdc)
        assert supplied.status_code == 201, supplied.text
        # the site receives the mixed distribution as the CDC received each MAH's note
        arrived = f"{api}/receipts/{mixed['document_no']}"
        for box, _doses in boxes:
            scan = staff.post(f"{arrived}/scans", json={"code": box}, headers=as_pov)
            assert scan.status_code == 201, scan.text
        trip = staff.post(
            records, json=journey_record(str(mixed["document_no"]), ARRIVED), headers=as_pov
        )
        assert trip.status_code == 201, trip.text
        done = staff.post(f"{arrived}/confirm", json=_document(10), headers=as_pov)
        assert done.status_code == 201, done.text
        assert done.json()["state"] == "received"
        for node, (box, _doses) in zip(nodes, boxes, strict=True):
            assert _wait(lambda n=node, b=box: _events_of(n, b), 5)[-3:] == [
                f"107 {cdc}",
                f"209 {cdc}",
                f"107 {pov.uscc}",
            ]
            other = boxes[1 - nodes.index(node)][0]
            assert _events_of(node, other) == []  # each owner got only its own box
    federation.close()
