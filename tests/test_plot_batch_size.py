"""scripts/plot_batch_size.py on run folders laid out as run_experiments.py writes them."""

import json
import sys
from pathlib import Path

import pytest
from scipy.stats import f_oneway

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import plot_batch_size


def _run(folder: Path, reg: str, size: int, seed: int, dev: float, test: float) -> None:
    folder.mkdir(parents=True)
    setting = {"loss": "lmcl", "regularizer": reg, "per_device_train_batch_size": str(size)}
    (folder / "run_args.json").write_text(json.dumps({"setting": setting, "seed": seed, "train_asa": []}))
    results = {s: {"qwk": q, "macro_f1": 0.1, "accuracy": 0.2} for s, q in (("dev", dev), ("test_known", test))}
    (folder / "asa_results.json").write_text(json.dumps(results))


def test_plot_and_table_from_run_folders(tmp_path):
    runs = tmp_path / "runs"
    for seed, shift in enumerate((0.0, 0.02)):
        for size in (2, 8):
            _run(runs / f"w_{size}_{seed}", "w_ranksim", size, seed, 0.70 + shift, 0.75 + shift)
            _run(runs / f"r_{size}_{seed}", "ranksim", size, seed, 0.60 + shift + size / 100, 0.65)
    _run(runs / "w_32_0", "w_ranksim", 32, 0, 0.80, 0.85)  # one seed so far: the mean alone
    (runs / "unfinished").mkdir()
    (runs / "unfinished" / "run_args.json").write_text(json.dumps({"setting": {"per_device_train_batch_size": "4"}}))
    png = tmp_path / "out" / "qwk.png"
    text = plot_batch_size.main(["--runs", str(runs), "--output", str(png)])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = text.splitlines()
    assert lines[0] == "| objective | batch size | seeds | dev qwk | test_known qwk |"
    # RankSim rows before W-RankSim rows (the LABELS order), batch sizes ascending, mean ± sample std [CI]
    assert lines[2].startswith("| LMCL + RankSim | 2 | 2 | 0.630 ± 0.014 [±0.127]")
    assert lines[5].startswith("| LMCL + W-RankSim | 8 | 2 | 0.710 ± 0.014")
    assert lines[6] == "| LMCL + W-RankSim | 32 | 1 | 0.800 | 0.850 |"
    assert lines.index("") == 7  # the unfinished run is left out
    # steadiness: RankSim's dev means 0.64 and 0.70 (range 0.060; seed std 0.014 in both sizes), W-RankSim's 0.71,
    # 0.71 and 0.80 (its one-seed size counts in the range, not in the ANOVA, which needs repeats)
    steady = {line.split(" | ")[0] + line.split(" | ")[1]: line for line in lines[8:] if line.startswith("| LMCL")}
    assert steady["| LMCL + RankSimdev"].startswith("| LMCL + RankSim | dev | 2 | 0.060 | 0.014 | ")
    assert steady["| LMCL + W-RankSimdev"].startswith("| LMCL + W-RankSim | dev | 3 | 0.090 | 0.014 | 1.000 |")
    assert steady["| LMCL + RankSimdev"].endswith(f" | {f_oneway([0.62, 0.64], [0.68, 0.70]).pvalue:.3f} |")
    assert steady["| LMCL + RankSimtest_known"] == "| LMCL + RankSim | test_known | 2 | 0.000 | 0.000 | - |"


def test_no_finished_run_is_a_one_line_error(tmp_path):
    (tmp_path / "runs").mkdir()
    with pytest.raises(SystemExit, match="no finished run with a per_device_train_batch_size"):
        plot_batch_size.main(["--runs", str(tmp_path / "runs"), "--output", str(tmp_path / "x.png")])


def test_the_baseline_is_the_tables_last_row_and_a_missing_one_is_an_error(tmp_path):
    runs = tmp_path / "runs"
    for seed in (0, 1):
        _run(runs / f"w_2_{seed}", "w_ranksim", 2, seed, 0.70, 0.75)
        _run(tmp_path / "base" / f"content_pooled_0_ce_none_seed{seed}", "none", 16, seed, 0.60 + seed / 50, 0.80)
    argv = ["--runs", str(runs), "--output", str(tmp_path / "q.png")]
    text = plot_batch_size.main(argv + ["--baseline", str(tmp_path / "base" / "*_seed*")])
    assert (tmp_path / "q.png").is_file()
    table = text.split("\n\n")[0].splitlines()
    assert table[-1].startswith("| baseline: pooled linear (batch 16) | 16 | 2 | 0.610 ± 0.014 ")
    assert table[-1].endswith(" | 0.800 ± 0.000 [±0.000] |")
    with pytest.raises(SystemExit, match="--baseline .*nothing: no finished run folder matches"):
        plot_batch_size.main(argv + ["--baseline", str(tmp_path / "nothing")])
