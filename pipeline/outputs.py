"""Where the pipeline keeps a document's objects, and how it writes them.

Every object of a document sits under one prefix (province/unit/year/id). Stage outputs are
stored under a key carrying their hash and read back before the catalog may point at them; an
original that cannot be read is moved under quarantine/, never deleted.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from storage.catalog import Document
from storage.objects import CHUNK, sha256_file


def object_prefix(doc: Document) -> str:
    unit = doc.unit
    return f"{unit.province_code}/{unit.code}/{doc.created_at:%Y}/{doc.id}"


def store_verified(objects, prefix: str, name: str, data: bytes | Path,
                   content_type: str) -> tuple[str, str]:
    """Store bytes or a file under a key carrying the content hash, so two racing runs of one
    stage never overwrite each other's bytes: the catalog always points at what it verified.
    (key, sha256)."""
    if isinstance(data, Path):
        sha, size = sha256_file(data), data.stat().st_size
    else:
        sha, size = hashlib.sha256(data).hexdigest(), len(data)
    stem, _, ext = name.rpartition(".")
    key = f"{prefix}/{stem}-{sha[:16]}.{ext}"
    if isinstance(data, Path):
        stored = objects.put_file(key, data, content_type)
    else:
        stored = objects.put_bytes(key, data, content_type)
    check = objects.stat(key)
    if stored.sha256 != sha or check is None or check.sha256 != sha or check.size != size:
        raise OSError(f"object {key}: stored copy does not match what was written")
    return key, stored.sha256


def fetch_to(objects, key: str, target: Path) -> None:
    """Stream an object into a local file (never whole in memory)."""
    with objects.open(key) as stream, open(target, "wb") as out:
        shutil.copyfileobj(stream, out, CHUNK)


def quarantine(rt, doc_id: str) -> None:
    """Move a document's original under quarantine/ so operators find what could not be read."""
    with rt.session() as session:
        doc = session.get(Document, doc_id)
        key = doc.original_key
        if not key or key.startswith("quarantine/"):
            return
        target = f"quarantine/{doc.id}/{Path(key).name}"
    with tempfile.TemporaryDirectory(prefix="sohoa-quarantine-") as tmp:
        local = Path(tmp) / "original"
        fetch_to(rt.objects, key, local)  # streamed, verified by put_file
        rt.objects.put_file(target, local)
    with rt.session() as session:
        session.get(Document, doc_id).original_key = target
    rt.objects.delete(key)
