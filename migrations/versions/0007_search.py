"""search: full-text index over documents.ocr_text (PostgreSQL tsvector + unaccent + GIN;
SQLite FTS5), and the lookup indexes still missing (documents by dossier and by creation
time, results by date)

Revision ID: 0007_search
Revises: 0001

Both indexes hold *folded* text: no diacritics, "đ" read as "d", lower case, punctuation as a
word break ("125/QĐ-UBND" -> "125 qd ubnd"), so that `storage.search` can match a query typed
with or without marks. PostgreSQL has no Vietnamese stemmer: the `simple` configuration.
"""

from alembic import op

revision = "0007_search"
down_revision = "0001"
branch_labels = None
depends_on = None

# ---------------------------------------------------------------------------- PostgreSQL
# unaccent() is only STABLE (its dictionary could change), so the folding sits in a function
# used by a trigger, not in a generated column. The trigger fires only when ocr_text is
# written, not on every state change of the row.
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    r"""
CREATE FUNCTION sohoa_search_fold(body text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT regexp_replace(lower(translate(unaccent('unaccent'::regdictionary,
        normalize(coalesce(body, ''), NFC)), 'đĐ', 'dD')), '[^[:alnum:]]+', ' ', 'g') $$""",
    """
CREATE FUNCTION documents_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_vector := to_tsvector('simple'::regconfig, sohoa_search_fold(NEW.ocr_text));
  RETURN NEW;
END $$""",
    "ALTER TABLE documents ADD COLUMN search_vector tsvector",
    # A larger sample of frequent words makes the planner see that a rare word (a name, a
    # number) matches few rows, so it takes the GIN index instead of walking results newest
    # first: measured at 1M documents, 14 s -> 0.2 ms for a word found once.
    "ALTER TABLE documents ALTER COLUMN search_vector SET STATISTICS 1000",
    "UPDATE documents SET search_vector = to_tsvector('simple'::regconfig, "
    "sohoa_search_fold(ocr_text)) WHERE ocr_text IS NOT NULL",
    """
CREATE TRIGGER documents_search_vector BEFORE INSERT OR UPDATE OF ocr_text ON documents
  FOR EACH ROW EXECUTE FUNCTION documents_search_vector()""",
    "CREATE INDEX ix_documents_search ON documents USING gin (search_vector)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_documents_search",
    "DROP TRIGGER IF EXISTS documents_search_vector ON documents",
    "ALTER TABLE documents DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS documents_search_vector()",
    "DROP FUNCTION IF EXISTS sohoa_search_fold(text)",
    # the unaccent extension stays: another part may use it, and dropping it needs ownership
]

# ---------------------------------------------------------------------------- SQLite
# A contentless FTS5 table (the text is in documents already) whose rowid comes from a small
# key table: documents has no INTEGER PRIMARY KEY, so its own rowid may change on VACUUM.
# unicode61 with remove_diacritics 2 folds case and marks; "đ" it keeps, so the triggers
# replace it. A contentless table deletes with the old text, which the triggers have.
_SQLITE_FOLD = "replace(replace({col}, 'đ', 'd'), 'Đ', 'D')"
# Trigger bodies: each statement does nothing when its text is NULL, so one trigger per event.
_SQLITE_REMOVE = (
    "INSERT INTO document_fts (document_fts, rowid, body) SELECT 'delete', k.id, "
    + _SQLITE_FOLD.format(col="old.ocr_text")
    + " FROM document_search_keys k WHERE k.document_id = old.id AND old.ocr_text IS NOT NULL; "
    "DELETE FROM document_search_keys WHERE document_id = old.id;"
)
_SQLITE_ADD = (
    "INSERT INTO document_search_keys (document_id) SELECT new.id WHERE new.ocr_text IS NOT NULL; "
    "INSERT INTO document_fts (rowid, body) SELECT k.id, "
    + _SQLITE_FOLD.format(col="new.ocr_text")
    + " FROM document_search_keys k WHERE k.document_id = new.id AND new.ocr_text IS NOT NULL;"
)
SQLITE_UP = [
    "CREATE TABLE document_search_keys (id INTEGER PRIMARY KEY, "
    "document_id VARCHAR(32) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE document_fts USING fts5(body, content='', "
    "tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO document_search_keys (document_id) SELECT id FROM documents "
    "WHERE ocr_text IS NOT NULL",
    "INSERT INTO document_fts (rowid, body) SELECT k.id, "
    + _SQLITE_FOLD.format(col="d.ocr_text")
    + " FROM documents d JOIN document_search_keys k ON k.document_id = d.id",
    f"CREATE TRIGGER document_fts_insert AFTER INSERT ON documents BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER document_fts_delete AFTER DELETE ON documents BEGIN {_SQLITE_REMOVE} END",
    "CREATE TRIGGER document_fts_update AFTER UPDATE OF id, ocr_text ON documents "
    f"BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS document_fts_update",
    "DROP TRIGGER IF EXISTS document_fts_delete",
    "DROP TRIGGER IF EXISTS document_fts_insert",
    "DROP TABLE IF EXISTS document_fts",
    "DROP TABLE IF EXISTS document_search_keys",
]


def upgrade() -> None:
    op.create_index("ix_documents_dossier", "documents", ["dossier_code"])
    op.create_index("ix_results_issued", "results", ["issued_on"])
    # newest first: a search for common words walks this and stops at the page size
    op.create_index("ix_documents_created", "documents", ["created_at", "id"])
    bind = op.get_bind()
    dialect = bind.dialect.name
    for statement in POSTGRES_UP if dialect == "postgresql" else SQLITE_UP:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    for statement in POSTGRES_DOWN if dialect == "postgresql" else SQLITE_DOWN:
        bind.exec_driver_sql(statement)
    op.drop_index("ix_documents_created", table_name="documents")
    op.drop_index("ix_results_issued", table_name="results")
    op.drop_index("ix_documents_dossier", table_name="documents")
