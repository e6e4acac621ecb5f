"""The shipped model: safe to load, every label reachable, calibrated; training reproducible."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from petitions import classify, routing, train
from petitions.settings import Settings

MODELS = Settings().models_dir


@pytest.fixture(scope="module")
def loaded():
    return train.load(MODELS)


@pytest.fixture(scope="module")
def heldout_scores(loaded):
    held = [r for r in train.corpus() if train.is_heldout(r)]
    return held, train.score(loaded.models, [r["text"] for r in held], held, routing.load(routing.DEFAULT), loaded.threshold)


def test_every_label_and_department_is_reachable(heldout_scores):
    _, s = heldout_scores
    preds = s["_pred"]
    assert {p["letter_type"] for p in preds} == set(classify.LETTER_TYPES)
    assert {p["topic"] for p in preds} == set(classify.TOPICS)
    assert {p["department"] for p in preds} == set(routing.load(routing.DEFAULT).departments)


def test_heldout_quality_and_review_threshold(heldout_scores, loaded):
    _, s = heldout_scores
    assert s["type_accuracy"] >= 0.9 and s["topic_macro_f1"] >= 0.9
    assert s["auto_routed_accuracy"] >= 0.99
    assert loaded.manifest["metrics"]["heldout_clean"]["auto_routed_share"] == pytest.approx(s["auto_routed_share"])


def test_calibration_confidence_matches_accuracy(heldout_scores):
    _, s = heldout_scores
    bins = [b for b in s["calibration"] if b["n"] >= 15]
    assert bins
    for b in bins:
        assert abs(b["accuracy"] - b["mean_confidence"]) < 0.15, b
    # and confidence goes up with accuracy: the most confident bin is the most accurate
    assert bins[-1]["accuracy"] >= max(b["accuracy"] for b in bins[:-1])


def test_altered_model_file_is_refused(tmp_path):
    d = tmp_path / "models"
    shutil.copytree(MODELS, d, ignore=shutil.ignore_patterns("corpus"))
    manifest = json.loads((d / "manifest.json").read_text())
    f = d / f"{manifest['name']}.npz"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(train.ModelUnavailable, match="altered"):
        train.load(d)


def test_model_built_with_other_library_versions_is_refused(tmp_path):
    d = tmp_path / "models"
    shutil.copytree(MODELS, d, ignore=shutil.ignore_patterns("corpus"))
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["libraries"]["scikit-learn"] = "0.24.2"
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(train.ModelUnavailable, match="scikit-learn 0.24.2"):
        train.load(d)


def test_training_is_reproducible(tmp_path):
    """Same data and seed, same model: trained twice on a small corpus, identical predictions."""
    corpus = tmp_path / "corpus"
    (corpus / "parts").mkdir(parents=True)
    (corpus / "ocr").mkdir()
    rows = train.corpus()
    rng = np.random.default_rng(0)
    pick = [rows[i] for i in sorted(rng.choice(len(rows), 160, replace=False))]
    (corpus / "parts" / "small.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in pick), encoding="utf-8")
    a = train.train_and_save(tmp_path / "a", seed=3, corpus_dir=corpus)
    b = train.train_and_save(tmp_path / "b", seed=3, corpus_dir=corpus)
    assert a["data_sha256"] == b["data_sha256"] and a["threshold"] == b["threshold"]
    assert a["metrics"] == b["metrics"]
    ma, mb = train.load(tmp_path / "a").models, train.load(tmp_path / "b").models
    texts = [r["text"] for r in rows[:30]]
    pa = ma.predict([classify.prepare(t) for t in texts])
    pb = mb.predict([classify.prepare(t) for t in texts])
    assert np.array_equal(pa[0], pb[0]) and np.array_equal(pa[1], pb[1])
