"""`sohoa export` hands out only the bytes the catalog recorded: a swapped object (another
document's valid signed PDF under this key, its checksum metadata matching it) is refused with
one line naming the document, and no OUT.pdf or OUT.pdf.part is left. Local store and S3."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.signing.helpers import UNIT_NAME, add_stored_document, make_pdf
from tests.storage.conftest import new_bucket_name, seaweed  # noqa: F401 - session fixture

SOHOA = str(Path(sys.executable).with_name("sohoa"))


@pytest.fixture(params=["local", "s3"])
def home_env(request, sohoa_home, monkeypatch):
    env = {**os.environ, "SOHOA_HOME": str(sohoa_home)}
    if request.param == "s3":
        url = request.getfixturevalue("seaweed").bucket_url(new_bucket_name())
        monkeypatch.setenv("SOHOA_STORAGE_URL", url)
        env["SOHOA_STORAGE_URL"] = url
    return env


def test_export_refuses_a_swapped_object(home_env, tmp_path):
    from sohoa.runtime import get_runtime

    rt = get_runtime()
    signer = rt.signers.for_unit("00004", UNIT_NAME)
    mine = signer.sign(make_pdf("KET QUA CUA TOI"), reason="Bản sao", signer_name=UNIT_NAME)
    theirs = signer.sign(make_pdf("KET QUA KHAC"), reason="Bản sao", signer_name=UNIT_NAME)
    doc_id, key = add_stored_document(rt, 1, mine)

    out = tmp_path / "out.pdf"
    assert rt.objects.get_bytes(key, hashlib.sha256(mine).hexdigest()) == mine
    rt.objects.put_bytes(key, theirs, "application/pdf")  # metadata matches the swapped bytes
    bad = subprocess.run([SOHOA, "export", doc_id, str(out)], env=home_env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and doc_id in lines[0] and "catalog's sha256" in lines[0], bad.stderr
    assert "Traceback" not in bad.stderr
    assert not out.exists() and not out.with_name("out.pdf.part").exists()
