"""The schema is Alembic's: migrations apply on a new database and the head is known."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from petitions.store import SCHEMA_HEAD, alembic_config, current_revision, make_engine, open_database


def test_schema_head_constant_matches_the_migrations(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert ScriptDirectory.from_config(alembic_config(engine)).get_current_head() == SCHEMA_HEAD


def test_new_database_is_migrated_to_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    open_database(url)
    engine = make_engine(url)
    assert current_revision(engine) == SCHEMA_HEAD
    tables = set(inspect(engine).get_table_names())
    assert {"letters", "pages", "petitioners", "files", "cases", "corrections", "intake_events"} <= tables
    open_database(url)  # idempotent


@pytest.mark.parametrize("release", ["0001", "0002"])
def test_a_database_of_every_earlier_release_is_upgraded(release, tmp_path, new_db_url):
    """A database made by an earlier release (its schema, letters without cases) upgrades
    in place, on SQLite and PostgreSQL alike, and the nightly rescan links its letters."""
    from datetime import date, datetime, timezone

    from alembic import command
    from sqlalchemy import text

    from petitions import cases

    url = new_db_url() or f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), release)
    letter = (
        "Kính gửi: UBND xã Yên Lạc\n"
        "Tôi tên là Trần Văn Bình, điện thoại 0912 345 678.\n"
        "Con mương thoát nước ở thôn Đông bị lấp từ tháng 8 năm 2024, gây ngập ruộng lúa của 12 hộ, "
        "nước thải từ xưởng mộc của ông Lại Văn Tư chảy tràn vào ruộng.\n"
        "Đề nghị xã cho nạo vét, khơi thông con mương và buộc xưởng mộc làm bể lắng."
    )
    at = datetime(2025, 1, 2, tzinfo=timezone.utc)
    with engine.begin() as c:
        for i, day in ((1, date(2025, 1, 2)), (2, date(2025, 6, 2))):
            c.execute(text("INSERT INTO files (id, sha256, size, source_name, source_path, archive_path, kind, stored_at) "
                           "VALUES (:i, :sha, 10, 'a.txt', 'a.txt', 'archive/a.txt', 'txt', :at)"), {"i": i, "sha": str(i) * 64, "at": at})
            c.execute(
                text("INSERT INTO letters (id, file_id, received_on, pages, text_source, text, text_normalized, needs_review, "
                     "review_reasons, recurrent, status, created_at, letter_type) VALUES (:id, :f, :d, 1, 'plain-text', :t, :t, "
                     ":no, '[]', :no, 'routed', :at, 'petition')"),
                {"id": f"L-{i}", "f": i, "d": day, "t": letter, "no": False, "at": at},
            )
    sessions = open_database(url)
    assert current_revision(engine) == SCHEMA_HEAD
    with sessions.begin() as s:
        result = cases.rescan(s, cases.Recurrence())
    assert result.letters_changed >= 2 and result.cases == 1
    with sessions() as s:
        rows = s.execute(text("SELECT id, case_id, duplicate_of FROM letters ORDER BY id")).all()
    assert rows[0].case_id == rows[1].case_id and rows[1].duplicate_of == "L-1"
