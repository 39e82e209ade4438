"""Signing: unit keys (TEST PKI, PKCS#12, PKCS#11), PAdES signatures with pyHanko, verification.

Knows nothing of the database. Entry points: :class:`SignerProvider` (key spec -> one cached
:class:`UnitSigner` per unit; PAdES B-B … B-LTA), :func:`verify_pdf`, :func:`ensure_dev_pki`,
:func:`inspect_pdf` / :func:`extend_archive` (archival timestamps). Test-only services:
:mod:`signing.pki_services`.
"""

from signing.archive import ArchiveState, extend_archive, inspect_pdf
from signing.dev_pki import DevPKI, DevPKIError, ensure_dev_pki
from signing.seal import SealError, SealInfo
from signing.signer import (
    LEVELS,
    SignerProvider,
    SigningError,
    SigningServiceUnavailable,
    UnitSigner,
)
from signing.verify import VerificationReport, verify_pdf

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
