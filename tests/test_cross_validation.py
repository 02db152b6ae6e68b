"""Speaker-grouped cross-validation: the folds, train_asa.py on a fold, and the resumable driver with its summary."""

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset, DatasetDict

from modeling_asa.data.folds import FoldsError, fold_datasets, load_folds, make_group_folds, save_folds
from modeling_asa.metrics.stats import mean_std_ci, paired_difference, welch_difference
from modeling_asa.tools import cross_validate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from modeling_asa import training as train_asa

TINY = [
    "--hidden_size", "16", "--intermediate_size", "32", "--num_attention_heads", "2", "--head_hidden_size", "8",
    "--num_train_epochs", "2", "--per_device_train_batch_size", "8", "--disable_tqdm", "true", "--use_cpu", "true",
]  # fmt: skip


def _answers(n_speakers=30, per_speaker=(3, 9), seed=0):
    rng = np.random.default_rng(seed)
    groups, labels = [], []
    for s in range(n_speakers):
        label = s % 5
        for _ in range(int(rng.integers(*per_speaker))):
            groups.append(f"spk{s:02d}")
            labels.append(label)
    return groups, labels


def test_every_speaker_is_in_exactly_one_fold_balanced_and_stratified():
    groups, labels = _answers()
    folds = make_group_folds(groups, labels, num_folds=5, seed=3)
    flat = [g for f in folds for g in f]
    assert sorted(flat) == sorted(set(groups)) and len(flat) == len(set(flat))
    label_of = dict(zip(groups, labels))
    for fold in folds:  # 6 speakers per label, 5 folds: each fold holds 1 or 2 speakers of every label
        assert set(Counter(label_of[g] for g in fold).values()) <= {1, 2}
        assert len({label_of[g] for g in fold}) == 5
    sizes = Counter(groups)
    answers = [sum(sizes[g] for g in f) for f in folds]
    assert max(answers) - min(answers) <= 2 * max(sizes.values())


def test_folds_depend_on_the_seed_not_on_row_order():
    groups, labels = _answers()
    folds = make_group_folds(groups, labels, 4, seed=0)
    order = np.random.default_rng(1).permutation(len(groups))
    shuffled = make_group_folds([groups[i] for i in order], [labels[i] for i in order], 4, seed=0)
    assert shuffled == folds
    assert make_group_folds(groups, labels, 4, seed=1) != folds


def test_fold_count_is_checked():
    with pytest.raises(ValueError, match=r"num_folds must be between 2 and the number of groups \(2\), got 3"):
        make_group_folds(["a", "b"], [0, 1], 3, seed=0)
    with pytest.raises(ValueError, match=r"groups \(2\) and labels \(1\) differ in length"):
        make_group_folds(["a", "b"], [0], 2, seed=0)


def test_folds_file_round_trip_and_errors(tmp_path):
    path = save_folds(tmp_path / "folds.json", [["a", "b"], ["c"]], seed=7, group_by="speaker_id", features="F")
    record = load_folds(path)
    assert record["folds"] == [["a", "b"], ["c"]] and record["seed"] == 7
    with pytest.raises(FoldsError, match=r"missing\.json: no such folds file"):
        load_folds(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FoldsError, match=r"bad\.json: not valid JSON"):
        load_folds(tmp_path / "bad.json")
    save_folds(tmp_path / "dup.json", [["a", "b"], ["b"]], seed=0, group_by="speaker_id", features="F")
    with pytest.raises(FoldsError, match=r"dup\.json: a group appears in more than one fold"):
        load_folds(tmp_path / "dup.json")


def test_fold_datasets_hold_out_the_fold_speakers():
    def split(speakers):
        return Dataset.from_dict({"speaker_id": speakers, "label": [0] * len(speakers),
                                  "response_id": [f"{s}-{i}" for i, s in enumerate(speakers)]})  # fmt: skip

    data = DatasetDict(train=split(["a", "a", "b", "c"]), dev=split(["d", "d"]), test_known=split(["z"]))
    record = {"folds": [["a", "d"], ["b", "c"]], "group_by": "speaker_id"}
    train, held = fold_datasets(data, record, 0)
    assert sorted(held["speaker_id"]) == ["a", "a", "d", "d"] and sorted(train["speaker_id"]) == ["b", "c"]
    with pytest.raises(FoldsError, match=r"fold 2 out of range: the folds file has folds 0..1"):
        fold_datasets(data, record, 2)
    with pytest.raises(FoldsError, match=r"1 speaker_id value\(s\) of the features are in no fold"):
        fold_datasets(data, {"folds": [["a"], ["b", "c"]]}, 0)


def test_mean_std_ci_and_expected_decoding():
    summary = mean_std_ci([0.5, 0.7, 0.6])
    assert summary["mean"] == pytest.approx(0.6) and summary["std"] == pytest.approx(0.1)
    assert summary["ci95"] == pytest.approx(4.303 * 0.1 / np.sqrt(3), rel=1e-4)
    assert mean_std_ci([0.4]) == {"mean": 0.4, "std": 0.0, "ci95": 0.0, "n": 1}
    # 16 degrees of freedom (a df the former lookup table lacked): the exact quantile, 2.120
    assert mean_std_ci(np.arange(17.0))["ci95"] == pytest.approx(
        2.1199 * np.arange(17.0).std(ddof=1) / np.sqrt(17), rel=1e-4
    )
    pair = paired_difference([0.8, 0.75, 0.9], [0.7, 0.7, 0.8])
    assert pair["mean"] == pytest.approx(0.25 / 3) and pair["n"] == 3
    with pytest.raises(ValueError, match="paired values must match one to one, got 2 and 3"):
        paired_difference([0.1, 0.2], [0.1, 0.2, 0.3])
    # Welch: variances 1/3 and (20/3)/4 of the means, Welch-Satterthwaite degrees of freedom, by hand
    from scipy.stats import t

    welch = welch_difference([1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0])
    va, vb = 1.0 / 3, (20.0 / 3) / 4
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 3)
    half = t.ppf(0.975, df) * np.sqrt(va + vb)
    assert welch["diff"] == pytest.approx(-3.0) and (welch["n_a"], welch["n_b"]) == (3, 4)
    assert (welch["ci_low"], welch["ci_high"]) == (pytest.approx(-3.0 - half), pytest.approx(-3.0 + half))
    assert np.isnan(welch_difference([0.5], [0.4, 0.6])["ci_low"])
    probabilities = np.array([[0.5, 0.0, 0.5], [0.1, 0.8, 0.1], [0.0, 0.2, 0.8], [0.6, 0.4, 0.0]])
    # expected class indices 1.0, 1.0, 1.8, 0.4: the argmax would give 0, 1, 2, 0
    assert cross_validate.decode_expected(probabilities).tolist() == [1, 1, 2, 0]


def test_train_script_on_a_fold_reports_only_the_held_out_speakers(trained, tmp_path):
    features = trained["root"] / "features"
    from modeling_asa.features.store import load_features

    dataset = load_features(features).dataset
    speakers = sorted({s for split in ("train", "dev") for s in dataset[split]["speaker_id"]})
    folds_file = save_folds(tmp_path / "folds.json", [speakers[::2], speakers[1::2]], seed=0, group_by="speaker_id",
                            features=str(features))  # fmt: skip
    out = tmp_path / "fold0"
    results = train_asa.main([*TINY, "--features_dir", str(features), "--output_dir", str(out),
                              "--branches", "content", "--cv_folds_file", str(folds_file), "--cv_fold", "0",
                              "--load_best_model_at_end", "false"])  # fmt: skip
    assert set(results) == {"cv"}  # no test split is touched
    import csv

    with open(out / "predictions_cv.csv", newline="") as handle:
        held = {r["response_id"] for r in csv.DictReader(handle)}
    pooled = [r for split in ("train", "dev") for r in dataset[split]]
    assert held == {r["response_id"] for r in pooled if r["speaker_id"] in speakers[::2]}
    curve = json.loads((out / "eval_curve.json").read_text())
    assert [round(c["epoch"]) for c in curve] == [1, 2] and all("qwk" in c for c in curve)


def test_length_grouped_batches_on_a_fold(trained, tmp_path):
    """A fold's train set is a non-contiguous row selection: adding the length column to it would flatten the
    indices, which datasets cannot do for the variable-length Array2D feature columns (real features failed)."""
    features = trained["root"] / "features"
    from modeling_asa.features.store import load_features

    dataset = load_features(features).dataset
    speakers = sorted({s for split in ("train", "dev") for s in dataset[split]["speaker_id"]})
    folds_file = save_folds(tmp_path / "folds.json", [speakers[::2], speakers[1::2]], seed=0, group_by="speaker_id",
                            features=str(features))  # fmt: skip
    results = train_asa.main([*TINY, "--features_dir", str(features), "--output_dir", str(tmp_path / "fold1"),
                              "--branches", "content", "--cv_folds_file", str(folds_file), "--cv_fold", "1",
                              "--train_sampling_strategy", "group_by_length", "--num_train_epochs", "1",
                              "--load_best_model_at_end", "false", "--save_strategy", "no"])  # fmt: skip
    assert set(results) == {"cv"} and 0.0 <= results["cv"]["accuracy"] <= 1.0


def test_cross_validate_runs_resumes_and_summarises(trained, tmp_path):
    features = str(trained["root"] / "features")
    calls = []

    def train(cli):
        calls.append(cli)
        return train_asa.main(cli)

    argv = ["--features_dir", features, "--output", str(tmp_path / "setting"), "--folds_file",
            str(tmp_path / "folds.json"), "--folds", "2", "--", *TINY, "--branches", "content"]  # fmt: skip
    # one fold, then the rest: the second summary covers both folds, not only the one that call ran
    first = cross_validate.main([*argv[:6], "--only_folds", "0", *argv[6:]], train)
    assert len(calls) == 1 and first["folds"] == 1
    summary = cross_validate.main([*argv[:6], "--only_folds", "1", *argv[6:]], train)
    assert len(calls) == 2 and summary["folds"] == 2
    record = load_folds(tmp_path / "folds.json")
    assert len(record["folds"]) == 2 and record["seed"] == 0
    for fold in (0, 1):
        folder = tmp_path / "setting" / f"fold{fold}"
        assert (folder / "asa_results.json").is_file() and (folder / "args.json").is_file()
        assert not (folder / "model.safetensors").exists() and not list(folder.glob("checkpoint-*"))
    for decoding in ("argmax", "expected"):
        assert set(summary[decoding]) == {"accuracy", "macro_f1", "qwk"}
        assert summary[decoding]["qwk"]["n"] == 2
    assert len(summary["curve_qwk"]) == 2 and summary["seconds_per_epoch"] > 0
    saved = json.loads((tmp_path / "setting" / "cv_summary.json").read_text())
    assert saved["argmax"]["qwk"]["mean"] == pytest.approx(summary["argmax"]["qwk"]["mean"])
    per_fold = [f["argmax"]["qwk"] for f in summary["per_fold"]]
    assert summary["argmax"]["qwk"]["mean"] == pytest.approx(np.mean(per_fold))
    # a second run trains nothing and gives the same summary
    again = cross_validate.main(argv, train)
    assert len(calls) == 2 and again["argmax"] == summary["argmax"]
    assert cross_validate.table_main([str(tmp_path / "setting")]) == 0
    assert saved["fold_names"] == ["fold0", "fold1"]
    # paired to another setting on the folds both finished: fold1 only, so one difference per metric
    other = {**saved, "per_fold": saved["per_fold"][1:], "fold_names": ["fold1"]}
    other["per_fold"] = [{**f, "argmax": {**f["argmax"], "qwk": f["argmax"]["qwk"] - 0.1}} for f in other["per_fold"]]
    pair = cross_validate.paired_to_reference(saved, other)
    assert pair["argmax qwk"]["n"] == 1 and pair["argmax qwk"]["mean"] == pytest.approx(0.1)
    assert pair["expected qwk"]["mean"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="no fold finished by both settings"):
        cross_validate.paired_to_reference(saved, {**other, "fold_names": ["fold7"]})
    # other folds for the same file: one line naming the file
    with pytest.raises(FoldsError, match=r"folds\.json: has 2 folds with seed 0, not 3 with seed 0"):
        cross_validate.main([*argv[:6], "--folds", "3"], train)


def test_table_shows_one_fold_without_a_spread_or_interval():
    one = {"mean": 0.75, "std": 0.0, "ci95": 0.0, "n": 1}
    two = {"mean": 0.70, "std": 0.02, "ci95": 0.18, "n": 2}
    row = cross_validate.format_summary(
        "s", {"folds": 1, "argmax": {m: one for m in cross_validate.METRICS}, "expected": {"qwk": one}}
    )
    assert "±" not in row and row.startswith("| s | 1 | 0.750 | 0.750 | 0.750 | 0.750 |")
    assert "0.700 ± 0.020" in cross_validate.format_summary(
        "s", {"folds": 2, "argmax": {m: two for m in cross_validate.METRICS}, "expected": {"qwk": two}}
    )
    assert cross_validate._paired_cell({**one, "mean": 0.012}) == "+0.012"
    assert cross_validate._paired_cell({**two, "mean": 0.01}) == "+0.010 [-0.170, +0.190]"
