"""Data-parallel training: two processes on the CPU give the model one process gives (up to reduction order)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from modeling_asa import training as train_asa

ARGS = [
    "--hidden_size", "16", "--intermediate_size", "32", "--num_attention_heads", "2", "--head_hidden_size", "8",
    "--num_train_epochs", "2", "--disable_tqdm", "true", "--use_cpu", "true", "--hidden_dropout_prob", "0",
    "--learning_rate", "5e-3", "--logging_steps", "1", "--seed", "3", "--loss", "ce", "--regularizer", "w_ranksim",
    "--keep_checkpoints", "true",
]  # fmt: skip


def _losses(output: Path) -> list[float]:
    state = json.loads((output / f"checkpoint-{_last_step(output)}" / "trainer_state.json").read_text())
    return [h["loss"] for h in state["log_history"] if "loss" in h]


def _last_step(output: Path) -> int:
    return max(int(p.name.split("-")[1]) for p in output.glob("checkpoint-*"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("accelerate") is None, reason="the accelerate command is not installed")
def test_two_processes_train_the_model_one_process_trains(trained, tmp_path):
    features = trained["root"] / "features"
    branches = ",".join(trained["stages"])
    splits = (features / "splits.csv").read_text().splitlines()[1:]
    n_train = sum(line.rstrip().endswith(",train") for line in splits)
    per_device = 3
    # every step must see whole batches on both processes (accelerate pads an uneven last batch with repeats)
    assert n_train % (2 * per_device) == 0, f"the fixture's train split ({n_train}) no longer divides into batches"
    common = [*ARGS, "--features_dir", str(features), "--branches", branches]

    one = tmp_path / "one"
    train_asa.main([*common, "--per_device_train_batch_size", str(2 * per_device), "--output_dir", str(one)])
    two = tmp_path / "two"
    # On a CPU, `accelerate launch --cpu` starts one process: --multi_gpu is the torch.distributed launcher (gloo here)
    command = ["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", str(ROOT / "train_asa.py"), *common,
               "--per_device_train_batch_size", str(per_device), "--output_dir", str(two)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]

    assert _last_step(one) == _last_step(two) == 2 * n_train // (2 * per_device)  # the global batch is the same
    losses = _losses(one)
    assert losses[-1] < losses[0]  # it learned something, so equal weights are not equal initialisations
    assert _losses(two) == pytest.approx(losses, rel=1e-5)
    weights_one, weights_two = load_file(str(one / "model.safetensors")), load_file(str(two / "model.safetensors"))
    assert weights_one.keys() == weights_two.keys()
    for name, tensor in weights_one.items():
        torch.testing.assert_close(weights_two[name], tensor, atol=1e-5, rtol=1e-4, msg=name)
    results_one = json.loads((one / "asa_results.json").read_text())
    results_two = json.loads((two / "asa_results.json").read_text())
    assert results_one.keys() == results_two.keys()
    for split in results_one:
        for metric in ("accuracy", "macro_f1", "qwk", "mae"):
            assert results_two[split][metric] == pytest.approx(results_one[split][metric], abs=1e-6), (split, metric)
    # the main process alone writes the predictions, one row per answer (no padding repeats from the shards)
    for split in results_one:
        rows_one = (one / f"predictions_{split}.csv").read_text().splitlines()
        rows_two = (two / f"predictions_{split}.csv").read_text().splitlines()
        assert len(rows_one) == len(rows_two)
