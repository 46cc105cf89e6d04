"""What a receiver's answer means to the sender: a 4xx problem is a refusal (final), anything
else not 2xx — a 5xx, a 4xx meaning "later", an answer without a problem — a failure to retry."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from vaxtrace.exchange.delivery import Refused
from vaxtrace.exchange.transport import batch_sender

PROBLEM = {
    "type": "https://vaxtrace.example/problems/locked",
    "title": "locked",
    "status": 409,
    "detail": "envelopes[1]: 1 code(s) e.g. 80000010000000017: the code is locked (pending)",
    "reason": "locked",
    "field": "envelopes[1].codes",
}


def sender(status: int, body: Any = None, text: str = "") -> Any:
    def answer(_request: httpx.Request) -> httpx.Response:
        if body is not None:
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=text)

    def clients(endpoint: str) -> AbstractContextManager[httpx.Client]:
        return httpx.Client(base_url=endpoint, transport=httpx.MockTransport(answer))

    return batch_sender(clients, lambda _r: ("https://trace-a.example", "/trace/v1/x"))


def test_a_problem_answer_is_a_refusal_naming_the_envelope() -> None:
    send = sender(409, PROBLEM)
    with pytest.raises(Refused) as refused:
        send("trace-a", [{"n": 0}, {"n": 1}])
    assert refused.value.status == 409 and refused.value.place(2) == 1
    assert refused.value.of_item(1).parts == (
        409,
        "locked",
        "codes",
        "1 code(s) e.g. 80000010000000017: the code is locked (pending)",
    )


@pytest.mark.parametrize(
    ("status", "body", "text"),
    [
        (500, {"reason": "internal"}, ""),  # the receiver broke: try again
        (503, None, "unavailable"),
        (404, None, "<html>not here</html>"),  # a proxy, not the receiver: no problem body
        (401, {"reason": "unauthenticated", "detail": "no client certificate"}, ""),
        (429, {"reason": "too_many_requests"}, ""),
    ],
)
def test_other_answers_are_failures_to_retry(status: int, body: Any, text: str) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        sender(status, body, text)("trace-a", [{"n": 0}])


def test_a_taken_batch_raises_nothing() -> None:
    sender(201, {"results": []})("trace-a", [{"n": 0}])
