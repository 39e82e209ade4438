"""Shared test fixtures: an isolated SOHOA_HOME per test and the services policy.

With SOHOA_REQUIRE_SERVICES=1 (set by .ci/run) a missing real service is a failure, not a skip.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_SERVICES = os.environ.get("SOHOA_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str):
    """Skip locally, fail in CI: call from a fixture when a real service cannot be reached."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def sohoa_home(tmp_path, monkeypatch):
    """A fresh embedded installation: SQLite, a local object folder and TEST keys in tmp."""
    from sohoa.settings import get_settings

    home = tmp_path / "home"
    monkeypatch.setenv("SOHOA_HOME", str(home))
    for name in ("SOHOA_DATABASE_URL", "SOHOA_STORAGE_URL", "SOHOA_BROKER_URL",
                 "SOHOA_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    import sohoa.runtime

    monkeypatch.setattr(sohoa.runtime, "_runtime", None)
    yield home
    get_settings.cache_clear()


@pytest.fixture
def runtime(sohoa_home):
    from sohoa.runtime import get_runtime

    return get_runtime()
