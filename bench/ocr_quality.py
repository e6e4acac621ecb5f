"""Character error rate of the exported text on degraded scans, against bare tesseract,
with the gain of each cleaning step (the evidence for what `imaging.clean_page` keeps).

    .venv/bin/python bench/ocr_quality.py [LETTERS.jsonl ...] [--limit N] [--seed S]

Every letter is typeset and degraded with a random office-scan profile
(samples/make_samples.py: 200-300 dpi, rotation, blur, speckle, paper tint, JPEG loss),
then read (a) by bare `tesseract -l vie --psm 3` and (b) by the product's page reader,
with all cleaning steps and with each step switched off. CER = Levenshtein distance /
length of the truth, both with whitespace collapsed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "samples"))
import make_samples  # noqa: E402

from petitions import tesseract  # noqa: E402
from petitions.imaging import CleanSteps, clean_page  # noqa: E402
from petitions.text import clean_text  # noqa: E402

VARIANTS = {
    "product": CleanSteps(),
    "no-despeckle": CleanSteps(despeckle=False),
    "no-upscale": CleanSteps(upscale=False),
    "no-deskew": CleanSteps(deskew=False),
}


def squash(s: str) -> str:
    return " ".join(s.split())


def cer(got: str, truth: str) -> float:
    t = squash(truth)
    return Levenshtein.distance(squash(got), t) / max(1, len(t))


def bare(png: Path) -> str:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    return subprocess.run(
        ["tesseract", str(png), "stdout", "-l", "vie", "--psm", "3"], capture_output=True, text=True, env=env, timeout=300
    ).stdout


def product(png: Path, dpi: int, steps: CleanSteps) -> str:
    from PIL import Image

    with Image.open(png) as im:
        im.load()
        cleaned = clean_page(im, dpi, steps=steps)
    return tesseract.ocr_image(cleaned, lang="vie", psm=3, timeout=300).text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", default=[str(ROOT / "samples" / "letters.jsonl")])
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--json", default=None, help="write per-letter results here")
    ap.add_argument("--dpi", type=int, default=None, help="scan every letter at this resolution")
    args = ap.parse_args()
    rows = [json.loads(line) for f in args.files for line in open(f, encoding="utf-8") if line.strip()]
    rng = random.Random(args.seed)
    rng.shuffle(rows)
    rows = rows[: args.limit]
    variants = args.variants.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="ocrq-"))
    jobs = []
    for n, r in enumerate(rows):
        d = make_samples.profiles(rng)
        if args.dpi:
            d = make_samples.Degrade(**{**d.__dict__, "dpi": args.dpi})
        pages = make_samples.scan(r["text"], d, seed=n)
        paths = []
        for i, p in enumerate(pages):
            path = tmp / f"{n:03d}-{i}.png"
            p.save(path, dpi=(d.dpi, d.dpi))
            paths.append(path)
        jobs.append((r, d, paths))

    def run(job):
        r, d, paths = job
        out = {"id": r["id"], "profile": d.__dict__}
        out["bare"] = cer("\n".join(bare(p) for p in paths), r["text"])
        for v in variants:
            text = clean_text("\n\n".join(product(p, d.dpi, VARIANTS[v]) for p in paths))
            out[v] = cer(text, r["text"])
        return out

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(run, jobs))
    print(f"{len(results)} letters, {sum(len(j[2]) for j in jobs)} pages; CER (whitespace collapsed)")
    print(f"{'reader':14s} {'median':>8s} {'mean':>8s} {'max':>8s} {'>5%':>5s}")
    for k in ["bare"] + variants:
        vals = [r[k] for r in results]
        print(f"{k:14s} {statistics.median(vals):8.2%} {statistics.mean(vals):8.2%} {max(vals):8.2%} {sum(v > 0.05 for v in vals):5d}")
    worst = sorted(results, key=lambda r: -r["product"])[:5] if "product" in variants else []
    for r in worst:
        print(f"  worst: {r['id']} product {r['product']:.2%} bare {r['bare']:.2%} {r['profile']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
