"""A domain refusal expected with the HTTP status its reason answers with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from vaxtrace.core.errors import DomainError
from vaxtrace.web.problems import status_of


@contextmanager
def refused_with(status: int) -> Iterator[pytest.ExceptionInfo[DomainError]]:
    """Like ``pytest.raises(DomainError)``, and the refusal's reason answers ``status``."""
    with pytest.raises(DomainError) as caught:
        yield caught
    assert status_of(caught.value) == status, (caught.value.reason, status_of(caught.value))
