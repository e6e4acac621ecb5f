"""The inbox promise: every file stored once or quarantined with a reason, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from conftest import cli_env, drop, inbox_files
from petitions import intake
from petitions.pipeline import ingest
from petitions.store import File, IntakeEvent, Letter


def count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_batches_oldest_first_then_loose_files(inbox, scans):
    drop(scans["txt"], inbox, "loose.txt")
    drop(scans["png"], inbox, "2024-05-14_chieu/b.png")
    drop(scans["jpeg"], inbox, "2024-05-14_sang/a.jpg")
    drop(scans["tiff"], inbox, "2024-05-13/c.tif")
    items, skipped = intake.scan(inbox, run_date=date(2024, 6, 1), settle_seconds=5)
    assert [i.rel for i in items] == ["2024-05-13/c.tif", "2024-05-14_chieu/b.png", "2024-05-14_sang/a.jpg", "loose.txt"]
    assert [i.received_on for i in items] == [date(2024, 5, 13), date(2024, 5, 14), date(2024, 5, 14), date(2024, 6, 1)]
    assert skipped == []


def test_files_still_being_written_are_left_for_next_run(inbox, scans, settings, sessions):
    drop(scans["txt"], inbox, "2024-05-14/fresh.txt", age=0)
    drop(scans["txt"], inbox, "2024-05-14/scan.pdf.part")
    drop(scans["txt"], inbox, "2024-05-14/~$don.txt")
    drop(scans["txt"], inbox, ".DS_Store")
    report = ingest(inbox, settings=settings, sessions=sessions)
    assert report.outcomes == []
    assert {s.why for s in report.skipped} == {"still being written", "temporary file"}
    assert len(inbox_files(inbox)) == 4  # all still there


def test_every_format_stored_archived_and_removed_from_inbox(inbox, scans, settings, sessions):
    for name in ["png", "jpeg", "tiff", "image-pdf", "text-pdf", "txt", "tiff-2"]:
        drop(scans[name], inbox, f"2024-05-14/{name}{scans[name].suffix}")
    report = ingest(inbox, settings=settings, sessions=sessions)
    assert report.count("stored") == 7, report.outcomes
    assert inbox_files(inbox) == []
    with sessions() as s:
        letters = s.scalars(select(Letter)).all()
        sources = sorted(letter.text_source for letter in letters)
        for letter in letters:
            archived = settings.data_dir / letter.file.archive_path
            assert archived.read_bytes() == scans[letter.file.source_name.split(".")[0]].read_bytes()
            assert letter.received_on == date(2024, 5, 14)
            assert letter.text.strip()
    assert sources == ["ocr"] * 5 + ["plain-text", "text-layer"]


def test_same_file_twice_is_stored_once(inbox, scans, settings, sessions):
    drop(scans["png"], inbox, "2024-05-14/a.png")
    first = ingest(inbox, settings=settings, sessions=sessions)
    drop(scans["png"], inbox, "2024-06-01/copy-of-a.png")
    drop(scans["png"], inbox, "2024-06-01/again.png")
    second = ingest(inbox, settings=settings, sessions=sessions)
    assert first.count("stored") == 1
    assert [o.status for o in second.outcomes] == ["duplicate", "duplicate"]
    lid = first.outcomes[0].letter_id
    assert all(o.letter_id == lid and "14/05/2024" in o.message and "2024-05-14" in o.message for o in second.outcomes)
    assert count(sessions, Letter) == 1 and count(sessions, File) == 1
    assert inbox_files(inbox) == []


def test_rescan_of_the_same_page_is_a_new_file(inbox, scans, settings, sessions):
    """Other bytes, same letter: stored (case linking decides later that it repeats)."""
    drop(scans["png"], inbox, "2024-05-14/a.png")
    drop(scans["rescan"], inbox, "2024-05-15/a-rescan.jpg")
    report = ingest(inbox, settings=settings, sessions=sessions)
    assert report.count("stored") == 2
    with sessions() as s:
        a, b = s.scalars(select(Letter).order_by(Letter.received_on)).all()
        assert a.petitioner.name == b.petitioner.name == "Bùi Thị Lan"
        assert a.petitioner.phone == b.petitioner.phone == "0936451278"


def test_bad_files_are_quarantined_with_a_reason_and_the_batch_goes_on(inbox, scans, settings, sessions):
    drop(b"", inbox, "2024-05-14/empty.pdf")
    drop(scans["text-pdf"].read_bytes()[:500], inbox, "2024-05-14/broken.pdf")
    drop(b"\x81\x82\x83\xfe" * 300, inbox, "2024-05-14/garbage.txt")
    drop(b"MZ" + b"\x00" * 100, inbox, "2024-05-14/program.png")
    drop(scans["txt"], inbox, "2024-05-14/good.txt")
    report = ingest(inbox, settings=settings, sessions=sessions)
    assert report.count("stored") == 1 and report.count("quarantined") == 4
    q = inbox / "_quarantine"
    reasons = {p.name: p.read_text(encoding="utf-8") for p in q.glob("*.error.txt")}
    assert set(reasons) == {f"2024-05-14__{n}.error.txt" for n in ["empty.pdf", "broken.pdf", "garbage.txt", "program.png"]}
    assert "Tệp rỗng" in reasons["2024-05-14__empty.pdf.error.txt"]
    assert "damaged or incomplete" in reasons["2024-05-14__broken.pdf.error.txt"]
    assert "UTF-8" in reasons["2024-05-14__garbage.txt.error.txt"]
    assert all("Traceback" not in r for r in reasons.values())
    assert (q / "2024-05-14__empty.pdf").exists()
    assert inbox_files(inbox) == sorted(f"_quarantine/{p.name}" for p in q.iterdir())
    assert count(sessions, IntakeEvent) == 5


def test_crash_mid_batch_then_rerun_stores_everything_exactly_once(tmp_path, inbox, scans, settings):
    names = ["png", "jpeg", "tiff", "image-pdf", "rescan", "tiff-2"]
    for n in names:
        drop(scans[n], inbox, f"2024-05-14/{n}{scans[n].suffix}")
    env = cli_env(settings, PETITIONS_SETTLE_SECONDS="1")
    cmd = [sys.executable, "-m", "petitions.cli", "ingest", str(inbox), "--engine", "local"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from petitions.store import open_database

    deadline = time.time() + 120
    stored = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            stored = count(open_database(settings.database_url), Letter)
        except Exception:  # not created yet
            stored = 0
        if stored >= 1:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 1 <= stored < len(names), "the crash must land in the middle of the batch"
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    sessions = open_database(settings.database_url)
    assert count(sessions, Letter) == len(names)
    assert count(sessions, File) == len(names)
    assert inbox_files(inbox) == []
    archived = [p for p in (settings.data_dir / "archive").rglob("*") if p.is_file()]
    assert len(archived) == len(names) and not any(".tmp" in p.name for p in archived)


def test_analysis_in_worker_processes_gives_the_same_letters(tmp_path, scans, new_db_url):
    """Large batches analyse text in one process per core; the result must not change."""
    from petitions.settings import Settings
    from petitions.store import open_database

    results = []
    for min_letters in (1000, 1):  # in place, then in worker processes
        inbox = tmp_path / f"inbox{min_letters}"
        for n in ["text-pdf", "txt"]:
            drop(scans[n], inbox, f"2024-05-14/{n}{scans[n].suffix}")
        s = Settings(data_dir=tmp_path / f"data{min_letters}", analysis_pool_min_letters=min_letters, ocr_workers=2,
                     db_url=new_db_url())
        sessions = open_database(s.database_url)
        assert ingest(inbox, settings=s, sessions=sessions).count("stored") == 2
        with sessions() as db:
            results.append(sorted((x.text, x.letter_type, x.topic, x.department, x.petitioner.name)
                                  for x in db.scalars(select(Letter))))
    assert results[0] == results[1]
