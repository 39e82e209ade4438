"""`sohoa records …`: the archive record data of results (Circular 05/2025/TT-BNV) for records
managers — list, show, set, import an archive list, file stored documents, list what is past its
retention for appraisal (`due`), record a fonds and a destruction decision (`destroy`, which
deletes nothing). Tables are headed in Vietnamese; `--json` prints one object per line."""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from archive.record_import import ACCESS_WORDS, RELIABILITY_WORDS, RecordImportError, fold, import_records
from pipeline.stages import filing_defaults
from sohoa.commands.archive_package import add_commands  # export, verify-package (archive.package)
from sohoa.runtime import get_runtime
from storage.catalog import AdminUnit
from storage.records import (
    RecordError,
    disposals,
    document_dict,
    due_documents,
    file_document,
    get_fonds,
    get_record,
    list_records,
    record_dict,
    record_disposal,
    record_documents,
    unfiled_documents,
    update_record,
    upsert_fonds,
)
from storage.retention import RetentionError, parse_retention
from storage.units import UnknownUnit, find_unit

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)

records_app = typer.Typer(help="Archive records (hồ sơ lưu trữ): data, retention, appraisal.",
                          no_args_is_help=True)

ACCESS_VI = {"open": "Tiếp cận rộng rãi", "conditional": "Tiếp cận có điều kiện"}
RELIABILITY_VI = {"digitized": "Số hóa", "born_digital": "Gốc điện tử", "mixed": "Hỗn hợp"}
LABELS_VI = (
    ("code", "Mã hồ sơ"), ("title", "Tiêu đề hồ sơ"), ("retention", "Thời hạn lưu trữ"),
    ("access_level", "Mức độ tiếp cận"), ("language", "Ngôn ngữ"),
    ("start_date", "Thời gian bắt đầu"), ("end_date", "Thời gian kết thúc"),
    ("keywords", "Từ khóa"), ("document_count", "Tổng số tài liệu"),
    ("sheet_count", "Số lượng tờ"), ("page_count", "Số lượng trang"),
    ("physical_condition", "Tình trạng vật lý"), ("information_sign", "Ký hiệu thông tin"),
    ("reliability", "Mức độ tin cậy"), ("paper_record_code", "Mã hồ sơ gốc giấy"),
    ("backup_mode", "Chế độ lập tài liệu lưu trữ dự phòng"),
    ("backup_status", "Tình trạng lập tài liệu lưu trữ dự phòng"), ("note", "Ghi chú"),
    ("fonds", "Phông"), ("unit", "Đơn vị"), ("dossier_code", "Mã hồ sơ TTHC"),
    ("due_on", "Hết thời hạn lưu trữ từ"),
)


def _runtime():
    return get_runtime()


def _json(value) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _fail(message: str, code: int = 1):
    err.print(message, markup=False)
    raise typer.Exit(code)


def _vi_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def parse_day(text: str, option: str) -> date:
    """05/01/2026, 5/1/2026 or 2026-01-05."""
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text.strip())
    try:
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date.fromisoformat(text.strip())
    except ValueError:
        return _fail(f"{option}: {text!r} is not a date (write 05/01/2026 or 2026-01-05)", 2)


def _shown(name: str, value) -> str:
    if value is None:
        return ""
    if name == "access_level":
        return ACCESS_VI.get(value, value)
    if name == "reliability":
        return RELIABILITY_VI.get(value, value)
    if name in ("start_date", "end_date", "due_on"):
        return _vi_date(value)
    if name == "keywords":
        return ", ".join(value)
    if name in ("fonds", "unit"):
        return f"{value['code']} — {value['name']}"
    return str(value)


def _unit_ids(session, unit: str | None) -> list[int] | None:
    if unit is None:
        return None
    from sqlalchemy import or_, select

    ids = list(session.scalars(select(AdminUnit.id).where(AdminUnit.code == unit)))
    if not ids:
        _fail(f"--unit: unknown admin unit code {unit!r}", 2)
    return list(session.scalars(select(AdminUnit.id).where(
        or_(AdminUnit.id.in_(ids), AdminUnit.parent_id.in_(ids)))))


@records_app.command("list")
def records_list(
    unit: str | None = typer.Option(None, "--unit", help="Records of this unit (and its units)."),
    fonds: str | None = typer.Option(None, "--fonds", help="Records of this fonds (mã phông)."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many records."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per record."),
) -> None:
    """The records, by code."""
    with _runtime().session() as session:
        records = [record_dict(r) for r in list_records(
            session, unit_ids=_unit_ids(session, unit), fonds_code=fonds, limit=limit)]
    if as_json:
        for record in records:
            _json(record)
        return
    table = Table("Mã hồ sơ", "Tiêu đề hồ sơ", "Thời hạn", "Tiếp cận", "Tài liệu", "Tờ",
                  "Trang", "Thời gian", title=f"{len(records)} hồ sơ")
    for r in records:
        span = " – ".join(filter(None, (_vi_date(r["start_date"]), _vi_date(r["end_date"]))))
        table.add_row(r["code"], r["title"], r["retention"],
                      ACCESS_VI.get(r["access_level"], r["access_level"]),
                      str(r["document_count"]), _shown("sheet_count", r["sheet_count"]),
                      _shown("page_count", r["page_count"]), span)
    out.print(table)


@records_app.command("show")
def records_show(code: str = typer.Argument(..., help="Record code (mã hồ sơ)."),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """One record's data and its documents (exit 1: unknown record)."""
    with _runtime().session() as session:
        record = get_record(session, code)
        if record is None:
            _fail(f"no record {code!r} (sohoa records list shows the codes)")
        data = record_dict(record)
        docs = [document_dict(*row) for row in record_documents(session, record)]
        decisions = [{"decision": d.decision, "decided_on": d.decided_on,
                      "decided_by": d.decided_by, "recorded_by": d.recorded_by,
                      "recorded_at": d.recorded_at} for d in disposals(session, record)]
    for doc in docs:  # personal data stays in the catalog and the API (read:pii)
        doc.pop("subject_name"), doc.pop("subject_id")
    if as_json:
        _json({**data, "documents": docs, "disposals": decisions})
        return
    table = Table(show_header=False, title=f"Hồ sơ {data['code']}")
    for name, label in LABELS_VI:
        table.add_row(label, _shown(name, data.get(name)))
    out.print(table)
    listing = Table("STT", "Mã tài liệu", "Loại", "Số, ký hiệu", "Ngày", "Trang", "Tờ",
                    "Trạng thái", title="Tài liệu")
    for d in docs:
        listing.add_row(str(d["sequence"]), d["code"] or "", d["document_type"] or "",
                        d["document_number"] or "", _vi_date(d["issued_on"]),
                        _shown("pages", d["pages"]), _shown("sheets", d["sheets"]), d["state"])
    out.print(listing)
    for d in decisions:
        out.print(f"Quyết định hủy {d['decision']} ngày {_vi_date(d['decided_on'])}"
                  f"{' — ' + d['decided_by'] if d['decided_by'] else ''} (ghi nhận bởi "
                  f"{d['recorded_by']}; dữ liệu vẫn được giữ)", markup=False)


def _choice(value: str | None, words: dict, option: str):
    if value is None:
        return None
    found = words.get(fold(value))
    if found is None:
        _fail(f"{option}: {value!r} is not one of {', '.join(sorted(set(words.values())))}", 2)
    return found


@records_app.command("set")
def records_set(
    code: str = typer.Argument(..., help="Record code (mã hồ sơ)."),
    title: str | None = typer.Option(None, "--title", help="Tiêu đề hồ sơ."),
    retention: str | None = typer.Option(None, "--retention",
                                         help="Thời hạn lưu trữ: years (10) or vĩnh-viễn."),
    access: str | None = typer.Option(None, "--access", help="open | conditional."),
    language: str | None = typer.Option(None, "--language", help="Ngôn ngữ (vi, en …)."),
    start: str | None = typer.Option(None, "--start", help="Thời gian bắt đầu."),
    end: str | None = typer.Option(None, "--end", help="Thời gian kết thúc."),
    keywords: str | None = typer.Option(None, "--keywords", help="Từ khóa, comma-separated."),
    sheets: int | None = typer.Option(None, "--sheets", min=0, help="Số lượng tờ."),
    pages: int | None = typer.Option(None, "--pages", min=0, help="Số lượng trang."),
    condition: str | None = typer.Option(None, "--condition", help="Tình trạng vật lý."),
    sign: str | None = typer.Option(None, "--sign", help="Ký hiệu thông tin."),
    reliability: str | None = typer.Option(None, "--reliability",
                                           help="digitized | born_digital | mixed."),
    paper_code: str | None = typer.Option(None, "--paper-code", help="Mã hồ sơ gốc giấy."),
    backup_mode: str | None = typer.Option(None, "--backup-mode", help="Chế độ dự phòng."),
    backup_status: str | None = typer.Option(None, "--backup-status",
                                             help="Tình trạng dự phòng."),
    note: str | None = typer.Option(None, "--note", help="Ghi chú."),
    fonds: str | None = typer.Option(None, "--fonds", help="Mã phông (see `records fonds`)."),
) -> None:
    """Set a record's data by hand; sohoa's defaults and counts never overwrite it after."""
    values: dict = {}
    if retention is not None:
        try:
            values["retention_years"] = parse_retention(retention)
        except RetentionError as exc:
            _fail(f"--retention: {exc}", 2)
    for key, value in (("title", title), ("language", language),
                       ("physical_condition", condition), ("information_sign", sign),
                       ("paper_record_code", paper_code), ("backup_mode", backup_mode),
                       ("backup_status", backup_status), ("note", note),
                       ("sheet_count", sheets), ("page_count", pages)):
        if value is not None:
            values[key] = value
    if access is not None:
        values["access_level"] = _choice(access, ACCESS_WORDS, "--access")
    if reliability is not None:
        values["reliability"] = _choice(reliability, RELIABILITY_WORDS, "--reliability")
    if start is not None:
        values["start_date"] = parse_day(start, "--start")
    if end is not None:
        values["end_date"] = parse_day(end, "--end")
    if keywords is not None:
        values["keywords"] = [w.strip() for w in re.split(r"[;,]", keywords) if w.strip()]
    if not values and fonds is None:
        _fail("nothing to set (see `sohoa records set --help`)", 2)
    with _runtime().session() as session:
        record = get_record(session, code)
        if record is None:
            _fail(f"no record {code!r}")
        if fonds is not None:
            found = get_fonds(session, fonds)
            if found is None:
                _fail(f"--fonds: no fonds {fonds!r} (create it with `sohoa records fonds`)")
            values["fonds_id"] = found.id
        try:
            update_record(session, record, values)
        except RecordError as exc:
            _fail(f"{code}: {exc}", 2)
    err.print(f"{code}: {len(values)} field(s) set", markup=False)


@records_app.command("fonds")
def records_fonds(
    code: str = typer.Argument(..., help="Mã phông."),
    name: str | None = typer.Option(None, "--name", help="Tên phông (needed to create one)."),
    status: str | None = typer.Option(None, "--status", help="open | closed (mở | đóng)."),
    history: str | None = typer.Option(None, "--history", help="Lịch sử đơn vị hình thành phông."),
    classification: str | None = typer.Option(None, "--classification",
                                              help="Phương án phân loại."),
    unit: str | None = typer.Option(None, "--unit", help="The unit whose fonds it is."),
    backup_mode: str | None = typer.Option(None, "--backup-mode", help="Chế độ dự phòng."),
    note: str | None = typer.Option(None, "--note", help="Ghi chú."),
) -> None:
    """Create or update a fonds (phông lưu trữ)."""
    status_word = _choice(status, {"open": "open", "mo": "open", "closed": "closed",
                                   "dong": "closed"}, "--status")
    with _runtime().session() as session:
        try:
            unit_id = find_unit(session, unit).id if unit else None
            fonds = upsert_fonds(session, code, name, status=status_word, history=history,
                                 classification=classification, unit_id=unit_id,
                                 backup_mode=backup_mode, note=note)
        except (RecordError, UnknownUnit) as exc:
            _fail(str(exc), 2)
        err.print(f"fonds {fonds.code}: {fonds.name} ({fonds.document_count} documents)",
                  markup=False)


@records_app.command("import")
def records_import(
    file: Path = typer.Argument(..., metavar="FILE.xlsx|FILE.csv",
                                help="The unit's archive list; headers as in docs/records.md."),
    unit: str | None = typer.Option(None, "--unit", help="Unit of rows that name none."),
) -> None:
    """Create or update records from an archive list; nothing is written if any row is wrong."""
    try:
        with _runtime().session() as session:
            summary = import_records(session, file, default_unit=unit)
    except RecordImportError as exc:
        _fail(str(exc))
    err.print(f"{file}: {summary.total} records: {summary.created} created, {summary.updated} "
              f"updated; {summary.fonds} fonds", markup=False)
    if summary.ignored_columns:
        err.print(f"{file}: columns left alone: {', '.join(summary.ignored_columns)}",
                  markup=False)


@records_app.command("file")
def records_file(limit: int | None = typer.Option(None, "--limit", min=1)) -> None:
    """File stored documents that are in no record yet (those stored before records existed),
    each into its dossier's record with its type's defaults. Safe to rerun."""
    filed = 0
    rt = _runtime()
    while True:
        with rt.session() as session:
            batch = unfiled_documents(session, 200)
            for doc in batch:
                file_document(session, doc, doc.result, filing_defaults(doc.document_type))
        filed += len(batch)
        if not batch or (limit is not None and filed >= limit):
            break
    err.print(f"{filed} document(s) filed", markup=False)


@records_app.command("due")
def records_due(
    on: str | None = typer.Option(None, "--on", help="As of this day (default: today)."),
    unit: str | None = typer.Option(None, "--unit", help="Only this unit (and its units)."),
    include_decided: bool = typer.Option(False, "--all",
                                         help="Also records with a destruction decision."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per document."),
) -> None:
    """Documents past their retention period, for the appraisal council. Nothing is deleted."""
    day = parse_day(on, "--on") if on else date.today()
    table = Table("Mã hồ sơ", "Tiêu đề hồ sơ", "Thời hạn", "Hết hạn từ", "Mã tài liệu",
                  "Số, ký hiệu", "Ngày", "Trang")
    count = 0
    with _runtime().session() as session:
        for record, row, doc, result in due_documents(session, day,
                                                      unit_ids=_unit_ids(session, unit),
                                                      include_decided=include_decided):
            count += 1
            number = result.document_number if result is not None else None
            issued = result.issued_on if result is not None else None
            if as_json:
                _json({"record": record.code, "title": record.title,
                       "retention_years": record.retention_years, "due_on": record.due_on,
                       "document": row.code, "document_id": doc.id, "document_number": number,
                       "issued_on": issued, "pages": row.pages})
            else:
                table.add_row(record.code, record.title, f"{record.retention_years} năm",
                              _vi_date(record.due_on), row.code or "", number or "",
                              _vi_date(issued), _shown("pages", row.pages))
    if not as_json:
        table.title = (f"{count} tài liệu hết thời hạn lưu trữ tính đến {_vi_date(day)} "
                       "(chờ Hội đồng xác định giá trị tài liệu)")
        out.print(table)


@records_app.command("destroy")
def records_destroy(
    code: str = typer.Argument(..., help="Record code (mã hồ sơ)."),
    decision: str = typer.Option(..., "--decision", help="The decision's number, e.g. 15/QĐ-UBND."),
    decided: str = typer.Option(..., "--date", help="The decision's date."),
    by: str | None = typer.Option(None, "--by", help="Who decided (người ký quyết định)."),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Record a destruction decision for a record. sohoa deletes nothing: the decision is kept
    with the record, and the record leaves `sohoa records due`."""
    import getpass

    day = parse_day(decided, "--date")
    with _runtime().session() as session:
        record = get_record(session, code)
        if record is None:
            _fail(f"no record {code!r}")
        try:
            record_disposal(session, record, decision=decision, decided_on=day, decided_by=by,
                            actor=f"cli:{getpass.getuser()}", note=note)
        except RecordError as exc:
            _fail(f"{code}: {exc}", 2)
    err.print(f"{code}: destruction decision {decision} of {_vi_date(day)} recorded; no data "
              "was deleted", markup=False)


def register(app: typer.Typer) -> None:
    add_commands(records_app)
    app.add_typer(records_app, name="records")
