"""results.number_key: the document number as compared (storage.numbers.number_key — NFC, đ and
tone marks folded, dashes and spaces unified, upper case), indexed with the issue date, so
"12/QĐ-UBND", "12/QD - UBND" and "12/qđ–ubnd" are found as one result by scan linking, imports,
`sohoa results reconcile` and the counter's duplicate check. Existing rows are backfilled here.

Revision ID: 0020_number_key
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.numbers import number_key

revision = "0020_number_key"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 5000

# Plain ALTER TABLE: a batch "move and copy" of `results` would drop the quota triggers on it.


def upgrade() -> None:
    op.add_column("results", sa.Column("number_key", sa.String(length=80), nullable=True))
    conn = op.get_bind()
    results = sa.table("results", sa.column("id", sa.String), sa.column("document_number", sa.String),
                       sa.column("number_key", sa.String))
    after = ""
    while True:  # keyset pages by id: memory stays flat on a large catalog
        rows = conn.execute(sa.select(results.c.id, results.c.document_number)
                            .where(results.c.id > after, results.c.document_number.is_not(None))
                            .order_by(results.c.id).limit(BATCH)).all()
        if not rows:
            break
        conn.execute(sa.update(results).where(results.c.id == sa.bindparam("rid"))
                     .values(number_key=sa.bindparam("key")),
                     [{"rid": rid, "key": number_key(number)} for rid, number in rows])
        after = rows[-1][0]
    op.create_index("ix_results_number_key", "results", ["number_key", "issued_on"])


def downgrade() -> None:
    op.drop_index("ix_results_number_key", table_name="results")
    op.drop_column("results", "number_key")
