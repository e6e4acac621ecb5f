"""The schema is Alembic's: migrations apply on a new database and the head is known."""

from __future__ import annotations

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
