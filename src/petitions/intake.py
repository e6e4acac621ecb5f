"""The inbox: which files to take, in what order, and how a file leaves it.

Rules (CONTRACT.md, "Inbox"): batch folders `YYYY-MM-DD[_anything]` oldest first, then
loose files; a file leaves the inbox only after its letter is stored and its original is
archived; a file that cannot be processed is moved to `_quarantine/` beside a
`<name>.error.txt`; files still being written are left for the next run.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .errors import LetterError, StorageFull

QUARANTINE = "_quarantine"
BATCH_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:_.*)?$")
TEMP_RE = re.compile(r"(^~\$|^\.~lock|^\.|\.(part|partial|crdownload|tmp|temp|download|swp)$|~$)", re.IGNORECASE)
ARCHIVE_EXT = {"pdf": ".pdf", "png": ".png", "jpeg": ".jpg", "tiff": ".tif", "txt": ".txt"}


@dataclass(frozen=True)
class InboxItem:
    path: Path
    rel: str  # path relative to the inbox, as the clerk sees it
    received_on: date
    batch: str | None


@dataclass(frozen=True)
class Skipped:
    rel: str
    why: str


def batch_date(name: str) -> date | None:
    m = BATCH_RE.match(name)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def scan(
    inbox: Path, *, run_date: date, settle_seconds: float, now: float | None = None
) -> tuple[list[InboxItem], list[Skipped]]:
    """The files to process now, in order, and what was left for the next run."""
    now = time.time() if now is None else now
    inbox = inbox.resolve()
    batches: list[tuple[date, str, Path]] = []
    loose: list[Path] = []
    for entry in sorted(inbox.iterdir(), key=lambda p: p.name):
        if entry.name == QUARANTINE:
            continue
        d = batch_date(entry.name) if entry.is_dir() and not entry.is_symlink() else None
        if d:
            batches.append((d, entry.name, entry))
        else:
            loose.append(entry)
    items: list[InboxItem] = []
    skipped: list[Skipped] = []

    def take(path: Path, received: date, batch: str | None) -> None:
        rel = path.relative_to(inbox).as_posix()
        if TEMP_RE.search(path.name):
            skipped.append(Skipped(rel, "temporary file"))
            return
        if not path.is_symlink() and path.is_file():
            try:
                st = path.stat()
            except FileNotFoundError:
                return
            if now - st.st_mtime < settle_seconds:
                skipped.append(Skipped(rel, "still being written"))
                return
        items.append(InboxItem(path, rel, received, batch))

    def walk(folder: Path, received: date, batch: str | None) -> None:
        for p in sorted(folder.iterdir(), key=lambda p: p.name):
            if p.is_dir() and not p.is_symlink() and not _looks_like_file(p.name):
                walk(p, received, batch)
            else:
                take(p, received, batch)

    for d, name, folder in sorted(batches):
        walk(folder, d, name)
    for p in loose:
        if p.is_dir() and not p.is_symlink() and not _looks_like_file(p.name):
            walk(p, run_date, None)
        else:
            take(p, run_date, None)
    return items, skipped


def _looks_like_file(name: str) -> bool:
    return Path(name).suffix.lower() in {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".txt"}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def archive(path: Path, sha: str, kind: str, data_dir: Path) -> str:
    """Copy the original into the archive (atomically, idempotently); return its relative path."""
    rel = Path("archive") / sha[:2] / f"{sha}{ARCHIVE_EXT.get(kind, '')}"
    dest = data_dir / rel
    if dest.exists() and dest.stat().st_size == path.stat().st_size:
        return rel.as_posix()
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as src, tmp.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.errno in (28, 122):  # ENOSPC, EDQUOT
            raise StorageFull(f"The data directory {data_dir} is full: free some space, then run again.") from None
        raise
    return rel.as_posix()


def remove_from_inbox(item: InboxItem) -> None:
    item.path.unlink(missing_ok=True)
    _prune_empty(item.path.parent, item.path.parents[len(Path(item.rel).parts) - 1])


def quarantine(item: InboxItem, inbox: Path, error: LetterError) -> Path:
    """Move the file (or folder, or link) to _quarantine/ beside a note saying why."""
    qdir = inbox / QUARANTINE
    qdir.mkdir(exist_ok=True)
    flat = item.rel.replace("/", "__")
    dest = qdir / flat
    n = 1
    while dest.exists() or dest.is_symlink():
        stem, dot, ext = flat.partition(".")
        dest = qdir / f"{stem}({n}){dot}{ext}"
        n += 1
    note = dest.with_name(dest.name + ".error.txt")
    header = f"Tệp / file: {item.rel}\nLý do / reason: {error.code}\n\n"
    tmp = note.with_name(note.name + ".tmp")
    tmp.write_text(header + error.explain(), encoding="utf-8")
    os.replace(tmp, note)
    os.replace(item.path, dest)  # same filesystem: a rename, never a copy-then-delete
    _prune_empty(item.path.parent, item.path.parents[len(Path(item.rel).parts) - 1])
    return dest


def _prune_empty(folder: Path, inbox: Path) -> None:
    """Remove batch folders left empty, but never the inbox itself."""
    while folder != inbox and inbox in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
