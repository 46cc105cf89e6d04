"""Anomalies planted in the demo's chain (``vaxtrace demo --anomalies``): the simulator's
labelled cases of every validation rule (vaxtrace.sim.anomalies), each on doses and a batch of
its own, reported by a faulty province and trace system of their own (``sim-province``,
``sim-trace``) and copied by the platform to the supervision system through the exchange, as
any step is. The regulator's incremental validation must then find every label and nothing
else; the labels stay in the data directory for ``vaxtrace validate --report``."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.registry import RegisteredOrganisation
from vaxtrace.core.supervision import SupervisedStep
from vaxtrace.core.validation.quality import LABELS_FILE, detection_table
from vaxtrace.demo.validation_day import delivered
from vaxtrace.demo.world import Demo
from vaxtrace.node import LOCAL_SYSTEMS
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim import anomalies, supervised_chain
from vaxtrace.store.engine import write_tx
from vaxtrace.store.supervision import validation as findings_store

PER_KIND = 1
"""Cases of each rule the demo plants."""

PROVINCE_KINDS = frozenset({OrgKind.CDC, OrgKind.POV})


def world() -> supervised_chain.SupervisedWorld:
    """The simulator's province whose units the cases use (the demo's MAHs and provincial
    CDC, and CDCs and sites of its own)."""
    return supervised_chain.generate(doses=3, controls=False)


def register_units(platform: PlatformService, known: set[str]) -> None:
    """Register at the platform the simulator's units the demo's cast lacks (before the nodes
    start: their first registry sync brings them to the supervision node)."""
    for org in world().organisations():
        if org.uscc not in known:
            platform.register_organisation(RegisteredOrganisation.model_validate(org.model_dump()))


def anomalies_day(demo: Demo, timeout: float, seed: int = 1) -> list[str]:
    """Plant the cases, let them arrive, validate what arrived, keep the labels, and judge
    the detection: every label found, nothing else."""
    made = anomalies.inject(world(), per_kind=PER_KIND, seed=seed)
    kinds = {o.uscc: o.kind for o in world().organisations()}
    platform = demo.app.state.platform
    with write_tx(platform.engine) as conn:
        for step in made.steps:
            platform.outbox.post(conn, LOCAL_SYSTEMS["supervision"], **_copy(step, kinds))
    if not delivered(demo, timeout):
        return [f"the planted anomalies did not reach the supervision node in {timeout:.0f} s"]
    ran = demo.app.state.supervision.validate()
    anomalies.write_labels(demo.settings.data_dir / LABELS_FILE, made.labels)
    with demo.app.state.supervision.engine.connect() as conn:
        kept = [(str(r["rule"]), str(r["subject"])) for r in findings_store.all_findings(conn)]
    table = detection_table([(x["rule"], x["subject"]) for x in made.labels], kept)
    demo.anomalies = {
        "planted": len(made.labels),
        "steps": len(made.steps),
        "found": ran["found"],
        "table": table,
    }
    missed = [
        f"{line.rule} missed {line.labelled - line.true_positives}"
        for line in table
        if line.true_positives < line.labelled
    ]
    extra = [f"{line.rule} {line.false_positives} false" for line in table if line.false_positives]
    if missed or extra:
        return [f"detection of the planted anomalies: {', '.join(missed + extra)}"]
    return []


def _copy(step: supervised_chain.ChainStep, kinds: dict[str, OrgKind]) -> dict[str, Any]:
    """The envelope the platform copies a faulty system's step in."""
    body = {k: v for k, v in step.step.items() if k != "reported_at"}
    doer = step.step["org_uscc"]
    reporter = "sim-province" if kinds.get(doer) in PROVINCE_KINDS else "sim-trace"
    copy = SupervisedStep.model_validate(body).model_dump(mode="json")
    return {
        "event_type": "20",
        "event_subtype": step.step["bill_type"],
        "data_owner": step.data_owner,
        "payload": {
            "supervised_step": copy,
            "forwarded_from": {
                "system_id": reporter,
                "event_id": step.event_id,
                "created_at": step.step["reported_at"].isoformat(),
            },
        },
    }
