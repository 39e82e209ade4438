"""Signing: unit keys (TEST PKI, PKCS#12, PKCS#11), PAdES signatures with pyHanko, verification.

Knows nothing of the database. Entry points: :class:`SignerProvider` (key spec -> one cached
:class:`UnitSigner` per unit; PAdES B-B … B-LTA), :func:`verify_pdf`, :func:`ensure_dev_pki`,
:func:`inspect_pdf` / :func:`extend_archive` (archival timestamps). Test-only services:
:mod:`signing.pki_services`.

The names below are imported from their modules when first used (`from signing import verify_pdf` works),
so importing one light module of the package does not load the heavy ones.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ArchiveState": "signing.archive",
    "extend_archive": "signing.archive",
    "inspect_pdf": "signing.archive",
    "DevPKI": "signing.dev_pki",
    "DevPKIError": "signing.dev_pki",
    "ensure_dev_pki": "signing.dev_pki",
    "SealError": "signing.seal",
    "SealInfo": "signing.seal",
    "LEVELS": "signing.signer",
    "SignerProvider": "signing.signer",
    "SigningError": "signing.signer",
    "SigningServiceUnavailable": "signing.signer",
    "UnitSigner": "signing.signer",
    "VerificationReport": "signing.verify",
    "verify_pdf": "signing.verify",
}

__all__ = [
    "LEVELS",
    "ArchiveState",
    "DevPKI",
    "DevPKIError",
    "SealError",
    "SealInfo",
    "SignerProvider",
    "SigningError",
    "SigningServiceUnavailable",
    "UnitSigner",
    "VerificationReport",
    "ensure_dev_pki",
    "extend_archive",
    "inspect_pdf",
    "verify_pdf",
]


def __getattr__(name: str) -> Any:
    """A re-exported name, imported from its module when first used."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
