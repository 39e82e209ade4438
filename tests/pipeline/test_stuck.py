"""Nothing left mid-pipeline (pipeline.stuck): hostile files fail cleanly through the real
`sohoa` command, a process killed mid-stage leaves a document that fsck reports and that
digitizing again or `failed retry` resumes, and temp folders do not pile up."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from pipeline import states
from tests.ocr import hostile
from tests.pipeline.conftest import render_decision

ROOT = Path(__file__).resolve().parents[2]
SOHOA = str(Path(sys.executable).with_name("sohoa"))


def _env(home: Path, tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    tmp.mkdir(exist_ok=True)
    return {**env, "SOHOA_HOME": str(home), "TMPDIR": str(tmp), "SOHOA_OCR_WORKERS": "1"}


def _sohoa(env, *args, timeout=120):
    return subprocess.run([SOHOA, *map(str, args)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _row(home: Path, doc_id: str) -> dict:
    with sqlite3.connect(home / "catalog.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return dict(db.execute("select * from documents where id = ?", (doc_id,)).fetchone())


def test_every_refused_hostile_class_fails_cleanly_through_digitize(tmp_path):
    """The whole hostile set (tests/ocr/hostile.py) through `sohoa digitize`: each refused file
    ends `failed` with the loader's reason, its original quarantined, no lease or temp folder
    left; the files the loader accepts end stored or waiting for review."""
    from tests.ocr.test_hostile import EXPECTED

    home, tmp = tmp_path / "home", tmp_path / "tmp"
    env = {**_env(home, tmp), "SOHOA_OCR_WORKERS": "2"}
    (tmp_path / "in").mkdir()
    files = hostile.corpus(tmp_path / "in")
    start = time.monotonic()
    run = _sohoa(env, "digitize", *files.values(), "--unit", "00004", "--json", timeout=600)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    records = {Path(r["file"]).name: r for r in _records(run.stdout)}
    assert len(records) == len(files) and time.monotonic() - start < 60 * len(files)
    for name, path in files.items():
        record, (kind, expected) = records[path.name], EXPECTED[name]
        if kind == "loaded":
            assert record["status"] in (states.STORED, states.NEEDS_REVIEW, states.FAILED)
            continue
        assert record["status"] == "failed" and expected in record["error"], record
        named = record["error"].split(": ", 1)[0]  # the name, or the path the user gave
        assert named in (path.name, str(path)), record
        if record["document_id"] is None:  # refused before it was accepted (0 bytes)
            continue
        row = _row(home, record["document_id"])
        assert row["state"] == states.FAILED and row["failed_stage"] == "ocr"
        assert row["original_key"].startswith("quarantine/") and row["lease_owner"] is None
    assert list(tmp.iterdir()) == []  # every temp folder removed
    with sqlite3.connect(home / "catalog.sqlite3") as db:
        working = db.execute("select count(*) from documents where state in "
                             "('received', 'ocr_done', 'classified')").fetchone()[0]
    assert working == 0  # nothing left mid-pipeline

    giant = files["large-page-116in"]
    again = _sohoa(env, "digitize", giant, "--unit", "00004", "--json")
    (record,) = _records(again.stdout)  # the same bytes again: its failure, not "duplicate"
    assert again.returncode == 1 and record["status"] == "failed"
    assert record["error"].startswith(f"{giant.name}: PDF page 1 is too large")


def _wait_for_lease(home: Path, tmp: Path, proc, timeout=60.0) -> str:
    """The document being recognized: leased, in state received, its temp folder made."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            with sqlite3.connect(home / "catalog.sqlite3") as db:
                row = db.execute("select id from documents where state = 'received' and "
                                 "lease_owner is not null").fetchone()
        except sqlite3.OperationalError:  # not created yet
            row = None
        if row and any(p.name.startswith("sohoa-ocr-") for p in tmp.iterdir()):
            return row[0]
        time.sleep(0.02)
    raise AssertionError("the OCR stage never started")


def test_a_process_killed_mid_stage_is_reported_and_resumed(tmp_path):
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    env = _env(home, tmp)
    scan = render_decision(tmp_path / "quyet-dinh.png", dpi=200)
    proc = subprocess.Popen([SOHOA, "digitize", str(scan), "--unit", "00004", "--json"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        doc_id = _wait_for_lease(home, tmp, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # like the OOM killer: no cleanup runs
        proc.communicate()
    assert _row(home, doc_id)["state"] == states.RECEIVED
    assert any(p.name.startswith("sohoa-ocr-") for p in tmp.iterdir())  # left behind

    fsck = _sohoa(env, "fsck", "--stuck-after", "0", "--json")
    report = json.loads(fsck.stdout)
    assert fsck.returncode == 1 and report["counts"]["stuck"] == 1
    (stuck,) = [p for p in report["problems"] if p["kind"] == "stuck"]
    assert stuck["document_id"] == doc_id and "in state received" in stuck["detail"]

    again = _sohoa(env, "digitize", scan, "--unit", "00004", "--json")
    (record,) = _records(again.stdout)
    assert record["document_id"] == doc_id
    assert record["status"] in (states.STORED, states.NEEDS_REVIEW), (record, again.stderr)
    with sqlite3.connect(home / "catalog.sqlite3") as db:
        events = db.execute("select action, detail from audit_events where document_id = ? "
                            "order by at, id", (doc_id,)).fetchall()
    assert [action for action, _ in events][:3] == ["received", "failed", "retried"], events
    assert json.loads(events[1][1])["reason"].startswith(
        "interrupted: the ocr stage did not finish (its process stopped after ")
    assert not any(p.name.startswith("sohoa-") for p in tmp.iterdir())  # swept on recovery


def _stuck_document(runtime, tmp_path) -> tuple[str, Path]:
    """A document in state received whose lease names a process that no longer exists."""
    from datetime import timedelta

    from pipeline.ingest import ingest_file
    from storage.catalog import Document, utcnow

    bad = tmp_path / "hong.png"
    bad.write_bytes(hostile.png_bytes()[:200])
    doc_id = ingest_file(runtime, bad, unit_code="00004").document_id
    dead = subprocess.Popen(["true"])
    dead.wait()
    with runtime.session() as session:
        doc = session.get(Document, doc_id)
        doc.lease_owner = f"{os.uname().nodename}:{dead.pid}:1:inline"
        doc.lease_until = utcnow() + timedelta(seconds=60)
    return doc_id, bad


def test_failed_retry_resumes_a_stuck_document(runtime, tmp_path):
    from pipeline.submission import retry_failed
    from storage.catalog import Document
    from storage.fsck import run_fsck

    doc_id, _ = _stuck_document(runtime, tmp_path)
    stuck = run_fsck(runtime.database_url, runtime.objects, stuck_after_s=0).problems
    assert [(p.kind, p.document_id) for p in stuck] == [("stuck", doc_id)]
    assert run_fsck(runtime.database_url, runtime.objects, stuck_after_s=3600).ok
    (record,) = retry_failed(runtime, runtime.dispatcher, [doc_id])
    assert record["error"] is None and record["state"] == states.FAILED
    with runtime.session() as session:
        doc = session.get(Document, doc_id)
        assert doc.error == "hong.png: PNG file is corrupt or truncated" and doc.lease_owner is None


def test_submitting_a_stuck_document_again_resumes_it(runtime, tmp_path):
    from pipeline.submission import submit

    doc_id, path = _stuck_document(runtime, tmp_path)
    (record,) = submit(runtime, runtime.dispatcher, [path], unit_code="00004")
    assert record["document_id"] == doc_id and record["status"] == states.FAILED
    assert record["error"] == "hong.png: PNG file is corrupt or truncated"
