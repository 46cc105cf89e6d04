"""What the data-set tests share: a MAH's credit code, the header of a write, and a check that
a model refuses some data naming the fault."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

MAH = "91110000600037341L"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
WRITE: dict[str, Any] = {"client_document_id": "doc-1", "business_time": T0, "document_no": "N1"}


def refused(model: type[Any], data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    assert fragment in str(info.value), str(info.value)
