"""Shared fixtures: real scans rendered from the sample letters, a real database.

The database is a SQLite file per test; with PETITIONS_TEST_DB=postgresql (the second
pass of `make test`) it is a new database per test on a throw-away PostgreSQL server."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "samples"))
import make_samples  # noqa: E402

from petitions.settings import Settings  # noqa: E402
from petitions.store import open_database  # noqa: E402

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A temporary Prefect server takes 16-40 s to start on 2 cores under load (as in cli.py).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
ON_POSTGRES = os.environ.get("PETITIONS_TEST_DB") == "postgresql"
# The in-process temporary Prefect server logs once more at exit, after pytest has closed
# its output: that message is not worth a traceback on the console.
logging.raiseExceptions = False


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    if not ON_POSTGRES:
        yield None
        return
    import pg

    server = pg.Server(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def new_db_url(pg_server):
    """A fresh database URL (PostgreSQL), or None: the SQLite file in the data directory."""
    return pg_server.new_database if pg_server else (lambda: None)


def pytest_report_header(config):
    return f"database: {'PostgreSQL (throw-away server)' if ON_POSTGRES else 'SQLite'}"


@pytest.fixture(scope="session")
def letters() -> dict[str, dict]:
    rows = [json.loads(line) for line in (ROOT / "samples" / "letters.jsonl").read_text(encoding="utf-8").splitlines()]
    return {r["id"]: r for r in rows}


@pytest.fixture(scope="session")
def scans(tmp_path_factory, letters) -> dict[str, Path]:
    """One real file per format, rendered once per session."""
    d = tmp_path_factory.mktemp("scans")
    short, other = letters["S-16"]["text"], letters["S-10"]["text"]
    out = {}
    deg = make_samples.Degrade(dpi=300, rotate=1.0, blur=0.4, tint=True)
    pages = make_samples.scan(short, deg, seed=1)
    for name, save in [("png", make_samples.save_png), ("jpeg", make_samples.save_jpeg), ("tiff", make_samples.save_tiff),
                       ("image-pdf", make_samples.save_image_pdf)]:
        out[name] = d / f"short.{ {'jpeg': 'jpg', 'image-pdf': 'pdf'}.get(name, name) }"
        save(pages, out[name], deg.dpi)
    # A rescan of the same page: other scanner, other bytes.
    rescan = make_samples.scan(short, make_samples.Degrade(dpi=200, rotate=-1.5, jpeg_quality=60), seed=2)
    out["rescan"] = d / "short-rescan.jpg"
    make_samples.save_jpeg(rescan, out["rescan"], 200)
    # Two pages in one TIFF.
    two = make_samples.scan(other, make_samples.Degrade(dpi=200), seed=3)[:1] + pages
    out["tiff-2"] = d / "two.tif"
    make_samples.save_tiff(two, out["tiff-2"], 200)
    out["text-pdf"] = d / "text.pdf"
    make_samples.save_text_pdf(other, out["text-pdf"])
    out["txt"] = d / "letter.txt"
    out["txt"].write_text(short, encoding="utf-8")
    return out


@pytest.fixture
def settings(tmp_path, new_db_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", settle_seconds=2.0, db_url=new_db_url())


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `petitions` command on this test's data directory and database."""
    env = dict(os.environ, PETITIONS_HOME=str(settings.data_dir))
    if settings.db_url:
        env["PETITIONS_DB_URL"] = settings.db_url
    return env | extra


@pytest.fixture
def sessions(settings):
    return open_database(settings.database_url)


@pytest.fixture
def inbox(tmp_path) -> Path:
    p = tmp_path / "inbox"
    p.mkdir()
    return p


def drop(src: Path | bytes, inbox: Path, rel: str, age: float = 60.0) -> Path:
    """Put a file in the inbox as a scanner would, finished `age` seconds ago."""
    dest = inbox / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(src, bytes):
        dest.write_bytes(src)
    else:
        shutil.copyfile(src, dest)
    t = time.time() - age
    os.utime(dest, (t, t))
    return dest


def inbox_files(inbox: Path) -> list[str]:
    return sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file() or p.is_symlink())


TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: precomposed base letters, combining tone marks."""
    import unicodedata

    out = []
    for ch in text:
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        d = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in d if c not in TONES))
        out.append((base + "".join(c for c in d if c in TONES)).encode("cp1258"))
    return b"".join(out)
