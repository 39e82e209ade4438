"""`sohoa records export … --package sip|dip OUT` and `sohoa records verify-package` on SQLite
and PostgreSQL: what the records manager sees (exit codes, which records were left out or
allowed, one line naming the problem), the audit trail, and a package OUT never half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bagit
import pytest
from sqlalchemy import select

from sohoa.commands.archive import register
from tests.archive.conftest import CIVIL, LETTER, filed_document, rt  # noqa: F401 - rt: fixture
from tests.quotas.conftest import catalog_url, postgres_url, runtime  # noqa: F401 - fixtures
from tests.support.cli import invoker, part_app

SOHOA = str(Path(sys.executable).with_name("sohoa"))


@pytest.fixture
def cli(rt):  # noqa: F811
    return invoker(part_app(register), "records", env={"COLUMNS": "200"})


def test_sip_export_writes_a_verified_package_and_an_audit_event(cli, rt, tmp_path):  # noqa: F811
    from storage.catalog import AuditEvent

    filed_document(rt, dossier="H26-0401")
    filed_document(rt, dossier="H26-0402", defaults=CIVIL)
    out = tmp_path / "sip"
    done = cli("export", "H26-0401", "H26-0402", out, "--package", "sip")
    assert "SIP written to" in done.output and "2 record(s), 2 document(s)" in done.output
    assert "2 signature(s) valid" in done.output
    bagit.Bag(str(out)).validate()
    with rt.session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "records.export.sip"))
        assert event.detail["documents"] == 2 and event.detail["verified"] is True
        assert event.actor.startswith("cli:")
    done = cli("verify-package", out)
    assert "valid" in done.output
    (out / "data/H26-0401/001/signed.pdf").write_bytes(b"%PDF-1.7 something else")
    done = cli("verify-package", out, code=1)
    assert "data/H26-0401/001/signed.pdf: sha256" in done.output and "NOT VALID" in done.output


def test_dip_names_every_restricted_record_before_writing(cli, rt, tmp_path):  # noqa: F811
    filed_document(rt, dossier="H26-0501", defaults=LETTER)
    filed_document(rt, dossier="H26-0502", defaults=CIVIL)
    filed_document(rt, dossier="H26-0503", defaults=CIVIL)
    out = tmp_path / "dip"
    done = cli("export", "H26-0501", "H26-0502", "H26-0503", out, "--package", "dip", code=2)
    assert "H26-0502, H26-0503" in done.output and "--allow-restricted" in done.output
    assert not out.exists()

    done = cli("export", "H26-0501", "H26-0502", "H26-0503", out, "--package", "dip",
               "--skip-restricted")
    assert "record H26-0502: 1 document(s) — LEFT OUT (conditional access)" in done.output
    assert "left out (conditional access): H26-0502, H26-0503" in done.output
    assert "personal data masked" in done.output
    assert sorted(p.name for p in (out / "data").iterdir()) == ["H26-0501"]

    allowed = tmp_path / "dip-allowed"
    done = cli("export", "H26-0502", allowed, "--package", "dip", "--allow-restricted")
    assert "included by --allow-restricted (conditional access): H26-0502" in done.output
    package = json.loads((allowed / "package.json").read_text())
    assert package["restricted_records_included"] == ["H26-0502"]


def test_bad_requests_exit_2_with_one_reason(cli, rt, tmp_path):  # noqa: F811
    filed_document(rt, dossier="H26-0601")
    assert "no record NOPE" in cli("export", "NOPE", tmp_path / "a", "--package", "sip",
                                   code=2).output
    assert "sip or dip" in cli("export", "H26-0601", tmp_path / "a", "--package", "aip",
                               code=2).output
    assert "for a DIP" in cli("export", "H26-0601", tmp_path / "a", "--package", "sip",
                              "--skip-restricted", code=2).output
    (tmp_path / "taken").mkdir()
    assert "already exists" in cli("export", "H26-0601", tmp_path / "taken", "--package", "sip",
                                   code=2).output
    assert "--all" in cli("export", tmp_path / "a", "--package", "sip", code=2).output
    assert not (tmp_path / "a").exists()


def test_a_broken_object_fails_with_one_line_and_leaves_nothing(cli, rt, tmp_path):  # noqa: F811
    from storage.catalog import Document

    doc_id = filed_document(rt, dossier="H26-0701")
    with rt.session() as s:
        rt.objects.delete(s.get(Document, doc_id).signed_key)
    out = tmp_path / "sip"
    done = cli("export", "H26-0701", out, "--package", "sip", code=1)
    assert "nothing written" in done.output and "H26-0701.001" in done.output
    assert "missing from the object store" in done.output
    assert not out.exists() and not list(tmp_path.glob(".sip.*"))


def test_the_sohoa_command_exports_every_record(rt, tmp_path):  # noqa: F811
    """The installed `sohoa` command, in its own process, with --all."""
    filed_document(rt, dossier="H26-0801")
    filed_document(rt, dossier="H26-0802")
    env = {**os.environ, "SOHOA_HOME": os.environ["SOHOA_HOME"],
           "SOHOA_DATABASE_URL": rt.database_url}
    out = tmp_path / "all"
    done = subprocess.run([SOHOA, "records", "export", "--all", str(out), "--package", "sip",
                           "--jobs", "1"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 record(s), 2 document(s)" in done.stdout
    bagit.Bag(str(out)).validate()


def test_a_package_that_does_not_verify_is_not_left_at_out(cli, rt, tmp_path):  # noqa: F811
    """A stored 'signed' PDF whose signature is no longer there (its catalog sha256 matching
    it, so only the signature check can tell): exit 1, the problem named, nothing at OUT."""
    import hashlib

    from storage.catalog import Document
    from tests.signing.helpers import make_pdf

    doc_id = filed_document(rt, dossier="H26-0901")
    unsigned = make_pdf("KHONG CO CHU KY")
    with rt.session() as s:
        doc = s.get(Document, doc_id)
        doc.signed_sha256 = hashlib.sha256(unsigned).hexdigest()
        doc.signed_key = f"signed/{doc.signed_sha256}.pdf"
        rt.objects.put_bytes(doc.signed_key, unsigned, "application/pdf")
    out = tmp_path / "sip"
    done = cli("export", "H26-0901", out, "--package", "sip", "--jobs", "1", code=1)
    assert "problem: data/H26-0901/001/signed.pdf: the PDF has no signature" in done.output
    assert "did not verify" in done.output and "nothing written" in done.output
    assert not out.exists() and not list(tmp_path.glob(".sip.*"))
