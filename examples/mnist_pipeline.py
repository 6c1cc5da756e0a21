"""make_pipeline(SDAETransformer(...), SVC()) on MNIST, beside an RBF SVM on raw pixels.

Trains on the first N training digits (default 10,000) and scores on all 10,000 test digits.
MNIST comes from --data-dir, else $SDAE_DATA_DIR, else it is downloaded into ~/.cache/sdae.

    SDAE_DATA_DIR=../shared/data/mnist python examples/mnist_pipeline.py --train-size 10000
"""

from __future__ import annotations

import argparse
import time

from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

import sdae
from sdae.sklearn import SDAETransformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-size", type=int, default=10000)
    args = parser.parse_args()

    data = sdae.load_dataset("mnist", args.data_dir, limit=args.train_size)
    X_train = data.examples("train").batch(slice(None)).numpy()
    X_test = data.examples("test").batch(slice(None)).numpy()
    y_train, y_test = data.train_labels.numpy(), data.test_labels.numpy()
    models = {
        "RBF SVM, raw pixels": SVC(C=10),
        "RBF SVM, SDAE layer-1 codes": make_pipeline(
            SDAETransformer(hidden_layer_sizes=(1000, 1000), layer=1, noise="masking:0.25", pretrain_epochs=20,
                            random_state=0), SVC(C=10)),
    }
    print(f"{len(X_train)} training, {len(X_test)} test digits")
    for name, model in models.items():
        started = time.perf_counter()
        error = 100 * (1 - model.fit(X_train, y_train).score(X_test, y_test))
        print(f"{name:<30} test error {error:5.2f}%  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
