"""The per-result fact table behind fast progress reports: full rebuild and consistency check.

Triggers keep `quota_result_facts` current (see quotas/models.py); these functions are for bulk
loads done with triggers off, and for checking that the facts match the catalog.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

FACTS_SELECT = """
SELECT r.id, r.unit_id, r.in_force, r.issued_on, r.valid_until, d.first_at
FROM results r
LEFT JOIN (SELECT result_id, min(stored_at) AS first_at FROM documents
           WHERE state = 'stored' AND result_id IS NOT NULL GROUP BY result_id) d
       ON d.result_id = r.id
"""
FACTS_COLUMNS = "result_id, unit_id, in_force, issued_on, valid_until, digitized_at"


def rebuild_facts(session: Session) -> int:
    """Recompute every fact from results and documents; returns the number of facts."""
    session.execute(text("DELETE FROM quota_result_facts"))
    session.execute(text(f"INSERT INTO quota_result_facts ({FACTS_COLUMNS}) {FACTS_SELECT}"))
    return session.execute(text("SELECT count(*) FROM quota_result_facts")).scalar_one()


def facts_mismatches(session: Session, limit: int = 10) -> list[tuple]:
    """Rows where the facts differ from what the catalog says (empty when consistent)."""
    query = f"""
    SELECT * FROM (
      SELECT 'missing_or_different' AS problem, e.id AS result_id FROM ({FACTS_SELECT}) e
      LEFT JOIN quota_result_facts f ON f.result_id = e.id
      WHERE f.result_id IS NULL OR f.unit_id <> e.unit_id OR f.in_force <> e.in_force
         OR coalesce(f.issued_on, '1900-01-01') <> coalesce(e.issued_on, '1900-01-01')
         OR coalesce(f.valid_until, '1900-01-01') <> coalesce(e.valid_until, '1900-01-01')
         OR (f.digitized_at IS NULL) <> (e.first_at IS NULL)
         OR f.digitized_at <> e.first_at
      UNION ALL
      SELECT 'orphan', f.result_id FROM quota_result_facts f
      LEFT JOIN results r ON r.id = f.result_id WHERE r.id IS NULL
    ) problems LIMIT {int(limit)}
    """
    return [tuple(row) for row in session.execute(text(query))]
