"""An agency from import to seal to API: the copy names the agency that made it (seal text,
QR code, signature /Name and /ContactInfo, `sohoa verify`), the result keeps the agency that
issued it (read from the header), and the API metadata carries both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pikepdf
import pytest

from tests.pipeline.conftest import render_decision
from tests.storage.test_agencies import AGENCIES
from tests.support.qr import decode_qr

SOHOA = [str(Path(sys.executable).with_name("sohoa"))]


def sohoa(env, *args):
    run = subprocess.run([*SOHOA, *map(str, args)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, f"sohoa {args}: {run.stderr}"
    return run


def test_agency_from_import_to_seal_to_api(sohoa_home, runtime, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.keys import create_client
    from signing.seal import read_qr_payload
    from storage.catalog import Document

    env = {**os.environ, "SOHOA_HOME": str(sohoa_home)}
    csv = tmp_path / "co-quan.csv"
    csv.write_text(AGENCIES, encoding="utf-8")
    sohoa(env, "agencies", "import", csv)
    scan = render_decision(tmp_path / "qd.png", dpi=200)  # issued 2021-01-05 by UBND P. Trúc Bạch
    [record] = [json.loads(line) for line in sohoa(
        env, "digitize", scan, "--unit", "00004", "--procedure", "1.001193",
        "--dossier", "000.00.04.H26-260105-0001", "--json").stdout.splitlines()]
    assert record["status"] == "stored", record
    out = tmp_path / "copy.pdf"
    sohoa(env, "export", record["document_id"], out)

    # the copy is made today by the agency the dossier code names: UBND phường Ba Đình
    verified = json.loads(sohoa(env, "verify", out, "--json").stdout)
    assert verified["valid"] is True
    assert verified["agency"] == "Ủy ban nhân dân phường Ba Đình"
    assert verified["agency_code"] == "000.00.04.H26"
    assert "agency: Ủy ban nhân dân phường Ba Đình (000.00.04.H26)" in sohoa(env, "verify",
                                                                            out).stdout
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    assert "Ủy ban nhân dân phường Ba Đình" in text  # the seal's own line
    with pikepdf.open(out) as pdf:
        (sig,) = [a for a in pdf.pages[0].Annots if a.get("/FT") == "/Sig"]
        x1, _y1, _x2, _y2 = (float(v) for v in sig.Rect)
        assert x1 > float(pdf.pages[0].mediabox[2]) / 2  # the seal stays on the right
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-singlefile", str(out),
                    str(tmp_path / "p")], check=True, timeout=120)
    page = cv2.imread(str(tmp_path / "p.pgm"), cv2.IMREAD_GRAYSCALE)
    qr = read_qr_payload(decode_qr(page[: page.shape[0] // 2]))
    assert qr["agency_code"] == "000.00.04.H26" and qr["dossier_code"].startswith("000.00.04")

    with runtime.session() as session:
        result_id = session.get(Document, record["document_id"]).result_id
        key = create_client(session, "portal", ["read:metadata"], None)
    with TestClient(create_app(runtime=runtime, audit_batched=False,
                               auth_cache_seconds=0)) as client:
        body = client.get(f"/v1/results/{result_id}",
                          headers={"Authorization": f"Bearer {key}"}).json()
    # issued in 2021 by the agency named in the header; the copy signed by today's agency
    assert body["agency"] == {"code": "000.00.04.H26", "name": "Ủy ban nhân dân phường Trúc Bạch"}
    assert body["signature"]["agency"] == {"code": "000.00.04.H26",
                                           "name": "Ủy ban nhân dân phường Ba Đình"}
    assert body["unit"]["code"] == "00004" and body["unit"]["level"] == "commune"


def test_the_counters_agency_travels_with_the_scan(runtime, tmp_path, monkeypatch):
    """SOHOA_AGENCY of the process that takes the scan (station, CLI) decides, not the
    worker's; an agency the catalog does not know refuses the scan with the reason."""
    from pipeline.errors import PermanentError
    from pipeline.ingest import ingest_file
    from storage.agencies import Agency, import_agencies
    from storage.catalog import Document

    csv = tmp_path / "co-quan.csv"
    csv.write_text(AGENCIES, encoding="utf-8")
    with runtime.session() as session:
        import_agencies(session, csv)
    scan = render_decision(tmp_path / "qd.png", dpi=200)
    monkeypatch.setattr(runtime.settings, "agency", "000.00.12.H26")
    accepted = ingest_file(runtime, scan, unit_code="00004", procedure=None, dossier=None)
    with runtime.session() as session:
        doc = session.get(Document, accepted.document_id)
        assert session.get(Agency, doc.agency_id).name == "Sở Tư pháp thành phố Hà Nội"
    monkeypatch.setattr(runtime.settings, "agency", "000.00.99.H26")
    other = render_decision(tmp_path / "qd2.png", dpi=150)
    with pytest.raises(PermanentError, match="SOHOA_AGENCY=000.00.99.H26: no agency"):
        ingest_file(runtime, other, unit_code="00004", procedure=None, dossier=None)
