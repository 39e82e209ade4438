"""SANE test-device configuration in a temp dir (no hand edit of /etc/sane.d needed)."""

from __future__ import annotations

import ctypes.util
import os
from pathlib import Path

import pytest

from tests.conftest import service_unavailable

TEST_CONF = """number_of_devices 2
mode Color
depth 8
resolution 200
test-picture "Color pattern"
read-return-value "Default"
"""


def sane_backend_available(name: str = "test") -> bool:
    for folder in ("/usr/lib/x86_64-linux-gnu/sane", "/usr/lib/aarch64-linux-gnu/sane",
                   "/usr/lib/sane"):
        if list(Path(folder).glob(f"libsane-{name}.so*")):
            return True
    return False


def write_sane_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dll.conf").write_text("test\npnm\n")
    (folder / "test.conf").write_text(TEST_CONF)
    return folder


@pytest.fixture
def sane_test(tmp_path, monkeypatch):
    """SANE with only the `test` backend; yields the device URI `sane:test:0`."""
    import importlib.util

    if importlib.util.find_spec("sane") is None:  # found, not imported: SANE runs in a child
        service_unavailable("python-sane is not installed")
    if not ctypes.util.find_library("sane") or not sane_backend_available("test"):
        service_unavailable("the SANE test backend (libsane1 / sane-backends) is not installed")
    from scanners import sane_driver

    sane_driver.reset()
    monkeypatch.setattr(sane_driver, "PAGE_TIMEOUT", 60.0)  # a test page takes about 1 s
    monkeypatch.setenv("SANE_CONFIG_DIR", str(write_sane_config(tmp_path / "sane.d")))
    os.environ.pop("SANE_DEFAULT_DEVICE", None)
    yield "sane:test:0"
    sane_driver.reset()


@pytest.fixture
def sane_document(sane_test, tmp_path):
    """SANE's `pnm` file-reader device loaded with a rendered Vietnamese decision (200 dpi):
    a SANE device whose pages carry real text. Yields its URI."""
    if not sane_backend_available("pnm"):
        service_unavailable("the SANE pnm backend (sane-backends) is not installed")
    from PIL import Image

    from tests.pipeline.conftest import render_decision

    png = render_decision(tmp_path / "quyet-dinh.png", dpi=200)
    ppm = tmp_path / "quyet-dinh.ppm"
    Image.open(png).convert("RGB").save(ppm)
    return f"sane:pnm:0?filename={ppm}"
