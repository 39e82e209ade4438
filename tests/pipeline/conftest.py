"""Scans for pipeline tests, rendered with a Vietnamese-capable font (fast, no corpus needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
BOLD = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf"

DECISION = [
    ("UBND QUẬN BA ĐÌNH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("UBND PHƯỜNG TRÚC BẠCH", "Độc lập - Tự do - Hạnh phúc"),
    ("Số: 125/QĐ-UBND", "Ba Đình, ngày 05 tháng 01 năm 2021"),
    ("QUYẾT ĐỊNH", None),
    ("Về việc công nhận tổ hòa giải ở cơ sở", None),
    ("CHỦ TỊCH ỦY BAN NHÂN DÂN PHƯỜNG TRÚC BẠCH", None),
    ("Công nhận ông Nguyễn Văn Hùng, số định danh cá nhân 001085012345,", None),
    ("là tổ trưởng tổ hòa giải số 3 của phường Trúc Bạch.", None),
]


def render_decision(path: Path, dpi: int = 300, lines=DECISION) -> Path:
    scale = dpi / 300
    size = round(13 * dpi / 72)  # 13 pt text
    bold = ImageFont.truetype(BOLD, size)
    img = Image.new("RGB", (round(2480 * scale), round(3508 * scale)), "white")
    draw = ImageDraw.Draw(img)
    y = round(250 * scale)
    for left, right in lines:
        if right is None:
            x = (img.width - draw.textlength(left, font=bold)) / 2
            draw.text((x, y), left, font=bold, fill="black")
        else:
            draw.text((round(180 * scale), y), left, font=bold, fill="black")
            draw.text((round(1250 * scale), y), right, font=bold, fill="black")
        y += round(size * 2.2)
    img.save(path, dpi=(dpi, dpi))
    return path


@pytest.fixture
def decision_png(tmp_path) -> Path:
    return render_decision(tmp_path / "quyet-dinh.png")
