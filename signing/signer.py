"""PAdES signing of PDFs with a unit's key, kept loaded between signatures.

Owns: :class:`UnitSigner` (one per issuing unit, reused, thread-safe), :class:`SignerProvider`
(maps a ``SOHOA_SIGNING_KEY``-style spec to signers) and :class:`SigningError`.

Why the key is kept: pyHanko's ``SimpleSigner`` re-parses its DER private key for every
signature and, without ``bytes_reserved``, signs twice to size the CMS blob (DESIGN.md,
"Habits that make it fast"). :class:`_KeptKeySigner` keeps the parsed key object and
:class:`UnitSigner` reserves the signature size once.

Key specs understood by :class:`SignerProvider`:

* ``dev`` — the generated TEST PKI under ``keys_dir`` (see :mod:`signing.dev_pki`);
* ``pkcs12:/path/file.p12?pass_env=VAR`` (or ``pass_file=/path``; ``trust=/a.pem,/b.pem``
  names trust roots for verification) — one PKCS#12 for every unit;
* ``pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=LABEL;key=LABEL;pin_env=VAR``
  — see :mod:`signing.pkcs11` (phase 2).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.dev_pki import DevPKIError, ensure_dev_pki
from signing.seal import SealError, SealInfo, prepare_seal

log = logging.getLogger(__name__)


class SigningError(Exception):
    """A document cannot be signed (bad key, unusable certificate, unreadable PDF)."""


class _KeptKeySigner(signers.SimpleSigner):
    """``SimpleSigner`` that keeps the parsed private key instead of re-parsing it per call."""

    def __init__(self, *args, pyca_key, **kwargs):
        super().__init__(*args, **kwargs)
        self._pyca_key = pyca_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mech = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algo = mech.signature_algo
        except ValueError:
            algo = mech["algorithm"].native
        key = self._pyca_key
        if algo == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algo == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)  # rarer mechanisms: slow path


def _ku_names(cert: asn1_x509.Certificate) -> set[str]:
    ku = cert.key_usage_value
    return set(ku.native) if ku is not None else set()


def check_signing_certificate(
    cert: asn1_x509.Certificate, *, source: str, at: dt.datetime | None = None
) -> None:
    """Raise :class:`SigningError` unless ``cert`` is valid now and allows signing documents."""
    at = at or dt.datetime.now(dt.UTC)
    subject = cert.subject.human_friendly
    not_before = cert.not_valid_before
    not_after = cert.not_valid_after
    if at < not_before:
        raise SigningError(
            f"{source}: certificate '{subject}' is not valid yet "
            f"(valid from {not_before.isoformat()})"
        )
    if at > not_after:
        raise SigningError(
            f"{source}: certificate '{subject}' expired on {not_after.isoformat()}"
        )
    usages = _ku_names(cert)
    missing = {"digital_signature", "non_repudiation"} - usages
    if missing:
        raise SigningError(
            f"{source}: certificate '{subject}' lacks key usage {', '.join(sorted(missing))} "
            f"(has: {', '.join(sorted(usages)) or 'none'}); it cannot sign documents"
        )


def _estimate_bytes_reserved(signer: Signer, extra: int = 0) -> int:
    """Hex-encoded CMS size to reserve: certificates + signature + attributes, with margin."""
    certs = list(signer.cert_registry)
    if signer.signing_cert is not None:
        certs.append(signer.signing_cert)
    der = sum(len(c.dump()) for c in certs)
    sig = 512  # RSA-4096 or smaller / ECDSA
    raw = der + sig + 2048 + extra
    return ((2 * raw + 1023) // 1024) * 1024


class UnitSigner:
    """Signs PDFs for one issuing unit with a key that stays loaded; safe across threads."""

    def __init__(
        self,
        signer: Signer,
        *,
        source: str,
        timestamper=None,
        lock: threading.Lock | None = None,
    ) -> None:
        """``lock`` lets signers that share a device (one PKCS#11 session) serialise."""
        if signer.signing_cert is None:
            raise SigningError(f"{source}: the signer has no certificate")
        check_signing_certificate(signer.signing_cert, source=source)
        self._signer = signer
        self._source = source
        self._timestamper = timestamper
        self._level_meta: dict = {}
        self._lock = lock or threading.Lock()
        self._bytes_reserved = _estimate_bytes_reserved(
            signer, extra=12288 if timestamper is not None else 0
        )

    @classmethod
    def from_pkcs12(
        cls, path: Path | str, passphrase: bytes | None = None, *, timestamper=None
    ) -> UnitSigner:
        """Load a PKCS#12 file once; raise :class:`SigningError` naming the file on failure."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SigningError(f"{path}: cannot read the PKCS#12 file: {exc}") from exc
        try:
            key, cert, extra = serialization.pkcs12.load_key_and_certificates(data, passphrase)
        except (ValueError, TypeError) as exc:
            raise SigningError(
                f"{path}: not a PKCS#12 file or wrong passphrase ({exc})"
            ) from exc
        if key is None or cert is None:
            raise SigningError(f"{path}: the PKCS#12 file holds no private key or certificate")
        asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        registry = SimpleCertificateStore()
        registry.register_multiple(
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in extra
        )
        kinfo = asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        signer = _KeptKeySigner(
            signing_cert=asn1_cert, signing_key=kinfo, cert_registry=registry, pyca_key=key
        )
        return cls(signer, source=str(path), timestamper=timestamper)

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return self._signer.signing_cert

    @property
    def subject_cn(self) -> str:
        return self.certificate.subject.native.get("common_name", "")

    @property
    def source(self) -> str:
        return self._source

    def sign(
        self,
        pdf: bytes,
        *,
        reason: str,
        location: str | None = None,
        signer_name: str,
        field_name: str = "Signature1",
        seal: SealInfo | None = None,
    ) -> bytes:
        """Return ``pdf`` with a PAdES signature appended as an incremental update.

        With ``seal`` (see :mod:`signing.seal`), a QR code is first drawn top-left of page 1
        and the signature gets a visible box top-right (kind of copy, agency, ISO 8601 time),
        both inside the signed revision.
        """
        check_signing_certificate(self.certificate, source=self._source)
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            reason=reason,
            location=location,
            name=signer_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            **self._meta_extra(),
        )
        with self._lock:
            for _attempt in range(3):
                writer = _open_pdf(pdf)
                kwargs: dict = {}
                signing_time = None
                text_params = None
                if seal is not None:
                    try:
                        style, spec, text_params, signing_time = prepare_seal(
                            writer, seal, field_name=field_name
                        )
                    except SealError as exc:
                        raise SigningError(f"cannot draw the seal: {exc}") from exc
                    kwargs = {"stamp_style": style, "new_field_spec": spec}
                pdf_signer = _TimedPdfSigner(
                    meta, signer=self._signer, timestamper=self._timestamper,
                    signing_time=signing_time, **kwargs,
                )
                try:
                    out = pdf_signer.sign_pdf(
                        writer, bytes_reserved=self._bytes_reserved,
                        appearance_text_params=text_params,
                    )
                except (PdfError, ValueError) as exc:
                    if "larger than expected" not in str(exc):
                        raise SigningError(f"cannot sign the PDF: {exc}") from exc
                    log.info("signature larger than %d reserved bytes; retrying",
                             self._bytes_reserved)
                    self._bytes_reserved *= 2
                    continue
                return out.getvalue()
        raise SigningError("cannot sign the PDF: the signature never fit the reserved space")

    def _meta_extra(self) -> dict:
        """Extra PdfSignatureMetadata settings (PAdES level); overridden by level config."""
        return dict(self._level_meta)


class _TimedPdfSigner(signers.PdfSigner):
    """PdfSigner whose signing time is fixed up front, so the seal shows the signed time."""

    def __init__(self, *args, signing_time: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, *args, **kwargs):
        session = super().init_signing_session(*args, **kwargs)
        if self._signing_time is not None:
            session.system_time = self._signing_time
        return session


def _open_pdf(pdf: bytes) -> IncrementalPdfFileWriter:
    if not isinstance(pdf, (bytes, bytearray, memoryview)):
        raise SigningError(f"expected the PDF as bytes, got {type(pdf).__name__}")
    if not bytes(pdf[:1024]).lstrip().startswith(b"%PDF-"):
        raise SigningError("cannot read the PDF to sign: it does not start with %PDF-")
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise SigningError(f"cannot read the PDF to sign: {exc}") from exc


@dataclass
class _Pkcs12Spec:
    path: Path
    passphrase: bytes | None
    trust: list[Path]


def _parse_pkcs12_spec(spec: str) -> _Pkcs12Spec:
    rest = spec[len("pkcs12:"):]
    path_part, _, query = rest.partition("?")
    if not path_part:
        raise SigningError(f"signing key spec {spec!r}: missing the PKCS#12 path")
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    unknown = set(params) - {"pass_env", "pass_file", "trust"}
    if unknown:
        raise SigningError(
            f"signing key spec {spec!r}: unknown option(s) {', '.join(sorted(unknown))}"
        )
    passphrase: bytes | None = None
    if "pass_env" in params:
        var = params["pass_env"][0]
        if var not in os.environ:
            raise SigningError(
                f"signing key spec {spec!r}: environment variable {var} is not set"
            )
        passphrase = os.environ[var].encode()
    elif "pass_file" in params:
        pf = Path(params["pass_file"][0])
        try:
            passphrase = pf.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise SigningError(f"{pf}: cannot read the PKCS#12 passphrase file: {exc}") from exc
    trust = [Path(p) for v in params.get("trust", []) for p in v.split(",") if p]
    return _Pkcs12Spec(Path(path_part), passphrase, trust)


class SignerProvider:
    """Gives the :class:`UnitSigner` for a unit from a key spec; caches one signer per unit."""

    def __init__(self, keys_spec: str, keys_dir: Path, *, tsa: str | None = None) -> None:
        """``tsa``: None for PAdES B-B; ``"dev"`` for the TEST TSA of the dev PKI (B-T,
        no network); an ``http(s)://`` URL of an RFC 3161 time-stamping service (B-T)."""
        self.keys_spec = (keys_spec or "").strip()
        self.keys_dir = Path(keys_dir)
        self._lock = threading.Lock()
        self._signers: dict[str, UnitSigner] = {}
        self._shared: UnitSigner | None = None
        self._trust: list[Path] = []
        self._pki = None
        spec = self.keys_spec
        if spec == "dev":
            try:
                self._pki = ensure_dev_pki(self.keys_dir)
            except DevPKIError as exc:
                raise SigningError(str(exc)) from exc
            self._trust = self._pki.trust_roots()
        elif spec.startswith("pkcs12:"):
            p = _parse_pkcs12_spec(spec)
            self._pkcs12 = p
            self._trust = p.trust
        elif spec.startswith("pkcs11:"):
            from signing.pkcs11 import parse_pkcs11_spec

            self._pkcs11 = parse_pkcs11_spec(spec)
            self._trust = self._pkcs11.trust
        else:
            raise SigningError(
                f"signing key spec {spec!r} is not understood: use 'dev', "
                "'pkcs12:/path/file.p12?pass_env=VAR' or 'pkcs11:module=...;token=...;key=...'"
            )
        self._timestamper = self._make_timestamper(tsa)

    def _make_timestamper(self, tsa: str | None):
        if not tsa:
            return None
        if tsa == "dev":
            from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
            from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

            pki = self._pki or ensure_dev_pki(self.keys_dir)
            cert_path, key_path = pki.tsa_credentials()
            registry = SimpleCertificateStore()
            registry.register(load_cert_from_pemder(str(pki.intermediate_cert_path)))
            if pki.root_cert_path not in self._trust:
                self._trust.append(pki.root_cert_path)
            return DummyTimeStamper(
                tsa_cert=load_cert_from_pemder(str(cert_path)),
                tsa_key=load_private_key_from_pemder(str(key_path), passphrase=None),
                certs_to_embed=registry,
            )
        if tsa.startswith(("http://", "https://")):
            from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

            return RequestsHTTPTimeStamper(tsa, https=tsa.startswith("https://"), timeout=10)
        raise SigningError(f"time-stamping service {tsa!r}: use 'dev' or an http(s):// URL")

    @property
    def is_test_pki(self) -> bool:
        """True when signatures come from the generated TEST PKI (never for real documents)."""
        return self._pki is not None

    def for_unit(self, unit_code: str, unit_name: str) -> UnitSigner:
        """The signer for a unit, created on first use and reused afterwards."""
        with self._lock:
            if self._pki is not None:
                signer = self._signers.get(unit_code)
                if signer is None:
                    try:
                        path = self._pki.unit_pkcs12(unit_code, unit_name)
                        signer = UnitSigner.from_pkcs12(
                            path, self._pki.unit_passphrase(unit_code),
                            timestamper=self._timestamper,
                        )
                    except DevPKIError as exc:
                        raise SigningError(str(exc)) from exc
                    self._signers[unit_code] = signer
                return signer
            if self._shared is None:
                if self.keys_spec.startswith("pkcs12:"):
                    self._shared = UnitSigner.from_pkcs12(
                        self._pkcs12.path, self._pkcs12.passphrase,
                        timestamper=self._timestamper,
                    )
                else:
                    from signing.pkcs11 import open_pkcs11_signer

                    self._shared = open_pkcs11_signer(
                        self._pkcs11, timestamper=self._timestamper
                    )
            return self._shared

    def trust_roots(self) -> list[Path]:
        """PEM files of the roots that verify this provider's signatures."""
        return list(self._trust)

    def close(self) -> None:
        """Forget cached signers and close PKCS#11 sessions (call at shutdown)."""
        with self._lock:
            self._signers.clear()
            self._shared = None
        if self.keys_spec.startswith("pkcs11:"):
            from signing.pkcs11 import close_sessions

            close_sessions()
