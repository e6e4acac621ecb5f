"""Throughput with one and two workers on the same inbox, and the fixed cost of one ingest.

    .venv/bin/python bench/workers.py [--letters 24]

Workers are `petitions ingest --engine local` processes started at once on one inbox and
one database, each with one OCR thread (PETITIONS_OCR_WORKERS=1), as two machines of an
office would run; files are shared out by the claim each worker takes on a file. The
same scanned letters (samples/make_samples.py) are used for every run, in one run of this
script, so the figures compare.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "samples"))
import make_samples  # noqa: E402

from petitions import train  # noqa: E402


def make_scans(n: int, folder: Path) -> int:
    rows = train.corpus(ROOT / "models" / "corpus")
    rng = random.Random(11)
    pages = 0
    for i, row in enumerate(rng.sample(rows, n)):
        d = make_samples.profiles(random.Random(i))
        imgs = make_samples.scan(row["text"], d, seed=i)
        make_samples.save_tiff(imgs, folder / f"{i:03d}.tif", d.dpi)
        pages += len(imgs)
    return pages


def run(workers: int, scans: Path, tmp: Path) -> float:
    inbox, data = tmp / f"inbox{workers}", tmp / f"data{workers}"
    shutil.copytree(scans, inbox / "2026-11-20")
    old = time.time() - 120
    for p in inbox.rglob("*"):
        os.utime(p, (old, old))
    env = dict(os.environ, PETITIONS_HOME=str(data), PETITIONS_OCR_WORKERS="1", PETITIONS_SETTLE_SECONDS="0")
    exe = str(Path(sys.executable).parent / "petitions")
    subprocess.run([exe, "status"], env=env, capture_output=True, check=True)  # the database exists first
    t0 = time.perf_counter()
    procs = [subprocess.Popen([exe, "ingest", str(inbox), "--engine", "local"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    assert all(p.wait() == 0 for p in procs)
    seconds = time.perf_counter() - t0
    assert not any(inbox.rglob("*.tif")), "every letter was taken"
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--letters", type=int, default=24)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    scans = tmp / "scans"
    scans.mkdir()
    pages = make_scans(args.letters, scans)
    one = run(1, scans, tmp)
    two = run(2, scans, tmp)
    print(f"{args.letters} letters, {pages} scanned pages, {os.cpu_count()} cores")
    print("| workers | seconds | pages/min | speed-up |")
    print("|---|---|---|---|")
    print(f"| 1 | {one:.1f} | {60 * pages / one:.1f} | 1.00x |")
    print(f"| 2 | {two:.1f} | {60 * pages / two:.1f} | {one / two:.2f}x |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
