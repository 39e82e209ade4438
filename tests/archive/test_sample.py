"""The sample SIP kept as a test artifact (tests/archive/data/sample-sip, made by
scripts/sample_sip.py with a TEST certificate) is a valid BagIt bag for the `bagit` library
and for our own checks, and its signed PDFs are intact (their certificates' validity is not
checked here: a TEST certificate expires, the bytes it signed stay intact)."""

from __future__ import annotations

import json
from pathlib import Path

import bagit

from archive.bag import check_bag
from signing.verify import verify_pdf

SAMPLE = Path(__file__).parent / "data" / "sample-sip"
ROOT_PEM = SAMPLE.with_name("sample-sip-root.pem")


def test_the_sample_sip_validates_with_bagit():
    bag = bagit.Bag(str(SAMPLE))
    bag.validate()
    assert bag.version_info == (1, 0) and bag.info["Sohoa-Package-Type"] == "SIP"
    assert bag.algorithms == ["sha256"]
    payload = sorted(bag.payload_files())
    assert len([p for p in payload if p.endswith("/signed.pdf")]) == 3
    assert len([p for p in payload if "/original." in p]) == 3
    assert len([p for p in payload if p.endswith("/record.json")]) == 2


def test_the_sample_sip_passes_our_checks_and_its_pdfs_are_intact():
    signed = []
    assert check_bag(SAMPLE, lambda rel, path: signed.append(path)) == []
    assert len(signed) == 11  # every payload file re-read and right
    for pdf in (p for p in signed if p.name == "signed.pdf"):
        report = verify_pdf(pdf, [ROOT_PEM])
        assert report.intact and report.coverage == "ENTIRE_FILE", (pdf, report.problems)
        assert "TEST" in (report.signer or ""), report.signer


def test_the_sample_sip_data_names_its_files_and_checksums():
    package = json.loads((SAMPLE / "package.json").read_text(encoding="utf-8"))
    assert package["package"] == "sip" and package["circular"] == "05/2025/TT-BNV"
    assert (package["records"], package["documents"]) == (2, 3)
    for record_file in SAMPLE.glob("data/*/record.json"):
        record = json.loads(record_file.read_text(encoding="utf-8"))
        assert record["folder"] == f"data/{record_file.parent.name}"
        docs = sorted(record_file.parent.glob("*/document.json"))
        assert len(docs) == record["document_count"]
        for doc_file in docs:
            doc = json.loads(doc_file.read_text(encoding="utf-8"))
            assert doc["code"].startswith(record["code"] + ".")
            for name in doc["files"].values():
                assert (SAMPLE / name).is_file()
