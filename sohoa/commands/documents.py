"""sohoa's document commands: `digitize`, `export`, `show`, `list`, `verify`, and the `db` and
`keys` groups (registered lazily by `sohoa.commands`, like the parts' commands)."""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path

import typer
from rich.console import Console

from pipeline.inline import digitize as run
from pipeline.inline import outcome_line
from signing.dev_pki import ensure_dev_pki
from signing.verify import verify_pdf
from sohoa.runtime import get_runtime
from storage import db
from storage.catalog import AdminUnit, Document
from storage.objects import ObjectIntegrityError, ObjectNotFound, ObjectStoreError
from storage.units import find_unit, seed_procedures, seed_units

db_app = typer.Typer(help="Catalog database.", no_args_is_help=True)
keys_app = typer.Typer(help="Signing keys.", no_args_is_help=True)

err = Console(stderr=True)
out = Console()


def _runtime():
    return get_runtime()


def _jsonl(record: dict) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def digitize(
    paths: list[Path] = typer.Argument(..., help="Scans: PDF, TIFF, PNG or JPEG files."),
    unit: str = typer.Option(..., "--unit", help="Issuing admin unit code (e.g. 00004)."),
    procedure: str | None = typer.Option(None, "--procedure", help="Procedure code, e.g. 1.001193"),
    dossier: str | None = typer.Option(None, "--dossier", help="Dossier (hồ sơ) code."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file on stdout."),
) -> None:
    """Scan files → OCR → searchable PDF → signature → storage → catalog."""
    from rich.progress import BarColumn, Progress, TextColumn

    rt = _runtime()
    results: list[dict] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("digitizing", total=len(paths))

        pending: dict[int, dict] = {}
        lock = threading.Lock()

        def done(index: int, record: dict) -> None:
            with lock:  # print in input order, each as soon as those before it are done
                results.append(record)
                bar.advance(task)
                pending[index] = record
                while (following := len(results) - len(pending)) in pending:
                    emit(pending.pop(following))

        def emit(record: dict) -> None:
            if as_json:
                _jsonl(record)
            else:
                out.print(outcome_line(record), markup=False, highlight=False)

        run(rt, paths, unit_code=unit, procedure=procedure, dossier=dossier, on_done=done)
    if any(r["status"] == "failed" for r in results):
        raise typer.Exit(1)


def _document(rt, document_id: str):
    with rt.session() as session:
        doc = session.get(Document, document_id)
        if doc is None:
            err.print(f"no document {document_id}")
            raise typer.Exit(2)
        session.expunge(doc)
        return doc


def export(document_id: str, out_pdf: Path = typer.Argument(..., metavar="OUT.pdf")) -> None:
    """Write a document's signed PDF (or its unsigned searchable PDF while under review)."""
    rt = _runtime()
    doc = _document(rt, document_id)
    key = doc.signed_key or doc.pdf_key
    if key is None:
        err.print(f"document {document_id} has no PDF yet (state {doc.state})")
        raise typer.Exit(1)
    if doc.signed_key is None:
        err.print(f"document {document_id} is {doc.state}: writing the UNSIGNED searchable PDF",
                  soft_wrap=True)
    import shutil

    # the catalog's sha256 is the truth: an object swapped under this key, even one whose own
    # checksum metadata matches its bytes, is refused and nothing is left at OUT.pdf(.part)
    expected = doc.signed_sha256 if doc.signed_key else doc.pdf_sha256
    tmp = out_pdf.with_name(out_pdf.name + ".part")
    try:
        with rt.objects.open(key, expected) as stream, open(tmp, "wb") as handle:
            shutil.copyfileobj(stream, handle, 1024 * 1024)
        tmp.replace(out_pdf)
    except (ObjectStoreError, OSError) as exc:  # nothing half-written is left behind
        tmp.unlink(missing_ok=True)
        if isinstance(exc, ObjectIntegrityError):
            against = f"the catalog's sha256 {expected}" if expected else "its recorded checksum"
            why = (f"its stored PDF ({key}) does not match {against}: refused, nothing "
                   "written (run `sohoa fsck`)")
        elif isinstance(exc, ObjectNotFound):
            why = f"its stored PDF ({key}) is missing from the object store"
        elif isinstance(exc, ObjectStoreError):
            why = f"the object store failed: {exc}"
        else:
            why = f"cannot write {out_pdf}: {exc.strerror or exc}"
        err.print(f"document {document_id}: {why}", markup=False, highlight=False,
                  soft_wrap=True)
        raise typer.Exit(1) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    err.print(f"wrote {out_pdf}")


def _record(doc) -> dict:
    return {
        "document_id": doc.id, "file": doc.source_name, "state": doc.state,
        "failed_stage": doc.failed_stage, "error": doc.error,
        "unit_code": doc.unit.code if doc.unit else None,
        "unit_name": doc.unit.name if doc.unit else None,
        "level": doc.unit.level if doc.unit else None,
        "procedure_code": doc.procedure_code, "dossier_code": doc.dossier_code,
        "document_type": doc.document_type, "confidence": doc.confidence,
        "ocr_confidence": doc.ocr_confidence, "fields": doc.fields,
        "field_confidence": doc.field_confidence, "pages": doc.page_count,
        "source_sha256": doc.source_sha256, "sha256": doc.signed_sha256,
        "original_key": doc.original_key, "pdf_key": doc.pdf_key, "signed_key": doc.signed_key,
        "created_at": doc.created_at, "stored_at": doc.stored_at,
    }


def show(document_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Print a document's catalog record."""
    from sqlalchemy.orm import joinedload

    rt = _runtime()
    with rt.session() as session:
        doc = session.get(Document, document_id, options=[joinedload(Document.unit)])
        if doc is None:
            err.print(f"no document {document_id}")
            raise typer.Exit(2)
        record = _record(doc)
    if as_json:
        _jsonl(record)
        return
    for key, value in record.items():
        out.print(f"[bold]{key:>16}[/bold]  {value if value is not None else '—'}",
                  highlight=False)


def list_documents(
    state: str | None = typer.Option(None, "--state"),
    unit: str | None = typer.Option(None, "--unit"),
    dossier: str | None = typer.Option(None, "--dossier", help="Only this dossier code."),
    as_json: bool = typer.Option(False, "--json"),
    limit: int = typer.Option(1000, "--limit"),
) -> None:
    """List documents (newest first) with their dossier code and times."""
    from datetime import UTC

    from rich.table import Table
    from sqlalchemy import select

    rt = _runtime()
    columns = (Document.id, Document.source_name, Document.state, AdminUnit.code,
               Document.dossier_code, Document.document_type, Document.failed_stage,
               Document.error, Document.signed_sha256, Document.created_at,
               Document.updated_at, Document.stored_at)
    # Only the listed columns: loading whole rows would read every document's OCR text.
    query = (select(*columns).join(AdminUnit, Document.unit_id == AdminUnit.id)
             .order_by(Document.created_at.desc(), Document.id.desc()).limit(limit))
    if state:
        query = query.where(Document.state == state)
    if unit:
        query = query.where(AdminUnit.code == unit)
    if dossier:
        query = query.where(Document.dossier_code == dossier)
    names = ("document_id", "file", "state", "unit_code", "dossier_code", "document_type",
             "failed_stage", "error", "sha256", "created_at", "updated_at", "stored_at")
    with rt.session() as session:
        rows = [dict(zip(names, row, strict=True)) for row in session.execute(query)]
    for row in rows:  # ISO 8601 in UTC (SQLite hands back naive UTC datetimes)
        for name in ("created_at", "updated_at", "stored_at"):
            if row[name] is not None:
                value = row[name] if row[name].tzinfo else row[name].replace(tzinfo=UTC)
                row[name] = value.astimezone(UTC).isoformat(timespec="seconds")
    if as_json:
        for row in rows:
            _jsonl(row)
        return
    table = Table("document_id", "file", "state", "unit", "dossier", "type", "updated", "error")
    for row in rows:
        updated = (row["updated_at"] or "")[:16].replace("T", " ")
        table.add_row(row["document_id"], row["file"], row["state"], row["unit_code"],
                      row["dossier_code"] or "", row["document_type"] or "", updated,
                      row["error"] or "")
    out.print(table)


def verify(file: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Check a signed PDF: integrity, signer, time, chain to the trust roots. Exit 0 = valid."""
    if not file.is_file():
        err.print(f"{file}: no such file")
        raise typer.Exit(2)
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # pyHanko logs every path it could not build with a traceback; the verdict says why
        for name in ("pyhanko", "pyhanko_certvalidator"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    rt = _runtime()
    report = verify_pdf(file, rt.signers.trust_roots())
    if as_json:
        _jsonl(report.to_dict())
    else:
        verdict = "[green]VALID[/green]" if report.valid else "[red]NOT VALID[/red]"
        out.print(f"{file}: {verdict}")
        agency = report.agency or "—"
        if report.agency_code:
            agency += f" ({report.agency_code})"
        out.print(f"  signer: {report.signer}\n  agency: {agency}\n"
                  f"  signing time: {report.signing_time}\n"
                  f"  intact: {report.intact}  trusted: {report.trusted}  "
                  f"coverage: {report.coverage}", highlight=False)
        details = report.to_dict()
        out.print(f"  PAdES level: {details.get('level') or '—'}  revocation: "
                  f"{details.get('revocation') or '—'}  timestamps: "
                  f"{len(details.get('timestamps') or [])}  archive expires: "
                  f"{details.get('archive_expires') or '—'}", highlight=False)
        for problem in report.problems:
            out.print(f"  problem: {problem}", markup=False, soft_wrap=True)
    raise typer.Exit(0 if report.valid else 1)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads")) -> None:
    """Apply catalog migrations (and seed admin units)."""
    rt = _runtime()
    url = rt.settings.catalog_url
    db.upgrade(url, revision)
    with db.session_scope(url) as session:
        seeded = seed_units(session)
        seed_procedures(session)
    err.print(f"catalog at {db.current_revision(url)}; {seeded} admin units seeded")


@db_app.command("current")
def db_current() -> None:
    """Print the catalog's migration revision."""
    out.print(db.current_revision(_runtime().settings.catalog_url) or "(empty)")


@keys_app.command("dev")
def keys_dev(unit: list[str] = typer.Option([], "--unit", help="Also issue certificates "
                                             "for these unit codes.")) -> None:
    """Generate the TEST PKI (never for real documents) in SOHOA_HOME/keys."""
    rt = _runtime()
    pki = ensure_dev_pki(rt.settings.keys_dir)
    err.print(f"TEST root certificate: {pki.root_cert_path}")
    with rt.session() as session:
        for code in unit:
            path = pki.unit_pkcs12(code, find_unit(session, code).name)
            err.print(f"TEST certificate for {code}: {path}")


def register(app: typer.Typer) -> None:
    app.command()(digitize)
    app.command()(export)
    app.command()(show)
    app.command("list")(list_documents)
    app.command()(verify)
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")
