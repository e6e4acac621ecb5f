"""Ingest throughput against bare tesseract on the same pages, in one run.

    .venv/bin/python bench/ocr_throughput.py [--pages 40] [--text-pdfs 200] [--rss-pages 0]

1. Renders --pages degraded single-page scans (PNG) of the sample and corpus letters.
2. Bare: `tesseract PAGE stdout -l vie --psm 3`, one process per core, OMP_THREAD_LIMIT=1.
3. Product: `petitions ingest --engine local` on the same files (fresh data dir).
4. Text-layer PDFs: --text-pdfs letters typeset by reportlab, ingested; letters/s.
5. --rss-pages N: one batch of N pages, peak RSS of the whole process tree (sampled).
Prints a Markdown table; the README's figures come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "samples"))
import make_samples  # noqa: E402

CORES = os.cpu_count() or 1


def letters() -> list[dict]:
    files = [ROOT / "samples" / "letters.jsonl", *sorted((ROOT / "models" / "corpus" / "parts").glob("*.jsonl"))]
    rows = [json.loads(line) for f in files if f.exists() for line in f.read_text(encoding="utf-8").splitlines() if line]
    random.Random(3).shuffle(rows)
    return rows


def render_pages(n: int, folder: Path) -> list[Path]:
    rng = random.Random(11)
    paths: list[Path] = []
    for i, r in enumerate(letters()):
        if len(paths) >= n:
            break
        d = make_samples.profiles(rng)
        page = make_samples.scan(r["text"], d, seed=i)[0]
        p = folder / f"page-{i:04d}.png"
        page.save(p, dpi=(d.dpi, d.dpi))
        paths.append(p)
    return paths


def age(folder: Path) -> None:
    t = time.time() - 120
    for p in folder.rglob("*"):
        os.utime(p, (t, t))


def run_tree(cmd: list[str], env: dict) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of a command and all its children."""
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - t0, peak


def bare(pages: list[Path]) -> float:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(p: Path) -> None:
        subprocess.run(["tesseract", str(p), "stdout", "-l", "vie", "--psm", "3"], env=env, capture_output=True, check=True)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(CORES) as pool:
        list(pool.map(one, pages))
    return time.perf_counter() - t0


def ingest(inbox: Path, data: Path) -> tuple[float, int]:
    env = dict(os.environ, PETITIONS_HOME=str(data))
    return run_tree([str(ROOT / ".venv" / "bin" / "petitions"), "ingest", str(inbox), "--engine", "local"], env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--text-pdfs", type=int, default=200)
    ap.add_argument("--rss-pages", type=int, default=0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    rows = []

    src = tmp / "pages"
    src.mkdir()
    pages = render_pages(args.pages, src)
    t_bare = bare(pages)
    inbox = tmp / "inbox"
    shutil.copytree(src, inbox / "2026-01-05")
    age(inbox)
    t_ingest, rss = ingest(inbox, tmp / "data1")
    n = len(pages)
    rows.append(("bare tesseract, pages/min", f"{n / t_bare * 60:.1f}"))
    rows.append(("petitions ingest, pages/min", f"{n / t_ingest * 60:.1f}"))
    rows.append(("ingest / bare throughput ratio", f"{t_bare / t_ingest:.2f}"))
    rows.append((f"peak RSS, {n}-page batch (process tree)", f"{rss / 2**20:.0f} MiB"))

    if args.text_pdfs:
        pdfs = tmp / "pdf-inbox" / "2026-01-05"
        pdfs.mkdir(parents=True)
        for i, r in enumerate(letters()[: args.text_pdfs]):
            make_samples.save_text_pdf(r["text"], pdfs / f"letter-{i:04d}.pdf")
        age(pdfs.parent)
        t_pdf, _ = ingest(pdfs.parent, tmp / "data2")
        empty = tmp / "empty"
        empty.mkdir()
        t_fixed, _ = ingest(empty, tmp / "data3")
        rows.append((f"text-layer PDFs, letters/s ({args.text_pdfs} letters, whole command)", f"{args.text_pdfs / t_pdf:.1f}"))
        rows.append(("fixed cost of one `petitions ingest --engine local`, s", f"{t_fixed:.1f}"))
        rows.append(("text-layer PDFs, letters/s after that fixed cost", f"{args.text_pdfs / (t_pdf - t_fixed):.1f}"))

    if args.rss_pages:
        big = tmp / "big" / "2026-01-05"
        big.mkdir(parents=True)
        for p in render_pages(args.rss_pages, big):
            pass
        age(big.parent)
        t_big, rss_big = ingest(big.parent, tmp / "data4")
        rows.append((f"peak RSS, {args.rss_pages}-page batch (process tree)", f"{rss_big / 2**20:.0f} MiB"))
        rows.append((f"{args.rss_pages}-page batch, pages/min", f"{args.rss_pages / t_big * 60:.1f}"))

    print(f"| measure ({CORES} cores, tesseract 5, lang vie) | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
