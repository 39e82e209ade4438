"""Small PDFs and names shared by the signing tests."""

from __future__ import annotations

import io

import pikepdf

UNIT_CODE = "00004"
UNIT_NAME = "UBND phường Trúc Bạch"


def make_pdf(text: str = "KET QUA GIAI QUYET THU TUC HANH CHINH", pages: int = 1) -> bytes:
    """A small A4 PDF with uncompressed text content (so tests can find bytes to flip)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                           BaseFont=pikepdf.Name("/Times-Roman"))
    )
    for n in range(pages):
        content = f"BT /F1 14 Tf 72 720 Td ({text} {n + 1}) Tj ET".encode()
        page = pikepdf.Page(pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 595, 842],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pdf.make_stream(content),
        ))
        pdf.pages.append(page)
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    return buf.getvalue()
