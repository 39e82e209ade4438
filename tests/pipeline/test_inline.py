"""The inline pipeline end to end on the embedded default, and what it does with bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from pipeline import states
from pipeline.inline import digitize
from storage.catalog import AuditEvent, Document, Result


def keys(rt) -> list[str]:
    return list(rt.objects.iter_keys())


def test_scan_becomes_signed_searchable_stored_result(runtime, decision_png):
    [record] = digitize(runtime, [decision_png], unit_code="00004", procedure="1.001193",
                        dossier="000.00.04.H26-210105-0001")
    assert record["status"] == "stored", record
    assert record["pages"] == 1
    assert record["fields"]["number"] == "125/QĐ-UBND"
    assert record["fields"]["issued_on"] == "2021-01-05"
    with runtime.session() as s:
        doc = s.get(Document, record["document_id"])
        assert doc.state == states.STORED and doc.signed_sha256 == record["sha256"]
        # the archive state is kept for `sohoa signatures status` (default B-B: no timestamp)
        assert doc.signature_level == runtime.signers.level == "B-B"
        assert doc.archive_expires_at is None
        # issued in 2021: the result belongs to Phường Trúc Bạch, not today's Phường Ba Đình
        assert doc.unit.name == "Phường Trúc Bạch"
        result = s.get(Result, doc.result_id)
        assert result.document_number == "125/QĐ-UBND" and result.procedure_code == "1.001193"
        assert len(doc.pages) == 1 and doc.pages[0].words and doc.pages[0].dpi == 300
        assert {e.action for e in s.query(AuditEvent).filter_by(document_id=doc.id)} >= {
            "received", "stored"}
        signed = runtime.objects.get_bytes(doc.signed_key)
        original = runtime.objects.get_bytes(doc.original_key)
    assert original == decision_png.read_bytes()  # the original scan is kept unchanged
    assert signed.startswith(b"%PDF-")
    pdf_path = decision_png.with_suffix(".signed.pdf")
    pdf_path.write_bytes(signed)
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Trúc Bạch" in text and "QUYẾT ĐỊNH" in text
    sig = subprocess.run(["pdfsig", str(pdf_path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in sig
    with pikepdf.open(pdf_path) as pdf:  # 100% scale: A4 at 300 dpi is 595 x 842 pt
        box = [float(v) for v in pdf.pages[0].mediabox]
        assert abs(box[2] - 595.2) < 2 and abs(box[3] - 842.0) < 2


def test_same_scan_twice_is_one_document(runtime, decision_png, tmp_path):
    copy = tmp_path / "again.png"
    copy.write_bytes(decision_png.read_bytes())
    both = digitize(runtime, [decision_png, copy], unit_code="00004")
    # the two copies race in parallel: whichever is ingested first is stored, the other is a dup
    assert sorted(r["status"] for r in both) == ["duplicate", "stored"]
    assert both[0]["document_id"] == both[1]["document_id"]
    first = next(r for r in both if r["status"] == "stored")
    again = digitize(runtime, [decision_png], unit_code="00004")[0]
    assert again["status"] == "duplicate" and again["sha256"] == first["sha256"]
    with runtime.session() as s:
        assert s.query(Document).count() == 1
    assert len([k for k in keys(runtime) if "signed-" in k]) == 1


def _encrypted_pdf(path: Path, source_png: Path) -> Path:
    img_pdf = path.with_suffix(".plain.pdf")
    Image.open(source_png).save(img_pdf, resolution=300)
    with pikepdf.open(img_pdf) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(owner="o", user="secret"))
    return path


def _huge_png(path: Path) -> Path:
    """A PNG whose header claims 60,000 x 60,000 pixels (never decoded in full)."""
    small = path.with_suffix(".small.png")
    Image.new("L", (8, 8), 255).save(small)
    data = bytearray(small.read_bytes())
    data[16:24] = (60_000).to_bytes(4, "big") * 2  # IHDR width, height
    import zlib

    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind", ["corrupt_pdf", "encrypted_pdf", "unsupported", "huge_image"])
def test_bad_input_fails_clearly_and_is_quarantined(runtime, decision_png, tmp_path, kind):
    if kind == "corrupt_pdf":
        bad = tmp_path / "hong.pdf"
        bad.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf\n")
    elif kind == "encrypted_pdf":
        bad = _encrypted_pdf(tmp_path / "mat-khau.pdf", decision_png)
    elif kind == "unsupported":
        bad = tmp_path / "van-ban.docx"
        bad.write_bytes(b"PK\x03\x04 not a scan")
    else:
        bad = _huge_png(tmp_path / "khong-lo.png")
    [record] = digitize(runtime, [bad], unit_code="00004")
    assert record["status"] == "failed"
    assert bad.name in record["error"]
    with runtime.session() as s:
        doc = s.get(Document, record["document_id"])
        assert doc.state == states.FAILED and doc.failed_stage == "ocr"
        assert doc.original_key.startswith("quarantine/")
        assert runtime.objects.get_bytes(doc.original_key) == bad.read_bytes()
    assert not [k for k in keys(runtime) if "searchable-" in k or "signed-" in k]


def test_empty_and_missing_files_are_refused_without_a_trace(runtime, tmp_path, decision_png):
    empty = tmp_path / "rong.pdf"
    empty.write_bytes(b"")
    missing = tmp_path / "khong-co.png"
    records = digitize(runtime, [empty, missing, decision_png], unit_code="00004")
    assert [r["status"] for r in records] == ["failed", "failed", "stored"]
    assert "rong.pdf" in records[0]["error"] and "empty" in records[0]["error"]
    assert "khong-co.png" in records[1]["error"]
    assert records[0]["document_id"] is None
    with runtime.session() as s:
        assert s.query(Document).count() == 1


def test_unknown_unit_is_refused(runtime, decision_png):
    [record] = digitize(runtime, [decision_png], unit_code="99999")
    assert record["status"] == "failed" and "99999" in record["error"]


def test_object_store_failure_while_signing_keeps_the_document(runtime, decision_png,
                                                              monkeypatch):
    from storage.objects import ObjectStoreUnavailable

    for method in ("put_bytes", "put_file"):
        real_put = getattr(runtime.objects, method)

        def flaky_put(key, data, content_type="application/octet-stream", _real=real_put):
            if "signed-" in key:
                raise ObjectStoreUnavailable("object store went away")
            return _real(key, data, content_type)

        monkeypatch.setattr(runtime.objects, method, flaky_put)
    [record] = digitize(runtime, [decision_png], unit_code="00004")
    assert record["status"] == "failed" and "went away" in record["error"]
    with runtime.session() as s:
        doc = s.get(Document, record["document_id"])
        assert doc.failed_stage == "sign" and doc.signed_key is None
        assert not doc.original_key.startswith("quarantine/")  # transient: not the scan's fault
        assert runtime.objects.get_bytes(doc.original_key) == decision_png.read_bytes()


def test_signed_copy_carries_a_readable_qr_code(runtime, decision_png, tmp_path):
    """Circular 01/2023: dossier, procedure, applicant, document name, system, time, link."""
    import cv2

    from signing.seal import read_qr_payload
    from tests.support.qr import decode_qr

    [record] = digitize(runtime, [decision_png], unit_code="00004", procedure="1.001193",
                        dossier="000.00.04.H26-210105-0001")
    with runtime.session() as s:
        signed = runtime.objects.get_bytes(s.get(Document, record["document_id"]).signed_key)
    pdf = tmp_path / "signed.pdf"
    pdf.write_bytes(signed)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "p")], check=True)
    image = cv2.imread(str(next(tmp_path.glob("p*.png"))))
    # placed in the free space nearest the top-left corner (or a strip above the page)
    text = decode_qr(image[: image.shape[0] // 2])
    data = read_qr_payload(text)
    assert data["dossier_code"] == "000.00.04.H26-210105-0001"
    assert data["procedure_code"] == "1.001193"
    assert data["applicant_id"] == "001085012345"
    assert data["document_name"].startswith("Quyết định")
    assert data["verify_url"].endswith(f"/v1/results/{record['document_id']}/verification")
