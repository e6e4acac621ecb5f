"""Legal deadlines for letters, counted as Vietnamese law counts them.

Civil Code 2015, Art. 147-148: the day of receipt is not counted; a calendar-day period that
ends on a weekend or public holiday ends on the next working day; a working-day period counts
working days only. Every number lives in a TOML table chosen by the date the letter was
received, because the laws change (amendments in force from 2026-07-01) and a letter keeps
the rule of the day it arrived.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal, get_args

import holidays

from .errors import FatalError

DEFAULT = Path(__file__).with_name("deadlines_default.toml")

# Same names as classify.LETTER_TYPES (a test keeps them equal); not imported from there so
# that computing a deadline does not load scikit-learn.
LETTER_TYPES = ("complaint", "denunciation", "petition")
Unit = Literal["days", "working_days"]
UNITS: tuple[str, ...] = get_args(Unit)
_ONE_DAY = timedelta(days=1)


class DeadlineConfigError(FatalError):
    """The deadline table cannot be trusted: stop rather than show wrong deadlines."""

    exit_code = 7  # like RoutingError: an administrator's table is invalid


class Calendar:
    """Vietnamese working days: the `holidays` package's VN calendar (Tết, substitute days
    off, swapped working Saturdays), corrected by the administrator where the government's
    yearly schedule differs from the package."""

    def __init__(self, extra_holidays: Iterable[date] = (), extra_working_days: Iterable[date] = ()):
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_working_days = frozenset(extra_working_days)
        clash = self.extra_holidays & self.extra_working_days
        if clash:
            raise ValueError(f"{min(clash)} is both an extra holiday and an extra working day")
        self._vn = holidays.country_holidays("VN")  # fills each year on first use
        self._lock = threading.Lock()  # that filling is not thread-safe (Prefect runs letters in threads)

    def is_working_day(self, d: date) -> bool:
        if d in self.extra_working_days:
            return True
        if d in self.extra_holidays:
            return False
        with self._lock:
            return self._vn.is_working_day(d)

    def add_days(self, start: date, n: int) -> date:
        """End of an n-calendar-day period from `start` (not counted), moved off a day of rest."""
        _check_length(n)
        end = start + timedelta(days=n)
        while not self.is_working_day(end):
            end += _ONE_DAY
        return end

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (not counted)."""
        _check_length(n)
        d = start
        for _ in range(n):
            d += _ONE_DAY
            while not self.is_working_day(d):
                d += _ONE_DAY
        return d


def _check_length(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"a period is a whole number of days >= 1, not {n!r}")


@dataclass(frozen=True)
class Step:
    name: str
    days: int
    unit: Unit


@dataclass(frozen=True)
class Rule:
    effective_from: date
    steps: dict[str, tuple[Step, ...]]  # letter type -> steps, applied one after another


@dataclass(frozen=True)
class DeadlineTable:
    rules: tuple[Rule, ...]  # oldest first
    calendar: Calendar
    source: Path

    def rule_for(self, received_on: date) -> Rule | None:
        """The law in force on the day of receipt: the latest rule not after it."""
        found = None
        for rule in self.rules:
            if rule.effective_from <= received_on:
                found = rule
        return found

    def deadline(self, letter_type: str | None, received_on: date) -> date | None:
        """None when there is nothing to count: an unknown type, or a letter older than every rule."""
        if isinstance(received_on, datetime):  # a datetime would not compare with the rules' dates
            received_on = received_on.date()
        rule = self.rule_for(received_on)
        if rule is None or letter_type not in rule.steps:
            return None
        end = received_on
        for step in rule.steps[letter_type]:
            add = self.calendar.add_days if step.unit == "days" else self.calendar.add_working_days
            end = add(end, step.days)
        return end


def current(settings) -> DeadlineTable:
    """The administrator's table (PETITIONS_DEADLINES, else DATA_DIR/deadlines.toml), else the shipped default."""
    own = settings.data_dir / "deadlines.toml"
    return load(settings.deadlines_path or (own if own.exists() else DEFAULT))


def load(path: Path | None = None) -> DeadlineTable:
    """Read and check the whole table, so one typo stops the run instead of skewing deadlines."""
    path = DEFAULT if path is None else Path(path)
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeadlineConfigError(f"The deadline table {path} does not exist.") from None
    except tomllib.TOMLDecodeError as e:
        raise DeadlineConfigError(f"{where} is not valid TOML: {e}") from None
    _no_unknown_keys(data, {"calendar", "rules"}, where)

    cal = data.get("calendar", {})
    if not isinstance(cal, dict):
        raise DeadlineConfigError(f"{where}: calendar must be a [calendar] section")
    here = f"{where}, [calendar]"
    _no_unknown_keys(cal, {"extra_holidays", "extra_working_days"}, here)
    extra = {key: _dates(cal.get(key, []), f"{here} {key}") for key in ("extra_holidays", "extra_working_days")}
    clash = set(extra["extra_holidays"]) & set(extra["extra_working_days"])
    if clash:
        raise DeadlineConfigError(
            f"{here}: {min(clash)} is listed in both extra_holidays and extra_working_days; keep it in one"
        )

    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise DeadlineConfigError(f"{where}: at least one [[rules]] entry with an effective_from date is required")
    rules = [_rule(raw, f"{where}, rule {i}") for i, raw in enumerate(raw_rules, start=1)]
    seen: dict[date, int] = {}
    for i, rule in enumerate(rules, start=1):
        if rule.effective_from in seen:
            raise DeadlineConfigError(
                f"{where}, rule {i}: effective_from {rule.effective_from} is also rule {seen[rule.effective_from]}'s; "
                "merge them or change one date"
            )
        seen[rule.effective_from] = i
    rules.sort(key=lambda r: r.effective_from)
    return DeadlineTable(tuple(rules), Calendar(extra["extra_holidays"], extra["extra_working_days"]), path)


def _rule(raw: object, here: str) -> Rule:
    if not isinstance(raw, dict):
        raise DeadlineConfigError(f"{here}: must be a [[rules]] table")
    if "effective_from" not in raw:
        raise DeadlineConfigError(f'{here}: missing effective_from; add effective_from = "YYYY-MM-DD"')
    effective_from = _date(raw["effective_from"], f"{here} effective_from")
    here = f"{here} (effective_from {effective_from})"
    unknown = sorted(set(raw) - {"effective_from", *LETTER_TYPES})
    if unknown:
        raise DeadlineConfigError(
            f"{here}: unknown letter type {unknown[0]!r}; use {', '.join(LETTER_TYPES)}"
        )
    missing = [t for t in LETTER_TYPES if t not in raw]
    if missing:
        raise DeadlineConfigError(
            f"{here}: no steps for {', '.join(missing)}; each rule must list all of {', '.join(LETTER_TYPES)} "
            f"(add [[rules.{missing[0]}]] with name, days and unit)"
        )
    steps: dict[str, tuple[Step, ...]] = {}
    for letter_type in LETTER_TYPES:
        items = raw[letter_type]
        if not isinstance(items, list) or not items:
            raise DeadlineConfigError(
                f"{here}, {letter_type}: must be one or more [[rules.{letter_type}]] steps with name, days and unit"
            )
        steps[letter_type] = tuple(_step(s, f"{here}, {letter_type} step {j}") for j, s in enumerate(items, start=1))
    return Rule(effective_from, steps)


def _step(raw: object, here: str) -> Step:
    if not isinstance(raw, dict):
        raise DeadlineConfigError(f"{here}: must be a table with name, days and unit")
    _no_unknown_keys(raw, {"name", "days", "unit"}, here)
    missing = [k for k in ("name", "days", "unit") if k not in raw]
    if missing:
        raise DeadlineConfigError(f"{here}: missing {', '.join(missing)}")
    name, days, unit = raw["name"], raw["days"], raw["unit"]
    if not isinstance(name, str) or not name.strip():
        raise DeadlineConfigError(f"{here}: name must be a non-empty text, e.g. name = \"xu-ly-don\"")
    here = f"{here} {name!r}"
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise DeadlineConfigError(f"{here}: days = {days!r} is not a whole number of days >= 1; write e.g. days = 10")
    if unit not in UNITS:
        raise DeadlineConfigError(f"{here}: unknown unit {unit!r}; use \"days\" (calendar days) or \"working_days\"")
    return Step(name, days, unit)


def _no_unknown_keys(table: dict, allowed: set[str], here: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise DeadlineConfigError(f"{here}: unknown key {unknown[0]!r}; expected {', '.join(sorted(allowed))}")


def _dates(value: object, here: str) -> list[date]:
    if not isinstance(value, list):
        raise DeadlineConfigError(f'{here}: must be a list of dates, e.g. ["2027-02-11"]')
    return [_date(v, here) for v in value]


def _date(value: object, here: str) -> date:
    """A calendar date, written "YYYY-MM-DD" or as a bare TOML date."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise DeadlineConfigError(f'{here}: {value!r} is not a date; write it as "YYYY-MM-DD", e.g. "2026-07-01"')
