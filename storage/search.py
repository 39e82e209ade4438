"""Full-text search over documents' OCR text, typed with or without Vietnamese diacritics.

The indexes (migration 0007_search) hold folded text: lower case, no marks, "đ" as "d",
punctuation as a word break. PostgreSQL keeps `documents.search_vector` (tsvector, `simple`
configuration over `unaccent`) by trigger with a GIN index; SQLite keeps a contentless FTS5 table
`document_fts` (unicode61, remove_diacritics 2) keyed through `document_search_keys`. A query is
folded the same way here and matches documents containing every one of its words, in any order.

`match_documents(session, text)` is a SQL condition on `documents` (for use in a larger query,
e.g. `storage.result_search`, the API's search over results); `count_matches` counts matching
documents up to a bound; `search_documents(session, text, ...)` returns document ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, func, literal_column, select, text
from sqlalchemy.orm import Session

from storage.catalog import AdminUnit, Document, Result

MAX_TERMS = 16
_WORD = re.compile(r"[^\W_]+")


def fold(value: str) -> str:
    """"Quyết định Đống Đa" -> "quyet dinh dong da": NFC, marks removed, đ -> d, lower case."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def terms(query: str) -> list[str]:
    """The folded words of a query, in order, each once; punctuation separates words."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(fold(query)):
        seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def _fts(words: list[str]) -> str:
    return " ".join(f'"{w}"' for w in words)  # quoted: FTS5 operators in a query are literal


def _dialect(session: Session | str) -> str:
    return session if isinstance(session, str) else session.get_bind().dialect.name


def match_documents(session: Session | str, query: str) -> ColumnElement[bool]:
    """SQL condition on the `documents` table: its OCR text contains every word of `query`.

    `session` tells the dialect (or is its name: "postgresql", "sqlite"). A query without any
    word (only punctuation) matches nothing.
    """
    words = terms(query)
    if not words:  # false, and still about `documents` so an enclosing EXISTS keeps its FROM
        return Document.id.is_(None)
    if _dialect(session) == "postgresql":
        # Each word is [[:alnum:]]+ after folding: safe inside a quoted tsquery lexeme.
        tsquery = " & ".join(f"'{w}'" for w in words)
        return literal_column("documents.search_vector").op("@@")(
            text("to_tsquery('simple', :sohoa_tsquery)").bindparams(sohoa_tsquery=tsquery))
    hits = text("SELECT k.document_id FROM document_search_keys k WHERE k.id IN "
                "(SELECT rowid FROM document_fts WHERE document_fts MATCH :sohoa_fts)"
                ).bindparams(sohoa_fts=_fts(words)).columns(document_id=Document.id.type)
    return Document.id.in_(select(hits.subquery().c.document_id))


def count_matches(session: Session | str, query: str, up_to: int):
    """A statement whose one value is how many documents match `query`, counted up to `up_to`
    (cheap when many match: the count stops there)."""
    words = terms(query)
    if _dialect(session) == "postgresql" or not words:
        hits = select(literal_column("1")).select_from(Document).where(
            match_documents(session, query)).limit(up_to)
    else:  # the FTS table alone: no key or document rows read
        hits = text("SELECT 1 FROM document_fts WHERE document_fts MATCH :sohoa_fts "
                    "LIMIT :sohoa_up_to").bindparams(
            sohoa_fts=_fts(words), sohoa_up_to=up_to).columns()
    return select(func.count()).select_from(hits.subquery())


def search_documents(
    session: Session,
    query: str,
    *,
    limit: int = 50,
    unit_ids: Iterable[int] | None = None,
    level: str | None = None,
    procedure: str | None = None,
    dossier: str | None = None,
    state: str | None = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
) -> list[str]:
    """Ids of documents whose OCR text contains every word of `query`, newest first.

    Filters narrow the match: unit ids, the level of the document's unit, procedure, dossier
    code, pipeline state, and the issue date of the linked result.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    stmt = select(Document.id).where(match_documents(session, query))
    if unit_ids is not None:
        stmt = stmt.where(Document.unit_id.in_(list(unit_ids)))
    if level is not None:
        stmt = stmt.where(Document.unit_id.in_(select(AdminUnit.id).where(AdminUnit.level == level)))
    if procedure is not None:
        stmt = stmt.where(Document.procedure_code == procedure)
    if dossier is not None:
        stmt = stmt.where(Document.dossier_code == dossier)
    if state is not None:
        stmt = stmt.where(Document.state == state)
    if issued_from is not None or issued_to is not None:
        stmt = stmt.join(Result, Result.id == Document.result_id)
        if issued_from is not None:
            stmt = stmt.where(Result.issued_on >= issued_from)
        if issued_to is not None:
            stmt = stmt.where(Result.issued_on <= issued_to)
    stmt = stmt.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit)
    return list(session.scalars(stmt))
