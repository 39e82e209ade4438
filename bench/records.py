"""The export stream of archive records (storage.records.iter_export_entries): entries/s and the
Python memory it holds at its peak, against loading the same rows all at once — issue #21's
"a 10,000-document export streams with bounded memory".

    python -m bench.records --docs 10000            # SQLite in a temporary folder
    python -m bench.records --docs 10000 --postgres # a temporary PostgreSQL database too

Rows are written with plain inserts (documents, results, records, their archive rows: ten
documents per record), then read back both ways; memory is Python's own allocation peak
(tracemalloc, in a pass of its own) while reading, so the figures compare the two readers, not
the interpreter.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from bench import results as bench_results

PER_RECORD = 10


def populate(url: str, docs: int) -> None:
    from sqlalchemy import insert

    from storage import db
    from storage.catalog import Document, Result
    from storage.records import ArchiveDocument, Record
    from storage.units import find_unit, seed_procedures, seed_units

    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_units(session, provinces={"01"})
        seed_procedures(session)
        unit = find_unit(session, "00004", on=date(2024, 1, 1))
        now = datetime.now(UTC)
        for start in range(0, docs, 1000):
            chunk = range(start, min(docs, start + 1000))
            records = [{"code": f"H24-{n // PER_RECORD:06d}", "unit_id": unit.id,
                        "dossier_code": f"H24-{n // PER_RECORD:06d}",
                        "title": f"Hồ sơ đăng ký khai sinh H24-{n // PER_RECORD:06d}",
                        "retention_years": None, "access_level": "conditional",
                        "language": "vi", "reliability": "digitized",
                        "document_count": PER_RECORD, "created_at": now, "updated_at": now}
                       for n in chunk if n % PER_RECORD == 0]
            if records:
                session.execute(insert(Record), records)
            ids = {r.code: r.id for r in session.query(Record.code, Record.id)}
            results, documents, rows = [], [], []
            for n in chunk:
                rid, digest = uuid.uuid4().hex, hashlib.sha256(f"{url}{n}".encode()).hexdigest()
                code = f"H24-{n // PER_RECORD:06d}"
                results.append({"id": rid, "unit_id": unit.id, "dossier_code": code,
                                "document_number": f"{n}/TLKS", "issued_on": date(2024, 3, 1),
                                "issuer": "UBND phường Ba Đình", "subject_name": "Nguyễn Văn An",
                                "subject_id": "001099012345", "document_type": "trich_luc_khai_sinh",
                                "in_force": True, "registered": False, "created_at": now})
                documents.append({"id": uuid.uuid4().hex, "state": "stored",
                                  "source_name": f"{n}.pdf", "source_sha256": digest,
                                  "source_size": 1000, "unit_id": unit.id, "dossier_code": code,
                                  "result_id": rid, "original_key": f"o/{digest}",
                                  "signed_key": f"s/{digest}", "signed_sha256": digest,
                                  "page_count": 2, "fields": {"summary": "Trích lục khai sinh"},
                                  "created_at": now, "updated_at": now, "stored_at": now,
                                  "attempts": 0})
                rows.append({"document_id": documents[-1]["id"], "record_id": ids[code],
                             "sequence": n % PER_RECORD + 1,
                             "code": f"{code}.{n % PER_RECORD + 1:03d}", "pages": 2,
                             "language": "vi", "reliability": "digitized", "filed_at": now})
            session.execute(insert(Result), results)
            session.execute(insert(Document), documents)
            session.execute(insert(ArchiveDocument), rows)


def measure(url: str, docs: int, label: str) -> None:
    from sqlalchemy import select

    from storage import db
    from storage.catalog import AdminUnit, Document, Result
    from storage.records import (
        ArchiveDocument,
        Fonds,
        Record,
        document_dict,
        iter_export_entries,
        record_dict,
    )

    def streamed() -> int:
        with db.session_scope(url) as session:
            return sum(1 for _ in iter_export_entries(session, []))

    def all_at_once() -> int:
        with db.session_scope(url) as session:
            rows = session.execute(
                select(Record, ArchiveDocument, Document, Result, Fonds, AdminUnit)
                .join(ArchiveDocument, ArchiveDocument.record_id == Record.id)
                .join(Document, Document.id == ArchiveDocument.document_id)
                .outerjoin(Result, Result.id == Document.result_id)
                .outerjoin(Fonds, Fonds.id == Record.fonds_id)
                .outerjoin(AdminUnit, AdminUnit.id == Record.unit_id)
                .order_by(Record.code, ArchiveDocument.sequence)).all()
            entries = [(record_dict(r, f, u), document_dict(a, d, res))
                       for r, a, d, res, f, u in rows]
            return len(entries)

    figures = {}
    for name, reader in (("streamed", streamed), ("all at once", all_at_once)):
        reader()  # warm: imports, connections, the statement cache
        began = time.perf_counter()
        count = reader()
        wall = time.perf_counter() - began
        tracemalloc.start()  # a pass of its own: tracing slows every allocation
        reader()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert count == docs, (name, count)
        figures[name] = (count / wall, peak)
        print(f"{label:<10} {name:<12} {count:>7} entries  {count / wall:>9.0f} entries/s  "
              f"peak {peak:7.1f} MiB", flush=True)
    run = bench_results.current()
    rate, peak = figures["streamed"]
    run.figure(f"{label}: export stream peak memory ({docs} documents)", round(peak, 2), "MiB",
               better="lower", comparator="all rows loaded at once",
               comparator_value=round(figures["all at once"][1], 2))
    run.figure(f"{label}: export stream rate", round(rate), "entries/s", better="higher",
               comparator="all rows loaded at once",
               comparator_value=round(figures["all at once"][0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="also on a temporary database")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    bench_results.start("records", quick=args.quick, args=vars(args))
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-records-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'catalog.sqlite3'}"
        populate(url, args.docs)
        measure(url, args.docs, "SQLite")
        from storage import db

        db.get_engine(url).dispose()
    if args.postgres:
        import psycopg

        name = f"sohoa_bench_records_{uuid.uuid4().hex[:8]}"
        admin = "postgresql://postgres@127.0.0.1:5432/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        try:
            populate(url, args.docs)
            measure(url, args.docs, "PostgreSQL")
        finally:
            from storage import db

            db.get_engine(url).dispose()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    bench_results.current().save()


if __name__ == "__main__":
    main()
