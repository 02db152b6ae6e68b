# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Process settings shared by the command lines: torch's thread count, and whether this CPU computes bf16."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)


def available_cores() -> int:
    """The cores this process may run on (``os.sched_getaffinity``; ``os.cpu_count`` where that is missing)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op thread count: ``threads`` when given, else ``OMP_NUM_THREADS`` when the user set it,
    else the cores available to this process. torch's default counts every core of the machine, which
    oversubscribes a container or a job pinned to fewer cores (one demo epoch: 73 s instead of 2.9 s beside a
    busy core).

    Args:
        threads: An explicit count (``--threads``).

    Returns:
        The thread count in force.
    """
    import torch

    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")
    if threads is None and os.environ.get("OMP_NUM_THREADS", "").strip().isdigit():
        threads = int(os.environ["OMP_NUM_THREADS"])
    if threads is None:
        threads = available_cores()
    torch.set_num_threads(threads)
    logger.debug("torch uses %d threads", threads)
    return threads


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512-BF16 or AMX tiles), i.e. whether bf16 autocast can be fast.

    Without them torch emulates bf16 arithmetic: on this project's AVX2-only EPYC, 2026-12-04, two 512-wide encoder
    layers' forward and backward took 22.4 s under bf16 autocast against 0.44 s in float32
    (``scripts/benchmark_bf16.py``); with AVX512-BF16 (another EPYC, 2026-12-03) 0.21 s against 0.36 s.
    """
    import torch

    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


__all__ = ["available_cores", "configure_threads", "cpu_has_bf16"]
