"""Issue #16: the report a records manager signs, through `sohoa progress` run as a command.

Hand-counted catalog (`history`):
* City 01: its 2025 baseline says 15 results in force; 11 results known only from scans
  (issued and digitized in 2025). 2025: 11/15 = 73.33%. 2026 has no baseline and nothing
  registered: "chưa có số liệu" (it used to show 11/11 = 100%).
* District 001 (Quận Ba Đình, dissolved 30/06/2025): 2 results known only from scans, issued
  2024, digitized 2024. 2026: "chưa có số liệu" (it used to show 100%).
* Ward 00001 (Phường Phúc Xá, under 001): 15 results registered by the one-stop export, issued
  March 2025; 2 digitized in 2025 and 1 more in January 2026; 1 copy waiting for review.
  2025: 2/15 = 13.33%; 2026: 3/15 = 20%.
* Ward 00007 (Phường Cống Vị, under 001): 4 registered, issued 2023, 1 digitized in 2023,
  1 in 2024. 2023: 1/4 = 25%, 2024: 2/4 = 50%, 2025: 50%.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.quotas.conftest import add_document, add_result, utc
from tests.quotas.test_progress import add_baseline

SOHOA = Path(sys.executable).with_name("sohoa")
pytestmark = pytest.mark.parametrize("catalog_url", ["sqlite"], indirect=True)


def history(session):
    add_baseline(session, "01", 2025, 15)
    for k in range(11):
        r = add_result(session, "01", date(2025, 2, 1 + k), registered=False)
        add_document(session, result=r, stored_at=utc(2025, 3, 1 + k))
    for k in range(2):
        r = add_result(session, "001", date(2024, 5, 1 + k), registered=False)
        add_document(session, result=r, stored_at=utc(2024, 6, 1 + k))
    ward = [add_result(session, "00001", date(2025, 3, 1 + k)) for k in range(15)]
    add_document(session, result=ward[0], stored_at=utc(2025, 4, 1))
    add_document(session, result=ward[1], stored_at=utc(2025, 11, 20))
    add_document(session, result=ward[2], stored_at=utc(2026, 1, 15))
    add_document(session, result=ward[3], state="needs_review")
    cong_vi = [add_result(session, "00007", date(2023, 1, 1 + k)) for k in range(4)]
    add_document(session, result=cong_vi[0], stored_at=utc(2023, 6, 1))
    add_document(session, result=cong_vi[1], stored_at=utc(2024, 6, 1))


@pytest.fixture
def catalog(runtime):
    with runtime.session() as s:
        history(s)
    return runtime


def sohoa(rt, *args, code=0, columns=120):
    """`sohoa …` as a separate process, output piped (what a shell script or `| less` sees)."""
    env = {**os.environ, "SOHOA_DATABASE_URL": rt.database_url,
           "SOHOA_HOME": str(rt.settings.home), "COLUMNS": str(columns)}
    done = subprocess.run([str(SOHOA), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    return done


@dataclass
class Ran:
    stdout: str
    stderr: str


@pytest.fixture
def cli(catalog, monkeypatch):
    """The same command in-process (the sohoa app's Typer, output captured as when piped):
    most checks, so the suite stays quick."""
    from typer.testing import CliRunner

    from sohoa.cli import _register_parts, app

    if not any(c.name == "progress" for c in app.registered_commands):
        _register_parts()

    def run(rt, *args, code=0, columns=120):
        monkeypatch.setenv("COLUMNS", str(columns))
        result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return Ran(result.stdout, result.stderr)

    return run


def json_rows(run, rt, *args):
    import json

    return json.loads(run(rt, "progress", "--format", "json", *args).stdout)


def by_code(rows):
    return {r["unit_code"]: r for r in rows if r["scope"] == "unit"}


def test_2025_hand_counts_and_2026_after_the_plan(catalog, cli):
    y2025 = by_code(json_rows(cli, catalog, "--year", 2025))
    assert (y2025["01"]["valid_results"], y2025["01"]["digitized"], y2025["01"]["percent"]) == (
        15, 11, 73.33)
    assert (y2025["00001"]["valid_results"], y2025["00001"]["digitized"],
            y2025["00001"]["percent"]) == (15, 2, 13.33)
    assert y2025["00001"]["pending_review"] == 1
    rows = json_rows(cli, catalog, "--year", 2026)
    y2026 = by_code(rows)
    for code in ("01", "001"):  # no 2026 baseline, nothing registered: no 100%
        assert (y2026[code]["percent"], y2026[code]["status"],
                y2026[code]["denominator_known"]) == (None, "no_data", False), code
    assert (y2026["00001"]["percent"], y2026["00001"]["status"]) == (20.0, "no_target")
    # two commune level rows, never both "whole year": the new wards, and the old ones
    communes = [r["period"] for r in rows if r["scope"] == "level" and r["level"] == "commune"]
    assert communes[0] == "all" and communes.count(None) == 1 and len(communes) == 3
    table = cli(catalog, "progress", "--year", 2026).stdout
    assert "NGOÀI KẾ HOẠCH ĐÃ NẠP" in table
    assert "--plan" in table and "Chưa có số liệu" in table and "100.00" not in table
    cells = [[c.strip() for c in line.split("|")] for line in table.splitlines()]
    commune_levels = [" ".join(c) for c in cells if len(c) > 3 and "Cấp xã" in c]
    assert [("tất cả" in x, "cả năm" in x, "đến 30/06/2025" in x) for x in commune_levels] == [
        (True, False, False), (False, True, False), (False, False, True)]


def test_table_fits_80_and_120_columns_piped(catalog):
    for width in (80, 120):
        text = sohoa(catalog, "progress", "--year", 2025, columns=width).stdout
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= width, width
        assert "\x1b[" not in text  # plain text when piped
        body = "\n".join(lines)
        for code in ("01", "001", "00001", "00007"):
            assert f" {code} " in body, (width, code)
        for word in ("Phúc", "Xá", "Cống", "Vị", "Ba", "Đình"):  # names wrap, never vanish
            assert word in body, (width, word)
        assert "73.33" in body and "13.33" in body
        assert "Cấp huyện" in body and "Huyện " not in body  # the level, not a kind of unit
    narrow = sohoa(catalog, "progress", "--year", 2025, columns=80).stdout
    assert "Cột không vừa màn hình (80 cột)" in narrow


def test_levels_parent_and_both_languages(catalog, cli):
    vi = json_rows(cli, catalog, "--year", 2025, "--level", "xã")
    en = json_rows(cli, catalog, "--year", 2025, "--level", "commune")
    assert vi == en and {r["level"] for r in vi} == {"commune"}
    assert json_rows(cli, catalog, "--year", 2025, "--level", "Cấp huyện") == json_rows(
        cli, catalog, "--year", 2025, "--level", "district")
    ba_dinh = json_rows(cli, catalog, "--year", 2025, "--parent", "001")
    assert set(by_code(ba_dinh)) == {"00001", "00007"}
    (level,) = [r for r in ba_dinh if r["scope"] == "level"]
    assert (level["valid_results"], level["digitized"], level["percent"]) == (19, 4, 21.05)
    bad = cli(catalog, "progress", "--level", "tỉnh lỵ", code=2)
    assert "--level tỉnh lỵ" in bad.stderr and "xã" in bad.stderr


def test_trend_and_months(catalog, cli, tmp_path):
    chart = tmp_path / "xu-huong.png"
    rows = json_rows(cli, catalog, "--year", "2023-2025", "--level", "commune", "--chart", chart)
    levels = {r["year"]: r for r in rows if r["scope"] == "level" and r["period"] in (None, "all")}
    # 2023: Cống Vị 1/4; 2024: 2/4; 2025: Cống Vị 2/4 + Phúc Xá 2/15
    assert [(y, levels[y]["valid_results"], levels[y]["digitized"]) for y in sorted(levels)] == [
        (2023, 4, 1), (2024, 4, 2), (2025, 19, 4)]
    assert chart.read_bytes()[:4] == b"\x89PNG"
    table = cli(catalog, "progress", "--year", "2021-2025", columns=120).stdout
    for year in range(2021, 2026):
        assert f"| {year}" in table
    months = json_rows(cli, catalog, "--year", 2025, "--by", "tháng", "--unit", "00001")
    assert [(m["as_of"], m["digitized"]) for m in months][2:5] == [
        ("2025-03-31", 0), ("2025-04-30", 1), ("2025-05-31", 1)]
    assert len(months) == 12 and months[-1]["digitized"] == 2
    refused = cli(catalog, "progress", "--year", "2025-2021", code=2)
    assert "--year 2025-2021" in refused.stderr


def test_official_xlsx(catalog, cli, tmp_path):
    path = tmp_path / "bao-cao.xlsx"
    cli(catalog, "progress", "--year", 2025, "--format", "xlsx", "-o", path,
          "--from", "UBND Quận Ba Đình", "--to", "UBND thành phố Hà Nội",
          "--signer", "Nguyễn Văn A")
    book = load_workbook(path)
    sheet = book["Tiến độ 2025"]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    text = "\n".join(map(str, cells))
    for expected in ("UBND QUẬN BA ĐÌNH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "BÁO CÁO TIẾN ĐỘ SỐ HÓA", "Kính gửi: UBND thành phố Hà Nội",
                     "THỦ TRƯỞNG ĐƠN VỊ", "Nguyễn Văn A", "NGƯỜI LẬP BIỂU", "Tổng cộng"):
        assert expected in text, expected
    header = [c.value for c in sheet[8]]
    assert header[0] == "STT" and header[8] == "Tỷ lệ số hóa"
    rows = [r for r in sheet.iter_rows(min_row=9) if r[3].value]
    units = [r for r in rows if r[0].value is not None]
    assert [r[0].value for r in units] == list(range(1, len(units) + 1))
    ward = next(r for r in rows if r[2].value == "00001")
    assert ward[8].value == 0.1333 and ward[8].number_format == "0.00%"
    total = next(r for r in rows if r[3].value == "Tổng cộng")
    # 01 15/11, 001 2/2 (registered=no, but results in force: scans only → known? no baseline)
    assert total[5].value == sum(r[5].value for r in rows
                                 if r[0].value is not None and isinstance(r[5].value, int)
                                 and r[12].value != "Chưa có số liệu")
    ratios = book["QĐ 766"]
    explained = "\n".join(str(c) for row in ratios.iter_rows(values_only=True) for c in row if c)
    assert "Quyết định 766/QĐ-TTg" in explained and "mẫu số" in explained
    assert "Năm 2025" in explained


def test_excel_csv_and_machine_csv(catalog, cli, tmp_path):
    excel = tmp_path / "excel.csv"
    cli(catalog, "progress", "--year", 2025, "--format", "csv", "--excel", "-o", excel)
    raw = excel.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["STT", "Đến ngày", "Cấp", "Mã đơn vị", "Tên đơn vị"]
    ward = next(r for r in rows if r[3] == "00001")
    assert ward[9] == "13,33" and ward[1] == "31/12/2025"
    machine = cli(catalog, "progress", "--year", 2025, "--format", "csv").stdout
    assert machine.startswith("unit_code,unit_name,level,year,")
    assert "\ufeff" not in machine


def test_output_into_a_folder_is_a_clear_error(catalog, cli, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    runs = [sohoa(catalog, "progress", "--format", "xlsx", "--output", folder, code=2)]
    runs += [cli(catalog, "progress", "--format", fmt, "--output", folder, code=2)
             for fmt in ("csv", "table")]
    for done in runs:
        assert str(folder) in done.stderr and "thư mục" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob("*.part"))
    missing = cli(catalog, "progress", "--chart", tmp_path / "no" / "c.png", code=2)
    assert "không tồn tại" in missing.stderr


def test_chart_of_a_year_beyond_the_plan(catalog, cli, tmp_path):
    chart = tmp_path / "c.png"
    cli(catalog, "progress", "--year", 2026, "--chart", chart)
    assert chart.stat().st_size > 20_000


def test_help_in_vietnamese_with_examples(catalog, cli):
    for command in (["progress"], ["baseline", "import"], ["results", "import"],
                    ["results", "reconcile"], ["plans"]):
        text = cli(catalog, *command, "--help", columns=100).stdout
        assert "Ví dụ" in text or "Mẫu tệp" in text, command
        assert "sohoa " in text
    assert "Tiến độ số hóa" in cli(catalog, "progress", "--help").stdout
