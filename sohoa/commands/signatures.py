"""`sohoa signatures status|refresh`: the commands over `pipeline.signatures`."""

from __future__ import annotations

import json
import sys

import typer

from pipeline.signatures import RefreshRefused, archive_status, refresh_documents
from sohoa.commands.pipeline import runtime

signatures_app = typer.Typer(help="Signed results: PAdES level, archival timestamps.",
                             no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(signatures_app, name="signatures")


def _printer(as_json: bool):
    def emit(record: dict, text: str) -> None:
        if as_json:
            sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            sys.stdout.flush()
        else:
            typer.echo(text)

    return emit


@signatures_app.command("refresh")
def refresh(
    before: int = typer.Option(90, "--before", min=0,
                               help="Refresh when the newest timestamp's TSA certificate "
                                    "expires within this many days."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what is due."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per document."),
) -> None:
    """Add a new document timestamp (PAdES B-LTA) before archival timestamps expire."""
    try:
        counts = refresh_documents(runtime(), before_days=before, dry_run=dry_run,
                                   report=_printer(as_json))
    except RefreshRefused as exc:
        raise typer.BadParameter(str(exc)) from None
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    typer.echo(summary, err=True)
    raise typer.Exit(1 if counts["failed"] else 0)


@signatures_app.command("status")
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Stored documents per PAdES level and the soonest archival timestamp expiry."""
    record = archive_status(runtime())
    if as_json:
        typer.echo(json.dumps(record, default=str))
        return
    typer.echo(f"configured level: {record['configured_level']}")
    for level, n in sorted(record["levels"].items()):
        typer.echo(f"  {level}: {n}")
    if record["soonest_expiry"]:
        typer.echo(f"soonest archival timestamp expiry: {record['soonest_expiry']} "
                   f"({record['soonest_document']})")
