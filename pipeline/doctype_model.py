"""The trainable document-type classifier that learns from what reviewers confirmed.

Character n-gram TF-IDF (robust to OCR slips and missing diacritics) + logistic regression,
trained by `sohoa model train` on every approved or corrected document and saved in
SOHOA_HOME/models. The rules in `ocr.classify` stay first; the model decides the type only when
the rules are unsure and the model is surer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from pipeline.context import Context
from pipeline.models import Review
from storage.catalog import Document

MODEL_NAME = "doctype.joblib"
MIN_EXAMPLES = 4
_cache: dict[Path, tuple[float, object]] = {}
_lock = threading.Lock()


class TrainingError(RuntimeError):
    pass


@dataclass
class TrainReport:
    examples: int
    classes: dict[str, int]
    path: Path


def training_examples(rt: Context) -> list[tuple[str, str]]:
    """(OCR text, confirmed type) for every document a person approved or corrected."""
    with rt.session() as session:
        rows = session.execute(
            select(Document.ocr_text, Review.document_type)
            .join(Review, Review.document_id == Document.id)
            .order_by(Review.at)
        ).all()
    latest: dict[str, str] = {}
    for text, doc_type in rows:
        latest[text or ""] = doc_type
    return [(text, doc_type) for text, doc_type in latest.items() if text]


def model_path(rt: Context) -> Path:
    return rt.settings.resolved_home / "models" / MODEL_NAME


def train(rt: Context) -> TrainReport:
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    examples = training_examples(rt)
    classes: dict[str, int] = {}
    for _, label in examples:
        classes[label] = classes.get(label, 0) + 1
    if len(examples) < MIN_EXAMPLES or len(classes) < 2:
        raise TrainingError(
            f"need at least {MIN_EXAMPLES} reviewed documents of 2 or more types to train; "
            f"have {len(examples)} of {len(classes)} type(s)")
    model = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True,
                        strip_accents="unicode", sublinear_tf=True, max_features=50_000),
        LogisticRegression(max_iter=1000, C=10.0),
    )
    model.fit([text for text, _ in examples], [label for _, label in examples])
    path = model_path(rt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    joblib.dump(model, tmp)
    tmp.replace(path)
    return TrainReport(len(examples), classes, path)


def predict(rt: Context, text: str) -> tuple[str, float] | None:
    """(type, probability) from the trained model, or None when there is no model yet."""
    path = model_path(rt)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != mtime:
            import joblib

            cached = (mtime, joblib.load(path))
            _cache[path] = cached
    model = cached[1]
    probabilities = model.predict_proba([text])[0]
    best = int(probabilities.argmax())
    return str(model.classes_[best]), float(probabilities[best])
