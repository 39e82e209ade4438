"""Delivering spooled submissions: to the embedded pipeline or to a central server's ingest API.

A `Deliverer` thread sends every queued batch, retries transient failures (network down, server
5xx, timeouts) with exponential backoff, and then follows the document until it is stored,
needs review or failed. All of its state lives in the batch's JSON in the spool, so a restarted
station carries on where it stopped. Each submission carries an idempotency key (the batch id
and the sha256 of the submitted PDF): the server answers a resend with the same document.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path

import httpx

from pipeline.errors import PermanentError
from pipeline.ingest import ingest_file
from station import spool as sp
from storage.catalog import AuditEvent, Document
from storage.duplicates import stored_elsewhere
from storage.records import document_hints

log = logging.getLogger(__name__)

MSG_OFFLINE = "Mất kết nối tới máy chủ; bản quét vẫn an toàn trong máy và sẽ được gửi lại tự động."
# Messages for the page never carry server details (paths, English): those go to the log.
MSG_REFUSED = ("Hệ thống không nhận bản quét này; bản quét vẫn được giữ trong máy. "
               "Hãy báo bộ phận kỹ thuật.")
MSG_FINAL_VI = {
    sp.FAILED: "Xử lý bản quét bị lỗi trên hệ thống; bản quét vẫn được giữ trong máy. "
               "Hãy báo bộ phận kỹ thuật.",
    sp.NEEDS_REVIEW: "Hệ thống chưa chắc chắn về thông tin đọc được; cán bộ sẽ kiểm tra lại.",
}


class DeliveryError(Exception):
    def __init__(self, message: str, *, transient: bool, vi: str | None = None):
        super().__init__(message)
        self.transient = transient
        self.vi = vi or (MSG_OFFLINE if transient else message)


def _failure_vi(session, doc_id: str, error: str | None) -> str:
    """The Vietnamese reason recorded with the document's last failure, else a Vietnamese
    line carrying the operators' English reason."""
    from sqlalchemy import select

    detail = session.scalar(select(AuditEvent.detail).where(
        AuditEvent.document_id == doc_id, AuditEvent.action == "failed")
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1))
    if detail and detail.get("reason_vi"):
        return detail["reason_vi"]
    return f"Xử lý không thành công ({error or 'không rõ lý do'})"


def _final(state: str, error: str | None = None, waiting: bool = False) -> dict:
    if state in (sp.STORED, sp.NEEDS_REVIEW, sp.FAILED):
        return {"state": state, "error": error}
    return {"state": sp.PROCESSING, "error": None, "waiting": waiting}


def sheet_count(batch: dict) -> int:
    """Sheets of paper behind a batch's pages: one per front (a duplex back shares its sheet)."""
    return sum(1 for page in batch.get("pages") or [] if page.get("side", "front") != "back")


class EmbeddedSink:
    """This machine's own pipeline, through the runtime's dispatcher (`pipeline.dispatch`:
    inline in a background thread, or enqueued for workers when a broker is configured)."""

    name = "embedded"

    def __init__(self, runtime):
        self.rt = runtime

    def submit(self, batch: dict, pdf: Path) -> dict:
        try:
            accepted = ingest_file(self.rt, pdf, unit_code=batch["unit"],
                                   procedure=batch.get("procedure") or None,
                                   dossier=batch.get("dossier") or None, actor="station",
                                   corrections=batch.get("corrections") or None)
        except PermanentError as exc:
            raise DeliveryError(str(exc), transient=False, vi=MSG_REFUSED) from exc
        except Exception as exc:  # noqa: BLE001 - database or store down: try again later
            raise DeliveryError(f"embedded pipeline: {exc}", transient=True,
                                vi="Kho lưu trữ tạm thời không sẵn sàng; sẽ thử lại.") from exc
        sheets = sheet_count(batch)
        if sheets:  # for the archive record (storage.records), before the pipeline files it

            with self.rt.session() as session:
                document_hints(session, accepted.document_id, sheets=sheets)
        self.rt.dispatcher.start(accepted.document_id)  # staff corrections travel with it
        return {"document_id": accepted.document_id, "duplicate": accepted.duplicate}

    def status(self, batch: dict) -> dict:
        doc_id = batch["submission"]["document_id"]
        with self.rt.session() as session:
            doc = session.get(Document, doc_id)
            state, error = (doc.state, doc.error) if doc else ("failed", "document vanished")
            if state == "failed":  # staff read Vietnamese: the loader's own line if it gave one
                error = _failure_vi(session, doc_id, error)
        if state in ("received", "ocr_done", "classified"):
            self.rt.dispatcher.resume(doc_id)  # e.g. after a restart
        return _final(state, error)

    def stored_elsewhere(self, *, unit, number, issuer, issued_on, text, dossier) -> list[dict]:
        """This unit's results in the catalog that look like this paper under another dossier."""
        with self.rt.session() as session:
            return stored_elsewhere(session, unit=unit, number=number, issuer=issuer,
                                    issued_on=issued_on, text=text, dossier=dossier)

    def close(self) -> None:
        self.rt.dispatcher.close()


class ServerSink:
    """The central server's `POST /v1/ingest` (multipart) and `GET /v1/ingest/{id}`."""

    name = "server"

    def __init__(self, server: str, api_key: str | None, *, timeout: float = 30.0):
        self.server = server.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(timeout=timeout)

    def submit(self, batch: dict, pdf: Path) -> dict:
        import json

        sub = batch["submission"]
        data = {"unit": batch["unit"]}
        for key in ("procedure", "dossier"):
            if batch.get(key):
                data[key] = batch[key]
        if sheet_count(batch):
            data["sheets"] = str(sheet_count(batch))
        if batch.get("corrections"):
            data["corrections"] = json.dumps(batch["corrections"], ensure_ascii=False)
        try:
            with open(pdf, "rb") as fh:
                resp = self.http.post(
                    f"{self.server}/v1/ingest", data=data,
                    files={"file": (f"{batch.get('dossier') or batch['id']}.pdf", fh, "application/pdf")},
                    headers={**self.headers, "Idempotency-Key": sub["idempotency_key"]})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.server}: {type(exc).__name__}: {exc}", transient=True) from exc
        if resp.status_code in (200, 201, 202):
            body = resp.json()
            return {"document_id": body.get("document_id") or body.get("id"),
                    "duplicate": bool(body.get("duplicate"))}
        detail = _detail(resp)
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise DeliveryError(f"{self.server}: {resp.status_code} {detail}", transient=True)
        if resp.status_code in (401, 403):
            raise DeliveryError(f"{self.server}: {resp.status_code} {detail}", transient=False,
                                vi="Máy chủ từ chối khóa truy cập của trạm quét "
                                   "(SOHOA_STATION_API_KEY). Hãy báo bộ phận kỹ thuật.")
        raise DeliveryError(f"{self.server}: {resp.status_code} {detail}", transient=False,
                            vi=MSG_REFUSED)

    def stored_elsewhere(self, *, unit, number, issuer, issued_on, text, dossier) -> list[dict]:
        """The server's results of this unit with this number, issuer and date (`GET
        /v1/ingest/duplicates`; the text is not sent). Raises on any failure: the caller shows
        no warning then."""
        params = {"unit": unit, "number": number}
        if issuer:
            params["issuer"] = issuer
        if issued_on:
            params["issued_on"] = issued_on.isoformat()
        if dossier:
            params["dossier"] = dossier
        resp = self.http.get(f"{self.server}/v1/ingest/duplicates", params=params,
                             headers=self.headers, timeout=5)
        resp.raise_for_status()
        return resp.json()["duplicates"]

    def status(self, batch: dict) -> dict:
        doc_id = batch["submission"]["document_id"]
        try:
            resp = self.http.get(f"{self.server}/v1/ingest/{doc_id}", headers=self.headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(str(exc), transient=True) from exc
        if resp.status_code != 200:
            raise DeliveryError(f"status {resp.status_code}", transient=resp.status_code >= 500)
        body = resp.json()
        return _final(body.get("state", ""), body.get("error"), bool(body.get("waiting")))

    def close(self) -> None:
        self.http.close()


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        return str(body.get("detail") or body.get("title") or body)[:300]
    except ValueError:
        return resp.text[:300]


class Deliverer:
    """Background sender: queued → processing (accepted) → stored / needs_review / failed."""

    def __init__(self, spool: sp.Spool, sink, *, base_delay: float = 1.0, max_delay: float = 60.0,
                 poll: float = 0.5):
        self.spool, self.sink = spool, sink
        self.base_delay, self.max_delay, self.poll = base_delay, max_delay, poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="station-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - never let the sender die
                log.exception("station delivery tick failed")
            self._wake.wait(self.poll)
            self._wake.clear()

    def tick(self) -> None:
        now = time.time()
        for batch in self.spool.in_state(sp.QUEUED):
            if (batch["submission"] or {}).get("next_attempt_at", 0) <= now:
                self.send(batch["id"])
        for batch in self.spool.in_state(sp.PROCESSING):
            self.follow(batch["id"])

    def send(self, batch_id: str) -> None:
        with self.spool.edit(batch_id) as batch:
            sub = batch["submission"]
            sub["attempts"] = sub.get("attempts", 0) + 1
            sub["last_attempt_at"] = sp.now_iso()
        pdf = self.spool.dir(batch_id) / "submission.pdf"
        try:
            accepted = self.sink.submit(batch, pdf)
        except DeliveryError as exc:
            with self.spool.edit(batch_id) as batch:
                sub = batch["submission"]
                sub["last_error"] = str(exc)
                sub["error_vi"] = exc.vi
                if exc.transient:
                    delay = min(self.max_delay, self.base_delay * 2 ** (sub["attempts"] - 1))
                    sub["next_attempt_at"] = time.time() + delay * random.uniform(0.8, 1.2)
                    self.spool.log(batch, f"gửi thất bại (lần {sub['attempts']}), thử lại sau "
                                          f"{delay:.0f} giây")
                else:
                    batch["state"] = sp.FAILED
                    self.spool.log(batch, f"lỗi: {exc.vi}")
            log.warning("station: batch %s not delivered: %s", batch_id, exc)
            return
        with self.spool.edit(batch_id) as batch:
            sub = batch["submission"]
            sub.update(document_id=accepted["document_id"], accepted_at=sp.now_iso(),
                       duplicate=accepted.get("duplicate", False), error_vi=None)
            batch["state"] = sp.PROCESSING
            self.spool.log(batch, "máy chủ đã nhận bản quét")
        self.follow(batch_id)

    def follow(self, batch_id: str) -> None:
        batch = self.spool.load(batch_id)
        try:
            status = self.sink.status(batch)
        except DeliveryError as exc:
            log.info("station: status of %s unknown for now: %s", batch_id, exc)
            if not exc.transient and not batch["submission"].get("error_vi"):
                with self.spool.edit(batch_id) as b:
                    b["submission"]["error_vi"] = ("Máy chủ đã nhận nhưng chưa tra được trạng "
                                                   "thái; trạm sẽ hỏi lại.")
            return
        if status["state"] == sp.PROCESSING:
            waiting = bool(status.get("waiting"))
            if waiting != bool(batch["submission"].get("waiting")):
                with self.spool.edit(batch_id) as b:  # the server holds it; no worker yet
                    b["submission"]["waiting"] = waiting
                    if waiting:
                        self.spool.log(b, sp.WAITING_VI)
            return
        with self.spool.edit(batch_id) as batch:
            batch["state"] = status["state"]
            sub = batch["submission"]
            sub["finished_at"] = sp.now_iso()
            if status["state"] == sp.STORED:
                sub["stored_at"] = sub["finished_at"]
            if status.get("error"):
                sub["last_error"] = status["error"]
            sub["error_vi"] = MSG_FINAL_VI.get(status["state"])
            self.spool.log(batch, sp.STATE_VI[status["state"]])
