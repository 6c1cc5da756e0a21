"""One process against torchrun's N, side by side: the default MNIST pipeline, examples/s and final losses.

The same run (default network 784-256-128-64, all 54,000 training digits, --epochs pretraining
epochs per pair, then --finetune-epochs of denoising fine-tuning) by `sdae` in one process and by
`torchrun --standalone --nproc-per-node N -m sdae` (gloo on the CPU; each process gets
cores / N threads, the single process all of them). Examples/s are the training epochs' own
(metrics.jsonl `seconds`); final losses are the last epoch's validation loss of each stage.
Beside them, "the noise of a different draw": the one-process run's fine-tuning repeated from the
same pretrained weights on the same split with other seeds for the order and the noise
(--draws), the spread that the N-process result is compared with.

    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/data_parallel.py --out benchmarks/results/data-parallel.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def sdae_command(processes: int) -> list[str]:
    if processes == 1:
        return [sys.executable, "-m", "sdae"]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes), "-m", "sdae"]


def run(processes: int, folder: str, args) -> dict:
    threads = max(1, (os.cpu_count() or 1) // processes)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    path = os.path.join(folder, f"p{processes}")
    started = time.perf_counter()
    subprocess.run([*sdae_command(processes), "pretrain", "--out", path, "--epochs", str(args.epochs), "--device", "cpu",
                    "--quiet"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*sdae_command(processes), "finetune", path, "--epochs", str(args.finetune_epochs), "--quiet"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    rows = [json.loads(line) for line in open(os.path.join(path, "metrics.jsonl")) if line.strip()]
    facts = json.load(open(os.path.join(path, "config.json")))["data_facts"]
    n = facts["n_train"]
    out = {"processes": processes, "threads_each": threads, "wall_s": round(wall, 1), "n_train": n}
    for stage in ("pretrain", "finetune"):
        mine = [r for r in rows if r["stage"] == stage]
        out[f"{stage}_examples_per_s"] = round(n * len(mine) / sum(r["seconds"] for r in mine))
        out[f"{stage}_final_val_loss"] = mine[-1]["val_loss"]
    return out


def other_draws(path: str, epochs: int, seeds: list[int]) -> list[float]:
    """Final validation losses of the one-process fine-tuning redone with other generator seeds."""
    import torch

    import sdae
    from sdae.commands.rundata import prepare
    from sdae.options import TrainOptions
    from sdae.loading import load_model
    from sdae.runfolder import PRETRAINED

    folder = sdae.RunFolder.open(path)
    config = folder.config
    data = prepare(config, torch.device("cpu"), folder.data_facts)
    losses = []
    for seed in seeds:
        model = load_model(folder, PRETRAINED)
        records = sdae.finetune(model, data.train, data.val, sdae.parse_noise(config.noise), TrainOptions(epochs=epochs),
                                torch.Generator().manual_seed(seed))
        losses.append(records[-1].val_loss)
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--epochs", type=int, default=3, help="pretraining epochs per pair")
    parser.add_argument("--finetune-epochs", type=int, default=20)
    parser.add_argument("--draws", default="1,2", help="other seeds for the one-process fine-tuning")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = [run(int(p), folder, args) for p in args.processes.split(",")]
        draws = other_draws(os.path.join(folder, "p1"), args.finetune_epochs, [int(s) for s in args.draws.split(",")])
    base = rows[0]
    print(f"{'processes':>9} {'threads each':>12} {'pretrain ex/s':>14} {'finetune ex/s':>14} "
          f"{'pretrain val':>13} {'finetune val':>13} {'vs 1 process':>13}")
    for r in rows:
        change = r["finetune_final_val_loss"] / base["finetune_final_val_loss"] - 1
        print(f"{r['processes']:>9} {r['threads_each']:>12} {r['pretrain_examples_per_s']:>14} "
              f"{r['finetune_examples_per_s']:>14} {r['pretrain_final_val_loss']:>13.5f} {r['finetune_final_val_loss']:>13.5f} "
              f"{100 * change:>+12.2f}%")
    spread = [100 * (v / base["finetune_final_val_loss"] - 1) for v in draws]
    print(f"one process, other draws of order and noise (seeds {args.draws}): final fine-tuning val "
          + ", ".join(f"{v:.5f} ({s:+.2f}%)" for v, s in zip(draws, spread)))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "rows": rows, "one_process_other_draws": draws}, f, indent=2)


if __name__ == "__main__":
    main()
