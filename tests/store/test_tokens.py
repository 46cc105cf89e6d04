"""The one token service: a token is issued only to a holder the role knows, answered once
(only its SHA-256 is kept) and then tells whose it is, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, select

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.sim.catalogue import mahs
from vaxtrace.store.rows import put_row
from vaxtrace.store.tokens import PREFIX, StaffTokens, token_sha256
from vaxtrace.store.trace.schema import api_token, organisation

MAH = mahs(1)[0].organisation


def _registered(conn: Connection, uscc: str) -> None:
    found = conn.execute(select(organisation.c.uscc).where(organisation.c.uscc == uscc))
    if found.first() is None:
        raise DomainError(Reason.UNKNOWN_ORGANISATION, f"{uscc} is not registered here")


def test_a_token_is_issued_to_a_known_holder_and_tells_whose_it_is(trace_engine: Engine) -> None:
    tokens = StaffTokens(trace_engine, api_token, _registered)
    with pytest.raises(DomainError) as refused:
        tokens.issue(MAH.uscc)
    assert refused.value.reason == Reason.UNKNOWN_ORGANISATION
    with trace_engine.begin() as conn:
        put_row(conn, organisation, MAH.model_dump(mode="json"))
    token = tokens.issue(MAH.uscc, "staff")
    assert token.startswith(PREFIX)
    assert tokens.holder(token) == MAH.uscc
    assert tokens.holder(token + "x") is None
    with trace_engine.connect() as conn:
        kept = conn.execute(select(api_token.c.token_sha256, api_token.c.label)).all()
    assert [tuple(row) for row in kept] == [(token_sha256(token), "staff")]
