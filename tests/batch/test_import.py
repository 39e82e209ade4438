"""`sohoa batch import` as a user runs it: a folder of old scans with a manifest, a broken file,
the same scan twice; killed mid-batch and run again, nothing is stored twice or lost."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import DECISION, render_decision

SOHOA = str(Path(sys.executable).with_name("sohoa"))


def sohoa(env, *args, check=True):
    run = subprocess.run([SOHOA, *map(str, args)], env=env, capture_output=True, text=True,
                         timeout=600)
    if check and run.returncode != 0:
        raise AssertionError(f"sohoa {args} exited {run.returncode}: {run.stderr}")
    return run


@pytest.fixture
def env(sohoa_home):
    return {**os.environ, "SOHOA_HOME": str(sohoa_home), "SOHOA_OCR_WORKERS": "1"}


@pytest.fixture
def backlog(tmp_path) -> Path:
    folder = tmp_path / "hop-2019"
    (folder / "sub").mkdir(parents=True)
    render_decision(folder / "qd-125.png", dpi=200)
    other = [(left.replace("125/QĐ", "126/QĐ"), right) for left, right in DECISION]
    render_decision(folder / "sub" / "qd-126.png", dpi=200, lines=other)
    (folder / "sub" / "qd-125-copy.png").write_bytes((folder / "qd-125.png").read_bytes())
    (folder / "hong.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / "notes.txt").write_text("not a scan")
    return folder


def _documents(home: Path) -> int:
    with sqlite3.connect(home / "catalog.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]


def test_import_with_manifest_report_and_status(env, backlog, tmp_path, sohoa_home):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,dossier,issued_on,paper_code,sheets,condition\n"
                        "qd-125.png,H26.01-0125,2021-01-05,HOP-2019-07,1,Giấy ố vàng\n"
                        "sub/qd-126.png,H26.01-0126,,,,\n", encoding="utf-8")
    run = sohoa(env, "batch", "import", backlog, "--unit", "00004", "--procedure", "1.001193",
                "--manifest", manifest, "--json", check=False)
    assert run.returncode == 0, run.stderr
    assert "1 file(s) left alone, not PDF/TIFF/PNG/JPEG: notes.txt" in run.stderr
    items = {r["file"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert set(items) == {"hong.pdf", "qd-125.png", "sub/qd-125-copy.png", "sub/qd-126.png"}
    assert items["hong.pdf"]["status"] == "refused" and items["hong.pdf"]["reason"]
    assert items["qd-125.png"]["status"] in ("stored", "needs_review")
    # the same bytes under another name are the same document, stored once
    assert items["sub/qd-125-copy.png"]["document_id"] == items["qd-125.png"]["document_id"]
    assert _documents(sohoa_home) == 3  # two scans + the broken file kept in quarantine
    report = json.loads(sohoa(env, "batch", "report", _batch_id(env), "--json").stdout)
    assert report["finished"] and report["counts"]["refused"] == 1
    assert report["counts"]["stored"] + report["counts"]["needs_review"] == 3
    text = sohoa(env, "batch", "report", _batch_id(env)).stdout
    assert "refused       hong.pdf" in text and "reason:" in text
    show = json.loads(sohoa(env, "show", items["qd-125.png"]["document_id"], "--json").stdout)
    assert show["dossier_code"] == "H26.01-0125"
    assert show["fields"]["issued_on"] == "2021-01-05"  # from the manifest
    status = sohoa(env, "batch", "status").stdout
    assert "import done" in status and str(backlog) in status
    # the manifest's archive columns wait for (or reach) the archive record
    with sqlite3.connect(sohoa_home / "catalog.sqlite3") as db:
        hints = db.execute("SELECT paper_code, sheets, physical_condition FROM archive_documents "
                           "WHERE document_id = ?", (items["qd-125.png"]["document_id"],)
                           ).fetchone()
    assert hints == ("HOP-2019-07", 1, "Giấy ố vàng")
    if items["qd-125.png"]["status"] == "stored":
        record = json.loads(sohoa(env, "records", "show", "H26.01-0125", "--json").stdout)
        assert record["paper_record_code"] == "HOP-2019-07" and record["sheet_count"] == 1
        assert record["physical_condition"] == "Giấy ố vàng" and record["document_count"] == 1


def _batch_id(env) -> str:
    return json.loads(sohoa(env, "batch", "status", "--json").stdout.splitlines()[0])["id"]


def test_bad_manifest_is_refused_with_file_and_line(env, backlog, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,issued_on\nqd-125.png,05/01/2021\n", encoding="utf-8")
    run = sohoa(env, "batch", "import", backlog, "--unit", "00004", "--manifest", manifest,
                check=False)
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last == f"{manifest}: line 2: issued_on '05/01/2021' is not a date like 2020-01-05"


def test_killed_mid_batch_resumes_without_storing_twice(env, backlog, sohoa_home):
    catalog = sohoa_home / "catalog.sqlite3"  # the journal is in the catalog
    proc = subprocess.Popen([SOHOA, "batch", "import", str(backlog), "--unit", "00004"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if catalog.exists():
                try:
                    with sqlite3.connect(catalog, timeout=30) as db:
                        done = db.execute("SELECT COUNT(*) FROM batch_items "
                                          "WHERE status != 'pending'").fetchone()[0]
                except sqlite3.OperationalError:  # the importer is creating the catalog
                    done = 0
                if done >= 1:
                    break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # a crash: no cleanup, nothing flushed
        proc.wait()
    run = sohoa(env, "batch", "import", backlog, "--unit", "00004", "--json")
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert sorted(r["file"] for r in lines) == ["hong.pdf", "qd-125.png", "sub/qd-125-copy.png",
                                               "sub/qd-126.png"]
    assert any(r.get("skipped") for r in lines)  # what was done before the crash is not redone
    assert _documents(sohoa_home) == 3
    with sqlite3.connect(sohoa_home / "catalog.sqlite3") as db:
        states = sorted(r[0] for r in db.execute("SELECT state FROM documents"))
    assert states.count("failed") == 1 and all(s in ("stored", "needs_review", "failed")
                                               for s in states)


def test_a_former_journal_file_is_taken_in_by_the_first_command(env, sohoa_home):
    """A home that ran batches before the journal moved into the catalog: the first
    `sohoa batch …` copies its file into the catalog, says so, and renames the file."""
    from tests.batch.test_journal import former_journal

    root = sohoa_home / "batches"
    former_journal(root, "/mnt/hop-2019", "f" * 32)
    run = sohoa(env, "batch", "status")
    assert ("former batch journal taken into the catalog: 2 batch(es), 4 item(s), 2 whose "
            "document this catalog does not have; the file is kept as "
            f"{root / 'journal.sqlite3.imported'}") in run.stderr
    assert not (root / "journal.sqlite3").exists()
    lines = run.stdout.splitlines()
    assert len(lines) == 2 and "import open" in lines[0] and "/mnt/hop-2019" in lines[0]
    assert "scan   done" in lines[1] and "escl:http://10.0.0.5/eSCL" in lines[1]
    report = sohoa(env, "batch", "report", "20261101-090000-abcdef")
    assert "stored        doc-001 pages 1,2" in report.stdout
    assert "former batch journal" not in report.stderr  # once
