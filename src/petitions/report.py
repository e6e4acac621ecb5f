"""The supervisors' report: one HTML page with charts and tables, and the same tables as CSV.

Written for a supervisor who has never seen the product: every section says in a sentence
what it counts, headings are Vietnamese with English beside them, and the summary uses the
columns of the national processing report (received, eligible, by type, one or many
signers, transferred).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import joinedload, sessionmaker

from .store import Case, Letter

TOPICS = {"land": "Đất đai / land", "environment": "Môi trường / environment", "investment": "Đầu tư / investment",
          "other": "Khác / other", None: "Chưa phân loại / not classified"}
TYPES = {"complaint": "Khiếu nại", "denunciation": "Tố cáo", "petition": "Kiến nghị, phản ánh", None: "Chưa phân loại"}
# The office's own triage desk: a letter routed there has not been transferred anywhere yet.
OWN_DESK = "tiep-cong-dan"
WEEKS = 26


@dataclass(frozen=True)
class Row:
    id: str
    received_on: date
    letter_type: str | None
    topic: str | None
    department: str | None
    status: str
    deadline: date | None
    overdue: bool
    eligible: bool
    collective: bool
    case_id: str | None
    petitioner: str


def letter_rows(sessions: sessionmaker, as_of: date) -> list[Row]:
    out = []
    with sessions() as s:
        stmt = (
            select(Letter)
            .options(joinedload(Letter.petitioner), joinedload(Letter.case))
            .where(Letter.received_on <= as_of)
            .execution_options(yield_per=1000)
        )
        for l in s.scalars(stmt):
            p = l.petitioner
            who = (p.organization or p.name) if p else None
            out.append(
                Row(
                    l.id, l.received_on, l.letter_type, l.topic, l.department, l.status, l.deadline, l.overdue(as_of),
                    # Eligible for handling (đủ điều kiện xử lý): the writer is named, can be
                    # answered at an address, and the letter's type is known.
                    bool(who and p.address and l.letter_type), bool(l.collective), l.case_id, who or "(không tên / unnamed)",
                )
            )
    return out


def summary(rows: list[Row], as_of: date) -> list[dict]:
    """The national report's columns for this month, this year and all letters."""
    periods = [
        ("Tháng này / this month", as_of.replace(day=1)),
        ("Từ đầu năm / year to date", as_of.replace(month=1, day=1)),
        ("Tất cả / all letters", date.min),
    ]
    table = []
    for label, start in periods:
        rs = [r for r in rows if r.received_on >= start]
        by_type = Counter(r.letter_type for r in rs)
        table.append({
            "period": label,
            "received": len(rs),
            "eligible": sum(r.eligible for r in rs),
            "complaint": by_type["complaint"],
            "denunciation": by_type["denunciation"],
            "petition": by_type["petition"],
            "single_signer": sum(not r.collective for r in rs),
            "many_signers": sum(r.collective for r in rs),
            "transferred": sum(r.status in ("routed", "resolved") and r.department not in (None, OWN_DESK) for r in rs),
            "in_review": sum(r.status == "in_review" for r in rs),
            "overdue": sum(r.overdue for r in rs),
        })
    return table


SUMMARY_COLUMNS = {
    "period": "Kỳ / period",
    "received": "Tiếp nhận / received",
    "eligible": "Đủ điều kiện xử lý / eligible",
    "complaint": "Khiếu nại / complaints",
    "denunciation": "Tố cáo / denunciations",
    "petition": "Kiến nghị, phản ánh / petitions",
    "single_signer": "Một người đứng tên / one signer",
    "many_signers": "Nhiều người đứng tên / many signers",
    "transferred": "Đã chuyển xử lý / transferred",
    "in_review": "Chờ kiểm tra / awaiting review",
    "overdue": "Quá hạn / overdue",
}


def weekly_by_topic(rows: list[Row], as_of: date) -> list[dict]:
    monday = as_of - timedelta(days=as_of.weekday())
    weeks = [monday - timedelta(weeks=k) for k in range(WEEKS - 1, -1, -1)]
    counts: dict[date, Counter] = defaultdict(Counter)
    for r in rows:
        wk = r.received_on - timedelta(days=r.received_on.weekday())
        if wk >= weeks[0]:
            counts[wk][r.topic] += 1
    return [{"week": w.isoformat(), **{t or "unclassified": counts[w][t] for t in TOPICS}} for w in weeks]


def by_department(rows: list[Row]) -> list[dict]:
    d: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        state = "resolved" if r.status == "resolved" else "overdue" if r.overdue else "in_review" if r.status == "in_review" else "open"
        d[r.department or "(none)"][state] += 1
    return [
        {"department": k, "open": c["open"], "in_review": c["in_review"], "overdue": c["overdue"], "resolved": c["resolved"],
         "total": sum(c.values())}
        for k, c in sorted(d.items(), key=lambda kv: -sum(kv[1].values()))
    ]


def recurrent_cases(sessions: sessionmaker, rows: list[Row]) -> list[dict]:
    by_case: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r.case_id:
            by_case[r.case_id].append(r)
    out = []
    with sessions() as s:
        for case in s.scalars(select(Case).where(Case.recurrent.is_(True)).order_by(Case.last_received.desc())):
            letters = sorted(by_case.get(case.id, []), key=lambda r: r.received_on)
            if not letters:
                continue
            last = letters[-1]
            out.append({
                "case_id": case.id,
                "petitioner": letters[0].petitioner,
                "letters": len(letters),
                "first_received": letters[0].received_on.isoformat(),
                "last_received": last.received_on.isoformat(),
                "years_pending": round((last.received_on - letters[0].received_on).days / 365.25, 1),
                "topic": last.topic or "",
                "department": last.department or "",
                "addressees": " → ".join(case.addressees or []),
                "status": "resolved" if case.resolved_on else "open",
            })
    return out


def overdue_letters(rows: list[Row], as_of: date) -> list[dict]:
    late = sorted((r for r in rows if r.overdue), key=lambda r: r.deadline)
    return [
        {"letter_id": r.id, "received_on": r.received_on.isoformat(), "deadline": r.deadline.isoformat(),
         "days_overdue": (as_of - r.deadline).days, "letter_type": r.letter_type or "", "department": r.department or "",
         "petitioner": r.petitioner, "case_id": r.case_id or ""}
        for r in late
    ]


# --- charts ----------------------------------------------------------------------------

def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def charts(weekly: list[dict], departments: list[dict]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({"font.family": "DejaVu Sans", "font.size": 9, "svg.fonttype": "none"})
    colours = {"land": "#8c6d31", "environment": "#2ca02c", "investment": "#1f77b4", "other": "#7f7f7f", "unclassified": "#d62728"}
    fig, ax = plt.subplots(figsize=(9, 3.2))
    x = range(len(weekly))
    bottom = [0] * len(weekly)
    for t, label in TOPICS.items():
        key = t or "unclassified"
        vals = [w[key] for w in weekly]
        if any(vals):
            ax.bar(x, vals, bottom=bottom, color=colours[key], label=label)
            bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xticks(list(x)[::2], [w["week"][5:] for w in weekly][::2], rotation=45)
    ax.set_ylabel("thư / letters")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    weekly_svg = _svg(fig)

    fig, ax = plt.subplots(figsize=(9, 0.5 + 0.45 * max(1, len(departments))))
    names = [d["department"] for d in departments][::-1]
    left = [0] * len(names)
    for state, colour, label in (("open", "#1f77b4", "đang xử lý / open"), ("in_review", "#ff7f0e", "chờ kiểm tra / in review"),
                                 ("overdue", "#d62728", "quá hạn / overdue"), ("resolved", "#2ca02c", "đã giải quyết / resolved")):
        vals = [d[state] for d in departments][::-1]
        ax.barh(names, vals, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, vals)]
    ax.set_xlabel("thư / letters")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return {"weekly": weekly_svg, "departments": _svg(fig)}


# --- output ------------------------------------------------------------------------------

def _csv(path: Path, rows: list[dict], columns: list[str] | None = None) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    with path.open("w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel opens Vietnamese correctly
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def write(sessions: sessionmaker, as_of: date, out: Path) -> Path:
    """Write report.html and its CSV tables into `out`; return the page's path."""
    rows = letter_rows(sessions, as_of)
    tables = {
        "summary": summary(rows, as_of),
        "weekly_by_topic": weekly_by_topic(rows, as_of),
        "by_department": by_department(rows),
        "recurrent_cases": recurrent_cases(sessions, rows),
        "overdue_letters": overdue_letters(rows, as_of),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        _csv(out / f"{name}.csv", table, list(SUMMARY_COLUMNS) if name == "summary" else None)
    env = Environment(loader=PackageLoader("petitions", "templates"), autoescape=select_autoescape())
    html = env.get_template("report.html").render(
        as_of=as_of, tables=tables, columns=SUMMARY_COLUMNS, charts=charts(tables["weekly_by_topic"], tables["by_department"]),
        total=len(rows), weeks=WEEKS,
    )
    page = out / "report.html"
    page.write_text(html, encoding="utf-8")
    return page
