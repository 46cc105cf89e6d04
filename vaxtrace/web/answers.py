"""How a write answers over HTTP: 201 when it wrote, 200 when it answered a retry again (with
``Idempotent-Replayed: true``), the write's body either way."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import Response


class Written(Protocol):
    """What every role's write frame answers."""

    @property
    def body(self) -> dict[str, Any]: ...

    @property
    def replayed(self) -> bool: ...


def mark_replayed(response: Response, replayed: bool) -> None:
    response.status_code = 200 if replayed else 201
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"


def write_answer(result: Written, response: Response) -> dict[str, Any]:
    mark_replayed(response, result.replayed)
    return result.body
