"""How pipeline failures are told apart: permanent (bad input: never retried) or transient."""

from __future__ import annotations


class PermanentError(Exception):
    """The document itself cannot be processed; retrying will not help."""


def is_permanent(exc: BaseException) -> bool:
    from ocr.pages import InputError

    try:
        from signing.signer import SigningError
    except ImportError:  # pragma: no cover - signing is part of the distribution
        SigningError = ()  # noqa: N806
    return isinstance(exc, PermanentError | InputError | SigningError)


def describe(exc: BaseException) -> str:
    """One line naming the problem, for the catalog and the `--json` output."""
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:2000]
