"""Scoring new recordings: AsaScorer, asa-score and the speech-assessment pipeline, on tiny random models.

The parity test is the contract of the scorer: ``asa-score --corpus`` over a prepared corpus reproduces the
predictions ``train_asa.py`` wrote for every split (same label; probabilities within 0.01, allowing for the float16
feature cache), because both run the same feature stages. The ``trained`` fixture (corpus, tiny models, trained
model) lives in ``conftest.py``, shared with the web page's tests.
"""

import csv
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import feature_threads

from modeling_asa import AsaScore, AsaScorer
from modeling_asa.cli import score_main
from modeling_asa.features.delivery import DELIVERY_FIELDS
from modeling_asa.features.recipe import RECIPE_FILE, RecipeError
from modeling_asa.features.runner import FeaturePipeline, PrepareSettings
from modeling_asa.scorability import FLAGS


def _read(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as f:
        return {row["response_id"]: row for row in csv.DictReader(f)}


def test_training_writes_predictions_and_the_recipe(trained):
    out = trained["model"]
    recipe = json.loads((out / RECIPE_FILE).read_text())
    expected = {"content", "question", "recognition", "relevance", "delivery"} | (
        {"language_use"} if "language_use" in trained["stages"] else set()
    )
    assert set(recipe["stages"]) == expected  # only the stages that ran; no LM was given, so no lm stage
    config = json.loads((out / "config.json").read_text())
    assert config["relevance_feature_size"] == 9 and config["aspects"] == ["fluency", "accuracy"]
    # local models by name and checksum (the folder travels; test_model_folder_travels... resolves them)
    assert recipe["stages"]["content"]["acoustic_encoder"] == "whisper"
    assert recipe["stages"]["recognition"]["recognizer"] == "recognizer"
    assert set(recipe["local_models"]) >= {"acoustic_encoder", "context_encoder", "recognizer", "ctc_model"}
    # the non-scorable checks' thresholds, fitted on the train answers, and each held-out answer's flags
    thresholds = json.loads((out / "scorability.json").read_text())
    assert thresholds["min_similarity"] is not None and "train split" in thresholds["fitted_on"]
    for split in json.loads((out / "asa_results.json").read_text()):
        flags = [r["flags"] for r in _read(out / f"predictions_{split}.csv").values()]
        assert all(set(filter(None, f.split(";"))) <= set(FLAGS) for f in flags)
    assert json.loads((out / "config.json").read_text())["recognizer"] == recipe["stages"]["recognition"]["recognizer"]
    assert recipe["delivery_normalisation"]["names"] == list(DELIVERY_FIELDS)
    if "language_use" in expected:
        assert recipe["stages"]["language_use"]["inventory"]["feature_size"] > 3
    card = (out / "README.md").read_text()
    assert "### Feature recipe" in card and "| delivery |" in card and "asa-score --model" in card
    results = json.loads((out / "asa_results.json").read_text())
    for split in results:
        rows = list(_read(out / f"predictions_{split}.csv").values())
        assert rows, split
        columns = set(rows[0])
        assert {"response_id", "predicted", "expected_score", "reference"} <= columns
        assert {f"prob_{v}" for v in (1, 2, 3, 4, 5)} <= columns
        probabilities = np.array([[float(r[f"prob_{v}"]) for v in (1, 2, 3, 4, 5)] for r in rows])
        np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
        accuracy = np.mean([r["predicted"] == r["reference"] for r in rows])
        assert accuracy == pytest.approx(results[split]["accuracy"], abs=1e-6)


def test_asa_score_corpus_reproduces_training_predictions(trained, tmp_path):
    """Same features, measured: scoring the corpus from audio gives train_asa.py's predictions on every split."""
    out = trained["model"]
    predictions = tmp_path / "scored" / "predictions.csv"
    status = score_main(["--model", str(out), "--corpus", str(trained["corpus"]), "--output", str(predictions),
                         "--device", "cpu"])  # fmt: skip
    assert status == 0
    scored = _read(predictions)
    compared = 0
    for split in json.loads((out / "asa_results.json").read_text()):
        for rid, row in _read(out / f"predictions_{split}.csv").items():
            mine = scored[rid]
            assert mine["predicted"] == row["predicted"], rid
            for v in (1, 2, 3, 4, 5):
                assert abs(float(mine[f"prob_{v}"]) - float(row[f"prob_{v}"])) <= 0.01, (rid, v)
            assert mine["reference"] == row["reference"]
            for aspect in ("fluency", "accuracy"):  # the aspect scores and their references, as in training
                assert abs(float(mine[f"aspect_{aspect}"]) - float(row[f"aspect_{aspect}"])) <= 0.05, (rid, aspect)
                assert mine[f"aspect_{aspect}_reference"] == row[f"aspect_{aspect}_reference"]
            compared += 1
    assert len(scored) == 24 and compared >= 8  # every response of the reported splits (dev and the tests)
    metrics = json.loads((predictions.parent / "metrics.json").read_text())
    assert metrics["num_scored"] == 24 and 0.0 <= metrics["accuracy"] <= 1.0 and "qwk" in metrics
    assert -1.0 <= metrics["pcc"] <= 1.0  # the field's metric: the expected score against the label
    assert {"aspect_fluency_qwk", "aspect_accuracy_pcc"} <= set(metrics)  # every aspect's metrics too
    trained_metrics = json.loads((out / "asa_results.json").read_text())
    assert all("aspect_fluency_qwk" in m and "aspect_accuracy_pcc" in m for m in trained_metrics.values())


def test_scorer_computes_the_stored_features(trained):
    """Feature by feature, the scorer's stages give what asa-prepare stored (float16 acoustic states included)."""
    from modeling_asa.audio import load_audio
    from modeling_asa.features.stage import Answer
    from modeling_asa.features.store import load_features

    features = load_features(trained["root"] / "features")
    scorer = AsaScorer.from_pretrained(trained["model"], device="cpu")
    rows = [row for split in features.dataset.values() for row in split][:10]
    from modeling_asa.data import read_questions

    questions = read_questions(trained["corpus"])
    meta = _read(trained["corpus"] / "metadata.csv")
    paths = {rid: r["file_name"] for rid, r in meta.items()}
    answers = [
        Answer(r["response_id"], load_audio(trained["corpus"] / paths[r["response_id"]]), r["question_id"],
               questions[r["question_id"]], meta[r["response_id"]]["transcript"] or None, paths[r["response_id"]])
        for r in rows
    ]  # fmt: skip
    with feature_threads():  # the thread count the fixture's features were computed with
        computed = scorer.compute_features(answers)
    columns = ["acoustic_features", "delivery_features"] + (
        ["language_use_features"] if "language_use" in trained["stages"] else []
    )
    for stored, mine in zip(rows, computed):
        assert isinstance(mine, dict), mine
        assert list(mine["words"]) == list(stored["words"])
        for column in columns:
            if column == "delivery_features":
                # float32 rounding only: the CTC posteriors run in other batches here than in asa-prepare, and on
                # some CPUs (AVX-512 kernels) a matrix product's last bit depends on the batch's shape
                np.testing.assert_allclose(mine[column], stored[column], rtol=1e-5, atol=1e-7, err_msg=column)
            else:
                np.testing.assert_array_equal(np.asarray(mine[column]), np.asarray(stored[column]), err_msg=column)
        np.testing.assert_array_equal(mine["question_features"], features.question_features[stored["question_id"]])


def test_scorer_scores_files_arrays_and_names_bad_files(trained, tmp_path):
    import soundfile as sf

    scorer = AsaScorer.from_pretrained(trained["model"], device="cpu")
    files = sorted((trained["corpus"] / "audio").rglob("*.wav"))[:2]
    question = "Describe your favourite place."
    one = scorer.score(str(files[0]), question=question)
    assert isinstance(one, AsaScore) and one.error is None and one.file == str(files[0])
    assert one.predicted in (1, 2, 3, 4, 5) and 1.0 <= one.expected_score <= 5.0
    assert set(one.probabilities) == {1, 2, 3, 4, 5} and sum(one.probabilities.values()) == pytest.approx(1.0)
    assert one.words and {"word", "start", "end", "duration_s", "mono_posterior"} <= set(one.words[0])
    assert all(w["start"] <= w["end"] for w in one.words)
    wave, rate = sf.read(files[0])
    same = scorer.score(wave, question=question, sampling_rate=rate)
    assert same.probabilities == pytest.approx(one.probabilities, abs=1e-6)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00not audio" * 4)
    results = scorer.score([str(files[0]), str(corrupt), str(files[1])], question=question)
    assert [r.error is None for r in results] == [True, False, True]
    assert str(corrupt) in results[1].error and results[1].predicted is None
    assert results[0].probabilities == pytest.approx(one.probabilities, abs=1e-6)
    with pytest.raises(ValueError, match="2 questions for 3 answers"):
        scorer.score([str(files[0]), str(corrupt), str(files[1])], question=[question, question])


def test_asa_score_command_line(trained, tmp_path, capsys):
    files = [str(p) for p in sorted((trained["corpus"] / "audio").rglob("*.wav"))[:2]]
    corrupt = tmp_path / "broken.wav"
    corrupt.write_bytes(b"")
    base = ["--model", str(trained["model"]), "--question", "Describe it.", "--device", "cpu"]
    assert score_main([*base, *files]) == 0
    table = capsys.readouterr().out
    assert "predicted" in table and Path(files[0]).name in table
    assert score_main([*base, "--json", files[0], str(corrupt), files[1]]) == 1
    printed = json.loads(capsys.readouterr().out)
    keys = {"file", "scorable", "flags", "predicted", "expected_score", "probabilities", "transcript", "words", "error",
            "aspects", "aspect_probabilities"}  # fmt: skip
    assert [set(p) for p in printed] == [keys] * 3
    # one expected score per aspect the model was trained with, and each aspect's probabilities
    assert set(printed[0]["aspects"]) == {"fluency", "accuracy"}
    assert all(1.0 <= v <= 5.0 for v in printed[0]["aspects"].values())
    assert sum(printed[0]["aspect_probabilities"]["fluency"].values()) == pytest.approx(1.0)
    assert printed[1]["scorable"] is False and isinstance(printed[0]["flags"], list)
    assert printed[0]["scorable"] == (not printed[0]["flags"])
    assert printed[1]["file"] == str(corrupt) and "empty" in printed[1]["error"] and printed[0]["error"] is None
    assert set(printed[0]["probabilities"]) == {"1", "2", "3", "4", "5"}
    capsys.readouterr()
    assert score_main([*base, str(corrupt)]) == 2
    printed = capsys.readouterr()
    both = printed.out + printed.err
    assert both.count(str(corrupt)) == 1 and "empty" in printed.out  # the error once, its file named once


def test_model_folder_travels_and_names_every_missing_model(trained, tmp_path):
    """No absolute path in any JSON of the model folder and no checkpoint folder; moved to another place, the folder
    finds its local models (by name and checksum) in a models directory, and names every one it cannot find at once."""
    import shutil

    model = tmp_path / "elsewhere" / "model"
    shutil.copytree(trained["model"], model)
    assert not list(model.glob("checkpoint-*"))
    for file in model.glob("*.json"):
        text = file.read_text()
        assert str(trained["root"]) not in text and '"/' not in text, file.name
    recipe = json.loads((model / RECIPE_FILE).read_text())
    assert recipe["local_models"]["acoustic_encoder"]["name"] == "whisper"
    assert recipe["stages"]["content"]["acoustic_encoder"] == "whisper"
    # the models moved too: a models directory holding them (the option; $ASA_MODELS_DIR is the session's root)
    moved = tmp_path / "models"
    for name in ("whisper", "bert", "ctc", "ctc_multi", "recognizer"):
        shutil.copytree(trained["root"] / name, moved / name)
    scorer = AsaScorer.from_pretrained(model, device="cpu", models_dir=str(moved))
    assert scorer.stages["content"].acoustic_encoder == str((moved / "whisper").resolve())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecipeError) as caught:
        AsaScorer.from_pretrained(model, device="cpu", models_dir=str(empty))
    message = str(caught.value)
    for option in ("acoustic_encoder", "context_encoder", "recognizer", "ctc_model", "asr_model"):
        assert f"{option} " in message, option
    assert "\n" not in message and "--models-dir" in message
    # another model under the recorded name is refused, not silently used
    shutil.rmtree(moved / "bert")
    shutil.copytree(trained["root"] / "whisper", moved / "bert")
    with pytest.raises(RecipeError, match=r"context_encoder bert: .*bert is another model \(checksum differs\)"):
        AsaScorer.from_pretrained(model, device="cpu", models_dir=str(moved))
    # an explicit model option still wins
    scorer = AsaScorer.from_pretrained(
        model, device="cpu", models_dir=str(empty), acoustic_encoder=trained["models"]["whisper"],
        context_encoder=trained["models"]["bert"], recognizer=trained["models"]["recognizer"],
        ctc_model=trained["models"]["ctc"], asr_model=trained["models"]["ctc_multi"],
    )  # fmt: skip
    assert scorer.stages["content"].acoustic_encoder == str(Path(trained["models"]["whisper"]).resolve())
    with pytest.raises(RecipeError, match="unknown model option"):
        AsaScorer.from_pretrained(model, device="cpu", whisper="x")


def test_unlabelled_corpus_and_split_column(trained, tmp_path):
    """A corpus without labels is scored (no metrics); a split column selects rows with --split."""
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(trained["corpus"], corpus)
    with open(corpus / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        for key in [k for k in row if k.startswith("rater_") or k == "score"]:
            del row[key]
        row["split"] = "dev" if i % 3 == 0 else "train"
    with open(corpus / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "pred.csv"
    args = ["--model", str(trained["model"]), "--corpus", str(corpus), "--output", str(out), "--device", "cpu"]
    assert score_main([*args, "--split", "dev"]) == 0
    scored = _read(out)
    assert len(scored) == 8 and "reference" not in next(iter(scored.values()))
    assert not (tmp_path / "metrics.json").exists()


def test_prepare_uses_the_split_column(trained, tmp_path):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(trained["corpus"], corpus)
    with open(corpus / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    names = ["train", "train", "dev", "test_known", "test_unknown"]
    for i, row in enumerate(rows):
        row["split"] = names[i % len(names)]
    with open(corpus / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    settings = PrepareSettings(acoustic_encoder=trained["models"]["whisper"], context_encoder=trained["models"]["bert"],
                               device="cpu", stages=("content",), unknown_fraction=0.5)  # fmt: skip
    FeaturePipeline(corpus, tmp_path / "features", settings).run()
    from modeling_asa.features.store import load_features

    features = load_features(tmp_path / "features")
    got = {r["response_id"]: split for split, data in features.dataset.items() for r in data}
    assert got == {r["response_id"]: r["split"] for r in rows}
    recipe = features.metadata["recipe"]
    assert set(recipe["stages"]) == {"content", "question"} and recipe["delivery_normalisation"] is None
    assert features.metadata["encoders"]["ctc_model"] is None  # a stage that did not run records no model
    # an unknown split value is a corpus problem naming the row
    rows[0]["split"] = "validation"
    with open(corpus / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = FeaturePipeline(corpus, tmp_path / "features2", settings).run()
    assert any("split 'validation' is not one of train, dev, test_known, test_unknown" in p["reason"]
               for p in report.problems)  # fmt: skip


def test_speech_assessment_pipeline(trained):
    from transformers import pipeline

    scorer = pipeline("speech-assessment", model=str(trained["model"]), device="cpu")
    audio = str(min((trained["corpus"] / "audio").rglob("*.wav")))
    result = scorer(audio, question="Describe it.")
    assert result["error"] is None and result["predicted"] in (1, 2, 3, 4, 5)
    assert set(result["probabilities"]) == {"1", "2", "3", "4", "5"} and result["words"]
    assert result["scorable"] == (not result["flags"]) and set(result["flags"]) <= set(FLAGS)
    # the same score as AsaScorer (preprocess: the stages; _forward: the model; postprocess: the score)
    reference = AsaScorer.from_pretrained(trained["model"], device="cpu").score(audio, question="Describe it.")
    assert result["probabilities"] == pytest.approx({str(k): v for k, v in reference.probabilities.items()}, abs=1e-6)
    assert result["aspects"] == pytest.approx(reference.aspects, abs=1e-6)
    broken = scorer(str(trained["root"] / "missing.wav"), question="Describe it.")
    assert broken["predicted"] is None and "audio file not found" in broken["error"]


def test_recipe_folder_of_a_hub_id_fetches_only_the_recipe(trained, tmp_path, monkeypatch):
    """For a Hub id the scorer's recipe comes from hf_hub_download (the Hub's own cache), not from the model's path."""
    import shutil

    import huggingface_hub

    from modeling_asa.scoring import recipe_folder

    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    asked = []

    def fake_download(repo_id, filename, revision=None, **kwargs):
        asked.append((repo_id, filename))
        shutil.copy(trained["model"] / filename, snapshot / filename)
        return str(snapshot / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    assert recipe_folder("someone/asa-scorer") == snapshot
    assert asked == [("someone/asa-scorer", "feature_recipe.json"), ("someone/asa-scorer", "scorability.json")]
    assert recipe_folder(trained["model"]) == trained["model"]  # a local folder is used as it is


def test_asa_score_help_is_a_console_script():
    result = subprocess.run(["asa-score", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "--corpus" in result.stdout and "--acoustic-encoder" in result.stdout


def test_asa_score_reads_the_label_column_the_model_was_trained_on(trained, tmp_path):
    import shutil

    corpus, model = tmp_path / "corpus", tmp_path / "model"
    shutil.copytree(trained["corpus"], corpus)
    shutil.copytree(trained["model"], model)
    rows = list(_read(corpus / "metadata.csv").values())
    for row in rows:
        row["level"] = row.pop("score")
    with open(corpus / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    recipe = json.loads((model / RECIPE_FILE).read_text())
    assert recipe["labels"] == {"label_column": None, "label_source": "score", "rater_rule": "floor",
                                "aspect_columns": ["fluency", "accuracy"]}  # fmt: skip
    recipe["labels"]["label_column"] = "level"  # as if trained with asa-prepare --label-column level
    (model / RECIPE_FILE).write_text(json.dumps(recipe))
    out = tmp_path / "scored" / "predictions.csv"
    assert score_main(["--model", str(model), "--corpus", str(corpus), "--output", str(out), "--device", "cpu"]) == 0
    assert next(iter(_read(out).values()))["reference"] in {"1", "2", "3", "4", "5"}
    assert json.loads((out.parent / "metrics.json").read_text())["num_scored"] == 24


def test_asa_score_scores_webm_and_m4a_answers(trained, tmp_path, capsys):
    """What browsers (WebM/Opus) and phones (M4A/AAC) record is scored like the WAV it was made from."""
    import soundfile as sf
    from tiny_models import write_compressed_audio

    source = min((trained["corpus"] / "audio").rglob("*.wav"))
    wave, rate = sf.read(source)
    files = [str(write_compressed_audio(tmp_path / f"answer{suffix}", wave, rate)) for suffix in (".webm", ".m4a")]
    base = ["--model", str(trained["model"]), "--question", "Describe your favourite place.", "--device", "cpu"]
    assert score_main([*base, "--json", str(source), *files]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [p["error"] for p in printed] == [None, None, None]
    assert all(p["predicted"] in (1, 2, 3, 4, 5) for p in printed)
