"""Commands of the retrieval API: `sohoa serve`, `sohoa api-client create|list|revoke`,
`sohoa audit`."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime

import typer
from rich.console import Console

from api.access_log import AccessLogError, archive, maintain, partitions
from api.audit import query_audit
from api.keys import ClientError, create_client, list_clients, revoke_client
from pipeline.metrics import logging_config
from sohoa.runtime import get_runtime

err = Console(stderr=True)
out = Console()

clients_app = typer.Typer(help="API clients (keys for other systems).", no_args_is_help=True)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", help="Worker processes."),
) -> None:
    """Serve the retrieval API (OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    rt = get_runtime().open()  # migrate/check once before workers start
    err.print(f"sohoa API on http://{host}:{port}  (OpenAPI: /openapi.json)")

    uvicorn.run("sohoa.runtime:create_api", factory=True, host=host, port=port, workers=workers,
                log_config=logging_config(rt.settings.log_level, rt.settings.log_format),
                access_log=False)


@clients_app.command("create")
def client_create(
    name: str = typer.Argument(..., help="Client name, e.g. 'cong-dich-vu-cong'."),
    scope: list[str] = typer.Option(..., "--scope", help="read:metadata, read:documents, "
                                    "read:pii, ingest, admin (repeat or comma-separate)."),
    unit: str | None = typer.Option(None, "--unit", help="Bind to this unit code (and the "
                                    "units under it); default: all units."),
) -> None:
    """Create a client and print its key ONCE (only its hash is stored)."""
    try:
        with get_runtime().session() as session:
            key = create_client(session, name, scope, unit)
    except ClientError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    err.print(f"created API client {name!r}; this key is shown once, store it now:")
    sys.stdout.write(key + "\n")


@clients_app.command("list")
def client_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List clients (never their keys)."""
    from rich.table import Table

    with get_runtime().session() as session:
        rows = list_clients(session)
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
        return
    table = Table("name", "key", "scopes", "unit", "created", "revoked")
    for r in rows:
        table.add_row(r["name"], r["key_prefix"], r["scopes"],
                      f"{r['unit']} {r['unit_name']}" if r["unit"] else "(all)",
                      f"{r['created_at']:%Y-%m-%d %H:%M}",
                      f"{r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "")
    out.print(table)


@clients_app.command("revoke")
def client_revoke(name: str) -> None:
    """Revoke a client's key (effective within seconds on running servers)."""
    with get_runtime().session() as session:
        done = revoke_client(session, name)
    if not done:
        err.print(f"no active API client named {name!r}")
        raise typer.Exit(1)
    err.print(f"revoked {name!r}")


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date/time (YYYY-MM-DD[THH:MM])") from None


def audit(
    client: str | None = typer.Option(None, "--client", help="Client name."),
    document: str | None = typer.Option(None, "--document", help="Result or document id."),
    endpoint: str | None = typer.Option(None, "--endpoint", help="Part of the route, e.g. pdf."),
    outcome: str | None = typer.Option(None, "--outcome",
                                       help="ok, denied, not_found, invalid, conflict, error"),
    since: str | None = typer.Option(None, "--since", help="ISO date/time (inclusive)."),
    until: str | None = typer.Option(None, "--until", help="ISO date/time (exclusive)."),
    limit: int = typer.Option(100, "--limit"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Query the API access log (newest first)."""
    from rich.table import Table

    with get_runtime().session() as session:
        rows = query_audit(session, client=client, document=document, endpoint=endpoint,
                           outcome=outcome, since=_when(since), until=_when(until), limit=limit)
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
        return
    table = Table("time", "client", "request", "document", "purpose", "status", "outcome")
    for r in rows:
        table.add_row(f"{r['at']:%Y-%m-%d %H:%M:%S}", r["client_name"] or "—",
                      f"{r['method']} {r['path']}", r["document_id"] or "", r["purpose"] or "",
                      str(r["status"]), r["outcome"])
    out.print(table)


access_log_app = typer.Typer(help="Retention of the API access log (PostgreSQL: monthly "
                             "partitions, archived whole to the object store).",
                             no_args_is_help=True)


def _month(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a month (YYYY-MM)") from None


def _access_log(action):
    try:
        return action(get_runtime())
    except AccessLogError as exc:
        err.print(f"access log: {exc}", markup=False)
        raise typer.Exit(2) from None


@access_log_app.command("list")
def access_log_list() -> None:
    """The access log's partitions and their row counts."""
    def run(rt):
        with rt.session() as session:
            return partitions(session)

    for part in _access_log(run):
        out.print(f"{part.name:28} {part.month or 'default':>10}  {part.rows:>10} rows",
                  highlight=False)


@access_log_app.command("maintain")
def access_log_maintain(ahead: int = typer.Option(3, "--ahead", min=1, max=24,
                                                  help="Months ahead to create.")) -> None:
    """Create the partitions of this month and the coming ones (run it monthly, e.g. a timer)."""
    def run(rt):
        with rt.session() as session:
            return maintain(session, ahead)

    made = _access_log(run)
    err.print(f"created {len(made)} partition(s): {', '.join(made) or 'none needed'}",
              markup=False)


@access_log_app.command("archive")
def access_log_archive(before: str = typer.Option(..., "--before", metavar="YYYY-MM",
                                                  help="Archive every month before this one.")) -> None:
    """Write each whole month before --before to the object store (gzipped JSON lines, read back
    and checked), then drop its partition. Nothing is dropped that was not stored first."""
    for entry in _access_log(lambda rt: archive(rt, _month(before))):
        sys.stdout.write(json.dumps(entry, ensure_ascii=False) + "\n")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(audit)
    app.add_typer(clients_app, name="api-client")
    app.add_typer(access_log_app, name="access-log")
