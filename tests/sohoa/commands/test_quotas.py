"""`sohoa progress` in every format, and the import commands, through the Typer app."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from quotas.progress import JSON_KEYS
from sohoa.commands.quotas import register
from tests.quotas.conftest import (  # noqa: F401 - catalog_url, postgres_url, runtime: fixtures
    add_document,
    add_result,
    catalog_url,
    postgres_url,
    runtime,
    utc,
)
from tests.quotas.test_progress import fixture_2024


@pytest.fixture
def app():
    app = typer.Typer()
    app.command("version")(lambda: None)  # a group, as in sohoa.cli
    register(app)
    return app


@pytest.fixture
def cli(app, runtime):  # noqa: F811
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.fixture
def loaded(runtime):  # noqa: F811
    with runtime.session() as s:
        fixture_2024(s)
    return runtime


def test_json_rows_have_the_documented_keys_and_hand_counts(cli, loaded):
    rows = json.loads(cli("progress", "--year", 2024, "--format", "json").stdout)
    for row in rows:
        assert list(row)[:len(JSON_KEYS)] == list(JSON_KEYS)
    units = {r["unit_code"]: r for r in rows if r["scope"] == "unit"}
    assert {k: units["01"][k] for k in JSON_KEYS} == {
        "unit_code": "01", "unit_name": "Thành phố Hà Nội", "level": "city", "year": 2024,
        "valid_results": 5, "digitized": 3, "percent": 60.0, "target_percent": 90.0,
        "status": "behind", "forecast_percent": 60.0}
    commune = [r for r in rows if r["scope"] == "level" and r["level"] == "commune"]
    # 00007 has only a document nobody registered: no denominator, so not added to its level
    assert [(r["unit_code"], r["valid_results"], r["digitized"]) for r in commune] == [
        (None, 6, 3)]
    assert (units["00007"]["percent"], units["00007"]["status"]) == (None, "no_data")
    assert units["001"]["pending_review"] == 1 and units["00004"]["pending_review"] == 1
    (total,) = [r for r in rows if r["scope"] == "total"]
    assert (total["valid_results"], total["digitized"], total["pending_review"]) == (13, 8, 2)


def test_csv_and_filters(cli, loaded, tmp_path):
    out = tmp_path / "p.csv"
    cli("progress", "--year", 2024, "--level", "commune", "--format", "csv", "--output", out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0])[:len(JSON_KEYS)] == list(JSON_KEYS)
    assert {r["level"] for r in rows} == {"commune"}
    assert {(r["unit_code"], r["valid_results"], r["digitized"], r["percent"]) for r in rows} == {
        ("", "6", "3", "50.0"), ("00004", "4", "1", "25.0"), ("00001", "2", "2", "100.0"),
        ("00007", "1", "1", "")}
    behind = json.loads(cli("progress", "--year", 2024, "--behind", "--format", "json").stdout)
    assert {(r["scope"], r["unit_code"]) for r in behind} == {
        ("level", None), ("unit", "01"), ("unit", "00004")}
    one = json.loads(cli("progress", "--year", 2024, "--unit", "00004", "--as-of", "2024-06-30",
                         "--format", "json").stdout)
    assert [(r["unit_code"], r["valid_results"], r["digitized"]) for r in one] == [
        ("00004", 3, 0)]


def test_default_table_shows_levels_units_and_bars(cli, loaded, monkeypatch):
    with loaded.session() as s:  # something digitized this year, as after `sohoa digitize`
        add_document(s, unit_code="00004", stored_at=utc(2026, 1, 2))
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for the bars
    text = cli("progress").stdout
    assert "00004" in text and "Phường Ba Đình" in text
    assert "Cấp xã" in text and "█" in text
    table_2024 = cli("progress", "--year", "2024").stdout
    assert "Phường Trúc Bạch" in table_2024 and "Chậm" in table_2024 and "Đạt" in table_2024


def test_xlsx_and_chart(cli, loaded, tmp_path):
    book_path, chart = tmp_path / "bao-cao.xlsx", tmp_path / "chart.png"
    cli("progress", "--year", 2024, "--format", "xlsx", "--output", book_path, "--chart", chart)
    book = load_workbook(book_path)
    sheet = book["Tiến độ 2024"]
    header = [c.value for c in sheet[8]]
    assert header[:7] == ["STT", "Cấp", "Mã", "Đơn vị", "Giai đoạn", "Kết quả còn hiệu lực",
                          "Đã số hóa"]
    rows = {(r[2] or r[3]): r for r in sheet.iter_rows(min_row=9, values_only=True) if r[3]}
    assert rows["01"][5:7] == (5, 3) and rows["01"][8:10] == (0.6, 0.9)
    assert rows["01"][12] == "Chậm"
    assert rows["Cấp xã"][5:7] == (6, 3)
    assert "QĐ 766" in book.sheetnames
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    run = cli("progress", "--format", "xlsx", code=2)
    assert "--output" in run.output


def test_ratios_option(cli, runtime):  # noqa: F811
    with runtime.session() as s:
        r = add_result(s, "00001", date(2024, 2, 1))
        add_document(s, result=r, stored_at=utc(2024, 3, 1))
        add_result(s, "00001", date(2024, 2, 2))
    rows = json.loads(cli("progress", "--year", 2024, "--ratios", "--format", "json").stdout)
    assert [(x["unit_code"], x["results"], x["digitized"], x["digitized_percent"]) for x in rows] == [
        ("00001", 2, 1, 50.0)]
    assert "Quyết định 766" in cli("progress", "--year", 2024, "--ratios").stdout


def test_bad_options(cli, runtime):  # noqa: F811
    assert "not in 2024" in cli("progress", "--year", 2024, "--as-of", "2025-01-01", code=2).output
    assert "not a date" in cli("progress", "--as-of", "tomorrow", code=2).output
    assert "no such plan" in cli("progress", "--plan", "nope", code=2).output
    assert "no unit" in cli("progress", "--unit", "99999", code=2).output


def test_import_commands(cli, runtime, tmp_path):  # noqa: F811
    good = tmp_path / "b.csv"
    good.write_text("unit_code,year,valid_results\n00001,2024,10\n", encoding="utf-8")
    assert "1 added" in cli("baseline", "import", good).output
    bad = tmp_path / "bad.csv"
    bad.write_text("unit_code,year,valid_results\n00001,2024,-1\n", encoding="utf-8")
    run = cli("baseline", "import", bad, code=1)
    assert "row 2: valid_results -1 is negative" in run.output
    export = tmp_path / "r.csv"
    export.write_text("dossier_code,procedure_code,unit_code,document_number,issued_on\n"
                      "HS-9,1.001193,00001,9/2024,2024-05-05\n", encoding="utf-8")
    assert "1 registered" in cli("results", "import", export).output
    rows = json.loads(cli("progress", "--year", 2024, "--unit", "00001", "--format",
                          "json").stdout)
    assert [(r["valid_results"], r["digitized"], r["status"]) for r in rows] == [(10, 0, "behind")]
    assert "2024: city 90%" in cli("plans").stdout
