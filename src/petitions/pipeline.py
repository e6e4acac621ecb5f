"""The whole story of one ingest, over the stage functions.

    scan the inbox -> for each file: hash, skip what is already stored ->
    read pages (text layer or OCR, in parallel) -> clean text -> extract fields ->
    classify type and topic -> route by the table, or queue for review ->
    archive the original, store the letter with its case link and legal deadline in one
    transaction -> remove it from the inbox (or quarantine it with a reason) -> report.

Reading runs in parallel (it is where the time goes); storing runs in inbox order, one
letter per transaction, so a crash at any point loses nothing and a rerun stores nothing
twice. The Prefect flow (flows/ingest.py) runs this same function with Prefect tasks as
the reader.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import sessionmaker

from . import analysis, cases, classify, deadlines, errors, intake, read, registry, routing, tesseract, train
from .extract import Fields
from .settings import Settings
from .store import File, IntakeEvent, Letter, Page, Petitioner

log = logging.getLogger("petitions.ingest")

Status = Literal["stored", "duplicate", "quarantined"]
# Files are claimed, read and stored in chunks of this many: each claim holds an open file.
CHUNK = 200
# Worker processes for the CPU-bound analysis of a large batch (see analysis.py); set by
# `ingest` for the duration of a run, read by `read_stage` in whatever thread runs it.
_ANALYSIS_POOL = None


@dataclass(frozen=True)
class Draft:
    """Everything read from one file, before it touches the database."""

    kind: str
    pages: list[read.PageText]
    text: str
    text_normalized: str
    fields: Fields
    text_source: str
    ocr_confidence: float | None
    prediction: classify.Prediction | None
    profile: cases.Profile


@dataclass(frozen=True)
class Rules:
    """The administrator's tables, read once per run and checked before any letter."""

    routing: routing.RoutingTable
    deadlines: deadlines.DeadlineTable
    recurrence: cases.Recurrence

    @classmethod
    def current(cls, settings: Settings) -> Rules:
        return cls(
            routing.current(settings),
            deadlines.current(settings),
            cases.Recurrence(settings.recurrence_min_letters, settings.recurrence_span_days),
        )


@dataclass(frozen=True)
class Failure:
    error: errors.LetterError


@dataclass(frozen=True)
class Outcome:
    rel: str
    status: Status
    letter_id: str | None = None
    reason: str | None = None
    message: str | None = None
    pages: int = 0
    received_on: date | None = None


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[intake.Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.outcomes)


class ReadFuture(Protocol):
    def result(self) -> Draft | Failure: ...


Submit = Callable[[Path], ReadFuture]


def letter_id(sha: str) -> str:
    """Stable: the same bytes always get the same id."""
    return f"L-{sha[:16]}"


# --- stages -------------------------------------------------------------------------


def read_stage(path: Path, settings: Settings) -> Draft | Failure:
    """Read, clean, extract and classify one file. Never raises for a bad file: returns a Failure."""
    try:
        if path.is_symlink() or not path.is_file():
            raise errors.NotAFile()
        result = read.read_letter(path, settings)
        a = _analyse(result.raw_text, result.text_source != "plain-text", settings)
        return Draft(
            kind=result.kind,
            pages=result.pages,
            text=a.text,
            text_normalized=a.text_normalized,
            fields=a.fields,
            text_source=result.text_source,
            ocr_confidence=result.ocr_confidence,
            prediction=a.prediction,
            profile=a.profile,
        )
    except errors.LetterError as e:
        return Failure(e)
    except MemoryError:
        return Failure(errors.ImageTooLarge("out of memory while reading"))
    except Exception as e:  # a bug of ours must not stop the batch or lose the file
        log.error("unexpected error reading %s:\n%s", path.name, traceback.format_exc())
        return Failure(
            errors.LetterError(
                f"{type(e).__name__}",
                vi="Lỗi không mong đợi khi đọc tệp; hãy báo cho quản trị viên (chi tiết trong nhật ký).",
                en="Unexpected error while reading the file; tell the administrator (details in the log).",
            )
        )


def _analyse(raw_text: str, page_wrapped: bool, settings: Settings) -> analysis.Analysis:
    workers = _ANALYSIS_POOL
    if workers is not None:
        try:
            return workers.submit(analysis.analyse, raw_text, page_wrapped, settings).result()
        except BrokenProcessPool:  # a worker died (killed, out of memory): do it here instead
            log.warning("analysis worker pool broken; analysing in the main process")
    return analysis.analyse(raw_text, page_wrapped, settings)


def route_stage(draft: Draft, table: routing.RoutingTable, settings: Settings) -> routing.Decision:
    p = draft.prediction
    try:
        threshold = train.load_cached(settings.models_dir).threshold
    except errors.PetitionsError:
        threshold = 1.0
    return routing.decide(
        p.type_probs if p else None,
        p.topic_probs if p else None,
        table,
        threshold=threshold,
        ocr_confidence=draft.ocr_confidence,
        ocr_low=settings.ocr_low_confidence,
        text_letters=sum(ch.isalpha() for ch in draft.text),
    )


def store_stage(
    item: intake.InboxItem, sha: str, draft: Draft, decision: routing.Decision, rules: Rules, sessions: sessionmaker, settings: Settings
) -> Outcome:
    """Archive the original, then store the letter with its case link and deadline in one
    transaction, then free the inbox."""
    archive_rel = intake.archive(item.path, sha, draft.kind, settings.data_dir)
    lid = letter_id(sha)
    f = draft.fields
    p = draft.prediction
    try:
        with sessions.begin() as s:
            file = File(
                sha256=sha,
                size=item.path.stat().st_size,
                source_name=item.path.name,
                source_path=item.rel,
                archive_path=archive_rel,
                kind=draft.kind,
            )
            petitioner = Petitioner(
                name=f.name,
                organization=f.organization,
                address=f.address,
                province=f.province,
                province_written=f.province_written,
                phone=f.phone,
                id_number=f.id_number,
            )
            s.add_all([file, petitioner])
            s.flush()
            link = cases.link(s, lid, item.received_on, draft.profile, f.addressee, rules.recurrence)
            letter_type = p.letter_type if p else None
            letter = Letter(
                id=lid,
                file_id=file.id,
                petitioner_id=petitioner.id,
                case_id=link.case_id,
                duplicate_of=link.duplicate_of,
                recurrent=link.recurrent,
                collective=f.collective,
                deadline=rules.deadlines.deadline(letter_type, item.received_on),
                received_on=item.received_on,
                pages=len(draft.pages),
                text_source=draft.text_source,
                ocr_confidence=draft.ocr_confidence,
                text=draft.text,
                text_normalized=draft.text_normalized,
                letter_date=f.letter_date,
                addressee=f.addressee,
                title=f.title,
                letter_type=letter_type,
                type_confidence=round(p.type_confidence, 4) if p else None,
                topic=p.topic if p else None,
                topic_confidence=round(p.topic_confidence, 4) if p else None,
                department=decision.department,
                needs_review=decision.needs_review,
                review_reasons=decision.reasons,
                status="in_review" if decision.needs_review else "routed",
            )
            letter.page_rows = [
                Page(index=p.index, source=p.source, confidence=p.confidence, words=p.words, text=p.text)
                for p in draft.pages
            ]
            s.add(letter)
            s.add(IntakeEvent(source_path=item.rel, sha256=sha, outcome="stored", letter_id=lid))
    except IntegrityError:
        # Another process stored the same bytes between our check and our insert.
        return duplicate_stage(item, sha, sessions)
    except OperationalError as e:
        raise database_error(e) from None
    intake.remove_from_inbox(item)
    return Outcome(item.rel, "stored", lid, pages=len(draft.pages), received_on=item.received_on)


def database_error(e: OperationalError) -> errors.FatalError:
    if "disk is full" in str(e.orig) or "No space left" in str(e.orig):
        return errors.StorageFull("The disk of the database is full: free some space, then run again.")
    return errors.DatabaseUnavailable(
        f"The database stopped answering ({str(e.orig).strip()[:200]}). Check that it is running and reachable, "
        "then run again: files not yet stored are still in the inbox."
    )


def find_stored(sessions: sessionmaker, sha: str) -> tuple[str, date] | None:
    with sessions() as s:
        row = s.execute(
            select(Letter.id, Letter.received_on).join(File, Letter.file_id == File.id).where(File.sha256 == sha)
        ).first()
    return (row[0], row[1]) if row else None


def duplicate_stage(item: intake.InboxItem, sha: str, sessions: sessionmaker) -> Outcome:
    found = find_stored(sessions, sha)
    assert found is not None
    lid, received = found
    with sessions.begin() as s:
        s.add(IntakeEvent(source_path=item.rel, sha256=sha, outcome="duplicate", letter_id=lid))
    intake.remove_from_inbox(item)  # the same bytes are already in the archive
    msg = f"đã nhận ngày {received:%d/%m/%Y}, thư {lid} / already received on {received.isoformat()} as letter {lid}"
    return Outcome(item.rel, "duplicate", lid, reason="already-received", message=msg, received_on=received)


def quarantine_stage(item: intake.InboxItem, inbox: Path, error: errors.LetterError, sha: str | None, sessions: sessionmaker) -> Outcome:
    intake.quarantine(item, inbox, error)
    with sessions.begin() as s:
        s.add(
            IntakeEvent(source_path=item.rel, sha256=sha, outcome="quarantined", reason=error.code, message=error.en)
        )
    return Outcome(item.rel, "quarantined", reason=error.code, message=f"{error.vi} / {error.en}")


# --- orchestration ------------------------------------------------------------------


def local_reader(settings: Settings) -> tuple[Submit, Callable[[], None]]:
    """Read letters in threads; their pages share the bounded page pool of `read`."""
    pool = ThreadPoolExecutor(max_workers=max(2, settings.ocr_workers * 2), thread_name_prefix="letter")

    def submit(path: Path) -> Future:
        return pool.submit(read_stage, path, settings)

    return submit, pool.shutdown


def ingest(
    inbox: Path,
    *,
    settings: Settings,
    sessions: sessionmaker,
    received_on: date | None = None,
    submit: Submit | None = None,
    on_planned: Callable[[int], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> Report:
    t0 = time.perf_counter()
    tesseract.check_installed(settings.ocr_lang)
    items, skipped = intake.scan(inbox, run_date=received_on or date.today(), settle_seconds=settings.settle_seconds)
    if received_on is not None:
        items = [i if i.batch else intake.InboxItem(i.path, i.rel, received_on, None) for i in items]
    report = Report(skipped=skipped)
    rules = Rules.current(settings)  # read afresh at every run, checked before any letter is routed
    settings = settings.model_copy(update={"models_dir": registry.active_dir(sessions, settings)})  # the registry's active model
    try:
        train.load_cached(settings.models_dir)
    except errors.PetitionsError as e:
        report.warnings.append(f"{e} Letters are stored and queued for a supervisor (reason no_model).")
    if on_planned:
        on_planned(len(items))
    shutdown = None
    if submit is None:
        submit, shutdown = local_reader(settings)
    global _ANALYSIS_POOL
    if len(items) >= settings.analysis_pool_min_letters and settings.ocr_workers > 1:
        # Only for batches of text letters: there the GIL-bound analysis is all the work.
        # In a batch of scans tesseract already fills the cores, and the workers would
        # only take CPU and memory from it.
        texts = sum(read.is_text(i.path, settings) for i in items)
        if texts >= max(settings.analysis_pool_min_letters, 0.75 * len(items)):
            _ANALYSIS_POOL = analysis.pool(settings)

    def done(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    first_of: dict[str, str] = {}
    failed: dict[str, errors.LetterError] = {}

    def run_chunk(chunk: list[intake.InboxItem]) -> None:
        """Claim, hash and start reading a chunk of files, then store them in inbox order."""
        pending: list[tuple[intake.InboxItem, int | None, str | None, ReadFuture | errors.LetterError | str]] = []
        held: dict[str, int] = {}
        try:
            for item in chunk:
                fd = intake.claim(item.path)
                if fd is None:
                    report.skipped.append(intake.Skipped(item.rel, "taken by another run"))
                    continue
                held[item.rel] = fd
                try:
                    if item.path.is_symlink() or not item.path.is_file():
                        raise errors.NotAFile()
                    sha = intake.sha256_file(item.path)
                except errors.LetterError as e:
                    pending.append((item, fd, None, e))
                    continue
                except OSError as e:
                    pending.append((item, fd, None, errors.CorruptFile(str(e))))
                    continue
                if sha in first_of or find_stored(sessions, sha):
                    pending.append((item, fd, sha, "duplicate"))
                else:
                    first_of[sha] = item.rel
                    pending.append((item, fd, sha, submit(item.path)))
            for item, fd, sha, work in pending:
                if isinstance(work, errors.LetterError):
                    done(quarantine_stage(item, inbox, work, sha, sessions))
                elif work == "duplicate":
                    if sha in failed:  # an earlier copy in this batch could not be read either
                        done(quarantine_stage(item, inbox, failed[sha], sha, sessions))
                    else:
                        done(duplicate_stage(item, sha, sessions))
                else:
                    result = work.result()
                    if isinstance(result, Failure):
                        failed[sha] = result.error
                        done(quarantine_stage(item, inbox, result.error, sha, sessions))
                    else:
                        done(store_stage(item, sha, result, route_stage(result, rules.routing, settings), rules, sessions, settings))
                intake.release(held.pop(item.rel))
        finally:
            for fd in held.values():
                intake.release(fd)

    try:
        intake.clean_stale_temp(settings.archive_dir)
        for k in range(0, len(items), CHUNK):
            run_chunk(items[k : k + CHUNK])
    except OperationalError as e:
        raise database_error(e) from None
    finally:
        if shutdown:
            shutdown(wait=False, cancel_futures=True)
        if _ANALYSIS_POOL is not None:
            _ANALYSIS_POOL.shutdown(wait=False, cancel_futures=True)
            _ANALYSIS_POOL = None
    report.seconds = time.perf_counter() - t0
    return report
