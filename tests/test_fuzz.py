"""A schema-driven fuzz run (schemathesis) over every role's app, in-process (ASGI): requests
made from the OpenAPI document, valid and invalid, each answered without a server error, with a
status and a content type the document lists for the operation, and a body its schema takes.

Bounded: :data:`EXAMPLES` cases per operation and generation mode, derandomized (the same cases
every run), over a node of each role on SQLite (what is checked, the answer's shape, does not
depend on the backend). Staff routes are called with a staff token of a known organisation
and system routes with a registered system's certificate, so that requests get past who calls
to the refusals and answers behind it; a case the generator sends without them meets 401."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import schemathesis.checks
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from vaxtrace.app import build_app
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.pki import CertificateAuthority
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import mahs, provincial_cdc, provincial_regulator
from vaxtrace.web.tls import with_tls

EXAMPLES = 12
"""Cases per operation and generation mode: about 1,600 in all, in about a minute."""

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]

ROLES = ("trace", "platform", "immunization", "supervision")
MAH = mahs(1)[0].organisation


@dataclass
class Node:
    """A role's app as the fuzzer calls it: with a client certificate of a registered system,
    and a staff token of an organisation of the role."""

    app: Any
    headers: dict[str, str] = field(default_factory=dict)
    close: Callable[[], None] = lambda: None


def _staff(svc: Any, org: Any) -> dict[str, str]:
    svc.register_organisation(org)
    return {"authorization": f"Bearer {svc.issue_token(org.uscc)}"}


def _node(role: str, tmp: Path) -> Node:
    settings = Settings(data_dir=tmp / role)
    ca = CertificateAuthority(settings.pki_dir)
    ca.create()
    app = build_app(settings, roles=(role,))
    ca.issue_system("trace-a", MAH.uscc, tmp / "certs")
    pem = (tmp / "certs" / "trace-a.pem").read_text()
    tls = {"client_cert_chain": [pem], "client_cert_name": "CN=trace-a"}
    node = Node(with_tls(app, tls))
    if role == "trace":
        node.headers = _staff(app.state.trace, MAH)
    elif role == "immunization":
        node.headers = _staff(app.state.immunization, provincial_cdc())
        node.close = app.state.immunization.close
    elif role == "supervision":
        node.headers = _staff(app.state.supervision, provincial_regulator())
    else:
        hub = app.state.platform
        hub.register_organisation(
            RegisteredOrganisation(uscc=MAH.uscc, name=MAH.name, kind="mah", division_code="320100")
        )
        hub.register_system(
            ConnectedSystem(
                system_id="trace-a",
                name="trace-a",
                role="trace",
                operator_uscc=MAH.uscc,
                endpoint="https://trace-a.example",
                represents=(MAH.uscc,),
            )
        )
    return node


@pytest.fixture(scope="module", params=ROLES)
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    made = _node(request.param, tmp_path_factory.mktemp(request.param))
    yield made
    made.close()


def _findings(error: BaseException) -> list[str]:
    """What a failed case found: each check that failed, in a line."""
    if isinstance(error, BaseExceptionGroup):
        return [line for sub in error.exceptions for line in _findings(sub)]
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return [f"{type(error).__name__}: {' / '.join(lines[:3])}"[:300]]


def fuzz(node: Node, mode: GenerationMode) -> tuple[int, list[str]]:
    """Every operation of the node's document, ``EXAMPLES`` cases each: how many were sent,
    and what failed (once per operation and kind of failure, with a case that shows it)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", node.app)
    failures: dict[str, str] = {}
    sent = 0
    for result in schema.get_all_operations():
        with contextlib.suppress(Unsatisfiable):  # no invalid request of it can be made
            sent += _fuzz_operation(result.ok(), node, mode, failures)
    return sent, [f"{what}\n    {curl}" for what, curl in failures.items()]


def _fuzz_operation(
    operation: Any, node: Node, mode: GenerationMode, failures: dict[str, str]
) -> int:
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        try:
            case.call_and_validate(headers=node.headers, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as error:  # every failure, not the first
            for line in _findings(error):
                failures.setdefault(f"{case.operation.label}: {line}", case.as_curl_command())

    run()
    return sent


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_as_documented(node: Node, mode: GenerationMode) -> None:
    sent, failures = fuzz(node, mode)
    print(f"{mode.value}: {sent} cases")  # the figure -s shows
    assert sent > 0
    assert failures == [], "\n".join(failures)
