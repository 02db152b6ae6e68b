#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Pack a features folder small enough to move (frames pooled in advance, float16), and unpack it elsewhere.

A training run with ``--acoustic_downsample K`` only ever sees the masked averages of K Whisper frames, so a features
folder can travel as those averages: ``pack`` stores them (float16, a K-th of the frames: 34 MB instead of 380 MB for
speechocean762 with K = 16) with every other file of the folder unchanged; ``unpack`` rebuilds a features folder of
the original layout in which each frame holds the average of its window. ``train_asa.py --acoustic_downsample K``
then pools those windows back to the same averages, so the same command and arguments train on it (issue 10: the
experiment grids on a lent GPU). The averages are rounded to float16 once more; runs on an unpacked folder are not
bit-identical to runs on the original, and a model trained on one with any other pooling factor is meaningless
(``unpack`` records the factor in ``features_metadata.json`` under ``packed_from``).

Usage:
    python scripts/pack_features.py pack FEATURES_DIR PACK_DIR --pool 16
    python scripts/pack_features.py unpack PACK_DIR FEATURES_DIR
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
from datasets import DatasetDict, load_from_disk

from modeling_asa.features.store import DATASET_DIR, FEATURES_METADATA

logger = logging.getLogger("pack_features")

ACOUSTIC = "acoustic_features"
PACK_INFO = "pack.json"
REST_DIR = "dataset_without_acoustic"


def pool_frames(frames: np.ndarray, factor: int) -> np.ndarray:
    """Averages of ``factor`` consecutive frames (the last window may be shorter), computed in float32."""
    frames = np.asarray(frames, dtype=np.float32)
    n = -(-len(frames) // factor)
    pad = n * factor - len(frames)
    summed = np.pad(frames, ((0, pad), (0, 0))).reshape(n, factor, -1).sum(axis=1)
    counts = np.full(n, factor, dtype=np.float32)
    counts[-1] = factor - pad
    return summed / counts[:, None]


def expand_frames(pooled: np.ndarray, length: int, factor: int) -> np.ndarray:
    """``length`` frames in which frame t holds the average of its window (``pooled[t // factor]``)."""
    return np.repeat(pooled, factor, axis=0)[:length]


def pack(features_dir: Path, pack_dir: Path, factor: int) -> None:
    if not (features_dir / FEATURES_METADATA).is_file():
        raise SystemExit(f"{features_dir}: not a features folder (no {FEATURES_METADATA})")
    if pack_dir.exists():
        raise SystemExit(f"{pack_dir}: already exists; remove it or choose another folder")
    dataset = load_from_disk(str(features_dir / DATASET_DIR))
    pack_dir.mkdir(parents=True)
    arrays = {}
    for name, split in dataset.items():
        if ACOUSTIC not in split.column_names:
            raise SystemExit(f"{features_dir}: split {name} has no {ACOUSTIC}; nothing to pool")
        frames = split.with_format("numpy", columns=[ACOUSTIC])[ACOUSTIC]
        pooled = [pool_frames(f, factor).astype(np.float16) for f in frames]
        arrays[f"{name}.lengths"] = np.array([len(f) for f in frames], dtype=np.int32)
        arrays[f"{name}.frames"] = np.concatenate(pooled)
        logger.info(
            "%s: %d answers, %d frames -> %d", name, len(frames), sum(map(len, frames)), len(arrays[f"{name}.frames"])
        )
    np.savez(pack_dir / "acoustic_pooled.npz", **arrays)
    rest = DatasetDict({name: split.remove_columns(ACOUSTIC) for name, split in dataset.items()})
    rest.save_to_disk(str(pack_dir / REST_DIR))
    for item in features_dir.iterdir():
        if item.name in (DATASET_DIR, "cache"):
            continue  # the dataset is packed above; cache/ is asa-prepare's resumption state, not read by training
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, pack_dir / item.name)
    features = {name: split.features.to_dict() for name, split in dataset.items()}
    info = {"pool": factor, "source": str(features_dir), "features": features}
    (pack_dir / PACK_INFO).write_text(json.dumps(info, indent=1) + "\n")
    size = sum(p.stat().st_size for p in pack_dir.rglob("*") if p.is_file())
    logger.info("packed %s into %s (%.1f MB, frames pooled by %d)", features_dir, pack_dir, size / 1e6, factor)


def unpack(pack_dir: Path, features_dir: Path) -> None:
    from datasets import Features

    info_path = pack_dir / PACK_INFO
    if not info_path.is_file():
        raise SystemExit(f"{pack_dir}: not a packed features folder (no {PACK_INFO})")
    if features_dir.exists():
        raise SystemExit(f"{features_dir}: already exists; remove it or choose another folder")
    info = json.loads(info_path.read_text())
    factor = int(info["pool"])
    arrays = np.load(pack_dir / "acoustic_pooled.npz")
    rest = load_from_disk(str(pack_dir / REST_DIR))
    splits = {}
    for name, split in rest.items():
        lengths = arrays[f"{name}.lengths"]
        frames = arrays[f"{name}.frames"]
        starts = np.concatenate([[0], np.cumsum(-(-lengths // factor))])

        def add_frames(batch, indices, lengths=lengths, frames=frames, starts=starts):
            batch[ACOUSTIC] = [
                expand_frames(frames[starts[i] : starts[i + 1]], int(lengths[i]), factor) for i in indices
            ]
            return batch

        features = Features.from_dict(info["features"][name])
        splits[name] = split.map(add_frames, with_indices=True, batched=True, batch_size=64, features=features)
    features_dir.mkdir(parents=True)
    DatasetDict(splits).save_to_disk(str(features_dir / DATASET_DIR))
    for item in pack_dir.iterdir():
        if item.name in (REST_DIR, PACK_INFO, "acoustic_pooled.npz", FEATURES_METADATA):
            continue
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, features_dir / item.name)
    metadata = json.loads((pack_dir / FEATURES_METADATA).read_text())
    metadata["packed_from"] = {"source": info["source"], "pool": factor, "dtype": "float16"}
    (features_dir / FEATURES_METADATA).write_text(json.dumps(metadata, indent=2) + "\n")
    logger.info("unpacked %s into %s (train with --acoustic_downsample %d only)", pack_dir, features_dir, factor)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="features folder -> pack folder")
    p.add_argument("features_dir", type=Path)
    p.add_argument("pack_dir", type=Path)
    p.add_argument("--pool", type=int, default=16, help="frames per average (train_asa's --acoustic_downsample)")
    u = sub.add_parser("unpack", help="pack folder -> features folder")
    u.add_argument("pack_dir", type=Path)
    u.add_argument("features_dir", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", level=logging.INFO)
    if args.command == "pack":
        if args.pool < 1:
            parser.error("--pool must be at least 1")
        pack(args.features_dir, args.pack_dir, args.pool)
    else:
        unpack(args.pack_dir, args.features_dir)


if __name__ == "__main__":
    sys.exit(main())
