"""Case linking as the archive grows: per-letter linking time at 10k, 100k and 1M letters.

    .venv/bin/python bench/case_index.py [--sizes 10000 100000 1000000] [--db PATH]

A synthetic archive is written straight into the index tables (index_profiles,
index_keys) of a real SQLite file: petitioners drawn from Vietnamese name frequencies
(so common names make large blocks, as in a real province), random phone and ID numbers,
body features drawn from a Zipf vocabulary, random MinHash signatures. Then real letters
(bench/cases/*.jsonl) are linked against it with `cases.link`, in a transaction that is
rolled back, and the median and 95th percentile per-letter time are printed with the
growth factor from the smallest archive.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from petitions import cases, store, text
from petitions.extract import extract

ROOT = Path(__file__).resolve().parents[1]
FAMILY = ["nguyen"] * 38 + ["tran"] * 11 + ["le"] * 9 + ["pham"] * 7 + ["hoang", "huynh", "vu", "vo", "phan", "dang", "bui",
          "do", "ho", "ngo", "duong", "ly", "lo", "giang", "thach", "kim", "ha", "dinh", "mai", "trinh", "dao", "cao", "lam"] * 1
MIDDLE = ["van"] * 6 + ["thi"] * 6 + ["duc", "minh", "ngoc", "thanh", "huu", "quoc", "xuan", "hong", "kim", "bich", "cong"]
GIVEN = ("an anh binh chau chi cuong dung dung dat dong duc giang ha hai han hanh hau hien hieu hoa hoang hong hue hung "
         "huong huy khanh khoa lan linh loan loc long mai minh my nam nga ngan nghia ngoc nhung phong phuc phuong quang "
         "quan son tam tan thanh thao thang thinh thu thuy tien toan trang tri trung tuan tung uyen van viet vinh xuan yen").split()


def synthetic(n: int, start: int, rng: np.random.Generator):
    """Rows for index_profiles and index_keys of `n` synthetic letters."""
    profiles, keys = [], []
    cdf = np.cumsum(1.0 / np.arange(1, 200_001) ** 1.05)
    cdf /= cdf[-1]
    for k in range(start, start + n):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        phone = "09" + "".join(map(str, rng.integers(0, 10, 8))) if rng.random() < 0.8 else None
        idn = "0" + "".join(map(str, rng.integers(0, 10, 11))) if rng.random() < 0.6 else None
        feats = np.unique(np.searchsorted(cdf, rng.random(int(rng.integers(120, 260)))).astype(np.uint32))
        sig = rng.integers(0, 2**32 - 1, cases.PERMUTATIONS, dtype=np.uint32)
        p = cases.Profile(name, None, idn, phone, None, (), feats, sig)
        profiles.append((k, f"L-syn{k:012d}", f"C-syn{k:012d}", "2024-01-01", name, None, idn, phone, None, None,
                         feats.tobytes(), sig.tobytes()))
        keys.extend((cases.key_hash(key), k) for key in set(p.keys()))
    return profiles, keys


def grow(db: Path, have: int, want: int, rng) -> None:
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    step = 50_000
    for start in range(have + 1, want + 1, step):
        profiles, keys = synthetic(min(step, want + 1 - start), start, rng)
        con.executemany("INSERT INTO index_profiles VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", profiles)
        con.executemany("INSERT OR IGNORE INTO index_keys VALUES (?,?)", keys)
        con.commit()
    con.close()


def queries() -> list[tuple[str, cases.Profile]]:
    out = []
    for f in sorted((ROOT / "bench" / "cases").glob("K*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines()[:25]:
            r = json.loads(line)
            body = text.clean_text(r["text"])
            out.append((r["id"], cases.profile(body, extract(body))))
    return out


def measure(sessions, qs) -> list[float]:
    times = []
    for i, (rid, p) in enumerate(qs):
        with sessions() as s:
            t0 = time.perf_counter()
            cases.link(s, f"L-query{i:010d}", date(2026, 11, 27), p, None)
            times.append((time.perf_counter() - t0) * 1000)
            s.rollback()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--db", type=Path, default=Path(tempfile.mkdtemp(prefix="caseindex-")) / "index.sqlite3")
    args = ap.parse_args()
    sessions = store.open_database(f"sqlite:///{args.db}")
    qs = queries()
    rng = np.random.default_rng(7)
    measure(sessions, qs[:5])  # warm the imports and the stoplist
    have, base = 0, None
    print(f"| archived letters | build (s) | link median (ms) | link p95 (ms) | growth vs {args.sizes[0]:,} |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        t0 = time.perf_counter()
        grow(args.db, have, n, rng)
        build = time.perf_counter() - t0
        have = n
        times = measure(sessions, qs)
        med = statistics.median(times)
        p95 = sorted(times)[int(0.95 * len(times)) - 1]
        base = base or med
        print(f"| {n:,} | {build:.0f} | {med:.2f} | {p95:.2f} | {med / base:.2f}x |", flush=True)
    print(f"\n{len(qs)} real letters linked at each size; database {args.db} ({args.db.stat().st_size / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
