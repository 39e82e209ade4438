"""Decision 766/QĐ-TTg digitization ratios per unit, counted in SQL from the catalog.

Denominator: registered results (``results``) issued by the unit in the year, up to the as-of
date — the dossiers that ended with a result. Per result:

* ``electronic``: it has an electronic copy — some document linked to it holds a PDF
  (``pdf_key``, signed or still under review) created before the cutoff;
* ``digitized``: a linked document reached ``stored`` (signed and stored) before the cutoff;
* ``reused``: another system fetched one of its stored documents — an ``audit_events`` row with
  action ``reuse`` or ``api.fetch`` whose ``document_id`` is one of its documents, before the
  cutoff. (The API writes these when it serves a document or its data.)

Each ratio is a percent; 80% or more earns the indicator's full points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quotas.progress import LEVEL_ORDER, _units_query, day_end, resolve_as_of
from storage import states
from storage.catalog import AdminUnit, AuditEvent, Document, Result

REUSE_ACTIONS = ("reuse", "api.fetch")
FULL_POINTS = 80.0


@dataclass
class RatioRow:
    unit_code: str
    unit_name: str
    level: str
    year: int
    results: int
    electronic: int
    digitized: int
    reused: int
    electronic_percent: float
    digitized_percent: float
    reused_percent: float
    full_points: bool  # every ratio ≥ 80%

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def ratios_766(session: Session, province: str, *, year: int | None = None,
               as_of: date | None = None, level: str | None = None, unit: str | None = None,
               today: date | None = None) -> list[RatioRow]:
    year, as_of = resolve_as_of(year, as_of, today)
    cutoff = day_end(as_of)
    units = _units_query(province, year, level, unit).scalar_subquery()
    electronic = (select(Document.result_id).where(
        Document.result_id.is_not(None), Document.pdf_key.is_not(None),
        Document.created_at < cutoff).distinct().subquery("electronic"))
    digitized = (select(Document.result_id).where(
        Document.result_id.is_not(None), Document.state == states.STORED,
        Document.stored_at < cutoff).distinct().subquery("digitized"))
    reused = (select(Document.result_id)
              .join(AuditEvent, AuditEvent.document_id == Document.id)
              .where(Document.result_id.is_not(None), Document.state == states.STORED,
                     AuditEvent.action.in_(REUSE_ACTIONS), AuditEvent.at < cutoff)
              .distinct().subquery("reused"))
    query = (
        select(AdminUnit.code, AdminUnit.name, AdminUnit.level, AdminUnit.valid_from,
               func.count().label("results"),
               func.count(electronic.c.result_id).label("electronic"),
               func.count(digitized.c.result_id).label("digitized"),
               func.count(reused.c.result_id).label("reused"))
        .select_from(Result)
        .join(AdminUnit, AdminUnit.id == Result.unit_id)
        .outerjoin(electronic, electronic.c.result_id == Result.id)
        .outerjoin(digitized, digitized.c.result_id == Result.id)
        .outerjoin(reused, reused.c.result_id == Result.id)
        .where(Result.unit_id.in_(units), Result.issued_on >= date(year, 1, 1),
               Result.issued_on < as_of + timedelta(days=1))
        .group_by(AdminUnit.code, AdminUnit.name, AdminUnit.level, AdminUnit.valid_from))
    rows = []
    for r in session.execute(query):
        e, d, u = (_pct(r.electronic, r.results), _pct(r.digitized, r.results),
                   _pct(r.reused, r.results))
        rows.append(RatioRow(r.code, r.name, r.level, year, r.results, r.electronic, r.digitized,
                             r.reused, e, d, u, min(e, d, u) >= FULL_POINTS))
    rows.sort(key=lambda r: (LEVEL_ORDER.get(r.level, 9), r.unit_code, r.unit_name))
    return rows
