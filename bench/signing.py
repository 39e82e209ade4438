"""Benchmark: PAdES B-B signatures per second, pyHanko defaults vs our cached UnitSigner.

Prints ratios, asserts nothing. Run: ``.venv/bin/python -m bench.signing [--n 30] [--mb 1.7]``.
"Defaults" loads the PKCS#12 once into a plain ``SimpleSigner`` (which re-parses its key for
every signature) and lets pyHanko size the signature by signing twice; "cached" is
``signing.signer.UnitSigner`` (key object kept, ``bytes_reserved`` set once).
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

import pikepdf
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from signing.dev_pki import ensure_dev_pki
from signing.signer import UnitSigner


def one_page_pdf(megabytes: float) -> bytes:
    """A 1-page PDF padded with an incompressible image stream to about ``megabytes``."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    n = int(megabytes * 1024 * 1024)
    side = max(1, int((n / 3) ** 0.5))
    img = pikepdf.Stream(pdf, os.urandom(side * side * 3))
    img.Type, img.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    img.Width = img.Height = side
    img.ColorSpace, img.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=img))
    page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    return buf.getvalue()


def rate(fn, n: int) -> float:
    fn()  # warm up
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=30, help="signatures per variant")
    ap.add_argument("--mb", type=float, default=1.7, help="size of the 1-page PDF in MB")
    args = ap.parse_args()
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

        r_def = rate(defaults, args.n)
        r_cached = rate(cached, args.n)
    print(f"PDF: 1 page, {len(data) / 1e6:.2f} MB, PAdES B-B, RSA-2048, {args.n} signatures")
    print(f"pyHanko defaults : {r_def:7.1f} signatures/s  ({1000 / r_def:6.1f} ms each)")
    print(f"cached UnitSigner: {r_cached:7.1f} signatures/s  ({1000 / r_cached:6.1f} ms each)")
    print(f"speed-up         : {r_cached / r_def:5.2f}x")


if __name__ == "__main__":
    main()
