"""Synthetic scanned Vietnamese administrative result documents, with ground truth.

This module owns the benchmark/test/demo corpus: it renders A4 pages laid out per
Decree 30/2020/NĐ-CP (issuer top-left, national motto top-right, "Số: …", place and date,
title, summary, body, signer block with a red seal over a signature), using real
Hanoi issuers and unit codes from the ``vietnamadminunits`` package, then simulates a
counter scan (dpi, skew, upside-down pages, noise, blur, paper tint, JPEG artefacts,
blank duplex backs, colour/gray/bilevel) and writes PDF, multi-page TIFF, PNG or JPEG
with a ``<name>.truth.json`` next to each file and a corpus ``manifest.json``.

Ground truth conventions:

* ``fields.issuer`` is a normalised agency name ("UBND phường Trúc Bạch",
  "Sở Tư pháp thành phố Hà Nội"); the header lines exactly as printed (capitals) are in
  ``fields.issuer_printed``.
* ``text`` holds, per page, the exact text lines drawn (one per line, words joined by
  single spaces); the seal ring text and the signature scribble are not text lines.
  ``page_info[i].lines`` has each line's bbox in upright, unskewed page pixels.
* ``rotation`` per page is 0 or 180 (180 = page scanned upside-down); ``skew_deg`` is
  the extra small rotation (degrees, counter-clockwise positive).
* PNG and JPEG hold one page per file: page 1 is ``<name>.png`` and page *n* > 1 is
  ``<name>-p<n>.png``; ``files`` in the truth lists them all.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import glob
import io
import json
import math
import random
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

DOC_TYPES = (
    "quyet_dinh",
    "giay_phep_xay_dung",
    "dang_ky_ho_kinh_doanh",
    "trich_luc_khai_sinh",
    "dang_ky_ket_hon",
    "xac_nhan_tinh_trang_hon_nhan",
    "dang_ky_doanh_nghiep",
    "cong_van",
    "khac",
)
FORMATS = ("pdf", "tiff", "png", "jpeg")
PROFILES = ("clean", "counter", "mixed")
COLOR_MODES = ("color", "gray", "bilevel")
SCHEMA = "sohoa.bench.corpus/1"

A4_MM = (210.0, 297.0)
MARGIN_MM = {"top": 20.0, "bottom": 20.0, "left": 30.0, "right": 15.0}
INK = (12, 12, 12)
SEAL_RED = (205, 28, 36)
SIGN_BLUE = (25, 40, 150)
HANOI = "01"
DISTRICTS_ABOLISHED = dt.date(2025, 7, 1)
SKHDT_MERGED = dt.date(2025, 3, 1)  # Sở KH&ĐT merged into Sở Tài chính

# ---------------------------------------------------------------------------
# fonts

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
# family -> file names for regular, bold, italic, bold italic
FONT_FAMILIES = {
    "Liberation Serif": (
        "LiberationSerif-Regular.ttf",
        "LiberationSerif-Bold.ttf",
        "LiberationSerif-Italic.ttf",
        "LiberationSerif-BoldItalic.ttf",
    ),
    "Noto Serif": (
        "NotoSerif-Regular.ttf",
        "NotoSerif-Bold.ttf",
        "NotoSerif-Italic.ttf",
        "NotoSerif-BoldItalic.ttf",
    ),
    "DejaVu Serif": (
        "DejaVuSerif.ttf",
        "DejaVuSerif-Bold.ttf",
        "DejaVuSerif-Italic.ttf",
        "DejaVuSerif-BoldItalic.ttf",
    ),
}
STYLES = ("r", "b", "i", "bi")
# digits written by hand into a printed template (style "hw"); Debian fonts-dkg-handwriting
HANDWRITING_FONTS = ("/usr/share/fonts/truetype/fifthhorseman/dkgBd.ttf",
                     "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf")
HW_INK = (20, 30, 110)  # a blue-black pen
# what real paper has and clean renders lack (see ../shared/real-dev/README.md):
#   esign       an e-signature appearance box top right, its text also as a PDF text layer
#   handwritten the serial after "Số:" and the day written by hand into the template
#   stamp       a "CÔNG VĂN ĐẾN" receipt stamp with a handwritten number over the header zone
#   last_page   number and date printed only at the end of the last page (consolidated text)
#   streak      a scanner's vertical line through the page and a red "HỎA TỐC" urgency stamp
HARD_CASES = ("esign", "handwritten", "stamp", "last_page", "streak")
ESIGN_LINES = ("Ký bởi: Văn phòng Ủy ban nhân dân", "Cơ quan: Thành phố Hà Nội",
               "Thời gian ký: {when}")


class CorpusError(RuntimeError):
    """A corpus cannot be generated or written (missing fonts, bad options, ...)."""


@functools.cache
def available_font_families() -> dict[str, tuple[str, ...]]:
    """Font families with all four styles found on this machine, in preference order."""
    found: dict[str, tuple[str, ...]] = {}
    for family, names in FONT_FAMILIES.items():
        paths = []
        for name in names:
            hits = sorted(
                p for d in FONT_DIRS for p in glob.glob(f"{d}/**/{name}", recursive=True)
            )
            if not hits:
                break
            paths.append(hits[0])
        else:
            found[family] = tuple(paths)
    return found


def _family_paths(family: str | None) -> tuple[str, tuple[str, ...]]:
    fams = available_font_families()
    if not fams:
        raise CorpusError(
            "no serif TrueType font with Vietnamese glyphs found under "
            f"{', '.join(FONT_DIRS)}; install fonts-liberation2, fonts-dejavu-core or "
            "fonts-noto-core (need e.g. LiberationSerif-Regular.ttf)"
        )
    if family is None:
        family = next(iter(fams))
    if family not in fams:
        raise CorpusError(f"font family {family!r} not available; have {sorted(fams)}")
    return family, fams[family]


@functools.lru_cache(maxsize=256)
def _font(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size_px)


class Fonts:
    def __init__(self, family: str | None, dpi: int):
        self.family, self.paths = _family_paths(family)
        self.dpi = dpi

    def px(self, pt: float) -> int:
        return max(6, round(pt * self.dpi / 72.0))

    def get(self, style: str, pt: float) -> ImageFont.FreeTypeFont:
        if style == "hw":
            path = next((p for p in HANDWRITING_FONTS if Path(p).exists()), None)
            if path is None:
                raise CorpusError("handwriting font missing: apt-get install fonts-dkg-handwriting")
            return _font(path, self.px(pt * 1.5))
        return _font(self.paths[STYLES.index(style)], self.px(pt))


# ---------------------------------------------------------------------------
# administrative units (real codes from vietnamadminunits)


@dataclass(frozen=True)
class Ward:
    code: str
    name: str  # "Phường Trúc Bạch"
    short: str  # "Trúc Bạch"
    kind: str  # "Phường" | "Xã" | "Thị trấn"
    district_code: str | None = None
    district: str | None = None  # "Quận Ba Đình"
    district_short: str | None = None
    district_kind: str | None = None


@functools.lru_cache(maxsize=1)
def hanoi_units() -> tuple[tuple[Ward, ...], tuple[Ward, ...]]:
    """(legacy wards with their districts, wards from 1 July 2025) of Hà Nội."""
    try:
        import vietnamadminunits
    except ImportError as exc:  # pragma: no cover - hard dependency
        raise CorpusError("the vietnamadminunits package is required") from exc
    db = Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"
    if not db.is_file():
        raise CorpusError(f"{db}: vietnamadminunits data file missing")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        legacy = tuple(
            Ward(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
            for r in con.execute(
                "SELECT wardCode, ward, wardShort, wardType, districtCode, district, "
                "districtShort, districtType FROM admin_units_legacy "
                "WHERE provinceCode=? ORDER BY wardCode",
                (HANOI,),
            )
        )
        new = tuple(
            Ward(r[0], r[1], r[2], r[3])
            for r in con.execute(
                "SELECT wardCode, ward, wardShort, wardType FROM admin_units "
                "WHERE provinceCode=? ORDER BY wardCode",
                (HANOI,),
            )
        )
    finally:
        con.close()
    if not legacy or not new:
        raise CorpusError(f"{db}: no Hà Nội units found")
    return legacy, new


def _up(s: str) -> str:
    return s.upper()


@dataclass
class Issuer:
    level: str  # city | district | commune
    unit_code: str
    unit_name: str
    name: str  # normalised agency name
    header: list[tuple[str, str]]  # (text, style) as printed
    place: str
    authority: str  # "ỦY BAN NHÂN DÂN PHƯỜNG TRÚC BẠCH" (for QĐ preambles, seals)
    code: str  # number suffix part: UBND, STP, SXD, ...
    head: str  # CHỦ TỊCH | GIÁM ĐỐC | TRƯỞNG PHÒNG
    deputy: str
    collective: str | None  # ỦY BAN NHÂN DÂN for "TM."
    seal_ring: str
    seal_centre: list[str]
    ward: Ward  # locality for addresses
    units_version: str  # legacy | 2025
    parent: str | None = None  # "quận Ba Đình" for commune-level legacy issuers


def _ubnd_commune(w: Ward, rng: random.Random, version: str) -> Issuer:
    full = f"{_up(w.kind)} {_up(w.short)}"
    if version == "legacy" and rng.random() < 0.3:
        header = [(f"UBND {_up(w.district)}", "r"), (f"UBND {full}", "b")]
    else:
        header = [("ỦY BAN NHÂN DÂN", "b"), (full, "b")]
    ring = f"ỦY BAN NHÂN DÂN {full}"
    ring += f" * {_up(w.district)} * TP HÀ NỘI *" if version == "legacy" else " * TP HÀ NỘI *"
    return Issuer(
        level="commune",
        unit_code=w.code,
        unit_name=w.name,
        name=f"UBND {w.kind.lower()} {w.short}",
        header=header,
        place=w.short,
        authority=f"ỦY BAN NHÂN DÂN {full}",
        code="UBND",
        head="CHỦ TỊCH",
        deputy="PHÓ CHỦ TỊCH",
        collective="ỦY BAN NHÂN DÂN",
        seal_ring=ring,
        seal_centre=[],
        ward=w,
        units_version=version,
        parent=f"{w.district_kind.lower()} {w.district_short}" if w.district else None,
    )


def _ubnd_district(w: Ward) -> Issuer:
    full = _up(w.district)
    return Issuer(
        level="district",
        unit_code=w.district_code,
        unit_name=w.district,
        name=f"UBND {w.district_kind.lower()} {w.district_short}",
        header=[("ỦY BAN NHÂN DÂN", "b"), (full, "b")],
        place=w.district_short,
        authority=f"ỦY BAN NHÂN DÂN {full}",
        code="UBND",
        head="CHỦ TỊCH",
        deputy="PHÓ CHỦ TỊCH",
        collective="ỦY BAN NHÂN DÂN",
        seal_ring=f"ỦY BAN NHÂN DÂN {full} * THÀNH PHỐ HÀ NỘI *",
        seal_centre=[],
        ward=w,
        units_version="legacy",
    )


def _district_office(w: Ward) -> Issuer:
    full = _up(w.district)
    return Issuer(
        level="district",
        unit_code=w.district_code,
        unit_name=w.district,
        name=f"Phòng Tài chính - Kế hoạch {w.district_kind.lower()} {w.district_short}",
        header=[(f"UBND {full}", "r"), ("PHÒNG TÀI CHÍNH - KẾ HOẠCH", "b")],
        place=w.district_short,
        authority=f"PHÒNG TÀI CHÍNH - KẾ HOẠCH {full}",
        code="TCKH",
        head="TRƯỞNG PHÒNG",
        deputy="PHÓ TRƯỞNG PHÒNG",
        collective=None,
        seal_ring=f"UBND {full} * THÀNH PHỐ HÀ NỘI *",
        seal_centre=["PHÒNG", "TÀI CHÍNH", "KẾ HOẠCH"],
        ward=w,
        units_version="legacy",
    )


# (name, printed capitals, number code, letter unit)
DEPARTMENTS = {
    "stp": ("Sở Tư pháp", "SỞ TƯ PHÁP", "STP", "HCTP"),
    "sxd": ("Sở Xây dựng", "SỞ XÂY DỰNG", "SXD", "QLXD"),
    "skhdt": ("Sở Kế hoạch và Đầu tư", "SỞ KẾ HOẠCH VÀ ĐẦU TƯ", "KHĐT", "ĐKKD"),
    "stc": ("Sở Tài chính", "SỞ TÀI CHÍNH", "STC", "ĐKKD"),
}


def _department(key: str, w: Ward, version: str) -> Issuer:
    name, caps, code, _ = DEPARTMENTS[key]
    return Issuer(
        level="city",
        unit_code=HANOI,
        unit_name="Thành phố Hà Nội",
        name=f"{name} thành phố Hà Nội",
        header=[("UBND THÀNH PHỐ HÀ NỘI", "r"), (caps, "b")],
        place="Hà Nội",
        authority=f"{caps} THÀNH PHỐ HÀ NỘI",
        code=code,
        head="GIÁM ĐỐC",
        deputy="PHÓ GIÁM ĐỐC",
        collective=None,
        seal_ring="UBND THÀNH PHỐ HÀ NỘI * " + caps + " *",
        seal_centre=caps.split(" ", 1),
        ward=w,
        units_version=version,
    )


def _business_registration_office(w: Ward, issued: dt.date, version: str) -> Issuer:
    key = "stc" if issued >= SKHDT_MERGED else "skhdt"
    name, caps, _, _ = DEPARTMENTS[key]
    return Issuer(
        level="city",
        unit_code=HANOI,
        unit_name="Thành phố Hà Nội",
        name=f"Phòng Đăng ký kinh doanh - {name} thành phố Hà Nội",
        header=[(caps, "r"), ("THÀNH PHỐ HÀ NỘI", "r"), ("PHÒNG ĐĂNG KÝ KINH DOANH", "b")],
        place="Hà Nội",
        authority="PHÒNG ĐĂNG KÝ KINH DOANH",
        code="ĐKKD",
        head="TRƯỞNG PHÒNG",
        deputy="PHÓ TRƯỞNG PHÒNG",
        collective=None,
        seal_ring=f"{caps} THÀNH PHỐ HÀ NỘI *",
        seal_centre=["PHÒNG", "ĐĂNG KÝ", "KINH DOANH"],
        ward=w,
        units_version=version,
    )


def _ubnd_city(w: Ward, version: str) -> Issuer:
    return Issuer(
        level="city",
        unit_code=HANOI,
        unit_name="Thành phố Hà Nội",
        name="UBND thành phố Hà Nội",
        header=[("ỦY BAN NHÂN DÂN", "b"), ("THÀNH PHỐ HÀ NỘI", "b")],
        place="Hà Nội",
        authority="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
        code="UBND",
        head="CHỦ TỊCH",
        deputy="PHÓ CHỦ TỊCH",
        collective="ỦY BAN NHÂN DÂN",
        seal_ring="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI *",
        seal_centre=[],
        ward=w,
        units_version=version,
    )


def _pick_issuer(doc_type: str, issued: dt.date, rng: random.Random) -> Issuer:
    legacy, new = hanoi_units()
    version = "legacy" if issued < DISTRICTS_ABOLISHED else "2025"
    # favour the inner districts so examples look familiar, but use all units
    if version == "legacy":
        inner = [w for w in legacy if w.district_code <= "009"]
        w = rng.choice(inner if rng.random() < 0.6 else legacy)
    else:
        w = rng.choice(new)
    commune = _ubnd_commune(w, rng, version)
    if doc_type in ("trich_luc_khai_sinh", "dang_ky_ket_hon", "xac_nhan_tinh_trang_hon_nhan"):
        return commune
    if doc_type == "dang_ky_doanh_nghiep":
        return _business_registration_office(w, issued, version)
    if doc_type == "dang_ky_ho_kinh_doanh":
        return _district_office(w) if version == "legacy" else commune
    if doc_type == "giay_phep_xay_dung":
        if rng.random() < 0.25:
            return _department("sxd", w, version)
        return _ubnd_district(w) if version == "legacy" else commune
    # quyet_dinh, cong_van, khac: any level
    r = rng.random()
    if r < 0.15:
        dep = rng.choice(["stp", "sxd", "skhdt" if issued < SKHDT_MERGED else "stc"])
        return _department(dep, w, version)
    if r < 0.22:
        return _ubnd_city(w, version)
    if r < 0.55 and version == "legacy":
        return _ubnd_district(w)
    return commune


# ---------------------------------------------------------------------------
# people, places, numbers

SURNAMES = (
    ["Nguyễn"] * 10
    + ["Trần"] * 4
    + ["Lê"] * 3
    + ["Phạm"] * 3
    + ["Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Đinh", "Phan", "Lý", "Trịnh", "Đào"]
)
MIDDLE_M = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Xuân", "Mạnh", "Tiến", "Ngọc", "Việt"]
MIDDLE_F = ["Thị", "Thị", "Thu", "Thanh", "Ngọc", "Minh", "Phương", "Kim", "Hồng", "Thúy", "Bích"]
GIVEN_M = [
    "An", "Hùng", "Dũng", "Tuấn", "Hải", "Nam", "Long", "Quân", "Sơn", "Phúc", "Khánh",
    "Thắng", "Cường", "Đạt", "Hiếu", "Trung", "Huy", "Bình", "Quyết", "Tùng", "Khôi", "Đức",
]  # fmt: skip
GIVEN_F = [
    "Lan", "Hương", "Hà", "Mai", "Linh", "Trang", "Thảo", "Hạnh", "Yến", "Phượng", "Huyền",
    "Nhung", "Giang", "Thủy", "Loan", "Dung", "Ngân", "Anh", "Vân", "Quỳnh", "Hằng",
]  # fmt: skip
# 3-digit province codes of the 12-digit personal ID with the province name
ID_PROVINCES = (
    [("001", "thành phố Hà Nội")] * 8
    + [
        ("030", "tỉnh Hải Dương"), ("031", "thành phố Hải Phòng"), ("033", "tỉnh Hưng Yên"),
        ("034", "tỉnh Thái Bình"), ("035", "tỉnh Hà Nam"), ("036", "tỉnh Nam Định"),
        ("037", "tỉnh Ninh Bình"), ("038", "tỉnh Thanh Hóa"), ("040", "tỉnh Nghệ An"),
        ("042", "tỉnh Hà Tĩnh"), ("025", "tỉnh Phú Thọ"), ("026", "tỉnh Vĩnh Phúc"),
        ("027", "tỉnh Bắc Ninh"), ("024", "tỉnh Bắc Giang"), ("079", "Thành phố Hồ Chí Minh"),
    ]
)  # fmt: skip
STREETS = [
    "Quán Thánh", "Phan Đình Phùng", "Hoàng Hoa Thám", "Đội Cấn", "Kim Mã", "Nguyễn Thái Học",
    "Hàng Bông", "Hàng Gai", "Lý Thường Kiệt", "Nguyễn Văn Cừ", "Ngọc Lâm", "Cầu Giấy",
    "Xuân Thủy", "Trần Duy Hưng", "Láng Hạ", "Tây Sơn", "Giải Phóng", "Minh Khai",
    "Nguyễn Trãi", "Lạc Long Quân", "Âu Cơ", "Thụy Khuê", "Đê La Thành", "Bạch Mai",
]  # fmt: skip
HOSPITALS = [
    "Bệnh viện Phụ sản Hà Nội", "Bệnh viện Phụ sản Trung ương", "Bệnh viện Bạch Mai",
    "Bệnh viện Đa khoa Xanh Pôn", "Bệnh viện Đa khoa Đức Giang", "Bệnh viện Thanh Nhàn",
]  # fmt: skip
ETHNIC = ["Kinh"] * 12 + ["Tày", "Mường", "Thái"]


@dataclass
class Person:
    name: str
    male: bool
    born: dt.date
    pid: str
    hometown: str
    ethnic: str

    @property
    def honorific(self) -> str:
        return "Ông" if self.male else "Bà"


def _person(rng: random.Random, *, male: bool | None = None, born: dt.date | None = None,
            min_year: int = 1950, max_year: int = 2001, surname: str | None = None,
            province: str | None = None) -> Person:
    if male is None:
        male = rng.random() < 0.5
    if born is None:
        born = _rand_date(rng, dt.date(min_year, 1, 1), dt.date(max_year, 12, 28))
    sur = surname or rng.choice(SURNAMES)
    mid = rng.choice(MIDDLE_M if male else MIDDLE_F)
    given = rng.choice(GIVEN_M if male else GIVEN_F)
    if mid in ("Văn", "Thị") and rng.random() < 0.3:
        second = rng.choice(["Minh", "Hoàng", "Ngọc", "Quang"] if male else ["Thu", "Ngọc", "Minh"])
        given = f"{second} {given}" if second != given else given
    prov, hometown = rng.choice(ID_PROVINCES)
    if province:
        prov = province
    century = 0 if born.year < 2000 else 2
    gender_century = century + (0 if male else 1)
    pid = f"{prov}{gender_century}{born.year % 100:02d}{rng.randrange(10**6):06d}"
    return Person(f"{sur} {mid} {given}", male, born, pid, hometown, rng.choice(ETHNIC))


def _rand_date(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randrange((hi - lo).days + 1))


def _dmy(d: dt.date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def decree30_date(place: str, d: dt.date) -> str:
    """"Ba Đình, ngày 05 tháng 3 năm 2020": leading zero for days < 10 and months 1, 2."""
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"{place}, ngày {d.day:02d} tháng {month} năm {d.year}"


def _long_date(d: dt.date) -> str:
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"ngày {d.day:02d} tháng {month} năm {d.year}"


DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


def vn_number_words(n: int) -> str:
    """Vietnamese words for 0 <= n < 10000 (as written on civil status papers)."""
    if n < 10:
        return DIGITS[n]
    if n < 20:
        u = n % 10
        return "mười" + ("" if u == 0 else " lăm" if u == 5 else f" {DIGITS[u]}")
    if n < 100:
        t, u = divmod(n, 10)
        tail = {0: "", 1: " mốt", 5: " lăm"}.get(u, f" {DIGITS[u]}")
        return f"{DIGITS[t]} mươi{tail}"
    if n < 1000:
        h, r = divmod(n, 100)
        if r == 0:
            return f"{DIGITS[h]} trăm"
        if r < 10:
            return f"{DIGITS[h]} trăm lẻ {DIGITS[r]}"
        return f"{DIGITS[h]} trăm {vn_number_words(r)}"
    th, r = divmod(n, 1000)
    head = f"{DIGITS[th]} nghìn"
    if r == 0:
        return head
    if r < 100:
        return f"{head} không trăm " + (f"lẻ {DIGITS[r]}" if r < 10 else vn_number_words(r))
    return f"{head} {vn_number_words(r)}"


def _date_words(d: dt.date) -> str:
    day = vn_number_words(d.day)
    if d.day <= 10:
        day = f"mồng {day}"
    text = f"ngày {day}, tháng {vn_number_words(d.month)}, năm {vn_number_words(d.year)}"
    return text[0].upper() + text[1:]


def _address(rng: random.Random, w: Ward) -> str:
    street = rng.choice(STREETS)
    if rng.random() < 0.5:
        house = f"Số {rng.randint(1, 120)} ngõ {rng.randint(2, 300)} phố {street}"
    else:
        house = f"Số {rng.randint(1, 250)} phố {street}"
    return f"{house}, {_locality(w)}"


def _locality(w: Ward) -> str:
    if w.district:
        dist = f"{w.district_kind.lower()} {w.district_short}"
        return f"{w.kind.lower()} {w.short}, {dist}, thành phố Hà Nội"
    return f"{w.kind.lower()} {w.short}, thành phố Hà Nội"


def _ascii(s: str) -> str:
    s = s.replace("Đ", "D").replace("đ", "d")
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


MONEY = [
    (50_000_000, "Năm mươi triệu đồng"), (100_000_000, "Một trăm triệu đồng"),
    (200_000_000, "Hai trăm triệu đồng"), (300_000_000, "Ba trăm triệu đồng"),
    (500_000_000, "Năm trăm triệu đồng"), (1_000_000_000, "Một tỷ đồng"),
    (2_000_000_000, "Hai tỷ đồng"), (5_000_000_000, "Năm tỷ đồng"),
    (10_000_000_000, "Mười tỷ đồng"),
]  # fmt: skip


def _vnd(n: int) -> str:
    return f"{n:,}".replace(",", ".") + " đồng"


# ---------------------------------------------------------------------------
# document content: blocks of runs


@dataclass
class Block:
    runs: list[tuple[str, str]]  # (text, style)
    kind: str = "para"  # para (justified, indented) | center | left | cols
    pt: float = 13.0
    indent_mm: float = 10.0
    space_before_pt: float = 0.0
    cols: list[list[tuple[str, str]]] | None = None  # for kind == "cols"


def P(text: str, style: str = "r", **kw) -> Block:
    return Block([(text, style)], **kw)


def PB(prefix: str, text: str, **kw) -> Block:
    """Paragraph with a bold lead-in ("Điều 1.")."""
    return Block([(prefix, "b"), (text, "r")], **kw)


def F(label: str, value: str, vstyle: str = "r", **kw) -> Block:
    """A certificate field line "Label: value"."""
    kw.setdefault("kind", "left")
    kw.setdefault("indent_mm", 0.0)
    return Block([(label, "r"), (value, vstyle)], **kw)


def C2(left: tuple[str, str], right: tuple[str, str], **kw) -> Block:
    """Two fields on one line (label/value pairs), the second at mid-width."""
    return Block(
        [],
        kind="cols",
        indent_mm=0.0,
        cols=[[(left[0], "r"), (left[1], "r")], [(right[0], "r"), (right[1], "r")]],
        **kw,
    )


@dataclass
class Content:
    doc_type: str
    title: str
    summary: str
    summary_style: str
    number: str
    blocks: list[Block]
    extra: list[Block]  # optional filler, inserted before `tail` to make pages longer
    tail: list[Block]
    signer_title: list[str]
    receivers: list[str] | None
    subject: dict
    procedure_code: str | None = None
    extras: dict = field(default_factory=dict)
    recipients: list[str] | None = None  # "Kính gửi:" for letters


def _legal_bases(issuer: Issuer, issued: dt.date, rng: random.Random) -> list[str]:
    bases = ["Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;"]
    if issued >= dt.date(2020, 7, 1):
        bases.append(
            "Căn cứ Luật sửa đổi, bổ sung một số điều của Luật Tổ chức Chính phủ và "
            "Luật Tổ chức chính quyền địa phương ngày 22 tháng 11 năm 2019;"
        )
    if issued >= DISTRICTS_ABOLISHED:
        bases = ["Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm 2025;"]
    return bases


def _topic_quyet_dinh(rng: random.Random, p: Person, issued: dt.date, w: Ward):
    """(summary, article 1 text, proposer)"""
    hon = p.honorific.lower()
    who = (
        f"{hon} {p.name}, sinh ngày {_dmy(p.born)}, Số định danh cá nhân: {p.pid}, "
        f"nơi cư trú: {_address(rng, w)}"
    )
    amount = rng.choice([360_000, 540_000, 720_000, 1_080_000, 1_500_000])
    topics = [
        (
            f"Về việc hưởng trợ cấp xã hội hàng tháng đối với {hon} {p.name}",
            f"Trợ cấp xã hội hàng tháng đối với {who}. Mức trợ cấp: {_vnd(amount)}/tháng, "
            f"thời điểm hưởng từ tháng {issued.month} năm {issued.year}.",
            "Công chức Văn hóa - Xã hội",
        ),
        (
            f"Về việc hỗ trợ kinh phí sửa chữa nhà ở cho hộ gia đình {hon} {p.name}",
            f"Hỗ trợ kinh phí sửa chữa nhà ở cho hộ gia đình {who}. Số tiền hỗ trợ: "
            f"{_vnd(amount * 20)}.",
            "Công chức Tài chính - Kế toán",
        ),
        (
            f"Về việc công nhận kết quả hòa giải thành đối với {hon} {p.name}",
            f"Công nhận kết quả hòa giải thành tại cơ sở giữa các bên, trong đó có {who}.",
            "Công chức Tư pháp - Hộ tịch",
        ),
        (
            f"Về việc cho phép {hon} {p.name} được thay đổi, cải chính hộ tịch",
            f"Cho phép thay đổi, cải chính hộ tịch đối với {who}. Nội dung thay đổi: "
            f"ghi lại quê quán là {p.hometown}.",
            "Công chức Tư pháp - Hộ tịch",
        ),
        (
            f"Về việc thu hồi Giấy chứng nhận đăng ký hộ kinh doanh của {hon} {p.name}",
            f"Thu hồi Giấy chứng nhận đăng ký hộ kinh doanh đã cấp cho {who}, do hộ kinh "
            "doanh ngừng hoạt động kinh doanh quá 06 tháng liên tục.",
            "Phòng Tài chính - Kế hoạch",
        ),
    ]
    return rng.choice(topics)


FILLER = [
    "Trong quá trình thực hiện, nếu có vướng mắc phát sinh, các cơ quan, đơn vị và cá nhân "
    "có liên quan kịp thời báo cáo bằng văn bản để xem xét, giải quyết theo quy định.",
    "Hồ sơ, tài liệu có liên quan được lưu trữ tại bộ phận Tiếp nhận và Trả kết quả theo "
    "quy định về lưu trữ hồ sơ thủ tục hành chính.",
    "Việc tiếp nhận, giải quyết hồ sơ bảo đảm đúng trình tự, thủ tục, thời hạn theo quy "
    "định; công khai, minh bạch và thuận lợi cho tổ chức, cá nhân.",
    "Kết quả giải quyết thủ tục hành chính được số hóa, lưu trữ trong Kho quản lý dữ liệu "
    "điện tử của tổ chức, cá nhân trên Cổng Dịch vụ công quốc gia.",
    "Cá nhân, tổ chức có trách nhiệm cung cấp thông tin trung thực, chính xác và chịu "
    "trách nhiệm trước pháp luật về tính hợp pháp của các giấy tờ đã nộp.",
    "Các nội dung khác không đề cập tại văn bản này được thực hiện theo quy định của pháp "
    "luật hiện hành và hướng dẫn của cơ quan có thẩm quyền.",
    "Giao bộ phận chuyên môn theo dõi, kiểm tra, đôn đốc việc thực hiện và tổng hợp báo "
    "cáo kết quả định kỳ hằng quý, sáu tháng và hằng năm.",
    "Kinh phí thực hiện được bố trí từ nguồn ngân sách địa phương theo phân cấp hiện hành "
    "và các nguồn kinh phí hợp pháp khác.",
    "Công chức được giao nhiệm vụ có trách nhiệm hướng dẫn công dân hoàn thiện hồ sơ, "
    "không yêu cầu nộp thêm giấy tờ ngoài quy định.",
    "Thông tin cá nhân của công dân được bảo vệ theo quy định của pháp luật về bảo vệ dữ "
    "liệu cá nhân; nghiêm cấm việc sử dụng sai mục đích.",
    "Trường hợp phát hiện thông tin kê khai không đúng sự thật, cơ quan có thẩm quyền sẽ "
    "thu hồi, hủy bỏ kết quả đã cấp và xử lý theo quy định.",
    "Định kỳ hằng tháng, bộ phận một cửa tổng hợp tình hình tiếp nhận, giải quyết hồ sơ "
    "và báo cáo lãnh đạo để chỉ đạo kịp thời.",
    "Văn bản này được đăng tải trên Trang thông tin điện tử và niêm yết công khai tại trụ "
    "sở cơ quan trong thời hạn theo quy định.",
    "Các đơn vị liên quan phối hợp chặt chẽ, chia sẻ dữ liệu qua hệ thống thông tin giải "
    "quyết thủ tục hành chính, tránh yêu cầu công dân cung cấp lại thông tin.",
    "Mọi phản ánh, kiến nghị về việc thực hiện văn bản này được gửi về bộ phận Tiếp nhận "
    "và Trả kết quả hoặc qua Cổng Dịch vụ công của thành phố.",
    "Việc số hóa hồ sơ, kết quả giải quyết thủ tục hành chính được thực hiện đồng thời "
    "với quá trình tiếp nhận và trả kết quả, bảo đảm giá trị pháp lý của bản sao điện tử.",
]


def _fillers(rng: random.Random) -> list[Block]:
    order = list(range(len(FILLER)))
    rng.shuffle(order)
    return [P(FILLER[i], space_before_pt=3) for i in order]


def _signer(issuer: Issuer, rng: random.Random, *, collective_ok: bool = True) -> list[str]:
    deputy = rng.random() < 0.55
    lines = []
    if issuer.collective and collective_ok and rng.random() < 0.7:
        lines.append(f"TM. {issuer.collective}")
    if deputy:
        lines += [f"KT. {issuer.head}", issuer.deputy]
    else:
        lines.append(issuer.head)
    return lines


def _number(rng: random.Random, issued: dt.date, hi: int) -> int:
    doy = issued.timetuple().tm_yday
    return max(1, int(hi * doy / 366) + rng.randint(-15, 15))


def _build_content(doc_type: str, issuer: Issuer, issued: dt.date, rng: random.Random) -> Content:
    w = issuer.ward
    hi = {"city": 4000, "district": 2500, "commune": 400}[issuer.level]
    n = _number(rng, issued, hi)
    p = _person(rng)
    subj = {"subject_name": p.name, "subject_id": p.pid}
    fillers = _fillers(rng)

    if doc_type == "quyet_dinh":
        summary, art1, proposer = _topic_quyet_dinh(rng, p, issued, w)
        ref_date = issued - dt.timedelta(days=rng.randint(2, 20))
        bases = [P(b, "i") for b in _legal_bases(issuer, issued, rng)]
        bases.append(
            P(
                f"Xét đề nghị của {proposer} tại Tờ trình số {rng.randint(3, 250)}/TTr "
                f"{_long_date(ref_date)},",
                "i",
            )
        )
        arts = [
            Block([(issuer.head + " " + issuer.authority, "b")], kind="center", pt=13.5,
                  space_before_pt=6),
            *bases,
            Block([("QUYẾT ĐỊNH:", "b")], kind="center", pt=13.5, space_before_pt=4),
            PB("Điều 1.", art1, space_before_pt=3),
        ]
        tail = [
            PB("Điều 2.", "Quyết định có hiệu lực kể từ ngày ký.", space_before_pt=3),
            PB(
                "Điều 3.",
                f"Văn phòng, bộ phận chuyên môn có liên quan và {p.honorific.lower()} "
                f"{p.name} chịu trách nhiệm thi hành Quyết định này./.",
                space_before_pt=3,
            )
        ]
        return Content(
            doc_type, "QUYẾT ĐỊNH", summary, "b", f"{n}/QĐ-{issuer.code}", arts, fillers,
            tail, _signer(issuer, rng, collective_ok=False) if rng.random() < 0.5
            else _signer(issuer, rng), ["- Như Điều 3;", "- Lưu: VT."], subj,
        )

    if doc_type == "giay_phep_xay_dung":
        floors = rng.randint(2, 6)
        area = round(rng.uniform(38, 120), 1)
        plot, sheet = rng.randint(10, 400), rng.randint(1, 60)
        designer = "Công ty TNHH Tư vấn thiết kế " + rng.choice(
            ["An Phát", "Hoàng Long", "Minh Anh", "Sao Mai"])
        cert = f"{rng.choice(['CS', 'CT', 'BX'])} {rng.randint(100000, 999999)}"
        cert_date = _rand_date(rng, dt.date(2005, 1, 1), issued - dt.timedelta(days=60))
        blocks = [
            F("1. Cấp cho:", f"{p.honorific} {p.name}", "b", space_before_pt=4),
            F("Số định danh cá nhân:", p.pid, indent_mm=5),
            F("Địa chỉ:", _address(rng, w), indent_mm=5),
            F("2. Được phép xây dựng công trình:", "Nhà ở riêng lẻ", "b", space_before_pt=3),
            F("- Theo thiết kế:", f"do {designer} lập", indent_mm=5),
            F("- Vị trí xây dựng:", f"Thửa đất số {plot}, tờ bản đồ số {sheet}, {_locality(w)}",
              indent_mm=5),
            F("- Cốt nền xây dựng công trình:", f"+0,{rng.randint(15, 60)} m", indent_mm=5),
            F("- Mật độ xây dựng:", f"{rng.choice([70, 75, 80, 85, 90])}%", indent_mm=5),
            F("- Diện tích xây dựng tầng 1:", f"{area:.1f} m²".replace(".", ","), indent_mm=5),
            F("- Tổng diện tích sàn:", f"{area * floors:.1f} m²".replace(".", ","), indent_mm=5),
            F("- Chiều cao công trình:", f"{3.6 * floors + 1.2:.1f} m; số tầng: {floors} tầng"
              .replace(".", ","), indent_mm=5),
            F("3. Giấy tờ về quyền sử dụng đất:",
              f"Giấy chứng nhận quyền sử dụng đất số {cert} cấp ngày {_dmy(cert_date)}",
              space_before_pt=3),
        ]
        tail = [
            P("4. Giấy phép này có hiệu lực khởi công xây dựng trong thời hạn 12 tháng kể "
              "từ ngày cấp; quá thời hạn trên thì phải đề nghị gia hạn giấy phép xây dựng.",
              indent_mm=0, space_before_pt=3),
        ]
        return Content(
            doc_type, "GIẤY PHÉP XÂY DỰNG", "(Sử dụng cho nhà ở riêng lẻ)", "i",
            f"{n}/GPXD", blocks, fillers, tail,
            _signer(issuer, rng), ["- Như trên;", "- Lưu: VT, QLĐT."], subj,
            extras={"parcel": f"{plot}/{sheet}", "floors": floors},
        )

    if doc_type == "dang_ky_ho_kinh_doanh":
        brand = rng.choice(["MINH ANH", "HOÀNG LONG", "AN PHÁT", "THÀNH ĐẠT", "PHÚ GIA",
                            "BẢO NGỌC", "SAO MAI", "HƯNG THỊNH", "THU HÀ"])
        kind, trade = rng.choice([
            ("PHỞ", "Nhà hàng và các dịch vụ ăn uống phục vụ lưu động"),
            ("CỬA HÀNG THỜI TRANG", "Bán lẻ hàng may mặc, giày dép, hàng da và giả da trong "
             "các cửa hàng chuyên doanh"),
            ("TIỆM TÓC", "Dịch vụ cắt tóc, làm đầu, gội đầu"),
            ("TẠP HÓA", "Bán lẻ lương thực, thực phẩm, đồ uống, thuốc lá, thuốc lào chiếm tỷ "
             "trọng lớn trong các cửa hàng kinh doanh tổng hợp"),
            ("CÀ PHÊ", "Dịch vụ phục vụ đồ uống"),
            ("SỬA XE", "Bảo dưỡng, sửa chữa mô tô, xe máy"),
        ])
        hkd_name = f"HỘ KINH DOANH {kind} {brand}"
        code = f"01{rng.choice('ABCDE')}8{rng.randrange(10**6):06d}"
        capital, words = rng.choice(MONEY[:5])
        first = issued - dt.timedelta(days=rng.choice([0, 0, 0, rng.randint(200, 1500)]))
        blocks = [
            F("Mã số hộ kinh doanh:", code, "b", kind="center", space_before_pt=4),
            F("1. Tên hộ kinh doanh:", hkd_name, "b", space_before_pt=4),
            F("2. Địa điểm kinh doanh:", _address(rng, w)),
            F("Điện thoại:", f"09{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
              indent_mm=5),
            F("3. Ngành, nghề kinh doanh:", trade),
            F("4. Vốn kinh doanh:", f"{_vnd(capital)} ({words})"),
            F("5. Chủ thể thành lập hộ kinh doanh:", "Cá nhân"),
            F("6. Thông tin về chủ hộ kinh doanh:", "", space_before_pt=2),
            C2(("Họ, chữ đệm và tên:", p.name.upper()), ("Giới tính:", "Nam" if p.male else "Nữ")),
            C2(("Sinh ngày:", _dmy(p.born)), ("Dân tộc:", p.ethnic)),
            F("Số định danh cá nhân:", p.pid),
            F("Địa chỉ thường trú:", _address(rng, w)),
        ]
        return Content(
            doc_type, "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH",
            f"Đăng ký lần đầu: {_long_date(first)}", "i", f"{n}/ĐKHKD", blocks, [], [],
            _signer(issuer, rng, collective_ok=False), None, subj, procedure_code="1.001612",
            extras={"business_name": hkd_name, "business_code": code},
        )

    if doc_type == "trich_luc_khai_sinh":
        child_born = issued - dt.timedelta(days=rng.randint(5, 60))
        father = _person(rng, male=True, min_year=1975, max_year=1998)
        mother = _person(rng, male=False, min_year=1978, max_year=2000)
        child = _person(rng, born=child_born, surname=father.name.split()[0], province="001")
        subj = {"subject_name": child.name, "subject_id": child.pid}
        blocks = [
            F("Họ, chữ đệm, tên:", child.name.upper(), "b", space_before_pt=4),
            F("Ngày, tháng, năm sinh:", _dmy(child.born)),
            F("Ghi bằng chữ:", _date_words(child.born)),
            C2(("Giới tính:", "Nam" if child.male else "Nữ"), ("Dân tộc:", father.ethnic)),
            F("Quốc tịch:", "Việt Nam"),
            F("Nơi sinh:", f"{rng.choice(HOSPITALS)}, thành phố Hà Nội"),
            F("Quê quán:", father.hometown),
            F("Số định danh cá nhân:", child.pid),
            F("Họ, chữ đệm, tên người mẹ:", mother.name.upper(), "b", space_before_pt=4),
            C2(("Năm sinh:", str(mother.born.year)), ("Dân tộc:", mother.ethnic)),
            F("Nơi cư trú:", _address(rng, w)),
            F("Họ, chữ đệm, tên người cha:", father.name.upper(), "b", space_before_pt=4),
            C2(("Năm sinh:", str(father.born.year)), ("Dân tộc:", father.ethnic)),
            F("Nơi đăng ký khai sinh:", f"Ủy ban nhân dân {_locality(w)}", space_before_pt=4),
            F("Ngày, tháng, năm đăng ký:", _dmy(issued)),
        ]
        return Content(
            doc_type, "TRÍCH LỤC KHAI SINH", rng.choice(["(Bản chính)", "(Bản sao)"]), "i",
            f"{n}/TLKS", blocks, [], [], _signer(issuer, rng), None, subj,
            procedure_code="1.001193",
            extras={"mother_name": mother.name, "father_name": father.name,
                    "birth_date": child.born.isoformat()},
        )

    if doc_type == "dang_ky_ket_hon":
        husband = _person(rng, male=True, min_year=1975, max_year=2001)
        wife = _person(rng, male=False, min_year=1978, max_year=2002)
        subj = {"subject_name": husband.name, "subject_id": husband.pid}
        blocks = []
        for label, q in (("chồng", husband), ("vợ", wife)):
            blocks += [
                F(f"Họ, chữ đệm, tên {label}:", q.name.upper(), "b", space_before_pt=5),
                F("Ngày, tháng, năm sinh:", _dmy(q.born)),
                C2(("Dân tộc:", q.ethnic), ("Quốc tịch:", "Việt Nam")),
                F("Nơi cư trú:", _address(rng, w)),
                F("Giấy tờ tùy thân:", f"Số định danh cá nhân {q.pid}"),
            ]
        blocks += [
            F("Nơi đăng ký kết hôn:", f"Ủy ban nhân dân {_locality(w)}", space_before_pt=5),
            F("Ngày, tháng, năm đăng ký:", _dmy(issued)),
        ]
        book = f"Quyển số: {rng.randint(1, 3):02d}/{issued.year}"
        return Content(
            doc_type, "GIẤY CHỨNG NHẬN KẾT HÔN", book, "i", f"{n}/ĐKKH", blocks, [], [],
            _signer(issuer, rng), None, subj, procedure_code="1.000894",
            extras={"subject2_name": wife.name, "subject2_id": wife.pid},
        )

    if doc_type == "xac_nhan_tinh_trang_hon_nhan":
        since = _rand_date(rng, max(p.born + dt.timedelta(days=18 * 366), dt.date(2000, 1, 1)),
                           issued - dt.timedelta(days=400))
        purpose = rng.choice([
            "làm thủ tục đăng ký kết hôn", "bổ sung hồ sơ vay vốn ngân hàng",
            "làm thủ tục mua bán nhà đất", "bổ sung hồ sơ xin việc làm",
        ])
        status = rng.choice([
            "Hiện tại chưa đăng ký kết hôn với ai.",
            "Đã đăng ký kết hôn, nhưng đã ly hôn theo bản án có hiệu lực pháp luật và "
            "hiện tại chưa đăng ký kết hôn với ai.",
        ])
        blocks = [
            Block([(issuer.authority, "b")], kind="center", space_before_pt=4),
            P(f"Xét đề nghị của {p.honorific.lower()} {p.name} về việc cấp Giấy xác nhận tình "
              "trạng hôn nhân,", space_before_pt=3),
            Block([("XÁC NHẬN:", "b")], kind="center", space_before_pt=3),
            F("Họ, chữ đệm, tên:", p.name.upper(), "b", space_before_pt=3),
            C2(("Ngày, tháng, năm sinh:", _dmy(p.born)), ("Giới tính:", "Nam" if p.male else "Nữ")),
            C2(("Dân tộc:", p.ethnic), ("Quốc tịch:", "Việt Nam")),
            F("Giấy tờ tùy thân:", f"Số định danh cá nhân {p.pid}"),
            F("Nơi cư trú:", _address(rng, w)),
            F("Trong thời gian cư trú tại:", f"{_locality(w)}, từ ngày {_dmy(since)} đến ngày "
              f"{_dmy(issued)}"),
            F("Tình trạng hôn nhân:", status),
            F("Giấy này được cấp để:", purpose + "."),
        ]
        tail = [P("Giấy này có giá trị sử dụng trong thời hạn 06 tháng, kể từ ngày cấp.", "i",
                  space_before_pt=3)]
        return Content(
            doc_type, "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "", "i", f"{n}/XNTTHN", blocks,
            fillers, tail, _signer(issuer, rng), None, subj,
        )

    if doc_type == "dang_ky_doanh_nghiep":
        brand = rng.choice(["MINH ANH", "HOÀNG LONG", "AN PHÁT", "THÀNH ĐẠT", "VIỆT TIẾN",
                            "HƯNG THỊNH", "PHÚ GIA", "BẢO NGỌC", "SAO MAI", "ĐÔNG Á"])
        line_vi, line_en = rng.choice([
            ("THƯƠNG MẠI VÀ DỊCH VỤ", "TRADING AND SERVICES"),
            ("ĐẦU TƯ XÂY DỰNG", "CONSTRUCTION INVESTMENT"),
            ("CÔNG NGHỆ", "TECHNOLOGY"),
            ("TƯ VẤN VÀ THIẾT KẾ", "CONSULTING AND DESIGN"),
            ("SẢN XUẤT VÀ THƯƠNG MẠI", "PRODUCTION AND TRADING"),
            ("VẬN TẢI", "TRANSPORT"),
        ])
        form, form_long, form_en = rng.choice([
            ("CÔNG TY TNHH", "CÔNG TY TRÁCH NHIỆM HỮU HẠN MỘT THÀNH VIÊN", "COMPANY LIMITED"),
            ("CÔNG TY TNHH", "CÔNG TY TRÁCH NHIỆM HỮU HẠN HAI THÀNH VIÊN TRỞ LÊN",
             "COMPANY LIMITED"),
            ("CÔNG TY CỔ PHẦN", "CÔNG TY CỔ PHẦN", "JOINT STOCK COMPANY"),
        ])
        company = f"{form} {line_vi} {brand}"
        code = f"010{rng.randint(5, 9)}{rng.randrange(10**6):06d}"
        capital, words = rng.choice(MONEY[3:])
        first = issued - dt.timedelta(days=rng.choice([0, 0, rng.randint(100, 2000)]))
        subj = {"subject_name": company, "subject_id": code}
        blocks = [
            F("Mã số doanh nghiệp:", code, "b", kind="center", space_before_pt=4),
            F("Đăng ký lần đầu:", _long_date(first), kind="center"),
            F("1. Tên công ty", "", "b", space_before_pt=4),
            F("Tên công ty viết bằng tiếng Việt:", company, "b"),
            F("Tên công ty viết bằng tiếng nước ngoài:", f"{_ascii(brand)} {line_en} {form_en}"),
            F("2. Địa chỉ trụ sở chính", "", space_before_pt=3),
            F("", _address(rng, w)),
            F("Điện thoại:", f"024 {rng.randint(3000, 3999)} {rng.randint(1000, 9999)}"),
            F("3. Vốn điều lệ:", _vnd(capital), space_before_pt=3),
            F("Bằng chữ:", words),
            F("4. Người đại diện theo pháp luật của công ty", "", space_before_pt=3),
            C2(("Họ và tên:", p.name.upper()), ("Giới tính:", "Nam" if p.male else "Nữ")),
            C2(("Chức danh:", rng.choice(["Giám đốc", "Tổng giám đốc", "Chủ tịch"])),
               ("Sinh ngày:", _dmy(p.born))),
            C2(("Dân tộc:", p.ethnic), ("Quốc tịch:", "Việt Nam")),
            F("Số định danh cá nhân:", p.pid),
            F("Địa chỉ liên lạc:", _address(rng, w)),
        ]
        return Content(
            doc_type, "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP", form_long, "b", f"{n}/ĐKDN",
            blocks, [], [], _signer(issuer, rng, collective_ok=False), None, subj,
            extras={"representative_name": p.name, "representative_id": p.pid},
        )

    if doc_type == "cong_van":
        unit = {"STP": "HCTP", "SXD": "QLXD", "KHĐT": "ĐKKD", "STC": "ĐKKD"}.get(
            issuer.code, rng.choice(["VX", "KT", "TP", "ĐT", "VP"])
        )
        topic = rng.choice([
            "trả lời đơn đề nghị của công dân",
            "cung cấp thông tin hộ tịch",
            "xác minh thông tin về nơi cư trú",
            "giải quyết kiến nghị về trật tự xây dựng",
        ])
        ref = issued - dt.timedelta(days=rng.randint(5, 30))
        auth = _sentence_case_authority(issuer)
        blocks = [
            P(f"{auth} nhận được đơn đề nghị {_long_date(ref)} của {p.honorific.lower()} "
              f"{p.name} (Số định danh cá nhân: {p.pid}), nơi cư trú: {_address(rng, w)} "
              f"về việc {topic}.", space_before_pt=6),
            P(f"Sau khi xem xét, {auth} có ý kiến như sau:", space_before_pt=3),
            P("1. Nội dung đề nghị của công dân thuộc thẩm quyền giải quyết và đã được "
              "bộ phận chuyên môn kiểm tra, đối chiếu với hồ sơ lưu trữ.", space_before_pt=3),
            P("2. Đề nghị công dân liên hệ Bộ phận Tiếp nhận và Trả kết quả để được hướng "
              "dẫn hoàn thiện hồ sơ theo quy định.", space_before_pt=3),
        ]
        tail = [P(f"{auth} trả lời để {p.honorific.lower()} {p.name} được biết và thực hiện./.",
                  space_before_pt=3)]
        return Content(
            doc_type, "", f"V/v {topic}", "r", f"{n}/{issuer.code}-{unit}", blocks,
            fillers, tail, _signer(issuer, rng),
            ["- Như trên;", "- Lưu: VT."], subj,
            recipients=[f"{p.honorific} {p.name}"],
        )

    # khac: notices and minutes
    if rng.random() < 0.6:
        title, abbr = "THÔNG BÁO", "TB"
        summary = f"Kết quả giải quyết hồ sơ của {p.honorific.lower()} {p.name}"
        body = [
            P(f"Căn cứ hồ sơ đề nghị của {p.honorific.lower()} {p.name}, Số định danh cá nhân: "
              f"{p.pid}, nơi cư trú: {_address(rng, w)};", space_before_pt=6),
            P(f"{_sentence_case_authority(issuer)} thông báo kết quả giải quyết như sau: hồ sơ "
              "đã được tiếp nhận, thẩm định và đủ điều kiện giải quyết theo quy định.",
              space_before_pt=3),
        ]
    else:
        title, abbr = "BIÊN BẢN", "BB"
        summary = "Kiểm tra, xác minh hiện trạng nhà ở"
        body = [
            P(f"Hôm nay, {_long_date(issued)}, tại {_address(rng, w)}, đoàn kiểm tra đã tiến "
              f"hành kiểm tra, xác minh hiện trạng nhà ở của {p.honorific.lower()} {p.name}, "
              f"Số định danh cá nhân: {p.pid}.", space_before_pt=6),
            P("Kết quả kiểm tra: hiện trạng nhà ở phù hợp với hồ sơ đề nghị; không có tranh "
              "chấp, khiếu nại.", space_before_pt=3),
        ]
    tail = [P("Biên bản (thông báo) được lập thành 02 bản có giá trị như nhau./.",
              space_before_pt=3)] if abbr == "BB" else [
        P("Vậy thông báo để công dân được biết và thực hiện./.", space_before_pt=3)]
    return Content(
        "khac", title, summary, "b", f"{n}/{abbr}-{issuer.code}", body, fillers, tail,
        _signer(issuer, rng), ["- Như trên;", "- Lưu: VT."], subj,
    )


def _sentence_case_authority(issuer: Issuer) -> str:
    """"Ủy ban nhân dân phường Trúc Bạch" from the printed authority name."""
    if issuer.collective:
        unit = issuer.unit_name
        return f"Ủy ban nhân dân {unit[0].lower()}{unit[1:]}"
    return issuer.name


# ---------------------------------------------------------------------------
# layout


@dataclass
class Seg:
    x: int
    text: str
    style: str


@dataclass
class Line:
    y: int  # top
    pt: float
    segs: list[Seg]
    text: str
    block: str

    def bbox(self, fonts: Fonts) -> list[int]:
        last = self.segs[-1]
        x1 = last.x + int(fonts.get(last.style, self.pt).getlength(last.text))
        return [self.segs[0].x, self.y, x1, self.y + fonts.px(self.pt)]


@dataclass
class PageLayout:
    lines: list[Line] = field(default_factory=list)
    rules: list[tuple[int, int, int, int]] = field(default_factory=list)  # x0, y, x1, width
    seal: tuple[int, int, int] | None = None  # cx, cy, diameter
    signature: tuple[int, int, int, int] | None = None  # box


class Layouter:
    def __init__(self, fonts: Fonts, line_spacing: float):
        self.f = fonts
        self.ls = line_spacing
        d = fonts.dpi
        self.W = round(A4_MM[0] * d / 25.4)
        self.H = round(A4_MM[1] * d / 25.4)
        self.left = self.mm(MARGIN_MM["left"])
        self.right = self.W - self.mm(MARGIN_MM["right"])
        self.top = self.mm(MARGIN_MM["top"])
        self.bottom = self.H - self.mm(MARGIN_MM["bottom"])

    def mm(self, v: float) -> int:
        return round(v * self.f.dpi / 25.4)

    def width(self, text: str, style: str, pt: float) -> float:
        return self.f.get(style, pt).getlength(text)

    def fit_pt(self, text: str, style: str, pt: float, width: int, min_pt: float = 10.5) -> float:
        while pt > min_pt and self.width(text, style, pt) > width:
            pt -= 0.5
        return pt

    def centred(self, text: str, style: str, pt: float, cx: int, y: int, block: str) -> Line:
        w = self.width(text, style, pt)
        return Line(y, pt, [Seg(round(cx - w / 2), text, style)], text, block)

    def wrap(self, runs: list[tuple[str, str]], pt: float, width: int, indent: int):
        words = [(w, s) for text, s in runs for w in text.split()]
        space = self.width(" ", "r", pt)
        lines, cur, cur_w = [], [], 0.0
        avail = width - indent
        for word, s in words:
            ww = self.width(word, s, pt)
            add = ww if not cur else space + ww
            if cur and cur_w + add > avail:
                lines.append(cur)
                cur, cur_w, avail = [(word, s, ww)], ww, width
            else:
                cur.append((word, s, ww))
                cur_w += add
        if cur:
            lines.append(cur)
        return lines, space

    def block_lines(self, b: Block, x0: int, x1: int, y: int, name: str) -> tuple[list[Line], int]:
        """Lay a block out from y; returns lines and the y after it."""
        pt = b.pt
        lh = round(self.f.px(pt) * self.ls)
        y += round(b.space_before_pt * self.f.dpi / 72)
        out = []
        if b.kind == "cols":
            mid = x0 + (x1 - x0) * 55 // 100
            segs, texts = [], []
            x = x0
            for cx, col in zip((x0, mid), b.cols, strict=True):
                x = max(cx, x + (self.width("  ", "r", pt) if segs else 0))
                for text, s in col:
                    segs.append(Seg(round(x), text, s))
                    x += self.width(text + " ", s, pt)
                texts.append(" ".join(t for t, _ in col))
            return [Line(y, pt, segs, " ".join(texts), name)], y + lh
        width = x1 - x0
        indent = self.mm(b.indent_mm) if b.kind in ("para", "left") else 0
        wrapped, space = self.wrap(b.runs, pt, width, indent)
        for i, words in enumerate(wrapped):
            text = " ".join(w for w, _, _ in words)
            if b.kind == "center":
                total = sum(ww for _, _, ww in words) + space * (len(words) - 1)
                x = (x0 + x1) / 2 - total / 2
                gap = space
            else:
                x = x0 + (indent if i == 0 else (indent if b.kind == "left" and indent else 0))
                gap = space
                last = i == len(wrapped) - 1
                if b.kind == "para" and not last and len(words) > 1:
                    total = sum(ww for _, _, ww in words)
                    gap = (x1 - x - total) / (len(words) - 1)
            segs = []
            for w, s, ww in words:
                segs.append(Seg(round(x), w, s))
                x += ww + gap
            out.append(Line(y, pt, _merge_segs(segs, self, pt, b.kind != "para"), text, name))
            y += lh
        return out, y


def _merge_segs(segs: list[Seg], lay: Layouter, pt: float, merge: bool) -> list[Seg]:
    """Merge same-style consecutive words of unjustified lines into one draw call."""
    if not merge:
        return segs
    out: list[Seg] = []
    for s in segs:
        if out and out[-1].style == s.style:
            out[-1] = Seg(out[-1].x, out[-1].text + " " + s.text, s.style)
        else:
            out.append(s)
    return out


def _layout(content: Content, issuer: Issuer, issued: dt.date, lay: Layouter,
            body: list[Block], hard: tuple[str, ...] = ()) -> list[PageLayout]:
    pages = [PageLayout()]
    pg = pages[0]
    px = lay.f.px
    # --- header, two columns
    lcx = lay.left + lay.mm(35)
    lw = lay.mm(70)
    rcx = lay.mm(150)
    rw = lay.mm(88)
    hpt = 12.5
    y = lay.top
    ly = y
    for text, style in issuer.header:
        pt = lay.fit_pt(text, style, hpt, lw)
        pg.lines.append(lay.centred(text, style, pt, lcx, ly, "issuer"))
        ly += round(px(hpt) * 1.2)
    last = issuer.header[-1]
    rule_w = lay.width(last[0], last[1], hpt) / 3
    pg.rules.append((round(lcx - rule_w / 2), ly + lay.mm(1.2), round(lcx + rule_w / 2),
                     max(1, lay.mm(0.25))))
    ry = y
    motto = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    mpt = lay.fit_pt(motto, "b", hpt, rw)
    pg.lines.append(lay.centred(motto, "b", mpt, rcx, ry, "motto"))
    ry += round(px(hpt) * 1.2)
    slogan = "Độc lập - Tự do - Hạnh phúc"
    pg.lines.append(lay.centred(slogan, "b", 13, rcx, ry, "motto"))
    sw = lay.width(slogan, "b", 13)
    ry += round(px(13) * 1.2)
    pg.rules.append((round(rcx - sw / 2), ry + lay.mm(1.2), round(rcx + sw / 2),
                     max(1, lay.mm(0.25))))
    y = max(ly, ry) + lay.mm(4)
    place_date = decree30_date(issuer.place, issued)
    dpt = lay.fit_pt(place_date, "i", 13, rw)
    number_line = lay.centred(f"Số: {content.number}", "r", 13, lcx, y, "number")
    date_line = lay.centred(place_date, "i", dpt, rcx, y, "date")
    if "handwritten" in hard:
        number_line, date_line = _handwritten(number_line, lay), _handwritten(date_line, lay)
    if "last_page" not in hard:
        pg.lines += [number_line, date_line]
    y += round(px(13) * 1.3)
    if content.doc_type == "cong_van":
        lines, y2 = lay.block_lines(Block([(content.summary, "r")], kind="center", pt=12),
                                    lcx - lw // 2, lcx + lw // 2, y, "summary")
        pg.lines += lines
        y = y2 + lay.mm(6)
        rec = content.recipients or []
        label = "Kính gửi:"
        lx = lay.left + lay.mm(30)
        pg.lines.append(Line(y, 14, [Seg(lx, label, "r"), Seg(
            round(lx + lay.width(label + " ", "r", 14)), rec[0], "r")], f"{label} {rec[0]}",
            "recipients"))
        y += round(px(14) * 1.3)
    else:
        y += lay.mm(6)
        tpt = 14 if lay.width(content.title, "b", 14) < lay.right - lay.left else 13
        pg.lines.append(lay.centred(content.title, "b", tpt, (lay.left + lay.right) // 2, y,
                                    "title"))
        y += round(px(tpt) * 1.3)
        if content.summary:
            lines, y = lay.block_lines(
                Block([(content.summary, content.summary_style)], kind="center", pt=14),
                lay.left + lay.mm(10), lay.right - lay.mm(10), y, "summary")
            pg.lines += lines
            if content.doc_type in ("quyet_dinh", "khac"):
                rw2 = lay.mm(30)
                cx = (lay.left + lay.right) // 2
                pg.rules.append((cx - rw2 // 2, y + lay.mm(0.5), cx + rw2 // 2,
                                 max(1, lay.mm(0.25))))
                y += lay.mm(2)
    # --- body, flowing over pages (a block breaks across pages line by line)
    for b in body:
        lines, y_end = lay.block_lines(b, lay.left, lay.right, y, "body")
        if y_end <= lay.bottom:
            pg.lines += lines
            y = y_end
            continue
        yy = lines[0].y
        for ln in lines:
            lh = round(px(ln.pt) * lay.ls)
            if yy + lh > lay.bottom:
                pg, yy = _new_page(pages, lay)
            ln.y = yy
            pg.lines.append(ln)
            yy += lh
        y = yy
    # --- signature block (kept together)
    spt = 13.5
    seal_mm = 38 if issuer.level == "city" else 35
    sig_h = round(px(spt) * 1.2) * len(content.signer_title) + lay.mm(seal_mm + 2) + px(spt)
    y += lay.mm(5)
    if y + sig_h > lay.bottom:
        pg, y = _new_page(pages, lay)
    sy = y
    for t in content.signer_title:
        pg.lines.append(lay.centred(t, "b", spt, rcx, sy, "signer"))
        sy += round(px(spt) * 1.2)
    sign_top = sy
    sy += lay.mm(seal_mm)
    pg.lines.append(lay.centred(content.extras.get("_signer_name", ""), "b", spt, rcx, sy,
                                "signer_name"))
    pg.signature = (rcx - lay.mm(22), sign_top + lay.mm(3), rcx + lay.mm(22), sy - lay.mm(2))
    d = lay.mm(seal_mm)
    pg.seal = (rcx - lay.mm(18), sign_top + d // 2 - lay.mm(1), d)
    if content.receivers:
        ry = y
        lx = lay.left
        pg.lines.append(Line(ry, 12, [Seg(lx, "Nơi nhận:", "bi")], "Nơi nhận:", "receivers"))
        ry += round(px(12) * 1.25)
        for r in content.receivers:
            pg.lines.append(Line(ry, 11, [Seg(lx, r, "r")], r, "receivers"))
            ry += round(px(11) * 1.2)
    if "last_page" in hard:  # "Số: …" and the date close the last page, under the signer
        ly2 = max(sy + round(px(spt) * 2.5), ry if content.receivers else 0)
        if ly2 + round(px(13) * 1.3) > lay.H - lay.mm(8):
            pg, ly2 = _new_page(pages, lay)
        for line in (number_line, date_line):
            line.segs = [Seg(sg.x, sg.text, sg.style) for sg in line.segs]
            line.y = ly2
            pg.lines.append(line)
    return pages


def _handwritten(line: Line, lay: Layouter) -> Line:
    """The printed template line with its digits before "/" (a serial) or after "ngày" (a day)
    written by hand: the printed parts keep their places, a blank is left for the pen."""
    text = line.text
    import re as _re

    m = _re.search(r"(?<=Số: )[0-9]+(?=/)", text) or _re.search(r"(?<=ngày )[0-9]+", text)
    if not m:
        return line
    seg = line.segs[0]
    font = lay.f.get(seg.style, line.pt)
    before, digits, after = text[: m.start()], m.group(0), text[m.end():]
    x_digits = seg.x + round(font.getlength(before + " "))
    x_after = x_digits + round(lay.f.get("hw", line.pt).getlength(digits)) + round(
        font.getlength("  "))
    segs = [Seg(seg.x, before, seg.style), Seg(x_digits, digits, "hw"),
            Seg(x_after, after, seg.style)]
    return Line(line.y, line.pt, segs, f"{before}{digits} {after}".replace("  ", " "),
                line.block)


def _new_page(pages: list[PageLayout], lay: Layouter) -> tuple[PageLayout, int]:
    pg = PageLayout()
    pages.append(pg)
    num = str(len(pages))
    pg.lines.append(lay.centred(num, "r", 13, (lay.left + lay.right) // 2, lay.mm(10), "page_number"))
    return pg, lay.top


# ---------------------------------------------------------------------------
# rendering


def _render_page(pl: PageLayout, lay: Layouter, issuer: Issuer, rng: random.Random) -> Image.Image:
    img = Image.new("RGB", (lay.W, lay.H), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for ln in pl.lines:
        for s in ln.segs:
            font = lay.f.get(s.style, ln.pt)
            if s.style == "hw":  # a pen: bigger, bolder, sitting a little high in the blank
                draw.text((s.x, ln.y - lay.f.px(ln.pt) // 3), s.text, font=font, fill=HW_INK,
                          stroke_width=max(1, lay.f.px(ln.pt) // 30), stroke_fill=HW_INK)
                continue
            draw.text((s.x, ln.y), s.text, font=font, fill=INK)
    for x0, y, x1, w in pl.rules:
        draw.rectangle([x0, y, x1, y + w - 1], fill=INK)
    if pl.signature:
        _draw_signature(img, pl.signature, rng)
    if pl.seal:
        _draw_seal(img, pl.seal, issuer, lay.f, rng)
    return img


def _draw_signature(img: Image.Image, box: tuple[int, int, int, int], rng: random.Random) -> None:
    """A cursive-looking scribble: a tall initial, a run of loops and an underline flourish."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    arr = np.asarray(img).copy()
    thick = max(1, round(img.width / 1100))
    base = y0 + h * rng.uniform(0.5, 0.6)
    strokes = []
    ix = x0 + w * rng.uniform(0.05, 0.15)
    strokes.append([(ix - w * 0.02, base + h * 0.15), (ix + w * 0.04, y0 + h * 0.05),
                    (ix + w * 0.06, base + h * 0.2), (ix + w * 0.1, base)])
    loops = rng.randint(3, 6)
    heights = [rng.uniform(0.1, 0.3) for _ in range(loops + 1)]
    phase = rng.uniform(0, math.pi)
    slant = rng.uniform(0.15, 0.45)
    run = []
    for k in range(240):
        t = k / 239
        tau = t + 0.04 * math.sin(2 * math.pi * 1.7 * t + phase)
        amp = heights[min(loops, int(t * loops))] * h
        x = ix + w * 0.1 + w * 0.6 * t + w * 0.055 * math.cos(2 * math.pi * loops * tau + phase)
        y = base - amp * max(-0.25, math.sin(2 * math.pi * loops * tau)) + h * 0.05 * t
        run.append((x + slant * (base - y), y))
    strokes.append(run)
    ex, ey = run[-1]
    sx, sy = x0 + w * rng.uniform(0.0, 0.1), y1 - h * rng.uniform(0.05, 0.15)
    tx, ty = x1 - w * rng.uniform(0.0, 0.1), y1 - h * rng.uniform(0.2, 0.35)
    flourish = []
    for k in range(60):  # quadratic bezier from the end of the loops under the name
        t = k / 59
        if t < 0.5:
            u = t * 2
            flourish.append((ex + (sx - ex) * u, ey + (sy - ey) * u ** 0.7))
        else:
            u = (t - 0.5) * 2
            flourish.append((sx + (tx - sx) * u, sy + (ty - sy) * u ** 1.5))
    strokes.append(flourish)
    for st in strokes:
        poly = np.array(st, dtype=np.int32).reshape(-1, 1, 2)
        cv2.polylines(arr, [poly], False, SIGN_BLUE, thick, cv2.LINE_AA)
    img.paste(Image.fromarray(arr))


def _draw_seal(img: Image.Image, seal: tuple[int, int, int], issuer: Issuer, fonts: Fonts,
               rng: random.Random) -> None:
    cx, cy, d = seal
    size = d + 8
    mask = Image.new("L", (size, size), 0)
    md = ImageDraw.Draw(mask)
    c = size / 2
    r_out = d / 2
    ring = max(2, round(d / 70))
    md.ellipse([c - r_out, c - r_out, c + r_out, c + r_out], outline=255, width=ring)
    r_in = r_out * 0.64
    md.ellipse([c - r_in, c - r_in, c + r_in, c + r_in], outline=255, width=max(1, ring // 2))
    text = issuer.seal_ring.strip() + " "
    r_txt = r_out * 0.82
    circ = 2 * math.pi * r_txt
    fpx = 100
    f100 = _font(fonts.paths[1], fpx)
    total = sum(f100.getlength(ch) for ch in text)
    fpx = max(8, int(min(fpx * circ * 0.93 / total, (r_out - r_in) * 0.52)))
    font = _font(fonts.paths[1], fpx)
    adv = [font.getlength(ch) for ch in text]
    scale = 360.0 / sum(adv)
    ang = -90.0
    for ch, a_ in zip(text, adv, strict=True):
        mid = ang + a_ * scale / 2
        ang += a_ * scale
        if ch == " ":
            continue
        cimg = Image.new("L", (fpx * 2, fpx * 2), 0)
        ImageDraw.Draw(cimg).text((fpx, fpx), ch, font=font, fill=255, anchor="mm")
        cimg = cimg.rotate(-(mid + 90), resample=Image.BICUBIC)
        rad = math.radians(mid)
        px_, py_ = round(c + r_txt * math.cos(rad) - fpx), round(c + r_txt * math.sin(rad) - fpx)
        box = (px_, py_, px_ + 2 * fpx, py_ + 2 * fpx)
        mask.paste(ImageChops.lighter(mask.crop(box), cimg), box[:2])
    # centre: a star, plus agency name lines for departments/offices
    star_r = r_in * (0.32 if issuer.seal_centre else 0.55)
    scy = c - (r_in * 0.45 if issuer.seal_centre else 0)
    pts = []
    for k in range(10):
        rr = star_r if k % 2 == 0 else star_r * 0.4
        a = math.radians(-90 + 36 * k)
        pts.append((c + rr * math.cos(a), scy + rr * math.sin(a)))
    md.polygon(pts, fill=255)
    if issuer.seal_centre:
        cf = ImageFont.truetype(fonts.paths[1], max(8, int(r_in * 0.26)))
        yy = c - r_in * 0.05
        for t in issuer.seal_centre[:3]:
            md.text((c, yy), t, font=cf, fill=255, anchor="mm")
            yy += r_in * 0.3
    else:
        md.ellipse([c - r_in * 0.8, c - r_in * 0.8, c + r_in * 0.8, c + r_in * 0.8],
                   outline=255, width=max(1, ring // 2))
    # ink texture and a slight tilt
    m = np.asarray(mask.rotate(rng.uniform(-25, 25), resample=Image.BICUBIC), dtype=np.float32)
    nrng = np.random.default_rng(rng.randrange(2**32))
    tex = cv2.GaussianBlur(nrng.random(m.shape, dtype=np.float32), (0, 0), max(1.0, d / 250))
    tex = np.clip((tex - tex.mean()) * 6 + 0.85, 0.35, 1.0)
    alpha = (m / 255.0) * tex * rng.uniform(0.8, 0.95)
    x0, y0 = int(cx - size / 2), int(cy - size / 2)
    region = np.asarray(img.crop((x0, y0, x0 + size, y0 + size)), dtype=np.float32)
    red = np.array(SEAL_RED, dtype=np.float32) / 255.0
    # multiply blend: ink over ink stays dark
    out = region * (1 - alpha[..., None] * (1 - red))
    img.paste(Image.fromarray(out.clip(0, 255).astype(np.uint8)), (x0, y0))


# ---------------------------------------------------------------------------
# scan simulation


@dataclass
class ScanOptions:
    dpi: int = 300
    skew: float = 0.0
    upside_down: bool = False
    noise: float = 0.0  # 0..1
    blur: float = 0.0  # gaussian sigma in px at 300 dpi
    tint: float = 0.0  # 0..1 paper yellowing
    jpeg_quality: int | None = None
    color: str = "color"
    blank_back: bool = False


def _paper(opt: ScanOptions) -> tuple[float, float, float]:
    return (1.0, 1.0 - 0.05 * opt.tint, 1.0 - 0.12 * opt.tint)


def _add_noise(a: np.ndarray, sigma: float, nrng: np.random.Generator) -> np.ndarray:
    """Add mono Gaussian noise with uint8 saturation (fast path for big pages)."""
    n = nrng.standard_normal(a.shape[:2], dtype=np.float32) * sigma
    pos = np.clip(n, 0, 255).astype(np.uint8)
    neg = np.clip(-n, 0, 255).astype(np.uint8)
    if a.ndim == 3:
        pos, neg = cv2.merge([pos] * 3), cv2.merge([neg] * 3)
    return cv2.subtract(cv2.add(a, pos), neg)


def _degrade(img: Image.Image, opt: ScanOptions, nrng: np.random.Generator,
             skew: float) -> np.ndarray:
    """Scan the clean page: (gray) → tint → blur → skew → noise and specks, all uint8."""
    a = np.asarray(img)
    if opt.color != "color":
        a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    paper = _paper(opt)
    if opt.tint > 0:
        if a.ndim == 3:
            a = cv2.multiply(a, (*paper, 1.0))
        else:
            a = cv2.multiply(a, (0.299 * paper[0] + 0.587 * paper[1] + 0.114 * paper[2],))
    if opt.blur > 0:
        a = cv2.GaussianBlur(a, (0, 0), opt.blur * opt.dpi / 300)
    if skew:
        h, w = a.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), skew, 1.0)
        border = tuple(float(v) for v in np.atleast_1d(a[2, 2]))
        a = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=border)
    if opt.noise > 0:
        a = _add_noise(a, 3 + 9 * opt.noise, nrng)
        h, w = a.shape[:2]
        k = int(opt.noise * 400 * (opt.dpi / 300) ** 2)
        ys, xs = nrng.integers(0, h, k), nrng.integers(0, w, k)
        rad = max(1, opt.dpi // 150)
        vals = nrng.integers(20, 120, k)
        a = a.copy() if not a.flags.writeable else a
        for yy, xx, v in zip(ys.tolist(), xs.tolist(), vals.tolist(), strict=True):
            a[yy:yy + rad, xx:xx + rad] = v
    return a


def _finish(a: np.ndarray, opt: ScanOptions, upside_down: bool) -> Image.Image:
    if upside_down:
        a = cv2.rotate(a, cv2.ROTATE_180)
    if opt.color == "color":
        img = Image.fromarray(np.ascontiguousarray(a), "RGB")
    else:
        g = a if a.ndim == 2 else cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
        if opt.color == "bilevel":
            _, g = cv2.threshold(g, 150, 255, cv2.THRESH_BINARY)
            img = Image.fromarray(g).convert("1", dither=Image.Dither.NONE)
        else:
            img = Image.fromarray(np.ascontiguousarray(g), "L")
    if opt.jpeg_quality and opt.color != "bilevel":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=opt.jpeg_quality)
        img = Image.open(io.BytesIO(buf.getvalue()))
        img.load()
    img.info["dpi"] = (opt.dpi, opt.dpi)
    return img


def _blank_back(front: Image.Image, opt: ScanOptions, nrng: np.random.Generator) -> np.ndarray:
    """A near-white duplex back: faint mirrored bleed-through, paper noise, a few specks."""
    g = cv2.cvtColor(np.asarray(front), cv2.COLOR_RGB2GRAY)[:, ::-1]
    small = cv2.resize(g, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), opt.dpi / 240)
    bleed = cv2.resize(small, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR)
    a = cv2.subtract(255, cv2.multiply(cv2.subtract(255, bleed), (0.06,)))
    a = _add_noise(a, 1.5, nrng)
    h, w = a.shape
    for _ in range(int(nrng.integers(3, 15))):
        y, x = int(nrng.integers(0, h - 3)), int(nrng.integers(0, w - 3))
        a[y:y + 2, x:x + 2] = 90
    if opt.color != "color":
        return a
    rgb = cv2.merge([a] * 3)
    return cv2.multiply(rgb, (*_paper(opt), 1.0)) if opt.tint > 0 else rgb


# ---------------------------------------------------------------------------
# public API


@dataclass
class SyntheticDocument:
    """Rendered, scan-degraded pages of one document and its ground truth."""

    pages: list[Image.Image]
    truth: dict
    jpeg_quality: int | None = None


def generate_document(
    seed: int,
    *,
    doc_type: str | None = None,
    dpi: int = 300,
    skew: float = 0.0,
    upside_down: bool = False,
    noise: float = 0.0,
    blank_back: bool = False,
    pages: int | None = None,
    blur: float = 0.0,
    tint: float = 0.0,
    jpeg_quality: int | None = None,
    color: str = "color",
    font: str | None = None,
    issued_on: dt.date | None = None,
    hard: tuple[str, ...] | frozenset[str] = (),
) -> SyntheticDocument:
    """Render one document. Defaults give a clean, upright colour 300-dpi scan.

    ``pages`` is the number of content pages (1 or 2; None = random, mostly 1).
    ``skew`` is in degrees (counter-clockwise positive), ``noise``/``tint`` in 0..1,
    ``blur`` a Gaussian sigma in pixels at 300 dpi, ``color`` one of COLOR_MODES.
    With ``blank_back`` each content page is followed by a near-blank duplex back.
    ``hard`` names cases from HARD_CASES that real paper has (e-signature box, handwritten
    serial and day, receipt stamp, number and date on the last page).
    """
    hard = tuple(hard)
    unknown = set(hard) - set(HARD_CASES)
    if unknown:
        raise CorpusError(f"unknown hard case(s) {sorted(unknown)}; expected from {HARD_CASES}")
    if doc_type is not None and doc_type not in DOC_TYPES:
        raise CorpusError(f"unknown doc_type {doc_type!r}; expected one of {DOC_TYPES}")
    if dpi < 100 or dpi > 600:
        raise CorpusError(f"dpi {dpi} out of range 100..600")
    if color not in COLOR_MODES:
        raise CorpusError(f"unknown color mode {color!r}; expected one of {COLOR_MODES}")
    if pages not in (None, 1, 2):
        raise CorpusError(f"pages must be 1, 2 or None, not {pages!r}")
    if abs(skew) > 10:
        raise CorpusError(f"skew {skew} out of range -10..10 degrees")
    rng = random.Random(f"sohoa-corpus-{seed}")
    doc_type = doc_type or rng.choice(DOC_TYPES)
    issued = issued_on or _rand_date(rng, dt.date(2019, 1, 2), dt.date(2025, 12, 30))
    want_two = rng.random() < 0.15
    family = font
    if family is None:
        fams = list(available_font_families()) or [None]
        family = fams[0] if rng.random() < 0.8 or len(fams) == 1 else rng.choice(fams[1:])
    fonts = Fonts(family, dpi)
    issuer = _pick_issuer(doc_type, issued, rng)
    content = _build_content(doc_type, issuer, issued, rng)
    n_pages = pages or (2 if want_two and content.extra else 1)
    signer = _person(rng, min_year=1965, max_year=1985)
    content.extras["_signer_name"] = signer.name
    lay = Layouter(fonts, line_spacing=rng.choice([1.2, 1.25, 1.3]))
    layouts = _fit(content, issuer, issued, lay, n_pages, hard)

    opt = ScanOptions(dpi=dpi, skew=skew, upside_down=upside_down, noise=noise, blur=blur,
                      tint=tint, jpeg_quality=jpeg_quality, color=color, blank_back=blank_back)
    nrng = np.random.default_rng([abs(seed), 7919])
    out_pages: list[Image.Image] = []
    page_info: list[dict] = []
    esign = _esign_box(lay, issued, rng) if "esign" in hard else None
    for i, pl in enumerate(layouts):
        clean = _render_page(pl, lay, issuer, rng)
        if i == 0 and "stamp" in hard:
            _draw_receipt_stamp(clean, pl, lay, rng)
        if "streak" in hard:
            _draw_streak(clean, lay, rng, urgent=i == 0)
        # later pages of a stack are skewed a bit differently
        pskew = round(skew if i == 0 else skew * rng.uniform(0.6, 1.2), 3)
        arr = _degrade(clean, opt, nrng, pskew)
        out_pages.append(_finish(arr, opt, upside_down))
        page_info.append({
            "index": len(page_info), "kind": "content", "rotation": 180 if upside_down else 0,
            "skew_deg": pskew, "text": "\n".join(ln.text for ln in pl.lines),
            "lines": [{"text": ln.text, "block": ln.block, "bbox": ln.bbox(fonts)}
                      for ln in pl.lines],
        })
        if blank_back:
            back = _blank_back(clean, opt, nrng)
            out_pages.append(_finish(back, opt, False))
            page_info.append({"index": len(page_info), "kind": "blank", "rotation": 0,
                              "skew_deg": 0.0, "text": "", "lines": []})
    title = content.title
    truth = {
        "schema": SCHEMA,
        "seed": seed,
        "document_type": doc_type,
        "title": title,
        "summary": content.summary,
        "procedure_code": content.procedure_code,
        "fields": {
            "number": content.number,
            "issued_on": issued.isoformat(),
            "issuer": issuer.name,
            "issuer_printed": [t for t, _ in issuer.header],
            "issuer_level": issuer.level,
            "issuer_unit_code": issuer.unit_code,
            "issuer_unit_name": issuer.unit_name,
            "admin_units": issuer.units_version,
            "place": issuer.place,
            "subject_name": content.subject["subject_name"],
            "subject_id": content.subject["subject_id"],
            "issuer_parent": _parent_body(issuer),
            "signer_name": signer.name,
            "signer_title": content.signer_title,
            **{k: v for k, v in content.extras.items() if not k.startswith("_")},
        },
        "pages": len(out_pages),
        "content_pages": len(layouts),
        "blank_pages": [p["index"] for p in page_info if p["kind"] == "blank"],
        "rotation": [p["rotation"] for p in page_info],
        "dpi": dpi,
        "page_size_px": [lay.W, lay.H],
        "color": color,
        "font": fonts.family,
        "scan": {"skew": skew, "upside_down": upside_down, "noise": noise, "blur": blur,
                 "tint": tint, "jpeg_quality": jpeg_quality, "blank_back": blank_back},
        "text": [p["text"] for p in page_info],
        "page_info": page_info,
        "hard": list(hard),
        "esign": esign,
    }
    return SyntheticDocument(out_pages, truth, jpeg_quality)


_KIND_WORDS = ("THÀNH PHỐ", "THỊ XÃ", "THỊ TRẤN", "QUẬN", "HUYỆN", "PHƯỜNG", "XÃ", "TỈNH")


def _parent_body(issuer: Issuer) -> str | None:
    """"UBND quận Ba Đình" when a two-line header prints a People's Committee above the
    issuing body ("UBND QUẬN BA ĐÌNH" / "PHÒNG TÀI CHÍNH - KẾ HOẠCH"), else None."""
    if len(issuer.header) != 2 or not issuer.header[0][0].startswith("UBND "):
        return None
    rest = issuer.header[0][0][5:]
    kind = next((k for k in _KIND_WORDS if rest.startswith(k + " ")), None)
    if kind is None:
        return None
    name = " ".join(w[:1] + w[1:].lower() for w in rest[len(kind) + 1:].split())
    return f"UBND {kind.lower()} {name}"


def _esign_box(lay: Layouter, issued: dt.date, rng: random.Random) -> dict:
    """An e-signature appearance top right of page 1: its lines and their places (pixels)."""
    when = f"{issued:%d/%m/%Y} {rng.randrange(7, 17):02d}:{rng.randrange(60):02d}:" \
           f"{rng.randrange(60):02d}"
    size = lay.f.px(7.5)
    x, y = lay.W - lay.mm(62), lay.mm(3)
    lines = [{"text": t.format(when=when), "x": x, "y": y + k * round(size * 1.25),
              "size_px": size} for k, t in enumerate(ESIGN_LINES)]
    return {"page": 0, "lines": lines}


def draw_esign(img: Image.Image, esign: dict, fonts_path: str | None = None) -> None:
    """Draw the e-signature box into a page image (a printed and scanned e-signed copy)."""
    draw = ImageDraw.Draw(img)
    path = fonts_path or available_font_families()[next(iter(available_font_families()))][0]
    for ln in esign["lines"]:
        draw.text((ln["x"], ln["y"]), ln["text"], font=_font(path, ln["size_px"]),
                  fill=(200, 30, 30) if img.mode == "RGB" else 60)


def _draw_streak(img: Image.Image, lay: Layouter, rng: random.Random, *, urgent: bool) -> None:
    """A dirty scanner glass: a thin dark vertical line through the whole page; on the first
    page a red boxed "HỎA TỐC" stamped in the top margin."""
    draw = ImageDraw.Draw(img)
    x = rng.randrange(lay.left + lay.mm(20), lay.right - lay.mm(20))
    draw.rectangle([x, 0, x + max(1, lay.mm(0.3)), lay.H], fill=(70, 70, 70))
    if urgent:
        font = lay.f.get("b", 14)
        x0, y0 = lay.left + lay.mm(8), lay.mm(4)
        w = round(font.getlength("HỎA TỐC")) + lay.mm(4)
        draw.rectangle([x0, y0, x0 + w, y0 + lay.mm(9)], outline=SEAL_RED, width=lay.mm(0.6))
        draw.text((x0 + lay.mm(2), y0 + lay.mm(1.5)), "HỎA TỐC", font=font, fill=SEAL_RED)


def _draw_receipt_stamp(img: Image.Image, pl: PageLayout, lay: Layouter,
                        rng: random.Random) -> None:
    """A violet "CÔNG VĂN ĐẾN" receipt stamp with a handwritten number and date, left,
    under the number line: a second "Số:" that is not the document's number."""
    number_y = max((ln.y for ln in pl.lines if ln.block in ("number", "summary")), default=0)
    x0, y0 = lay.left, number_y + lay.mm(14)
    w, h = lay.mm(48), lay.mm(22)
    stamp = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(stamp)
    d.rectangle([2, 2, w - 3, h - 3], outline=255, width=max(2, lay.mm(0.5)))
    font = lay.f.get("b", 10)
    hw = lay.f.get("hw", 9)
    d.text((lay.mm(4), lay.mm(2)), "CÔNG VĂN ĐẾN", font=font, fill=255)
    d.text((lay.mm(4), lay.mm(8)), "Số:", font=lay.f.get("r", 10), fill=255)
    d.text((lay.mm(14), lay.mm(7)), str(rng.randrange(100, 9999)), font=hw, fill=255)
    d.text((lay.mm(4), lay.mm(14)), "Ngày:", font=lay.f.get("r", 10), fill=255)
    d.text((lay.mm(16), lay.mm(13)), f"{rng.randrange(1, 28)}/{rng.randrange(1, 12)}",
           font=hw, fill=255)
    stamp = stamp.rotate(rng.uniform(-6, 6), expand=True, resample=Image.Resampling.BICUBIC)
    ink = Image.new("RGB", stamp.size, (110, 40, 150))
    img.paste(ink, (x0, y0), stamp.point(lambda v: int(v * 0.85)))


def _fit(content: Content, issuer: Issuer, issued: dt.date, lay: Layouter,
         n_pages: int, hard: tuple[str, ...] = ()) -> list[PageLayout]:
    base = content.blocks
    if n_pages == 1:
        layouts = _layout(content, issuer, issued, lay, base + content.tail, hard)
        if len(layouts) > 1:  # too long: tighten spacing, then drop optional body
            lay.ls = 1.15
            layouts = _layout(content, issuer, issued, lay, base + content.tail, hard)
        return layouts
    extra = list(content.extra) or _fillers(random.Random(len(base)))
    for k in range(len(extra) * 2 + 1):
        fill = [extra[i % len(extra)] for i in range(k)]
        layouts = _layout(content, issuer, issued, lay, base + fill + content.tail, hard)
        if len(layouts) >= 2:
            body2 = [ln for ln in layouts[1].lines if ln.block == "body"]
            if len(body2) >= 3:
                return layouts
    return layouts


def _encode_page(img: Image.Image, dpi: int, jpeg_quality: int | None) -> tuple[bytes, str]:
    buf = io.BytesIO()
    if jpeg_quality and img.mode != "1":
        img.save(buf, "JPEG", quality=jpeg_quality, dpi=(dpi, dpi))
        return buf.getvalue(), "jpeg"
    img.save(buf, "PNG", dpi=(dpi, dpi), compress_level=1)
    return buf.getvalue(), "png"


def _esign_text_layer(data: bytes, esign: dict, dpi: int) -> bytes:
    """The PDF with the e-signature box as visible vector text over its page (as signing
    services stamp it: the page stays an image, the box brings a small text layer)."""
    import pikepdf
    from fpdf import FPDF

    path = available_font_families()[next(iter(available_font_families()))][0]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[esign["page"]]
        box = [float(v) for v in page.mediabox]
        w_pt, h_pt = box[2] - box[0], box[3] - box[1]
        over = FPDF(unit="pt", format=(w_pt, h_pt))
        over.set_auto_page_break(False)
        over.add_page()
        over.add_font("esign", fname=path)
        over.set_text_color(200, 30, 30)
        k = 72.0 / dpi
        for ln in esign["lines"]:
            over.set_font("esign", size=ln["size_px"] * k)
            over.text(ln["x"] * k, (ln["y"] + ln["size_px"] * 0.85) * k, ln["text"])
        with pikepdf.open(io.BytesIO(bytes(over.output()))) as layer:
            page.add_overlay(pdf.copy_foreign(layer.pages[0].as_form_xobject()))
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def write_document(doc: SyntheticDocument, out_dir: Path, name: str, fmt: str = "pdf") -> Path:
    """Write the pages as ``<name>.<ext>`` (+ ``<name>.truth.json``); return the main file.

    PNG/JPEG write one file per page (``<name>-p2.png`` … for pages after the first).
    The dpi is recorded in every file (pHYs, JFIF density, TIFF resolution, PDF page size).
    """
    if fmt not in FORMATS:
        raise CorpusError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dpi = doc.truth["dpi"]
    files: list[Path] = []
    if fmt == "pdf":
        path = out_dir / f"{name}.pdf"
        import img2pdf

        blobs = [_encode_page(p, dpi, doc.jpeg_quality)[0] for p in doc.pages]
        when = dt.datetime.fromisoformat(doc.truth["fields"]["issued_on"] + "T09:00:00")
        data = img2pdf.convert(
            blobs, layout_fun=img2pdf.get_fixed_dpi_layout_fun((dpi, dpi)),
            creationdate=when, moddate=when, producer="sohoa bench corpus",
        )
        if doc.truth.get("esign"):
            data = _esign_text_layer(data, doc.truth["esign"], dpi)
        path.write_bytes(data)
        files.append(path)
    elif fmt == "tiff":
        path = out_dir / f"{name}.tiff"
        if doc.truth.get("esign"):
            doc.pages[0] = doc.pages[0].copy()
            draw_esign(doc.pages[0], doc.truth["esign"])
        first, rest = doc.pages[0], doc.pages[1:]
        comp = "group4" if all(p.mode == "1" for p in doc.pages) else "tiff_lzw"
        first.save(path, "TIFF", save_all=True, append_images=rest, compression=comp,
                   dpi=(dpi, dpi))
        files.append(path)
    else:
        ext = "png" if fmt == "png" else "jpg"
        for i, p in enumerate(doc.pages):
            pth = out_dir / (f"{name}.{ext}" if i == 0 else f"{name}-p{i + 1}.{ext}")
            if fmt == "png":
                p.save(pth, "PNG", dpi=(dpi, dpi), compress_level=1)
            else:
                q = doc.jpeg_quality or 92
                (p.convert("L") if p.mode == "1" else p).save(pth, "JPEG", quality=q,
                                                              dpi=(dpi, dpi))
            files.append(pth)
    truth = dict(doc.truth)
    truth["file"] = files[0].name
    truth["files"] = [f.name for f in files]
    truth["format"] = fmt
    (out_dir / f"{name}.truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return files[0]


def _profile_options(profile: str, rng: random.Random) -> dict:
    if profile == "mixed":
        profile = "clean" if rng.random() < 0.4 else "counter"
    if profile == "clean":
        return {"dpi": 300}
    upside = rng.random() < 0.12
    color = rng.choices(COLOR_MODES, weights=(5, 4, 1))[0]
    return {
        "dpi": rng.choice([200, 300]),
        "skew": round(rng.uniform(-3, 3), 2),
        "upside_down": upside,
        "noise": round(rng.uniform(0.1, 0.6), 2),
        "blur": round(rng.uniform(0.0, 0.9), 2),
        "tint": round(rng.uniform(0.0, 0.8), 2),
        "jpeg_quality": rng.choice([None, 55, 70, 85]) if color != "bilevel" else None,
        "color": color,
        "blank_back": rng.random() < 0.3,
    }


def generate_corpus(
    out_dir: Path,
    count: int,
    seed: int = 0,
    *,
    formats: tuple[str, ...] = ("pdf", "tiff", "png", "jpeg"),
    profile: str = "mixed",
) -> list[Path]:
    """Write ``count`` documents (types balanced, formats cycled) and ``manifest.json``.

    Deterministic for a given seed. Returns the main file of each document.
    """
    if profile not in PROFILES:
        raise CorpusError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise CorpusError(f"unknown formats {bad or formats!r}; expected some of {FORMATS}")
    if count < 0:
        raise CorpusError(f"count must be >= 0, not {count}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"sohoa-corpus-set-{seed}-{profile}")
    types: list[str] = []
    paths: list[Path] = []
    docs = []
    for i in range(count):
        if not types:
            types = list(DOC_TYPES)
            rng.shuffle(types)
        doc_type = types.pop()
        opts = _profile_options(profile, rng)
        dseed = seed * 100_003 + i
        doc = generate_document(dseed, doc_type=doc_type, **opts)
        name = f"doc-{i + 1:04d}"
        fmt = formats[i % len(formats)]
        path = write_document(doc, out_dir, name, fmt)
        paths.append(path)
        entry = {k: v for k, v in doc.truth.items() if k != "page_info"}
        written = json.loads((out_dir / f"{name}.truth.json").read_text(encoding="utf-8"))
        entry.update(file=path.name, truth=f"{name}.truth.json", format=fmt,
                     files=written["files"])
        docs.append(entry)
    manifest = {"schema": SCHEMA, "seed": seed, "profile": profile, "count": count,
                "formats": list(formats), "documents": docs}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                           encoding="utf-8")
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", choices=PROFILES, default="mixed")
    ap.add_argument("--formats", default="pdf,tiff,png,jpeg",
                    help="comma-separated, cycled over documents")
    a = ap.parse_args(argv)
    try:
        paths = generate_corpus(a.out, a.count, a.seed,
                                formats=tuple(f.strip() for f in a.formats.split(",") if f.strip()),
                                profile=a.profile)
    except CorpusError as exc:
        ap.error(str(exc))
    manifest = json.loads((a.out / "manifest.json").read_text(encoding="utf-8"))
    for p, d in zip(paths, manifest["documents"], strict=True):
        print(f"{p}\t{d['document_type']}\t{d['fields']['number']}\t{d['pages']}p\t{d['dpi']}dpi")
    print(f"wrote {len(paths)} documents and {a.out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
