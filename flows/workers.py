"""Deploy the flows to a Prefect work pool, for an office with several machines.

    PREFECT_API_URL=http://server:4200/api .venv/bin/python -m flows.workers POOL [SOURCE]

Every machine has this repository installed at the same path (SOURCE, default: this
checkout) and runs `prefect worker start --pool POOL`; flow runs of the `ingest` and
`nightly` deployments go to whichever worker is free. Each run is given the inbox, the
shared data directory and the product's PostgreSQL URL as parameters (README, "Several
machines").
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def deploy(pool: str, source: Path = ROOT) -> list[str]:
    from flows.ingest import ingest_flow
    from flows.nightly import nightly_flow

    ids = []
    for flow_, entry, name in ((ingest_flow, "flows/ingest.py:ingest_flow", "ingest"),
                               (nightly_flow, "flows/nightly.py:nightly_flow", "nightly")):
        remote = flow_.from_source(source=str(source), entrypoint=entry)
        ids.append(str(remote.deploy(name=name, work_pool_name=pool, print_next_steps=False, ignore_warnings=True)))
    return ids


if __name__ == "__main__":
    print(deploy(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT))
