"""Key sources as typed configs (signing/keysource.py): every SOHOA_SIGNING_KEY form."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing.keysource import (
    DevKeySource,
    KeyMapSource,
    Pkcs11KeySource,
    Pkcs12KeySource,
    parse_key_source,
)
from signing.signer import SigningError
from tests.conftest import service_unavailable

SOFTHSM = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def test_each_form_parses_to_its_config(pki, tmp_path, monkeypatch):
    p12 = tmp_path / "u.p12"
    pki.issue_unit_pkcs12("00004", "UBND phường Trúc Bạch", out=p12)
    monkeypatch.setenv("SOHOA_TEST_P12", (tmp_path / "u.p12.pass").read_text().strip())
    spec12 = f"pkcs12:{p12}?pass_env=SOHOA_TEST_P12&trust={pki.root_cert_path}"
    assert parse_key_source("dev") == DevKeySource()
    source = parse_key_source(spec12)
    assert isinstance(source, Pkcs12KeySource) and source.path == p12
    assert source.trust == (pki.root_cert_path,)
    assert "pass" not in repr(source).lower().replace("pass_env", "")  # no secret in logs
    assert source.open().subject_cn == "UBND phường Trúc Bạch (TEST)"
    module = next((m for m in SOFTHSM if Path(m).is_file()), None)
    if module is None:
        service_unavailable("SoftHSM2 is not installed")
    hsm = parse_key_source(f"pkcs11:module={module};token=t;key=k;pin_env=PIN")
    assert isinstance(hsm, Pkcs11KeySource) and hsm.token.token == "t"
    keys = tmp_path / "keys.toml"
    keys.write_text(f'default = "{spec12}"\n[agencies]\n"000.00.12.H26" = "{spec12}"\n',
                    encoding="utf-8")
    mapped = parse_key_source(f"map:{keys}")
    assert isinstance(mapped, KeyMapSource)
    assert mapped.source_for("00099", "000.00.12.H26") == source
    assert mapped.trust == (pki.root_cert_path,)


@pytest.mark.parametrize("spec, problem", [
    ("file:/x.p12", "is not understood"),
    ("pkcs12:/x.p12?pass_env=SOHOA_TEST_NOT_SET", "SOHOA_TEST_NOT_SET is not set"),
    ("pkcs11:module=/nonexistent/x.so;token=t;key=k", "PKCS#11 module not found"),
    ("map:/nonexistent/keys.toml", "cannot read the signing key map"),
])
def test_bad_specs_say_what_is_wrong(spec, problem):
    with pytest.raises(SigningError, match=problem):
        parse_key_source(spec)
