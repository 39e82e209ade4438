"""`sohoa batch scan` over real drivers: the eSCL responder feeding a prepared stack (a 409 at
the end of the feed, as captured), and the SANE test device's feeder; then the operator moves
a boundary and commits."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from PIL import Image

from batch.separator import render_sheet
from tests.pipeline.conftest import DECISION, render_decision
from tests.scanners.escl_responder import EsclResponder

SOHOA = str(Path(sys.executable).with_name("sohoa"))


def sohoa(env, *args, check=True):
    run = subprocess.run([SOHOA, *map(str, args)], env=env, capture_output=True, text=True,
                         timeout=600)
    if check and run.returncode != 0:
        raise AssertionError(f"sohoa {args} exited {run.returncode}: {run.stderr}")
    return run


def _jpeg(image: Image.Image, dpi: int = 300) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=85, dpi=(dpi, dpi))
    return buf.getvalue()


def test_escl_duplex_stack_is_split_reviewed_and_committed(tmp_path, sohoa_home):
    env = {**os.environ, "SOHOA_HOME": str(sohoa_home), "SOHOA_OCR_WORKERS": "2"}
    from bench.batch import blank_paper

    other = [(left.replace("125/QĐ", "126/QĐ"), right) for left, right in DECISION]
    back = _jpeg(blank_paper(300, 1))
    stack = [_jpeg(Image.open(render_decision(tmp_path / "a.png", dpi=300))), back,
             _jpeg(render_sheet("H26.01-0002", dpi=300)), back,
             _jpeg(Image.open(render_decision(tmp_path / "b.png", dpi=300, lines=other))), back]
    with EsclResponder(page_bodies=stack, feed_end="nextdocument-409-feed-end.http") as srv:
        simplex = sohoa(env, "batch", "scan", "--scanner", f"escl:{srv.url}", "--duplex",
                        check=False)
    assert simplex.returncode == 2 and "không hỗ trợ" in simplex.stderr  # no duplex offered
    assert "source duplex not offered" in simplex.stderr and "no batch created" in simplex.stderr
    assert not list((sohoa_home / "batches").glob("2*"))
    with EsclResponder(page_bodies=stack, feed_end="nextdocument-409-feed-end.http",
                       duplex=True) as srv:
        run = sohoa(env, "batch", "scan", "--scanner", f"escl:{srv.url}", "--duplex", "--json")
        assert "<scan:Duplex>true</scan:Duplex>" in srv.settings[0]
    result = json.loads(run.stdout)
    assert "6 page(s) spooled" in run.stderr
    batch = result["batch"]
    # blank backs dropped, the separator and its back dropped, its dossier on the next document
    assert [d["pages"] for d in result["documents"]] == [[0], [4]]
    assert result["documents"][1]["dossier"] == "H26.01-0002"
    assert result["dropped"] == [1, 2, 3, 5]

    # the operator joins the second document to the first, then splits it again
    joined = json.loads(sohoa(env, "batch", "split", batch, "--join", "5", "--json").stdout)
    assert [d["pages"] for d in joined["documents"]] == [[0, 4]]
    assert json.loads(sohoa(env, "batch", "split", batch, "--json").stdout) == joined  # kept
    bad = sohoa(env, "batch", "split", batch, "--start", "2", check=False)
    assert bad.returncode == 2 and "page 2 is not in any document" in bad.stderr
    again = json.loads(sohoa(env, "batch", "split", batch, "--start", "5", "--json").stdout)
    assert [d["pages"] for d in again["documents"]] == [[0], [4]]

    sohoa(env, "batch", "commit", batch, "--unit", "00004", "--procedure", "1.001193")
    sohoa(env, "batch", "commit", batch, "--unit", "00004")  # again: nothing new
    late = sohoa(env, "batch", "split", batch, "--join", "5", check=False)
    assert late.returncode == 2 and "already committed" in late.stderr
    with sqlite3.connect(sohoa_home / "catalog.sqlite3") as db:
        rows = db.execute("SELECT state, dossier_code, page_count FROM documents "
                          "ORDER BY dossier_code").fetchall()
    assert len(rows) == 2 and {r[0] for r in rows} <= {"stored", "needs_review"}
    assert [r[1] for r in rows] == [None, "H26.01-0002"] and [r[2] for r in rows] == [1, 1]
    with sqlite3.connect(sohoa_home / "catalog.sqlite3") as db:  # one sheet each, for the archive
        sheets = db.execute("SELECT a.sheets FROM archive_documents a JOIN documents d "
                            "ON d.id = a.document_id ORDER BY d.dossier_code").fetchall()
    assert sheets == [(1,), (1,)]
    report = json.loads(sohoa(env, "batch", "report", batch, "--json").stdout)
    assert report["kind"] == "scan" and report["finished"]
    assert report["counts"]["stored"] + report["counts"]["needs_review"] == 2


def test_scan_with_commit_stores_documents_as_their_boundaries_settle(tmp_path, sohoa_home):
    """`batch scan --commit`: pages are examined beside the feeder and a document is stored as
    soon as the pages after it settle its end — before the split is even printed — and the
    last ones after it; every document once, with its dossier from the separator sheet."""
    env = {**os.environ, "SOHOA_HOME": str(sohoa_home), "SOHOA_OCR_WORKERS": "2"}
    from bench.batch import blank_paper

    nope = sohoa(env, "batch", "scan", "--scanner", "escl:http://127.0.0.1:9", "--commit",
                 check=False)
    assert nope.returncode == 2 and "--unit is needed" in nope.stderr
    assert not (sohoa_home / "batches").exists() or not list((sohoa_home / "batches").iterdir())
    back = _jpeg(blank_paper(300, 1))
    stack = []
    for n in range(3):
        if n:
            stack += [_jpeg(render_sheet(f"H26.01-000{n}", dpi=300)), back]
        lines = [(left.replace("125/QĐ", f"12{n}/QĐ"), right) for left, right in DECISION]
        stack += [_jpeg(Image.open(render_decision(tmp_path / f"{n}.png", dpi=300,
                                                   lines=lines))), back]
    with EsclResponder(page_bodies=stack, feed_end="nextdocument-409-feed-end.http",
                       duplex=True) as srv:
        run = sohoa(env, "batch", "scan", "--scanner", f"escl:{srv.url}", "--duplex", "--json",
                    "--commit", "--unit", "00004")
    out = [json.loads(line) for line in run.stdout.splitlines()]
    order = [o.get("item", "split") for o in out]
    # the first document was settled (the second had started two pages before the end)
    assert order[:2] == ["doc-001 pages 1", "split"], order
    assert sorted(order[2:]) == ["doc-002 pages 5", "doc-003 pages 9"]  # two at a time
    assert [d["pages"] for d in out[1]["documents"]] == [[0], [4], [8]]
    assert all(o["status"] in ("stored", "needs_review") for o in out if "item" in o)
    with sqlite3.connect(sohoa_home / "catalog.sqlite3") as db:
        rows = db.execute("SELECT dossier_code FROM documents ORDER BY dossier_code").fetchall()
    assert rows == [(None,), ("H26.01-0001",), ("H26.01-0002",)]


def test_sane_test_feeder_batch_ends_cleanly(sane_test, sohoa_home):
    env = {**os.environ, "SOHOA_HOME": str(sohoa_home)}
    run = sohoa(env, "batch", "scan", "--scanner", sane_test, "--dpi", "200", "--split", "blank",
                "--json")
    result = json.loads(run.stdout)
    assert "10 page(s) spooled" in run.stderr  # the test device's feeder holds 10 sheets
    pages = sorted(p for d in result["documents"] for p in d["pages"]) + result["dropped"]
    assert sorted(pages) == list(range(10))  # every page is in a document or listed as dropped
    spooled = sorted((sohoa_home / "batches" / result["batch"] / "pages").glob("*.png"))
    assert len(spooled) == 10 and round(Image.open(spooled[0]).info["dpi"][0]) == 200
    # the operator reloads the feeder: the second load is appended to the same batch
    run = sohoa(env, "batch", "scan", "--scanner", sane_test, "--dpi", "200", "--split", "blank",
                "--append", result["batch"], "--json")
    again = json.loads(run.stdout)
    assert again["batch"] == result["batch"]
    pages = sorted(p for d in again["documents"] for p in d["pages"]) + again["dropped"]
    assert sorted(pages) == list(range(20))


def test_second_pass_of_backs_is_collated(tmp_path):
    from batch.spool import Spool

    spool = Spool.create(tmp_path, {"scanner": "test", "split": "blank"})
    for shade in (10, 20, 30):  # fronts 1..3
        spool.add_page(Image.new("L", (50, 70), shade), 200, "front")
    backs = []
    for shade in (33, 22, 11):  # the stack turned over: back 3 comes first
        backs.append(tmp_path / f"back-{shade}.png")
        Image.new("L", (50, 70), shade).save(backs[-1])
    spool.collate_backs(backs, 200)
    pages = spool.pages()
    assert [p["side"] for p in pages] == ["front", "back"] * 3
    shades = [Image.open(spool.page_path(p["index"])).getpixel((0, 0)) for p in pages]
    assert shades == [10, 11, 20, 22, 30, 33]


def test_collated_fronts_keep_their_facts_and_blank_backs_are_glanced(tmp_path):
    """Collating used to rewrite every page line with its side and file only: the fronts,
    already examined, were examined again, and the backs pass was never glanced."""
    from batch.spool import Spool

    spool = Spool.create(tmp_path, {"scanner": "test", "split": "auto"})
    spool.add_page(render_sheet("H26.01-0777", dpi=200), 200, "front")
    spool.add_page(Image.new("L", (1654, 2339), 250), 200, "front")  # a white front: glanced
    spool.examine(first_pages=False)
    before = {p["file"]: p for p in spool.pages()}
    assert before["00000.png"]["kind"] == "separator"
    backs = [tmp_path / "back-2.png", tmp_path / "back-1.png"]  # the stack turned over
    render_sheet("H26.01-0778", dpi=200).save(backs[0])  # ink on a back: examined in full
    Image.new("RGB", (1654, 2339), "white").save(backs[1])
    spool.collate_backs(backs, 200)
    pages = spool.pages()
    assert [p["side"] for p in pages] == ["front", "back"] * 2
    for page in pages[::2]:  # the fronts' facts as found before collating
        kept = {k: v for k, v in before[page["file"]].items() if k not in ("index", "side")}
        assert {k: page[k] for k in kept} == kept
    assert pages[1]["kind"] == "blank"  # back 1 (white): known at a glance
    assert "kind" not in pages[3]  # back 2 has a QR code: left for the examining
    assert spool.glance_cpu_s > 0
    examined = spool.examine(first_pages=False)
    assert examined[3]["kind"] == "separator" and examined[3]["dossier"] == "H26.01-0778"


def test_spooled_page_lets_go_of_its_pixels(tmp_path):
    from batch.spool import Spool
    from scanners.base import ScannedPage

    spool = Spool.create(tmp_path, {"scanner": "test"})
    page = ScannedPage(image=Image.new("RGB", (2480, 3508), "white"), dpi=300, mode="color")
    spool.on_page(page)
    assert page.image.size == (1, 1)  # a stack of hundreds of sheets never sits in memory
    assert Image.open(spool.page_path(0)).size == (2480, 3508)


def test_examining_in_worker_processes_never_forks_this_process(tmp_path, monkeypatch):
    """The station examines a stack from a thread: a fork of that threaded process copies locks
    other threads hold (malloc arenas, PDFium's) into children that can wait on them for ever."""
    import threading

    from batch.spool import Spool

    spool = Spool.create(tmp_path, {"scanner": "test", "split": "blank"})
    for shade in (255, 20, 255, 30):
        spool.add_page(Image.new("L", (170, 240), shade), 200, "front")

    def no_fork():
        raise AssertionError("os.fork() called in a threaded process")

    monkeypatch.setattr(os, "fork", no_fork)
    held = threading.Lock()
    held.acquire()  # as another thread of the station would hold a lock
    try:
        pages = spool.examine(workers=2)
    finally:
        held.release()
    assert len(pages) == 4 and all("kind" in p for p in pages)


def test_pages_are_examined_while_the_feeder_goes_on(tmp_path, monkeypatch):
    """Inside `Spool.examining`, each spooled page is examined beside the scan: the first
    sheets' facts are written before the last sheet comes off the feeder, and what is left
    after the scan is only the pages in hand (nothing examined twice, nothing skipped)."""
    import time

    from batch.separator import render_sheet
    from batch.spool import Spool
    from scanners.base import ScannedPage

    monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(AssertionError("fork")))
    spool = Spool.create(tmp_path, {"scanner": "test", "split": "auto"})
    sheets = [render_sheet(None, 150).convert("RGB"), Image.new("RGB", (1240, 1754), "white"),
              Image.new("RGB", (1240, 1754), "white"), render_sheet("H26.01-0042", 150)]
    seen_before_last = None
    with spool.examining(workers=2, first_pages=False):
        for n, sheet in enumerate(sheets):
            if n == len(sheets) - 1:  # the feeder's last sheet waits for the first's facts
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and "kind" not in spool.pages()[0]:
                    time.sleep(0.05)
                seen_before_last = [p.get("kind") for p in spool.pages()]
            spool.on_page(ScannedPage(image=sheet, dpi=150, mode="color"))
    assert seen_before_last[0] == "separator"
    lines = (spool.folder / "pages.jsonl").read_text().splitlines()
    # a separator: one line spooled, one examined; a white page is known blank at a glance
    # as it is spooled (one line, never decoded again)
    assert sorted(json.loads(line)["index"] for line in lines) == [0, 0, 1, 2, 3, 3]
    pages = spool.examine(workers=2)  # nothing left to do
    assert (spool.folder / "pages.jsonl").read_text().splitlines() == lines
    assert [p["kind"] for p in pages] == ["separator", "blank", "blank", "separator"]
    assert pages[3]["dossier"] == "H26.01-0042"


def test_a_page_that_cannot_be_examined_stays_in_its_document_and_the_rest_goes_on(tmp_path,
                                                                                   runtime):
    """A damaged spooled page (a crash cut it) is kept as an ordinary page while the stack is
    examined; at commit its document is refused naming the page, the others are stored."""
    from batch.commit import commit_spool
    from batch.journal import Journal
    from batch.spool import Spool
    from tests.ocr.conftest import render_lines

    spool = Spool.create(tmp_path, {"scanner": "test", "split": "blank"})
    text = render_lines(["Nội dung văn bản trang một"] * 6, size=(1654, 2339), mode="L")
    for page in (text, Image.new("L", (1654, 2339), 255), text, text):
        spool.add_page(page, 200, "front")
    spool.page_path(2).write_bytes(b"\x89PNG\r\n\x1a\n cut by a crash")  # a damaged spool file
    pages = spool.examine(workers=2, first_pages=False)
    assert [p["kind"] for p in pages] == ["other", "blank", "other", "other"]
    assert "00002.png" in pages[2]["error"] and "error" not in pages[3]
    assert [d.pages for d in spool.split().documents] == [[0], [2, 3]]
    journal = Journal(runtime)
    commit_spool(runtime, None, journal, spool, unit="00004")
    items = journal.items(spool.id)
    assert [i["status"] for i in items] in (["stored", "refused"], ["needs_review", "refused"])
    assert items[1]["reason"] == "page 3 of the stack is damaged on disk: scan it again"


def test_a_plainly_blank_page_is_examined_as_it_is_spooled_and_never_decoded_again(
        tmp_path, monkeypatch):
    """Most of a duplex stack is blank backs: known at a glance while the scanner's pixels are
    in memory, they are recorded examined with the page and `examine` reads only the rest."""
    import batch.spool as spool_module
    from batch.separator import render_sheet
    from batch.spool import Spool
    from tests.ocr.conftest import render_lines

    spool = Spool.create(tmp_path, {"scanner": "test", "split": "auto"})
    text = render_lines(["Nội dung văn bản trang một"] * 6, size=(1654, 2339), mode="L")
    for page in (render_sheet(None, 200), Image.new("RGB", (1654, 2339), "white"), text):
        spool.add_page(page, 200, "front")
    assert [p.get("kind") for p in spool.pages()] == [None, "blank", None]
    assert spool.glance_cpu_s > 0
    decoded = []
    examine_file = spool_module._examine_file
    monkeypatch.setattr(spool_module, "_examine_file",
                        lambda args: decoded.append(Path(args[0]).name) or examine_file(args))
    pages = spool.examine(workers=1, first_pages=False)
    assert decoded == ["00000.png", "00002.png"]
    assert [p["kind"] for p in pages] == ["separator", "blank", "other"]
