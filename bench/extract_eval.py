"""Field-extraction accuracy on a labelled JSONL corpus (the format of dev_letters.jsonl).

    .venv/bin/python bench/extract_eval.py models/corpus/parts/*.jsonl [--show FIELD]
    .venv/bin/python bench/extract_eval.py models/corpus/parts/*.jsonl --texts models/corpus/ocr/corpus_ocr.jsonl

--texts: read each letter's text from another file by id (its OCR'd copy: for the dev
letters, /tmp/petitions-dev-scans.jsonl, which bench/model_card.py makes), so the
fields are scored on what the scanner and OCR left of the letter. Fields are scored only
on the letters that carry them (accuracy over "carry it"), and a field the letter lacks
must come out null (the "all letters" column).
"""

from __future__ import annotations

import argparse
import json
import unicodedata

from petitions.extract import extract
from petitions.provinces import OLD_TO_NEW, canonical
from petitions.text import clean_text


def norm(v):
    return unicodedata.normalize("NFC", v).strip().lower() if isinstance(v, str) else v


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--show", default=None)
    ap.add_argument("--texts", default=None)
    args = ap.parse_args()
    rows = [json.loads(line) for f in args.files for line in open(f, encoding="utf-8") if line.strip()]
    if args.texts:
        # the copies were cleaned when they were made; clean again with today's rules
        texts = {r["id"]: clean_text(r["text"]) for r in map(json.loads, open(args.texts, encoding="utf-8")) if r}
        rows = [dict(r, text=texts[r["id"]]) for r in rows if r["id"] in texts]
    stats: dict[str, list[int]] = {}
    for r in rows:
        f = extract(r["text"])
        truth_prov = canonical(r["province"]) if r.get("province") else None
        checks = {
            "name": (norm(f.name), norm(r.get("petitioner_name"))),
            "organization": (norm(f.organization), norm(r.get("organization"))),
            "phone": (f.phone, r.get("phone")),
            "id_number": (f.id_number, r.get("id_number")),
            "letter_date": (f.letter_date.isoformat() if f.letter_date else None, r.get("letter_date")),
            "province": (
                f.province in {truth_prov, OLD_TO_NEW.get(truth_prov)} or f.province_written == truth_prov
                if truth_prov else f.province is None,
                True,
            ),
            "address": (norm(f.address), norm(r.get("address"))),
        }
        carries = {k: r.get(f) is not None for k, f in [("name", "petitioner_name"), ("organization", "organization"),
                   ("phone", "phone"), ("id_number", "id_number"), ("letter_date", "letter_date"), ("province", "province"),
                   ("address", "address")]}
        for k, (got, want) in checks.items():
            ok = got == want
            stats.setdefault(k, [0, 0, 0, 0])
            stats[k][0] += ok
            stats[k][1] += 1
            if carries[k]:
                stats[k][2] += 1
                stats[k][3] += ok
            if not ok and args.show == k:
                print(f"{r['id']}: got {got!r} want {want!r}")
    print(f"{len(rows)} letters\n\n| field | letters that carry it | exact among them | all letters (null when absent) |\n|---|---|---|---|")
    for k, (ok, n, present, ok_present) in stats.items():
        print(f"| {k} | {present} | {ok_present / max(1, present):.1%} | {ok / n:.1%} |")


if __name__ == "__main__":
    main()
