"""The scikit-learn estimators at their defaults on the 8x8 digits, beside raw pixels, in one run.

80/20 split (random_state=0), pixels as load_digits gives them (0..16); the estimators scale by
themselves. `--set` tries other settings, e.g. `--set layer=1 --set pretrain_epochs=30`.

    python benchmarks/sklearn_defaults.py [--set NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC

from sdae.sklearn import SDAEClassifier, SDAETransformer


def value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE for the transformer and classifier")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = {k: value(v) for k, v in (s.split("=", 1) for s in args.set)}
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

    def score(name, model):
        started = time.perf_counter()
        accuracy = model.fit(X_train, y_train).score(X_test, y_test)
        print(f"{name:<48} {100 * accuracy:6.2f}%  {time.perf_counter() - started:6.1f} s", flush=True)
        return accuracy

    transformer = {k: v for k, v in settings.items() if k in SDAETransformer().get_params()}
    classifier = {k: v for k, v in settings.items() if k in SDAEClassifier().get_params()}
    print(f"settings: {settings or 'defaults'}")
    rows = {
        "SVC(), raw pixels": score("SVC(), raw pixels", make_pipeline(MinMaxScaler(), SVC())),
        "SDAETransformer + SVC()": score("SDAETransformer + SVC()",
                                         make_pipeline(SDAETransformer(random_state=args.seed, **transformer), SVC())),
        "LogisticRegression, raw pixels": score("LogisticRegression, raw pixels",
                                                make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=5000))),
        "SDAETransformer + LogisticRegression": score(
            "SDAETransformer + LogisticRegression",
            make_pipeline(SDAETransformer(random_state=args.seed, **transformer), LogisticRegression(max_iter=5000))),
        "SDAEClassifier()": score("SDAEClassifier()", SDAEClassifier(random_state=args.seed, **classifier)),
    }
    print(json.dumps({"settings": settings, "accuracy": rows}))


if __name__ == "__main__":
    main()
