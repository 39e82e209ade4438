"""Digitization progress computed in SQL: stored (signed) results per level and unit.

This is the foundation's count; quota targets and the valid-results denominator build on it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline import states
from storage.catalog import AdminUnit, Document

LEVEL_ORDER = {"city": 0, "district": 1, "commune": 2}


def digitized_counts(session: Session) -> list[dict]:
    """One row per unit that has documents: level, unit code/name, stored and total counts."""
    query = (
        select(AdminUnit.level, AdminUnit.code, AdminUnit.name,
               func.count(Document.id).label("documents"),
               func.count(Document.id).filter(Document.state == states.STORED).label("stored"),
               func.count(Document.id).filter(Document.state == states.NEEDS_REVIEW)
               .label("needs_review"),
               func.count(Document.id).filter(Document.state == states.FAILED).label("failed"))
        .join(Document, Document.unit_id == AdminUnit.id)
        .group_by(AdminUnit.level, AdminUnit.code, AdminUnit.name)
    )
    rows = [dict(r._mapping) for r in session.execute(query)]
    rows.sort(key=lambda r: (LEVEL_ORDER.get(r["level"], 9), r["code"]))
    return rows


def render_counts(rows: list[dict]):
    from rich.table import Table

    table = Table("level", "unit", "name", "stored", "needs review", "failed", "documents",
                  title="Digitized results")
    totals: dict[str, int] = {}
    for row in rows:
        table.add_row(row["level"], row["code"], row["name"], str(row["stored"]),
                      str(row["needs_review"]), str(row["failed"]), str(row["documents"]))
        totals[row["level"]] = totals.get(row["level"], 0) + row["stored"]
    for level, count in sorted(totals.items(), key=lambda kv: LEVEL_ORDER.get(kv[0], 9)):
        table.add_row(f"[bold]{level}[/bold]", "", "[bold]total stored[/bold]", f"[bold]{count}",
                      "", "", "")
    return table
