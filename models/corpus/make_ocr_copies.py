"""OCR'd copies of corpus letters: each letter typeset, degraded like an office scan
(samples/make_samples.py, a profile drawn from the letter's id), saved as a multi-page
TIFF and read back by the product's own reader (cleaning + tesseract).

    .venv/bin/python models/corpus/make_ocr_copies.py IN.jsonl OUT.jsonl

Training and the held-out evaluation read `models/corpus/ocr/*.jsonl`; the same script
makes the scanned copies of any other labelled file for `petitions evaluate --scans`.
Already-done ids in OUT are kept, so an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "samples"))
import make_samples  # noqa: E402

from petitions.read import read_letter  # noqa: E402
from petitions.settings import Settings  # noqa: E402
from petitions.text import clean_text  # noqa: E402


def ocr_copy(row: dict, tmp: Path, settings: Settings) -> dict:
    seed = int(hashlib.sha256(row["id"].encode()).hexdigest()[:8], 16)
    d = make_samples.profiles(random.Random(seed))
    pages = make_samples.scan(row["text"], d, seed=seed)
    path = tmp / f"{seed}.tif"
    make_samples.save_tiff(pages, path, d.dpi)
    result = read_letter(path, settings)
    path.unlink()
    return {"id": row["id"], "profile": d.__dict__, "ocr_confidence": result.ocr_confidence, "text": clean_text(result.raw_text)}


def main(src: str, dest: str) -> None:
    rows = [json.loads(line) for line in Path(src).read_text(encoding="utf-8").splitlines() if line.strip()]
    out = Path(dest)
    done = set()
    if out.exists():
        done = {json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines() if line.strip()}
    todo = [r for r in rows if r["id"] not in done]
    settings = Settings()
    tmp = Path(tempfile.mkdtemp(prefix="ocrcopy-"))
    with ThreadPoolExecutor(max_workers=2) as pool, out.open("a", encoding="utf-8") as f:
        for rec in pool.map(lambda r: ocr_copy(r, tmp, settings), todo):
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
    print(f"{out}: {len(done) + len(todo)} letters")


if __name__ == "__main__":
    main(*sys.argv[1:3])
