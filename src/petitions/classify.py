"""Letter type and topic: scikit-learn models over the letter's own words.

Features (one shared vectoriser, two calibrated linear classifiers):
- words: underthesea-segmented words of the normalised text, uni- and bigrams (TF-IDF);
- chars: character 2-5-grams of the normalised text, which survive OCR's dropped accents
  and split words;
- request: the words of the title and of the closing part of the letter, kept apart,
  because the law classifies by what the writer asks for ("hủy quyết định" makes a
  complaint, "xử lý nghiêm" a denunciation), whatever the title says.

Probabilities are calibrated (sigmoid, 5-fold) so that a confidence of 0.9 means right
nine times in ten; the review threshold relies on that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from scipy.sparse import hstack

from . import text as textmod

LETTER_TYPES = ["complaint", "denunciation", "petition"]
TOPICS = ["land", "environment", "investment", "other"]

_TITLE_RE = re.compile(r"^(đơn|thư|kiến nghị|phản ánh|tố cáo|khiếu nại)\b.*$", re.MULTILINE)
_NUMBERS = re.compile(r"\d+")


@dataclass(frozen=True)
class Prepared:
    """A letter reduced to the three views the features read."""

    norm: str
    words: str
    request: str


def prepare(text: str, normalized: str | None = None) -> Prepared:
    """`normalized`: text.normalize(text), when the caller has it already."""
    norm = normalized if normalized is not None else textmod.normalize(text)
    norm = _NUMBERS.sub("0", norm)  # decision numbers and dates say nothing about the matter
    words = textmod.segment(norm)
    tail = words[int(len(words) * 0.6) :]
    titles = " ".join(_TITLE_RE.findall(norm.replace("_", " ")))
    title_words = textmod.segment(titles) if titles else []
    return Prepared(norm=norm, words=" ".join(words), request=" ".join(title_words + tail))


VIEWS = {
    "words": lambda r: r.words,
    "request": lambda r: r.request,
    "chars": lambda r: r.norm,
}
# Vectoriser settings by view; kept as plain data so a model file holds no code.
VECTORISERS = {
    "words": {"analyzer": "word", "ngram_range": (1, 2), "min_df": 2},
    "request": {"analyzer": "word", "ngram_range": (1, 2), "min_df": 2},
    "chars": {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 3, "max_features": 60_000},
}


def _split(s: str) -> list[str]:
    return s.split()


def _tfidf(view: str, vocabulary: list[str] | None = None) -> TfidfVectorizer:
    cfg = dict(VECTORISERS[view])
    if cfg.pop("analyzer") == "word":
        cfg.update(tokenizer=_split, token_pattern=None, lowercase=False)
    else:
        cfg.update(analyzer="char_wb")
    if vocabulary is not None:
        cfg.pop("min_df", None)
        cfg.pop("max_features", None)
        cfg["vocabulary"] = vocabulary
    return TfidfVectorizer(sublinear_tf=True, **cfg)


def classifier(seed: int):
    # Imported here: training only (scipy.stats behind it costs ~1 s at every start-up).
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    # ensemble=False: one SVM on all the data, calibrated on 5-fold out-of-fold scores.
    return CalibratedClassifierCV(
        LinearSVC(C=0.5, class_weight="balanced", random_state=seed), method="sigmoid", cv=5, ensemble=False
    )


@dataclass
class Head:
    """One calibrated linear classifier as plain arrays: decision = X·Wᵀ + b, then a
    sigmoid per class (Platt), normalised to sum to 1, exactly as scikit-learn's
    CalibratedClassifierCV(method="sigmoid") computes it."""

    classes: list[str]
    coef: np.ndarray  # classes × features
    intercept: np.ndarray
    cal_a: np.ndarray
    cal_b: np.ndarray

    @classmethod
    def from_sklearn(cls, clf) -> "Head":
        cc = clf.calibrated_classifiers_[0]
        return cls(
            classes=[str(c) for c in clf.classes_],
            coef=cc.estimator.coef_.copy(),
            intercept=cc.estimator.intercept_.copy(),
            cal_a=np.array([c.a_ for c in cc.calibrators]),
            cal_b=np.array([c.b_ for c in cc.calibrators]),
        )

    def predict_proba(self, X, labels: list[str]) -> np.ndarray:
        scores = np.asarray(X @ self.coef.T) + self.intercept
        p = 1.0 / (1.0 + np.exp(self.cal_a * scores + self.cal_b))
        total = p.sum(axis=1, keepdims=True)
        p = np.divide(p, total, out=np.full_like(p, 1 / p.shape[1]), where=total != 0)
        return p[:, [self.classes.index(label) for label in labels]]


@dataclass
class Models:
    """What `petitions train` fits and `models/` ships: vocabularies, IDF weights and the
    two heads, as JSON and NumPy arrays (no pickle: loading a model file runs no code)."""

    vocabularies: dict[str, list[str]]
    idf: dict[str, np.ndarray]
    letter_type: Head
    topic: Head

    def __post_init__(self) -> None:
        self._vectorisers = {}
        for view, vocab in self.vocabularies.items():
            v = _tfidf(view, vocab)
            v._validate_vocabulary()
            v.idf_ = self.idf[view]
            self._vectorisers[view] = v

    def features(self, rows: list[Prepared]):
        return hstack([self._vectorisers[v].transform([VIEWS[v](r) for r in rows]) for v in self.vocabularies]).tocsr()

    def predict(self, rows: list[Prepared]) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (n × 3 types, n × 4 topics), columns in LETTER_TYPES / TOPICS order."""
        X = self.features(rows)
        return self.letter_type.predict_proba(X, LETTER_TYPES), self.topic.predict_proba(X, TOPICS)

    def feature_names(self) -> list[str]:
        return [f"{v}:{t}" for v, vocab in self.vocabularies.items() for t in vocab]


def fit(rows: list[Prepared], types: list[str], topics: list[str], seed: int = 0) -> Models:
    vocabularies, idf, blocks = {}, {}, []
    for view in VIEWS:
        v = _tfidf(view)
        blocks.append(v.fit_transform([VIEWS[view](r) for r in rows]))
        vocab = sorted(v.vocabulary_, key=v.vocabulary_.get)
        vocabularies[view], idf[view] = vocab, v.idf_.copy()
    X = hstack(blocks).tocsr()
    t = classifier(seed).fit(X, types)
    c = classifier(seed).fit(X, topics)
    return Models(vocabularies, idf, Head.from_sklearn(t), Head.from_sklearn(c))


@dataclass(frozen=True)
class Prediction:
    letter_type: str
    type_confidence: float
    topic: str
    topic_confidence: float
    type_probs: dict[str, float]
    topic_probs: dict[str, float]


def predict_one(models: Models, text: str, normalized: str | None = None) -> Prediction:
    tp, cp = models.predict([prepare(text, normalized)])
    return _prediction(tp[0], cp[0])


def _prediction(tp: np.ndarray, cp: np.ndarray) -> Prediction:
    ti, ci = int(np.argmax(tp)), int(np.argmax(cp))
    return Prediction(
        letter_type=LETTER_TYPES[ti],
        type_confidence=float(tp[ti]),
        topic=TOPICS[ci],
        topic_confidence=float(cp[ci]),
        type_probs={k: float(v) for k, v in zip(LETTER_TYPES, tp)},
        topic_probs={k: float(v) for k, v in zip(TOPICS, cp)},
    )


def top_features(models: Models, text: str, head: str = "letter_type", k: int = 8) -> list[tuple[str, float]]:
    """The features that pushed this letter towards its predicted label (for `petitions classify`)."""
    X = models.features([prepare(text)])
    h = models.letter_type if head == "letter_type" else models.topic
    scores = np.asarray(X @ h.coef.T) + h.intercept
    row = X.multiply(h.coef[int(np.argmax(scores[0]))]).tocsr()
    names = models.feature_names()
    order = np.argsort(row.data)[::-1][:k]
    return [(names[row.indices[i]], float(row.data[i])) for i in order]
