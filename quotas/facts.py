"""The trigger-maintained tables behind fast progress reports: full rebuild and consistency checks.

Triggers keep `quota_result_facts` and `quota_result_years` current (see quotas/models.py); these
functions are for bulk loads done with triggers off, and for checking both against the catalog.
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
YEAR_KEY = "unit_id, issued_year, valid_year, digitized_year"


def _years_select(session: Session) -> str:
    """Per-year counters recomputed from the facts (same expressions as the triggers)."""
    if session.get_bind().dialect.name == "postgresql":
        years = ("f.unit_id, coalesce(extract(year from f.issued_on)::int, 0), "
                 "coalesce(extract(year from f.valid_until)::int, 9999), "
                 "coalesce(extract(year from f.digitized_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::int,"
                 " 9999)")
    else:
        years = ("f.unit_id, coalesce(CAST(strftime('%Y', f.issued_on) AS INTEGER), 0), "
                 "coalesce(CAST(strftime('%Y', f.valid_until) AS INTEGER), 9999), "
                 "coalesce(CAST(strftime('%Y', f.digitized_at, '+7 hours') AS INTEGER), 9999)")
    return (f"SELECT {years}, count(*) AS results FROM quota_result_facts f WHERE f.in_force "
            "GROUP BY 1, 2, 3, 4")


def rebuild_facts(session: Session) -> int:
    """Recompute every fact and every yearly counter from results and documents; returns the
    number of facts."""
    session.execute(text("DELETE FROM quota_result_facts"))
    session.execute(text(f"INSERT INTO quota_result_facts ({FACTS_COLUMNS}) {FACTS_SELECT}"))
    session.execute(text("DELETE FROM quota_result_years"))
    session.execute(text(f"INSERT INTO quota_result_years ({YEAR_KEY}, results) "
                         f"{_years_select(session)}"))
    return session.execute(text("SELECT count(*) FROM quota_result_facts")).scalar_one()


def facts_mismatches(session: Session, limit: int = 10) -> list[tuple]:
    """Where the facts or the yearly counters differ from the catalog (empty when consistent)."""
    facts = f"""
      SELECT 'fact differs' AS problem, e.id AS what FROM ({FACTS_SELECT}) e
      LEFT JOIN quota_result_facts f ON f.result_id = e.id
      WHERE f.result_id IS NULL OR f.unit_id <> e.unit_id OR f.in_force <> e.in_force
         OR coalesce(f.issued_on, '1900-01-01') <> coalesce(e.issued_on, '1900-01-01')
         OR coalesce(f.valid_until, '1900-01-01') <> coalesce(e.valid_until, '1900-01-01')
         OR (f.digitized_at IS NULL) <> (e.first_at IS NULL)
         OR f.digitized_at <> e.first_at
      UNION ALL
      SELECT 'orphan fact', f.result_id FROM quota_result_facts f
      LEFT JOIN results r ON r.id = f.result_id WHERE r.id IS NULL
    """
    problems = [tuple(r) for r in session.execute(text(f"SELECT * FROM ({facts}) p LIMIT {int(limit)}"))]
    expected = {tuple(r[:4]): r[4] for r in session.execute(text(_years_select(session)))}
    stored = {tuple(r[:4]): r[4] for r in session.execute(text(
        f"SELECT {YEAR_KEY}, results FROM quota_result_years WHERE results <> 0"))}
    for key in sorted(set(expected) | set(stored)):
        if expected.get(key, 0) != stored.get(key, 0):
            problems.append(("year counter differs", f"{key}: {stored.get(key, 0)} "
                             f"instead of {expected.get(key, 0)}"))
    return problems[:limit]
