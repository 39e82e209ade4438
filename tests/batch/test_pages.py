"""Real pages: the printed separator sheet is found (even upside down, at 200 dpi), and a
small generated duplex stack (bench.batch) is split with every boundary right, no page lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from batch import separator

SOHOA = str(Path(sys.executable).with_name("sohoa"))


def test_separator_pdf_from_the_cli_is_detected_after_printing_and_scanning(tmp_path, sohoa_home):
    out = tmp_path / "sep.pdf"
    run = subprocess.run([SOHOA, "batch", "separator", "--dossier", "H26.01-0042", "-o", str(out),
                          "--copies", "2"], env={**os.environ, "SOHOA_HOME": str(sohoa_home)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", str(out), str(tmp_path / "p")],
                   check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 2
    scan = Image.open(pages[0]).rotate(181.5, fillcolor=255)  # fed upside down, a bit skewed
    assert separator.detect(np.asarray(scan.convert("L")), 200) == (True, "H26.01-0042")


def test_a_document_page_is_not_a_separator():

    assert separator.parse_payload("SOHOA-SEPX") == (False, None)
    assert separator.parse_payload("https://example.vn/qr") == (False, None)
    assert separator.parse_payload("SOHOA-SEP") == (True, None)


def test_generated_stack_splits_right(tmp_path):
    from batch.spool import Spool
    from bench.batch import make_stack, score

    spool = Spool.create(tmp_path, {"scanner": "test", "split": "auto", "duplex": True})
    truth, content = [], []
    for page in make_stack(5, seed=4, dpi=200):  # one start of each kind
        index = spool.add_page(page.image, 200, page.side)
        truth += [index] if page.starts else []
        content += [index] if page.content else []
    spool.examine(workers=2)
    split = spool.split()
    figures = score(truth, split.starts())
    assert figures["share_right"] == 1.0, (figures, split.to_dict())
    kept = {p for d in split.documents for p in d.pages}
    assert set(content) <= kept  # no page of a document lost
    assert not kept & set(split.dropped)
    reasons = [d.reason for d in split.documents]
    assert reasons[0] == "start" and {"separator", "blank", "first"} <= set(reasons), reasons
    assert [p["patch"] for p in spool.pages() if p.get("patch")] in (["T"], ["2"])


def test_pages_read_while_examining_are_split_right_and_not_read_again(tmp_path, runtime,
                                                                       monkeypatch):
    """Inline, `sohoa batch scan` reads each page in full while examining it (first pages from
    that reading) and the commit's OCR stage takes every page's reading from the spool: no
    page goes through Tesseract twice, and the documents are stored with their text."""
    from batch.commit import commit_spool, read_lang_for
    from batch.journal import Journal
    from batch.spool import Spool
    from bench.batch import make_stack, score
    from ocr import engine
    from ocr import pages as pages_module
    from storage.catalog import Document

    assert read_lang_for(runtime.settings) == "vie"  # the embedded default is inline
    spool = Spool.create(tmp_path, {"scanner": "test", "split": "auto", "duplex": True})
    truth = []
    for page in make_stack(4, seed=9, dpi=200, starts=("first", "separator")):
        index = spool.add_page(page.image, 200, page.side)
        truth += [index] if page.starts else []
    spool.examine(workers=2, read_lang="vie")
    split = spool.split()
    assert score(truth, split.starts())["share_right"] == 1.0, split.to_dict()
    content = {p for d in split.documents for p in d.pages}
    # the pages of documents were read and kept; blank pages and separators were not
    assert len(list(spool.ocr_cache_dir.glob("*.json"))) == len(content)

    read, decoded = [], []
    real = engine.recognize_page
    monkeypatch.setattr(engine, "recognize_page",
                        lambda page, **kw: read.append(page.source) or real(page, **kw))
    for name in ("_decode_plain_scan", "render_pdf_page"):
        monkeypatch.setattr(pages_module, name, lambda *a, name=name: decoded.append(name))
    commit_spool(runtime, None, Journal(runtime), spool, unit="00004", workers=2)
    assert read == []  # every page's reading came from examining
    assert decoded == []  # found by the stored image's bytes: not even decoded
    assert runtime.ocr_cache is None  # the runtime is left as it was
    with runtime.session() as session:
        docs = session.query(Document).all()
        assert len(docs) == 4 and {d.state for d in docs} <= {"stored", "needs_review"}
        assert all(len((d.ocr_text or "").split()) > 20 for d in docs)
        assert sorted(d.page_count for d in docs) == sorted(len(d.pages) for d in split.documents)
