"""Signing keys on a PKCS#11 token or HSM (USB token, HSM, SoftHSM2 in tests).

Owns: parsing of ``pkcs11:`` key specs, one long-lived session per token (signatures on a
token are serialised by one lock), and :func:`import_pkcs12_to_token` to load a PKCS#12
(e.g. a TEST unit key) into a token such as SoftHSM2.

Spec: ``pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=LABEL;key=LABEL[;cert=LABEL]
[;pin_env=VAR | ;pin_file=/path][;trust=/root.pem,/other.pem]``. The PIN is read from the
named environment variable or file; it is never logged nor put in an error message.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from signing.signer import SigningError, UnitSigner

_SESSIONS: dict[tuple[str, str], _TokenSession] = {}
_SESSIONS_LOCK = threading.Lock()


@dataclass
class Pkcs11Spec:
    module: str
    token: str
    key: str
    cert: str | None = None
    pin_env: str | None = None
    pin_file: Path | None = None
    trust: list[Path] = field(default_factory=list)

    def pin(self) -> str | None:
        if self.pin_env:
            value = os.environ.get(self.pin_env)
            if value is None:
                raise SigningError(
                    f"PKCS#11 token {self.token!r}: environment variable {self.pin_env} "
                    "(the PIN) is not set"
                )
            return value
        if self.pin_file:
            try:
                return self.pin_file.read_text().strip()
            except OSError as exc:
                raise SigningError(
                    f"{self.pin_file}: cannot read the PIN file of token {self.token!r}: "
                    f"{exc.strerror}"
                ) from None
        return None  # protected authentication path or a token without login


def parse_pkcs11_spec(spec: str) -> Pkcs11Spec:
    """Parse a ``pkcs11:`` key spec; raise :class:`SigningError` naming what is wrong."""
    body = spec[len("pkcs11:"):] if spec.startswith("pkcs11:") else spec
    opts: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in body.split(";"))):
        name, sep, value = part.partition("=")
        if not sep or not value:
            raise SigningError(f"PKCS#11 key spec: {part!r} is not name=value")
        opts[name.strip()] = value.strip()
    known = {"module", "token", "key", "cert", "pin_env", "pin_file", "trust"}
    unknown = set(opts) - known
    if unknown:
        raise SigningError(f"PKCS#11 key spec: unknown option(s) {', '.join(sorted(unknown))}")
    missing = [k for k in ("module", "token", "key") if k not in opts]
    if missing:
        raise SigningError(f"PKCS#11 key spec: missing {', '.join(missing)}")
    if not Path(opts["module"]).is_file():
        raise SigningError(f"{opts['module']}: PKCS#11 module not found")
    if "pin_env" in opts and "pin_file" in opts:
        raise SigningError("PKCS#11 key spec: give pin_env or pin_file, not both")
    return Pkcs11Spec(
        module=opts["module"],
        token=opts["token"],
        key=opts["key"],
        cert=opts.get("cert"),
        pin_env=opts.get("pin_env"),
        pin_file=Path(opts["pin_file"]) if "pin_file" in opts else None,
        trust=[Path(p) for p in opts.get("trust", "").split(",") if p],
    )


class _TokenSession:
    """One open session per (module, token), shared by every signer on that token."""

    def __init__(self, spec: Pkcs11Spec) -> None:
        from pkcs11 import PKCS11Error
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import open_pkcs11_session

        try:
            self.session = open_pkcs11_session(
                spec.module, token_criteria=TokenCriteria(label=spec.token), user_pin=spec.pin()
            )
        except (PKCS11Error, OSError, RuntimeError) as exc:
            # the exception text never contains the PIN; its type tells e.g. PinIncorrect
            raise SigningError(
                f"PKCS#11 token {spec.token!r} via {spec.module}: cannot open a session "
                f"({type(exc).__name__}{': ' + str(exc) if str(exc) else ''})"
            ) from None
        self.lock = threading.Lock()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead session is not an error
            self.session.close()


def _token_session(spec: Pkcs11Spec) -> _TokenSession:
    key = (os.path.realpath(spec.module), spec.token)
    with _SESSIONS_LOCK:
        sess = _SESSIONS.get(key)
        if sess is None:
            sess = _SESSIONS[key] = _TokenSession(spec)
        return sess


def close_sessions() -> None:
    """Close every token session opened by this process (e.g. at shutdown)."""
    with _SESSIONS_LOCK:
        for sess in _SESSIONS.values():
            sess.close()
        _SESSIONS.clear()


def open_pkcs11_signer(spec: Pkcs11Spec, *, timestamper=None, **options) -> UnitSigner:
    """A :class:`UnitSigner` whose key stays on the token; the session is reused."""
    from pkcs11 import PKCS11Error
    from pyhanko.sign.pkcs11 import PKCS11Signer

    sess = _token_session(spec)
    source = f"PKCS#11 token {spec.token!r} key {spec.key!r}"
    try:
        signer = PKCS11Signer(
            sess.session,
            key_label=spec.key,
            cert_label=spec.cert or spec.key,
            other_certs_to_pull=None,  # pull every certificate: the chain sits on the token
        )
        cert = signer.signing_cert  # loads key and certificate now, not at first signature
    except (PKCS11Error, SigningError, ValueError) as exc:
        raise SigningError(f"{source}: cannot load key/certificate: {exc}") from None
    if cert is None:
        raise SigningError(f"{source}: no certificate labelled {spec.cert or spec.key!r}")
    return UnitSigner(signer, source=source, lock=sess.lock, timestamper=timestamper, **options)


def import_pkcs12_to_token(
    module: str,
    token: str,
    pin: str,
    p12_path: Path,
    passphrase: bytes | None,
    label: str,
    key_id: bytes = b"\x01",
) -> None:
    """Write the key, certificate and CA certificates of a PKCS#12 into a token.

    Meant for SoftHSM2 and test tokens; the private key is stored sensitive and
    non-extractable. RSA keys only.
    """
    import pkcs11
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass

    data = Path(p12_path).read_bytes()
    try:
        key, cert, cas = serialization.pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError as exc:
        raise SigningError(f"{p12_path}: not a PKCS#12 file or wrong passphrase") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
        raise SigningError(f"{p12_path}: only RSA key + certificate can be imported")
    nums = key.private_numbers()
    pub = nums.public_numbers

    def b(n: int) -> bytes:
        return n.to_bytes((n.bit_length() + 7) // 8 or 1, "big")

    lib = pkcs11.lib(module)
    tok = lib.get_token(token_label=token)
    with tok.open(rw=True, user_pin=pin) as session:
        session.create_object({
            Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.RSA,
            Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False, Attribute.SIGN: True,
            Attribute.LABEL: label, Attribute.ID: key_id,
            Attribute.MODULUS: b(pub.n), Attribute.PUBLIC_EXPONENT: b(pub.e),
            Attribute.PRIVATE_EXPONENT: b(nums.d), Attribute.PRIME_1: b(nums.p),
            Attribute.PRIME_2: b(nums.q), Attribute.EXPONENT_1: b(nums.dmp1),
            Attribute.EXPONENT_2: b(nums.dmq1), Attribute.COEFFICIENT: b(nums.iqmp),
        })
        for i, c in enumerate([cert, *cas]):
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: label if i == 0 else f"{label}-ca{i}",
                Attribute.ID: key_id if i == 0 else key_id + bytes([i]),
                Attribute.SUBJECT: c.subject.public_bytes(),
                Attribute.VALUE: c.public_bytes(serialization.Encoding.DER),
            })
