"""A streaming BagIt 1.0 writer and checker (RFC 8493), just what export packages need.

Payload files are added one at a time from a stream, hashed (SHA-256) while copied in chunks,
and their manifest line is appended to ``manifest-sha256.txt`` at once: nothing grows with the
number of files but two counters (Payload-Oxum). ``finish`` writes ``bag-info.txt`` and
``tagmanifest-sha256.txt`` (over every tag file). ``check_bag`` re-reads every payload file
against the manifest, line by line, and counts the payload's files to find one the manifest
does not name (only then does it hold the manifest's paths, to say which): checking a bag of
any size needs no memory that grows with it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


class BagError(Exception):
    """A bag that cannot be written or read as BagIt; the message names the file."""


def encode_path(path: str) -> str:
    """RFC 8493 §2.1.3: a manifest path percent-encodes %, CR and LF."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_path(path: str) -> str:
    return path.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class BagWriter:
    """Writes one bag into the empty folder `root`."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True)
        (root / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
        self._manifest = open(root / MANIFEST, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._tags: list[str] = []
        self.octets = 0
        self.files = 0

    def add_stream(self, relpath: str, stream: BinaryIO) -> tuple[str, int]:
        """Copy `stream` to data/`relpath` in chunks, hashing as it goes; (sha256, size)."""
        target = self.data / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with open(target, "xb") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        return self._record(relpath, digest.hexdigest(), size)

    def add_bytes(self, relpath: str, data: bytes) -> tuple[str, int]:
        target = self.data / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:
            out.write(data)
        return self._record(relpath, hashlib.sha256(data).hexdigest(), len(data))

    def _record(self, relpath: str, sha: str, size: int) -> tuple[str, int]:
        self._manifest.write(f"{sha}  {encode_path('data/' + relpath)}\n")
        self.octets += size
        self.files += 1
        return sha, size

    def add_tag_file(self, name: str, text: str) -> None:
        """A tag file in the bag's root (covered by the tag manifest)."""
        (self.root / name).write_text(text, encoding="utf-8", newline="\n")
        self._tags.append(name)

    def finish(self, info: list[tuple[str, str]]) -> None:
        """bag-info.txt (with Bagging-Date and Payload-Oxum) and the tag manifest."""
        self._manifest.close()
        lines = [*info, ("Bagging-Date", date.today().isoformat()),
                 ("Payload-Oxum", f"{self.octets}.{self.files}")]
        text = "".join(f"{label}: {' '.join(str(value).split())}\n" for label, value in lines)
        (self.root / "bag-info.txt").write_text(text, encoding="utf-8", newline="\n")
        with open(self.root / TAGMANIFEST, "w", encoding="utf-8", newline="\n") as out:
            for name in ("bagit.txt", "bag-info.txt", MANIFEST, *self._tags):
                out.write(f"{_sha256_file(self.root / name)}  {encode_path(name)}\n")

    def abort(self) -> None:
        if not self._manifest.closed:
            self._manifest.close()


def manifest_entries(root: Path, name: str = MANIFEST) -> Iterator[tuple[str, str]]:
    """(sha256, relative path) of each line of a manifest, read as a stream."""
    path = root / name
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BagError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            if len(parts) != 2 or len(parts[0]) != 64:
                raise BagError(f"{path}, line {number}: not '<sha256> <path>'")
            yield parts[0].lower(), decode_path(parts[1].strip())


def check_bag(root: Path, on_file: Callable[[str, Path], None] | None = None) -> list[str]:
    """Every problem found re-reading the bag at `root` (empty: it is whole): payload and tag
    files against their manifests, no unlisted payload file, Payload-Oxum. `on_file(relpath,
    path)` is called for each payload file whose checksum is right."""
    problems: list[str] = []
    if not (root / "bagit.txt").is_file():
        return [f"{root}: no bagit.txt (not a BagIt package)"]
    octets = files = 0
    try:
        for sha, rel in manifest_entries(root):
            path = root / rel
            if not rel.startswith("data/") or ".." in Path(rel).parts:
                problems.append(f"{rel}: a manifest path outside data/")
                continue
            if not path.is_file():
                problems.append(f"{rel}: listed in {MANIFEST} but missing")
                continue
            actual = _sha256_file(path)
            octets += path.stat().st_size
            files += 1
            if actual != sha:
                problems.append(f"{rel}: sha256 {actual} does not match the manifest's {sha}")
            elif on_file is not None:
                on_file(rel, path)
        for sha, rel in manifest_entries(root, TAGMANIFEST):
            path = root / rel
            if not path.is_file():
                problems.append(f"{rel}: listed in {TAGMANIFEST} but missing")
            elif _sha256_file(path) != sha:
                problems.append(f"{rel}: tag file changed (sha256 does not match {TAGMANIFEST})")
    except BagError as exc:
        return [*problems, str(exc)]
    on_disk = sum(len(names) for _dir, _dirs, names in os.walk(root / "data"))
    if on_disk != files:  # some file is not (or not once) in the manifest: find which
        problems.extend(_unlisted(root))
    oxum = _info(root).get("Payload-Oxum")
    if oxum is not None and oxum != f"{octets}.{files}" and not problems:
        problems.append(f"bag-info.txt: Payload-Oxum {oxum} but the payload is {octets}.{files}")
    return problems


def _unlisted(root: Path) -> list[str]:
    listed = {rel for _sha, rel in manifest_entries(root)}
    found = []
    for dirpath, _dirs, names in os.walk(root / "data"):
        for name in names:
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if rel not in listed:
                found.append(f"{rel}: in the payload but not in {MANIFEST}")
    return found


def _info(root: Path) -> dict[str, str]:
    try:
        text = (root / "bag-info.txt").read_text(encoding="utf-8")
    except OSError:
        return {}
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
