"""How long `sdae --help`, `sdae --version` and `sdae pretrain --help` take, as whole processes.

The command line imports torch only when a command runs; these measure that it stays so (the
median of N runs after one warm-up, each a fresh `python -m sdae` process). Where --python-b is
given, a second interpreter (e.g. another checkout's virtual environment) is timed in turn with the
first, A B A B ..., and the ratio of medians reported.

    python benchmarks/cli_startup.py --runs 9
    python benchmarks/cli_startup.py --runs 9 --python-b /path/to/old/.venv/bin/python --cwd-b /path/to/old
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["--version"], ["pretrain", "--help"])


def once(python: str, args: list[str], cwd: str | None) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-m", "sdae", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python-b", default=None, help="A second interpreter to time in turn with this one.")
    parser.add_argument("--cwd-b", default=None, help="Where to run the second interpreter.")
    args = parser.parse_args()
    rows = {}
    for command in COMMANDS:
        a, b = [], []
        for run in range(args.runs + 1):  # the first is a warm-up
            ta = once(sys.executable, command, None)
            tb = once(args.python_b, command, args.cwd_b) if args.python_b else None
            if run:
                a.append(ta)
                if tb is not None:
                    b.append(tb)
        name = "sdae " + " ".join(command)
        rows[name] = {"median_s": round(statistics.median(a), 3), "min_s": round(min(a), 3), "max_s": round(max(a), 3)}
        if b:
            rows[name].update(b_median_s=round(statistics.median(b), 3), b_over_a=round(statistics.median(b) / statistics.median(a), 2))
        print(name, rows[name])
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
