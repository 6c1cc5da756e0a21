"""SDAE codes as features for scikit-learn classifiers on scikit-learn's 8x8 digits: where they help.

The digits are split 80/20 (random_state=0) into 1,437 training and 360 test digits, pixels min-max
scaled to [0, 1] as in scikit-learn's RBM example. Two comparisons, in one run:

1. Few labels, the paper's and practitioners' case: an SDAE is pretrained once on all the training
   digits without their labels; then, for each of several random draws of K labelled training digits
   per class, a logistic regression and an RBF SVM are trained on those 10*K digits, on raw pixels and
   on the SDAE codes, and scored on the test digits. The table gives the mean and spread over the
   draws and in how many draws the codes beat the pixels (the same draws for both). The classifiers
   keep one setting each (C=10), the same for pixels and codes: 10 labels per class are too few to
   tune on.
2. All labels: logistic regression on raw pixels, on BernoulliRBM features (scikit-learn's own
   example settings: 100 components, learning_rate 0.06, 10 iterations) and on SDAE codes; an RBF
   SVM on raw pixels and on SDAE codes. Each classifier's C is chosen by 3-fold cross-validation on
   the training part only (the SDAE pretrained again inside each fold); the test part is scored once.
   With --quick, C=10 for all and no cross-validation.

    python examples/digits_pipeline.py            # both tables (about a minute on one CPU core)
    python examples/digits_pipeline.py --quick    # 10 labels per class and all labels, a few seconds
    python examples/digits_pipeline.py --labels-per-class 5 10 20 50 --draws 20
    python examples/digits_pipeline.py --pretrain-epochs 10 --finetune-epochs 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, minmax_scale
from sklearn.svm import SVC

from sdae.sklearn import SDAETransformer

NOISE = ("gaussian:0.3", "speckle:0.3")
FIXED_C = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a first look in a few seconds: one layer of 256 units, 20+0 epochs, 10 labels per class, "
                             "C=10 with no cross-validation")
    parser.add_argument("--pretrain-epochs", type=int, default=None, help="default 30 (--quick: 20)")
    parser.add_argument("--finetune-epochs", type=int, default=None, help="default 30 (--quick: 0)")
    parser.add_argument("--labels-per-class", type=int, nargs="+", default=None, metavar="K",
                        help="the few-labels table's sizes (default 5 10 20 50; --quick: 10)")
    parser.add_argument("--draws", type=int, default=None, help="random label draws per size (default 20; --quick: 10)")
    args = parser.parse_args()
    quick = args.quick
    hidden = (256,) if quick else (256, 128)
    pretrain_epochs = args.pretrain_epochs if args.pretrain_epochs is not None else (20 if quick else 30)
    finetune_epochs = args.finetune_epochs if args.finetune_epochs is not None else (0 if quick else 30)
    per_class = args.labels_per_class or ([10] if quick else [5, 10, 20, 50])
    draws = args.draws or (10 if quick else 20)

    def sdae_features():
        # the first layer's codes (of a 64-256 or 64-256-128 stack); verbose=False: no progress, no notices
        return SDAETransformer(hidden_layer_sizes=hidden, layer=1, noise=NOISE, pretrain_epochs=pretrain_epochs,
                               finetune_epochs=finetune_epochs, batch_size=32, random_state=0)

    X, y = load_digits(return_X_y=True)
    X = minmax_scale(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    started = time.perf_counter()
    features = sdae_features().fit(X_train)  # no labels
    codes_train, codes_test = features.transform(X_train), features.transform(X_test)
    print(f"{len(X_train)} training, {len(X_test)} test digits; SDAE 64-{'-'.join(map(str, hidden))} "
          f"({' + '.join(NOISE)}, {pretrain_epochs}+{finetune_epochs} epochs, codes of layer 1) trained on the "
          f"training digits without labels in {time.perf_counter() - started:.1f} s")

    classifiers = {"logistic regression": lambda: LogisticRegression(C=FIXED_C, max_iter=5000),
                   "RBF SVM": lambda: SVC(C=FIXED_C)}
    print(f"\nFew labels: K labelled training digits per class, {draws} random draws each; test accuracy, "
          f"mean ± sd over the draws (C={FIXED_C})")
    print(f"{'K':>3} {'classifier':<20} {'raw pixels':>14} {'SDAE codes':>14}   codes better")
    for k in per_class:
        chosen = [label_draw(y_train, k, seed) for seed in range(draws)]
        for name, make in classifiers.items():
            raw = np.array([make().fit(X_train[i], y_train[i]).score(X_test, y_test) for i in chosen])
            codes = np.array([make().fit(codes_train[i], y_train[i]).score(codes_test, y_test) for i in chosen])
            ties = int((codes == raw).sum())
            print(f"{k:>3} {name:<20} {percent(raw):>14} {percent(codes):>14}   in {int((codes > raw).sum())} of "
                  f"{draws} draws" + (f" ({ties} tied)" if ties else ""), flush=True)

    logistic = LogisticRegression(max_iter=5000)
    rbm = BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10, random_state=0)
    candidates = {
        "logistic regression, raw pixels": Pipeline([("features", FunctionTransformer()), ("clf", logistic)]),
        "logistic regression, BernoulliRBM features": Pipeline([("features", rbm), ("clf", logistic)]),
        "logistic regression, SDAE codes": Pipeline([("features", sdae_features()), ("clf", logistic)]),
        "RBF SVM, raw pixels": Pipeline([("features", FunctionTransformer()), ("clf", SVC())]),
        "RBF SVM, SDAE codes": Pipeline([("features", sdae_features()), ("clf", SVC())]),
    }
    grids = {"logistic": [0.1, 1, 10, 100, 1000, 6000], "svm": [0.1, 1, 10, 100]}
    how = f"C={FIXED_C}, no cross-validation" if quick else "C by 3-fold cross-validation on the training part"
    print(f"\nAll {len(X_train)} labels ({how})")
    print(f"{'model':<46} {'C':>6} {'test accuracy':>14} {'seconds':>8}")
    for name, pipeline in candidates.items():
        started = time.perf_counter()
        if quick:
            pipeline.set_params(clf__C=FIXED_C).fit(X_train, y_train)
            accuracy, best_c = pipeline.score(X_test, y_test), FIXED_C
        else:
            grid = grids["svm" if "SVM" in name else "logistic"]
            search = GridSearchCV(pipeline, {"clf__C": grid}, cv=3, n_jobs=1).fit(X_train, y_train)
            accuracy, best_c = search.score(X_test, y_test), search.best_params_["clf__C"]
        print(f"{name:<46} {best_c:>6g} {100 * accuracy:>13.2f}% {time.perf_counter() - started:>8.1f}", flush=True)


def label_draw(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """The indices of `per_class` examples of each class, drawn at random (by `seed`) without replacement."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in np.unique(y)])


def percent(scores: np.ndarray) -> str:
    return f"{100 * scores.mean():.2f} ± {100 * scores.std():.1f}%"


if __name__ == "__main__":
    main()
