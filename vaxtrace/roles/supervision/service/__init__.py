"""Use cases of the supervision system (监管系统): take the steps of the chain the platform
copies to it, and the refusals of reports between nodes (findings), once each, and show each
regulator those inside its division.

One module per concern: ``receiving`` (what the platform copies here: steps, findings, MAHs'
safety signals), ``regulators`` (the regulators, from the registry or registered here, and
their staff's API tokens), ``views`` (what a regulator sees), ``alerts`` (raised from findings
and excursions, acknowledged, resolved, escalated, sent), ``validation`` (the rules over what
arrived), ``flows`` (a batch's flow, statistics and recall progress, shaped for charts),
``locks`` (a regulator's own locks, sent down the chain), ``recalls`` (召回管理: a recall's
units, completion, milestones, closing and public notice). ``SupervisionService`` (in
``facade``) gathers them.
"""

from vaxtrace.roles.supervision.service.alerts import MAX_ALERTS
from vaxtrace.roles.supervision.service.facade import SupervisionService
from vaxtrace.roles.supervision.service.locks import MAX_LOCKS
from vaxtrace.roles.supervision.service.receiving import (
    EXCHANGE_REFUSAL,
    SIGNAL_KIND,
    Copied,
    SignalCopy,
)
from vaxtrace.roles.supervision.service.views import MAX_FINDINGS, MAX_STEPS

__all__ = [
    "EXCHANGE_REFUSAL",
    "MAX_ALERTS",
    "MAX_FINDINGS",
    "MAX_LOCKS",
    "MAX_STEPS",
    "SIGNAL_KIND",
    "Copied",
    "SignalCopy",
    "SupervisionService",
]
