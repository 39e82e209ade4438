"""recognize_pages: one tesseract run per page gives the page PDF, words and text."""

from __future__ import annotations

import io
import stat
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from ocr import engine
from ocr.engine import OcrError, parse_tsv, recognize_pages
from ocr.pages import Page
from tests.ocr.conftest import PHRASE, render_lines


def _page_size_pt(pdf: bytes) -> tuple[float, float]:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        with pikepdf.open(f.name) as doc:
            box = doc.pages[0].mediabox
            return float(box[2]) - float(box[0]), float(box[3]) - float(box[1])


def test_vietnamese_line_is_read_with_diacritics(ocr_results):
    colour, bilevel, gray = ocr_results
    for r in (colour, bilevel, gray):
        assert PHRASE in r.text
        assert "Trang số" in r.text
        assert 0.6 < r.confidence <= 1.0
        assert r.pdf.startswith(b"%PDF-")
    assert "Trang số 1" in colour.text and "Trang số 2" in bilevel.text
    assert "Trang số 3" in gray.text
    assert colour.image_format == "jpeg" and bilevel.image_format == "flate"
    assert gray.image_format == "jpeg"


def test_words_have_boxes_in_page_pixels(ocr_results):
    r = ocr_results[0]
    first = r.words[0]
    assert first.text == "Quyết"
    assert 0.0 <= first.conf <= 1.0
    # the line was drawn at x=100, y=80 with a 40 px font
    assert 90 <= first.left <= 115 and 75 <= first.top <= 100
    assert 20 <= first.height <= 60
    assert all(0 <= w.left < r.width and 0 <= w.top < r.height for w in r.words)
    assert " ".join(w.text for w in r.words[:9]) == PHRASE


def test_page_pdf_is_at_100_percent_scale(ocr_results):
    for r in ocr_results:
        w, h = _page_size_pt(r.pdf)
        assert w == pytest.approx(r.width * 72 / r.dpi, abs=0.6)
        assert h == pytest.approx(r.height * 72 / r.dpi, abs=0.6)
    assert ocr_results[1].dpi == 200


def test_black_and_white_gray_page_is_stored_losslessly_as_1_bit():
    # a bilevel scan inside a PDF is rendered as gray holding only 0 and 255
    page = render_lines([PHRASE, "Trang số 4"], mode="1").convert("L")
    (r,) = recognize_pages([Page(0, page, 300, "bw.pdf")])
    assert r.image_format == "flate" and PHRASE in r.text
    with pikepdf.open(io.BytesIO(r.pdf)) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert int(image.BitsPerComponent) == 1
        stored = pikepdf.PdfImage(image).as_pil_image().convert("L")
    assert np.array_equal(np.asarray(stored), np.asarray(page))


def test_results_keep_page_order_with_workers():
    pages = [
        Page(i, render_lines([f"Trang số {n} của hồ sơ"], size=(900, 200)), 300, "order.png")
        for i, n in enumerate((7, 3, 9))
    ]
    results = recognize_pages(pages, workers=2)
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.text.strip() for r in results] == [f"Trang số {n} của hồ sơ" for n in (7, 3, 9)]


def test_blank_page_is_flagged_not_read_and_kept_in_the_results():
    pages = [Page(0, render_lines([], size=(600, 400), mode="L"), 300, "b.png"),
             Page(1, render_lines([PHRASE], size=(1700, 200)), 300, "b.png")]
    blank, text = recognize_pages(pages, workers=2)
    assert blank.blank and not text.blank
    assert blank.text == "" and blank.words == [] and blank.confidence == 0.0
    assert blank.pdf == b"" and text.pdf.startswith(b"%PDF-")
    (again,) = recognize_pages(pages[:1], steps=engine.Steps(blank=False))
    assert not again.blank and again.pdf.startswith(b"%PDF-") and again.text == ""


def test_missing_language_is_a_clear_error():
    page = Page(0, render_lines(["a"], size=(200, 100)), 300, "x.png")
    with pytest.raises(OcrError, match="klingon"):
        recognize_pages([page], lang="vie+klingon")


TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def test_parse_tsv_builds_lines_and_paragraphs():
    rows = [
        "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t",
        "5\t1\t1\t1\t1\t1\t10\t10\t20\t10\t90.5\tSố:",
        "5\t1\t1\t1\t1\t2\t40\t10\t20\t10\t80\t12/UBND",
        "5\t1\t1\t1\t2\t1\t10\t30\t20\t10\t70\tngày",
        "5\t1\t2\t1\t1\t1\t10\t60\t20\t10\t60\tKính",
        "5\t1\t2\t1\t1\t2\t10\t60\t20\t10\t-1\t ",
    ]
    words, text = parse_tsv("\n".join([TSV_HEADER, *rows]) + "\n")
    assert [w.text for w in words] == ["Số:", "12/UBND", "ngày", "Kính"]
    assert words[0].conf == pytest.approx(0.905)
    assert text == "Số: 12/UBND\nngày\n\nKính"


def _fake_tesseract(tmp_path: Path, body: str) -> str:
    script = tmp_path / "tesseract"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_tesseract_runs_single_threaded_once_with_pdf_and_tsv(tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    header = tmp_path / "header.tsv"
    header.write_text(TSV_HEADER + "\n")
    text_only = tmp_path / "text.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(60, 30))
    pdf.save(text_only)
    fake = _fake_tesseract(
        tmp_path,
        f"""if [ "$1" = "--list-langs" ]; then echo 'List of languages:'; echo vie; exit 0; fi
echo "OMP=$OMP_THREAD_LIMIT args=$*" >> {log}
cp {text_only} "$2.pdf"
cp {header} "$2.tsv"
""",
    )
    monkeypatch.setattr(engine, "TESSERACT", fake)
    monkeypatch.setenv("OMP_THREAD_LIMIT", "8")
    pages = [Page(i, render_lines(["a"], size=(200, 100)), 240, "f.png") for i in range(3)]
    results = recognize_pages(pages, workers=2, steps=engine.Steps(blank=False))
    calls = log.read_text().splitlines()
    assert len(calls) == 3
    for call in calls:
        assert call.startswith("OMP=1 ")
        assert "--dpi 240" in call and call.endswith("pdf tsv") and "-l vie" in call
        assert "textonly_pdf=1" in call and ".bmp" in call  # PGM is read a pixel at a time
    for r in results:  # our page image drawn under the text-only page tesseract wrote
        with pikepdf.open(io.BytesIO(r.pdf)) as doc:
            (image,) = doc.pages[0].get_images().values()
            assert (int(image.Width), int(image.Height)) == (200, 100)


def test_tesseract_failure_names_the_page(tmp_path, monkeypatch):
    fake = _fake_tesseract(
        tmp_path,
        """if [ "$1" = "--list-langs" ]; then echo vie; exit 0; fi
echo "Error in pixReadStream: boom" >&2; exit 1
""",
    )
    monkeypatch.setattr(engine, "TESSERACT", fake)
    page = Page(4, render_lines(["a"], size=(200, 100)), 300, "scan.tif")
    with pytest.raises(OcrError, match=r"page 5 of scan\.tif.*boom"):
        recognize_pages([page], steps=engine.Steps(blank=False))


def test_real_tesseract_is_installed_with_vietnamese():
    out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True)
    assert "vie" in out.stdout.split()


# --- streaming: at most `workers` pages alive, results in page order --------------------------


def test_iter_recognize_takes_pages_only_as_workers_free_up():
    from ocr.engine import iter_recognize
    from tests.ocr.conftest import LiveImages

    live, taken = LiveImages(), [0]

    def pages():
        for i in range(6):
            image = render_lines([PHRASE, f"Trang số {i + 1}"], size=(1300, 300), mode="L")
            live.add(image)
            taken[0] += 1
            yield Page(i, image, 300, "dai.pdf")
            del image

    seen = []
    for result in iter_recognize(pages(), workers=2):
        seen.append((result.index, taken[0]))
        assert f"Trang số {result.index + 1}" in result.text
    assert [i for i, _ in seen] == list(range(6))
    assert seen[0][1] < 6  # the first result came before all pages were taken
    assert live.most <= 3  # two in Tesseract, one just decoded: never all six


def test_iter_recognize_stops_taking_pages_after_a_refused_page():
    from ocr.engine import iter_recognize
    from ocr.pages import InputError

    taken = []

    def pages():
        for i in range(10):
            dpi = 100 if i == 2 else 300  # page 3 scanned below 200 dpi: refused by the gate
            taken.append(i)
            yield Page(i, render_lines([f"Trang {i + 1}"], size=(500, 160), mode="L"), dpi,
                       "ho-so.pdf")

    got = []
    with pytest.raises(InputError) as info:
        for result in iter_recognize(pages(), workers=2):
            got.append(result.index)
    assert got == [0, 1] and "ho-so.pdf, page 3" in str(info.value)
    assert len(taken) < 10
