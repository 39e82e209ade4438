"""Recognition results kept on disk by the page they were read from, so that a page is read
once: batch capture reads every page of a stack while it splits it (`batch.pages`), and the
pipeline's OCR stage then finds each page's result here instead of running Tesseract again.

A result is keyed by the page itself — its pixels, mode, size and resolution, whether the
resolution came from the file — and by how it was read (language, preprocessing steps,
`FORMAT`). Identical pixels read the same way give the same result, so a hit is exact whatever
document or position the page is in (its index and source name are the caller's). A result is
two files written atomically: its one-page PDF and a JSON of the rest (no pickle: the folder is
read back as data). Anything unreadable is a miss.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from ocr.engine import PageResult, Word

log = logging.getLogger(__name__)

FORMAT = 1  # bump when recognition changes what a page gives


class ResultCache:
    """A folder of recognition results; safe to share between processes and threads."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.hits = self.misses = 0

    def key(self, page, lang: str, steps) -> str | None:
        """The page's key, or None for a page not cached: one whose PDF text layer changes how
        it is read (taken as is, or signature text masked)."""
        layer = getattr(page, "text_layer", None)
        if layer is not None and (layer.use_as_is or layer.signature_boxes):
            return None
        digest = hashlib.sha256()  # hardware SHA (x86 SHA-NI, ARMv8): ~3x blake2b
        stored_id = getattr(page, "stored_id", None)
        if stored_id:  # the stored bytes say what the pixels are (`ocr.stored`): none decoded
            digest.update(json.dumps([FORMAT, "stored", stored_id, page.dpi,
                                      bool(page.dpi_from_file), lang,
                                      dataclasses.asdict(steps) if steps else None]).encode())
            return digest.hexdigest()
        img = page.image
        digest.update(json.dumps([FORMAT, img.mode, img.size, page.dpi,
                                  bool(page.dpi_from_file), lang,
                                  dataclasses.asdict(steps) if steps else None]).encode())
        digest.update(img.tobytes())
        return digest.hexdigest()

    def get(self, key: str | None, page):
        """The cached result for `key` as a result of `page` (its index and source), or None."""
        if key is None:
            return None
        meta_path = self.folder / f"{key}.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            pdf = (self.folder / f"{key}.pdf").read_bytes() if not meta["blank"] else b""
            words = [Word(*w) for w in meta.pop("words")]
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return PageResult(index=page.index, source=page.source, pdf=pdf, words=words, **meta)

    def finder(self, lang: str, steps=None):
        """`known` for `ocr.pages.iter_pages`: a page's result found by its stored id before
        its image is decoded (None when it was not read that way)."""
        def known(page):
            return self.get(self.key(page, lang, steps), page) if page.stored_id else None
        return known

    def put(self, key: str | None, result) -> None:
        """Keep `result` under `key` (a failure to write is logged: the cache is an aid)."""
        if key is None:
            return
        slots = result.extra.get("slots")
        meta = {"text": result.text, "confidence": result.confidence,
                "words": [dataclasses.astuple(w) for w in result.words],
                "width": result.width, "height": result.height, "dpi": result.dpi,
                "image_format": result.image_format, "blank": result.blank,
                "rotation": result.rotation, "skew": result.skew,
                "extra": {"slots": slots} if slots else {}}
        try:
            self.folder.mkdir(exist_ok=True)  # not its parents: a batch deleted meanwhile
            if not result.blank:
                _write_atomic(self.folder / f"{key}.pdf", result.pdf)
            # the JSON last: its presence says the result is whole
            _write_atomic(self.folder / f"{key}.json", json.dumps(meta).encode())
        except (OSError, TypeError, ValueError) as exc:
            log.warning("recognition result not cached in %s: %s", self.folder, exc)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
