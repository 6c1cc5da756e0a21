"""sdae's fine-tuning speed against its peers, measured side by side and interleaved.

Each contestant runs in a process of its own, on the same first N MNIST digits, with the same
number of threads; the contestants take turns (A B C D E, A B C D E, ...) for several rounds, so a
drift in the machine's speed touches them all alike. Each process trains a warm-up epoch and then
E timed epochs; its figure is training examples per second over its best timed epoch.

  sdae            `sdae.run_finetuning` into a run folder at the defaults (batch auto = 128 here, Adam 2e-3,
                  gaussian:0.5 + speckle:0.5, cross-entropy), everything included: validation, the dead-unit
                  count, the checkpoint and metrics written every epoch (the time between two epochs' ends)
  notebook        the loop of the notebook the project started from: a per-example Dataset returning
                  ToTensor() images, DataLoader(batch_size=32, shuffle=True), SGD(0.01), MSE, Gaussian noise
  sdae-ptsdae     sdae as above at pt-sdae's settings: batch 256, SGD 0.1 momentum 0.9, masking 20%, MSE
  ptsdae          a loop doing what pt-sdae's `train` does at those settings (read from its source,
                  ptsdae/model.py, and written here): DataLoader(batch 256, shuffle) over a Dataset of
                  (image, label) tensors, F.dropout(x, 0.2) as the corruption, MSELoss, SGD step, and the
                  loss read back (`loss.item()`) after every batch as its progress bar does
  bare            the tightest loop we could write for sdae's defaults: the data one uint8 tensor, index
                  slices of one permutation, the same noise, logits and cross-entropy, fused Adam;
                  no validation, no records: sdae's own limit on this machine

The same network everywhere: 784-256-128-64-128-256-784, ReLU units, a Sigmoid output. The `sdae`
process also splits its epoch into the training steps and the rest (validation, dead units,
checkpoint, records). `--profile` adds, for sdae's defaults: the matrix products of one epoch timed
alone (the GEMM rate of these shapes) and torch.profiler's top operators of one epoch.

    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/peers.py --rounds 3 --out benchmarks/results/peers.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

CONTESTANTS = ("sdae", "notebook", "sdae-ptsdae", "ptsdae", "bare")
SIZES = [784, 256, 128, 64]


def plain_network():
    """The network as a plain nn.Sequential, ending in logits (the loss applies the Sigmoid)."""
    from torch import nn

    layers: list[nn.Module] = []
    widths = [*SIZES, *reversed(SIZES[:-1])]
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def mnist(n: int):
    from sdae.data import load_dataset

    data = load_dataset("mnist", os.environ.get("SDAE_DATA_DIR"), n)
    return data.train, data.train_labels  # uint8 (n, 784), int64 (n,)


def sync(device: str) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def timed(epochs: int, one_epoch) -> list[float]:
    one_epoch()  # warm-up
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        one_epoch()
        times.append(time.perf_counter() - started)
    return times


def run_sdae(n: int, epochs: int, ptsdae: bool, device: str) -> dict:
    import sdae
    from sdae import loop
    from sdae.loop import Hooks

    inside = []
    original = loop.train_epoch

    def counted(*args, **kwargs):
        started = time.perf_counter()
        result = original(*args, **kwargs)
        inside.append(time.perf_counter() - started)
        return result

    loop.train_epoch = counted  # the loop's own training steps, timed apart from the rest of each epoch
    noise = ["masking:0.2"] if ptsdae else sdae.RunConfig().noise
    options = dict(batch_size=256, optimizer="sgd", lr=0.1, momentum=0.9, loss="mse", warmup=0.0) if ptsdae else {}
    with tempfile.TemporaryDirectory() as folder:
        run = os.path.join(folder, "run")
        config = sdae.RunConfig(data=sdae.DataOptions("mnist", os.environ.get("SDAE_DATA_DIR"), n), noise=noise,
                                device=device, pretrain=sdae.TrainOptions(epochs=0))
        sdae.run_pretraining(run, config)
        ends: list[float] = []
        hooks = Hooks(on_epoch=lambda record: ends.append(time.perf_counter()))
        sdae.run_finetuning(run, sdae.FinetuneOptions(sdae.TrainOptions(epochs=epochs + 1, **options)), hooks=hooks)
        trained = sdae.RunFolder.open(run).facts.n_train
    epoch_s = [b - a for a, b in zip(ends, ends[1:])]  # epoch k+1: from epoch k's end (its checkpoint included)
    steps_s = inside[1:]
    return {"examples": trained, "epoch_s": epoch_s, "steps_s": steps_s,
            "outside_s": [e - s for e, s in zip(epoch_s, steps_s)]}


def run_notebook(n: int, epochs: int, device: str) -> dict:
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset
    from torchvision.transforms import ToTensor

    images, labels = mnist(n)
    images = images.view(-1, 28, 28).numpy()

    class DigitImages(Dataset):
        def __init__(self):
            self.to_tensor = ToTensor()

        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            return self.to_tensor(Image.fromarray(images[i])), int(labels[i])

    torch.manual_seed(0)
    model = torch.nn.Sequential(plain_network(), torch.nn.Sigmoid()).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(DigitImages(), batch_size=32, shuffle=True)

    def one_epoch():
        for x, _ in loader:
            x = x.view(x.size(0), -1).to(device)
            noisy = (x + 0.5 * torch.randn_like(x)).clamp(0, 1)
            loss = torch.nn.functional.mse_loss(model(noisy), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        sync(device)

    return {"examples": n, "epoch_s": timed(epochs, one_epoch)}


def run_ptsdae(n: int, epochs: int, device: str) -> dict:
    import torch
    from torch.nn import functional as F
    from torch.utils.data import DataLoader, TensorDataset

    images, labels = mnist(n)
    dataset = TensorDataset(images.float() / 255, labels)  # pt-sdae's examples cache the tensors likewise
    torch.manual_seed(0)
    model = torch.nn.Sequential(plain_network(), torch.nn.Sigmoid()).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_function = torch.nn.MSELoss()
    loader = DataLoader(dataset, batch_size=256, pin_memory=False, shuffle=True)

    def one_epoch():
        for batch in loader:
            batch, _ = batch
            batch = batch.to(device)  # pt-sdae: batch.cuda(async=True) when it runs on a GPU
            batch = batch.squeeze(1).view(batch.size(0), -1)
            output = model(F.dropout(batch, 0.2))
            loss = loss_function(output, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step(closure=None)
            float(loss.item())
        sync(device)

    return {"examples": n, "epoch_s": timed(epochs, one_epoch)}


def run_bare(n: int, epochs: int, device: str) -> dict:
    import torch
    from torch.nn import functional as F

    images, _ = mnist(n)
    images = images[: n - n // 10].to(device)  # sdae's training part: 90%, the rest held out
    generator = torch.Generator(device=device).manual_seed(0)
    torch.manual_seed(0)
    model = plain_network().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, fused=True)
    count = len(images)

    def one_epoch():
        order = torch.randperm(count, generator=generator, device=device)
        for start in range(0, count, 128):
            x = images[order[start : start + 128]].float() / 255
            n_ = torch.randn(x.shape, generator=generator, device=device)
            speckle = torch.rand(x.shape[0], 1, generator=generator, device=device) < 0.5
            noisy = x + 0.5 * n_ * torch.where(speckle, x, torch.ones_like(x))
            loss = F.binary_cross_entropy_with_logits(model(noisy), x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        sync(device)

    return {"examples": count, "epoch_s": timed(epochs, one_epoch)}


def profile(n: int) -> dict:
    """sdae's default fine-tuning epoch: its matrix products alone, and torch.profiler's top operators."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    import sdae

    data = sdae.load_dataset("mnist", os.environ.get("SDAE_DATA_DIR"), n)
    train = data.examples("train").subset(torch.arange(n - n // 10))
    model = sdae.StackedDenoisingAutoencoder(SIZES, generator=torch.Generator().manual_seed(0))
    noise, generator = sdae.parse_noise(sdae.RunConfig().noise), torch.Generator().manual_seed(0)
    options = sdae.TrainOptions(epochs=1)
    sdae.finetune(model, train, None, noise, options, generator)  # warm-up
    started = time.perf_counter()
    sdae.finetune(model, train, None, noise, options, generator)
    epoch = time.perf_counter() - started
    batch, steps = 128, -(-len(train) // 128)
    widths = [*SIZES, *reversed(SIZES[:-1])]
    weights = [torch.randn(b, a) for a, b in zip(widths, widths[1:])]
    x = [torch.randn(batch, a) for a in widths[:-1]]
    g = [torch.randn(batch, b) for b in widths[1:]]

    def products():  # forward, the gradient for the inputs, the gradient for the weights: 3 GEMMs a layer
        for w, xi, gi in zip(weights, x, g):
            xi @ w.t()
            gi @ w
            gi.t() @ xi

    products()
    started = time.perf_counter()
    for _ in range(steps):
        products()
    gemm = time.perf_counter() - started
    flops = steps * sum(6 * batch * w.numel() for w in weights)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        sdae.finetune(model, train, None, noise, options, generator)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12)
    return {"epoch_s": epoch, "gemm_s": gemm, "gemm_share": gemm / epoch, "gemm_gflops": flops / gemm / 1e9,
            "achieved_gflops": flops / epoch / 1e9, "top_operators": table}


def child(name: str, n: int, epochs: int, threads: int, device: str) -> None:
    import torch

    torch.set_num_threads(threads)
    run = {"sdae": lambda: run_sdae(n, epochs, False, device), "sdae-ptsdae": lambda: run_sdae(n, epochs, True, device),
           "notebook": lambda: run_notebook(n, epochs, device), "ptsdae": lambda: run_ptsdae(n, epochs, device),
           "bare": lambda: run_bare(n, epochs, device), "profile": lambda: profile(n)}[name]
    result = run()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3, help="Timed epochs per process, after a warm-up epoch.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="Also profile sdae's epoch (on the CPU).")
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where every contestant trains.")
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.examples, args.epochs, args.threads, args.device)
        return
    runs: dict[str, list[dict]] = {name: [] for name in CONTESTANTS}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONWARNINGS": "ignore"}
    for round_ in range(args.rounds):
        for name in CONTESTANTS:
            out = subprocess.run([sys.executable, __file__, "--child", name, "--examples", str(args.examples),
                                  "--epochs", str(args.epochs), "--threads", str(args.threads), "--device", args.device],
                                 capture_output=True, text=True, env=env, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            result["rate"] = result["examples"] / min(result["epoch_s"])
            runs[name].append(result)
            print(f"round {round_ + 1} {name:<12} {result['rate']:8.0f} examples/s", flush=True)

    def ratios(a: str, b: str) -> dict:
        values = [x["rate"] / y["rate"] for x, y in zip(runs[a], runs[b])]
        return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
                "max": round(max(values), 2)}

    outside = [o / e for r in runs["sdae"] for o, e in zip(r["outside_s"], r["epoch_s"])]
    summary = {
        "rates": {k: {"median": round(statistics.median(r["rate"] for r in v)), "min": round(min(r["rate"] for r in v)),
                      "max": round(max(r["rate"] for r in v))} for k, v in runs.items()},
        "sdae / notebook": ratios("sdae", "notebook"),
        "sdae at pt-sdae's settings / pt-sdae": ratios("sdae-ptsdae", "ptsdae"),
        "sdae / bare loop": ratios("sdae", "bare"),
        "sdae: share of an epoch outside the training steps": {"median": round(statistics.median(outside), 3),
                                                                 "max": round(max(outside), 3)},
        "peak_rss_mb": {k: round(max(r["peak_rss_mb"] for r in v)) for k, v in runs.items()},
    }
    if args.profile:
        out = subprocess.run([sys.executable, __file__, "--child", "profile", "--examples", str(args.examples),
                              "--threads", str(args.threads)], capture_output=True, text=True, env=env, check=True)
        summary["profile"] = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps({k: v for k, v in summary.items() if k != "profile"}, indent=1))
    if "profile" in summary:
        print(summary["profile"]["top_operators"])
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"command": " ".join(["python benchmarks/peers.py", *sys.argv[1:]]), "summary": summary,
                       "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
