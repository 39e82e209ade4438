"""The restore drill: back up an installation, restore it into an EMPTY catalog and object store,
then `fsck` is clean and the API serves the same bytes for every result — on the embedded default
(SQLite + folder, through the `sohoa` command) and on PostgreSQL + SeaweedFS S3 with 1,000
documents, the objects copied to a second bucket."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.signing.helpers import make_pdf
from tests.storage.conftest import pg_database, seaweed  # noqa: F401 - fixtures

SOHOA = str(Path(sys.executable).with_name("sohoa"))


def _runtime(home: Path, **options):
    from sohoa.runtime import Runtime
    from sohoa.settings import Settings

    return Runtime(Settings(home=home, **options))


def _populate(rt, count: int) -> dict[str, bytes]:
    """`count` stored documents, each with its original and a signed PDF; {result id: pdf}."""
    from storage.catalog import Document, Result
    from storage.units import find_unit

    served: dict[str, bytes] = {}
    variants: list[bytes] = []  # signing is the slow part: at most 20 distinct signed PDFs
    t0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    with rt.session() as session:
        unit = find_unit(session, "00004", date(2025, 1, 2))
        signer = rt.signers.for_unit(unit.code, unit.name)
        pending = []
        for n in range(count):
            original = make_pdf(f"BAN GOC {n}")
            if len(variants) < 20:
                variants.append(signer.sign(make_pdf(f"KET QUA {n}"), reason="Bản sao điện tử",
                                            signer_name=unit.name))
            signed = variants[n % len(variants)]
            prefix = f"drill/{uuid.uuid4().hex}"
            rt.objects.put_bytes(f"{prefix}/original.pdf", original, "application/pdf")
            rt.objects.put_bytes(f"{prefix}/signed.pdf", signed, "application/pdf")
            result = Result(dossier_code=f"H01.{n:05d}", procedure_code="1.001193", unit=unit,
                            document_number=f"{n + 1}/QĐ-UBND", document_type="quyet_dinh",
                            issued_on=date(2025, 1, 2), created_at=t0 + timedelta(seconds=n))
            session.add(Document(
                state="stored", source_name=f"scan-{n}.pdf", unit=unit, result=result,
                source_sha256=hashlib.sha256(original).hexdigest(), source_size=len(original),
                original_key=f"{prefix}/original.pdf", signed_key=f"{prefix}/signed.pdf",
                signed_sha256=hashlib.sha256(signed).hexdigest(), procedure_code="1.001193",
                dossier_code=result.dossier_code, page_count=1,
                stored_at=t0 + timedelta(seconds=n)))
            pending.append((result, signed))
            if len(pending) == 100:
                session.flush()
        session.flush()
        served.update((result.id, signed) for result, signed in pending)
    return served


def _fsck_clean(rt) -> None:
    from storage.fsck import run_fsck

    report = run_fsck(rt.database_url, rt.objects)
    assert report.ok, [p.describe() for p in report.problems[:5]]
    assert report.documents > 0


def _api_serves(rt, served: dict[str, bytes]) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.keys import create_client

    with rt.session() as session:
        key = create_client(session, f"drill-{uuid.uuid4().hex[:6]}", ["read:documents"], None)
    app = create_app(runtime=rt, audit_batched=False, auth_cache_seconds=0)
    with TestClient(app) as http:
        for result_id, pdf in served.items():
            answer = http.get(f"/v1/results/{result_id}/pdf",
                              headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 200, answer.text
            assert answer.content == pdf
    app.state.dispatcher.close()


def _sohoa(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run([SOHOA, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


def _batch_journal(rt) -> str:
    """A batch in the catalog's journal: one file stored, one refused before any document
    existed (recorded nowhere else); the stored one's document id."""
    from batch.journal import Journal
    from storage.catalog import Document

    with rt.session() as session:
        doc_id = session.scalars(select(Document.id).limit(1)).one()
    journal = Journal(rt)
    journal.open_batch("import-drill", "import", "/mnt/hop-2019", {"unit": "00004"})
    journal.add_items("import-drill", ["a.pdf", "la.pdf"])
    journal.set_item("import-drill", 0, status="stored", document_id=doc_id)
    journal.set_item("import-drill", 1, status="refused", reason="đơn vị 99999 không có")
    return doc_id


def test_restore_drill_embedded_through_the_command(tmp_path):
    source = _runtime(tmp_path / "site")
    served = _populate(source, 25)
    doc_id = _batch_journal(source)
    backup_dir = tmp_path / "backup"
    done = _sohoa({"SOHOA_HOME": str(tmp_path / "site")}, "backup", str(backup_dir))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["objects"] == 50 and summary["objects_copied"] == 50
    # a second backup into the same folder copies nothing new
    again = json.loads(_sohoa({"SOHOA_HOME": str(tmp_path / "site")}, "backup",
                              str(backup_dir)).stdout)
    assert again["objects_copied"] == 0

    env = {"SOHOA_HOME": str(tmp_path / "restored")}
    done = _sohoa(env, "restore", str(backup_dir))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["objects"] == 50
    done = _sohoa(env, "fsck")
    assert done.returncode == 0, done.stdout + done.stderr
    _api_serves(_runtime(tmp_path / "restored"), served)
    # the batch journal came back with the catalog, the refused file's reason included
    report = _sohoa(env, "batch", "report", "import-drill", "--json")
    assert report.returncode == 0, report.stderr
    items = json.loads(report.stdout)["items"]
    assert [(i["name"], i["status"], i["document_id"]) for i in items] == [
        ("a.pdf", "stored", doc_id), ("la.pdf", "refused", None)]
    assert items[1]["reason"] == "đơn vị 99999 không có"

    # restoring over a catalog that has data is refused, and nothing is touched
    refused = _sohoa(env, "restore", str(backup_dir))
    assert refused.returncode == 1 and "not empty" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_damaged_backup_is_refused(tmp_path):
    from sohoa.backup import BackupError, make_backup, restore_backup

    source = _runtime(tmp_path / "site")
    _populate(source, 2)
    make_backup(str(tmp_path / "b"), runtime=source)
    dump = tmp_path / "b" / "catalog.sqlite3"
    dump.write_bytes(dump.read_bytes()[:-10])
    with pytest.raises(BackupError, match="checksum"):
        restore_backup(str(tmp_path / "b"), runtime=_runtime(tmp_path / "empty"))


def test_restore_drill_postgres_s3_thousand_documents(tmp_path, pg_database, seaweed):  # noqa: F811
    from storage import db

    source = _runtime(tmp_path / "site", database_url=pg_database("drill_src"),
                      storage_url=seaweed.bucket_url(f"drill-src-{uuid.uuid4().hex[:8]}"))
    served = _populate(source, 1000)
    second_bucket = seaweed.bucket_url(f"drill-copy-{uuid.uuid4().hex[:8]}")
    from sohoa.backup import make_backup, restore_backup

    summary = make_backup(str(tmp_path / "backup"), objects_url=second_bucket, runtime=source)
    assert summary["catalog"] == "postgresql" and summary["objects"] == 2000

    target = _runtime(tmp_path / "restored", database_url=pg_database("drill_dst"),
                      storage_url=seaweed.bucket_url(f"drill-dst-{uuid.uuid4().hex[:8]}"))
    restored = restore_backup(str(tmp_path / "backup"), objects_url=second_bucket, runtime=target)
    assert restored["objects"] == 2000
    assert db.current_revision(target.settings.catalog_url) == summary["revision"]
    _fsck_clean(target)
    _api_serves(target, served)
