"""Why the paper's protocol (`--preset vincent2010`) stays at chance on rectangles at a tenth of the data: how much
do the pretrained stacks' codes vary from one example to the next, and what does fine-tuning do with them? For the
preset and for sdae's defaults: SAA-3 and SdA-3 (masking 25%) pretrained as `sdae bench` pretrains them (beside the same initial weights
untrained: how far did pretraining move them?), then one
fine-tuning at a fixed rate without early stopping, its training and validation errors every 50 epochs.

    python benchmarks/preset_rectangles.py --out benchmarks/results/preset-rectangles.json
"""

from __future__ import annotations

import argparse
import copy
import json

import torch

from sdae.bench_options import BenchOptions
from sdae.commands.bench_search import NETWORK_MODELS, epochs_factor, pretrained_stack, stage_options
from sdae.files import atomic_write_json
from sdae.loop import Hooks
from sdae.paper.common import load_problem
from sdae.selection import classification_scores
from sdae.stages import supervised_finetune


def code_spread(stack, examples) -> list[dict]:
    """Each layer's code over the examples: its mean, and each unit's standard deviation across examples (median)."""
    found = []
    with torch.no_grad():
        h = next(iter(examples.batches(len(examples))))
        for k, pair in enumerate(stack.encoder, start=1):
            h = pair(h)
            found.append({"layer": k, "mean": round(float(h.mean()), 4), "unit_sd_median": round(float(h.std(0).median()), 5)})
    return found


def fine_tuned(stack, state, problem, options, lr: float, epochs: int) -> list[dict]:
    """Fine-tune a copy at `lr` for `epochs` (no early stopping); errors (%) on the training and validation parts."""
    network = copy.deepcopy(stack)
    network.add_head(problem.classes, generator=torch.Generator().manual_seed(options.seed))
    generator = torch.Generator()
    generator.set_state(state)
    trace = []

    def on_epoch(record):
        if record.epoch == 1 or record.epoch % 50 == 0:
            train_error, _ = classification_scores(network, problem.train, problem.train_labels)
            trace.append({"epoch": record.epoch, "train_loss": round(record.train_loss, 5),
                          "train_error": round(100 * train_error, 2), "val_error": round(100 * record.val_error, 2)})

    factor = epochs_factor(problem.cut, options.scale)
    supervised_finetune(network, problem.train, problem.train_labels, problem.val, problem.val_labels,
                        stage_options(options, factor, epochs, lr, options.schedule), generator,
                        hooks=Hooks(on_epoch=on_epoch))
    return trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=1000, help="fine-tuning epochs (the bench's budget at 0.1)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    protocols = {
        "vincent2010": (BenchOptions.from_preset("vincent2010", scale=args.scale, units=500, pretrain_epochs=60,
                                                 epochs=100, patience=None), 0.1),
        "defaults": (BenchOptions(scale=args.scale, units=500, pretrain_epochs=60, epochs=100, patience=None).validate(),
                     0.002),
    }
    found: dict = {"scale": args.scale, "fine_tuning_epochs": args.epochs}
    for name, (options, lr) in protocols.items():
        problem, origin = load_problem("rectangles", options)
        found["data"] = origin
        found["sizes"] = {"train": len(problem.train), "val": len(problem.val),
                          "val_share_of_class_1": round(float(problem.val_labels.float().mean()), 3)}
        untrained, _ = pretrained_stack(NETWORK_MODELS["mlp"], problem, options, 0.0)  # the same initial weights
        found[f"{name}/untrained"] = {"codes": code_spread(untrained, problem.train)}
        for model in ("saa3", "sda3"):
            stack, state = pretrained_stack(NETWORK_MODELS[model], problem, options, 0.25)
            moved = [round(float((p.linear.weight - q.linear.weight).detach().norm() / q.linear.weight.norm()), 4)
                     for p, q in zip(stack.encoder, untrained.encoder)]
            found[f"{name}/{model}"] = {"lr": lr, "codes": code_spread(stack, problem.train),
                                        "weights_moved": moved,  # each layer's |W - W0| / |W0|
                                        "fine_tuning": fine_tuned(stack, state, problem, options, lr, args.epochs)}
            print(name, model, json.dumps(found[f"{name}/{model}"]), flush=True)
    if args.out:
        atomic_write_json(args.out, found)


if __name__ == "__main__":
    main()
