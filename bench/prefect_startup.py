"""Fixed cost of one `petitions ingest` on an empty inbox, three ways, in one run:

- `--engine local`: the same pipeline without Prefect;
- `--engine prefect` with no server configured: Prefect starts a temporary server;
- `--engine prefect` against a long-lived `prefect server start` (PREFECT_API_URL).

    .venv/bin/python bench/prefect_startup.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(env: dict, inbox: Path, engine: str) -> float:
    t0 = time.perf_counter()
    r = subprocess.run([str(BIN / "petitions"), "ingest", str(inbox), "--engine", engine], env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(r.stderr[-2000:])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pfstart-"))
    inbox = tmp / "inbox"
    inbox.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base.update(PETITIONS_HOME=str(tmp / "data"), PREFECT_HOME=str(tmp / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    results = {}
    results["local engine"] = [timed(base, inbox, "local") for _ in range(args.repeat)]
    results["prefect, temporary server"] = [timed(base, inbox, "prefect") for _ in range(args.repeat)]
    port = free_port()
    server_env = dict(base, PREFECT_HOME=str(tmp / "prefect-server"))
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/api"
        for _ in range(240):
            try:
                urllib.request.urlopen(url + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        client = dict(base, PREFECT_API_URL=url)
        results["prefect, running server"] = [timed(client, inbox, "prefect") for _ in range(args.repeat)]
    finally:
        server.terminate()
        server.wait(30)
    print("| `petitions ingest` on an empty inbox | median s | runs |\n|---|---|---|")
    for k, v in results.items():
        print(f"| {k} | {statistics.median(v):.1f} | {', '.join(f'{x:.1f}' for x in v)} |")


if __name__ == "__main__":
    main()
