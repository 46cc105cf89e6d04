"""The origin of a forwarded message: the one ``forwarded_from`` names, else the message's own."""

from __future__ import annotations

from vaxtrace.core.forwarding import Origin, origin_of


def test_a_forwarded_message_names_its_origin() -> None:
    payload = {"forwarded_from": {"system_id": "province-js", "event_id": "e-7"}, "x": 1}
    assert origin_of(payload, sender="platform", event_id="e-1") == Origin("province-js", "e-7")


def test_a_message_not_forwarded_is_its_own_origin() -> None:
    for payload in ({}, {"forwarded_from": None}, {"forwarded_from": {"system_id": ""}}):
        assert origin_of(payload, sender="trace-a", event_id="e-1") == Origin("trace-a", "e-1")
