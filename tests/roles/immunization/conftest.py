"""Fixtures of the immunization-role tests: a province node on each backend."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

# The tests import their helpers (province_world.py, next to this file) under any --import-mode.
sys.path.insert(0, str(Path(__file__).parent))

from province_world import Province, make_province


@pytest.fixture
def province(immunization_engine: Engine) -> Iterator[Province]:
    made = make_province(immunization_engine)
    yield made
    made.svc.close()
