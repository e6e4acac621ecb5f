"""Screenshots of the review app for the README, on the sample inbox, at 1366x768.

    .venv/bin/python docs/make_screenshots.py

Reads samples/inbox into a temporary data directory, adds a supervisor, serves the app
on a free local port and photographs the queue and the first letter that needs review
with Debian's chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from petitions.pipeline import ingest
from petitions.review import auth
from petitions.review.app import create_app
from petitions.settings import Settings
from petitions.store import Letter, open_database

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="shots-"))
    inbox = tmp / "inbox"
    shutil.copytree(ROOT / "samples" / "inbox", inbox)
    old = time.time() - 120
    for p in inbox.rglob("*"):
        os.utime(p, (old, old))
    settings = Settings(data_dir=tmp / "data")
    sessions = open_database(settings.database_url)
    ingest(inbox, settings=settings, sessions=sessions)
    with sessions.begin() as s:
        auth.add_user(s, "lan", "supervisor", "screenshot-pass")
        lid = s.scalar(select(Letter.id).where(Letter.needs_review.is_(True)).order_by(Letter.received_on))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, sessions), port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="vi-VN")
        page.goto(f"http://127.0.0.1:{port}/login")
        page.fill("#name", "lan")
        page.fill("#password", "screenshot-pass")
        page.keyboard.press("Enter")
        page.wait_for_url("**/queue")
        page.screenshot(path=str(out / "queue.png"))
        page.goto(f"http://127.0.0.1:{port}/letters/{lid}")
        page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        page.screenshot(path=str(out / "letter.png"))
        browser.close()
    server.should_exit = True
    print(f"wrote {out}/queue.png and letter.png")


if __name__ == "__main__":
    main()
