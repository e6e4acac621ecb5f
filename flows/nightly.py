"""Scheduled processing: the nightly run and inbox polling in office hours.

    nightly (01:00 Asia/Ho_Chi_Minh): ingest the inbox -> recompute cases, recurrence and
        deadlines -> retrain with new corrections (promoted only past the guard) -> write
        the supervisors' report
    office-hours poll: ingest the inbox, so a batch dropped at 9:00 is routed by 9:15

`petitions serve INBOX` serves both deployments from one long-lived process against a
running Prefect server, one flow run at a time (README, "Running as a service").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, serve as prefect_serve, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.schedules import Cron, Interval

from flows.ingest import ingest_flow, summary, task_runner
from petitions import cases, pipeline, registry, report
from petitions.errors import FatalError
from petitions.settings import Settings, configure
from petitions.store import open_database


@task(name="rescan-cases", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def rescan_cases(settings: Settings) -> cases.Rescan:
    rules = pipeline.Rules.current(settings)
    with open_database(settings.database_url).begin() as s:
        return cases.rescan(s, rules.recurrence, rules.deadlines.deadline)


@task(name="retrain-if-corrected", cache_policy=NO_CACHE)
def retrain_if_corrected(settings: Settings) -> tuple[int, registry.Decision | None]:
    """Retrain with the supervisors' corrections when some were made since the latest
    model was trained; the guard decides whether the candidate replaces the active model."""
    sessions = open_database(settings.database_url)
    new = registry.corrections_since_latest_model(sessions, settings)
    return new, (registry.retrain(sessions, settings) if new else None)


def _retrain_markdown(state) -> str:
    if state.is_failed():
        return f"- model: retraining failed ({state.message}); the active model is unchanged\n"
    new, decision = state.result()
    if decision is None:
        return "- model: no corrections since the latest model; unchanged\n"
    verdict = "**promoted**" if decision.promoted else "**not promoted**"
    return f"- model: {new} new corrections, candidate {verdict}: {decision.summary()}\n\n" + (
        decision.markdown() if decision.candidate else "")


@task(name="write-report", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=30)
def write_report(settings: Settings, as_of: date) -> Path:
    return report.write(open_database(settings.database_url), as_of, settings.data_dir / "reports" / as_of.isoformat())


def _ingest(inbox: str, settings: Settings):
    return ingest_flow.with_options(task_runner=task_runner(settings))(inbox, None, str(settings.data_dir), settings.db_url)


@flow(name="nightly", log_prints=True)
def nightly_flow(inbox: str, data_dir: str | None = None, db_url: str | None = None, as_of: date | None = None) -> str:
    settings = configure(Path(data_dir) if data_dir else None, db_url)
    day = as_of or datetime.now(ZoneInfo(settings.timezone)).date()
    ingested = _ingest(inbox, settings)
    rescan = rescan_cases(settings)
    retrained = retrain_if_corrected(settings, return_state=True)  # a failure here must not stop the report
    page = write_report(settings, day)
    s = summary(ingested)
    create_markdown_artifact(
        key="nightly-summary",
        markdown=(
            f"# Nightly run {day.isoformat()}\n\n"
            f"- letters stored: **{s['stored']}**, already received: {s['duplicate']}, quarantined: **{s['quarantined']}**\n"
            f"- cases: {rescan.cases}, recurrent: **{rescan.recurrent_cases}**, letters updated: {rescan.letters_changed}\n"
            f"- report: `{page}`\n"
            + _retrain_markdown(retrained)
        ),
    )
    print(f"report written to {page}")
    return str(page)


@flow(name="poll-inbox", log_prints=True)
def poll_flow(inbox: str, data_dir: str | None = None, db_url: str | None = None) -> dict:
    settings = configure(Path(data_dir) if data_dir else None, db_url)
    return summary(_ingest(inbox, settings))


def schedule(expr: str, tz: str):
    """A cron expression, or a plain number of seconds."""
    if expr.strip().isdigit():
        return Interval(timedelta(seconds=int(expr)), timezone=tz)
    return Cron(expr, timezone=tz)


def deployments(inbox: Path, settings: Settings) -> list:
    params = {"inbox": str(inbox), "data_dir": str(settings.data_dir.resolve()), "db_url": settings.db_url}
    return [
        nightly_flow.to_deployment(
            name="nightly", schedules=[schedule(settings.nightly_cron, settings.timezone)], parameters=params,
            description="Ingest the inbox, recompute cases and deadlines, write the supervisors' report.",
        ),
        poll_flow.to_deployment(
            name="office-hours", schedules=[schedule(settings.poll_schedule, settings.timezone)], parameters=params,
            description="Pick up new batches during office hours.",
        ),
    ]


def serve(inbox: Path, settings: Settings) -> None:
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise FatalError(
            "Scheduled runs need a running Prefect server: start one with `prefect server start` "
            "and set PREFECT_API_URL=http://127.0.0.1:4200/api (README, 'Running as a service')."
        )
    prefect_serve(*deployments(inbox, settings), limit=1)
