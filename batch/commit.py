"""Handing batch items to the pipeline through its public submit function, and recording the
outcome in the journal. Resuming is safe: the pipeline keeps one document per content hash,
and a document left half-way by a crash is carried on from the stage it reached.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

from batch.journal import Journal
from batch.pages import PageFacts
from batch.split import Document, split_stack
from ocr.cache import ResultCache
from ocr.pages import CAPTURE_CREATOR
from ocr.stored import one_idat

log = logging.getLogger(__name__)

FINAL = {"stored": "stored", "needs_review": "needs_review"}


def submit_item(rt, broker, journal: Journal, batch_id: str, seq: int, path: Path, *,
                unit: str, procedure: str | None = None, dossier: str | None = None,
                corrections: dict | None = None, archive: dict | None = None) -> dict:
    """Submit one file; its journal row ({status, document_id, reason}). `archive`: what is
    known of the paper (sheets, physical_condition, paper_code) for its archive record."""
    from pipeline.ingest import file_sha256
    from pipeline.review import continue_processing
    from pipeline.submission import submit
    from storage.catalog import Document

    sha = file_sha256(path)[0] if path.is_file() and path.stat().st_size else None
    record = submit(rt, rt.dispatcher, [path], unit_code=unit, procedure=procedure,
                    dossier=dossier, actor="batch", corrections=corrections,
                    archive=archive)[0]
    doc_id = record.get("document_id")
    status, reason = record["status"], record.get("error")
    if doc_id and status == "duplicate":
        with rt.session() as session:
            status = session.get(Document, doc_id).state
        if status in ("received", "ocr_done", "classified"):  # a crash left it half-way
            status = continue_processing(rt, doc_id)
            if status == "queued" or broker is not None:
                status = "queued"
    if status in FINAL:
        outcome = FINAL[status]
    elif status in ("queued", "received", "ocr_done", "classified") and doc_id and \
            broker is not None:
        outcome = "queued"
    else:
        outcome = "refused"
        if doc_id and not reason:
            with rt.session() as session:
                reason = session.get(Document, doc_id).error or f"state {status}"
        reason = reason or "refused"
    journal.set_item(batch_id, seq, status=outcome, sha256=sha, document_id=doc_id,
                     reason=reason if outcome == "refused" else None)
    return {"status": outcome, "document_id": doc_id, "reason": reason}


def refresh_queued(rt, journal: Journal, batch_id: str) -> None:
    """Items handed to workers ('queued') take the outcome their document has reached since."""
    from storage.catalog import Document

    queued = [i for i in journal.items(batch_id) if i["status"] == "queued" and i["document_id"]]
    if not queued:
        return
    with rt.session() as session:
        for item in queued:
            doc = session.get(Document, item["document_id"])
            if doc is None:
                continue
            if doc.state in FINAL:
                journal.set_item(batch_id, item["seq"], status=FINAL[doc.state])
            elif doc.state == "failed":
                journal.set_item(batch_id, item["seq"], status="refused",
                                 reason=doc.error or "failed")
    if not any(i["status"] in ("pending", "queued") for i in journal.items(batch_id)):
        journal.finish(batch_id)


def images_to_pdf(images: list[Path], out: Path, dpi: int) -> Path:
    """Page images → one PDF, losslessly and byte-for-byte the same on every run (no dates),
    so a document rebuilt after a crash is recognised as the one already submitted. Its
    Creator marks it as capture's own (`ocr.pages.CAPTURE_CREATOR`): its pages are read as
    stored rather than rendered again."""
    import img2pdf

    if out.exists() and out.stat().st_size:
        return out
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    # the Creator tells the OCR stage to read the pages as stored, not render them again
    # rotation none: the spooled pages carry no EXIF turn, and looking for one makes img2pdf
    # decode every PNG in full (~0.15 s a 300 dpi page); the bytes are the same either way
    # each page's data in one chunk: img2pdf then copies it once (`ocr.stored.one_idat`); the
    # PDF is the same
    data = img2pdf.convert([one_idat(p.read_bytes()) for p in images], layout_fun=layout,
                           nodate=True, creator=CAPTURE_CREATOR, rotation=img2pdf.Rotation.none)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out




def read_lang_for(settings) -> str | None:
    """The language `Spool.examine` reads pages in when the documents will be recognized in
    this process (inline pipeline: each page is then read once, while examining); None when
    workers recognize them (only the header is read then)."""
    from pipeline.broker import INLINE, BrokerConfigError, broker_kind

    try:
        return settings.ocr_lang if broker_kind(settings.broker_url) == INLINE else None
    except BrokerConfigError:
        return None


def commit_spool(rt, broker, journal: Journal, spool, *, unit: str, procedure: str | None = None,
                 on_item=None, workers: int = 1, documents: list | None = None) -> str:
    """Each document of a spooled stack's split → one PDF → the pipeline, `workers` documents
    at a time (most documents of a stack are one or two pages: one at a time would leave a
    core idle while Tesseract reads on the other). Resumable. Inline (`broker` None), pages
    read while examining (`Spool.examine(read_lang=…)`) are not read again. `documents`:
    only these (position in the split, document) — the settled part of a stack still being
    examined (`committing_as_settled`); the batch is not marked finished then."""
    from concurrent.futures import ThreadPoolExecutor

    whole = documents is None
    if whole:
        documents = list(enumerate(spool.split().documents))
    documents = dict(documents)
    pages = {p["index"]: p for p in spool.pages()}
    journal.open_batch(spool.id, "scan", spool.params.get("scanner", ""),
                       {"unit": unit, "procedure": procedure, **spool.params})
    names = {n: f"doc-{n + 1:03d} pages {','.join(str(i + 1) for i in d.pages)}"
             for n, d in documents.items()}
    positions = journal.add_items(spool.id, list(names.values()))
    refresh_queued(rt, journal, spool.id)  # what workers finished since the last run is done
    done = {i["name"] for i in journal.items(spool.id)
            if i["status"] in ("stored", "needs_review", "refused")}

    def one(n: int) -> None:
        name, doc = names[n], documents[n]
        dpi = pages[doc.pages[0]]["dpi"]
        try:
            pdf = images_to_pdf([spool.pages_dir / pages[i]["file"] for i in doc.pages],
                                spool.docs_dir / f"{n + 1:03d}.pdf", dpi)
        except Exception as exc:  # noqa: BLE001 - a damaged spooled page: this document only
            bad = [str(i + 1) for i in doc.pages if pages[i].get("error")]
            reason = (f"page {', '.join(bad)} of the stack is damaged on disk: scan it again"
                      if bad else f"its PDF could not be built: {type(exc).__name__}: {exc}")
            journal.set_item(spool.id, positions[name], status="refused", reason=reason[:300])
            if on_item:
                on_item(name, {"status": "refused", "document_id": None, "reason": reason})
            return
        sheets = sum(1 for i in doc.pages if pages[i].get("side") != "back")  # fronts = sheets
        result = submit_item(rt, broker, journal, spool.id, positions[name], pdf, unit=unit,
                             procedure=procedure, dossier=doc.dossier,
                             archive={"sheets": sheets})
        if on_item:
            on_item(name, result)

    todo = [n for n, name in names.items() if name not in done]
    rt.database_url  # migrate and seed once, before threads race for it  # noqa: B018
    # inline, the OCR stage takes the pages' recognition from examining (when it read them)
    previous, cache = getattr(rt, "ocr_cache", None), (ResultCache(spool.ocr_cache_dir) if broker is None
                                     and spool.ocr_cache_dir.is_dir() else None)
    if cache is not None:
        rt.ocr_cache = cache
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(one, todo))
    finally:
        if cache is not None and rt.ocr_cache is cache:
            rt.ocr_cache = previous
    if whole and not any(i["status"] in ("pending", "queued") for i in journal.items(spool.id)):
        journal.finish(spool.id)
    return spool.id


def settled_documents(spool, method: str) -> list[tuple[int, Document]]:
    """The documents of a stack still being examined that no later page can change, with
    their position in the stack's split: the split of the pages examined so far (up to the
    first page not examined yet) but its last document, and only while the next document
    starts at least two examined pages before the end (whether a blank front ends a document
    depends on its back, the page after it)."""
    examined = spool.examined()
    split = split_stack([PageFacts.from_dict(p) for p in examined],
                        [p["side"] for p in examined], method)
    docs = split.documents
    return [(n, docs[n]) for n in range(len(docs) - 1)
            if docs[n + 1].pages[0] <= len(examined) - 3]


@contextlib.contextmanager
def committing_as_settled(rt, broker, journal: Journal, spool, *, method: str, unit: str,
                          procedure: str | None = None, on_item=None, workers: int = 1,
                          every: float = 1.0):
    """While the body examines a stack that is committed without review (`sohoa batch scan
    --commit`), commit each document as soon as the pages after it settle its boundary
    (`settled_documents`), in a thread beside the examining: the catalog fills as the stack
    goes and the commit's work overlaps the OCR's instead of waiting for the last page. The
    caller commits the whole split after the body (`commit_spool`: what is done is skipped).
    A failure here is logged and left to that last commit, which reports it."""
    stop = threading.Event()

    def follow() -> None:
        committed: set[int] = set()
        while True:
            last = stop.wait(every)
            try:
                todo = [(n, d) for n, d in settled_documents(spool, method) if n not in committed]
                if todo:
                    commit_spool(rt, broker, journal, spool, unit=unit, procedure=procedure,
                                 on_item=on_item, workers=workers, documents=todo)
                    committed.update(n for n, _ in todo)
            except Exception:  # noqa: BLE001 - the last commit does it again and reports
                log.exception("batch %s: committing settled documents failed", spool.id)
                return
            if last:
                return

    thread = threading.Thread(target=follow, name=f"commit-{spool.id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
