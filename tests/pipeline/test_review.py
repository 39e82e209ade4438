"""The review path: held unsigned below the threshold, approved or corrected, learned from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import states
from pipeline.doctype_model import training_examples
from pipeline.inline import digitize
from pipeline.review import Review, ReviewError, decide, pending
from storage.catalog import Document

SOHOA = str(Path(sys.executable).with_name("sohoa"))


@pytest.fixture
def strict(monkeypatch, sohoa_home):
    """A threshold nothing reaches: every document goes to review."""
    monkeypatch.setenv("SOHOA_REVIEW_THRESHOLD", "1.01")
    from sohoa.runtime import get_runtime
    from sohoa.settings import get_settings

    get_settings.cache_clear()
    return get_runtime()


def test_low_confidence_waits_unsigned_then_approval_signs(strict, decision_png, tmp_path):
    rt = strict
    [record] = digitize(rt, [decision_png], unit_code="00004")
    assert record["status"] == "needs_review" and record["sha256"] is None
    doc_id = record["document_id"]
    assert [r["document_id"] for r in pending(rt)] == [doc_id]
    env = {**os.environ, "SOHOA_HOME": str(rt.settings.home), "SOHOA_REVIEW_THRESHOLD": "1.01"}

    out = tmp_path / "unsigned.pdf"
    run = subprocess.run([SOHOA, "export", doc_id, str(out)], env=env, capture_output=True,
                         text=True)
    assert run.returncode == 0 and "UNSIGNED" in run.stderr
    assert "Signature" not in subprocess.run(["pdfsig", str(out)], capture_output=True,
                                             text=True).stdout.replace("not contain", "")
    listed = subprocess.run([SOHOA, "review", "list", "--json"], env=env, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    assert json.loads(listed[0])["document_id"] == doc_id
    run = subprocess.run([SOHOA, "review", "approve", doc_id, "--reviewer", "chi.lan"], env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    with rt.session() as s:
        doc = s.get(Document, doc_id)
        assert doc.state == states.STORED and doc.signed_key
        review = s.query(Review).filter_by(document_id=doc_id).one()
        assert review.action == "approve" and review.reviewer == "chi.lan"


def test_correction_is_kept_and_applied(strict, decision_png):
    rt = strict
    [record] = digitize(rt, [decision_png], unit_code="00004")
    doc_id = record["document_id"]
    with pytest.raises(ReviewError, match="not an ISO date"):
        decide(rt, doc_id, reviewer="x", fields={"issued_on": "05/01/2021"})
    with pytest.raises(ReviewError, match="unknown document type"):
        decide(rt, doc_id, reviewer="x", document_type="hop_dong")
    with pytest.raises(ReviewError, match="control character"):
        decide(rt, doc_id, reviewer="x", fields={"number": "126\x00/UBND"})
    action = decide(rt, doc_id, reviewer="anh.tuan", document_type="cong_van",
                    fields={"number": "126/UBND-VP", "issued_on": "2020-06-30"})
    assert action == "correct"
    with rt.session() as s:
        doc = s.get(Document, doc_id)
        assert doc.state == states.CLASSIFIED
        assert doc.fields["number"] == "126/UBND-VP" and doc.document_type == "cong_van"
        review = s.query(Review).filter_by(document_id=doc_id).one()
        assert review.before["document_type"] == "quyet_dinh"
        assert review.after["fields"]["number"] == "126/UBND-VP"
    with pytest.raises(ReviewError, match="not waiting for review"):
        decide(rt, doc_id, reviewer="x")
    assert training_examples(rt)[0][1] == "cong_van"


def _reviewed(rt, n: int, text: str, doc_type: str) -> None:
    from storage.catalog import new_id
    from storage.units import find_unit

    with rt.session() as s:
        unit = find_unit(s, "00004")
        for i in range(n):
            s.add(Document(id=new_id(), state=states.NEEDS_REVIEW, source_name=f"{doc_type}{i}",
                           source_sha256=new_id() + new_id(), source_size=1, unit=unit,
                           document_type="khac", fields={}, ocr_text=f"{text} {i}"))
    for doc_id in pending(rt):
        if doc_id["file"].startswith(doc_type):
            decide(rt, doc_id["document_id"], reviewer="t", document_type=doc_type)


def test_model_learns_from_reviews(strict):
    from pipeline.doctype_model import TrainingError, predict, train

    rt = strict
    assert predict(rt, "anything") is None
    with pytest.raises(TrainingError, match="need at least"):
        train(rt)
    _reviewed(rt, 3, "GIẤY CHỨNG NHẬN KẾT HÔN Họ, chữ đệm, tên vợ chồng", "dang_ky_ket_hon")
    _reviewed(rt, 3, "TRÍCH LỤC KHAI SINH Họ, chữ đệm, tên người được khai sinh",
              "trich_luc_khai_sinh")
    report = train(rt)
    assert report.examples == 6 and report.classes == {"dang_ky_ket_hon": 3,
                                                       "trich_luc_khai_sinh": 3}
    label, probability = predict(rt, "TRICH LUC KHAI SINH ho ten nguoi duoc khai sinh")
    assert label == "trich_luc_khai_sinh" and probability > 0.5


def test_review_show_writes_the_crops_of_the_fields_to_check(strict, decision_png, tmp_path):
    from io import BytesIO

    from PIL import Image

    rt = strict
    [record] = digitize(rt, [decision_png], unit_code="00004")
    assert set(record["crops"]) == {"number", "issued_on"}
    assert record["crops"]["number"]["page"] == 0
    env = {**os.environ, "SOHOA_HOME": str(rt.settings.home), "SOHOA_REVIEW_THRESHOLD": "1.01"}
    run = subprocess.run([SOHOA, "review", "show", record["document_id"], "--crops",
                          str(tmp_path / "crops")], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for name in ("number", "issued_on"):
        path = tmp_path / "crops" / f"{name}.png"
        assert f"image of it: {path}" in run.stdout
        crop = Image.open(BytesIO(path.read_bytes())).convert("L")
        x0, y0, x1, y1 = record["crops"][name]["box"]
        assert crop.size == (x1 - x0, y1 - y0)  # the box of the page image, uncut
        assert crop.getextrema()[0] < 100  # it holds ink: the words read, not a margin
    shown = json.loads(subprocess.run([SOHOA, "review", "show", record["document_id"], "--json",
                                       "--crops", str(tmp_path / "j")], env=env,
                                      capture_output=True, text=True, check=True).stdout)
    assert "crops" not in shown["fields"] and set(shown["crop_files"]) == {"number", "issued_on"}
