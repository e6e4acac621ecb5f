"""The model registry: which model classifies letters, the models before it, and the
candidates retrained with supervisors' corrections that were kept or turned down.

    shipped model (models/)  -- registered as `active` on first use
    petitions train / nightly -> candidate = corpus + corrected letters
        -> measured beside the active model on the held-out split (clean, OCR'd) and on the
           newest corrected letters (never trained on)
        -> promoted (`active`; the one before becomes `previous`) only if no figure is
           worse than the active model's by more than `retrain_margin`; else `rejected`

Candidates are written under DATA_DIR/models/<name>/ in the format of models/; nothing in
models/ is ever overwritten here. `petitions models list|promote|rollback`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import train
from .errors import PetitionsError
from .settings import Settings
from .store import Correction, ModelRecord, utcnow

STATUSES = ("active", "previous", "candidate", "rejected")


class RegistryError(PetitionsError):
    """An unknown model name, or nothing to roll back to."""

    exit_code = 2


@dataclass
class Decision:
    """What a retraining decided, and on what figures."""

    promoted: bool
    candidate: str | None
    current: str | None
    reasons: list[str]
    # {"current" | "candidate": {set: {figure: value}}}
    figures: dict[str, dict[str, dict]] = field(default_factory=dict)
    margin: float = 0.0
    n_train_corrections: int = 0
    n_eval_corrections: int = 0
    threshold: float | None = None
    seconds: float = 0.0

    def comparison(self) -> list[tuple[str, str, float | None, float | None, bool]]:
        """(set, figure, current, candidate, within the margin) for every guarded figure."""
        cur, cand = self.figures.get("current", {}), self.figures.get("candidate", {})
        out = []
        for set_name in cand:
            for fig in train.GUARD_FIGURES:
                c = cand[set_name].get(fig)
                p = cur.get(set_name, {}).get(fig)
                out.append((set_name, fig, p, c, p is None or (c is not None and c >= p - self.margin - 1e-9)))
        return out

    def markdown(self) -> str:
        """The comparison as a markdown table (the nightly run's artifact)."""
        lines = ["| set | figure | current | candidate | |", "|---|---|---|---|---|"]
        for st, fig, cur, cand, ok in self.comparison():
            lines.append(f"| {st} | {fig} | {'-' if cur is None else f'{cur:.3f}'} | {cand:.3f} | {'ok' if ok else '**worse**'} |")
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        if self.candidate is None:
            return "no candidate trained: " + "; ".join(self.reasons)
        verdict = f"promoted {self.candidate}" if self.promoted else f"kept {self.current}, rejected {self.candidate}"
        return f"{verdict}: " + "; ".join(self.reasons)


def _utc(d: datetime | None) -> datetime | None:
    if d is None:
        return None
    return d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)


def _manifest(path: Path) -> dict | None:
    p = path / train.MANIFEST
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def _shipped_figures(manifest: dict) -> dict:
    return {"figures": {k: train.figures(v) for k, v in manifest.get("metrics", {}).items()},
            "threshold": manifest.get("threshold")}


def register_shipped(sessions: sessionmaker, settings: Settings) -> None:
    """Register the model in `settings.models_dir` (the shipped one): `active` when the
    registry has no active model yet, else `previous`. If `petitions train` rewrote that
    folder from the corpus since, its row is brought up to date."""
    path = settings.models_dir.resolve()
    manifest = _manifest(path)
    if manifest is None:
        return
    created = _utc(datetime.fromisoformat(manifest["created"])) if manifest.get("created") else utcnow()
    try:
        with sessions.begin() as s:
            row = s.scalar(select(ModelRecord).where(ModelRecord.path == str(path)))
            if row is None:
                has_active = s.scalar(select(ModelRecord.id).where(ModelRecord.status == "active").limit(1))
                s.add(ModelRecord(
                    name=manifest["name"], path=str(path), created_at=created, data_sha256=manifest.get("data_sha256"),
                    n_corrections=0, metrics=_shipped_figures(manifest), status="previous" if has_active else "active",
                    decided_at=utcnow(), note="shipped model (trained on the corpus only)",
                ))
            elif row.name != manifest["name"]:
                row.name, row.created_at, row.data_sha256 = manifest["name"], created, manifest.get("data_sha256")
                row.metrics = _shipped_figures(manifest)
                row.note = "shipped model, retrained from the corpus by `petitions train`"
    except IntegrityError:  # another process registered it at the same moment
        pass


def _active(s: Session) -> ModelRecord | None:
    return s.scalar(select(ModelRecord).where(ModelRecord.status == "active")
                    .order_by(ModelRecord.decided_at.desc(), ModelRecord.id.desc()).limit(1))


def active_dir(sessions: sessionmaker, settings: Settings) -> Path:
    """The folder of the model letters are classified with: the registry's active model,
    or `settings.models_dir` when there is none (or its folder is gone)."""
    register_shipped(sessions, settings)
    with sessions() as s:
        row = _active(s)
    if row is not None and (Path(row.path) / train.MANIFEST).exists():
        return Path(row.path)
    return settings.models_dir


def list_models(sessions: sessionmaker, settings: Settings | None = None) -> list[ModelRecord]:
    """Every registered model, oldest first."""
    if settings is not None:
        register_shipped(sessions, settings)
    with sessions() as s:
        return list(s.scalars(select(ModelRecord).order_by(ModelRecord.created_at, ModelRecord.id)))


def _check_loads(row: ModelRecord) -> None:
    train.load(Path(row.path))  # refuses missing or altered files, other library versions (exit 8)


def promote(sessions: sessionmaker, name: str, settings: Settings | None = None, note: str = "promoted by hand") -> ModelRecord:
    """Make `name` the active model; the active one becomes `previous`."""
    if settings is not None:
        register_shipped(sessions, settings)
    with sessions.begin() as s:
        row = s.scalar(select(ModelRecord).where(ModelRecord.name == name))
        if row is None:
            known = ", ".join(s.scalars(select(ModelRecord.name).order_by(ModelRecord.created_at))) or "none"
            raise RegistryError(f"No model named {name!r} in the registry (known: {known}); see `petitions models list`.")
        if row.status == "active":
            return row
        _check_loads(row)
        now = utcnow()
        for old in s.scalars(select(ModelRecord).where(ModelRecord.status == "active")):
            old.status, old.decided_at = "previous", now
        row.status, row.decided_at = "active", now
        row.note = f"{row.note}; {note}" if row.note else note
        return row


def rollback(sessions: sessionmaker, settings: Settings | None = None) -> tuple[ModelRecord, ModelRecord]:
    """The active model becomes `previous`; the newest `previous` model created before it
    becomes active. Returns (the model now active, the model set aside). Rolling back
    again goes one model further back."""
    if settings is not None:
        register_shipped(sessions, settings)
    with sessions.begin() as s:
        current = _active(s)
        if current is None:
            raise RegistryError("No active model in the registry: nothing to roll back.")
        back = s.scalar(
            select(ModelRecord)
            .where(ModelRecord.status == "previous", ModelRecord.created_at < current.created_at)
            .order_by(ModelRecord.created_at.desc(), ModelRecord.id.desc()).limit(1)
        )
        if back is None:
            raise RegistryError(f"{current.name} is the oldest model kept: there is no earlier model to roll back to.")
        _check_loads(back)
        now = utcnow()
        current.status, current.decided_at = "previous", now
        current.note = f"{current.note}; rolled back" if current.note else "rolled back"
        back.status, back.decided_at = "active", now
        return back, current


def corrections_since_latest_model(sessions: sessionmaker, settings: Settings) -> int:
    """Corrections (type, topic or confirmation) made after the newest registered model
    was trained, active or turned down: the nightly run retrains only when there are some
    (the same corrections would give the same candidate again)."""
    register_shipped(sessions, settings)
    with sessions() as s:
        latest = s.scalar(select(func.max(ModelRecord.created_at)))
        q = select(func.count()).select_from(Correction).where(Correction.field.in_(train.CORRECTION_FIELDS))
        if latest is not None:
            q = q.where(Correction.at > latest)
        return int(s.scalar(q) or 0)


def _unique_name(s: Session, base: str) -> str:
    name, i = base, 1
    while s.scalar(select(ModelRecord.id).where(ModelRecord.name == name)) is not None:
        i += 1
        name = f"{base}-{i}"
    return name


def _evaluate(loaded: train.Loaded, sets: dict, table) -> dict:
    """The guarded figures on every set, and the share routed without review at the model's own threshold."""
    return {k: train.figures(train.score_prepared(loaded.models, prepared, rows, table, loaded.threshold))
            for k, (prepared, rows) in sets.items()}


def retrain(sessions: sessionmaker, settings: Settings, seed: int = 0) -> Decision:
    """Train a candidate on the corpus plus the corrected letters, measure it beside the
    active model, and promote it only if no figure drops by more than the margin. The
    candidate, its figures, the active model's and the decision go into the registry."""
    from . import routing

    t0 = time.perf_counter()
    margin = settings.retrain_margin
    current_path = active_dir(sessions, settings)
    with sessions() as s:
        current_row = _active(s)
    current_name = current_row.name if current_row else None
    read_at = utcnow()  # the candidate sees the corrections made up to this moment
    rows = train.corrected_rows(sessions)
    to_train, to_eval = train.split_corrections(rows, settings.retrain_eval_share)
    if not to_train:
        return Decision(False, None, current_name, [f"{len(rows)} corrected letter(s): too few to train on and test"],
                        margin=margin, n_eval_corrections=len(to_eval))
    table = routing.current(settings)
    stamp = read_at.strftime("%Y%m%dT%H%M%S")
    base = f"petitions-{train.candidate_data_hash(to_train)[:10]}-s{seed}-c{len(to_train)}-{stamp}"
    with sessions.begin() as s:
        name = _unique_name(s, base)
        out_dir = (settings.data_dir / "models" / name).resolve()
        s.add(ModelRecord(name=name, path=str(out_dir), created_at=read_at, status="candidate",
                          n_corrections=len(to_train), metrics={}, note="training"))
    try:
        try:
            floor = train.load(current_path).threshold
        except PetitionsError:
            floor = None
        manifest = train.train_candidate(out_dir, name, to_train, settings.retrain_correction_weight, seed=seed,
                                         routing=table, min_threshold=floor)
        train_seconds = time.perf_counter() - t0
        sets = {k: (train.prepare_many(texts), rs) for k, (texts, rs) in train.heldout_sets().items()}
        if to_eval:
            sets["corrections"] = (train.prepare_many([r["text"] for r in to_eval]), to_eval)
        candidate_figs = _evaluate(train.load(out_dir), sets, table)
    except BaseException as e:
        with sessions.begin() as s:
            row = s.scalar(select(ModelRecord).where(ModelRecord.name == name))
            row.status, row.decided_at, row.note = "rejected", utcnow(), f"training failed: {type(e).__name__}: {e}"
        raise
    reasons: list[str] = []
    try:
        current_figs = _evaluate(train.load(current_path), sets, table)
    except PetitionsError as e:
        current_figs = {}
        reasons.append(f"no usable current model ({e})")
    decision = Decision(False, name, current_name, reasons, {"current": current_figs, "candidate": candidate_figs},
                        margin=margin, n_train_corrections=len(to_train), n_eval_corrections=len(to_eval),
                        threshold=manifest["threshold"])
    worse = [(st, fig, p, c) for st, fig, p, c, ok in decision.comparison() if not ok]
    decision.promoted = not worse
    if worse:
        reasons += [f"{st} {fig} {c:.3f} < {p:.3f} - {margin:g}" for st, fig, p, c in worse]
    elif current_figs:
        reasons.append(f"no figure worse than {current_name} by more than {margin:g}")
    decision.seconds = time.perf_counter() - t0

    now = utcnow()
    with sessions.begin() as s:
        row = s.scalar(select(ModelRecord).where(ModelRecord.name == name))
        row.data_sha256 = manifest["data_sha256"]
        row.metrics = {
            "figures": candidate_figs,
            "threshold": manifest["threshold"],
            "compared_with": {"name": current_name, "path": str(current_path), "figures": current_figs},
            "margin": margin,
            "promoted": decision.promoted,
            "reasons": reasons,
            "corrections": {"trained_on": len(to_train), "evaluated_on": len(to_eval),
                            "weight": settings.retrain_correction_weight,
                            "evaluation_letters": [r["id"] for r in to_eval]},
            "seconds": {"training": round(train_seconds, 1), "total": round(decision.seconds, 1)},
        }
        row.decided_at = now
        if decision.promoted:
            for old in s.scalars(select(ModelRecord).where(ModelRecord.status == "active")):
                old.status, old.decided_at = "previous", now
            row.status, row.note = "active", "promoted: " + "; ".join(reasons)
        else:
            row.status, row.note = "rejected", "rejected: " + "; ".join(reasons)
    return decision
