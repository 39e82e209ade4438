"""`sohoa digitize`: a batch of files through every stage in this process, and its report.

The per-document driver is `pipeline.driver.process_document`; this module spreads a batch over
threads and builds the `--json` outcome records.

Documents are spread over threads; each document's pages go to Tesseract processes. With many
files each document uses one OCR worker (files in parallel); with few, pages run in parallel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.context import Context
from pipeline.driver import process_document, reopen_failed
from pipeline.errors import describe
from pipeline.ingest import ingest_file
from pipeline.stuck import recover
from storage import states
from storage.catalog import Document

__all__ = ["digitize", "outcome", "outcome_line", "process_document"]

log = logging.getLogger(__name__)


def outcome(rt: Context, path: Path, doc_id: str | None, *, duplicate=False, error=None) -> dict:
    """The JSON contract of `sohoa digitize --json` for one input file."""
    record = {"file": str(path), "document_id": doc_id, "status": "failed",
              "document_type": None, "confidence": None,
              "fields": {k: None for k in ("number", "issued_on", "issuer", "subject_name",
                                           "subject_id")},
              "pages": None, "sha256": None, "error": error}
    if doc_id is None:
        return record
    with rt.session() as session:
        doc = session.get(Document, doc_id)
        fields = doc.fields or {}
        record.update(
            # the same bytes again: a failed document answers failed (with its reason), not
            # a quiet duplicate
            status=states.FAILED if doc.state == states.FAILED else (
                "duplicate" if duplicate else doc.state),
            document_type=doc.document_type,
            confidence=round(doc.confidence, 3) if doc.confidence is not None else None,
            pages=doc.page_count,
            sha256=doc.signed_sha256,
            error=doc.error if doc.state == states.FAILED else error,
        )
        record["fields"] = {k: fields.get(k) for k in record["fields"]}
        if fields.get("crops"):  # where number/date were read: {field: {"page", "box"}}
            record["crops"] = fields["crops"]
        if duplicate:
            record["state"] = doc.state
    return record


def outcome_line(record: dict) -> str:
    """One human-readable line for an outcome record (the non-JSON output of the CLI)."""
    line = f"{record['status']:<12} {record['file']}"
    if record["document_id"]:
        line += f"  id={record['document_id']}"
    if record["error"]:
        line += f"  error: {record['error']}"
    return line


def resume_if_stuck(rt: Context, doc_id: str, ocr_workers: int | None) -> bool:
    """Digitizing a file again whose document was left mid-pipeline (its process killed):
    record the interruption, then resume it where it stopped. True if it was stuck."""
    if not recover(rt, doc_id, actor="cli"):
        return False
    log.warning("document %s was left mid-pipeline by a stopped process: resuming it", doc_id)
    if reopen_failed(rt, doc_id, actor="cli") is not None:
        process_document(rt, doc_id, ocr_workers=ocr_workers)
    return True


def digitize(
    rt: Context,
    paths: Iterable[Path],
    *,
    unit_code: str,
    procedure: str | None = None,
    dossier: str | None = None,
    on_done: Callable[[int, dict], None] | None = None,
) -> list[dict]:
    paths = [Path(p) for p in paths]
    workers = max(1, rt.settings.ocr_workers)
    parallel_files = min(workers, len(paths)) or 1
    ocr_workers = max(1, workers // parallel_files)

    duplicates: dict[int, str] = {}

    def one(item: tuple[int, Path]) -> dict | None:
        index, path = item
        try:
            accepted = ingest_file(rt, path, unit_code=unit_code, procedure=procedure,
                                   dossier=dossier)
        except Exception as exc:  # noqa: BLE001
            result = outcome(rt, path, None, error=describe(exc, path.name))
        else:
            if accepted.duplicate and not resume_if_stuck(rt, accepted.document_id,
                                                           ocr_workers):
                # reported once the batch is done: it may still be running
                duplicates[index] = accepted.document_id
                return None
            if not accepted.duplicate:
                process_document(rt, accepted.document_id, ocr_workers=ocr_workers)
            result = outcome(rt, path, accepted.document_id)
        if on_done:
            on_done(index, result)
        return result

    rt.open()  # migrate and seed once, before threads race for it
    with ThreadPoolExecutor(max_workers=parallel_files) as pool:
        results = list(pool.map(one, enumerate(paths)))
    for index, doc_id in sorted(duplicates.items()):
        results[index] = outcome(rt, paths[index], doc_id, duplicate=True)
        if on_done:
            on_done(index, results[index])
    return results
