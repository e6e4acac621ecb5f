"""Scan cleaning before OCR. Each step is kept only because it measurably lowers the
character error rate (bench/ocr_quality.py prints the gain of each step):

- grayscale: tesseract binarises internally; colour adds nothing but bytes.
- despeckle: a 3x3 median filter at native resolution, only on pages that are speckled.
  Salt-and-pepper noise is what breaks tesseract (without it: mean CER 2.7 % instead of
  0.2 %, worst letter 12 % instead of 1.1 %, on 200-300 dpi office scans); on clean pages
  the filter thins diacritics, hence the detector.
- deskew: median CER 0.20 % -> 0.10 %, mean 0.30 % -> 0.20 % on the same scans.
- upscale to 300 dpi only below 120 dpi: at 100 dpi it lowers the mean CER from 3.0 % to
  2.0 %, but at 150-200 dpi it makes things slightly worse (0.41 % -> 0.55 % at 150).
- binarisation (Otsu) is left to tesseract: ours did not help (../shared/notes/ocr-nlp.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

A4_WIDTH_IN = 8.27


@dataclass(frozen=True)
class CleanSteps:
    despeckle: bool = True
    upscale: bool = True
    deskew: bool = True


def estimate_dpi(img: Image.Image, declared: float | None) -> float:
    """Trust the declared resolution when plausible; otherwise assume an A4 page."""
    if declared and 70 <= declared <= 1200:
        return float(declared)
    return min(img.size) / A4_WIDTH_IN


def speckle_density(gray: np.ndarray, dpi: float) -> float:
    """Isolated dark specks per 10,000 pixels: components smaller than a diacritic's dot
    (4 pixels at 300 dpi, scaled with the resolution). Measured on the middle half of the
    page, where the text is: speckle covers a scan evenly."""
    h, w = gray.shape
    gray = gray[h // 4 : 3 * h // 4, w // 8 : 7 * w // 8]
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    n, _, stats, _ = cv2.connectedComponentsWithStats(bw, connectivity=8)
    small = int(np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] <= max(1.0, 4 * (dpi / 300) ** 2)))
    return small * 10_000 / gray.size


def skew_angle(gray: np.ndarray, limit: float = 8.0) -> float:
    """Angle (degrees) that makes text lines horizontal, by projection-profile sharpness:
    a 1° search, then 0.25° around the best."""
    scale = 800 / max(gray.shape)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    _, bw = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    h, w = bw.shape
    centre = (w / 2, h / 2)

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rot = cv2.warpAffine(bw, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        return float(np.var(rot.sum(axis=1, dtype=np.float64)))

    coarse = max(np.arange(-limit, limit + 0.5, 1.0), key=sharpness)
    return float(max(np.arange(coarse - 0.75, coarse + 0.8, 0.25), key=sharpness))


def rotate(gray: np.ndarray, angle: float) -> np.ndarray:
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_CUBIC, borderValue=255)


def clean_page(
    img: Image.Image,
    declared_dpi: float | None,
    *,
    target_dpi: int = 300,
    steps: CleanSteps = CleanSteps(),
    speckle_threshold: float = 8.0,
) -> Image.Image:
    gray = np.asarray(img.convert("L"))
    dpi = estimate_dpi(img, declared_dpi)
    if steps.despeckle and speckle_density(gray, dpi) > speckle_threshold:
        gray = cv2.medianBlur(gray, 3)
    if steps.upscale and dpi < 120:
        f = target_dpi / dpi
        gray = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
    if steps.deskew:
        angle = skew_angle(gray)
        if abs(angle) >= 0.75:
            gray = rotate(gray, angle)
    return Image.fromarray(gray)
