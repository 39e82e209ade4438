"""Splitting a scanned stack into documents, collating two single-sided passes, moving a
boundary.

Input: the pages in scan order, each with its `PageFacts` and its side (front/back). Rules:
- with `separator`: a separator sheet (QR or patch code) starts a new document (a QR code may
  give it its dossier code); a separator and its back are never part of a document, whatever
  the method; a Patch 4 (the colour toggle patch) sheet is dropped without starting one;
- with `blank`: a blank sheet (a blank front, and its back when duplex) ends a document;
- with `first`: a first page (national motto + "Số:" line) starts a new document;
- a blank back of a duplex sheet is dropped (kept out of the document, listed as dropped);
- `auto` uses all three signals.
The result is a list of documents (page indices in the stack) that the operator reviews and
may change (`move_boundary`) before it is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from batch.pages import PageFacts
from batch.patchcode import TOGGLE

METHODS = ("auto", "separator", "blank", "first")


class SplitError(ValueError):
    """A split or collation that cannot be done; the message says why."""


@dataclass
class Document:
    pages: list[int]
    dossier: str | None = None
    reason: str = "start"  # what started it: start | separator | blank | first | manual

    def to_dict(self) -> dict:
        return {"pages": self.pages, "dossier": self.dossier, "reason": self.reason}


@dataclass
class Split:
    documents: list[Document]
    dropped: list[int] = field(default_factory=list)  # blank backs, blank sheets, separators

    def to_dict(self) -> dict:
        return {"documents": [d.to_dict() for d in self.documents], "dropped": self.dropped}

    @classmethod
    def from_dict(cls, data: dict) -> Split:
        return cls([Document(**d) for d in data["documents"]], list(data.get("dropped", [])))

    def starts(self) -> list[int]:
        return [d.pages[0] for d in self.documents if d.pages]


def split_stack(facts: list[PageFacts], sides: list[str], method: str = "auto") -> Split:
    if method not in METHODS:
        raise SplitError(f"unknown split method {method!r} (expected one of {', '.join(METHODS)})")
    if len(facts) != len(sides):
        raise SplitError("one side per page is needed")
    use_sep = method in ("auto", "separator")
    use_blank = method in ("auto", "blank")
    use_first = method in ("auto", "first")
    duplex = "back" in sides
    docs: list[Document] = []
    dropped: list[int] = []
    pending_reason, pending_dossier = "start", None
    new_doc = True
    skip_back = False  # the back of a separator or of a blank sheet
    for i, (page, side) in enumerate(zip(facts, sides, strict=True)):
        if side == "back" and skip_back:
            dropped.append(i)
            continue
        skip_back = False
        if side == "front" or not duplex:
            if page.kind == "separator":  # never part of a document, whatever the method
                dropped.append(i)
                if use_sep and page.patch != TOGGLE:
                    new_doc, pending_reason, pending_dossier = True, "separator", page.dossier
                skip_back = duplex
                continue
            if page.kind == "blank":
                back_blank = (not duplex or i + 1 >= len(facts)
                              or facts[i + 1].kind == "blank")
                dropped.append(i)
                if use_blank and back_blank:
                    if not new_doc or pending_reason == "start":
                        new_doc, pending_reason, pending_dossier = True, "blank", None
                    skip_back = duplex
                continue
            if page.kind == "first" and use_first and docs and not new_doc:
                new_doc, pending_reason, pending_dossier = True, "first", None
        elif page.kind == "blank":  # a blank back: nothing of the document is on it
            dropped.append(i)
            continue
        if new_doc or not docs:
            docs.append(Document(pages=[], dossier=pending_dossier, reason=pending_reason))
            new_doc, pending_dossier = False, None
        docs[-1].pages.append(i)
    return Split([d for d in docs if d.pages], dropped)


def move_boundary(split: Split, page: int, *, start: bool) -> Split:
    """Make `page` start a document (`start=True`) or join the document before it."""
    order = [(p, di) for di, d in enumerate(split.documents) for p in d.pages]
    where = {p: di for p, di in order}
    if page not in where:
        raise SplitError(f"page {page + 1} is not in any document (dropped or out of range)")
    di = where[page]
    doc = split.documents[di]
    docs = [Document(list(d.pages), d.dossier, d.reason) for d in split.documents]
    if start:
        if doc.pages[0] == page:
            raise SplitError(f"page {page + 1} already starts a document")
        cut = doc.pages.index(page)
        docs[di:di + 1] = [Document(doc.pages[:cut], doc.dossier, doc.reason),
                           Document(doc.pages[cut:], None, "manual")]
    else:
        if doc.pages[0] != page:
            raise SplitError(f"page {page + 1} does not start a document")
        if di == 0:
            raise SplitError("the first document has no document before it to join")
        prev = docs[di - 1]
        docs[di - 1:di + 1] = [Document(prev.pages + doc.pages, prev.dossier or doc.dossier,
                                        prev.reason)]
    return Split(docs, list(split.dropped))


def collate(fronts: list, backs: list) -> list:
    """Two single-sided passes → duplex order: the backs pass is fed with the stack turned
    over, so it comes last page first. Returns front1, back1, front2, back2, …"""
    if len(fronts) != len(backs):
        raise SplitError(f"the fronts pass has {len(fronts)} page(s) but the backs pass "
                         f"{len(backs)}: a sheet was missed or fed twice")
    out = []
    for front, back in zip(fronts, reversed(backs), strict=True):
        out.extend((front, back))
    return out
