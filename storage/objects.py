"""The object-store contract and its factory.

An object store keeps immutable blobs under string keys. Every write computes the sha256 while
streaming and every read verifies it, so a flipped byte is an error, never silent corruption.
A reader that knows what the bytes must be (the catalog's sha256) passes it as
``expected_sha256``: the object's own recorded checksum is then not enough — a whole object
swapped in with matching metadata fails too (:func:`check_recorded`, :class:`VerifyingReader`).
Implementations: `storage.local_store.LocalObjectStore` (the embedded default) and
`storage.s3_store.S3ObjectStore` (S3 API through the `minio` client).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

CHUNK = 1024 * 1024
OCTET = "application/octet-stream"


class ObjectStoreError(Exception):
    """Base class of object-store errors."""


class ObjectNotFound(ObjectStoreError):
    pass


class ObjectIntegrityError(ObjectStoreError):
    """The stored bytes do not match their recorded sha256."""


class ObjectStoreUnavailable(ObjectStoreError):
    """The store cannot be reached; the operation may succeed if retried."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class ObjectStore(Protocol):
    url: str

    def put_file(self, key: str, path: Path, content_type: str = OCTET) -> StoredObject: ...

    def put_bytes(self, key: str, data: bytes, content_type: str = OCTET) -> StoredObject: ...

    def open(self, key: str, expected_sha256: str | None = None) -> BinaryIO:
        """A readable stream of the object; reading it to the end verifies the checksum
        (``expected_sha256``, the catalog's, when given; else the object's recorded one)."""
        ...

    def get_bytes(self, key: str, expected_sha256: str | None = None) -> bytes: ...

    def stat(self, key: str) -> StoredObject | None: ...

    def delete(self, key: str) -> None: ...

    def iter_keys(self, prefix: str = "") -> Iterator[str]: ...


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_recorded(key: str, recorded: str, expected: str | None) -> str:
    """The sha256 a read must end with: ``expected`` (the catalog's) if given, and then the
    object's recorded checksum must agree with it before a byte is read."""
    if expected is None:
        return recorded
    expected = expected.strip().lower()
    if recorded.strip().lower() != expected:
        raise ObjectIntegrityError(
            f"object {key}: its recorded sha256 {recorded} is not the expected {expected}")
    return expected


class VerifyingReader:
    """Wraps a stream; raises ObjectIntegrityError at EOF if the sha256 differs."""

    def __init__(self, raw: BinaryIO, key: str, expected_sha256: str, on_close=None):
        self._raw = raw
        self._key = key
        self._expected = expected_sha256
        self._digest = hashlib.sha256()
        self._checked = False
        self._on_close = on_close

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._digest.update(data)
        elif not self._checked:
            self._checked = True
            actual = self._digest.hexdigest()
            if actual != self._expected:
                raise ObjectIntegrityError(
                    f"object {self._key}: sha256 {actual} does not match recorded {self._expected}"
                )
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        if self._on_close:
            self._on_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        while chunk := self.read(CHUNK):
            yield chunk


def read_all(stream: BinaryIO) -> bytes:
    with stream:
        parts = []
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            parts.append(chunk)
        return b"".join(parts)


def open_object_store(url: str) -> ObjectStore:
    """Build the store named by `url`: file:///dir (or a plain path) or s3://…"""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        from storage.local_store import LocalObjectStore

        return LocalObjectStore(Path(parsed.path if parsed.scheme else url))
    if parsed.scheme in ("s3", "s3+http", "s3+https"):
        from storage.s3_store import S3ObjectStore

        return S3ObjectStore.from_url(url)
    raise ValueError(f"unsupported storage URL scheme {parsed.scheme!r} in {url!r}")
