"""`sohoa records export CODE… --package sip|dip OUT` and `sohoa records verify-package PATH`:
the commands over `archive.package` (added to the `sohoa records` group by
`sohoa.commands.archive`).

Exit codes: 0 the package was written and verifies; 1 it could not be made or did not verify
(nothing is left at OUT); 2 a bad request (unknown record, OUT exists, a DIP of restricted
records without an explicit choice)."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import select

from archive.package import KINDS, PackageError, verify_package, write_package
from sohoa.runtime import get_runtime
from storage.catalog import AuditEvent
from storage.records import Record, RecordError, iter_export_entries

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)


def _fail(message: str, code: int = 1):
    err.print(message, markup=False)
    raise typer.Exit(code)


def _quiet_pyhanko() -> None:
    import logging

    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        for name in ("pyhanko", "pyhanko_certvalidator"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def export(
    codes: list[str] = typer.Argument(None, metavar="CODE…", help="Record codes (mã hồ sơ)."),
    out_dir: Path = typer.Argument(..., metavar="OUT", help="The package folder (must not exist)."),
    package: str = typer.Option(..., "--package", help="sip: gói tin nộp lưu, for the archive; "
                                "dip: gói tin sử dụng, a copy for a person who asked for it."),
    every: bool = typer.Option(False, "--all", help="Every record (instead of CODE…)."),
    allow_restricted: bool = typer.Option(
        False, "--allow-restricted", help="DIP: include records of conditional access (tiếp "
        "cận có điều kiện) — only when their use was approved."),
    skip_restricted: bool = typer.Option(
        False, "--skip-restricted", help="DIP: leave records of conditional access out."),
    with_personal_data: bool = typer.Option(
        False, "--with-personal-data", help="DIP: do not mask names and personal ID numbers "
        "in the record and document data (like the API's read:pii)."),
    organization: str | None = typer.Option(None, "--organization",
                                            help="Source-Organization in bag-info.txt."),
    jobs: int = typer.Option(2, "--jobs", min=1, max=32,
                             help="Processes verifying signatures after writing."),
) -> None:
    """Write a SIP or DIP of records (BagIt 1.0 with record.json and document.json), then
    verify every checksum and signature; nothing is left at OUT if anything fails."""
    kind = package.lower()
    if kind not in KINDS:
        _fail(f"--package must be sip or dip (got {package!r})", 2)
    codes = list(codes or [])
    if bool(codes) == every:
        _fail("give record codes, or --all for every record", 2)
    if allow_restricted and skip_restricted:
        _fail("--allow-restricted and --skip-restricted exclude each other", 2)
    if kind == "sip" and (allow_restricted or skip_restricted or with_personal_data):
        _fail("--allow-restricted, --skip-restricted and --with-personal-data are for a DIP: "
              "a SIP carries the records whole, for the archive", 2)
    if out_dir.exists():
        _fail(f"{out_dir} already exists: give a new folder for the package", 2)
    restricted = "allow" if allow_restricted else "exclude" if skip_restricted else "refuse"
    _quiet_pyhanko()
    rt = get_runtime()
    actor = f"cli:{getpass.getuser()}"
    with rt.session() as session:
        if kind == "dip" and restricted == "refuse":  # name them all before writing a byte
            query = select(Record.code).where(Record.access_level != "open")
            if codes:
                query = query.where(Record.code.in_(codes))
            closed = sorted(session.scalars(query))
            if closed:
                shown = ", ".join(closed[:20]) + (f" and {len(closed) - 20} more"
                                                  if len(closed) > 20 else "")
                _fail(f"DIP refused: record(s) {shown} are of conditional access (tiếp cận có "
                      "điều kiện). Pass --allow-restricted if their use was approved, or "
                      "--skip-restricted to leave them out.", 2)

        def said(record: dict, status: str) -> None:
            what = {"written": "", "excluded": " — LEFT OUT (conditional access)",
                    "restricted-allowed": " — conditional access, included as allowed"}[status]
            err.print(f"record {record['code']}: {record.get('document_count') or 0} "
                      f"document(s){what}", markup=False)

        try:
            report = write_package(
                iter_export_entries(session, codes), rt.objects, out_dir, kind=kind,
                trust_roots=rt.signers.trust_roots(), restricted=restricted,
                personal_data=with_personal_data, organization=organization,
                agent="sohoa records export", jobs=jobs, on_record=said)
        except RecordError as exc:
            _fail(str(exc), 2)
        except PackageError as exc:
            _fail(f"export failed, nothing written at {out_dir}: {exc}", 1)
        session.add(AuditEvent(actor=actor, action=f"records.export.{kind}", document_id=None,
                               detail={"records": report.records, "documents": report.documents,
                                       "codes": codes[:100] if codes else "all",
                                       "excluded": report.excluded[:100],
                                       "restricted_included": report.restricted_included[:100],
                                       "personal_data": report.personal_data,
                                       "verified": report.ok, "out": str(out_dir)}))
    if not report.ok:
        for problem in report.problems[:50]:
            err.print(f"problem: {problem}", markup=False)
        _fail(f"the package did not verify ({len(report.problems)} problem(s)): nothing "
              f"written at {out_dir}", 1)
    if report.excluded:
        err.print(f"left out (conditional access): {', '.join(report.excluded)}", markup=False)
    if report.restricted_included:
        err.print("included by --allow-restricted (conditional access): "
                  f"{', '.join(report.restricted_included)}", markup=False)
    out.print(f"{kind.upper()} written to {out_dir}: {report.records} record(s), "
              f"{report.documents} document(s), {report.payload_bytes} bytes; personal data "
              f"{report.personal_data}; verified: every checksum, {report.signatures_checked} "
              "signature(s) valid", markup=False)


def verify_package_command(
    path: Path = typer.Argument(..., help="A package folder written by `records export`."),
    jobs: int = typer.Option(2, "--jobs", min=1, max=32),
) -> None:
    """Re-read a package: every payload checksum (BagIt) and every signed PDF's signature."""
    if not path.is_dir():
        _fail(f"{path}: no such folder", 2)
    _quiet_pyhanko()
    problems = verify_package(path, get_runtime().signers.trust_roots(), jobs=jobs)
    if problems:
        for problem in problems:
            err.print(f"problem: {problem}", markup=False)
        _fail(f"{path}: NOT VALID ({len(problems)} problem(s))", 1)
    out.print(f"{path}: valid (every checksum and signature)", markup=False)


def add_commands(records_app: typer.Typer) -> None:
    records_app.command("export")(export)
    records_app.command("verify-package")(verify_package_command)
