"""Milliseconds per Adam step on the default network's parameters: per-parameter, foreach, fused.

    python benchmarks/optimizer_step.py
"""

import time

import torch

import sdae


def main() -> None:
    model = sdae.StackedDenoisingAutoencoder([784, 256, 128, 64])
    params = list(model.parameters())
    for p in params:
        p.grad = torch.randn_like(p)
    for kwargs in ({"foreach": False}, {"foreach": True}, {"fused": True}):
        optimizer = torch.optim.Adam(params, lr=1e-3, **kwargs)
        for _ in range(5):
            optimizer.step()
        started = time.perf_counter()
        for _ in range(100):
            optimizer.step()
        print(f"Adam {kwargs}: {(time.perf_counter() - started) * 10:.2f} ms per step")


if __name__ == "__main__":
    main()
