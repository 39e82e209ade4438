"""assemble_pdf: pages merged in order, text searchable, 100% scale, PDF/A-2b metadata."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pikepdf
import pytest

from ocr.pdf import PdfAssemblyError, assemble_pdf, pdf_text, pdfa_report
from tests.ocr.conftest import PHRASE

WHEN = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def document(ocr_results) -> bytes:
    return assemble_pdf(
        list(reversed(ocr_results)),  # order comes from PageResult.index, not list order
        title="Quyết định cấp giấy phép xây dựng",
        author="UBND phường Ba Đình",
        subject="Kết quả giải quyết TTHC",
        keywords="1.001193; 123/QĐ-UBND",
        created=WHEN,
    )


def test_text_is_searchable_and_pages_in_order(document, ocr_results):
    text = pdf_text(document)
    assert PHRASE in text
    assert text.index("Trang số 1") < text.index("Trang số 2") < text.index("Trang số 3")
    with pikepdf.open(io.BytesIO(document)) as pdf:
        assert len(pdf.pages) == len(ocr_results)


def test_page_sizes_are_pixels_over_dpi(document, ocr_results):
    with pikepdf.open(io.BytesIO(document)) as pdf:
        for page, r in zip(pdf.pages, ocr_results, strict=True):
            box = [float(v) for v in page.mediabox]
            assert box[2] - box[0] == pytest.approx(r.width * 72 / r.dpi, abs=0.6)
            assert box[3] - box[1] == pytest.approx(r.height * 72 / r.dpi, abs=0.6)


def test_document_metadata(document):
    with pikepdf.open(io.BytesIO(document)) as pdf:
        assert pdf.pdf_version >= "1.4"
        info = pdf.docinfo
        assert str(info["/Title"]) == "Quyết định cấp giấy phép xây dựng"
        assert str(info["/Author"]) == "UBND phường Ba Đình"
        assert str(info["/Producer"]) == "sohoa"
        meta = pdf.open_metadata()
        assert meta["dc:title"] == "Quyết định cấp giấy phép xây dựng"
        assert meta["pdf:Producer"] == "sohoa"
        assert meta["pdf:Keywords"] == "1.001193; 123/QĐ-UBND"
        assert meta["xmp:CreateDate"].startswith("2025-03-01T08:30:00")


def test_pdfa_2b_declared_with_srgb_output_intent_and_validates(document):
    with pikepdf.open(io.BytesIO(document)) as pdf:
        assert pdf.open_metadata().pdfa_status == "2B"
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        icc = intent.DestOutputProfile
        assert int(icc.N) == 3
        assert icc.read_bytes()[36:40] == b"acsp"  # ICC profile signature
    report = pdfa_report(document)
    assert report.passed, report.summary()


def test_fonts_embedded_and_shared(document):
    fonts = set()
    with pikepdf.open(io.BytesIO(document)) as pdf:
        for page in pdf.pages:
            for font in page.Resources.Font.values():
                fonts.add(font.objgen)
                for desc in font.DescendantFonts:
                    assert "/FontFile2" in desc.FontDescriptor
    assert len(fonts) == 1  # tesseract's GlyphLessFont embedded once, not once per page


def test_deterministic_for_same_input_and_time(ocr_results, document):
    again = assemble_pdf(
        ocr_results,
        title="Quyết định cấp giấy phép xây dựng",
        author="UBND phường Ba Đình",
        subject="Kết quả giải quyết TTHC",
        keywords="1.001193; 123/QĐ-UBND",
        created=WHEN,
    )
    assert again == document


def test_plain_pdf_without_pdfa(ocr_results):
    data = assemble_pdf(ocr_results, pdfa=False, created=WHEN)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert pdf.open_metadata().pdfa_status == ""
        assert len(pdf.pages) == len(ocr_results)
    assert PHRASE in pdf_text(data)
    assert not pdfa_report(data).passed  # the validator does reject a non-PDF/A file


def test_no_pages_is_an_error():
    with pytest.raises(PdfAssemblyError):
        assemble_pdf([])


def test_blank_pages_are_left_out_and_an_all_blank_document_is_refused(ocr_results):
    from ocr.engine import PageResult
    from ocr.pages import InputError
    from ocr.pdf import BlankDocumentError

    blank = PageResult(index=3, pdf=b"", text="", confidence=0.0, words=[], width=100,
                       height=100, dpi=300, source="mat-sau.tif", blank=True)
    data = assemble_pdf([*ocr_results, blank], created=WHEN)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == len(ocr_results)
    with pytest.raises(BlankDocumentError) as exc:
        assemble_pdf([blank, blank])
    assert isinstance(exc.value, InputError) and isinstance(exc.value, PdfAssemblyError)
    assert "mat-sau.tif" in str(exc.value) and "blank" in str(exc.value)
    assert "trắng" in exc.value.vi and "quét lại" in exc.value.vi


def test_spool_keeps_page_pdfs_on_disk_and_writes_the_same_document(ocr_results, tmp_path):
    from ocr.pdf import PageSpool

    with PageSpool(tmp_path / "spool") as spool:
        kept = [spool.add(r) for r in reversed(ocr_results)]  # any order: by index on write
        assert all(k.pdf == b"" and k.text == r.text for k, r in
                   zip(kept, reversed(ocr_results), strict=True))
        # each image went to the store file, not to memory: only small text pages beside it
        assert spool.store_path.stat().st_size > sum(len(r.pdf) for r in ocr_results) // 2
        out = spool.write(tmp_path / "out.pdf", title="t", created=WHEN)
    data = out.read_bytes()
    assert data == assemble_pdf(ocr_results, title="t", created=WHEN)
    assert pdfa_report(data).passed
    with pikepdf.open(out) as pdf:
        sizes = [pikepdf.PdfImage(next(iter(p.get_images().values()))).size for p in pdf.pages]
    assert sizes == [(r.width, r.height) for r in ocr_results]
