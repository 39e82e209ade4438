"""Rendering of a progress report: Rich table with progress bars, JSON, CSV, XLSX and a PNG chart.

JSON and CSV carry the machine keys (quotas.progress.JSON_KEYS first); the table, the workbook
and the chart are for records managers and speak Vietnamese.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from quotas.progress import ProgressRow, Report
from quotas.ratios import RatioRow

STATUS_VI = {"met": "Đạt", "on_track": "Đúng tiến độ", "behind": "Chậm", "no_target": "Không có chỉ tiêu",
             "no_data": "Chưa có dữ liệu"}
STATUS_STYLE = {"met": "green", "on_track": "cyan", "behind": "red", "no_target": "dim",
                "no_data": "dim"}
LEVEL_VI = {"city": "Thành phố", "district": "Huyện", "commune": "Xã"}
HEADERS_VI = ["Cấp", "Mã", "Đơn vị", "Giai đoạn", "KQ còn hiệu lực", "Đã số hóa", "Tỷ lệ %",
              "Chỉ tiêu %", "Thiếu (điểm)", "Dự báo cuối năm %", "Trạng thái"]


def _num(value) -> str:
    return "—" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def bar(percent: float, target: float | None, width: int = 20) -> str:
    """A text progress bar; '│' marks the target."""
    filled = round(width * min(percent, 100.0) / 100.0)
    cells = ["█"] * filled + ["░"] * (width - filled)
    if target is not None:
        mark = min(width - 1, round(width * target / 100.0))
        cells[mark] = "│"
    return "".join(cells)


def period_label(period: str | None, year: int | None = None) -> str:
    """"cả năm", "01/01–30/06", or for a unit dissolved before the year "đến 30/06/2025"."""
    if not period:
        return "cả năm"
    first, last = period.split("/")
    if year is not None and int(first[:4]) < year and int(last[:4]) < year:
        return f"đến {last[8:10]}/{last[5:7]}/{last[:4]}"
    return f"{first[8:10]}/{first[5:7]}–{last[8:10]}/{last[5:7]}"


def table(report: Report):
    from rich.table import Table

    title = (f"Tiến độ số hóa kết quả TTHC năm {report.year} (đến {report.as_of:%d/%m/%Y}) — "
             f"{report.plan.name}")
    t = Table(title=title, show_lines=False)
    periods = any(row.period for row in report.rows)
    t.add_column("Cấp", no_wrap=True)
    t.add_column("Mã", no_wrap=True)
    t.add_column("Đơn vị")
    if periods:
        t.add_column("Giai đoạn", no_wrap=True)
    for header in ("KQ còn hiệu lực", "Đã số hóa"):
        t.add_column(header, justify="right", no_wrap=True)
    t.add_column("Tiến độ (│ = chỉ tiêu)", no_wrap=True, min_width=20)
    for header in ("Tỷ lệ %", "Chỉ tiêu %", "Dự báo %"):
        t.add_column(header, justify="right", no_wrap=True)
    t.add_column("Trạng thái", no_wrap=True)
    previous_scope = None
    for row in report.rows:
        if previous_scope == "level" and row.scope == "unit":
            t.add_section()
        previous_scope = row.scope
        style = STATUS_STYLE.get(row.status, "")
        name = f"[bold]{row.unit_name}[/bold]" if row.scope == "level" else row.unit_name
        cells = [LEVEL_VI.get(row.level, row.level), row.unit_code or "", name]
        if periods:
            cells.append(period_label(row.period, report.year))
        cells += [f"{row.valid_results:,}", f"{row.digitized:,}",
                  f"[{style}]{bar(row.percent, row.target_percent)}[/{style}]",
                  f"{row.percent:.2f}", _num(row.target_percent), f"{row.forecast_percent:.2f}",
                  f"[{style}]{STATUS_VI.get(row.status, row.status)}[/{style}]"]
        t.add_row(*cells)
    if not report.rows:
        t.caption = "Không có dữ liệu cho lựa chọn này."
    return t


def to_json(report: Report) -> str:
    return json.dumps([r.to_dict() for r in report.rows], ensure_ascii=False, indent=1)


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    rows = [r.to_dict() for r in report.rows]
    fields = list(rows[0]) if rows else list(ProgressRow.__dataclass_fields__)
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def write_xlsx(report: Report, path: Path, ratios: list[RatioRow] | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = f"Tiến độ {report.year}"
    sheet.append([f"Tiến độ số hóa năm {report.year}, đến ngày {report.as_of:%d/%m/%Y}",
                  report.plan.name])
    sheet.append(HEADERS_VI)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    fills = {"behind": PatternFill("solid", fgColor="F8CBAD"),
             "met": PatternFill("solid", fgColor="C6EFCE")}
    for row in report.rows:
        sheet.append([LEVEL_VI.get(row.level, row.level), row.unit_code or "", row.unit_name,
                      period_label(row.period, report.year), row.valid_results, row.digitized, row.percent,
                      row.target_percent, row.gap, row.forecast_percent,
                      STATUS_VI.get(row.status, row.status)])
        if row.scope == "level":
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        if row.status in fills:
            sheet.cell(sheet.max_row, 11).fill = fills[row.status]
    for column, width in zip("ABCDEFGHIJK", (10, 8, 34, 12, 14, 12, 9, 10, 11, 16, 18),
                             strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A3"
    if ratios is not None:
        r = book.create_sheet("QĐ 766")
        r.append(["Cấp", "Mã", "Đơn vị", "Kết quả", "Có bản điện tử", "Đã số hóa",
                  "Được khai thác lại", "% điện tử", "% số hóa", "% khai thác lại", "Đạt điểm tối đa"])
        for cell in r[1]:
            cell.font = Font(bold=True)
        for x in ratios:
            r.append([LEVEL_VI.get(x.level, x.level), x.unit_code, x.unit_name, x.results,
                      x.electronic, x.digitized, x.reused, x.electronic_percent,
                      x.digitized_percent, x.reused_percent, "Có" if x.full_points else "Không"])
    tmp = path.with_name(path.name + ".part")
    book.save(tmp)
    tmp.replace(path)


def write_chart(report: Report, path: Path, lagging: int = 15) -> None:
    """Levels (percent, forecast, target) on the left; the most lagging units on the right."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    levels = report.levels
    units = sorted((r for r in report.units if r.target_percent is not None and r.valid_results),
                   key=lambda r: (r.gap or 0.0), reverse=True)[:lagging]
    units = [u for u in units if (u.gap or 0) > 0] or units
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5),
                                      gridspec_kw={"width_ratios": [1, 1.6]})
    labels = [f"{LEVEL_VI.get(r.level, r.level)}\n{period_label(r.period, report.year)}" for r in levels]
    xs = range(len(levels))
    left.bar([x - 0.2 for x in xs], [r.percent for r in levels], 0.4, label="Đã số hóa %",
             color="#2e7d32")
    left.bar([x + 0.2 for x in xs], [r.forecast_percent for r in levels], 0.4,
             label="Dự báo cuối năm %", color="#90caf9")
    for x, r in zip(xs, levels, strict=True):
        if r.target_percent is not None:
            left.hlines(r.target_percent, x - 0.45, x + 0.45, colors="#c62828", linewidth=2)
    left.plot([], [], color="#c62828", label="Chỉ tiêu")
    left.set_xticks(list(xs), labels)
    left.set_ylim(0, 125)
    left.set_yticks(range(0, 101, 20))
    left.set_title(f"Theo cấp — năm {report.year}")
    left.legend(loc="upper center", fontsize=8, ncol=3)
    if units:
        names = [f"{u.unit_code} {u.unit_name}"[:32] for u in units][::-1]
        right.barh(names, [u.percent for u in units][::-1], color="#ef6c00", label="Đã số hóa %")
        right.scatter([u.target_percent for u in units][::-1], names, color="#c62828",
                      marker="|", s=200, label="Chỉ tiêu")
        right.set_xlim(0, 105)
        right.legend(loc="lower right", fontsize=8)
    else:
        right.text(0.5, 0.5, "Không có đơn vị chậm tiến độ", ha="center", va="center")
        right.set_axis_off()
    right.set_title("Đơn vị chậm nhất")
    fig.suptitle(f"Tiến độ số hóa đến {report.as_of:%d/%m/%Y}")
    fig.tight_layout()
    tmp = path.with_name(path.name + ".part.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def ratios_table(rows: list[RatioRow], year: int):
    from rich.table import Table

    t = Table(title=f"Chỉ số số hóa theo Quyết định 766/QĐ-TTg — năm {year}")
    for header in ("Cấp", "Mã", "Đơn vị", "Kết quả", "% có bản điện tử", "% số hóa",
                   "% khai thác lại", "Điểm tối đa"):
        t.add_column(header)
    for x in rows:
        t.add_row(LEVEL_VI.get(x.level, x.level), x.unit_code, x.unit_name, str(x.results),
                  f"{x.electronic_percent:.2f}", f"{x.digitized_percent:.2f}",
                  f"{x.reused_percent:.2f}", "Có" if x.full_points else "Không")
    return t


def ratios_csv(rows: list[RatioRow]) -> str:
    buffer = io.StringIO()
    fields = list(RatioRow.__dataclass_fields__)
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.to_dict())
    return buffer.getvalue()
