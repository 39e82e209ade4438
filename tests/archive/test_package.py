"""Export packages (archive.package) on SQLite and PostgreSQL: a SIP validates with the `bagit`
library and its PDFs with poppler's pdfsig; our verification catches a tampered payload; a DIP
honours access levels and masks personal data like the API; a failure leaves nothing at OUT."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import bagit
import pytest

from archive.bag import MANIFEST, TAGMANIFEST, _sha256_file
from archive.package import PackageError, verify_package, write_package
from storage.records import iter_export_entries
from tests.archive.conftest import CIVIL, LETTER, filed_document
from tests.signing.helpers import nss_db_trusting
from tests.storage.conftest import seaweed  # noqa: F401 - session fixture


def export(rt, codes, out: Path, kind: str = "sip", **options):
    with rt.session() as s:
        return write_package(iter_export_entries(s, codes), rt.objects, out, kind=kind,
                             trust_roots=rt.signers.trust_roots(), **options)


def test_sip_is_a_valid_bag_with_records_documents_originals_and_signed_pdfs(rt, tmp_path):
    first = filed_document(rt, dossier="H26-0101")
    second = filed_document(rt, dossier="H26-0101")
    third = filed_document(rt, dossier="H26-0102", defaults=CIVIL)
    out = tmp_path / "sip"
    report = export(rt, ["H26-0102", "H26-0101"], out)
    assert report.ok, report.problems
    assert (report.records, report.documents, report.signatures_checked) == (2, 3, 3)
    assert report.personal_data == "full"

    bag = bagit.Bag(str(out))
    bag.validate()  # checksums, completeness, Payload-Oxum: the library's own reading
    assert bag.info["Sohoa-Package-Type"] == "SIP"
    assert bag.info["Source-Organization"] == "Phường Phúc Xá"  # the records' unit
    assert bag.info["BagIt-Profile-Identifier"] == "sohoa-records-package/1"
    assert sorted(p for p in bag.payload_files()) == sorted([
        "data/H26-0101/record.json",
        "data/H26-0101/001/document.json", "data/H26-0101/001/signed.pdf",
        "data/H26-0101/001/original.png",
        "data/H26-0101/002/document.json", "data/H26-0101/002/signed.pdf",
        "data/H26-0101/002/original.png",
        "data/H26-0102/record.json",
        "data/H26-0102/001/document.json", "data/H26-0102/001/signed.pdf",
        "data/H26-0102/001/original.png"])
    assert "package.json" in bag.tagfile_entries()

    record = json.loads((out / "data/H26-0101/record.json").read_text())
    assert record["code"] == "H26-0101" and record["document_count"] == 2
    assert record["retention"] == "10 năm" and record["access_level"] == "open"
    doc = json.loads((out / "data/H26-0101/001/document.json").read_text())
    assert doc["document_id"] == first and doc["code"] == "H26-0101.001"
    assert doc["subject_name"] == "Nguyễn Văn An" and doc["subject_id"] == "001099012345"
    assert doc["files"] == {"signed_pdf": "data/H26-0101/001/signed.pdf",
                            "original": "data/H26-0101/001/original.png"}
    assert "signed_key" not in doc and "original_key" not in doc
    assert _sha256_file(out / "data/H26-0101/001/original.png") == doc["original_sha256"]
    assert _sha256_file(out / "data/H26-0101/001/signed.pdf") == doc["signed_sha256"]
    assert json.loads((out / "data/H26-0101/002/document.json").read_text())[
        "document_id"] == second
    assert json.loads((out / "data/H26-0102/001/document.json").read_text())[
        "document_id"] == third
    package = json.loads((out / "package.json").read_text())
    assert package["package"] == "sip" and package["documents"] == 3
    assert not list(tmp_path.glob(".sip.*"))  # the temporary folder is gone


def test_signed_pdfs_in_the_package_verify_with_pdfsig(rt, tmp_path):
    from signing.dev_pki import ensure_dev_pki

    filed_document(rt, dossier="H26-0103")
    out = tmp_path / "sip"
    assert export(rt, ["H26-0103"], out).ok
    nss = nss_db_trusting(ensure_dev_pki(rt.settings.keys_dir), tmp_path / "nss")
    run = subprocess.run(["pdfsig", "-nssdir", nss, str(out / "data/H26-0103/001/signed.pdf")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Signature is Valid." in run.stdout
    assert "Certificate is Trusted." in run.stdout
    assert "Total document signed" in run.stdout


def test_tampering_a_payload_file_fails_our_verification_and_bagit(rt, tmp_path):
    filed_document(rt, dossier="H26-0104")
    out = tmp_path / "sip"
    assert export(rt, ["H26-0104"], out).ok
    roots = rt.signers.trust_roots()
    assert verify_package(out, roots) == []

    original = out / "data/H26-0104/001/original.png"
    original.write_bytes(original.read_bytes() + b"x")
    problems = verify_package(out, roots)
    assert len(problems) == 1 and problems[0].startswith("data/H26-0104/001/original.png: sha256")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(out)).validate()


def test_a_re_signed_manifest_does_not_hide_a_changed_pdf(rt, tmp_path):
    """Someone edits the signed PDF and rewrites both manifests to match: the checksums pass,
    our signature verification does not."""
    filed_document(rt, dossier="H26-0105")
    out = tmp_path / "sip"
    assert export(rt, ["H26-0105"], out).ok
    pdf = out / "data/H26-0105/001/signed.pdf"
    data = bytearray(pdf.read_bytes())
    at = data.index(b"KET QUA")
    data[at:at + 7] = b"KET QUY"  # inside the signed byte range
    pdf.write_bytes(bytes(data))
    old = _sha256_file
    lines = (out / MANIFEST).read_text().splitlines()
    (out / MANIFEST).write_text("".join(
        (f"{old(pdf)}  data/H26-0105/001/signed.pdf" if line.endswith("/signed.pdf") else line)
        + "\n" for line in lines))
    (out / TAGMANIFEST).write_text("".join(
        f"{old(out / name)}  {name}\n"
        for name in ("bagit.txt", "bag-info.txt", MANIFEST, "package.json")))
    bagit.Bag(str(out)).validate()  # the bag alone is fooled
    problems = verify_package(out, rt.signers.trust_roots())
    assert problems and all(p.startswith("data/H26-0105/001/signed.pdf: ") for p in problems)


def test_dip_refuses_restricted_records_unless_allowed_or_left_out(rt, tmp_path):
    filed_document(rt, dossier="H26-0201", defaults=LETTER)
    filed_document(rt, dossier="H26-0202", defaults=CIVIL)
    with pytest.raises(PackageError, match=r"record H26-0202: access level conditional"):
        export(rt, ["H26-0201", "H26-0202"], tmp_path / "refused", kind="dip")
    assert not (tmp_path / "refused").exists() and not list(tmp_path.glob(".refused.*"))

    left = export(rt, ["H26-0201", "H26-0202"], tmp_path / "left", kind="dip",
                  restricted="exclude")
    assert left.ok and left.excluded == ["H26-0202"] and left.records == 1
    assert not (tmp_path / "left/data/H26-0202").exists()
    package = json.loads((tmp_path / "left/package.json").read_text())
    assert package["restricted_records_excluded"] == ["H26-0202"]

    allowed = export(rt, ["H26-0202"], tmp_path / "allowed", kind="dip", restricted="allow")
    assert allowed.ok and allowed.restricted_included == ["H26-0202"]
    bagit.Bag(str(tmp_path / "allowed")).validate()

    with pytest.raises(PackageError, match="no document to export .*H26-0202"):
        export(rt, ["H26-0202"], tmp_path / "empty", kind="dip", restricted="exclude")


def test_dip_masks_personal_data_like_the_api_and_carries_no_originals(rt, tmp_path):
    from storage.pii import mask_id, mask_name

    filed_document(rt, dossier="H26-0203", subject_name="Trần Thị Bích",
                   subject_id="079301000123")
    out = tmp_path / "dip"
    report = export(rt, ["H26-0203"], out, kind="dip")
    assert report.ok and report.personal_data == "masked"
    doc = json.loads((out / "data/H26-0203/001/document.json").read_text())
    assert doc["subject_name"] == mask_name("Trần Thị Bích") == "T*** T*** B***"
    assert doc["subject_id"] == mask_id("079301000123") == "**********23"
    assert "original" not in doc["files"] and "original_sha256" not in doc
    assert not list(out.rglob("original.*"))
    text = "".join(p.read_text() for p in out.rglob("*.json")) + (out / "bag-info.txt").read_text()
    assert "079301000123" not in text and "Trần Thị Bích" not in text
    assert bagit.Bag(str(out)).info["Sohoa-Personal-Data"] == "masked"

    full = export(rt, ["H26-0203"], tmp_path / "dip-full", kind="dip", personal_data=True)
    doc = json.loads((tmp_path / "dip-full/data/H26-0203/001/document.json").read_text())
    assert full.personal_data == "full" and doc["subject_id"] == "079301000123"


def test_a_missing_object_names_record_and_document_and_leaves_nothing(rt, tmp_path):
    filed_document(rt, dossier="H26-0301")
    doc_id = filed_document(rt, dossier="H26-0301")
    with rt.session() as s:
        from storage.catalog import Document

        key = s.get(Document, doc_id).original_key
    rt.objects.delete(key)
    out = tmp_path / "sip"
    with pytest.raises(PackageError, match=r"record H26-0301, document H26-0301\.002: its "
                       r"original scan .* is missing"):
        export(rt, ["H26-0301"], out)
    assert not out.exists() and not list(tmp_path.glob(".sip.*"))


def test_a_swapped_object_is_refused(rt, tmp_path):
    doc_id = filed_document(rt, dossier="H26-0302")
    with rt.session() as s:
        from storage.catalog import Document

        key = s.get(Document, doc_id).signed_key
    rt.objects.put_bytes(key, b"%PDF-1.7 not the signed copy", "application/pdf")
    with pytest.raises(PackageError, match=r"H26-0302\.001: its signed PDF .* catalog's sha256"):
        export(rt, ["H26-0302"], tmp_path / "sip")
    assert not (tmp_path / "sip").exists()


def test_out_must_not_exist_and_unknown_records_are_named(rt, tmp_path):
    from storage.records import RecordError

    filed_document(rt, dossier="H26-0303")
    (tmp_path / "taken").mkdir()
    with pytest.raises(PackageError, match="already exists"):
        export(rt, ["H26-0303"], tmp_path / "taken")
    with pytest.raises(RecordError, match="no record NOPE"):
        export(rt, ["H26-0303", "NOPE"], tmp_path / "sip")
    assert not (tmp_path / "sip").exists()


def test_verification_in_worker_processes_finds_the_same(rt, tmp_path):
    for _ in range(3):
        filed_document(rt, dossier="H26-0304")
    out = tmp_path / "sip"
    report = export(rt, ["H26-0304"], out, jobs=2)
    assert report.ok and report.signatures_checked == 3
    shutil.copy(out / "data/H26-0304/001/signed.pdf", out / "data/H26-0304/002/signed.pdf")
    problems = verify_package(out, rt.signers.trust_roots(), jobs=2)
    assert [p.split(":")[0] for p in problems] == ["data/H26-0304/002/signed.pdf"]


def test_sip_from_an_s3_object_store(rt, tmp_path, request):
    """The same export reading its objects from S3 (SeaweedFS), streamed and checked."""
    from storage.catalog import Document
    from storage.s3_store import S3ObjectStore
    from tests.storage.conftest import FAST_RETRY, new_bucket_name

    server = request.getfixturevalue("seaweed")
    s3 = S3ObjectStore.from_url(server.bucket_url(new_bucket_name(), **FAST_RETRY))
    doc_id = filed_document(rt, dossier="H26-1001")
    with rt.session() as s:
        doc = s.get(Document, doc_id)
        for key in (doc.signed_key, doc.original_key):
            s3.put_bytes(key, rt.objects.get_bytes(key))
    out = tmp_path / "sip"
    with rt.session() as s:
        report = write_package(iter_export_entries(s, ["H26-1001"]), s3, out, kind="sip",
                               trust_roots=rt.signers.trust_roots())
    assert report.ok and report.documents == 1, report.problems
    bagit.Bag(str(out)).validate()
