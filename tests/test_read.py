"""Reading each format with real tesseract, and clear errors for files that are not letters."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from rapidfuzz.distance import Levenshtein

from conftest import to_cp1258
from petitions import errors
from petitions.read import decode_text, read_letter, sniff
from petitions.text import clean_text


def cer(got: str, truth: str) -> float:
    a, b = " ".join(got.split()), " ".join(truth.split())
    return Levenshtein.distance(a, b) / len(b)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "tiff", "image-pdf", "rescan"])
def test_scanned_formats_are_read_by_ocr(fmt, scans, settings, letters):
    result = read_letter(scans[fmt], settings)
    assert result.text_source == "ocr"
    assert len(result.pages) == 1
    assert result.ocr_confidence is not None and result.ocr_confidence > 80
    assert cer(clean_text(result.raw_text), letters["S-16"]["text"]) < 0.02


def test_multi_page_tiff_keeps_page_order(scans, settings, letters):
    result = read_letter(scans["tiff-2"], settings)
    assert [p.index for p in result.pages] == [0, 1]
    assert "Giàng Seo Páo" in result.pages[0].text
    assert "Bùi Thị Lan" in result.pages[1].text


def test_text_layer_pdf_is_not_ocred(scans, settings, letters):
    result = read_letter(scans["text-pdf"], settings)
    assert result.text_source == "text-layer"
    assert result.ocr_confidence is None
    assert cer(clean_text(result.raw_text), letters["S-10"]["text"]) < 0.01


def test_pdf_mixing_text_and_scanned_pages_is_decided_per_page(tmp_path, scans, settings):
    import pypdfium2 as pdfium

    merged = pdfium.PdfDocument.new()
    for src in (scans["text-pdf"], scans["image-pdf"]):
        merged.import_pages(pdfium.PdfDocument(str(src)))
    path = tmp_path / "mixed.pdf"
    merged.save(str(path))
    result = read_letter(path, settings)
    assert [p.source for p in result.pages][:1] == ["text-layer"]
    assert result.pages[-1].source == "ocr"
    assert result.text_source == "ocr"
    assert "Bùi Thị Lan" in result.pages[-1].text


def test_plain_text_utf8_utf16_and_windows_1258(tmp_path, settings, letters):
    text = letters["S-16"]["text"]
    for name, data in [
        ("a.txt", text.encode("utf-8")),
        ("b.txt", text.encode("utf-16")),
        ("c.txt", b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("d.txt", to_cp1258(text)),
    ]:
        (tmp_path / name).write_bytes(data)
        r = read_letter(tmp_path / name, settings)
        assert r.text_source == "plain-text"
        assert clean_text(r.raw_text) == clean_text(text)


def test_undecidable_text_encoding_is_a_clear_error():
    with pytest.raises(errors.UnknownEncoding):
        decode_text(bytes(range(128, 256)) * 40)


def test_empty_corrupt_encrypted_and_wrong_files(tmp_path, scans, settings):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(scans["text-pdf"].read_bytes()[:400])
    locked = tmp_path / "locked.pdf"
    c = canvas.Canvas(str(locked), encrypt=StandardEncryption("secret", canPrint=0))
    c.drawString(100, 700, "Don khieu nai")
    c.save()
    exe = tmp_path / "virus.png"
    exe.write_bytes(b"MZ\x90\x00" + b"\x00" * 200)
    cases = {empty: errors.EmptyFile, truncated: errors.CorruptFile, locked: errors.EncryptedPdf, exe: errors.UnsupportedFormat}
    for path, exc in cases.items():
        with pytest.raises(exc) as info:
            read_letter(path, settings)
        assert info.value.vi and info.value.en  # words for the clerk, in both languages


def test_jpeg_named_pdf_is_read_as_what_it_is(tmp_path, scans, settings):
    fake = tmp_path / "scan.pdf"
    fake.write_bytes(scans["jpeg"].read_bytes())
    assert sniff(fake) == "jpeg"
    assert read_letter(fake, settings).text_source == "ocr"


def test_decompression_bomb_and_absurd_shapes_are_refused(tmp_path, settings):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)  # 400 Mpx, a few kB on disk
    thin = tmp_path / "thin.png"
    Image.new("L", (1, 100000), 255).save(thin)
    for path in (bomb, thin):
        with pytest.raises(errors.ImageTooLarge):
            read_letter(path, settings)


def test_page_count_limit(tmp_path, settings):
    buf = io.BytesIO()
    pages = [Image.new("L", (50, 70), 255) for _ in range(settings.max_pages + 1)]
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    path = tmp_path / "many.tif"
    path.write_bytes(buf.getvalue())
    with pytest.raises(errors.TooManyPages):
        read_letter(path, settings)
