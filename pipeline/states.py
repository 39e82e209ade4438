"""Document states and the transitions between them.

received ──ocr──▶ ocr_done ──classify──▶ classified ──sign──▶ stored
                                    └──▶ needs_review ──(person confirms)──▶ classified
any stage ──error──▶ failed (with the stage and the reason; the original is kept)
"""

from __future__ import annotations

RECEIVED = "received"
OCR_DONE = "ocr_done"
CLASSIFIED = "classified"
NEEDS_REVIEW = "needs_review"
STORED = "stored"
FAILED = "failed"

ALL_STATES = (RECEIVED, OCR_DONE, CLASSIFIED, NEEDS_REVIEW, STORED, FAILED)

TRANSITIONS: dict[str, set[str]] = {
    RECEIVED: {OCR_DONE, FAILED},
    OCR_DONE: {CLASSIFIED, NEEDS_REVIEW, FAILED},
    NEEDS_REVIEW: {CLASSIFIED, FAILED},
    CLASSIFIED: {STORED, FAILED},
    STORED: set(),
    FAILED: {RECEIVED, OCR_DONE, CLASSIFIED},  # retry resumes at the stage that failed
}

# The stage that moves a document out of each state.
NEXT_STAGE = {RECEIVED: "ocr", OCR_DONE: "classify", CLASSIFIED: "sign"}


class InvalidTransition(RuntimeError):
    pass


def check_transition(current: str, new: str) -> None:
    if new not in TRANSITIONS.get(current, set()):
        raise InvalidTransition(f"document cannot go from {current} to {new}")
