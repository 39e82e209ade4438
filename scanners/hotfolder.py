"""A watched hot folder (scan-to-folder / SMB scanners): `folder:/srv/scans`.

Each file is taken exactly once: it must be complete first (its size and mtime unchanged for
`settle` seconds and no writer holding a lock on it), its sha256 is remembered in a seen-store
(the station keeps it in its spool), and after its pages are delivered it is moved to `done/`.
A file that cannot be read is moved to `rejected/` next to a `<name>.reason.txt`. Nothing is
ever deleted. `wait_for_files()` uses watchdog events (inotify) with a polling fallback.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path

from scanners.base import PageCallback, ScannedPage, Scanner, ScannerError, deliver
from scanners.files import read_file_pages
from scanners.profiles import ScanProfile

log = logging.getLogger(__name__)

DONE, REJECTED = "done", "rejected"


class JsonSeen:
    """sha256s of files already taken, in a JSON file written atomically (fsync + rename)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._seen = set(json.loads(self.path.read_text()))
        except FileNotFoundError:
            self._seen = set()

    def __contains__(self, sha: str) -> bool:
        return sha in self._seen

    def add(self, sha: str) -> None:
        with self._lock:
            self._seen.add(sha)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "w") as fh:
                json.dump(sorted(self._seen), fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _unlocked(path: Path) -> bool:
    """True when no other process holds a lock on the file (writers that lock are still busy)."""
    try:
        with open(path, "rb") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
        return True
    except OSError:
        return False


def _move_aside(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**6}-{path.name}"
    os.replace(path, target)
    return target


class HotFolder(Scanner):
    def __init__(self, folder: Path, *, seen=None, settle: float = 1.0):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ScannerError("offline", f"{self.folder}: hot folder does not exist",
                               vi=f"Không tìm thấy thư mục quét {self.folder}.")
        self.uri = f"folder:{self.folder}"
        self.seen = seen if seen is not None else JsonSeen(self.folder / ".sohoa" / "seen.json")
        self.settle = settle
        self._sizes: dict[str, tuple[int, int, float]] = {}

    @classmethod
    def from_uri(cls, uri: str, **kw) -> HotFolder:
        return cls(Path(uri.split(":", 1)[1]), **kw)

    def candidates(self) -> list[Path]:
        files = [p for p in self.folder.iterdir()
                 if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".part")]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def ready(self, path: Path) -> bool:
        """Complete: same size and mtime for `settle` seconds, and not locked by a writer."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        now = time.monotonic()
        key = str(path)
        seen = self._sizes.get(key)
        if seen is None or seen[:2] != (st.st_size, st.st_mtime_ns):
            self._sizes[key] = (st.st_size, st.st_mtime_ns, now)
            if time.time() - st.st_mtime < self.settle:
                return False
            # Old and untouched already: stable unless a writer still holds it.
        elif now - seen[2] < self.settle and time.time() - st.st_mtime < self.settle:
            return False
        return st.st_size > 0 and _unlocked(path)

    def wait_for_files(self, timeout: float) -> bool:
        """Wait until at least one complete file is there; False on timeout."""
        event = threading.Event()
        observer = None
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            class _Wake(FileSystemEventHandler):
                def on_any_event(self, _event):
                    event.set()

            observer = Observer()
            observer.schedule(_Wake(), str(self.folder), recursive=False)
            observer.start()
        except Exception:  # noqa: BLE001 - no inotify: poll
            observer = None
        deadline = time.monotonic() + timeout
        try:
            while True:
                if any(self.ready(p) for p in self.candidates()):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                event.wait(min(left, max(0.1, self.settle / 2)))
                event.clear()
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=2)

    def scan(self, profile: ScanProfile, on_page: PageCallback | None = None) -> list[ScannedPage]:
        """Take every complete file now in the folder (none ready → ScannerError('no_docs'))."""
        pages: list[ScannedPage] = []
        for path in self.candidates():
            if not self.ready(path):
                continue
            sha = _sha256(path)
            if sha in self.seen:
                moved = _move_aside(path, self.folder / DONE)
                log.info("%s: already taken (sha256 %s), moved to %s", path.name, sha[:12], moved)
                continue
            try:
                found = read_file_pages(path, default_dpi=profile.dpi)
            except ScannerError as exc:
                self.reject(path, exc)
                continue
            for page in found:
                page.extra["sha256"] = sha
                deliver(pages, page, on_page)
            self.seen.add(sha)
            _move_aside(path, self.folder / DONE)
        if not pages:
            raise ScannerError("no_docs", f"{self.folder}: no complete file to take",
                               vi="Chưa có tệp quét nào trong thư mục. Hãy quét trên máy rồi bấm "
                                  "Quét.")
        return pages

    def reject(self, path: Path, exc: ScannerError) -> Path:
        moved = _move_aside(path, self.folder / REJECTED)
        reason = moved.with_name(moved.name + ".reason.txt")
        reason.write_text(f"{exc}\n{exc.vi}\n", encoding="utf-8")
        log.warning("%s rejected: %s", path.name, exc)
        return moved
