"""One result however it arrives: matching a scanned document or an imported row to a result
already in the catalog, and merging duplicates that older code left behind.

Two results (or a scan and a result) are the same legal act when

* their dossier codes are equal and their document numbers do not contradict each other (equal
  once normalized, or one of them unknown), or
* their document numbers are equal once normalized (storage.numbers.number_key: case, spaces,
  dashes, "Đ"/"D", tone marks, Unicode form), they were issued on the same day, and their
  issuers name the same body once normalized (case, accents, spacing) — or, when one side does
  not know its issuer, they belong to the same admin unit.

A re-scan under another dossier code therefore joins the result it copies, and a scan of a result
the one-stop export registered links to it instead of creating a second, undigitized twin.

`link_scanned` is what the sign stage calls; `merge` and `reconcile` repair a catalog (used by
`sohoa results import` and `sohoa results reconcile`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.catalog import AuditEvent, Document, Result
from storage.numbers import fold, number_key

CHUNK = 500


def normalize_number(text: str | None) -> str | None:
    """"12 / QĐ – UBND" → "12/QD-UBND"; None for an empty number (storage.numbers.number_key,
    the key stored in results.number_key)."""
    return number_key(text)


def normalize_issuer(text: str | None) -> str | None:
    """"UBND  Phường Phúc Xá" → "ubnd phuong phuc xa"; None when empty."""
    if not text:
        return None
    folded = fold(text).lower()
    words = "".join(c if c.isalnum() else " " for c in folded).split()
    return " ".join(words) or None


@dataclass(frozen=True)
class ResultKey:
    """What identifies a result, from a scan's fields, an import row or a stored result."""

    dossier_code: str | None
    number: str | None  # as written; compared normalized
    issuer: str | None
    issued_on: date | None
    unit_id: int | None

    @classmethod
    def of(cls, result: Result) -> ResultKey:
        return cls(result.dossier_code, result.document_number, result.issuer, result.issued_on,
                   result.unit_id)


def match_reason(key: ResultKey, other: ResultKey) -> str | None:
    """"dossier" or "number" when both describe the same result, else None."""
    number_a, number_b = normalize_number(key.number), normalize_number(other.number)
    if (key.dossier_code and key.dossier_code == other.dossier_code
            and (number_a is None or number_b is None or number_a == number_b)):
        return "dossier"
    if number_a and number_a == number_b and key.issued_on and key.issued_on == other.issued_on:
        issuer_a, issuer_b = normalize_issuer(key.issuer), normalize_issuer(other.issuer)
        if issuer_a and issuer_b:
            return "number" if issuer_a == issuer_b else None
        if key.unit_id is not None and key.unit_id == other.unit_id:
            return "number"
    return None


def _rank(key: ResultKey, result: Result, reason: str) -> tuple:
    """Best candidate first: matched by dossier with the same number, registered, oldest."""
    same_number = (normalize_number(key.number) is not None
                   and normalize_number(key.number) == normalize_number(result.document_number))
    return (reason != "dossier", not same_number, not result.registered,
            result.created_at is None, result.created_at, result.id)


def candidates(session: Session, keys: list[ResultKey]) -> list[Result]:
    """Results that could match any of `keys`: same dossier code, or same number key (indexed
    with the issue date), loaded in chunks."""
    found: dict[str, Result] = {}
    dossiers = sorted({k.dossier_code for k in keys if k.dossier_code})
    for start in range(0, len(dossiers), CHUNK):
        for result in session.scalars(select(Result).where(
                Result.dossier_code.in_(dossiers[start:start + CHUNK]))):
            found[result.id] = result
    numbers = sorted({key for k in keys if k.issued_on and (key := number_key(k.number))})
    for start in range(0, len(numbers), CHUNK):
        for result in session.scalars(select(Result).where(
                Result.number_key.in_(numbers[start:start + CHUNK]))):
            found[result.id] = result
    return list(found.values())


def best_match(key: ResultKey, pool: list[Result], exclude: set[str] = frozenset()
               ) -> tuple[Result, str] | None:
    scored = [(result, reason) for result in pool if result.id not in exclude
              and (reason := match_reason(key, ResultKey.of(result)))]
    if not scored:
        return None
    return min(scored, key=lambda pair: _rank(key, *pair))


def find_match(session: Session, key: ResultKey, exclude: set[str] = frozenset()
               ) -> tuple[Result, str] | None:
    return best_match(key, candidates(session, [key]), exclude)


SCAN_FIELDS = {"document_number": "number", "issuer": "issuer", "subject_name": "subject_name",
               "subject_id": "subject_id"}


def link_scanned(session: Session, doc: Document, fields: dict, issued_on: date | None) -> Result:
    """The result a just-signed document is a copy of: the one it is already linked to, else a
    registered or earlier-scanned result it matches, else a new one from the scan's fields.

    A result the one-stop system registered keeps its registered values: the scan only fills what
    it lacks. A result known only from scans takes the newest scan's values, as before."""
    key = ResultKey(doc.dossier_code, fields.get("number"), fields.get("issuer"), issued_on,
                    doc.unit_id)
    result = doc.result
    if result is None:
        match = find_match(session, key)
        if match is not None:
            result, reason = match
            session.add(AuditEvent(actor="pipeline", action="result.linked", document_id=doc.id,
                                   detail={"result_id": result.id, "by": reason}))
    if result is None:
        result = Result(dossier_code=doc.dossier_code, procedure_code=doc.procedure_code,
                        unit=doc.unit)
    scanned = {"document_type": doc.document_type, "issued_on": issued_on,
               **{column: fields.get(name) for column, name in SCAN_FIELDS.items()}}
    if result.registered:
        for column, value in scanned.items():
            if getattr(result, column) is None and value is not None:
                setattr(result, column, value)
        if result.dossier_code is None:
            result.dossier_code = doc.dossier_code
        if result.procedure_code is None:
            result.procedure_code = doc.procedure_code
    else:
        result.unit = doc.unit
        for column, value in scanned.items():
            setattr(result, column, value)
    doc.result = result
    return result


# ------------------------------------------------------------------ repairing a catalog

MERGE_FILL = ("dossier_code", "procedure_code", "document_number", "document_type", "issued_on",
              "valid_until", "issuer", "subject_name", "subject_id")


@dataclass
class Merge:
    keeper: Result
    merged: list[Result]
    documents_moved: int
    reason: str

    def describe(self) -> str:
        names = ", ".join(_label(r) for r in self.merged)
        return (f"merged {names} into {_label(self.keeper)} (same {self.reason}); "
                f"{self.documents_moved} document(s) moved")


def _label(result: Result) -> str:
    parts = [f"result {result.id[:8]}"]
    if result.dossier_code:
        parts.append(f"dossier {result.dossier_code}")
    if result.document_number:
        parts.append(f"số {result.document_number}")
    if result.issued_on:
        parts.append(f"ngày {result.issued_on:%d/%m/%Y}")
    return " ".join(parts)


def merge(session: Session, keeper: Result, others: list[Result], reason: str,
          actor: str) -> Merge:
    """Fold `others` into `keeper`: their documents point to it, what it lacks is filled from
    them, a registration carries over, and they are deleted (the quota triggers follow)."""
    for other in others:
        for column in MERGE_FILL:
            if getattr(keeper, column) is None and getattr(other, column) is not None:
                setattr(keeper, column, getattr(other, column))
        keeper.registered = keeper.registered or other.registered
        keeper.in_force = keeper.in_force and other.in_force
    ids = [o.id for o in others]
    moved = session.execute(update(Document).where(Document.result_id.in_(ids))
                            .values(result_id=keeper.id)
                            .execution_options(synchronize_session="fetch")).rowcount
    session.flush()
    for other in others:
        session.delete(other)
    session.add(AuditEvent(actor=actor, action="result.merged", document_id=None,
                           detail={"into": keeper.id, "merged": ids, "by": reason,
                                   "documents_moved": moved}))
    session.flush()
    return Merge(keeper, others, moved, reason)


@dataclass
class ReconcileSummary:
    merges: list[Merge] = field(default_factory=list)
    linked: list[tuple[Document, Result, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [m.describe() for m in self.merges]
        out += [f"linked document {d.id[:8]} ({d.source_name}) to {_label(r)} (same {why})"
                for d, r, why in self.linked]
        return out


def duplicate_groups(session: Session) -> list[list[Result]]:
    """Results that describe one result, grouped (connected through any matching pair)."""
    shared_dossier = (select(Result.dossier_code).where(Result.dossier_code.is_not(None))
                      .group_by(Result.dossier_code).having(func.count() > 1))
    shared_number = (select(Result.number_key, Result.issued_on)
                     .where(Result.number_key.is_not(None), Result.issued_on.is_not(None))
                     .group_by(Result.number_key, Result.issued_on)
                     .having(func.count() > 1).subquery())
    pool: dict[str, Result] = {}
    for result in session.scalars(select(Result).where(Result.dossier_code.in_(shared_dossier))):
        pool[result.id] = result
    for result in session.scalars(select(Result).join(shared_number, (
            Result.number_key == shared_number.c.number_key)
            & (Result.issued_on == shared_number.c.issued_on))):
        pool[result.id] = result
    # union-find over matching pairs, bucketed so only plausible pairs are compared
    parent = {rid: rid for rid in pool}

    def root(rid: str) -> str:
        while parent[rid] != rid:
            parent[rid] = parent[parent[rid]]
            rid = parent[rid]
        return rid

    buckets: dict[tuple, list[Result]] = {}
    for result in pool.values():
        if result.dossier_code:
            buckets.setdefault(("d", result.dossier_code), []).append(result)
        if normalize_number(result.document_number) and result.issued_on:
            buckets.setdefault(("n", normalize_number(result.document_number),
                                result.issued_on), []).append(result)
    for bucket in buckets.values():
        for i, a in enumerate(bucket):
            for b in bucket[i + 1:]:
                if match_reason(ResultKey.of(a), ResultKey.of(b)):
                    parent[root(a.id)] = root(b.id)
    groups: dict[str, list[Result]] = {}
    for rid, result in pool.items():
        groups.setdefault(root(rid), []).append(result)
    return [g for g in groups.values() if len(g) > 1]


def _keeper(group: list[Result], documents: dict[str, int]) -> Result:
    """Registered first, then the result with no scan of its own, then the oldest."""
    return min(group, key=lambda r: (not r.registered, documents.get(r.id, 0) > 0,
                                     r.created_at is None, r.created_at, r.id))


def reconcile(session: Session, actor: str = "reconcile") -> ReconcileSummary:
    """Merge duplicate results and link stored documents that have no result to the one they
    copy. Idempotent: a second run changes nothing."""
    summary = ReconcileSummary()
    for group in duplicate_groups(session):
        ids = [r.id for r in group]
        documents = dict(session.execute(
            select(Document.result_id, func.count()).where(Document.result_id.in_(ids))
            .group_by(Document.result_id)).all())
        keeper = _keeper(group, documents)
        others = [r for r in group if r.id != keeper.id]
        reason = next((why for o in others
                       if (why := match_reason(ResultKey.of(keeper), ResultKey.of(o)))),
                      "number")
        summary.merges.append(merge(session, keeper, others, reason, actor))
    unlinked = session.scalars(select(Document).where(Document.result_id.is_(None),
                                                      Document.state == "stored")).all()
    for doc in unlinked:
        fields = doc.fields or {}
        issued = _date(fields.get("issued_on"))
        key = ResultKey(doc.dossier_code, fields.get("number"), fields.get("issuer"), issued,
                        doc.unit_id)
        match = find_match(session, key)
        if match is not None:
            doc.result_id = match[0].id
            summary.linked.append((doc, match[0], match[1]))
            session.add(AuditEvent(actor=actor, action="result.linked", document_id=doc.id,
                                   detail={"result_id": match[0].id, "by": match[1]}))
    session.flush()
    return summary


def _date(text) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None
