"""Document-type classification of OCR text, with confidences, plus the extracted fields.

Owns `Classification` and `classify_document`. Rules only (no trained model): each type is
scored from its title line (fuzzy, diacritic-insensitive), hints in its number ("/QĐ-") and
body keywords; the type confidence reflects both the best score and its margin over the
runner-up. Fields come from `ocr.extract`. Given the OCR words with their Tesseract
confidences (`ocr.wordconf`), a field read from doubtful words gets at most their confidence
(mapped by `wordconf.word_score`): layout rules cannot see an OCR slip, the word confidences
often can. The overall confidence is the minimum over the type confidence, the confidences of
the type's required fields (a required field that was not found counts as 0, so such a document
goes to review) and the word confidences of the other fields found.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field

from ocr import crops as crops_mod
from ocr import extract as ex
from ocr import textlayer, wordconf
from ocr.doctypes import DocType, load_doctypes

FIELD_NAMES = ("number", "issued_on", "issuer", "subject_name", "subject_id", "title", "summary",
               "issuer_parent")
TITLE_MIN = 0.78  # a title line must be at least this similar to count as the type's title

# score weights
W_TITLE, W_NUMBER, W_KEYWORDS = 0.65, 0.2, 0.15


@dataclass
class Classification:
    document_type: str
    type_confidence: float
    fields: dict[str, str | None]
    field_confidence: dict[str, float]
    confidence: float
    issuer_place: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    # lowest Tesseract confidence (0..1) of the words each field was read from, where known
    word_confidence: dict[str, float] = field(default_factory=dict)
    # where number and issued_on were read: {field: {"page": i, "box": [x0, y0, x1, y1]}}
    # in pixels of the page image the OCR ran on (`ocr.crops`), for a person to check them
    crops: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _keyword_score(folded_lower: str, dtype: DocType) -> float:
    if not dtype.keywords:
        return 0.0
    hits = sum(1 for kw in dtype.keywords if ex.fold(kw).lower() in folded_lower)
    return min(1.0, hits / max(2.0, len(dtype.keywords) / 2))


def _number_hint(number: str | None, dtype: DocType) -> float:
    if not number:
        return 0.0
    k = ex.fold(number).upper()
    return 1.0 if any(re.search(p, k) for p in dtype.number_patterns) else 0.0


def _type_confidence(best: float, second: float) -> float:
    margin = best - second
    strength = min(1.0, best / 0.75)
    return round(max(0.0, min(1.0, strength * min(1.0, 0.35 + 2.0 * margin))), 3)


def classify_document(text: str, words: list | None = None,
                      readings: dict | None = None) -> Classification:
    """Classify the whole OCR text of one document and extract its fields.

    `words`: per page, the OCR words the text was built from (`Page.words` rows
    `[text, conf, …]` or `ocr.engine.Word`); without them fields get rule confidences only.
    `readings`: per page index (str), the template's handwritten blanks read twice
    (`ocr.handwritten.read_slots`): a serial or day both readers agree on completes a number
    or date the text could not give, and one they contradict is held."""
    if not isinstance(text, str):
        raise TypeError("classify_document expects the OCR text as str")
    doctypes = load_doctypes()
    text = textlayer.drop_signature_blocks(text)
    pages = text.split("\f")
    lines = ex.split_lines(text)
    folded_lower = ex.fold("\n".join(lines)).lower()
    cands = ex.title_candidates(lines)

    # a raw number first (no type yet) for the number hints
    raw_number = ex.extract_number(lines).value
    letter_summary = ex.extract_summary(lines)
    has_vv = letter_summary.value is not None and letter_summary.value.startswith("V/v")
    has_kinh_gui = "kinh gui" in folded_lower

    titles: dict[str, tuple[float, int, str]] = {}
    scores: dict[str, float] = {}
    for code, dtype in doctypes.items():
        t_best, t_line, t_pat = 0.0, -1, ""
        for pattern in dtype.title_patterns:
            s, at = ex.match_title(cands, pattern)
            if s > t_best:
                t_best, t_line, t_pat = s, at, pattern
        titles[code] = (t_best, t_line, t_pat)
        title_part = t_best if t_best >= TITLE_MIN else t_best * 0.5
        score = (
            W_TITLE * title_part
            + W_NUMBER * _number_hint(raw_number, dtype)
            + W_KEYWORDS * _keyword_score(folded_lower, dtype)
        )
        scores[code] = score

    # an official letter has no type title: "V/v …" under the number, "Kính gửi: …"
    best_listed_title = max(
        (titles[c][0] for c in doctypes if c not in ("cong_van", "khac")), default=0.0
    )
    if "cong_van" in scores:
        letter = 0.0
        if has_vv:
            letter += 0.5
        if has_kinh_gui:
            letter += 0.2
        if raw_number and "/" in raw_number and not any(
            _number_hint(raw_number, d) for c, d in doctypes.items() if c not in ("cong_van",)
            and d.abbreviation
        ):
            letter += 0.15
        if best_listed_title >= TITLE_MIN:
            letter *= 0.4
        scores["cong_van"] = letter + W_KEYWORDS * _keyword_score(folded_lower, doctypes["cong_van"])
    # the fallback: other results get a floor when nothing listed matches well
    if "khac" in scores:
        floor = 0.45 if best_listed_title < TITLE_MIN and not has_vv else 0.0
        scores["khac"] = max(scores["khac"], floor)

    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best_code, best_score = ranked[0]
    second_score = ranked[1][1] if len(ranked) > 1 else 0.0
    type_conf = _type_confidence(best_score, second_score)
    dtype = doctypes[best_code]

    # fields
    title_score, title_line, title_pat = titles.get(best_code, (0.0, -1, ""))
    fields: dict[str, str | None] = dict.fromkeys(FIELD_NAMES)
    conf: dict[str, float] = dict.fromkeys(FIELD_NAMES, 0.0)

    if best_code != "cong_van" and title_score >= TITLE_MIN and title_pat:
        fields["title"] = title_pat
        conf["title"] = round(min(0.95, title_score), 2)
    elif best_code == "khac":
        t = _first_caps_title(lines, cands)
        if t:
            fields["title"], conf["title"] = t, 0.5

    number = ex.extract_number(lines, dtype, title_line if title_line >= 0 else None)
    last = ex.split_lines(pages[-1])[-40:]
    if number.value is None and last:  # a consolidated text (VBHN) numbers its last page
        number = ex.extract_number(last, dtype)
        number = ex.Found(number.value, min(number.confidence, 0.7))
    fields["number"], conf["number"] = number.value, number.confidence
    date = ex.extract_date(lines)
    if date.value is None and date.place is None and last:
        found = ex.extract_date(last)
        date = ex.DateFound(found.value, min(found.confidence, 0.7), found.place)
    fields["issued_on"], conf["issued_on"] = date.value, date.confidence
    stop = title_line if title_line > 0 else None
    issuer = ex.extract_issuer(lines, stop, date.place)
    fields["issuer"], conf["issuer"] = issuer.value, issuer.confidence
    if issuer.parent:
        fields["issuer_parent"], conf["issuer_parent"] = issuer.parent, issuer.confidence
    name = ex.extract_subject_name(lines, dtype)
    fields["subject_name"], conf["subject_name"] = name.value, name.confidence
    if dtype.subject == "organisation":
        pid = ex.extract_enterprise_code(lines)
    else:
        pid = ex.extract_subject_id(lines)
    fields["subject_id"], conf["subject_id"] = pid.value, pid.confidence
    summary = ex.extract_summary(lines, title_line if fields["title"] else -1,
                                 dtype.summary_phrases)
    fields["summary"], conf["summary"] = summary.value, summary.confidence
    if best_code == "cong_van":
        fields["title"] = None
    # words read badly once are repaired from how the document reads them elsewhere
    consensus = ex.DocumentWords(lines)
    if fields["summary"] and fields["summary"] not in dtype.summary_phrases:
        fields["summary"] = consensus.repair_text(fields["summary"])
    if fields["subject_name"] and dtype.subject == "person":
        repaired = consensus.repair_name(fields["subject_name"])
        fields["subject_name"] = " ".join(ex.restore_name(repaired.split())[0])
        if fields["summary"]:  # the summary names the subject: spell it the same way
            fields["summary"] = ex.respell(fields["summary"], fields["subject_name"])

    if fields["subject_name"] and _spelled_otherwise(fields["subject_name"], text):
        conf["subject_name"] = min(conf["subject_name"], 0.5)
    word_conf = _word_confidences(text, words, fields, dtype) if words else {}
    required = dtype.required or ["number", "issued_on", "issuer"]
    for f, c in word_conf.items():
        conf[f] = min(conf[f], wordconf.word_score(c))
    if readings:
        _apply_readings(readings, lines, dtype, fields, conf, word_conf)
    if not fields["issuer_parent"]:
        del conf["issuer_parent"]  # most headers have none: nothing to check
    missing = [f for f in required if not fields.get(f)]
    overall = min([type_conf] + [conf[f] for f in required]
                  + [wordconf.word_score(c) for c in word_conf.values()])
    return Classification(
        document_type=best_code,
        type_confidence=type_conf,
        fields=fields,
        field_confidence={k: round(v, 3) for k, v in conf.items()},
        confidence=round(overall, 3),
        issuer_place=issuer.place,
        scores={k: round(v, 3) for k, v in scores.items()},
        missing=missing,
        word_confidence={k: round(v, 3) for k, v in word_conf.items()},
        crops=crops_mod.field_crops(words) if words else {},
    )


READ_TWICE = 0.75  # a blank two independent readers agree on, completed by printed parts
DOUBT = 0.5  # a value two agreeing readers contradict


def _slot(readings: dict, name: str) -> dict | None:
    """The reading of blank `name` on the first page that has one (the header's page)."""
    for page in sorted(readings, key=lambda k: int(k)):
        slot = (readings.get(page) or {}).get(name)
        if slot:
            return slot
    return None


def _apply_readings(readings: dict, lines: list[str], dtype: DocType, fields: dict,
                    conf: dict, word_conf: dict) -> None:
    """Number and date from the handwritten blanks where both readers agree (see
    `classify_document`); the printed rest must read cleanly and the result be well-formed."""
    number = _slot(readings, "number")
    if number and number.get("value"):
        serial = number["value"]
        current = fields.get("number") or ""
        if conf.get("number", 0.0) >= READ_TWICE or (current and current.split("/")[0] == serial):
            if current and current.split("/")[0] != serial:
                conf["number"] = min(conf["number"], DOUBT)  # the blank says otherwise
        else:
            suffix = ex.number_suffix(lines, dtype)
            typed = not (dtype.abbreviation and dtype.code != "khac") or (
                suffix and dtype.abbreviation in re.split(r"[/-]", suffix))
            if suffix and typed and not serial.startswith("00"):
                fields["number"], conf["number"] = serial + suffix, READ_TWICE
    day = _slot(readings, "day")
    if day and day.get("value"):
        month_year = ex.template_month_year(lines)
        found = None
        if month_year and 1 <= int(day["value"]) <= 31:
            try:
                found = dt.date(month_year[1], month_year[0], int(day["value"]))
            except ValueError:
                found = None
        if found is None or found > dt.date.today() or found.year < 1945:
            return
        current = fields.get("issued_on")
        if current == found.isoformat():
            conf["issued_on"] = max(conf.get("issued_on", 0.0), READ_TWICE)
            word_conf.pop("issued_on", None)
        elif current and conf.get("issued_on", 0.0) >= READ_TWICE:
            conf["issued_on"] = min(conf["issued_on"], DOUBT)
        else:
            fields["issued_on"], conf["issued_on"] = found.isoformat(), READ_TWICE
            word_conf.pop("issued_on", None)


def _word_confidences(text: str, words: list, fields: dict[str, str | None],
                      dtype: DocType) -> dict[str, float]:
    """Lowest word confidence behind each field read from the text. Left out: the title and
    a summary snapped to a fixed phrase of the form (chosen from a closed list, a slip in their
    words does not reach the value), and the number: Tesseract scores a whole "25/ĐKKH" as
    one word, often low (0.1-0.4) although it reads right (on the benchmark's tuning seeds
    every number under 0.5 was right), while its code is checked against the type anyway."""
    wc = wordconf.WordConfidences(text, words)
    out: dict[str, float] = {}
    for f in ("issuer", "subject_name", "subject_id", "summary"):
        value = fields.get(f)
        if not value or (f == "summary" and value in dtype.summary_phrases):
            continue
        forms = [value]
        if f == "issuer" and value.startswith("UBND "):
            forms.append("Ủy ban nhân dân " + value[5:])
        c = wc.value_confidence(*forms)
        if c is not None:
            out[f] = c
    forms = wordconf.date_forms(fields.get("issued_on") or "")
    if forms:
        c = wc.value_confidence(*forms)
        if c is not None:
            out["issued_on"] = c
    return out


def _spelled_otherwise(name: str, text: str) -> bool:
    """The document writes the name with other diacritics more often than as extracted
    ("Nông Bích Sảng" four times, "Sang" once): two readings disagree, a person decides."""
    words = name.split()
    if len(words) < 2:
        return False
    pattern = r"\b" + r"\s+".join(r"\w+" for _ in words) + r"\b"
    folded = ex.fold(name).lower()
    same = other = 0
    for m in re.finditer(pattern, ex.clean_text(text)):
        seen = " ".join(m.group(0).split())
        if ex.fold(seen).lower() != folded or seen.isupper():
            continue  # capitals lose marks to OCR more often than they tell a spelling
        if seen.lower() == name.lower():
            same += 1
        else:
            other += 1
    return other > same


def _first_caps_title(lines: list[str], cands: list[tuple[int, str]]) -> str | None:
    """For other documents: the first capitals line after the header that is not the motto."""
    for i, _k in cands:
        line = lines[i]
        if i < 2 or ex.split_motto(line)[1]:
            continue
        if ex._NUMBER_LABEL.search(ex.fold(line)) or ex._DATE_WORDS.search(ex.fold(line)):
            continue
        words = line.split()
        if 1 <= len(words) <= 10 and ex.upper_ratio(line) > 0.9:
            header = ex.header_block(lines)
            if line in header:
                continue
            return line
    return None
