"""Regenerate the sample submission package kept as a test artifact:
``tests/archive/data/sample-sip/`` (a BagIt SIP of two records, three documents) and
``tests/archive/data/sample-sip-root.pem`` (the TEST root certificate that signed it).

It runs the real export (`archive.package.write_package`) on a throw-away embedded
installation (SQLite, local objects, a freshly generated TEST PKI — never a real key), with
made-up people and numbers. `tests/archive/test_sample.py` validates the result with the
`bagit` library and our own checks; rerun this script when the package layout changes:

    .venv/bin/python scripts/sample_sip.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "archive" / "data" / "sample-sip"
ROOT_PEM = TARGET.with_name("sample-sip-root.pem")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="sohoa-sample-sip-") as tmp:
        os.environ["SOHOA_HOME"] = str(Path(tmp) / "home")
        for name in ("SOHOA_DATABASE_URL", "SOHOA_STORAGE_URL", "SOHOA_SIGNING_KEY"):
            os.environ.pop(name, None)
        from archive.package import write_package
        from signing.dev_pki import ensure_dev_pki
        from sohoa.runtime import get_runtime
        from storage.records import get_record, iter_export_entries, update_record, upsert_fonds
        from tests.archive.conftest import CIVIL, LETTER, filed_document

        rt = get_runtime().open()
        filed_document(rt, dossier="000.00.01.H26-240301-0001", defaults=CIVIL,
                       subject_name="Nguyễn Văn Mẫu", subject_id="001099000001",
                       issued=date(2024, 3, 1), text="TRICH LUC KHAI SINH MAU 1")
        filed_document(rt, dossier="000.00.01.H26-240301-0001", defaults=CIVIL,
                       subject_name="Nguyễn Văn Mẫu", subject_id="001099000001",
                       issued=date(2024, 3, 4), text="TRICH LUC KHAI SINH MAU 2")
        filed_document(rt, dossier="000.00.01.H26-240510-0002", defaults=LETTER,
                       subject_name="Trần Thị Thử", subject_id="079301000002",
                       issued=date(2024, 5, 10), text="CONG VAN MAU 3")
        with rt.session() as s:
            fonds = upsert_fonds(s, "P-00001", "Phông UBND phường Phúc Xá (mẫu)")
            for code in ("000.00.01.H26-240301-0001", "000.00.01.H26-240510-0002"):
                update_record(s, get_record(s, code), {
                    "fonds_id": fonds.id, "physical_condition": "Tốt", "sheet_count": 1,
                    "information_sign": "HT.01"})
        work = Path(tmp) / "sip"
        with rt.session() as s:
            report = write_package(iter_export_entries(s, []), rt.objects, work, kind="sip",
                                   trust_roots=rt.signers.trust_roots(),
                                   organization="UBND phường Phúc Xá (TEST)",
                                   agent="sohoa scripts/sample_sip.py")
        if not report.ok:
            print("\n".join(report.problems), file=sys.stderr)
            return 1
        shutil.rmtree(TARGET, ignore_errors=True)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(work, TARGET)
        shutil.copy(ensure_dev_pki(rt.settings.keys_dir).root_cert_path, ROOT_PEM)
    print(f"{TARGET.relative_to(ROOT)}: {report.records} records, {report.documents} documents, "
          f"{report.payload_bytes} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
