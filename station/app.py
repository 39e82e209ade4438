"""The station's local web app: a Vietnamese page for counter staff and the JSON API behind it.

`Station` owns the scanner session (one scan at a time, pages stored in the spool as they come),
quick recognition in the background, submissions and the delivery thread. `create_app(station)`
serves the page (station/web) and the API the page uses.

Page state cannot go stale: every change to a batch's pages bumps its `version`; a recognition
result carries the version it was made for and is shown only while that is still the batch's
version (a newer action supersedes it, and a new recognition is queued — at most one waits per
batch). `recognizing` is derived from that, never stored, so it cannot stick; each saved batch
carries a `rev` so the page ignores answers older than what it shows; the page polls for ever,
faster while work is pending.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, HTTPException, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from scanners.base import ScannerError
from scanners.files import read_file_pages
from scanners.hotfolder import JsonSeen
from scanners.profiles import DEFAULT_PROFILES, ScanProfile
from scanners.registry import open_scanner
from station import lookup
from station import spool as sp
from station.batch import register_batch_routes
from station.dates import DATE_FIELDS, BadDate, parse_vn_date, to_iso
from station.delivery import Deliverer
from station.recognize import FIELD_LABELS_VI, doctype_choices, recognize
from storage.units import unit_label

log = logging.getLogger(__name__)
WEB = Path(__file__).parent / "web"


class Station:
    def __init__(self, spool: sp.Spool, *, scanner_uri: str | None, unit: str, sink,
                 profiles: dict[str, ScanProfile] | None = None, profile: str = "mac-dinh",
                 recognize: bool = True, scanner=None, ocr_lang: str = "vie",
                 retry_base: float = 1.0, recognizer=None, province: str | None = None,
                 unit_name: str | None = None):
        self.spool, self.scanner_uri, self.unit, self.sink = spool, scanner_uri, unit, sink
        self.profiles = profiles or dict(DEFAULT_PROFILES)
        self.profile = profile if profile in self.profiles else next(iter(self.profiles))
        self.recognize_enabled, self.ocr_lang = recognize, ocr_lang
        self.recognizer = recognizer  # (images, lang=) -> dict; station.recognize by default
        self.province = province
        self.unit_name = unit_name or _unit_label(unit)
        self._rec_lock = threading.Lock()
        self._queued: set[str] = set()  # batches with a recognition waiting to start
        self._running: set[str] = set()
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
                                       "các trang đã quét vẫn được giữ. Bấm Quét nếu còn trang."}

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

            kw = {}
            if self.scanner_uri.startswith("folder:"):
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
        """Queue a recognition of the batch's current pages (at most one waits per batch)."""
        if not self.recognize_enabled:
            return
        with self._rec_lock:
            if batch_id in self._queued:
                return  # the waiting one will read the pages as they are when it starts
            self._queued.add(batch_id)
        self._recognizer.submit(self._recognize, batch_id)

    def recognition_pending(self, batch: dict) -> bool:
        """True while the batch's current pages have no recognition result yet."""
        if not self.recognize_enabled or not batch["pages"] or batch["state"] != sp.DRAFT:
            return False
        rec = batch.get("recognition")
        return rec is None or rec.get("version") != batch.get("version", 0)

    def view(self, batch: dict) -> dict:
        """The batch as the page sees it: `recognizing` derived, never stale; a missing
        recognition (e.g. after a restart) is queued again."""
        pending = self.recognition_pending(batch)
        if pending and not batch.get("scanning"):
            with self._rec_lock:
                idle = batch["id"] not in self._queued and batch["id"] not in self._running
            if idle:
                self.schedule_recognition(batch["id"])
        rec = batch.get("recognition") or {}
        dossier = lookup.normalize_dossier(batch.get("dossier"))
        dups = [d for d in (rec.get("duplicates") or [])
                if lookup.normalize_dossier(d.get("dossier")) != dossier] if not pending else []
        return {**batch, "recognizing": pending, "duplicates": dups,
                "dossier_problem": lookup.dossier_problem(batch.get("dossier") or "", self.province)
                if batch.get("dossier") else None}

    def _recognize(self, batch_id: str) -> None:
        with self._rec_lock:
            self._queued.discard(batch_id)
            self._running.add(batch_id)
        try:
            self._recognize_once(batch_id)
        finally:
            with self._rec_lock:
                self._running.discard(batch_id)

    def _recognize_once(self, batch_id: str) -> None:
        batch = self.spool.load(batch_id)
        version = batch.get("version", 0)
        try:
            images = [(self.spool.page_image(batch_id, p), p["dpi"]) for p in batch["pages"]]
            if not images:
                return
            result = with_crops((self.recognizer or recognize)(images, lang=self.ocr_lang))
            result["duplicates"] = self._stored_elsewhere(result, batch.get("dossier"))
        except Exception as exc:  # noqa: BLE001
            log.warning("recognition of %s failed: %s", batch_id, exc)
            # a page the quality gate refused carries a Vietnamese message for the counter
            result = {"error": getattr(exc, "vi", None) or "Không nhận dạng được các trang này; "
                      "hãy kiểm tra và nhập thông tin bằng tay."}
        result["version"] = version
        with self.spool.edit(batch_id) as batch:
            if batch.get("version", 0) != version:
                return  # pages changed meanwhile: the newer action's recognition is queued
            batch["recognition"] = result
            if not result.get("error") and not batch.get("document_type"):
                batch["document_type"] = result["document_type"]

    def _stored_elsewhere(self, rec: dict, dossier: str | None) -> list[dict]:
        """Stored results that look like this paper (any dossier; the view filters its own)."""
        check = getattr(self.sink, "stored_elsewhere", None)
        fields = rec.get("fields") or {}
        if check is None or not fields.get("number"):
            return []
        try:
            issued = parse_vn_date(fields.get("issued_on") or "")
        except BadDate:
            issued = None
        try:
            return check(unit=self.unit, number=fields.get("number"),
                         issuer=fields.get("issuer"), issued_on=issued, text=rec.get("text"),
                         dossier=None)
        except Exception:  # noqa: BLE001 - a catalog hiccup must not block the counter
            log.exception("duplicate check failed")
            return []

    # --- submission ----------------------------------------------------------------------

    def submit(self, batch_id: str, *, document_type: str | None, fields: dict,
               dossier: str | None = None, procedure: str | None = None,
               allow_duplicate: bool = False) -> dict:
        fields = dict(fields)
        for name in DATE_FIELDS:  # stored as ISO dates, whatever way they were typed
            if fields.get(name):
                try:
                    fields[name] = to_iso(fields[name])
                except BadDate as exc:
                    raise HTTPException(422, f"{_label(name)}: {exc.vi}") from None
        with self.spool.edit(batch_id) as batch:
            if batch["state"] != sp.DRAFT:
                raise HTTPException(409, "Bản quét này đã được gửi.")
            if not batch["pages"]:
                raise HTTPException(422, "Chưa có trang nào. Hãy quét trước khi gửi.")
            if batch.get("scanning"):
                raise HTTPException(409, "Máy đang quét, hãy chờ quét xong rồi gửi.")
            code = lookup.normalize_dossier(batch["dossier"] if dossier is None else dossier)
            problem = lookup.dossier_problem(code, self.province)
            if problem:
                raise HTTPException(422, problem)
            if self.recognition_pending(batch):
                raise HTTPException(409, "Đang nhận dạng các trang, hãy chờ vài giây rồi gửi.")
            batch["dossier"] = code
            if procedure is not None:
                batch["procedure"] = procedure.strip()
            rec = batch.get("recognition") or {}
            seen = {k: v for k, v in (rec.get("fields") or {}).items()}
            for name in DATE_FIELDS:
                with contextlib.suppress(BadDate):  # an unreadable recognized date stays as read
                    seen[name] = to_iso(seen.get(name) or "")
            corrected = {k: (v or "").strip() for k, v in fields.items()
                         if (v or "").strip() != (seen.get(k) or "")}
            corrections = {"fields": corrected}
            if document_type and document_type != rec.get("document_type"):
                corrections["document_type"] = document_type
            elif document_type and corrected:
                corrections["document_type"] = document_type  # confirmed along with the fields
            if not allow_duplicate:
                final = {**seen, **{k: (v or "").strip() for k, v in fields.items()}}
                dups = self._stored_elsewhere({"fields": final, "text": rec.get("text")}, code)
                dups = [d for d in dups if lookup.normalize_dossier(d.get("dossier")) != code]
                if dups:
                    raise HTTPException(409, duplicate_message(dups))
            batch["document_type"] = document_type
            batch["fields"] = fields
            batch["corrections"] = corrections if (corrected or "document_type" in corrections) else {}
            if allow_duplicate:
                self.spool.log(batch, "cán bộ chọn lưu lại dù giấy tờ đã lưu ở hồ sơ khác")
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


def _unit_label(code: str) -> str | None:
    try:
        return unit_label(code)
    except Exception:  # noqa: BLE001 - the header falls back to the code
        log.exception("unit name of %s", code)
        return None


def with_crops(rec: dict) -> dict:
    """Where each field was read: `crops` {field: {"page": i, "box": [x0, y0, x1, y1]}}.

    A recognizer may give a field as {"value": …, "crop": {…}} (the real-paper extractor does);
    the page shows plain values, so crops move beside them.
    """
    crops = dict(rec.get("crops") or {})
    fields = {}
    for name, value in (rec.get("fields") or {}).items():
        if isinstance(value, dict):
            if value.get("crop"):
                crops[name] = value["crop"]
            value = value.get("value")
        fields[name] = value
    return {**rec, "fields": fields, "crops": crops}


def _label(field: str) -> str:
    return FIELD_LABELS_VI.get(field, field)


def duplicate_message(dups: list[dict]) -> str:
    codes = ", ".join(sorted({d.get("dossier") or "không có mã" for d in dups}))
    return (f"Giấy tờ này đã được lưu trong hồ sơ {codes}. Nếu đúng là cần lưu thêm cho hồ sơ này, "
            "hãy đánh dấu “Vẫn lưu cho hồ sơ này” rồi bấm Gửi lưu trữ.")


def summary(batch: dict) -> dict:
    sub = batch.get("submission") or {}
    return {"id": batch["id"], "dossier": batch.get("dossier"), "procedure": batch.get("procedure"),
            "pages": len(batch["pages"]), "state": batch["state"],
            "state_vi": sp.WAITING_VI if batch["state"] == sp.PROCESSING and sub.get("waiting")
            else sp.STATE_VI[batch["state"]], "document_type": batch.get("document_type"),
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
    allow_duplicate: bool = False


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

    def view(batch_id: str) -> dict:
        return station.view(spool.load(batch_id))

    @app.exception_handler(sp.SpoolError)
    async def _spool_error(_request, exc):
        log.warning("station: %s", exc)
        return JSONResponse({"detail": "Không tìm thấy bản quét hoặc trang này."}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request, exc):
        log.warning("station: bad request: %s", exc)
        return JSONResponse({"detail": "Yêu cầu không hợp lệ; hãy tải lại trang (F5)."},
                            status_code=422)

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
        return {"scanner": station.scanner_uri, "unit": station.unit, "unit_name": station.unit_name,
                "province": station.province, "dossier_example": lookup.EXAMPLE,
                "mode": getattr(station.sink, "name", "embedded"),
                "server": getattr(station.sink, "server", None), "profile": station.profile,
                "profiles": {k: v.to_dict() for k, v in station.profiles.items()},
                "procedures": lookup.PROCEDURES, "doctypes": doctype_choices(),
                "field_labels": FIELD_LABELS_VI}

    @app.get("/api/suggest")
    def suggest(dossier: str = ""):
        code = lookup.suggest_procedure(dossier)
        return {"procedure": code, "name": lookup.PROCEDURES.get(code) if code else None,
                "valid": lookup.valid_dossier(dossier, station.province),
                "problem": lookup.dossier_problem(dossier, station.province)}

    @app.post("/api/batches", status_code=201)
    def new_batch(body: NewBatch):
        procedure = body.procedure or lookup.suggest_procedure(body.dossier) or ""
        created = spool.create(dossier=lookup.normalize_dossier(body.dossier), procedure=procedure,
                               unit=station.unit)
        return station.view(created)

    @app.get("/api/batches/{batch_id}")
    def get_batch(batch_id: str):
        return station.view(batch_or_404(batch_id))

    @app.put("/api/batches/{batch_id}")
    def put_meta(batch_id: str, body: Meta):
        batch_or_404(batch_id)
        with spool.edit(batch_id) as batch:
            if body.dossier is not None:
                batch["dossier"] = lookup.normalize_dossier(body.dossier)
            if body.procedure is not None:
                batch["procedure"] = body.procedure.strip()
        return view(batch_id)

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
        return view(batch_id)

    @app.get("/api/batches/{batch_id}/pages/{page_id}/thumb")
    def thumb(batch_id: str, page_id: str):
        path = spool.thumb_path(batch_id, page_id)
        if not path.exists():
            raise HTTPException(404)
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    def _after_edit(batch_id: str):
        station.schedule_recognition(batch_id)
        return view(batch_id)

    @app.get("/api/batches/{batch_id}/crop/{field}")
    def crop(batch_id: str, field: str):
        """The part of a page a recognized field was read from (`crop` in the result: page
        index and box in pixels of the page image the OCR ran on), as a JPEG."""
        batch = batch_or_404(batch_id)
        rec = batch.get("recognition") or {}
        where = (rec.get("crops") or {}).get(field)
        if not where or rec.get("version") != batch.get("version", 0):
            raise HTTPException(404, "Không có vùng ảnh cho ô này.")
        try:
            page = batch["pages"][int(where["page"])]
            x0, y0, x1, y1 = (int(v) for v in where["box"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise HTTPException(404, "Không có vùng ảnh cho ô này.") from None
        image = spool.page_image(batch_id, page)
        pad = 12
        box = (max(0, min(x0, x1) - pad), max(0, min(y0, y1) - pad),
               min(image.width, max(x0, x1) + pad), min(image.height, max(y0, y1) + pad))
        if box[2] <= box[0] or box[3] <= box[1]:
            raise HTTPException(404, "Không có vùng ảnh cho ô này.")
        import io

        part = image.crop(box).convert("RGB")
        part.thumbnail((900, 300))
        buf = io.BytesIO()
        part.save(buf, "JPEG", quality=85)
        return Response(buf.getvalue(), media_type="image/jpeg",
                        headers={"Cache-Control": "no-cache"})

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
        return station.view(station.submit(
            batch_id, document_type=body.document_type, fields=body.fields, dossier=body.dossier,
            procedure=body.procedure, allow_duplicate=body.allow_duplicate))

    @app.post("/api/batches/{batch_id}/retry")
    def retry(batch_id: str):
        batch_or_404(batch_id)
        return station.view(station.retry(batch_id))

    @app.get("/api/today")
    def today():
        return station.today()

    @app.get("/api/drafts")
    def drafts():
        return [summary(b) for b in spool.in_state(sp.DRAFT) if b["pages"]]

    register_batch_routes(app, station)
    return app
