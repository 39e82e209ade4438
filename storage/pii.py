"""The one masking rule for personal data (names and personal ID numbers) handed to someone
not cleared to see it: the retrieval API (clients without the `read:pii` scope) and the archive's
dissemination packages (`sohoa records export --package dip` without `--with-personal-data`)
both apply it, so what a person sees masked is the same whichever way they got it.

A name keeps the first letter of each word ("Nguyễn Văn An" → "N*** V*** A***"); an ID keeps
its last two characters ("001204012345" → "**********45"). Empty values stay as they are.
"""

from __future__ import annotations

# keys that hold personal data in a document's extracted fields and in result rows
PERSONAL_FIELDS = ("subject_name", "subject_id")


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return " ".join(word[:1] + "***" for word in name.split())


def mask_id(value: str | None) -> str | None:
    if not value:
        return value
    return "*" * max(0, len(value) - 2) + value[-2:]


def mask_personal(values: dict) -> dict:
    """A copy of `values` with its personal fields (`PERSONAL_FIELDS`) masked."""
    out = dict(values)
    if out.get("subject_name"):
        out["subject_name"] = mask_name(out["subject_name"])
    if out.get("subject_id"):
        out["subject_id"] = mask_id(str(out["subject_id"]))
    return out
