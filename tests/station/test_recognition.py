"""Recognition at the counter: a page the quality gate refuses says why, in Vietnamese."""

from __future__ import annotations

from station import spool as sp
from station.app import Station
from tests.pipeline.conftest import render_decision


def test_low_resolution_page_asks_for_a_rescan_in_vietnamese(tmp_path):
    from PIL import Image

    station = Station(sp.Spool(tmp_path / "spool"), scanner_uri=None, unit="00004", sink=None)
    batch = station.spool.create(unit="00004")
    image = Image.open(render_decision(tmp_path / "low.png", dpi=150))
    station.spool.add_page(batch["id"], image, dpi=150, mode="color")
    station._recognize(batch["id"])
    error = station.spool.load(batch["id"])["recognition"]["error"]
    assert "200 dpi" in error and "quét lại" in error.lower(), error


def test_the_counter_preview_flags_a_field_read_from_doubtful_words(tmp_path, monkeypatch):
    import dataclasses

    from PIL import Image

    import ocr.engine
    import station.recognize
    from station.recognize import recognize

    image = Image.open(render_decision(tmp_path / "qd.png", dpi=300))
    clean = recognize([(image, 300)], workers=1)
    assert clean["fields"]["subject_id"] == "001085012345"
    assert "subject_id" not in clean["low"]
    # where the number was read, in this page image's pixels: the counter shows that crop
    x0, y0, x1, y1 = clean["crops"]["number"]["box"]
    assert clean["crops"]["number"]["page"] == 0
    assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height // 2

    real = ocr.engine.recognize_pages

    def hesitant(pages, **kwargs):  # as if Tesseract had hesitated over the ID number's digits
        results = real(pages, **kwargs)
        for result in results:
            result.words[:] = [dataclasses.replace(w, conf=0.2) if w.text.startswith(
                "001085012345") else w for w in result.words]
        return results

    monkeypatch.setattr(station.recognize, "recognize_pages", hesitant)
    doubtful = recognize([(image, 300)], workers=1)
    assert doubtful["fields"]["subject_id"] == "001085012345"
    assert "subject_id" in doubtful["low"]
