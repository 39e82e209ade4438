"""Bulk import of earlier scans: a folder (walked recursively) of PDFs, TIFFs, PNGs and JPEGs,
with an optional CSV manifest (file, dossier, unit, procedure, issued_on per file, and for the
archive record: paper_code — the paper original's record code —, sheets, condition).

One batch per folder and PC (its id comes from the host name and the folder's absolute
path), one journal item per file: a rerun after a crash or a stop skips what already has an
outcome and carries on documents left half-way; the catalog keeps one document per content
hash, so nothing is stored twice even when the same scan sits in two folders. Files are
streamed by the pipeline one page at a time; the importer keeps nothing but names in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from batch.commit import refresh_queued, submit_item
from batch.journal import Journal, this_host

SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
MANIFEST_COLUMNS = ("file", "dossier", "unit", "procedure", "issued_on", "paper_code", "sheets",
                    "condition")


class ImportError_(ValueError):
    """A folder or manifest that cannot be imported; the message names the file and the line."""


def batch_id_for(folder: Path, host: str | None = None) -> str:
    """The batch of a folder as this PC (`host`) sees it: the journal is shared by every PC
    of the catalog, and the same path on two PCs may hold different scans."""
    key = f"{host or this_host()}:{Path(folder).resolve()}"
    return "import-" + hashlib.sha1(key.encode()).hexdigest()[:12]


def legacy_batch_id(folder: str) -> str:
    """The id a folder's batch had in a per-home journal (path only)."""
    return "import-" + hashlib.sha1(folder.encode()).hexdigest()[:12]


def scan_files(folder: Path) -> list[str]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ImportError_(f"{folder}: not a folder")
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))


def other_files(folder: Path) -> list[str]:
    """Files that are not scans (left alone, but named to the operator)."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*")
                  if p.is_file() and p.suffix.lower() not in SUFFIXES
                  and not p.name.startswith("."))


def read_manifest(path: Path, names: list[str]) -> dict[str, dict]:
    """Rows keyed by file name (relative path, or bare name when unique)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportError_(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise ImportError_(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from None
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    if "file" not in columns:
        raise ImportError_(f"{path}: no 'file' column (expected {', '.join(MANIFEST_COLUMNS)})")
    unknown = set(columns) - set(MANIFEST_COLUMNS)
    if unknown:
        raise ImportError_(f"{path}: unknown column(s) {', '.join(sorted(unknown))} "
                           f"(expected {', '.join(MANIFEST_COLUMNS)})")
    by_base: dict[str, list[str]] = {}
    for name in names:
        by_base.setdefault(Path(name).name, []).append(name)
    rows: dict[str, dict] = {}
    for line, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        ref = row.get("file", "")
        name = ref if ref in names else (by_base.get(ref, [None])[0]
                                         if len(by_base.get(ref, [])) == 1 else None)
        if name is None:
            raise ImportError_(f"{path}: line {line}: file {ref!r} is not in the folder "
                               f"(or its name is not unique)")
        if row.get("issued_on"):
            try:
                dt.date.fromisoformat(row["issued_on"])
            except ValueError:
                raise ImportError_(f"{path}: line {line}: issued_on {row['issued_on']!r} is not "
                                   f"a date like 2020-01-05") from None
        if row.get("sheets") and not row["sheets"].isdigit():
            raise ImportError_(f"{path}: line {line}: sheets {row['sheets']!r} is not a whole "
                               f"number of sheets")
        rows[name] = row
    return rows


def import_folder(rt, broker, journal: Journal, folder: Path, *, unit: str | None,
                  procedure: str | None = None, manifest: Path | None = None,
                  workers: int = 1, on_item: Callable[[str, dict], None] | None = None) -> str:
    """Import (or resume importing) a folder; the batch id."""
    folder = Path(folder)
    names = scan_files(folder)
    rows = read_manifest(manifest, names) if manifest else {}
    if unit is None and any(not rows.get(n, {}).get("unit") for n in names):
        raise ImportError_(f"{folder}: no --unit given and the manifest has no unit for "
                           f"every file")
    batch_id = batch_id_for(folder)
    journal.open_batch(batch_id, "import", str(folder.resolve()),
                       {"unit": unit, "procedure": procedure,
                        "manifest": str(manifest) if manifest else None})
    positions = journal.add_items(batch_id, names)
    refresh_queued(rt, journal, batch_id)  # what workers finished since the last run is done
    done = {i["name"]: i for i in journal.items(batch_id)
            if i["status"] in ("stored", "needs_review", "refused")}
    todo = [n for n in names if n not in done]
    for name in names:
        if name in done and on_item:
            on_item(name, {"status": done[name]["status"], "skipped": True})

    def one(name: str) -> None:
        row = rows.get(name, {})
        corrections = ({"fields": {"issued_on": row["issued_on"]}, "actor": "batch-manifest"}
                       if row.get("issued_on") else None)
        archive = {key: value for key, value in (
            ("paper_code", row.get("paper_code") or None),
            ("sheets", int(row["sheets"]) if row.get("sheets") else None),
            ("physical_condition", row.get("condition") or None)) if value is not None}
        try:
            result = submit_item(rt, broker, journal, batch_id, positions[name], folder / name,
                                 unit=row.get("unit") or unit, procedure=row.get("procedure")
                                 or procedure, dossier=row.get("dossier") or None,
                                 corrections=corrections, archive=archive or None)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
            journal.set_item(batch_id, positions[name], status="refused",
                             reason=f"{type(exc).__name__}: {exc}")
            result = {"status": "refused", "reason": str(exc)}
        if on_item:
            on_item(name, result)

    rt.database_url  # migrate and seed once, before threads race for it  # noqa: B018
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(one, todo))
    if not any(i["status"] in ("pending", "queued") for i in journal.items(batch_id)):
        journal.finish(batch_id)
    return batch_id
