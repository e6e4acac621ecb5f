"""Letters read on a Dask cluster (a local one of two worker processes here; in an office,
`PETITIONS_DASK_ADDRESS=tcp://scheduler:8786`), through the Prefect flow."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conftest import drop, inbox_files
from petitions.store import Letter, open_database

pytestmark = pytest.mark.slow


def test_ingest_flow_on_a_local_dask_cluster(inbox, scans, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    from flows.ingest import run, task_runner

    for n in ("png", "txt", "text-pdf"):
        drop(scans[n], inbox, f"2024-05-14/{n}{scans[n].suffix}")
    s = settings.model_copy(update={"dask_address": "local", "ocr_workers": 2})
    assert type(task_runner(s)).__name__ == "DaskTaskRunner"
    report = run(inbox, s, None)
    assert report.count("stored") == 3 and report.count("quarantined") == 0
    assert inbox_files(inbox) == []
    with open_database(s.database_url)() as db:
        got = {l.file.source_name: (l.text_source, l.letter_type) for l in db.scalars(select(Letter))}
    assert got["png.png"][0] == "ocr" and got["txt.txt"][0] == "plain-text" and got["text-pdf.pdf"][0] == "text-layer"
