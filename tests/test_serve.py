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


def test_two_prefect_workers_share_one_inbox(prefect_server, tmp_path, scans, letters, new_db_url):
    """A process work pool, two `prefect worker start` processes (two machines in an office),
    two ingest runs at once on one inbox, database and archive: each file stored once."""
    api = prefect_server
    inbox, data = tmp_path / "inbox", tmp_path / "data"
    db_url = new_db_url() or f"sqlite:///{data / 'petitions.sqlite3'}"
    names = []
    for n in ("png", "jpeg", "tiff", "txt"):
        names.append(f"2024-05-14/{n}{scans[n].suffix}")
        drop(scans[n], inbox, names[-1])
    for i, sid in enumerate(["S-01", "S-02", "S-03", "S-04"]):
        names.append(f"2024-05-15/thu-{i}.txt")
        drop(letters[sid]["text"].encode(), inbox, names[-1])
    open_database(db_url)
    env = dict(os.environ, PREFECT_API_URL=api, PREFECT_HOME=str(tmp_path / "prefect-client"),
               PETITIONS_SETTLE_SECONDS="0", PETITIONS_OCR_WORKERS="1")
    pool = "office-test"
    subprocess.run([str(BIN / "prefect"), "work-pool", "create", pool, "--type", "process"], env=env, check=True,
                   capture_output=True, timeout=120)
    subprocess.run([sys.executable, "-m", "flows.workers", pool], env=env, check=True, capture_output=True, timeout=180,
                   cwd=Path(__file__).resolve().parents[1])
    logs = [(tmp_path / f"worker{i}.log").open("w") for i in range(2)]
    workers = [subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", pool, "--name", f"machine-{i}"],
                                env=env, stdout=logs[i], stderr=subprocess.STDOUT) for i in range(2)]
    try:
        deps = httpx.post(f"{api}/deployments/filter", json={"deployments": {"name": {"any_": ["ingest"]}}}, timeout=5).json()
        dep = next(d for d in deps if d["work_pool_name"] == pool)
        params = {"inbox": str(inbox), "data_dir": str(data), "db_url": db_url}
        runs = [httpx.post(f"{api}/deployments/{dep['id']}/create_flow_run", json={"parameters": params}, timeout=10).json()["id"]
                for _ in range(2)]

        def finished():
            got = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"id": {"any_": runs}}}, timeout=5).json()
            states = [r["state_type"] for r in got]
            assert not {"FAILED", "CRASHED"} & set(states), states
            return states if states.count("COMPLETED") == 2 else None

        wait_for("both flow runs", finished, 420, workers)
        got = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"id": {"any_": runs}}}, timeout=5).json()
        assert {r["state_type"] for r in got} == {"COMPLETED"}
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
        for f in logs:
            f.close()
    from petitions.store import File, IntakeEvent

    with open_database(db_url)() as s:
        stored = [e.source_path for e in s.scalars(select(IntakeEvent).where(IntakeEvent.outcome == "stored"))]
        assert sorted(stored) == sorted(names)
        assert s.scalar(select(func.count()).select_from(File)) == len(names)
    assert not [p for p in inbox.rglob("*") if p.is_file()]
