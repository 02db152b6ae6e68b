"""scripts/summarize_table1.py on run folders laid out as run_experiments.py writes them."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import summarize_table1

SPLITS = ("dev", "test_known", "test_unknown")


def _run(folder: Path, setting: dict, seed: int, qwk: float, finished: bool = True) -> None:
    folder.mkdir(parents=True)
    (folder / "run_args.json").write_text(json.dumps({"setting": setting, "seed": seed, "train_asa": []}))
    if finished:
        results = {s: {"qwk": qwk + i / 100, "macro_f1": qwk / 2, "accuracy": 0.5} for i, s in enumerate(SPLITS)}
        (folder / "asa_results.json").write_text(json.dumps(results))


def test_tables_from_run_folders(tmp_path):
    runs = tmp_path / "table1"
    hybrid, content = "content,delivery,language_use", "content"
    for seed in (0, 1, 2):
        for branches, base in ((hybrid, 0.70), (content, 0.60)):
            for reg, gain in (("none", 0.0), ("w_ranksim", 0.03 + seed / 100)):
                _run(runs / f"{branches}_lmcl_{reg}_{seed}", {"branches": branches, "loss": "lmcl", "regularizer": reg},
                     seed, base + gain + seed / 10)  # fmt: skip
        _run(runs / f"{hybrid}_corn_none_{seed}", {"branches": hybrid, "loss": "corn", "regularizer": "none"}, seed,
             0.72 + seed / 10)  # fmt: skip
        _run(runs / f"base_{seed}", {"branches": "content", "branch_encoder": "pooled", "head_hidden_size": "0",
                                     "loss": "ce", "regularizer": "none"}, seed, 0.5)  # fmt: skip
    _run(runs / "unfinished", {"branches": hybrid, "loss": "ce", "regularizer": "none"}, 0, 0.0, finished=False)
    out = tmp_path / "table.md"
    text = summarize_table1.main(["--runs", str(runs), "--baselines", str(runs), "--output", str(out)])
    assert out.read_text() == text
    lines = text.splitlines()
    first = text.split("With minus")[0].splitlines()
    rows = [line for line in first if line.startswith(("| hybrid, LMCL", "| baseline"))]
    # cells in model then objective order, the baseline row last; the unfinished run is left out
    assert [r.split(" | ")[0] for r in rows] == ["| hybrid, LMCL", "| hybrid, LMCL + W-RankSim", "| baseline content"]
    assert "| hybrid, LMCL | 3 | 0.500 ± 0.000 [±0.000] | 0.400 ± 0.050 [±0.124] | 0.800 ± 0.100 [±0.248]" in text
    assert not any(line.startswith("| hybrid, CE |") for line in lines)
    # paired by seed: the gains 0.03, 0.04, 0.05 -> mean +0.040, interval +-0.025
    paired = next(line for line in lines if line.startswith("| hybrid, LMCL | W-RankSim | 3 |"))
    assert "+0.040 [+0.015, +0.065]" in paired
    # LMCL + W-RankSim minus LMCL, paired: the same gains; no row for an objective without runs
    best = text.split("LMCL + W-RankSim minus each other objective")[1].split("CORN (the ordinal")[0]
    assert next(line for line in best.splitlines() if line.startswith("| hybrid | LMCL | 3 |")).count("+0.040 [") == 3
    assert "| hybrid | CE |" not in best and "| content only | LMCL | 3 |" in best
    # CORN minus every other hybrid objective, paired: +0.02 over LMCL, -0.01 to -0.03 under LMCL + W-RankSim
    corn = text.split("CORN (the ordinal baseline) minus")[1].split("Each model minus")[0]
    assert next(line for line in corn.splitlines() if line.startswith("| hybrid | LMCL | 3 |")).count("+0.020 [") == 3
    assert "| hybrid | LMCL + W-RankSim | 3 | " in corn and "content only" not in corn
    # content only minus hybrid with LMCL: -0.100 on every split (Welch)
    welch = next(line for line in lines if line.startswith("| LMCL | content only |"))
    assert welch.count("-0.100 [") == 3 and welch.count("-0.050 [") == 3


def test_no_finished_run_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    with pytest.raises(SystemExit):
        summarize_table1.main(["--runs", str(tmp_path / "runs")])
    assert "no finished table1 run" in capsys.readouterr().err
