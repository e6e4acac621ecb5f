"""`petitions`: the command line of CONTRACT.md.

Exit codes: 0 every file was stored or quarantined; 2 usage error; 3-6 a run-level
problem (see errors.FatalError subclasses) with a message saying what to do.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import PetitionsError
from .settings import Settings, configure

# A temporary Prefect server takes 16-20 s to start on 2 cores, more under load.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Read, file and route citizens' letters.")
console = Console()
err = Console(stderr=True)

DbOpt = Annotated[Optional[str], typer.Option("--db", envvar="PETITIONS_DB_URL", help="SQLAlchemy database URL.")]
DataOpt = Annotated[
    Optional[Path], typer.Option("--data-dir", envvar="PETITIONS_HOME", help="Data directory (archive, SQLite file).")
]


class Engine(str, Enum):
    prefect = "prefect"
    local = "local"


def _date(value: Optional[str], name: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD", param_hint=name) from None


def _setup(data_dir: Optional[Path], db: Optional[str]) -> Settings:
    settings = configure(data_dir or Path(os.environ.get("PETITIONS_HOME", "petitions-data")), db)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=settings.data_dir / "petitions.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return settings


def _database(settings: Settings):
    """The product's database, migrated; or the error message and its exit code."""
    from .store import open_database

    try:
        return open_database(settings.database_url)
    except PetitionsError as e:
        _fail(e)


def _fail(e: PetitionsError) -> None:
    err.print(f"[bold red]Lỗi / error:[/] {e}")
    raise typer.Exit(e.exit_code)


@app.command()
def ingest(
    inbox: Annotated[Path, typer.Argument(help="The inbox folder.")],
    received_on: Annotated[Optional[str], typer.Option(help="Receipt date of loose files (YYYY-MM-DD).")] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            envvar="PETITIONS_ENGINE",
            help="prefect: run as a Prefect flow (uses PREFECT_API_URL, else starts a temporary server); "
            "local: the same pipeline without Prefect, for a quick one-off run.",
        ),
    ] = Engine.prefect,
    db: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Read every letter in the inbox, store it, archive the original, quarantine what cannot be read."""
    on = _date(received_on, "--received-on")
    if not inbox.is_dir():
        err.print(f"[red]The inbox {inbox} is not a folder.[/]")
        raise typer.Exit(2)
    settings = _setup(data_dir, db)
    from . import pipeline

    try:
        with Progress(
            TextColumn("[bold]Đọc thư / reading"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
        ) as progress:
            bar = progress.add_task("", total=None)

            def planned(n: int) -> None:
                progress.update(bar, total=n)

            def advanced(o: pipeline.Outcome) -> None:
                progress.update(bar, advance=1, description=o.rel[-40:])

            if engine is Engine.local:
                sessions = _database(settings)
                report = pipeline.ingest(
                    inbox, settings=settings, sessions=sessions, received_on=on, on_planned=planned, on_outcome=advanced
                )
            else:
                from flows.ingest import run

                report = run(inbox, settings, on, planned, advanced)
    except PetitionsError as e:
        _fail(e)
    _print_report(report)


def _print_report(report) -> None:
    table = Table(title="Kết quả / result", show_lines=False)
    table.add_column("Tệp / file", overflow="fold")
    table.add_column("Kết quả / outcome")
    table.add_column("Thư / letter")
    table.add_column("Ghi chú / note", overflow="fold")
    labels = {"stored": "[green]đã lưu / stored", "duplicate": "[yellow]đã nhận / already received",
              "quarantined": "[red]cách ly / quarantined"}
    for o in report.outcomes:
        table.add_row(o.rel, labels[o.status], o.letter_id or "", o.message or (f"{o.pages} trang / pages" if o.pages else ""))
    for s in report.skipped:
        table.add_row(s.rel, "[dim]để lần sau / left for next run", "", s.why)
    console.print(table)
    for w in report.warnings:
        console.print(f"[bold yellow]Cảnh báo / warning:[/] {w}")
    console.print(
        f"[bold]{report.count('stored')}[/] stored, [bold]{report.count('duplicate')}[/] already received, "
        f"[bold]{report.count('quarantined')}[/] quarantined (see _quarantine/), "
        f"{len(report.skipped)} left for the next run; {report.seconds:.1f} s."
    )


class Format(str, Enum):
    jsonl = "jsonl"
    csv = "csv"


@app.command()
def export(
    format: Annotated[Format, typer.Option("--format")] = Format.jsonl,
    as_of: Annotated[Optional[str], typer.Option(help="Date for `overdue` (YYYY-MM-DD); default today.")] = None,
    db: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Every letter, one record each, to standard output."""
    day = _date(as_of, "--as-of") or date.today()
    settings = _setup(data_dir, db)
    from . import export as ex

    try:
        sessions = _database(settings)
        out = sys.stdout
        if format is Format.csv:
            out.write(",".join(ex.csv_header()) + "\r\n")
        for rec in ex.records(sessions, day):
            out.write(ex.to_jsonl(rec) + "\n" if format is Format.jsonl else ex.to_csv_row(rec))
    except PetitionsError as e:
        _fail(e)


@app.command()
def resolve(
    case: Annotated[str, typer.Argument(help="Case id (C-...), as in the export and the report.")],
    on: Annotated[str, typer.Option("--on", help="Date the case was resolved (YYYY-MM-DD).")],
    note: Annotated[str, typer.Option("--note", help="How it was resolved (decision number, reply...).")],
    by: Annotated[Optional[str], typer.Option("--by", help="Who resolves it (default: the login name).")] = None,
    db: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Mark a case resolved: its letters are answered and never shown as overdue."""
    day = _date(on, "--on")
    settings = _setup(data_dir, db)
    from . import cases

    try:
        sessions = _database(settings)
        with sessions.begin() as s:
            n = cases.resolve(s, case, day, note, by or os.environ.get("USER") or "cli")
    except PetitionsError as e:
        _fail(e)
    console.print(f"Hồ sơ / case {case}: đã giải quyết / resolved on {day.isoformat()} ({n} letters closed).")


@app.command()
def report(
    as_of: Annotated[Optional[str], typer.Option(help="Report date (YYYY-MM-DD); default today.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html and the CSV tables.")] = Path("report"),
    db: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """The supervisors' report: an HTML page with charts, and CSV files of its tables."""
    day = _date(as_of, "--as-of") or date.today()
    settings = _setup(data_dir, db)
    from . import report as rp

    try:
        sessions = _database(settings)
        page = rp.write(sessions, day, out)
    except PetitionsError as e:
        _fail(e)
    console.print(f"Báo cáo / report: {page}")


@app.command()
def serve(
    inbox: Annotated[Optional[Path], typer.Argument(help="The inbox folder to watch (env PETITIONS_INBOX).")] = None,
    db: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Scheduled processing through Prefect: the nightly run and inbox polling in office hours.

    Needs a running Prefect server (PREFECT_API_URL); see README, "Running as a service"."""
    settings = _setup(data_dir, db)
    folder = inbox or settings.inbox
    if folder is None or not folder.is_dir():
        err.print("[red]Name the inbox folder: `petitions serve INBOX` or PETITIONS_INBOX.[/]")
        raise typer.Exit(2)
    from flows.nightly import serve as serve_flows

    try:
        serve_flows(folder.resolve(), settings)
    except PetitionsError as e:
        _fail(e)


@app.command()
def review(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on (default 127.0.0.1: this machine only).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default 8765).")] = None,
    db: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """The supervisors' web app: review queue, letters beside their scans, corrections, audit."""
    settings = _setup(data_dir, db)
    from .review.app import serve as serve_app

    try:
        serve_app(settings, host or settings.review_host, port or settings.review_port)
    except PetitionsError as e:
        _fail(e)


users_app = typer.Typer(no_args_is_help=True, help="Accounts of the review web app.")
app.add_typer(users_app, name="users")


class Role(str, Enum):
    clerk = "clerk"
    supervisor = "supervisor"
    admin = "admin"


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Option("--role", help="clerk: reads; supervisor: corrects and resolves; admin: users and routing.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
    db: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Add an account (or reset its password and role)."""
    settings = _setup(data_dir, db)
    from .review import auth

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=True)
    try:
        sessions = _database(settings)
        with sessions.begin() as s:
            auth.add_user(s, name, role.value, password)
    except PetitionsError as e:
        _fail(e)
    console.print(f"Tài khoản / account {name} ({role.value}) saved.")


@users_app.command("list")
def users_list(db: DbOpt = None, data_dir: DataOpt = None) -> None:
    settings = _setup(data_dir, db)
    from sqlalchemy import select

    from .store import User

    sessions = _database(settings)
    with sessions() as s:
        for u in s.scalars(select(User).order_by(User.name)):
            console.print(f"{u.name}\t{u.role}\t{'active' if u.active else 'disabled'}")


@app.command()
def status(db: DbOpt = None, data_dir: DataOpt = None) -> None:
    """How many letters are stored, by text source and status, and the latest intake events."""
    settings = _setup(data_dir, db)
    from sqlalchemy import func, select

    from .store import IntakeEvent, Letter

    sessions = _database(settings)
    with sessions() as s:
        total = s.scalar(select(func.count()).select_from(Letter))
        by_source = s.execute(select(Letter.text_source, func.count()).group_by(Letter.text_source)).all()
        by_status = s.execute(select(Letter.status, func.count()).group_by(Letter.status)).all()
        events = s.execute(select(IntakeEvent.outcome, func.count()).group_by(IntakeEvent.outcome)).all()
    console.print(f"[bold]{total}[/] letters in {settings.database_url.split('@')[-1]}")
    for title, rows in (("text source", by_source), ("status", by_status), ("intake events", events)):
        t = Table(title=title)
        t.add_column(title)
        t.add_column("count", justify="right")
        for k, v in rows:
            t.add_row(str(k), str(v))
        console.print(t)


@app.command()
def train(
    seed: Annotated[int, typer.Option(help="Random seed; same data and seed give the same model.")] = 0,
    models_dir: Annotated[Optional[Path], typer.Option(help="Where to write a corpus-only model (default: models/, env PETITIONS_MODELS_DIR).")] = None,
    corpus_only: Annotated[bool, typer.Option("--corpus-only", help="Train on the corpus alone into models/, even if the database holds corrected letters.")] = False,
    db: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Retrain the type and topic models.

    With letters corrected by supervisors in the database: a candidate on the corpus plus
    those letters (DATA_DIR/models/), measured beside the active model and promoted only if
    no figure is worse by more than PETITIONS_RETRAIN_MARGIN. Otherwise: the corpus only,
    into models/, with the review threshold chosen on held-out letters and writers."""
    from . import train as tr

    if not corpus_only:
        settings = _setup(data_dir, db)

        try:
            sessions = _database(settings)
            corrected = tr.corrected_rows(sessions)
            if corrected:
                from . import registry

                with console.status(f"Huấn luyện với {len(corrected)} thư đã sửa / training with {len(corrected)} corrected letters..."):
                    decision = registry.retrain(sessions, settings, seed=seed)
        except PetitionsError as e:
            _fail(e)
        if corrected:
            _print_decision(decision)
            return
    with console.status("Huấn luyện / training..."):
        m = tr.train_and_save(models_dir or configure().models_dir, seed=seed)
    console.print(f"model [bold]{m['name']}[/] on {m['n_train_letters']} letters ({m['n_train_texts']} texts with OCR copies)")
    console.print(f"review threshold {m['threshold']:.3f}")
    for name, r in m["metrics"].items():
        console.print(
            f"{name}: type acc {r['type_accuracy']:.3f}, topic macro-F1 {r['topic_macro_f1']:.3f}, "
            f"department acc {r['department_accuracy']:.3f}, auto-routed {r['auto_routed_share']:.1%}"
            + (f" at {r['auto_routed_accuracy']:.3f}" if r["auto_routed_accuracy"] is not None else "")
        )


@app.command()
def evaluate(
    corpus: Annotated[Path, typer.Argument(help="Labelled letters, JSON lines in the format of dev_letters.jsonl.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Score the shipped model on a labelled corpus."""
    import json as _json

    from . import routing as rt
    from . import train as tr

    try:
        loaded = tr.load(configure().models_dir)
        rows = tr.load_jsonl(corpus)
        table = rt.current(configure())
    except PetitionsError as e:
        _fail(e)
    result = tr.score(loaded.models, [r["text"] for r in rows], rows, table, loaded.threshold)
    if as_json:
        console.print_json(_json.dumps({k: v for k, v in result.items() if not k.startswith("_")}))
        return
    t = Table(title=f"{corpus.name}: {result['n']} letters")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for k in ("type_accuracy", "topic_macro_f1", "department_accuracy", "auto_routed_share", "auto_routed_accuracy"):
        t.add_row(k, f"{result[k]:.3f}" if result[k] is not None else "-")
    console.print(t)
    for head in ("type_confusion", "topic_confusion"):
        labels, matrix = result[head]["labels"], result[head]["matrix"]
        ct = Table(title=f"{head} (rows: truth, columns: predicted)")
        ct.add_column("")
        for label in labels:
            ct.add_column(label, justify="right")
        for label, row in zip(labels, matrix):
            ct.add_row(label, *map(str, row))
        console.print(ct)


@app.command("classify")
def classify_cmd(
    file: Annotated[str, typer.Argument(help="A letter (any inbox format), or - for text on standard input.")],
) -> None:
    """Show the model's prediction for one letter, its confidence and the words that weighed most."""
    from . import classify as cl
    from . import routing as rt
    from . import train as tr
    from .read import read_letter
    from .text import clean_text

    try:
        if file == "-":
            text = sys.stdin.read()
        else:
            text = clean_text(read_letter(Path(file), configure()).raw_text)
        loaded = tr.load(configure().models_dir)
        table = rt.current(configure())
    except PetitionsError as e:
        _fail(e)
    p = cl.predict_one(loaded.models, text)
    d = rt.decide(p.type_probs, p.topic_probs, table, threshold=loaded.threshold, ocr_confidence=None,
                  ocr_low=configure().ocr_low_confidence, text_letters=sum(ch.isalpha() for ch in text))
    console.print(f"letter_type [bold]{p.letter_type}[/] ({p.type_confidence:.2f})   topic [bold]{p.topic}[/] ({p.topic_confidence:.2f})")
    console.print(f"department [bold]{d.department}[/] ({d.department_confidence:.2f}, threshold {loaded.threshold:.2f}): "
                  + ("needs review: " + ", ".join(d.reasons) if d.needs_review else "routed automatically"))
    for head in ("letter_type", "topic"):
        feats = ", ".join(f"{n.split(':', 1)[1]} ({w:.2f})" for n, w in cl.top_features(loaded.models, text, head))
        console.print(f"[dim]{head} weighed by:[/] {feats}")


def _print_decision(d) -> None:
    if d.candidate is None:
        console.print(f"[yellow]Không huấn luyện / no candidate trained:[/] {'; '.join(d.reasons)}")
        return
    t = Table(title=f"{d.candidate} vs {d.current or '(no active model)'} (margin {d.margin:g})")
    for col in ("set", "figure", "current", "candidate", "change", ""):
        t.add_column(col, justify="right" if col in ("current", "candidate", "change") else "left")
    for st, fig, cur, cand, ok in d.comparison():
        t.add_row(st, fig, "-" if cur is None else f"{cur:.3f}", f"{cand:.3f}",
                  "" if cur is None else f"{cand - cur:+.3f}", "ok" if ok else "[red]worse")
    console.print(t)
    console.print(f"trained on the corpus + {d.n_train_corrections} corrected letters, tested on the newest "
                  f"{d.n_eval_corrections}; review threshold {d.threshold:.3f}; {d.seconds:.0f} s")
    if d.promoted:
        console.print(f"[bold green]Đã dùng mô hình mới / promoted:[/] {d.candidate} is now the active model "
                      f"({d.current} kept: `petitions models rollback` goes back). {'; '.join(d.reasons)}")
    else:
        console.print(f"[bold yellow]Không dùng / NOT promoted:[/] {d.candidate} is rejected, {d.current} stays active. "
                      f"Why: {'; '.join(d.reasons)}")


models_app = typer.Typer(no_args_is_help=True, help="The model registry: the active model, earlier ones, candidates.")
app.add_typer(models_app, name="models")


def _figs(m: dict | None) -> str:
    if not m:
        return "-"
    return "/".join(f"{m[k]:.3f}" for k in ("type_accuracy", "topic_macro_f1", "department_accuracy"))


@models_app.command("list")
def models_list(db: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Every model, oldest first: status, corrected letters it saw, figures (type acc / topic macro-F1 / department acc)."""
    settings = _setup(data_dir, db)
    from . import registry

    try:
        rows = registry.list_models(_database(settings), settings)
    except PetitionsError as e:
        _fail(e)
    t = Table(title="Mô hình / models (figures: type acc / topic macro-F1 / department acc)")
    for col in ("name", "status", "created", "corrections", "held-out", "held-out OCR", "corrections sample", "note"):
        t.add_column(col, overflow="fold")
    style = {"active": "[bold green]", "rejected": "[red]", "candidate": "[yellow]"}
    for r in rows:
        figs = (r.metrics or {}).get("figures", {})
        t.add_row(r.name, style.get(r.status, "") + r.status, f"{r.created_at:%Y-%m-%d %H:%M}", str(r.n_corrections),
                  _figs(figs.get("heldout_clean")), _figs(figs.get("heldout_ocr")), _figs(figs.get("corrections")),
                  (r.note or "")[:90] + ("…" if len(r.note or "") > 90 else ""))
    console.print(t)


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument(help="The model to use (see `petitions models list`).")],
    db: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Use this model from now on; the active one is kept as previous."""
    settings = _setup(data_dir, db)
    from . import registry

    try:
        row = registry.promote(_database(settings), name, settings)
    except PetitionsError as e:
        _fail(e)
    console.print(f"Mô hình đang dùng / active model: [bold]{row.name}[/]")


@models_app.command("rollback")
def models_rollback(db: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Go back to the model used before the active one."""
    settings = _setup(data_dir, db)
    from . import registry

    try:
        now, was = registry.rollback(_database(settings), settings)
    except PetitionsError as e:
        _fail(e)
    console.print(f"Mô hình đang dùng / active model: [bold]{now.name}[/] ({was.name} set aside as previous)")


if __name__ == "__main__":  # pragma: no cover
    app()
