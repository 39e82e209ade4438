"""Tests for the synthetic administrative-document corpus (bench.corpus)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from bench import corpus
from bench.corpus import (
    DOC_TYPES,
    CorpusError,
    decree30_date,
    generate_corpus,
    generate_document,
    vn_number_words,
    write_document,
)

NUMBER_RE = {
    "quyet_dinh": r"^\d+/QĐ-[A-ZĐ]+$",
    "giay_phep_xay_dung": r"^\d+/GPXD$",
    "dang_ky_ho_kinh_doanh": r"^\d+/ĐKHKD$",
    "trich_luc_khai_sinh": r"^\d+/TLKS$",
    "dang_ky_ket_hon": r"^\d+/ĐKKH$",
    "xac_nhan_tinh_trang_hon_nhan": r"^\d+/XNTTHN$",
    "dang_ky_doanh_nghiep": r"^\d+/ĐKDN$",
    "cong_van": r"^\d+/[A-ZĐ]+-[A-ZĐ]+$",  # no type abbreviation: 12/UBND-VX
    "khac": r"^\d+/(TB|BB)-[A-ZĐ]+$",
}
TITLES = {
    "quyet_dinh": "QUYẾT ĐỊNH",
    "giay_phep_xay_dung": "GIẤY PHÉP XÂY DỰNG",
    "dang_ky_ho_kinh_doanh": "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH",
    "trich_luc_khai_sinh": "TRÍCH LỤC KHAI SINH",
    "dang_ky_ket_hon": "GIẤY CHỨNG NHẬN KẾT HÔN",
    "xac_nhan_tinh_trang_hon_nhan": "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",
    "dang_ky_doanh_nghiep": "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP",
    "cong_van": "",
}


def _px(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"))


def _unit_codes() -> tuple[set[str], set[str]]:
    import vietnamadminunits

    db = Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"
    con = sqlite3.connect(db)
    districts = {r[0] for r in con.execute(
        "SELECT districtCode FROM admin_units_legacy WHERE provinceCode='01'")}
    wards = {r[0] for r in con.execute(
        "SELECT wardCode FROM admin_units_legacy WHERE provinceCode='01' UNION "
        "SELECT wardCode FROM admin_units WHERE provinceCode='01'")}
    con.close()
    return districts, wards


def test_same_seed_same_document_different_seed_different():
    kw = dict(dpi=150, skew=1.5, noise=0.4, blur=0.5, tint=0.5, jpeg_quality=70,
              blank_back=True)
    a = generate_document(42, **kw)
    b = generate_document(42, **kw)
    c = generate_document(43, **kw)
    assert a.truth == b.truth
    assert len(a.pages) == len(b.pages)
    for pa, pb in zip(a.pages, b.pages, strict=True):
        assert np.array_equal(np.asarray(pa), np.asarray(pb))
    assert c.truth["text"] != a.truth["text"]


@pytest.mark.parametrize("doc_type", DOC_TYPES)
def test_ground_truth_is_complete_and_consistent(doc_type):
    districts, wards = _unit_codes()
    for seed in (1, 2):
        doc = generate_document(seed, doc_type=doc_type, dpi=150)
        t = doc.truth
        f = t["fields"]
        assert t["document_type"] == doc_type
        assert re.match(NUMBER_RE[doc_type], f["number"]), f["number"]
        issued = dt.date.fromisoformat(f["issued_on"])
        assert dt.date(2019, 1, 1) <= issued <= dt.date(2025, 12, 31)
        assert f["issuer"] and f["issuer_printed"] and f["signer_name"]
        level, code = f["issuer_level"], f["issuer_unit_code"]
        if level == "city":
            assert code == "01"
        elif level == "district":
            assert code in districts and issued < dt.date(2025, 7, 1)
        else:
            assert level == "commune" and code in wards
        if doc_type in TITLES:
            assert t["title"] == TITLES[doc_type]
        if doc_type == "cong_van":
            assert t["summary"].startswith("V/v ")
            assert "-" in f["number"] and "QĐ" not in f["number"]
        if doc_type == "dang_ky_doanh_nghiep":
            assert re.fullmatch(r"01\d{8}", f["subject_id"])
        else:
            pid = f["subject_id"]
            assert re.fullmatch(r"\d{12}", pid), pid
            assert f["subject_name"].split()[0][0].isupper()
        assert t["pages"] == len(doc.pages) == len(t["text"]) == len(t["rotation"])
        assert t["dpi"] == 150 and doc.pages[0].size == tuple(t["page_size_px"])
        page1 = t["text"][0].splitlines()
        assert f"Số: {f['number']}" in page1
        assert decree30_date(f["place"], issued) in page1
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page1
        assert "Độc lập - Tự do - Hạnh phúc" in page1
        for printed in f["issuer_printed"]:
            assert printed in page1
        last = t["text"][-1].splitlines()
        assert f["signer_name"] in last
        assert all(" ".join(ln.split()) == ln for ln in page1)  # exact single-spaced lines


def test_personal_id_encodes_gender_century_and_birth_year():
    doc = generate_document(7, doc_type="trich_luc_khai_sinh", dpi=150)
    f = doc.truth["fields"]
    born = dt.date.fromisoformat(f["birth_date"])
    pid = f["subject_id"]
    assert pid[:3] == "001"  # registered in Hà Nội
    assert pid[3] in "23"  # born in the 2000s
    assert pid[4:6] == f"{born.year % 100:02d}"


def test_decree30_dates_and_number_words():
    assert decree30_date("Ba Đình", dt.date(2020, 1, 5)) == "Ba Đình, ngày 05 tháng 01 năm 2020"
    assert decree30_date("Hà Nội", dt.date(2021, 3, 15)) == "Hà Nội, ngày 15 tháng 3 năm 2021"
    assert decree30_date("Hà Nội", dt.date(2021, 12, 1)) == "Hà Nội, ngày 01 tháng 12 năm 2021"
    assert vn_number_words(2019) == "hai nghìn không trăm mười chín"
    assert vn_number_words(25) == "hai mươi lăm"
    assert vn_number_words(2005) == "hai nghìn không trăm lẻ năm"


def test_two_page_document_continues_body_and_signs_on_last_page():
    doc = generate_document(3, doc_type="quyet_dinh", pages=2, dpi=150)
    t = doc.truth
    assert t["content_pages"] == 2 and t["pages"] == 2
    p2 = t["text"][1].splitlines()
    assert p2[0] == "2"  # page number from page 2, top centre
    assert t["fields"]["signer_name"] in p2
    assert t["fields"]["signer_name"] not in t["text"][0].splitlines()
    assert any(ln["block"] == "body" for ln in t["page_info"][1]["lines"])


def test_blank_back_is_near_blank_and_listed():
    doc = generate_document(11, dpi=150, noise=0.5, tint=0.3, blank_back=True, pages=1)
    t = doc.truth
    assert t["pages"] == 2 and t["blank_pages"] == [1] and t["text"][1] == ""
    front, back = _px(doc.pages[0]), _px(doc.pages[1])
    assert (front < 128).mean() > 0.01
    assert (back < 128).mean() < 0.0005
    assert back.mean() > 235
    assert back.std() < 6


def test_upside_down_is_exactly_rotated_180():
    up = generate_document(5, dpi=150)
    down = generate_document(5, dpi=150, upside_down=True)
    assert down.truth["rotation"] == [180] and up.truth["rotation"] == [0]
    assert np.array_equal(np.asarray(down.pages[0]), np.rot90(np.asarray(up.pages[0]), 2))
    # the ink of the header is at the bottom of the upside-down page
    a = _px(down.pages[0])
    h = a.shape[0]
    assert (a[: h // 6] < 128).mean() < (a[-h // 6 :] < 128).mean()


def test_color_modes_and_seal_is_red():
    color = generate_document(9, dpi=150, pages=1)
    gray = generate_document(9, dpi=150, pages=1, color="gray")
    bil = generate_document(9, dpi=150, pages=1, color="bilevel")
    assert (color.pages[0].mode, gray.pages[0].mode, bil.pages[0].mode) == ("RGB", "L", "1")
    rgb = np.asarray(color.pages[0]).astype(int)
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 110) & (rgb[..., 2] < 110)
    assert red.sum() > 500  # the seal


@pytest.mark.parametrize("fmt", ["pdf", "tiff", "png", "jpeg"])
def test_each_format_records_dpi(tmp_path, fmt):
    doc = generate_document(4, dpi=200, color="gray", blank_back=True, pages=1)
    path = write_document(doc, tmp_path, "d", fmt)
    truth = json.loads((tmp_path / "d.truth.json").read_text(encoding="utf-8"))
    assert truth["file"] == path.name and truth["format"] == fmt
    assert truth["pages"] == 2
    w_px, h_px = truth["page_size_px"]
    if fmt == "pdf":
        with pikepdf.open(path) as pdf:
            assert len(pdf.pages) == 2
            box = [float(v) for v in pdf.pages[0].mediabox]
        assert abs((box[2] - box[0]) - w_px * 72 / 200) < 0.5
        assert abs((box[3] - box[1]) - h_px * 72 / 200) < 0.5
    elif fmt == "tiff":
        with Image.open(path) as im:
            assert im.n_frames == 2
            assert [round(v) for v in im.info["dpi"]] == [200, 200]
    else:
        assert truth["files"] == [path.name, path.name.replace(".", "-p2.", 1)]
        for name in truth["files"]:
            with Image.open(tmp_path / name) as im:
                assert [round(v) for v in im.info["dpi"]] == [200, 200]
                assert im.size == (w_px, h_px)


def test_corpus_is_deterministic_and_has_manifest(tmp_path):
    a = generate_corpus(tmp_path / "a", 3, seed=5, formats=("tiff", "pdf"), profile="counter")
    b = generate_corpus(tmp_path / "b", 3, seed=5, formats=("tiff", "pdf"), profile="counter")
    assert [p.name for p in a] == [p.name for p in b] == ["doc-0001.tiff", "doc-0002.pdf",
                                                          "doc-0003.tiff"]
    ma = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    mb = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert ma == mb and ma["count"] == 3 and len(ma["documents"]) == 3
    assert len({d["document_type"] for d in ma["documents"]}) == 3  # types are balanced
    for d in ma["documents"]:
        assert (tmp_path / "a" / d["truth"]).is_file()
        for name in d["files"]:
            assert (tmp_path / "a" / name).is_file()
        assert d["fields"]["number"] and d["text"]


def test_cli_prints_what_it_wrote(tmp_path, capsys):
    assert corpus.main(["--out", str(tmp_path), "--count", "2", "--seed", "1",
                        "--profile", "clean", "--formats", "jpeg"]) == 0
    out = capsys.readouterr().out
    assert "doc-0001.jpg" in out and "doc-0002.jpg" in out and "manifest.json" in out


def test_bad_input_is_rejected(tmp_path):
    with pytest.raises(CorpusError, match="doc_type"):
        generate_document(1, doc_type="giay_khai_tu")
    with pytest.raises(CorpusError, match="format"):
        write_document(generate_document(1, dpi=150), tmp_path, "x", "bmp")
    with pytest.raises(CorpusError, match="profile"):
        generate_corpus(tmp_path, 1, profile="dirty")


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")
def test_clean_page_ocr_reads_number_and_vietnamese():
    import pytesseract

    if "vie" not in pytesseract.get_languages():
        pytest.skip("tesseract 'vie' language data missing")
    doc = generate_document(8, doc_type="quyet_dinh", pages=1, font="Liberation Serif")
    page = doc.pages[0]
    header = page.crop((0, 0, page.width, page.height // 4))  # keep the OCR run short
    text = pytesseract.image_to_string(header, lang="vie", config="--psm 3")
    assert doc.truth["fields"]["number"] in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "QUYẾT ĐỊNH" in text


def test_hard_cases_of_real_paper(tmp_path):
    import subprocess

    from bench.corpus import HW_INK

    with pytest.raises(CorpusError, match="hard case"):
        generate_document(1, hard=("coffee_stain",))
    doc = generate_document(8, doc_type="quyet_dinh", pages=1, dpi=150,
                            hard=("esign", "handwritten", "stamp"))
    lines = {ln["block"]: ln for ln in doc.truth["page_info"][0]["lines"]}
    serial = doc.truth["fields"]["number"].split("/")[0]
    assert lines["number"]["text"] == f"Số: {serial} /{doc.truth['fields']['number'].split('/', 1)[1]}"
    x0, y0, x1, y1 = lines["number"]["bbox"]
    page = np.asarray(doc.pages[0].convert("RGB")).astype(int)
    zone = page[max(0, y0 - 20): y1 + 10, x0:x1]
    pen = np.all(np.abs(zone - np.array(HW_INK)) < 40, axis=2)
    assert pen.sum() > 50  # the serial is written by hand, in pen ink
    path = write_document(doc, tmp_path, "signed", "pdf")
    layer = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Ký bởi:" in layer and "Thời gian ký:" in layer  # the box's own small text layer
    assert "QUYẾT ĐỊNH" not in layer  # the rest of the page is an image
    last = generate_document(8, doc_type="quyet_dinh", pages=1, hard=("last_page",))
    blocks = [ln["block"] for ln in last.truth["page_info"][-1]["lines"]]
    assert blocks[-2:] == ["number", "date"]
