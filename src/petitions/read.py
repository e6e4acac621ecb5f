"""Turn one file into page texts: the PDF text layer where a page has one, OCR otherwise.

Formats are recognised by their first bytes, not by the name the scanner gave them, so a
JPEG saved as `.pdf` is read as the JPEG it is. Pages are addressed by (path, index) and
opened inside the worker that reads them, so a 300-page letter never sits in memory.
"""

from __future__ import annotations

import threading
import unicodedata
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageSequence, UnidentifiedImageError

from . import errors, tesseract
from .settings import Settings

Kind = Literal["pdf", "png", "jpeg", "tiff", "txt"]
TextSource = Literal["text-layer", "ocr", "plain-text"]

_PDFIUM_LOCK = threading.Lock()  # pdfium is not thread-safe
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


@dataclass(frozen=True)
class PageText:
    index: int
    source: TextSource
    text: str
    confidence: float | None = None
    words: int = 0


@dataclass(frozen=True)
class ReadResult:
    kind: Kind
    pages: list[PageText]

    @property
    def text_source(self) -> TextSource:
        sources = {p.source for p in self.pages}
        if "ocr" in sources:
            return "ocr"
        return "plain-text" if sources == {"plain-text"} else "text-layer"

    @property
    def ocr_confidence(self) -> float | None:
        """Mean word confidence over the OCR'd pages, weighted by their words."""
        ocr = [p for p in self.pages if p.source == "ocr" and p.confidence is not None]
        words = sum(p.words for p in ocr)
        if not words:
            return None
        return round(sum(p.confidence * p.words for p in ocr) / words, 2)

    @property
    def raw_text(self) -> str:
        return "\n\n".join(p.text for p in self.pages)


def page_pool(settings: Settings) -> ThreadPoolExecutor:
    """One bounded pool of page workers per process: one tesseract per core."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(1, settings.ocr_workers), thread_name_prefix="page")
        return _POOL


def sniff(path: Path) -> Kind:
    with path.open("rb") as f:
        head = f.read(16)
    if not head:
        raise errors.EmptyFile()
    if head.startswith(b"%PDF") or b"%PDF" in head:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if path.suffix.lower() == ".txt":
        return "txt"
    raise errors.UnsupportedFormat(f"first bytes {head[:8]!r}")


def read_letter(path: Path, settings: Settings) -> ReadResult:
    """Read every page of one file. Raises a LetterError the clerk can act on."""
    size = path.stat().st_size
    if size == 0:
        raise errors.EmptyFile()
    if size > settings.max_file_mb * 1024 * 1024:
        raise errors.FileTooLarge(f"{size / 1024 / 1024:.0f} MB > {settings.max_file_mb} MB")
    kind = sniff(path)
    if kind == "txt":
        return ReadResult(kind, [PageText(0, "plain-text", decode_text(path.read_bytes()))])
    if kind == "pdf":
        return ReadResult(kind, _read_pdf(path, settings))
    return ReadResult(kind, _read_image_file(path, kind, settings))


def is_text(path: Path, settings: Settings) -> bool:
    """A quick guess, for planning: a .txt, or a PDF whose first page has a text layer."""
    try:
        kind = sniff(path)
        if kind == "txt":
            return True
        if kind != "pdf":
            return False
        with _PDFIUM_LOCK:
            doc = _open_pdfium(path)
            try:
                page = doc[0]
                return _is_text_page(page, page.get_textpage().get_text_bounded(), settings)
            finally:
                doc.close()
    except Exception:  # unreadable files are dealt with when they are read
        return False


# --- plain text ---------------------------------------------------------------------

_BOMS = [
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
]


def decode_text(data: bytes) -> str:
    """UTF-8 or a BOM'd UTF-16/32; otherwise an 8-bit encoding only when the result reads
    as Vietnamese text (Windows-1258 is what older Vietnamese Windows machines save)."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError as e:
                raise errors.UnknownEncoding(f"{enc}: {e.reason}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    guesses = ["cp1258"]
    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        guesses.insert(0, best.encoding)
    for enc in guesses:
        try:
            text = unicodedata.normalize("NFC", data.decode(enc))
        except (UnicodeDecodeError, LookupError):
            continue
        if _reads_as_text(text):
            return text
    raise errors.UnknownEncoding("not UTF-8, and no other encoding fits with certainty")


_VI_LETTERS = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")


def _reads_as_text(text: str) -> bool:
    if not text:
        return False
    plain = sum(ch.isalnum() or ch.isspace() or ch in ".,;:!?()-–/\"'%&+*=_[]" for ch in text)
    vietnamese = sum(ch in _VI_LETTERS for ch in text.lower())
    return plain / len(text) > 0.97 and vietnamese / len(text) > 0.02


# --- PDF ----------------------------------------------------------------------------


def _open_pdfium(path: Path):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        msg = str(e).lower()
        if "password" in msg:
            raise errors.EncryptedPdf() from None
        raise errors.CorruptFile(str(e)) from None


def _read_pdf(path: Path, settings: Settings) -> list[PageText]:
    layer = _text_layer(path, settings)
    pool = page_pool(settings)
    futures: dict[int, Future[PageText]] = {
        i: pool.submit(_ocr_pdf_page, path, i, settings) for i, text in enumerate(layer) if text is None
    }
    return [futures[i].result() if text is None else PageText(i, "text-layer", text) for i, text in enumerate(layer)]


def _text_layer(path: Path, settings: Settings) -> list[str | None]:
    """The text of each page that has a real text layer, None for scanned pages.

    PDFium reads a text layer in ~3 ms per letter where pdfplumber takes ~100 ms of
    pure-Python parsing, which would cap text-layer PDFs at ~10 letters/s on 2 cores.
    """
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        doc = _open_pdfium(path)
        try:
            n = len(doc)
            if n == 0:
                raise errors.CorruptFile("the PDF has no pages")
            if n > settings.max_pages:
                raise errors.TooManyPages(f"{n} pages > {settings.max_pages}")
            out: list[str | None] = []
            for i in range(n):
                page = doc[i]
                textpage = page.get_textpage()
                text = textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
                textpage.close()
                out.append(text if _is_text_page(page, text, settings) else None)
                page.close()
        except pdfium.PdfiumError as e:
            raise errors.CorruptFile(str(e)) from None
        finally:
            doc.close()
    return out


def _is_text_page(page, text: str, settings: Settings) -> bool:
    """A page is read from its text layer when that layer holds real text, or when the page
    has no picture to OCR (a short last page, a blank page). Only pages that carry an image
    and next to no text are scans."""
    import pypdfium2.raw as pdfium_c

    if "\ufffd" in text[:200]:  # text in a font without a Unicode map: unusable, OCR it
        return False
    if sum(ch.isalpha() for ch in text) >= settings.text_layer_min_chars:
        return True
    return not any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


def _ocr_pdf_page(path: Path, index: int, settings: Settings) -> PageText:
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        doc = _open_pdfium(path)
        try:
            page = doc[index]
            w, h = page.get_size()  # points
            scale = settings.ocr_dpi / 72
            if w * scale > settings.max_page_side_px or h * scale > settings.max_page_side_px:
                scale = settings.max_page_side_px / max(w, h)
            image = page.render(scale=scale, grayscale=True).to_pil()
            page.close()
        except pdfium.PdfiumError as e:
            raise errors.CorruptFile(str(e)) from None
        finally:
            doc.close()
    return _ocr(image, index, scale * 72, settings)


# --- images -------------------------------------------------------------------------


def _open_image(path: Path, settings: Settings) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise errors.ImageTooLarge(str(e)[:200]) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise errors.CorruptFile(str(e)[:200]) from None
    return img


def _check_size(img: Image.Image, settings: Settings) -> None:
    w, h = img.size
    if w * h > settings.max_image_pixels or max(w, h) > settings.max_page_side_px * 2:
        raise errors.ImageTooLarge(f"{w}x{h} pixels")
    if min(w, h) < settings.min_page_side_px:
        raise errors.ImageTooLarge(f"{w}x{h} pixels")


def _read_image_file(path: Path, kind: Kind, settings: Settings) -> list[PageText]:
    img = _open_image(path, settings)
    try:
        n = getattr(img, "n_frames", 1)
        if n > settings.max_pages:
            raise errors.TooManyPages(f"{n} pages > {settings.max_pages}")
        # Check every frame's size before decoding any of them.
        for frame in ImageSequence.Iterator(img):
            _check_size(frame, settings)
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise errors.CorruptFile(str(e)[:200]) from None
    finally:
        img.close()
    pool = page_pool(settings)
    futures = [pool.submit(_ocr_image_frame, path, i, settings) for i in range(n)]
    return [f.result() for f in futures]


def _ocr_image_frame(path: Path, index: int, settings: Settings) -> PageText:
    img = _open_image(path, settings)
    try:
        img.seek(index)
        dpi = img.info.get("dpi", (None, None))[0]
        img.load()
        frame = img.copy()
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise errors.CorruptFile(str(e)[:200]) from None
    finally:
        img.close()
    return _ocr(frame, index, float(dpi) if dpi else None, settings)


def _ocr(image: Image.Image, index: int, dpi: float | None, settings: Settings) -> PageText:
    from .imaging import clean_page  # OpenCV: only for pages that need OCR

    cleaned = clean_page(image, dpi, target_dpi=settings.ocr_dpi)
    result = tesseract.ocr_image(cleaned, lang=settings.ocr_lang, psm=3, timeout=settings.ocr_timeout_s)
    return PageText(index, "ocr", result.text, result.confidence, result.words)


def page_image(path: Path, kind: str, index: int, settings: Settings, width: int = 1100) -> Image.Image:
    """Page `index` of an archived letter as an image `width` pixels wide, for a person to
    read beside the extracted text (the review app). Raises IndexError past the last page."""
    if kind == "pdf":
        with _PDFIUM_LOCK:
            doc = _open_pdfium(path)
            try:
                if not 0 <= index < len(doc):
                    raise IndexError(index)
                page = doc[index]
                w, _ = page.get_size()
                image = page.render(scale=width / w).to_pil()
                page.close()
            finally:
                doc.close()
        return image
    img = _open_image(path, settings)
    try:
        if not 0 <= index < getattr(img, "n_frames", 1):
            raise IndexError(index)
        img.seek(index)
        _check_size(img, settings)
        frame = img.convert("L" if img.mode in ("1", "L", "I;16") else "RGB")
    finally:
        img.close()
    frame.thumbnail((width, width * 3))
    return frame
