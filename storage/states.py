"""The vocabulary of `documents.state`: the names every part reads and writes in the catalog.

Only the words live here (storage owns the column); which stage moves a document from one state
to the next is the pipeline's business (`pipeline.states`, `pipeline.stages`).
"""

from __future__ import annotations

RECEIVED = "received"
OCR_DONE = "ocr_done"
CLASSIFIED = "classified"
NEEDS_REVIEW = "needs_review"
STORED = "stored"
FAILED = "failed"

ALL_STATES = (RECEIVED, OCR_DONE, CLASSIFIED, NEEDS_REVIEW, STORED, FAILED)
# A document in one of these is waiting for a person or done: no stage will move it on its own.
SETTLED = (NEEDS_REVIEW, STORED, FAILED)
