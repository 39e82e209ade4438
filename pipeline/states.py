"""The document state machine, read from the stage descriptions (`pipeline.stages.STAGES`).

received ──ocr──▶ ocr_done ──classify──▶ classified ──sign──▶ stored
                                    └──▶ needs_review ──(person confirms)──▶ classified
any stage ──error──▶ failed (with the stage and the reason; the original is kept)
failed ──retry──▶ the input state of the stage that failed

The words themselves (`documents.state`) are storage's vocabulary (`storage.states`).
"""

from __future__ import annotations

from pipeline.errors import InvalidTransition
from pipeline.stages import BY_INPUT_STATE, STAGES
from storage.states import (
    ALL_STATES,
    CLASSIFIED,
    FAILED,
    NEEDS_REVIEW,
    OCR_DONE,
    RECEIVED,
    SETTLED,
    STORED,
)

__all__ = ["ALL_STATES", "CLASSIFIED", "FAILED", "NEEDS_REVIEW", "OCR_DONE", "RECEIVED", "SETTLED",
           "STORED", "NEXT_STAGE", "TRANSITIONS", "InvalidTransition", "check_transition"]

# The stage (name) that moves a document out of each state.
NEXT_STAGE: dict[str, str] = {state: stage.name for state, stage in BY_INPUT_STATE.items()}


def _transitions() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {state: set() for state in ALL_STATES}
    for stage in STAGES.values():
        edges[stage.input_state] |= {*stage.output_states, FAILED}
    edges[NEEDS_REVIEW] |= {CLASSIFIED, FAILED}  # a person confirms or corrects
    edges[FAILED] |= {stage.input_state for stage in STAGES.values()}  # retry resumes there
    return edges


TRANSITIONS: dict[str, set[str]] = _transitions()


def check_transition(current: str, new: str) -> None:
    if new not in TRANSITIONS.get(current, set()):
        raise InvalidTransition(f"document cannot go from {current} to {new}")
