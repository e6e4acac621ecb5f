"""Faults in the middle of a batch: a process killed at random points, the database going
away, the data directory filling up, tesseract hanging. After each, every file is stored
exactly once or still in the inbox, and a rerun finishes the job."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import cli_env, drop, inbox_files
from petitions.store import File, IntakeEvent, Letter, open_database

CLI = [sys.executable, "-m", "petitions.cli", "ingest"]
DISK_MB = 4


def count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def stored_sources(sessions) -> list[str]:
    with sessions() as s:
        return [e.source_path for e in s.scalars(select(IntakeEvent).where(IntakeEvent.outcome == "stored"))]


def batch(inbox: Path, scans, letters) -> list[str]:
    """Eight letters: scans that take seconds each and text files that take milliseconds."""
    names = []
    for n in ("png", "jpeg", "tiff-2"):
        names.append(f"2024-05-14/{n}{scans[n].suffix}")
        drop(scans[n], inbox, names[-1])
    for i, sid in enumerate(["S-01", "S-02", "S-03", "S-04", "S-05"]):
        names.append(f"2024-05-15/thu-{i}.txt")
        drop(letters[sid]["text"].encode(), inbox, names[-1])
    return names


def test_kill_9_at_random_points_then_rerun(inbox, scans, letters, settings):
    names = batch(inbox, scans, letters)
    env = cli_env(settings, PETITIONS_SETTLE_SECONDS="0")
    rng = random.Random(int(os.environ.get("PETITIONS_FAULT_SEED", time.time())))
    for _ in range(3):
        proc = subprocess.Popen([*CLI, str(inbox), "--engine", "local"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 8.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        sessions = open_database(settings.database_url)
        done = stored_sources(sessions)
        assert len(done) == len(set(done)) == count(sessions, File) == count(sessions, Letter)
        present = set(inbox_files(inbox))
        assert all(n in present or n in done for n in names), "a file was lost"
        assert not any(p.startswith("_quarantine") for p in present)
    final = subprocess.run([*CLI, str(inbox), "--engine", "local"], env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    sessions = open_database(settings.database_url)
    assert sorted(stored_sources(sessions)) == sorted(names)
    assert count(sessions, File) == count(sessions, Letter) == len(names)
    assert inbox_files(inbox) == []
    archived = [p for p in (settings.data_dir / "archive").rglob("*") if p.is_file()]
    assert len(archived) == len(names) and not any(".tmp" in p.name for p in archived)


def test_two_ingests_at_once_never_process_a_file_twice(inbox, scans, letters, settings):
    names = batch(inbox, scans, letters)
    env = cli_env(settings, PETITIONS_SETTLE_SECONDS="0")
    open_database(settings.database_url)  # the schema exists before the race starts
    procs = [subprocess.Popen([*CLI, str(inbox), "--engine", "local"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-1500:] for o in outs]
    sessions = open_database(settings.database_url)
    done = stored_sources(sessions)
    assert sorted(done) == sorted(names)  # each stored once, by one of the two
    assert count(sessions, File) == count(sessions, Letter) == len(names)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IntakeEvent).where(IntakeEvent.outcome != "stored")) == 0
    assert inbox_files(inbox) == []
    assert all("0 quarantined" in " ".join(o[0].split()) for o in outs)


def test_a_hanging_tesseract_is_stopped_and_the_batch_goes_on(inbox, scans, letters, settings, tmp_path):
    """tesseract is outside the product: a stand-in that hangs on every page."""
    real = shutil.which("tesseract")
    fake = tmp_path / "bin" / "tesseract"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\ncase "$*" in *--list-langs*|*--version*) exec {real} "$@";; esac\nexec sleep 600\n')
    fake.chmod(0o755)
    drop(scans["png"], inbox, "2024-05-14/scan.png")
    drop(letters["S-02"]["text"].encode(), inbox, "2024-05-14/thu.txt")
    env = cli_env(settings, PATH=f"{fake.parent}:{os.environ['PATH']}", PETITIONS_OCR_TIMEOUT_S="3")
    t0 = time.time()
    r = subprocess.run([*CLI, str(inbox), "--engine", "local"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert time.time() - t0 < 120
    assert inbox_files(inbox) == ["_quarantine/2024-05-14__scan.png", "_quarantine/2024-05-14__scan.png.error.txt"]
    note = (inbox / "_quarantine" / "2024-05-14__scan.png.error.txt").read_text(encoding="utf-8")
    assert "ocr-timeout" in note and "quá lâu" in note
    assert count(open_database(settings.database_url), Letter) == 1
    assert subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True).returncode != 0, "tesseract left running"


# --- the database goes away ----------------------------------------------------------------


class Proxy:
    """A TCP relay in front of the database server that can be cut like a network cable."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.up = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up = False
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture(scope="module")
def postgres(tmp_path_factory, pg_server):
    """The run's PostgreSQL server, or one started for these tests when PostgreSQL is installed."""
    import pg

    if pg_server:
        yield pg_server
        return
    if pg.binaries() is None:
        pytest.skip("PostgreSQL is not installed: `make install` installs it (Debian package postgresql)")
    server = pg.Server(tmp_path_factory.mktemp("pg-faults"))
    yield server
    server.stop()


def test_database_unreachable_mid_batch(inbox, scans, letters, settings, postgres):
    names = batch(inbox, scans, letters)
    for n in ("tiff", "image-pdf", "rescan"):  # more scans after the first: work left when the cable is cut
        names.append(f"2024-05-14/more-{n}{scans[n].suffix}")
        drop(scans[n], inbox, names[-1])
    url = postgres.new_database()
    proxy = Proxy(postgres.port)
    via_proxy = url.replace(f":{postgres.port}/", f":{proxy.port}/")
    env = cli_env(settings, PETITIONS_SETTLE_SECONDS="0", PETITIONS_DB_URL=via_proxy)
    proc = subprocess.Popen([*CLI, str(inbox), "--engine", "local"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sessions = open_database(url)
    deadline = time.time() + 120
    while count(sessions, Letter) == 0 and time.time() < deadline:
        time.sleep(0.2)
    proxy.cut()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 4, (out[-1500:], err[-1500:])
    assert "Traceback" not in out + err and "database" in err.lower()
    done = stored_sources(sessions)
    assert 1 <= len(done) < len(names)
    left = set(inbox_files(inbox))
    assert not any(p.startswith("_quarantine") for p in left)
    assert all((n in left) != (n in done) for n in names), "each file is either stored or still in the inbox"
    rerun = subprocess.run([*CLI, str(inbox), "--engine", "local"], env=cli_env(settings, PETITIONS_DB_URL=url,
                           PETITIONS_SETTLE_SECONDS="0"), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-1500:]
    assert sorted(stored_sources(sessions)) == sorted(names) and inbox_files(inbox) == []


# --- the disk fills up -------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A small file system for the data directory (needs root to mount; CI runs as root)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_in_the_data_directory(inbox, scans, letters, small_disk, tmp_path, new_db_url):
    names = []
    size = scans["tiff-2"].stat().st_size
    for i in range(2 + (2 * DISK_MB << 20) // size):  # twice what the disk holds
        names.append(f"2024-05-14/scan-{i:02d}.tif")
        data = scans["tiff-2"].read_bytes() + i.to_bytes(2, "big") * 8  # other bytes, other letters
        drop(data, inbox, names[-1])
    data_dir = small_disk / "data"
    from petitions.settings import Settings

    s = Settings(data_dir=data_dir, db_url=new_db_url())
    r = subprocess.run([*CLI, str(inbox), "--engine", "local"], env=cli_env(s, PETITIONS_SETTLE_SECONDS="0"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 5, (r.stdout[-1500:], r.stderr[-1500:])
    assert "full" in r.stderr and "Traceback" not in r.stdout + r.stderr
    leftovers = [p for p in data_dir.rglob("*") if p.is_file() and ".tmp" in p.name]
    leftovers += [p for p in (data_dir / "archive").rglob("*") if p.is_file() and p.stat().st_size == 0]
    assert leftovers == [], leftovers
    left = set(inbox_files(inbox))
    assert not any(p.startswith("_quarantine") for p in left)
    sessions = open_database(s.database_url)
    done = stored_sources(sessions)
    assert all((n in left) != (n in done) for n in names)
    assert len(left) >= 1
