"""Quick recognition of a batch at the counter: OCR its pages and classify the text.

Runs `ocr.engine.recognize_pages` (one single-threaded tesseract per page) and
`ocr.classify.classify_document`, so staff see the type and fields — low-confidence ones flagged —
before they submit. The pipeline recognizes the submitted file again; staff corrections win.
"""

from __future__ import annotations

from ocr.classify import classify_document
from ocr.doctypes import load_doctypes
from ocr.engine import recognize_pages
from ocr.pages import Page

LOW = 0.6  # below this a field is highlighted for checking
TEXT_KEPT = 50_000

FIELD_LABELS_VI = {
    "number": "Số, ký hiệu", "issued_on": "Ngày ban hành", "issuer": "Cơ quan ban hành",
    "subject_name": "Họ tên / tên tổ chức", "subject_id": "Số định danh / mã số",
    "title": "Tên loại văn bản", "summary": "Trích yếu",
}


def doctype_choices() -> list[dict]:
    return [{"code": t.code, "name": t.name_vi, "required": list(t.required),
             "procedures": list(t.procedures)} for t in load_doctypes().values()]


def recognize(images: list[tuple], *, lang: str = "vie", workers: int = 2,
              low: float = LOW) -> dict:
    """`images` is [(PIL image, dpi)…] in page order; returns what the page shows."""
    pages = [Page(index=i, image=img, dpi=dpi, source="station") for i, (img, dpi) in enumerate(images)]
    results = recognize_pages(pages, lang=lang, workers=workers)
    text = "\n\n".join(r.text for r in results)
    readings = {str(r.index): r.extra["slots"] for r in results if r.extra.get("slots")}
    found = classify_document(text, [r.words for r in results],  # doubtful words flag fields
                              readings=readings)
    types = load_doctypes()
    dtype = types.get(found.document_type)
    required = list(dtype.required) if dtype else []
    shown = [f for f in FIELD_LABELS_VI if f in required or found.fields.get(f)]
    fields = {f: found.fields.get(f) for f in shown}
    conf = {f: round(float(found.field_confidence.get(f, 0.0)), 3) for f in shown}
    return {
        "document_type": found.document_type,
        "type_name": dtype.name_vi if dtype else found.document_type,
        "type_confidence": round(found.type_confidence, 3),
        "confidence": round(found.confidence, 3),
        "fields": fields,
        "field_confidence": conf,
        "required": required,
        "low": sorted([f for f in shown if conf[f] < low]
                      + (["document_type"] if found.type_confidence < low else [])),
        "ocr_confidence": round(sum(r.confidence for r in results) / len(results), 3) if results else 0,
        "chars": len(text),
        "text": text[:TEXT_KEPT],  # the counter's duplicate check compares it with stored results
        # where a field was read, when the extractor says: {field: {"page": i, "box": [...]}}
        "crops": {f: c for f, c in (found.crops or {}).items() if f in fields},
    }
