"""scripts/compare_settings.py on seed folders laid out as train_asa.py writes them."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import compare_settings


def _run(folder: Path, qwk: float) -> None:
    folder.mkdir(parents=True)
    results = {s: {"qwk": qwk, "macro_f1": 0.5, "accuracy": 0.6} for s in ("dev", "test_known")}
    (folder / "asa_results.json").write_text(json.dumps(results))


def test_means_and_welch_differences_to_the_reference(tmp_path, capsys):
    for seed, qwk in enumerate((0.80, 0.82, 0.84)):
        _run(tmp_path / f"hybrid_seed{seed}", qwk)
    for seed, qwk in enumerate((0.70, 0.71)):
        _run(tmp_path / f"base_seed{seed}", qwk)
    out = tmp_path / "table.md"
    argv = [f"hybrid={tmp_path}/hybrid_seed*", f"base={tmp_path}/base_seed*", "--reference", "base",
            "--splits", "test_known", "--metrics", "qwk", "--output", str(out)]  # fmt: skip
    assert compare_settings.main(argv) == 0
    lines = out.read_text().splitlines()
    assert lines[2].startswith("| hybrid | 3 | 0.820 ± 0.020 [±0.050]")
    assert lines[3].startswith("| base | 2 | 0.705 ± 0.007")
    assert lines[-1].startswith("| hybrid | 3 | +0.115 [")  # the reference has no row of its own
    low, high = (float(x) for x in lines[-1].split("[")[1].split("]")[0].split(","))
    assert 0 < low < 0.115 < high
    # a split only some runs report: its cells say on how many
    extra = json.loads((tmp_path / "hybrid_seed0" / "asa_results.json").read_text())
    extra["test_unknown"] = {"qwk": 0.5, "macro_f1": 0.4, "accuracy": 0.6}
    (tmp_path / "hybrid_seed0" / "asa_results.json").write_text(json.dumps(extra))
    assert compare_settings.main([*argv[:-6], "--splits", "test_unknown", "--metrics", "qwk"]) == 0
    assert "| hybrid | 3 | 0.500 (n=1) |" in capsys.readouterr().out


def test_an_unfinished_run_is_a_one_line_error(tmp_path, capsys):
    _run(tmp_path / "a_seed0", 0.8)
    (tmp_path / "a_seed1").mkdir()
    assert compare_settings.main([f"a={tmp_path}/a_seed*"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"compare_settings: {tmp_path}/a_seed1: no asa_results.json (the run did not finish)"


def test_paired_differences_pair_runs_by_folder_name(tmp_path, capsys):
    # the same three runs made two ways; a fourth without a partner is left out of the pairs
    for name, a, b in (("x_seed0", 0.80, 0.79), ("x_seed1", 0.70, 0.69), ("x_seed2", 0.90, 0.89)):
        _run(tmp_path / "fp32" / name, a)
        _run(tmp_path / "bf16" / name, b)
    _run(tmp_path / "fp32" / "x_seed3", 0.10)
    argv = [f"fp32={tmp_path}/fp32/*", f"bf16={tmp_path}/bf16/*", "--reference", "bf16", "--paired",
            "--splits", "test_known", "--metrics", "qwk"]  # fmt: skip
    assert compare_settings.main(argv) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    # paired, the spread the runs share cancels: +0.010 [+0.010, +0.010]; unpaired it would span about ±0.3
    assert last.startswith("| fp32 | 3 pairs | +0.010 [+0.010, +0.010]"), last
    with pytest.raises(SystemExit):
        compare_settings.main([f"fp32={tmp_path}/fp32/*", "--paired"])  # nothing to pair with


def test_a_single_run_gets_no_interval(tmp_path, capsys):
    _run(tmp_path / "one_seed0", 0.8)
    for seed, qwk in enumerate((0.70, 0.72)):
        _run(tmp_path / f"base_seed{seed}", qwk)
    argv = [f"one={tmp_path}/one_seed*", f"base={tmp_path}/base_seed*", "--reference", "base",
            "--splits", "test_known", "--metrics", "qwk"]  # fmt: skip
    assert compare_settings.main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "| one | 1 | +0.090 (no interval) |"
