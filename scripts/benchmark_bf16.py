#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Forward + backward time of a branch-sized transformer encoder in float32 and under bf16 autocast, on this CPU.

The hybrid model's branches are 512-wide encoder layers over short sequences; this times two such layers on one
batch (16 answers x 60 frames by default) so a machine's bf16 speed-up can be read before training with
``--bf16 true`` (add ``--use_cpu true`` on a CPU). Prints the median time per step of each mode and their ratio.

Example::

    python scripts/benchmark_bf16.py --threads 2 --repeats 10
"""

from __future__ import annotations

import argparse
import statistics
import time


def main(argv: list[str] | None = None) -> dict[str, float]:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--hidden", type=int, default=512)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(args.hidden, 8, 4 * args.hidden, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    x = torch.randn(args.batch, args.frames, args.hidden)

    def step(bf16: bool) -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = encoder(x)
        y.float().sum().backward()
        return time.perf_counter() - start

    times: dict[str, list[float]] = {"float32": [], "bf16": []}
    for bf16 in (False, True):
        step(bf16)  # warm-up (oneDNN picks its kernels on the first call)
    for _ in range(args.repeats):  # interleaved, so a change in machine load affects both modes alike
        times["float32"].append(step(False))
        times["bf16"].append(step(True))
    medians = {mode: statistics.median(values) * 1000 for mode, values in times.items()}
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch} x {args.frames} x {args.hidden}")
    for mode, ms in medians.items():
        print(f"{mode:8s} {ms:8.1f} ms per forward + backward (median of {args.repeats})")
    print(f"bf16 speed-up: {medians['float32'] / medians['bf16']:.2f}x")
    return medians


if __name__ == "__main__":
    main()
