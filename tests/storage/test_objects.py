"""One suite for every object store (local folder and S3 on a real SeaweedFS), plus the parts
that only one of them has: atomic local writes, S3 multipart, retries and object lock."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import time
from pathlib import Path

import pytest
from minio.error import S3Error

from storage.local_store import LocalObjectStore
from storage.objects import (
    CHUNK,
    ObjectIntegrityError,
    ObjectNotFound,
    ObjectStoreError,
    ObjectStoreUnavailable,
    StoredObject,
    open_object_store,
)
from storage.s3_store import S3ObjectStore
from tests.storage.conftest import FAST_RETRY, new_bucket_name

MIB = 1024 * 1024


def corrupt(store, key: str) -> None:
    """Flip one byte of the stored object behind the store's back, keeping its recorded sha."""
    if isinstance(store, LocalObjectStore):
        path = store.root / key
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        return
    client = store._client
    response = client.get_object(store.bucket, key)
    try:
        data = bytearray(response.read())
        sha = response.headers["x-amz-meta-sha256"]
    finally:
        response.close()
        response.release_conn()
    data[len(data) // 2] ^= 0x01
    client.put_object(store.bucket, key, io.BytesIO(bytes(data)), len(data),
                      metadata={"sha256": sha})


def test_put_bytes_get_bytes_roundtrip(object_store):
    data = "Giấy chứng nhận đăng ký hộ kinh doanh".encode() * 50
    stored = object_store.put_bytes("results/01/2025/a.pdf", data, "application/pdf")
    assert stored == StoredObject("results/01/2025/a.pdf", len(data),
                                  hashlib.sha256(data).hexdigest())
    assert object_store.get_bytes("results/01/2025/a.pdf") == data


def test_put_file_and_stat_report_size_and_sha(object_store, tmp_path):
    src = tmp_path / "scan.tiff"
    src.write_bytes(os.urandom(300_000))
    stored = object_store.put_file("originals/x/scan.tiff", src, "image/tiff")
    expected_sha = hashlib.sha256(src.read_bytes()).hexdigest()
    assert stored.sha256 == expected_sha and stored.size == 300_000
    assert object_store.stat("originals/x/scan.tiff") == stored


def test_overwrite_replaces_content_and_sha(object_store):
    object_store.put_bytes("k/v", b"first")
    second = object_store.put_bytes("k/v", b"second version")
    assert object_store.get_bytes("k/v") == b"second version"
    assert object_store.stat("k/v") == second


def test_empty_object(object_store):
    stored = object_store.put_bytes("empty", b"")
    assert stored.size == 0 and stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert object_store.get_bytes("empty") == b""


def test_streaming_open_of_20_mib_file_verifies_sha(object_store, tmp_path):
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(20 * MIB))
    stored = object_store.put_file("big/big.bin", src)
    digest = hashlib.sha256()
    largest = 0
    with object_store.open("big/big.bin") as stream:
        while chunk := stream.read(CHUNK):
            largest = max(largest, len(chunk))
            digest.update(chunk)
    assert digest.hexdigest() == stored.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert largest <= CHUNK  # streamed, not read whole
    if isinstance(object_store, S3ObjectStore):
        info = object_store._client.stat_object(object_store.bucket, "big/big.bin")
        # A multipart upload's ETag ends with the part count: 20 MiB in 16 MiB parts = 2.
        assert object_store.part_size == 16 * MIB
        assert info.etag.strip('"').endswith("-2"), info.etag


def test_flipped_byte_is_detected_on_read(object_store):
    data = os.urandom(64 * 1024)
    object_store.put_bytes("tamper/me.pdf", data)
    corrupt(object_store, "tamper/me.pdf")
    with pytest.raises(ObjectIntegrityError, match="tamper/me.pdf"):
        object_store.get_bytes("tamper/me.pdf")
    stream = object_store.open("tamper/me.pdf")
    with pytest.raises(ObjectIntegrityError), stream:
        while stream.read(4096):
            pass


def test_a_swapped_object_fails_against_the_expected_sha(object_store):
    """Another object's bytes put under a key with self-consistent checksum metadata pass the
    store's own check; only the catalog's sha256 (`expected_sha256`) catches them."""
    mine, theirs = os.urandom(4096), os.urandom(5000)
    expected = hashlib.sha256(mine).hexdigest()
    object_store.put_bytes("swap/mine.pdf", mine)
    assert object_store.get_bytes("swap/mine.pdf", expected) == mine
    object_store.put_bytes("swap/mine.pdf", theirs)  # swapped, metadata matching its bytes
    assert object_store.get_bytes("swap/mine.pdf") == theirs  # the store alone is fooled
    with pytest.raises(ObjectIntegrityError, match="swap/mine.pdf"):
        object_store.open("swap/mine.pdf", expected)  # refused before a byte is read


def test_missing_key(object_store):
    with pytest.raises(ObjectNotFound):
        object_store.open("no/such/key")
    with pytest.raises(ObjectNotFound):
        object_store.get_bytes("no/such/key")
    assert object_store.stat("no/such/key") is None


INVALID_KEYS = ["", "/abs", "a//b", "a/../b", "./a", "a/.", "a/", "x.sha256", "a/.b.tmp-1"]


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_invalid_keys_are_rejected(object_store, key):
    with pytest.raises(ValueError, match="key"):
        object_store.put_bytes(key, b"x")
    with pytest.raises(ValueError):
        object_store.stat(key)
    with pytest.raises(ValueError):
        object_store.open(key)
    with pytest.raises(ValueError):
        object_store.delete(key)
    assert list(object_store.iter_keys()) == []


def test_iter_keys_with_prefix(object_store):
    keys = ["a/1", "a/2", "a/sub/3", "ab/4", "b/5"]
    for key in keys:
        object_store.put_bytes(key, key.encode())
    assert sorted(object_store.iter_keys()) == keys
    assert sorted(object_store.iter_keys("a/")) == ["a/1", "a/2", "a/sub/3"]
    assert sorted(object_store.iter_keys("a")) == ["a/1", "a/2", "a/sub/3", "ab/4"]
    assert list(object_store.iter_keys("zzz")) == []


def test_delete(object_store):
    object_store.put_bytes("d/x", b"gone soon")
    object_store.put_bytes("d/y", b"stays")
    object_store.delete("d/x")
    assert object_store.stat("d/x") is None
    with pytest.raises(ObjectNotFound):
        object_store.get_bytes("d/x")
    assert list(object_store.iter_keys("d/")) == ["d/y"]
    object_store.delete("d/x")  # deleting a missing key is not an error


# --- local store only ------------------------------------------------------------------------
def test_local_failed_write_leaves_no_temp_file(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    store.put_bytes("docs/keep.pdf", b"old content")

    def chunks():
        yield b"x" * 1000
        raise RuntimeError("scanner unplugged")

    with pytest.raises(RuntimeError, match="unplugged"):
        store._write("docs/keep.pdf", chunks())
    with pytest.raises(RuntimeError):
        store._write("docs/new.pdf", chunks())
    leftovers = sorted(p.name for p in (tmp_path / "objects" / "docs").iterdir())
    assert leftovers == ["keep.pdf", "keep.pdf.sha256"]
    assert store.get_bytes("docs/keep.pdf") == b"old content"
    assert list(store.iter_keys()) == ["docs/keep.pdf"]


# --- S3 store only ---------------------------------------------------------------------------
def test_s3_url_redacts_secret_and_factory_builds_it(seaweed):
    url = seaweed.bucket_url(new_bucket_name(), **FAST_RETRY)
    store = open_object_store(url)
    assert isinstance(store, S3ObjectStore)
    assert seaweed.secret_key not in store.url and store.url.endswith(store.bucket)
    assert store.capabilities == {"versioning": "off", "object_lock": "off"}
    assert not store.versioning_enabled and not store.object_lock_enabled


@pytest.mark.parametrize("url, problem", [
    ("s3://k:s@host:9000", "bucket"),
    ("s3://k:s@host:9000/a/b", "bucket"),
    ("s3://k:s@host:9000/bkt?tries=x", "invalid literal"),
    ("s3://k:s@host:9000/bkt?secure=maybe", "boolean"),
    ("s3://k:s@host:9000/bkt?colour=red", "unknown parameter"),
    ("s3://k:s@host:9000/bkt?tries=0", "tries"),
    ("s3://k:s@host:9000/bkt?retention_mode=FOREVER", "retention_mode"),
    ("gs://k:s@host/bkt", "scheme"),
])
def test_s3_bad_urls_are_rejected_clearly(url, problem):
    with pytest.raises(ValueError, match=problem) as info:
        S3ObjectStore.from_url(url)
    assert ":s@" not in str(info.value)  # the secret is never echoed


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_s3_unreachable_endpoint_raises_unavailable_after_bounded_retries():
    sleeps: list[float] = []
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(ObjectStoreUnavailable, match=f"127.0.0.1:{port}.*3 times"):
        S3ObjectStore.from_url(f"s3+http://k:s@127.0.0.1:{port}/bkt?tries=3&backoff=0.05",
                               sleep=sleeps.append)
    assert sleeps == [0.05, 0.1]
    assert time.monotonic() - started < 5


def test_s3_wrong_secret_is_an_error_not_retried(seaweed):
    sleeps: list[float] = []
    url = (f"s3+http://{seaweed.access_key}:wrong-secret@{seaweed.endpoint}/"
           f"{new_bucket_name()}?tries=3&backoff=0.05")
    with pytest.raises(ObjectStoreError) as info:
        S3ObjectStore.from_url(url, sleep=sleeps.append)
    assert not isinstance(info.value, ObjectStoreUnavailable)
    assert sleeps == []


def test_s3_paused_server_raises_unavailable_then_recovers(seaweed):
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    store = S3ObjectStore.from_url(
        seaweed.bucket_url(new_bucket_name(), tries=3, backoff=0.05, timeout=1), sleep=sleep)
    store.put_bytes("before", b"written before the outage")
    seaweed.pause()
    try:
        started = time.monotonic()
        with pytest.raises(ObjectStoreUnavailable, match=seaweed.endpoint):
            store.put_bytes("during", b"lost")
        with pytest.raises(ObjectStoreUnavailable):
            store.get_bytes("before")
        assert time.monotonic() - started < 15
        assert sleeps == [0.05, 0.1, 0.05, 0.1]
    finally:
        seaweed.resume()
    store.put_bytes("after", b"written after the outage")
    assert store.get_bytes("before") == b"written before the outage"
    # A write that timed out has an unknown outcome: the frozen server may still apply the
    # queued request once it wakes up. It must then be whole and verifiable, never torn.
    keys = sorted(store.iter_keys())
    assert [k for k in keys if k != "during"] == ["after", "before"]
    if "during" in keys:
        assert store.get_bytes("during") == b"lost"


def test_s3_transient_failure_is_retried_transparently(seaweed, monkeypatch):
    store = S3ObjectStore.from_url(seaweed.bucket_url(new_bucket_name(), **FAST_RETRY))
    real = store._client.stat_object
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("connection reset by peer")
        return real(*args, **kwargs)

    store.put_bytes("k", b"v")
    monkeypatch.setattr(store._client, "stat_object", flaky)
    assert store.stat("k").size == 1
    assert len(calls) == 3


def test_s3_failed_multipart_upload_leaves_no_object(seaweed):
    store = S3ObjectStore.from_url(seaweed.bucket_url(new_bucket_name(), **FAST_RETRY))
    size = 20 * MIB

    class Breaks(io.RawIOBase):
        sent = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            if self.sent >= 17 * MIB:  # after the first 16 MiB part went up
                raise OSError("disk read error")
            n = min(len(buffer), 1 * MIB)
            buffer[:n] = b"z" * n
            self.sent += n
            return n

    source = Breaks()
    with pytest.raises(OSError, match="disk read error"):
        store._upload("half", lambda: io.BufferedReader(source), size, "0" * 64,
                      "application/octet-stream")
    assert store.stat("half") is None
    assert list(store.iter_keys()) == []
    # the first part did go up (multipart), and the aborted upload was cleaned away
    assert source.sent >= 16 * MIB
    pending = store._client._list_multipart_uploads(store.bucket)
    assert [u.object_name for u in pending.uploads] == []


def test_s3_source_changed_during_upload_is_refused(seaweed, tmp_path):
    store = S3ObjectStore.from_url(seaweed.bucket_url(new_bucket_name(), **FAST_RETRY))
    wrong_sha = hashlib.sha256(b"what the first pass saw").hexdigest()
    with pytest.raises(ObjectIntegrityError, match="changed during upload"):
        store._upload("moving", lambda: io.BytesIO(b"what the upload sent!!!"), 23, wrong_sha,
                      "application/pdf")
    assert store.stat("moving") is None


def test_s3_object_without_sha_metadata_is_refused(seaweed):
    store = S3ObjectStore.from_url(seaweed.bucket_url(new_bucket_name(), **FAST_RETRY))
    store._client.put_object(store.bucket, "foreign", io.BytesIO(b"abc"), 3)
    with pytest.raises(ObjectIntegrityError, match="no recorded sha256"):
        store.get_bytes("foreign")
    with pytest.raises(ObjectIntegrityError):
        store.stat("foreign")


def test_s3_object_lock_detected_and_retention_set(seaweed):
    bucket = new_bucket_name()
    store = S3ObjectStore.from_url(
        seaweed.bucket_url(bucket, object_lock="true", retention_days=2, **FAST_RETRY))
    assert store.capabilities == {"versioning": "enabled", "object_lock": "enabled"}
    assert store.versioning_enabled and store.object_lock_enabled
    store.put_bytes("sealed.pdf", b"%PDF-1.7 signed")
    retention = store._client.get_object_retention(bucket, "sealed.pdf")
    assert retention.mode == "GOVERNANCE"
    days = (retention.retain_until_date - store._client.stat_object(
        bucket, "sealed.pdf").last_modified).total_seconds() / 86400
    assert 1.9 < days < 2.1
    # reopening the existing bucket detects the same configuration
    again = S3ObjectStore.from_url(seaweed.bucket_url(bucket, **FAST_RETRY))
    assert again.object_lock_enabled and again.retention_days == 0


def test_s3_retention_off_by_default_even_with_object_lock(seaweed):
    bucket = new_bucket_name()
    store = S3ObjectStore.from_url(seaweed.bucket_url(bucket, object_lock="true", **FAST_RETRY))
    store.put_bytes("free.pdf", b"x")
    try:
        retention = store._client.get_object_retention(bucket, "free.pdf")
    except S3Error as exc:  # SeaweedFS answers this instead of an empty retention
        assert exc.code == "ObjectLockConfigurationNotFoundError"
        retention = None
    assert retention is None or retention.retain_until_date is None


def test_seaweed_server_is_a_real_process_with_auth(seaweed):
    assert seaweed.process is not None and seaweed.process.poll() is None
    assert Path(seaweed.args[0]).name == "weed"
