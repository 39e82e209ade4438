"""`sohoa records …` (sohoa/commands/archive.py, archive/record_import.py) on SQLite and PostgreSQL:
an archive list imported from XLSX and CSV, records listed, shown and set, stored documents
filed, retention due dates listed for appraisal, and a destruction decision recorded."""

from __future__ import annotations

import json
from datetime import date

import pytest
from openpyxl import Workbook

from archive.record_import import RecordImportError, parse_file
from sohoa.commands.archive import register
from storage.records import ArchiveDocument, get_record
from tests.quotas.conftest import catalog_url, postgres_url, runtime  # noqa: F401

# the quotas suite's catalog on SQLite and PostgreSQL (fixtures, used by name)
from tests.support.cli import invoker, part_app
from tests.support.records import clear_archive, stored_copy

HEADER = ["STT", "Mã hồ sơ", "Tiêu đề hồ sơ", "Thời hạn lưu trữ", "Mức độ tiếp cận",
          "Thời gian bắt đầu", "Thời gian kết thúc", "Từ khóa", "Số lượng tờ",
          "Tình trạng vật lý", "Mã hồ sơ gốc giấy", "Mã phông", "Tên phông", "Đơn vị"]


@pytest.fixture
def rt(runtime):  # noqa: F811
    with runtime.session() as s:
        clear_archive(s)
    return runtime


@pytest.fixture
def cli(rt):
    return invoker(part_app(register), "records", env={"COLUMNS": "200"})


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def archive_list(path, rows):
    book = Workbook()
    sheet = book.active
    sheet.append(["MỤC LỤC HỒ SƠ LƯU TRỮ — UBND PHƯỜNG PHÚC XÁ"])  # a title above the header
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_import_list_show_set_and_due(cli, rt, tmp_path):
    with rt.session() as s:  # two results scanned before the list arrives
        result, doc = stored_copy(s, dossier="H20-0007", issued=date(2020, 5, 4), pages=3)
        stored_copy(s, dossier="H20-0007", issued=date(2020, 9, 1), pages=1)
    xlsx = archive_list(tmp_path / "muc-luc.xlsx", [
        [1, "H20-0007", "Hồ sơ cấp phép sửa chữa nhà", "10 năm", "Tiếp cận rộng rãi",
         "04/05/2020", "2020", "xây dựng; sửa chữa", 6, "Giấy ố vàng", "PX-2020-07",
         "P-01", "Phông UBND phường Phúc Xá", "00001"],
        [2, "LT-1999-01", "Sổ đăng ký khai sinh 1999", "Vĩnh viễn", "Tiếp cận có điều kiện",
         "1999", "1999", None, 120, "Tốt", None, "P-01", None, "00001"],
        [None] * len(HEADER),  # an empty line is skipped
    ])
    done = cli("import", xlsx)
    assert "2 records: 2 created, 0 updated; 1 fonds" in done.stderr
    assert "columns left alone: STT" in done.stderr
    cli("file")  # the two earlier scans join the imported record H20-0007
    with rt.session() as s:
        record = get_record(s, "H20-0007")
        assert record.document_count == 2 and record.page_count == 4
        assert record.sheet_count == 6  # imported, so kept over the count of documents' sheets
        assert (record.retention_years, record.access_level) == (10, "open")  # kept too
        assert record.end_date == date(2020, 12, 31) and record.due_on == date(2031, 1, 1)
        assert record.fonds.code == "P-01" and record.fonds.document_count == 2
    listed = jsonl(cli("list", "--json").stdout)
    assert [r["code"] for r in listed] == ["H20-0007", "LT-1999-01"]
    assert listed[1]["retention"] == "Vĩnh viễn" and listed[1]["sheet_count"] == 120
    table = cli("list", "--unit", "00001").stdout
    assert "Tiếp cận rộng rãi" in table and "10 năm" in table and "Vĩnh viễn" in table
    shown = cli("show", "H20-0007").stdout
    for words in ("Mã hồ sơ gốc giấy", "PX-2020-07", "Giấy ố vàng", "xây dựng, sửa chữa",
                  "H20-0007.001", "H20-0007.002", "04/05/2020"):
        assert words in shown
    assert "Nguyễn" not in shown and "001099012345" not in shown
    detail = jsonl(cli("show", "H20-0007", "--json").stdout)[0]
    assert [d["sequence"] for d in detail["documents"]] == [1, 2]
    assert "subject_id" not in detail["documents"][0]
    cli("show", "NOPE", code=1)
    # set by hand: retention shortened after appraisal
    cli("set", "H20-0007", "--retention", "5", "--condition", "Rách góc", "--keywords",
        "xây dựng")
    with rt.session() as s:
        assert get_record(s, "H20-0007").due_on == date(2026, 1, 1)
    assert "is not one of" in cli("set", "H20-0007", "--access", "bí mật", code=2).stderr
    assert "retention" in cli("set", "H20-0007", "--retention", "mười", code=2).stderr
    # due for appraisal, then a destruction decision recorded (nothing deleted)
    due = jsonl(cli("due", "--on", "01/01/2026", "--json").stdout)
    assert {d["record"] for d in due} == {"H20-0007"} and len(due) == 2
    assert "chờ Hội đồng xác định giá trị tài liệu" in cli("due", "--on", "2026-01-01").stdout
    assert jsonl(cli("due", "--on", "2025-12-31", "--json").stdout) == []
    assert "vĩnh viễn" in cli("destroy", "LT-1999-01", "--decision", "3/QĐ-UBND", "--date",
                              "2026-02-01", code=2).stderr
    done = cli("destroy", "H20-0007", "--decision", "15/QĐ-UBND", "--date", "02/02/2026",
               "--by", "Chủ tịch UBND phường")
    assert "no data was deleted" in done.stderr
    assert jsonl(cli("due", "--on", "2026-03-01", "--json").stdout) == []
    assert len(jsonl(cli("due", "--on", "2026-03-01", "--all", "--json").stdout)) == 2
    assert "Quyết định hủy 15/QĐ-UBND ngày 02/02/2026" in cli("show", "H20-0007").stdout
    with rt.session() as s:
        assert s.query(ArchiveDocument).count() == 2 and s.get(type(doc), doc.id) is not None


def test_a_bad_row_names_file_row_and_problem_and_writes_nothing(cli, rt, tmp_path):
    csv = tmp_path / "muc-luc.csv"
    csv.write_text("Mã hồ sơ;Tiêu đề hồ sơ;Thời hạn lưu trữ\n"
                   "H1;Hồ sơ một;10 năm\n"
                   "H2;Hồ sơ hai;mười năm\n", encoding="utf-8")
    done = cli("import", csv, code=1)
    assert f"{csv}: row 3: Thời hạn lưu trữ" in done.stderr and "mười năm" in done.stderr
    with rt.session() as s:
        assert get_record(s, "H1") is None
    csv.write_text("Mã hồ sơ;Tiêu đề hồ sơ;Thời hạn lưu trữ\nH1;Hồ sơ một;10 năm\n",
                   encoding="utf-8")
    assert "1 records: 1 created" in cli("import", csv).stderr
    assert "1 records: 0 created, 1 updated" in cli("import", csv).stderr


@pytest.mark.parametrize(("text", "problem"), [
    ("Tiêu đề\nA\n", "no 'Mã hồ sơ'"),
    ("Mã hồ sơ;Số lượng tờ\nH1;nhiều\n", "row 2: Số lượng tờ: not a whole number"),
    ("Mã hồ sơ;Thời gian bắt đầu\nH1;31/02/2020\n", "row 2: Thời gian bắt đầu: not a date"),
    ("Mã hồ sơ;Mức độ tiếp cận\nH1;Mật\n", "row 2: Mức độ tiếp cận"),
    ("Mã hồ sơ\nH1\nH1\n", "row 3: record H1 is already on row 2"),
    ("Mã hồ sơ;Tiêu đề\n;Không mã\n", "row 2: no record code"),
    ("Mã hồ sơ;Thời gian bắt đầu;Thời gian kết thúc\nH1;2021;2020\n", "end date"),
    ("Mã hồ sơ;Mã hồ sơ\nH1;H2\n", "two columns"),
])
def test_archive_list_errors(tmp_path, text, problem):
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordImportError, match=problem) as caught:
        parse_file(path)
    assert str(path) in str(caught.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(RecordImportError, match="file not found"):
        parse_file(tmp_path / "none.xlsx")
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(RecordImportError, match="not a readable XLSX"):
        parse_file(bad)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"M\xe3 h\xf4 s\xf4\nH1\n")  # Windows-1258, not UTF-8
    with pytest.raises(RecordImportError, match="not UTF-8"):
        parse_file(latin)
    other = tmp_path / "list.pdf"
    other.write_bytes(b"%PDF")
    with pytest.raises(RecordImportError, match="not a .csv or .xlsx"):
        parse_file(other)
