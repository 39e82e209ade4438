"""A split document's PDF (batch.commit.images_to_pdf): the same bytes on every run, and read
back by the OCR stage as the very pixels scanned, without rendering; documents committed as
their boundaries settle while the stack is still being examined."""

from __future__ import annotations

import random

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw

from batch.commit import images_to_pdf, settled_documents
from batch.pages import PageFacts
from batch.split import split_stack
from batch.spool import Spool
from ocr import pages as pages_module
from ocr.pages import CAPTURE_CREATOR, iter_pages


def _page(path, text: str):
    image = Image.new("L", (1654, 2339), 247)
    ImageDraw.Draw(image).text((200, 200), text, fill=0)
    image.save(path, dpi=(200, 200))
    return image


def test_document_pdf_is_reproducible_and_read_as_the_scanned_pixels(tmp_path, monkeypatch):
    scans = [_page(tmp_path / f"p{i}.png", f"Trang {i}") for i in range(2)]
    first = images_to_pdf([tmp_path / "p0.png", tmp_path / "p1.png"], tmp_path / "a.pdf", 200)
    again = images_to_pdf([tmp_path / "p0.png", tmp_path / "p1.png"], tmp_path / "b.pdf", 200)
    assert first.read_bytes() == again.read_bytes()  # a rebuilt document is the same document
    with pikepdf.open(first) as pdf:
        assert str(pdf.docinfo["/Creator"]) == CAPTURE_CREATOR and len(pdf.pages) == 2

    rendered: list = []
    monkeypatch.setattr(pages_module, "render_pdf_page",
                        lambda *a, **k: rendered.append(a) or None)
    pages = list(iter_pages(first))
    assert rendered == []
    assert [p.dpi for p in pages] == [200, 200]
    for page, scan in zip(pages, scans, strict=True):
        assert np.array_equal(np.asarray(page.image), np.asarray(scan))


class _Examined:
    """A stand-in spool for `settled_documents`: the first `k` pages examined."""

    def __init__(self, facts, sides, k):
        self.records = [{"index": i, "side": side, **(f.to_dict() if i < k else {})}
                        for i, (f, side) in enumerate(zip(facts, sides, strict=True))]

    def pages(self):
        return self.records

    examined = Spool.examined  # the examined prefix, as the spool finds it


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("method", ["auto", "blank", "separator", "first"])
def test_a_settled_document_is_the_document_the_whole_stack_gives(seed, method):
    """Whatever the pages examined next turn out to be, a document `settled_documents` gives
    for a prefix of the stack is the one the whole stack's split has at that position — and
    the last documents of the prefix (their end not seen) are never given."""
    rng = random.Random(seed)
    n = rng.randint(1, 30)
    kinds = rng.choices(["separator", "blank", "first", "other"], [1, 4, 2, 5], k=n)
    facts = [PageFacts(kind=k, dossier=f"H{i}" if k == "separator" and i % 2 else None)
             for i, k in enumerate(kinds)]
    sides = ["front", "back"] * (n // 2) + ["front"] * (n % 2) if seed % 3 else ["front"] * n
    final = split_stack(facts, sides, method).documents
    for k in range(n + 1):
        settled = settled_documents(_Examined(facts, sides, k), method)
        for position, doc in settled:
            assert doc.to_dict() == final[position].to_dict(), (k, position)
        assert all(max(d.pages) < k - 2 for _, d in settled)
    # the whole stack examined: all but its last document (the caller commits that one)
    assert [p for p, _ in settled_documents(_Examined(facts, sides, n), method)] == \
        list(range(len(final) - 1)) or len(final) <= 1 or final[-1].pages[0] > n - 3


def test_documents_are_committed_as_their_boundaries_settle(tmp_path, runtime):
    """`committing_as_settled` commits a document while the rest of the stack is still being
    examined, as soon as the pages after it settle its end; the last commit then does only
    the rest, and every document is stored once under the name the whole split gives it."""
    import json
    import time

    from batch.commit import commit_spool, committing_as_settled
    from batch.journal import Journal
    from batch.spool import Spool
    from bench.batch import make_stack

    spool = Spool.create(tmp_path, {"scanner": "test", "split": "auto", "duplex": True})
    for page in make_stack(3, seed=4, dpi=200, starts=("separator",)):
        spool.add_page(page.image, 200, page.side)
    spool.examine(workers=2, read_lang="vie")
    records = spool.pages()
    scanned = ("index", "file", "dpi", "side")
    spooled = [json.dumps({k: r[k] for k in scanned}) for r in records]
    facts = [json.dumps({k: v for k, v in r.items() if k not in scanned[1:]}) for r in records]
    (spool.folder / "pages.jsonl").write_text("\n".join(spooled) + "\n")  # as scanned
    final = split_stack([PageFacts.from_dict(json.loads(f)) for f in facts],
                        [json.loads(s)["side"] for s in spooled], "auto").documents
    assert len(final) == 3
    journal = Journal(runtime)
    second_start = final[1].pages[0]
    with committing_as_settled(runtime, None, journal, spool, method="auto", unit="00004",
                               every=0.05):
        for n, line in enumerate(facts):  # the pages' facts arrive one by one
            with open(spool.folder / "pages.jsonl", "a") as out:
                out.write(line + "\n")
            if n == second_start + 2:  # the first document's end is now settled
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not journal.counts(spool.id)["stored"] \
                        + journal.counts(spool.id)["needs_review"]:
                    time.sleep(0.05)
                early = [(i["name"], i["status"]) for i in journal.items(spool.id)]
                assert journal.batch(spool.id)["finished"] is None  # not while partial
    assert len(early) == 1 and early[0][1] in ("stored", "needs_review")
    assert early[0][0].startswith("doc-001 pages ")
    spool.split()
    commit_spool(runtime, None, journal, spool, unit="00004")
    items = journal.items(spool.id)
    assert [i["name"] for i in items] == [
        f"doc-{n + 1:03d} pages {','.join(str(p + 1) for p in d.pages)}"
        for n, d in enumerate(final)]
    assert all(i["status"] in ("stored", "needs_review") for i in items)
    assert journal.batch(spool.id)["finished"] is not None
