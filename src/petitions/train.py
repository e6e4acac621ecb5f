"""Training, evaluation and the model files in `models/`.

The corpus is the letters written for this project (`models/corpus/parts/*.jsonl`) plus
their OCR'd copies (`models/corpus/ocr/*.jsonl`, made by `models/corpus/make_ocr_copies.py`
from real renders through tesseract). Letters are split by *matter*, so a follow-up
letter never sits on the other side of the split from its first letter; the held-out
split (`heldout`, ~20 %) is touched by nothing but the final evaluation and the choice of
the review threshold.

A model file is loaded only if its sha256 matches the manifest beside it and it was built
with the same scikit-learn, NumPy, SciPy and skops versions as those installed: a model
file is code, and a stale or altered one must not run.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np

from . import classify
from .errors import FatalError

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = ROOT / "models"
CORPUS_DIR = MODELS_DIR / "corpus"
MANIFEST = "manifest.json"
LIBRARIES = ["scikit-learn", "numpy", "scipy", "skops", "underthesea"]
# Types a model file may contain beyond what skops trusts by default.
TRUSTED = [
    "petitions.classify._split",
    "petitions.classify.view_norm",
    "petitions.classify.view_words",
    "petitions.classify.view_request",
    "petitions.classify.Models",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.svm._classes.LinearSVC",
    "builtins.str",
    "numpy.dtype",
    "numpy.int64",
    "numpy.float64",
    "scipy.sparse._csr.csr_matrix",
]
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


def is_heldout(row: dict) -> bool:
    h = int(hashlib.sha256(row["matter"].encode()).hexdigest(), 16)
    return h % 100 < HELDOUT_SHARE


def data_hash(rows: list[dict], extra: dict[str, str]) -> str:
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: r["id"]):
        h.update(json.dumps([r["id"], r["text"], r["letter_type"], r["topic"]], ensure_ascii=False).encode())
    for k in sorted(extra):
        h.update(k.encode() + extra[k].encode())
    return h.hexdigest()


# --- metrics ------------------------------------------------------------------------


def department_probs(tp: np.ndarray, cp: np.ndarray, routing) -> tuple[list[str], np.ndarray]:
    """P(department) from independent type and topic probabilities."""
    depts = sorted(set(routing.routes.values()))
    out = np.zeros((tp.shape[0], len(depts)))
    for (t, c), d in routing.routes.items():
        out[:, depts.index(d)] += tp[:, classify.LETTER_TYPES.index(t)] * cp[:, classify.TOPICS.index(c)]
    return depts, out


def macro_f1(truth: list[str], pred: list[str], labels: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, pred, labels=labels, average="macro", zero_division=0))


def confusion(truth: list[str], pred: list[str], labels: list[str]) -> list[list[int]]:
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(truth, pred, labels=labels).tolist()


def score(models: classify.Models, texts: list[str], rows: list[dict], routing, threshold: float | None) -> dict:
    tp, cp = models.predict([classify.prepare(t) for t in texts])
    depts, dp = department_probs(tp, cp, routing)
    types = [classify.LETTER_TYPES[i] for i in tp.argmax(1)]
    topics = [classify.TOPICS[i] for i in cp.argmax(1)]
    dept_pred = [routing.department(t, c) for t, c in zip(types, topics)]
    truth_t = [r["letter_type"] for r in rows]
    truth_c = [r["topic"] for r in rows]
    truth_d = [routing.department(r["letter_type"], r["topic"]) for r in rows]
    dept_conf = np.array([dp[i, depts.index(d)] for i, d in enumerate(dept_pred)])
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


def choose_threshold(dept_conf: list[float], correct: list[bool], target: float = 0.99) -> float:
    """The lowest department confidence at which letters routed automatically are still
    >= `target` correct: as many letters as possible skip the supervisor."""
    conf, ok = np.array(dept_conf), np.array(correct)
    best = 1.0
    for t in sorted(set(np.round(conf, 4)), reverse=True):
        auto = conf >= t
        if ok[auto].mean() >= target:
            best = float(t)
        else:
            break
    return best


# --- artifacts ----------------------------------------------------------------------


def library_versions() -> dict[str, str]:
    return {lib: version(lib) for lib in LIBRARIES} | {"python": platform.python_version()}


def _minor(v: str) -> str:
    return ".".join(v.split(".")[:2])


def save(models: classify.Models, manifest: dict, models_dir: Path = MODELS_DIR) -> Path:
    import skops.io as sio

    models_dir.mkdir(parents=True, exist_ok=True)
    name = f"petitions-{manifest['data_sha256'][:10]}-s{manifest['seed']}.skops"
    path = models_dir / name
    sio.dump(models, path)
    manifest = dict(manifest, file=name, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                    libraries=library_versions(), created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    (models_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


@dataclass
class Loaded:
    models: classify.Models
    manifest: dict

    @property
    def threshold(self) -> float:
        return float(self.manifest["threshold"])


def load(models_dir: Path = MODELS_DIR) -> Loaded:
    import skops.io as sio

    mpath = models_dir / MANIFEST
    if not mpath.exists():
        raise ModelUnavailable(f"No model in {models_dir}: run `petitions train`.")
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    path = models_dir / manifest["file"]
    if not path.exists():
        raise ModelUnavailable(f"The model file {path} is missing: run `petitions train`.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != manifest["sha256"]:
        raise ModelUnavailable(
            f"The model file {path.name} was altered after it was built (sha256 differs from {MANIFEST}); "
            "refusing to load it. Restore it from git or run `petitions train`."
        )
    installed = library_versions()
    for lib in ("scikit-learn", "numpy", "scipy", "skops"):
        if _minor(manifest["libraries"][lib]) != _minor(installed[lib]):
            raise ModelUnavailable(
                f"The model was built with {lib} {manifest['libraries'][lib]}, {installed[lib]} is installed; "
                "run `petitions train` to rebuild it with the installed libraries."
            )
    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED)
    if untrusted:
        raise ModelUnavailable(f"The model file {path.name} contains unexpected types {sorted(untrusted)}; refusing to load it.")
    models = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    return Loaded(models, manifest)


# --- the whole training run -----------------------------------------------------------


def train_and_save(seed: int = 0, models_dir: Path = MODELS_DIR, corpus_dir: Path = CORPUS_DIR, routing=None) -> dict:
    """Fit on the training split (clean + OCR'd copies), choose the review threshold and
    measure on the held-out split, write the model and its manifest. Same data and seed,
    same model."""
    from . import routing as routing_mod

    routing = routing or routing_mod.load(routing_mod.DEFAULT)
    rows = corpus(corpus_dir)
    ocr = ocr_copies(corpus_dir)
    train_rows = [r for r in rows if not is_heldout(r)]
    held = [r for r in rows if is_heldout(r)]
    texts = [r["text"] for r in train_rows] + [ocr[r["id"]] for r in train_rows if r["id"] in ocr]
    labelled = train_rows + [r for r in train_rows if r["id"] in ocr]
    prepared = [classify.prepare(t) for t in texts]
    models = classify.fit(prepared, [r["letter_type"] for r in labelled], [r["topic"] for r in labelled], seed=seed)
    held_ocr = [r for r in held if r["id"] in ocr]
    clean = score(models, [r["text"] for r in held], held, routing, None)
    scans = score(models, [ocr[r["id"]] for r in held_ocr], held_ocr, routing, None)
    threshold = choose_threshold(clean["_dept_conf"] + scans["_dept_conf"], clean["_dept_correct"] + scans["_dept_correct"])
    clean = score(models, [r["text"] for r in held], held, routing, threshold)
    scans = score(models, [ocr[r["id"]] for r in held_ocr], held_ocr, routing, threshold)
    public = lambda m: {k: v for k, v in m.items() if not k.startswith("_")}  # noqa: E731
    manifest = {
        "seed": seed,
        "data_sha256": data_hash(rows, ocr),
        "n_train_letters": len(train_rows),
        "n_train_texts": len(texts),
        "n_heldout": len(held),
        "threshold": threshold,
        "metrics": {"heldout_clean": public(clean), "heldout_ocr": public(scans)},
    }
    save(models, manifest, models_dir)
    return json.loads((models_dir / MANIFEST).read_text(encoding="utf-8"))
