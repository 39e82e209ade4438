"""Decoding untrusted image files in a child process under memory and CPU limits.

Pillow hands PNG, TIFF and JPEG pixels to C decoders (zlib, libtiff, libjpeg); fed a broken
file they have corrupted the heap of the process that ran them (a test process later hung in
free()). So the worker never decodes an input image itself: `decode_pages` runs this file as a
script (`python -I ocr/imagedecode.py FILE KIND DPI`, no package imported, only Pillow) with
RLIMIT_AS and RLIMIT_CPU set, a wall-clock deadline per page, and reads the pages back one at a
time over a pipe: a JSON header line, then the raw pixels (modes 1, L or RGB, already
normalized). The child decodes the next page only when asked (a newline on its stdin), so one
page at a time is in flight. A corrupted, killed or out-of-memory child is one refused file;
the worker's heap never saw the bytes.

`check_pdf_images` does the same for the images of a repaired PDF (pikepdf decodes them).

The normalization helpers (`file_dpi`, `normalize_mode`) live here because the child runs them;
`ocr.pages` uses them for rendered PDF pages too.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator

from PIL import Image, ImageOps, ImageSequence

FILE_DPI_MIN = 100
FILE_DPI_MAX = 2400


def file_dpi(img: Image.Image, default_dpi: int) -> tuple[int, bool]:
    dpi = img.info.get("dpi")
    value = None
    if dpi:
        try:
            x = float(dpi[0]) if isinstance(dpi, tuple | list) else float(dpi)
            y = float(dpi[1]) if isinstance(dpi, tuple | list) and len(dpi) > 1 else x
            value = round(max(x, y))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            value = None
    if value is not None and FILE_DPI_MIN <= value <= FILE_DPI_MAX:
        return value, True
    return default_dpi, False


def normalize_mode(img: Image.Image) -> Image.Image:
    """Return an image in a mode tesseract reads well: 1, L or RGB."""
    mode = img.mode
    if mode in ("1", "L", "RGB"):
        return img
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(background, rgba)
        return flat.convert("L" if mode == "LA" else "RGB")
    if mode == "P":
        rgb = img.convert("RGB")
        # a palette of pure grays (common in scans saved as 8-bit palette) becomes L
        palette = img.getpalette() or []
        triples = [palette[i : i + 3] for i in range(0, len(palette), 3)]
        if triples and all(t[0] == t[1] == t[2] for t in triples):
            return rgb.convert("L")
        return rgb
    if mode.startswith("I;16") or mode == "I":
        # 16-bit gray scans: map 0..65535 onto 0..255 (no contrast stretching)
        return img.convert("I").point(lambda v: v / 257).convert("L")
    if mode == "F":
        lo, hi = img.getextrema()
        if hi <= lo:
            return Image.new("L", img.size, 255)
        scale = 255.0 / (hi - lo)
        return img.point(lambda v: (v - lo) * scale).convert("L")
    return img.convert("RGB")  # CMYK, YCbCr, LAB, HSV ...


# --- the child --------------------------------------------------------------------------------


def _send(out, header: dict, data: bytes = b"") -> None:
    out.write(json.dumps(header).encode() + b"\n")
    if data:
        out.write(data)
    out.flush()


def _child_image(path: str, kind: str, default_dpi: int, out, inp) -> None:
    page = 0
    try:
        # "jpeg-stream": a PDF's DCT image, drawn as stored (PDF viewers ignore EXIF turns)
        with Image.open(path, formats=["JPEG" if kind == "jpeg-stream" else kind.upper()]) as img:
            frames = ImageSequence.Iterator(img) if kind == "tiff" else [img]
            for page, frame in enumerate(frames):
                dpi, from_file = file_dpi(frame, default_dpi)
                original_mode = frame.mode
                frame.load()
                im = ImageOps.exif_transpose(frame) if kind == "jpeg" else frame
                im = normalize_mode(im)
                data = im.tobytes()
                _send(out, {"page": page, "mode": im.mode, "size": list(im.size), "dpi": dpi,
                            "from_file": from_file, "original_mode": original_mode,
                            "bytes": len(data)}, data)
                del data, im
                if not inp.readline():
                    return  # the caller wants no more pages
        _send(out, {"end": True})
    except Image.DecompressionBombError as exc:
        _send(out, {"error": "bomb", "page": page, "detail": str(exc)})
    except MemoryError:
        _send(out, {"error": "memory", "page": page, "detail": ""})
    except Exception as exc:  # noqa: BLE001 - any decoder failure: the parent words it
        _send(out, {"error": "corrupt", "page": page, "detail": f"{type(exc).__name__}: {exc}"})


def _child_pdf_images(path: str, out) -> None:
    import pikepdf

    page = 0
    try:
        with pikepdf.open(path) as pdf:
            for page, pdf_page in enumerate(pdf.pages):  # noqa: B007 - named on failure
                for xobj in pdf_page.get_images().values():
                    pikepdf.PdfImage(xobj).as_pil_image().load()
        _send(out, {"end": True})
    except MemoryError:
        _send(out, {"error": "memory", "page": page, "detail": ""})
    except Exception as exc:  # noqa: BLE001
        _send(out, {"error": "corrupt", "page": page, "detail": f"{type(exc).__name__}: {exc}"})


def _child_main(argv: list[str]) -> int:
    path, kind = argv[1], argv[2]
    out = sys.stdout.buffer
    if kind == "pdf-images":
        _child_pdf_images(path, out)
    else:
        _child_image(path, kind, int(argv[3]), out, sys.stdin.buffer)
    return 0


# --- the parent ------------------------------------------------------------------------------


class DecodeFailed(Exception):
    """The child refused or could not decode a page. `reason`: bomb | memory | time | corrupt;
    `page` 0-based; `detail` the library's text (for the debug log, never for people)."""

    def __init__(self, reason: str, page: int, detail: str = ""):
        super().__init__(f"page {page + 1}: {reason}: {detail}")
        self.reason, self.page, self.detail = reason, page, detail


def _limit_child(memory_bytes: int, cpu_seconds: int):
    def apply() -> None:  # runs in the child between fork and exec
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))

    return apply


class _Child:
    """One decoding child: start, read a header line or n bytes before a deadline, stop."""

    def __init__(self, args: list[str], memory_mb: int, cpu_seconds: int):
        import subprocess
        import tempfile

        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_THREAD_LIMIT": "1",
               "LC_ALL": "C.UTF-8"}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", __file__, *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.stderr, env=env, start_new_session=True,
            preexec_fn=_limit_child(memory_mb * 1024 * 1024, max(1, cpu_seconds)))
        self.fd = self.proc.stdout.fileno()
        with contextlib.suppress(OSError):  # fewer, larger reads of a page's pixels
            import fcntl

            fcntl.fcntl(self.fd, 1031, 1 << 20)  # F_SETPIPE_SZ
        self.buffer = bytearray()

    def _fill(self, deadline: float) -> bool:
        import select
        import time

        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([self.fd], [], [], left)
        if not ready:
            raise TimeoutError
        chunk = os.read(self.fd, 1 << 20)
        self.buffer += chunk
        return bool(chunk)

    def line(self, deadline: float) -> dict | None:
        while b"\n" not in self.buffer:
            if not self._fill(deadline):
                return None
        raw, _, rest = bytes(self.buffer).partition(b"\n")
        self.buffer = bytearray(rest)
        return json.loads(raw)

    def exactly(self, size: int, deadline: float) -> bytearray | None:
        """`size` bytes read straight into one buffer (a page is tens of MB: no re-copying)."""
        import select
        import time

        data = bytearray(size)
        view = memoryview(data)
        got = min(size, len(self.buffer))
        view[:got] = self.buffer[:got]
        del self.buffer[:got]
        while got < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise TimeoutError
            read = os.readv(self.fd, [view[got:]])
            if not read:
                return None
            got += read
        return data

    def ask_next(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.write(b"\n")
            self.proc.stdin.flush()

    def died(self, page: int) -> DecodeFailed:
        """Why the child ended without an answer (a signal: killed, out of CPU, crashed)."""
        import signal

        code = self.proc.wait(timeout=5)
        self.stderr.seek(0)
        detail = self.stderr.read()[-500:].decode("utf-8", "replace")
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            return DecodeFailed("time", page, detail)
        if "MemoryError" in detail or "Cannot allocate" in detail or "bad_alloc" in detail:
            return DecodeFailed("memory", page, detail)
        return DecodeFailed("corrupt", page, f"exit {code}: {detail}")

    def stop(self) -> None:
        import signal
        import subprocess

        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:  # nothing more is wanted from it: no need to wait for its interpreter to tear down
            self.proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()


def decode_pages(path, kind: str, *, default_dpi: int, memory_mb: int, seconds: float,
                 pages: int) -> Iterator[tuple[Image.Image, int, bool, str]]:
    """(image, dpi, dpi from file, original mode) for each page of an image file, decoded in a
    child under the limits: `memory_mb` address space, `seconds` of wall time per page and
    `seconds` x `pages` of CPU in all. Raises DecodeFailed."""
    import time

    child = _Child([str(path), kind, str(default_dpi)], memory_mb,
                   int(seconds * max(1, pages)) + 1)
    try:
        page = 0
        while True:
            deadline = time.monotonic() + seconds
            try:
                header = child.line(deadline)
                if header is None:
                    raise child.died(page)
                if header.get("end"):
                    return
                if "error" in header:
                    raise DecodeFailed(header["error"], header.get("page", page),
                                       header.get("detail", ""))
                data = child.exactly(header["bytes"], deadline)
                if data is None:
                    raise child.died(page)
            except TimeoutError:
                raise DecodeFailed("time", page) from None
            image = Image.frombytes(header["mode"], tuple(header["size"]), data)
            del data
            yield image, header["dpi"], header["from_file"], header["original_mode"]
            page = header["page"] + 1
            child.ask_next()
    finally:
        child.stop()


def check_pdf_images(path, *, memory_mb: int, seconds: float) -> None:
    """Every image of the PDF decodes in full (pikepdf, in a child under the limits). Raises
    DecodeFailed naming the first page whose image does not."""
    import time

    child = _Child([str(path), "pdf-images"], memory_mb, int(seconds) + 1)
    try:
        try:
            header = child.line(time.monotonic() + seconds)
        except TimeoutError:
            raise DecodeFailed("time", 0) from None
        if header is None:
            raise child.died(0)
        if "error" in header:
            raise DecodeFailed(header["error"], header.get("page", 0), header.get("detail", ""))
    finally:
        child.stop()


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv))
