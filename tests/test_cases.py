"""Case linking, recurrence, deadlines, resolving and the report, through the real
pipeline and a real SQLite file, on trap letters from bench/cases."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from conftest import cli_env, drop
from petitions import cases, export, report
from petitions.pipeline import ingest
from petitions.store import Case, Letter

ROOT = Path(__file__).resolve().parents[1]
# A complaint resubmitted, then reworded twice over 16 months (recurrent from the 3rd);
# three households sending one template about one pig farm (three cases); one writer with
# two unrelated matters (two cases).
TRAPS = ["K1-002", "K1-004", "K1-007", "K1-016", "K1-018", "K1-019", "K1-020", "K1-015", "K1-044"]


@pytest.fixture(scope="module")
def traps() -> dict[str, dict]:
    rows = {}
    for line in (ROOT / "bench" / "cases" / "K1.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["id"] in TRAPS:
            rows[r["id"]] = r
    return rows


@pytest.fixture
def linked(traps, inbox, settings, sessions):
    """The trap letters as typed .txt files, each in the batch folder of its received date."""
    for rid, r in traps.items():
        drop(r["text"].encode(), inbox, f"{r['received_on']}/{rid}.txt")
    report_ = ingest(inbox, settings=settings, sessions=sessions)
    assert report_.count("stored") == len(traps)
    recs = {Path(rec["source_name"]).stem: rec for rec in export.records(sessions, date(2026, 11, 27))}
    return recs


def test_letters_are_linked_into_their_cases(linked, traps):
    for a in TRAPS:
        for b in TRAPS:
            same_truth = traps[a]["matter"] == traps[b]["matter"]
            assert (linked[a]["case_id"] == linked[b]["case_id"]) == same_truth, (a, b)


def test_duplicate_of_and_recurrent_follow_the_contract(linked, traps):
    ids = {rid: rec["letter_id"] for rid, rec in linked.items()}
    for rid, r in traps.items():
        want = ids[r["duplicate_of"]] if r["duplicate_of"] else None
        assert linked[rid]["duplicate_of"] == want, rid
        assert linked[rid]["recurrent"] == r["recurrent"], rid


def test_case_record_keeps_counts_dates_and_addressees(linked, sessions):
    with sessions() as s:
        case = s.get(Case, linked["K1-002"]["case_id"])
        assert case.letters == 4 and case.recurrent
        assert (case.first_received, case.last_received) == (date(2022, 2, 28), date(2023, 6, 20))
        assert len(case.addressees) >= 2  # escalated: district chairman, then the province's inspectorate
        # The nightly rescan recomputes the same values from the letters: nothing to change.
        result = cases.rescan(s, cases.Recurrence())
        assert result.letters_changed == 0 and result.recurrent_cases == 1


def test_deadlines_are_counted_per_type(linked):
    # K1-002, a complaint received Mon 28 Feb 2022: 10 days -> Thu 10 Mar 2022.
    assert linked["K1-002"]["deadline"] == "2022-03-10"
    # K1-044, a denunciation received Mon 17 Mar 2025: 7 working days -> Wed 26 Mar 2025.
    assert linked["K1-044"]["deadline"] == "2025-03-26"
    assert linked["K1-044"]["overdue"] is True


def test_resolve_closes_a_case_and_nothing_in_it_is_overdue(linked, settings):
    env = cli_env(settings)
    cli = [sys.executable, "-m", "petitions.cli"]
    case = linked["K1-002"]["case_id"]
    done = subprocess.run(cli + ["resolve", case, "--on", "2023-09-01", "--note", "QĐ 77/QĐ-UBND"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "(4 letters closed)" in " ".join(done.stdout.split())
    out = subprocess.run(cli + ["export", "--as-of", "2026-11-27"], env=env, capture_output=True, text=True, timeout=120)
    recs = [json.loads(line) for line in out.stdout.splitlines()]
    mine = [r for r in recs if r["case_id"] == case]
    assert len(mine) == 4 and all(r["status"] == "resolved" and not r["overdue"] for r in mine)
    assert any(r["overdue"] for r in recs if r["case_id"] != case)
    bad = subprocess.run(cli + ["resolve", "C-nope", "--on", "2023-09-01", "--note", "x"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "No case 'C-nope'" in bad.stderr and "Traceback" not in bad.stderr


def test_report_writes_a_page_and_its_tables(linked, sessions, tmp_path):
    page = report.write(sessions, date(2025, 3, 31), tmp_path / "rep")
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html and "Vụ việc kéo dài" in html and linked["K1-002"]["case_id"] in html
    with (tmp_path / "rep" / "summary.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    everything = rows[-1]
    assert int(everything["received"]) == len(TRAPS)
    assert int(everything["complaint"]) + int(everything["denunciation"]) + int(everything["petition"]) == len(TRAPS)
    with (tmp_path / "rep" / "recurrent_cases.csv").open(encoding="utf-8-sig") as f:
        rec = list(csv.DictReader(f))
    assert [r["case_id"] for r in rec] == [linked["K1-002"]["case_id"]] and rec[0]["letters"] == "4"
    with (tmp_path / "rep" / "overdue_letters.csv").open(encoding="utf-8-sig") as f:
        late = list(csv.DictReader(f))
    assert late and all(r["deadline"] < "2025-03-31" for r in late)


def profile(name=None, org=None, idn=None, phone=None, address=None, feats=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)):
    f = np.array(sorted(feats), dtype=np.uint32)
    return cases.Profile(cases.person_name(name), cases.org_core(org), idn, phone, address, (), f, cases.minhash(f))


def test_petitioner_relation_tolerates_abbreviations_and_keeps_businesses_apart():
    assert cases.names_compatible("nguyen thi thu ha", "nguyen t thu ha")
    assert cases.names_compatible("lo thi huong", "lo thi h")
    assert not cases.names_compatible("nguyen van hung", "nguyen van hung".replace("hung", "dung"))
    a = profile("Nguyễn Thị Thu Hà", phone="0912345678")
    assert cases.relation(a, profile("Nguyễn T. Thu Hà", phone="0912345678")) == "same"
    assert cases.relation(a, profile("Nguyễn Thị Thu Hà", idn="001180000001")) == "likely"
    # A company is its own petitioner whoever signs; its director at home is another one.
    c1 = profile("Trần Văn A", org="Công ty TNHH Thương mại Dịch vụ Minh Phát")
    assert cases.relation(c1, profile("Lê Văn B", org="Cty TNHH Minh Phát")) == "same"
    assert cases.relation(c1, profile("Trần Văn A", phone="0912345678")) == "different"
    # Same ID number, different people is impossible; different ID numbers are different people.
    assert cases.relation(profile("Phạm Văn C", idn="001080000001"), profile("Phạm Văn C", idn="001080999999")) == "different"
