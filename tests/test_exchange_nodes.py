"""A MAH's trace node and the platform as separate processes over mutual TLS: shipping notes
leave through the trace node's outbox, signed; the platform takes each once. The platform is
stopped midway and nothing is lost when it comes back."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path

import httpx
from nodes import free_port, mtls_client, serve_node
from typer.testing import CliRunner

from vaxtrace.cli import app

runner = CliRunner()


def _cli(*args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _received(platform_dir: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(platform_dir / "platform.sqlite") as db:
        rows = db.execute("SELECT sender, sequence FROM exchange_inbox ORDER BY sequence")
        return [(str(r[0]), int(r[1])) for r in rows]


def _wait_for(platform_dir: Path, count: int) -> list[tuple[str, int]]:
    for _ in range(150):
        got = _received(platform_dir)
        if len(got) >= count:
            return got
        time.sleep(0.1)
    return _received(platform_dir)


def test_shipping_notes_reach_the_platform_once_in_order(tmp_path: Path) -> None:
    hub, mah, certs = tmp_path / "platform", tmp_path / "mah", tmp_path / "certs"
    # the MAH node: demo data (no exchange yet), then its envelope key for registration
    _cli("demo", "--no-serve", "--units", "2000", "--data-dir", str(mah))
    info = json.loads((mah / "demo.json").read_text())
    mah_uscc, token = next(iter(info["tokens"].items()))
    exchange_key = _cli("exchange", "key", "--data-dir", str(mah)).strip()
    d = ["--data-dir", str(hub)]
    _cli("pki", "init", *d)
    _cli("pki", "issue-server", "127.0.0.1", "--out", str(certs), *d)
    _cli(
        "platform",
        "add-org",
        mah_uscc,
        "华东示例生物制品股份有限公司",
        "--kind",
        "mah",
        "--division",
        "320100",
        *d,
    )
    _cli(
        "platform",
        "add-system",
        "trace-a",
        "--role",
        "trace",
        "--operator",
        mah_uscc,
        "--endpoint",
        "https://trace-a.example",
        "--represents",
        mah_uscc,
        "--exchange-key",
        exchange_key,
        "--out",
        str(certs),
        *d,
    )
    platform_port = free_port()
    platform_env = {"VAXTRACE_DATA_DIR": str(hub)}
    platform_args = (
        "--role",
        "platform",
        "--tls-cert",
        str(certs / "server.pem"),
        "--tls-key",
        str(certs / "server.key"),
        "--tls-ca",
        str(hub / "pki" / "ca.pem"),
    )
    mah_env = {
        "VAXTRACE_DATA_DIR": str(mah),
        "VAXTRACE_SYSTEM_ID": "trace-a",
        "VAXTRACE_PLATFORM_BASE_URL": f"https://127.0.0.1:{platform_port}",
        "VAXTRACE_EXCHANGE_CERT": str(certs / "trace-a.pem"),
        "VAXTRACE_EXCHANGE_KEY_FILE": str(certs / "trace-a.key"),
        "VAXTRACE_EXCHANGE_CA": str(hub / "pki" / "ca.pem"),
        "VAXTRACE_EXCHANGE_RETRY_SECONDS": "0.2",
    }
    probe = mtls_client(hub / "pki" / "ca.pem", certs, "trace-a")
    with serve_node(mah_env, "--role", "trace") as mah_url:
        auth = {"Authorization": f"Bearer {token}"}
        cases = _cases(mah / "trace.sqlite", mah_uscc)
        cdc = _cdc(mah / "trace.sqlite")

        def ship(n: int) -> None:
            body = {
                "client_document_id": f"e2e-{n}",
                "document_no": f"E2E-{n}",
                "business_time": "2026-11-01T09:00:00+08:00",
                "codes": [cases[n][0]],
                "consignee_uscc": cdc,
                "shipper": "物流部",
                "expected_quantity": cases[n][1],
            }
            answer = httpx.post(f"{mah_url}/trace/v1/shipping-notes", json=body, headers=auth)
            assert answer.status_code == 201, answer.text

        with serve_node(platform_env, *platform_args, client=probe, port=platform_port):
            probe.close()
            ship(0)
            ship(1)
            assert _wait_for(hub, 2) == [("trace-a", 1), ("trace-a", 2)]
        ship(2)  # the platform is down: the note waits in the outbox
        ship(3)
        time.sleep(1)
        assert len(_received(hub)) == 2
        probe = mtls_client(hub / "pki" / "ca.pem", certs, "trace-a")
        with serve_node(platform_env, *platform_args, client=probe, port=platform_port):
            probe.close()
            got = _wait_for(hub, 4)
    assert got == [("trace-a", n) for n in (1, 2, 3, 4)]


def _cases(database: Path, mah: str) -> list[tuple[str, int]]:
    """Four boxes still at the MAH, with their doses (shipping a box opens its case)."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT b.code, (SELECT count(*) FROM trace_code d WHERE d.parent_id = b.id) "
            "FROM trace_code b JOIN product p ON p.id = b.product_id WHERE b.level = 2 AND "
            "b.holder_uscc = ? AND p.mah_uscc = ? ORDER BY b.id LIMIT 4",
            (mah, mah),
        ).fetchall()
    assert len(rows) == 4
    return [(str(r[0]), int(r[1])) for r in rows]


def _cdc(database: Path) -> str:
    with sqlite3.connect(database) as db:
        return str(db.execute("SELECT uscc FROM organisation WHERE kind = 'cdc'").fetchone()[0])


def _expected(province_dir: Path) -> list[str]:
    with sqlite3.connect(province_dir / "immunization.sqlite") as db:
        rows = db.execute("SELECT note_no FROM expected_receipt ORDER BY sequence")
        return [str(r[0]) for r in rows]


def _wait_expected(province_dir: Path, count: int) -> list[str]:
    for _ in range(150):
        if (province_dir / "immunization.sqlite").exists() and len(
            _expected(province_dir)
        ) >= count:
            break
        time.sleep(0.1)
    return _expected(province_dir)


def _mah_node(
    tmp_path: Path, name: str, hub_args: list[str], certs: Path, index: int, platform_port: int
) -> tuple[dict[str, str], str, str, list[tuple[str, int]]]:
    """A MAH's trace node on its own data, registered as system ``name`` for its ``index``-th
    MAH: (environment, MAH USCC, API token, four boxes it can ship)."""
    folder = tmp_path / name
    _cli("demo", "--no-serve", "--units", "2000", "--data-dir", str(folder))
    tokens = list(json.loads((folder / "demo.json").read_text())["tokens"].items())
    mah_uscc, token = tokens[index]
    names = ["华东示例生物制品股份有限公司", "江南示范疫苗有限公司"]
    _cli(
        "platform",
        "add-org",
        mah_uscc,
        names[index],
        "--kind",
        "mah",
        "--division",
        "320100",
        *hub_args,
    )
    key = _cli("exchange", "key", "--data-dir", str(folder)).strip()
    _cli(
        "platform",
        "add-system",
        name,
        "--role",
        "trace",
        "--operator",
        mah_uscc,
        "--endpoint",
        f"https://{name}.example",
        "--represents",
        mah_uscc,
        "--exchange-key",
        key,
        "--out",
        str(certs),
        *hub_args,
    )
    env = {
        "VAXTRACE_DATA_DIR": str(folder),
        "VAXTRACE_SYSTEM_ID": name,
        "VAXTRACE_PLATFORM_BASE_URL": f"https://127.0.0.1:{platform_port}",
        "VAXTRACE_EXCHANGE_CERT": str(certs / f"{name}.pem"),
        "VAXTRACE_EXCHANGE_KEY_FILE": str(certs / f"{name}.key"),
    }
    return env, mah_uscc, token, _cases(folder / "trace.sqlite", mah_uscc)


def test_two_mahs_reach_the_province_through_the_platform(tmp_path: Path) -> None:
    """Platform, two MAH trace nodes and one province node, each its own process over mutual
    TLS; the province is stopped midway and nothing is lost."""
    hub, prov, certs = tmp_path / "platform", tmp_path / "province", tmp_path / "certs"
    d = ["--data-dir", str(hub)]
    _cli("pki", "init", *d)
    _cli("pki", "issue-server", "127.0.0.1", "--out", str(certs), *d)
    province_port, platform_port = free_port(), free_port()
    nodes = [
        _mah_node(tmp_path, name, d, certs, i, platform_port)
        for i, name in enumerate(("trace-a", "trace-b"))
    ]
    cdc = _cdc(tmp_path / "trace-a" / "trace.sqlite")
    _cli(
        "platform",
        "add-org",
        cdc,
        "示例省疾病预防控制中心",
        "--kind",
        "cdc",
        "--division",
        "320000",
        *d,
    )
    _cli("pki", "issue-system", "platform", "--org", cdc, "--out", str(certs), *d)
    _cli(
        "platform",
        "add-system",
        "province-32",
        "--role",
        "immunization",
        "--operator",
        cdc,
        "--endpoint",
        f"https://127.0.0.1:{province_port}",
        "--represents",
        cdc,
        "--out",
        str(certs),
        *d,
    )
    ca = str(hub / "pki" / "ca.pem")
    tls = (
        "--tls-cert",
        str(certs / "server.pem"),
        "--tls-key",
        str(certs / "server.key"),
        "--tls-ca",
        ca,
    )
    exchange = {"VAXTRACE_EXCHANGE_CA": ca, "VAXTRACE_EXCHANGE_RETRY_SECONDS": "0.2"}
    platform_env = exchange | {
        "VAXTRACE_DATA_DIR": str(hub),
        "VAXTRACE_SYSTEM_ID": "platform",
        "VAXTRACE_EXCHANGE_CERT": str(certs / "platform.pem"),
        "VAXTRACE_EXCHANGE_KEY_FILE": str(certs / "platform.key"),
    }
    province_env = {
        "VAXTRACE_DATA_DIR": str(prov),
        "VAXTRACE_PLATFORM_EXCHANGE_KEY": _cli("exchange", "key", *d).strip(),
    }

    def probe() -> httpx.Client:
        return mtls_client(hub / "pki" / "ca.pem", certs, "trace-a")

    with contextlib.ExitStack() as stack:
        urls = [
            stack.enter_context(serve_node(exchange | env, "--role", "trace")) for env, *_ in nodes
        ]
        stack.enter_context(
            serve_node(platform_env, "--role", "platform", *tls, client=probe(), port=platform_port)
        )

        def ship(node: int, n: int) -> None:
            _env, _mah, token, boxes = nodes[node]
            body = {
                "client_document_id": f"e2e-{n}",
                "document_no": f"E2E-{node}-{n}",
                "business_time": "2026-11-01T09:00:00+08:00",
                "codes": [boxes[n][0]],
                "consignee_uscc": cdc,
                "shipper": "物流部",
                "expected_quantity": boxes[n][1],
            }
            answer = httpx.post(
                f"{urls[node]}/trace/v1/shipping-notes",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 201, answer.text

        with serve_node(
            province_env, "--role", "immunization", *tls, client=probe(), port=province_port
        ):
            for n in (0, 1):
                ship(0, n)
                ship(1, n)
            assert len(_wait_expected(prov, 4)) == 4
        for n in (2, 3):  # the province is down: the platform keeps the notes in its outbox
            ship(0, n)
            ship(1, n)
        time.sleep(1)
        assert len(_expected(prov)) == 4
        with serve_node(
            province_env, "--role", "immunization", *tls, client=probe(), port=province_port
        ):
            got = _wait_expected(prov, 8)
    assert sorted(got) == sorted(f"E2E-{node}-{n}" for node in (0, 1) for n in range(4))
    for node in (0, 1):  # each MAH's notes arrive in the order it shipped them
        assert [g for g in got if g.startswith(f"E2E-{node}-")] == [
            f"E2E-{node}-{n}" for n in range(4)
        ]
