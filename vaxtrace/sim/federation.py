"""A federation on one machine: the platform's CA, trace nodes of MAHs and a province node, each
run as its own ``vaxtrace serve`` process on loopback with mutual TLS. Used by the cross-process
tests and by ``bench/exchange.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation, SystemRole
from vaxtrace.exchange.envelope import Ed25519Signer
from vaxtrace.exchange.pki import CertificateAuthority
from vaxtrace.ledger.checkpoint import ed25519_key_at
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import platform_operator
from vaxtrace.store.engine import make_engine
from vaxtrace.store.migrate import upgrade

MAH_NAMES = ("华东示例生物制品股份有限公司", "江南示范疫苗有限公司", "金陵模拟生物技术有限公司")
"""Full legal names of the simulator's MAHs, in the order ``sim.catalogue.mahs`` makes them."""


def log_key_of(env: dict[str, str], role: str) -> str:
    """``vaxtrace ledger key --role ROLE`` on the node of ``env``: its log's verifier key."""
    command = [sys.executable, "-m", "vaxtrace.cli", "ledger", "key", "--role", role]
    answer = subprocess.run(
        command, env=os.environ | env, capture_output=True, text=True, check=True, timeout=120
    )
    return answer.stdout.splitlines()[0]


def issue_token(env: dict[str, str], uscc: str, role: str) -> str:
    """``vaxtrace token issue USCC --role ROLE`` on the node of ``env`` (which must know the
    organisation, from its registry copy): a staff API token."""
    command = [sys.executable, "-m", "vaxtrace.cli", "token", "issue", uscc, "--role", role]
    answer = subprocess.run(
        command, env=os.environ | env, capture_output=True, text=True, check=True, timeout=120
    )
    return answer.stdout.splitlines()[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mtls_client(ca_file: Path, cert_dir: Path | None = None, name: str = "") -> httpx.Client:
    """An HTTPS client trusting ``ca_file``, presenting ``cert_dir/name.pem`` if given."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if cert_dir is not None:
        context.load_cert_chain(str(cert_dir / f"{name}.pem"), str(cert_dir / f"{name}.key"))
    return httpx.Client(verify=context, timeout=10)


class NodeProcess:
    """``vaxtrace serve ARGS`` as its own process: started until /health answers, stopped as
    an operator would, or killed as a crash would (SIGKILL: no shutdown of any kind).

    ``client`` (e.g. one with a client certificate) does the readiness probe and is closed
    then: a server holding an idle TLS keep-alive connection is slow to stop.
    """

    def __init__(
        self,
        env: dict[str, str],
        *args: str,
        client: Callable[[], httpx.Client] | None = None,
        port: int | None = None,
    ) -> None:
        self.env, self.args, self.client = env, args, client
        self.port = port or free_port()
        scheme = "https" if "--tls-cert" in args else "http"
        self.base = f"{scheme}://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start the node; its base URL once it answers."""
        command = [sys.executable, "-m", "vaxtrace.cli", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*command, *self.args],
            env=os.environ | self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with self.client() if self.client else httpx.Client(timeout=5) as probe:
            for _ in range(300):
                try:
                    if probe.get(f"{self.base}/health").status_code == 200:
                        return self.base
                except httpx.TransportError:
                    time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"vaxtrace serve {' '.join(self.args)} did not start")

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("the node is not running")
        return self.proc.pid

    def kill(self) -> None:
        """Kill the node mid-work, as a power cut or the OOM killer would."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


@contextmanager
def served(node: NodeProcess) -> Iterator[str]:
    """``node`` started; its base URL; stopped after."""
    try:
        yield node.start()
    finally:
        node.stop()


def serve_node(
    env: dict[str, str], *args: str, client: httpx.Client | None = None, port: int | None = None
) -> AbstractContextManager[str]:
    """``vaxtrace serve ARGS`` in its own process (see :class:`NodeProcess`), served for the
    ``with`` block."""
    probe = None if client is None else lambda: client
    return served(NodeProcess(env, *args, client=probe, port=port))


def exchange_key(data_dir: Path) -> str:
    """A node's envelope public key (made on first use), as the platform registers it."""
    return Ed25519Signer(
        ed25519_key_at(Settings(data_dir=data_dir).exchange_signing_key)
    ).public_text()


@dataclass(frozen=True)
class MahNode:
    """A MAH's trace node: its environment, the MAH it ships for and that MAH's API token."""

    env: dict[str, str]
    data_dir: Path
    mah_uscc: str
    token: str
    system_id: str = ""
    port: int | None = None
    """Set when the node serves over mutual TLS at its registered endpoint (it then takes
    what provinces report about its codes)."""


class Federation:
    """The platform's side of a local federation, in ``root``: CA, certificates, registry."""

    def __init__(
        self, root: Path, platform_port: int | None = None, poll_seconds: float = 0.05
    ) -> None:
        self.poll_seconds = poll_seconds
        """Every node's exchange delivery interval (VAXTRACE_EXCHANGE_POLL_SECONDS)."""
        self.hub = root / "platform"
        self.certs = root / "certs"
        self.platform_port = platform_port or free_port()
        self.ca = CertificateAuthority(Settings(data_dir=self.hub).pki_dir)
        self.ca.create()
        self.ca.issue_server(["127.0.0.1"], self.certs)
        engine = make_engine(Settings(data_dir=self.hub).database_url("platform"))
        upgrade(engine, "platform")
        self.platform = PlatformService(engine)
        self.systems: dict[str, ConnectedSystem] = {}
        operator = platform_operator()
        self.add_organisation(operator.uscc, operator.name, operator.kind, operator.division_code)
        self.ca.issue_system("platform", operator.uscc, self.certs)  # also probes nodes' health

    @property
    def ca_file(self) -> Path:
        return self.ca.cert_path

    @property
    def tls_args(self) -> tuple[str, ...]:
        return (
            "--tls-cert",
            str(self.certs / "server.pem"),
            "--tls-key",
            str(self.certs / "server.key"),
            "--tls-ca",
            str(self.ca_file),
        )

    def client(self, system_id: str) -> httpx.Client:
        return mtls_client(self.ca_file, self.certs, system_id)

    def _exchange_env(self, system_id: str) -> dict[str, str]:
        return {
            "VAXTRACE_SYSTEM_ID": system_id,
            "VAXTRACE_NODE_NAME": system_id,  # its logs' names: one per system
            "VAXTRACE_EXCHANGE_CERT": str(self.certs / f"{system_id}.pem"),
            "VAXTRACE_EXCHANGE_KEY_FILE": str(self.certs / f"{system_id}.key"),
            "VAXTRACE_EXCHANGE_CA": str(self.ca_file),
            "VAXTRACE_EXCHANGE_POLL_SECONDS": str(self.poll_seconds),
            "VAXTRACE_EXCHANGE_RETRY_BASE_SECONDS": "0.5",
            "VAXTRACE_REGISTRY_SYNC_SECONDS": "1",
        }

    def add_organisation(self, uscc: str, name: str, kind: OrgKind, division: str) -> None:
        self.platform.register_organisation(
            RegisteredOrganisation(uscc=uscc, name=name, kind=kind, division_code=division)
        )

    def _add_system(
        self,
        system_id: str,
        role: SystemRole,
        operator: str,
        endpoint: str,
        key: str | None,
        also: tuple[str, ...] = (),
    ) -> None:
        system = ConnectedSystem.named_by_id(
            system_id, role, operator, endpoint, (operator, *also), key
        )
        self.platform.register_system(system)
        self.systems[system_id] = system
        self.ca.issue_system(system_id, operator, self.certs)

    def register_log(self, system_id: str, env: dict[str, str], role: str) -> str:
        """Register the verifier key of ``role``'s log on the node of ``env`` (made now if
        the node has none yet), so that the platform witnesses it; answers the key."""
        key = log_key_of(env, role)
        self.systems[system_id] = self.systems[system_id].model_copy(update={"log_key": key})
        self.platform.register_system(self.systems[system_id])
        return key

    def represent(self, system_id: str, *usccs: str) -> None:
        """Let ``system_id`` also submit data for ``usccs`` (a site joining a province, say)."""
        system = self.systems[system_id]
        represents = (*system.represents, *usccs)
        self.systems[system_id] = system.model_copy(update={"represents": represents})
        self.platform.register_system(self.systems[system_id])

    def add_mah_node(
        self, system_id: str, data_dir: Path, index: int, port: int | None = None
    ) -> MahNode:
        """Register the ``index``-th MAH of the demo data in ``data_dir`` and its trace node;
        with a ``port``, at its real endpoint (see :meth:`serve_mah`)."""
        tokens = list(json.loads((data_dir / "demo.json").read_text())["tokens"].items())
        mah_uscc, token = tokens[index]
        self.add_organisation(mah_uscc, MAH_NAMES[index], OrgKind.MAH, "320100")
        endpoint = f"https://127.0.0.1:{port}" if port else f"https://{system_id}.example"
        self._add_system(system_id, SystemRole.TRACE, mah_uscc, endpoint, exchange_key(data_dir))
        env = self._to_platform(system_id) | {"VAXTRACE_DATA_DIR": str(data_dir)}
        return MahNode(env, data_dir, mah_uscc, token, system_id, port)

    def mah_process(self, node: MahNode) -> NodeProcess:
        """A MAH's trace node, to start, stop or kill: over mutual TLS at its endpoint if it
        has a port, else HTTP."""
        if node.port is None:
            return NodeProcess(node.env, "--role", "trace")
        probe = lambda: self.client(node.system_id)  # noqa: E731
        tls = self.tls_args
        return NodeProcess(node.env, "--role", "trace", *tls, client=probe, port=node.port)

    def serve_mah(self, node: MahNode) -> AbstractContextManager[str]:
        return served(self.mah_process(node))

    def add_province(
        self,
        system_id: str,
        cdc_uscc: str,
        data_dir: Path,
        port: int,
        sites: tuple[Organisation, ...] = (),
    ) -> dict[str, str]:
        """Register a province's immunization node serving ``cdc_uscc`` and its vaccination
        ``sites`` (whose reports it sends); its environment."""
        self.add_organisation(cdc_uscc, "示例省疾病预防控制中心", OrgKind.CDC, "320000")
        for site in sites:
            self.add_organisation(site.uscc, site.name, site.kind, site.division_code)
        self._add_system(
            system_id,
            SystemRole.IMMUNIZATION,
            cdc_uscc,
            f"https://127.0.0.1:{port}",
            exchange_key(data_dir),
            tuple(site.uscc for site in sites),
        )
        return self._to_platform(system_id) | {"VAXTRACE_DATA_DIR": str(data_dir)}

    def add_supervision(
        self, system_id: str, regulator: Organisation, data_dir: Path, port: int
    ) -> dict[str, str]:
        """Register a supervision node for ``regulator``, to which the platform copies every
        step done in the regulator's area; its environment."""
        self.add_organisation(
            regulator.uscc, regulator.name, regulator.kind, regulator.division_code
        )
        endpoint = f"https://127.0.0.1:{port}"
        self._add_system(system_id, SystemRole.SUPERVISION, regulator.uscc, endpoint, None)
        return self._to_platform(system_id) | {"VAXTRACE_DATA_DIR": str(data_dir)}

    def _to_platform(self, system_id: str) -> dict[str, str]:
        """A connected system's exchange settings: who it is, where the platform is, and the
        platform's key that what it forwards is signed with."""
        return self._exchange_env(system_id) | {
            "VAXTRACE_PLATFORM_BASE_URL": f"https://127.0.0.1:{self.platform_port}",
            "VAXTRACE_PLATFORM_EXCHANGE_KEY": exchange_key(self.hub),
        }

    def platform_env(self) -> dict[str, str]:
        """The platform node forwarding to provinces under its own system id."""
        return self._exchange_env("platform") | {"VAXTRACE_DATA_DIR": str(self.hub)}

    def platform_process(self) -> NodeProcess:
        """The platform node, to start, stop or kill."""
        return NodeProcess(
            self.platform_env(),
            "--role",
            "platform",
            *self.tls_args,
            client=lambda: self.client("platform"),
            port=self.platform_port,
        )

    def serve_platform(self) -> AbstractContextManager[str]:
        return served(self.platform_process())

    def serve_province(self, env: dict[str, str], port: int) -> AbstractContextManager[str]:
        return self.serve_system("immunization", env, port)

    def system_process(self, role: str, env: dict[str, str], port: int) -> NodeProcess:
        """A connected system's node of ``role`` at its registered endpoint (mutual TLS), to
        start, stop or kill."""
        probe = lambda: self.client("platform")  # noqa: E731
        return NodeProcess(env, "--role", role, *self.tls_args, client=probe, port=port)

    def serve_system(
        self, role: str, env: dict[str, str], port: int
    ) -> AbstractContextManager[str]:
        """A connected system's node of ``role`` at its registered endpoint (mutual TLS)."""
        return served(self.system_process(role, env, port))

    def close(self) -> None:
        self.platform.engine.dispose()
