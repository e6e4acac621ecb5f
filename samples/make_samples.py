"""Render letters into realistic scans: the sample inbox, and the scans the benchmarks
and tests read.

    .venv/bin/python samples/make_samples.py            # rebuild samples/inbox from samples/letters.jsonl

Each page is typeset on A4 with a serif font, then degraded as office scanners and
photocopiers do: paper tint, a small rotation, blur, speckle, JPEG loss, 200 or 300 dpi.
Everything is seeded: the same command makes the same bytes.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
FONTS = {
    "serif": "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "serif-bold": "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
    "sans": "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "dejavu": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
}
A4_IN = (8.27, 11.69)


@dataclass(frozen=True)
class Degrade:
    dpi: int = 300
    rotate: float = 0.0  # degrees
    blur: float = 0.0  # Gaussian radius in pixels at 300 dpi
    speckle: float = 0.0  # fraction of pixels flipped to black or white
    tint: bool = False
    jpeg_quality: int | None = None
    font: str = "serif"
    font_pt: float = 13.0


def profiles(rng: random.Random) -> Degrade:
    """A random but realistic office scan."""
    return Degrade(
        dpi=rng.choice([200, 300, 300]),
        rotate=rng.uniform(-2.5, 2.5),
        blur=rng.choice([0.0, 0.4, 0.7, 1.0]),
        speckle=rng.choice([0.0, 0.0, 0.003, 0.01, 0.02]),
        tint=rng.random() < 0.6,
        jpeg_quality=rng.choice([None, 85, 60, 40]),
        font=rng.choice(["serif", "serif", "sans", "dejavu"]),
        font_pt=rng.choice([12.0, 13.0, 14.0]),
    )


def _font(name: str, pt: float, dpi: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONTS[name], size=max(8, round(pt * dpi / 72)))


def _wrap(line: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    words, out, cur = line.split(" "), [], ""
    for w in words:
        trial = f"{cur} {w}" if cur else w
        if font.getlength(trial) <= width or not cur:
            cur = trial
        else:
            out.append(cur)
            cur = w
    out.append(cur)
    return out


def _centred(line: str) -> bool:
    s = line.strip()
    return bool(s) and (
        (s.isupper() and len(s) < 60) or s.startswith(("Độc lập", "(V/v", "V/v", "Về việc", "---", "(Về")) or set(s) <= set("-_–— ")
    )


def typeset(text: str, d: Degrade) -> list[Image.Image]:
    """Clean pages (white, upright) at d.dpi."""
    w, h = round(A4_IN[0] * d.dpi), round(A4_IN[1] * d.dpi)
    margin_l, margin_r, margin_t = round(0.9 * d.dpi), round(0.7 * d.dpi), round(0.7 * d.dpi)
    font = _font(d.font, d.font_pt, d.dpi)
    bold = _font("serif-bold" if d.font == "serif" else d.font, d.font_pt, d.dpi)
    line_h = round(d.font_pt * 1.45 * d.dpi / 72)
    pages: list[Image.Image] = []
    page = draw = None
    y = h
    for raw in text.split("\n"):
        raw = raw.rstrip()
        f = bold if _centred(raw) else font
        for line in _wrap(raw, f, w - margin_l - margin_r) if raw else [""]:
            if y + line_h > h - margin_t:
                page = Image.new("L", (w, h), 255)
                draw = ImageDraw.Draw(page)
                pages.append(page)
                y = margin_t
            x = (w - f.getlength(line.strip())) / 2 if _centred(raw) else margin_l
            draw.text((x, y), line.strip() if _centred(raw) else line, font=f, fill=0)
            y += line_h
    return pages


def degrade(page: Image.Image, d: Degrade, rng: random.Random) -> Image.Image:
    img = page
    if d.blur:
        img = img.filter(ImageFilter.GaussianBlur(d.blur * d.dpi / 300))
    if d.rotate:
        img = img.rotate(d.rotate, resample=Image.BICUBIC, expand=False, fillcolor=255)
    arr = np.asarray(img, dtype=np.float32)
    nrng = np.random.default_rng(rng.randrange(2**32))
    if d.tint:
        grad = np.linspace(0, 18, arr.shape[0], dtype=np.float32)[:, None]
        blotch = nrng.normal(0, 5, (arr.shape[0] // 64 + 1, arr.shape[1] // 64 + 1)).astype(np.float32)
        blotch = np.asarray(Image.fromarray(blotch, mode="F").resize(arr.shape[::-1], Image.BILINEAR))
        paper = np.round((238 - grad + blotch) / 4) * 4  # scanners quantise the paper tone
        arr = arr / 255 * paper
    if d.speckle:
        mask = nrng.random(arr.shape)
        arr[mask < d.speckle / 2] = 20
        arr[(mask >= d.speckle / 2) & (mask < d.speckle)] = 250
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if d.tint and d.jpeg_quality:  # a colour photo or scan of yellowed paper
        img = Image.merge("RGB", (img, img, img.point(lambda v: int(v * 0.93))))
    if d.jpeg_quality:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=d.jpeg_quality)
        img = Image.open(io.BytesIO(buf.getvalue()))
        img.load()
    return img


def scan(text: str, d: Degrade, seed: int) -> list[Image.Image]:
    rng = random.Random(seed)
    return [degrade(p, d, rng) for p in typeset(text, d)]


def save_png(pages: list[Image.Image], path: Path, dpi: int) -> None:
    pages[0].save(path, "PNG", dpi=(dpi, dpi), optimize=True)


def save_jpeg(pages: list[Image.Image], path: Path, dpi: int, quality: int = 70) -> None:
    pages[0].convert("RGB").save(path, "JPEG", quality=quality, dpi=(dpi, dpi))


def save_tiff(pages: list[Image.Image], path: Path, dpi: int) -> None:
    bw = [p.convert("L") for p in pages]
    bw[0].save(path, "TIFF", save_all=True, append_images=bw[1:], compression="tiff_deflate", dpi=(dpi, dpi))


def save_image_pdf(pages: list[Image.Image], path: Path, dpi: int) -> None:
    rgb = [p.convert("L") for p in pages]
    rgb[0].save(path, "PDF", save_all=True, append_images=rgb[1:], resolution=dpi)


def save_text_pdf(text: str, path: Path) -> None:
    """A PDF with a real text layer, as a word processor exports it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("LiberationSerif", FONTS["serif"]))
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    width, height = A4
    size, lead = 12, 17
    y = height - 60
    c.setFont("LiberationSerif", size)
    for raw in text.split("\n"):
        words, cur, lines = raw.split(" "), "", []
        for wd in words:
            trial = f"{cur} {wd}" if cur else wd
            if pdfmetrics.stringWidth(trial, "LiberationSerif", size) < width - 130 or not cur:
                cur = trial
            else:
                lines.append(cur)
                cur = wd
        lines.append(cur)
        for line in lines:
            if y < 60:
                c.showPage()
                c.setFont("LiberationSerif", size)
                y = height - 60
            if _centred(raw):
                c.drawCentredString(width / 2, y, line.strip())
            else:
                c.drawString(70, y, line)
            y -= lead
    c.save()


# --- the sample inbox -----------------------------------------------------------------

# (letter id, batch folder or "" for loose, file name, format, degradation)
PLAN = [
    ("S-01", "2026-11-23_sang", "don_khieu_nai_01.png", "png", Degrade(dpi=300, rotate=1.2, tint=True)),
    ("S-02", "2026-11-23_sang", "scan_0002.jpg", "jpeg", Degrade(dpi=300, rotate=-0.8, blur=0.6, jpeg_quality=60, tint=True)),
    ("S-03", "2026-11-23_sang", "cong_van_cty.pdf", "text-pdf", None),
    ("S-04", "2026-11-23_sang", "scan_0004.pdf", "image-pdf", Degrade(dpi=200, rotate=2.0, speckle=0.01)),
    ("S-05", "2026-11-23_sang", "don_2_trang.tif", "tiff", Degrade(dpi=200, rotate=0.5, blur=0.4)),
    ("S-06", "2026-11-23_chieu", "IMG_20261123_1520.jpg", "jpeg", Degrade(dpi=200, rotate=-2.2, blur=1.0, jpeg_quality=45, tint=True)),
    ("S-07", "2026-11-23_chieu", "don to cao.png", "png", Degrade(dpi=300, speckle=0.02)),
    ("S-08", "2026-11-23_chieu", "thu_go_may.txt", "txt", None),
    ("S-09", "2026-11-24", "scan_0009.pdf", "image-pdf", Degrade(dpi=300, rotate=-1.5, blur=0.4, tint=True)),
    ("S-10", "2026-11-24", "scan_0010.png", "png", Degrade(dpi=200, rotate=0.9, blur=0.7, font="sans")),
    ("S-11", "2026-11-24", "don_dai_2_trang.pdf", "image-pdf", Degrade(dpi=300, rotate=0.7, jpeg_quality=70, tint=True)),
    ("S-12", "2026-11-24", "scan_0012.jpg", "jpeg", Degrade(dpi=300, rotate=-1.0, blur=0.4, jpeg_quality=55, font="dejavu")),
    ("S-13", "2026-11-25", "don_kien_nghi_dn.pdf", "text-pdf", None),
    ("S-14", "2026-11-25", "scan_0014.tif", "tiff", Degrade(dpi=200, rotate=1.8, tint=True)),
    ("S-15", "2026-11-25", "scan_0015.png", "png", Degrade(dpi=300, rotate=-0.4, blur=1.0, speckle=0.01, tint=True)),
    ("S-16", "", "thu_moi_den.jpg", "jpeg", Degrade(dpi=300, rotate=2.4, jpeg_quality=50, tint=True, font="sans")),
    # A rescan of S-01 on another day (other bytes, same letter), and the very same file dropped twice.
    ("S-01", "2026-11-25", "don_khieu_nai_01_scan_lai.jpg", "jpeg", Degrade(dpi=200, rotate=-1.7, blur=0.6, jpeg_quality=55)),
    ("S-02", "2026-11-25", "scan_0002.jpg", "copy", None),
]


def write(fmt: str, text: str, d: Degrade | None, path: Path, seed: int) -> None:
    if fmt == "txt":
        path.write_text(text + "\n", encoding="utf-8")
        return
    if fmt == "text-pdf":
        save_text_pdf(text, path)
        return
    pages = scan(text, d, seed)
    {"png": save_png, "jpeg": save_jpeg, "tiff": save_tiff, "image-pdf": save_image_pdf}[fmt](pages, path, d.dpi)


def build_inbox(letters_path: Path = HERE / "letters.jsonl", out: Path = HERE / "inbox") -> None:
    letters = {r["id"]: r for r in map(json.loads, letters_path.read_text(encoding="utf-8").splitlines()) if r}
    if out.exists():
        shutil.rmtree(out)
    copies = {}
    for n, (lid, batch, name, fmt, d) in enumerate(PLAN):
        folder = out / batch if batch else out
        folder.mkdir(parents=True, exist_ok=True)
        if fmt == "copy":
            shutil.copyfile(copies[lid], folder / name)
            continue
        write(fmt, letters[lid]["text"], d, folder / name, seed=1000 + n)
        copies.setdefault(lid, folder / name)
    # A damaged file, as a scanner that lost power leaves it.
    good = (out / "2026-11-23_sang" / "cong_van_cty.pdf").read_bytes()
    (out / "2026-11-24" / "scan_hong.pdf").write_bytes(good[: len(good) // 3])
    manifest = [
        {"file": f"{b + '/' if b else ''}{name}", "letter": lid, "format": fmt, "degrade": d.__dict__ if d else None}
        for lid, b, name, fmt, d in PLAN
    ]
    (HERE / "inbox_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    build_inbox(*(Path(a) for a in sys.argv[1:]))
