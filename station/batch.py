"""The station's batch view (`/lo`): scan a stack through the feeder (several loads appended),
see how it was split into documents, move a boundary, and commit the batch to the pipeline.

A separate page and route module beside the counter page: `register_batch_routes(app, station)`
adds its routes; the work is done by the `batch` package (spool, split, commit), one job at a
time in a background thread, so the page only polls. Spools live in `<home>/batches` and
outcomes in the catalog's batch journal, both shared with `sohoa batch …`.
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from batch.commit import commit_spool, read_lang_for
from batch.journal import Journal
from batch.legacy import LegacyJournalError, adopt_home_journal
from batch.pages import PageFacts
from batch.split import METHODS, SplitError, move_boundary, split_stack
from batch.spool import Spool, batches_root
from scanners.base import ScannerError
from scanners.profiles import ScanProfile
from scanners.registry import list_devices, open_scanner

log = logging.getLogger(__name__)
WEB = Path(__file__).with_name("web")

STATE_VI = {"scanning": "Đang quét…", "examining": "Đang phân tách văn bản…", "ready": "Sẵn sàng",
            "committing": "Đang gửi vào hệ thống…", "done": "Đã gửi", "error": "Có lỗi"}


class ScanBody(BaseModel):
    batch_id: str | None = None  # append another feeder load to this batch
    scanner: str | None = None  # a URI from /api/lo/scanners; the station's scanner by default
    duplex: bool = False
    split: str = "auto"
    dpi: int = 300


class BoundaryBody(BaseModel):
    page: int  # 0-based page index in the batch
    start: bool  # True: the page starts a document; False: it joins the one before


class CommitBody(BaseModel):
    procedure: str | None = None


class BatchDesk:
    """Batch jobs of one station: at most one scan/examine/commit running at a time."""

    def __init__(self, station, root: Path):
        self.station, self.root = station, Path(root)  # created by the first batch
        self.jobs: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._busy: threading.Thread | None = None

    def journal(self) -> Journal | None:
        """The batch journal in the embedded pipeline's catalog; None for a station that
        sends to a server (it commits no batch, so none of its batches has outcomes)."""
        rt = getattr(self.station.sink, "rt", None)
        return Journal(rt) if rt is not None else None

    def committed(self, batch_id: str) -> bool:
        journal = self.journal()
        return journal is not None and journal.batch(batch_id) is not None

    def _run(self, batch_id: str, work) -> None:
        with self._lock:
            if self._busy is not None and self._busy.is_alive():
                raise HTTPException(409, "Đang có một lô khác được xử lý. Hãy chờ xong rồi thử lại.")

            def target():
                try:
                    work()
                except Exception as exc:  # noqa: BLE001 - shown to the operator
                    log.exception("batch %s failed", batch_id)
                    vi = getattr(exc, "vi", None) or "Có lỗi khi xử lý lô. Hãy báo bộ phận kỹ thuật."
                    self.jobs[batch_id] = {"state": "error", "message": f"{vi} ({exc})"}

            self._busy = threading.Thread(target=target, name=f"batch-{batch_id}", daemon=True)
            self._busy.start()

    def scan(self, body: ScanBody) -> str:
        if body.split not in METHODS:
            raise HTTPException(422, f"Cách tách không hợp lệ: {body.split}")
        uri = body.scanner or self.station.scanner_uri
        if not uri:
            raise HTTPException(409, "Trạm chưa được gắn máy quét.")
        if uri.split(":", 1)[0] not in ("sane", "escl"):
            raise HTTPException(422, "Quét theo lô cần máy quét có khay nạp (SANE hoặc eSCL).")
        if body.batch_id:
            spool = self.open(body.batch_id)
        else:
            spool = Spool.create(self.root, {"scanner": uri,
                                             "split": body.split, "duplex": body.duplex,
                                             "dpi": body.dpi, "unit": self.station.unit})
        profile = ScanProfile(name="lo", dpi=body.dpi, source="duplex" if body.duplex else "adf")
        self.jobs[spool.id] = {"state": "scanning", "message": ""}

        examine = {"workers": 2, "first_pages": body.split in ("auto", "first"),
                   "read_lang": self._read_lang()}

        def work():
            message = ""
            try:
                # the pages are examined as they come, beside the feeder
                # (the scanner is let go first; the pages in hand are finished after)
                with spool.examining(**examine), open_scanner(uri) as device:
                    device.scan(profile, on_page=spool.on_page)
            except ScannerError as exc:  # pages already spooled are kept
                message = f"{exc.vi} (đã giữ {len(exc.pages)} trang)"
                if not spool.pages():
                    self.jobs[spool.id] = {"state": "error", "message": exc.vi}
                    return
            self.jobs[spool.id] = {"state": "examining", "message": message}
            spool.examine(**examine)  # what the scan left (none, unless a page failed)
            spool.split(body.split)
            self.jobs[spool.id] = {"state": "ready", "message": message}

        self._run(spool.id, work)
        return spool.id

    def _read_lang(self) -> str | None:
        """Read pages in full while examining when this station's pipeline recognizes the
        documents in-process (embedded, no broker): each page is then read once."""
        rt = getattr(self.station.sink, "rt", None)
        return read_lang_for(rt.settings) if rt is not None else None

    def commit(self, batch_id: str, procedure: str | None) -> None:
        rt = getattr(self.station.sink, "rt", None)  # the embedded pipeline's runtime
        if rt is None:
            raise HTTPException(409, "Quét theo lô lưu vào kho của máy này: hãy chạy trạm không "
                                     "có --server (hoặc dùng sohoa batch import trên máy chủ).")
        spool = self.open(batch_id)
        self.jobs[batch_id] = {"state": "committing", "message": ""}

        def work():
            commit_spool(rt, rt.broker, self.journal(), spool, unit=self.station.unit,
                         procedure=procedure, workers=rt.settings.ocr_workers)
            self.jobs[batch_id] = {"state": "done", "message": ""}

        self._run(batch_id, work)

    def open(self, batch_id: str) -> Spool:
        try:
            return Spool.open(self.root, batch_id)
        except (FileNotFoundError, ValueError):
            raise HTTPException(404, "Không tìm thấy lô quét.") from None

    def view(self, batch_id: str) -> dict:
        """The batch as the page shows it. While a load is scanned or examined the split is
        not settled (and an operator's edit would be lost when it is): `provisional` is then
        the split of the pages examined so far, shown without edits, and `split` is None."""
        spool = self.open(batch_id)
        job = self.jobs.get(batch_id, {"state": "ready", "message": ""})
        pages = spool.pages()
        busy = job["state"] in ("scanning", "examining")
        split = spool.split() if not busy and (spool.folder / "split.json").exists() else None
        journal = self.journal()
        counts = journal.counts(batch_id) if self.committed(batch_id) else None
        return {"id": batch_id, "params": spool.params, "state": job["state"],
                "state_vi": STATE_VI.get(job["state"], job["state"]), "message": job["message"],
                "pages": [{"index": p["index"], "file": p["file"], "side": p["side"],
                           "kind": p.get("kind"),
                           "dossier": p.get("dossier"), "patch": p.get("patch")} for p in pages],
                "split": split.to_dict() if split else None,
                "provisional": _provisional(spool, pages) if busy else None, "committed": counts}

    def list(self) -> list[dict]:
        out = []
        if not self.root.is_dir():
            return out
        for folder in sorted(self.root.iterdir(), reverse=True):
            if (folder / "batch.json").is_file():
                spool = Spool(folder)
                job = self.jobs.get(spool.id, {"state": "ready"})
                out.append({"id": spool.id, "pages": len(spool.pages()), "state": job["state"],
                            "state_vi": STATE_VI.get(job["state"], job["state"])})
        return out[:50]


def _provisional(spool: Spool, pages: list[dict]) -> dict:
    """The split of the pages examined so far (up to the first one not examined yet), with
    how many they are; its last document may still grow."""
    examined = spool.examined(pages)
    split = split_stack([PageFacts.from_dict(p) for p in examined],
                        [p["side"] for p in examined], spool.params.get("split", "auto"))
    return {**split.to_dict(), "examined": len(examined)}


def register_batch_routes(app: FastAPI, station) -> BatchDesk:
    # the home's batches folder, where `sohoa batch status|report` look too: the embedded
    # runtime's home, else the folder the station's spool lives in ($SOHOA_HOME/station)
    rt = getattr(station.sink, "rt", None)
    home = rt.settings.resolved_home if rt is not None else Path(station.spool.root).parent
    desk = BatchDesk(station, batches_root(home))
    app.state.batch_desk = desk
    if rt is not None:  # the home's former journal file, taken into the catalog once
        try:
            adopted = adopt_home_journal(desk.journal(), desk.root)
        except LegacyJournalError as exc:
            log.error("batch journal not taken in: %s", exc)
        else:
            if adopted:
                log.info("former batch journal taken into the catalog: %s", adopted)

    @app.get("/lo", include_in_schema=False)
    def batch_page():
        return FileResponse(WEB / "batch.html", media_type="text/html; charset=utf-8")

    @app.get("/lo/batch.js", include_in_schema=False)
    def batch_js():
        return FileResponse(WEB / "batch.js", media_type="text/javascript; charset=utf-8")

    @app.get("/api/lo")
    def list_batches():
        return desk.list()

    @app.get("/api/lo/scanners")
    def scanners():
        """The station's scanner first, then every SANE device (network scanners through
        sane-airscan) and the same network scanners reached directly over eSCL."""
        found = [{"uri": d.uri, "label": d.label, "kind": d.kind} for d in list_devices()]
        own = station.scanner_uri
        head = [{"uri": own, "label": "Máy quét của trạm", "kind": "station"}] if own else []
        return head + [d for d in found if d["uri"] != own]

    @app.post("/api/lo/scan", status_code=202)
    def scan(body: ScanBody):
        return {"batch_id": desk.scan(body)}

    @app.get("/api/lo/{batch_id}")
    def get_batch(batch_id: str):
        return desk.view(batch_id)

    @app.get("/api/lo/{batch_id}/pages/{index}/thumb")
    def thumb(batch_id: str, index: int):
        from PIL import Image

        path = desk.open(batch_id).page_path(index)
        if not path.exists():
            raise HTTPException(404, "Không tìm thấy trang.")
        with Image.open(path) as img:
            img.thumbnail((220, 320))
            buf = io.BytesIO()
            img.convert("RGB").save(buf, "JPEG", quality=80)
        # the page's file is in the address the page asks for (`?v=`): a collated stack
        # gives an index another file, and then another address; one address, one image
        return Response(buf.getvalue(), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=86400, immutable"})

    @app.post("/api/lo/{batch_id}/boundary")
    def boundary(batch_id: str, body: BoundaryBody):
        spool = desk.open(batch_id)
        if desk.jobs.get(batch_id, {}).get("state") in ("scanning", "examining", "committing"):
            raise HTTPException(409, "Lô đang được xử lý, chưa sửa được.")
        if desk.committed(batch_id):
            raise HTTPException(409, "Lô đã được gửi vào hệ thống, không sửa ranh giới được nữa.")
        try:
            result = move_boundary(spool.split(), body.page, start=body.start)
        except SplitError as exc:
            raise HTTPException(422, f"Không sửa được ranh giới: {exc}") from None
        spool.save_split(result)
        return desk.view(batch_id)

    @app.post("/api/lo/{batch_id}/commit", status_code=202)
    def commit(batch_id: str, body: CommitBody | None = None):
        desk.commit(batch_id, (body or CommitBody()).procedure)
        return {"committing": True}

    return desk
