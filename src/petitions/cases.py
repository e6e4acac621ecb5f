"""Which case a letter belongs to: same petitioner, same matter.

A letter is reduced to a `Profile`: who wrote it (folded name, organisation, ID number,
phone, address, whom it writes for) and what it is about (the hashed words and word pairs
of its body, numbers included, boilerplate and the writer's own details removed, plus
their MinHash). Candidates come from a persisted index (`index_keys`): exact keys on the
petitioner (ID number, phone, name, organisation) and LSH bands of the MinHash, so
finding them costs a few index look-ups whatever the size of the archive. Each candidate
is then judged pairwise: the petitioner must be the same person or business, with
tolerance for OCR errors, abbreviated names and missing fields, and the matter must be
the same, judged by how much of the shorter letter's body the other one shares. Template
letters from different households thus stay apart (different petitioners), and one
writer's two disputes stay apart (different content).
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .errors import PetitionsError
from .extract import Fields
from .store import Case, Correction, IndexKey, IndexProfile, Letter
from .text import fold

PERMUTATIONS = 120
BANDS, ROWS = 12, 10  # LSH bands: a candidate from content alone above Jaccard ~0.78
_MERSENNE = (1 << 61) - 1
_MAX_HASH = (1 << 32) - 1
_rng = np.random.RandomState(20261127)
_A = _rng.randint(1, _MERSENNE, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.randint(0, _MERSENNE, size=PERMUTATIONS, dtype=np.uint64)

STOPLIST = Path(__file__).with_name("cases_stoplist.txt")


class CaseNotFound(PetitionsError):
    exit_code = 2

    def __init__(self, case_id: str):
        super().__init__(f"No case {case_id!r}. Case ids look like C-3f2a9c0d1e2b4a5f; `petitions export` lists them.")


@dataclass(frozen=True)
class Thresholds:
    """Content overlap (share of the shorter letter's body features found in the other)
    needed to call two letters the same matter, by how sure we are of the petitioner.
    Measured on the trap letters of bench/cases (bench/case_linking.py)."""

    same_petitioner: float = 0.06
    likely_petitioner: float = 0.05
    unknown_petitioner: float = 0.18
    min_features: int = 8  # below this a letter says too little to judge its matter


@dataclass(frozen=True)
class Profile:
    name: str | None  # folded tokens joined by spaces, honorifics removed
    organization: str | None  # folded core of the business name, legal forms removed
    id_number: str | None
    phone: str | None
    address: str | None  # folded
    relatives: tuple[str, ...]  # folded names of those the writer writes for ("con trai ông X")
    features: np.ndarray  # sorted uint32 hashes of the body's informative words and word pairs
    signature: np.ndarray  # uint32[PERMUTATIONS], MinHash of `features`

    def keys(self) -> list[str]:
        """Exact blocking keys on the petitioner; LSH band keys on the content."""
        keys = []
        if self.id_number:
            keys.append(f"id:{self.id_number}")
        if self.phone:
            keys.append(f"ph:{self.phone}")
        if self.organization:
            keys.append(f"org:{self.organization}")
        else:
            for n in (self.name, *self.relatives):
                if n and (nk := name_key(n)):
                    keys.append(f"nm:{nk}")
                if n and len(t := n.split()) >= 2:  # "Lò Thị H." still finds "Lò Thị Hương"
                    keys.append("ni:" + " ".join([t[0], *(x[0] for x in t[1:])]))
        sig = self.signature
        if sig.size and sig[0] != _MAX_HASH:
            for b in range(BANDS):
                keys.append(f"b{b}:" + sig[b * ROWS : (b + 1) * ROWS].tobytes().hex())
        return keys


def key_hash(key: str) -> int:
    """A signed 64-bit integer: compact and indexable in SQLite and PostgreSQL alike."""
    return struct.unpack("<q", hashlib.blake2b(key.encode(), digest_size=8).digest())[0]


# --- petitioner -------------------------------------------------------------------------

_HONORIFIC = re.compile(r"^(?:ong|ba|anh|chi|cu|co|chu|bac|em|toi|ls|luat su|dong chi|d/c)\s+")
_ORG_FORMS = re.compile(
    r"\b(?:tong cong ty|cong ty|cty|ct|tnhh|trach nhiem huu han|co phan|cp|mtv|mot thanh vien|hai thanh vien|"
    r"thuong mai|dich vu|tm|dv|tm-dv|tmdv|san xuat|sx|xay dung|xd|dau tu|phat trien|hop tac xa|htx|"
    r"doanh nghiep tu nhan|dntn|chi nhanh|tap doan|viet nam|vn|va)\b"
)


def person_name(name: str | None) -> str | None:
    if not name:
        return None
    n = re.sub(r"[^a-z\s.]", " ", fold(name)).replace(".", " ")
    n = _HONORIFIC.sub("", re.sub(r"\s+", " ", n).strip())
    return n or None


def name_key(name: str) -> str | None:
    """Family name, initials of the middle names, given name: "nguyen t t ha" for both
    "Nguyễn Thị Thu Hà" and "Nguyễn T. Thu Hà"."""
    t = name.split()
    if len(t) < 2 or len(t[-1]) < 2:
        return None
    return " ".join([t[0], *(x[0] for x in t[1:-1]), t[-1]])


def org_core(org: str | None) -> str | None:
    if not org:
        return None
    core = re.sub(r"\s+", " ", _ORG_FORMS.sub(" ", re.sub(r"[^a-z0-9\s]", " ", fold(org)))).strip()
    return core or None


def names_compatible(a: str, b: str) -> bool:
    """Same family and given name; middle names may be abbreviated, dropped or misread."""
    ta, tb = a.split(), b.split()
    if not ta or not tb:
        return False

    def tok(x: str, y: str) -> bool:
        if len(x) == 1 or len(y) == 1:
            return x[0] == y[0]
        return x == y or (min(len(x), len(y)) >= 4 and fuzz.ratio(x, y) >= 80)  # OCR slips, not Hùng vs Dũng

    if not (tok(ta[0], tb[0]) and tok(ta[-1], tb[-1])):
        return False
    ma, mb = ta[1:-1], tb[1:-1]
    if not ma or not mb:
        return True
    short, long_ = (ma, mb) if len(ma) <= len(mb) else (mb, ma)
    return all(any(tok(x, y) for y in long_) for x in short)


def _digits_close(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) <= 1


Relation = str  # "same" | "likely" | "unknown" | "different"


def relation(a: Profile, b: Profile) -> Relation:
    """How sure we are that two letters come from the same petitioner."""
    if a.organization or b.organization:
        # A business is its own petitioner, whoever signs; its director writing about his
        # own house is another petitioner.
        if a.organization and b.organization:
            return "same" if fuzz.token_set_ratio(a.organization, b.organization) >= 90 else "different"
        return "different"
    if a.id_number and b.id_number and len(a.id_number) == len(b.id_number):
        if _digits_close(a.id_number, b.id_number):
            return "same" if not (a.name and b.name) or names_compatible(a.name, b.name) else "likely"
        return "different"
    same_phone = bool(a.phone and b.phone and _digits_close(a.phone, b.phone))
    if any(names_compatible(x, y) for x in (a.name, *a.relatives) for y in (b.name, *b.relatives) if x and y) and not (
        a.name and b.name and names_compatible(a.name, b.name)
    ):
        return "likely"  # a son writes for his father's household, a wife for her husband
    if a.name and b.name:
        if not names_compatible(a.name, b.name):
            # A household or a group writes again under another member's name, from the
            # same phone: possible, so the content must then say the rest.
            return "likely" if same_phone else "different"
        if same_phone:
            return "same"
        if a.address and b.address and fuzz.token_set_ratio(a.address, b.address) >= 70:
            return "same"
        return "likely"
    if same_phone:
        return "likely"
    if a.name or b.name:
        return "different" if (a.name and b.name) else "unknown"
    return "unknown"


# --- matter -------------------------------------------------------------------------------

_HEADER_LINE = re.compile(
    r"^\W*(?:cong hoa|doc lap|kinh gui|dong kinh gui|toi ten|toi la|tui ten|tui la|ho va ten|ho ten|ten toi|"
    r"dia chi|ho khau|thuong tru|tam tru|noi o|cho o|cu tru|tru tai|cccd|cmnd|can cuoc|so dinh danh|"
    r"dien thoai|so dien thoai|sdt|dt|email|ma so|mst|sinh nam|nam sinh|nguoi lam don|nguoi viet don|"
    r"nguoi dai dien|dai dien|chuc vu|giam doc|xac nhan|noi nhan|ky ten|ky va ghi ro|[a-z\s]*ngay \d+ thang)\b"
)
_WORD = re.compile(r"[a-z0-9]+(?:[/\-][a-z0-9]+)*")


@lru_cache(maxsize=1)
def stoplist() -> frozenset[str]:
    """Words and word pairs so common in letters (formulae, boilerplate, the vocabulary
    of every land dispute) that they say nothing about the matter; made from the corpus
    by bench/case_linking.py --stoplist."""
    if not STOPLIST.exists():
        return frozenset()
    lines = STOPLIST.read_text(encoding="utf-8").splitlines()
    return frozenset(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#"))


def body_features(text: str, fields: Fields) -> set[str]:
    """Words and word pairs of the letter's body (numbers included: parcel, decision and
    plate numbers are what a matter is best recognised by): what it is about, not who
    wrote it. The petitioner's own details (name, address, phone, ID, header lines) are
    left out, or one writer's two disputes would look alike."""
    own_digits = "".join(filter(None, [fields.phone, fields.id_number]))
    own_words = set(_WORD.findall(fold(" ".join(filter(None, [fields.name, fields.address, *fields.relatives])))))

    def own(w: str) -> bool:
        return w in own_words or (w.isdigit() and len(w) >= 3 and w in own_digits)

    feats: set[str] = set()
    stop = stoplist()
    for line in fold(text).split("\n"):
        line = line.strip()
        if not line or (len(line) < 300 and _HEADER_LINE.match(line)):
            continue  # a long line that starts "Tôi là ..." is the whole letter in one paragraph
        words = _WORD.findall(line)
        keep = [not own(w) for w in words]
        feats.update(w for w, k in zip(words, keep) if k and w not in stop)
        feats.update(
            p for (x, y), kx, ky in zip(zip(words, words[1:]), keep, keep[1:]) if (kx or ky) and (p := f"{x} {y}") not in stop
        )
    return feats


def hashes(features: set[str]) -> np.ndarray:
    return np.unique(
        np.fromiter(
            (struct.unpack("<I", hashlib.blake2b(f.encode(), digest_size=4).digest())[0] for f in features),
            dtype=np.uint32,
            count=len(features),
        )
    )


def minhash(h: np.ndarray) -> np.ndarray:
    if not h.size:
        return np.full(PERMUTATIONS, _MAX_HASH, dtype=np.uint32)
    phv = ((np.outer(h.astype(np.uint64), _A) + _B) % _MERSENNE) & _MAX_HASH
    return phv.min(axis=0).astype(np.uint32)


def overlap(a: np.ndarray, b: np.ndarray, min_features: int) -> float:
    """Share of the shorter letter's features found in the other: a two-line reminder
    that names the parcel and the decision scores high against the long first letter."""
    n = min(a.size, b.size)
    if n < min_features:
        return 0.0
    return np.intersect1d(a, b, assume_unique=True).size / n


def profile(text: str, fields: Fields) -> Profile:
    return Profile(
        name=person_name(fields.name),
        organization=org_core(fields.organization),
        id_number=fields.id_number,
        phone=fields.phone,
        address=fold(fields.address) if fields.address else None,
        relatives=tuple(filter(None, (person_name(n) for n in fields.relatives))),
        features=(h := hashes(body_features(text, fields))),
        signature=minhash(h),
    )


# --- the persisted index and the case records ----------------------------------------------

@dataclass(frozen=True)
class Recurrence:
    """A case with at least `min_letters` letters whose received dates span more than
    `span_days` is recurrent, from the letter that makes it so on."""

    min_letters: int = 3
    span_days: int = 90

    def flag(self, nth: int, first: date, received: date) -> bool:
        return nth >= self.min_letters and (received - first).days > self.span_days


@dataclass(frozen=True)
class Link:
    case_id: str
    duplicate_of: str | None  # the case's first letter; None for the first
    recurrent: bool
    similarity: float | None = None  # content similarity to the letter it was linked by


# A common name can block together thousands of letters: look at the newest ones only.
# Exact keys (ID number, phone, organisation) and content bands are rarer and get more.
NAME_BLOCK_LIMIT = 150
BLOCK_LIMIT = 400
_LIGHT = (IndexProfile.id, IndexProfile.case_id, IndexProfile.name, IndexProfile.organization,
          IndexProfile.id_number, IndexProfile.phone, IndexProfile.address, IndexProfile.relatives)


def candidates(s: Session, p: Profile) -> list[int]:
    ids: set[int] = set()
    for key in p.keys():
        limit = NAME_BLOCK_LIMIT if key.startswith(("nm:", "ni:")) else BLOCK_LIMIT
        rows = s.execute(
            select(IndexKey.profile_id).where(IndexKey.key == key_hash(key)).order_by(IndexKey.profile_id.desc()).limit(limit)
        ).scalars()
        ids.update(rows)
    return sorted(ids)


def _light(row) -> Profile:
    return Profile(row.name, row.organization, row.id_number, row.phone, row.address,
                   tuple(row.relatives.split("|")) if row.relatives else (), _EMPTY, _EMPTY)


_EMPTY = np.zeros(0, dtype=np.uint32)
_RANK = {"same": 0, "likely": 1, "unknown": 2}


def best_match(s: Session, p: Profile, t: Thresholds = Thresholds()) -> tuple[str, float] | None:
    """The case of the earlier letter most surely from the same petitioner about the same
    matter (the overlap its relation requires, by `Thresholds`). The petitioner is
    compared first on narrow rows; only the letters that may share the petitioner have
    their content features read."""
    ids = candidates(s, p)
    if not ids:
        return None
    rel: dict[int, tuple[str, str]] = {}
    for chunk in range(0, len(ids), 500):
        for row in s.execute(select(*_LIGHT).where(IndexProfile.id.in_(ids[chunk : chunk + 500]))):
            r = relation(p, _light(row))
            if r != "different":
                rel[row.id] = (r, row.case_id)
    if not rel:
        return None
    best = None
    need = {"same": t.same_petitioner, "likely": t.likely_petitioner, "unknown": t.unknown_petitioner}
    for pid, feats in s.execute(select(IndexProfile.id, IndexProfile.features).where(IndexProfile.id.in_(list(rel)))):
        r, case_id = rel[pid]
        sim = overlap(p.features, np.frombuffer(feats, dtype=np.uint32), t.min_features)
        if sim >= need[r]:
            score = (-_RANK[r], sim)
            if best is None or score > best[0]:
                best = (score, case_id, sim)
    return (best[1], best[2]) if best else None


def link(
    s: Session,
    letter_id: str,
    received_on: date,
    p: Profile,
    addressee: str | None,
    rule: Recurrence = Recurrence(),
) -> Link:
    """Put a new letter into its case (found or opened) and index it, in the caller's
    transaction: the letter, its case and the index are stored together or not at all."""
    match = best_match(s, p)
    if match:
        case_id, sim = match
        case = s.get(Case, case_id)
        case.resolved_on = None  # the petitioner writes again: the case is open again
    else:
        sim = None
        case = Case(
            id="C-" + letter_id.removeprefix("L-"),
            opened_on=received_on,
            first_letter=letter_id,
            letters=0,
            first_received=received_on,
            addressees=[],
        )
        s.add(case)
    case.letters = (case.letters or 0) + 1
    case.last_received = max(filter(None, [case.last_received, received_on]))
    if addressee and addressee not in (case.addressees or []):
        case.addressees = [*(case.addressees or []), addressee]
    recurrent = rule.flag(case.letters, case.first_received or received_on, received_on)
    case.recurrent = case.recurrent or recurrent
    profile_row = IndexProfile(
        letter_id=letter_id,
        case_id=case.id,
        received_on=received_on,
        name=p.name,
        organization=p.organization,
        id_number=p.id_number,
        phone=p.phone,
        address=p.address,
        relatives="|".join(p.relatives) or None,
        features=p.features.astype(np.uint32).tobytes(),
        signature=p.signature.astype(np.uint32).tobytes(),
    )
    s.add(profile_row)
    s.flush()
    s.add_all([IndexKey(key=h, profile_id=profile_row.id) for h in sorted({key_hash(k) for k in p.keys()})])
    s.flush()
    first = case.first_letter if case.first_letter != letter_id else None
    return Link(case.id, first, recurrent, sim)


@dataclass(frozen=True)
class Rescan:
    cases: int
    letters_changed: int
    recurrent_cases: int


def rescan(s: Session, rule: Recurrence, deadline_of=None, case_ids: list[str] | None = None) -> Rescan:
    """Recompute the case records and their letters' `duplicate_of`, `recurrent` (and,
    given `deadline_of(letter_type, received_on)`, the deadlines of unresolved letters)
    from the letters themselves, in received order: every case at the nightly pass (after
    late letters and edited tables), or just `case_ids` when a supervisor moves a letter."""
    changed = n_cases = n_recurrent = 0
    scope = Letter.case_id.in_(case_ids) if case_ids is not None else Letter.case_id.is_not(None)
    if case_ids is None:
        changed += link_unlinked(s, rule)
    rows = s.execute(
        select(Letter.id, Letter.case_id, Letter.received_on, Letter.addressee, Letter.letter_type, Letter.status,
               Letter.duplicate_of, Letter.recurrent, Letter.deadline)
        .where(scope)
        .order_by(Letter.case_id, Letter.received_on, Letter.created_at, Letter.id)
    ).all()
    seen: set[str] = set()
    for case_id, group in groupby(rows, key=lambda r: r.case_id):
        group = list(group)
        seen.add(case_id)
        case = s.get(Case, case_id)
        first = group[0]
        addressees: list[str] = []
        recurrent_case = False
        for nth, r in enumerate(group, start=1):
            rec = rule.flag(nth, first.received_on, r.received_on)
            recurrent_case |= rec
            if r.addressee and r.addressee not in addressees:
                addressees.append(r.addressee)
            want = {"duplicate_of": None if nth == 1 else first.id, "recurrent": rec}
            if deadline_of is not None and r.status != "resolved":
                want["deadline"] = deadline_of(r.letter_type, r.received_on)
            if any(getattr(r, k) != v for k, v in want.items()):
                s.execute(update(Letter).where(Letter.id == r.id).values(want))
                changed += 1
        case.first_letter, case.letters = first.id, len(group)
        case.first_received, case.last_received = first.received_on, group[-1].received_on
        case.addressees, case.recurrent = addressees, recurrent_case
        n_cases += 1
        n_recurrent += recurrent_case
    for case_id in set(case_ids or ()) - seen:  # a case whose last letter was moved out
        if (case := s.get(Case, case_id)) is not None:
            case.letters, case.recurrent = 0, False
    return Rescan(n_cases, changed, n_recurrent)


def link_unlinked(s: Session, rule: Recurrence) -> int:
    """Link letters stored before case linking existed (a database from release 0.1)."""
    from .extract import extract

    n = 0
    for letter in s.scalars(select(Letter).where(Letter.case_id.is_(None)).order_by(Letter.received_on, Letter.created_at)):
        fields = extract(letter.text)
        got = link(s, letter.id, letter.received_on, profile(letter.text, fields), letter.addressee, rule)
        letter.case_id, letter.duplicate_of, letter.recurrent = got.case_id, got.duplicate_of, got.recurrent
        n += 1
    return n


def resolve(s: Session, case_id: str, on: date, note: str, by: str) -> int:
    """Mark a case resolved: its letters are answered and can no longer be overdue.
    Returns the number of letters closed; each change is recorded in the audit trail."""
    case = s.get(Case, case_id)
    if case is None:
        raise CaseNotFound(case_id)
    case.resolved_on, case.resolution_note, case.resolved_by = on, note, by
    letters = list(s.scalars(select(Letter).where(Letter.case_id == case_id, Letter.status != "resolved")))
    for letter in letters:
        s.add(Correction(letter_id=letter.id, field="status", before=letter.status, after="resolved", user=by))
        letter.status = "resolved"
    return len(letters)
