"""ocr.poppler: pdf2image reaches pdftoppm and pdfinfo through wrappers that apply the render
limits; the render's exit status and stderr come back although pdf2image drops them."""

from __future__ import annotations

import stat
import subprocess

import pdf2image

from ocr.limits import Limits, render_pdf_page
from ocr.poppler import outcome, tools_dir
from tests.ocr import hostile


def test_rendering_goes_through_pdf2image_and_the_limited_tools(tmp_path, monkeypatch):
    path = hostile.actions_pdf(tmp_path / "trang.pdf")
    calls = []
    real = pdf2image.convert_from_path

    def spy(*args, **kwargs):
        calls.append(kwargs["poppler_path"])
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf2image, "convert_from_path", spy)
    image = render_pdf_page(path, 0, 100, Limits(render_memory_mb=512, render_seconds=30))
    assert image.size == (850, 1100) and image.mode == "RGB"
    assert calls == [tools_dir(512, 30)]


def test_the_wrappers_limit_memory_and_time_and_stay_private(tmp_path):
    folder = tools_dir(256, 2.5)
    assert folder == tools_dir(256, 2.5)  # written once per set of limits
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    for tool in ("pdftoppm", "pdfinfo"):
        assert stat.S_IMODE((folder / tool).stat().st_mode) == 0o700
    version = subprocess.run([folder / "pdftoppm", "-v"], capture_output=True, text=True)
    assert version.returncode == 0 and "pdftoppm version" in version.stderr
    script = (folder / "pdftoppm").read_text()
    assert "ulimit -v 262144" in script and "timeout -s KILL 2.5 " in script
    assert "timeout -s KILL 10 " in (folder / "pdfinfo").read_text()  # at least 10 s

    # a render that needs more than its wall time is killed, and says so
    page = hostile.giant_page_pdf(tmp_path / "lon.pdf", inches=40)
    out = tmp_path / "sohoa-render-test"
    out.mkdir()
    slow = tools_dir(1024, 0.05)
    subprocess.run([slow / "pdftoppm", "-r", "300", "-singlefile", page, out / "page"],
                   timeout=30)
    status, _ = outcome(out / "page")
    assert status in (124, 137)
    tight = tools_dir(40, 30)
    subprocess.run([tight / "pdftoppm", "-r", "300", "-singlefile", page, out / "p2"],
                   timeout=30)
    status, stderr = outcome(out / "p2")
    assert status != 0 or "out of memory" in stderr.lower()
