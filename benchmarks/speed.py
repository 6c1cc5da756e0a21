"""Speed, measured side by side: sdae's training loop, the original notebook's loop, and the machine.

In one run, on the same MNIST digits:
  1. the machine's dense float32 GEMM rate (a 4096 x 4096 matrix product, best of several);
  2. sdae fine-tuning and greedy pretraining of the default 784-256-128-64 network, examples per
     second at several batch sizes, and the achieved GFLOP/s (6 FLOPs per weight per example:
     forward, and backward for inputs and weights);
  3. the reference loop of the notebook the project started from: a per-example Dataset
     returning ToTensor() images, DataLoader(batch_size=32, shuffle=True), SGD(lr=0.01), MSE,
     Gaussian noise added per batch; the ratio ours / reference;
  4. how the time of one fine-tuning epoch grows with the number of examples and with width;
  5. the peak resident memory of a `sdae finetune` process on all 60,000 digits;
  6. with --compile: fine-tuning eager against `--compile` (torch.compile, mode "reduce-overhead",
     which captures the forward and backward passes in CUDA graphs on a GPU), the first compiled
     epoch (the compilation) timed apart.
Every timing excludes a warm-up epoch. Prints a table and writes JSON.

    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/speed.py --out benchmarks/results/speed-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import sdae
from sdae.data import Examples
from sdae.options import TrainOptions

DEFAULT = TrainOptions().for_examples(60_000)  # MNIST-sized data: the default batch of 128


def gemm_gflops(device: torch.device, n: int = 4096, repeats: int = 5) -> float:
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    best = float("inf")
    for _ in range(repeats + 1):
        _sync(device)
        started = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def weights_of(sizes: list[int]) -> int:
    """Weights of the encoder and the decoder (biases are negligible)."""
    return 2 * sum(a * b for a, b in zip(sizes, sizes[1:]))


def time_epochs(train_one_epoch, epochs: int = 2) -> float:
    """Seconds of one epoch: the best of `epochs` epochs after a warm-up epoch."""
    train_one_epoch()
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        train_one_epoch()
        times.append(time.perf_counter() - started)
    return min(times)


def sdae_rate(stage: str, examples: Examples, sizes: list[int], batch_size: int, device, compiled: bool = False) -> float:
    """Examples per second of one fine-tuning epoch, or example-pair updates per second of one greedy
    pretraining pass (one epoch for each pair, the clean codes included)."""
    model = sdae.StackedDenoisingAutoencoder(sizes, generator=torch.Generator().manual_seed(0)).to(device)
    noise = sdae.parse_noise(sdae.RunConfig().noise)
    generator = torch.Generator(device=device).manual_seed(0)
    options = TrainOptions(epochs=1, batch_size=batch_size, compile=compiled)
    train = sdae.finetune if stage == "finetune" else sdae.pretrain
    seconds = time_epochs(lambda: train(model, examples, None, noise, options, generator))
    return len(examples) * (1 if stage == "finetune" else len(sizes) - 1) / seconds


def reference_rate(images: np.ndarray, labels: np.ndarray, sizes: list[int], device) -> float:
    """The original notebook's loop: per-example Dataset + ToTensor + DataLoader(32), SGD(0.01), MSE."""
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset
    from torchvision.transforms import ToTensor

    class DigitImages(Dataset):
        def __init__(self, images, labels):
            self.images, self.labels, self.to_tensor = images, labels, ToTensor()

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            return self.to_tensor(Image.fromarray(self.images[i])), int(self.labels[i])

    torch.manual_seed(0)
    model = sdae.StackedDenoisingAutoencoder(sizes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(DigitImages(images, labels), batch_size=32, shuffle=True)

    def one_epoch():
        for x, _ in loader:
            x = x.view(x.size(0), -1).to(device)
            noisy = (x + 0.5 * torch.randn_like(x)).clamp(0, 1)
            loss = torch.nn.functional.mse_loss(model(noisy), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        _sync(device)

    return len(images) / time_epochs(one_epoch, epochs=1)


def peak_memory_of_full_finetune(data_dir: str | None, epochs: int) -> dict:
    """Pretrain (1 epoch per pair) then fine-tune on all 60,000 digits in child processes; their peak RSS."""
    with tempfile.TemporaryDirectory() as folder:
        run = os.path.join(folder, "run")
        env = {**os.environ, **({"SDAE_DATA_DIR": data_dir} if data_dir else {})}
        command = [sys.executable, "-m", "cli.main"]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root
        subprocess.run([*command, "pretrain", "--out", run, "--epochs", "1", "--quiet"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        started = time.perf_counter()
        subprocess.run([*command, "finetune", run, "--epochs", str(epochs), "--quiet"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"peak_rss_mib": peak_kib / 1024, "finetune_epochs": epochs, "finetune_process_seconds": seconds}


def compare_compiled(examples: Examples, sizes: list[int], device) -> dict:
    """Fine-tuning examples/s on all the digits, eager and compiled, side by side; the compilation apart."""
    print("\nfine-tuning, default batch size, all training digits: eager against torch.compile(mode='reduce-overhead')")
    result = {}
    for compiled in (False, True):
        model = sdae.StackedDenoisingAutoencoder(sizes, generator=torch.Generator().manual_seed(0)).to(device)
        noise = sdae.parse_noise(sdae.RunConfig().noise)
        generator = torch.Generator(device=device).manual_seed(0)
        options = TrainOptions(epochs=1, compile=compiled)
        _sync(device)
        started = time.perf_counter()
        sdae.finetune(model, examples, None, noise, options, generator)  # the first epoch compiles
        _sync(device)
        first = time.perf_counter() - started
        seconds = time_epochs(lambda: (sdae.finetune(model, examples, None, noise, options, generator), _sync(device)))
        name = "compiled" if compiled else "eager"
        result[name] = {"examples_per_s": len(examples) / seconds, "epoch_s": seconds, "first_epoch_s": first,
                        "projected_120_epochs_s": first + 119 * seconds}
        print(f"{name:<9} {len(examples) / seconds:>11.0f} examples/s, epoch {seconds:.2f} s, first epoch {first:.1f} s, "
              f"120 epochs ~{first + 119 * seconds:.0f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--examples", type=int, default=20000, help="digits for the throughput comparison")
    parser.add_argument("--batch-sizes", default="64,128,256,512")
    parser.add_argument("--memory-epochs", type=int, default=3, help="fine-tuning epochs of the memory measurement")
    parser.add_argument("--compile", action="store_true", help="also compare eager and compiled fine-tuning")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    device = sdae.resolve_device(args.device)
    sizes = [784, *sdae.RunConfig().layers]
    data = sdae.load_dataset("mnist", args.data_dir)
    all_digits = data.examples("train", device)
    subset = all_digits.subset(torch.arange(args.examples, device=device))
    report = {"device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine(),
              "threads": torch.get_num_threads(), "torch": torch.__version__, "examples": args.examples}

    gemm = gemm_gflops(device)
    report["gemm_gflops"] = gemm
    print(f"device {report['device']} ({device}), {report['threads']} threads, torch {torch.__version__}")
    print(f"dense float32 GEMM (4096^3): {gemm:.0f} GFLOP/s")

    flops_per_example = 6 * weights_of(sizes)
    print(f"\nsdae on {args.examples} MNIST digits, network {'-'.join(map(str, sizes))}")
    print(f"{'stage':<10} {'batch':>6} {'examples/s':>11} {'GFLOP/s':>8} {'of GEMM':>8}")
    rows = []
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        for stage in ("finetune", "pretrain"):
            rate = sdae_rate(stage, subset, sizes, batch, device)
            # a pretraining "example" is one example through one pair: on average 1/(pairs) of the weights
            per_example = flops_per_example / (1 if stage == "finetune" else len(sizes) - 1)
            gflops = rate * per_example / 1e9
            rows.append({"stage": stage, "batch_size": batch, "examples_per_s": rate, "gflops": gflops,
                         "fraction_of_gemm": gflops / gemm})
            mark = "  (default)" if batch == DEFAULT.batch_size else ""
            print(f"{stage:<10} {batch:>6} {rate:>11.0f} {gflops:>8.1f} {100 * gflops / gemm:>7.0f}%{mark}", flush=True)
    report["throughput"] = rows

    images = data.train[: args.examples].numpy().reshape(-1, 28, 28)
    reference = reference_rate(images, data.train_labels[: args.examples].numpy(), sizes, device)
    ours = next(r["examples_per_s"] for r in rows if r["stage"] == "finetune" and r["batch_size"] == DEFAULT.batch_size) \
        if any(r["batch_size"] == DEFAULT.batch_size for r in rows) else sdae_rate("finetune", subset, sizes, DEFAULT.batch_size, device)
    report["reference_examples_per_s"] = reference
    report["ours_over_reference"] = ours / reference
    print(f"\nreference loop (Dataset + ToTensor + DataLoader(32), SGD 0.01, MSE): {reference:.0f} examples/s")
    print(f"sdae fine-tuning at the default batch size {DEFAULT.batch_size}: {ours:.0f} examples/s = {ours / reference:.1f}x")

    print("\none fine-tuning epoch, default batch size")
    print(f"{'network':<20} {'examples':>9} {'seconds':>8} {'us/example':>11}")
    scaling = []
    for n in (10000, 30000, 60000):
        part = all_digits.subset(torch.arange(n, device=device))
        seconds = n / sdae_rate("finetune", part, sizes, DEFAULT.batch_size, device)
        scaling.append({"network": sizes, "examples": n, "seconds": seconds})
        print(f"{'-'.join(map(str, sizes)):<20} {n:>9} {seconds:>8.2f} {1e6 * seconds / n:>11.1f}", flush=True)
    for width in (256, 1000, 2000):
        wide = [784, width, 128, 64]
        part = all_digits.subset(torch.arange(10000, device=device))
        seconds = 10000 / sdae_rate("finetune", part, wide, DEFAULT.batch_size, device)
        scaling.append({"network": wide, "examples": 10000, "seconds": seconds,
                        "gflops": 10000 * 6 * weights_of(wide) / seconds / 1e9})
        print(f"{'-'.join(map(str, wide)):<20} {10000:>9} {seconds:>8.2f} {1e6 * seconds / 10000:>11.1f}", flush=True)
    report["scaling"] = scaling

    if args.compile:
        report["compile"] = compare_compiled(all_digits, sizes, device)

    memory = peak_memory_of_full_finetune(args.data_dir, args.memory_epochs)
    report["memory"] = memory
    print(f"\npeak resident memory of sdae finetune on 60,000 digits: {memory['peak_rss_mib']:.0f} MiB")

    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
