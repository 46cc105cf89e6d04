"""Never over capacity over real HTTP: a node served by uvicorn on a local port, 200 guardians'
bookings sent at once from 200 threads for a slot of 100 places, on SQLite and PostgreSQL:
exactly 100 answered 201, the other 100 409 ``slot_full``, and 100 appointments stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from appointments_world import FAST_HASHER, a_tuesday, child, guardian_token, slot
from province_world import PLATFORM_SIGNER, Province, make_province
from sqlalchemy import func, select

from vaxtrace.app import build_app
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.settings import Settings
from vaxtrace.store.immunization import schema

BOOKINGS = 200
PLACES = 100


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Province]]:
    settings = Settings(
        data_dir=tmp_path,
        immunization_database_url=database_url,
        platform_exchange_key=PLATFORM_SIGNER.public_text(),
    )
    app = build_app(settings, roles=("immunization",))
    svc: ImmunizationService = app.state.immunization
    province = make_province(svc.engine)
    province.svc = svc  # the app's own service
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", province
    finally:
        server.should_exit = True
        thread.join(30)


def test_200_bookings_over_http_for_100_places(served: tuple[str, Province]) -> None:
    base, province = served
    public = province.svc.public
    public.passwords = FAST_HASHER
    children = [child(province, n) for n in range(BOOKINGS)]
    token = guardian_token(public)
    slot_id = slot(public, a_tuesday(), capacity=PLACES)
    start = threading.Barrier(BOOKINGS)

    limits = httpx.Limits(max_connections=BOOKINGS, max_keepalive_connections=0)
    client = httpx.Client(base_url=base, timeout=60, limits=limits)  # thread-safe: one for all

    def attempt(child_id: str) -> tuple[int, str]:
        start.wait()
        answer = client.post(
            "/immunization/v1/guardian/appointments",
            json={"slot_id": slot_id, "child_id": child_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        reason = answer.json().get("reason", "") if answer.status_code >= 400 else ""
        return answer.status_code, reason

    with client, ThreadPoolExecutor(max_workers=BOOKINGS) as pool:
        answers = list(pool.map(attempt, children))
    assert answers.count((201, "")) == PLACES, sorted(set(answers))
    assert answers.count((409, "slot_full")) == BOOKINGS - PLACES
    with province.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(schema.appointment)).scalar_one()
        booked = conn.execute(select(schema.appointment_slot.c.booked)).scalar_one()
    assert (stored, booked) == (PLACES, PLACES)
