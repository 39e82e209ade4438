"""One result by id, in one statement: the result, its unit (and parent unit), its issuing
agency, its procedure's name, the document that carries it (the stored one, newest first), the
agency that made that copy and the signer recorded when it was stored. It serves the metadata,
PDF and verification routes alike.

The statement is plain SQL that SQLite and PostgreSQL both run, with the id as its only
parameter and every constant written inline: compiled once, prepared once per connection by
the server, and answered in one round trip (it used to take three ORM queries). Bound constants
had cost more than the lookup itself: each request re-dumped seven typed parameters, and
PostgreSQL planned the LIMIT and ORDER BY of the subquery without knowing them.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Date, DateTime, text

from storage import states

assert states.STORED == "stored"  # written inline below

RESULT_BY_ID = text("""
SELECT r.id, r.dossier_code, r.procedure_code, r.document_number, r.document_type,
       r.issued_on, r.in_force, r.valid_until, r.issuer, r.subject_name, r.subject_id,
       r.created_at,
       u.id AS unit_id, u.code AS unit_code, u.name AS unit_name, u.level AS unit_level,
       u.parent_id, u.province_code, pu.code AS parent_code, p.name AS procedure_name,
       ia.code AS agency_code, ia.name AS agency_name,
       ca.code AS copy_agency_code, ca.name AS copy_agency_name,
       d.id AS doc_id, d.state AS doc_state, d.page_count, d.signed_key, d.signed_sha256,
       d.source_sha256, d.document_type AS doc_type, d.confidence, d.fields, d.stored_at,
       (SELECT e.detail FROM audit_events e
         WHERE e.document_id = d.id AND e.action = 'stored'
         ORDER BY e.at DESC LIMIT 1) AS stored_event
  FROM results r
  JOIN admin_units u ON u.id = r.unit_id
  LEFT JOIN admin_units pu ON pu.id = u.parent_id
  LEFT JOIN procedures p ON p.code = r.procedure_code
  LEFT JOIN agencies ia ON ia.id = r.agency_id
  LEFT JOIN documents d ON d.id = (
       SELECT b.id FROM documents b
        WHERE b.result_id = r.id
        ORDER BY CASE WHEN b.state = 'stored' THEN 0 ELSE 1 END, b.stored_at DESC, b.id
        LIMIT 1)
  LEFT JOIN agencies ca ON ca.id = d.agency_id
 WHERE r.id = :result_id
""").columns(  # typed, so SQLite's text values come back as the same Python types
    issued_on=Date, valid_until=Date, in_force=Boolean, created_at=DateTime(timezone=True),
    stored_at=DateTime(timezone=True), fields=JSON, stored_event=JSON)
