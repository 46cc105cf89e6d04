"""The header every write carries: the client document id and the business time."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.core.datasets.datasets_world import WRITE, refused
from vaxtrace.core.datasets.production import Commission


@pytest.mark.parametrize("doc_id", ["", "a b", "单据1", "x" * 65])
def test_client_document_id_format(doc_id: str) -> None:
    refused(
        Commission,
        {**WRITE, "client_document_id": doc_id, "batch_no": "B1", "cases": 1},
        "client_document_id",
    )


def test_business_time_must_carry_a_time_zone() -> None:
    naive = {**WRITE, "business_time": datetime(2026, 3, 1, 8, 0)}
    refused(Commission, {**naive, "batch_no": "B1", "cases": 1}, "business_time")
