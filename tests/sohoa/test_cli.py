"""The command-line contract other issues and outside checks rely on, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.conftest import render_decision

SOHOA = [str(Path(sys.executable).with_name("sohoa"))]


@pytest.fixture
def env(sohoa_home):
    return {**os.environ, "SOHOA_HOME": str(sohoa_home)}


def sohoa(env, *args, check=True):
    run = subprocess.run([*SOHOA, *map(str, args)], env=env, capture_output=True, text=True,
                         timeout=300)
    if check and run.returncode != 0:
        raise AssertionError(f"sohoa {args} exited {run.returncode}: {run.stderr}")
    return run


def test_digitize_export_verify_show_list(env, tmp_path):
    scan = render_decision(tmp_path / "qd.png", dpi=300)
    bad = tmp_path / "hong.pdf"
    bad.write_bytes(b"%PDF-1.4 broken")
    run = sohoa(env, "digitize", scan, bad, "--unit", "00004", "--procedure", "1.001193",
                "--dossier", "000.00.04.H26-210105-0001", "--json", check=False)
    assert run.returncode == 1  # one file failed
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(scan), str(bad)]
    good, failed = records
    assert set(good) >= {"file", "document_id", "status", "document_type", "confidence",
                         "fields", "pages", "sha256", "error"}
    assert good["status"] == "stored" and good["error"] is None and good["pages"] == 1
    assert good["document_type"] == "quyet_dinh"
    assert set(good["fields"]) == {"number", "issued_on", "issuer", "subject_name", "subject_id"}
    assert good["fields"]["issued_on"] == "2021-01-05"
    assert failed["status"] == "failed" and "hong.pdf" in failed["error"]

    out = tmp_path / "export.pdf"
    sohoa(env, "export", good["document_id"], out)
    import hashlib

    assert hashlib.sha256(out.read_bytes()).hexdigest() == good["sha256"]
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "Công nhận ông Nguyễn Văn Hùng" in text
    assert "Signature is Valid" in subprocess.run(["pdfsig", str(out)], capture_output=True,
                                                  text=True).stdout
    verified = json.loads(sohoa(env, "verify", out, "--json").stdout)
    assert verified["valid"] is True and verified["trusted"] is True

    tampered = tmp_path / "tampered.pdf"
    data = bytearray(out.read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered.write_bytes(bytes(data))
    assert sohoa(env, "verify", tampered, check=False).returncode == 1

    shown = json.loads(sohoa(env, "show", good["document_id"], "--json").stdout)
    assert shown["state"] == "stored" and shown["unit_code"] == "00004"
    listed = [json.loads(line) for line in sohoa(env, "list", "--json").stdout.splitlines()]
    assert {r["state"] for r in listed} == {"stored", "failed"}
    assert set(listed[0]) >= {"document_id", "file", "state", "unit_code", "document_type",
                              "sha256", "dossier_code", "created_at", "updated_at", "stored_at"}
    stored = next(r for r in listed if r["state"] == "stored")
    assert stored["dossier_code"] == "000.00.04.H26-210105-0001"
    assert stored["stored_at"].endswith("+00:00") and stored["created_at"] <= stored["stored_at"]
    only_failed = sohoa(env, "list", "--state", "failed", "--json").stdout.splitlines()
    assert len(only_failed) == 1
    assert "00004" in sohoa(env, "progress").stdout


def test_export_unknown_document(env):
    run = sohoa(env, "export", "nope", "x.pdf", check=False)
    assert run.returncode == 2 and "no document" in run.stderr


def test_bad_settings_stop_any_command_with_one_line_each(env):
    bad = {**env, "SOHOA_MAX_ATTEMPTS": "many", "SOHOA_LOG_FORMAT": "xml"}
    run = sohoa(bad, "list", check=False)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("SOHOA_MAX_ATTEMPTS='many': ")
    assert lines[1].startswith("SOHOA_LOG_FORMAT='xml': ")
    run = sohoa({**env, "SOHOA_LEASE_SECONDS": "soon",
                 "SOHOA_BROKER_URL": "redis://127.0.0.1:1/0"}, "worker", check=False)
    assert run.returncode == 2 and "SOHOA_LEASE_SECONDS='soon'" in run.stderr


def _stored_original(env, tmp_path) -> tuple[str, Path]:
    """A document whose pdf_key points at its stored original (no OCR needed), and the
    object's file in the local store."""
    import sqlite3

    from tests.ocr.hostile import png_bytes

    scan = tmp_path / "hong.png"
    scan.write_bytes(png_bytes()[:300])  # fails fast in OCR; the original stays stored
    (record,) = [json.loads(line) for line in sohoa(env, "digitize", scan, "--unit", "00004",
                                                    "--json", check=False).stdout.splitlines()]
    home = Path(env["SOHOA_HOME"])
    with sqlite3.connect(home / "catalog.sqlite3") as db:
        (key,) = db.execute("select original_key from documents where id = ?",
                            (record["document_id"],)).fetchone()
        db.execute("update documents set pdf_key = original_key where id = ?",
                   (record["document_id"],))
    return record["document_id"], home / "objects" / key


def test_failed_export_is_one_line_and_leaves_no_part_file(env, tmp_path):
    doc_id, stored = _stored_original(env, tmp_path)
    stored.write_bytes(stored.read_bytes() + b"tampered")  # no longer matches its checksum
    out = tmp_path / "ra.pdf"
    run = sohoa(env, "export", doc_id, out, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    warning, line = run.stderr.strip().splitlines()  # unsigned warning, then the error
    assert line.startswith(f"document {doc_id}: its stored PDF (quarantine/"), line
    assert "does not match" in line
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ra.pdf")) == []

    stored.unlink()
    missing = sohoa(env, "export", doc_id, out, check=False)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 2
    unwritable = sohoa(env, "export", doc_id, tmp_path / "no" / "such" / "dir.pdf", check=False)
    assert unwritable.returncode == 1 and "Traceback" not in unwritable.stderr


def test_unhandled_errors_are_one_line_unless_debug(env):
    broken = {**env, "SOHOA_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}
    run = sohoa(broken, "list", check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("sohoa: error: ") and "Connection refused" in line
    assert line.endswith("(run `sohoa --debug …` for the traceback)")
    debug = sohoa(broken, "--debug", "list", check=False)
    assert debug.returncode == 1 and "Traceback" in debug.stderr
