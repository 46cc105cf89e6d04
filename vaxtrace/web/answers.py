"""How a write answers over HTTP: 201 when it wrote, 200 when it answered a retry again (with
``Idempotent-Replayed: true``), the write's body either way."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from vaxtrace.store.write_frame import WriteResult


def mark_replayed(response: Response, replayed: bool) -> None:
    response.status_code = 200 if replayed else 201
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"


def write_answer(result: WriteResult, response: Response) -> dict[str, Any]:
    mark_replayed(response, result.replayed)
    return result.body
