"""A throw-away PostgreSQL server for the test run: Debian's binaries, a new cluster in a
temporary folder, a free loopback port, trust authentication, stopped at the end."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_owner(cmd: list[str], user: str | None) -> list[str]:
    # initdb and the server refuse to run as root: run them as Debian's `postgres` user.
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


class Server:
    def __init__(self, root: Path):
        bin_ = binaries()
        if bin_ is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package `postgresql`; `make install` installs it)")
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:  # pytest's own temporary folders are closed to other users
            root = Path(tempfile.mkdtemp(prefix="petitions-pg-"))
            shutil.chown(root, self.user)
        root.mkdir(parents=True, exist_ok=True)
        self.root, self.bin, self.data = root, bin_, root / "pgdata"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        run = dict(check=True, capture_output=True, text=True, timeout=120)
        subprocess.run(_as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                                  "-E", "UTF8", "--no-locale"], self.user), **run)
        subprocess.run(_as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(root / "server.log"), "-w", "-o",
                                  f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                                  "start"], self.user), **run)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def stop(self) -> None:
        subprocess.run(_as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"], self.user),
                       capture_output=True, timeout=60)
        if self.user:
            shutil.rmtree(self.root, ignore_errors=True)
