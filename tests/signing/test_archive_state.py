"""The archive state the catalog keeps per signed document (``documents.signature_level`` and
``archive_expires_at``): recorded when the pipeline stores a PDF and when ``signatures refresh``
extends one, so ``signatures status``/``refresh`` read no PDF whose state is known, and read an
older one (state NULL) once, writing back what they find. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from signing.archive import inspect_pdf
from signing.dev_pki import ensure_dev_pki
from signing.pki_services import PKIServices
from tests.pipeline.conftest import render_decision
from tests.signing.helpers import UNIT_CODE, UNIT_NAME, add_stored_document, make_pdf
from tests.storage.conftest import catalog_backend, pg_database  # noqa: F401 - fixtures

FAR = 20 * 365  # days: beyond the TEST TSA certificate's 5 years, so every document is due


@pytest.fixture
def lta_rt(sohoa_home, catalog_backend, monkeypatch):  # noqa: F811
    """A B-LTA runtime (TEST PKI and TSA) on each catalog backend, emptied of documents."""
    from sqlalchemy import text

    import sohoa.runtime
    from sohoa.settings import get_settings
    from storage import db

    with db.session_scope(catalog_backend) as session:
        for table in ("pages", "reviews", "documents", "results", "audit_events"):
            session.execute(text(f"DELETE FROM {table}"))
    keys = sohoa_home / "keys"
    keys.mkdir(parents=True)
    with PKIServices(keys) as svc:
        ensure_dev_pki(keys, services_url=svc.url)
        monkeypatch.setenv("SOHOA_DATABASE_URL", catalog_backend)
        monkeypatch.setenv("SOHOA_SIGNATURE_LEVEL", "B-LTA")
        monkeypatch.setenv("SOHOA_TSA_URL", svc.tsa_url)
        get_settings.cache_clear()
        monkeypatch.setattr(sohoa.runtime, "_runtime", None)
        rt = sohoa.runtime.get_runtime()
        assert rt.database_url == catalog_backend and rt.signers.level == "B-LTA"
        yield rt


class Reads:
    """Every key read from the runtime's object store (``get_bytes`` and ``open``)."""

    def __init__(self, rt, monkeypatch):
        self.keys: list[str] = []
        store = rt.objects
        for name in ("get_bytes", "open"):
            monkeypatch.setattr(store, name, self._counting(getattr(store, name)))

    def _counting(self, read):
        def wrapper(key):
            self.keys.append(key)
            return read(key)

        return wrapper

    def take(self) -> set[str]:
        keys, self.keys = set(self.keys), []
        return keys


def _state(rt, doc_id):
    from storage.catalog import Document

    with rt.session() as session:
        d = session.get(Document, doc_id)
        expires = d.archive_expires_at
        if expires is not None:  # SQLite returns UTC without an offset
            expires = (expires.replace(tzinfo=dt.UTC) if expires.tzinfo is None
                       else expires.astimezone(dt.UTC))
        return d.signature_level, expires, d.signed_key


def _lta_pdf(rt, n: int) -> bytes:
    return rt.signers.for_unit(UNIT_CODE, UNIT_NAME).sign(
        make_pdf(f"KET QUA {n}"), reason="r", signer_name=UNIT_NAME)


def test_pipeline_records_state_and_commands_read_no_pdf(lta_rt, tmp_path, monkeypatch):
    from pipeline.inline import digitize
    from pipeline.signatures import archive_status, refresh_documents

    rt = lta_rt
    [record] = digitize(rt, [render_decision(tmp_path / "qd.png")], unit_code=UNIT_CODE)
    assert record["status"] == "stored", record
    doc_id = record["document_id"]
    level, expires, key = _state(rt, doc_id)
    pdf_state = inspect_pdf(rt.objects.get_bytes(key))
    assert level == pdf_state.level == "B-LTA"
    assert expires == pdf_state.expires_at and expires is not None

    reads = Reads(rt, monkeypatch)
    status = archive_status(rt)
    assert status["levels"] == {"B-LTA": 1}
    assert status["soonest_document"] == doc_id and status["soonest_expiry"] == expires
    assert reads.take() == set()

    counts = refresh_documents(rt, before_days=30)  # TSA cert valid for 5 years: not due
    assert counts == {"checked": 1, "refreshed": 0, "due": 0, "skipped": 1, "failed": 0}
    dry = refresh_documents(rt, before_days=FAR, dry_run=True)
    assert dry["due"] == 1 and dry["refreshed"] == 0
    assert reads.take() == set()  # known from the catalog

    counts = refresh_documents(rt, before_days=FAR)
    assert counts["refreshed"] == 1 and counts["failed"] == 0
    assert reads.take() == {key}  # only the PDF being extended
    new_level, new_expires, new_key = _state(rt, doc_id)
    new_state = inspect_pdf(rt.objects.get_bytes(new_key))
    assert new_key != key and len(new_state.timestamps) == len(pdf_state.timestamps) + 1
    assert (new_level, new_expires) == ("B-LTA", new_state.expires_at)
    reads.take()
    assert archive_status(rt)["soonest_expiry"] == new_expires
    assert reads.take() == set()


def test_older_rows_are_read_once_and_backfilled(lta_rt, monkeypatch):
    from pipeline.signatures import archive_status, refresh_documents

    rt = lta_rt
    lta = [add_stored_document(rt, n, _lta_pdf(rt, n)) for n in (1, 2)]
    unsigned = add_stored_document(rt, 3, make_pdf("KHONG KY"))
    missing = add_stored_document(rt, 4, None)
    assert all(_state(rt, d)[:2] == (None, None) for d, _ in lta + [unsigned, missing])

    reads = Reads(rt, monkeypatch)
    status = archive_status(rt)
    assert status["levels"] == {"B-LTA": 2, "unsigned": 1, "unreadable": 1}
    assert reads.take() == {k for _, k in lta + [unsigned, missing]}
    expiries = {}
    for doc_id, key in lta:
        level, expires, _ = _state(rt, doc_id)
        expiries[doc_id] = expires
        assert (level, expires) == ("B-LTA", inspect_pdf(rt.objects.get_bytes(key)).expires_at)
    assert _state(rt, unsigned[0])[:2] == ("unsigned", None)
    assert _state(rt, missing[0])[:2] == (None, None)  # tried again next time
    soonest = min(expiries.items(), key=lambda kv: (kv[1], kv[0]))
    assert (status["soonest_expiry"], status["soonest_document"]) == (soonest[1], soonest[0])
    reads.take()

    again = archive_status(rt)
    assert again == status
    assert reads.take() == {missing[1]}  # each readable PDF was read once

    counts = refresh_documents(rt, before_days=30)
    assert counts == {"checked": 4, "refreshed": 0, "due": 0, "skipped": 3, "failed": 1}
    assert reads.take() == {missing[1]}

    # refresh backfills too, in a dry run as well: a row stored before the state was kept
    late = add_stored_document(rt, 5, _lta_pdf(rt, 5))
    reads.take()
    dry = refresh_documents(rt, before_days=30, dry_run=True)
    assert dry == {"checked": 5, "refreshed": 0, "due": 0, "skipped": 4, "failed": 1}
    assert reads.take() == {late[1], missing[1]}
    assert _state(rt, late[0])[0] == "B-LTA"
    dry = refresh_documents(rt, before_days=FAR, dry_run=True)
    assert dry["due"] == 3 and dry["failed"] == 1
    assert reads.take() == {missing[1]}


def test_backfill_leaves_a_document_that_changed_meanwhile(lta_rt, monkeypatch):
    """What was read of an old PDF is written only while the row still points at it."""
    from pipeline.signatures import archive_status
    from storage.catalog import Document

    rt = lta_rt
    doc_id, key = add_stored_document(rt, 1, _lta_pdf(rt, 1))
    real_get = rt.objects.get_bytes

    def get_then_change(k):
        data = real_get(k)
        with rt.session() as session:  # e.g. a refresh elsewhere moved the row to a new PDF
            session.get(Document, doc_id).signed_sha256 = "0" * 64
        return data

    monkeypatch.setattr(rt.objects, "get_bytes", get_then_change)
    archive_status(rt)
    assert _state(rt, doc_id)[:2] == (None, None)
