"""Which feature views and which C: leave-one-writer-out accuracy on the training split
(each of the corpus writers held out in turn). The figures in models/README.md
("Features and models") come from here.

    .venv/bin/python bench/view_ablation.py
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import hstack
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from petitions import classify, train


def run(prepared, rows, views, make_clf, name) -> None:
    writer = np.array([train.writer(r) for r in rows])
    yt = np.array([r["letter_type"] for r in rows])
    yc = np.array([r["topic"] for r in rows])
    acc_t, acc_c = [], []
    for w in sorted(set(writer)):
        out = writer == w
        fit_i, out_i = np.where(~out)[0], np.where(out)[0]
        blocks_fit, blocks_out = [], []
        for view in views:
            v = classify._tfidf(view)
            blocks_fit.append(v.fit_transform([classify.VIEWS[view](prepared[i]) for i in fit_i]))
            blocks_out.append(v.transform([classify.VIEWS[view](prepared[i]) for i in out_i]))
        X, Xo = hstack(blocks_fit).tocsr(), hstack(blocks_out).tocsr()
        acc_t.append((make_clf().fit(X, yt[~out]).predict(Xo) == yt[out]).mean())
        acc_c.append((make_clf().fit(X, yc[~out]).predict(Xo) == yc[out]).mean())
    print(f"| {name} | {np.mean(acc_t):.3f} | {min(acc_t):.3f} | {np.mean(acc_c):.3f} | {min(acc_c):.3f} |", flush=True)


def main() -> None:
    rows = [r for r in train.corpus() if not train.is_heldout(r)]
    prepared = [classify.prepare(r["text"]) for r in rows]
    svc = lambda c: (lambda: LinearSVC(C=c, class_weight="balanced"))  # noqa: E731
    every = list(classify.VIEWS)
    print("| features, classifier | type acc | worst writer | topic acc | worst writer |\n|---|---|---|---|---|")
    run(prepared, rows, every, svc(0.5), "words + request + chars, LinearSVC C=0.5")
    run(prepared, rows, ["words", "chars"], svc(0.5), "without request, C=0.5")
    run(prepared, rows, ["words", "request"], svc(0.5), "without chars, C=0.5")
    run(prepared, rows, every, svc(0.1), "all views, C=0.1")
    run(prepared, rows, every, svc(2.0), "all views, C=2")
    run(prepared, rows, every, lambda: LogisticRegression(C=20, max_iter=3000, class_weight="balanced"), "all views, LogisticRegression C=20")


if __name__ == "__main__":
    main()
