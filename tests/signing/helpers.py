"""Small PDFs and names shared by the signing tests."""

from __future__ import annotations

import io
from pathlib import Path

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
    # deterministic /ID: two calls give the same bytes even across a clock second
    pdf.save(buf, compress_streams=False, deterministic_id=True)
    return buf.getvalue()


def nss_db_trusting(pki, folder: Path) -> str:
    """A temporary NSS database (for `pdfsig -nssdir`) trusting the TEST root and intermediate."""
    import shutil
    import subprocess

    from tests.conftest import service_unavailable

    if shutil.which("certutil") is None or shutil.which("pdfsig") is None:
        service_unavailable("poppler pdfsig / libnss3-tools certutil missing")
    folder.mkdir(parents=True, exist_ok=True)
    db = f"sql:{folder}"
    subprocess.run(["certutil", "-N", "--empty-password", "-d", db], check=True, timeout=60)
    subprocess.run(["certutil", "-A", "-n", "sohoa-test-root", "-t", "CT,C,C", "-d", db,
                    "-i", str(pki.root_cert_path)], check=True, timeout=60)
    subprocess.run(["certutil", "-A", "-n", "sohoa-test-intermediate", "-t", ",,", "-d", db,
                    "-i", str(pki.intermediate_cert_path)], check=True, timeout=60)
    return db


def add_stored_document(rt, n: int, data: bytes | None) -> tuple[str, str]:
    """A stored document of the TEST unit whose signed object holds `data` (None: the object is
    missing), with no archive state recorded. Returns (document id, signed key)."""
    import datetime as dt
    import hashlib

    from storage.catalog import Document
    from storage.units import find_unit

    sha = hashlib.sha256(data if data is not None else f"missing{n}".encode()).hexdigest()
    key = f"docs/{n}/signed-{sha[:16]}.pdf"
    if data is not None:
        rt.objects.put_bytes(key, data, "application/pdf")
    with rt.session() as session:
        unit = find_unit(session, UNIT_CODE)
        doc = Document(state="stored", source_name=f"scan{n}.pdf",
                       source_sha256=hashlib.sha256(f"src{n}".encode()).hexdigest(),
                       source_size=1, unit_id=unit.id, signed_key=key, signed_sha256=sha,
                       stored_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=n))
        session.add(doc)
        session.flush()
        return doc.id, key
