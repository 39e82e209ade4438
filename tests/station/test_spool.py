"""Spool durability and page editing, submission PDF, receipt QR and procedure suggestions."""

from __future__ import annotations

import pikepdf
import pytest
import qrcode
from PIL import Image

from station import lookup
from station import spool as sp


def _page(color="white", size=(800, 1100)):
    img = Image.new("RGB", size, color)
    img.paste((0, 0, 0), (0, 0, 100, 50))  # a mark top-left to see rotation
    return img


def test_pages_are_on_disk_before_listed_and_survive_reopen(tmp_path):
    spool = sp.Spool(tmp_path / "spool")
    batch = spool.create(dossier="H26-KS-0001", unit="00004")
    p1 = spool.add_page(batch["id"], _page(), dpi=200, mode="color")
    p2 = spool.add_page(batch["id"], _page("gray"), dpi=200, mode="color")
    for p in (p1, p2):
        assert (spool.dir(batch["id"]) / p["file"]).stat().st_size > 0
        assert spool.thumb_path(batch["id"], p["id"]).exists()
    spool.close()
    again = sp.Spool(tmp_path / "spool")  # a restarted station sees the same batch
    loaded = again.load(batch["id"])
    assert [p["id"] for p in loaded["pages"]] == [p1["id"], p2["id"]]
    assert loaded["dossier"] == "H26-KS-0001" and loaded["state"] == sp.DRAFT
    assert not list((tmp_path / "spool").rglob("*.tmp"))


def test_one_station_per_spool(tmp_path):
    first = sp.Spool(tmp_path / "s")
    with pytest.raises(sp.SpoolBusy):
        sp.Spool(tmp_path / "s")
    first.close()
    sp.Spool(tmp_path / "s").close()


def test_rotate_move_remove_and_submission_pdf(tmp_path):
    spool = sp.Spool(tmp_path / "spool")
    bid = spool.create()["id"]
    a = spool.add_page(bid, _page(), dpi=200, mode="color")
    b = spool.add_page(bid, _page("gray", (700, 1000)), dpi=200, mode="color")
    c = spool.add_page(bid, _page("white", (600, 900)), dpi=200, mode="color")
    spool.rotate_page(bid, a["id"], 90)
    spool.move_page(bid, c["id"], 0)
    spool.remove_page(bid, b["id"])
    batch = spool.load(bid)
    assert [p["id"] for p in batch["pages"]] == [c["id"], a["id"]]
    removed = batch["removed"][0]
    assert removed["id"] == b["id"] and (spool.dir(bid) / removed["file"]).exists()  # kept
    path, sha = spool.build_submission(bid)
    with pikepdf.open(path) as pdf:
        sizes = [(round(float(p.mediabox[2])), round(float(p.mediabox[3]))) for p in pdf.pages]
    # 600x900 px at 200 dpi = 216x324 pt; the rotated 800x1100 page is landscape 396x288 pt
    assert sizes == [(216, 324), (396, 288)]
    assert len(sha) == 64


def test_purge_only_deletes_stored_batches(tmp_path):
    spool = sp.Spool(tmp_path / "spool")
    kept, stored = spool.create()["id"], spool.create()["id"]
    with spool.edit(stored) as b:
        b["state"] = sp.STORED
        b["submission"] = {"stored_at": "2020-01-01T00:00:00+00:00"}
    with spool.edit(kept) as b:
        b["state"] = sp.QUEUED
        b["submission"] = {"stored_at": None}
    assert spool.purge_stored(30) == [stored]
    assert spool.load(kept)["state"] == sp.QUEUED


def test_receipt_qr_and_procedure_suggestion():
    img = qrcode.make("https://dichvucong.hanoi.gov.vn/tra-cuu?ma_ho_so=H26.22-250105-0007"
                      "&ma_thu_tuc=1.000894").get_image().convert("RGB")
    page = Image.new("RGB", (1654, 2339), "white")
    page.paste(img.resize((400, 400)), (100, 100))
    text = lookup.read_qr(page)
    assert lookup.parse_receipt_payload(text) == {"dossier": "H26.22-250105-0007",
                                                   "procedure": "1.000894"}
    assert lookup.parse_receipt_payload('{"dossier": "000.00.04.H26-1"}') == {
        "dossier": "000.00.04.H26-1"}
    assert lookup.parse_receipt_payload("000.00.04.H26-250105-0042") == {
        "dossier": "000.00.04.H26-250105-0042"}
    assert lookup.parse_receipt_payload("H26-HKD-0042") == {}  # not a one-stop dossier code
    assert lookup.read_qr(Image.new("RGB", (500, 700), "white")) is None
    assert lookup.suggest_procedure("H26-KS-250105-0001") == "1.001193"
    assert lookup.suggest_procedure("H26-HKD-0042") == "1.001612"
    assert lookup.suggest_procedure("X-1.004873-7") == "1.004873"
    assert lookup.suggest_procedure("H26-0001") is None


def test_dossier_codes_follow_circular_01_2018():
    """Receiving agency code (QCVN 102 identifier, province last) - yymmdd - sequence number."""
    assert lookup.dossier_problem("000.00.04.H26-250105-0001") is None
    assert lookup.dossier_problem("000.a0.01.h26-210212-9090") is None  # typed in lower case
    assert lookup.dossier_problem("000.00.04.H26-250105-0001", province="H26") is None
    assert "mã tỉnh H29" in lookup.dossier_problem("000.00.04.H29-250105-0001", province="H26")
    for bad in ("AB", "hồ sơ 12 ?", "H26-KS-0099", "000.00.04.H26-250105", "000.00.04-250105-0001"):
        assert "không đúng cấu trúc" in lookup.dossier_problem(bad), bad
    assert "không phải ngày có thật" in lookup.dossier_problem("000.00.04.H26-251345-0001")
    assert "Chưa có mã hồ sơ" in lookup.dossier_problem("  ")


def _scanned_receipt(seed: int, qr_px: int) -> tuple[str, Image.Image]:
    """An A4 page at 200 dpi with a receipt QR code of `qr_px` pixels, slightly rotated, blurred
    and noisy, as a counter scanner delivers it."""
    import random

    import numpy as np
    from PIL import ImageFilter

    rnd = random.Random(seed)
    payload = (f"https://dichvucong.hanoi.gov.vn/tra-cuu?ma_ho_so=H26.{rnd.randrange(10, 99)}-25"
               f"{rnd.randrange(1000, 9999)}-{rnd.randrange(1, 9999):04d}"
               f"&ma_thu_tuc=1.00{rnd.randrange(1000, 9999)}")
    code = qrcode.make(payload, border=2).get_image().convert("L").resize((qr_px, qr_px))
    page = Image.new("L", (1654, 2339), 255)
    page.paste(code.rotate(rnd.uniform(-3, 3), expand=True, fillcolor=255), (120, 140))
    pixels = np.asarray(page.filter(ImageFilter.GaussianBlur(0.8))).astype(np.int16)
    pixels += np.random.default_rng(seed).normal(0, 12, pixels.shape).astype(np.int16)
    return payload, Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert("RGB")


@pytest.mark.parametrize("qr_px, at_least", [(300, 11), (200, 6)])  # 38 mm and 25 mm codes
def test_receipt_qr_codes_are_read_from_ordinary_scans(qr_px, at_least):
    read = sum(lookup.read_qr(page) == payload
               for payload, page in (_scanned_receipt(seed, qr_px) for seed in range(12)))
    assert read >= at_least, f"{read}/12 receipt codes of {qr_px} px read"
