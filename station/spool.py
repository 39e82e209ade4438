"""The station's spool: scanned batches on disk that survive restarts, outages and crashes.

Layout under the spool root:
    batches/<batch id>/batch.json       the batch: dossier, pages, recognition, submission state
    batches/<batch id>/pages/<page>.*   page images as scanned (JPEG q92, PNG for 1-bit)
    batches/<batch id>/thumbs/<page>.jpg
    batches/<batch id>/removed/         pages the staff deleted or rescanned (kept until stored)
    batches/<batch id>/submission.pdf   the pages in order and rotated, as submitted
    seen.json                           sha256 of hot-folder files already taken
Every write is write-temp + fsync + rename + fsync(dir): a page is on disk before batch.json
lists it, and batch.json is never half-written. Nothing is deleted before the result is stored.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

THUMB_SIDE = 360
JPEG_QUALITY = 92

# batch states (submission lifecycle)
DRAFT, QUEUED, PROCESSING, STORED, NEEDS_REVIEW, FAILED = (
    "draft", "queued", "processing", "stored", "needs_review", "failed")
FINAL = (STORED, NEEDS_REVIEW, FAILED)
WAITING_VI = "đang chờ máy chủ xử lý"  # accepted, but the server's work queue has not taken it
STATE_VI = {DRAFT: "chưa gửi", QUEUED: "đang chờ", PROCESSING: "đang xử lý", STORED: "đã lưu",
            NEEDS_REVIEW: "cần kiểm tra", FAILED: "lỗi"}


class SpoolError(RuntimeError):
    pass


class SpoolBusy(SpoolError):
    """Another station process holds this spool."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes) -> None:
    """Write bytes so that after return they survive a crash: temp, fsync, rename, fsync dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _encode_page(image: Image.Image, dpi: int) -> tuple[bytes, str]:
    buf = io.BytesIO()
    if image.mode == "1":
        image.save(buf, "PNG", dpi=(dpi, dpi))
        return buf.getvalue(), ".png"
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    image.save(buf, "JPEG", quality=JPEG_QUALITY, dpi=(dpi, dpi))
    return buf.getvalue(), ".jpg"


class Spool:
    def __init__(self, root: Path, *, lock: bool = True):
        self.root = Path(root)
        self.batches_dir = self.root / "batches"
        self.batches_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._lockfile = None
        if lock:
            self._lockfile = open(self.root / "station.lock", "w")  # noqa: SIM115 - held for life
            try:
                fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._lockfile.close()
                raise SpoolBusy(f"{self.root}: another station is using this spool") from None
        self._clean_temp()

    def close(self) -> None:
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None

    def _clean_temp(self) -> None:
        for tmp in self.batches_dir.glob("*/.*.tmp"):  # half-written files of a crashed run
            tmp.unlink(missing_ok=True)

    # --- batches -------------------------------------------------------------------------

    def dir(self, batch_id: str) -> Path:
        if not batch_id or "/" in batch_id or batch_id.startswith("."):
            raise SpoolError(f"bad batch id {batch_id!r}")
        return self.batches_dir / batch_id

    def create(self, *, dossier: str = "", procedure: str = "", unit: str = "") -> dict:
        batch_id = datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        batch = {"id": batch_id, "created_at": now_iso(), "day": datetime.now().date().isoformat(),
                 "dossier": dossier, "procedure": procedure, "unit": unit, "pages": [],
                 "state": DRAFT, "scanning": False, "scan_error": None, "recognition": None,
                 "corrections": {}, "document_type": None, "submission": None, "events": [],
                 "version": 0, "rev": 0}
        self.save(batch)
        return batch

    def load(self, batch_id: str) -> dict:
        path = self.dir(batch_id) / "batch.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SpoolError(f"no batch {batch_id}") from None

    def save(self, batch: dict) -> dict:
        batch["updated_at"] = now_iso()
        batch["rev"] = batch.get("rev", 0) + 1  # the page ignores answers older than what it shows
        data = json.dumps(batch, ensure_ascii=False, indent=1).encode("utf-8")
        write_durable(self.dir(batch["id"]) / "batch.json", data)
        return batch

    @contextlib.contextmanager
    def edit(self, batch_id: str):
        """Load, change and durably save one batch under the spool lock."""
        with self._lock:
            batch = self.load(batch_id)
            yield batch
            self.save(batch)

    def all(self) -> list[dict]:
        out = []
        for folder in sorted(self.batches_dir.iterdir()):
            if (folder / "batch.json").exists():
                with contextlib.suppress(json.JSONDecodeError, OSError):
                    out.append(json.loads((folder / "batch.json").read_text(encoding="utf-8")))
        return out

    def in_state(self, *states: str) -> list[dict]:
        return [b for b in self.all() if b["state"] in states]

    # --- pages ---------------------------------------------------------------------------

    def add_page(self, batch_id: str, image: Image.Image, *, dpi: int, mode: str,
                 source_name: str = "", at: int | None = None, extra: dict | None = None) -> dict:
        """Store a page image durably, then list it in the batch (so the page can show it)."""
        data, ext = _encode_page(image, dpi)
        page_id = uuid.uuid4().hex[:10]
        folder = self.dir(batch_id)
        write_durable(folder / "pages" / f"{page_id}{ext}", data)
        write_durable(folder / "thumbs" / f"{page_id}.jpg", self._thumb(image, 0))
        page = {"id": page_id, "file": f"pages/{page_id}{ext}", "dpi": dpi, "mode": mode,
                "width": image.width, "height": image.height, "rotation": 0,
                "sha256": hashlib.sha256(data).hexdigest(), "source": source_name,
                "scanned_at": now_iso(), **(extra or {})}
        with self.edit(batch_id) as batch:
            if at is None:
                batch["pages"].append(page)
            else:
                batch["pages"].insert(at, page)
            pages_changed(batch)
        return page

    def _thumb(self, image: Image.Image, rotation: int) -> bytes:
        thumb = image.convert("L" if image.mode in ("1", "L") else "RGB")
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
        if rotation:
            thumb = thumb.rotate(-rotation, expand=True)
        buf = io.BytesIO()
        thumb.save(buf, "JPEG", quality=80)
        return buf.getvalue()

    def page_image(self, batch_id: str, page: dict, *, rotated: bool = True) -> Image.Image:
        image = Image.open(self.dir(batch_id) / page["file"])
        image.load()
        if rotated and page.get("rotation"):
            image = image.rotate(-page["rotation"], expand=True)
        return image

    def thumb_path(self, batch_id: str, page_id: str) -> Path:
        return self.dir(batch_id) / "thumbs" / f"{page_id}.jpg"

    def rotate_page(self, batch_id: str, page_id: str, degrees: int) -> dict:
        with self.edit(batch_id) as batch:
            page = _find(batch, page_id)
            page["rotation"] = (page.get("rotation", 0) + degrees) % 360
            image = self.page_image(batch_id, page, rotated=False)
            write_durable(self.thumb_path(batch_id, page_id), self._thumb(image, page["rotation"]))
            page["thumb_version"] = page.get("thumb_version", 0) + 1
            pages_changed(batch)
        return page

    def move_page(self, batch_id: str, page_id: str, to: int) -> None:
        with self.edit(batch_id) as batch:
            page = _find(batch, page_id)
            batch["pages"].remove(page)
            batch["pages"].insert(max(0, min(to, len(batch["pages"]))), page)
            pages_changed(batch)

    def remove_page(self, batch_id: str, page_id: str) -> int:
        """Take a page out of the batch; its file moves to removed/ (kept until stored)."""
        with self.edit(batch_id) as batch:
            page = _find(batch, page_id)
            index = batch["pages"].index(page)
            batch["pages"].remove(page)
            batch.setdefault("removed", []).append(page)
            src = self.dir(batch_id) / page["file"]
            dst = self.dir(batch_id) / "removed" / src.name
            dst.parent.mkdir(exist_ok=True)
            if src.exists():
                os.replace(src, dst)
                page["file"] = f"removed/{src.name}"
            pages_changed(batch)
        return index

    # --- submission ----------------------------------------------------------------------

    def build_submission(self, batch_id: str) -> tuple[Path, str]:
        """Write the pages, in order and rotated, as one PDF (fsync); return (path, sha256)."""
        batch = self.load(batch_id)
        if not batch["pages"]:
            raise SpoolError("no page to submit")
        images, dpis = [], []
        for page in batch["pages"]:
            image = self.page_image(batch_id, page)
            if image.mode not in ("1", "L", "RGB"):
                image = image.convert("RGB")
            images.append(image)
            dpis.append(page["dpi"])
        buf = io.BytesIO()
        images[0].save(buf, "PDF", resolution=float(dpis[0]), save_all=True,
                       append_images=images[1:], quality=JPEG_QUALITY,
                       title=f"Hồ sơ {batch.get('dossier') or batch_id}")
        data = buf.getvalue()
        path = self.dir(batch_id) / "submission.pdf"
        write_durable(path, data)
        return path, hashlib.sha256(data).hexdigest()

    def purge_stored(self, older_than_days: int) -> list[str]:
        """Delete batches the server confirmed stored, older than N days. Nothing else."""
        cutoff = datetime.now().astimezone() - timedelta(days=older_than_days)
        gone = []
        for batch in self.in_state(STORED):
            stored_at = (batch.get("submission") or {}).get("stored_at")
            if stored_at and datetime.fromisoformat(stored_at) < cutoff:
                shutil.rmtree(self.dir(batch["id"]))
                gone.append(batch["id"])
        return gone

    def log(self, batch: dict, text: str) -> None:
        batch.setdefault("events", []).append({"at": now_iso(), "text": text})
        del batch["events"][:-30]


def pages_changed(batch: dict) -> None:
    """The pages (set, order or rotation) changed: a new batch version, to be recognized again.

    A recognition result carries the version it was made for; one made for an older version is
    stale and never shown as current (the newer action superseded it).
    """
    batch["version"] = batch.get("version", 0) + 1


def _find(batch: dict, page_id: str) -> dict:
    for page in batch["pages"]:
        if page["id"] == page_id:
            return page
    raise SpoolError(f"batch {batch['id']}: no page {page_id}")


def monotonic() -> float:
    return time.monotonic()
