"""File import, scan profiles and scanner URIs."""

from __future__ import annotations

import pytest
from PIL import Image

from scanners import ScannerError, ScanProfile, open_scanner
from scanners.profiles import ProfileError, load_profiles


def test_file_import_reads_multipage_tiff_and_names_bad_files(tmp_path):
    tif = tmp_path / "two.tif"
    first = Image.new("L", (600, 800), 255)
    first.save(tif, save_all=True, append_images=[Image.new("L", (600, 800), 128)], dpi=(200, 200))
    pages = open_scanner(f"file:{tif}").scan(ScanProfile())
    assert [(p.index, p.dpi, p.mode) for p in pages] == [(0, 200, "gray"), (1, 200, "gray")]
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ScannerError) as err:
        open_scanner(f"file:{tif},{empty}").scan(ScanProfile())
    assert err.value.kind == "bad_file" and "empty.jpg" in err.value.vi
    assert len(err.value.pages) == 2


def test_profiles_refuse_low_dpi_and_load_toml(tmp_path):
    with pytest.raises(ProfileError, match="dpi"):
        ScanProfile(dpi=150)
    conf = tmp_path / "station.toml"
    conf.write_text('[profiles.nhanh]\ndpi = 200\nmode = "gray"\nsource = "duplex"\n')
    profiles = load_profiles(conf)
    assert profiles["nhanh"].duplex and profiles["nhanh"].dpi == 200
    assert "mac-dinh" in profiles
    conf.write_text('[profiles.x]\ndpi = 100\n')
    with pytest.raises(ProfileError, match=str(conf)):
        load_profiles(conf)


def test_unknown_uri():
    with pytest.raises(ScannerError, match="unknown scanner URI"):
        open_scanner("usb:whatever")
