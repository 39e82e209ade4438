"""Per-agency and per-unit signing keys from a TOML map (SOHOA_SIGNING_KEY=map:…), and the
order in which an agency's key is chosen."""

from __future__ import annotations

import pytest

from signing.keymap import load_key_map
from signing.signer import SignerProvider, SigningError
from signing.verify import verify_pdf
from tests.signing.helpers import make_pdf


@pytest.fixture
def two_units(pki, tmp_path, monkeypatch):
    """PKCS#12 files of two units plus a default key, passphrases in the environment."""
    specs = {}
    for code, name in (("00004", "UBND phường Trúc Bạch"), ("00008", "UBND phường Quán Thánh"),
                       ("01", "UBND thành phố Hà Nội")):
        p12 = tmp_path / f"{code}.p12"
        pki.issue_unit_pkcs12(code, name, out=p12)
        var = f"SOHOA_TEST_P12_{code}"
        monkeypatch.setenv(var, (tmp_path / f"{code}.p12.pass").read_text().strip())
        specs[code] = f"pkcs12:{p12}?pass_env={var}"
    return specs


def _write(tmp_path, text: str):
    f = tmp_path / "keys.toml"
    f.write_text(text, encoding="utf-8")
    return f


def test_each_unit_signs_with_its_own_certificate(two_units, pki, tmp_path):
    f = _write(tmp_path, f'''
default = "{two_units["01"]}"
trust = ["{pki.root_cert_path}"]
[units]
"00004" = "{two_units["00004"]}"
"00008" = "{two_units["00008"]}"
''')
    prov = SignerProvider(f"map:{f}", tmp_path)
    a = prov.for_unit("00004", "x")
    b = prov.for_unit("00008", "y")
    other = prov.for_unit("00099", "z")  # not in the map: the default key
    assert a.subject_cn == "UBND phường Trúc Bạch (TEST)"
    assert b.subject_cn == "UBND phường Quán Thánh (TEST)"
    assert other.subject_cn == "UBND thành phố Hà Nội (TEST)"
    assert prov.for_unit("00004", "x") is a  # cached, key stays loaded
    assert prov.trust_roots() == [pki.root_cert_path]
    report = verify_pdf(b.sign(make_pdf(), reason="r", signer_name="y"), prov.trust_roots())
    assert report.valid and report.signer == "UBND phường Quán Thánh (TEST)"


def test_unit_without_key_and_no_default_refused(two_units, tmp_path):
    f = _write(tmp_path, f'[units]\n"00004" = "{two_units["00004"]}"\n')
    prov = SignerProvider(f"map:{f}", tmp_path)
    with pytest.raises(SigningError, match=r"keys\.toml.*no signing key for unit '00008'"):
        prov.for_unit("00008", "x")


@pytest.mark.parametrize("text, message", [
    ("[units\n", "not a valid TOML"),
    ('colour = "red"\n[units]\n"1" = "pkcs12:/a.p12"\n', "unknown key"),
    ('[units]\n"1" = "dev"\n', "only pkcs12: and pkcs11:"),
    ('[units]\n"1" = 5\n', "must be a key spec"),
    ("", "no \\[units\\] and no default"),
    ('default = "pkcs12:/a.p12?pass_env=SOHOA_SURELY_UNSET_VAR"\n', "SOHOA_SURELY_UNSET_VAR"),
])
def test_bad_maps_name_the_file(tmp_path, text, message):
    f = _write(tmp_path, text)
    with pytest.raises(SigningError, match=message) as err:
        SignerProvider(f"map:{f}", tmp_path)
    if "pass_env" not in text:
        assert "keys.toml" in str(err.value)


def test_missing_map_file(tmp_path):
    with pytest.raises(SigningError, match="nope.toml"):
        SignerProvider(f"map:{tmp_path / 'nope.toml'}", tmp_path)


def test_relative_trust_paths(tmp_path):
    f = _write(tmp_path, 'trust = "roots/vgca.pem"\ndefault = "pkcs12:/a.p12"\n')
    km = load_key_map(f)
    assert km.trust == [tmp_path / "roots" / "vgca.pem"]
    assert km.spec_for("anything") == "pkcs12:/a.p12"


def test_an_agency_signs_with_its_own_key_else_its_units(two_units, pki, tmp_path, monkeypatch):
    """Order: the agency's own spec (catalog) > [agencies] > [units] > default."""
    so_tu_phap = tmp_path / "stp.p12"
    pki.issue_unit_pkcs12("000.00.12.H26", "Sở Tư pháp thành phố Hà Nội", out=so_tu_phap)
    monkeypatch.setenv("SOHOA_TEST_P12_STP", (tmp_path / "stp.p12.pass").read_text().strip())
    own = f"pkcs12:{so_tu_phap}?pass_env=SOHOA_TEST_P12_STP"
    f = _write(tmp_path, f'''
default = "{two_units["01"]}"
trust = ["{pki.root_cert_path}"]
[units]
"00004" = "{two_units["00004"]}"
[agencies]
"000.00.08.H26" = "{two_units["00008"]}"
''')
    prov = SignerProvider(f"map:{f}", tmp_path)
    mapped = prov.for_agency("000.00.08.H26", "a", unit_code="00004", unit_name="u")
    by_unit = prov.for_agency("000.00.04.H26", "b", unit_code="00004", unit_name="u")
    by_default = prov.for_agency("000.00.99.H26", "c", unit_code="00099", unit_name="u")
    catalog = prov.for_agency("000.00.12.H26", "d", unit_code="01", unit_name="u", key_spec=own)
    assert mapped.subject_cn == "UBND phường Quán Thánh (TEST)"
    assert by_unit.subject_cn == "UBND phường Trúc Bạch (TEST)"
    assert by_default.subject_cn == "UBND thành phố Hà Nội (TEST)"
    assert catalog.subject_cn == "Sở Tư pháp thành phố Hà Nội (TEST)"
    with pytest.raises(SigningError, match="use a pkcs12: or pkcs11: spec"):
        prov.for_agency("x", "x", unit_code="01", unit_name="u", key_spec="/keys/x.p12")


def test_test_pki_gives_each_agency_a_certificate_naming_it(provider):
    signer = provider.for_agency("000.00.12.H26", "Sở Tư pháp thành phố Hà Nội",
                                 unit_code="01", unit_name="Thành phố Hà Nội")
    assert signer.subject_cn == "Sở Tư pháp thành phố Hà Nội (TEST)"
    assert provider.for_agency("000.00.12.H26", "Sở Tư pháp thành phố Hà Nội", unit_code="01",
                               unit_name="Thành phố Hà Nội") is signer


def test_agencies_table_in_the_map_is_checked(tmp_path):
    f = _write(tmp_path, '[agencies]\n"000.00.12.H26" = "dev"\n')
    with pytest.raises(SigningError, match=r"agencies\.000\.00\.12\.H26 = 'dev'.*only pkcs12:"):
        load_key_map(f)
