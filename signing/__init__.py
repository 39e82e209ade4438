"""Signing: unit keys (TEST PKI, PKCS#12, PKCS#11), PAdES signatures with pyHanko, verification.

Knows nothing of the database. Entry points: :class:`SignerProvider` (key spec -> one cached
:class:`UnitSigner` per unit), :func:`verify_pdf`, :func:`ensure_dev_pki`.
"""

from signing.dev_pki import DevPKI, DevPKIError, ensure_dev_pki
from signing.seal import SealError, SealInfo
from signing.signer import SignerProvider, SigningError, UnitSigner
from signing.verify import VerificationReport, verify_pdf

__all__ = [
    "DevPKI",
    "DevPKIError",
    "SealError",
    "SealInfo",
    "SignerProvider",
    "SigningError",
    "UnitSigner",
    "VerificationReport",
    "ensure_dev_pki",
    "verify_pdf",
]
