"""Signing with UnitSigner and checking the result with verify_pdf and poppler's pdfsig."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.dev_pki import ensure_dev_pki
from signing.signer import SignerProvider, SigningError, UnitSigner
from signing.verify import verify_pdf
from tests.signing.helpers import UNIT_NAME, make_pdf, nss_db_trusting

needs_pdfsig = pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler pdfsig missing")
needs_certutil = pytest.mark.skipif(
    shutil.which("certutil") is None, reason="libnss3-tools certutil missing"
)


def test_signature_is_pades_incremental(signed_pdf):
    original = make_pdf()
    assert signed_pdf.startswith(original)  # incremental update: original bytes untouched
    reader = PdfFileReader(io.BytesIO(signed_pdf))
    (sig,) = reader.embedded_signatures
    assert sig.field_name == "Signature1"
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.md_algorithm == "sha256"
    # intermediate embedded in the CMS, next to the signer's certificate
    cns = {c.chosen.subject.native["common_name"] for c in sig.signed_data["certificates"]}
    assert any("intermediate" in cn for cn in cns)
    assert "UBND phường Trúc Bạch (TEST)" in cns
    assert sig.sig_object["/Reason"] == "Bản sao điện tử từ sổ gốc"


def test_verify_valid(signed_pdf, pki):
    report = verify_pdf(signed_pdf, pki.trust_roots())
    assert report.valid, report.problems
    assert report.intact and report.trusted
    assert report.coverage == "ENTIRE_FILE"
    assert not report.modified_after_signing
    assert report.signer == "UBND phường Trúc Bạch (TEST)"
    assert report.signature_count == 1
    assert dt.datetime.fromisoformat(report.signing_time).tzinfo is not None
    d = report.to_dict()
    assert d["valid"] is True and d["signatures"][0]["kind"] == "signature"


def test_verify_path_input(signed_pdf, pki, tmp_path):
    f = tmp_path / "x.pdf"
    f.write_bytes(signed_pdf)
    assert verify_pdf(f, pki.trust_roots()).valid
    missing = verify_pdf(tmp_path / "nope.pdf", pki.trust_roots())
    assert not missing.valid and "nope.pdf" in missing.problems[0]


def test_untrusted_root(signed_pdf, tmp_path):
    other = ensure_dev_pki(tmp_path / "other")
    report = verify_pdf(signed_pdf, other.trust_roots())
    assert report.intact and not report.trusted and not report.valid
    assert any("not trusted" in p for p in report.problems)


def test_unsigned_and_corrupt(pki):
    r = verify_pdf(make_pdf(), pki.trust_roots())
    assert not r.valid and r.signature_count == 0
    assert "no signature" in r.problems[0]
    for junk in (b"", b"hello world", b"%PDF-1.7\n garbage \x00\xff" * 10):
        r = verify_pdf(junk, pki.trust_roots())
        assert not r.valid and r.problems


def test_flipped_byte_in_signed_range(signed_pdf, pki):
    pos = signed_pdf.index(b"KET QUA")
    tampered = bytearray(signed_pdf)
    tampered[pos] ^= 0x01  # 'K' -> 'J' inside the page content, within /ByteRange
    report = verify_pdf(bytes(tampered), pki.trust_roots())
    assert not report.valid
    assert not report.intact
    assert any("changed" in p for p in report.problems)


def test_appended_update_changing_content(signed_pdf, pki):
    w = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    page = w.root["/Pages"]["/Kids"][0]
    from pyhanko.pdf_utils import generic

    stream = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 600 Td (FORGED) Tj ET")
    ref = w.add_object(stream)
    page_obj = page.get_object()
    page_obj["/Contents"] = generic.ArrayObject([page_obj.raw_get("/Contents"), ref])
    w.update_container(page_obj)
    out = io.BytesIO()
    w.write(out)
    report = verify_pdf(out.getvalue(), pki.trust_roots())
    assert report.intact  # the signed revision itself is fine ...
    assert report.modified_after_signing  # ... but something was added after it
    assert not report.valid
    assert report.coverage == "ENTIRE_REVISION"


def test_reuse_one_signer_many_times(unit_signer, pki):
    pdf = make_pdf()
    outs = [unit_signer.sign(pdf, reason="r", signer_name=UNIT_NAME) for _ in range(20)]
    assert len(outs) == 20
    assert verify_pdf(outs[0], pki.trust_roots()).valid
    assert verify_pdf(outs[-1], pki.trust_roots()).valid


def test_provider_caches_per_unit(provider, unit_signer):
    assert provider.for_unit("00004", UNIT_NAME) is unit_signer
    other = provider.for_unit("00008", "UBND phường Quán Thánh")
    assert other is not unit_signer
    assert other.subject_cn == "UBND phường Quán Thánh (TEST)"
    assert provider.is_test_pki


def test_provider_pkcs12_spec(pki, tmp_path, monkeypatch):
    p12 = pki.unit_pkcs12("00004", UNIT_NAME)
    monkeypatch.setenv("SOHOA_TEST_P12_PASS", pki.unit_passphrase("00004").decode())
    spec = f"pkcs12:{p12}?pass_env=SOHOA_TEST_P12_PASS&trust={pki.root_cert_path}"
    prov = SignerProvider(spec, tmp_path)
    s = prov.for_unit("anything", "x")
    assert s is prov.for_unit("other", "y")  # one file for all units
    assert prov.trust_roots() == [pki.root_cert_path]
    out = s.sign(make_pdf(), reason="r", signer_name="x")
    assert verify_pdf(out, prov.trust_roots()).valid
    monkeypatch.setenv("SOHOA_TEST_P12_PASS", "wrong")
    with pytest.raises(SigningError, match="wrong passphrase"):
        SignerProvider(spec, tmp_path).for_unit("a", "b")


@pytest.mark.parametrize("spec", ["", "hsm", "pkcs12:", "pkcs12:/x.p12?pass_env=NOPE_UNSET_VAR",
                                  "pkcs12:/x.p12?colour=red"])
def test_provider_bad_spec(spec, tmp_path):
    with pytest.raises(SigningError):
        SignerProvider(spec, tmp_path)


def test_bad_pdf_refused(unit_signer):
    with pytest.raises(SigningError, match="PDF"):
        unit_signer.sign(b"not a pdf", reason="r", signer_name="x")


def _issue(pki, tmp_path, **kw):
    out = tmp_path / "u.p12"
    pki.issue_unit_pkcs12("00099", "UBND xã Thử", out=out, **kw)
    return out, (tmp_path / "u.p12.pass").read_bytes().strip()


def test_expired_certificate_refused(pki, tmp_path):
    now = dt.datetime.now(dt.UTC)
    path, pw = _issue(pki, tmp_path, not_before=now - dt.timedelta(days=800),
                      not_after=now - dt.timedelta(days=1))
    with pytest.raises(SigningError, match="expired"):
        UnitSigner.from_pkcs12(path, pw)


def test_not_yet_valid_certificate_refused(pki, tmp_path):
    now = dt.datetime.now(dt.UTC)
    path, pw = _issue(pki, tmp_path, not_before=now + dt.timedelta(days=2),
                      not_after=now + dt.timedelta(days=800))
    with pytest.raises(SigningError, match="not valid yet"):
        UnitSigner.from_pkcs12(path, pw)


def test_certificate_without_signing_usage_refused(pki, tmp_path):
    path, pw = _issue(pki, tmp_path, signing_usages=False)
    with pytest.raises(SigningError, match="key usage"):
        UnitSigner.from_pkcs12(path, pw)


def test_unreadable_pkcs12(tmp_path):
    with pytest.raises(SigningError, match="missing.p12"):
        UnitSigner.from_pkcs12(tmp_path / "missing.p12")
    bad = tmp_path / "bad.p12"
    bad.write_bytes(b"junk")
    with pytest.raises(SigningError, match="bad.p12"):
        UnitSigner.from_pkcs12(bad)


@needs_pdfsig
def test_pdfsig_signature_valid(signed_pdf, tmp_path):
    f = tmp_path / "s.pdf"
    f.write_bytes(signed_pdf)
    out = subprocess.run(["pdfsig", str(f)], capture_output=True, text=True, timeout=60)
    assert "Signature is Valid" in out.stdout, out.stdout + out.stderr
    assert "Total document signed" in out.stdout


@needs_pdfsig
@needs_certutil
def test_pdfsig_certificate_trusted_with_nss(signed_pdf, pki, tmp_path):
    db = nss_db_trusting(pki, tmp_path / "nss")
    f = tmp_path / "s.pdf"
    f.write_bytes(signed_pdf)
    out = subprocess.run(["pdfsig", "-nssdir", db, str(f)], capture_output=True, text=True,
                         timeout=60)
    assert "Signature is Valid" in out.stdout, out.stdout + out.stderr
    assert "Certificate is Trusted" in out.stdout, out.stdout + out.stderr


def test_pades_b_t_with_dev_tsa(keys_dir, pki, tmp_path):
    prov = SignerProvider("dev", keys_dir, tsa="dev")
    signer = prov.for_unit("00011", "UBND phường Điện Biên")
    out = signer.sign(make_pdf(), reason="r", signer_name="x")
    report = verify_pdf(out, prov.trust_roots())
    assert report.valid, report.problems
    assert report.timestamp is not None
    ts = dt.datetime.fromisoformat(report.timestamp)
    assert abs((ts - dt.datetime.now(dt.UTC)).total_seconds()) < 120
    reader = PdfFileReader(io.BytesIO(out))
    (sig,) = reader.embedded_signatures
    unsigned = sig.signer_info["unsigned_attrs"]
    assert any(a["type"].native == "signature_time_stamp_token" for a in unsigned)
    if shutil.which("pdfsig"):
        f = tmp_path / "t.pdf"
        f.write_bytes(out)
        res = subprocess.run(["pdfsig", str(f)], capture_output=True, text=True, timeout=60)
        assert "Signature is Valid" in res.stdout


def test_bad_tsa_option(keys_dir):
    with pytest.raises(SigningError, match="time-stamping"):
        SignerProvider("dev", keys_dir, tsa="ftp://x")


def test_sign_file_streams_and_too_small_reservation_is_retried(provider, pki, tmp_path):
    """File to file (what the pipeline uses for large results), and a signature that does not
    fit the reserved space is retried with more room instead of failing."""
    from signing.verify import verify_pdf
    from tests.signing.helpers import make_pdf

    signer = UnitSigner.from_pkcs12(pki.unit_pkcs12("00005", "UBND xã Thử Nghiệm"),
                                    pki.unit_passphrase("00005"))
    signer._bytes_reserved = 1024  # too small for a CMS carrying two certificates
    src, dst = tmp_path / "in.pdf", tmp_path / "out.pdf"
    src.write_bytes(make_pdf("tep lon"))
    signer.sign_file(src, dst, reason="r", signer_name="UBND xã Thử Nghiệm")
    assert signer._bytes_reserved > 1024
    report = verify_pdf(dst, pki.trust_roots())
    assert report.valid, report.problems
    assert dst.read_bytes().startswith(src.read_bytes())  # an incremental update
