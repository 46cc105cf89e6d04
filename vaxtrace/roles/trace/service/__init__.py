"""Use cases of a vaccine trace system (疫苗追溯系统) run by a MAH or a third party for several.

Every write runs in one transaction, checks first, and is idempotent by its client document
id: the write frame every role shares (``vaxtrace.store.write_frame``) makes it so; ``writes``
is how a trace write runs in it (its event, its leaf in the log, its steps on codes).

One module per domain concept: ``registry`` (organisations, tokens, products, coding rules,
batches), ``commissioning``, ``packaging``, ``quality`` (self-inspection, lot release),
``movements`` (warehousing, shipping, sales return, destruction), ``recalls``, ``temperature``,
``locks``, ``corrections``, ``queries``; ``lookups`` and ``writes`` are what they share.
``TraceService`` (in ``facade``) gathers them into the object the API, CLI and simulator use.
"""

from vaxtrace.roles.trace.service.facade import TraceService
from vaxtrace.store.write_frame import WriteResult

__all__ = ["TraceService", "WriteResult"]
