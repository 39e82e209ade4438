"""Backups and restores of a whole installation: the catalog and the object store.

A backup is a folder:

    backup.json        what was backed up: when, catalog kind and migration revision, counts,
                       sha256 of the catalog dump and of the manifest
    catalog.dump       PostgreSQL: `pg_dump --format=custom` (restored with pg_restore)
    catalog.sqlite3    SQLite: a consistent copy made with SQLite's online backup API
    manifest.jsonl     one line per object: key, size, sha256 (computed while copying)
    objects/           the objects themselves (a local object folder), unless the objects were
                       copied to a second store (`objects_url`: another bucket or folder)

The catalog is dumped FIRST and the objects copied after: a stage stores its bytes before it
advances a document's state, so every object the dump references exists when the copy runs
(objects written later are harmless extras). Objects are immutable and hash-named, so a second
backup into the same folder copies only what the previous manifest does not list. After copying,
every object the catalog references is checked against the manifest (the catalog's sha256).

A restore needs an EMPTY catalog (a new database, or no SQLite file) and an EMPTY object store,
restores the dump, copies the objects back and verifies each against the manifest.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from sohoa.doctor import _redact
from sohoa.runtime import get_runtime
from storage import db
from storage.catalog import Document
from storage.objects import CHUNK, ObjectStore, open_object_store

FORMAT = 1
MANIFEST = "manifest.jsonl"
META = "backup.json"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _run(args: list[str], what: str) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(f"{args[0]} not found: install postgresql-client") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
        raise BackupError(f"{what} failed: {last[0]}")


# --- the catalog ---------------------------------------------------------------------------

def dump_catalog(url: str, folder: Path) -> Path:
    if url.startswith("postgresql"):
        out = folder / "catalog.dump"
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(out),
              _libpq_url(url)], "pg_dump")
        return out
    if url.startswith("sqlite"):
        out = folder / "catalog.sqlite3"
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(out)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return out
    raise BackupError(f"cannot back up a {make_url(url).get_backend_name()} catalog")


def _catalog_is_empty(url: str) -> bool:
    if url.startswith("sqlite") and not _sqlite_path(url).exists():
        return True
    tables = set(inspect(db.get_engine(url)).get_table_names())
    return not (tables - {"alembic_version"})


def restore_catalog(url: str, dump: Path) -> None:
    if not _catalog_is_empty(url):
        raise BackupError("the catalog is not empty: restore into a new database "
                          "(createdb …) or a home without catalog.sqlite3")
    if url.startswith("postgresql"):
        db.get_engine(url).dispose()
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
              "--dbname", _libpq_url(url), str(dump)], "pg_restore")
    elif url.startswith("sqlite"):
        path = _sqlite_path(url)
        db.get_engine(url).dispose()
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        source = sqlite3.connect(dump)
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        raise BackupError(f"cannot restore into a {make_url(url).get_backend_name()} catalog")


def referenced_objects(url: str) -> Iterator[tuple[str, str | None]]:
    """(key, the catalog's sha256 or None) of every object a document references."""
    pairs = ((Document.original_key, Document.source_sha256),
             (Document.pdf_key, Document.pdf_sha256),
             (Document.signed_key, Document.signed_sha256))
    with db.session_scope(url) as session:
        for key_col, sha_col in pairs:
            yield from session.execute(select(key_col, sha_col).where(key_col.is_not(None)))


# --- the objects ---------------------------------------------------------------------------

def _read_manifest(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    entries = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                entry = json.loads(line)
                entries[entry["key"]] = entry
    return entries


def _copy(source: ObjectStore, target: ObjectStore, key: str, scratch: Path) -> dict:
    """Stream one object through a scratch file, hashing it; return its manifest entry."""
    digest, size = hashlib.sha256(), 0
    with source.open(key) as stream, open(scratch, "wb") as handle:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            handle.write(chunk)
    stored = target.put_file(key, scratch)
    if stored.sha256 != digest.hexdigest():
        raise BackupError(f"object {key}: the copy's checksum differs from the original's")
    return {"key": key, "size": size, "sha256": stored.sha256}


def copy_store_objects(source: ObjectStore, target: ObjectStore, keys, known: dict[str, dict],
                 progress=None) -> tuple[list[dict], int]:
    """Copy every key not already in `known` (same key in the target); (entries, copied)."""
    entries, copied = [], 0
    with tempfile.TemporaryDirectory(prefix="sohoa-backup-") as tmp:
        scratch = Path(tmp) / "object"
        for key in keys:
            entry = known.get(key)
            stat = target.stat(key) if entry else None
            if entry is None or stat is None or stat.sha256 != entry["sha256"]:
                entry = _copy(source, target, key, scratch)
                copied += 1
                if progress is not None and copied % 500 == 0:
                    progress.print(f"{copied} objects copied")
            entries.append(entry)
    return entries, copied


# --- the whole installation ----------------------------------------------------------------

def _target(location: str) -> tuple[Path, str]:
    """The backup folder, and the default URL of the object copies inside it."""
    folder = Path(location[len("file://"):] if location.startswith("file://") else location)
    return folder, f"file://{(folder / 'objects').resolve()}"


def make_backup(location: str, *, objects_url: str | None = None, copy_objects: bool = True,
                runtime=None, progress=None) -> dict:
    rt = runtime or get_runtime()
    url = rt.open().database_url
    folder, default_objects = _target(location)
    folder.mkdir(parents=True, exist_ok=True)
    previous = _read_manifest(folder / MANIFEST)
    dump = dump_catalog(url, folder)
    revision = db.current_revision(url)
    manifest_tmp = folder / (MANIFEST + ".part")
    copied = 0
    if copy_objects:
        target = open_object_store(objects_url or default_objects)
        entries, copied = copy_store_objects(rt.objects, target, rt.objects.iter_keys(""),
                                             previous, progress)
    else:
        entries = [{"key": k, **_stat_entry(rt.objects, k)} for k in rt.objects.iter_keys("")]
    with open(manifest_tmp, "w", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    by_key = {e["key"]: e for e in entries}
    for key, sha in referenced_objects(url):
        entry = by_key.get(key)
        if entry is None:
            raise BackupError(f"object {key} is referenced by the catalog but not in the store: "
                              "run `sohoa fsck`")
        if sha and entry["sha256"] != sha:
            raise BackupError(f"object {key} does not match the catalog's sha256: run `sohoa fsck`")
    manifest_tmp.replace(folder / MANIFEST)
    meta = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "catalog": "postgresql" if url.startswith("postgresql") else "sqlite",
            "revision": revision, "catalog_file": dump.name, "catalog_sha256": _sha256_file(dump),
            "manifest_sha256": _sha256_file(folder / MANIFEST), "objects": len(entries),
            "objects_copied": copied, "bytes": sum(e["size"] for e in entries),
            "objects_url": _redacted(objects_url or default_objects) if copy_objects else None}
    (folder / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return {"backup": str(folder), **meta}



def _stat_entry(store: ObjectStore, key: str) -> dict:
    stat = store.stat(key)
    return {"size": stat.size, "sha256": stat.sha256}


def _redacted(url: str) -> str:
    return _redact(url)


def restore_backup(location: str, *, objects_url: str | None = None, runtime=None,
                   progress=None) -> dict:
    folder, default_objects = _target(location)
    meta_path = folder / META
    if not meta_path.exists():
        raise BackupError(f"{folder}: no {META} — not a sohoa backup (or an unfinished one)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise BackupError(f"{folder}: backup format {meta.get('format')} is not {FORMAT}")
    dump = folder / meta["catalog_file"]
    if _sha256_file(dump) != meta["catalog_sha256"]:
        raise BackupError(f"{dump}: checksum differs from backup.json (damaged backup)")
    if _sha256_file(folder / MANIFEST) != meta["manifest_sha256"]:
        raise BackupError(f"{folder / MANIFEST}: checksum differs from backup.json")
    rt = runtime or get_runtime()
    url = rt.settings.catalog_url
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    if kind != meta["catalog"]:
        raise BackupError(f"the backup holds a {meta['catalog']} catalog; the configured one "
                          f"is {kind}")
    store = rt.objects
    if next(iter(store.iter_keys("")), None) is not None:
        raise BackupError("the object store is not empty: restore into a new bucket or folder")
    restore_catalog(url, dump)
    entries = _read_manifest(folder / MANIFEST)
    source = open_object_store(objects_url or default_objects)
    restored = 0
    with tempfile.TemporaryDirectory(prefix="sohoa-restore-") as tmp:
        scratch = Path(tmp) / "object"
        for key, entry in entries.items():
            copy = _copy(source, store, key, scratch)
            if copy["sha256"] != entry["sha256"]:
                raise BackupError(f"object {key}: the backup copy differs from the manifest")
            restored += 1
            if progress is not None and restored % 500 == 0:
                progress.print(f"{restored} objects restored")
    return {"restored_from": str(folder), "revision": meta["revision"], "objects": restored}
