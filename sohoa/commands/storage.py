"""Storage commands: `sohoa fsck`, `sohoa procedures import FILE.csv`, `sohoa search TEXT`,
`sohoa agencies import FILE.csv | list | show CODE`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from sohoa.runtime import get_runtime
from storage.agencies import (
    Agency,
    AgencyImportError,
    UnknownAgency,
    agency_record,
    find_agency,
    import_agencies,
)
from storage.catalog import AdminUnit, Document, Procedure
from storage.fsck import FsckError, run_fsck, write_prom_textfile
from storage.objects import ObjectStoreError
from storage.procedures import ProcedureImportError, import_procedures
from storage.search import search_documents, terms

err = Console(stderr=True, soft_wrap=True)
STATE_NAME = "fsck-state.json"

procedures_app = typer.Typer(help="The procedure catalog (thủ tục hành chính).",
                             no_args_is_help=True)


def _runtime():
    return get_runtime()


def _json(record) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fsck(
    sample: int | None = typer.Option(None, "--sample", min=1,
                                      help="Check N documents chosen at random (no orphan check)."),
    fraction: float | None = typer.Option(None, "--fraction", min=0.0, max=1.0,
                                          help="Check each document with this probability."),
    resume: bool = typer.Option(False, "--resume",
                                help="Continue the last interrupted full run where it stopped."),
    orphans: bool = typer.Option(True, "--orphans/--no-orphans",
                                 help="On a full run, list objects no document references."),
    as_json: bool = typer.Option(False, "--json", help="One JSON report on stdout."),
    stuck_after: float = typer.Option(3600, "--stuck-after", metavar="SECONDS", min=0,
                                      help="Report documents left in a working state (received, "
                                           "ocr_done, classified) longer than this."),
    prom_textfile: Path | None = typer.Option(
        None, "--prom-textfile", help="Also write the counts for node_exporter's textfile "
        "collector (sohoa_fsck_problems{kind}, sohoa_fsck_last_run_timestamp_seconds)."),
) -> None:
    """Verify every stored object against its checksums; report missing, corrupt, mismatched
    and orphaned objects, and documents stuck mid-pipeline. Exit 0 = all good, 1 = problems
    found, 2 = the check could not run."""
    rt = _runtime()
    state_file = rt.settings.resolved_home / STATE_NAME

    def show(problem) -> None:
        if not as_json:
            typer.echo(problem.describe())

    try:
        report = run_fsck(rt.database_url, rt.objects, sample=sample, fraction=fraction,
                          resume=resume, state_file=state_file, check_orphans=orphans,
                          on_problem=show, stuck_after_s=stuck_after)
    except FsckError as exc:
        err.print(f"fsck: {exc}", markup=False)
        raise typer.Exit(2) from None
    except (ObjectStoreError, OSError) as exc:
        err.print(f"fsck stopped: {exc}", markup=False)
        if sample is None and fraction is None:
            err.print("run `sohoa fsck --resume` to continue where it stopped", markup=False)
        raise typer.Exit(2) from None
    if prom_textfile is not None:
        write_prom_textfile(prom_textfile, report)
    if as_json:
        _json(report.to_dict())
    else:
        counts = report.counts()
        resumed = f" (resumed after {report.resumed_after})" if report.resumed_after else ""
        err.print(f"{report.mode} check{resumed}: {report.documents} documents, "
                  f"{report.objects} objects, {report.bytes / 1e6:.1f} MB read; "
                  + ", ".join(f"{n} {kind}" for kind, n in counts.items())
                  + ("" if report.orphans_checked else " (orphans not checked)"), markup=False)
    raise typer.Exit(0 if report.ok else 1)


@procedures_app.command("import")
def procedures_import(file: Path = typer.Argument(..., metavar="FILE.csv",
                                                  help="Columns: code,name,level")) -> None:
    """Add or update procedures from a CSV; nothing is imported if any row is wrong."""
    rt = _runtime()
    try:
        with rt.session() as session:
            summary = import_procedures(session, file)
    except ProcedureImportError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    err.print(f"{file}: {summary.total} procedures: {summary.added} added, {summary.updated} "
              f"updated, {summary.unchanged} unchanged", markup=False)


@procedures_app.command("list")
def procedures_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Print the procedure catalog."""
    from sqlalchemy import select

    with _runtime().session() as session:
        rows = session.execute(select(Procedure.code, Procedure.name, Procedure.level)
                               .order_by(Procedure.code)).all()
    for code, name, level in rows:
        if as_json:
            _json({"code": code, "name": name, "level": level})
        else:
            typer.echo(f"{code}\t{level or ''}\t{name}")


agencies_app = typer.Typer(help="Agencies (cơ quan, tổ chức) that issue results and sign copies.",
                           no_args_is_help=True)


@agencies_app.command("import")
def agencies_import(file: Path = typer.Argument(
        ..., metavar="FILE.csv",
        help="Columns: code,name,unit[,parent,valid_from,valid_to,signing_key]")) -> None:
    """Add or update agencies from a CSV; nothing is imported if any row is wrong."""
    try:
        with _runtime().session() as session:
            summary = import_agencies(session, file)
    except AgencyImportError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    err.print(f"{file}: {summary.total} agencies: {summary.added} added, {summary.updated} "
              f"updated, {summary.unchanged} unchanged", markup=False)


@agencies_app.command("list")
def agencies_list(
    unit: str | None = typer.Option(None, "--unit", help="Only agencies of this unit code."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Print the agencies (code, unit, level, validity, name)."""
    from sqlalchemy import select

    with _runtime().session() as session:
        query = select(Agency).order_by(Agency.code, Agency.valid_from)
        if unit is not None:
            query = query.join(AdminUnit, AdminUnit.id == Agency.unit_id).where(
                AdminUnit.code == unit)
        records = [agency_record(session, a) for a in session.scalars(query)]
    for r in records:
        if as_json:
            _json(r)
        else:
            until = r["valid_to"] or ""
            typer.echo(f"{r['code']}\t{r['unit_code']}\t{r['level']}\t{r['valid_from']}..{until}"
                       f"\t{r['name']}")


@agencies_app.command("show")
def agencies_show(code: str = typer.Argument(..., help="Agency code, e.g. 000.00.04.H26"),
                  on: str | None = typer.Option(None, "--on", help="Valid on (YYYY-MM-DD).")
                  ) -> None:
    """Show one agency as JSON (exit 1: unknown)."""
    from datetime import date

    try:
        when = date.fromisoformat(on) if on else None
    except ValueError:
        err.print(f"--on {on!r}: not a date (YYYY-MM-DD)", markup=False)
        raise typer.Exit(2) from None
    with _runtime().session() as session:
        try:
            record = agency_record(session, find_agency(session, code, when))
        except UnknownAgency as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(1) from None
    _json(record)


def search(
    text: str = typer.Argument(..., help="Words of the OCR text, with or without diacritics."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    unit: str | None = typer.Option(None, "--unit", help="Only documents of this unit code."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Find documents whose OCR text contains every word of TEXT, newest first (exit 1: none)."""
    from sqlalchemy import select

    if not terms(text):
        err.print(f"{text!r}: no words to search for", markup=False)
        raise typer.Exit(2)
    with _runtime().session() as session:
        unit_ids = None
        if unit is not None:
            unit_ids = list(session.scalars(select(AdminUnit.id).where(AdminUnit.code == unit)))
            if not unit_ids:
                err.print(f"unknown admin unit code {unit!r}", markup=False)
                raise typer.Exit(2)
        ids = search_documents(session, text, limit=limit, unit_ids=unit_ids)
        rows = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(ids)))}
        for doc_id in ids:
            doc = rows[doc_id]
            record = {"document_id": doc.id, "state": doc.state, "file": doc.source_name,
                      "unit_code": doc.unit.code, "dossier_code": doc.dossier_code,
                      "document_type": doc.document_type}
            if as_json:
                _json(record)
            else:
                typer.echo(f"{doc.id}\t{doc.state}\t{doc.unit.code}\t{doc.source_name}")
    if not ids:
        err.print("no document matches", markup=False)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(fsck)
    app.command()(search)
    app.add_typer(procedures_app, name="procedures")
    app.add_typer(agencies_app, name="agencies")
