"""Tampered copies of our own signed PDFs, made the way pyHanko's diff-analysis tests make them
(incremental updates through pyHanko's writer, bytes appended), judged by `verify` and
cross-checked with poppler's pdfsig; long-term data in every form pyHanko accepts; untrusted
timestamps proving nothing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing.dev_pki import ensure_dev_pki
from signing.pki_services import PKIServices
from signing.signer import SignerProvider, SigningError
from signing.verify import verify_pdf
from tests.signing.helpers import UNIT_CODE, UNIT_NAME, make_pdf, nss_db_trusting

ROOT = Path(__file__).resolve().parents[2]


def make_pdfa_like(title: str = "Quyết định gốc") -> bytes:
    """A small PDF carrying an Info title and XMP metadata, as our PDF/A exports do."""
    with pikepdf.open(io.BytesIO(make_pdf())) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = title
            meta["pdf:Producer"] = "sohoa"
        pdf.docinfo["/Title"] = title
        buf = io.BytesIO()
        pdf.save(buf, compress_streams=False)
        return buf.getvalue()


def _write(w: IncrementalPdfFileWriter) -> bytes:
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def change_info_title(data: bytes) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    ref = w.trailer.raw_get("/Info")
    info = ref.get_object()
    info[pdf_name("/Title")] = pdf_string("Quyết định đã sửa")
    w.mark_update(ref)
    return _write(w)


def change_xmp(data: bytes) -> bytes:
    """Rewrite the XMP stream's title only (the Info dictionary stays as signed)."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    ref = w.root.raw_get("/Metadata")
    old = ref.get_object().data
    new = generic.StreamObject({pdf_name("/Type"): pdf_name("/Metadata"),
                                pdf_name("/Subtype"): pdf_name("/XML")},
                               stream_data=old.replace("gốc".encode(), "đã sửa".encode()))
    assert new.data != old
    w.root[pdf_name("/Metadata")] = w.add_object(new)
    w.update_root()
    return _write(w)


def append_garbage(data: bytes) -> bytes:
    return data + b"\n% appended after the signature\n1 0 obj << /Evil true >> endobj\n"


def add_unreferenced_object(data: bytes) -> bytes:
    """An update viewers ignore: one new object nothing references."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    w.add_object(generic.DictionaryObject({pdf_name("/Note"): pdf_string("hidden")}))
    return _write(w)


TAMPERINGS = {
    "info_title": (change_info_title, "document information"),
    "xmp": (change_xmp, "XMP metadata"),
    "garbage": (append_garbage, "bytes were appended"),
    "unreferenced_update": (add_unreferenced_object, "not signature maintenance"),
}


@pytest.fixture(scope="module")
def original(unit_signer):
    return unit_signer.sign(make_pdfa_like(), reason="Bản sao điện tử từ sổ gốc",
                            location="Hà Nội", signer_name=UNIT_NAME)


def test_untampered_copy_with_xmp_is_valid(original, pki):
    report = verify_pdf(original, pki.trust_roots())
    assert report.valid and not report.modified_after_signing, report.problems


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampered_copy_flagged(name, original, pki):
    tamper, words = TAMPERINGS[name]
    data = tamper(original)
    assert data.startswith(original)  # the signed bytes themselves are untouched
    report = verify_pdf(data, pki.trust_roots())
    assert report.intact and report.trusted  # the signature itself still checks out …
    assert not report.valid and report.modified_after_signing  # … the copy does not
    assert any(words in p and p.startswith("not the whole file is signed") for p in
               report.problems), report.problems


def test_pdfsig_agrees_the_whole_file_is_not_signed(original, pki, tmp_path):
    db = nss_db_trusting(pki, tmp_path / "nss")
    for name, (tamper, _) in {"original": (lambda d: d, ""), **TAMPERINGS}.items():
        f = tmp_path / f"{name}.pdf"
        f.write_bytes(tamper(original))
        res = subprocess.run(["pdfsig", "-nssdir", db, str(f)], capture_output=True, text=True,
                             timeout=60)
        ours = verify_pdf(f, pki.trust_roots())
        assert "Signature is Valid" in res.stdout, (name, res.stdout)
        if name == "original":
            assert "Total document signed" in res.stdout and ours.valid
        else:
            assert "Not total document signed" in res.stdout and not ours.valid, name


def test_cli_judges_tampering_without_tracebacks(original, pki, keys_dir, tmp_path):
    f = tmp_path / "tampered.pdf"
    f.write_bytes(change_info_title(original))
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    ensure_dev_pki(home / "keys")  # a different TEST PKI: the signer is also untrusted
    env = dict(os.environ, SOHOA_HOME=str(home))
    env.pop("SOHOA_DATABASE_URL", None)
    env.pop("SOHOA_STORAGE_URL", None)
    res = subprocess.run([sys.executable, "-m", "sohoa.cli", "verify", "--json", str(f)],
                         capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert res.returncode == 1, res.stdout + res.stderr
    verdict = json.loads(res.stdout)
    assert not verdict["valid"] and verdict["modified_after_signing"]
    assert any("document information" in p for p in verdict["problems"])
    assert "Traceback" not in res.stderr and "pyhanko" not in res.stderr.lower(), res.stderr


# --- long-term data: DSS with indirect arrays; a timestamp from an untrusted TSA ------------

@pytest.fixture(scope="module")
def services(tmp_path_factory):
    keys = tmp_path_factory.mktemp("tamper-ltv-keys")
    with PKIServices(keys) as svc:
        ensure_dev_pki(keys, services_url=svc.url)
        yield svc


def _indirect_dss_arrays(data: bytes) -> bytes:
    """The same DSS with its /Certs, /OCSPs and /CRLs as indirect arrays (a form pyHanko reads
    and other signing tools write), in a DSS-only update."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    dss_ref = w.root.raw_get("/DSS")
    dss = dss_ref.get_object()
    for key in ("/Certs", "/OCSPs", "/CRLs"):
        value = dss.raw_get(key)
        assert not isinstance(value, generic.IndirectObject)
        dss[pdf_name(key)] = w.add_object(value)
    w.mark_update(dss_ref)
    return _write(w)


def test_dss_with_indirect_arrays_is_read(services):
    pki = ensure_dev_pki(services.keys_dir)
    prov = SignerProvider("dev", services.keys_dir, level="B-LTA")
    for attempt in (1, 2):  # a loaded machine sometimes gets "OCSP response is too recent"
        try:
            signed = prov.for_unit(UNIT_CODE, UNIT_NAME).sign(
                make_pdfa_like(), reason="Bản sao điện tử", signer_name=UNIT_NAME)
            break
        except SigningError:
            if attempt == 2:
                raise
            time.sleep(2)
    assert verify_pdf(signed, pki.trust_roots()).valid
    data = _indirect_dss_arrays(signed)
    report = verify_pdf(data, pki.trust_roots())
    assert report.valid, report.problems
    assert report.level == "B-LTA" and report.revocation == "good"
    assert report.signature_count == 1 and report.archive_expires is not None


def test_untrusted_timestamp_proves_no_time(services, pki, keys_dir):
    """Signer trusted (session TEST PKI), timestamp from another PKI's TSA (not trusted)."""
    prov = SignerProvider("dev", keys_dir, level="B-T", tsa=f"{services.url}/tsa")
    signed = prov.for_unit(UNIT_CODE, UNIT_NAME).sign(make_pdf(), reason="Bản sao điện tử",
                                                      signer_name=UNIT_NAME)
    report = verify_pdf(signed, pki.trust_roots())
    assert report.signatures[0].trusted and report.signatures[0].timestamp_trusted is False
    assert report.timestamp is None and report.archive_expires is None
    assert [t["trusted"] for t in report.timestamps] == [False]
    assert report.timestamps[0]["time"] is None
    assert any("timestamp token is not trusted" in p for p in report.problems)
    # trusting the TSA's root too, the same file proves its time
    both = verify_pdf(signed, pki.trust_roots() + ensure_dev_pki(services.keys_dir).trust_roots())
    assert both.timestamp is not None and both.archive_expires is not None and both.valid


# --- property-based: any change to a signed copy is caught, and never crashes the verifier -----
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EDITS = st.one_of(
    st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(min_value=1), st.just(0)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=64), st.just(0)),
)


def _edit(data: bytes, edit) -> bytes:
    kind, arg, mask = edit
    if kind == "flip":
        pos = arg % len(data)
        return data[:pos] + bytes([data[pos] ^ mask]) + data[pos + 1:]
    if kind == "cut":
        return data[: len(data) - 1 - arg % (len(data) - 1)]
    return data + arg


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(edit=EDITS)
def test_any_edit_of_a_signed_copy_is_never_valid_and_never_crashes(original, pki, edit):
    data = _edit(original, edit)
    if data == original:
        return
    report = verify_pdf(data, pki.trust_roots())  # never raises
    if report.valid:  # only bytes no reader sees may differ: whitespace inside the /Contents hex
        assert edit[0] == "flip", (edit, report.problems)
    assert all("Traceback" not in p and "object at 0x" not in p for p in report.problems)
