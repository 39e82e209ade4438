"""Tesseract's word confidences behind an extracted field value.

Owns `WordConfidences`: it lays the OCR words of a document (per page, as the OCR stage stores
them in `Page.words`: `[text, conf, left, top, width, height]`, or `ocr.engine.Word`) over the
lines the extractors read, and finds for a field value the words it was read from, so that a
value read from doubtful words (a digit slip in a date, a diacritic slip in a name) gets a low
confidence although its layout rule was sure.

The page text is built from the words (`ocr.engine.parse_tsv`), so the whitespace tokens of
the text are the words in order; the two sequences are aligned token by token (by
`difflib` where cleaning changed them), and every letter/digit run of a token carries its
word's confidence. A value is matched back in chunks: the longest runs of its tokens that
appear one after the other in the document (diacritic-insensitive), preferring an occurrence
spelled exactly as the value, then the most confident one. The value's word confidence is the
lowest confidence of the words it was matched to; values that cannot be matched well (mostly
normalized away from the text) get none, and keep their rule confidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher

from ocr.extract import clean_text, key, split_lines

_TOKEN = re.compile(r"[0-9A-Za-zÀ-ỹĐđ]+")
_DIGITISH = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "Z": "2",
                           "S": "5", "B": "8"})

# A word read at this Tesseract confidence (0..1) puts its field right at the review
# threshold (WORD_AT_THRESHOLD); less confident words push it below. Chosen on the benchmark's
# tuning seeds (bench/classify.py --seed 700000 --count 216).
WORD_DOUBT = 0.5
WORD_AT_THRESHOLD = 0.6
MIN_COVERAGE = 0.6  # share of a value's tokens that must be found for the words to count


def word_score(conf: float) -> float:
    """Tesseract word confidence (0..1) -> field confidence scale: monotone, piecewise linear,
    WORD_DOUBT -> WORD_AT_THRESHOLD, 1 -> 1."""
    conf = max(0.0, min(1.0, conf))
    if conf < WORD_DOUBT:
        return round(WORD_AT_THRESHOLD * conf / WORD_DOUBT, 3)
    return round(WORD_AT_THRESHOLD + (1 - WORD_AT_THRESHOLD) * (conf - WORD_DOUBT)
                 / (1 - WORD_DOUBT), 3)


def _entry(w) -> tuple[str, float]:
    if isinstance(w, (list, tuple)):
        return str(w[0]), float(w[1])
    return str(w.text), float(w.conf)


def _fold_key(token: str) -> str:
    k = key(token).replace(" ", "")
    return k.translate(_DIGITISH) if any(c.isdigit() for c in k) else k


class WordConfidences:
    """The document's letter/digit tokens in reading order, each with its word's confidence."""

    def __init__(self, text: str, pages: Iterable[Sequence] | None):
        self.tokens: list[str] = []  # as read, lower case
        self.keys: list[str] = []
        self.confs: list[float | None] = []
        words: list[tuple[str, float]] = []
        for page in pages or []:
            for w in page or []:
                t, c = _entry(w)
                for part in clean_text(t).split():
                    words.append((part, c))
        line_tokens = [tok for line in split_lines(text) for tok in line.split()]
        conf_of: list[float | None] = [None] * len(line_tokens)
        if [w for w, _ in words] == line_tokens:
            conf_of = [c for _, c in words]
        elif words:
            sm = SequenceMatcher(None, line_tokens, [w for w, _ in words], autojunk=False)
            for a, b, n in sm.get_matching_blocks():
                for k in range(n):
                    conf_of[a + k] = words[b + k][1]
        self.known = any(c is not None for c in conf_of)
        for tok, c in zip(line_tokens, conf_of, strict=True):
            for sub in _TOKEN.findall(tok):
                self.tokens.append(sub.lower())
                self.keys.append(_fold_key(sub))
                self.confs.append(c if c is not None and c >= 0 else None)
        self._at: dict[str, list[int]] = {}
        for i, k in enumerate(self.keys):
            self._at.setdefault(k, []).append(i)

    def value_confidence(self, value: str | None, *alternatives: str) -> float | None:
        """Lowest word confidence (0..1) behind `value` (or the best-covered alternative
        spelling of it, e.g. a date as printed), None when it cannot be told."""
        if not value or not self.known:
            return None
        best: tuple[float, int, float] | None = None
        for form in (value, *alternatives):
            found = self._match(form)  # the best covered form, in the fewest pieces
            if found and (best is None or found[:2] > best[:2]):
                best = found
        if best is None or best[0] < MIN_COVERAGE:
            return None
        return best[2]

    def _match(self, value: str) -> tuple[float, int, float] | None:
        """(coverage, minus the number of chunks, lowest confidence) of the chunks of `value`
        found in the document."""
        subs = _TOKEN.findall(value)
        if not subs:
            return None
        vkeys = [_fold_key(s) for s in subs]
        vlow = [s.lower() for s in subs]
        matched, chunks, confs = 0, 0, []
        i = 0
        while i < len(subs):
            best_len, best_rank, best_at = 0, None, -1
            for start in self._at.get(vkeys[i], []):
                n = 1
                while (i + n < len(subs) and start + n < len(self.keys)
                       and self.keys[start + n] == vkeys[i + n]):
                    n += 1
                span = [c for c in self.confs[start: start + n] if c is not None]
                exact = sum(self.tokens[start + k] == vlow[i + k] for k in range(n))
                rank = (n, exact, min(span) if span else -1.0)
                if best_rank is None or rank > best_rank:
                    best_len, best_rank, best_at = n, rank, start
            if not best_len:
                i += 1
                continue
            matched += best_len
            chunks += 1
            confs += [c for c in self.confs[best_at: best_at + best_len] if c is not None]
            i += best_len
        if not confs:
            return None
        return matched / len(subs), -chunks, min(confs)


def date_forms(iso: str) -> tuple[str, ...]:
    """How an ISO date is printed: 'ngày 05 tháng 01 năm 2020', '05/01/2020'."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso or "")
    if not m:
        return ()
    y, mo, d = m.groups()
    forms = [f"ngày {d} tháng {mo} năm {y}", f"{d}/{mo}/{y}"]
    if d[0] == "0" or mo[0] == "0":  # older papers print "ngày 22 tháng 2 năm 1999"
        forms.insert(1, f"ngày {int(d)} tháng {int(mo)} năm {y}")
    return tuple(forms)
