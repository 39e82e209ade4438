"""Document numbers ("Số: 12/QĐ-UBND") compared the one way everywhere: the number key.

People, OCR and the one-stop system write the same number in different ways: "12/QĐ-UBND",
"12/QD-UBND", "12/qđ - ubnd", "12 / QĐ–UBND" (en dash), "Số: 12/QĐ-UBND", decomposed or
precomposed Unicode. `number_key` reduces them all to one key ("12/QD-UBND"):

* Unicode NFC, then đ/Đ folded to d/D and every tone and vowel mark dropped (NFD, combining
  marks removed), so "QĐ", "QD" and a decomposed "QĐ" are one;
* every dash-like character (hyphen, non-breaking hyphen, figure/en/em dash, minus sign,
  fullwidth hyphen) becomes "-", fullwidth or division slashes become "/";
* all whitespace (also non-breaking and zero-width) goes: "12 / QĐ - UBND" = "12/QĐ-UBND";
* a leading "Số:" / "No." label goes; the key is upper case.

The key is stored beside the number (`results.number_key`, kept by storage.catalog on every
write and backfilled by migration 0020_number_key) and indexed, so matching a scan to a result
(storage.result_link), merging duplicates (`sohoa results reconcile`, `results import`) and the
counter's duplicate check (storage.duplicates) all compare keys with one indexed equality.
"""

from __future__ import annotations

import re
import unicodedata

DASHES = "\u002d\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"
SLASHES = "\u2044\u2215\uff0f"
_TRANSLATE = str.maketrans({**{c: "-" for c in DASHES}, **{c: "/" for c in SLASHES},
                            "đ": "d", "Đ": "D"})
_LABEL = re.compile(r"^(SO|NO)\s*[.:]\s*", re.IGNORECASE)
KEY_LENGTH = 80  # as long as results.document_number


def fold(text: str) -> str:
    """NFC, đ/Đ → d/D, tone and vowel marks removed ("Quyết định" → "Quyet dinh")."""
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(
        c for c in decomposed if unicodedata.category(c) != "Mn"))


def number_key(text: str | None) -> str | None:
    """The comparison key of a document number; None when there is no number.

    >>> number_key("Số: 12 / QĐ – UBND")
    '12/QD-UBND'
    """
    if not text:
        return None
    folded = "".join(c for c in fold(text) if not c.isspace() and unicodedata.category(c) != "Cf")
    folded = _LABEL.sub("", folded)
    return folded.upper()[:KEY_LENGTH] or None


__all__ = ["fold", "number_key"]
