"""The CPU-bound part of reading a letter: clean text, fields, type and topic.

It is pure Python under the GIL (underthesea's tokenizer, regular expressions, TF-IDF), so
threads cannot spread it over cores. For a large batch of text letters (text-layer PDFs,
.txt), where it is nearly all the work, `pipeline.ingest` runs it in a pool of worker
processes, one per core; otherwise it runs in place: starting the workers costs ~2 s and
~250 MB each, and in a batch of scans tesseract already keeps the cores busy.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from . import cases, classify, text, train
from .errors import PetitionsError
from .extract import Fields, extract
from .settings import Settings

_PREDICT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Analysis:
    text: str
    text_normalized: str
    fields: Fields
    prediction: classify.Prediction | None
    profile: cases.Profile


def analyse(raw_text: str, page_wrapped: bool, settings: Settings) -> Analysis:
    clean = text.clean_text(raw_text, page_wrapped=page_wrapped)
    normalized = text.normalize(clean)
    fields = extract(clean)
    return Analysis(clean, normalized, fields, predict(clean, normalized, settings), cases.profile(clean, fields))


def predict(clean: str, normalized: str, settings: Settings) -> classify.Prediction | None:
    """Type and topic, or None when there is no text to judge or no usable model (the
    letter then waits for a supervisor with the reason `no_text` / `no_model`)."""
    if sum(ch.isalpha() for ch in clean) < 40:
        return None
    try:
        model = train.load_cached(settings.models_dir)
    except PetitionsError:
        return None
    with _PREDICT_LOCK:  # underthesea's tagger is not documented as thread-safe
        return classify.predict_one(model.models, clean, normalized)


def _warm(settings: Settings) -> None:
    """Pay the imports and the model load once per worker, before the first letter."""
    text.segment(text.normalize("khởi động"))
    try:
        train.load_cached(settings.models_dir)
    except PetitionsError:
        pass


def pool(settings: Settings) -> ProcessPoolExecutor:
    # spawn, not fork: the parent already runs threads (page pool, Prefect), and a forked
    # child of a threaded process can inherit a held lock.
    return ProcessPoolExecutor(
        max_workers=max(1, settings.ocr_workers),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_warm,
        initargs=(settings,),
    )
