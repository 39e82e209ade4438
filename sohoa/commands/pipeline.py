"""Pipeline commands: `sohoa worker`, `sohoa submit`, `sohoa failed list|show|retry`, `sohoa queue`.

With `SOHOA_BROKER_URL=inline` (the default) `submit` and `failed retry` process in-process;
with redis://… or amqp://… they enqueue for workers on any machine that shares the catalog and
the object store.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from pipeline.actors import queue_lengths, state_counts
from pipeline.actors import requeue_stale as do_requeue
from pipeline.broker import BrokerConfigError, broker_kind, redact
from pipeline.inline import outcome_line
from pipeline.submission import UnknownDocument, document_history, failed_documents, retry_failed
from pipeline.submission import submit as do_submit
from sohoa.runtime import get_runtime
from sohoa.settings import SettingsError, get_settings

failed_app = typer.Typer(help="Documents that failed (the dead-letter list).",
                         no_args_is_help=True)


def _jsonl(record: dict) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _echo(text: str) -> None:
    typer.echo(text)


def _err(text: str) -> None:
    typer.echo(text, err=True)


def runtime():
    """The process's runtime (the composition root; `sohoa --help` does not load it)."""
    return get_runtime()


def _runtime_and_dispatcher():
    """The process's runtime and its dispatcher (inline or broker), or exit 2 on a bad
    SOHOA_BROKER_URL."""
    rt = runtime()
    try:
        return rt, rt.dispatcher
    except BrokerConfigError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None


def run_workers(processes: int | None = None, threads: int = 1,
                extra: list[str] | None = None) -> int:
    """Start dramatiq's worker CLI on `sohoa.worker`; its exit code.

    This process must not import sohoa.worker itself: dramatiq forks the workers, and a
    module already imported would not boot (broker, actors, logging) again in them."""
    from dramatiq.cli import main, make_argument_parser

    try:
        settings = get_settings()  # validated here, before anything is forked
    except SettingsError as exc:
        _err(str(exc))
        return 2
    try:
        kind = broker_kind(settings.broker_url)
    except BrokerConfigError as exc:
        _err(str(exc))
        return 2
    if kind == "inline":
        _err("SOHOA_BROKER_URL is 'inline': there is no queue to work on (set "
             "redis://host:6379/0 or amqp://user:password@host:5672/vhost)")
        return 2
    if settings.metrics_port:  # dramatiq's exposition server is a fork of
        # this process: it reads its port from the environment when it starts
        os.environ["dramatiq_prom_port"] = str(settings.metrics_port)  # noqa: SIM112
        os.environ.setdefault("dramatiq_prom_host", settings.metrics_host)
    argv = ["sohoa.worker", "--processes", str(processes or os.cpu_count() or 1),
            "--threads", str(threads), "--skip-logging", *(extra or [])]
    return main(make_argument_parser().parse_args(argv))


def worker(
    processes: int = typer.Option(None, "--processes", "-p",
                                  help="Worker processes (default: one per CPU)."),
    threads: int = typer.Option(1, "--threads", "-t",
                                help="Threads per process (OCR is CPU-bound: keep 1)."),
) -> None:
    """Run pipeline workers on the broker in SOHOA_BROKER_URL (Redis or RabbitMQ)."""
    raise typer.Exit(run_workers(processes, threads))


def submit(
    paths: list[Path] = typer.Argument(..., help="Scans: PDF, TIFF, PNG or JPEG files."),
    unit: str = typer.Option(..., "--unit", help="Issuing admin unit code (e.g. 00004)."),
    procedure: str | None = typer.Option(None, "--procedure", help="Procedure code, e.g. 1.001193"),
    dossier: str | None = typer.Option(None, "--dossier", help="Dossier (hồ sơ) code."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file on stdout."),
) -> None:
    """Store scans and queue them for the workers (inline broker: process them now)."""
    rt, dispatcher = _runtime_and_dispatcher()
    records = do_submit(rt, dispatcher, paths, unit_code=unit, procedure=procedure, dossier=dossier)
    for record in records:
        if as_json:
            _jsonl(record)
        else:
            _echo(outcome_line(record))
    if any(r["status"] in ("failed", "received") for r in records):
        raise typer.Exit(1)


@failed_app.command("list")
def failed_list(as_json: bool = typer.Option(False, "--json"),
                limit: int = typer.Option(1000, "--limit")) -> None:
    """Failed documents, newest first, with the stage and the reason."""
    rows = failed_documents(runtime(), limit)
    for row in rows:
        if as_json:
            _jsonl(row)
        else:
            _echo(f"{row['document_id']}  {row['failed_stage'] or '-':<8} {row['file']}  "
                  f"{row['error']}")
    if not as_json:
        _err(f"{len(rows)} failed document(s)")


@failed_app.command("show")
def failed_show(document_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """A document's failure and its history (audit events)."""
    try:
        record = document_history(runtime(), document_id)
    except UnknownDocument as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    if as_json:
        _jsonl(record)
        return
    for key, value in record.items():
        if key != "events":
            _echo(f"{key:>14}  {value if value is not None else '—'}")
    for event in record["events"]:
        _echo(f"{event['at']}  {event['actor']:<10} {event['action']:<10} "
              f"{json.dumps(event['detail'], ensure_ascii=False, default=str)}")


@failed_app.command("retry")
def failed_retry(
    document_ids: list[str] = typer.Argument(None, help="Documents to retry."),
    all_failed: bool = typer.Option(False, "--all", help="Retry every failed document."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Put failed documents back in the pipeline, from the stage that failed."""
    rt, dispatcher = _runtime_and_dispatcher()
    ids = list(document_ids or [])
    if all_failed:
        ids += [row["document_id"] for row in failed_documents(rt, limit=1_000_000)]
    if not ids:
        _err("name document ids, or --all")
        raise typer.Exit(2)
    try:
        records = retry_failed(rt, dispatcher, ids)
    except UnknownDocument as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    for record in records:
        if as_json:
            _jsonl(record)
        else:
            _echo(f"{record['document_id']}  {record['state']}"
                  + (f"  {record['error']}" if record["error"] else ""))


def queue(
    as_json: bool = typer.Option(False, "--json"),
    requeue_stale: float = typer.Option(None, "--requeue-stale", metavar="SECONDS",
                                        help="Enqueue again in-flight documents untouched "
                                             "this long (after a broker lost messages)."),
) -> None:
    """Documents per state (catalog) and messages per queue (broker)."""
    rt, _ = _runtime_and_dispatcher()
    broker = rt.broker
    summary: dict = {"broker": redact(rt.settings.broker_url), "states": state_counts(rt)}
    if requeue_stale is not None:
        if broker is None:
            _err("--requeue-stale needs a broker (SOHOA_BROKER_URL is inline)")
            raise typer.Exit(2)
        summary["requeued"] = do_requeue(rt, broker, requeue_stale)
    try:
        summary["queues"] = queue_lengths(broker)
    except Exception as exc:  # noqa: BLE001 - the catalog half is still worth showing
        summary["queues"] = None
        summary["broker_error"] = str(exc)
    if as_json:
        _jsonl(summary)
        return
    _echo(f"broker: {summary['broker']}")
    for state, count in summary["states"].items():
        _echo(f"  {state:<13} {count}")
    for stage, lengths in (summary["queues"] or {}).items():
        parts = "  ".join(f"{k}={v}" for k, v in lengths.items() if v is not None)
        _echo(f"  queue {stage:<9} {parts}")
    if "broker_error" in summary:
        _echo(f"  broker unreachable: {summary['broker_error']}")
    if "requeued" in summary:
        _echo(f"  requeued {len(summary['requeued'])} document(s)")


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command()(submit)
    app.command()(queue)
    app.add_typer(failed_app, name="failed")
