"""Accepting scans: the same bytes are one document per unit, two documents for two units, and
each keeps its own objects (quarantining one never touches the other)."""

from __future__ import annotations

import hashlib

from pipeline.ingest import ingest_file
from pipeline.outputs import quarantine
from storage.catalog import Document
from storage.units import find_unit


def test_the_same_file_for_two_units_is_two_documents(runtime, decision_png):
    rt = runtime
    ward = ingest_file(rt, decision_png, unit_code="00004")
    again = ingest_file(rt, decision_png, unit_code="00004")
    other = ingest_file(rt, decision_png, unit_code="00037")
    assert not ward.duplicate and again.duplicate and again.document_id == ward.document_id
    assert not other.duplicate and other.document_id != ward.document_id
    assert ingest_file(rt, decision_png, unit_code="00037").document_id == other.document_id

    sha = hashlib.sha256(decision_png.read_bytes()).hexdigest()
    with rt.session() as s:
        a, b = s.get(Document, ward.document_id), s.get(Document, other.document_id)
        assert (a.unit.code, b.unit.code) == ("00004", "00037")
        assert a.source_sha256 == b.source_sha256 == sha
        assert a.original_key != b.original_key  # objects are keyed by document
        keys = a.original_key, b.original_key

    quarantine(rt, ward.document_id)  # e.g. unit 00004's copy failed for good
    with rt.session() as s:
        moved = s.get(Document, ward.document_id).original_key
        assert moved.startswith("quarantine/") and moved != keys[0]
        assert s.get(Document, other.document_id).original_key == keys[1]
    assert hashlib.sha256(rt.objects.get_bytes(keys[1])).hexdigest() == sha
    assert hashlib.sha256(rt.objects.get_bytes(moved)).hexdigest() == sha


def test_a_document_filed_under_an_older_version_of_its_unit_is_still_a_duplicate(
        runtime, decision_png):
    """The pipeline files a 2021 decision under 00004's 2021 version (Phường Trúc Bạch): the
    same file sent again for 00004 is that document, not a second one."""
    from datetime import date

    rt = runtime
    first = ingest_file(rt, decision_png, unit_code="00004")
    with rt.session() as s:
        doc = s.get(Document, first.document_id)
        doc.unit = find_unit(s, "00004", date(2021, 3, 1))
        assert doc.unit.name == "Phường Trúc Bạch"
    again = ingest_file(rt, decision_png, unit_code="00004")
    assert again.duplicate and again.document_id == first.document_id
