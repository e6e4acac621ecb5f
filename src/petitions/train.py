"""Training, evaluation and the model files in `models/`.

The corpus is the letters written for this project (`models/corpus/parts/*.jsonl`) plus
their OCR'd copies (`models/corpus/ocr/*.jsonl`, made by `models/corpus/make_ocr_copies.py`
from real renders through tesseract). Letters are split by *matter*, so a follow-up
letter never sits on the other side of the split from its first letter; the held-out
split (`heldout`, ~20 %) is touched by nothing but the final evaluation and the choice of
the review threshold.

A model file is loaded only if its sha256 matches the manifest beside it and it was built
with the same scikit-learn, NumPy and SciPy versions as those installed: a model
file is code, and a stale or altered one must not run.
"""

from __future__ import annotations

import hashlib
import json
import platform
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np

from . import classify
from .errors import FatalError

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = ROOT / "models" / "corpus"
MANIFEST = "manifest.json"
LIBRARIES = ["scikit-learn", "numpy", "scipy", "underthesea"]
HELDOUT_SHARE = 20  # percent of matters


class ModelUnavailable(FatalError):
    exit_code = 8


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def corpus(corpus_dir: Path = CORPUS_DIR) -> list[dict]:
    rows = [r for p in sorted((corpus_dir / "parts").glob("*.jsonl")) for r in load_jsonl(p)]
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate ids in the corpus")
    return rows


def ocr_copies(corpus_dir: Path = CORPUS_DIR) -> dict[str, str]:
    """id -> text read back by OCR from a degraded render of that letter."""
    return {r["id"]: r["text"] for p in sorted((corpus_dir / "ocr").glob("*.jsonl")) for r in load_jsonl(p)}


_TONES = "\u0300\u0301\u0303\u0309\u0323"
_SHAPES = {"ư": "u", "ơ": "o", "ă": "a", "â": "a", "ê": "e", "ô": "o", "đ": "d", "Đ": "D", "d": "đ"}
_GLYPHS = [("m", "rn"), ("rn", "m"), ("l", "1"), ("i", "l"), ("o", "ö"), ("c", "e"), ("h", "b")]


def ocr_noise(text: str, seed: int, rate: float = 0.02) -> str:
    """The errors tesseract makes on Vietnamese scans (../shared/notes/ocr-nlp.md): lost or
    swapped tone marks, a lost horn or breve, d/đ, rn/m, words run together or split.
    Used for letters that have no real OCR'd copy yet."""
    import random
    import unicodedata

    rng = random.Random(seed)
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        r = rng.random()
        if ch.isalpha() and r < rate:
            kind = rng.randrange(5)
            d = unicodedata.normalize("NFD", ch)
            tones = [c for c in d if c in _TONES]
            if kind == 0 and tones:  # tone lost
                ch = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONES))
            elif kind == 1 and tones:  # tone swapped
                ch = unicodedata.normalize("NFC", d.replace(tones[0], rng.choice(_TONES)))
            elif kind == 2:  # horn, breve or circumflex lost; d/đ
                base = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONES))
                shaped = _SHAPES.get(base.lower(), base.lower())
                shaped = shaped.upper() if base.isupper() else shaped
                ch = unicodedata.normalize("NFC", shaped + "".join(tones))
            elif kind == 3:
                for a, b in _GLYPHS:
                    if text.startswith(a, i):
                        out.append(b)
                        i += len(a)
                        break
                else:
                    out.append(ch)
                    i += 1
                continue
        elif ch == " " and r < rate / 2:
            ch = ""  # words run together
        out.append(ch)
        i += 1
    return "".join(out)


def is_heldout(row: dict) -> bool:
    h = int(hashlib.sha256(row["matter"].encode()).hexdigest(), 16)
    return h % 100 < HELDOUT_SHARE


def ocr_copy(row: dict, ocr: dict[str, str]) -> str:
    """The real OCR'd copy when there is one, else the letter with OCR-like noise."""
    return ocr.get(row["id"]) or ocr_noise(row["text"], seed=int(hashlib.sha256(row["id"].encode()).hexdigest()[:8], 16))


def data_hash(rows: list[dict], extra: dict[str, str]) -> str:
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: r["id"]):
        h.update(json.dumps([r["id"], r["text"], r["letter_type"], r["topic"]], ensure_ascii=False).encode())
    for k in sorted(extra):
        h.update(k.encode() + extra[k].encode())
    return h.hexdigest()


# --- metrics ------------------------------------------------------------------------


def macro_f1(truth: list[str], pred: list[str], labels: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, pred, labels=labels, average="macro", zero_division=0))


def confusion(truth: list[str], pred: list[str], labels: list[str]) -> list[list[int]]:
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(truth, pred, labels=labels).tolist()


def score(models: classify.Models, texts: list[str], rows: list[dict], routing, threshold: float | None) -> dict:
    tp, cp = models.predict([classify.prepare(t) for t in texts])
    return score_probs(tp, cp, rows, routing, threshold)


def score_probs(tp: np.ndarray, cp: np.ndarray, rows: list[dict], routing, threshold: float | None) -> dict:
    from .routing import decide

    types = [classify.LETTER_TYPES[i] for i in tp.argmax(1)]
    topics = [classify.TOPICS[i] for i in cp.argmax(1)]
    decisions = [
        decide(dict(zip(classify.LETTER_TYPES, a)), dict(zip(classify.TOPICS, b)), routing,
               threshold=0.0, ocr_confidence=None, ocr_low=0.0, text_letters=10**6)
        for a, b in zip(tp, cp)
    ]
    dept_pred = [d.department for d in decisions]
    dept_conf = np.array([d.department_confidence for d in decisions])
    truth_t = [r["letter_type"] for r in rows]
    truth_c = [r["topic"] for r in rows]
    truth_d = [routing.department(r["letter_type"], r["topic"]) for r in rows]
    correct_d = np.array([a == b for a, b in zip(dept_pred, truth_d)])
    out = {
        "n": len(rows),
        "type_accuracy": float(np.mean([a == b for a, b in zip(types, truth_t)])),
        "topic_macro_f1": macro_f1(truth_c, topics, classify.TOPICS),
        "topic_accuracy": float(np.mean([a == b for a, b in zip(topics, truth_c)])),
        "department_accuracy": float(correct_d.mean()),
        "type_confusion": {"labels": classify.LETTER_TYPES, "matrix": confusion(truth_t, types, classify.LETTER_TYPES)},
        "topic_confusion": {"labels": classify.TOPICS, "matrix": confusion(truth_c, topics, classify.TOPICS)},
        "calibration": calibration_bins(np.concatenate([tp.max(1), cp.max(1)]),
                                        np.concatenate([np.array(types) == np.array(truth_t), np.array(topics) == np.array(truth_c)])),
    }
    if threshold is not None:
        auto = dept_conf >= threshold
        out["threshold"] = threshold
        out["auto_routed_share"] = float(auto.mean())
        out["auto_routed_accuracy"] = float(correct_d[auto].mean()) if auto.any() else None
    out["_dept_conf"] = dept_conf.tolist()
    out["_dept_correct"] = correct_d.tolist()
    out["_pred"] = [{"letter_type": a, "topic": b, "department": c} for a, b, c in zip(types, topics, dept_pred)]
    return out


def calibration_bins(conf: np.ndarray, correct: np.ndarray, edges=(0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.01)) -> list[dict]:
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf >= lo) & (conf < hi)
        if m.any():
            bins.append({"from": lo, "to": min(hi, 1.0), "n": int(m.sum()), "mean_confidence": float(conf[m].mean()),
                         "accuracy": float(correct[m].mean())})
    return bins


def choose_threshold(dept_conf: list[float], correct: list[bool], target: float = 0.99, min_routed: int = 20) -> float:
    """The lowest department confidence at which the letters routed automatically are
    still >= `target` correct (counted over at least `min_routed` letters, so that a
    handful of lucky letters does not set it): as many letters as possible skip the
    supervisor, and those that do are right."""
    conf, ok = np.array(dept_conf), np.array(correct)
    best = 1.0
    for t in sorted(set(np.round(conf, 4)), reverse=True):
        auto = conf >= t
        if auto.sum() >= min_routed and ok[auto].mean() >= target:
            best = float(t)
    return best


# --- artifacts ----------------------------------------------------------------------


def library_versions() -> dict[str, str]:
    return {lib: version(lib) for lib in LIBRARIES} | {"python": platform.python_version()}


def _minor(v: str) -> str:
    return ".".join(v.split(".")[:2])


def save(models: classify.Models, manifest: dict, models_dir: Path, name: str | None = None) -> Path:
    """Write `<name>.json` (vocabularies, labels) and `<name>.npz` (weights), then the
    manifest with their sha256: plain data that loads without running code. The name is
    `petitions-<data hash>-s<seed>` unless given (the registry's unique names)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    name = name or f"petitions-{manifest['data_sha256'][:10]}-s{manifest['seed']}"
    heads = {"letter_type": models.letter_type, "topic": models.topic}
    meta = {
        "format": 1,
        "vocabularies": models.vocabularies,
        "classes": {k: h.classes for k, h in heads.items()},
    }
    arrays = {f"idf.{v}": a for v, a in models.idf.items()}
    for k, h in heads.items():
        arrays |= {f"{k}.coef": h.coef.astype(np.float32), f"{k}.intercept": h.intercept,
                   f"{k}.cal_a": h.cal_a, f"{k}.cal_b": h.cal_b}
    (models_dir / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    with (models_dir / f"{name}.npz").open("wb") as f:
        np.savez_compressed(f, **arrays)
    files = {n: hashlib.sha256((models_dir / n).read_bytes()).hexdigest() for n in (f"{name}.json", f"{name}.npz")}
    manifest = dict(manifest, name=name, files=files, libraries=library_versions(),
                    created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    (models_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return models_dir / f"{name}.npz"


@dataclass
class Loaded:
    models: classify.Models
    manifest: dict

    @property
    def threshold(self) -> float:
        return float(self.manifest["threshold"])


_CACHE: dict[tuple[str, float], Loaded] = {}
_CACHE_LOCK = threading.Lock()


def load_cached(models_dir: Path) -> Loaded:
    """Load once per process (per manifest version): letters are classified in threads."""
    mpath = models_dir / MANIFEST
    key = (str(mpath), mpath.stat().st_mtime if mpath.exists() else 0.0)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE.clear()
            _CACHE[key] = load(models_dir)
        return _CACHE[key]


def load(models_dir: Path) -> Loaded:
    mpath = models_dir / MANIFEST
    if not mpath.exists():
        raise ModelUnavailable(f"No model in {models_dir}: run `petitions train`.")
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    for fname, digest in manifest["files"].items():
        path = models_dir / fname
        if not path.exists():
            raise ModelUnavailable(f"The model file {path} is missing: restore it from git or run `petitions train`.")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise ModelUnavailable(
                f"The model file {fname} was altered after it was built (its sha256 differs from {MANIFEST}); "
                "refusing to load it. Restore it from git or run `petitions train`."
            )
    installed = library_versions()
    for lib in ("scikit-learn", "numpy", "scipy"):
        if _minor(manifest["libraries"][lib]) != _minor(installed[lib]):
            raise ModelUnavailable(
                f"The model was built with {lib} {manifest['libraries'][lib]}, {installed[lib]} is installed; "
                "run `petitions train` to rebuild it with the installed libraries."
            )
    name = manifest["name"]
    meta = json.loads((models_dir / f"{name}.json").read_text(encoding="utf-8"))
    with np.load(models_dir / f"{name}.npz", allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}

    def head(k: str) -> classify.Head:
        return classify.Head(meta["classes"][k], a[f"{k}.coef"].astype(np.float64), a[f"{k}.intercept"],
                             a[f"{k}.cal_a"], a[f"{k}.cal_b"])

    models = classify.Models(meta["vocabularies"], {v: a[f"idf.{v}"] for v in meta["vocabularies"]},
                             head("letter_type"), head("topic"))
    return Loaded(models, manifest)


# --- the whole training run -----------------------------------------------------------


def writer(row: dict) -> str:
    """Corpus ids start with their writer's prefix (N1-001, S2-045, ...)."""
    return row["id"].split("-")[0]


def cross_writer(prepared: list[classify.Prepared], rows: list[dict], routing, seed: int) -> dict:
    """Out-of-fold predictions with each writer held out in turn: how sure the model is on
    letters of a writer it never saw, which is what the office's letters are. The held-out
    split only holds other letters of the same writers, so it alone would set the review
    threshold too low."""
    writers = sorted({writer(r) for r in rows})
    tp = np.zeros((len(rows), len(classify.LETTER_TYPES)))
    cp = np.zeros((len(rows), len(classify.TOPICS)))
    for w in writers:
        fit_idx = [i for i, r in enumerate(rows) if writer(r) != w]
        out_idx = [i for i, r in enumerate(rows) if writer(r) == w]
        m = classify.fit([prepared[i] for i in fit_idx], [rows[i]["letter_type"] for i in fit_idx],
                         [rows[i]["topic"] for i in fit_idx], seed=seed)
        tp[out_idx], cp[out_idx] = m.predict([prepared[i] for i in out_idx])
    return score_probs(tp, cp, rows, routing, None)


def train_and_save(models_dir: Path, seed: int = 0, corpus_dir: Path = CORPUS_DIR, routing=None) -> dict:
    """Fit on the training split (each letter clean and as OCR read it), write the model,
    then measure the file as shipped on the held-out split and choose the review
    threshold there. Same data and seed, same model."""
    from . import routing as routing_mod

    routing = routing or routing_mod.load(routing_mod.DEFAULT)
    rows = corpus(corpus_dir)
    ocr = ocr_copies(corpus_dir)
    train_rows = [r for r in rows if not is_heldout(r)]
    held = [r for r in rows if is_heldout(r)]
    texts = [r["text"] for r in train_rows] + [ocr_copy(r, ocr) for r in train_rows]
    labelled = train_rows + train_rows
    prepared = [classify.prepare(t) for t in texts]
    fitted = classify.fit(prepared, [r["letter_type"] for r in labelled], [r["topic"] for r in labelled], seed=seed)
    manifest = {
        "seed": seed,
        "data_sha256": data_hash(rows, ocr),
        "n_train_letters": len(train_rows),
        "n_train_texts": len(texts),
        "n_real_ocr_copies": sum(r["id"] in ocr for r in train_rows),
        "n_heldout": len(held),
    }
    save(fitted, manifest, models_dir)
    models = load(models_dir).models  # measure the file as shipped, not the object in memory
    cross = cross_writer(prepared, labelled, routing, seed)
    held_ocr = [r for r in held if r["id"] in ocr]
    sets = {"heldout_clean": ([r["text"] for r in held], held), "heldout_ocr": ([ocr[r["id"]] for r in held_ocr], held_ocr)}
    sets = {k: v for k, v in sets.items() if v[1]}
    first = [score(models, texts_, rows_, routing, None) for texts_, rows_ in sets.values()] + [cross]
    threshold = choose_threshold(sum((m["_dept_conf"] for m in first), []), sum((m["_dept_correct"] for m in first), []))
    metrics = {k: score(models, texts_, rows_, routing, threshold) for k, (texts_, rows_) in sets.items()}
    manifest = json.loads((models_dir / MANIFEST).read_text(encoding="utf-8"))
    conf, ok = np.array(cross["_dept_conf"]), np.array(cross["_dept_correct"])
    metrics["cross_writer"] = cross | {"threshold": threshold, "auto_routed_share": float((conf >= threshold).mean()),
                                       "auto_routed_accuracy": float(ok[conf >= threshold].mean()) if (conf >= threshold).any() else None}
    manifest |= {"threshold": threshold,
                 "metrics": {k: {a: b for a, b in m.items() if not a.startswith("_")} for k, m in metrics.items()}}
    (models_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


# --- retraining with supervisors' corrections ----------------------------------------

# A letter counts as corrected (its labels checked by a person) once a supervisor changed
# its type or topic, or confirmed the prediction as it was.
CORRECTION_FIELDS = ("letter_type", "topic", "confirmed")
# Figures the guard compares, on every evaluation set.
GUARD_FIGURES = ("type_accuracy", "topic_macro_f1", "department_accuracy")


def corrected_rows(sessions) -> list[dict]:
    """Letters whose labels a supervisor set or confirmed, as corpus rows (id, text,
    letter_type, topic) plus `corrected_at`, the time of their latest such correction;
    oldest first. Their labels are the letter's current ones (a correction updates the
    letter in place); letters without text or labels are left out."""
    from sqlalchemy import func, select

    from .store import Correction, Letter

    latest = (
        select(Correction.letter_id, func.max(Correction.at).label("at"))
        .where(Correction.field.in_(CORRECTION_FIELDS))
        .group_by(Correction.letter_id)
        .subquery()
    )
    with sessions() as s:
        found = s.execute(
            select(Letter.id, Letter.text, Letter.letter_type, Letter.topic, latest.c.at).join(latest, latest.c.letter_id == Letter.id)
        ).all()
    rows = []
    for lid, text_, letter_type, topic, at in found:
        if letter_type not in classify.LETTER_TYPES or topic not in classify.TOPICS or not (text_ or "").strip():
            continue
        at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
        rows.append({"id": lid, "text": text_, "letter_type": letter_type, "topic": topic, "corrected_at": at})
    return sorted(rows, key=lambda r: (r["corrected_at"], r["id"]))


def split_corrections(rows: list[dict], eval_share: float) -> tuple[list[dict], list[dict]]:
    """(to train on, to evaluate on): the newest `eval_share` of the corrected letters (by
    their latest correction) are kept out of training to test the candidate, at least one
    when there are two or more, and at least one is left to train on."""
    import math

    rows = sorted(rows, key=lambda r: (r["corrected_at"], r["id"]))
    n_eval = min(len(rows), max(1 if len(rows) >= 2 else 0, math.ceil(len(rows) * eval_share)))
    if len(rows) >= 2:
        n_eval = min(n_eval, len(rows) - 1)
    return rows[: len(rows) - n_eval], rows[len(rows) - n_eval :]


_PREPARED: dict[str, classify.Prepared] = {}
_PREPARED_MAX = 20_000


def prepare_many(texts: list[str]) -> list[classify.Prepared]:
    """classify.prepare over many texts, remembering the results in this process: the
    corpus (1,400 texts, ~30 s of word segmentation) is the same at every retraining."""
    out = []
    for t in texts:
        key = hashlib.sha1(t.encode()).hexdigest()
        p = _PREPARED.get(key)
        if p is None:
            if len(_PREPARED) >= _PREPARED_MAX:
                _PREPARED.clear()
            p = _PREPARED[key] = classify.prepare(t)
        out.append(p)
    return out


def heldout_sets(corpus_dir: Path = CORPUS_DIR) -> dict[str, tuple[list[str], list[dict]]]:
    """The held-out split as written and as OCR read it: name -> (texts, rows)."""
    rows = corpus(corpus_dir)
    ocr = ocr_copies(corpus_dir)
    held = [r for r in rows if is_heldout(r)]
    held_ocr = [r for r in held if r["id"] in ocr]
    sets = {"heldout_clean": ([r["text"] for r in held], held), "heldout_ocr": ([ocr[r["id"]] for r in held_ocr], held_ocr)}
    return {k: v for k, v in sets.items() if v[1]}


def score_prepared(models: classify.Models, prepared: list[classify.Prepared], rows: list[dict], routing, threshold: float | None) -> dict:
    """`score` for texts already prepared (several models scored on the same letters)."""
    tp, cp = models.predict(prepared)
    return score_probs(tp, cp, rows, routing, threshold)


def figures(result: dict) -> dict:
    """The figures of a `score` result worth keeping (no confusion matrices, no per-letter lists)."""
    keep = GUARD_FIGURES + ("n", "topic_accuracy", "threshold", "auto_routed_share", "auto_routed_accuracy")
    return {k: result[k] for k in keep if k in result}


def candidate_data_hash(corrections: list[dict], corpus_dir: Path = CORPUS_DIR) -> str:
    """The data a candidate sees: the corpus, its OCR'd copies and the corrected letters with their labels."""
    return data_hash(corpus(corpus_dir) + [{k: r[k] for k in ("id", "text", "letter_type", "topic")} for r in corrections],
                     ocr_copies(corpus_dir))


def train_candidate(models_dir: Path, name: str, corrections: list[dict], weight: int, seed: int = 0,
                    corpus_dir: Path = CORPUS_DIR, routing=None, min_threshold: float | None = None) -> dict:
    """A model trained on the corpus's training split (each letter clean and as OCR read
    it) plus the corrected letters (clean text, each `weight` times), written to
    `models_dir` like `models/`. Faster than `train_and_save`: no cross-writer folds; the
    review threshold is chosen on the held-out split (clean and OCR) alone, which sets it
    too low, so it is never below `min_threshold` (the current model's)."""
    from . import routing as routing_mod

    routing = routing or routing_mod.load(routing_mod.DEFAULT)
    rows = corpus(corpus_dir)
    ocr = ocr_copies(corpus_dir)
    train_rows = [r for r in rows if not is_heldout(r)]
    texts = [r["text"] for r in train_rows] + [ocr_copy(r, ocr) for r in train_rows]
    labelled = train_rows + train_rows
    for _ in range(max(1, weight) if corrections else 0):
        texts += [r["text"] for r in corrections]
        labelled += corrections
    prepared = prepare_many(texts)
    fitted = classify.fit(prepared, [r["letter_type"] for r in labelled], [r["topic"] for r in labelled], seed=seed)
    manifest = {
        "seed": seed,
        "data_sha256": candidate_data_hash(corrections, corpus_dir),
        "n_train_letters": len(train_rows) + len(corrections),
        "n_train_texts": len(texts),
        "n_real_ocr_copies": sum(r["id"] in ocr for r in train_rows),
        "n_corrections": len(corrections),
        "correction_weight": weight,
        "corrected_letters": [r["id"] for r in corrections],
        "n_heldout": sum(1 for r in rows if is_heldout(r)),
        "threshold_from": "heldout",
    }
    save(fitted, manifest, models_dir, name=name)
    models = load(models_dir).models  # the file as written, not the object in memory
    sets = heldout_sets(corpus_dir)
    first = [score_prepared(models, prepare_many(t), r, routing, None) for t, r in sets.values()]
    threshold = choose_threshold(sum((m["_dept_conf"] for m in first), []), sum((m["_dept_correct"] for m in first), []))
    threshold = max(threshold, min_threshold or 0.0)
    metrics = {k: score_prepared(models, prepare_many(t), r, routing, threshold) for k, (t, r) in sets.items()}
    manifest = json.loads((models_dir / MANIFEST).read_text(encoding="utf-8"))
    manifest |= {"threshold": threshold,
                 "metrics": {k: {a: b for a, b in m.items() if not a.startswith("_")} for k, m in metrics.items()}}
    (models_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest
