"""quotas: baseline totals per unit and year; per-result facts and per-year counters kept by
triggers; index for stored documents without a result

Revision ID: 0003_quotas
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_quotas"
down_revision = "0001"
branch_labels = None
depends_on = None

FIRST_STORED = ("(SELECT min(d.stored_at) FROM documents d "
                "WHERE d.result_id = {rid} AND d.state = 'stored')")


def _pg_years(row: str) -> list[str]:
    return [f"{row}.unit_id", f"coalesce(extract(year from {row}.issued_on)::int, 0)",
            f"coalesce(extract(year from {row}.valid_until)::int, 9999)",
            f"coalesce(extract(year from {row}.digitized_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::int,"
            " 9999)"]


def _sqlite_years(row: str) -> list[str]:
    return [f"{row}.unit_id", f"coalesce(CAST(strftime('%Y', {row}.issued_on) AS INTEGER), 0)",
            f"coalesce(CAST(strftime('%Y', {row}.valid_until) AS INTEGER), 9999)",
            f"coalesce(CAST(strftime('%Y', {row}.digitized_at, '+7 hours') AS INTEGER), 9999)"]


def _match(years: list[str]) -> str:
    return " AND ".join(f"{column} = {value}" for column, value in
                        zip(("unit_id", "issued_year", "valid_year", "digitized_year"), years,
                            strict=True))


YEAR_KEY = "unit_id, issued_year, valid_year, digitized_year"

POSTGRES_UP = [
    f"""
CREATE FUNCTION quota_facts_from_results() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.id <> OLD.id) THEN
    DELETE FROM quota_result_facts WHERE result_id = OLD.id;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  INSERT INTO quota_result_facts (result_id, unit_id, in_force, issued_on, valid_until,
                                  digitized_at)
  VALUES (NEW.id, NEW.unit_id, NEW.in_force, NEW.issued_on, NEW.valid_until,
          {FIRST_STORED.format(rid="NEW.id")})
  ON CONFLICT (result_id) DO UPDATE SET unit_id = EXCLUDED.unit_id,
    in_force = EXCLUDED.in_force, issued_on = EXCLUDED.issued_on,
    valid_until = EXCLUDED.valid_until, digitized_at = EXCLUDED.digitized_at;
  RETURN NEW;
END $$""",
    """
CREATE TRIGGER quota_facts_results AFTER INSERT OR DELETE
  OR UPDATE OF id, unit_id, in_force, issued_on, valid_until ON results
  FOR EACH ROW EXECUTE FUNCTION quota_facts_from_results()""",
    f"""
CREATE FUNCTION quota_facts_from_documents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.result_id IS NOT NULL THEN
    UPDATE quota_result_facts SET digitized_at = {FIRST_STORED.format(rid="OLD.result_id")}
    WHERE result_id = OLD.result_id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.result_id IS NOT NULL THEN
    UPDATE quota_result_facts SET digitized_at = {FIRST_STORED.format(rid="NEW.result_id")}
    WHERE result_id = NEW.result_id;
  END IF;
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER quota_facts_documents AFTER INSERT OR DELETE
  OR UPDATE OF state, stored_at, result_id ON documents
  FOR EACH ROW EXECUTE FUNCTION quota_facts_from_documents()""",
    f"""
CREATE FUNCTION quota_years_from_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.in_force THEN
    UPDATE quota_result_years SET results = results - 1
    WHERE {_match(_pg_years("OLD"))};
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.in_force THEN
    INSERT INTO quota_result_years ({YEAR_KEY}, results) VALUES ({", ".join(_pg_years("NEW"))}, 1)
    ON CONFLICT ({YEAR_KEY}) DO UPDATE SET results = quota_result_years.results + 1;
  END IF;
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER quota_years_facts AFTER INSERT OR UPDATE OR DELETE ON quota_result_facts
  FOR EACH ROW EXECUTE FUNCTION quota_years_from_facts()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS quota_years_facts ON quota_result_facts",
    "DROP FUNCTION IF EXISTS quota_years_from_facts()",
    "DROP TRIGGER IF EXISTS quota_facts_documents ON documents",
    "DROP TRIGGER IF EXISTS quota_facts_results ON results",
    "DROP FUNCTION IF EXISTS quota_facts_from_documents()",
    "DROP FUNCTION IF EXISTS quota_facts_from_results()",
]

_REFRESH = ("UPDATE quota_result_facts SET digitized_at = " + FIRST_STORED.format(rid="{ref}.result_id")
            + " WHERE result_id = {ref}.result_id;")
_SQLITE_ADD = (f"INSERT INTO quota_result_years ({YEAR_KEY}, results) "
               f"SELECT {', '.join(_sqlite_years('{row}'))}, 1 WHERE {{row}}.in_force "
               f"ON CONFLICT ({YEAR_KEY}) DO UPDATE SET results = results + 1;")
_SQLITE_SUB = (f"UPDATE quota_result_years SET results = results - 1 WHERE {{row}}.in_force "
               f"AND {_match(_sqlite_years('{row}'))};")
SQLITE_UP = [
    f"""
CREATE TRIGGER quota_facts_results_insert AFTER INSERT ON results BEGIN
  INSERT OR REPLACE INTO quota_result_facts (result_id, unit_id, in_force, issued_on,
                                             valid_until, digitized_at)
  VALUES (NEW.id, NEW.unit_id, NEW.in_force, NEW.issued_on, NEW.valid_until,
          {FIRST_STORED.format(rid="NEW.id")});
END""",
    f"""
CREATE TRIGGER quota_facts_results_update AFTER UPDATE OF id, unit_id, in_force, issued_on,
  valid_until ON results BEGIN
  DELETE FROM quota_result_facts WHERE result_id = OLD.id;
  INSERT OR REPLACE INTO quota_result_facts (result_id, unit_id, in_force, issued_on,
                                             valid_until, digitized_at)
  VALUES (NEW.id, NEW.unit_id, NEW.in_force, NEW.issued_on, NEW.valid_until,
          {FIRST_STORED.format(rid="NEW.id")});
END""",
    """
CREATE TRIGGER quota_facts_results_delete AFTER DELETE ON results BEGIN
  DELETE FROM quota_result_facts WHERE result_id = OLD.id;
END""",
    f"""
CREATE TRIGGER quota_facts_documents_insert AFTER INSERT ON documents
  WHEN NEW.result_id IS NOT NULL BEGIN
  {_REFRESH.format(ref="NEW")}
END""",
    f"""
CREATE TRIGGER quota_facts_documents_update AFTER UPDATE OF state, stored_at, result_id
  ON documents BEGIN
  {_REFRESH.format(ref="OLD")}
  {_REFRESH.format(ref="NEW")}
END""",
    f"""
CREATE TRIGGER quota_facts_documents_delete AFTER DELETE ON documents
  WHEN OLD.result_id IS NOT NULL BEGIN
  {_REFRESH.format(ref="OLD")}
END""",
    f"""
CREATE TRIGGER quota_years_facts_insert AFTER INSERT ON quota_result_facts
  WHEN NEW.in_force BEGIN
  {_SQLITE_ADD.format(row="NEW")}
END""",
    f"""
CREATE TRIGGER quota_years_facts_update AFTER UPDATE ON quota_result_facts BEGIN
  {_SQLITE_SUB.format(row="OLD")}
  {_SQLITE_ADD.format(row="NEW")}
END""",
    f"""
CREATE TRIGGER quota_years_facts_delete AFTER DELETE ON quota_result_facts
  WHEN OLD.in_force BEGIN
  {_SQLITE_SUB.format(row="OLD")}
END""",
]
SQLITE_DOWN = [
    f"DROP TRIGGER IF EXISTS {name}" for name in (
        "quota_facts_results_insert", "quota_facts_results_update", "quota_facts_results_delete",
        "quota_facts_documents_insert", "quota_facts_documents_update",
        "quota_facts_documents_delete", "quota_years_facts_insert", "quota_years_facts_update",
        "quota_years_facts_delete")
]

BACKFILL = """
INSERT INTO quota_result_facts (result_id, unit_id, in_force, issued_on, valid_until, digitized_at)
SELECT r.id, r.unit_id, r.in_force, r.issued_on, r.valid_until, d.first_at
FROM results r
LEFT JOIN (SELECT result_id, min(stored_at) AS first_at FROM documents
           WHERE state = 'stored' AND result_id IS NOT NULL GROUP BY result_id) d
       ON d.result_id = r.id
"""


def upgrade() -> None:
    op.create_table(
        "quota_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("valid_results", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=400), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["admin_units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id", "year", name="uq_quota_baselines_unit_year"),
    )
    op.create_index("ix_quota_baselines_year", "quota_baselines", ["year"])
    op.create_table(
        "quota_result_facts",
        sa.Column("result_id", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("in_force", sa.Boolean(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("digitized_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("result_id"),
    )
    op.create_index("ix_quota_result_facts_issued", "quota_result_facts",
                    ["unit_id", "issued_on", "in_force", "valid_until", "digitized_at"])
    op.create_index("ix_quota_result_facts_digitized", "quota_result_facts",
                    ["unit_id", "digitized_at", "in_force", "issued_on", "valid_until"])
    op.create_table(
        "quota_result_years",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("issued_year", sa.Integer(), nullable=False),
        sa.Column("valid_year", sa.Integer(), nullable=False),
        sa.Column("digitized_year", sa.Integer(), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "issued_year", "valid_year", "digitized_year"),
    )
    where = sa.text("state = 'stored' AND result_id IS NULL")
    op.create_index("ix_quota_documents_unlinked", "documents", ["unit_id", "stored_at"],
                    postgresql_where=where, sqlite_where=where)
    op.execute(BACKFILL)
    dialect = op.get_bind().dialect.name
    years = ", ".join(_pg_years("f") if dialect == "postgresql" else _sqlite_years("f"))
    op.execute(f"INSERT INTO quota_result_years ({YEAR_KEY}, results) SELECT {years}, count(*) "
               f"FROM quota_result_facts f WHERE f.in_force GROUP BY 1, 2, 3, 4")
    for statement in POSTGRES_UP if dialect == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_DOWN if dialect == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index("ix_quota_documents_unlinked", table_name="documents")
    op.drop_table("quota_result_years")
    op.drop_index("ix_quota_result_facts_digitized", table_name="quota_result_facts")
    op.drop_index("ix_quota_result_facts_issued", table_name="quota_result_facts")
    op.drop_table("quota_result_facts")
    op.drop_index("ix_quota_baselines_year", table_name="quota_baselines")
    op.drop_table("quota_baselines")
