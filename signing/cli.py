"""`sohoa signatures …`: archive state of stored signed results and archival timestamp refresh.

Owns the commands only; the PDF work is in :mod:`signing.archive`. This is the one module of
``signing`` that touches the catalog (through ``pipeline.runtime``), imported lazily.

``refresh`` adds a new document timestamp (PAdES B-LTA) to every stored document whose newest
timestamp's TSA certificate expires within ``--before`` days. The extended PDF is stored as a
NEW hash-named object next to the old one (a signed object is never overwritten; the previous
version stays in the store) and the catalog's ``signed_key``/``signed_sha256`` move to it in
one transaction with an audit event — only if nobody changed the document meanwhile.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys

import typer

signatures_app = typer.Typer(help="Signed results: PAdES level, archival timestamps.",
                             no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(signatures_app, name="signatures")


def _stored_documents(rt):
    """(id, signed_key, signed_sha256) of every stored, signed document, oldest first."""
    from sqlalchemy import select

    from storage.catalog import Document

    with rt.session() as session:
        rows = session.execute(
            select(Document.id, Document.signed_key, Document.signed_sha256)
            .where(Document.state == "stored", Document.signed_key.is_not(None))
            .order_by(Document.stored_at, Document.id)
        ).all()
    return [tuple(r) for r in rows]


def _store_new(rt, old_key: str, data: bytes) -> tuple[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    prefix = old_key.rpartition("/")[0]
    key = f"{prefix}/signed-{sha[:16]}.pdf" if prefix else f"signed-{sha[:16]}.pdf"
    stored = rt.objects.put_bytes(key, data, "application/pdf")
    check = rt.objects.stat(key)
    if check is None or check.sha256 != stored.sha256 or check.size != len(data):
        raise OSError(f"object {key}: stored copy does not match what was written")
    return key, stored.sha256


def _emit(as_json: bool, record: dict, text: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
    else:
        typer.echo(text)


def refresh_documents(rt, *, before_days: int, dry_run: bool = False, as_json: bool = False,
                      now: dt.datetime | None = None) -> dict:
    """Extend the archival timestamps that expire within ``before_days``; return counts."""
    from signing.archive import extend_archive, inspect_pdf, needs_refresh
    from storage.catalog import AuditEvent, Document

    within = dt.timedelta(days=before_days)
    counts = {"checked": 0, "refreshed": 0, "due": 0, "skipped": 0, "failed": 0}
    signers = rt.signers
    if not dry_run and signers.timestamper is None:
        raise typer.BadParameter(
            "no time-stamping service: set SOHOA_TSA_URL (or 'dev' with the TEST PKI)"
        )
    for doc_id, key, sha in _stored_documents(rt):
        counts["checked"] += 1
        try:
            data = rt.objects.get_bytes(key)
            state = inspect_pdf(data)
        except Exception as exc:  # noqa: BLE001 - one bad object must not stop the run
            counts["failed"] += 1
            _emit(as_json, {"document_id": doc_id, "status": "failed", "error": str(exc)},
                  f"{doc_id}: cannot read {key}: {exc}")
            continue
        expires = state.expires_at
        if not needs_refresh(state, within=within, now=now):
            counts["skipped"] += 1
            continue
        counts["due"] += 1
        record = {"document_id": doc_id, "level": state.level, "expires": expires,
                  "signed_key": key}
        if dry_run:
            _emit(as_json, {**record, "status": "due"},
                  f"{doc_id}: {state.level}, timestamp TSA expires {expires} — due")
            continue
        try:
            extended = extend_archive(data, timestamper=signers.timestamper,
                                      trust_roots=signers.trust_root_certs())
            new_key, new_sha = _store_new(rt, key, extended)
        except Exception as exc:  # noqa: BLE001 - report it, go on with the others
            counts["failed"] += 1
            _emit(as_json, {**record, "status": "failed", "error": str(exc)},
                  f"{doc_id}: refresh failed: {exc}")
            continue
        with rt.session() as session:
            doc = session.get(Document, doc_id, with_for_update=True)
            if doc is None or doc.signed_key != key or doc.signed_sha256 != sha:
                counts["skipped"] += 1
                _emit(as_json, {**record, "status": "changed"},
                      f"{doc_id}: changed meanwhile; left as it is")
                continue
            doc.signed_key, doc.signed_sha256 = new_key, new_sha
            new_state = inspect_pdf(extended)
            session.add(AuditEvent(
                actor="signatures refresh", action="archive_timestamp_added",
                document_id=doc_id,
                detail={"previous_key": key, "previous_sha256": sha, "signed_key": new_key,
                        "signed_sha256": new_sha, "level": new_state.level,
                        "timestamp": new_state.newest_timestamp.time,
                        "next_expiry": new_state.newest_timestamp.tsa_cert_expires},
            ))
        counts["refreshed"] += 1
        _emit(as_json, {**record, "status": "refreshed", "new_key": new_key},
              f"{doc_id}: new archival timestamp -> {new_key}")
    return counts


@signatures_app.command("refresh")
def refresh(
    before: int = typer.Option(90, "--before", min=0,
                               help="Refresh when the newest timestamp's TSA certificate "
                                    "expires within this many days."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what is due."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per document."),
) -> None:
    """Add a new document timestamp (PAdES B-LTA) before archival timestamps expire."""
    from pipeline.runtime import get_runtime

    counts = refresh_documents(get_runtime(), before_days=before, dry_run=dry_run,
                               as_json=as_json)
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    typer.echo(summary, err=True)
    raise typer.Exit(1 if counts["failed"] else 0)


@signatures_app.command("status")
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Stored documents per PAdES level and the soonest archival timestamp expiry."""
    from pipeline.runtime import get_runtime
    from signing.archive import inspect_pdf

    rt = get_runtime()
    levels: dict[str, int] = {}
    soonest: tuple[dt.datetime, str] | None = None
    for doc_id, key, _sha in _stored_documents(rt):
        try:
            state = inspect_pdf(rt.objects.get_bytes(key))
        except Exception:  # noqa: BLE001
            levels["unreadable"] = levels.get("unreadable", 0) + 1
            continue
        levels[state.level or "unsigned"] = levels.get(state.level or "unsigned", 0) + 1
        if state.expires_at and (soonest is None or state.expires_at < soonest[0]):
            soonest = (state.expires_at, doc_id)
    record = {"levels": levels, "configured_level": rt.signers.level,
              "soonest_expiry": soonest[0] if soonest else None,
              "soonest_document": soonest[1] if soonest else None}
    if as_json:
        typer.echo(json.dumps(record, default=str))
        return
    typer.echo(f"configured level: {rt.signers.level}")
    for level, n in sorted(levels.items()):
        typer.echo(f"  {level}: {n}")
    if soonest:
        typer.echo(f"soonest archival timestamp expiry: {soonest[0]} ({soonest[1]})")
