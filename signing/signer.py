"""PAdES signing of PDFs with a unit's key, kept loaded between signatures.

Owns: :class:`UnitSigner` (one per issuing unit, reused, thread-safe), :class:`SignerProvider`
(maps a ``SOHOA_SIGNING_KEY``-style spec, parsed into a typed :mod:`signing.keysource` config,
to signers per unit and per agency) and :class:`SigningError`.

Why the key is kept: pyHanko's ``SimpleSigner`` re-parses its DER private key for every
signature and, without ``bytes_reserved``, signs twice to size the CMS blob (DESIGN.md,
"Habits that make it fast"). :class:`_KeptKeySigner` keeps the parsed key object and
:class:`UnitSigner` reserves the signature size once.

Key specs understood by :class:`SignerProvider`:

* ``dev`` — the generated TEST PKI under ``keys_dir`` (see :mod:`signing.dev_pki`);
* ``pkcs12:/path/file.p12?pass_env=VAR`` (or ``pass_file=/path``; ``trust=/a.pem,/b.pem``
  names trust roots for verification) — one PKCS#12 for every unit;
* ``pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=LABEL;key=LABEL;pin_env=VAR``
  — see :mod:`signing.pkcs11`;
* ``map:/path/keys.toml`` — one key per agency or issuing unit, see :mod:`signing.keymap`;
* an agency's own ``pkcs12:``/``pkcs11:`` spec (from the catalog) wins over all of these,
  see :meth:`SignerProvider.for_agency`.

PAdES levels (``level=``, from ``SOHOA_SIGNATURE_LEVEL``): ``B-B``; ``B-T`` adds an RFC 3161
signature timestamp (``tsa=``, from ``SOHOA_TSA_URL``); ``B-LT`` also embeds the OCSP
responses / CRLs of the signer's and the TSA's chains in the document security store (DSS);
``B-LTA`` then adds a document timestamp. From B-LT up the signer's certificate is checked
online (OCSP/CRL, hard-fail) before each signature: a revoked certificate is refused.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import io
import logging
import os
import threading
import time
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
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, RevokedError, ValidationError
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.dev_pki import DevPKIError, ensure_dev_pki
from signing.errors import SigningError, SigningServiceUnavailable  # noqa: F401 - re-exported
from signing.seal import SealError, SealInfo, prepare_seal

log = logging.getLogger(__name__)


LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


def _revocation_urls(certs) -> set[str]:
    urls: set[str] = set()
    for cert in certs:
        urls.update(cert.ocsp_urls or [])
        for dp in cert.crl_distribution_points or []:
            name = dp["distribution_point"]
            if name.name == "full_name":
                urls.update(g.native for g in name.chosen if g.name == "uniform_resource_identifier")
    return urls


def unreachable(urls) -> list[str]:
    """The http(s) URLs whose host does not accept a TCP connection within 3 s."""
    import socket

    down = []
    for url in sorted(urls):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=3).close()
        except OSError:
            down.append(url)
    return down


def normalize_level(level: str | None) -> str:
    """``"b-lt"`` -> ``"B-LT"``; raise :class:`SigningError` for an unknown PAdES level."""
    value = (level or "B-B").strip().upper().replace("_", "-")
    if not value.startswith("B-"):
        value = "B-" + value.removeprefix("B")
    if value not in LEVELS:
        raise SigningError(
            f"signature level {level!r} is not understood: use one of {', '.join(LEVELS)}"
        )
    return value


def run_sync(coro_fn, *args, **kwargs):
    """Run an async pyHanko call from sync code, in a worker thread if a loop is running."""
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    if not running:
        return asyncio.run(coro_fn(*args, **kwargs))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
        return ex.submit(lambda: asyncio.run(coro_fn(*args, **kwargs))).result()


# every certificate of the chain (signer, intermediates) must have an OCSP answer or a CRL:
# "hard-fail" alone would accept a certificate that names no revocation service at all
REQUIRE_REVOCATION = CertRevTrustPolicy(REQUIRE_REVINFO)


# A validation context fixes its moment when it is built, and a signer reuses its context (and
# the answers in it) for up to `revocation_max_age`: an OCSP answer or CRL fetched later carries
# a thisUpdate after that moment, which pyHanko's default 1 s tolerance calls "too recent" (seen
# on a loaded machine as random B-LT/B-LTA failures). The tolerance covers the reuse window
# plus clock skew between us and the responder.
REVOCATION_TIME_TOLERANCE = dt.timedelta(minutes=5)


def online_validation_context(trust_roots: list, other_certs: list | None = None):
    """A context that fetches OCSP/CRL over HTTP and fails when it cannot check a cert."""
    from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

    return ValidationContext(
        trust_roots=trust_roots, other_certs=other_certs or [], allow_fetching=True,
        revinfo_policy=REQUIRE_REVOCATION, fetcher_backend=RequestsFetcherBackend(10),
        time_tolerance=REVOCATION_TIME_TOLERANCE,
    )


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
        level: str | None = None,
        trust_roots: list | None = None,
        revocation_max_age: float = 60.0,
    ) -> None:
        """``lock`` lets signers that share a device (one PKCS#11 session) serialise.

        ``level``: PAdES level (default B-T with a timestamper, else B-B); B-T and up need
        ``timestamper``, B-LT and up ``trust_roots`` (asn1crypto certificates). Fetched
        revocation information is reused for ``revocation_max_age`` seconds.
        """
        if signer.signing_cert is None:
            raise SigningError(f"{source}: the signer has no certificate")
        check_signing_certificate(signer.signing_cert, source=source)
        self._signer = signer
        self._source = source
        self._timestamper = timestamper
        self.level = normalize_level(level or ("B-T" if timestamper is not None else "B-B"))
        if self.level != "B-B" and timestamper is None:
            raise SigningError(
                f"{source}: PAdES {self.level} needs a time-stamping service (SOHOA_TSA_URL)"
            )
        self._trust_roots = list(trust_roots or [])
        if self.level in ("B-LT", "B-LTA") and not self._trust_roots:
            raise SigningError(
                f"{source}: PAdES {self.level} needs trust roots to collect revocation data"
            )
        self._revocation_max_age = revocation_max_age
        self._vc: ValidationContext | None = None
        self._vc_at = 0.0
        self._lock = lock or threading.Lock()
        self._bytes_reserved = _estimate_bytes_reserved(
            signer, extra=12288 if timestamper is not None else 0
        )

    @classmethod
    def from_pkcs12(
        cls, path: Path | str, passphrase: bytes | None = None, *, timestamper=None, **options
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
        return cls(signer, source=str(path), timestamper=timestamper, **options)

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
        output=None,
        contact_info: str | None = None,
    ) -> bytes:
        """Return ``pdf`` with a PAdES signature appended as an incremental update.

        With ``seal`` (see :mod:`signing.seal`), a QR code is first drawn on page 1 and the
        signature gets a visible box (kind of copy, agency, ISO 8601 time), both inside the
        signed revision, where ``seal.layout`` puts them (else in a strip above the page).
        ``signer_name`` goes to the signature's /Name (the agency that made the copy) and
        ``contact_info`` (default: the seal's agency code) to its /ContactInfo.
        """
        check_signing_certificate(self.certificate, source=self._source)
        extra = self._meta_extra()
        if self.level in ("B-LT", "B-LTA"):
            vc = self._revocation_context()
            extra.update(embed_validation_info=True, validation_context=vc,
                         use_pades_lta=self.level == "B-LTA")
            if self.level == "B-LTA":
                extra["timestamp_field_name"] = "ArchiveTimestamp1"
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            reason=reason,
            location=location,
            name=signer_name,
            contact_info=contact_info or (seal.agency_code if seal is not None else None),
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            **extra,
        )
        with self._lock:
            for _attempt in range(5):  # doubling the reservation each time
                writer = _open_pdf(pdf)
                if output is not None:
                    output.seek(0)
                    output.truncate()
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
                        appearance_text_params=text_params, output=output,
                    )
                except (PdfError, ValueError) as exc:
                    if "larger than expected" not in str(exc):
                        raise SigningError(f"cannot sign the PDF: {exc}") from exc
                    log.info("signature larger than %d reserved bytes; retrying",
                             self._bytes_reserved)
                    self._bytes_reserved *= 2
                    continue
                except TimestampRequestError as exc:
                    url = getattr(self._timestamper, "url", "TEST TSA")
                    raise SigningServiceUnavailable(
                        f"time-stamping service {url} unreachable or failing: {exc}"
                    ) from exc
                except (ValidationError, PathBuildingError) as exc:
                    raise SigningError(
                        f"{self._source}: cannot collect revocation data for PAdES "
                        f"{self.level}: {exc}"
                    ) from exc
                return out if output is not None else out.getvalue()
        raise SigningError("cannot sign the PDF: the signature never fit the reserved space")

    def sign_file(self, src: Path, dst: Path, **kwargs) -> None:
        """Like :meth:`sign`, from file to file: the PDF is streamed, never held whole."""
        with open(src, "rb") as handle, open(dst, "wb") as out:
            self.sign(handle, output=out, **kwargs)
            out.flush()
            os.fsync(out.fileno())

    def check_revocation(self) -> None:
        """Raise :class:`SigningError` if the certificate is revoked or cannot be checked.

        Uses OCSP/CRL over the network (hard-fail); only meaningful from B-LT up, where the
        answers are also what gets embedded.
        """
        self._revocation_context(force=True)

    def _revocation_context(self, force: bool = False) -> ValidationContext:
        """A validation context that has just checked this signer's certificate online."""
        now = time.monotonic()
        if not force and self._vc is not None and now - self._vc_at < self._revocation_max_age:
            return self._vc
        vc = online_validation_context(self._trust_roots, list(self._signer.cert_registry))
        cert = self.certificate
        subject = cert.subject.human_friendly
        validator = CertificateValidator(
            cert, intermediate_certs=list(self._signer.cert_registry), validation_context=vc
        )
        try:
            run_sync(validator.async_validate_usage, set())
        except RevokedError as exc:
            raise SigningError(
                f"{self._source}: certificate '{subject}' is REVOKED ({exc}); "
                "it must not sign documents"
            ) from exc
        except (ValidationError, PathBuildingError) as exc:
            down = unreachable(_revocation_urls([cert, *self._signer.cert_registry]))
            if down:
                raise SigningServiceUnavailable(
                    f"{self._source}: revocation service(s) unreachable: {', '.join(down)}"
                ) from exc
            raise SigningError(
                f"{self._source}: cannot confirm that certificate '{subject}' is valid and "
                f"not revoked (PAdES {self.level} needs OCSP/CRL answers): {exc}"
            ) from exc
        self._vc, self._vc_at = vc, now
        return vc

    def _meta_extra(self) -> dict:
        """Extra PdfSignatureMetadata settings; a hook for subclasses."""
        return {}


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


def _open_pdf(pdf) -> IncrementalPdfFileWriter:
    """A writer over PDF bytes, or over an open binary file (read as a stream)."""
    if isinstance(pdf, (bytes, bytearray, memoryview)):
        head, stream = bytes(pdf[:1024]), io.BytesIO(pdf)
    elif hasattr(pdf, "read") and hasattr(pdf, "seek"):
        pdf.seek(0)
        head, stream = pdf.read(1024), pdf
        pdf.seek(0)
    else:
        raise SigningError(f"expected the PDF as bytes or a file, got {type(pdf).__name__}")
    if not head.lstrip().startswith(b"%PDF-"):
        raise SigningError("cannot read the PDF to sign: it does not start with %PDF-")
    try:
        return IncrementalPdfFileWriter(stream, strict=False)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise SigningError(f"cannot read the PDF to sign: {exc}") from exc


def _spec_label(spec: str) -> str:
    """A key spec without its options (no secrets in reports): 'pkcs12:/path/unit.p12'."""
    if spec.startswith("pkcs12:"):
        return spec.partition("?")[0]
    if spec.startswith("pkcs11:"):
        kept = [p for p in spec[len("pkcs11:"):].split(";") if p.split("=")[0] in ("token", "key")]
        return "pkcs11:" + ";".join(kept)
    return spec


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
    """Gives the :class:`UnitSigner` for a unit from a key spec; caches one signer per key."""

    def __init__(
        self,
        keys_spec: str,
        keys_dir: Path,
        *,
        tsa: str | None = None,
        level: str | None = None,
        revocation_max_age: float = 60.0,
    ) -> None:
        """``tsa``: None (no timestamps), ``"dev"`` for the in-process TEST TSA of the dev
        PKI, or the ``http(s)://`` URL of an RFC 3161 time-stamping service.
        ``level``: ``B-B``, ``B-T``, ``B-LT`` or ``B-LTA`` (default: B-T when ``tsa`` is
        given, else B-B). From B-T up with the dev PKI and no ``tsa``, the TEST TSA is used
        (its loopback service when the PKI has one)."""
        self.keys_spec = (keys_spec or "").strip()
        self.keys_dir = Path(keys_dir)
        self.level = normalize_level(level or ("B-T" if tsa else "B-B"))
        self._revocation_max_age = revocation_max_age
        self._lock = threading.Lock()
        self._signers: dict[str, UnitSigner] = {}  # dev PKI: per unit code
        self._by_spec: dict[str, UnitSigner] = {}  # pkcs12/pkcs11: per key spec
        self._trust: list[Path] = []
        self._pki = None
        self._map = None
        from signing.keysource import DevKeySource, KeyMapSource, parse_key_source

        # the typed config (signing.keysource); every spec is parsed now: errors at start-up
        self.source = parse_key_source(self.keys_spec)
        if isinstance(self.source, DevKeySource):
            try:
                self._pki = ensure_dev_pki(self.keys_dir)
            except DevPKIError as exc:
                raise SigningError(str(exc)) from exc
            self._trust = self._pki.trust_roots()
            if not tsa and self.level != "B-B":
                services = self._pki.services_url
                tsa = f"{services}/tsa" if services else "dev"
        else:
            if isinstance(self.source, KeyMapSource):
                self._map = self.source
            self._trust = list(self.source.trust)
        if self.level != "B-B" and not tsa:
            raise SigningError(
                f"PAdES {self.level} needs a time-stamping service: set SOHOA_TSA_URL"
            )
        self.tsa = tsa
        self._timestamper = self._make_timestamper(tsa)

    def _make_timestamper(self, tsa: str | None):
        if not tsa:
            return None
        if tsa == "dev":
            from signing.pki_services import test_timestamper

            pki = self._pki or ensure_dev_pki(self.keys_dir)
            if pki.root_cert_path not in self._trust:
                self._trust.append(pki.root_cert_path)
            return test_timestamper(pki)
        if tsa.startswith(("http://", "https://")):
            from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

            return RequestsHTTPTimeStamper(tsa, https=tsa.startswith("https://"), timeout=10)
        raise SigningError(f"time-stamping service {tsa!r}: use 'dev' or an http(s):// URL")

    @property
    def is_test_pki(self) -> bool:
        """True when signatures come from the generated TEST PKI (never for real documents)."""
        return self._pki is not None

    @property
    def timestamper(self):
        """The pyHanko timestamper (None at B-B); also used to extend archival timestamps."""
        return self._timestamper

    def trust_root_certs(self) -> list:
        """The trust roots as asn1crypto certificates."""
        from pyhanko.keys import load_certs_from_pemder

        certs = []
        for p in self._trust:
            try:
                certs.extend(load_certs_from_pemder([str(p)]))
            except (OSError, ValueError) as exc:
                raise SigningError(f"{p}: cannot read the trust root: {exc}") from exc
        return certs

    def _options(self) -> dict:
        roots = self.trust_root_certs() if self.level in ("B-LT", "B-LTA") else []
        ts = self._timestamper if self.level != "B-B" else None  # a TSA may serve refresh only
        return {"timestamper": ts, "level": self.level, "trust_roots": roots,
                "revocation_max_age": self._revocation_max_age}

    def _open(self, source) -> UnitSigner:
        """The loaded signer of a single-key source (cached by its spec)."""
        signer = self._by_spec.get(source.spec)
        if signer is None:
            signer = source.open(**self._options())
            if signer.level in ("B-LT", "B-LTA"):
                signer.check_revocation()  # refuse a revoked certificate before any document
            self._by_spec[source.spec] = signer
        return signer

    def for_unit(self, unit_code: str, unit_name: str) -> UnitSigner:
        """The signer for a unit, created on first use and reused afterwards."""
        with self._lock:
            if self._pki is not None:
                signer = self._signers.get(unit_code)
                if signer is None:
                    try:
                        path = self._pki.unit_pkcs12(unit_code, unit_name)
                        signer = UnitSigner.from_pkcs12(
                            path, self._pki.unit_passphrase(unit_code), **self._options()
                        )
                    except DevPKIError as exc:
                        raise SigningError(str(exc)) from exc
                    if signer.level in ("B-LT", "B-LTA"):
                        signer.check_revocation()
                    self._signers[unit_code] = signer
                return signer
            if self._map is not None:
                return self._open(self._map.source_for(unit_code))
            return self._open(self.source)

    def for_agency(
        self,
        agency_code: str,
        agency_name: str,
        *,
        unit_code: str,
        unit_name: str,
        key_spec: str | None = None,
    ) -> UnitSigner:
        """The signer of the copies an agency makes, created on first use and reused.

        Its key: ``key_spec`` (the agency's own, from the catalog), else the key map's
        ``[agencies]`` entry, else its unit's key (see :meth:`for_unit`). With the TEST PKI
        each agency gets a TEST certificate naming it."""
        if key_spec:
            from signing.keysource import parse_single

            try:
                source = parse_single(key_spec)
            except SigningError as exc:
                raise SigningError(f"agency {agency_code}: {exc}") from None
            with self._lock:
                self._trust.extend(t for t in source.trust if t not in self._trust)
                return self._open(source)
        if self._pki is not None:
            return self.for_unit(f"agency-{agency_code}", agency_name)
        if self._map is not None:
            with self._lock:
                return self._open(self._map.source_for(unit_code, agency_code))
        return self.for_unit(unit_code, unit_name)

    def key_certificates(self) -> list[tuple[str, asn1_x509.Certificate]]:
        """(label, certificate) of every configured key, each opened once (errors raise): what
        `sohoa doctor` checks for expiry. The TEST PKI reports its CA and the units it issued."""
        if self._pki is not None:
            from pyhanko.keys import load_cert_from_pemder

            return [("TEST CA", load_cert_from_pemder(str(self._pki.root_cert_path)))]
        sources = (list(self._map.sources.values()) if self._map is not None
                   else [self.source])
        with self._lock:
            return [(_spec_label(source.spec), self._open(source).certificate)
                    for source in sources]

    def trust_roots(self) -> list[Path]:
        """PEM files of the roots that verify this provider's signatures."""
        return list(self._trust)

    def close(self) -> None:
        """Forget cached signers and close PKCS#11 sessions (call at shutdown)."""
        with self._lock:
            tokens = any(spec.startswith("pkcs11:") for spec in self._by_spec)
            self._signers.clear()
            self._by_spec.clear()
        if tokens or "pkcs11:" in self.keys_spec or self._map is not None:
            from signing.pkcs11 import close_sessions

            close_sessions()
