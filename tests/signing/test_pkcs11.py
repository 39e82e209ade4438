"""Signing with a key on a PKCS#11 token: SoftHSM2 in a temporary folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from signing.signer import SignerProvider, SigningError
from signing.verify import verify_pdf
from tests.signing.helpers import UNIT_NAME, make_pdf

MODULE = next(
    (p for p in ("/usr/lib/softhsm/libsofthsm2.so",
                 "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so") if Path(p).is_file()),
    None,
)
pytestmark = pytest.mark.skipif(
    MODULE is None or shutil.which("softhsm2-util") is None, reason="softhsm2 not installed"
)
TOKEN = "sohoa-test"
PIN = "246810"


@pytest.fixture(scope="module")
def token(tmp_path_factory, pki):
    """A SoftHSM2 token holding the TEST key of unit 00004, with its chain."""
    from signing.pkcs11 import close_sessions, import_pkcs12_to_token

    d = tmp_path_factory.mktemp("softhsm")
    (d / "tokens").mkdir()
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    old_conf = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by the library when it initialises
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN,
                    "--so-pin", "13579", "--pin", PIN], check=True, env=env,
                   capture_output=True, timeout=60)
    p12 = pki.unit_pkcs12("00004", UNIT_NAME)
    import_pkcs12_to_token(MODULE, TOKEN, PIN, p12, pki.unit_passphrase("00004"), "unit-00004")
    yield
    close_sessions()
    if old_conf is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old_conf


def _spec(**over):
    parts = {"module": MODULE, "token": TOKEN, "key": "unit-00004",
             "pin_env": "SOHOA_TEST_TOKEN_PIN", **over}
    return "pkcs11:" + ";".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def test_sign_with_token_and_verify(token, pki, tmp_path, monkeypatch):
    monkeypatch.setenv("SOHOA_TEST_TOKEN_PIN", PIN)
    prov = SignerProvider(_spec(trust=pki.root_cert_path), tmp_path)
    signer = prov.for_unit("00004", UNIT_NAME)
    assert signer is prov.for_unit("00005", "x")  # one key for every unit
    assert signer.subject_cn == "UBND phường Trúc Bạch (TEST)"
    out = signer.sign(make_pdf(), reason="r", signer_name=UNIT_NAME)
    report = verify_pdf(out, prov.trust_roots())
    assert report.valid, report.problems
    assert report.signer == "UBND phường Trúc Bạch (TEST)"
    if shutil.which("pdfsig"):
        f = tmp_path / "t.pdf"
        f.write_bytes(out)
        res = subprocess.run(["pdfsig", str(f)], capture_output=True, text=True, timeout=60)
        assert "Signature is Valid" in res.stdout


def test_token_signatures_serialised_across_threads(token, pki, tmp_path, monkeypatch):
    monkeypatch.setenv("SOHOA_TEST_TOKEN_PIN", PIN)
    signer = SignerProvider(_spec(), tmp_path).for_unit("00004", UNIT_NAME)
    pdf = make_pdf()
    outs, errors = [], []

    def work():
        try:
            for _ in range(3):
                outs.append(signer.sign(pdf, reason="r", signer_name="x"))
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(outs) == 9
    assert all(verify_pdf(o, pki.trust_roots()).valid for o in outs[:3])


def test_wrong_pin_is_clear_and_not_leaked(token, tmp_path, monkeypatch):
    from signing.pkcs11 import close_sessions

    close_sessions()  # force a fresh login
    monkeypatch.setenv("SOHOA_TEST_TOKEN_PIN", "999999")
    with pytest.raises(SigningError) as err:
        SignerProvider(_spec(), tmp_path).for_unit("00004", UNIT_NAME)
    assert TOKEN in str(err.value)
    assert "999999" not in str(err.value)
    assert "Pin" in str(err.value)


def test_missing_key_label(token, tmp_path, monkeypatch):
    monkeypatch.setenv("SOHOA_TEST_TOKEN_PIN", PIN)
    with pytest.raises(SigningError, match="no-such-key"):
        SignerProvider(_spec(key="no-such-key"), tmp_path).for_unit("00004", UNIT_NAME)


def test_pin_env_unset(token, tmp_path, monkeypatch):
    from signing.pkcs11 import close_sessions

    close_sessions()
    monkeypatch.delenv("SOHOA_TEST_TOKEN_PIN", raising=False)
    with pytest.raises(SigningError, match="SOHOA_TEST_TOKEN_PIN"):
        SignerProvider(_spec(), tmp_path).for_unit("00004", UNIT_NAME)


@pytest.mark.parametrize("spec", [
    "pkcs11:module=/nope.so;token=t;key=k",
    "pkcs11:token=t;key=k",
    "pkcs11:module=MOD;token=t;key=k;colour=red",
    "pkcs11:module=MOD;token=t;key=k;pin_env=A;pin_file=/b",
])
def test_bad_pkcs11_specs(spec, tmp_path):
    with pytest.raises(SigningError):
        SignerProvider(spec.replace("MOD", MODULE or "/x"), tmp_path)
