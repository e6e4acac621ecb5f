"""The one adapter to the tesseract program: every OCR call goes through `ocr_image`.

Tesseract is built with OpenMP; several processes each using several threads
oversubscribe the cores badly, so each process gets one thread and we run one process
per core instead (see ../shared/notes/ocr-nlp.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

import pytesseract
from PIL import Image

from .errors import MissingProgram, OcrFailed, OcrTimeout

os.environ["OMP_THREAD_LIMIT"] = "1"


@dataclass(frozen=True)
class OcrResult:
    text: str
    confidence: float | None  # mean word confidence 0-100, None when no word was found
    words: int


def check_installed(lang: str) -> None:
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        raise MissingProgram(
            "tesseract is not installed: run `make install` (or `apt-get install tesseract-ocr tesseract-ocr-vie`)."
        )
    if lang not in pytesseract.get_languages(config=""):
        raise MissingProgram(
            f"tesseract has no '{lang}' language data: run `make install` (or `apt-get install tesseract-ocr-{lang}`)."
        )


def ocr_image(image: Image.Image, *, lang: str, psm: int, timeout: float) -> OcrResult:
    """Run tesseract and rebuild the page's lines from its word boxes.

    A crash (not a timeout) is retried once: a process killed by a passing memory
    shortage is the one transient failure here.
    """
    try:
        return _ocr_once(image, lang=lang, psm=psm, timeout=timeout)
    except OcrFailed:
        return _ocr_once(image, lang=lang, psm=psm, timeout=timeout)


def _ocr_once(image: Image.Image, *, lang: str, psm: int, timeout: float) -> OcrResult:
    # pytesseract hands the page to tesseract through a temporary file, PNG unless told
    # otherwise; uncompressed PNM saves ~0.2 s of compression per 300-dpi page.
    image.format = "PPM"
    try:
        data = pytesseract.image_to_data(
            image,
            lang=lang,
            config=f"--oem 1 --psm {psm} -c preserve_interword_spaces=0",
            timeout=timeout,
            output_type=pytesseract.Output.DICT,
        )
    except RuntimeError as e:  # pytesseract signals its timeout this way
        if "timeout" in str(e).lower():
            raise OcrTimeout(f"more than {timeout:.0f} s for one page") from None
        raise OcrFailed(str(e)[:300]) from None
    except (pytesseract.TesseractError, subprocess.SubprocessError, OSError) as e:
        raise OcrFailed(str(e)[:300]) from None
    return _assemble(data)


def _assemble(data: dict) -> OcrResult:
    lines: dict[tuple[int, int, int], list[str]] = {}
    blocks_seen: list[tuple[int, int, int]] = []
    confs: list[float] = []
    for i, word in enumerate(data["text"]):
        word = (word or "").strip()
        if not word:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        if key not in lines:
            lines[key] = []
            blocks_seen.append(key)
        lines[key].append(word)
        conf = float(data["conf"][i])
        if conf >= 0:
            confs.append(conf)
    out: list[str] = []
    prev: tuple[int, int, int] | None = None
    for key in blocks_seen:
        if prev is not None and key[:2] != prev[:2]:
            out.append("")  # paragraph or block break
        out.append(" ".join(lines[key]))
        prev = key
    conf = sum(confs) / len(confs) if confs else None
    return OcrResult(text="\n".join(out), confidence=conf, words=len(confs))
