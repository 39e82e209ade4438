"""Preprocessing on small generated pages: orientation, skew, seal dropout, blank pages, quality gate."""

from __future__ import annotations

import io
import subprocess

import cv2
import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFilter

from bench.corpus import SEAL_RED, generate_document
from ocr.engine import recognize_pages
from ocr.pages import InputError, Page
from ocr.pdf import assemble_pdf, pdf_text, pdfa_report
from ocr.preprocess import analyze, check_quality, drop_gray_seals, recognition_gray, straighten
from tests.ocr.conftest import PHRASE, font, render_lines


@pytest.fixture(scope="module")
def decision():
    """A generated gray 200-dpi decision page, slightly skewed (1.2°), and its ground truth."""
    doc = generate_document(8, dpi=200, skew=1.2, noise=0.3, color="gray", pages=1)
    return doc.pages[0], doc.truth


@pytest.mark.parametrize("turned", [90, 180, 270])
def test_rotation_is_detected_for_quarter_and_half_turns(decision, turned):
    page, truth = decision
    scanned = page.rotate(-turned, expand=True)  # the page lies turned clockwise by `turned`
    a = analyze(scanned, 200)
    assert not a.blank
    assert a.rotation == (360 - turned) % 360  # the clockwise turn that makes it upright
    assert a.skew == pytest.approx(truth["page_info"][0]["skew_deg"], abs=0.3)


def test_upright_page_is_left_alone(decision):
    a = analyze(decision[0], 200)
    assert a.rotation == 0 and a.upright_score > 0.55


@pytest.mark.parametrize("skew", [-2.7, -0.8, 1.9, 4.0])
def test_skew_angle_within_a_third_of_a_degree(skew):
    doc = generate_document(21, dpi=200, skew=skew, noise=0.4, color="color", pages=1)
    a = analyze(doc.pages[0], 200)
    assert a.rotation == 0
    assert a.skew == pytest.approx(doc.truth["page_info"][0]["skew_deg"], abs=0.3)


def test_straighten_turns_and_deskews_without_resizing():
    img = np.full((100, 300), 255, np.uint8)
    img[40:50, 20:280] = 0  # a horizontal bar
    tilted = straighten(img, 0, -3.0)  # turning by 3° tilts the bar
    assert tilted.shape == img.shape
    rows = np.flatnonzero((tilted < 128).any(axis=1))
    assert rows.max() - rows.min() > 15
    turned = straighten(img, 90, 0.0)
    assert turned.shape == (300, 100)
    assert (turned[:, 50:60] < 128).sum() > 2000  # the bar now runs down the page


SEALED_LINES = [PHRASE, "Chủ tịch Ủy ban nhân dân", "Căn cứ Luật Tổ chức chính quyền",
                "địa phương ngày 19 tháng 6 năm 2015", "Điều 1. Cấp giấy phép cho ông An",
                "Điều 2. Quyết định có hiệu lực kể từ ngày ký"]


def _sealed_page(alpha: float = 0.9) -> Image.Image:
    """Black text with a red seal stamped over its middle, like a signed decision."""
    img = render_lines(SEALED_LINES, size=(1700, 1050))
    arr = np.asarray(img, dtype=np.float32)
    seal = np.zeros(arr.shape[:2], np.uint8)
    cv2.circle(seal, (800, 360), 170, 255, 14)
    cv2.circle(seal, (800, 360), 110, 255, 8)
    cv2.putText(seal, "UBND", (700, 390), cv2.FONT_HERSHEY_SIMPLEX, 3, 255, 10)
    alpha = (seal / 255.0)[..., None] * alpha
    red = np.array(SEAL_RED, np.float32) / 255.0
    out = arr * (1 - alpha * (1 - red))  # multiply blend, as ink over ink
    return Image.fromarray(out.clip(0, 255).astype(np.uint8))


def test_seal_dropout_removes_red_but_keeps_black_text():
    img = _sealed_page()
    gray = recognition_gray(img)
    lum = np.asarray(img.convert("L"))
    ring = (np.asarray(img)[..., 0] > 150) & (np.asarray(img)[..., 1] < 100)  # red-only pixels
    assert ring.sum() > 5000
    assert lum[ring].mean() < 110  # plain gray conversion keeps the seal dark
    assert np.percentile(gray[ring], 5) > 180  # dropped out in the recognition image
    text = np.asarray(render_lines(SEALED_LINES, size=(1700, 1050)).convert("L")) < 80
    assert gray[text & ~ring].mean() < 60  # black text stays black


def test_gray_seal_is_found_and_whitened_but_black_text_stays():
    img = _sealed_page(0.6).convert("L")  # a red stamp scanned in gray: mid-gray
    a = analyze(img, 300)
    (box,) = a.seals
    x0, y0, x1, y1 = box
    assert x0 <= 640 and x1 >= 960 and y0 <= 200 and y1 >= 520  # the 340 px seal at (800, 360)
    rgb = np.asarray(_sealed_page(0.6))
    ring = (rgb[..., 0] > 150) & (rgb[..., 1] < 110)
    gray = np.asarray(img)
    dropped = drop_gray_seals(gray, a)
    assert gray[ring].mean() < 160 and np.percentile(dropped[ring], 10) == 255
    text = np.asarray(render_lines(SEALED_LINES, size=(1700, 1050)).convert("L")) < 60
    assert dropped[text].mean() < 60  # the text under and beside the seal stays black
    # a page without a seal is left untouched
    plain = render_lines([PHRASE, "Trang số 1"], mode="L")
    assert analyze(plain, 300).seals == []


def test_sealed_text_is_read_and_the_stored_page_keeps_its_colour():
    (r,) = recognize_pages([Page(0, _sealed_page(), 300, "seal.png")])
    for line in SEALED_LINES:
        assert line in r.text
    with pikepdf.open(io.BytesIO(r.pdf)) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        stored = np.asarray(pikepdf.PdfImage(image).as_pil_image().convert("RGB")).astype(int)
    reddish = (stored[..., 0] - stored[..., 1] > 80).sum()
    assert reddish > 5000  # the seal is still red in the searchable PDF


def test_blank_back_with_bleed_through_is_blank_but_a_sparse_page_is_not():
    doc = generate_document(3, dpi=200, blank_back=True, noise=0.5, color="gray", pages=1)
    assert doc.truth["blank_pages"] == [1]
    assert not analyze(doc.pages[0], 200).blank
    back = analyze(doc.pages[1], 200)
    assert back.blank
    # a real page with only a few short lines (a continuation page) is kept
    sparse = Image.new("L", (1654, 2339), 250)
    draw = ImageDraw.Draw(sparse)
    draw.text((250, 300), "Trang 2/2", font=font(34), fill=20)
    draw.text((250, 360), "Nơi nhận: - Như Điều 3;", font=font(34), fill=20)
    noisy = np.asarray(sparse, dtype=np.int16) + np.random.default_rng(1).normal(0, 4, (2339, 1654))
    sparse = Image.fromarray(noisy.clip(0, 255).astype(np.uint8))
    a = analyze(sparse, 200)
    assert not a.blank and a.chars >= 15


def test_quality_gate_refuses_150_dpi_with_a_vietnamese_message():
    page = render_lines([PHRASE, "Trang số 1"], size=(1240, 400))
    with pytest.raises(InputError) as exc:
        recognize_pages([Page(2, page, 150, "hoso.pdf")])
    assert "hoso.pdf" in str(exc.value) and "page 3" in str(exc.value) and "150 dpi" in str(exc.value)
    vi = exc.value.vi
    assert "hoso.pdf" in vi and "trang 3" in vi and "200 dpi" in vi and "quét lại" in vi
    assert "màu" in vi and "100%" in vi
    # an unknown resolution (no dpi in the file) is not refused for it
    check_quality(analyze(page, 300), 150, dpi_known=False)


def test_quality_gate_refuses_a_heavily_blurred_page(decision):
    page, _ = decision
    sharp = analyze(page, 200)
    check_quality(sharp, 200)  # the normal counter scan passes
    blurred = page.filter(ImageFilter.GaussianBlur(4))
    with pytest.raises(InputError) as exc:
        check_quality(analyze(blurred, 200), 200, source="mo.tif", index=0)
    assert "blurred" in str(exc.value) and "mo.tif" in str(exc.value)
    assert "nhòe" in exc.value.vi and "quét lại" in exc.value.vi


def test_quality_gate_refuses_a_dark_page(decision):
    page, _ = decision
    dark = Image.fromarray((np.asarray(page, dtype=np.float32) * 0.3).astype(np.uint8))
    with pytest.raises(InputError) as exc:
        check_quality(analyze(dark, 200), 200, source="toi.png")
    assert "dark" in str(exc.value) and "quá tối" in exc.value.vi


def _assert_shows_upright(result, scanned: Image.Image) -> None:
    """The page PDF shows the scan turned upright and deskewed, where the word boxes are; the
    stored image is the scan itself (same pixels count, never resampled)."""
    with pikepdf.open(io.BytesIO(result.pdf)) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert (int(image.Width), int(image.Height)) == scanned.size
    png = subprocess.run(["pdftoppm", "-r", str(result.dpi), "-gray", "-png", "-"],
                         input=result.pdf, capture_output=True, check=True).stdout
    shown = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.int16)
    assert shown.shape == (result.height, result.width)
    upright = straighten(np.asarray(scanned.convert("L")), result.rotation, result.skew)
    assert np.abs(shown - upright.astype(np.int16)).mean() < 6
    word = max(result.words, key=lambda w: w.width * (w.conf > 0.8))
    box = shown[word.top : word.top + word.height, word.left : word.left + word.width]
    assert box.min() < 100  # ink under the word's box


def test_quarter_turned_page_is_stored_upright_with_aligned_words(decision):
    page, truth = decision
    scanned = page.rotate(-90, expand=True)
    (r,) = recognize_pages([Page(0, scanned, 200, "ngang.tif")])
    assert r.rotation == 270 and (r.width, r.height) == page.size
    assert truth["title"] in r.text.replace("\n", " ")
    _assert_shows_upright(r, scanned)


def test_upside_down_page_with_blank_back_end_to_end():
    """Read upright, blank back flagged and left out, page count kept, PDF/A valid."""
    doc = generate_document(12, dpi=200, skew=-1.5, upside_down=True, noise=0.3, blank_back=True,
                            color="color", pages=1, jpeg_quality=70)
    pages = [Page(i, im, 200, "ngược.pdf") for i, im in enumerate(doc.pages)]
    results = recognize_pages(pages, workers=2)
    assert len(results) == len(pages) == 2  # pages in = pages out, blank included
    front, back = results
    assert front.rotation == 180 and not front.blank and back.blank
    assert front.skew == pytest.approx(-1.5, abs=0.3)
    title = doc.truth["title"]
    assert title in front.text.replace("\n", " ")
    _assert_shows_upright(front, doc.pages[0])
    data = assemble_pdf(results, title="ngược")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 1  # the blank back is left out of the searchable PDF
    assert title in pdf_text(data).replace("\n", " ")
    report = pdfa_report(data)
    assert report.passed, report.summary()


def _page_with(text_lines, font_px: int, dpi: int, ink: int = 0):
    from tests.ocr.conftest import font

    img = Image.new("L", (int(8.27 * dpi), int(11.69 * dpi)), 250)
    draw = ImageDraw.Draw(img)
    f = font(font_px)
    y = dpi
    for line in text_lines:
        draw.text((dpi, y), line, font=f, fill=ink)
        y += int(font_px * 1.4)
    return img


def test_a_page_of_large_letters_is_not_blank():
    # issue #17: a page of large text was called blank (letters taller than a character)
    page = _page_with(["GIẤY", "KHEN"], font_px=330, dpi=200)
    assert not analyze(page, 200).blank


def test_a_page_of_tiny_typewriter_text_is_not_blank():
    line = "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015 và các văn bản"
    page = _page_with([line] * 30, font_px=14, dpi=300, ink=60)  # 3.4 pt: fades at 150 dpi
    assert len(_marks_at_analysis(page)) < 8  # what called such pages blank
    assert not analyze(page, 300).blank
    blank = _page_with([], font_px=17, dpi=300)
    assert analyze(blank, 300).blank


def _marks_at_analysis(page):
    from ocr.preprocess import _downscale, _marks

    return _marks(_downscale(np.asarray(page), 300))[0]


def test_a_phone_photo_at_an_angle_is_refused_with_a_retake_message():
    doc = generate_document(5, dpi=200, pages=1, doc_type="cong_van")
    sheet = np.asarray(doc.pages[0].convert("L"))
    h, w = sheet.shape
    frame = (w * 1.4, h * 1.3)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[w * 0.25, h * 0.12], [w * 1.15, h * 0.2], [w * 1.2, h * 1.2],
                      [w * 0.15, h * 1.1]])
    photo = cv2.warpPerspective(sheet, cv2.getPerspectiveTransform(src, dst),
                                (int(frame[0]), int(frame[1])), borderValue=70)
    a = analyze(Image.fromarray(photo), 200)
    assert a.photo_angle > 3
    with pytest.raises(InputError) as e:
        check_quality(a, 200, source="photo.jpg")
    assert "photo" in str(e.value) and "chụp thẳng từ trên xuống" in e.value.vi
    # a flat scan of the same sheet is not a photo
    assert analyze(doc.pages[0], 200).photo_angle == 0.0


def test_a_phone_photo_of_a_flat_sheet_is_read_with_its_perspective_corrected():
    doc = generate_document(6, dpi=300, pages=1, doc_type="quyet_dinh")
    sheet = np.asarray(doc.pages[0].convert("L"))
    h, w = sheet.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[w * 0.12, h * 0.06], [w * 1.1, h * 0.1], [w * 1.14, h * 1.1],
                      [w * 0.08, h * 1.06]])
    photo = cv2.warpPerspective(sheet, cv2.getPerspectiveTransform(src, dst),
                                (int(w * 1.25), int(h * 1.2)), borderValue=60)
    [result] = recognize_pages([Page(0, Image.fromarray(photo), 300, "photo.jpg")], workers=1)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in result.text
    assert result.dpi >= 200 and abs(result.width / result.height - w / h) < 0.05


def test_a_huge_page_read_at_low_dpi_names_its_size_not_its_dpi():
    a = analyze(Image.new("L", (600, 500), 255), 93)
    a.size_in = (116.0, 96.0)
    with pytest.raises(InputError) as e:
        check_quality(a, 93, source="big.pdf")
    assert "116x96 inches" in str(e.value) and "93 dpi" not in str(e.value).split("(")[0]


def test_a_scan_with_dark_margins_is_not_a_photo():
    doc = generate_document(5, dpi=200, pages=1, doc_type="cong_van")
    sheet = doc.pages[0].convert("L")
    framed = Image.new("L", (sheet.width + 300, sheet.height + 260), 30)  # lid left open
    framed.paste(sheet, (150, 130))
    assert analyze(framed, 200).photo_angle == 0.0


def test_a_blank_page_is_known_at_a_glance_and_every_other_page_is_left_to_analysis():
    """`blank_at_a_glance` (batch capture, while the scanner delivers a page) says blank only
    where `analyze` does and the page holds almost no ink; separator sheets (QR or patch bars),
    text of any size and a sparse page all need the full examination."""
    from batch import patchcode, separator
    from bench.batch import blank_paper
    from ocr.preprocess import blank_at_a_glance

    for dpi in (200, 300):
        for seed in range(3):
            paper = blank_paper(dpi, seed)
            gray = recognition_gray(paper)
            chars = blank_at_a_glance(gray, dpi)
            assert chars is not None and analyze(paper, dpi).blank
            assert chars == analyze(paper, dpi).chars
        sheets = [separator.render_sheet(None, dpi), separator.render_sheet("H26.01-0042", dpi),
                  *(patchcode.render_sheet(code, dpi) for code in ("T", "2", "1", "6"))]
        for sheet in sheets:
            assert blank_at_a_glance(recognition_gray(sheet.convert("L")), dpi) is None
    line = "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015 và các văn bản"
    for page, dpi in ((_page_with([line] * 30, font_px=14, dpi=300, ink=60), 300),
                      (_page_with(["GIẤY", "KHEN"], font_px=330, dpi=200), 200)):
        assert not analyze(page, dpi).blank
        assert blank_at_a_glance(np.asarray(page), dpi) is None
    doc = generate_document(3, dpi=200, blank_back=True, noise=0.5, color="gray", pages=1)
    assert blank_at_a_glance(recognition_gray(doc.pages[0]), 200) is None
    # a back with the front's text bled through: faint, under the ink threshold, blank
    assert blank_at_a_glance(recognition_gray(doc.pages[1]), 200) is not None


def test_little_ink_at_full_resolution_skips_the_search_for_tiny_type_but_enough_finds_it():
    """The tiny-type check is skipped only when the ink could not make that many marks (each
    at least its minimum height in pixels): a page of exactly that many minimal marks is still
    found, one mark fewer is not text."""
    from ocr.preprocess import BLANK_MAX_CHARS, FINE_MARK_IN, _components, _downscale, _text_the_marks_missed

    dpi, need = 300, 3 * BLANK_MAX_CHARS
    tall = int(np.ceil(FINE_MARK_IN * dpi))
    for marks, found in ((need, True), (need - 1, False)):
        a = np.full((3508, 2480), 245, np.uint8)
        for n in range(marks):  # one-pixel-wide strokes of the minimum height: faint at 150 dpi
            y, x = 400 + (n // 6) * 40, 300 + (n % 6) * 30
            a[y:y + tall, x] = 40
        stats = _components(_downscale(a, dpi))[0]
        assert _text_the_marks_missed(a, stats, dpi) is found
