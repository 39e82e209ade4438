"""Fixtures for the object-store suite: one real SeaweedFS per session, and `object_store`
parametrized over the local store and the S3 store (a fresh bucket per test)."""

from __future__ import annotations

import os
import uuid

import pytest

from storage.local_store import LocalObjectStore
from tests.support.seaweedfs import SeaweedUnavailable, start_seaweedfs

# Short retry settings so tests that take the store away stay fast.
FAST_RETRY = {"tries": 3, "backoff": 0.05, "timeout": 2}


def _unavailable(reason: str):
    if os.environ.get("SOHOA_REQUIRE_SERVICES") == "1":
        pytest.fail(f"SeaweedFS required (SOHOA_REQUIRE_SERVICES=1) but unavailable: {reason}")
    pytest.skip(f"SeaweedFS unavailable: {reason}")


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    try:
        server = start_seaweedfs(tmp_path_factory.mktemp("seaweed"))
    except (SeaweedUnavailable, OSError) as exc:
        _unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


def new_bucket_name() -> str:
    return f"sohoa-test-{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=["local", "s3"])
def object_store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    from storage.s3_store import S3ObjectStore

    server = request.getfixturevalue("seaweed")
    return S3ObjectStore.from_url(server.bucket_url(new_bucket_name(), **FAST_RETRY))
