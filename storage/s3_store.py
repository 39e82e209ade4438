"""The S3 object store (MinIO, SeaweedFS, Ceph RGW, AWS) through the `minio` client.

Each object carries its sha256 as user metadata (`x-amz-meta-sha256`); uploads are hashed while
they stream and reads are verified against the recorded value. Network trouble (refused or
dropped connections, timeouts, 5xx answers) is retried a bounded number of times with exponential
backoff and then raised as `ObjectStoreUnavailable` naming the endpoint. A write that ends in
`ObjectStoreUnavailable` has an unknown outcome (the server may still apply it): callers retry
the same key, and writes are whole-object, so a retry is idempotent. At start the store reads
the bucket's versioning and object-lock configuration and remembers what the server supports;
with object lock on, writes can carry a retention period (`retention_days`, off by default).

URL: s3://ACCESS:SECRET@HOST:PORT/BUCKET?secure=false&region=...  (s3+http:// means plain HTTP,
s3+https:// TLS). Optional query parameters: tries, backoff (seconds), timeout (seconds),
part_size_mb, retention_days, retention_mode (GOVERNANCE|COMPLIANCE), object_lock (create the
bucket with object lock when it is missing), create_bucket.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, TypeVar
from urllib.parse import parse_qs, unquote, urlparse

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.retention import Retention

from storage.objects import (
    CHUNK,
    ObjectIntegrityError,
    ObjectNotFound,
    ObjectStoreError,
    ObjectStoreUnavailable,
    StoredObject,
    VerifyingReader,
    check_recorded,
    read_all,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
MIB = 1024 * 1024
DEFAULT_PART_SIZE = 16 * MIB
SHA_META = "x-amz-meta-sha256"
NOT_FOUND_CODES = {"NoSuchKey", "NoSuchObject", "ResourceNotFound", "NoSuchVersion"}
TRANSIENT_CODES = {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout",
                   "RequestTimeTooSkewed", "OperationAborted"}
UNSUPPORTED_CODES = {"NotImplemented", "MethodNotAllowed", "XNotImplemented"}
NETWORK_ERRORS = (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError,
                  http.client.HTTPException)


def _check_key(key: str) -> None:
    """Same rules as LocalObjectStore, so keys stay portable between the two stores."""
    if not isinstance(key, str):
        raise ValueError(f"invalid object key {key!r}: not a string")
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid object key {key!r}")
    if key.endswith(".sha256") or ".tmp-" in parts[-1]:
        raise ValueError(f"reserved object key {key!r}")
    if len(key.encode()) > 1024:
        raise ValueError(f"invalid object key {key[:40]!r}…: longer than 1024 bytes")


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, NETWORK_ERRORS):
        return True
    if isinstance(exc, ServerError):
        return exc.status_code >= 500
    if isinstance(exc, InvalidResponseError):
        return (getattr(exc, "_code", 0) or 0) >= 500
    if isinstance(exc, S3Error):
        status = getattr(exc.response, "status", 0) or 0
        return exc.code in TRANSIENT_CODES or (status >= 500 and status != 501)
    return False


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, S3Error) and exc.code in NOT_FOUND_CODES


class _HashingReader:
    """Feeds what minio reads from `raw` into a sha256, so the upload itself is hashed."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class _ResponseStream:
    """A minio GET response as a plain stream: network errors become ObjectStoreUnavailable,
    close() returns the connection to the pool."""

    def __init__(self, response, describe: str):
        self._response = response
        self._describe = describe

    def read(self, size: int = -1) -> bytes:
        try:
            return self._response.read(None if size is None or size < 0 else size)
        except NETWORK_ERRORS as exc:
            raise ObjectStoreUnavailable(f"{self._describe}: connection lost while reading "
                                         f"({exc})") from exc

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            self._response.release_conn()


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"storage URL: {name}={value!r} is not a boolean (true/false)")


class S3ObjectStore:
    """Objects in one S3 bucket, each with its sha256 in `x-amz-meta-sha256`."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = True,
        region: str | None = None,
        tries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        timeout: float = 30.0,
        part_size: int = DEFAULT_PART_SIZE,
        retention_days: int = 0,
        retention_mode: str = GOVERNANCE,
        create_bucket: bool = True,
        object_lock: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if tries < 1:
            raise ValueError(f"S3 store {endpoint}: tries must be at least 1, got {tries}")
        if part_size < 5 * MIB:
            raise ValueError(f"S3 store {endpoint}: part size must be at least 5 MiB")
        if retention_mode not in (GOVERNANCE, COMPLIANCE):
            raise ValueError(f"S3 store {endpoint}: retention_mode must be GOVERNANCE or "
                             f"COMPLIANCE, got {retention_mode!r}")
        self.endpoint = endpoint
        self.bucket = bucket
        self.secure = secure
        self.url = f"s3{'+https' if secure else '+http'}://{endpoint}/{bucket}"
        self.tries = tries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.part_size = part_size
        self.retention_days = retention_days
        self.retention_mode = retention_mode
        self._sleep = sleep
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            maxsize=10,
            retries=False,  # retries are ours: bounded, with backoff, then a clear error
        )
        self._client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                             secure=secure, region=region, http_client=http)
        if create_bucket:
            self._ensure_bucket(object_lock)
        self.capabilities = self._detect_capabilities()
        self.versioning_enabled = self.capabilities["versioning"] == "enabled"
        self.object_lock_enabled = self.capabilities["object_lock"] == "enabled"
        if retention_days and not self.object_lock_enabled:
            log.warning("%s: retention_days=%d ignored, object lock is %s", self.url,
                        retention_days, self.capabilities["object_lock"])

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_url(cls, url: str, **overrides) -> S3ObjectStore:
        parsed = urlparse(url)
        if parsed.scheme not in ("s3", "s3+http", "s3+https"):
            raise ValueError(f"storage URL {cls._redact(url)!r}: scheme must be s3://, "
                             "s3+http:// or s3+https://")
        if not parsed.hostname:
            raise ValueError(f"storage URL {cls._redact(url)!r}: no host")
        bucket = parsed.path.strip("/")
        if not bucket or "/" in bucket:
            raise ValueError(f"storage URL {cls._redact(url)!r}: the path must be exactly one "
                             "bucket name, e.g. s3://KEY:SECRET@host:9000/sohoa")
        query = {k: v[-1] for k, v in parse_qs(parsed.query, keep_blank_values=True).items()}
        known = {"secure", "region", "tries", "backoff", "timeout", "part_size_mb",
                 "retention_days", "retention_mode", "object_lock", "create_bucket"}
        unknown = sorted(set(query) - known)
        if unknown:
            raise ValueError(f"storage URL {cls._redact(url)!r}: unknown parameter(s) "
                             f"{', '.join(unknown)}; known: {', '.join(sorted(known))}")
        secure = {"s3+http": False, "s3+https": True}.get(parsed.scheme, True)
        if "secure" in query:
            secure = _bool(query["secure"], "secure")
        host = parsed.hostname if ":" not in parsed.hostname else f"[{parsed.hostname}]"
        endpoint = f"{host}:{parsed.port}" if parsed.port else host
        try:
            kwargs = dict(
                secure=secure,
                region=query.get("region") or None,
                tries=int(query.get("tries", 5)),
                backoff=float(query.get("backoff", 0.5)),
                timeout=float(query.get("timeout", 30)),
                part_size=int(float(query.get("part_size_mb", DEFAULT_PART_SIZE / MIB)) * MIB),
                retention_days=int(query.get("retention_days", 0)),
                retention_mode=query.get("retention_mode", GOVERNANCE).upper(),
                object_lock=_bool(query.get("object_lock", "false"), "object_lock"),
                create_bucket=_bool(query.get("create_bucket", "true"), "create_bucket"),
            )
        except ValueError as exc:
            raise ValueError(f"storage URL {cls._redact(url)!r}: {exc}") from None
        kwargs.update(overrides)
        return cls(endpoint, unquote(parsed.username or ""), unquote(parsed.password or ""),
                   bucket, **kwargs)

    @staticmethod
    def _redact(url: str) -> str:
        parsed = urlparse(url)
        if parsed.password:
            return url.replace(f":{parsed.password}@", ":***@", 1)
        return url

    def _ensure_bucket(self, object_lock: bool) -> None:
        def make() -> None:
            if not self._client.bucket_exists(self.bucket):
                try:
                    self._client.make_bucket(self.bucket, object_lock=object_lock)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

        self._call("create bucket", make)

    def _detect_capabilities(self) -> dict[str, str]:
        caps = {}

        def versioning() -> str:
            status = self._client.get_bucket_versioning(self.bucket).status
            return {"Enabled": "enabled", "Suspended": "suspended"}.get(status or "", "off")

        def object_lock() -> str:
            try:
                self._client.get_object_lock_config(self.bucket)
            except S3Error as exc:
                if exc.code == "ObjectLockConfigurationNotFoundError":
                    return "off"
                raise
            return "enabled"

        for name, probe in (("versioning", versioning), ("object_lock", object_lock)):
            try:
                caps[name] = self._call(f"read {name} configuration", probe)
            except ObjectStoreUnavailable:
                raise
            except ObjectStoreError as exc:
                log.info("%s: %s not readable, recorded as unsupported: %s", self.url, name, exc)
                caps[name] = "unsupported"
        return caps

    # --- retries ---------------------------------------------------------------------------
    def _call(self, what: str, func: Callable[[], T]) -> T:
        """Run `func`, retrying network errors; map errors to the object-store exceptions."""
        delay = self.backoff
        for attempt in range(1, self.tries + 1):
            try:
                return func()
            except (ObjectStoreError, ValueError):
                raise
            except Exception as exc:
                if _is_not_found(exc):
                    raise ObjectNotFound(f"{what}: not found in {self.url}") from None
                if not _is_transient(exc):
                    if isinstance(exc, S3Error):
                        raise ObjectStoreError(
                            f"{what} on {self.url} failed: {exc.code}: {exc.message}") from exc
                    raise
                if attempt == self.tries:
                    raise ObjectStoreUnavailable(
                        f"S3 endpoint {self.endpoint} (bucket {self.bucket}) unavailable: {what} "
                        f"failed {self.tries} times; last error: {type(exc).__name__}: {exc}"
                    ) from exc
                log.warning("%s: %s failed (try %d/%d): %s; retrying in %.2fs", self.url, what,
                            attempt, self.tries, exc, delay)
                self._sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")

    # --- writes ----------------------------------------------------------------------------
    def _retention(self) -> Retention | None:
        if not (self.retention_days and self.object_lock_enabled):
            return None
        until = datetime.now(UTC) + timedelta(days=self.retention_days)
        return Retention(self.retention_mode, until)

    def _upload(self, key: str, opener: Callable[[], BinaryIO], size: int, sha: str,
                content_type: str) -> StoredObject:
        def put() -> None:
            with opener() as raw:
                reader = _HashingReader(raw)
                self._client.put_object(
                    self.bucket, key, reader, size, content_type=content_type,
                    metadata={"sha256": sha}, part_size=self.part_size,
                    retention=self._retention(),
                )
            if reader.size != size or reader.digest.hexdigest() != sha:
                self._call(f"delete changed upload {key}",
                           lambda: self._client.remove_object(self.bucket, key))
                raise ObjectIntegrityError(
                    f"object {key}: source changed during upload (expected {size} bytes with "
                    f"sha256 {sha}, sent {reader.size} bytes with {reader.digest.hexdigest()})")

        self._call(f"put {key}", put)
        return StoredObject(key=key, size=size, sha256=sha)

    def put_file(self, key: str, path: Path,
                 content_type: str = "application/octet-stream") -> StoredObject:
        _check_key(key)
        path = Path(path)
        digest = hashlib.sha256()
        size = 0
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise ObjectStoreError(f"put {key}: cannot read source file {path}: {exc}") from exc
        return self._upload(key, lambda: open(path, "rb"), size, digest.hexdigest(),
                            content_type)

    def put_bytes(self, key: str, data: bytes,
                  content_type: str = "application/octet-stream") -> StoredObject:
        _check_key(key)
        data = bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        return self._upload(key, lambda: io.BytesIO(data), len(data), sha, content_type)

    # --- reads -----------------------------------------------------------------------------
    def _recorded_sha(self, key: str, headers) -> str:
        sha = headers.get(SHA_META)
        if not sha:
            raise ObjectIntegrityError(
                f"object {key} in {self.url} has no recorded sha256 ({SHA_META}); it was not "
                "written by sohoa and cannot be verified")
        return sha.strip().lower()

    def open(self, key: str, expected_sha256: str | None = None) -> BinaryIO:
        _check_key(key)
        response = self._call(f"get {key}", lambda: self._client.get_object(self.bucket, key))
        try:
            sha = check_recorded(key, self._recorded_sha(key, response.headers), expected_sha256)
        except BaseException:
            response.close()
            response.release_conn()
            raise
        stream = _ResponseStream(response, f"get {key} from {self.url}")
        return VerifyingReader(stream, key, sha)

    def get_bytes(self, key: str, expected_sha256: str | None = None) -> bytes:
        # only the key when nothing is expected: wrappers of open(key) keep working
        return read_all(self.open(key) if expected_sha256 is None
                        else self.open(key, expected_sha256))

    def stat(self, key: str) -> StoredObject | None:
        _check_key(key)
        try:
            info = self._call(f"stat {key}", lambda: self._client.stat_object(self.bucket, key))
        except ObjectNotFound:
            return None
        return StoredObject(key=key, size=info.size,
                            sha256=self._recorded_sha(key, info.metadata))

    def delete(self, key: str) -> None:
        _check_key(key)
        self._call(f"delete {key}", lambda: self._client.remove_object(self.bucket, key))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """All keys under `prefix`, sorted; a dropped listing resumes after the last key seen."""
        last: str | None = None
        failures = 0
        while True:
            listing = self._client.list_objects(self.bucket, prefix=prefix or None,
                                                recursive=True, start_after=last)
            try:
                for obj in listing:
                    if obj.is_dir:
                        continue
                    last = obj.object_name
                    failures = 0
                    yield obj.object_name
                return
            except Exception as exc:
                if _is_not_found(exc) or not _is_transient(exc):
                    raise ObjectStoreError(f"list {prefix!r} on {self.url} failed: {exc}") from exc
                failures += 1
                if failures >= self.tries:
                    raise ObjectStoreUnavailable(
                        f"S3 endpoint {self.endpoint} (bucket {self.bucket}) unavailable: list "
                        f"{prefix!r} failed {self.tries} times; last error: {exc}") from exc
                self._sleep(min(self.backoff * 2 ** (failures - 1), self.max_backoff))
