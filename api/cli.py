"""Commands of the retrieval API: `sohoa serve`, `sohoa api-client create|list|revoke`,
`sohoa audit`."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import typer
from rich.console import Console

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

    from pipeline.runtime import get_runtime

    get_runtime().database_url  # migrate/check once before workers start  # noqa: B018
    err.print(f"sohoa API on http://{host}:{port}  (OpenAPI: /openapi.json)")
    from pipeline.metrics import logging_config

    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=logging_config(), access_log=False)


@clients_app.command("create")
def client_create(
    name: str = typer.Argument(..., help="Client name, e.g. 'cong-dich-vu-cong'."),
    scope: list[str] = typer.Option(..., "--scope", help="read:metadata, read:documents, "
                                    "read:pii, ingest, admin (repeat or comma-separate)."),
    unit: str | None = typer.Option(None, "--unit", help="Bind to this unit code (and the "
                                    "units under it); default: all units."),
) -> None:
    """Create a client and print its key ONCE (only its hash is stored)."""
    from api.keys import ClientError, create_client
    from pipeline.runtime import get_runtime

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

    from api.keys import list_clients
    from pipeline.runtime import get_runtime

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
    from api.keys import revoke_client
    from pipeline.runtime import get_runtime

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

    from api.audit import query_audit
    from pipeline.runtime import get_runtime

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


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(audit)
    app.add_typer(clients_app, name="api-client")
