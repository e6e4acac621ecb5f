"""Export records in the schema of CONTRACT.md ("Export record")."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload, sessionmaker

from .store import Letter

FIELDS = [
    "letter_id", "source_name", "sha256", "received_on", "pages", "text_source", "ocr_confidence", "text",
    "letter_type", "topic", "topic_confidence", "department", "needs_review", "review_reasons", "petitioner",
    "letter_date", "case_id", "duplicate_of", "recurrent", "deadline", "overdue", "status",
]
PETITIONER_FIELDS = ["name", "organization", "address", "province", "phone", "id_number"]


def record(letter: Letter, as_of: date) -> dict:
    p = letter.petitioner
    petitioner = {k: getattr(p, k) if p else None for k in PETITIONER_FIELDS}
    petitioner["province_written"] = p.province_written if p else None
    return {
        "letter_id": letter.id,
        "source_name": letter.file.source_name,
        "sha256": letter.file.sha256,
        "received_on": letter.received_on.isoformat(),
        "pages": letter.pages,
        "text_source": letter.text_source,
        "ocr_confidence": letter.ocr_confidence,
        "text": letter.text,
        "letter_type": letter.letter_type,
        "topic": letter.topic,
        "topic_confidence": letter.topic_confidence,
        "department": letter.department,
        "needs_review": bool(letter.needs_review),
        "review_reasons": list(letter.review_reasons or []),
        "petitioner": petitioner,
        "letter_date": letter.letter_date.isoformat() if letter.letter_date else None,
        "case_id": letter.case_id,
        "duplicate_of": letter.duplicate_of,
        "recurrent": bool(letter.recurrent),
        "deadline": letter.deadline.isoformat() if letter.deadline else None,
        "overdue": letter.overdue(as_of),
        "status": letter.status,
    }


def records(sessions: sessionmaker, as_of: date) -> Iterator[dict]:
    with sessions() as s:
        stmt = (
            select(Letter)
            .options(joinedload(Letter.file), joinedload(Letter.petitioner), joinedload(Letter.case))
            .order_by(Letter.received_on, Letter.created_at, Letter.id)
            .execution_options(yield_per=500)
        )
        for letter in s.scalars(stmt):
            yield record(letter, as_of)


def to_jsonl(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=False)


def csv_header() -> list[str]:
    return [f for f in FIELDS if f != "petitioner"] + [f"petitioner_{k}" for k in PETITIONER_FIELDS + ["province_written"]]


def to_csv_row(rec: dict) -> str:
    row = {k: v for k, v in rec.items() if k != "petitioner"}
    row["review_reasons"] = ";".join(rec["review_reasons"])
    for k, v in rec["petitioner"].items():
        row[f"petitioner_{k}"] = v
    buf = io.StringIO()
    csv.writer(buf).writerow(["" if row.get(h) is None else row.get(h) for h in csv_header()])
    return buf.getvalue()
