"""scikit-learn's own `check_estimator` on the two estimators at their defaults, timed (the issue that
asked for it measured about 27 minutes before the estimators stopped stages on a plateau).

    python benchmarks/check_estimator_defaults.py --out benchmarks/results/check-estimator-defaults.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

from sklearn.utils.estimator_checks import check_estimator

from sdae.sklearn import SDAEClassifier, SDAETransformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    rows = {}
    for estimator in (SDAETransformer(), SDAEClassifier()):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(estimator, on_fail=None)
        failed = [r["check_name"] for r in results if r["status"] == "failed"]
        rows[type(estimator).__name__] = {"checks": len(results), "failed": failed,
                                          "skipped": sum(r["status"] == "skipped" for r in results),
                                          "seconds": round(time.perf_counter() - start, 1)}
        print(type(estimator).__name__, rows[type(estimator).__name__], flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"command": "python benchmarks/check_estimator_defaults.py", "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
