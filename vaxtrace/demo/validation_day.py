"""The regulator's validation (校验) of the demo's chain: once every node has sent what it
did, the supervision system applies every rule to everything it was told; the demo's chain is
clean, so a finding is a self-check failure (a rule that cries wolf, or a node that reported
wrong)."""

from __future__ import annotations

import time
from typing import Any

from vaxtrace.demo.world import Demo


def delivered(demo: Demo, timeout: float) -> bool:
    """Whether every node's outbox delivered all it holds (within ``timeout`` seconds)."""
    state = demo.app.state
    outboxes = [
        node.outbox
        for node in (state.trace, state.platform, state.immunization)
        if node.outbox is not None
    ]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(o.health()["pending"] == 0 for o in outboxes):
            return True
        time.sleep(0.05)
    return False


def validation_day(demo: Demo, timeout: float) -> list[str]:
    """Validate the whole chain in full; remember the run in ``demo.validation``."""
    if not delivered(demo, timeout):
        return [f"the nodes' outboxes did not drain in {timeout:.0f} s"]
    ran: dict[str, Any] = demo.app.state.supervision.validate(full=True)
    demo.validation = {k: v for k, v in ran.items() if k != "new"}
    if ran["found"]:
        found = ", ".join(f"{rule} {n}" for rule, n in sorted(ran["by_rule"].items()))
        sample = "; ".join(f"{f.rule} {f.subject}" for f in ran["new"][:5])
        return [f"validation of the clean chain found {ran['found']}: {found} (e.g. {sample})"]
    return []
