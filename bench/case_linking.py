"""How well letters are linked into cases: pairwise precision/recall/F1 and recurrence.

    .venv/bin/python bench/case_linking.py [--scans] [--dev PATH] bench/cases/K1.jsonl ...
    .venv/bin/python bench/case_linking.py --stoplist     # rebuild src/petitions/cases_stoplist.txt

Each file is a set of letters with their true `matter`, `duplicate_of` and `recurrent`
(bench/cases/BRIEF.md). The letters go, in received order, through the product's own
path: text analysis, then `cases.link` against a real SQLite database, exactly as ingest
does. With --scans every letter is first typeset, degraded and OCR'd by the product
(models/corpus/make_ocr_copies.py; cached in the temp directory, never committed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import date
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from petitions import cases, store, text, train  # noqa: E402
from petitions.extract import extract  # noqa: E402
from petitions.settings import Settings  # noqa: E402


def scanned(path: Path) -> dict[str, str]:
    cache = Path(tempfile.gettempdir()) / f"petitions-cases-{path.stem}-scans.jsonl"
    if path.name == "dev_letters.jsonl":
        cache = Path(tempfile.gettempdir()) / "petitions-dev-scans.jsonl"
    subprocess.run([sys.executable, str(ROOT / "models" / "corpus" / "make_ocr_copies.py"), str(path), str(cache)], check=True)
    return {r["id"]: r["text"] for r in train.load_jsonl(cache)}


def run(rows: list[dict], texts: dict[str, str] | None, settings: Settings) -> dict:
    """Link the letters of one file into cases in a fresh database; score against the truth."""
    tmp = Path(tempfile.mkdtemp(prefix="caselink-"))
    sessions = store.open_database(f"sqlite:///{tmp / 'db.sqlite3'}")
    rows = sorted(rows, key=lambda r: (r["received_on"], r["id"]))
    got: dict[str, cases.Link] = {}
    with sessions.begin() as s:
        for r in rows:
            body = text.clean_text(texts[r["id"]] if texts else r["text"])
            p = cases.profile(body, extract(body))
            got[r["id"]] = cases.link(s, r["id"], date.fromisoformat(r["received_on"]), p, None)
    truth = {r["id"]: r["matter"] for r in rows}
    tp = fp = fn = 0
    errors = []
    for a, b in combinations([r["id"] for r in rows], 2):
        same_t = truth[a] == truth[b]
        same_p = got[a].case_id == got[b].case_id
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
        if same_t != same_p:
            errors.append(("FP" if same_p else "FN", a, b))
    rec_t = {r["id"] for r in rows if r["recurrent"]}
    rec_p = {i for i, link in got.items() if link.recurrent}
    dup_ok = sum(got[r["id"]].duplicate_of == r["duplicate_of"] for r in rows)
    p = tp / (tp + fp) if tp + fp else 1.0
    rcl = tp / (tp + fn) if tp + fn else 1.0
    return {
        "letters": len(rows),
        "pairs_true": tp + fn,
        "precision": round(p, 3),
        "recall": round(rcl, 3),
        "f1": round(2 * p * rcl / (p + rcl), 3) if p + rcl else 0.0,
        "recurrent_recall": round(len(rec_t & rec_p) / len(rec_t), 3) if rec_t else 1.0,
        "recurrent_precision": round(len(rec_t & rec_p) / len(rec_p), 3) if rec_p else 1.0,
        "duplicate_of_right": round(dup_ok / len(rows), 3),
        "errors": errors,
    }


def build_stoplist(min_df: float = 0.05) -> None:
    """Words and word pairs found in at least `min_df` of the training corpus's letters."""
    rows = train.corpus(ROOT / "models" / "corpus")
    df: Counter[str] = Counter()
    for r in rows:
        body = text.clean_text(r["text"])
        df.update(cases.body_features(body, extract(body)))
    common = sorted(p for p, n in df.items() if n >= min_df * len(rows))
    header = f"# words and word pairs in >= {min_df:.0%} of {len(rows)} corpus letters; made by bench/case_linking.py --stoplist\n"
    cases.STOPLIST.write_text(header + "\n".join(common) + "\n", encoding="utf-8")
    print(f"{cases.STOPLIST}: {len(common)} pairs")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--scans", action="store_true", help="OCR'd copies instead of the typed text")
    ap.add_argument("--stoplist", action="store_true")
    ap.add_argument("--errors", action="store_true", help="list the wrong pairs")
    args = ap.parse_args()
    if args.stoplist:
        build_stoplist()
        return
    settings = Settings()
    for path in args.files:
        rows = train.load_jsonl(path)
        res = run(rows, scanned(path) if args.scans else None, settings)
        errs = res.pop("errors")
        print(f"{path.name} ({'scans' if args.scans else 'text'}): {json.dumps(res)}")
        if args.errors:
            for kind, a, b in errs:
                print(f"   {kind} {a} {b}")


if __name__ == "__main__":
    main()
