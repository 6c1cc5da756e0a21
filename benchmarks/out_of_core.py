"""Training on data larger than memory: one pretraining epoch read through a memory map, against the same data in memory.

1. Writes a synthetic uint8 `.npy` of --gigabytes (default 4.2 GB: 5.36 million 28x28 examples,
   more than a sixth of this machine's 24 GiB): MNIST's training digits, each copy rolled by a
   random offset so that the examples differ, written a chunk at a time.
2. In a fresh process, the mapped path as `sdae pretrain` takes it: `sdae.load_dataset(file)` maps
   the file, the run's fingerprint reads it all once, a 1% validation split, then one epoch of
   greedy pretraining of the first pair of the default network (784-256, Gaussian noise 0.5,
   batch 128).
3. In another fresh process, the in-memory path: the same file read whole (`np.load`), the same
   split, the same epoch.
The parent samples each child's anonymous resident memory (RssAnon in /proc/PID/status, which
leaves out the page cache a map is read through) every 0.1 s. Prints a table, writes JSON.

    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/out_of_core.py --out benchmarks/results/out-of-core.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_file(path: str, gigabytes: float, data_dir: str | None) -> int:
    from sdae.data import mnist

    found = mnist.files(data_dir)
    digits = mnist.read_images(found["train_images"]).reshape(-1, 784)
    n = int(gigabytes * 1e9) // 784
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 784))
    rng = np.random.default_rng(0)
    for start in range(0, n, len(digits)):
        stop = min(n, start + len(digits))
        out[start:stop] = np.roll(digits[: stop - start], int(rng.integers(-3, 4)), axis=1)
    out.flush()
    del out
    return n


def child(path: str, mode: str) -> None:
    import torch

    import sdae
    from sdae.data import Dataset, Scaling, split_indices
    from sdae.options import TrainOptions

    torch.set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    if mode == "mapped":
        dataset = sdae.load_dataset(path)
    else:
        dataset = Dataset("memory", torch.from_numpy(np.load(path)), None, None, None, Scaling(0.0, 1 / 255), (28, 28))
    fingerprint = dataset.fingerprint()
    loaded = time.perf_counter() - started
    train_index, val_index = split_indices(len(dataset.train), 0.01, torch.Generator().manual_seed(0))
    examples = dataset.examples("train")
    train, val = examples.subset(train_index), examples.subset(val_index)
    model = sdae.StackedDenoisingAutoencoder([784, 256], generator=torch.Generator().manual_seed(0))
    records = sdae.pretrain(model, train, val, sdae.parse_noise("gaussian:0.5"), TrainOptions(epochs=1),
                            torch.Generator().manual_seed(0))
    record = records[-1]
    print(json.dumps({"mode": mode, "examples": len(train), "load_and_fingerprint_s": round(loaded, 1),
                      "fingerprint": fingerprint, "epoch_s": round(record.seconds, 1),
                      "examples_per_s": round(len(train) / record.seconds), "train_loss": record.train_loss,
                      "val_loss": record.val_loss, "streamed": train.streamed}), flush=True)


def rss_anon_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run_child(path: str, mode: str) -> dict:
    process = subprocess.Popen([sys.executable, __file__, "--child", mode, "--file", path], stdout=subprocess.PIPE,
                               text=True)
    peak, started = 0, time.perf_counter()
    while process.poll() is None:
        peak = max(peak, rss_anon_kib(process.pid) or 0)
        time.sleep(0.1)
    out = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"the {mode} child failed ({process.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(peak_rss_anon_gib=round(peak / 2**20, 3), wall_s=round(time.perf_counter() - started, 1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gigabytes", type=float, default=4.2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dir", default=None, help="where to write the file (default: a temporary folder)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", choices=["mapped", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.file, args.child)
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = os.path.join(folder, "big.npy")
        started = time.perf_counter()
        n = write_file(path, args.gigabytes, args.data_dir)
        size = os.path.getsize(path)
        print(f"wrote {n} examples, {size / 1e9:.2f} GB, in {time.perf_counter() - started:.0f} s", flush=True)
        rows = [run_child(path, "mapped"), run_child(path, "memory")]
    print(f"{'path':<8} {'examples/s':>11} {'epoch s':>8} {'peak RssAnon GiB':>17} {'load+fingerprint s':>19} {'train loss':>11}")
    for r in rows:
        print(f"{r['mode']:<8} {r['examples_per_s']:>11} {r['epoch_s']:>8} {r['peak_rss_anon_gib']:>17} "
              f"{r['load_and_fingerprint_s']:>19} {r['train_loss']:>11.5f}")
    ratio = rows[0]["examples_per_s"] / rows[1]["examples_per_s"]
    print(f"mapped / in memory: {ratio:.2f} of the examples per second; same fingerprint: "
          f"{rows[0]['fingerprint'] == rows[1]['fingerprint']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"gigabytes": size / 1e9, "examples": n, "rows": rows, "mapped_over_memory": ratio}, f, indent=2)


if __name__ == "__main__":
    main()
