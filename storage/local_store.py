"""The embedded object store: one file per object under a root folder.

Writes go to a temporary file in the same folder, are fsynced and renamed into place, so a crash
leaves either the whole object or nothing. The sha256 is computed while writing and kept in a
sidecar `.sha256` file that reads are verified against.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from storage.objects import (
    CHUNK,
    OCTET,
    ObjectNotFound,
    StoredObject,
    VerifyingReader,
    check_recorded,
    read_all,
)

SIDECAR = ".sha256"


def _check_key(key: str) -> None:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid object key {key!r}")
    if key.endswith(SIDECAR) or ".tmp-" in parts[-1]:
        raise ValueError(f"reserved object key {key!r}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalObjectStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.url = f"file://{self.root.resolve()}"
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key

    def _atomic_write(self, target: Path, chunks) -> tuple[int, str]:
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size, digest.hexdigest()

    def _write(self, key: str, chunks) -> StoredObject:
        path = self._path(key)
        size, sha = self._atomic_write(path, chunks)
        self._atomic_write(path.with_name(path.name + SIDECAR), [sha.encode()])
        _fsync_dir(path.parent)
        return StoredObject(key=key, size=size, sha256=sha)

    def put_file(self, key: str, path: Path, content_type: str = OCTET) -> StoredObject:
        def chunks():
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

        return self._write(key, chunks())

    def put_bytes(self, key: str, data: bytes, content_type: str = OCTET) -> StoredObject:
        return self._write(key, [data])

    def _recorded_sha(self, path: Path, key: str) -> str:
        try:
            return path.with_name(path.name + SIDECAR).read_text().strip()
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key}: checksum record missing in {self.url}") from None

    def open(self, key: str, expected_sha256: str | None = None) -> BinaryIO:
        path = self._path(key)
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed by the VerifyingReader
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key} not found in {self.url}") from None
        try:
            sha = check_recorded(key, self._recorded_sha(path, key), expected_sha256)
        except BaseException:
            raw.close()
            raise
        return VerifyingReader(raw, key, sha)

    def get_bytes(self, key: str, expected_sha256: str | None = None) -> bytes:
        # only the key when nothing is expected: wrappers of open(key) keep working
        return read_all(self.open(key) if expected_sha256 is None
                        else self.open(key, expected_sha256))

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        if not path.exists():
            return None
        return StoredObject(key=key, size=path.stat().st_size, sha256=self._recorded_sha(path, key))

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        path.with_name(path.name + SIDECAR).unlink(missing_ok=True)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.endswith(SIDECAR) and ".tmp-" not in path.name:
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key
