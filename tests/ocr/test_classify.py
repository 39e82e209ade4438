"""Classification of OCR-like text per document type, the type list as data, confidences."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocr.classify import Classification, classify_document
from ocr.doctypes import DocTypesError, load_doctypes

# Fixtures mimic tesseract output of a Decree 30 layout: the two header columns merged on one
# line, underline separators, diacritic slips, broken lines.
QUYET_DINH = """\
UBND QUẬN BA ĐÌNH CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
PHÒNG TÀI CHÍNH - KẾ HOẠCH Độc lập - Tự do - Hạnh phúc
—— ———————

Số: 123/QD-TCKH Ba Đình, ngày 05 thang 01 năm 2020

QUYÊT ĐINH
Về việc cấp Giấy chứng nhận đăng ký hộ kinh doanh
cho hộ kinh doanh Phở Bát Đàn

TRƯỞNG PHÒNG TÀI CHÍNH - KẾ HOẠCH QUẬN BA ĐÌNH
Căn cứ Nghị định số 01/2021/NĐ-CP ngày 04 tháng 01 năm 2021 của Chính phủ;
Xét đề nghị của ông Trần Văn Bình,
QUYẾT ĐỊNH:
Điều 1. Cấp Giấy chứng nhận cho ông Trần Văn Bình, số định danh cá nhân 001085004321.
Điều 2. Quyết định có hiệu lực kể từ ngày ký.
"""

GIAY_PHEP_XAY_DUNG = """\
UBND QUẬN ĐỐNG ĐA
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc

Số: 88/GPXD Đống Đa, ngày 17 tháng 3 năm 2021

GIẤY PHÉP XÂY DỰNG
Số: 88/GPXD

1. Cấp cho: Ông/Bà NGUYỄN THỊ HOA
Số định danh cá nhân: 001 190 023456
Địa chỉ: số 5 ngõ 12 phố Tây Sơn, phường Quang Trung, quận Đống Đa
2. Được phép xây dựng công trình: nhà ở riêng lẻ
- Diện tích xây dựng tầng 1: 60 m2; chiều cao công trình: 15 m; số tầng: 4
"""

HO_KINH_DOANH = """\
UBND QUẬN HOÀN KIẾM CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM
PHÒNG TÀI CHÍNH - KẾ HOẠCH Độc lập - Tự do - Hạnh phúc
Số: 01A8012345 Hoàn Kiếm, ngày 12 tháng 06 năm 2019

GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ
KINH DOANH
Đăng ký lần đầu: ngày 12 tháng 06 năm 2019
1. Tên hộ kinh doanh: Cửa hàng Phở Bát Đàn
2. Địa điểm kinh doanh: số 49 phố Bát Đàn, phường Cửa Đông
3. Ngành, nghề kinh doanh: ăn uống
4. Vốn kinh doanh: 100.000.000 đồng
5. Họ và tên chủ hộ: Lê Văn Cường Giới tính: Nam
Số định danh cá nhân: 001079012345
"""

KHAI_SINH = """\
ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
PHƯỜNG TRÚC BẠCH Độc lập - Tự do - Hạnh phúc
Số: 45/TLKS-BS Ba Đình, ngày 2O tháng 1O năm 2022
TRÍCH LỤC KHAI SINH
(BẢN SAO)
Họ, chữ đệm, tên: PHẠM MINH KHÔI
Ngày, tháng, năm sinh: 03/10/2022 Giới tính: Nam
Dân tộc: Kinh Quốc tịch: Việt Nam
Nơi sinh: Bệnh viện Phụ sản Hà Nội
Số định danh cá nhân: 001222098765
Họ, chữ đệm, tên người mẹ: Đỗ Thị Lan
Họ, chữ đệm, tên người cha: Phạm Văn Minh
Nơi đăng ký khai sinh: UBND phường Trúc Bạch, quận Ba Đình
"""

KET_HON = """\
ỦY BAN NHÂN DÂN
PHƯỜNG KIM MÃ
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 12/ĐKKH Ba Đình, ngày 08 thang 03 nam 2023

GIẤY CHỨNG NHẬN KẾT HÔN

Họ, chữ đệm, tên chồng: Hoàng Văn Nam
Ngày, tháng, năm sinh: 14/02/1995
Số định danh cá nhân: 001095011223
Họ, chữ đệm, tên vợ: Vũ Thị Mai
Ngày, tháng, năm sinh: 20/07/1997
Số định danh cá nhân: 001197022334
Ngày đăng ký: 08/03/2023
"""

TINH_TRANG_HON_NHAN = """\
ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
XÃ BÁT TRÀNG Độc lập - Tự do - Hạnh phúc
Số: 156/XNTTHN Gia Lâm, ngày 30 tháng 11 năm 2021
GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN
ỦY BAN NHÂN DÂN XÃ BÁT TRÀNG
Xét đề nghị của ông/bà: Đinh Công Tuấn,
về việc cấp Giấy xác nhận tình trạng hôn nhân cho:
Họ, chữ đệm, tên: Đinh Công Tuấn
Ngày, tháng, năm sinh: 01/05/1990 Giới tính: Nam
Giấy tờ tùy thân: CCCD số 001090033445
Nơi cư trú: xã Bát Tràng, huyện Gia Lâm, thành phố Hà Nội
Tình trạng hôn nhân: hiện tại chưa đăng ký kết hôn với ai.
Giấy này có giá trị sử dụng trong thời hạn 6 tháng kể từ ngày cấp.
Mục đích sử dụng: đăng ký kết hôn.
"""

DOANH_NGHIEP = """\
UBND THÀNH PHỐ HÀ NỘI CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
SỞ KẾ HOẠCH VÀ ĐẦU TƯ Độc lập - Tự do - Hạnh phúc
Số: 0109876543 Hà Nội, ngày 15 tháng 09 năm 2020
GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP
CÔNG TY TRÁCH NHIỆM HỮU HẠN MỘT THÀNH VIÊN
Mã số doanh nghiệp: 0109876543
Đăng ký lần đầu: ngày 15 tháng 09 năm 2020
1. Tên công ty
Tên doanh nghiệp: CÔNG TY TNHH THƯƠNG MẠI AN PHÁT
2. Địa chỉ trụ sở chính: số 10 phố Huế, phường Hàng Bài, quận Hoàn Kiếm
3. Vốn điều lệ: 2.000.000.000 đồng
4. Người đại diện theo pháp luật: Ông Bùi Quang Huy
"""

CONG_VAN = """\
UBND QUẬN TÂY HỒ CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 215/UBND-VX Tây Hồ, ngày 22 tháng 04 năm 2024
V/v triển khai số hóa kết quả giải quyết
thủ tục hành chính năm 2024

Kính gửi: UBND các phường thuộc quận
Thực hiện Kế hoạch số 161/KH-UBND của UBND Thành phố, UBND quận đề nghị các phường
khẩn trương số hóa kết quả giải quyết thủ tục hành chính.
Nơi nhận:
"""

THONG_BAO = """\
UBND HUYỆN ĐÔNG ANH CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 77/TB-UBND Đông Anh, ngày 02 tháng 02 năm 2022
THÔNG BÁO
Kết luận của Chủ tịch UBND huyện tại buổi làm việc
UBND huyện thông báo kết luận như sau:
"""


def test_types_are_data_with_procedures_and_levels():
    types = load_doctypes()
    expected = {"quyet_dinh", "giay_phep_xay_dung", "dang_ky_ho_kinh_doanh",
                "trich_luc_khai_sinh", "dang_ky_ket_hon", "xac_nhan_tinh_trang_hon_nhan",
                "dang_ky_doanh_nghiep", "cong_van", "khac"}
    assert set(types) == expected
    assert "1.001193" in types["trich_luc_khai_sinh"].procedures
    assert "1.000894" in types["dang_ky_ket_hon"].procedures
    assert "1.001612" in types["dang_ky_ho_kinh_doanh"].procedures
    assert types["quyet_dinh"].abbreviation == "QĐ"
    assert types["cong_van"].abbreviation is None
    assert types["xac_nhan_tinh_trang_hon_nhan"].levels == ["commune"]
    assert types["quyet_dinh"].name_vi == "Quyết định"


def test_malformed_type_file_is_named_in_error(tmp_path: Path):
    bad = tmp_path / "types.toml"
    bad.write_text('[types.x]\nname_vi = "X"\nlevels = ["province"]\n', encoding="utf-8")
    with pytest.raises(DocTypesError, match=r"types\.toml.*unknown level 'province'"):
        load_doctypes(bad)
    with pytest.raises(DocTypesError, match="not found"):
        load_doctypes(tmp_path / "missing.toml")
    for line, words in (('retention = "forever"', "retention must be"),
                        ("retention = 0", "retention must be"),
                        ('access = "secret"', "access must be")):
        bad.write_text(f'[types.khac]\nname_vi = "Khác"\n{line}\n', encoding="utf-8")
        with pytest.raises(DocTypesError, match=rf"types\.khac\.{words}"):
            load_doctypes(bad)


def test_archive_defaults_per_type():
    """docs/records.md: civil-status results are kept permanently (Circular 04/2020/TT-BTP,
    art. 37) with conditional access; letters 10 years and open; an enterprise's open."""
    types = load_doctypes()
    for code in ("trich_luc_khai_sinh", "dang_ky_ket_hon", "xac_nhan_tinh_trang_hon_nhan"):
        assert (types[code].retention_years, types[code].access) == (None, "conditional")
    assert (types["cong_van"].retention_years, types["cong_van"].access) == (10, "open")
    assert types["dang_ky_doanh_nghiep"].access == "open"  # organisation subject
    assert types["khac"].retention_years == 20


@pytest.mark.parametrize(
    ("text", "code", "number"),
    [
        (QUYET_DINH, "quyet_dinh", "123/QĐ-TCKH"),
        (GIAY_PHEP_XAY_DUNG, "giay_phep_xay_dung", "88/GPXD"),
        (HO_KINH_DOANH, "dang_ky_ho_kinh_doanh", "01A8012345"),
        (KHAI_SINH, "trich_luc_khai_sinh", "45/TLKS-BS"),
        (KET_HON, "dang_ky_ket_hon", "12/ĐKKH"),
        (TINH_TRANG_HON_NHAN, "xac_nhan_tinh_trang_hon_nhan", "156/XNTTHN"),
        (DOANH_NGHIEP, "dang_ky_doanh_nghiep", "0109876543"),
        (CONG_VAN, "cong_van", "215/UBND-VX"),
        (THONG_BAO, "khac", "77/TB-UBND"),
    ],
)
def test_each_type_is_recognised_with_its_number(text, code, number):
    result = classify_document(text)
    assert isinstance(result, Classification)
    assert result.document_type == code, result.scores
    assert result.fields["number"] == number
    assert result.type_confidence >= 0.6, result.scores


def test_quyet_dinh_fields_despite_diacritic_slips():
    r = classify_document(QUYET_DINH)
    assert r.fields["title"] == "QUYẾT ĐỊNH"  # printed "QUYÊT ĐINH" by OCR
    assert r.fields["issued_on"] == "2020-01-05"  # "thang" without diacritics
    assert r.fields["issuer"] == "Phòng Tài chính - Kế hoạch quận Ba Đình"
    assert r.issuer_place == "quận Ba Đình"
    assert r.fields["summary"] == (
        "Về việc cấp Giấy chứng nhận đăng ký hộ kinh doanh cho hộ kinh doanh Phở Bát Đàn"
    )
    assert r.confidence >= 0.6
    d = r.to_dict()
    assert d["document_type"] == "quyet_dinh" and d["fields"]["number"] == "123/QĐ-TCKH"


def test_broken_title_line_and_household_fields():
    r = classify_document(HO_KINH_DOANH)
    assert r.fields["title"] == "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH"
    assert r.fields["subject_name"] == "Lê Văn Cường"  # the owner, not the business name
    assert r.fields["subject_id"] == "001079012345"
    assert r.fields["issuer"] == "Phòng Tài chính - Kế hoạch quận Hoàn Kiếm"


def test_commune_issuer_and_digit_slips_in_date():
    r = classify_document(KHAI_SINH)
    assert r.fields["issuer"] == "UBND phường Trúc Bạch"
    assert r.issuer_place == "phường Trúc Bạch"
    assert r.fields["issued_on"] == "2022-10-20"  # "2O tháng 1O"
    assert r.fields["subject_name"] == "Phạm Minh Khôi"
    assert r.fields["subject_id"] == "001222098765"


def test_letter_has_summary_and_no_title():
    r = classify_document(CONG_VAN)
    assert r.fields["summary"] == (
        "V/v triển khai số hóa kết quả giải quyết thủ tục hành chính năm 2024"
    )
    assert r.fields["title"] is None
    assert r.fields["issuer"] == "UBND quận Tây Hồ"


def test_city_department_issuer():
    r = classify_document(DOANH_NGHIEP)
    assert r.fields["issuer"] == "Sở Kế hoạch và Đầu tư thành phố Hà Nội"
    assert r.issuer_place == "thành phố Hà Nội"
    # an enterprise is the subject: its name as printed and its enterprise code
    assert r.fields["subject_name"] == "CÔNG TY TNHH THƯƠNG MẠI AN PHÁT"
    assert r.fields["subject_id"] == "0109876543"


def test_missing_required_field_sends_to_review():
    text = KET_HON.replace("Số: 12/ĐKKH ", "")
    r = classify_document(text)
    assert r.document_type == "dang_ky_ket_hon"
    assert r.fields["number"] is None
    assert "number" in r.missing
    assert r.confidence < 0.6


def test_garbage_is_other_with_low_confidence():
    r = classify_document("l1I ,,. ~~ \n\f\n ooo 12 ab")
    assert r.document_type == "khac"
    assert r.confidence < 0.6
    with pytest.raises(TypeError):
        classify_document(b"bytes")  # type: ignore[arg-type]


def test_ambiguous_titles_lower_type_confidence():
    clear = classify_document(KET_HON)
    both = classify_document(KET_HON.replace(
        "GIẤY CHỨNG NHẬN KẾT HÔN", "GIẤY CHỨNG NHẬN KẾT HÔN\nGIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN"))
    assert both.type_confidence < clear.type_confidence


# --------------------------------------------------------------------------- real OCR

OCR_CASES = [
    (7001, "quyet_dinh"),
    (7002, "dang_ky_ket_hon"),
    (7003, "cong_van"),
    (7004, "dang_ky_doanh_nghiep"),
]


def _ocr(job):
    import pytesseract

    from bench.corpus import generate_document

    seed, doc_type = job
    doc = generate_document(seed, doc_type=doc_type, dpi=200, noise=0.2, skew=0.8, pages=1)
    text = "\f".join(pytesseract.image_to_string(p, lang="vie") for p in doc.pages)
    return doc.truth, text


@pytest.mark.slow
def test_generated_scans_through_tesseract(monkeypatch):
    """Synthetic scans OCR'd by tesseract: the type and the number come out right."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    if shutil.which("tesseract") is None:
        pytest.skip("tesseract not installed")
    from ocr.engine import available_languages

    if "vie" not in available_languages():
        pytest.skip("tesseract has no 'vie' model")
    monkeypatch.setenv("OMP_THREAD_LIMIT", "1")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_ocr, OCR_CASES))
    for truth, text in results:
        r = classify_document(text)
        assert r.document_type == truth["document_type"], (truth["seed"], r.scores)
        assert r.fields["number"] == truth["fields"]["number"]
        assert r.fields["issued_on"] == truth["fields"]["issued_on"]
        assert r.fields["issuer"] == truth["fields"]["issuer"]
