"""A bounded load of one class of route: as many requests as ``connections`` clients keep
going for ``seconds`` (driven by :mod:`vaxtrace.sim.driver`), with the statuses, transport
failures, stalled connections and latencies they saw, and each node's memory before and
after. Two layouts: ``serve --role all`` on the demo's data (:func:`start_all`), and a
federation of separate processes over mutual TLS — platform, a MAH's trace node, a province
node (:func:`start_separate`). Used by the load suite and ``bench/load.py``."""

from __future__ import annotations

import json
import sqlite3
import ssl
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from vaxtrace.sim.catalogue import provincial_cdc, vaccination_sites
from vaxtrace.sim.driver import Answers, Check, drive_iter, request, timed_requests
from vaxtrace.sim.federation import Federation, NodeProcess, free_port, issue_token

Request = tuple[str, str, dict[str, str], Any]
"""Method, path with its query, headers and JSON body (or None) of one request."""

NOT_NOW = frozenset({429, 503})
""""Not now", as documented: too many requests, or a dependency (the owning trace system,
the database) not answering in time."""


@dataclass(frozen=True)
class RouteClass:
    """One class of route on one node: its request, the statuses it may answer besides "not
    now", how its connections are made (``tls`` for a node serving mutual TLS only) and,
    optionally, how an answer's body is judged."""

    name: str
    node: str
    base: str
    make: Callable[[int], Request]
    allowed: frozenset[int]
    tls: ssl.SSLContext | None = None
    check: Check | None = None


@dataclass
class LoadResult:
    """What ``connections`` clients saw in ``seconds`` of one route class."""

    name: str
    connections: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    wrong: int = 0
    """Answers of an allowed status whose body was wrong (the class's ``check``)."""
    stalled: int = 0
    """Connections that had no answer in the whole run."""

    @classmethod
    def of(cls, name: str, connections: int, answers: Answers) -> LoadResult:
        return cls(
            name,
            connections,
            answers.seconds,
            answers.statuses,
            answers.failures,
            answers.latencies_ms,
            answers.errors,
            answers.stalled,
        )

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[int(0.95 * (len(ordered) - 1))] if ordered else 0.0

    @property
    def slowest_ms(self) -> float:
        return max(self.latencies_ms, default=0.0)

    def unexpected(self, allowed: frozenset[int] | set[int]) -> dict[str, int]:
        """Statuses outside ``allowed``, wrong bodies, stalled connections and every
        transport failure, by kind."""
        found = {str(s): n for s, n in self.statuses.items() if s not in allowed}
        if self.wrong:
            found["wrong answer"] = self.wrong
        if self.stalled:
            found["stalled connections"] = self.stalled
        return found | dict(self.failures)

    def line(self) -> str:
        statuses = " ".join(f"{s}×{n}" for s, n in sorted(self.statuses.items()))
        failed = f"; failed {dict(self.failures)}" if self.failures else ""
        return (
            f"{self.name} @{self.connections}: {self.rate:,.0f} req/s; "
            f"p95 {self.p95_ms:.0f} ms; slowest {self.slowest_ms:.0f} ms; {statuses}{failed}"
        )


def drive(
    route: RouteClass, *, seconds: float, connections: int, timeout: float = 30.0
) -> LoadResult:
    """Keep ``connections`` requests of ``route`` in flight for ``seconds``; an answer later
    than ``timeout`` counts as a failure (``timeout``)."""
    parts = urlsplit(route.base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    counter = iter(range(1 << 62))

    def make() -> bytes:
        method, path, headers, body = route.make(next(counter))
        return request(method, host, port, path, headers, body)

    answers = drive_iter(
        route.base, timed_requests(make, seconds), connections, route.check, route.tls, timeout
    )
    return LoadResult.of(route.name, connections, answers)


def answers_at_once(route: RouteClass, timeout: float = 5.0) -> int | str:
    """One request of ``route`` after a load: its status, or what went wrong."""
    parts = urlsplit(route.base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    method, path, headers, body = route.make(10**9)
    sent = request(method, host, port, path, headers, body)
    answers = drive_iter(route.base, iter([sent]), 1, route.check, route.tls, timeout)
    if answers.failures:
        return ",".join(answers.failures)
    status = next(iter(answers.statuses))
    return "wrong answer" if answers.errors else status


def resident_mib(pid: int) -> float:
    """A process's resident memory (Linux), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for process {pid}")


def memory_flat(before_mib: float, after_mib: float) -> bool:
    """A node's memory after a load is "flat": at most half again what it was, plus 50 MiB
    (its caches, pools and the connections' buffers filling; a leak grows with the requests
    and a minute at a few hundred requests a second passes this bound)."""
    return after_mib <= before_mib * 1.5 + 50


@dataclass
class Layout:
    """Nodes serving, and the route classes to drive over them."""

    name: str
    nodes: dict[str, NodeProcess]
    classes: list[RouteClass]
    tls: ssl.SSLContext | None = None
    """How to reach the nodes' /health (a client certificate where they serve mutual TLS)."""
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def memory(self) -> dict[str, float]:
        """Each node's resident memory, MiB."""
        return {name: resident_mib(node.pid) for name, node in self.nodes.items()}

    def health(self) -> dict[str, int | str]:
        """Each node's /health status (or what went wrong)."""
        found: dict[str, int | str] = {}
        for name, node in self.nodes.items():
            probe = RouteClass(
                "health", name, node.base, lambda _: ("GET", "/health", {}, None), frozenset()
            )
            found[name] = answers_at_once(
                probe if node.base.startswith("http:") else _tls(probe, self.tls)
            )
        return found

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()
        for step in self.cleanup:
            step()


def _tls(route: RouteClass, tls: ssl.SSLContext | None) -> RouteClass:
    return RouteClass(route.name, route.node, route.base, route.make, route.allowed, tls)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fridge_record() -> dict[str, Any]:
    """A new record of a new fridge each time."""
    now, fridge = datetime.now(UTC), uuid.uuid4().hex
    return {
        "client_document_id": f"load-{fridge}",
        "equipment_id": f"FRIDGE-{fridge}",
        "kind": "storage",
        "product_class": "freeze_sensitive_2_8",
        "readings": [
            {"time": (now - timedelta(minutes=30 - 10 * i)).isoformat(), "celsius": 5.0}
            for i in range(3)
        ],
    }


# --- serve --role all ------------------------------------------------------------------------


def start_all(folder: Path, units: int = 6000) -> Layout:
    """Make the demo's data in ``folder`` and serve every role on it (``stop`` after)."""
    from typer.testing import CliRunner

    from vaxtrace.cli import app
    from vaxtrace.node import immunization_service
    from vaxtrace.settings import Settings

    demo_args = ["demo", "--no-serve", "--units", str(units), "--data-dir", str(folder)]
    made = CliRunner().invoke(app, demo_args)
    if made.exit_code != 0:
        raise RuntimeError(made.output)
    info = json.loads((folder / "demo.json").read_text())
    province = immunization_service(Settings(data_dir=folder), local=True)
    cdc, site = provincial_cdc().uscc, vaccination_sites()[0].uscc
    tokens = {org: province.issue_token(org, "load") for org in (cdc, site)}
    note = next(n for n in province.expected(cdc) if not n["closed"])
    province.engine.dispose()
    node = NodeProcess({"VAXTRACE_DATA_DIR": str(folder)})
    base = node.start()
    codes: list[str] = list(info["codes"])
    mah = _bearer(next(iter(info["tokens"].values())))
    scans = [(str(note["note_no"]), str(code)) for code in note["codes"]]
    classes = [
        _public(base, codes[:1], None),
        RouteClass(
            "trace query",
            "all",
            base,
            lambda n: ("GET", f"/trace/v1/codes?code={quote(codes[0])}", mah, None),
            frozenset({200}),
        ),
        _fridges(base, _bearer(tokens[cdc]), None),
        _receipt_scans(base, _bearer(tokens[cdc]), scans, None),
        _dose_checks(base, _bearer(tokens[site]), codes, None),
    ]
    return Layout("role all", {"all": node}, classes)


def _public(base: str, codes: list[str], tls: ssl.SSLContext | None) -> RouteClass:
    def make(n: int) -> Request:
        return ("GET", f"/platform/v1/public/codes?code={quote(codes[n % len(codes)])}", {}, None)

    return RouteClass("public query", "platform", base, make, frozenset({200}), tls)


def _fridges(base: str, cdc: dict[str, str], tls: ssl.SSLContext | None) -> RouteClass:
    def make(n: int) -> Request:
        return ("POST", "/immunization/v1/temperature-records", cdc, fridge_record())

    return RouteClass("staff write", "province", base, make, frozenset({201}), tls)


def _receipt_scans(
    base: str, cdc: dict[str, str], scans: list[tuple[str, str]], tls: ssl.SSLContext | None
) -> RouteClass:
    def make(n: int) -> Request:
        note_no, code = scans[n % len(scans)]
        return ("POST", f"/immunization/v1/receipts/{note_no}/scans", cdc, {"code": code})

    return RouteClass("receipt scan", "province", base, make, frozenset({200, 201}), tls)


def _dose_checks(
    base: str, site: dict[str, str], codes: list[str], tls: ssl.SSLContext | None
) -> RouteClass:
    def make(n: int) -> Request:
        return ("POST", "/immunization/v1/dose-checks", site, {"code": codes[n % len(codes)]})

    return RouteClass("dose-check", "province", base, make, frozenset({200}), tls)


# --- separate nodes --------------------------------------------------------------------------

SYSTEM, PROVINCE = "trace-a", "province-32"
EXCHANGE = "/platform/v1/exchange/batches"


def start_separate(folder: Path, units: int = 3000, notes: int = 8) -> Layout:
    """A federation on loopback, each node its own process over mutual TLS: the platform, the
    first MAH's trace node (the demo's data, ``units``) and a province node serving the
    provincial CDC and a vaccination site. The MAH ships ``notes`` notes of a box each to the
    CDC through the platform, so that the province has receipts to scan and the platform
    envelopes it has taken (``stop`` after)."""
    _demo(folder / "mah", units)
    federation = Federation(folder)
    layout = Layout("separate nodes", {}, [], cleanup=[federation.close])
    try:
        _serve_federation(federation, folder, layout, notes)
    except BaseException:
        layout.stop()
        raise
    return layout


def _demo(mah_dir: Path, units: int) -> None:
    command = [sys.executable, "-m", "vaxtrace.cli", "demo", "--no-serve"]
    subprocess.run(
        [*command, "--units", str(units), "--data-dir", str(mah_dir)],
        check=True,
        capture_output=True,
    )


def _serve_federation(federation: Federation, folder: Path, layout: Layout, notes: int) -> None:
    mah = federation.add_mah_node(SYSTEM, folder / "mah", 0, port=free_port())
    cdc, site = provincial_cdc(), vaccination_sites()[0]
    port = free_port()
    province_env = federation.add_province(
        PROVINCE, cdc.uscc, folder / "province", port, sites=(site,)
    )
    layout.nodes |= {
        "platform": federation.platform_process(),
        "trace": federation.mah_process(mah),
        "province": federation.system_process("immunization", province_env, port),
    }
    for node in layout.nodes.values():
        node.start()
    trace_db, province_db = (
        folder / "mah" / "trace.sqlite",
        folder / "province" / "immunization.sqlite",
    )
    codes = _doses(trace_db, mah.mah_uscc, 2000)
    _until(lambda: _resolves(federation, codes[0]), "the platform resolves the MAH's codes")
    _until(lambda: _knows(province_db, site.uscc), "the province knows its site")
    trace_base, platform_base = layout.nodes["trace"].base, layout.nodes["platform"].base
    as_platform = _context(federation, "platform")
    as_trace = _context(federation, SYSTEM)
    _ship(trace_base, as_trace, mah.token, cdc.uscc, _boxes(trace_db, mah.mah_uscc, notes))
    _until(lambda: _count(province_db, "expected_receipt") >= notes, "the notes reach the province")
    _until(lambda: _delivered(trace_db) >= notes, "the platform takes the MAH's envelopes")
    cdc_token = issue_token(province_env, cdc.uscc, "immunization")
    site_token = issue_token(province_env, site.uscc, "immunization")
    scans = _note_codes(province_db)
    province_base = layout.nodes["province"].base
    layout.tls = as_platform
    layout.classes = [
        _public(platform_base, codes, as_platform),
        _fridges(province_base, _bearer(cdc_token), as_platform),
        _receipt_scans(province_base, _bearer(cdc_token), scans, as_platform),
        _dose_checks(province_base, _bearer(site_token), codes, as_platform),
        _exchange_posts(platform_base, _envelopes(trace_db), as_trace),
    ]


def _context(federation: Federation, system_id: str) -> ssl.SSLContext:
    """A TLS client trusting the federation's CA and presenting ``system_id``'s certificate."""
    context = ssl.create_default_context(cafile=str(federation.ca_file))
    certs = federation.certs
    context.load_cert_chain(str(certs / f"{system_id}.pem"), str(certs / f"{system_id}.key"))
    return context


def _until(done: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.2)


def _rows(database: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        return list(db.execute(query, params).fetchall())


def _count(database: Path, table: str) -> int:
    try:
        return int(_rows(database, f"SELECT count(*) FROM {table}")[0][0])
    except (sqlite3.OperationalError, IndexError):
        return 0


def _knows(database: Path, uscc: str) -> bool:
    try:
        return bool(_rows(database, "SELECT 1 FROM organisation WHERE uscc = ?", uscc))
    except sqlite3.OperationalError:
        return False


def _resolves(federation: Federation, code: str) -> bool:
    from vaxtrace.core.errors import DomainError

    try:
        return str(federation.platform.resolve(code)["system_id"]) == SYSTEM
    except DomainError:
        return False


def _doses(trace_db: Path, mah_uscc: str, count: int) -> list[str]:
    rows = _rows(
        trace_db,
        "SELECT c.code FROM trace_code c JOIN product p ON p.id = c.product_id "
        "WHERE c.level = 1 AND p.mah_uscc = ? ORDER BY c.id LIMIT ?",
        mah_uscc,
        count,
    )
    return [str(r[0]) for r in rows]


def _boxes(trace_db: Path, mah_uscc: str, count: int) -> list[tuple[str, int]]:
    """``count`` boxes still at the MAH, with their doses."""
    rows = _rows(
        trace_db,
        "SELECT b.code, (SELECT count(*) FROM trace_code d WHERE d.parent_id = b.id) "
        "FROM trace_code b JOIN product p ON p.id = b.product_id WHERE b.level = 2 AND "
        "b.holder_uscc = ? AND p.mah_uscc = ? ORDER BY b.id LIMIT ?",
        mah_uscc,
        mah_uscc,
        count,
    )
    if len(rows) < count:
        raise RuntimeError(f"only {len(rows)} boxes at the MAH")
    return [(str(r[0]), int(r[1])) for r in rows]


def _ship(
    base: str, tls: ssl.SSLContext, token: str, cdc: str, boxes: list[tuple[str, int]]
) -> None:
    """A shipping note of each box, to the CDC."""
    with httpx.Client(base_url=base, verify=tls, timeout=30, headers=_bearer(token)) as client:
        for n, (box, doses) in enumerate(boxes):
            note = {
                "client_document_id": f"load-{n}",
                "document_no": f"LOAD-{n}",
                "business_time": datetime.now(UTC).isoformat(),
                "codes": [box],
                "consignee_uscc": cdc,
                "shipper": "物流部",
                "expected_quantity": doses,
            }
            answer = client.post("/trace/v1/shipping-notes", json=note)
            if answer.status_code != 201:
                raise RuntimeError(f"shipping note {n}: {answer.status_code} {answer.text}")


def _delivered(trace_db: Path) -> int:
    return len(_envelopes(trace_db))


def _envelopes(trace_db: Path) -> list[dict[str, Any]]:
    """The envelopes the MAH's node sent as ``SYSTEM`` that the platform took."""
    try:
        rows = _rows(
            trace_db,
            "SELECT envelope FROM exchange_outbox WHERE receiver = 'platform' "
            "AND state = 'delivered' ORDER BY sequence",
        )
    except sqlite3.OperationalError:
        return []
    envelopes = [json.loads(r[0]) for r in rows]
    return [e for e in envelopes if e.get("system_id") == SYSTEM]


def _note_codes(province_db: Path) -> list[tuple[str, str]]:
    """Each announced note's number with each code it carries."""
    rows = _rows(province_db, "SELECT note_no, note FROM expected_receipt ORDER BY note_no")
    return [(str(no), str(code)) for no, note in rows for code in json.loads(note)["codes"]]


def _exchange_posts(base: str, envelopes: list[dict[str, Any]], tls: ssl.SSLContext) -> RouteClass:
    """Batches of envelopes the platform took already: each answered as a duplicate."""
    batches = [
        json.dumps({"envelopes": envelopes[n : n + 2]}).encode() for n in range(len(envelopes) - 1)
    ]

    def make(n: int) -> Request:
        return ("POST", EXCHANGE, {}, batches[n % len(batches)])

    def duplicates(sent: bytes, status: int, body: bytes) -> bool:
        if status != 201:
            return True  # the status is judged on its own
        results = json.loads(body)["results"]
        return len(results) == 2 and all(
            bool(r["duplicate"]) and not r["accepted"] for r in results
        )

    return RouteClass("exchange post", "platform", base, make, frozenset({201}), tls, duplicates)
