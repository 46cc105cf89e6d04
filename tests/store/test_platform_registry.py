"""The platform's registry feed: writers take turns, so versions commit in the order drawn and
a node that has applied version N never finds a lower one later."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from tests.roles.platform.platform_world import MAH_A, org
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.store.platform import registry


def test_a_second_writer_waits_for_the_first_to_commit(platform_engine: Engine) -> None:
    if platform_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time already")
    hub = PlatformService(platform_engine)
    answers: dict[str, int] = {}

    def second_writer() -> None:
        answers["version"] = hub.register_organisation(org(MAH_A, "华东示例生物制品股份有限公司"))[
            "version"
        ]

    with platform_engine.connect() as first:
        with first.begin():
            registry.lock_feed(first)
            drawn = registry.record_change(first, "organisation", "X", {"name": "甲"})
            waiting = threading.Thread(target=second_writer)
            waiting.start()
            waiting.join(1.0)
            assert waiting.is_alive() and answers == {}  # it waits for the first to commit
        waiting.join(10)
    assert answers["version"] > drawn
    assert [c["version"] for c in hub.changes(0)["changes"]] == [drawn, answers["version"]]
