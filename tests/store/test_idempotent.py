"""A write applied once per client document id, whatever its concurrent twins do."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from vaxtrace.core.errors import Conflict, DomainError
from vaxtrace.store.engine import make_engine
from vaxtrace.store.idempotent import apply_once, check_replay


def _clash(_conn: Connection) -> str:
    raise IntegrityError("INSERT", {}, Exception("unique"))


def _refused(_conn: Connection) -> str:
    raise DomainError("not_held", "held elsewhere")


def test_the_twin_that_lost_answers_as_a_retry(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    assert apply_once(engine, lambda _conn: "first", lambda: None) == "first"
    assert apply_once(engine, _clash, lambda: "winner's answer") == "winner's answer"
    assert apply_once(engine, _refused, lambda: "winner's answer") == "winner's answer"
    with pytest.raises(DomainError) as refused:
        apply_once(engine, _refused, lambda: None)
    assert refused.value.reason == "not_held"  # a real refusal stays one
    with pytest.raises(Conflict) as clashed:
        apply_once(engine, _clash, lambda: None)
    assert clashed.value.reason == "write_conflict"
    engine.dispose()


def test_a_retry_must_be_the_same_request() -> None:
    prior = {"operation": "ship", "request_sha256": "abc"}
    check_replay(prior, "ship", "abc")
    for operation, sha in (("ship", "abd"), ("warehouse", "abc")):
        with pytest.raises(Conflict) as reused:
            check_replay(prior, operation, sha)
        assert reused.value.reason == "client_document_id_reused"
