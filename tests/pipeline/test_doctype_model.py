"""The document-type model file carries its format and a checksum from training; a file that
does not match is refused (never unpickled) and classification goes on with the rules."""

from __future__ import annotations

import logging

import joblib
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from pipeline import doctype_model
from pipeline.doctype_model import ModelFileError, load_model, model_path, predict, save_model


@pytest.fixture
def model():
    texts = ["QUYẾT ĐỊNH về việc", "QUYẾT ĐỊNH cấp phép", "GIẤY CHỨNG NHẬN đăng ký",
             "GIẤY CHỨNG NHẬN kết hôn"]
    fitted = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)),
                           LogisticRegression())
    return fitted.fit(texts, ["quyet_dinh", "quyet_dinh", "giay_chung_nhan", "giay_chung_nhan"])


def test_saved_model_loads_and_predicts(runtime, model):
    path = model_path(runtime)
    save_model(model, path)
    assert path.read_bytes().startswith(b"SOHOA-DOCTYPE-MODEL 1 sha256=")
    assert predict(runtime, "QUYẾT ĐỊNH số 12")[0] == "quyet_dinh"


@pytest.mark.parametrize("damage, reason", [
    ("flip", "checksum does not match"),
    ("old", "no header"),
    ("format", "model format 99"),
])
def test_mismatching_file_is_refused_with_its_reason(runtime, model, damage, reason, caplog):
    path = model_path(runtime)
    save_model(model, path)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-20] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "old":  # a file from before the header: a bare joblib dump
        joblib.dump(model, path)
    else:
        path.write_bytes(bytes(data).replace(b"MODEL 1 ", b"MODEL 99 ", 1))
    with pytest.raises(ModelFileError, match=reason) as refused:
        load_model(path)
    assert str(path) in str(refused.value) and "sohoa model train" in str(refused.value)
    doctype_model._cache.clear()
    with caplog.at_level(logging.ERROR, logger="pipeline.doctype_model"):
        assert predict(runtime, "QUYẾT ĐỊNH số 12") is None
        assert predict(runtime, "QUYẾT ĐỊNH số 13") is None
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and reason in refusals[0].getMessage()
