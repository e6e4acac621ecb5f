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
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

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


def prepare(text: str) -> Prepared:
    norm = textmod.normalize(text)
    norm = _NUMBERS.sub("0", norm)  # decision numbers and dates say nothing about the matter
    words = textmod.segment(norm)
    tail = words[int(len(words) * 0.6) :]
    titles = " ".join(_TITLE_RE.findall(norm.replace("_", " ")))
    title_words = textmod.segment(titles) if titles else []
    return Prepared(norm=norm, words=" ".join(words), request=" ".join(title_words + tail))


def view_norm(rows: list[Prepared]) -> list[str]:
    return [r.norm for r in rows]


def view_words(rows: list[Prepared]) -> list[str]:
    return [r.words for r in rows]


def view_request(rows: list[Prepared]) -> list[str]:
    return [r.request for r in rows]


def _split(s: str) -> list[str]:
    return s.split()


def vectoriser() -> FeatureUnion:
    def words(view, min_df=2) -> Pipeline:
        return Pipeline(
            [
                ("view", FunctionTransformer(view)),
                ("tfidf", TfidfVectorizer(tokenizer=_split, token_pattern=None, lowercase=False,
                                          ngram_range=(1, 2), min_df=min_df, sublinear_tf=True)),
            ]
        )

    return FeatureUnion(
        [
            ("words", words(view_words)),
            ("request", words(view_request)),
            (
                "chars",
                Pipeline(
                    [
                        ("view", FunctionTransformer(view_norm)),
                        ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3,
                                                  sublinear_tf=True, max_features=150_000)),
                    ]
                ),
            ),
        ]
    )


def classifier(seed: int) -> CalibratedClassifierCV:
    return CalibratedClassifierCV(
        LinearSVC(C=0.5, class_weight="balanced", random_state=seed), method="sigmoid", cv=5
    )


@dataclass
class Models:
    """What `petitions train` fits and `models/` ships."""

    vectoriser: FeatureUnion
    letter_type: CalibratedClassifierCV
    topic: CalibratedClassifierCV

    def predict(self, rows: list[Prepared]) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (n × 3 types, n × 4 topics), columns in LETTER_TYPES / TOPICS order."""
        X = self.vectoriser.transform(rows)
        return _ordered(self.letter_type, X, LETTER_TYPES), _ordered(self.topic, X, TOPICS)


def _ordered(clf, X, labels: list[str]) -> np.ndarray:
    p = clf.predict_proba(X)
    cols = [list(clf.classes_).index(label) for label in labels]
    return p[:, cols]


def fit(rows: list[Prepared], types: list[str], topics: list[str], seed: int = 0) -> Models:
    vec = vectoriser()
    X = vec.fit_transform(rows)
    t = classifier(seed).fit(X, types)
    c = classifier(seed).fit(X, topics)
    return Models(vec, t, c)


@dataclass(frozen=True)
class Prediction:
    letter_type: str
    type_confidence: float
    topic: str
    topic_confidence: float
    type_probs: dict[str, float]
    topic_probs: dict[str, float]


def predict_one(models: Models, text: str) -> Prediction:
    tp, cp = models.predict([prepare(text)])
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


def predict_many(models: Models, texts: list[str]) -> list[Prediction]:
    tp, cp = models.predict([prepare(t) for t in texts])
    return [_prediction(a, b) for a, b in zip(tp, cp)]


def top_features(models: Models, text: str, head: str = "letter_type", k: int = 8) -> list[tuple[str, float]]:
    """The features that pushed this letter towards its predicted label (for `petitions classify`)."""
    X = models.vectoriser.transform([prepare(text)])
    clf = models.letter_type if head == "letter_type" else models.topic
    pred = clf.predict(X)[0]
    idx = list(clf.classes_).index(pred)
    coefs = np.mean([c.estimator.coef_[idx if len(clf.classes_) > 2 else 0] for c in clf.calibrated_classifiers_], axis=0)
    contrib = X.multiply(coefs).tocsr()
    names = _feature_names(models)
    order = np.argsort(contrib.data)[::-1][:k]
    return [(names[contrib.indices[i]], float(contrib.data[i])) for i in order]


def _feature_names(models: Models) -> list[str]:
    names: list[str] = []
    for name, pipe in models.vectoriser.transformer_list:
        names += [f"{name}:{f}" for f in pipe.named_steps["tfidf"].get_feature_names_out()]
    return names
