"""`sohoa signatures refresh/status` on a real catalog and object store (embedded default)."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from signing.archive import inspect_pdf
from signing.dev_pki import ensure_dev_pki
from signing.pki_services import PKIServices
from signing.verify import verify_pdf
from tests.signing.helpers import UNIT_CODE, UNIT_NAME, add_stored_document, make_pdf

FAR = 20 * 365  # days: beyond the TEST TSA certificate's 5 years, so every document is due


@pytest.fixture
def lta_runtime(sohoa_home, monkeypatch):
    keys = sohoa_home / "keys"
    keys.mkdir(parents=True)
    with PKIServices(keys) as svc:
        ensure_dev_pki(keys, services_url=svc.url)
        monkeypatch.setenv("SOHOA_SIGNATURE_LEVEL", "B-LTA")
        monkeypatch.setenv("SOHOA_TSA_URL", svc.tsa_url)
        from sohoa.runtime import get_runtime

        rt = get_runtime()
        assert rt.signers.level == "B-LTA"
        yield rt


def _stored_document(rt, n: int) -> str:
    """A stored document whose signed PDF is a B-LTA signature by the TEST unit key."""
    signed = rt.signers.for_unit(UNIT_CODE, UNIT_NAME).sign(
        make_pdf(f"KET QUA {n}"), reason="r", signer_name=UNIT_NAME)
    return add_stored_document(rt, n, signed)[0]


def _doc(rt, doc_id):
    from storage.catalog import Document

    with rt.session() as session:
        d = session.get(Document, doc_id)
        return d.signed_key, d.signed_sha256


def test_refresh_adds_document_timestamp_as_new_object(lta_runtime):
    from pipeline.signatures import refresh_documents
    from storage.catalog import AuditEvent

    rt = lta_runtime
    ids = [_stored_document(rt, n) for n in (1, 2)]
    before = {i: _doc(rt, i) for i in ids}

    counts = refresh_documents(rt, before_days=30)  # TSA cert valid for 5 years: nothing due
    assert counts["refreshed"] == 0 and counts["skipped"] == 2
    assert counts["checked"] == 2

    dry = refresh_documents(rt, before_days=FAR, dry_run=True)
    assert dry["due"] == 2 and dry["refreshed"] == 0
    assert {i: _doc(rt, i) for i in ids} == before

    counts = refresh_documents(rt, before_days=FAR)
    assert counts["refreshed"] == 2 and counts["failed"] == 0
    for doc_id in ids:
        old_key, old_sha = before[doc_id]
        new_key, new_sha = _doc(rt, doc_id)
        assert new_key != old_key and new_sha != old_sha
        old = rt.objects.get_bytes(old_key)  # the previous signed object is still there
        new = rt.objects.get_bytes(new_key)
        assert hashlib.sha256(new).hexdigest() == new_sha
        assert new.startswith(old)
        state = inspect_pdf(new)
        assert state.level == "B-LTA"
        assert [t.field_name for t in state.timestamps] == [
            "Signature1", "ArchiveTimestamp1", "ArchiveTimestamp2"]
        report = verify_pdf(new, rt.signers.trust_roots())
        assert report.valid, report.problems
    with rt.session() as session:
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "archive_timestamp_added")).all()
        assert {e.document_id for e in events} == set(ids)
        assert all(e.detail["previous_key"] == before[e.document_id][0] for e in events)


def test_refresh_and_status_commands(lta_runtime):
    from sohoa.commands.signatures import register
    from tests.support.cli import part_app

    app = part_app(register)
    doc_id = _stored_document(lta_runtime, 7)
    runner = CliRunner()
    res = runner.invoke(app, ["signatures", "status", "--json"])
    assert res.exit_code == 0, res.output
    status = json.loads(res.stdout.strip().splitlines()[-1])
    assert status["levels"] == {"B-LTA": 1} and status["soonest_document"] == doc_id
    res = runner.invoke(app, ["signatures", "refresh", "--before", str(FAR), "--dry-run",
                              "--json"])
    assert res.exit_code == 0, res.output
    line = json.loads([x for x in res.stdout.splitlines() if x.startswith("{")][0])
    assert line["document_id"] == doc_id and line["status"] == "due"
    res = runner.invoke(app, ["signatures", "refresh", "--before", str(FAR)])
    assert res.exit_code == 0, res.output
    assert "new archival timestamp" in res.stdout


def test_refresh_without_tsa_is_refused(sohoa_home, monkeypatch):
    from pipeline.signatures import RefreshRefused, refresh_documents
    from sohoa.runtime import get_runtime

    monkeypatch.delenv("SOHOA_TSA_URL", raising=False)
    monkeypatch.setenv("SOHOA_SIGNATURE_LEVEL", "B-B")

    with pytest.raises(RefreshRefused, match="SOHOA_TSA_URL"):
        refresh_documents(get_runtime(), before_days=10)
