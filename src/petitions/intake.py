"""The inbox: which files to take, in what order, and how a file leaves it.

Rules (CONTRACT.md, "Inbox"): batch folders `YYYY-MM-DD[_anything]` oldest first, then
loose files; a file leaves the inbox only after its letter is stored and its original is
archived; a file that cannot be processed is moved to `_quarantine/` beside a
`<name>.error.txt`; files still being written are left for the next run.
"""

from __future__ import annotations

import fcntl
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


def claim(path: Path) -> int | None:
    """Hold a file for this run: an exclusive lock on it, which the kernel drops if the
    process dies, so a crashed run never leaves a file held. Returns the descriptor to pass
    to `release`, or None when another run holds the file or it has already left the inbox
    (two ingests on one inbox never process a file twice). Links are not followed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError:  # a link (ELOOP) or unreadable: nothing to lock, it goes to quarantine
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except (BlockingIOError, FileNotFoundError):
        same = False
    if not same:  # held by another run, or stored and removed by it while we waited
        os.close(fd)
        return None
    return fd


def release(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        os.close(fd)


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


def clean_stale_temp(archive_dir: Path) -> None:
    """Remove half-copied archive files left by a run that was killed (its pid is gone)."""
    if not archive_dir.is_dir():
        return
    for tmp in archive_dir.glob("*/*.tmp*"):
        pid = tmp.name.rpartition(".tmp")[2]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_from_inbox(item: InboxItem) -> None:
    item.path.unlink(missing_ok=True)
    _prune_empty(item.path.parent, item.path.parents[len(Path(item.rel).parts) - 1])


def quarantine(item: InboxItem, inbox: Path, error: LetterError) -> Path:
    """Move the file (or folder, or link) to _quarantine/ beside a note saying why."""
    qdir = inbox / QUARANTINE
    qdir.mkdir(exist_ok=True)
    flat = _fit(item.rel.replace("/", "__"))
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
    try:
        os.replace(item.path, dest)  # same filesystem: a rename, never a copy-then-delete
    except FileNotFoundError:  # another run set it aside first
        note.unlink(missing_ok=True)
        return dest
    _prune_empty(item.path.parent, item.path.parents[len(Path(item.rel).parts) - 1])
    return dest


def _fit(name: str, limit: int = 200) -> str:
    """A name that still fits the file system's 255 bytes once "(2)" and ".error.txt" are
    added: a long one is cut, keeping its extension and a short hash that tells it apart."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 8:
        stem, ext = name, ""
    tag = "~" + hashlib.sha256(name.encode()).hexdigest()[:8]
    room = limit - len(tag.encode()) - len(ext.encode()) - 1
    return stem.encode()[:room].decode(errors="ignore") + tag + (f".{ext}" if ext else "")


def _prune_empty(folder: Path, inbox: Path) -> None:
    """Remove batch folders left empty, but never the inbox itself."""
    while folder != inbox and inbox in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
