"""Fixtures for the archive-package tests: the catalog on SQLite and PostgreSQL (the quotas
suite's), emptied of archive data, and records whose documents have real objects — a signed
PDF (TEST key) and an original scan — in the runtime's object store."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import date

import pytest

from storage.records import FilingDefaults, file_document

# the quotas suite's catalog on SQLite and PostgreSQL (fixtures, used by name)
from tests.quotas.conftest import catalog_url, postgres_url, runtime  # noqa: F401
from tests.signing.helpers import make_pdf
from tests.support.records import clear_archive, stored_copy

UNIT = "00001"
UNIT_NAME = "UBND phường Phúc Xá"
CIVIL = FilingDefaults(retention_years=None, access_level="conditional",
                       type_name="Trích lục khai sinh")
LETTER = FilingDefaults(retention_years=10, access_level="open", type_name="Công văn")


@pytest.fixture
def rt(runtime):  # noqa: F811
    with runtime.session() as s:
        clear_archive(s)
    return runtime


def scan_png(text: str) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("L", (300, 120), 255)
    ImageDraw.Draw(image).text((10, 50), text, fill=0)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def filed_document(rt, *, dossier: str, defaults: FilingDefaults = LETTER,
                   subject_name: str = "Nguyễn Văn An", subject_id: str = "001099012345",
                   issued: date = date(2024, 3, 1), text: str | None = None) -> str:
    """A result with one stored document whose signed PDF and original scan are real objects,
    filed into the record of `dossier`. Returns the document id."""
    signer = rt.signers.for_unit(UNIT, UNIT_NAME)
    text = text or f"KET QUA {dossier} {subject_id} {uuid.uuid4().hex[:8]}"
    signed = signer.sign(make_pdf(text), reason="Bản sao", signer_name=UNIT_NAME)
    original = scan_png(text)
    with rt.session() as s:
        result, doc = stored_copy(s, unit_code=UNIT, dossier=dossier, issued=issued, pages=1,
                                  subject_name=subject_name, subject_id=subject_id,
                                  document_type="cong_van" if defaults is LETTER
                                  else "trich_luc_khai_sinh")
        doc.source_name = f"{doc.id[:8]}.png"
        doc.source_sha256 = hashlib.sha256(original).hexdigest()
        doc.original_key = f"originals/{doc.source_sha256}.png"
        doc.signed_sha256 = hashlib.sha256(signed).hexdigest()
        doc.signed_key = f"signed/{doc.signed_sha256}.pdf"
        rt.objects.put_bytes(doc.original_key, original, "image/png")
        rt.objects.put_bytes(doc.signed_key, signed, "application/pdf")
        file_document(s, doc, result, defaults)
        return doc.id
