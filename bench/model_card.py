"""Every figure of models/README.md, in one run.

    .venv/bin/python bench/model_card.py [--dev ../shared/corpus/dev_letters.jsonl]

- the shipped model (models/manifest.json) and the plain baseline of document managers
  (CountVectorizer(ngram_range=(1, 2)) + MLPClassifier, raw text, no segmentation),
  trained on the same texts (training split + its OCR'd copies);
- scored on the held-out split, on its OCR'd copies, and on the independent dev letters
  (evaluation only) and their scans (typeset, degraded, read back by the product; the
  scans are cached outside the repository, never committed);
- timings: model load, classification of one letter, training.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.neural_network import MLPClassifier

from petitions import classify, routing, train
from petitions.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def dev_scans(dev: Path) -> dict[str, str]:
    cache = Path(tempfile.gettempdir()) / "petitions-dev-scans.jsonl"
    subprocess.run([sys.executable, str(ROOT / "models" / "corpus" / "make_ocr_copies.py"), str(dev), str(cache)], check=True)
    return {r["id"]: r["text"] for r in train.load_jsonl(cache)}


class Baseline:
    def __init__(self, texts, types, topics):
        self.vec = CountVectorizer(ngram_range=(1, 2))
        X = self.vec.fit_transform(texts)
        self.t = MLPClassifier(random_state=0, max_iter=300).fit(X, types)
        self.c = MLPClassifier(random_state=0, max_iter=300).fit(X, topics)

    def score(self, texts, rows, table) -> dict:
        X = self.vec.transform(texts)
        types, topics = self.t.predict(X), self.c.predict(X)
        truth_d = [table.department(r["letter_type"], r["topic"]) for r in rows]
        dept = [table.department(a, b) for a, b in zip(types, topics)]
        return {
            "type_accuracy": float(np.mean(types == np.array([r["letter_type"] for r in rows]))),
            "topic_macro_f1": train.macro_f1([r["topic"] for r in rows], list(topics), classify.TOPICS),
            "department_accuracy": float(np.mean([a == b for a, b in zip(dept, truth_d)])),
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev_letters.jsonl")
    args = ap.parse_args()
    settings = Settings()
    table = routing.load(routing.DEFAULT)
    t0 = time.perf_counter()
    loaded = train.load(settings.models_dir)
    t_load = time.perf_counter() - t0
    rows = train.corpus()
    ocr = train.ocr_copies()
    trn = [r for r in rows if not train.is_heldout(r)]
    held = [r for r in rows if train.is_heldout(r)]
    held_ocr = [r for r in held if r["id"] in ocr]
    sets = {
        "held-out": ([r["text"] for r in held], held),
        "held-out, OCR'd": ([ocr[r["id"]] for r in held_ocr], held_ocr),
    }
    if args.dev.exists():
        dev = train.load_jsonl(args.dev)
        scans = dev_scans(args.dev)
        sets["dev letters"] = ([r["text"] for r in dev], dev)
        sets["dev letters, scanned"] = ([scans[r["id"]] for r in dev], dev)
    texts = [r["text"] for r in trn] + [train.ocr_copy(r, ocr) for r in trn]
    labelled = trn + trn
    base = Baseline(texts, [r["letter_type"] for r in labelled], [r["topic"] for r in labelled])

    print(f"model {loaded.manifest['name']}, threshold {loaded.threshold:.3f}\n")
    print("| set | n | type acc | topic macro-F1 | department acc | auto-routed | auto-routed acc | baseline type | baseline topic F1 | baseline dept |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    details = {}
    for name, (texts_, rows_) in sets.items():
        m = train.score(loaded.models, texts_, rows_, table, loaded.threshold)
        b = base.score(texts_, rows_, table)
        details[name] = m
        print(f"| {name} | {m['n']} | {m['type_accuracy']:.3f} | {m['topic_macro_f1']:.3f} | {m['department_accuracy']:.3f} | "
              f"{m['auto_routed_share']:.1%} | {m['auto_routed_accuracy'] if m['auto_routed_accuracy'] is not None else float('nan'):.3f} | "
              f"{b['type_accuracy']:.3f} | {b['topic_macro_f1']:.3f} | {b['department_accuracy']:.3f} |")
    for name, m in details.items():
        print(f"\n**{name}**: type confusion (rows truth, columns predicted; {', '.join(m['type_confusion']['labels'])}): "
              f"`{m['type_confusion']['matrix']}`; topic confusion ({', '.join(m['topic_confusion']['labels'])}): `{m['topic_confusion']['matrix']}`")
    print("\nCalibration on the held-out split (type and topic predictions pooled):\n")
    print("| confidence | n | mean confidence | accuracy |\n|---|---|---|---|")
    for b in details["held-out"]["calibration"]:
        print(f"| {b['from']:.2f}-{b['to']:.2f} | {b['n']} | {b['mean_confidence']:.3f} | {b['accuracy']:.3f} |")
    one = held[0]["text"]
    classify.predict_one(loaded.models, one)
    t0 = time.perf_counter()
    for r in held[:50]:
        classify.predict_one(loaded.models, r["text"])
    per = (time.perf_counter() - t0) / 50
    print(f"\nload {t_load:.2f} s; classify one letter {per * 1000:.0f} ms (mean of 50, after load)")


if __name__ == "__main__":
    main()
