"""Field-extraction accuracy on a labelled JSONL corpus (the format of dev_letters.jsonl).

    .venv/bin/python bench/extract_eval.py models/corpus/parts/*.jsonl [--show FIELD]
"""

from __future__ import annotations

import argparse
import json
import unicodedata

from petitions.extract import extract
from petitions.provinces import OLD_TO_NEW, canonical


def norm(v):
    return unicodedata.normalize("NFC", v).strip().lower() if isinstance(v, str) else v


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--show", default=None)
    args = ap.parse_args()
    rows = [json.loads(line) for f in args.files for line in open(f, encoding="utf-8") if line.strip()]
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
        for k, (got, want) in checks.items():
            ok = got == want
            stats.setdefault(k, [0, 0, 0])
            stats[k][0] += ok
            stats[k][1] += 1
            if want is not None and want is not True:
                stats[k][2] += 1
            if not ok and args.show == k:
                print(f"{r['id']}: got {got!r} want {want!r}")
    print(f"{len(rows)} letters")
    for k, (ok, n, present) in stats.items():
        print(f"{k:13s} {ok / n:6.1%}  ({ok}/{n}; {present} carry it)")


if __name__ == "__main__":
    main()
