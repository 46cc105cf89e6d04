"""The platform of the tests, on both backends (see platform_world)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.roles.platform.platform_world import registered_platform
from vaxtrace.roles.platform.service import PlatformService


@pytest.fixture
def platform(platform_engine: Engine) -> PlatformService:
    return registered_platform(platform_engine)
