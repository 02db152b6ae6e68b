"""scripts/run_experiments.py: a resumable grid, seed by seed, filtered by --only, with real (tiny) training runs."""

import json
import logging
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import run_experiments

TINY = ["--num_train_epochs", "1", "--per_device_train_batch_size", "8", "--disable_tqdm", "true",
        "--use_cpu", "true", "--save_strategy", "no", "--log_level", "error"]  # fmt: skip


def test_grid_runs_seed_by_seed_resumes_and_keeps_metrics_only(trained, tmp_path, caplog):
    features = str(trained["root"] / "features")
    out = tmp_path / "grid"
    argv = ["--features_dir", features, "--output", str(out), "--grid", "baselines", "--seeds", "0,1",
            "--metrics_only", "--", *TINY]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="run_experiments"):
        results = run_experiments.main(argv)
    trained_names = [r.getMessage().split(":")[0] for r in caplog.records if r.getMessage().endswith(": training")]
    # every setting with seed 0, then every setting with seed 1
    assert [n.rsplit("_seed", 1)[1] for n in trained_names] == ["0", "0", "1", "1"]
    assert len(results) == 4 and (out / "results.md").is_file()
    for name in trained_names:
        folder = out / name
        record = json.loads((folder / "run_args.json").read_text())
        assert record["seed"] == int(name[-1]) and "--metrics_only" not in record["train_asa"]
        assert (folder / "asa_results.json").is_file() and not (folder / "model.safetensors").exists()
    # cut off after training, before its arguments were written: a re-run trains nothing and writes them
    (out / trained_names[0] / "run_args.json").unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="run_experiments"):
        again = run_experiments.main(argv)
    assert not [r for r in caplog.records if r.getMessage().endswith(": training")]
    assert (out / trained_names[0] / "run_args.json").is_file() and again.keys() == results.keys()
    # --only keeps the matching settings
    only = run_experiments.main([*argv[:6], "--only", "branches=content", *argv[6:]])
    assert sorted(only) == sorted(n for n in trained_names if n.startswith("content_"))


def test_only_names_a_wrong_key_or_an_empty_selection(tmp_path, capsys):
    base = ["--features_dir", str(tmp_path), "--output", str(tmp_path / "o"), "--grid", "table1"]
    with pytest.raises(SystemExit):
        run_experiments.main([*base, "--only", "lossx=ce"])
    assert "--only lossx=ce: expected KEY=VALUE with KEY one of the table1 grid's: branches, loss, regularizer" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        run_experiments.main([*base, "--only", "loss=mse"])
    assert "no setting of the table1 grid matches" in capsys.readouterr().err


def test_reuse_copies_a_run_whose_arguments_mean_the_same(trained, tmp_path, caplog):
    features = str(trained["root"] / "features")
    first = tmp_path / "first"
    base = ["--features_dir", features, "--grid", "baselines", "--only", "branches=content", "--metrics_only"]
    run_experiments.main([*base, "--output", str(first), "--", *TINY])
    (name,) = [p.parent.name for p in first.glob("*/asa_results.json")]
    # the same run spelled differently (an argument given at its default value) is copied, not trained
    second = tmp_path / "second"
    with caplog.at_level(logging.INFO, logger="run_experiments"):
        reused = run_experiments.main(
            [*base, "--output", str(second), "--reuse", str(first), "--", *TINY, "--ranksim_gamma", "1.5"]
        )
    messages = [r.getMessage() for r in caplog.records]
    assert f"{name}: the same run is {first / name}, copying it" in messages
    assert not [m for m in messages if m.endswith(": training")]
    record = json.loads((second / name / "run_args.json").read_text())
    assert record["copied_from"] == str(first / name) and "--ranksim_gamma" in record["train_asa"]
    assert (second / name / "asa_results.json").read_bytes() == (first / name / "asa_results.json").read_bytes()
    assert name in reused
    # another learning rate is another run: trained
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="run_experiments"):
        run_experiments.main([*base, "--output", str(tmp_path / "third"), "--reuse", str(first), "--", *TINY,
                              "--learning_rate", "0.01"])  # fmt: skip
    assert [r.getMessage() for r in caplog.records if r.getMessage().endswith(": training")] == [f"{name}: training"]


def _boot_id() -> str:
    path = Path("/proc/sys/kernel/random/boot_id")
    return path.read_text().strip() if path.is_file() else "unknown"


def test_a_run_is_claimed_by_one_worker_at_a_time(tmp_path):
    import os
    import subprocess

    run = tmp_path / "run"
    assert run_experiments.claim_run(run) and (run / ".claimed").read_text() == f"{os.getpid()} {_boot_id()}"
    assert run_experiments.claim_run(run)  # this worker's own claim
    (run / ".claimed").write_text(f"{os.getppid()} {_boot_id()}")  # a live worker: pytest's parent process
    assert not run_experiments.claim_run(run)
    (run / ".claimed").write_text(f"{os.getppid()} another-boot")  # from before a reboot: taken over
    assert run_experiments.claim_run(run) and (run / ".claimed").read_text().startswith(f"{os.getpid()} ")
    gone = subprocess.Popen(["true"])
    gone.wait()
    (run / ".claimed").write_text(f"{gone.pid} {_boot_id()}")  # a worker that stopped: taken over
    assert run_experiments.claim_run(run)


def test_grid_skips_the_runs_another_worker_holds(trained, tmp_path, caplog):
    import os

    out = tmp_path / "grid"
    held = out / "content_pooled_0_ce_none_seed0"
    held.mkdir(parents=True)
    (held / ".claimed").write_text(f"{os.getppid()} {_boot_id()}")
    argv = ["--features_dir", str(trained["root"] / "features"), "--output", str(out), "--grid", "baselines",
            "--metrics_only", "--", *TINY]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="run_experiments"):
        results = run_experiments.main(argv)
    assert f"{held.name}: another worker is training it, skipping" in caplog.text
    assert list(results) == ["content+delivery+language_use_pooled_0_ce_none_seed0"]
    assert not (held / "asa_results.json").exists()
    # the worker that trained a run leaves no claim behind
    assert not list(out.glob("content+delivery*/.claimed"))
