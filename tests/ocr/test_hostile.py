"""Hostile input through the page loader: each class answered fast, in bounded memory, with one
clear line naming the file (English) and a Vietnamese line for counter staff.

All files go through one child process (the way the pipeline's OCR stage loads them), which
reports each file's outcome and time and, at the end, its peak RSS and its renderers'.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ocr.hostile import corpus

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 60  # the target per hostile input
RSS_MB = 1536

CHILD = r"""
import json, resource, sys, time
from ocr.pages import InputError, load_pages
for path in sys.argv[1:]:
    start = time.perf_counter()
    try:
        pages = load_pages(path)
        record = {"pages": len(pages), "sizes": [list(p.image.size) for p in pages]}
    except InputError as e:
        record = {"error": str(e), "vi": e.vi}
    except BaseException as e:
        record = {"crash": f"{type(e).__name__}: {e}"}
    record.update(path=path, seconds=time.perf_counter() - start)
    print(json.dumps(record, ensure_ascii=False), flush=True)
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
renderers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rss_mb": own // 1024, "renderer_rss_mb": renderers // 1024}))
"""

# class → ("refused", substring of the English reason) or ("loaded", page count)
EXPECTED = {
    "zero-byte": ("refused", "file is empty"),
    "giant-page": ("refused", "page 1 is too large"),
    "giant-page-userunit": ("refused", "page 1 is too large: 5000.0x5000.0 inches"),
    "large-page-116in": ("refused", "page 1 is too large: 116.0x116.0 inches"),
    "pdf-image-bomb": ("refused", "an image on page 1 is too large to decode: 100000x100000"),
    "pdf-content-bomb": ("refused", "content of page 1 inflates to more than 256 MB"),
    "pdf-lzw-bomb": ("refused", "content of page 1 decodes (LZWDecode) to more than 256 MB"),
    "pdf-runlength-chain-bomb": ("refused",
                                 "content of page 1 decodes (RunLengthDecode) to more than 256"),
    "pdf-asciihex-chain-bomb": ("refused", "content of page 1 inflates to more than 256 MB"),
    "pdf-ascii85-chain-bomb": ("refused", "content of page 1 inflates to more than 256 MB"),
    "pdf-dct-header-bomb": ("refused", "an image on page 1 is too large to decode (DCTDecode "
                                       "header): 60000x60000 pixels"),
    "pdf-jpx-header-bomb": ("refused", "an image on page 1 is too large to decode (JPXDecode "
                                       "header): 100000x100000 pixels"),
    "pdf-jpx-tiles": ("refused", "an image on page 1 is cut into 16,000,000 tiles"),
    "pdf-jbig2-header-bomb": ("refused", "an image on page 1 is too large to decode "
                                         "(JBIG2Decode header): 1000000x1000000 pixels"),
    "pdf-ccitt-header-bomb": ("refused", "an image on page 1 is too large to decode "
                                         "(CCITTFaxDecode header): 1000000x1000000 pixels"),
    "pdf-font-bomb": ("refused", "a font program on page 1 inflates to more than 256 MB"),
    "pdf-codec-on-content": ("refused", "content of page 1 is not an image but is encoded with "
                                        "the image filter DCTDecode"),
    "many-pages": ("refused", "too many pages (20,000; the limit is 1,000"),
    "page-tree-loop": ("refused", "page tree is corrupt (it loops back on itself)"),
    "broken-xref": ("loaded", 1),
    "garbage-pdf": ("refused", "PDF file is corrupt or truncated"),
    "encrypted-user-password": ("refused", "encrypted with a password"),
    "encrypted-owner-only": ("loaded", 1),
    "encrypted-rc4-owner-only": ("loaded", 1),
    "encrypted-unknown-handler": ("refused", "encrypted with an unsupported method"),
    "actions-js-launch": ("loaded", 1),
    "png-bomb": ("refused", "image too large to decode safely (10,000,000,000 pixels)"),
    "png-text-bomb": ("refused", "inflates too far (decompression bomb)"),
    "tiff-bomb": ("refused", "image too large to decode safely"),
    "tiff-ifd-loop": ("loaded", 1),
    "truncated-pdf": ("refused", "PDF page 1 cannot be rendered"),
    "truncated-png": ("refused", "PNG file is corrupt or truncated"),
    "truncated-jpeg": ("refused", "JPEG file is corrupt or truncated"),
    "truncated-tiff": ("refused", "TIFF file is corrupt or truncated"),
    "tiny-image": ("refused", "image too small to be a scanned page: 1x4000 pixels"),
}

# what must never reach a user: temp paths, object reprs, decoder and qpdf internals
INTERNALS = re.compile(r"/tmp/|sohoa-[a-z]+-|\b0x[0-9a-f]{6}|<_io|Traceback|pikepdf|qpdf|"
                       r"PngImagePlugin|Pillow|offset \d|\(-215")


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    files = corpus(tmp_path_factory.mktemp("hostile"))
    assert set(files) == set(EXPECTED)
    proc = subprocess.run([sys.executable, "-c", CHILD, *map(str, files.values())], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    by_path = {line["path"]: line for line in lines[:-1]}
    return {name: by_path[str(path)] for name, path in files.items()}, lines[-1]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hostile_class_is_answered_quickly_and_clearly(answers, name):
    records, _ = answers
    record = records[name]
    kind, expected = EXPECTED[name]
    file_name = Path(record["path"]).name
    assert "crash" not in record, record
    assert record["seconds"] < SECONDS / 4, record
    if kind == "loaded":
        assert record.get("pages") == expected, record
        return
    assert "error" in record, record
    error, vi = record["error"], record["vi"]
    assert error.startswith(f"{file_name}: ") and expected in error, error
    assert vi.startswith(f"Tệp {file_name}: ") and len(vi) > len(file_name) + 10, vi
    assert "\n" not in error and "\n" not in vi
    assert not INTERNALS.search(error) and not INTERNALS.search(vi), error


def test_whole_hostile_set_stays_within_memory(answers):
    _, usage = answers
    assert usage["rss_mb"] < RSS_MB and usage["renderer_rss_mb"] < RSS_MB, usage


def test_javascript_and_launch_actions_do_not_survive_into_the_searchable_pdf(tmp_path):
    """Pages are rendered to images and the searchable PDF is built from them: nothing of the
    original's actions (OpenAction JavaScript, page-open Launch) can reach the signed copy."""
    import pikepdf

    from ocr.engine import Steps, recognize_pages
    from ocr.pages import load_pages
    from ocr.pdf import assemble_pdf
    from tests.ocr import hostile

    source = hostile.actions_pdf(tmp_path / "hanh-dong.pdf")
    with pikepdf.open(source) as original:  # the hostile parts are really there
        assert "/OpenAction" in original.Root and "/AA" in original.pages[0].obj
    pages = load_pages(source, default_dpi=200)
    data = assemble_pdf(recognize_pages(pages, workers=1, steps=Steps(gate=False, blank=False)),
                        pdfa=False)
    for needle in (b"/JavaScript", b"/JS", b"/Launch", b"/OpenAction", b"/AA", b"/bin/sh"):
        assert needle not in data, needle
    with pikepdf.open(__import__("io").BytesIO(data)) as built:
        assert len(built.pages) == 1 and "/OpenAction" not in built.Root
