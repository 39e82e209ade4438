"""Rendering of a progress report: a table that fits the terminal, JSON, CSV (machine, or for
Excel in Vietnamese), XLSX in the official report form, and PNG charts.

JSON and the machine CSV carry the machine keys (quotas.progress.JSON_KEYS first); the table,
the Excel CSV, the workbook and the charts are for records managers and speak Vietnamese.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from quotas.progress import ProgressRow, Report
from quotas.ratios import RatioRow

STATUS_VI = {"met": "Đạt", "on_track": "Đúng tiến độ", "behind": "Chậm",
             "no_target": "Chưa có chỉ tiêu", "no_data": "Chưa có số liệu"}
STATUS_STYLE = {"met": "green", "on_track": "cyan", "behind": "red", "no_target": "dim",
                "no_data": "yellow"}
# The level of a unit, named as the level ("Cấp huyện | Quận Ba Đình", not "Huyện | Quận …").
LEVEL_VI = {"city": "Cấp tỉnh", "district": "Cấp huyện", "commune": "Cấp xã", "total": ""}
NO_DATA = "chưa có số liệu"


def _num(value) -> str:
    return "—" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def bar(percent: float | None, target: float | None, width: int = 20) -> str:
    """A text progress bar; '│' marks the target; blank dots when there is no figure."""
    if percent is None:
        return "·" * width
    filled = round(width * min(percent, 100.0) / 100.0)
    cells = ["█"] * filled + ["░"] * (width - filled)
    if target is not None:
        mark = min(width - 1, round(width * target / 100.0))
        cells[mark] = "│"
    return "".join(cells)


def period_label(period: str | None, year: int | None = None) -> str:
    """"cả năm", "01/01–30/06", "tất cả" (a level's units over several periods), or for a unit
    dissolved before the year "đến 30/06/2025"."""
    if not period:
        return "cả năm"
    if period == "all":
        return "tất cả"
    first, last = period.split("/")
    if year is not None and int(first[:4]) < year and int(last[:4]) < year:
        return f"đến {last[8:10]}/{last[5:7]}/{last[:4]}"
    return f"{first[8:10]}/{first[5:7]}–{last[8:10]}/{last[5:7]}"


def title(report: Report) -> str:
    scope = f" — {report.parent.name}" if report.parent is not None else ""
    head = (f"Tiến độ số hóa kết quả giải quyết TTHC năm {report.year}{scope} "
            f"(đến ngày {report.as_of:%d/%m/%Y})")
    if report.beyond_plan:
        return f"{head} — NGOÀI KẾ HOẠCH ĐÃ NẠP ({report.plan.name}): chưa có chỉ tiêu"
    return f"{head} — {report.plan.name}"


# ------------------------------------------------------------------ the terminal table

@dataclass(frozen=True)
class Column:
    key: str
    header: str
    priority: int  # dropped first: highest number
    justify: str = "left"


COLUMNS = (
    Column("level", "Cấp", 6),
    Column("code", "Mã", 1),
    Column("name", "Đơn vị", 0),
    Column("period", "Giai đoạn", 4),
    Column("valid", "Còn HL", 2, "right"),
    Column("digitized", "Đã SH", 2, "right"),
    Column("pending", "Chờ KT", 5, "right"),
    Column("bar", "Tiến độ (│ = chỉ tiêu)", 8),
    Column("percent", "Tỷ lệ %", 1, "right"),
    Column("target", "Chỉ tiêu %", 3, "right"),
    Column("forecast", "Dự báo %", 7, "right"),
    Column("status", "Trạng thái", 2),
)
NAME_MIN = 16  # the unit name never shrinks below this: it wraps instead
LEGEND = ("Còn HL: kết quả còn hiệu lực; Đã SH: đã số hóa; Chờ KT: bản số hóa chờ kiểm tra; "
          "Tỷ lệ = Đã SH / Còn HL.")


def _cells(row: ProgressRow, year: int) -> dict[str, str]:
    return {
        "level": LEVEL_VI.get(row.level, row.level), "code": row.unit_code or "",
        "name": row.unit_name, "period": period_label(row.period, year),
        "valid": f"{row.valid_results:,}".replace(",", ".") if row.denominator_known else "—",
        "digitized": f"{row.digitized:,}".replace(",", "."),
        "pending": str(row.pending_review) if row.pending_review else "",
        "bar": bar(row.percent, row.target_percent), "percent": _pct(row.percent),
        "target": _num(row.target_percent), "forecast": _pct(row.forecast_percent),
        "status": STATUS_VI.get(row.status, row.status),
    }


def fit_columns(report: Report, width: int) -> list[Column]:
    """The columns that fit `width` characters: drop by priority (the bar first, the name and
    the code never); the name column keeps at least NAME_MIN and wraps."""
    cells = [_cells(r, report.year) for r in report.rows]
    periods = any(r.period for r in report.rows)
    columns = [c for c in COLUMNS if periods or c.key != "period"]

    def need(cols: list[Column]) -> int:
        total = 1 + 3 * len(cols)  # borders and padding of a heavy-head box
        for col in cols:
            if col.key == "name":
                total += NAME_MIN
            else:
                total += max([len(col.header)] + [len(c[col.key]) for c in cells])
        return total

    while need(columns) > width:
        droppable = [c for c in columns if c.priority > 1]
        if not droppable:
            break
        columns.remove(max(droppable, key=lambda c: c.priority))
    return columns


def table(report: Report, width: int = 120, color: bool = True):
    from rich import box
    from rich.table import Table

    columns = fit_columns(report, width)
    t = Table(title=title(report), box=box.HEAVY_HEAD if color else box.ASCII2,
              title_justify="left", caption_justify="left", width=None)
    for col in columns:
        if col.key == "name":
            t.add_column(col.header, min_width=NAME_MIN, overflow="fold", ratio=1)
        else:
            t.add_column(col.header, justify=col.justify, no_wrap=True)
    keys = {c.key for c in columns}
    previous = None
    for row in report.rows:
        if previous is not None and previous != row.scope and row.scope in ("unit", "total"):
            t.add_section()
        previous = row.scope
        cells = _cells(row, report.year)
        if "period" not in keys and row.period:  # rows must stay distinguishable
            cells["name"] = f"{cells['name']} ({cells['period']})"
        if "level" not in keys and row.scope == "unit":
            cells["name"] = f"{cells['name']} [{LEVEL_VI.get(row.level, row.level)}]"
        style = STATUS_STYLE.get(row.status, "") if color else ""
        out = []
        for col in columns:
            text = cells[col.key].replace("[", r"\[")
            if col.key in ("bar", "status") and style:
                text = f"[{style}]{text}[/{style}]"
            if col.key == "name" and row.scope != "unit" and color:
                text = f"[bold]{text}[/bold]"
            out.append(text)
        t.add_row(*out)
    caption = [LEGEND] if report.rows else ["Không có dữ liệu cho lựa chọn này."]
    periods = any(r.period for r in report.rows)
    dropped = [c.header for c in COLUMNS if c not in columns and (periods or c.key != "period")]
    if dropped:
        caption.append(f"Cột không vừa màn hình ({width} cột), xem --format xlsx: "
                       f"{', '.join(dropped)}.")
    caption += [f"Lưu ý: {note}" for note in report.notes]
    t.caption = "\n".join(caption)
    return t


def print_table(renderable_for, output: Path | None = None) -> None:
    """Print a table to the terminal at its width, or plain (no colour, ASCII box) at $COLUMNS
    (default 120) when piped or written to a file."""
    import os
    import shutil

    from rich.console import Console

    if output is not None:
        width = int(os.environ.get("COLUMNS", "0") or 0) or 120
        with open(output, "w", encoding="utf-8") as handle:
            Console(file=handle, width=width, color_system=None, soft_wrap=False).print(
                renderable_for(width, False))
        return
    console = Console()
    if console.is_terminal:
        console.print(renderable_for(console.width, True))
        return
    width = int(os.environ.get("COLUMNS", "0") or 0) or shutil.get_terminal_size((120, 24))[0]
    Console(width=width, color_system=None, force_terminal=False).print(
        renderable_for(width, False))


# ------------------------------------------------------------------ trend and months

def series_table(reports: list[Report], by: str, width: int = 120, color: bool = True):
    """One row per year (or month) and level: the 2021→2025 trend or the monthly figures."""
    from rich import box
    from rich.table import Table

    first, last = reports[0], reports[-1]
    what = (f"theo tháng năm {first.year}" if by == "month"
            else f"{first.year}–{last.year}")
    scope = f" — {first.parent.name}" if first.parent is not None else ""
    t = Table(title=f"Tiến độ số hóa kết quả giải quyết TTHC {what}{scope}",
              box=box.HEAVY_HEAD if color else box.ASCII2, title_justify="left",
              caption_justify="left")
    t.add_column("Tháng" if by == "month" else "Năm", no_wrap=True)
    t.add_column("Cấp / đơn vị", min_width=NAME_MIN, overflow="fold", ratio=1)
    for header in ("Còn HL", "Đã SH", "Tỷ lệ %", "Chỉ tiêu %"):
        t.add_column(header, justify="right", no_wrap=True)
    t.add_column("Trạng thái", no_wrap=True)
    for report in reports:
        label = f"{report.as_of:%m/%Y}" if by == "month" else str(report.year)
        rows = [r for r in report.rows if r.scope != "unit"] or report.units
        for row in rows:
            name = row.unit_name if row.scope != "level" or not row.period else (
                f"{row.unit_name} ({period_label(row.period, report.year)})")
            t.add_row(label, name, f"{row.valid_results:,}".replace(",", ".")
                      if row.denominator_known else "—",
                      f"{row.digitized:,}".replace(",", "."), _pct(row.percent),
                      _num(row.target_percent), STATUS_VI.get(row.status, row.status))
            label = ""
        t.add_section()
    notes = {n for r in reports for n in r.notes if "ngoài kế hoạch" in n}
    t.caption = "\n".join([LEGEND] + [f"Lưu ý: {n}" for n in sorted(notes)])
    return t


# ------------------------------------------------------------------ JSON and CSV

def to_json(report: Report) -> str:
    return json.dumps([r.to_dict() for r in report.rows], ensure_ascii=False, indent=1)


def series_json(reports: list[Report]) -> str:
    return json.dumps([{**r.to_dict(), "as_of": rep.as_of.isoformat()}
                       for rep in reports for r in rep.rows], ensure_ascii=False, indent=1)


def to_csv(report: Report | list[Report]) -> str:
    """The machine CSV: UTF-8, ',' and the JSON keys; a series adds an as_of column."""
    reports = report if isinstance(report, list) else [report]
    buffer = io.StringIO()
    rows = [{**r.to_dict(), **({"as_of": rep.as_of.isoformat()} if len(reports) > 1 else {})}
            for rep in reports for r in rep.rows]
    fields = list(rows[0]) if rows else list(ProgressRow.__dataclass_fields__)
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


EXCEL_HEADERS = ["STT", "Đến ngày", "Cấp", "Mã đơn vị", "Tên đơn vị", "Giai đoạn",
                 "Kết quả còn hiệu lực", "Đã số hóa", "Chờ kiểm tra", "Tỷ lệ số hóa (%)",
                 "Chỉ tiêu (%)", "Còn thiếu (điểm)", "Dự báo cuối năm (%)", "Trạng thái"]


def _vn_number(value) -> str:
    """A number as Excel reads it in vi-VN: decimal comma, no grouping."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


def to_excel_csv(report: Report | list[Report]) -> str:
    """CSV that Excel opens right with Vietnamese settings: a BOM, ';' between fields,
    Vietnamese headers, decimal commas, "chưa có số liệu" where there is no figure."""
    reports = report if isinstance(report, list) else [report]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXCEL_HEADERS)
    number = 0
    for rep in reports:
        for r in rep.rows:
            number += 1
            writer.writerow([
                number, f"{rep.as_of:%d/%m/%Y}", LEVEL_VI.get(r.level, r.level),
                r.unit_code or "", r.unit_name, period_label(r.period, rep.year),
                r.valid_results if r.denominator_known else NO_DATA, r.digitized,
                r.pending_review, _vn_number(r.percent) if r.percent is not None else NO_DATA,
                _vn_number(r.target_percent), _vn_number(r.gap),
                _vn_number(r.forecast_percent), STATUS_VI.get(r.status, r.status)])
    return "\ufeff" + buffer.getvalue()


def ratios_csv(rows: list[RatioRow]) -> str:
    buffer = io.StringIO()
    fields = list(RatioRow.__dataclass_fields__)
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.to_dict())
    return buffer.getvalue()


def ratios_table(rows: list[RatioRow], year: int):
    from rich.table import Table

    t = Table(title=f"Chỉ số số hóa theo Quyết định 766/QĐ-TTg — năm {year}",
              title_justify="left", caption_justify="left")
    t.add_column("Mã", no_wrap=True)
    t.add_column("Đơn vị", min_width=NAME_MIN, overflow="fold")
    for header in ("KQ", "% ĐT", "% SH", "% KTL", "Tối đa"):
        t.add_column(header, justify="right", no_wrap=True)
    for x in rows:
        t.add_row(x.unit_code, f"{x.unit_name} [{LEVEL_VI.get(x.level, x.level)}]"
                  .replace("[", r"\["), str(x.results),
                  f"{x.electronic_percent:.2f}", f"{x.digitized_percent:.2f}",
                  f"{x.reused_percent:.2f}", "Có" if x.full_points else "Không")
    t.caption = ("KQ: kết quả cấp trong năm; ĐT: có bản điện tử; SH: đã số hóa; KTL: được "
                 "khai thác lại; Tối đa: đạt điểm tối đa.\n" + MEASURE_766)
    return t


MEASURE_766 = ("Tỷ lệ theo Quyết định 766/QĐ-TTg: mẫu số là số kết quả cấp trong năm đến ngày "
               "báo cáo (không gồm kết quả các năm trước còn hiệu lực), nên \"% số hóa\" ở đây "
               "khác tỷ lệ tiến độ theo kế hoạch (mẫu số: mọi kết quả còn hiệu lực trong năm). "
               "Đạt từ 80% trở lên ở cả ba tỷ lệ: được điểm tối đa.")


# ------------------------------------------------------------------ XLSX, official form

@dataclass
class FormInfo:
    """Who reports to whom, and who signs (the official report's header and signature block)."""

    reporting_unit: str = ""
    addressee: str = ""
    place: str = "Hà Nội"
    preparer: str = ""
    signer: str = ""
    signer_title: str = "THỦ TRƯỞNG ĐƠN VỊ"
    day: date | None = None


SHEET_HEADERS = ["STT", "Cấp", "Mã", "Đơn vị", "Giai đoạn", "Kết quả còn hiệu lực", "Đã số hóa",
                 "Chờ kiểm tra", "Tỷ lệ số hóa", "Chỉ tiêu", "Còn thiếu (điểm)",
                 "Dự báo cuối năm", "Trạng thái"]
PERCENT_COLUMNS = (9, 10, 12)  # 1-based: fractions shown with a % number format


def _form_head(sheet, form: FormInfo, heading: str, subtitle: str, columns: int) -> int:
    """The Decree 30 header (issuing body left, national motto right), the title, the
    addressee; returns the next free row."""
    from openpyxl.styles import Alignment, Font

    half = max(3, columns // 2)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=half - 1)
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=half - 1)
    sheet.merge_cells(start_row=1, start_column=half, end_row=1, end_column=columns)
    sheet.merge_cells(start_row=2, start_column=half, end_row=2, end_column=columns)
    sheet.cell(1, 1, (form.reporting_unit or "ĐƠN VỊ BÁO CÁO: ……………").upper())
    sheet.cell(1, half, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    sheet.cell(2, half, "Độc lập - Tự do - Hạnh phúc")
    for r, c in ((1, 1), (1, half), (2, half)):
        sheet.cell(r, c).font = Font(bold=True)
        sheet.cell(r, c).alignment = Alignment(horizontal="center")
    for row, text, font in ((4, heading, Font(bold=True, size=14)),
                            (5, subtitle, Font(italic=True)),
                            (6, f"Kính gửi: {form.addressee or '……………'}", Font(bold=False))):
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
        sheet.cell(row, 1, text).font = font
        sheet.cell(row, 1).alignment = Alignment(horizontal="center", wrap_text=True)
    return 8


def _header_row(sheet, row: int, headers: list[str]) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin")
    for col, text in enumerate(headers, start=1):
        cell = sheet.cell(row, col, text)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)


def _signature_block(sheet, row: int, form: FormInfo, columns: int) -> None:
    from openpyxl.styles import Alignment, Font

    day = form.day or date.today()
    half = max(3, columns // 2)
    sheet.cell(row, half, f"{form.place}, ngày {day:%d} tháng {day:%m} năm {day:%Y}").font = \
        Font(italic=True)
    sheet.cell(row + 1, 2, "NGƯỜI LẬP BIỂU").font = Font(bold=True)
    sheet.cell(row + 1, half, form.signer_title.upper()).font = Font(bold=True)
    sheet.cell(row + 2, 2, "(Ký, ghi rõ họ tên)").font = Font(italic=True)
    sheet.cell(row + 2, half, "(Ký, ghi rõ họ tên, đóng dấu)").font = Font(italic=True)
    sheet.cell(row + 6, 2, form.preparer)
    sheet.cell(row + 6, half, form.signer).font = Font(bold=True)
    for r in range(row, row + 7):
        sheet.cell(r, half).alignment = Alignment(horizontal="center")


def _frac(value: float | None):
    return None if value is None else round(value / 100.0, 4)


def write_xlsx(report: Report | list[Report], path: Path,
               ratios: list[RatioRow] | None = None, form: FormInfo | None = None) -> None:
    """The progress sheet (one per year or month of a series, and the Decision 766 sheet) in the
    form a records manager signs: header, title, addressee, STT, totals, % format, notes, date
    and signature block."""
    from openpyxl import Workbook

    form = form or FormInfo()
    reports = report if isinstance(report, list) else [report]
    book = Workbook()
    book.remove(book.active)
    for rep in reports:
        label = f"{rep.as_of:%m-%Y}" if len(reports) > 1 and rep.year == reports[0].year \
            and len({r.year for r in reports}) == 1 else str(rep.year)
        _progress_sheet(book.create_sheet(f"Tiến độ {label}"), rep, form)
    if ratios is not None:
        _ratios_sheet(book, reports[-1], ratios, form)
    _save(book, path)


def _progress_sheet(sheet, report: Report, form: FormInfo) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    columns = len(SHEET_HEADERS)
    scope = f" — {report.parent.name}" if report.parent is not None else ""
    row = _form_head(sheet, form, "BÁO CÁO TIẾN ĐỘ SỐ HÓA KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
                     f"Năm {report.year}{scope}, số liệu đến ngày {report.as_of:%d/%m/%Y}; "
                     f"chỉ tiêu: {report.plan.name}"
                     + (" — năm ngoài kế hoạch, chưa có chỉ tiêu" if report.beyond_plan else ""),
                     columns)
    _header_row(sheet, row, SHEET_HEADERS)
    header_row = row
    fills = {"behind": PatternFill("solid", fgColor="F8CBAD"),
             "met": PatternFill("solid", fgColor="C6EFCE"),
             "no_data": PatternFill("solid", fgColor="FFF2CC")}
    number = 0
    for r in report.rows:
        row += 1
        stt = None
        if r.scope == "unit":
            number += 1
            stt = number
        sheet.append([stt, LEVEL_VI.get(r.level, r.level), r.unit_code or "", r.unit_name,
                      period_label(r.period, report.year),
                      r.valid_results if r.denominator_known else NO_DATA, r.digitized,
                      r.pending_review, _frac(r.percent) if r.percent is not None else NO_DATA,
                      _frac(r.target_percent), r.gap, _frac(r.forecast_percent),
                      STATUS_VI.get(r.status, r.status)])
        for col in PERCENT_COLUMNS:
            sheet.cell(row, col).number_format = "0.00%"
        sheet.cell(row, 11).number_format = "0.00"
        if r.scope != "unit":
            for cell in sheet[row]:
                cell.font = Font(bold=True)
        if r.status in fills:
            sheet.cell(row, 13).fill = fills[r.status]
    row += 2
    notes = [LEGEND.replace("Còn HL", "Kết quả còn hiệu lực").replace("Đã SH", "Đã số hóa")
             .replace("Chờ KT", "Chờ kiểm tra"), *report.notes]
    for note in notes:
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
        sheet.cell(row, 1, f"Ghi chú: {note}").alignment = Alignment(wrap_text=True,
                                                                     vertical="top")
        sheet.row_dimensions[row].height = 30
        row += 1
    _signature_block(sheet, row + 1, form, columns)
    for column, width in zip("ABCDEFGHIJKLM", (5, 10, 8, 34, 12, 12, 10, 9, 10, 9, 10, 11, 16),
                             strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"


RATIO_HEADERS = ["STT", "Cấp", "Mã", "Đơn vị", "Kết quả cấp trong năm", "Có bản điện tử",
                 "Đã số hóa", "Được khai thác lại", "Tỷ lệ điện tử", "Tỷ lệ số hóa",
                 "Tỷ lệ khai thác lại", "Đạt điểm tối đa"]


def _ratios_sheet(book, report: Report, ratios: list[RatioRow], form: FormInfo) -> None:
    from openpyxl.styles import Alignment, Font

    sheet = book.create_sheet("QĐ 766")
    columns = len(RATIO_HEADERS)
    row = _form_head(sheet, form, "CHỈ SỐ SỐ HÓA HỒ SƠ, KẾT QUẢ GIẢI QUYẾT TTHC "
                     "(QUYẾT ĐỊNH 766/QĐ-TTg)",
                     f"Năm {report.year}, số liệu đến ngày {report.as_of:%d/%m/%Y}", columns)
    sheet.merge_cells(start_row=7, start_column=1, end_row=7, end_column=columns)
    sheet.cell(7, 1, f"Cách tính: {MEASURE_766}").alignment = Alignment(wrap_text=True)
    sheet.row_dimensions[7].height = 45
    _header_row(sheet, row, RATIO_HEADERS)
    for number, x in enumerate(ratios, start=1):
        row += 1
        sheet.append([number, LEVEL_VI.get(x.level, x.level), x.unit_code, x.unit_name, x.results,
                      x.electronic, x.digitized, x.reused, _frac(x.electronic_percent),
                      _frac(x.digitized_percent), _frac(x.reused_percent),
                      "Có" if x.full_points else "Không"])
        for col in (9, 10, 11):
            sheet.cell(row, col).number_format = "0.00%"
    row += 1
    totals = [sum(getattr(x, k) for x in ratios) for k in ("results", "electronic", "digitized",
                                                         "reused")]

    def share(part: int) -> float:
        return round(part / totals[0], 4) if totals[0] else 0.0

    sheet.append([None, "", "", "Tổng cộng", *totals, share(totals[1]), share(totals[2]),
                  share(totals[3]), ""])
    for cell in sheet[row]:
        cell.font = Font(bold=True)
    for col in (9, 10, 11):
        sheet.cell(row, col).number_format = "0.00%"
    _signature_block(sheet, row + 2, form, columns)
    for column, width in zip("ABCDEFGHIJKL", (5, 10, 8, 34, 11, 11, 10, 11, 10, 10, 11, 10),
                             strict=True):
        sheet.column_dimensions[column].width = width


def _save(book, path: Path) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        book.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------ charts

COLORS = {"percent": "#2e7d32", "forecast": "#90caf9", "target": "#c62828", "lag": "#ef6c00"}


def _label_bars(ax, bars, values, horizontal: bool = False) -> None:
    """Each bar's value ("73,3%"); "—" where there is no figure (explained under the chart)."""
    labels = ["—" if v is None else f"{v:.1f}%".replace(".", ",") for v in values]
    ax.bar_label(bars, labels=labels, padding=2, fontsize=7)
    for bar_, value in zip(bars, values, strict=True):
        if value is None:  # no stub for a missing figure: only 0% gets a visible sliver
            bar_.set_height(0) if not horizontal else bar_.set_width(0)


NO_DATA_FOOT = "—: chưa có số liệu (đơn vị chưa nhập tổng số hay danh sách kết quả)"


def write_chart(report: Report, path: Path, lagging: int = 15) -> None:
    """Levels (percent, forecast, target) on the left; the most lagging units on the right.
    Every bar carries its value; a 0% bar is drawn as a thin stub so it is seen."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    levels = [r for r in report.rows if r.scope in ("level", "total")]
    units = sorted((r for r in report.units if r.target_percent is not None
                    and r.percent is not None), key=lambda r: (r.gap or 0.0), reverse=True)
    units = [u for u in units if (u.gap or 0) > 0][:lagging]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6),
                                      gridspec_kw={"width_ratios": [1.2, 1.6]})
    labels = [f"{LEVEL_VI.get(r.level) or 'Tổng'}\n{period_label(r.period, report.year)}"
              for r in levels]
    xs = list(range(len(levels)))
    stub = 0.6  # a 0% bar stays visible

    def heights(values):
        return [v if v else stub for v in values]

    done = [r.percent for r in levels]
    ahead = [r.forecast_percent for r in levels]
    b1 = left.bar([x - 0.2 for x in xs], heights(done), 0.4, label="Đã số hóa %",
                  color=COLORS["percent"])
    b2 = left.bar([x + 0.2 for x in xs], heights(ahead), 0.4, label="Dự báo cuối năm %",
                  color=COLORS["forecast"])
    _label_bars(left, b1, done)
    _label_bars(left, b2, ahead)
    for x, r in zip(xs, levels, strict=True):
        if r.target_percent is not None:
            left.hlines(r.target_percent, x - 0.45, x + 0.45, colors=COLORS["target"],
                        linewidth=2)
    left.plot([], [], color=COLORS["target"], label="Chỉ tiêu")
    left.set_xticks(xs, labels, fontsize=8)
    left.set_ylim(0, 125)
    left.set_yticks(range(0, 101, 20))
    left.set_title(f"Theo cấp — năm {report.year}")
    left.legend(loc="upper center", fontsize=8, ncol=3)
    if units:
        names = [f"{u.unit_code} {u.unit_name}"[:34] for u in units][::-1]
        values = [u.percent for u in units][::-1]
        bars = right.barh(names, heights(values), color=COLORS["lag"], label="Đã số hóa %")
        _label_bars(right, bars, values, horizontal=True)
        right.scatter([u.target_percent for u in units][::-1], names, color=COLORS["target"],
                      marker="|", s=200, label="Chỉ tiêu")
        right.set_xlim(0, 110)
        right.tick_params(axis="y", labelsize=8)
        right.legend(loc="lower right", fontsize=8)
    else:
        if report.beyond_plan:
            text = (f"Năm {report.year} chưa có chỉ tiêu\n(ngoài kế hoạch đã nạp):\n"
                    "không xác định được đơn vị chậm.\nNạp kế hoạch mới bằng --plan")
        elif not any(u.target_percent is not None for u in report.units):
            text = "Không có chỉ tiêu để so sánh"
        else:
            text = "Không có đơn vị chậm tiến độ"
        right.text(0.5, 0.5, text, ha="center", va="center")
        right.set_axis_off()
    right.set_title("Đơn vị chậm nhất (so với chỉ tiêu)")
    fig.suptitle(title(report).replace(" — ", "\n", 1), fontsize=10)
    fig.text(0.01, 0.01, NO_DATA_FOOT, fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _save_figure(fig, path)
    plt.close(fig)


def write_series_chart(reports: list[Report], path: Path, by: str) -> None:
    """The 2021→2025 trend (or the months of a year): percent per level with value labels and
    each period's target as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    periods = [f"{r.as_of:%m/%Y}" if by == "month" else str(r.year) for r in reports]
    fig, ax = plt.subplots(figsize=(11, 5.5))
    levels = [lvl for lvl in ("city", "district", "commune", "total")
              if any(row.level == lvl for rep in reports for row in rep.rows
                     if row.scope != "unit")]
    width = 0.8 / max(1, len(levels))
    palette = {"city": "#1565c0", "district": "#6a1b9a", "commune": "#2e7d32", "total": "#424242"}
    for i, lvl in enumerate(levels):
        values, targets = [], []
        for rep in reports:
            row = next((r for r in rep.rows if r.level == lvl and r.scope != "unit"
                        and r.period in (None, "all")), None)
            values.append(row.percent if row else None)
            targets.append(row.target_percent if row else None)
        xs = [x + (i - (len(levels) - 1) / 2) * width for x in range(len(reports))]
        bars = ax.bar(xs, [v if v else 0.6 for v in values], width,
                      label=LEVEL_VI.get(lvl) or "Tổng cộng", color=palette[lvl])
        _label_bars(ax, bars, values)
        if any(t is not None for t in targets):
            ax.plot(xs, [t if t is not None else float("nan") for t in targets], "--",
                    color=palette[lvl], linewidth=1, alpha=0.7)
    ax.set_xticks(range(len(reports)), periods, rotation=45 if by == "month" else 0,
                  fontsize=8)
    ax.set_ylim(0, 120)
    ax.set_ylabel("Tỷ lệ số hóa %")
    ax.legend(fontsize=8, ncol=4, loc="upper left")
    what = f"theo tháng năm {reports[0].year}" if by == "month" else (
        f"{reports[0].year}–{reports[-1].year}")
    ax.set_title(f"Tiến độ số hóa {what} (nét đứt: chỉ tiêu)")
    fig.text(0.01, 0.01, NO_DATA_FOOT, fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _save_figure(fig, path)
    plt.close(fig)


def _save_figure(fig, path: Path) -> None:
    tmp = path.with_name(path.name + ".part.png")
    try:
        fig.savefig(tmp, dpi=110)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
