"""Use cases of the provincial immunization system (省级免疫规划信息系统).

One module per concern: ``exchange`` (what the platform forwards: shipping notes, refusals),
``alerts`` (refused reports as alerts of the unit that did the step),
``receipts`` (scan verification against a shipping note or a distribution), ``receiving``
(the 107 receipt that confirms it), ``movements`` (209 distribution,
322 vaccination, 202 return, 215 damage), ``inventory`` (stock by code), ``identities``
(organisations and API tokens); ``writes`` is how every write runs in the write frame every
role shares (``vaxtrace.store.write_frame``: one transaction, idempotent by client document
id), reported through the outbox, and ``lookups`` what they share. ``ImmunizationService``
(in ``facade``) gathers them.
"""

from vaxtrace.roles.immunization.service.facade import ImmunizationService
from vaxtrace.store.write_frame import WriteResult

__all__ = ["ImmunizationService", "WriteResult"]
