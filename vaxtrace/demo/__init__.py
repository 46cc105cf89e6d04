"""The demo: a synthetic province served by all roles in one process, each on its own database,
talking through the exchange API in-process; and the self-check that proves it works.

By phase: ``world`` builds the province (``build``; ``wipe`` clears an earlier one), ``chain``
runs the chain and checks it (``run``), with the province's day, the dose gate's day and the
staff's steps in ``province_day``, ``gate_day`` and ``steps``; ``vaxtrace demo``
(``vaxtrace/commands/demo.py``) prints what it made."""

from vaxtrace.demo.chain import run
from vaxtrace.demo.world import Demo, build, cast, wipe

__all__ = ["Demo", "build", "cast", "run", "wipe"]
