"""Retraining with supervisors' corrections, behind a guard, with a model registry.

A real SQLite database holds letters of our own trap sets (bench/cases K3, K4: 121 letters
with their true type and topic; never the dev letters) and supervisors' corrections. A
candidate trained on deliberately wrong corrections must be turned down and leave the
active model in place; one trained on right corrections must be promoted, and a rollback
must bring the previous model back.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from petitions import classify, registry, train
from petitions.settings import Settings
from petitions.store import Correction, File, Letter, ModelRecord, open_database

ROOT = Path(__file__).resolve().parents[1]
CASES = [ROOT / "bench" / "cases" / "K3.jsonl", ROOT / "bench" / "cases" / "K4.jsonl"]
# The supervisors' corrections: one a second, starting a few minutes ago (after the shipped
# model was trained, before any candidate of these tests).
T0 = datetime.now(timezone.utc) - timedelta(minutes=10)


def case_letters() -> list[dict]:
    rows = [r for p in CASES for r in train.load_jsonl(p)]
    rows = [r for r in rows if r.get("letter_type") in classify.LETTER_TYPES and r.get("topic") in classify.TOPICS]
    return sorted(rows, key=lambda r: (r["received_on"], r["id"]))


def deranged(rows: list[dict], seed: int = 7) -> list[tuple[str, str]]:
    """The letters' (type, topic) pairs shuffled across letters so that every letter gets
    a wrong type AND a wrong topic."""
    rng = random.Random(seed)
    pairs = [(r["letter_type"], r["topic"]) for r in rows]
    perm = list(range(len(rows)))
    rng.shuffle(perm)

    def ok(i: int, j: int) -> bool:
        return pairs[j][0] != pairs[i][0] and pairs[j][1] != pairs[i][1]

    for _ in range(100):
        bad = [i for i in range(len(rows)) if not ok(i, perm[i])]
        if not bad:
            break
        for i in bad:
            for j in rng.sample(range(len(rows)), len(rows)):
                if ok(i, perm[j]) and ok(j, perm[i]):
                    perm[i], perm[j] = perm[j], perm[i]
                    break
    assert all(ok(i, perm[i]) for i in range(len(rows))), "no derangement found"
    return [pairs[perm[i]] for i in range(len(rows))]


def build_database(settings: Settings, labels: list[tuple[str, str]]):
    """Store the case letters as ingest would have (labels = the shipped model's
    prediction), then a supervisor's corrections setting `labels` (or confirming the
    prediction when it already says so), one letter a second in received order."""
    rows = case_letters()
    model = train.load(settings.models_dir).models
    tp, cp = model.predict(train.prepare_many([r["text"] for r in rows]))
    sessions = open_database(settings.database_url)
    with sessions.begin() as s:
        for i, (r, (lt, tc), a, b) in enumerate(zip(rows, labels, tp, cp)):
            pred_t, pred_c = classify.LETTER_TYPES[a.argmax()], classify.TOPICS[b.argmax()]
            sha = hashlib.sha256(r["id"].encode()).hexdigest()
            f = File(sha256=sha, size=len(r["text"]), source_name=f"{r['id']}.txt", source_path=f"{r['id']}.txt",
                     archive_path=f"archive/{sha[:2]}/{sha}.txt", kind="txt")
            s.add(f)
            s.flush()
            lid = f"L-{sha[:16]}"
            s.add(Letter(id=lid, file_id=f.id, received_on=date.fromisoformat(r["received_on"]), pages=1,
                         text_source="plain-text", text=r["text"], text_normalized=r["text"].lower(),
                         letter_type=lt, topic=tc, status="routed"))
            s.flush()
            at = T0 + timedelta(seconds=i)
            changes = [(k, p, v) for k, p, v in (("letter_type", pred_t, lt), ("topic", pred_c, tc)) if p != v]
            for k, p, v in changes or [("confirmed", None, f"{lt}/{tc}")]:
                s.add(Correction(letter_id=lid, field=k, before=p, after=v, user="giamsat", at=at))
    return sessions


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def shipped(settings: Settings) -> str:
    return json.loads((settings.models_dir / train.MANIFEST).read_text(encoding="utf-8"))["name"]


def show(decision: registry.Decision) -> None:
    print(f"\n{decision.summary()}  ({decision.seconds:.1f} s)")
    for st, fig, cur, cand, ok in decision.comparison():
        print(f"  {st:14} {fig:20} current {cur:.3f}  candidate {cand:.3f}  {'ok' if ok else 'WORSE'}")


# --- fast: the parts without training ------------------------------------------------


def test_derangement_makes_every_label_wrong():
    rows = case_letters()
    assert len(rows) == 121
    wrong = deranged(rows)
    assert all(w[0] != r["letter_type"] and w[1] != r["topic"] for w, r in zip(wrong, rows))
    assert sorted(wrong) == sorted((r["letter_type"], r["topic"]) for r in rows)  # the same labels, shuffled


def test_corrected_rows_and_their_split(settings):
    sessions = build_database(settings, [(r["letter_type"], r["topic"]) for r in case_letters()])
    with sessions.begin() as s:  # a correction of another field does not make a letter a training letter
        lid = s.scalars(select(Letter.id)).first()
        s.execute(delete(Correction).where(Correction.letter_id == lid))
        s.add(Correction(letter_id=lid, field="department", before="a", after="b", user="giamsat", at=T0))
    rows = train.corrected_rows(sessions)
    assert len(rows) == 120 and lid not in {r["id"] for r in rows}
    assert [r["corrected_at"] for r in rows] == sorted(r["corrected_at"] for r in rows)
    truth = {r["text"]: (r["letter_type"], r["topic"]) for r in case_letters()}
    assert all(truth[r["text"]] == (r["letter_type"], r["topic"]) for r in rows)
    fit, held = train.split_corrections(rows, 0.3)
    assert len(held) == 36 and len(fit) == 84
    assert min(r["corrected_at"] for r in held) > max(r["corrected_at"] for r in fit)  # the newest are held out
    assert train.split_corrections(rows[:1], 0.3) == ([], rows[:1])


def test_shipped_model_is_registered_once_as_active(settings):
    sessions = open_database(settings.database_url)
    assert registry.active_dir(sessions, settings) == settings.models_dir
    registry.active_dir(sessions, settings)
    models = registry.list_models(sessions, settings)
    assert [(m.name, m.status) for m in models] == [(shipped(settings), "active")]
    assert models[0].metrics["figures"]["heldout_clean"]["type_accuracy"] > 0.9
    with pytest.raises(registry.RegistryError, match="no earlier model"):
        registry.rollback(sessions, settings)
    with pytest.raises(registry.RegistryError, match="No model named"):
        registry.promote(sessions, "petitions-nope", settings)


def test_retrain_waits_for_corrections_newer_than_the_latest_model(settings):
    sessions = build_database(settings, [(r["letter_type"], r["topic"]) for r in case_letters()])
    assert registry.corrections_since_latest_model(sessions, settings) > 100  # made after the shipped model
    with sessions.begin() as s:
        s.add(ModelRecord(name="petitions-tried", path=str(settings.data_dir / "models" / "x"), status="rejected",
                          created_at=T0 + timedelta(days=1), metrics={}))
    assert registry.corrections_since_latest_model(sessions, settings) == 0
    with sessions.begin() as s:
        lid = s.scalars(select(Letter.id)).first()
        s.add(Correction(letter_id=lid, field="topic", before="land", after="other", user="giamsat", at=T0 + timedelta(days=2)))
    assert registry.corrections_since_latest_model(sessions, settings) == 1


# --- slow: real candidates -----------------------------------------------------------


@pytest.mark.slow
def test_wrong_corrections_are_not_promoted(settings):
    rows = case_letters()
    sessions = build_database(settings, deranged(rows))
    decision = registry.retrain(sessions, settings)
    show(decision)

    assert not decision.promoted
    assert decision.n_train_corrections == 84 and decision.n_eval_corrections == 37
    # the held-out corpus catches it: taught wrong labels, the candidate gets worse there
    worse = {(st, fig) for st, fig, _, _, ok in decision.comparison() if not ok}
    assert {st for st, _ in worse} & {"heldout_clean", "heldout_ocr"}, decision.comparison()
    # the active model is unchanged and still what ingest loads
    assert registry.active_dir(sessions, settings) == settings.models_dir
    models = {m.name: m for m in registry.list_models(sessions, settings)}
    assert models[shipped(settings)].status == "active"
    cand = models[decision.candidate]
    assert cand.status == "rejected" and cand.n_corrections == 84 and cand.decided_at is not None
    assert cand.metrics["figures"]["heldout_clean"]["type_accuracy"] == decision.figures["candidate"]["heldout_clean"]["type_accuracy"]
    assert cand.metrics["compared_with"]["name"] == shipped(settings)
    assert set(cand.metrics["compared_with"]["figures"]) == {"heldout_clean", "heldout_ocr", "corrections"}
    assert cand.metrics["reasons"] and "rejected" in cand.note
    assert (Path(cand.path) / train.MANIFEST).exists()  # kept for inspection, never loaded by ingest
    # the same corrections do not make the nightly run train the same candidate again
    assert registry.corrections_since_latest_model(sessions, settings) == 0


@pytest.mark.slow
def test_right_corrections_are_promoted_and_can_be_rolled_back(settings, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from petitions import cli, pipeline

    rows = case_letters()
    sessions = build_database(settings, [(r["letter_type"], r["topic"]) for r in rows])
    decision = registry.retrain(sessions, settings)
    show(decision)

    assert decision.promoted, decision.reasons
    assert all(ok for *_, ok in decision.comparison())
    cand_dir = registry.active_dir(sessions, settings)
    assert cand_dir != settings.models_dir and cand_dir.parent == (settings.data_dir / "models").resolve()
    assert train.load(cand_dir).manifest["n_corrections"] == 84
    models = {m.name: m.status for m in registry.list_models(sessions, settings)}
    assert models == {shipped(settings): "previous", decision.candidate: "active"}

    # ingest classifies with the active model
    loaded_from = []
    real = train.load_cached
    monkeypatch.setattr(train, "load_cached", lambda d: loaded_from.append(Path(d)) or real(d))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pipeline.ingest(inbox, settings=settings, sessions=sessions)
    assert loaded_from and loaded_from[0] == cand_dir

    # `petitions models list` shows both; rollback returns to the shipped model
    runner = CliRunner()
    args = ["--data-dir", str(settings.data_dir)]
    out = runner.invoke(cli.app, ["models", "list", *args], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert decision.candidate in out.output and shipped(settings) in out.output
    out = runner.invoke(cli.app, ["models", "rollback", *args], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert registry.active_dir(sessions, settings) == settings.models_dir.resolve()
    models = {m.name: m.status for m in registry.list_models(sessions, settings)}
    assert models == {shipped(settings): "active", decision.candidate: "previous"}
    # and promote brings the candidate back
    out = runner.invoke(cli.app, ["models", "promote", decision.candidate, *args], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert registry.active_dir(sessions, settings) == cand_dir


def test_nightly_retrains_only_with_new_corrections_and_reports_the_decision(settings, monkeypatch):
    """The nightly task and its lines in the nightly summary (the flow itself, with its
    Prefect server, is exercised by `petitions serve`)."""
    from prefect.states import Completed, Failed

    from flows import nightly

    sessions = build_database(settings, [(r["letter_type"], r["topic"]) for r in case_letters()])
    calls = []

    def fake_retrain(sessions, settings, seed=0):
        calls.append(seed)
        with sessions.begin() as s:  # what retrain records: a candidate trained now
            s.add(ModelRecord(name="petitions-tried", path=str(settings.data_dir / "models" / "x"), status="rejected", metrics={}))
        figs = {"heldout_clean": {"type_accuracy": 0.986, "topic_macro_f1": 0.987, "department_accuracy": 0.979}}
        return registry.Decision(False, "petitions-tried", shipped(settings), ["heldout_clean topic_macro_f1 0.948 < 0.987 - 0.01"],
                                 {"current": figs, "candidate": {"heldout_clean": dict(figs["heldout_clean"], topic_macro_f1=0.948)}},
                                 margin=0.01)

    monkeypatch.setattr(registry, "retrain", fake_retrain)
    new, decision = nightly.retrain_if_corrected.fn(settings)
    assert new == 121 and calls == [0] and not decision.promoted
    md = nightly._retrain_markdown(Completed(data=(new, decision)))
    assert "121 new corrections, candidate **not promoted**" in md
    assert "| heldout_clean | topic_macro_f1 | 0.987 | 0.948 | **worse** |" in md
    again = nightly.retrain_if_corrected.fn(settings)  # the next night: nothing new, no training
    assert again == (0, None) and calls == [0]
    assert "no corrections since the latest model" in nightly._retrain_markdown(Completed(data=again))
    assert "retraining failed (disk full)" in nightly._retrain_markdown(Failed(message="disk full"))
