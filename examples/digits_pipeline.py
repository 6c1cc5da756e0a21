"""SDAE codes as features for scikit-learn classifiers on scikit-learn's 8x8 digits.

Compares, on one 80/20 split (random_state=0), in one run:
  logistic regression on raw pixels, on BernoulliRBM features (scikit-learn's own example
  settings: 100 components, learning_rate 0.06, 10 iterations), and on SDAE codes;
  an RBF SVM on raw pixels and on SDAE codes.
Pixels are min-max scaled to [0, 1] first, as in scikit-learn's RBM example. Each classifier's C
is chosen by 3-fold cross-validation on the training part only; the test part is scored once.

    python examples/digits_pipeline.py            # the README's table (about 2 minutes here)
    python examples/digits_pipeline.py --quick    # the same comparison in a few seconds, smaller and rougher
    python examples/digits_pipeline.py --pretrain-epochs 10 --finetune-epochs 0
"""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, minmax_scale
from sklearn.svm import SVC

from sdae.sklearn import SDAETransformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a first look: 64 units, 5+0 epochs, one C each")
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--finetune-epochs", type=int, default=30)
    args = parser.parse_args()
    hidden, pretrain_epochs, finetune_epochs = ((64,), 5, 0) if args.quick else \
        ((256, 128), args.pretrain_epochs, args.finetune_epochs)

    def sdae_features():
        return SDAETransformer(hidden_layer_sizes=hidden, layer=1, noise=("gaussian:0.3", "speckle:0.3"),
                               pretrain_epochs=pretrain_epochs, finetune_epochs=finetune_epochs, batch_size=32,
                               random_state=0)

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
    if args.quick:
        grids = {"logistic": [10], "svm": [10]}
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
