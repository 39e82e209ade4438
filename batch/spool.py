"""A scanned stack on disk: `<home>/batches/<id>/` holds `batch.json` (what was asked),
`pages/NNNNN.png` (each page written as it comes off the scanner, then released from memory),
`pages.jsonl` (one line per page: side, dpi, and once examined its facts — a plainly blank
page is known at a glance as it is written, the rest examined in a pool), `split.json` (the
split the operator reviews) and `docs/NNN.pdf` (the documents handed to the pipeline).

Every file is appended or replaced atomically, so a crash loses at most the page being
written, and a rerun examines and commits only what is missing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import multiprocessing
import os
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

from batch.pages import PageFacts, Reader, examine, glance
from batch.split import Split, collate, split_stack
from ocr.stored import png_id

log = logging.getLogger(__name__)

_RELEASED = Image.new("L", (1, 1), 255)  # what a spooled ScannedPage keeps instead of its image


def page_file(index: int) -> str:
    """The file a page spooled at `index` is written to (collation keeps it)."""
    return f"{index:05d}.png"


def batches_root(home: Path) -> Path:
    return Path(home) / "batches"


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


class Spool:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.id = self.folder.name
        self.pages_dir = self.folder / "pages"
        self.docs_dir = self.folder / "docs"
        self._next: int | None = None
        self._examiner: _Examiner | None = None
        self._lock = threading.Lock()
        self.glance_cpu_s = 0.0  # CPU spent on `glance` by this object (benchmarks count it)

    @classmethod
    def create(cls, root: Path, params: dict) -> Spool:
        batch_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        spool = cls(Path(root) / batch_id)
        spool.pages_dir.mkdir(parents=True)
        spool.docs_dir.mkdir()
        _write_json(spool.folder / "batch.json", {"id": batch_id, **params})
        return spool

    @classmethod
    def open(cls, root: Path, batch_id: str) -> Spool:
        spool = cls(Path(root) / batch_id)
        if not (spool.folder / "batch.json").is_file():
            raise FileNotFoundError(f"{spool.folder}: no such batch")
        return spool

    @property
    def params(self) -> dict:
        return json.loads((self.folder / "batch.json").read_text(encoding="utf-8"))

    # --- pages ------------------------------------------------------------------------------
    def pages(self) -> list[dict]:
        """The page records, the last line per index winning (facts are appended later)."""
        path = self.folder / "pages.jsonl"
        records: dict[int, dict] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash
                records[rec["index"]] = {**records.get(rec["index"], {}), **rec}
        return [records[i] for i in sorted(records)
                if (self.pages_dir / records[i]["file"]).exists()]

    def examined(self, pages: list[dict] | None = None) -> list[dict]:
        """The page records examined so far, up to the first page not examined yet (a page
        examined after a gap does not count until the gap is filled)."""
        done = []
        for record in self.pages() if pages is None else pages:
            if "kind" not in record:
                break
            done.append(record)
        return done

    def _append(self, record: dict) -> None:
        # one writer at a time: the scan thread spools pages while the examining pool's
        # callback thread appends facts
        with self._lock, open(self.folder / "pages.jsonl", "a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def add_page(self, image: Image.Image, dpi: int, side: str) -> int:
        """Write a page (PNG, lossless) and record it; the next index in this batch."""
        return self._spool_page(image, dpi, side)[0]

    def _spool_page(self, image: Image.Image, dpi: int, side: str) -> tuple[int, bool]:
        """(index, whether the page is already examined). A page plainly blank while its
        pixels are in memory (`batch.pages.glance`: most duplex backs) is recorded examined,
        so it is never decoded again; the glance's CPU time adds up in `glance_cpu_s`."""
        if self._next is None:
            self._next = max((p["index"] for p in self.pages()), default=-1) + 1
        index, self._next = self._next, self._next + 1
        name = page_file(index)
        tmp = self.pages_dir / (name + ".part")
        image.save(tmp, "PNG", dpi=(dpi, dpi), compress_level=1)
        tmp.replace(self.pages_dir / name)
        facts = self._glance(image, dpi, name)
        self._append({"index": index, "file": name, "dpi": dpi, "side": side, **facts})
        return index, bool(facts)

    def _glance(self, image: Image.Image, dpi: int, name: str) -> dict:
        """The facts `glance` gives a page whose pixels are in memory ({} when it takes a full
        examination); its CPU time adds up in `glance_cpu_s`."""
        started = time.thread_time()
        try:
            facts = glance(image, dpi)
        except Exception as exc:  # noqa: BLE001 - the page is examined as any other then
            log.warning("%s: no glance at %s (%s: %s)", self.id, name, type(exc).__name__, exc)
            facts = None
        self.glance_cpu_s += time.thread_time() - started
        return facts.to_dict() if facts else {}

    def on_page(self, page) -> None:
        """A scanner callback: spool the page, then let go of its pixels (memory stays flat);
        inside `examining`, a page not plainly blank is examined while the feeder goes on."""
        index, examined = self._spool_page(page.image, page.dpi, page.side)
        page.image = _RELEASED
        if self._examiner is not None and not examined:
            self._examiner.add(index, page.dpi, page.side)

    @contextlib.contextmanager
    def examining(self, workers: int = 1, first_pages: bool = True,
                  read_lang: str | None = None):
        """Examine each page `on_page` spools as it comes, in `workers` processes beside the
        scan: a stack's examining (its OCR, when read in full) overlaps the feeder instead of
        starting after the last sheet. Facts are appended as each page is done; on leaving,
        the pages in hand are finished. A page whose examining failed is left for `examine`,
        which reports it as before."""
        self._examiner = _Examiner(self, workers, first_pages, read_lang)
        try:
            yield self
        finally:
            examiner, self._examiner = self._examiner, None
            examiner.close()

    def add_pages(self, records: list[tuple[Path, int, str]]) -> None:
        for path, dpi, side in records:
            with Image.open(path) as img:
                self.add_page(img, dpi, side)

    def collate_backs(self, backs: list[Path], dpi: int) -> None:
        """Make this batch of fronts a duplex stack from a second, backs-only pass (fed with
        the stack turned over, so last back first): pages become front1, back1, front2, …
        What was found on the fronts stays (a front's facts do not depend on its place); a
        back plainly blank is known at a glance, as in a duplex scan."""
        fronts = self.pages()
        if any(p["side"] != "front" for p in fronts):
            raise ValueError(f"batch {self.id} already has backs")
        names = []
        for i, path in enumerate(backs):
            name = f"b{i:05d}.png"
            with Image.open(path) as img:
                img.save(self.pages_dir / name, "PNG", dpi=(dpi, dpi), compress_level=1)
                facts = self._glance(img, dpi, name)
            names.append({"file": name, "dpi": dpi, "side": "back", **facts})
        order = collate(fronts, names)
        lines = [json.dumps({**{k: v for k, v in rec.items() if k not in ("index", "side")},
                             "index": i, "side": "front" if i % 2 == 0 else "back"},
                            ensure_ascii=False) for i, rec in enumerate(order)]
        tmp = self.folder / "pages.jsonl.part"
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(self.folder / "pages.jsonl")
        (self.folder / "split.json").unlink(missing_ok=True)
        self._next = None

    @property
    def ocr_cache_dir(self) -> Path:
        """Where pages read while examining keep their recognition (`ocr.cache`)."""
        return self.folder / "ocr-cache"

    def examine(self, workers: int = 1, first_pages: bool = True, progress=None,
                read_lang: str | None = None) -> list[dict]:
        """Facts for every page not examined yet (in `workers` processes). With `read_lang`
        every page is read in full and its recognition kept for the commit (`ocr_cache_dir`):
        for a batch whose documents are recognized in this process."""
        todo = [p for p in self.pages() if "kind" not in p]
        paths = [self._examine_args(p["file"], p["dpi"], p["side"], first_pages, read_lang)
                 for p in todo]
        if workers > 1 and len(paths) > 1:
            with _pool(workers) as pool:
                for rec, facts in zip(todo, pool.map(_examine_file, paths), strict=True):
                    self._append({"index": rec["index"], **facts})
                    if progress:
                        progress()
        else:
            for rec, args in zip(todo, paths, strict=True):
                self._append({"index": rec["index"], **_examine_file(args)})
                if progress:
                    progress()
        return self.pages()

    def _examine_args(self, file: str, dpi: int, side: str, first_pages: bool,
                      read_lang: str | None) -> tuple:
        reader = Reader(str(self.ocr_cache_dir), read_lang) if read_lang else None
        # a back never starts a document (split_stack): its header is not read
        return str(self.pages_dir / file), dpi, first_pages and side == "front", reader

    # --- split ------------------------------------------------------------------------------
    def split(self, method: str | None = None) -> Split:
        """The saved split (the operator's edits kept), or a new one from the page facts."""
        path = self.folder / "split.json"
        if method is None and path.exists():
            return Split.from_dict(json.loads(path.read_text(encoding="utf-8")))
        pages = self.pages()
        if any("kind" not in p for p in pages):
            pages = self.examine()
        facts = [PageFacts.from_dict(p) for p in pages]
        result = split_stack(facts, [p["side"] for p in pages],
                             method or self.params.get("split", "auto"))
        self.save_split(result)
        return result

    def save_split(self, split: Split) -> None:
        _write_json(self.folder / "split.json", split.to_dict())

    def page_path(self, index: int) -> Path:
        """The image of page `index` (after collation a page's file keeps its first name)."""
        for record in self.pages():
            if record["index"] == index:
                return self.pages_dir / record["file"]
        return self.pages_dir / page_file(index)


def _pool(workers: int) -> ProcessPoolExecutor:
    # never fork this process: the station calls this from a thread, and a fork copies
    # every lock other threads hold (malloc arenas, PDFium's, logging's) into a child
    # that can then wait for ever; forkserver children come from a clean process
    return ProcessPoolExecutor(max_workers=max(1, workers),
                               mp_context=multiprocessing.get_context("forkserver"))


class _Examiner:
    """Pages handed over by `Spool.on_page`, examined in a pool while the scan goes on."""

    def __init__(self, spool: Spool, workers: int, first_pages: bool, read_lang: str | None):
        self.spool, self.first_pages, self.read_lang = spool, first_pages, read_lang
        self.pool = _pool(workers)

    def add(self, index: int, dpi: int, side: str) -> None:
        args = self.spool._examine_args(page_file(index), dpi, side, self.first_pages,
                                        self.read_lang)
        future = self.pool.submit(_examine_file, args)
        future.add_done_callback(lambda done, index=index: self._record(index, done))

    def _record(self, index: int, future) -> None:
        if future.cancelled() or future.exception() is not None:
            return  # left for Spool.examine, which reports it
        self.spool._append({"index": index, **future.result()})

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _examine_file(args: tuple[str, int, bool, Reader | None]) -> dict:
    """A spooled page's facts. A page that cannot be examined is an ordinary page ("other",
    with the error kept): it stays in its document, whose processing then reports what is
    wrong with it, and the rest of the stack is examined (one bad page never stops it)."""
    path, dpi, first_pages, reader = args
    try:
        data = Path(path).read_bytes()
        # the id the capture PDF will store the page under: its reading is found by it unread
        stored_id = png_id(data) if reader is not None else None
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return examine(img, dpi, first_pages=first_pages, reader=reader,
                           stored_id=stored_id).to_dict()
    except Exception as exc:  # noqa: BLE001 - any failure is this page's, not the stack's
        log.warning("%s: page not examined (%s: %s); kept as an ordinary page",
                    path, type(exc).__name__, exc)
        return {**PageFacts(kind="other").to_dict(),
                "error": f"{Path(path).name}: {type(exc).__name__}: {exc}"[:300]}
