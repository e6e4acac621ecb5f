"""The ingest flow: Prefect runs the library's orchestrator with one task per letter.

Thin on purpose: `petitions.pipeline.ingest` tells the whole story; this module only
hands it a Prefect task as the reader (so each letter shows up as a task run, pages
still spread over the bounded page pool) and publishes artifacts.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from collections.abc import Callable

from petitions import pipeline, registry
from petitions.settings import Settings, configure
from petitions.store import open_database


@task(name="read-letter", task_run_name="read {name}", cache_policy=NO_CACHE)
def read_letter(path: str, name: str, settings: Settings) -> pipeline.Draft | pipeline.Failure:
    return pipeline.read_stage(Path(path), settings)


# Progress callbacks of the in-process caller (the CLI); not flow parameters, which
# must be serialisable for the Prefect API.
_HOOKS: dict[str, Callable] = {}


@flow(name="ingest", log_prints=True)
def ingest_flow(
    inbox: str, received_on: date | None = None, data_dir: str | None = None, db_url: str | None = None
) -> pipeline.Report:
    settings = configure(Path(data_dir) if data_dir else None, db_url)
    sessions = open_database(settings.database_url)
    # The registry's active model, for the read tasks too (they get these settings).
    settings = settings.model_copy(update={"models_dir": registry.active_dir(sessions, settings)})
    report = pipeline.ingest(
        Path(inbox),
        settings=settings,
        sessions=sessions,
        received_on=received_on,
        submit=lambda p: read_letter.submit(str(p), p.name, settings),
        on_planned=_HOOKS.get("on_planned"),
        on_outcome=_HOOKS.get("on_outcome"),
    )
    publish(report)
    return report


def summary(report: pipeline.Report) -> dict:
    return {
        "stored": report.count("stored"),
        "duplicate": report.count("duplicate"),
        "quarantined": report.count("quarantined"),
        "left_for_next_run": len(report.skipped),
        "seconds": round(report.seconds, 2),
    }


def publish(report: pipeline.Report) -> None:
    rows = [
        {"file": o.rel, "outcome": o.status, "letter": o.letter_id or "", "reason": o.reason or "", "pages": o.pages}
        for o in report.outcomes
    ]
    create_table_artifact(key="ingest-outcomes", table=rows, description="What happened to each file")
    s = summary(report)
    create_markdown_artifact(
        key="ingest-summary",
        markdown=(
            f"# Ingest\n\n- stored: **{s['stored']}**\n- already received: **{s['duplicate']}**\n"
            f"- quarantined: **{s['quarantined']}**\n- left for the next run: {s['left_for_next_run']}\n"
            f"- time: {s['seconds']} s\n"
        ),
    )


def task_runner(settings: Settings):
    """Threads on this machine, bounded to its cores; or, with PETITIONS_DASK_ADDRESS, a Dask
    cluster that spreads the letters over several machines ("local": a cluster of worker
    processes on this one)."""
    if not settings.dask_address:
        return ThreadPoolTaskRunner(max_workers=max(2, settings.ocr_workers * 2))
    from prefect_dask import DaskTaskRunner

    if settings.dask_address == "local":
        return DaskTaskRunner(cluster_kwargs={"n_workers": settings.ocr_workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    return DaskTaskRunner(address=settings.dask_address)


def run(
    inbox: Path,
    settings: Settings,
    received_on: date | None,
    on_planned: Callable[[int], None] | None = None,
    on_outcome: Callable[[pipeline.Outcome], None] | None = None,
) -> pipeline.Report:
    """Run the flow in this process with a task runner bounded to the machine's cores."""
    runner = task_runner(settings)
    _HOOKS.update({k: v for k, v in (("on_planned", on_planned), ("on_outcome", on_outcome)) if v})
    try:
        return ingest_flow.with_options(task_runner=runner)(
            str(inbox), received_on, str(settings.data_dir), settings.db_url
        )
    finally:
        _HOOKS.clear()
