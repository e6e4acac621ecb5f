"""The review web app: a real headless Chromium driven by Playwright against a real
server, and the security rules checked over HTTP against the same app."""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import drop
from petitions import export
from petitions.pipeline import ingest
from petitions.review import auth
from petitions.review.app import create_app
from petitions.settings import Settings
from petitions.store import Correction, Letter, open_database

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORDS = {"admin": "admin-password-1", "sup": "supervisor-pass-1", "clerk": "clerk-password-1"}


@pytest.fixture(scope="module")
def office(tmp_path_factory, scans, new_db_url):
    """An office database with three real letters (a scanned PNG, a PDF and a .txt), one of
    them waiting for a supervisor, and one account per role."""
    root = tmp_path_factory.mktemp("office")
    settings = Settings(data_dir=root / "data", settle_seconds=1.0, db_url=new_db_url())
    sessions = open_database(settings.database_url)
    inbox = root / "inbox"
    for name in ("png", "image-pdf", "txt"):
        drop(scans[name], inbox, f"2026-11-23/{name}{scans[name].suffix}")
    report = ingest(inbox, settings=settings, sessions=sessions)
    assert report.count("stored") == 3
    with sessions.begin() as s:
        for name, role in (("admin", "admin"), ("sup", "supervisor"), ("clerk", "clerk")):
            auth.add_user(s, name, role, PASSWORDS[name])
        # The scanned letter is the one the model was unsure of.
        letter = s.scalars(select(Letter).where(Letter.text_source == "ocr").order_by(Letter.id)).first()
        letter.needs_review, letter.status, letter.review_reasons = True, "in_review", ["low_topic_confidence"]
        letter.department = "dat-dai"
    return settings, sessions, letter.id


def login(client: TestClient, name: str, password: str | None = None):
    page = client.get("/login")
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"name": name, "password": password or PASSWORDS[name], "token": token, "next": "/queue"},
                       follow_redirects=False)


def csrf_of(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


# --- the browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(office):
    import uvicorn

    settings, sessions, _ = office
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, sessions), host="127.0.0.1", port=port, log_level="warning",
                                        access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make install puts it there)")
def test_supervisor_corrects_a_department_in_the_browser(office, server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    settings, sessions, lid = office
    shots = tmp_path  # the README's screenshots come from docs/make_screenshots.py
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{server}/queue")
        expect(page).to_have_url(re.compile(r"/login"))
        page.fill("#name", "sup")
        page.fill("#password", PASSWORDS["sup"])
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/queue$"))
        row = page.locator("tr.review", has_text=lid)
        expect(row).to_have_count(1)
        page.screenshot(path=str(shots / "queue.png"))
        row.get_by_role("link", name=lid).click()
        expect(page).to_have_url(re.compile(f"/letters/{lid}$"))
        img = page.locator(".scan img").first
        expect(img).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth > 500", arg=img.element_handle())
        page.screenshot(path=str(shots / "letter.png"))
        page.select_option("#department", "thanh-tra")
        page.get_by_role("button", name=re.compile("Lưu, sang thư tiếp")).click()
        page.wait_for_load_state()
        page.goto(f"{server}/queue")
        expect(page.locator("tr.review", has_text=lid)).to_have_count(0)
        page.goto(f"{server}/letters/{lid}/audit")
        audit = page.locator("table")
        expect(audit).to_contain_text("department")
        expect(audit).to_contain_text("dat-dai")
        expect(audit).to_contain_text("thanh-tra")
        expect(audit).to_contain_text("sup")
        browser.close()
    rec = next(r for r in export.records(sessions, date(2026, 11, 27)) if r["letter_id"] == lid)
    assert rec["department"] == "thanh-tra" and rec["needs_review"] is False and rec["status"] == "routed"
    with sessions() as s:
        before = s.scalar(select(Correction.before).where(Correction.letter_id == lid, Correction.field == "department"))
    assert before == "dat-dai"  # the audit keeps the original


# --- security --------------------------------------------------------------------------


@pytest.fixture
def client(office):
    settings, sessions, _ = office
    return TestClient(create_app(settings, sessions))


def test_every_route_refuses_anonymous_requests(client, office):
    lid = office[2]
    for route in client.app.routes:
        if not hasattr(route, "methods") or route.path == "/login":
            continue
        path = (route.path.replace("{lid}", lid).replace("{n}", "0").replace("{cid}", "C-" + lid[2:])
                .replace("{uid}", "1"))
        for method in route.methods - {"HEAD"}:
            r = client.request(method, path, follow_redirects=False)
            if method == "GET":
                assert r.status_code == 303 and r.headers["location"].startswith("/login"), (method, path)
            else:
                assert r.status_code == 403, (method, path)
            assert "Nguyễn" not in r.text


def test_a_clerk_reads_but_cannot_correct(client, office):
    lid = office[2]
    assert login(client, "clerk").status_code == 303
    page = client.get(f"/letters/{lid}")
    assert page.status_code == 200 and "/correct" not in page.text
    token = csrf_of(client, "/queue")
    r = client.post(f"/letters/{lid}/correct", data={"department": "moi-truong", "csrf": token}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/admin/users").status_code == 403
    with office[1]() as s:
        assert s.get(Letter, lid).department != "moi-truong"


def test_a_post_without_a_valid_csrf_token_is_refused(client, office):
    lid = office[2]
    login(client, "sup")
    for data in ({"department": "moi-truong"}, {"department": "moi-truong", "csrf": "forged"}):
        r = client.post(f"/letters/{lid}/correct", data=data, follow_redirects=False)
        assert r.status_code == 403
    with office[1]() as s:
        assert s.get(Letter, lid).department != "moi-truong"
    token = csrf_of(client, "/queue")
    ok = client.post(f"/letters/{lid}/confirm", data={"csrf": token}, follow_redirects=False)
    assert ok.status_code == 303


def test_scans_are_served_by_letter_id_only(client, office):
    lid = office[2]
    login(client, "clerk")
    good = client.get(f"/letters/{lid}/pages/0")
    assert good.status_code == 200 and good.headers["content-type"] == "image/jpeg" and len(good.content) > 10_000
    for path in (f"/letters/{lid}/pages/7", "/letters/L-0000000000000000/pages/0", "/letters/../../etc/passwd/pages/0",
                 f"/letters/{lid}/pages/..%2F..%2Fpetitions.sqlite3", "/letters/%2E%2E%2Fdata/pages/0"):
        assert client.get(path).status_code == 404, path


def test_ten_wrong_passwords_are_throttled(client):
    codes = [login(client, "admin", "wrong-password").status_code for _ in range(10)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    # Even the right password is refused until the window passes.
    assert login(client, "admin").status_code == 429


def test_session_cookie_flags(office):
    settings, sessions, _ = office
    https = TestClient(create_app(settings, sessions), base_url="https://testserver")
    r = login(https, "clerk")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    assert https.get("/queue").headers["x-frame-options"] == "DENY"
    out = https.post("/logout", data={"csrf": csrf_of(https, "/queue")}, follow_redirects=False)
    assert out.status_code == 303 and https.get("/queue", follow_redirects=False).status_code == 303


def test_no_personal_data_in_logs(client, office, caplog):
    settings, sessions, lid = office
    with sessions() as s:
        p = s.get(Letter, lid).petitioner
        name, idn = p.name, p.id_number
    caplog.set_level(logging.DEBUG)
    login(client, "sup")
    client.get("/queue", params={"q": name})
    client.get("/queue", params={"q": idn or "001"})
    token = csrf_of(client, f"/letters/{lid}")
    client.post(f"/letters/{lid}/correct", data={"name": name + " Sửa", "csrf": token}, follow_redirects=False)
    login(client, name, "wrong")  # a name typed in the user field
    logged = caplog.text + ((settings.data_dir / "petitions.log").read_text(encoding="utf-8")
                            if (settings.data_dir / "petitions.log").exists() else "")
    assert name and name not in logged
    assert not idn or idn not in logged
    assert "corrected by user" in logged  # the app does log what happened, by ids


def test_a_supervisor_splits_a_letter_into_a_new_case_and_moves_it_back(client, office):
    settings, sessions, lid = office
    with sessions() as s:
        old_case = s.get(Letter, lid).case_id
        others = [l.id for l in s.scalars(select(Letter).where(Letter.case_id == old_case, Letter.id != lid))]
    assert others, "the three copies of one sample letter share a case"
    login(client, "sup")
    token = csrf_of(client, f"/letters/{lid}")
    r = client.post(f"/letters/{lid}/move", data={"case_id": "", "csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    with sessions() as s:
        letter = s.get(Letter, lid)
        new_case = letter.case_id
        assert new_case != old_case and letter.duplicate_of is None
        first = s.get(Letter, others[0])
        assert first.case_id == old_case
        moved = s.scalar(select(Correction).where(Correction.letter_id == lid, Correction.field == "case_id"))
        assert (moved.before, moved.after, moved.user) == (old_case, new_case, "sup")
    r = client.post(f"/letters/{lid}/move", data={"case_id": old_case, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    with sessions() as s:
        assert s.get(Letter, lid).case_id == old_case
    bad = client.post(f"/letters/{lid}/move", data={"case_id": "../../etc", "csrf": token}, follow_redirects=False)
    assert bad.status_code == 303 and "error=" in bad.headers["location"]
