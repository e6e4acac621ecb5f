"""The routing table administrators edit: (letter type, topic) -> department.

Validated as a whole on load, with messages that name the line to fix, so a typo in the
table stops the run before any letter is routed wrongly.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from .classify import LETTER_TYPES, TOPICS
from .errors import FatalError

DEFAULT = Path(__file__).with_name("routing_default.toml")


class RoutingError(FatalError):
    exit_code = 7


@dataclass(frozen=True)
class RoutingTable:
    departments: dict[str, str]  # code -> name
    routes: dict[tuple[str, str], str]  # (letter_type, topic) -> department code
    source: Path

    def department(self, letter_type: str, topic: str) -> str:
        return self.routes[(letter_type, topic)]

    def topic_matters(self, letter_type: str) -> bool:
        """Whether the topic changes the department for this type (not for denunciations by default)."""
        return len({self.routes[(letter_type, t)] for t in TOPICS}) > 1


def _values(value, allowed: list[str], what: str, where: str) -> list[str]:
    items = allowed if value == "*" else [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise RoutingError(f"{where}: {what} must be a name, a list of names or \"*\"")
    unknown = [v for v in items if v not in allowed]
    if unknown:
        raise RoutingError(f"{where}: unknown {what} {unknown[0]!r}; use one of {', '.join(allowed)} or \"*\"")
    return list(items)


def current(settings) -> RoutingTable:
    """The administrator's table (PETITIONS_ROUTING, else DATA_DIR/routing.toml), else the shipped default."""
    own = settings.data_dir / "routing.toml"
    return load(settings.routing_path or (own if own.exists() else DEFAULT))


def load(path: Path) -> RoutingTable:
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RoutingError(f"The routing table {path} does not exist.") from None
    except tomllib.TOMLDecodeError as e:
        raise RoutingError(f"{where} is not valid TOML: {e}") from None
    departments = data.get("departments")
    if not isinstance(departments, dict) or not departments:
        raise RoutingError(f"{where}: a [departments] section with code = \"name\" lines is required")
    routes: dict[tuple[str, str], str] = {}
    for i, row in enumerate(data.get("routes", []), start=1):
        here = f"{where}, route {i}"
        missing = {"letter_type", "topic", "department"} - set(row)
        if missing:
            raise RoutingError(f"{here}: missing {', '.join(sorted(missing))}")
        dept = row["department"]
        if dept not in departments:
            raise RoutingError(f"{here}: unknown department {dept!r}; add it under [departments] or use one of {', '.join(departments)}")
        for pair in product(_values(row["letter_type"], LETTER_TYPES, "letter_type", here), _values(row["topic"], TOPICS, "topic", here)):
            if pair in routes:
                raise RoutingError(f"{here}: ({pair[0]}, {pair[1]}) already has a route ({routes[pair]}); each pair needs exactly one")
            routes[pair] = dept
    missing_pairs = [p for p in product(LETTER_TYPES, TOPICS) if p not in routes]
    if missing_pairs:
        raise RoutingError(f"{where}: no route for " + ", ".join(f"({a}, {b})" for a, b in missing_pairs))
    return RoutingTable(dict(departments), routes, path)


@dataclass(frozen=True)
class Decision:
    department: str | None
    department_confidence: float
    needs_review: bool
    reasons: list[str]


def decide(
    type_probs: dict[str, float] | None,
    topic_probs: dict[str, float] | None,
    table: RoutingTable,
    *,
    threshold: float,
    ocr_confidence: float | None,
    ocr_low: float,
    text_letters: int,
) -> Decision:
    """Route automatically only when the department is known with the confidence that the
    held-out letters showed to be >= 99 % right; otherwise say why a supervisor must look."""
    reasons: list[str] = []
    if text_letters < 40:
        reasons.append("no_text")
    if ocr_confidence is not None and ocr_confidence < ocr_low:
        reasons.append("ocr_low_confidence")
    if type_probs is None or topic_probs is None:
        return Decision(None, 0.0, True, reasons + ["no_model"])
    dept_p: dict[str, float] = {}
    for (t, c), d in table.routes.items():
        dept_p[d] = dept_p.get(d, 0.0) + type_probs[t] * topic_probs[c]
    letter_type = max(type_probs, key=type_probs.get)
    topic = max(topic_probs, key=topic_probs.get)
    dept = table.department(letter_type, topic)
    conf = dept_p[dept]
    if conf < threshold:
        if type_probs[letter_type] < threshold:
            reasons.append("low_type_confidence")
        if table.topic_matters(letter_type) and topic_probs[topic] < threshold:
            reasons.append("low_topic_confidence")
        if not {"low_type_confidence", "low_topic_confidence"} & set(reasons):
            reasons.append("low_department_confidence")
    return Decision(dept, conf, bool(reasons), reasons)
