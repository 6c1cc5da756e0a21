"""Score a network trained by sdae 0.1 (its model.pt) on today's test setting, for before/after comparisons.

sdae 0.1 clipped Gaussian and speckle noise and started its weights at He's bound; 0.2 does not.
This loads a 0.1 main job's weights into today's network (the units got names in 0.2) and reports
its test reconstruction error under today's unclipped noise, from the same fixed seed `sdae
evaluate` uses, and its dead units on the run's validation digits. To make the 0.1 network:

    git worktree add /tmp/v01 6dda70c
    (cd /tmp/v01 && SDAE_DATA_DIR=/path/to/mnist python -m cli.main pretrain --out /tmp/v01run --quiet \\
                 && SDAE_DATA_DIR=/path/to/mnist python -m cli.main finetune /tmp/v01run --quiet)
    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/score_v01.py /tmp/v01run/model.pt
"""

import json
import sys

import torch

import sdae
from sdae.commands.rundata import prepare
from sdae.report.reconstruction import reconstruction_errors
from sdae.stages import dead_units


def renamed(key: str) -> str:
    """0.1's flat Sequential index (encoder.2.weight) as 0.2's named unit (encoder.1.linear.weight)."""
    part, index, name = key.split(".")
    return f"{part}.{int(index) // 2}.linear.{name}"


def main() -> None:
    state = torch.load(sys.argv[1], weights_only=True)
    model = sdae.StackedDenoisingAutoencoder([784, 256, 128, 64])
    model.load_state_dict({renamed(k): v for k, v in state.items()}, strict=False)  # 0.1 saved no input scaling
    data = prepare(sdae.RunConfig(), torch.device("cpu"))
    test = data.dataset.examples("test")
    rows = {"clean": reconstruction_errors(model, test)}
    for spec in ("gaussian:0.5", "speckle:0.5"):
        rows[spec] = reconstruction_errors(model, test, sdae.parse_noise(spec))
    rows["dead_units_validation"] = dead_units(model, data.val)
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
