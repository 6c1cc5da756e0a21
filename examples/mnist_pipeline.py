"""make_pipeline(SDAETransformer(...), SVC()) on MNIST, beside an RBF SVM on raw pixels.

Trains on the first N training digits (default 10,000) and scores on all 10,000 test digits.
MNIST comes from --data-dir, else $SDAE_DATA_DIR, else it is downloaded into ~/.cache/sdae.

    SDAE_DATA_DIR=../shared/data/mnist python examples/mnist_pipeline.py --train-size 10000
    SDAE_DATA_DIR=../shared/data/mnist python examples/mnist_pipeline.py --quick   # seconds: 1,000 and 1,000 digits
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
    parser.add_argument("--train-size", type=int, default=None, help="default 10000 (--quick: 1000)")
    parser.add_argument("--quick", action="store_true",
                        help="a check that it runs, in seconds: 1,000 training and the first 1,000 test digits, "
                             "one layer of 512 units, 20 epochs in batches of 32")
    args = parser.parse_args()
    train_size = args.train_size or (1000 if args.quick else 10000)
    test_size = 1000 if args.quick else None
    hidden, epochs, batch_size = ((512,), 20, 32) if args.quick else ((1000, 1000), 20, 128)

    data = sdae.load_dataset("mnist", args.data_dir, limit=train_size)
    X_train = data.examples("train").batch(slice(None)).numpy()
    X_test = data.examples("test").batch(slice(0, test_size)).numpy()
    y_train, y_test = data.train_labels.numpy(), data.test_labels[:test_size].numpy()
    models = {
        "RBF SVM, raw pixels": SVC(C=10),
        "RBF SVM, SDAE layer-1 codes": make_pipeline(
            SDAETransformer(hidden_layer_sizes=hidden, layer=1, noise="masking:0.25", pretrain_epochs=epochs,
                            batch_size=batch_size, random_state=0), SVC(C=10)),
    }
    print(f"{len(X_train)} training, {len(X_test)} test digits")
    for name, model in models.items():
        started = time.perf_counter()
        error = 100 * (1 - model.fit(X_train, y_train).score(X_test, y_test))
        print(f"{name:<30} test error {error:5.2f}%  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
