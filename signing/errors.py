"""The signing part's errors, in a module of their own so that code classifying failures (the
pipeline's retry policy) does not load pyHanko to name them. `signing.signer` re-exports them."""

from __future__ import annotations


class SigningError(Exception):
    """A document cannot be signed (bad key, unusable certificate, unreadable PDF)."""


class SigningServiceUnavailable(ConnectionError):
    """A time-stamping, OCSP or CRL service could not be reached: retry later.

    Deliberately not a :class:`SigningError` (those are permanent: bad key, revoked
    certificate, bad PDF); the pipeline retries OSErrors.
    """
