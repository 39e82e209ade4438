"""The trainable document-type classifier that learns from what reviewers confirmed.

Character n-gram TF-IDF (robust to OCR slips and missing diacritics) + logistic regression,
trained by `sohoa model train` on every approved or corrected document and saved in
SOHOA_HOME/models. The rules in `ocr.classify` stay first; the model decides the type only when
the rules are unsure and the model is surer.

The file starts with one header line, `SOHOA-DOCTYPE-MODEL <format> sha256=<hex>`, written at
training, then the joblib payload. A file without it, of another format or whose payload does not
match the checksum is refused (logged once, with the file and the reason; classification goes on
with the rules alone) and never unpickled.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from pipeline.context import Context
from pipeline.models import Review
from storage.catalog import Document

log = logging.getLogger(__name__)

MODEL_NAME = "doctype.joblib"
MODEL_MAGIC = b"SOHOA-DOCTYPE-MODEL"
MODEL_FORMAT = 1  # bump when what is pickled changes shape
MIN_EXAMPLES = 4
_cache: dict[Path, tuple[float, object | None]] = {}
_lock = threading.Lock()


class TrainingError(RuntimeError):
    pass


class ModelFileError(ValueError):
    """The model file is not one this code wrote, or not the bytes it wrote."""


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
    save_model(model, path)
    return TrainReport(len(examples), classes, path)


def save_model(model, path: Path) -> None:
    """Write the header (format, checksum of the payload) and the payload in one atomic step."""
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    payload = buffer.getvalue()
    header = b"%s %d sha256=%s\n" % (MODEL_MAGIC, MODEL_FORMAT,
                                     hashlib.sha256(payload).hexdigest().encode())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(header + payload)
    tmp.replace(path)


def load_model(path: Path):
    """The model in `path`, after checking its header and checksum; ModelFileError if not."""
    import joblib

    retrain = "train it again with `sohoa model train`"
    header, newline, payload = path.read_bytes().partition(b"\n")
    parts = header.split(b" ")
    if not newline or len(parts) != 3 or parts[0] != MODEL_MAGIC \
            or not parts[2].startswith(b"sha256="):
        raise ModelFileError(f"{path}: not a sohoa document-type model file (no header); "
                             f"{retrain}")
    if parts[1] != str(MODEL_FORMAT).encode():
        raise ModelFileError(f"{path}: model format {parts[1].decode(errors='replace')}, this "
                             f"version reads format {MODEL_FORMAT}; {retrain}")
    if hashlib.sha256(payload).hexdigest().encode() != parts[2].removeprefix(b"sha256="):
        raise ModelFileError(f"{path}: checksum does not match the one recorded at training "
                             f"(the file changed or is damaged); {retrain}")
    return joblib.load(io.BytesIO(payload))


def predict(rt: Context, text: str) -> tuple[str, float] | None:
    """(type, probability) from the trained model, or None when there is no model yet or its
    file is refused (logged once per version of the file)."""
    path = model_path(rt)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != mtime:
            try:
                cached = (mtime, load_model(path))
            except ModelFileError as exc:
                log.error("document-type model refused: %s", exc)
                cached = (mtime, None)
            _cache[path] = cached
    model = cached[1]
    if model is None:
        return None
    probabilities = model.predict_proba([text])[0]
    best = int(probabilities.argmax())
    return str(model.classes_[best]), float(probabilities[best])
