"""A generated TEST PKI for development and tests (never for real documents).

Owns: a self-signed root CA whose name says "TEST — not a real CA", one intermediate CA,
and on demand one signing certificate per issuing unit, saved as PKCS#12.

Layout under ``keys_dir`` (created with mode 0700)::

    root-ca.pem, root-ca.key.pem                 TEST root (key: 0600, unencrypted PEM)
    intermediate-ca.pem, intermediate-ca.key.pem TEST intermediate
    units/<unit_code>.p12                        unit key + cert + intermediate (0600)
    units/<unit_code>.p12.pass                   random passphrase of that PKCS#12 (0600)
    tsa.pem, tsa.key.pem                         TEST time-stamping authority (on demand)
    services.url                                 base URL of loopback OCSP/CRL/TSA (tests only)
    issued/<serial hex>                          serials issued by the intermediate (for OCSP)
    revoked/<serial hex>                         revoked serials: content = ISO revocation time

Real dev use has no network services, so by default no certificate carries revocation URLs.
Tests (and the benchmark) pass ``services_url`` to :func:`ensure_dev_pki`: the intermediate
then names the root's CRL, and unit and TSA certificates name an OCSP responder and a CRL,
all served on 127.0.0.1 by :mod:`signing.pki_services` — this is what PAdES B-LT embeds.

The PKCS#12 files carry a passphrase so that the dev path exercises the same loading code as a
real, passphrase-protected file; the passphrase sits beside it because this PKI protects nothing.
Creation is idempotent and safe for concurrent processes: an ``flock`` on ``keys_dir/.lock``
serialises creation and each file is written to a temporary name then renamed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

ROOT_CN = "sohoa TEST — not a real CA"
INTERMEDIATE_CN = "sohoa TEST intermediate — not a real CA"
TEST_ORG = "sohoa TEST PKI"
# RFC 9336 id-kp-documentSigning; emailProtection is kept too because NSS (pdfsig) checks
# signer certificates against the e-mail signer usage.
DOCUMENT_SIGNING_EKU = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
UNIT_VALIDITY = dt.timedelta(days=3 * 365)
_UNIT_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$")


class DevPKIError(Exception):
    """The TEST PKI folder is unusable (bad permissions, corrupt file, bad unit code)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(keys_dir: Path) -> Iterator[None]:
    with open(keys_dir / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _revocation_extensions(
    builder: x509.CertificateBuilder, services_url: str | None, issuer: str
) -> x509.CertificateBuilder:
    """Add CRL distribution point (and OCSP for end entities) pointing at ``services_url``."""
    if not services_url:
        return builder
    crl = x509.UniformResourceIdentifier(f"{services_url}/crl/{issuer}.crl")
    builder = builder.add_extension(
        x509.CRLDistributionPoints([x509.DistributionPoint([crl], None, None, None)]),
        critical=False,
    )
    if issuer == "intermediate":
        builder = builder.add_extension(
            x509.AuthorityInformationAccess([
                x509.AccessDescription(
                    x509.oid.AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(f"{services_url}/ocsp"),
                )
            ]),
            critical=False,
        )
    return builder


def _ca_cert(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    days: int,
    path_length: int,
    services_url: str | None = None,
) -> x509.Certificate:
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if issuer != subject:
        builder = _revocation_extensions(builder, services_url, "root")
    return builder.sign(issuer_key, hashes.SHA256())


def _name(cn: str, *, ou: str | None = None, serial: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_ORG),
    ]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(attrs)


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise DevPKIError(f"{path}: cannot read the TEST certificate: {exc}") from exc


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise DevPKIError(f"{path}: cannot read the TEST private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DevPKIError(f"{path}: expected an RSA key")
    return key


def check_unit_code(unit_code: str) -> str:
    """Return ``unit_code`` if it is safe as a file name, else raise :class:`DevPKIError`."""
    if not isinstance(unit_code, str) or not _UNIT_CODE_RE.match(unit_code):
        raise DevPKIError(
            f"unit code {unit_code!r} is not usable: use letters, digits, '.', '_' or '-'"
        )
    return unit_code


@dataclass(frozen=True)
class DevPKI:
    """Handle on a TEST PKI folder created by :func:`ensure_dev_pki`."""

    keys_dir: Path

    @property
    def root_cert_path(self) -> Path:
        return self.keys_dir / "root-ca.pem"

    @property
    def intermediate_cert_path(self) -> Path:
        return self.keys_dir / "intermediate-ca.pem"

    @property
    def units_dir(self) -> Path:
        return self.keys_dir / "units"

    @property
    def services_url(self) -> str | None:
        """Base URL of the loopback OCSP/CRL/TSA services, or None (the default)."""
        f = self.keys_dir / "services.url"
        try:
            return f.read_text().strip() or None
        except FileNotFoundError:
            return None

    def _record_issued(self, cert: x509.Certificate) -> None:
        d = self.keys_dir / "issued"
        d.mkdir(exist_ok=True, mode=0o700)
        _write_atomic(d / format(cert.serial_number, "x"), b"", mode=0o644)

    def is_issued(self, serial: int) -> bool:
        return (self.keys_dir / "issued" / format(serial, "x")).exists()

    def revoke(self, cert: x509.Certificate, at: dt.datetime | None = None) -> None:
        """Mark a TEST certificate revoked: the loopback OCSP responder and CRL report it."""
        d = self.keys_dir / "revoked"
        d.mkdir(exist_ok=True, mode=0o700)
        when = (at or _now()).replace(microsecond=0)
        _write_atomic(d / format(cert.serial_number, "x"), when.isoformat().encode(), mode=0o644)

    def revoked(self) -> dict[int, dt.datetime]:
        """Serial number -> revocation time of every revoked TEST certificate."""
        d = self.keys_dir / "revoked"
        if not d.is_dir():
            return {}
        return {int(f.name, 16): dt.datetime.fromisoformat(f.read_text().strip())
                for f in d.iterdir() if not f.name.startswith(".")}

    def trust_roots(self) -> list[Path]:
        """PEM files of the trust anchors a validator needs (only the TEST root)."""
        return [self.root_cert_path]

    def chain_paths(self) -> list[Path]:
        """CA certificates (root first) for tools that want the whole chain (e.g. NSS)."""
        return [self.root_cert_path, self.intermediate_cert_path]

    def tsa_credentials(self) -> tuple[Path, Path]:
        """(certificate, key) PEM paths of the TEST time-stamping authority, made on demand."""
        cert_path, key_path = self.keys_dir / "tsa.pem", self.keys_dir / "tsa.key.pem"
        if cert_path.exists() and key_path.exists():
            return cert_path, key_path
        with _locked(self.keys_dir):
            if cert_path.exists() and key_path.exists():
                return cert_path, key_path
            ca_key = _load_key(self.keys_dir / "intermediate-ca.key.pem")
            ca_cert = _load_cert(self.intermediate_cert_path)
            key = _new_key()
            now = _now()
            cert = (
                x509.CertificateBuilder()
                .subject_name(_name("sohoa TEST time-stamping authority — not real"))
                .issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(hours=1))
                .not_valid_after(now + dt.timedelta(days=5 * 365))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True, content_commitment=True,
                        key_encipherment=False, data_encipherment=False, key_agreement=False,
                        key_cert_sign=False, crl_sign=False, encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
                )
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                    critical=False,
                )
            )
            cert = _revocation_extensions(cert, self.services_url, "intermediate").sign(
                ca_key, hashes.SHA256()
            )
            self._record_issued(cert)
            _write_atomic(key_path, _key_pem(key))
            _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
        return cert_path, key_path

    def unit_passphrase(self, unit_code: str) -> bytes:
        path = self.units_dir / f"{check_unit_code(unit_code)}.p12.pass"
        try:
            return path.read_bytes().strip()
        except OSError as exc:
            raise DevPKIError(f"{path}: cannot read the PKCS#12 passphrase: {exc}") from exc

    def unit_pkcs12(self, unit_code: str, unit_name: str) -> Path:
        """Path of the unit's TEST PKCS#12, created on first use (idempotent)."""
        check_unit_code(unit_code)
        p12 = self.units_dir / f"{unit_code}.p12"
        if p12.exists() and (self.units_dir / f"{unit_code}.p12.pass").exists():
            return p12
        with _locked(self.keys_dir):
            if p12.exists() and (self.units_dir / f"{unit_code}.p12.pass").exists():
                return p12
            self.issue_unit_pkcs12(unit_code, unit_name, out=p12)
        return p12

    def issue_unit_pkcs12(
        self,
        unit_code: str,
        unit_name: str,
        *,
        out: Path,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        signing_usages: bool = True,
    ) -> Path:
        """Issue a fresh unit certificate into ``out`` (+ ``out``.pass); overwrites.

        ``not_before``/``not_after``/``signing_usages`` exist so tests can make expired,
        not-yet-valid or wrongly-constrained certificates.
        """
        check_unit_code(unit_code)
        if not unit_name or not unit_name.strip():
            raise DevPKIError(f"unit {unit_code}: the unit name is empty")
        ca_key = _load_key(self.keys_dir / "intermediate-ca.key.pem")
        ca_cert = _load_cert(self.intermediate_cert_path)
        key = _new_key()
        now = _now()
        not_before = not_before or now - dt.timedelta(hours=1)
        not_after = not_after or now + UNIT_VALIDITY
        cn = unit_name if "TEST" in unit_name else f"{unit_name} (TEST)"
        subject = _name(cn[:64], ou=f"unit {unit_code} TEST", serial=unit_code)
        if signing_usages:
            usage = x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            )
        else:
            usage = x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            )
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION]
                ),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        cert = _revocation_extensions(cert, self.services_url, "intermediate").sign(
            ca_key, hashes.SHA256()
        )
        self._record_issued(cert)
        passphrase = secrets.token_urlsafe(24).encode()
        data = pkcs12.serialize_key_and_certificates(
            name=unit_code.encode(),
            key=key,
            cert=cert,
            cas=[ca_cert],
            encryption_algorithm=serialization.BestAvailableEncryption(passphrase),
        )
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # passphrase first: a reader that sees the .p12 can always open it
        _write_atomic(out.with_name(out.name + ".pass"), passphrase + b"\n")
        _write_atomic(out, data)
        return out


def ensure_dev_pki(keys_dir: Path, *, services_url: str | None = None) -> DevPKI:
    """Create (once) the TEST root and intermediate under ``keys_dir``; return a handle.

    ``services_url`` (tests only, e.g. ``http://127.0.0.1:PORT``): certificates of a NEW
    PKI carry CRL/OCSP URLs under it; it cannot be added to an existing PKI.
    """
    keys_dir = Path(keys_dir)
    try:
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (keys_dir / "units").mkdir(exist_ok=True, mode=0o700)
    except OSError as exc:
        raise DevPKIError(f"{keys_dir}: cannot create the TEST PKI folder: {exc}") from exc
    pki = DevPKI(keys_dir)
    needed = [
        pki.root_cert_path, keys_dir / "root-ca.key.pem",
        pki.intermediate_cert_path, keys_dir / "intermediate-ca.key.pem",
    ]
    if all(p.exists() for p in needed):
        return _check_services(pki, services_url)
    with _locked(keys_dir):
        if all(p.exists() for p in needed):
            return _check_services(pki, services_url)
        if services_url:
            _write_atomic(keys_dir / "services.url", services_url.rstrip("/").encode(), 0o644)
        else:
            with contextlib.suppress(FileNotFoundError):
                (keys_dir / "services.url").unlink()
        services_url = pki.services_url
        root_key = _new_key()
        root_name = _name(ROOT_CN)
        root = _ca_cert(root_name, root_key, root_name, root_key, days=10 * 365, path_length=1)
        inter_key = _new_key()
        inter = _ca_cert(
            _name(INTERMEDIATE_CN), inter_key, root_name, root_key, days=8 * 365, path_length=0,
            services_url=services_url,
        )
        # any unit certificates from an older root would no longer chain: drop them
        for old in [*(keys_dir / "units").glob("*.p12*"), *keys_dir.glob("tsa*.pem"),
                    *keys_dir.glob("issued/*"), *keys_dir.glob("revoked/*")]:
            old.unlink()
        _write_atomic(keys_dir / "root-ca.key.pem", _key_pem(root_key))
        _write_atomic(keys_dir / "intermediate-ca.key.pem", _key_pem(inter_key))
        _write_atomic(pki.intermediate_cert_path, inter.public_bytes(serialization.Encoding.PEM),
                      mode=0o644)
        # the root last: its presence marks a complete PKI
        _write_atomic(pki.root_cert_path, root.public_bytes(serialization.Encoding.PEM),
                      mode=0o644)
    return pki


def _check_services(pki: DevPKI, services_url: str | None) -> DevPKI:
    if services_url and pki.services_url != services_url.rstrip("/"):
        raise DevPKIError(
            f"{pki.keys_dir}: this TEST PKI was made for services at {pki.services_url!r}, "
            f"not {services_url!r}; use a fresh folder"
        )
    return pki
