"""Commands for records managers: `sohoa progress`, `sohoa baseline import`,
`sohoa results import`, `sohoa plans`."""

from __future__ import annotations

import inspect
import json
import sys
from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from quotas import render
from quotas.imports import ImportFileError, _norm, import_baseline, import_results, parse_date
from quotas.plans import PlanError, get_plan, load_plan, shipped_plans
from quotas.progress import ProgressError, build_month_reports, build_report, build_year_reports
from quotas.ratios import ratios_766
from sohoa.runtime import get_runtime
from storage.result_link import reconcile

err = Console(stderr=True, soft_wrap=True)

baseline_app = typer.Typer(
    help="Tổng số kết quả còn hiệu lực của từng đơn vị theo năm (mẫu số của tỷ lệ số hóa). "
         "(Still-valid result totals per unit and year: the denominator.)",
    no_args_is_help=True)
results_app = typer.Typer(
    help="Danh sách kết quả từ hệ thống một cửa: nhập, và gộp kết quả trùng. (Results "
         "registered from the one-stop system.)",
    no_args_is_help=True)


FORMATS = {"table": "table", "bang": "table", "json": "json", "csv": "csv", "xlsx": "xlsx",
           "excel": "xlsx"}
LEVELS_BOTH = {"city": "city", "tinh": "city", "cap_tinh": "city", "thanh_pho": "city",
               "district": "district", "huyen": "district", "cap_huyen": "district",
               "commune": "commune", "xa": "commune", "cap_xa": "commune"}
BY = {"year": "year", "nam": "year", "month": "month", "thang": "month"}


def _key(text: str) -> str:
    return _norm(text)


def _choice(option: str, text: str | None, choices: dict[str, str], shown: str) -> str | None:
    if text is None:
        return None
    value = choices.get(_key(text))
    if value is None:
        _fail(f"{option} {text}: không hiểu giá trị này / unknown value (chọn / choose: {shown})")
    return value


def _years(text: str | None) -> tuple[int | None, int | None]:
    """"2025" → (2025, None); "2021-2025" → (2021, 2025)."""
    if text is None:
        return None, None
    parts = [p.strip() for p in text.replace("–", "-").split("-")]
    try:
        years = [int(p) for p in parts]
    except ValueError:
        _fail(f"--year {text}: không phải năm / not a year (ví dụ / e.g. 2025 hoặc 2021-2025)")
    if not all(1900 <= y <= 2200 for y in years) or len(years) > 2:
        _fail(f"--year {text}: không phải năm / not a year (ví dụ / e.g. 2025 hoặc 2021-2025)")
    if len(years) == 2:
        if years[1] < years[0]:
            _fail(f"--year {text}: năm đầu sau năm cuối / the first year is after the last")
        if years[1] - years[0] > 20:
            _fail(f"--year {text}: tối đa 20 năm / at most 20 years")
        return years[0], years[1]
    return years[0], None


def _reflow(doc: str | None) -> str | None:
    """Help text as written in the source (wrapped at 100 columns) → one line per paragraph, so
    the terminal wraps it; a paragraph starting with \\b (examples) keeps its lines."""
    if not doc:
        return doc
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n"))
                       for p in paragraphs)


def _runtime():
    return get_runtime()


def _fail(message: str, code: int = 2):
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None

    try:
        return parse_date(text)
    except ValueError as exc:
        _fail(f"--as-of: {exc}")


def _check_output(option: str, path: Path | None) -> None:
    """A clear error before any work when a file cannot be written there."""
    if path is None:
        return
    if path.is_dir():
        _fail(f"{option} {path}: là một thư mục / is a folder — hãy ghi tên tệp / give a file "
              f"name, ví dụ / e.g. {path / 'tien-do.xlsx'}")
    if not path.parent.is_dir():
        _fail(f"{option} {path}: thư mục {path.parent} không tồn tại / folder does not exist")


def _write(text: str, output: Path | None, encoding: str = "utf-8") -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    tmp = output.with_name(output.name + ".part")
    try:
        with open(tmp, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    err.print(f"đã ghi / wrote {output}", markup=False)


PROGRESS_HELP = """Tiến độ số hóa kết quả giải quyết TTHC theo năm, cấp và đơn vị: số kết quả còn
hiệu lực, đã số hóa, tỷ lệ, chỉ tiêu của kế hoạch, dự báo cuối năm, trạng thái, số bản chờ kiểm tra.
(Progress toward the yearly quota per level and unit.)

Đơn vị chưa có tổng số kết quả (sohoa baseline import) hay danh sách kết quả (sohoa results import)
hiện "chưa có số liệu", không tính 100%.

\b
Ví dụ / examples:
  sohoa progress                       năm nay, mọi cấp
  sohoa progress --year 2025 --level xã --behind
  sohoa progress --parent 001          các xã của Quận Ba Đình
  sohoa progress --year 2021-2025 --chart xu-huong.png
  sohoa progress --by tháng -o thang.xlsx --format xlsx
  sohoa progress --format xlsx -o bao-cao.xlsx --to "UBND TP Hà Nội"
  sohoa progress --format csv --excel -o bao-cao.csv
  sohoa progress --year 2026 --plan ke-hoach-2026.toml
"""


def progress(
    year_text: str | None = typer.Option(None, "--year", metavar="NĂM|NĂM-NĂM",
                                         help="Năm (mặc định: năm nay) hoặc khoảng năm để xem "
                                         "xu hướng, ví dụ 2021-2025. / Year or range."),
    level_text: str | None = typer.Option(None, "--level", metavar="CẤP",
                                          help="Chỉ một cấp: tỉnh|huyện|xã (hoặc city|district|"
                                          "commune)."),
    unit: str | None = typer.Option(None, "--unit", metavar="MÃ",
                                    help="Chỉ một đơn vị (mã), mọi phiên bản của mã trong năm."),
    parent: str | None = typer.Option(None, "--parent", metavar="MÃ",
                                      help="Các đơn vị trực thuộc một đơn vị: các xã của một "
                                      "huyện (001), các huyện của tỉnh (01)."),
    by_text: str | None = typer.Option(None, "--by", metavar="năm|tháng",
                                       help="tháng (month): số liệu đến cuối từng tháng của "
                                       "năm; năm (year, mặc định)."),
    as_of: str | None = typer.Option(None, "--as-of", metavar="NGÀY",
                                     help="Tính đến ngày này (YYYY-MM-DD hoặc DD/MM/YYYY; mặc "
                                     "định hôm nay, hoặc 31/12 của năm đã qua)."),
    behind: bool = typer.Option(False, "--behind", help="Chỉ các dòng chậm tiến độ."),
    fmt_text: str = typer.Option("table", "--format", metavar="DẠNG",
                                 help="table (bảng), json, csv hoặc xlsx."),
    excel: bool = typer.Option(False, "--excel", help="Với --format csv: CSV cho Excel tiếng "
                               "Việt (BOM, dấu ;, tiêu đề tiếng Việt)."),
    output: Path | None = typer.Option(None, "--output", "-o", metavar="TỆP",
                                       help="Ghi ra tệp này."),
    chart: Path | None = typer.Option(None, "--chart", metavar="TỆP.png",
                                      help="Vẽ thêm biểu đồ PNG (theo cấp và đơn vị chậm; với "
                                      "khoảng năm hay --by tháng: biểu đồ xu hướng)."),
    plan_name: str | None = typer.Option(None, "--plan", metavar="KẾ_HOẠCH",
                                         help="Mã kế hoạch đã có (sohoa plans) hoặc tệp TOML "
                                         "(mặc định hanoi-161-2021-2025)."),
    all_units: bool = typer.Option(False, "--all-units", help="Liệt kê cả đơn vị chưa có kết "
                                   "quả nào."),
    ratios: bool = typer.Option(False, "--ratios", help="Các tỷ lệ theo Quyết định 766/QĐ-TTg "
                                "(có bản điện tử, đã số hóa, khai thác lại)."),
    reporting_unit: str = typer.Option("", "--from", metavar="ĐƠN_VỊ",
                                       help="XLSX: đơn vị báo cáo (góc trái tiêu đề)."),
    addressee: str = typer.Option("", "--to", metavar="NƠI_NHẬN",
                                  help="XLSX: kính gửi."),
    signer: str = typer.Option("", "--signer", metavar="HỌ_TÊN",
                               help="XLSX: người ký (thủ trưởng đơn vị)."),
    as_json: bool = typer.Option(False, "--json", hidden=True, help="Same as --format json."),
) -> None:
    fmt = "json" if as_json else _choice("--format", fmt_text, FORMATS, "table, json, csv, xlsx")
    level = _choice("--level", level_text, LEVELS_BOTH, "tỉnh, huyện, xã / city, district, commune")
    by = _choice("--by", by_text, BY, "năm, tháng / year, month") or "year"
    first, last = _years(year_text)
    if fmt == "xlsx" and output is None:
        _fail("--format xlsx cần --output TỆP.xlsx / needs --output FILE.xlsx")
    if excel and fmt != "csv":
        _fail("--excel chỉ dùng với --format csv / only with --format csv")
    if last is not None and by == "month":
        _fail("--by tháng dùng với một năm / --by month takes a single --year")
    if last is not None and as_of is not None:
        _fail("--as-of dùng với một năm / --as-of takes a single --year")
    if ratios and (last is not None or by == "month"):
        _fail("--ratios dùng với một năm / --ratios takes a single --year")
    _check_output("--output", output)
    _check_output("--chart", chart)
    try:
        plan = get_plan(plan_name)
    except PlanError as exc:
        _fail(str(exc))
    day = _parse_day(as_of)
    form = render.FormInfo(reporting_unit=reporting_unit, addressee=addressee, signer=signer)
    rt = _runtime()
    options = dict(level=level, unit=unit, parent=parent, behind=behind, all_units=all_units)
    try:
        with rt.session() as session:
            if last is not None:
                reports = build_year_reports(session, plan, first, last, **options)
            elif by == "month":
                reports = build_month_reports(session, plan, year=first, as_of=day, **options)
            else:
                reports = [build_report(session, plan, year=first, as_of=day, **options)]
            report = reports[-1]
            ratio_rows = None
            if ratios or (fmt == "xlsx" and len(reports) == 1):
                ratio_rows = ratios_766(session, plan.province, year=report.year,
                                        as_of=report.as_of, level=level, unit=unit,
                                        parent=parent)
    except ProgressError as exc:
        _fail(str(exc))
    series = len(reports) > 1 or by == "month"
    if chart is not None:
        if series:
            render.write_series_chart(reports, chart, by)
        else:
            render.write_chart(report, chart)
        err.print(f"đã ghi / wrote {chart}", markup=False)
    if ratios:
        if fmt == "json":
            _write(json.dumps([r.to_dict() for r in ratio_rows], ensure_ascii=False, indent=1),
                   output)
        elif fmt == "csv":
            _write(render.ratios_csv(ratio_rows), output)
        elif fmt == "xlsx":
            render.write_xlsx(report, output, ratio_rows, form)
            err.print(f"đã ghi / wrote {output}", markup=False)
        else:
            render.print_table(lambda w, c: render.ratios_table(ratio_rows, report.year), output)
        return
    if fmt == "json":
        _write(render.series_json(reports) if series else render.to_json(report), output)
    elif fmt == "csv":
        data = reports if series else report
        _write(render.to_excel_csv(data) if excel else render.to_csv(data), output)
    elif fmt == "xlsx":
        render.write_xlsx(reports if series else report, output, ratio_rows, form)
        err.print(f"đã ghi / wrote {output}", markup=False)
    elif series:
        render.print_table(lambda w, c: render.series_table(reports, by, w, c), output)
    else:
        render.print_table(lambda w, c: render.table(report, w, c), output)


progress.__doc__ = _reflow(PROGRESS_HELP)


@baseline_app.command("import")
def baseline_import(file: Path = typer.Argument(..., metavar="TỆP",
                                                help="CSV hoặc XLSX: unit_code (mã đơn vị), "
                                                "year (năm), valid_results (số kết quả còn hiệu "
                                                "lực) [, valid_on]")) -> None:
    """Nhập tổng số kết quả còn hiệu lực theo đơn vị và năm: nhập cả tệp hoặc không nhập dòng nào;
    lỗi ghi rõ dòng. (Import still-valid result totals per unit and year, all rows or none.)

    \b
    Ví dụ / example:
      sohoa baseline import tong-so-2026.xlsx
    \b
    tong-so-2026.csv:
      unit_code,year,valid_results
      00004,2026,1250
    """
    rt = _runtime()
    try:
        with rt.session() as session:
            summary = import_baseline(session, file)
    except ImportFileError as exc:
        _fail(str(exc), 1)
    err.print(f"{file}: {summary.rows} rows, {summary.created} added, {summary.updated} updated",
              markup=False)


@results_app.command("import")
def results_import(file: Path = typer.Argument(..., metavar="TỆP",
                                               help="Tệp CSV/XLSX xuất từ hệ thống một cửa")
                   ) -> None:
    """Nhập danh sách kết quả (mã hồ sơ, mã thủ tục, mã đơn vị, số, ngày ban hành, cơ quan ban hành,
    hiệu lực …). Kết quả đã có (cùng mã hồ sơ, hoặc cùng số + cơ quan + ngày ban hành) được cập
    nhật, không nhân đôi; bản đã số hóa trước đó được gắn vào. (Register results from the one-stop
    export; matching ones are updated and their scans linked.)

    \b
    Ví dụ / example:
      sohoa results import mot-cua-2025.csv
    \b
    Cột / columns (tiếng Việt hoặc tiếng Anh):
      ma_ho_so;ma_thu_tuc;ma_don_vi;so_ket_qua;ngay_ban_hanh;co_quan_ban_hanh
    """
    rt = _runtime()
    try:
        with rt.session() as session:
            summary = import_results(session, file)
    except ImportFileError as exc:
        _fail(str(exc), 1)
    err.print(f"{file}: {summary.rows} rows, {summary.created} registered, {summary.updated} "
              f"updated, {summary.linked_documents} digitized documents linked", markup=False)


@results_app.command("reconcile")
def results_reconcile(dry_run: bool = typer.Option(False, "--dry-run", help="Chỉ báo sẽ sửa gì, "
                                                   "không sửa. (Change nothing.)")) -> None:
    """Sửa danh mục đã có: gộp các kết quả trùng (cùng mã hồ sơ, hoặc cùng số + cơ quan + ngày ban
    hành) và gắn bản số hóa chưa có kết quả; in ra từng thay đổi. Số văn bản viết khác nhau vẫn là
    một số: "12/QĐ-UBND" = "12/QD - UBND" = "12/qđ–ubnd" (không phân biệt dấu, Đ/D, gạch nối,
    khoảng trắng, chữ hoa). (Merge duplicate results and link stored documents; prints every
    change. Numbers compare without accents, dashes, spaces or case.)

    \b
    Ví dụ / example:
      sohoa results reconcile --dry-run    xem trước, không sửa
      sohoa results reconcile
    """
    rt = _runtime()
    with rt.session() as session:
        summary = reconcile(session)
        lines = summary.lines()
        if dry_run:
            session.rollback()
    for line in lines:
        print(line)
    verb = "would merge" if dry_run else "merged"
    merged = sum(len(m.merged) for m in summary.merges)
    err.print(f"{verb} {merged} duplicate result(s) into {len(summary.merges)}, "
              f"{'would link' if dry_run else 'linked'} {len(summary.linked)} document(s)",
              markup=False)


def plans() -> None:
    """Các kế hoạch chỉ tiêu có sẵn và chỉ tiêu từng năm, từng cấp. (The shipped quota plans.)

    Kế hoạch 161/KH-UBND của Hà Nội chỉ có chỉ tiêu 2021–2025. Cho năm sau, viết tệp TOML theo văn
    bản giao chỉ tiêu và dùng: sohoa progress --year 2026 --plan tep.toml

    \b
    Mẫu tệp / plan file:
      \\[plan]
      id = "hanoi-2026"
      name = "Kế hoạch số …/KH-UBND năm 2026"
      province = "01"
      source = "số, ngày văn bản giao chỉ tiêu"
      \\[targets.2026]
      city = 100
      commune = 100
    """
    out = Console()
    for name, path in shipped_plans().items():
        plan = load_plan(path)
        out.print(f"[bold]{name}[/bold] — {plan.name} (tỉnh/province {plan.province})")
        if plan.basis:
            out.print(f"  căn cứ / source: {plan.basis}", highlight=False, markup=False)
        for year in plan.years:
            targets = ", ".join(f"{lvl} {pct:g}%" for lvl, pct in plan.targets[year].items())
            out.print(f"  {year}: {targets}", highlight=False)


for _command in (baseline_import, results_import, results_reconcile, plans):
    _command.__doc__ = _reflow(_command.__doc__)


def register(app: typer.Typer) -> None:
    app.command("progress")(progress)
    app.command("plans")(plans)
    app.add_typer(baseline_app, name="baseline")
    app.add_typer(results_app, name="results")
