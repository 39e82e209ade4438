"""Benchmark: PAdES signatures per second — key kind, PAdES level and PDF size.

Prints figures, asserts nothing. Run: ``.venv/bin/python -m bench.signing [--n 20] [--mb 1.7]``.

Part 1, B-B: "defaults" loads the PKCS#12 once into a plain ``SimpleSigner`` (which re-parses
its key for every signature) and lets pyHanko size the signature by signing twice; "cached"
is ``signing.signer.UnitSigner`` (key object kept, ``bytes_reserved`` set once).

Then the sign stage's own work per document on a scanned page: seal and QR code drawn in a
margin strip, and placed in the page's free space (page image read, free space found).

Part 2, the matrix: {PKCS#12 file, SoftHSM2 token} x {B-B, B-LT, B-LT with a fresh OCSP check
per signature} x {1-page, 20-page PDF}. B-LT runs against the loopback TEST OCSP responder,
CRLs and TSA of :mod:`signing.pki_services` (real HTTP on 127.0.0.1); by default a signer
reuses revocation answers for 60 s, "B-LT fresh" re-checks OCSP/CRL for every signature.
SoftHSM2 is skipped when ``softhsm2-util`` or the module is missing.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pikepdf
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from bench import results
from signing.dev_pki import ensure_dev_pki
from signing.pki_services import PKIServices
from signing.signer import SignerProvider, UnitSigner

SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so",
                   "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def pages_pdf(pages: int, megabytes_per_page: float) -> bytes:
    """A PDF of ``pages`` pages, each an incompressible image of about the given size."""
    pdf = pikepdf.new()
    n = int(megabytes_per_page * 1024 * 1024)
    side = max(1, int((n / 3) ** 0.5))
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
        img = pikepdf.Stream(pdf, os.urandom(side * side * 3))
        img.Type, img.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        img.Width = img.Height = side
        img.ColorSpace, img.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
        page = pdf.pages[-1]
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=img))
        page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    return buf.getvalue()


def one_page_pdf(megabytes: float) -> bytes:
    """A 1-page PDF padded with an incompressible image stream to about ``megabytes``."""
    return pages_pdf(1, megabytes)


def sealed_page(path: str | None) -> bytes:
    """Page 1 of ``path`` (e.g. ../shared/real-dev/dev08.pdf), else a generated 300 dpi scan."""
    if path:
        with pikepdf.open(path) as src:
            out = pikepdf.new()
            out.pages.append(src.pages[0])
            buf = io.BytesIO()
            out.save(buf)
            return buf.getvalue()
    from PIL import Image, ImageDraw

    img = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(img)
    for row in range(40):
        draw.rectangle([250, 300 + row * 75, 2230, 330 + row * 75], fill=30)
    jpeg = io.BytesIO()
    img.save(jpeg, format="JPEG", quality=75)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    xo = pikepdf.Stream(pdf, jpeg.getvalue())
    xo.Type, xo.Subtype, xo.Filter = pikepdf.Name.XObject, pikepdf.Name.Image, pikepdf.Name.DCTDecode
    xo.Width, xo.Height, xo.BitsPerComponent = 2480, 3508, 8
    xo.ColorSpace = pikepdf.Name.DeviceGray
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xo))
    page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def sealed(signer: UnitSigner, pdf: bytes, *, place: bool) -> bytes:
    """What the sign stage does per document: (find room for the seal,) seal and sign."""
    import dataclasses
    import datetime as dt

    from signing.seal import SealInfo

    seal = SealInfo(agency_name="Ủy ban nhân dân phường Trúc Bạch", agency_code="000.00.04.H26",
                    dossier_code="000.00.04.H26-250301-0001", procedure_code="1.001193",
                    document_name="Giấy khai sinh", signing_time=dt.datetime.now(dt.UTC),
                    verify_url="https://sohoa.example/v1/results/0123456789abcdef/verification")
    if place:
        from pipeline.placement import seal_layout

        seal = dataclasses.replace(seal, layout=seal_layout(pdf, seal))
    return signer.sign(pdf, reason="bench", signer_name=seal.agency_name, seal=seal)


def softhsm_token(workdir: Path, p12: Path, passphrase: bytes) -> str | None:
    """A SoftHSM2 token holding the PKCS#12's key; returns its pkcs11: spec (None: no HSM)."""
    module = next((m for m in SOFTHSM_MODULES if Path(m).is_file()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        return None
    from signing.pkcs11 import import_pkcs12_to_token

    (workdir / "tokens").mkdir()
    conf = workdir / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {workdir / 'tokens'}\n"
                    "objectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    os.environ["SOHOA_BENCH_PIN"] = "246810"
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bench",
                    "--so-pin", "13579", "--pin", "246810"], check=True, capture_output=True)
    import_pkcs12_to_token(module, "bench", "246810", p12, passphrase, "unit")
    return f"pkcs11:module={module};token=bench;key=unit;pin_env=SOHOA_BENCH_PIN"


def rate(fn, n: int) -> float:
    fn()  # warm up
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


def rates(fn, n: int, repeat: int = 3) -> list[float]:
    """`repeat` measurements of signatures/s (the result file keeps median and spread)."""
    return [rate(fn, n) for _ in range(repeat)]


def matrix(n: int, mb: float, page_mb: float) -> None:
    docs = {"1 page": pages_pdf(1, mb), "20 pages": pages_pdf(20, page_mb)}
    with tempfile.TemporaryDirectory() as tmp, PKIServices(Path(tmp) / "keys") as svc:
        keys = Path(tmp) / "keys"
        pki = ensure_dev_pki(keys, services_url=svc.url)
        p12 = pki.unit_pkcs12("00004", "UBND phường Trúc Bạch")
        pw = pki.unit_passphrase("00004")
        os.environ["SOHOA_BENCH_P12"] = pw.decode()
        specs = {"PKCS#12": f"pkcs12:{p12}?pass_env=SOHOA_BENCH_P12&trust={pki.root_cert_path}"}
        hsm = softhsm_token(Path(tmp), p12, pw)
        if hsm:
            specs["SoftHSM2"] = f"{hsm};trust={pki.root_cert_path}"
        else:
            print("SoftHSM2 not installed: token rows skipped")
        levels = {"B-B": ("B-B", 60.0), "B-LT": ("B-LT", 60.0), "B-LT fresh": ("B-LT", 0.0)}
        print(f"\n{'key':9} {'level':11} {'PDF':9} {'MB':>6} {'sig/s':>7} {'ms/sig':>8}")
        for key_name, spec in specs.items():
            for label, (level, max_age) in levels.items():
                prov = SignerProvider(spec, keys, level=level,
                                      tsa=svc.tsa_url if level != "B-B" else None,
                                      revocation_max_age=max_age)
                signer = prov.for_unit("00004", "UBND phường Trúc Bạch")
                for doc_name, data in docs.items():
                    count = n if doc_name == "1 page" else max(3, n // 4)

                    def one(signer=signer, data=data):
                        signer.sign(data, reason="bench", signer_name="UBND phường Trúc Bạch")

                    r = rate(one, count)
                    print(f"{key_name:9} {label:11} {doc_name:9} {len(data) / 1e6:6.1f} "
                          f"{r:7.1f} {1000 / r:8.1f}")
                    results.current().figure(f"{key_name} {label} {doc_name}", r, "sig/s")
                prov.close()
        print(f"loopback requests: {svc.hits}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20, help="signatures per variant (1 page)")
    ap.add_argument("--mb", type=float, default=1.7, help="size of the 1-page PDF in MB")
    ap.add_argument("--page-mb", type=float, default=0.4, help="MB per page, 20-page PDF")
    ap.add_argument("--skip-matrix", action="store_true", help="only the B-B comparison")
    ap.add_argument("--seal-page", default=None,
                    help="a PDF whose page 1 is sealed (default: a generated 300 dpi scan)")
    ap.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = ap.parse_args()
    run = results.start("signing", quick=args.quick, args=vars(args))
    data = one_page_pdf(args.mb)
    with tempfile.TemporaryDirectory() as tmp:
        pki = ensure_dev_pki(Path(tmp))
        p12 = pki.unit_pkcs12("00004", "UBND phường Trúc Bạch")
        pw = pki.unit_passphrase("00004")
        simple = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=pw)
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1", md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES, reason="bench",
        )

        def defaults():
            w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
            signers.PdfSigner(meta, signer=simple).sign_pdf(w)

        cached_signer = UnitSigner.from_pkcs12(p12, pw)

        def cached():
            cached_signer.sign(data, reason="bench", signer_name="UBND phường Trúc Bạch")

        def_samples, cached_samples = rates(defaults, args.n), rates(cached, args.n)
        r_def, r_cached = statistics.median(def_samples), statistics.median(cached_samples)
        scan = sealed_page(args.seal_page)
        r_sealed = rate(lambda: sealed(cached_signer, scan, place=False), args.n)
        r_placed = rate(lambda: sealed(cached_signer, scan, place=True), args.n)
    print(f"PDF: 1 page, {len(data) / 1e6:.2f} MB, PAdES B-B, RSA-2048, {args.n} signatures")
    print(f"pyHanko defaults : {r_def:7.1f} signatures/s  ({1000 / r_def:6.1f} ms each)")
    print(f"cached UnitSigner: {r_cached:7.1f} signatures/s  ({1000 / r_cached:6.1f} ms each)")
    print(f"speed-up         : {r_cached / r_def:5.2f}x  (median of 3 runs each)")
    print(f"with seal + QR, {len(scan) / 1e6:.2f} MB scan page ({args.seal_page or 'generated'}):")
    print(f"  margin strip   : {r_sealed:7.1f} signatures/s  ({1000 / r_sealed:6.1f} ms each)")
    print(f"  placed on page : {r_placed:7.1f} signatures/s  ({1000 / r_placed:6.1f} ms each)"
          "  (free space found from the page image: pipeline/placement.py)")
    run.figure("pyHanko defaults, B-B 1 page", r_def, "sig/s", samples=def_samples)
    run.figure("cached UnitSigner, B-B 1 page", r_cached, "sig/s", samples=cached_samples,
               comparator="pyHanko defaults", comparator_value=r_def)
    run.figure("seal + QR in a margin strip, scan page", r_sealed, "sig/s")
    run.figure("seal + QR placed in free space, scan page", r_placed, "sig/s",
               comparator="margin strip", comparator_value=r_sealed)
    if not args.skip_matrix:
        matrix(args.n, args.mb, args.page_mb)


if __name__ == "__main__":
    main()
