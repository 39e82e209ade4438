"""How pipeline failures are told apart: permanent (bad input: never retried) or transient."""

from __future__ import annotations

from ocr.pages import InputError
from signing.signer import SigningError


class PermanentError(Exception):
    """The document itself cannot be processed; retrying will not help."""


class InvalidTransition(RuntimeError):
    """A stage or a person tried to move a document along an edge the state machine lacks."""


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PermanentError | InputError | SigningError)


def describe(exc: BaseException) -> str:
    """One line naming the problem, for the catalog and the `--json` output."""
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:2000]
