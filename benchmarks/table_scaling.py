"""Codes of a table under the two scaling rules: scikit-learn's breast-cancer table (569 x 30), an
SDAETransformer at its defaults but for `scaling`, its codes into a LogisticRegression, 5-fold
stratified cross-validation accuracy (the folds fixed by random_state=0).

    python benchmarks/table_scaling.py --out benchmarks/results/table-scaling.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sdae.sklearn import SDAETransformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    x, y = load_breast_cancer(return_X_y=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    rows = {}
    for name, pipeline in {
        "global": make_pipeline(SDAETransformer(scaling="global", random_state=0), LogisticRegression(max_iter=5000)),
        "feature": make_pipeline(SDAETransformer(scaling="feature", random_state=0), LogisticRegression(max_iter=5000)),
        "pixels, per-feature min-max": make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=5000)),
    }.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = cross_val_score(pipeline, x, y, cv=folds)
        rows[name] = {"accuracy": round(float(scores.mean()), 4), "folds": [round(float(s), 4) for s in scores],
                      "seconds": round(time.perf_counter() - start, 1)}
        print(name, rows[name], flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"command": "python benchmarks/table_scaling.py", "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
