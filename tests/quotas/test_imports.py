"""Baseline and results imports: all or nothing, errors naming the row, units resolved by date."""

from __future__ import annotations

from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from quotas.imports import ImportFileError, import_baseline, import_results
from quotas.models import Baseline
from storage.catalog import AdminUnit, Document, Procedure, Result
from tests.quotas.conftest import add_document, utc


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def baselines(session) -> dict:
    rows = session.execute(select(AdminUnit.code, AdminUnit.name, Baseline.year,
                                  Baseline.valid_results).join(Baseline.unit))
    return {(code, year): (name, valid) for code, name, year, valid in rows}


def test_baseline_csv_and_xlsx(runtime, tmp_path):
    csv_file = write(tmp_path / "b.csv", "unit_code,year,valid_results\n01,2024,1200\n"
                     "001,2024,300\n\n00004,2024,80\n")
    book = Workbook()
    book.active.append(["Unit_Code", "Year", "Valid Results"])  # headers are normalized
    book.active.append(["00004", 2023, 75])
    book.active.append(["01", 2024.0, 1250.0])  # Excel numbers are floats
    book.save(tmp_path / "b.xlsx")
    with runtime.session() as s:
        summary = import_baseline(s, csv_file)
        assert (summary.rows, summary.created, summary.updated) == (3, 3, 0)
    with runtime.session() as s:
        summary = import_baseline(s, tmp_path / "b.xlsx")
        assert (summary.created, summary.updated) == (1, 1)
    with runtime.session() as s:
        got = baselines(s)
    assert got == {("01", 2024): ("Thành phố Hà Nội", 1250), ("001", 2024): ("Quận Ba Đình", 300),
                   ("00004", 2024): ("Phường Trúc Bạch", 80),
                   ("00004", 2023): ("Phường Trúc Bạch", 75)}


def test_baseline_errors_name_rows_and_import_nothing(runtime, tmp_path):
    bad = write(tmp_path / "bad.csv", "unit_code;year;valid_results\n"
                "001;2024;10\n"          # row 2 fine
                "99999;2024;5\n"         # row 3 unknown unit
                "00004;2024;-3\n"        # row 4 negative
                "00001;2024;nhiều\n"     # row 5 not a number
                "00001;năm;4\n"          # row 6 not a year
                "001;2024;11\n")         # row 7 duplicate of row 2
    with runtime.session() as s, pytest.raises(ImportFileError) as info:
        import_baseline(s, bad)
    message = str(info.value)
    assert "bad.csv: nothing imported, 5 problem(s)" in message
    for expected in ("row 3: unknown unit code '99999'", "row 4: valid_results -3 is negative",
                     "row 5: valid_results 'nhiều' is not a whole number",
                     "row 6: year 'năm' is not a year",
                     "row 7: unit 001 year 2024 already given on row 2"):
        assert expected in message
    with runtime.session() as s:
        assert count(s, Baseline) == 0


def test_baseline_reused_code_needs_a_date_in_2025(runtime, tmp_path):
    ambiguous = write(tmp_path / "a.csv", "unit_code,year,valid_results\n00004,2025,9\n")
    with runtime.session() as s, pytest.raises(ImportFileError,
                                               match="row 2: unit code 00004 names several"):
        import_baseline(s, ambiguous)
    dated = write(tmp_path / "d.csv", "unit_code,year,valid_results,valid_on\n"
                  "00004,2025,9,2025-03-01\n00004,2025,40,01/08/2025\n001,2026,1,\n")
    with runtime.session() as s, pytest.raises(ImportFileError, match="row 4: unit 001 did not "
                                               "exist in 2026"):
        import_baseline(s, dated)
    dated.write_text("\n".join(dated.read_text().splitlines()[:3]) + "\n", encoding="utf-8")
    with runtime.session() as s:
        import_baseline(s, dated)
    with runtime.session() as s:
        rows = s.execute(select(AdminUnit.name, Baseline.valid_results).join(Baseline.unit)
                         .order_by(Baseline.valid_results)).all()
    assert [tuple(r) for r in rows] == [("Phường Trúc Bạch", 9), ("Phường Ba Đình", 40)]


def test_baseline_bad_files(runtime, tmp_path):
    with runtime.session() as s:
        with pytest.raises(ImportFileError, match="missing column"):
            import_baseline(s, write(tmp_path / "c.csv", "code,year,total\n01,2024,3\n"))
        with pytest.raises(ImportFileError, match="no such file"):
            import_baseline(s, tmp_path / "none.csv")
        with pytest.raises(ImportFileError, match="not a readable XLSX"):
            import_baseline(s, write(tmp_path / "fake.xlsx", "not a zip"))
        (tmp_path / "latin.csv").write_bytes("unit_code,year,valid_results\n01,2024,1\xe9\n"
                                             .encode("latin-1"))
        with pytest.raises(ImportFileError, match="not UTF-8"):
            import_baseline(s, tmp_path / "latin.csv")


ONE_STOP = ("Mã hồ sơ,Mã thủ tục,Tên thủ tục,Mã đơn vị,Số kết quả,Ngày ban hành,Còn hiệu lực,"
            "Hiệu lực đến,Số CCCD\n")


def test_results_import_registers_links_and_dedupes(runtime, tmp_path):
    with runtime.session() as s:
        from storage.units import find_unit

        early = add_document(s, unit_code="00004", on=date(2025, 9, 2), stored_at=utc(2025, 9, 3))
        early.dossier_code = "000.00.04.H26-250901-0001"
    export = write(tmp_path / "mot-cua.csv", ONE_STOP +
                   "000.00.04.H26-240105-0001,1.001193,Đăng ký khai sinh,00004,12/2024,05/01/2024,"
                   "Có,,001234567890\n"
                   "000.00.04.H26-250901-0001,1.001193,,00004,88/2025,2025-09-01,1,,\n"
                   "000.00.01.H26-230101-0002,9.999999,Thủ tục mới,001,7/GP,01/01/2023,Không,"
                   "31/12/2023,\n")
    with runtime.session() as s:
        summary = import_results(s, export)
    assert (summary.rows, summary.created, summary.updated, summary.linked_documents) == (
        3, 3, 0, 1)
    with runtime.session() as s:
        rows = {r.dossier_code: r for r in s.scalars(select(Result))}
        first = rows["000.00.04.H26-240105-0001"]
        assert first.unit.name == "Phường Trúc Bạch" and first.issued_on == date(2024, 1, 5)
        assert first.subject_id == "001234567890" and first.in_force is True
        second = rows["000.00.04.H26-250901-0001"]
        assert second.unit.name == "Phường Ba Đình"  # same code, the unit valid on the issue date
        third = rows["000.00.01.H26-230101-0002"]
        assert third.in_force is False and third.valid_until == date(2023, 12, 31)
        assert s.get(Procedure, "9.999999").name == "Thủ tục mới"
        linked = s.scalars(select(Document).where(Document.dossier_code == second.dossier_code))
        assert [d.result_id for d in linked] == [second.id]
        assert find_unit(s, "00004", on=date(2025, 9, 1)).id == second.unit_id
    # the same export again, with a revocation: no duplicates
    export.write_text(export.read_text(encoding="utf-8").replace("2025-09-01,1,", "2025-09-01,0,"),
                      encoding="utf-8")
    with runtime.session() as s:
        summary = import_results(s, export)
    assert (summary.created, summary.updated) == (0, 3)
    with runtime.session() as s:
        assert count(s, Result) == 3
        revoked = s.scalars(select(Result).where(
            Result.dossier_code == "000.00.04.H26-250901-0001")).one()
        assert revoked.in_force is False


def test_results_import_errors_name_rows_and_import_nothing(runtime, tmp_path):
    bad = write(tmp_path / "bad.csv", ONE_STOP +
                "HS-1,1.001193,,00004,1/2024,05/01/2024,Có,,\n"
                "HS-2,1.001193,,88888,2/2024,05/01/2024,Có,,\n"
                "HS-3,1.001193,,00004,3/2024,31/02/2024,Có,,\n"
                "HS-4,1.001193,,001,4/2025,2025-08-01,Có,,\n"
                "HS-5,1.001193,,00004,5/2024,2024-01-01,có lẽ,,\n"
                "HS-1,1.001193,,00004,1/2024,05/01/2024,Có,,\n")
    with runtime.session() as s, pytest.raises(ImportFileError) as info:
        import_results(s, bad)
    message = str(info.value)
    for expected in ("row 3: unknown unit code '88888'", "row 4: issued_on: '31/02/2024' is not "
                     "a date", "row 5: unit 001 did not exist on 2025-08-01",
                     "row 6: in_force 'có lẽ' is not yes/no", "row 7: same result as row 2"):
        assert expected in message
    assert "row 2" not in message.replace("as row 2", "")
    with runtime.session() as s:
        assert count(s, Result) == 0
