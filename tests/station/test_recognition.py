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
