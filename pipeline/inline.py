"""Running the stages in-process: the embedded default (`SOHOA_BROKER_URL=inline`).

Documents are spread over threads; each document's pages go to Tesseract processes. With many
files each document uses one OCR worker (files in parallel); with few, pages run in parallel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline import states
from pipeline.errors import describe, is_permanent
from pipeline.ingest import ingest_file, quarantine
from pipeline.runtime import Runtime
from pipeline.stages import STAGES, mark_failed
from storage.catalog import Document

log = logging.getLogger(__name__)


def process_document(rt: Runtime, doc_id: str, *, ocr_workers: int | None = None,
                     stop_before: str | None = None) -> str:
    """Run the remaining stages of one document (all, or up to `stop_before`); its state."""
    while True:
        with rt.session() as session:
            state = session.get(Document, doc_id).state
        stage = states.NEXT_STAGE.get(state)
        if stage is None or stage == stop_before:
            return state
        try:
            if stage == "ocr":
                STAGES[stage](rt, doc_id, workers=ocr_workers)
            else:
                STAGES[stage](rt, doc_id)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded with its stage
            log.warning("document %s failed in %s: %s", doc_id, stage, exc)
            mark_failed(rt, doc_id, stage, describe(exc))
            if is_permanent(exc):
                try:
                    quarantine(rt, doc_id)
                except Exception:  # noqa: BLE001
                    log.exception("document %s: quarantine failed", doc_id)
            return states.FAILED


def outcome(rt: Runtime, path: Path, doc_id: str | None, *, duplicate=False, error=None) -> dict:
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
            status="duplicate" if duplicate else (
                doc.state if doc.state in (states.STORED, states.NEEDS_REVIEW, states.FAILED)
                else doc.state),
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


def digitize(
    rt: Runtime,
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
            result = outcome(rt, path, None, error=describe(exc))
        else:
            if accepted.duplicate:  # reported once the batch is done: it may still be running
                duplicates[index] = accepted.document_id
                return None
            process_document(rt, accepted.document_id, ocr_workers=ocr_workers)
            result = outcome(rt, path, accepted.document_id)
        if on_done:
            on_done(index, result)
        return result

    rt.database_url  # migrate and seed once, before threads race for it  # noqa: B018
    with ThreadPoolExecutor(max_workers=parallel_files) as pool:
        results = list(pool.map(one, enumerate(paths)))
    for index, doc_id in sorted(duplicates.items()):
        results[index] = outcome(rt, paths[index], doc_id, duplicate=True)
        if on_done:
            on_done(index, results[index])
    return results
