"""Records export benchmark: peak memory and documents/s of `sohoa records export` (a SIP:
signed PDF + original scan + record and document data per document, verified after writing)
at two sizes, to show memory stays bounded whatever the number of documents.

Builds one embedded installation (SQLite, local object folder, TEST key) in a temporary folder
with `--large` stored documents filed into records of `--per-record` documents each: every
document has its own signed-PDF object (copies of `--distinct` really signed PDFs: signing
10,000 would take the benchmark's time) and its own original scan (random bytes), and an OCR text
of a few KiB, as real rows carry. Then, each in a fresh Python process, it exports the first
`--small` documents' records and then all `--large`, through the real path
(`storage.records.iter_export_entries` → `archive.package.write_package`, checksums and
signatures re-verified with `--jobs` processes), and prints for each the exporter's peak RSS
(getrusage of itself; the verifying workers' peak apart), the wall time and documents/s, then
the ratio of the peak RSS large / small: near 1 means bounded. It never asserts.

    .venv/bin/python -m bench.records_export [--small 1000] [--large 10000] [--per-record 10]
                                             [--distinct 20] [--jobs 2] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNIT, UNIT_NAME = "00001", "UBND phường Phúc Xá"
OCR_TEXT = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc TRÍCH LỤC KHAI SINH "
            * 40)


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_HOME=str(home), PYTHONPATH=str(ROOT))
    return env


def populate(home: Path, documents: int, per_record: int, distinct: int) -> None:
    """Runs in a child (its own settings): the catalog, objects and records of the benchmark."""
    from sohoa.runtime import get_runtime
    from storage.catalog import Document, Result
    from storage.records import ArchiveDocument, Record
    from storage.units import find_unit
    from tests.signing.helpers import make_pdf

    rt = get_runtime().open()
    signer = rt.signers.for_unit(UNIT, UNIT_NAME)
    signed = [signer.sign(make_pdf(f"KET QUA {n}"), reason="Bản sao", signer_name=UNIT_NAME)
              for n in range(distinct)]
    now = datetime.now(UTC)
    with rt.session() as s:
        unit_id = find_unit(s, UNIT, on=date(2024, 1, 1)).id
    for first in range(0, documents, per_record * 50):  # 50 records per transaction
        with rt.session() as s:
            for r in range(first, min(documents, first + per_record * 50), per_record):
                code = f"H01-{r // per_record:06d}"
                record = Record(code=code, unit_id=unit_id, dossier_code=code,
                                title=f"Hồ sơ đăng ký khai sinh {code}", access_level="open",
                                retention_years=None, language="vi", reliability="digitized",
                                document_count=min(per_record, documents - r),
                                start_date=date(2024, 3, 1), end_date=date(2024, 3, 1),
                                keywords=["Trích lục khai sinh", "1.001193"])
                s.add(record)
                s.flush()
                for seq in range(1, min(per_record, documents - r) + 1):
                    n = r + seq - 1
                    pdf = signed[n % distinct]
                    original = os.urandom(8 * 1024)
                    src = hashlib.sha256(original).hexdigest()
                    sha = hashlib.sha256(pdf).hexdigest()
                    rt.objects.put_bytes(f"originals/{src}.png", original, "image/png")
                    rt.objects.put_bytes(f"signed/{n:06d}-{sha[:16]}.pdf", pdf, "application/pdf")
                    result = Result(unit_id=unit_id, dossier_code=code, procedure_code="1.001193",
                                    document_number=f"{n}/TLKS", document_type="trich_luc_khai_sinh",
                                    issued_on=date(2024, 3, 1), issuer=UNIT_NAME,
                                    subject_name="Nguyễn Văn An", subject_id=f"{n:012d}")
                    s.add(result)
                    s.flush()
                    doc = Document(state="stored", source_name=f"scan-{n}.png", source_sha256=src,
                                   source_size=len(original), unit_id=unit_id, dossier_code=code,
                                   procedure_code="1.001193", result_id=result.id,
                                   original_key=f"originals/{src}.png",
                                   signed_key=f"signed/{n:06d}-{sha[:16]}.pdf", signed_sha256=sha,
                                   document_type="trich_luc_khai_sinh", page_count=1,
                                   ocr_text=OCR_TEXT, fields={"summary": "Trích lục khai sinh"},
                                   stored_at=now)
                    s.add(doc)
                    s.flush()
                    s.add(ArchiveDocument(document_id=doc.id, record_id=record.id,
                                          sequence=seq,
                                          code=f"{code}.{seq:03d}", pages=1, filed_at=now))
            s.flush()
            s.expunge_all()


def export(home: Path, out: Path, records: int, jobs: int) -> dict:
    """Runs in a fresh child: export the first `records` records; its own figures."""
    from sqlalchemy import select

    from archive.package import write_package
    from sohoa.runtime import get_runtime
    from storage.records import Record, iter_export_entries

    rt = get_runtime().open()
    with rt.session() as s:
        codes = list(s.scalars(select(Record.code).order_by(Record.code).limit(records)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with rt.session() as s:
        report = write_package(iter_export_entries(s, codes), rt.objects, out, kind="sip",
                               trust_roots=rt.signers.trust_roots(), jobs=jobs)
    wall = time.perf_counter() - t0
    return {"documents": report.documents, "records": report.records, "ok": report.ok,
            "problems": report.problems[:5], "bytes": report.payload_bytes, "wall": wall,
            "rss_before_mib": before / 1024,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "workers_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def _child(args: list[str], home: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.records_export", *args], cwd=ROOT,
                          env=_env(home), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--per-record", type=int, default=10)
    parser.add_argument("--distinct", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="record the run as quick mode")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, home, *rest = args.child
        if what == "populate":
            populate(Path(home), int(rest[0]), int(rest[1]), int(rest[2]))
            print(json.dumps({"ok": True}))
        else:
            print(json.dumps(export(Path(home), Path(rest[0]), int(rest[1]), int(rest[2]))))
        return

    from bench import results as bench_results

    run = bench_results.start("records-export", quick=args.quick, args=vars(args))
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-export-") as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        _child(["--child", "populate", str(home), str(args.large), str(args.per_record),
                str(args.distinct)], home)
        print(f"catalog and objects of {args.large} documents made in "
              f"{time.perf_counter() - t0:.0f} s")
        rows = {}
        for label, docs in (("small", args.small), ("large", args.large)):
            records = -(-docs // args.per_record)
            figures = _child(["--child", "export", str(home), str(Path(tmp) / f"sip-{label}"),
                              str(records), str(args.jobs)], home)
            if not figures["ok"]:
                raise SystemExit(f"the {label} package did not verify: {figures['problems']}")
            rows[label] = figures
            rate = figures["documents"] / figures["wall"]
            print(f"{figures['documents']:>6} documents ({figures['records']} records, "
                  f"{figures['bytes'] / 2**20:.0f} MiB): peak RSS {figures['peak_rss_mib']:.0f} MiB "
                  f"(verifying workers {figures['workers_peak_rss_mib']:.0f} MiB), "
                  f"{figures['wall']:.1f} s, {rate:.1f} documents/s (written and verified)")
            run.figure(f"peak RSS at {figures['documents']} documents", figures["peak_rss_mib"],
                       "MiB", better="lower")
            run.figure(f"documents/s at {figures['documents']} documents (write + verify, "
                       f"{args.jobs} verifying processes)", rate, "docs/s")
            import shutil

            shutil.rmtree(Path(tmp) / f"sip-{label}", ignore_errors=True)
        ratio = rows["large"]["peak_rss_mib"] / rows["small"]["peak_rss_mib"]
        print(f"peak RSS {rows['large']['documents']} / {rows['small']['documents']} documents: "
              f"{ratio:.2f} (1.00 = memory does not grow with the package)")
        run.figure(f"peak RSS ratio {rows['large']['documents']} vs {rows['small']['documents']} "
                   "documents", ratio, "x", better="lower", target=1.25,
                   note="bounded memory: the large export may not need 25% more than the small")
    run.save()


if __name__ == "__main__":
    main()
