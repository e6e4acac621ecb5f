"""The command line as a clerk runs it: ingest, export (contract schema), status."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from conftest import cli_env, drop, inbox_files

CONTRACT_FIELDS = {
    "letter_id", "source_name", "sha256", "received_on", "pages", "text_source", "ocr_confidence", "text",
    "letter_type", "topic", "topic_confidence", "department", "needs_review", "review_reasons", "petitioner",
    "letter_date", "case_id", "duplicate_of", "recurrent", "deadline", "overdue", "status",
}


def petitions(*args: str, settings, env_extra: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = cli_env(settings, COLUMNS="160", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "petitions.cli", *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_ingest_export_status(settings, tmp_path, inbox, scans):
    data = tmp_path / "data"
    drop(scans["text-pdf"], inbox, "2024-05-14_sang/don.pdf")
    drop(scans["txt"], inbox, "thu.txt")
    drop(b"", inbox, "2024-05-14_sang/rong.pdf")
    r = petitions("ingest", str(inbox), "--engine", "local", "--received-on", "2024-06-02", settings=settings)
    assert r.returncode == 0, r.stderr
    assert "2 stored, 0 already received, 1 quarantined" in " ".join(r.stdout.split())
    assert "Traceback" not in r.stdout + r.stderr
    assert inbox_files(inbox) == ["_quarantine/2024-05-14_sang__rong.pdf", "_quarantine/2024-05-14_sang__rong.pdf.error.txt"]

    out = petitions("export", "--format", "jsonl", settings=settings)
    assert out.returncode == 0, out.stderr
    recs = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(recs) == 2
    assert all(set(rec) >= CONTRACT_FIELDS for rec in recs)
    by_name = {rec["source_name"]: rec for rec in recs}
    assert by_name["don.pdf"]["received_on"] == "2024-05-14" and by_name["don.pdf"]["text_source"] == "text-layer"
    assert by_name["thu.txt"]["received_on"] == "2024-06-02" and by_name["thu.txt"]["text_source"] == "plain-text"
    assert by_name["thu.txt"]["petitioner"]["name"] == "Bùi Thị Lan"
    assert by_name["don.pdf"]["petitioner"]["phone"] == "0348216905"
    from petitions.routing import DEFAULT, load

    table = load(DEFAULT)
    for rec in recs:  # classified, routed by the table, and either routed or queued with reasons
        assert rec["letter_type"] in {"complaint", "denunciation", "petition"}
        assert rec["topic"] in {"land", "environment", "investment", "other"}
        assert 0 <= rec["topic_confidence"] <= 1
        assert rec["department"] == table.department(rec["letter_type"], rec["topic"])
        assert rec["status"] == ("in_review" if rec["needs_review"] else "routed")
        assert bool(rec["review_reasons"]) == rec["needs_review"]
    # S-10 asks for a land-use certificate: a land petition
    assert (by_name["don.pdf"]["letter_type"], by_name["don.pdf"]["topic"]) == ("petition", "land")

    c = petitions("export", "--format", "csv", settings=settings)
    rows = list(csv.DictReader(io.StringIO(c.stdout)))
    assert len(rows) == 2 and rows[0]["letter_id"].startswith("L-") and "petitioner_name" in rows[0]

    s = petitions("status", settings=settings)
    assert s.returncode == 0 and "2 letters" in s.stdout


def test_classify_one_letter(settings, tmp_path, scans):
    r = petitions("classify", str(scans["text-pdf"]), settings=settings)
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "letter_type petition" in out and "topic land" in out and "weighed by" in out
    r = subprocess.run([sys.executable, "-m", "petitions.cli", "classify", "-"], input="ĐƠN TỐ CÁO\nTôi tố cáo ông Nguyễn Văn A, cán bộ địa chính xã, đã nhận tiền của dân khi làm sổ đỏ. Đề nghị xử lý nghiêm.",
                       capture_output=True, text=True, env=dict(os.environ, PETITIONS_HOME=str(tmp_path)))
    assert "letter_type denunciation" in " ".join(r.stdout.split())


def test_evaluate_json(settings, tmp_path):
    from petitions import train

    held = [r for r in train.corpus() if train.is_heldout(r)][:30]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in held), encoding="utf-8")
    r = petitions("evaluate", str(corpus), "--json", settings=settings)
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    assert figures["n"] == 30 and 0.8 <= figures["type_accuracy"] <= 1 and "topic_confusion" in figures


def test_bad_arguments_are_usage_errors(settings, tmp_path):
    r = petitions("ingest", str(tmp_path / "nowhere"), "--engine", "local", settings=settings)
    assert r.returncode == 2 and "not a folder" in r.stderr
    r = petitions("export", "--as-of", "26/11/2026", settings=settings)
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr


def test_unreachable_database_is_a_clear_error_and_nothing_leaves_the_inbox(settings, tmp_path, inbox, scans):
    drop(scans["txt"], inbox, "thu.txt")
    r = petitions("ingest", str(inbox), "--engine", "local", "--db", "postgresql+psycopg://u:p@127.0.0.1:1/none", settings=settings)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert inbox_files(inbox) == ["thu.txt"]


def test_ingest_as_a_prefect_flow(settings, tmp_path, inbox, scans):
    """The default engine: a real Prefect flow run (temporary server), one task per letter."""
    data = tmp_path / "data"
    drop(scans["txt"], inbox, "2024-05-14/thu.txt")
    drop(scans["png"], inbox, "2024-05-14/scan.png")
    prefect_home = tmp_path / "prefect"
    r = petitions(
        "ingest", str(inbox), settings=settings,
        env_extra={"PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
        timeout=400,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2 stored" in " ".join(r.stdout.split())
    assert inbox_files(inbox) == []
