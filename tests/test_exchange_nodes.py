"""The exchange across processes over mutual TLS: MAH trace nodes → platform → province node.
A receiver is stopped midway each time, and nothing is lost when it comes back."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.core.datasets import OrgKind
from vaxtrace.core.errors import DomainError
from vaxtrace.sim.catalogue import make_uscc
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


def _boxes(node: MahNode) -> list[tuple[str, int]]:
    """Four boxes still at the MAH, with their doses (shipping a box opens its case)."""
    with sqlite3.connect(node.data_dir / "trace.sqlite") as db:
        rows = db.execute(
            "SELECT b.code, (SELECT count(*) FROM trace_code d WHERE d.parent_id = b.id) "
            "FROM trace_code b JOIN product p ON p.id = b.product_id WHERE b.level = 2 AND "
            "b.holder_uscc = ? AND p.mah_uscc = ? ORDER BY b.id LIMIT 4",
            (node.mah_uscc, node.mah_uscc),
        ).fetchall()
    assert len(rows) == 4
    return [(str(r[0]), int(r[1])) for r in rows]


def _cdc(node: MahNode) -> str:
    return _rows(node.data_dir / "trace.sqlite", "SELECT uscc FROM organisation WHERE kind='cdc'")[
        0
    ]


def _shipper(url: str, node: MahNode, cdc: str, tag: str) -> Callable[[int], None]:
    boxes = _boxes(node)

    def ship(n: int) -> None:
        body = {
            "client_document_id": f"e2e-{n}",
            "document_no": f"E2E-{tag}-{n}",
            "business_time": "2026-11-01T09:00:00+08:00",
            "codes": [boxes[n][0]],
            "consignee_uscc": cdc,
            "shipper": "物流部",
            "expected_quantity": boxes[n][1],
        }
        answer = httpx.post(
            f"{url}/trace/v1/shipping-notes",
            json=body,
            headers={"Authorization": f"Bearer {node.token}"},
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


def test_a_trace_node_keeps_in_step_with_the_platform_by_itself(tmp_path: Path) -> None:
    """It publishes its coding rules (those of the MAH it represents) and pulls the registry."""
    _demo(tmp_path / "mah")
    federation = Federation(tmp_path)
    node = federation.add_mah_node("trace-a", tmp_path / "mah", 0)
    pov = make_uscc("12320102MB0000099")
    code = _rows(
        node.data_dir / "trace.sqlite",
        "SELECT c.code FROM trace_code c JOIN product p ON p.id = c.product_id "
        f"WHERE p.mah_uscc = '{node.mah_uscc}' LIMIT 1",
    )[0]

    def known() -> list[str]:
        query = f"SELECT name FROM organisation WHERE uscc = '{pov}'"
        return _rows(node.data_dir / "trace.sqlite", query)

    def resolved() -> list[str]:
        try:
            return [federation.platform.resolve(code)["system_id"]]
        except DomainError:
            return []

    assert resolved() == []
    with federation.serve_platform(), serve_node(node.env, "--role", "trace"):
        assert _wait(resolved, 1) == ["trace-a"]
        assert known() == []
        federation.add_organisation(pov, "示例市鼓楼区社区卫生服务中心", OrgKind.POV, "320106")
        assert _wait(known, 1) == ["示例市鼓楼区社区卫生服务中心"]
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

    def expected() -> list[str]:
        return _rows(database, "SELECT note_no FROM expected_receipt ORDER BY sequence")

    with contextlib.ExitStack() as stack:
        ships = [
            _shipper(stack.enter_context(serve_node(n.env, "--role", "trace")), n, cdc, str(i))
            for i, n in enumerate(nodes)
        ]
        stack.enter_context(federation.serve_platform())
        with federation.serve_province(province, province_port):
            for n in (0, 1):
                for ship in ships:
                    ship(n)
            assert len(_wait(expected, 4)) == 4
        for n in (2, 3):  # the province is down: the platform keeps the notes in its outbox
            for ship in ships:
                ship(n)
        time.sleep(1)
        assert len(expected()) == 4
        with federation.serve_province(province, province_port):
            got = _wait(expected, 8)
    assert sorted(got) == sorted(f"E2E-{i}-{n}" for i in (0, 1) for n in range(4))
    for i in (0, 1):  # each MAH's notes arrive in the order it shipped them
        assert [g for g in got if g.startswith(f"E2E-{i}-")] == [f"E2E-{i}-{n}" for n in range(4)]
    federation.close()
