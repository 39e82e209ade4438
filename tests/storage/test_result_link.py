"""One result however it arrives (storage/result_link.py), on SQLite and PostgreSQL.

The hand count from issue #16: a ward (Phường Phúc Xá, 00001) imports its one-stop export of 15
results issued in 2024 and digitizes two of them. Before linking it reported 2/17 = 11.76%
(each scan created a second, digitized twin); the right figure is 2/15 = 13.33%. A re-scan of
one of them under another dossier code must not inflate it either.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import func, select

from pipeline import states
from pipeline.outputs import store_verified
from pipeline.stages import sign_stage
from quotas.plans import get_plan
from quotas.progress import build_report
from storage.catalog import AuditEvent, Document, Result
from storage.result_link import ResultKey, match_reason, normalize_issuer, normalize_number
from storage.units import find_unit

# the quotas suite's catalog on SQLite and PostgreSQL (fixtures, used by name)
from tests.quotas.conftest import catalog_url, postgres_url, runtime, utc  # noqa: F401

SOHOA = Path(sys.executable).with_name("sohoa")
WARD, ISSUER = "00001", "UBND phường Phúc Xá"


def export_csv(path: Path, count: int = 15) -> Path:
    """The ward's one-stop export: dossier H24-00k, number k/QĐ-UBND, issued 1 March 2024 + k."""
    lines = ["ma_ho_so;ma_thu_tuc;ma_don_vi;so_ket_qua;ngay_ban_hanh;co_quan_ban_hanh"]
    lines += [f"H24-{k:03d};1.001193;{WARD};{k}/QĐ-UBND;{k:02d}/03/2024;{ISSUER}"
              for k in range(1, count + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sohoa(rt, *args, code=0) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOHOA_DATABASE_URL": rt.database_url,
           "SOHOA_HOME": str(rt.settings.home), "COLUMNS": "120"}
    done = subprocess.run([str(SOHOA), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == code, done.stderr
    return done


@dataclass
class Ran:
    stdout: str
    stderr: str


def sohoa_in_process(rt, *args, code=0) -> Ran:
    """The same command through the sohoa app in this process (quicker than a new process)."""
    from typer.testing import CliRunner

    from sohoa.cli import _register_parts, app

    if not any(c.name == "progress" for c in app.registered_commands):
        _register_parts()
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return Ran(result.stdout, result.stderr)


def tiny_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def scan(rt, *, dossier: str | None, number: str | None, issued: str | None,
         issuer: str | None = ISSUER, sign: bool = True) -> str:
    """A document classified from a scan of the ward's result, then run through the real sign
    stage (TEST key), which is where a scan becomes a result."""
    import hashlib
    import uuid

    with rt.session() as s:
        unit = find_unit(s, WARD, on=date(2024, 6, 1))
        digest = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
        doc = Document(state=states.CLASSIFIED, source_name=f"{digest[:8]}.pdf",
                       source_sha256=digest, source_size=1, unit_id=unit.id,
                       procedure_code="1.001193", dossier_code=dossier,
                       document_type="quyet_dinh",
                       fields={"number": number, "issued_on": issued, "issuer": issuer})
        s.add(doc)
        s.flush()
        doc_id = doc.id
        prefix = f"01/{WARD}/2024/{doc_id}"
    key, sha = store_verified(rt.objects, prefix, "searchable.pdf", tiny_pdf(), "application/pdf")
    with rt.session() as s:
        doc = s.get(Document, doc_id)
        doc.pdf_key, doc.pdf_sha256 = key, sha
    if sign:
        sign_stage(rt, doc_id)
        with rt.session() as s:  # as if it had been scanned in June 2024
            s.get(Document, doc_id).stored_at = utc(2024, 6, 1)
    return doc_id


def ward_2024(rt):
    with rt.session() as s:
        report = build_report(s, get_plan(None), year=2024, unit=WARD)
    (row,) = report.units
    return row.valid_results, row.digitized, row.percent


def result_count(rt) -> int:
    with rt.session() as s:
        return s.scalar(select(func.count()).select_from(Result))


def test_normalized_keys_match_the_same_act_only():
    assert normalize_number(" 12 / QĐ-UBND ") == "12/QD-UBND" == normalize_number("12/qd-ubnd")
    assert normalize_issuer("UBND  Phường Phúc Xá") == normalize_issuer("ubnd phuong phuc xa")
    a = ResultKey("H1", "12/QĐ-UBND", ISSUER, date(2024, 3, 1), 7)
    assert match_reason(a, ResultKey("H1", None, None, None, 7)) == "dossier"
    assert match_reason(a, ResultKey("H1", "13/QĐ-UBND", ISSUER, date(2024, 3, 1), 7)) is None
    assert match_reason(a, ResultKey("H9", "12/QD-UBND", "UBND PHƯỜNG PHÚC XÁ",
                                     date(2024, 3, 1), 8)) == "number"
    # same number and day from another body is another act
    assert match_reason(a, ResultKey("H9", "12/QĐ-UBND", "UBND phường Trúc Bạch",
                                     date(2024, 3, 1), 7)) is None
    assert match_reason(a, ResultKey(None, "12/QĐ-UBND", None, date(2024, 3, 1), 7)) == "number"
    assert match_reason(a, ResultKey(None, "12/QĐ-UBND", None, date(2024, 3, 1), 9)) is None
    assert match_reason(a, ResultKey(None, "12/QĐ-UBND", ISSUER, date(2024, 3, 2), 7)) is None


def test_import_then_scan_links_instead_of_duplicating(runtime, tmp_path):  # noqa: F811
    done = sohoa(runtime, "results", "import", export_csv(tmp_path / "export.csv"))
    assert "15 registered" in done.stderr
    assert ward_2024(runtime) == (15, 0, 0.0)
    by_dossier = scan(runtime, dossier="H24-003", number="3/QĐ-UBND", issued="2024-03-03")
    # no dossier code typed at the counter: number + issuer + issue date find it
    by_number = scan(runtime, dossier=None, number="7/QD-UBND", issued="2024-03-07",
                     issuer="UBND PHƯỜNG PHÚC XÁ")
    # a station re-scan of result 3 under another dossier code
    rescan = scan(runtime, dossier="H24-999", number="3/QĐ-UBND", issued="2024-03-03")
    assert result_count(runtime) == 15
    assert ward_2024(runtime) == (15, 2, 13.33)  # not 2/17 = 11.76%, not 3/16
    with runtime.session() as s:
        docs = {d.id: d for d in s.scalars(select(Document))}
        assert docs[by_dossier].result.dossier_code == "H24-003"
        assert docs[by_number].result.dossier_code == "H24-007"
        assert docs[rescan].result_id == docs[by_dossier].result_id
        # the registered values stay: the scan's spelling of the number does not replace them
        assert docs[by_number].result.document_number == "7/QĐ-UBND"
        assert all(d.state == states.STORED for d in docs.values())
        reasons = sorted(e.detail["by"] for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "result.linked")))
        assert reasons == ["dossier", "number", "number"]


def test_scan_of_an_unregistered_result_still_creates_one(runtime):  # noqa: F811
    scan(runtime, dossier="H24-500", number="500/QĐ-UBND", issued="2024-05-05")
    scan(runtime, dossier="H24-501", number="501/QĐ-UBND", issued="2024-05-05")
    assert result_count(runtime) == 2


def test_scan_then_import_links_the_digitized_documents(runtime, tmp_path):  # noqa: F811
    scan(runtime, dossier="H24-003", number="3/QĐ-UBND", issued="2024-03-03")
    scan(runtime, dossier=None, number="7/QĐ-UBND", issued="2024-03-07")
    scan(runtime, dossier="H24-999", number="3/QĐ-UBND", issued="2024-03-03")  # re-scan
    assert result_count(runtime) == 2  # the re-scan already joined the first
    done = sohoa_in_process(runtime, "results", "import", export_csv(tmp_path / "export.csv"))
    assert "13 registered, 2 updated, 3 digitized documents linked" in done.stderr
    assert result_count(runtime) == 15
    assert ward_2024(runtime) == (15, 2, 13.33)
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Result).where(Result.registered)) == 15
    # importing again changes nothing
    done = sohoa_in_process(runtime, "results", "import", export_csv(tmp_path / "export.csv"))
    assert "0 registered, 15 updated" in done.stderr
    assert ward_2024(runtime) == (15, 2, 13.33)


def _twin(s, unit, dossier: str, number: str, day: int, issuer: str) -> Result:
    """What the old sign stage left for a scan: its own result (issued in March 2024) and the
    stored document pointing at it."""
    twin = Result(unit_id=unit.id, dossier_code=dossier, document_number=number,
                  issued_on=date(2024, 3, day), issuer=issuer)
    s.add(twin)
    s.flush()
    s.add(Document(state=states.STORED, source_name=f"{dossier}.pdf", source_sha256=dossier * 8,
                   source_size=1, unit_id=unit.id, result_id=twin.id, dossier_code=dossier,
                   stored_at=utc(2024, 6, day), signed_key=f"k/{dossier}"))
    return twin


def test_reconcile_repairs_a_catalog_written_before_linking(runtime, tmp_path):  # noqa: F811
    """What the old sign stage left: imported results plus a twin per scan (and per re-scan)."""
    sohoa_in_process(runtime, "results", "import", export_csv(tmp_path / "export.csv"))
    with runtime.session() as s:
        unit = find_unit(s, WARD, on=date(2024, 6, 1))
        twins = []
        for dossier, number, day in (("H24-003", "3/QĐ-UBND", 3), ("H24-007", "7/QĐ-UBND", 7),
                                     ("H24-998", "7/QĐ-UBND", 7)):
            twins.append(_twin(s, unit, dossier, number, day, ISSUER).id)
        # and a stored document from before results were made at all
        s.add(Document(state=states.STORED, source_name="old.pdf", source_sha256="f" * 64,
                       source_size=1, unit_id=unit.id, dossier_code="H24-011",
                       stored_at=utc(2024, 7, 1), signed_key="k/old"))
    # 18 results, 3 digitized + 1 unlinked document counted as a result of its own
    assert ward_2024(runtime) == (19, 4, 21.05)

    dry = sohoa_in_process(runtime, "results", "reconcile", "--dry-run")
    assert "would merge 3 duplicate result(s) into 2, would link 1 document(s)" in dry.stderr
    assert ward_2024(runtime) == (19, 4, 21.05)

    done = sohoa(runtime, "results", "reconcile")
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert any("dossier H24-003" in line and "1 document(s) moved" in line for line in lines)
    assert any("dossier H24-998" in line and "dossier H24-007" in line
               and "2 document(s) moved" in line for line in lines)
    assert any(line.startswith("linked document") and "H24-011" in line for line in lines)
    assert "merged 3 duplicate result(s) into 2, linked 1 document(s)" in done.stderr
    assert result_count(runtime) == 15
    assert ward_2024(runtime) == (15, 3, 20.0)  # results 3, 7 and 11 digitized

    again = sohoa_in_process(runtime, "results", "reconcile")
    assert again.stdout == ""
    assert "merged 0 duplicate result(s) into 0, linked 0 document(s)" in again.stderr
    with runtime.session() as s:
        from quotas.facts import facts_mismatches

        assert facts_mismatches(s) == []


@pytest.fixture(autouse=True)
def _no_stray_part_files(tmp_path):
    yield
    assert not list(tmp_path.rglob("*.part"))


def test_migration_marks_imported_results_registered(runtime, catalog_url):  # noqa: F811
    """0016: a result without any document can only have come from an import; one with a scan
    is left unregistered (its import, if any, will register it)."""
    from sqlalchemy import inspect, text

    from storage import db

    with runtime.session() as s:
        unit = find_unit(s, WARD, on=date(2024, 6, 1))
        imported = Result(unit_id=unit.id, dossier_code="M-1", registered=False)
        scanned = Result(unit_id=unit.id, dossier_code="M-2", registered=False)
        s.add_all([imported, scanned])
        s.flush()
        s.add(Document(state=states.STORED, source_name="m.pdf", source_sha256="e" * 64,
                       source_size=1, unit_id=unit.id, result_id=scanned.id,
                       stored_at=utc(2024, 6, 1), signed_key="k/m"))
        ids = imported.id, scanned.id
    try:
        db.downgrade(catalog_url, "0016_result_registered@-1")
        db.get_engine(catalog_url).dispose()
        columns = {c["name"] for c in inspect(db.get_engine(catalog_url)).get_columns("results")}
        assert "registered" not in columns
    finally:
        db.upgrade(catalog_url)
        db.get_engine(catalog_url).dispose()
    with db.session_scope(catalog_url) as s:
        flags = dict(s.execute(text("SELECT id, registered FROM results")).all())
    assert (bool(flags[ids[0]]), bool(flags[ids[1]])) == (True, False)


def test_import_merges_scan_twins_left_by_older_code(runtime, tmp_path):  # noqa: F811
    """Before linking, a scan and its re-scan under another dossier code made two results; the
    import that registers the act folds both into one registered result."""
    from quotas.imports import import_results

    with runtime.session() as s:
        unit = find_unit(s, WARD, on=date(2024, 6, 1))
        for dossier in ("H24-005", "H24-777"):
            _twin(s, unit, dossier, "5/QĐ-UBND", 5, ISSUER)
    with runtime.session() as s:
        summary = import_results(s, export_csv(tmp_path / "export.csv"))
    assert (summary.created, summary.updated, summary.linked_documents) == (14, 1, 2)
    assert result_count(runtime) == 15
    assert ward_2024(runtime) == (15, 1, 6.67)
    with runtime.session() as s:
        (kept,) = s.scalars(select(Result).where(Result.document_number == "5/QĐ-UBND")).all()
        assert kept.dossier_code == "H24-005" and kept.registered
        assert len(s.scalars(select(Document).where(Document.result_id == kept.id)).all()) == 2
        merged = s.scalars(select(AuditEvent).where(AuditEvent.action == "result.merged")).all()
        assert [(e.actor, e.detail["by"]) for e in merged] == [("import", "number")]


def test_numbers_written_differently_are_one_result(runtime, tmp_path):  # noqa: F811
    """Issue #16: "12/QĐ" vs "12/QD", "12/QĐ-UBND" vs "12/QD - UBND" (and en dash, lower case,
    decomposed Unicode, a "Số:" label) are one number: reconcile merges such twins, a scan links
    to the result, the counter's duplicate check finds it. Hand count for the ward in 2024: 15
    imported + 1 registered "20/QĐ" = 16 results; 4 twins with stored copies make 20 before,
    16 after (4 digitized, 25%)."""
    import unicodedata

    from storage.duplicates import stored_elsewhere

    sohoa_in_process(runtime, "results", "import", export_csv(tmp_path / "export.csv"))
    with runtime.session() as s:
        unit = find_unit(s, WARD, on=date(2024, 6, 1))
        s.add(Result(unit_id=unit.id, dossier_code="H24-020", document_number="20/QĐ",
                     issued_on=date(2024, 3, 20), issuer=ISSUER, registered=True))
        for dossier, number, day, issuer in (
                ("H24-903", "3/QD - UBND", 3, "UBND PHUONG PHUC XA"),
                ("H24-905", "5/qđ–ubnd", 5, ISSUER),
                ("H24-906", unicodedata.normalize("NFD", "Số: 6/QĐ-UBND"), 6, ISSUER),
                ("H24-920", "20/QD", 20, ISSUER)):
            _twin(s, unit, dossier, number, day, issuer)
    assert ward_2024(runtime) == (20, 4, 20.0)
    with runtime.session() as s:  # the key is kept on every write, also on an ORM update
        twin = s.scalars(select(Result).where(Result.dossier_code == "H24-920")).one()
        assert twin.number_key == "20/QD"
        twin.document_number = "20 / QĐ"
    with runtime.session() as s:
        keys = dict(s.execute(select(Result.dossier_code, Result.number_key)).all())
        assert keys["H24-920"] == keys["H24-020"] == "20/QD"
        assert keys["H24-905"] == keys["H24-005"] == "5/QD-UBND"

    done = sohoa_in_process(runtime, "results", "reconcile")
    assert "merged 4 duplicate result(s) into 4, linked 0 document(s)" in done.stderr
    assert result_count(runtime) == 16
    assert ward_2024(runtime) == (16, 4, 25.0)
    with runtime.session() as s:
        kept = s.scalars(select(Result).where(Result.dossier_code == "H24-020")).one()
        assert kept.document_number == "20/QĐ" and kept.registered  # the registered spelling
        # the counter's check: the same paper typed another way, in another dossier
        found = stored_elsewhere(s, unit=WARD, number="20/QD", issuer="ubnd phuong phuc xa",
                                 issued_on=date(2024, 3, 20), text=None, dossier="H26-1")
        assert [f["dossier"] for f in found] == ["H24-020"]
        assert stored_elsewhere(s, unit=WARD, number="21/QD", issuer=ISSUER, issued_on=date(2024, 3, 20),
                                text=None, dossier="H26-1") == []
    # a scan typed without the diacritic and with spaces links to the registered result
    doc_id = scan(runtime, dossier=None, number="9/QD - UBND", issued="2024-03-09",
                  issuer="ubnd phường phúc xá")
    with runtime.session() as s:
        assert s.get(Document, doc_id).result.dossier_code == "H24-009"
    assert result_count(runtime) == 16
    assert ward_2024(runtime) == (16, 5, 31.25)
    again = sohoa_in_process(runtime, "results", "reconcile")
    assert "merged 0 duplicate result(s) into 0" in again.stderr


def test_migration_fills_the_number_key(runtime, catalog_url):  # noqa: F811
    """0020_number_key computes the key of every result already in the catalog."""
    from sqlalchemy import inspect, text

    from storage import db

    with runtime.session() as s:
        unit = find_unit(s, WARD, on=date(2024, 6, 1))
        s.add_all([Result(unit_id=unit.id, dossier_code="K-1", document_number="7/QĐ – UBND"),
                   Result(unit_id=unit.id, dossier_code="K-2")])
    try:
        db.downgrade(catalog_url, "0020_number_key@-1")
        db.get_engine(catalog_url).dispose()
        columns = {c["name"] for c in inspect(db.get_engine(catalog_url)).get_columns("results")}
        assert "number_key" not in columns and "registered" in columns  # its own branch
    finally:
        db.upgrade(catalog_url)
        db.get_engine(catalog_url).dispose()
    with db.session_scope(catalog_url) as s:
        keys = dict(s.execute(text("SELECT dossier_code, number_key FROM results")).all())
    assert keys == {"K-1": "7/QD-UBND", "K-2": None}
