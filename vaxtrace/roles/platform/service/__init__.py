"""Use cases of the collaborative platform (协同服务平台).

One module per concern: ``registry`` (organisations, connected systems and vaccine products,
with the change feed every node pulls), ``coding_rules`` (the coding-rule registry that keeps
codes unique across MAHs), ``resolution`` (address resolution: which trace system holds a
code; the public query entry), ``forwarding`` (the exchange between makers and provinces:
what is taken and where it goes), ``documents`` (what an envelope may carry, and the step it
records), ``refusals`` (refused forwards as alerts, sent back and copied to supervision),
``certificates`` (lot release certificates through the platform). ``PlatformService`` (in
``facade``) gathers them.
"""

from vaxtrace.roles.platform.service.documents import DOCUMENTS
from vaxtrace.roles.platform.service.facade import PlatformService
from vaxtrace.roles.platform.service.refusals import DELIVERY_REFUSED, REFUSALS_TAKEN_BY
from vaxtrace.roles.platform.service.registry import CHANGES_PAGE

__all__ = [
    "CHANGES_PAGE",
    "DELIVERY_REFUSED",
    "DOCUMENTS",
    "REFUSALS_TAKEN_BY",
    "PlatformService",
]
