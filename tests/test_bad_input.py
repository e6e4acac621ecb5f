"""A batch of hostile files, made here, through `petitions ingest` as a clerk runs it:
every file is stored or quarantined with a clear reason, the batch never stops, nothing
is lost or stored twice, and memory stays bounded."""

from __future__ import annotations

import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from conftest import cli_env, drop, inbox_files, to_cp1258
from petitions.store import File, IntakeEvent, Letter, open_database



def long_name(ext: str, limit: int = 255) -> str:
    """A Vietnamese file name of nearly the longest the file system allows (255 bytes)."""
    words = ("đơn khiếu nại về việc bồi thường giải phóng mặt bằng dự án đường vành đai " * 6).strip()
    name = words.encode()[: limit - len(ext.encode())].decode(errors="ignore").strip()
    return name + ext


def png_bomb() -> bytes:
    """A valid PNG header announcing 50,000 x 50,000 pixels, in 60 bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def pdf(path: Path, pages: int, text: str = "Đơn", encrypt: str | None = None) -> bytes:
    c = canvas.Canvas(str(path), encrypt=encrypt)
    for _ in range(pages):
        c.drawString(72, 720, text)
        c.showPage()
    c.save()
    return path.read_bytes()


@pytest.fixture
def hostile(tmp_path, inbox, scans, letters) -> dict[str, str]:
    """Each hostile file, by its path in the inbox, with what must become of it."""
    text = letters["S-16"]["text"]
    b = "2024-05-14_sang"
    work = tmp_path / "work"
    work.mkdir()
    want = {
        f"{b}/rỗng.pdf": "empty-file",
        f"{b}/cụt.pdf": "corrupt-file",
        f"{b}/hỏng.pdf": "corrupt-file",
        f"{b}/mật khẩu.pdf": "encrypted-pdf",
        f"{b}/5000 trang.pdf": "too-many-pages",
        f"{b}/bom.png": "image-too-large",
        f"{b}/sợi chỉ.png": "image-too-large",
        f"{b}/ảnh jpeg.pdf": "stored",
        f"{b}/chương trình.png": "unsupported-format",
        f"{b}/windows-1258.txt": "stored",
        f"{b}/utf-16.txt": "stored",
        f"{b}/{long_name('.txt', 250)}": "stored",
        f"{b}/{long_name('.pdf')}": "corrupt-file",
        f"{b}/ra ngoài.pdf": "not-a-file",
        f"{b}/thư mục.pdf": "not-a-file",
    }
    good = pdf(work / "ok.pdf", 1)
    drop(b"", inbox, f"{b}/rỗng.pdf")
    drop(good[: len(good) // 2], inbox, f"{b}/cụt.pdf")
    drop(b"%PDF-1.4\n" + bytes(range(256)) * 40, inbox, f"{b}/hỏng.pdf")
    drop(pdf(work / "enc.pdf", 1, encrypt="matkhau"), inbox, f"{b}/mật khẩu.pdf")
    drop(pdf(work / "big.pdf", 5000), inbox, f"{b}/5000 trang.pdf")
    drop(png_bomb(), inbox, f"{b}/bom.png")
    Image.new("L", (100_000, 1), 255).save(work / "thread.png")
    drop(work / "thread.png", inbox, f"{b}/sợi chỉ.png")
    drop(scans["jpeg"], inbox, f"{b}/ảnh jpeg.pdf")
    drop(b"MZ\x90\x00" + b"\x00" * 4000, inbox, f"{b}/chương trình.png")
    drop(to_cp1258(text.replace("Bùi Thị Lan", "Trần Văn Một")), inbox, f"{b}/windows-1258.txt")
    drop(text.replace("Bùi Thị Lan", "Lê Thị Hai").encode("utf-16"), inbox, f"{b}/utf-16.txt")
    drop(text.replace("Bùi Thị Lan", "Đỗ Văn Ba").encode(), inbox, f"{b}/{long_name('.txt', 250)}")
    drop(b"%PDF-1.4 garbage", inbox, f"{b}/{long_name('.pdf')}")
    outside = tmp_path / "secret.pdf"
    outside.write_bytes(good)
    (inbox / b / "ra ngoài.pdf").symlink_to(outside)
    (inbox / b / "thư mục.pdf").mkdir()
    (inbox / b / "thư mục.pdf" / "inner.txt").write_text("x")
    return want


def test_a_batch_of_hostile_files(hostile, inbox, settings, tmp_path):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    r = subprocess.run([sys.executable, "-m", "petitions.cli", "ingest", str(inbox), "--engine", "local"],
                       env=cli_env(settings, COLUMNS="200"), capture_output=True, text=True, timeout=600)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stdout + r.stderr
    stored = [k for k, v in hostile.items() if v == "stored"]
    quarantined = {k: v for k, v in hostile.items() if v != "stored"}
    sessions = open_database(settings.database_url)
    with sessions() as s:
        events = {e.source_path: e for e in s.scalars(select(IntakeEvent))}
        assert s.scalar(select(func.count()).select_from(Letter)) == len(stored)
        assert s.scalar(select(func.count()).select_from(File)) == len(stored)
    for rel in stored:
        assert events[rel].outcome == "stored", rel
    for rel, reason in quarantined.items():
        assert events[rel].outcome == "quarantined" and events[rel].reason == reason, (rel, events[rel].reason)
    # Every quarantined file is beside a note that says why, in Vietnamese and English.
    q = inbox / "_quarantine"
    notes = sorted(q.glob("*.error.txt"))
    assert len(notes) == len(quarantined)
    for note in notes:
        body = note.read_text(encoding="utf-8")
        assert "Lý do / reason:" in body and "Traceback" not in body
        assert len(note.name.encode()) <= 255
    left = [p for p in inbox_files(inbox) if not p.startswith("_quarantine/")]
    assert left == []
    assert (tmp_path / "secret.pdf").exists()  # the link was set aside, its target untouched
    # The 5,000-page PDF and the bomb were refused from their headers: memory stayed small.
    assert peak_mib - before / 1024 < 1500, f"peak RSS {peak_mib:.0f} MiB"
