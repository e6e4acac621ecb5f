"""`petitions serve` against a real Prefect server started here: the nightly deployment is
scheduled for 01:00 in Vietnam, and the polling deployment picks up a new batch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from petitions.store import Letter, open_database

from conftest import drop

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, procs=()):
    end = time.time() + timeout
    while time.time() < end:
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"{p.args[:3]} exited with {p.returncode} while waiting for {what}")
        try:
            if (result := check()):
                return result
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = dict(
        os.environ,
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
        PREFECT_UI_ENABLED="false",
    )
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_for("the Prefect server", lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, 180, [proc])
        yield api
    finally:
        proc.terminate()
        proc.wait(30)


def test_serve_schedules_the_nightly_run_and_polls_the_inbox(prefect_server, tmp_path, scans, new_db_url):
    api = prefect_server
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = tmp_path / "data"
    db_url = new_db_url() or f"sqlite:///{data / 'petitions.sqlite3'}"
    env = dict(
        os.environ,
        PREFECT_API_URL=api,
        PREFECT_HOME=str(tmp_path / "prefect-client"),
        PETITIONS_HOME=str(data),
        PETITIONS_DB_URL=db_url,
        PETITIONS_POLL_SCHEDULE="20",  # seconds, instead of every 15 minutes in office hours
        PETITIONS_SETTLE_SECONDS="1",
    )
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([str(BIN / "petitions"), "serve", str(inbox)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def deployments():
            rows = httpx.post(f"{api}/deployments/filter", json={}, timeout=5).json()
            names = {d["name"]: d["id"] for d in rows}
            return names if {"nightly", "office-hours"} <= set(names) else None

        ids = wait_for("the deployments", deployments, 120, [proc])

        def next_nightly():
            runs = httpx.post(
                f"{api}/flow_runs/filter",
                json={"deployments": {"id": {"any_": [ids["nightly"]]}},
                      "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                      "sort": "EXPECTED_START_TIME_ASC", "limit": 3},
                timeout=5,
            ).json()
            return runs or None

        runs = wait_for("a scheduled nightly run", next_nightly, 60, [proc])
        start = datetime.fromisoformat(runs[0]["expected_start_time"].replace("Z", "+00:00"))
        local = start.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        assert (local.hour, local.minute) == (1, 0), f"nightly run at {local}, not 01:00 in Vietnam"
        assert start.utcoffset() is not None and start.astimezone(ZoneInfo("UTC")).hour == 18  # 01:00 +07 = 18:00 UTC
        assert 0 < (start - datetime.now(start.tzinfo)).total_seconds() <= 24 * 3600

        # A batch dropped while the server runs is picked up by the polling deployment.
        drop(scans["txt"], inbox, "2026-11-27_sang/letter.txt")

        def stored():
            if db_url.startswith("sqlite") and not (data / "petitions.sqlite3").exists():
                return False
            with open_database(db_url)() as s:
                return s.scalar(select(func.count()).select_from(Letter)) == 1

        wait_for("the polling run to store the letter", stored, 240, [proc])
        assert not (inbox / "2026-11-27_sang" / "letter.txt").exists()
        def completed():
            return httpx.post(
                f"{api}/flow_runs/filter",
                json={"deployments": {"id": {"any_": [ids["office-hours"]]}},
                      "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}},
                timeout=5,
            ).json()

        wait_for("the office-hours run to complete", completed, 60, [proc])
        arts = httpx.post(f"{api}/artifacts/filter", json={}, timeout=5).json()
        assert {"ingest-outcomes", "ingest-summary"} <= {a["key"] for a in arts}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
