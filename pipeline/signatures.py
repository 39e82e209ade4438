"""Archive state of stored signed results and archival timestamp refresh: the application
service behind `sohoa signatures status|refresh` (`sohoa.commands.signatures`).

It lives in the pipeline because it works on the catalog and the object store; the PDF work is
:mod:`signing.archive`, which knows no database.

``refresh`` adds a new document timestamp (PAdES B-LTA) to every stored document whose newest
timestamp's TSA certificate expires within ``before_days``. The extended PDF is stored as a NEW
hash-named object next to the old one (a signed object is never overwritten; the previous
version stays in the store) and the catalog's ``signed_key``/``signed_sha256`` move to it in
one transaction with an audit event — only if nobody changed the document meanwhile.

Both work from the archive state the catalog keeps per document
(``documents.signature_level``/``archive_expires_at``, written by the sign stage and by
``refresh``): ``status`` is a GROUP BY, ``refresh`` reads only the PDFs that are due. A PDF
stored before that state was recorded (level NULL) is read once and its state written back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import bindparam, func, select, update

from pipeline.context import Context
from pipeline.outputs import store_verified
from signing.archive import UNSIGNED, catalog_values, extend_archive, inspect_pdf, needs_refresh
from storage.catalog import AuditEvent, Document

Report = Callable[[dict, str], None]


class RefreshRefused(ValueError):
    """The refresh cannot run as configured (no time-stamping service)."""


def _stored_filter():
    return (Document.state == "stored", Document.signed_key.is_not(None))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A catalog timestamp in UTC (SQLite returns it without an offset, stored as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _unrecorded_documents(rt) -> list[tuple[str, str, str]]:
    """(id, signed_key, signed_sha256) of stored documents whose archive state is not in the
    catalog yet (stored before it was recorded), oldest first."""
    with rt.session() as session:
        rows = session.execute(
            select(Document.id, Document.signed_key, Document.signed_sha256)
            .where(*_stored_filter(), Document.signature_level.is_(None))
            .order_by(Document.stored_at, Document.id)
        ).all()
    return [tuple(r) for r in rows]


class _Recorder:
    """Writes inspected archive states back to the catalog in batches, each only if the
    document still points at the PDF that was read. ``updated_at`` is left as it is: the
    document did not change, the catalog learnt a fact about it."""
    BATCH = 200

    def __init__(self, rt):
        self.rt, self.pending = rt, []

    def add(self, doc_id: str, sha: str, state) -> None:
        level, expires = catalog_values(state)
        self.pending.append({"b_id": doc_id, "b_sha": sha, "b_level": level,
                             "b_expires": expires})
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        table = Document.__table__
        stmt = (update(table)
                .where(table.c.id == bindparam("b_id"),
                       table.c.signed_sha256 == bindparam("b_sha"))
                .values(signature_level=bindparam("b_level"),
                        archive_expires_at=bindparam("b_expires"),
                        updated_at=table.c.updated_at))
        with self.rt.session() as session:
            session.connection().execute(stmt, self.pending)
        self.pending = []


def _store_new(rt, old_key: str, data: bytes) -> tuple[str, str]:
    """The extended PDF under a new hash-named key next to the old one, read back and checked."""
    return store_verified(rt.objects, old_key.rpartition("/")[0], "signed.pdf", data,
                          "application/pdf")


def _refresh_candidates(rt, threshold: dt.datetime) -> tuple[int, list[tuple]]:
    """(number of stored signed documents, the ones to look at): those whose recorded newest
    timestamp expires by ``threshold`` (by the index on ``archive_expires_at``) and those whose
    archive state is not recorded yet; as (id, key, sha256, level, expires), oldest first."""
    cols = (Document.id, Document.signed_key, Document.signed_sha256, Document.signature_level,
            Document.archive_expires_at, Document.stored_at)
    with rt.session() as session:
        total = session.scalar(select(func.count()).select_from(Document)
                               .where(*_stored_filter()))
        due = session.execute(select(*cols).where(
            *_stored_filter(), Document.archive_expires_at <= threshold,
            Document.signature_level.is_not(None), Document.signature_level != UNSIGNED)).all()
        unknown = session.execute(select(*cols).where(
            *_stored_filter(), Document.signature_level.is_(None))).all()
    rows = sorted(due + unknown, key=lambda r: (_utc(r.stored_at) or dt.datetime.min.replace(
        tzinfo=dt.UTC), r.id))
    return total, [tuple(r)[:5] for r in rows]


def refresh_documents(rt: Context, *, before_days: int, dry_run: bool = False,
                      now: dt.datetime | None = None, report: Report | None = None) -> dict:
    """Extend the archival timestamps that expire within ``before_days``; return counts.

    Only documents the catalog says are due are read, plus, once, those whose archive state is
    not recorded yet (their state is written back, in a dry run too). ``checked`` counts every
    stored signed document, ``skipped`` those not due. ``report(record, text)`` hears of each
    document looked at (the command prints it as a JSON line or as the text)."""
    emit = report or (lambda record, text: None)
    within = dt.timedelta(days=before_days)
    now = _utc(now) or dt.datetime.now(dt.UTC)
    counts = {"checked": 0, "refreshed": 0, "due": 0, "skipped": 0, "failed": 0}
    signers = rt.signers
    if not dry_run and signers.timestamper is None:
        raise RefreshRefused(
            "no time-stamping service: set SOHOA_TSA_URL (or 'dev' with the TEST PKI)"
        )
    total, candidates = _refresh_candidates(rt, now + within)
    counts["checked"] = total
    counts["skipped"] = total - len(candidates)
    recorder = _Recorder(rt)
    try:
        for doc_id, key, sha, level, expires in candidates:
            data = None
            if level is None:  # not recorded yet: read it once and record what it is
                try:
                    data = rt.objects.get_bytes(key)
                    state = inspect_pdf(data)
                except Exception as exc:  # noqa: BLE001 - one bad object must not stop the run
                    counts["failed"] += 1
                    emit({"document_id": doc_id, "status": "failed",
                                    "error": str(exc)},
                          f"{doc_id}: cannot read {key}: {exc}")
                    continue
                recorder.add(doc_id, sha, state)
                if not needs_refresh(state, within=within, now=now):
                    counts["skipped"] += 1
                    continue
                level, expires = state.level, state.expires_at
            expires = _utc(expires)
            counts["due"] += 1
            record = {"document_id": doc_id, "level": level, "expires": expires,
                      "signed_key": key}
            if dry_run:
                emit({**record, "status": "due"},
                      f"{doc_id}: {level}, timestamp TSA expires {expires} — due")
                continue
            try:
                if data is None:
                    data = rt.objects.get_bytes(key)
                extended = extend_archive(data, timestamper=signers.timestamper,
                                          trust_roots=signers.trust_root_certs())
                new_key, new_sha = _store_new(rt, key, extended)
            except Exception as exc:  # noqa: BLE001 - report it, go on with the others
                counts["failed"] += 1
                emit({**record, "status": "failed", "error": str(exc)},
                      f"{doc_id}: refresh failed: {exc}")
                continue
            recorder.flush()  # what was read of this document goes in before it changes
            with rt.session() as session:
                doc = session.get(Document, doc_id, with_for_update=True)
                if doc is None or doc.signed_key != key or doc.signed_sha256 != sha:
                    counts["skipped"] += 1
                    emit({**record, "status": "changed"},
                          f"{doc_id}: changed meanwhile; left as it is")
                    continue
                doc.signed_key, doc.signed_sha256 = new_key, new_sha
                new_state = inspect_pdf(extended)
                doc.signature_level, doc.archive_expires_at = catalog_values(new_state)
                session.add(AuditEvent(
                    actor="signatures refresh", action="archive_timestamp_added",
                    document_id=doc_id,
                    detail={"previous_key": key, "previous_sha256": sha, "signed_key": new_key,
                            "signed_sha256": new_sha, "level": new_state.level,
                            "timestamp": new_state.newest_timestamp.time,
                            "next_expiry": new_state.newest_timestamp.tsa_cert_expires},
                ))
            counts["refreshed"] += 1
            emit({**record, "status": "refreshed", "new_key": new_key},
                  f"{doc_id}: new archival timestamp -> {new_key}")
    finally:
        recorder.flush()
    return counts


def archive_status(rt: Context) -> dict:
    """Stored signed documents per PAdES level and the soonest archival timestamp expiry, from
    the catalog. Only PDFs whose state is not recorded yet are read, and what is found is
    written back, so each is read at most once (an unreadable one is counted and tried again
    next time)."""
    unreadable = 0
    recorder = _Recorder(rt)
    try:
        for doc_id, key, sha in _unrecorded_documents(rt):
            try:
                state = inspect_pdf(rt.objects.get_bytes(key))
            except Exception:  # noqa: BLE001
                unreadable += 1
                continue
            recorder.add(doc_id, sha, state)
    finally:
        recorder.flush()
    with rt.session() as session:
        rows = session.execute(
            select(Document.signature_level, func.count())
            .where(*_stored_filter(), Document.signature_level.is_not(None))
            .group_by(Document.signature_level)).all()
        soonest = session.execute(
            select(Document.archive_expires_at, Document.id)
            .where(*_stored_filter(), Document.archive_expires_at.is_not(None))
            .order_by(Document.archive_expires_at, Document.id).limit(1)).first()
    levels = {level: n for level, n in rows}
    if unreadable:
        levels["unreadable"] = levels.get("unreadable", 0) + unreadable
    return {"levels": levels, "configured_level": rt.signers.level,
            "soonest_expiry": _utc(soonest[0]) if soonest else None,
            "soonest_document": soonest[1] if soonest else None}
