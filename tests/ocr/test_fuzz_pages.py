"""Property-based fuzzing of the page loader (hypothesis): small valid PDF, PNG, JPEG and TIFF
files with bytes flipped, cut, inserted or repeated. Whatever the bytes, `load_pages` returns
usable pages or raises `InputError` with one clean line naming the file — never another
exception, never a traceback's worth of library text, and within the render limits.

The budget is SOHOA_FUZZ_EXAMPLES examples (default 60, about 15 s on an idle machine);
examples are derived from the test's name (derandomized), so CI runs are reproducible: raise
the count and set SOHOA_FUZZ_RANDOM=1 locally to search further.

The examples run in a child process: decoders fed broken files (libtiff, libpng, qpdf) may
corrupt the heap of the process that runs them, and a test process whose heap was corrupted
hung for ever much later, in an unrelated test's free(). A corrupted child is just a failure.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pikepdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocr.limits import Limits
from ocr.pages import InputError, load_pages
from tests.ocr import hostile

EXAMPLES = int(os.environ.get("SOHOA_FUZZ_EXAMPLES", "60"))
RANDOM = os.environ.get("SOHOA_FUZZ_RANDOM") == "1"  # new examples on every run
LIMITS = Limits(render_seconds=20, max_pages=20)
INTERNALS = re.compile(r"/tmp/|sohoa-[a-z]+-|\b0x[0-9a-f]{6}|<_io|Traceback|\n")


def _pdf_seed() -> bytes:
    """A one-page PDF with text and an image, uncompressed so mutations hit its structure."""
    pdf = pikepdf.open(io.BytesIO(hostile.actions_pdf_bytes()))
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return out.getvalue()


SEEDS = {
    "scan.pdf": _pdf_seed(),
    "scan.png": hostile.png_bytes((120, 90)),
    "scan.jpg": hostile.jpeg_bytes((120, 90)),
    "scan.tif": hostile.tiff_bytes((120, 90)),
}


@st.composite
def mutated_files(draw):
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "zero"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[at:at + draw(st.integers(1, 512))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif op == "repeat":
            data[at:at] = bytes(data[at:at + 64]) * draw(st.integers(2, 50))
        else:
            data[at:at + 8] = b"\0" * 8
    return name, bytes(data)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_files())
def fuzz_loader(case):
    name, data = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            pages = load_pages(path, limits=LIMITS)
        except InputError as e:
            message = str(e)
            assert message.startswith(f"{name}: ") and e.vi.startswith(f"Tệp {name}: ")
            assert not INTERNALS.search(message) and not INTERNALS.search(e.vi), message
            return
    assert 1 <= len(pages) <= LIMITS.max_pages
    for page in pages:
        assert page.dpi > 0 and page.image.mode in ("1", "L", "RGB")
        assert min(page.image.size) >= 16 and page.image.size[0] * page.image.size[1] <= (
            LIMITS.max_pixels)


def test_loader_answers_pages_or_one_clean_input_error():
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-c", "from tests.ocr.test_fuzz_pages import fuzz_loader; fuzz_loader()"],
        cwd=root, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (run.stdout[-4000:], run.stderr[-4000:])
