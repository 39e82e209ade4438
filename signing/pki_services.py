"""Loopback OCSP responder, CRLs and RFC 3161 time-stamping for the TEST PKI (tests, bench).

Owns: :class:`PKIServices`, a small threaded HTTP server on 127.0.0.1 that answers for a
:class:`signing.dev_pki.DevPKI` folder:

* ``POST /ocsp`` — OCSP for certificates issued by the TEST intermediate, signed by the
  intermediate itself (good / revoked / unknown, the request nonce echoed);
* ``GET /crl/root.crl`` and ``GET /crl/intermediate.crl`` — fresh DER CRLs;
* ``POST /tsa`` — RFC 3161 time-stamp tokens from the TEST TSA.

Typical use (the URL must be known before the PKI's certificates are issued)::

    with PKIServices(keys_dir) as services:
        pki = ensure_dev_pki(keys_dir, services_url=services.url)
        provider = SignerProvider("dev", keys_dir, level="B-LT", tsa=services.tsa_url)

Never for production: every answer is signed with TEST keys kept in the folder.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from signing.dev_pki import DevPKI, _load_cert, _load_key

log = logging.getLogger(__name__)


def test_timestamper(pki: DevPKI):
    """The TEST TSA as an in-process pyHanko timestamper whose RSA key stays loaded.

    pyHanko's ``DummyTimeStamper`` re-parses its private key for every token (~100 ms here);
    this one parses it once, so timestamps cost what a real TSA's signature costs.
    """
    from asn1crypto import cms, core
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
    from pyhanko.sign import general
    from pyhanko.sign.general import get_pyca_cryptography_hash, simple_cms_attribute
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class _KeptKeyTimeStamper(DummyTimeStamper):
        def _sign_tst_info(self, tst_info_data, md_algorithm, moment):
            md = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
            md.update(tst_info_data)
            signed_attrs = cms.CMSAttributes([
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time",
                                     cms.Time({"utc_time": core.UTCTime(moment)})),
                simple_cms_attribute("signing_certificate",
                                     general.as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", md.finalize()),
            ])
            signature = pyca_key.sign(signed_attrs.dump(), PKCS1v15(),
                                      get_pyca_cryptography_hash(md_algorithm.upper()))
            return signature, signed_attrs

    cert_path, key_path = pki.tsa_credentials()
    pyca_key = _load_key(key_path)
    registry = SimpleCertificateStore()
    registry.register(load_cert_from_pemder(str(pki.intermediate_cert_path)))
    return _KeptKeyTimeStamper(
        tsa_cert=load_cert_from_pemder(str(cert_path)),
        tsa_key=load_private_key_from_pemder(str(key_path), passphrase=None),
        certs_to_embed=registry,
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: tests read their own output
        log.debug("pki-services: " + fmt, *args)

    def _reply(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server naming
        services = self.server.services
        services.hits[self.path] = services.hits.get(self.path, 0) + 1
        name = self.path.rsplit("/", 1)[-1]
        if self.path.startswith("/crl/") and name in ("root.crl", "intermediate.crl"):
            return self._reply(200, services.crl(name[:-4]), "application/pkix-crl")
        return self._reply(404, b"not found", "text/plain")

    def do_POST(self):  # noqa: N802
        services = self.server.services
        services.hits[self.path] = services.hits.get(self.path, 0) + 1
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if self.path == "/ocsp":
                return self._reply(200, services.ocsp(body), "application/ocsp-response")
            if self.path == "/tsa":
                return self._reply(200, services.timestamp(body), "application/timestamp-reply")
        except Exception as exc:  # a bad request must not kill the server
            log.warning("pki-services %s: %s", self.path, exc)
            return self._reply(400, str(exc).encode(), "text/plain")
        return self._reply(404, b"not found", "text/plain")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    services: PKIServices


class PKIServices:
    """OCSP, CRL and TSA for a TEST PKI folder, served on 127.0.0.1 (random free port)."""

    def __init__(
        self, keys_dir: Path | str, *, revinfo_validity: dt.timedelta = dt.timedelta(hours=12)
    ) -> None:
        """``revinfo_validity``: nextUpdate - thisUpdate of OCSP responses and CRLs (tests
        shorten it to see how long-term validation copes with stale revocation data)."""
        self.keys_dir = Path(keys_dir)
        self.revinfo_validity = revinfo_validity
        self.hits: dict[str, int] = {}
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.services = self
        self._thread: threading.Thread | None = None
        self._ca_cache: dict[str, tuple] = {}
        self._tsa = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/tsa"

    def start(self) -> PKIServices:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="pki-services", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> PKIServices:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- answers -------------------------------------------------------------------------

    @property
    def pki(self) -> DevPKI:
        return DevPKI(self.keys_dir)

    def _ca(self, which: str):
        if which not in self._ca_cache:
            self._ca_cache[which] = (
                _load_cert(self.keys_dir / f"{which}-ca.pem"),
                _load_key(self.keys_dir / f"{which}-ca.key.pem"),
            )
        return self._ca_cache[which]

    def crl(self, which: str) -> bytes:
        """A CRL of ``which`` CA ("root" or "intermediate") listing every revoked serial."""
        cert, key = self._ca(which)
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(cert.subject)
            .last_update(now)
            .next_update(now + self.revinfo_validity)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                critical=False,
            )
        )
        for serial, when in self.pki.revoked().items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(when).build()
            )
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp(self, der: bytes) -> bytes:
        """An OCSP response for the (single) certificate asked about, signed by the CA."""
        req = ocsp.load_der_ocsp_request(der)
        ca_cert, ca_key = self._ca("intermediate")
        pki = self.pki
        now = dt.datetime.now(dt.UTC)
        revoked = pki.revoked()
        serial = req.serial_number
        if serial in revoked:
            status, rtime = ocsp.OCSPCertStatus.REVOKED, revoked[serial]
        elif pki.is_issued(serial):
            status, rtime = ocsp.OCSPCertStatus.GOOD, None
        else:
            status, rtime = ocsp.OCSPCertStatus.UNKNOWN, None
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=req.issuer_name_hash,
            issuer_key_hash=req.issuer_key_hash,
            serial_number=serial,
            algorithm=req.hash_algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + self.revinfo_validity,
            revocation_time=rtime,
            revocation_reason=x509.ReasonFlags.key_compromise if rtime else None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, ca_cert)
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                builder = builder.add_extension(ext.value, critical=False)
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def timestamp(self, der: bytes) -> bytes:
        """An RFC 3161 response from the TEST TSA."""
        if self._tsa is None:
            self._tsa = test_timestamper(self.pki)
        req = tsp.TimeStampReq.load(der)
        return self._tsa.request_tsa_response(req).dump()
