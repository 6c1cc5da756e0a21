"""SHA-256 of every tensor a few short runs write: a refactor that claims to change no arithmetic must
leave these identical (same seed, same machine, same torch).

    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/weights_fingerprint.py --out fingerprints.json

Runs, each on the first 2,000 MNIST digits, 1 pretraining epoch per pair, 2 fine-tuning epochs:
the default network (README's quick check), `--tied`, `--activation sigmoid`, and `--supervised`
fine-tuning of the default network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from safetensors.numpy import load_file

RUNS = {
    "quick-check": ([], []),
    "tied": (["--tied"], []),
    "sigmoid": (["--activation", "sigmoid"], []),
    "supervised": ([], ["--supervised"]),
}


def sdae(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "sdae", *args], check=True, stdout=subprocess.DEVNULL)


def digest(path: Path) -> dict[str, str]:
    return {name: hashlib.sha256(array.tobytes()).hexdigest()[:16] for name, array in sorted(load_file(path).items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (pretrain, finetune) in RUNS.items():
            run = f"{tmp}/{name}"
            sdae("pretrain", "--out", run, "--limit", "2000", "--epochs", "1", "--device", "cpu", "--quiet", *pretrain)
            sdae("finetune", run, "--epochs", "2", "--quiet", *finetune)
            found[name] = {file: digest(Path(run) / file) for file in ("pretrained.safetensors", "model.safetensors")}
    args.out.write_text(json.dumps(found, indent=1) + "\n")
    print(f"wrote {args.out}: {sum(len(f) for r in found.values() for f in r.values())} tensors of {len(found)} runs")


if __name__ == "__main__":
    main()
