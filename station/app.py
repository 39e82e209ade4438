"""The station's local web app: a Vietnamese page for counter staff and the JSON API behind it.

`Station` owns the scanner session (one scan at a time, pages stored in the spool as they come),
quick recognition in the background, submissions and the delivery thread. `create_app(station)`
serves the page (station/web) and the API the page uses; the page polls a batch while it scans.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, HTTPException, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel

from scanners.base import ScannerError
from scanners.profiles import DEFAULT_PROFILES, ScanProfile
from station import lookup
from station import spool as sp
from station.delivery import Deliverer

log = logging.getLogger(__name__)
WEB = Path(__file__).parent / "web"


class Station:
    def __init__(self, spool: sp.Spool, *, scanner_uri: str | None, unit: str, sink,
                 profiles: dict[str, ScanProfile] | None = None, profile: str = "mac-dinh",
                 recognize: bool = True, scanner=None, ocr_lang: str = "vie",
                 retry_base: float = 1.0):
        self.spool, self.scanner_uri, self.unit, self.sink = spool, scanner_uri, unit, sink
        self.profiles = profiles or dict(DEFAULT_PROFILES)
        self.profile = profile if profile in self.profiles else next(iter(self.profiles))
        self.recognize_enabled, self.ocr_lang = recognize, ocr_lang
        self._scanner = scanner
        self._scan_lock = threading.Lock()
        self._recognizer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="station-ocr")
        self._side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="station-qr")
        self.deliverer = Deliverer(spool, sink, base_delay=retry_base)
        self.page_hooks: list = []  # called with (batch_id, page dict) after a page is on disk
        self._recover()

    def _recover(self) -> None:
        """After a crash: a batch marked scanning is not scanning any more; pages on disk stay."""
        for batch in self.spool.in_state(sp.DRAFT):
            if batch.get("scanning"):
                with self.spool.edit(batch["id"]) as b:
                    b["scanning"] = False
                    b["scan_error"] = {"kind": "interrupted", "vi": "Lượt quét trước bị gián đoạn; "
                                       "các trang đã quét vẫn được giữ. Bấm Quét tiếp nếu còn trang."}

    def start(self) -> None:
        for batch in self.spool.in_state(sp.QUEUED):  # after a restart: try again at once
            with self.spool.edit(batch["id"]) as b:
                b["submission"]["next_attempt_at"] = 0
        self.deliverer.start()

    def stop(self) -> None:
        self.deliverer.stop()
        self._recognizer.shutdown(wait=False, cancel_futures=True)
        self._side.shutdown(wait=False, cancel_futures=True)
        if self._scanner is not None:
            self._scanner.close()
        close = getattr(self.sink, "close", None)
        if close:
            close()
        self.spool.close()

    # --- scanning ------------------------------------------------------------------------

    def scanner(self):
        if self._scanner is None:
            if not self.scanner_uri:
                raise ScannerError("offline", "no scanner configured",
                                   vi="Chưa cấu hình máy quét (--scanner). Có thể nhập tệp thay thế.")
            from scanners.registry import open_scanner

            kw = {}
            if self.scanner_uri.startswith("folder:"):
                from scanners.hotfolder import JsonSeen

                kw["seen"] = JsonSeen(self.spool.root / "seen.json")
            self._scanner = open_scanner(self.scanner_uri, **kw)
        return self._scanner

    def scan(self, batch_id: str, *, profile: str | None = None, replace: str | None = None) -> None:
        """Scan into the batch (blocking; run it in a thread). `replace` rescans one page."""
        prof = self.profiles.get(profile or self.profile, self.profiles[self.profile])
        insert_at = None
        if replace:
            prof = ScanProfile(**{**prof.to_dict(), "max_pages": 1})
        with self._scan_lock:
            with self.spool.edit(batch_id) as batch:
                batch["scanning"] = True
                batch["scan_error"] = None
                batch["scan_started"] = time.time()
            first = True

            def store(page):
                nonlocal first, insert_at
                if replace and insert_at is None:
                    insert_at = self.spool.remove_page(batch_id, replace)
                at = insert_at if replace else None
                saved = self.spool.add_page(batch_id, page.image, dpi=page.dpi, mode=page.mode,
                                            source_name=page.source_name, at=at,
                                            extra={"side": page.side})
                if first and not replace:
                    first = False
                    self._side.submit(self._read_receipt, batch_id, page.image)
                for hook in self.page_hooks:
                    hook(batch_id, saved)

            error = None
            try:
                self.scanner().scan(prof, on_page=store)
            except ScannerError as exc:
                error = exc.to_dict()
                log.warning("scan into %s: %s", batch_id, exc)
            except Exception as exc:  # noqa: BLE001 - show it, keep the pages
                log.exception("scan into %s failed", batch_id)
                error = ScannerError("other", str(exc)).to_dict()
            with self.spool.edit(batch_id) as batch:
                batch["scanning"] = False
                batch["scan_error"] = error
                batch["scan_finished"] = time.time()
        if self.recognize_enabled and self.spool.load(batch_id)["pages"]:
            self.schedule_recognition(batch_id)

    def _read_receipt(self, batch_id: str, image) -> None:
        try:
            text = lookup.read_qr(image)
        except Exception:  # noqa: BLE001 - a QR is a convenience, never a failure
            log.exception("QR reading failed")
            return
        if not text:
            return
        found = lookup.parse_receipt_payload(text)
        with self.spool.edit(batch_id) as batch:
            batch["qr"] = {"text": text[:500], **found}
            if found.get("dossier") and not batch["dossier"]:
                batch["dossier"] = found["dossier"]
            if not batch["procedure"]:
                batch["procedure"] = found.get("procedure") or lookup.suggest_procedure(
                    batch["dossier"]) or ""

    def import_files(self, batch_id: str, paths: list[Path]) -> None:
        from scanners.files import read_file_pages

        errors = []
        for path in paths:
            try:
                for page in read_file_pages(path):
                    self.spool.add_page(batch_id, page.image, dpi=page.dpi, mode=page.mode,
                                        source_name=page.source_name)
            except ScannerError as exc:
                errors.append(exc.vi)
        with self.spool.edit(batch_id) as batch:
            batch["scan_error"] = {"kind": "bad_file", "vi": " ".join(errors)} if errors else None
        if self.recognize_enabled:
            self.schedule_recognition(batch_id)

    # --- recognition ---------------------------------------------------------------------

    def schedule_recognition(self, batch_id: str) -> None:
        with self.spool.edit(batch_id) as batch:
            batch["recognizing"] = True
        self._recognizer.submit(self._recognize, batch_id)

    def _recognize(self, batch_id: str) -> None:
        from station.recognize import recognize

        try:
            batch = self.spool.load(batch_id)
            signature = [(p["id"], p.get("rotation", 0)) for p in batch["pages"]]
            images = [(self.spool.page_image(batch_id, p), p["dpi"]) for p in batch["pages"]]
            result = recognize(images, lang=self.ocr_lang) if images else None
        except Exception as exc:  # noqa: BLE001
            log.warning("recognition of %s failed: %s", batch_id, exc)
            # a page the quality gate refused carries a Vietnamese message for the counter
            result = {"error": getattr(exc, "vi", None) or str(exc)}
            signature = None
        with self.spool.edit(batch_id) as batch:
            batch["recognizing"] = False
            now = [(p["id"], p.get("rotation", 0)) for p in batch["pages"]]
            if signature is None or now == [tuple(x) for x in signature]:
                batch["recognition"] = result
                if result and not result.get("error") and not batch.get("document_type"):
                    batch["document_type"] = result["document_type"]

    # --- submission ----------------------------------------------------------------------

    def submit(self, batch_id: str, *, document_type: str | None, fields: dict,
               dossier: str | None = None, procedure: str | None = None) -> dict:
        with self.spool.edit(batch_id) as batch:
            if batch["state"] != sp.DRAFT:
                raise HTTPException(409, "Bản quét này đã được gửi.")
            if not batch["pages"]:
                raise HTTPException(422, "Chưa có trang nào. Hãy quét trước khi gửi.")
            if batch.get("scanning"):
                raise HTTPException(409, "Máy đang quét, hãy chờ quét xong rồi gửi.")
            if dossier is not None:
                batch["dossier"] = dossier.strip()
            if procedure is not None:
                batch["procedure"] = procedure.strip()
            rec = batch.get("recognition") or {}
            seen = rec.get("fields") or {}
            corrected = {k: (v or "").strip() for k, v in fields.items()
                         if (v or "").strip() != (seen.get(k) or "")}
            corrections = {"fields": corrected}
            if document_type and document_type != rec.get("document_type"):
                corrections["document_type"] = document_type
            elif document_type and corrected:
                corrections["document_type"] = document_type  # confirmed along with the fields
            batch["document_type"] = document_type
            batch["fields"] = fields
            batch["corrections"] = corrections if (corrected or "document_type" in corrections) else {}
        pdf, sha = self.spool.build_submission(batch_id)
        with self.spool.edit(batch_id) as batch:
            batch["submission"] = {"file": pdf.name, "sha256": sha,
                                   "idempotency_key": f"{batch_id}.{sha[:32]}",
                                   "submitted_at": sp.now_iso(), "submitted_ts": time.time(),
                                   "attempts": 0, "next_attempt_at": 0, "document_id": None}
            batch["state"] = sp.QUEUED
            self.spool.log(batch, "đã đưa vào hàng chờ gửi")
        self.deliverer.wake()
        return self.spool.load(batch_id)

    def retry(self, batch_id: str) -> dict:
        with self.spool.edit(batch_id) as batch:
            if batch["state"] != sp.FAILED or not batch.get("submission"):
                raise HTTPException(409, "Chỉ gửi lại được bản bị lỗi.")
            batch["state"] = sp.QUEUED if not batch["submission"].get("document_id") else sp.PROCESSING
            batch["submission"]["next_attempt_at"] = 0
        self.deliverer.wake()
        return self.spool.load(batch_id)

    def today(self) -> dict:
        day = date.today().isoformat()
        rows = [b for b in self.spool.all() if b.get("day") == day and b["state"] != sp.DRAFT]
        rows.sort(key=lambda b: (b.get("submission") or {}).get("submitted_at", ""), reverse=True)
        counts = {state: 0 for state in sp.STATE_VI if state != sp.DRAFT}
        for b in rows:
            counts[b["state"]] += 1
        return {"day": day, "counts": counts, "total": len(rows),
                "pages": sum(len(b["pages"]) for b in rows),
                "items": [summary(b) for b in rows]}


def summary(batch: dict) -> dict:
    sub = batch.get("submission") or {}
    return {"id": batch["id"], "dossier": batch.get("dossier"), "procedure": batch.get("procedure"),
            "pages": len(batch["pages"]), "state": batch["state"],
            "state_vi": sp.STATE_VI[batch["state"]], "document_type": batch.get("document_type"),
            "submitted_at": sub.get("submitted_at"), "document_id": sub.get("document_id"),
            "attempts": sub.get("attempts", 0), "reason": sub.get("error_vi")}


# --- HTTP --------------------------------------------------------------------------------

class NewBatch(BaseModel):
    dossier: str = ""
    procedure: str = ""


class Meta(BaseModel):
    dossier: str | None = None
    procedure: str | None = None


class ScanRequest(BaseModel):
    profile: str | None = None


class Rotate(BaseModel):
    degrees: int = 90


class Move(BaseModel):
    to: int


class Submit(BaseModel):
    document_type: str | None = None
    fields: dict[str, str | None] = {}
    dossier: str | None = None
    procedure: str | None = None


def create_app(station: Station, *, manage_lifecycle: bool = True) -> FastAPI:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app):
        if manage_lifecycle:
            station.start()
        yield
        if manage_lifecycle:
            station.stop()

    app = FastAPI(title="sohoa station", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.station = station
    spool = station.spool

    def batch_or_404(batch_id: str) -> dict:
        try:
            return spool.load(batch_id)
        except sp.SpoolError:
            raise HTTPException(404, "Không tìm thấy bản quét.") from None

    @app.exception_handler(sp.SpoolError)
    async def _spool_error(_request, exc):
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.get("/", response_class=HTMLResponse)
    def index():
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/static/{name}")
    def static(name: str):
        path = WEB / name
        if name not in ("app.js", "style.css") or not path.exists():
            raise HTTPException(404)
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return FileResponse(path, media_type=f"{media}; charset=utf-8")

    @app.get("/api/info")
    def info():
        from station.recognize import FIELD_LABELS_VI, doctype_choices

        return {"scanner": station.scanner_uri, "unit": station.unit, "mode": station.sink.name,
                "server": getattr(station.sink, "server", None), "profile": station.profile,
                "profiles": {k: v.to_dict() for k, v in station.profiles.items()},
                "procedures": lookup.PROCEDURES, "doctypes": doctype_choices(),
                "field_labels": FIELD_LABELS_VI}

    @app.get("/api/suggest")
    def suggest(dossier: str = ""):
        code = lookup.suggest_procedure(dossier)
        return {"procedure": code, "name": lookup.PROCEDURES.get(code) if code else None,
                "valid": lookup.valid_dossier(dossier)}

    @app.post("/api/batches", status_code=201)
    def new_batch(body: NewBatch):
        procedure = body.procedure or lookup.suggest_procedure(body.dossier) or ""
        return spool.create(dossier=body.dossier.strip(), procedure=procedure, unit=station.unit)

    @app.get("/api/batches/{batch_id}")
    def get_batch(batch_id: str):
        return batch_or_404(batch_id)

    @app.put("/api/batches/{batch_id}")
    def put_meta(batch_id: str, body: Meta):
        batch_or_404(batch_id)
        with spool.edit(batch_id) as batch:
            if body.dossier is not None:
                batch["dossier"] = body.dossier.strip()
            if body.procedure is not None:
                batch["procedure"] = body.procedure.strip()
        return spool.load(batch_id)

    @app.post("/api/batches/{batch_id}/scan", status_code=202)
    def scan(batch_id: str, body: ScanRequest | None = None):
        batch = batch_or_404(batch_id)
        if batch["state"] != sp.DRAFT:
            raise HTTPException(409, "Bản quét này đã được gửi.")
        if batch.get("scanning"):
            raise HTTPException(409, "Máy đang quét.")
        with spool.edit(batch_id) as b:
            b["scanning"] = True  # visible at once, before the thread starts
        threading.Thread(target=station.scan, args=(batch_id,),
                         kwargs={"profile": body.profile if body else None}, daemon=True).start()
        return {"scanning": True}

    @app.post("/api/batches/{batch_id}/pages/{page_id}/rescan", status_code=202)
    def rescan(batch_id: str, page_id: str):
        batch_or_404(batch_id)
        threading.Thread(target=station.scan, args=(batch_id,), kwargs={"replace": page_id},
                         daemon=True).start()
        return {"scanning": True}

    @app.post("/api/batches/{batch_id}/import")
    def import_files(batch_id: str, files: Annotated[list[UploadFile], File()]):
        batch_or_404(batch_id)
        inbox = spool.dir(batch_id) / "imported"
        paths = []
        for upload in files:
            name = Path(upload.filename or "tep").name
            path = inbox / f"{len(paths):02d}-{name}"
            sp.write_durable(path, upload.file.read())
            paths.append(path)
        station.import_files(batch_id, paths)
        return spool.load(batch_id)

    @app.get("/api/batches/{batch_id}/pages/{page_id}/thumb")
    def thumb(batch_id: str, page_id: str):
        path = spool.thumb_path(batch_id, page_id)
        if not path.exists():
            raise HTTPException(404)
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    def _after_edit(batch_id: str):
        if station.recognize_enabled:
            station.schedule_recognition(batch_id)
        return spool.load(batch_id)

    @app.post("/api/batches/{batch_id}/pages/{page_id}/rotate")
    def rotate(batch_id: str, page_id: str, body: Rotate):
        spool.rotate_page(batch_id, page_id, body.degrees)
        return _after_edit(batch_id)

    @app.post("/api/batches/{batch_id}/pages/{page_id}/move")
    def move(batch_id: str, page_id: str, body: Move):
        spool.move_page(batch_id, page_id, body.to)
        return _after_edit(batch_id)

    @app.delete("/api/batches/{batch_id}/pages/{page_id}")
    def delete_page(batch_id: str, page_id: str):
        spool.remove_page(batch_id, page_id)
        return _after_edit(batch_id)

    @app.post("/api/batches/{batch_id}/recognize", status_code=202)
    def recognize(batch_id: str):
        batch_or_404(batch_id)
        station.schedule_recognition(batch_id)
        return {"recognizing": True}

    @app.post("/api/batches/{batch_id}/submit")
    def submit(batch_id: str, body: Submit):
        batch_or_404(batch_id)
        return station.submit(batch_id, document_type=body.document_type, fields=body.fields,
                              dossier=body.dossier, procedure=body.procedure)

    @app.post("/api/batches/{batch_id}/retry")
    def retry(batch_id: str):
        batch_or_404(batch_id)
        return station.retry(batch_id)

    @app.get("/api/today")
    def today():
        return station.today()

    @app.get("/api/drafts")
    def drafts():
        return [summary(b) for b in spool.in_state(sp.DRAFT) if b["pages"]]

    from station.batch import register_batch_routes  # the batch view (/lo), its own module

    register_batch_routes(app, station)
    return app
