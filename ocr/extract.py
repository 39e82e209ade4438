"""Field extraction from the OCR text of a result laid out per Decree 30/2020/NĐ-CP.

Owns the text helpers (diacritic folding that keeps character positions, line splitting) and
one extractor per field. Each extractor returns `Found(value, confidence)`; confidence reflects
how strong the rule that fired is and whether the value validates (a real calendar date, a
personal ID with a valid province code, a place found in the admin-unit gazetteer).

Issuer normalization (what `issuer` looks like):
  * a People's Committee: "UBND <place>", e.g. "UBND phường Trúc Bạch", "UBND quận Ba Đình";
  * an agency (sở, phòng, chi cục …): "<agency> <place of its unit>", e.g.
    "Sở Kế hoạch và Đầu tư thành phố Hà Nội", "Phòng Tư pháp quận Ba Đình";
  * place = unit kind in lower case + proper name as in the admin-unit list ("phường Trúc Bạch");
    agency = kind and first word capitalized, and the first word after "và" / "-"
    ("Sở Lao động - Thương binh và Xã hội"), restored from the vocabulary when it matches.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

from ocr.doctypes import DocType, load_vocabulary

# Province codes of the personal ID number (Circular 59/2021/TT-BCA, appendix): the 63
# provinces' codes; the 4th digit encodes century and sex (0-3 for 1900-2099).
_CODES = (
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 "
    "035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 "
    "070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096"
)
PROVINCE_CODES = frozenset(_CODES.split())


@dataclass(frozen=True)
class Found:
    value: str | None
    confidence: float

    @staticmethod
    def none() -> Found:
        return Found(None, 0.0)


# --------------------------------------------------------------------------- text helpers

def _fold_char(c: str) -> str:
    if c in "đĐ":
        return "d" if c == "đ" else "D"
    base = unicodedata.normalize("NFD", c)
    return base[0] if base else c


_FOLD_TABLE: dict[int, str] = {}


def fold(text: str) -> str:
    """Strip Vietnamese diacritics ("Quyết định" -> "Quyet dinh"), keeping the length and so
    every character position, so a match in the folded text slices the original."""
    out = []
    for c in text:
        o = ord(c)
        if o < 128:
            out.append(c)
            continue
        f = _FOLD_TABLE.get(o)
        if f is None:
            f = _fold_char(c)
            _FOLD_TABLE[o] = f
        out.append(f)
    return "".join(out)


def key(text: str) -> str:
    """Matching key: folded, upper case, only letters/digits and single spaces."""
    return " ".join(re.sub(r"[^0-9A-Z]+", " ", fold(text).upper()).split())


def clean_text(text: str) -> str:
    """NFC, no stray combining marks, unified dashes/quotes, form feeds kept as line breaks."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = text.replace("\u00d0", "Đ").replace("\u00f0", "đ")  # Icelandic eth read for Đ
    text = text.replace("\u2044", "/").replace("\u2215", "/")  # fraction/division slash
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'")
    text = text.replace("\u2019", "'").replace("\f", "\n").replace("\r", "\n")
    return text


def split_lines(text: str) -> list[str]:
    """Lines of the cleaned text, stripped; blank lines kept (they separate blocks)."""
    return [re.sub(r"[ \t]+", " ", ln).strip() for ln in clean_text(text).split("\n")]


def similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def upper_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if c.isupper()) / len(letters)


# --------------------------------------------------------------------------- header / motto

# Motto anchors on folded upper text; tolerant to the usual OCR slips.
_MOTTO = re.compile(
    r"C\W?[O0Q]\W?N\W?G\s*H\W?[O0Q]\W?A\b|XA\s*H[O0]I\s*CH|CHU\s*NGH[IL1]A|NGHIA\s*VI[EF]T"
    r"|D[O0]C\s*L[A4]P\b|T[UƯ]\s*D[O0]\s*-|H[A4]NH\s*PH[UV]C"
)
_SEPARATOR = re.compile(r"^[\s\-_=~.·*—–]+$")


def split_motto(line: str) -> tuple[str, bool]:
    """Return (left part, has_motto): the issuer column of a line merged with the motto."""
    m = _MOTTO.search(fold(line).upper())
    if not m:
        return line, False
    return line[: m.start()].rstrip(" -_|,"), True


# --------------------------------------------------------------------------- number

_NUMBER_LABEL = re.compile(r"(?<![A-Za-z])(?:S[O0o6ôơ]|SO|So)\s*[:;.,]\s*|(?<![A-Za-z])S[o6]\s+(?=\d)")
_DIGITISH = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "l": "1", "I": "1", "|": "1",
                           "i": "1", "S": "5", "B": "8", "Z": "2", "z": "2"})


@lru_cache(maxsize=1)
def _number_codes() -> dict[str, str]:
    return {key(c).replace(" ", "-"): c for c in load_vocabulary().number_codes}


def _snap_code(part: str, doctype: DocType | None) -> tuple[str, bool]:
    """A letter segment of a number -> its canonical code ("QD" -> "QĐ", "ĐĐKKH" -> "ĐKKH").

    Returns (code, exact): exact is False when the segment was repaired fuzzily."""
    codes = _number_codes()
    k = key(part)
    if doctype and doctype.abbreviation and k == key(doctype.abbreviation):
        return doctype.abbreviation, True
    if k in codes:
        return codes[k], True
    best, score = None, 0.0
    pool = dict(codes)
    if doctype and doctype.abbreviation:
        pool[key(doctype.abbreviation)] = doctype.abbreviation
    for kk, canon in pool.items():
        if abs(len(kk) - len(k)) <= 1 and len(kk) >= 2:
            sc = similarity(k, kk)
            if sc > score:
                best, score = canon, sc
    if best and score >= 0.8:
        return best, False
    return part.upper(), True


def _digits(part: str) -> str:
    return part.translate(_DIGITISH)


def _number_parts(rest: str) -> list[str]:
    """Tokens of a document number at the start of `rest`: numeric/code parts and separators.

    Stops before anything that is not part of the number: a place name after it on a merged
    line ("1106/GPXD - Hà Nội"), a rule read as dashes ("350/XNTTHN —— Ngọc Lâm")."""
    parts: list[str] = []
    pos = 0
    n = len(rest)
    m = re.match(r"\s*([0-9]{1,6})(?=([A-ZĐ]{2,})(?![A-Za-z0-9]))", rest)
    if m and _snap_code(m.group(2), None)[0] in _number_codes().values():
        # "45BB-UBND", "2369ĐĐKHKD": the slash was lost
        parts = [m.group(1), "/"]
    else:
        m = re.match(
            r"\s*([0-9OolI|]{1,7})(?![A-Za-z0-9])|\s*([0-9][0-9A-Z]{3,12})(?![A-Za-z0-9])", rest
        )
        if not m:
            return []
        parts = [m.group(1) or m.group(2)]
    pos = m.end()
    while pos < n:
        sep = re.match(r"\s*([/\-])\s*", rest[pos:])
        if parts[-1] in "/-":
            sep = None
            seg = re.match(r"[0-9A-ZĐa-zđ]+", rest[pos:])
        else:
            if not sep:
                break
            seg = re.match(r"[0-9A-ZĐa-zđ]+", rest[pos + sep.end():])
        if sep and not seg:
            break
        start = pos + (sep.end() if sep else 0)
        word = seg.group(0)
        after = rest[start + len(word): start + len(word) + 1]
        if after.isalpha() or not (word.isupper() or word.isdigit()):
            break  # "H" of "Hà Nội" or a lower-case word: not a code
        if sep:
            parts.append(sep.group(1))
        parts.append(word)
        pos = start + len(word)
    while parts and parts[-1] in "/-":
        parts.pop()
    return parts


def normalize_number(raw: str, doctype: DocType | None = None) -> str:
    """'123 / QD - UBND' -> '123/QĐ-UBND'; digit slips fixed in numeric parts."""
    return _normalize_parts(_number_parts(raw) or [raw.strip()], doctype)[0]


def _normalize_parts(parts: list[str], doctype: DocType | None) -> tuple[str, bool]:
    out, exact = [], True
    for part in parts:
        if part in ("/", "-"):
            out.append(part)
            continue
        digits = sum(c.isdigit() for c in part)
        if part.isdigit() or (digits and digits >= len(part) - 1 and len(part) >= 2):
            fixed = _digits(part)
            exact &= fixed == part
            out.append(fixed)
        elif digits and not part.isalpha():
            out.append(part.upper())  # a code such as "01A8012345"
        else:
            code, ok = _snap_code(part, doctype)
            exact &= ok
            out.append(code)
    return "".join(out), exact


def serial_is_clean(rest: str) -> bool:
    """The serial (before the first "/") is plain digits, as printed numbers read: letters
    read as digits ("O4"), stray symbols ("4‡", "$†4") or nothing at all mark a number written
    by hand into the template's blank, which OCR does not read reliably."""
    m = re.match(r"\s*([^/\s]*?)(?=/|[A-ZĐ]{2,}|\s|$)", rest)  # "56XNTTHN": the slash lost
    return bool(m and re.fullmatch(r"[0-9]{1,6}", m.group(1)))


def extract_number(lines: list[str], doctype: DocType | None = None,
                   stop: int | None = None) -> Found:
    """The number after 'Số:' in the header, above the title (line `stop`) if known.

    Only the header counts: "Số 46 ngõ 210 …" in an address is not a document number."""
    limit = min(len(lines), stop + 1 if stop is not None and stop >= 0 else 15)
    for i in range(limit):
        line = lines[i]
        for m in _NUMBER_LABEL.finditer(fold(line)):
            if ":" not in m.group(0) and ";" not in m.group(0) and i > 8:
                continue
            before = fold(line[max(0, m.start() - 8): m.start()]).lower()
            if "quyen" in before or "ma" in before.split()[-1:] or "dinh danh" in before:
                continue
            parts = _number_parts(line[m.end():])
            if not parts:
                continue
            value, exact = _normalize_parts(parts, doctype)
            if not re.match(r"^[0-9]", value):
                continue
            shape = re.fullmatch(r"[0-9]+(/[0-9]{4})?(/[A-ZĐ0-9]+(-[A-ZĐ0-9]+)*)?", value)
            conf = 0.9 if shape else 0.6
            if not exact:
                conf -= 0.2
            if not serial_is_clean(line[m.end():]):
                conf = min(conf, 0.4)  # a handwritten serial read with slips: a person checks
            if doctype and doctype.abbreviation and doctype.code != "khac" and \
                    doctype.abbreviation not in value.split("/")[-1].split("-"):
                conf = min(conf, 0.5)  # a typed result carries its abbreviation: check it
            if len(value) < 2:
                conf = min(conf, 0.5)
            return Found(value, round(conf, 2))
    return Found.none()


def number_suffix(lines: list[str], doctype: DocType | None = None,
                  limit: int = 15) -> str | None:
    """The printed part of the header's number after its "Số:" label ("/QĐ-UBND",
    "/2024/QĐ-UBND"), normalised, when it reads cleanly: the serial before it may be
    handwritten and read apart (`ocr.handwritten`)."""
    for line in lines[:limit]:
        for m in _NUMBER_LABEL.finditer(fold(line)):
            if ":" not in m.group(0):
                continue
            rest = line[m.end():]
            at = rest.find("/")
            if at < 0 or at > 12:
                continue
            parts = _number_parts("1" + rest[at:])
            if not parts:
                continue
            value, exact = _normalize_parts(parts, doctype)
            suffix = value[1:]
            if exact and re.fullmatch(r"(/[0-9]{4})?/[A-ZĐ0-9]+(-[A-ZĐ0-9]+)*", suffix):
                return suffix
            return None
    return None


_TEMPLATE_MONTH_YEAR = re.compile(
    r"[A-Za-z],\s*ng[aà]y.{0,14}?th[aá]ng\W{0,2}([0-9]{1,2})\W{0,2}n[aă]m\W{0,2}"
    r"((?:19|20)[0-9]{2})(?![0-9])", re.IGNORECASE)


def template_month_year(lines: list[str], limit: int = 20) -> tuple[int, int] | None:
    """(month, year) of the header's "<place>, ngày … tháng MM năm YYYY" when both read as
    plain digits (the day may be a handwritten blank read apart)."""
    for line in lines[:limit]:
        m = _TEMPLATE_MONTH_YEAR.search(fold(line))
        if m:
            month, year = int(m.group(1)), int(m.group(2))
            return (month, year) if 1 <= month <= 12 else None
    return None


# --------------------------------------------------------------------------- date

_D = r"[0-9OoIl|Zz]"
_DATE_WORDS = re.compile(
    rf"ng[aà]y\W{{0,2}}({_D}(?:\s?{_D})?)\W{{0,2}}th[aá]ng\W{{0,2}}({_D}(?:\s?{_D})?)\W{{0,2}}"
    rf"n[aă]m\W{{0,2}}({_D}\s?{_D}\s?{_D}\s?{_D})",
    re.IGNORECASE,
)
_DATE_NUMERIC = re.compile(
    r"(?<![0-9])([0-3]?[0-9])\s?[/.\-]\s?([01]?[0-9])\s?[/.\-]\s?((?:19|20)[0-9]{2})(?![0-9])"
)


_HEADER_DATE = re.compile(r"[A-Za-z],\s*ng[aà]y\b.{0,12}th[aá]ng\b.{0,8}n[aă]m\W{0,2}[0-9]{4}",
                          re.IGNORECASE)


def _to_int(s: str) -> int:
    return int(s.replace(" ", "").translate(_DIGITISH))


def _valid_date(d: int, m: int, y: int) -> dt.date | None:
    if not 1945 <= y <= 2100:
        return None
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


@dataclass(frozen=True)
class DateFound:
    value: str | None
    confidence: float
    place: str | None = None


def extract_date(lines: list[str]) -> DateFound:
    """The issue date: '<place>, ngày dd tháng mm năm yyyy' in the header is preferred,
    then any 'ngày … tháng … năm …', then a numeric dd/mm/yyyy after 'ngày cấp'."""
    best: DateFound | None = None
    for i, line in enumerate(lines[:80]):
        folded = fold(line)
        if i < 20 and not _DATE_WORDS.search(folded) and _HEADER_DATE.search(folded):
            # the template's "<place>, ngày … tháng … năm …" is there but its day or month
            # (often written by hand) cannot be read: that is the issue date, held for a
            # person; a date from the body would be the wrong one
            place = _tail_place(line[: _HEADER_DATE.search(folded).start() + 1]) or None
            return DateFound(None, 0.0, place)
        for m in _DATE_WORDS.finditer(folded):
            try:
                d, mo, y = (_to_int(g) for g in m.groups())
            except ValueError:
                continue
            date = _valid_date(d, mo, y)
            before = folded[: m.start()].rstrip()
            has_place = before.endswith(",") and len(before) > 2
            low_before = before.lower()
            is_birth = "sinh" in low_before[-25:] or "sinh" in folded[m.end(): m.end() + 6].lower()
            if date is None:
                cand = DateFound(None, 0.0)
                conf = 0.0
            else:
                conf = 0.95 if has_place else (0.6 if is_birth else 0.8)
                if has_place and len(m.group(1).replace(" ", "")) < 2:
                    conf = 0.5  # Decree 30 writes "ngày 05": one digit is a day half read
                day_span = folded[m.start(): m.start(2)]
                day_span = day_span[day_span.lower().index("ng") + 4:]
                if re.search(r"[^0-9OoIl|Zz\s]", day_span.lower().replace("thang", "")):
                    conf = min(conf, 0.4)  # symbols around the day: a handwritten day misread
                if i > 30 and not has_place:
                    conf -= 0.1
                place = None
                if has_place:
                    place = _tail_place(line[: m.start()]) or None
                cand = DateFound(date.isoformat(), conf, place)
            if best is None or cand.confidence > best.confidence:
                best = cand
            if best.confidence >= 0.95 or (has_place and cand.value and i < 20):
                return cand if has_place and cand.value else best  # the template's date
    if best is not None and best.value:
        return best
    for line in lines[:80]:
        folded = fold(line).lower()
        if not re.search(r"ngay cap|cap ngay|ngay dang ky|dang ky lan dau", folded):
            continue
        m = _DATE_NUMERIC.search(line)
        if m:
            date = _valid_date(*(int(g) for g in m.groups()))
            if date:
                return DateFound(date.isoformat(), 0.6)
    return best or DateFound(None, 0.0)


def _tail_place(text: str) -> str:
    """The place before ', ngày': the capitalized words that end the text ("Số: 84/ĐKKH
    Lam Sơn" -> "Lam Sơn", "Số: ma Cát Quế" -> "Cát Quế")."""
    words = text.strip(" ,").split()
    out: list[str] = []
    for w in reversed(words):
        if (w[:1].isupper() and w.isalpha()) or (w.isdigit() and not out):
            out.append(w)
        else:
            break
    return " ".join(reversed(out))


# --------------------------------------------------------------------------- issuer

_UBND = ("UBND", "UY BAN NHAN DAN", "UY BAN ND", "UYBANNHANDAN", "UY BANNHANDAN", "UYBAN NHAN DAN")
_KINDS = ("THANH PHO", "THI XA", "THI TRAN", "QUAN", "HUYEN", "PHUONG", "XA", "TINH")
_AGENCY_STARTS = ("VAN PHONG", "CHI CUC", "TRUNG TAM", "CONG AN", "BO PHAN", "SO", "PHONG",
                  "CUC", "BAN")


@lru_cache(maxsize=1)
def gazetteer() -> dict[str, str]:
    """Folded key of a unit's full name -> its spelling (the first, if several)."""
    return {k: v[0] for k, v in _gazetteer_variants().items()}


@lru_cache(maxsize=1)
def _gazetteer_variants() -> dict[str, list[str]]:
    """Folded key of a unit's full name ("PHUONG TRUC BACH") -> ["phường Trúc Bạch"].

    Built from the admin-unit list of the `vietnamadminunits` package (before and after 2025).
    Several units may fold to one key; only Hanoi's are kept when Hanoi has one."""
    try:
        import vietnamadminunits
    except ImportError:  # pragma: no cover - dependency of the distribution
        return {}
    db = Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"
    rows: list[tuple[str, str]] = []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        for prov, dist, ward, code in conn.execute(
            "SELECT DISTINCT province, district, ward, provinceCode FROM admin_units_legacy"
        ):
            rows += [(n, code) for n in (prov, dist, ward) if n]
        for prov, ward, code in conn.execute(
            "SELECT DISTINCT province, ward, provinceCode FROM admin_units"
        ):
            rows += [(n, code) for n in (prov, ward) if n]
    # key -> the spellings of the units with that key (Hanoi's only, if it has one):
    # "XA SON DONG" -> ["xã Sơn Đồng", "xã Sơn Đông"]
    out: dict[str, list[str]] = {}
    hanoi: set[str] = set()
    for name, code in rows:
        k = key(name)
        canon = _lower_kind(name)
        if code == "01" and k not in hanoi:
            out[k] = []
            hanoi.add(k)
        elif k in hanoi and code != "01":
            continue
        if canon not in out.setdefault(k, []):
            out[k].append(canon)
    return out


def gazetteer_variants(k: str) -> list[str]:
    """All spellings of the units whose names fold to key `k`."""
    return _gazetteer_variants().get(k, [])


def _lower_kind(name: str) -> str:
    words = name.split()
    for kind in _KINDS:
        n = len(kind.split())
        if key(" ".join(words[:n])) == kind:
            return " ".join(w.lower() for w in words[:n]) + " " + " ".join(words[n:])
    return name


def _title_word(w: str) -> str:
    return w[:1].upper() + w[1:].lower() if w else w


@lru_cache(maxsize=1)
def _agencies() -> dict[str, str]:
    return {key(a): a for a in load_vocabulary().agencies}


def _agency_case(words: list[str]) -> tuple[str, float]:
    """Normal case of an agency name printed in capitals; vocabulary spelling if known."""
    joined = " ".join(words)
    k = key(joined)
    known = _agencies()
    if k in known:
        return known[k], 0.95
    for n in range(len(words) - 1, 1, -1):  # known name followed by noise ("… DOANH SE")
        kk = key(" ".join(words[:n]))
        if kk in known and all(len(key(w)) <= 3 for w in words[n:]):
            return known[kk], 0.8
    squeezed = {kk.replace(" ", ""): canon for kk, canon in known.items()}
    if k.replace(" ", "") in squeezed:  # "ĐẦUTƯ" read without its space
        return squeezed[k.replace(" ", "")], 0.9
    best, score = None, 0.0
    for kk, canon in known.items():
        s = similarity(k, kk)
        if s > score:
            best, score = canon, s
    if best and score >= 0.9:
        return best, 0.85
    out, cap_next = [], True
    kind_len = 1
    for start in _AGENCY_STARTS:
        if k.startswith(start + " "):
            kind_len = len(start.split())
            break
    for idx, w in enumerate(words):
        if w in ("-", "&"):
            out.append(w)
            cap_next = True
            continue
        if idx < kind_len or cap_next:
            out.append(_title_word(w))
            cap_next = idx < kind_len
            if idx == kind_len - 1:
                cap_next = True
        else:
            out.append(w.lower())
        if key(w) == "VA":
            cap_next = True
    return " ".join(out), 0.6


@dataclass(frozen=True)
class IssuerFound:
    value: str | None
    confidence: float
    place: str | None = None
    lines: tuple[str, ...] = ()
    parent: str | None = None  # the parent body of a two-line header ("UBND tỉnh Quảng Ngãi")


def _caps_run(text: str) -> str:
    """Leading words in capitals of a header line; '' when they are only noise.

    The rule printed under the issuer reads as junk ("SE rõ tyrtioiet…", "TNG An Ôn ng")."""
    words = text.split()
    run = []
    for w in words:
        letters = [c for c in w if c.isalpha()]
        if letters and not all(c.isupper() for c in letters):
            break
        run.append(w)
    if len(run) == len(words):
        return text
    if len([w for w in run if any(c.isalpha() for c in w)]) < 2:
        return ""
    return " ".join(run)


def header_block(lines: list[str], stop: int | None = None) -> list[str]:
    """The issuer column: capitals at the top, motto cut off, before the number/date/title."""
    stop = min(len(lines), stop if stop is not None else 14)
    out: list[str] = []
    for line in lines[:stop]:
        if not line:
            continue
        left, has_motto = split_motto(line)
        folded = fold(left)
        m = _NUMBER_LABEL.search(folded)
        if m and m.start() <= 2:
            break
        if _DATE_WORDS.search(folded):
            left = left[: _DATE_WORDS.search(folded).start()]
        left = _caps_run(left.strip(" -_|:;,."))
        if not left or _SEPARATOR.match(left):
            continue
        if upper_ratio(left) < 0.7 or sum(c.isalpha() for c in left) < 2:
            if out:
                break
            continue
        if re.match(r"^V\s*/\s*V\b", fold(left), re.IGNORECASE):
            break
        out.append(re.sub(r"^[^0-9A-Za-zÀ-ỹĐđ]+", "", left))
    return out


def _segments(words: list[str]) -> list[tuple[str, list[str]]]:
    """Split header words into ('ubnd'|'place'|'agency'|'other', words) segments."""
    keys = [key(w) for w in words]
    segs: list[tuple[str, list[str]]] = []
    i = 0

    def starts(seq: str, at: int) -> bool:
        parts = seq.split()
        return keys[at: at + len(parts)] == parts

    while i < len(words):
        if not keys[i]:
            if segs:
                segs[-1][1].append(words[i])
            i += 1
            continue
        hit = next((u for u in _UBND if starts(u, i)), None)
        if hit:
            segs.append(("ubnd", words[i: i + len(hit.split())]))
            i += len(hit.split())
            continue
        kind = next((k for k in _KINDS if starts(k, i)), None)
        if kind:
            # a known unit ("QUẬN BA ĐÌNH") is a place; an unknown one only outside an agency
            # name, where "QUẢN LÝ" or "XÃ HỘI" are ordinary words
            n_kind = len(kind.split())
            known = next(
                (n for n in range(6, 0, -1)
                 if i + n_kind + n <= len(words)
                 and " ".join(keys[i: i + n_kind + n]) in gazetteer()),
                None,
            )
            if known:
                segs.append(("place", words[i: i + n_kind + known]))
                segs.append(("end", []))
                i += n_kind + known
                continue
            if not (segs and segs[-1][0] == "agency"):
                segs.append(("place", words[i: i + n_kind]))
                i += n_kind
                continue
        agency = next((a for a in _AGENCY_STARTS if starts(a, i)), None)
        if agency and not (segs and segs[-1][0] == "place" and agency == "BAN"):
            segs.append(("agency", words[i: i + len(agency.split())]))
            i += len(agency.split())
            continue
        glued = next(
            (n for n in (3, 2, 1)
             if i + n <= len(words) and "".join(keys[i: i + n]).replace(" ", "")
             in _squeezed_gazetteer()),
            None,
        )
        if glued:  # "QUẬNLONGBIÊN" read without spaces
            canon = _squeezed_gazetteer()["".join(keys[i: i + glued]).replace(" ", "")]
            segs.append(("place", canon.split()))
            segs.append(("end", []))
            i += glued
            continue
        if not segs or segs[-1][0] == "end":
            segs.append(("other", []))
        segs[-1][1].append(words[i])
        i += 1
    return segs


@lru_cache(maxsize=1)
def _squeezed_gazetteer() -> dict[str, str]:
    return {k.replace(" ", ""): v for k, v in gazetteer().items()}


def _place(words: list[str], date_place: str | None = None) -> tuple[str, float]:
    k = key(" ".join(words))
    gaz = gazetteer()
    if k in gaz:
        variants = gazetteer_variants(k)
        if len(variants) > 1:  # "SƠN ĐỒNG" and "SƠN ĐÔNG" are both Hanoi communes
            read = " ".join(words).lower()
            best = max(variants, key=lambda v: similarity(v.lower(), read))
            return best, 0.95 if best.lower() == read else 0.7
        return gaz[k], 0.95
    kind = next((kd for kd in _KINDS if k.startswith(kd + " ") or k == kd), None)
    if kind and date_place:
        # the date line repeats the unit's name: "UBND XÃ CÁT ." + "Cát Quế, ngày …"
        name_k = k[len(kind):].strip()
        cand = f"{kind} {key(date_place)}"
        if cand in gaz and (not name_k or key(date_place).startswith(name_k)
                            or similarity(name_k, key(date_place)) >= 0.7):
            return gaz[cand], 0.8
    # tolerate one garbled letter: closest gazetteer entry with the same kind
    if kind and len(k) > len(kind) + 2:
        best, score = None, 0.0
        for kk, canon in gaz.items():
            if kk[:2] == k[:2] and kk.startswith(kind + " ") and abs(len(kk) - len(k)) <= 2:
                s = similarity(k, kk)
                if s > score:
                    best, score = canon, s
        if best and score >= 0.88:
            return best, 0.8
    n = len(kind.split()) if kind else 0
    text = " ".join(w.lower() for w in words[:n]) + " " + " ".join(
        _title_word(w) for w in words[n:]
    )
    return text.strip(), 0.5


@lru_cache(maxsize=1)
def _central_bodies() -> dict[str, str]:
    return {key(b): b for b in load_vocabulary().central_bodies}


def _central_body(block: list[str]) -> IssuerFound | None:
    """A ministry or the Government ("BỘ TÀI CHÍNH", "THỦ TƯỚNG CHÍNH PHỦ"): the issuer is the
    listed name; an office printed under it ("BỘ TÀI CHÍNH" / "CỤC THUẾ") is the issuer and
    the ministry its parent body."""
    bodies = _central_bodies()
    whole = key(" ".join(block))
    if whole in bodies:
        return IssuerFound(bodies[whole], 0.9, None, tuple(block))
    for n in range(1, len(block)):
        top = key(" ".join(block[:n]))
        if top in bodies:
            office_words = " ".join(block[n:]).split()
            if not office_words or key(office_words[0]) not in ("CUC", "VU", "TONG", "VIEN",
                                                                "THANH", "VAN", "BAN"):
                return None
            name, conf = _agency_case(office_words)
            conf = 0.8 if conf >= 0.9 else 0.5  # an office not in the vocabulary: checked
            return IssuerFound(name, conf, None, tuple(block), bodies[top])
    return None


def extract_issuer(lines: list[str], stop: int | None = None,
                   date_place: str | None = None) -> IssuerFound:
    """The issuing agency from the capitals top-left (see the module docstring for its
    normal form); `date_place` (from "<place>, ngày …") completes a garbled unit name."""
    block = header_block(lines, stop)
    if not block:
        return IssuerFound(None, 0.0)
    central = _central_body(block)
    if central is not None:
        return central
    words = " ".join(block).replace(" - ", " - ").split()
    segs = _segments(words)
    place_txt, place_conf = None, 0.0
    agency_txt, agency_conf = None, 0.0
    has_ubnd = False
    place_used = False
    for kind, ws in segs:
        if kind == "ubnd":
            has_ubnd = True
        elif kind == "place":
            place_txt, place_conf = _place(ws, date_place)
        elif kind == "agency":
            name, conf = _agency_case(ws)
            if agency_txt is not None:  # "SỞ … / PHÒNG ĐĂNG KÝ KINH DOANH": office - parent
                parent = f"{agency_txt} {place_txt}" if place_txt else agency_txt
                name, conf = f"{name} - {parent}", min(conf, agency_conf, place_conf or 0.6)
                place_used = True
            agency_txt, agency_conf = name, conf
    if agency_txt and place_used:
        return IssuerFound(agency_txt, round(agency_conf, 2), place_txt, tuple(block))
    if agency_txt:
        value = f"{agency_txt} {place_txt}" if place_txt else agency_txt
        conf = min(agency_conf, place_conf) if place_txt else agency_conf * 0.8
        # "UBND TỈNH … / BAN CHỈ ĐẠO …": the People's Committee above is the parent body
        kinds = [k for k, _ws in segs if k != "end"]
        parent = (f"UBND {place_txt}" if place_txt and kinds[:3] == ["ubnd", "place", "agency"]
                  else None)
        return IssuerFound(value, round(conf, 2), place_txt, tuple(block), parent)
    if has_ubnd and place_txt:
        kinds = [k for k, _ws in segs if k != "end"]
        parent = None
        if kinds[:4] == ["ubnd", "place", "ubnd", "place"]:  # "UBND QUẬN … / UBND PHƯỜNG …"
            first = next(ws for k, ws in segs if k == "place")
            parent = f"UBND {_place(first, None)[0]}"
        return IssuerFound(f"UBND {place_txt}", round(place_conf, 2), place_txt, tuple(block),
                           parent)
    if place_txt:
        return IssuerFound(place_txt, 0.4, place_txt, tuple(block))
    text = " ".join(block)
    return IssuerFound(text, 0.3, None, tuple(block))


# --------------------------------------------------------------------------- personal ID

_ID_RUN = re.compile(r"(?<![0-9A-Za-z])([0-9OoIl](?:[ .]?[0-9OoIl]){11})(?![0-9])")
_ID_LABEL = re.compile(
    r"dinh danh|cccd|can cuoc|cmnd|chung minh|giay to tuy than|ho chieu|so giay to", re.I
)


def valid_personal_id(number: str) -> bool:
    """12 digits, a province code of Circular 59/2021 and a century/sex digit 0-3."""
    return (
        len(number) == 12
        and number.isdigit()
        and number[:3] in PROVINCE_CODES
        and number[3] in "0123"
    )


def extract_subject_id(lines: list[str]) -> Found:
    """The first personal ID: after an ID label if any, else any 12-digit run."""
    candidates: list[tuple[float, int, str]] = []
    for i, line in enumerate(lines):
        folded = fold(line)
        label = _ID_LABEL.search(folded)
        for m in _ID_RUN.finditer(folded):
            raw = m.group(1)
            if sum(c.isdigit() for c in raw) < 10:
                continue
            number = re.sub(r"[ .]", "", raw).translate(_DIGITISH)
            labelled = bool(label and label.start() < m.start())
            prev = fold(lines[i - 1]) if i else ""
            labelled = labelled or bool(_ID_LABEL.search(prev) and not _ID_RUN.search(prev))
            if valid_personal_id(number):
                conf = 0.95 if labelled else 0.8
                if raw != number:
                    conf -= 0.1
            else:
                conf = 0.3
            candidates.append((conf, -i, number))
    if not candidates:
        return Found.none()
    # the first valid ID in reading order wins (the husband before the wife, the child
    # before the parents); an invalid one only if nothing is valid
    valid = [c for c in candidates if c[0] > 0.3]
    first = valid[0] if valid else candidates[0]
    return Found(first[2], round(first[0], 2))


# --------------------------------------------------------------------------- subject name

# Name labels (folded, lower case), strongest first. Parents are never the subject; of a
# married couple the husband comes first on the certificate and is the subject.
_PERSON_LABELS = [
    (r"ho,? chu dem,? (?:va )?ten(?! (?:nguoi )?(?:cha|me|vo)\b)(?: chong)?", 0.95),
    (r"ho va ten(?! (?:nguoi )?(?:cha|me|vo)\b)|ho ten", 0.9),
    (r"cap cho", 0.9),
    (r"kinh gui", 0.8),
    (r"chu ho(?: kinh doanh)?|chu dau tu", 0.8),
]
_ORG_NAME_LABELS = [
    (r"ten (?:cong ty|doanh nghiep) viet bang tieng viet", 0.95),
    (r"ten (?:cong ty|doanh nghiep)(?! viet bang tieng nuoc ngoai| viet tat)", 0.85),
]
_NAME_STOP = re.compile(
    r"\s(?:gioi tinh|ngay sinh|sinh ngay|nam sinh|dan toc|quoc tich|so dinh danh|cccd|cmnd|"
    r"noi cu tru|dia chi|chuc vu|chuc danh|ma so)\b|\s{2,}|[,;:(]",
    re.I,
)
# capitalized words that start the next sentence or field, never part of a name
_NOT_NAMES = frozenset((
    "CAN", "DIEU", "SO", "HOM", "XET", "KINH", "NOI", "DIA", "GIOI", "SINH", "NGAY", "QUOC",
    "DAN", "THUA", "THEO", "VAY", "DE", "TRONG", "KET", "TAI", "CAP", "HO", "VE", "VIEC", "MA",
    "TEN", "UBND", "UY", "BAN",
))


def _is_name_word(w: str) -> bool:
    """'Nguyễn' or 'NGUYỄN' (capitalized letters only), not 'đình' or 'Số1'."""
    return (w.isalpha() and w[0].isupper() and (w[1:].islower() or w.isupper() or len(w) == 1)
            and len(w) <= 16)


_HONORIFIC = re.compile(r"(?<![A-Za-zÀ-ỹĐđ])(?:Ông|Bà|ông|bà|ONG|BÀ|ÔNG)"
                        r"(?:\s*[/(]\s*(?:Bà|bà|BÀ)\s*\)?)?\s*:?\s+")


@lru_cache(maxsize=1)
def _name_syllables() -> tuple[dict[str, set[str]], dict[str, set[str]], frozenset[str]]:
    voc = load_vocabulary()
    sur: dict[str, set[str]] = {}
    given: dict[str, set[str]] = {}
    for table, names in ((sur, voc.surnames), (given, voc.given_names)):
        for n in names:
            table.setdefault(key(n), set()).add(n)
    return sur, given, frozenset(voc.surnames) | frozenset(voc.given_names)


def _split_glued_name(words: list[str]) -> list[str]:
    """'Quangtuấn' -> 'Quang', 'Tuấn' when both halves are listed name syllables."""
    sur, given, listed = _name_syllables()
    out = []
    for i, w in enumerate(words):
        k = key(w)
        table = sur if i == 0 else given
        if len(k) >= 4 and k not in table and k not in given:
            for cut in range(1, len(w)):
                a, b = key(w[:cut]), key(w[cut:])
                if (a in (sur if i == 0 else given) or a in given) and b in given:
                    out += [_title_word(w[:cut]), _title_word(w[cut:])]
                    break
            else:
                out.append(w)
        else:
            out.append(w)
    return out


def restore_name(words: list[str]) -> tuple[list[str], bool]:
    """Put back diacritics OCR lost in a name when only one listed syllable fits."""
    sur, given, listed = _name_syllables()
    split = _split_glued_name(words)
    out, changed = [], split != words
    words = split
    for i, w in enumerate(words):
        table = sur if i == 0 and len(words) > 1 else given
        cands = table.get(key(w), set())
        if w not in listed and len(cands) == 1:
            w = next(iter(cands))
            changed = True
        out.append(w)
    return out, changed




def _unglue(w: str) -> str:
    """'HUYỀNgiới' -> 'HUYỀN giới': capitals read glued to the next (lower-case) word."""
    for i in range(2, len(w)):
        if w[i].islower():
            head = w[:i]
            return f"{head} {w[i:]}" if len(head) >= 2 and head.isupper() else w
    return w


def _name_run(text: str) -> tuple[str | None, float]:
    """Leading run of capitalized words ("Nguyễn Văn An, sinh …" -> "Nguyễn Văn An")."""
    text = re.sub(r"['\"`‘’“”|]", "", text)
    text = " ".join(_unglue(w) for w in text.split())
    stop = _NAME_STOP.search(fold(text))
    if stop:
        text = text[: stop.start() + 1]
    words = []
    for raw in text.split():
        w = raw.strip(",.;:")
        if not _is_name_word(w) or key(w) in _NOT_NAMES:
            break
        words.append(w)
        if w != raw:  # punctuation ends the name
            break
        if len(words) == 6:
            break
    if not words:
        return None, 0.0
    words, restored = restore_name([_title_word(w) if w.isupper() else w for w in words])
    conf = 0.9 if 2 <= len(words) <= 5 else 0.4
    return " ".join(words), conf - (0.1 if restored else 0.0)


_LEGAL_FORMS = ("CÔNG TY TNHH", "CÔNG TY CỔ PHẦN", "CÔNG TY HỢP DANH", "DOANH NGHIỆP TƯ NHÂN",
                "CÔNG TY TRÁCH NHIỆM HỮU HẠN")


def _org_name(lines: list[str], i: int, rest: str) -> tuple[str | None, float]:
    rest = re.split(r"\s{2,}", rest.strip(" :.-\t"))[0].strip(" .,;")
    rest = re.sub(r"['\"`‘’“”|_~]", " ", rest)
    rest = " ".join(rest.split())
    for form in _LEGAL_FORMS:  # "CÔNG TY CỐ PHẦN" read for "CÔNG TY CỔ PHẦN"
        n = len(form.split())
        head = " ".join(rest.split()[:n])
        if head != form and key(head) == key(form):
            rest = form + rest[len(head):]
            break
    if not rest and i + 1 < len(lines):
        i, rest = i + 1, lines[i + 1].strip()
    if len(rest) < 3:
        return None, 0.0
    # a name printed in capitals may wrap onto the next line
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    nxt = " ".join(re.sub(r"['\"`‘’“”|_~]", " ", nxt).split())
    if upper_ratio(rest) > 0.9 and nxt and upper_ratio(nxt) > 0.9 and ":" not in nxt \
            and len(nxt.split()) <= 4 and not re.match(r"^\d", nxt):
        rest = f"{rest} {nxt}"
    return rest, 0.9


def extract_subject_name(lines: list[str], doctype: DocType | None = None) -> Found:
    """The person (or for enterprises the organisation) the result is about."""
    if doctype is not None and doctype.subject == "organisation":
        for pattern, strength in _ORG_NAME_LABELS:
            rx = re.compile(r"(?:^|(?<=[\s:.,;]))" + pattern + r"\s*:", re.I)
            for i, line in enumerate(lines):
                m = rx.search(fold(line))
                if m:
                    value, conf = _org_name(lines, i, line[m.end():])
                    if value:
                        return Found(value, round(min(strength, conf), 2))
    for pattern, strength in _PERSON_LABELS:
        rx = re.compile(r"(?:^|(?<=[\s:.,;]))(?:" + pattern + r")\s*:", re.I)
        for i, line in enumerate(lines):
            m = rx.search(fold(line))
            if not m:
                continue
            rest = line[m.end():].strip()
            if not rest and i + 1 < len(lines):
                rest = lines[i + 1]
            h = _HONORIFIC.match(rest)
            if h:
                rest = rest[h.end():]
            value, conf = _name_run(rest)
            if value:
                return Found(value, round(min(strength, conf), 2))
    # free text: "… đối với ông Nguyễn Văn An, …", "Kính gửi: Bà …"
    weak = Found.none()
    for i, line in enumerate(lines):
        for m in _HONORIFIC.finditer(line):
            before = line[: m.start()].split()
            if before and _is_name_word(before[-1]):
                continue
            rest = line[m.end():]
            value, conf = _name_run(rest)
            if value and len(value.split()) == len(rest.split()) < 4 and i + 1 < len(lines):
                # the name wraps onto the next line: "… đối với ông Hoàng Minh" / "Hùng"
                more = []
                for w in lines[i + 1].split():
                    ww = w.strip(",.;:")
                    if not _is_name_word(ww) or ww.isupper() or key(ww) in _NOT_NAMES:
                        break
                    more.append(ww)
                    if ww != w or len(value.split()) + len(more) == 4:
                        break
                if more:
                    value = f"{value} {' '.join(more)}"
            if value and conf >= 0.9:
                return Found(value, 0.8)
    text = " ".join(ln for ln in lines if ln)
    for m in _HONORIFIC.finditer(text):
        before = text[: m.start()].split()
        if before and _is_name_word(before[-1]):
            continue  # part of a proper name: "Hai Bà Trưng"
        value, conf = _name_run(text[m.end():])
        if value and conf >= 0.9:
            return Found(value, 0.8)
        if value and not weak.value:
            weak = Found(value, round(min(0.4, conf), 2))
    return weak


_ENTERPRISE_CODE = re.compile(r"ma so (?:doanh nghiep|thue)\s*:?\s*([0-9OoIl][0-9OoIl ]{8,12}(?:-[0-9]{3})?)",
                              re.I)


def extract_enterprise_code(lines: list[str]) -> Found:
    """'Mã số doanh nghiệp: 0101234567' (10 digits, or 13 with a '-NNN' branch suffix)."""
    for line in lines:
        m = _ENTERPRISE_CODE.search(fold(line))
        if not m:
            continue
        code = re.sub(r"\s", "", m.group(1)).translate(_DIGITISH)
        if re.fullmatch(r"[0-9]{10}(-[0-9]{3})?", code):
            return Found(code, 0.95 if code == m.group(1) else 0.85)
        return Found(code, 0.3)
    return Found.none()


# --------------------------------------------------------------------------- title / summary

def title_candidates(lines: list[str], limit: int = 45) -> list[tuple[int, str]]:
    """Lines that may hold the document-type title (and each line joined with the next)."""
    out: list[tuple[int, str]] = []
    rng = lines[:limit]
    for i, line in enumerate(rng):
        left, has_motto = split_motto(line)
        text = line if not has_motto else left
        if not text or upper_ratio(text) < 0.6:
            continue
        k = key(text)
        if len(k) < 4:
            continue
        out.append((i, k))
        nxt = next((j for j in range(i + 1, min(i + 3, len(rng))) if rng[j]), None)
        if nxt is not None and upper_ratio(rng[nxt]) >= 0.6 and not split_motto(rng[nxt])[1]:
            out.append((i, k + " " + key(rng[nxt])))
    return out


def match_title(cands: list[tuple[int, str]], pattern: str) -> tuple[float, int]:
    """Best similarity of a title pattern against the candidates, and the line index."""
    pk = key(pattern)
    best, at = 0.0, -1
    for i, k in cands:
        s = similarity(k, pk)
        if pk in k.split(" - ")[0] and len(k) <= len(pk) + 6:
            s = max(s, 0.97)
        if s > best:
            best, at = s, i
    return best, at


# "V/v" (also read "V⁄", "VW", "W/v", "V/V") or "Về việc", on folded text
_SUMMARY = re.compile(
    r"^\s*(?:[VW]\s*[/|l1I]\s*[vV]?\.?(?=[\s:])|V[Ww](?=[\s:])|Vv\.?(?=[\s:])|Ve\s*viec\b)"
)
# lines that start the body, not a summary (folded, lower case)
_SECTION = re.compile(
    r"^(?:can cu|kinh gui|dieu \d|quyet dinh|chu tich|giam doc|uy ban|ubnd|noi nhan|hom nay|"
    r"truong phong|pho |kt\.|tm\.|tl\.|xet de nghi|ma so|ho,? chu dem|ho va ten|so dinh danh|"
    r"\d+\s*[.)]|[-+•*])",
    re.I,
)
_LABEL = re.compile(r"^[^:]{2,45}:")


_JUNK_ENDS = " |_:;'\"`‘’“”~"


def _plain_word(w: str) -> bool:
    w = w.strip(",.;:()/%")
    if not w:
        return True
    if w.isdigit():
        return True
    return w.isalpha() and (w.islower() or w.isupper() or (w[0].isupper() and w[1:].islower()))


def junk_ratio(text: str) -> float:
    """Share of words that do not look like words (OCR of seals, signatures, rules)."""
    words = text.split()
    if not words:
        return 1.0
    return sum(1 for w in words if not _plain_word(w)) / len(words)


def _summary_from(lines: list[str], i: int) -> str:
    """Join line i with its continuation lines (a summary wraps over up to 3 lines)."""
    first = re.sub(r"^(?:[^\w(]+|[a-z]\.\s)\s*", "", lines[i].replace("\\", " ").strip(_JUNK_ENDS))
    text = first
    caps = upper_ratio(first) > 0.8
    closed = (first.startswith("(") and first.endswith(")")) or bool(_LABEL.match(fold(first)))
    j = i + 1
    while not closed and j < len(lines) and lines[j] and j <= i + 2:
        nxt = lines[j].strip(_JUNK_ENDS + "-")
        f = fold(nxt).lower()
        first_word = nxt.split()[0] if nxt.split() else ""
        if not caps and len(first_word) >= 2 and first_word.isupper():
            break  # "CS co cv": seal noise under a mixed-case summary
        if (_SECTION.match(f) or _LABEL.match(f) or (upper_ratio(nxt) > 0.8) != caps
                or _DATE_WORDS.search(f) or split_motto(nxt)[1] or _SEPARATOR.match(nxt)
                or junk_ratio(nxt) > 0.2):
            break
        text = text.rstrip(_JUNK_ENDS + "-") + " " + nxt
        j += 1
    text = " ".join(w for w in text.split() if re.search(r"[\w()/]", w))  # lone "¡", "_"
    text = re.sub(r"\s+", " ", text).strip(_JUNK_ENDS)
    text = re.sub(r"^Quy[eể]n\s*s[oốỐO0]\s*:", "Quyển số:", text, flags=re.I)
    return text.rstrip(".") if not text.endswith("./.") else text


def snap_phrase(text: str, phrases: list[str] | tuple[str, ...]) -> tuple[str, bool]:
    """A fixed sub-title of a form ("(Sử dụng cho nhà ở riêng lẻ)") read with slips."""
    k = key(text)
    best, score = None, 0.0
    for p in phrases:
        sc = similarity(k, key(p))
        if sc > score:
            best, score = p, sc
    if best and score >= 0.85:
        return best, True
    return text, False


def extract_summary(lines: list[str], title_line: int = -1,
                    phrases: list[str] | tuple[str, ...] = ()) -> Found:
    """The summary: the line(s) right under the title ("Về việc …", "(Bản sao)", …), or for
    a letter without title the 'V/v …' line under its number."""
    if title_line >= 0:
        i = title_line + 1
        while i < len(lines) and i <= title_line + 3 and not lines[i]:
            i += 1
        if i < len(lines) and lines[i]:
            line = re.sub(r"^[-_.,:;'\"|\s]+(?=\()", "", lines[i].strip())
            lines = [*lines[:i], line, *lines[i + 1:]]
            f = fold(line).lower()
            if not (_SECTION.match(f) and not _SUMMARY.match(f)) and not _SEPARATOR.match(line) \
                    and not re.match(r"^\W*\d", line):
                text = _summary_from(lines, i)
                if len(text) >= 3:
                    text, snapped = snap_phrase(text, phrases)
                    conf = 0.9 if snapped else (0.85 if junk_ratio(text) == 0 else 0.5)
                    return Found(text, conf)
    for i in range(min(len(lines), 16)):
        line = lines[i]
        if re.match(r"^\W*kinh gui", fold(line).lower()):
            break  # the summary of a letter sits above "Kính gửi"
        if not _SUMMARY.match(fold(line)):
            continue
        text = _summary_from(lines, i)
        text = re.sub(r"^(?:[VW]\s*[/|l1I]\s*[vV]?|V[Ww]|Vv)\.?\s*:?\s*", "V/v ", text)
        conf = 0.85 if len(text) > 8 and junk_ratio(text[4:]) == 0 else 0.5
        return Found(text, conf)
    return Found.none()


# --------------------------------------------------------------------------- consensus

_WORD = re.compile(r"[0-9A-Za-zÀ-ỹĐđ]+")


def _case_like(form: str, model: str) -> str:
    if model.isupper():
        return form.upper()
    if model[:1].isupper():
        return form[:1].upper() + form[1:]
    return form


class DocumentWords:
    """Word statistics of one document's OCR text, to repair a word read badly once from
    the way the same words (same letters without diacritics, same neighbours) are read
    elsewhere in the document."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.tokens = [w.lower() for line in lines for w in _WORD.findall(line)]
        self.keys = [key(w) for w in self.tokens]
        self.by_key: dict[str, list[int]] = {}
        for i, k in enumerate(self.keys):
            self.by_key.setdefault(k, []).append(i)

    def repair_text(self, text: str) -> str:
        """Fix words of `text` (itself read from the document) that the rest of the document
        reads differently in the same context: each other occurrence of the word (same
        letters without diacritics) next to an identically read neighbour is one vote."""
        words = _WORD.findall(text)
        low = [w.lower() for w in words]
        fixed = list(words)
        for i, w in enumerate(low):
            left = low[i - 1] if i > 0 else None
            right = low[i + 1] if i + 1 < len(low) else None
            votes: dict[str, int] = {}
            for pos in self.by_key.get(key(w), []):
                lt = self.tokens[pos - 1] if pos > 0 else None
                rt = self.tokens[pos + 1] if pos + 1 < len(self.tokens) else None
                if (left and lt == left) or (right and rt == right):
                    form = self.tokens[pos]
                    votes[form] = votes.get(form, 0) + 1
            if votes.get(w, 0) >= 1:
                votes[w] -= 1  # this text's own occurrence
            if not votes:
                continue
            best = max(votes, key=lambda f: votes[f])
            if best != w and votes[best] > votes.get(w, 0):
                fixed[i] = _case_like(best, words[i])
        out, pos = [], 0
        for m, new in zip(_WORD.finditer(text), fixed, strict=True):
            out.append(text[pos: m.start()])
            out.append(new)
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)

    def repair_name(self, name: str) -> str:
        """The spelling of a name that the document shows most often (case-insensitive)."""
        words = name.split()
        k = [key(w) for w in words]
        counts: dict[tuple[str, ...], int] = {}
        for line in self.lines:
            toks = [w.lower() for w in _WORD.findall(line)]
            for i in range(len(toks) - len(k) + 1):
                cand = toks[i: i + len(k)]
                if [key(t) for t in cand] == k:
                    counts[tuple(cand)] = counts.get(tuple(cand), 0) + 1
        if not counts:
            return name
        current = tuple(w.lower() for w in words)
        best = max(counts, key=lambda c: counts[c])
        if best != current and counts[best] > counts.get(current, 0):
            return " ".join(_case_like(b, w) for b, w in zip(best, words, strict=True))
        return name


def respell(text: str, name: str) -> str:
    """Write `name` as given wherever `text` has it with other diacritics."""
    k = key(name).split()
    matches = list(_WORD.finditer(text))
    for i in range(len(matches) - len(k) + 1):
        window = matches[i: i + len(k)]
        if [key(m.group(0)) for m in window] == k:
            start, end = window[0].start(), window[-1].end()
            if text[start:end].lower() != name.lower() and " ".join(
                m.group(0) for m in window
            ) == text[start:end]:
                return text[:start] + _case_like(name, text[start:end]) + text[end:]
    return text
