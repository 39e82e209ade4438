"""The procedure catalog from CSV, on both backends: added and updated, all or nothing, errors
naming the file and the row; and the `sohoa procedures import` command."""

from __future__ import annotations

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from storage.catalog import Procedure
from storage.procedures import ProcedureImportError, import_procedures, parse_procedures

GOOD = """code,name,level
1.001193,Thủ tục đăng ký khai sinh (sửa đổi),commune
1.000656,Thủ tục đăng ký khai tử,cấp xã
1.009794,Thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ,district
2.001610,Thủ tục đăng ký thành lập doanh nghiệp tư nhân,city

T-HNO-285,Thủ tục địa phương,
"""


def write(tmp_path, text: str, name: str = "procedures.csv", bom: bool = False):
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


def procedures(rt) -> dict[str, tuple[str, str | None]]:
    with rt.session() as s:
        return {p.code: (p.name, p.level) for p in s.scalars(select(Procedure))}


def test_import_adds_and_updates(catalog_runtime, tmp_path):
    rt = catalog_runtime
    before = procedures(rt)
    assert before["1.001193"] == ("Thủ tục đăng ký khai sinh", "commune")  # seeded default
    with rt.session() as s:
        summary = import_procedures(s, write(tmp_path, GOOD, bom=True))
    assert (summary.added, summary.updated, summary.unchanged) == (2, 1, 2)
    after = procedures(rt)
    assert after["1.001193"] == ("Thủ tục đăng ký khai sinh (sửa đổi)", "commune")
    assert after["1.000656"] == ("Thủ tục đăng ký khai tử", "commune")
    assert after["T-HNO-285"] == ("Thủ tục địa phương", None)
    assert set(before) - set(after) == set()  # codes not in the file stay
    with rt.session() as s:  # importing again changes nothing
        again = import_procedures(s, write(tmp_path, GOOD))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)


def test_semicolons_and_column_order(tmp_path):
    rows = parse_procedures("Level;Code;Name\nxã;1.000894;Thủ tục đăng ký kết hôn\n", "f.csv")
    assert rows == [("1.000894", "Thủ tục đăng ký kết hôn", "commune")]


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty file"),
    ("code,name\n1.001193,x\n", "row 1: header lacks column(s) level"),
    ("code,name,level\n", "no procedures after the header"),
    ("code,name,level\n1.001193,A,commune\n,B,commune\n", "row 3: empty code"),
    ("code,name,level\n1.001193,A,commune\n1 001193,B,commune\n", "row 3: code '1 001193'"),
    ("code,name,level\n1.001193,,commune\n", "row 2: procedure 1.001193 has no name"),
    ("code,name,level\n1.001193,A,tổng cục\n", "row 2: procedure 1.001193: unknown level"),
    ("code,name,level\n1.001193,A,commune\n\n1.001193,B,city\n",
     "row 4: procedure 1.001193 appears again (first on row 2)"),
    ("code,name,level\n1.001193,\"A,commune\n", "unreadable CSV"),
])
def test_bad_rows_are_named(tmp_path, text, message):
    with pytest.raises(ProcedureImportError) as info:
        parse_procedures(text, str(tmp_path / "bad.csv"))
    assert str(info.value).startswith(f"{tmp_path / 'bad.csv'}: ")
    assert message in str(info.value)


def test_one_bad_row_imports_nothing(catalog_runtime, tmp_path):
    rt = catalog_runtime
    before = procedures(rt)
    bad = GOOD + "9.999999,Thủ tục thừa,tổng cục\n"
    with (pytest.raises(ProcedureImportError, match=r"procedures.csv: row 8: .*unknown level"),
          rt.session() as s):
        import_procedures(s, write(tmp_path, bad))
    assert procedures(rt) == before


def test_file_errors(catalog_runtime, tmp_path):
    with catalog_runtime.session() as s:
        with pytest.raises(ProcedureImportError, match="no such file"):
            import_procedures(s, tmp_path / "missing.csv")
        latin1 = tmp_path / "latin1.csv"
        latin1.write_bytes("code,name,level\n1.001193,Thu tuc,xã\n".encode("latin-1"))
        with pytest.raises(ProcedureImportError, match="latin1.csv: not UTF-8"):
            import_procedures(s, latin1)


def test_command(catalog_runtime, tmp_path):
    from sohoa.commands.storage import register

    app = typer.Typer()
    app.command("version")(lambda: None)
    register(app)
    runner = CliRunner()
    result = runner.invoke(app, ["procedures", "import", str(write(tmp_path, GOOD))])
    assert result.exit_code == 0, result.output
    assert "5 procedures: 2 added, 1 updated, 2 unchanged" in result.output
    listed = runner.invoke(app, ["procedures", "list"])
    assert "1.000656\tcommune\tThủ tục đăng ký khai tử" in listed.output
    bad = write(tmp_path, "code,name,level\n1.001193,A,nowhere\n", "bad.csv")
    result = runner.invoke(app, ["procedures", "import", str(bad)])
    assert result.exit_code == 1
    assert "bad.csv: row 2: procedure 1.001193: unknown level 'nowhere'" in result.output
    with catalog_runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Procedure).where(
            Procedure.name == "A")) == 0
