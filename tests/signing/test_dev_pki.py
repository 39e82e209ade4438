"""The generated TEST PKI: labels, usages, permissions, idempotence, concurrency."""

from __future__ import annotations

import stat
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing.dev_pki import DOCUMENT_SIGNING_EKU, DevPKIError, ensure_dev_pki


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_root_is_labelled_test(pki):
    root = x509.load_pem_x509_certificate(pki.root_cert_path.read_bytes())
    cn = root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    org = root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert "TEST — not a real CA" in cn
    assert org == "sohoa TEST PKI"
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert pki.trust_roots() == [pki.root_cert_path]


def test_unit_pkcs12_contents_and_permissions(pki):
    p12 = pki.unit_pkcs12("00004", "UBND phường Trúc Bạch")
    assert _mode(p12) == 0o600
    assert _mode(p12.with_name(p12.name + ".pass")) == 0o600
    assert _mode(pki.keys_dir / "root-ca.key.pem") == 0o600
    assert _mode(pki.keys_dir / "intermediate-ca.key.pem") == 0o600
    key, cert, cas = pkcs12.load_key_and_certificates(
        p12.read_bytes(), pki.unit_passphrase("00004")
    )
    assert key is not None and key.key_size == 2048
    subj = cert.subject
    assert subj.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "UBND phường Trúc Bạch (TEST)"
    )
    assert "TEST" in subj.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert subj.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "00004"
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING_EKU in eku and ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    assert 3 * 365 - 2 <= days <= 3 * 365 + 2
    inter = x509.load_pem_x509_certificate(pki.intermediate_cert_path.read_bytes())
    assert cert.issuer == inter.subject
    assert [c.subject for c in cas] == [inter.subject]


def test_idempotent(pki, keys_dir):
    root_before = pki.root_cert_path.read_bytes()
    p12 = pki.unit_pkcs12("00007", "UBND phường Phúc Xá")
    data = p12.read_bytes()
    again = ensure_dev_pki(keys_dir)
    assert again.root_cert_path.read_bytes() == root_before
    assert again.unit_pkcs12("00007", "UBND phường Phúc Xá").read_bytes() == data


@pytest.mark.parametrize("code", ["../etc", "", "a/b", "x" * 80, "00 4"])
def test_bad_unit_code_rejected(pki, code):
    with pytest.raises(DevPKIError, match="unit code"):
        pki.unit_pkcs12(code, "UBND")


def test_concurrent_creation_gives_one_root(tmp_path):
    results, errors = [], []

    def worker():
        try:
            p = ensure_dev_pki(tmp_path / "k")
            results.append(p.unit_pkcs12("00010", "UBND xã A").read_bytes())
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1  # one unit certificate, created once
    root = x509.load_pem_x509_certificate((tmp_path / "k" / "root-ca.pem").read_bytes())
    inter = x509.load_pem_x509_certificate(
        (tmp_path / "k" / "intermediate-ca.pem").read_bytes()
    )
    inter.verify_directly_issued_by(root)
    assert not list((tmp_path / "k").glob(".*.pem.*"))  # no temp files left behind
