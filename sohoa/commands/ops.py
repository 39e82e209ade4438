"""Operator commands: `sohoa doctor`, `sohoa backup`, `sohoa restore`."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from sohoa.backup import BackupError, make_backup, restore_backup
from sohoa.doctor import exit_code, run_checks

err = Console(stderr=True)
out = Console()

STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per check on stdout."),
    min_free_gb: float = typer.Option(2.0, "--min-free-gb", help="Free disk space required."),
) -> None:
    """Check the configuration and every service it names; say how to fix each fault.

    Checks: settings, catalog (reachable, migrations at head), object store (write, read,
    delete), broker, signing keys (valid, not expiring within 30 days), Tesseract and its
    language model, free disk. Exit code 0 when nothing failed (warnings allowed), 1 otherwise.
    """
    findings = run_checks(min_free=int(min_free_gb * 1024**3))
    if as_json:
        for finding in findings:
            sys.stdout.write(json.dumps(finding.as_dict(), ensure_ascii=False) + "\n")
    else:
        table = Table("check", "status", "detail", "how to fix", show_lines=False)
        for f in findings:
            style = STATUS_STYLE[f.status]
            table.add_row(f.check, f"[{style}]{f.status.upper()}[/{style}]", f.detail, f.fix)
        out.print(table)
    raise typer.Exit(exit_code(findings))


def backup(
    target: str = typer.Argument(..., help="A folder for the backup (catalog dump, manifest, "
                                 "and the objects unless --objects-to)."),
    objects_to: str | None = typer.Option(
        None, "--objects-to", help="Copy the objects to this store (a second bucket "
        "s3://…/BUCKET or file:///folder) instead of TARGET/objects."),
    skip_objects: bool = typer.Option(False, "--catalog-only",
                                      help="Dump the catalog and the manifest, copy no objects."),
) -> None:
    """Back up the catalog (a dump) and the objects (copied, with a checksum manifest)."""
    try:
        summary = make_backup(target, objects_url=objects_to, copy_objects=not skip_objects,
                              progress=err if err.is_terminal else None)
    except BackupError as exc:
        err.print(f"backup failed: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")


def restore(
    source: str = typer.Argument(..., help="The backup folder `sohoa backup` wrote."),
    objects_from: str | None = typer.Option(
        None, "--objects-from", help="Where the backup's objects were copied (--objects-to)."),
) -> None:
    """Restore a backup into an EMPTY catalog and object store (the configured ones)."""
    try:
        summary = restore_backup(source, objects_url=objects_from, progress=err if err.is_terminal else None)
    except BackupError as exc:
        err.print(f"restore failed: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")


def register(app: typer.Typer) -> None:
    app.command()(doctor)
    app.command()(backup)
    app.command()(restore)

