"""Smoke tests of train_asa.py: a couple of steps on tiny data, then check what it writes."""

import json
import logging
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from modeling_asa import training as train_asa

TINY = [
    "--hidden_size", "16", "--intermediate_size", "32", "--num_attention_heads", "2", "--head_hidden_size", "8",
    "--num_train_epochs", "1", "--per_device_train_batch_size", "8", "--disable_tqdm", "true", "--use_cpu", "true",
]  # fmt: skip


def test_builtin_default_trains_and_writes_outputs(tmp_path):
    out = tmp_path / "run"
    results = train_asa.main([*TINY, "--output_dir", str(out), "--synthetic_examples", "120"])
    assert set(results) == {"dev", "test"}
    for split in results.values():
        assert 0.0 <= split["accuracy"] <= 1.0 and -1.0 <= split["qwk"] <= 1.0
    for name in ("config.json", "model.safetensors", "modeling_asa.py", "losses.py", "README.md", "asa_results.json"):
        assert (out / name).exists(), name
    card = (out / "README.md").read_text()
    assert "w_ranksim (lambda=2.0, gamma=1.5)" in card and "| dev |" in card
    saved = json.loads((out / "asa_results.json").read_text())
    assert {s: m["qwk"] for s, m in saved.items()} == {s: m["qwk"] for s, m in results.items()}


def test_main_in_process_leaves_the_callers_logging_as_it_was(tmp_path, caplog):
    """train_asa sets its own log format and levels while it runs; a caller's loggers (here pytest's caplog, a
    notebook's elsewhere) must work the same afterwards."""
    names = ["", "train_asa", "modeling_asa", "datasets", "transformers"]
    before = {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in names}
    train_asa.main([*TINY, "--output_dir", str(tmp_path / "run"), "--synthetic_examples", "60", "--log_level", "error"])
    assert {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in names} == before
    with caplog.at_level(logging.WARNING):
        logging.getLogger("modeling_asa.anything").warning("still captured")
    assert "still captured" in caplog.text


def test_results_file_is_written_last(tmp_path, monkeypatch):
    """asa_results.json marks a finished run (the grid and cross-validation scripts skip those): a run that fails
    after training, here at its model card, must not leave one."""

    def broken_card(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(train_asa, "write_model_card", broken_card)
    out = tmp_path / "run"
    with pytest.raises(OSError, match="disk full"):
        train_asa.main([*TINY, "--output_dir", str(out), "--synthetic_examples", "60", "--log_level", "error"])
    assert (out / "model.safetensors").is_file() and not (out / "asa_results.json").exists()


def test_features_folder_defaults_are_the_recipe():
    """The features-folder defaults are the cross-validated recipe; the built-in demo keeps its own."""
    _, _, features = train_asa.parse_args(["--features_dir", "x", "--output_dir", "y"])
    model_args, _, demo = train_asa.parse_args(["--output_dir", "y"])
    recipe = train_asa.parse_args(["--features_dir", "x"])[0]
    assert (features.num_train_epochs, features.load_best_model_at_end, recipe.acoustic_downsample) == (10, False, 16)
    assert (demo.num_train_epochs, demo.load_best_model_at_end, model_args.acoustic_downsample) == (12, True, 1)


def test_column_check_names_valid_columns(tmp_path):
    from modeling_asa.features.store import FeatureSet
    from modeling_asa.synthetic import make_synthetic_features

    data, questions = make_synthetic_features(num_examples=30)
    data = data.remove_columns("delivery_features")
    feature_set = FeatureSet(dataset=data, question_features=questions, metadata={})
    with pytest.raises(ValueError, match=r"split 'train' lacks columns \['delivery_features'\] needed by branches"):
        train_asa.check_columns(feature_set, ["content", "delivery"], ["train"])
    with pytest.raises(ValueError, match=r"split 'valid' not found in the features; available splits: "):
        train_asa.check_columns(feature_set, ["content"], ["valid"])


def test_eval_split_must_not_be_a_test_split(tmp_path):
    with pytest.raises(ValueError, match="is a test split; choose settings on a dev split"):
        train_asa.main([*TINY, "--output_dir", str(tmp_path), "--synthetic_examples", "60", "--eval_split", "test"])


def test_help_runs():
    import subprocess

    result = subprocess.run([sys.executable, "train_asa.py", "--help"], capture_output=True, text=True, check=False,
                            cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    assert result.returncode == 0 and "--features_dir" in result.stdout and "--regularizer" in result.stdout


def test_unseen_speaker_subset_of_test_unknown():
    from datasets import Dataset

    train = Dataset.from_dict({"speaker_id": ["a", "a", "b"], "label": [0, 1, 2]})
    unknown = Dataset.from_dict({"speaker_id": ["a", "c", "b", "c", "d"], "response_id": ["1", "2", "3", "4", "5"]})
    metadata = {"split": {"group_by": "speaker_id"}}
    subset = train_asa.unseen_group_subset(unknown, train, metadata)
    assert subset["response_id"] == ["2", "4", "5"]
    assert train_asa.unseen_group_subset(unknown, train, {"split": {"group_by": None}}) is None
    only_new = Dataset.from_dict({"speaker_id": ["c", "d"], "response_id": ["2", "5"]})
    assert train_asa.unseen_group_subset(only_new, train, metadata) is None  # it would be test_unknown itself
    only_seen = Dataset.from_dict({"speaker_id": ["a"], "response_id": ["1"]})
    assert train_asa.unseen_group_subset(only_seen, train, metadata) is None  # it would be empty


def test_features_run_reports_the_unseen_speaker_variant(trained, tmp_path):
    from modeling_asa.features.store import load_features

    features = trained["root"] / "features"
    dataset = load_features(features).dataset
    seen = set(dataset["train"]["speaker_id"])
    expected = sorted(r for r, s in zip(dataset["test_unknown"]["response_id"], dataset["test_unknown"]["speaker_id"])
                      if s not in seen)  # fmt: skip
    out = tmp_path / "run"
    argv = [*TINY, "--features_dir", str(features), "--branches", ",".join(trained["stages"]), "--output_dir", str(out)]
    assert 0 < len(expected) < dataset["test_unknown"].num_rows, "the fixture no longer mixes seen and unseen speakers"
    results = train_asa.main(argv)
    assert set(results) == {"dev", "test_known", "test_unknown", "test_unknown_unseen"}
    rows = (out / "predictions_test_unknown_unseen.csv").read_text().splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == expected
    assert set(train_asa.main([*argv, "--unseen_speaker_split", "false"])) == {"dev", "test_known", "test_unknown"}


def test_dropping_test_unknown_speakers_from_train():
    from datasets import Dataset

    train = Dataset.from_dict({"speaker_id": ["a", "a", "b", "c"], "label": [0, 1, 2, 3]})
    unknown = Dataset.from_dict({"speaker_id": ["a", "d"], "response_id": ["1", "2"]})
    metadata = {"split": {"group_by": "speaker_id"}}
    assert train_asa.drop_groups_of(train, unknown, metadata)["label"] == [2, 3]
    with pytest.raises(train_asa.UsageError, match="needs the split's group column"):
        train_asa.drop_groups_of(train, unknown, {"split": {"group_by": None}})
    everyone = Dataset.from_dict({"speaker_id": ["a", "b", "c"]})
    with pytest.raises(train_asa.UsageError, match="every train answer is by a speaker_id of test_unknown"):
        train_asa.drop_groups_of(train, everyone, metadata)


def test_features_run_can_keep_test_unknown_speakers_out_of_train(trained, tmp_path):
    """The other variant of unseen questions from unseen speakers: train loses test_unknown's speakers."""
    from modeling_asa.features.store import load_features

    # the fixture's test_unknown has every train speaker (as speechocean762 has most): keep two speakers' answers
    features = tmp_path / "features"
    shutil.copytree(trained["root"] / "features", features)
    dataset = load_features(features).dataset
    kept = sorted(set(dataset["train"]["speaker_id"]))[:2]
    dataset["test_unknown"] = dataset["test_unknown"].filter(lambda row: row["speaker_id"] in kept)
    dataset.save_to_disk(str(tmp_path / "dataset"))  # a dataset cannot overwrite the files it reads
    shutil.rmtree(features / "dataset")
    shutil.move(tmp_path / "dataset", features / "dataset")
    expected_train = sum(s not in kept for s in dataset["train"]["speaker_id"])
    assert 0 < expected_train < dataset["train"].num_rows and dataset["test_unknown"].num_rows > 0
    out = tmp_path / "run"
    argv = [*TINY, "--features_dir", str(features), "--branches", ",".join(trained["stages"]), "--output_dir",
            str(out), "--exclude_test_unknown_speakers", "true"]  # fmt: skip
    results = train_asa.main(argv)
    # test_unknown is now all unseen speakers, so its unseen subset would be itself and is not reported
    assert set(results) == {"dev", "test_known", "test_unknown"}
    assert f"Training rows: {expected_train}." in (out / "README.md").read_text()
    with pytest.raises(train_asa.UsageError, match="no test_unknown split is reported"):
        train_asa.main([*argv, "--test_splits", "test_known"])


def test_length_grouped_batches_read_the_answers_lengths(trained, tmp_path):
    """--train_sampling_strategy group_by_length: batches of similar length, lengths from the features."""
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from modeling_asa.features.store import load_features

    train = load_features(trained["root"] / "features").dataset["train"]
    with_lengths = train_asa.add_length_column(train, ["content", "delivery"], "length")
    assert with_lengths["length"] == [len(a) for a in train["acoustic_features"]]
    words = train_asa.add_length_column(train, ["delivery"], "length")["length"]
    assert words == [len(d) for d in train["delivery_features"]] and words != with_lengths["length"]
    # the sampler Trainer builds from that column puts the longest answer first and groups by length
    order = list(LengthGroupedSampler(8, lengths=with_lengths["length"]))
    assert with_lengths["length"][order[0]] == max(with_lengths["length"])
    out = tmp_path / "run"
    argv = [*TINY, "--features_dir", str(trained["root"] / "features"), "--branches", ",".join(trained["stages"]),
            "--output_dir", str(out), "--train_sampling_strategy", "group_by_length"]  # fmt: skip
    results = train_asa.main(argv)
    assert {"dev", "test_known"} <= set(results) and (out / "asa_results.json").exists()
    # predictions stay in the dataset's order (transformers 5 would group evaluation batches by length too)
    rows = (out / "predictions_dev.csv").read_text().splitlines()[1:]
    dev = load_features(trained["root"] / "features").dataset["dev"]
    assert [row.split(",")[0] for row in rows] == list(dev["response_id"])


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="the check is for machines without a GPU")
def test_bf16_without_a_gpu_is_a_one_line_usage_error():
    with pytest.raises(train_asa.UsageError, match="use_cpu"):
        train_asa.parse_args(["--features_dir", "x", "--bf16", "true"])
    assert train_asa.parse_args(["--features_dir", "x", "--bf16", "true", "--use_cpu", "true"])[2].bf16


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="the check is for CPU training")
@pytest.mark.parametrize("has_bf16", [False, True])
def test_bf16_on_a_cpu_without_bf16_instructions_warns(tmp_path, monkeypatch, caplog, has_bf16):
    monkeypatch.setattr(train_asa, "cpu_has_bf16", lambda: has_bf16)
    monkeypatch.setattr(train_asa, "run", lambda *args: {})  # the check comes before any training
    with caplog.at_level(logging.WARNING, logger="train_asa"):
        train_asa.main([*TINY, "--output_dir", str(tmp_path), "--bf16", "true", "--log_level", "warning"])
    warned = "--bf16 true on a CPU without bf16 instructions" in caplog.text
    assert warned is not has_bf16


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="reads the CPU flags from /proc/cpuinfo (Linux)")
def test_cpu_bf16_check_agrees_with_the_cpu_flags():
    from modeling_asa.runtime import cpu_has_bf16

    flags = set(Path("/proc/cpuinfo").read_text().split())
    assert cpu_has_bf16() == bool({"avx512_bf16", "amx_tile"} & flags)
