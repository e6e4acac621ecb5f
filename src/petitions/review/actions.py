"""What a supervisor can change, as plain functions over a session: every change writes
the value before and after to the audit trail (`corrections`), and the letter row holds
the corrected value, which is what the export shows."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import cases
from ..pipeline import Rules
from ..classify import LETTER_TYPES, TOPICS
from ..store import Case, Correction, IndexProfile, Letter, Petitioner

LETTER_FIELDS = ("letter_type", "topic", "department")
PETITIONER_FIELDS = ("name", "organization", "address", "province", "phone", "id_number")


class ReviewError(ValueError):
    """A change that cannot be made; the message is shown to the supervisor."""


def _audit(s: Session, letter: Letter, field: str, before, after, user: str) -> None:
    s.add(Correction(letter_id=letter.id, field=field, before=None if before is None else str(before),
                     after=None if after is None else str(after), user=user))


def correct(s: Session, letter: Letter, changes: dict[str, str | None], user: str, tables: Rules) -> list[str]:
    """Apply a supervisor's corrections; returns the fields that changed. A department left
    empty follows the routing table for the (corrected) type and topic."""
    changed: list[str] = []
    for field in ("letter_type", "topic"):
        value = changes.get(field) or None
        allowed = LETTER_TYPES if field == "letter_type" else TOPICS
        if value is not None and value not in allowed:
            raise ReviewError(f"{field}: {value!r} is not one of {', '.join(allowed)}")
        if value is not None and value != getattr(letter, field):
            _audit(s, letter, field, getattr(letter, field), value, user)
            setattr(letter, field, value)
            changed.append(field)
    dept = changes.get("department") or None
    if dept is not None and dept not in tables.routing.departments:
        raise ReviewError(f"department: {dept!r} is not in the routing table")
    if dept is None and changed and letter.letter_type and letter.topic:
        dept = tables.routing.department(letter.letter_type, letter.topic)
    if dept is not None and dept != letter.department:
        _audit(s, letter, "department", letter.department, dept, user)
        letter.department = dept
        changed.append("department")
    if "letter_type" in changed:
        new_deadline = tables.deadlines.deadline(letter.letter_type, letter.received_on)
        if new_deadline != letter.deadline:
            _audit(s, letter, "deadline", letter.deadline, new_deadline, user)
            letter.deadline = new_deadline
    p = letter.petitioner or Petitioner()
    if letter.petitioner is None:
        s.add(p)
        letter.petitioner = p
    for field in PETITIONER_FIELDS:
        if field not in changes:
            continue
        value = (changes[field] or "").strip() or None
        if field in ("phone", "id_number") and value is not None:
            value = "".join(ch for ch in value if ch.isdigit()) or None
        if value != getattr(p, field):
            _audit(s, letter, f"petitioner.{field}", getattr(p, field), value, user)
            setattr(p, field, value)
            changed.append(f"petitioner.{field}")
    if changed or letter.needs_review:
        confirm(s, letter, user, audit=not changed)
    return changed


def confirm(s: Session, letter: Letter, user: str, audit: bool = True) -> None:
    """A supervisor has looked: the letter leaves the review queue, routed."""
    if audit:
        _audit(s, letter, "confirmed", letter.status, "routed", user)
    if letter.needs_review:
        _audit(s, letter, "needs_review", True, False, user)
    letter.needs_review = False
    if letter.status == "in_review":
        letter.status = "routed"


def move(s: Session, letter: Letter, target: str | None, user: str, tables: Rules) -> str:
    """Move a letter to another case, or (target None) split it into a new case of its own.
    Both cases are recomputed (first letter, counts, recurrence)."""
    old = letter.case_id
    if target is None:
        target = "C-" + letter.id.removeprefix("L-")
        while target == old or s.get(Case, target) is not None:  # its own id is taken: a fresh one
            target = "C-" + secrets.token_hex(8)
        s.add(Case(id=target, opened_on=letter.received_on, first_letter=letter.id, letters=0,
                   first_received=letter.received_on, addressees=[]))
        s.flush()
    elif s.get(Case, target) is None:
        raise ReviewError(f"No case {target!r}.")
    if target == old:
        return target
    _audit(s, letter, "case_id", old, target, user)
    letter.case_id = target
    s.execute(update(IndexProfile).where(IndexProfile.letter_id == letter.id).values(case_id=target))
    s.flush()
    s.expire(letter)  # the rescan below rewrites its duplicate_of and recurrent
    cases.rescan(s, tables.recurrence, case_ids=[c for c in (old, target) if c])
    return target
