"""Reading the copy's QR code back from a rendered page, as a phone or a scanner app would."""

from __future__ import annotations

import cv2
import numpy as np


def decode_qr(image: np.ndarray) -> str:
    """The first QR code OpenCV reads (gray or BGR image): either detector, on the image or on
    it enlarged 2x. At 200 dpi one detector alone misses some codes that the other reads."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    for scale in (1, 2):
        im = image if scale == 1 else cv2.resize(image, None, fx=2, fy=2,
                                                 interpolation=cv2.INTER_CUBIC)
        for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
            text = detector.detectAndDecode(im)[0]
            if text:
                return text
    return ""
