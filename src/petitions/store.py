"""The database: SQLAlchemy 2 models, engine set-up and Alembic migrations.

SQLite in the data directory is the embedded default; any SQLAlchemy URL works (PostgreSQL
for an office that outgrows one machine). The schema is only ever changed by migrations
in `migrations/versions`, applied at start-up by `open_database`.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    BigInteger,
    PrimaryKeyConstraint,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from .errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. Checked against the migrations folder by the tests, so that a
# command on an up-to-date database needs no Alembic import (about a second here).
SCHEMA_HEAD = "0003"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class File(Base):
    """An original file as dropped; its bytes live in the archive under their sha256."""

    __tablename__ = "files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(String(512))
    source_path: Mapped[str] = mapped_column(String(1024))  # relative to the inbox
    archive_path: Mapped[str] = mapped_column(String(512))  # relative to the data directory
    kind: Mapped[str] = mapped_column(String(8))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Petitioner(Base):
    __tablename__ = "petitioners"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    organization: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(500))
    province: Mapped[str | None] = mapped_column(String(64))
    province_written: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    id_number: Mapped[str | None] = mapped_column(String(16), index=True)


class Case(Base):
    """All letters of one petitioner about one matter; kept up to date as letters arrive."""

    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_on: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    first_letter: Mapped[str | None] = mapped_column(String(32))
    letters: Mapped[int] = mapped_column(Integer, default=0)
    first_received: Mapped[date | None] = mapped_column(Date)
    last_received: Mapped[date | None] = mapped_column(Date, index=True)
    addressees: Mapped[list] = mapped_column(JSON, default=list)  # in order of first appearance
    recurrent: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class IndexProfile(Base):
    """What case linking compares about one letter (cases.Profile), kept apart from the
    letter so that a candidate costs one narrow row."""

    __tablename__ = "index_profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    letter_id: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    name: Mapped[str | None] = mapped_column(String(200))
    organization: Mapped[str | None] = mapped_column(String(300))
    id_number: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(500))
    relatives: Mapped[str | None] = mapped_column(String(500))
    features: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class IndexKey(Base):
    """The persisted candidate index: petitioner keys and content LSH bands, hashed."""

    __tablename__ = "index_keys"
    key: Mapped[int] = mapped_column(BigInteger)
    profile_id: Mapped[int] = mapped_column(Integer)
    __table_args__ = (PrimaryKeyConstraint("key", "profile_id"),)


class Letter(Base):
    __tablename__ = "letters"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), unique=True)
    petitioner_id: Mapped[int | None] = mapped_column(ForeignKey("petitioners.id"))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    pages: Mapped[int] = mapped_column(Integer)
    text_source: Mapped[str] = mapped_column(String(16))
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    text_normalized: Mapped[str] = mapped_column(Text)
    letter_date: Mapped[date | None] = mapped_column(Date)
    addressee: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str | None] = mapped_column(String(300))
    letter_type: Mapped[str | None] = mapped_column(String(16))
    topic: Mapped[str | None] = mapped_column(String(16))
    topic_confidence: Mapped[float | None] = mapped_column(Float)
    type_confidence: Mapped[float | None] = mapped_column(Float)
    department: Mapped[str | None] = mapped_column(String(32), index=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    review_reasons: Mapped[list] = mapped_column(JSON, default=list)
    duplicate_of: Mapped[str | None] = mapped_column(String(32))
    recurrent: Mapped[bool] = mapped_column(Boolean, default=False)
    collective: Mapped[bool] = mapped_column(Boolean, default=False)  # signed by many (đơn đông người)
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="received")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def overdue(self, as_of: date) -> bool:
        """Past its deadline on `as_of` with nobody having answered: resolved cases never are."""
        resolved = self.status == "resolved" or (self.case is not None and self.case.resolved_on is not None)
        return bool(self.deadline and self.deadline < as_of and not resolved)

    file: Mapped[File] = relationship()
    petitioner: Mapped[Petitioner | None] = relationship()
    case: Mapped[Case | None] = relationship()
    page_rows: Mapped[list["Page"]] = relationship(order_by="Page.index", cascade="all, delete-orphan")


class Page(Base):
    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    letter_id: Mapped[str] = mapped_column(ForeignKey("letters.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    words: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)


class Correction(Base):
    """A supervisor's change to a letter: who, when, what before, what after."""

    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    letter_id: Mapped[str] = mapped_column(ForeignKey("letters.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    user: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """Someone who may log in to the review app; the role decides what they may do."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # clerk | supervisor | admin
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebSession(Base):
    """A logged-in browser: only the token's hash is stored, so a copy of the database
    cannot be used to log in."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ModelRecord(Base):
    """The model registry: every trained model, the data it saw, its measured figures,
    and which one is in use (status `active`; the previous ones stay for rollback)."""

    __tablename__ = "model_registry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    data_sha256: Mapped[str | None] = mapped_column(String(64))
    n_corrections: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | previous | candidate | rejected
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class IntakeEvent(Base):
    """What happened to each file that left the inbox: a clerk can always find a file."""

    __tablename__ = "intake_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source_path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # stored | duplicate | quarantined
    letter_id: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError) as e:
            if "alembic_version" not in str(e):
                raise
            return None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is already there).

    Two commands started at once on a new database must not both migrate it: the upgrade
    runs under a lock (a lock file beside a SQLite database, an advisory lock on
    PostgreSQL) and the revision is read again once the lock is held."""
    if current_revision(engine) == SCHEMA_HEAD:
        return
    from alembic import command

    with _migration_lock(engine):
        if current_revision(engine) != SCHEMA_HEAD:
            command.upgrade(alembic_config(engine), "head")


@contextmanager
def _migration_lock(engine: Engine):
    if engine.dialect.name == "sqlite" and engine.url.database:
        import fcntl

        with open(f"{engine.url.database}.migrate-lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(784512)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(784512)"))
                conn.commit()
    else:
        yield


def open_database(url: str) -> sessionmaker:
    try:
        engine = make_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as e:
        raise DatabaseUnavailable(
            f"The database URL {url.split('@')[-1]!r} is not usable ({e}). "
            "Use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB."
        ) from None
    try:
        migrate(engine)
    except OperationalError as e:
        raise DatabaseUnavailable(
            f"Cannot reach the database ({engine.url.render_as_string(hide_password=True)}): {e.orig}. "
            "Check that the server is running and the URL in --db / PETITIONS_DB_URL is right."
        ) from None
    return sessionmaker(engine, expire_on_commit=False)
