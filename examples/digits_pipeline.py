"""SDAE codes as features for scikit-learn classifiers on scikit-learn's 8x8 digits.

Compares, on one 80/20 split (random_state=0), in one run:
  logistic regression on raw pixels, on BernoulliRBM features (scikit-learn's own example
  settings: 100 components, learning_rate 0.06, 10 iterations), and on SDAE codes;
  an RBF SVM on raw pixels and on SDAE codes.
Pixels are min-max scaled to [0, 1] first, as in scikit-learn's RBM example. Each classifier's C
is chosen by 3-fold cross-validation on the training part only; the test part is scored once.

    python examples/digits_pipeline.py
"""

from __future__ import annotations

import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, minmax_scale
from sklearn.svm import SVC

from sdae.sklearn import SDAETransformer


def sdae_features():
    return SDAETransformer(hidden_layer_sizes=(256, 128), layer=1, noise=("gaussian:0.3", "speckle:0.3"),
                           pretrain_epochs=30, finetune_epochs=30, batch_size=32, random_state=0)


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X = minmax_scale(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    logistic = LogisticRegression(max_iter=5000)
    candidates = {
        "logistic regression, raw pixels": Pipeline([("features", FunctionTransformer()), ("clf", logistic)]),
        "logistic regression, BernoulliRBM features": Pipeline([
            ("features", BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10, random_state=0)), ("clf", logistic)]),
        "logistic regression, SDAE codes": Pipeline([("features", sdae_features()), ("clf", logistic)]),
        "RBF SVM, raw pixels": Pipeline([("features", FunctionTransformer()), ("clf", SVC())]),
        "RBF SVM, SDAE codes": Pipeline([("features", sdae_features()), ("clf", SVC())]),
    }
    grids = {"logistic": [0.1, 1, 10, 100, 1000, 6000], "svm": [0.1, 1, 10, 100]}
    print(f"{len(X_train)} training, {len(X_test)} test digits")
    print(f"{'model':<46} {'C':>6} {'test accuracy':>14} {'seconds':>8}")
    for name, pipeline in candidates.items():
        started = time.perf_counter()
        grid = grids["svm" if "SVM" in name else "logistic"]
        search = GridSearchCV(pipeline, {"clf__C": grid}, cv=3, n_jobs=1).fit(X_train, y_train)
        accuracy = search.score(X_test, y_test)
        print(f"{name:<46} {search.best_params_['clf__C']:>6g} {100 * accuracy:>13.2f}% {time.perf_counter() - started:>8.1f}",
              flush=True)


if __name__ == "__main__":
    main()
