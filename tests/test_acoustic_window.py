"""The trimmed Whisper window: the encoder reads the answer's own log-mel frames instead of a padded 30 s window."""

import numpy as np
import pytest
import torch
from test_whisper_ctc import build_tiny_aligner, waves
from tiny_models import build_tiny_bert, build_tiny_whisper

from modeling_asa.ctc.modeling_whisper_ctc import TRIM_MULTIPLE_MEL, trimmed_mel_frames, whisper_encode
from modeling_asa.features.content import AcousticEncoder


@pytest.fixture(scope="module")
def whisper(tmp_path_factory):
    return str(build_tiny_whisper(tmp_path_factory.mktemp("whisper")))


def test_whisper_encode_on_a_whole_window_equals_the_encoder(whisper):
    encoder = AcousticEncoder(whisper, device="cpu").encoder
    features = torch.randn(2, 80, 3000)
    with torch.inference_mode():
        np.testing.assert_allclose(
            whisper_encode(encoder, features).numpy(), encoder(features).last_hidden_state.numpy(), atol=1e-5
        )


def test_trimmed_mel_frames():
    assert trimmed_mel_frames(16000) == 100  # 1 s: 50 encoder frames need 100 log-mel frames
    assert trimmed_mel_frames(16001) == 200  # one sample more needs one more encoder frame: next whole second
    assert trimmed_mel_frames(1) == TRIM_MULTIPLE_MEL
    assert trimmed_mel_frames(40 * 16000) == 3000  # never more than one window


def test_trimmed_states_have_the_same_shape_and_stay_close_for_long_answers(whisper):
    full = AcousticEncoder(whisper, device="cpu", batch_size=4)
    trimmed = AcousticEncoder(whisper, device="cpu", batch_size=4, acoustic_window="trimmed")
    inputs = waves(1.3, 0.45, 29.99, 31.0, seed=3)
    a, b = full.encode(inputs, show_progress=False), trimmed.encode(inputs, show_progress=False)
    assert [x.shape for x in a] == [x.shape for x in b]
    assert all(x.dtype == np.float16 and np.isfinite(x.astype(np.float32)).all() for x in b)
    # a chunk that fills its window is encoded exactly as in full mode
    np.testing.assert_allclose(a[2].astype(np.float32), b[2].astype(np.float32), atol=2e-2)
    np.testing.assert_allclose(a[3][:1500].astype(np.float32), b[3][:1500].astype(np.float32), atol=2e-2)
    # a short answer is not (attention no longer sees the padding): that is what has to be measured on real data
    assert not np.allclose(a[0].astype(np.float32), b[0].astype(np.float32), atol=1e-3)
    # batching by length: each answer's states do not depend on its batch
    alone = [trimmed.encode([w], show_progress=False)[0] for w in inputs[:2]]
    for x, y in zip(alone, b[:2]):
        np.testing.assert_allclose(x.astype(np.float32), y.astype(np.float32), atol=2e-2)
    with pytest.raises(ValueError, match=r"acoustic_window must be one of \['full', 'trimmed'\]"):
        AcousticEncoder(whisper, device="cpu", acoustic_window="half")


def test_trimmed_ctc_aligner_keeps_shapes_and_batch_independence(tmp_path):
    from modeling_asa.features.alignment import CtcModel

    folder = build_tiny_aligner(tmp_path / "aligner")
    full = CtcModel(folder, device="cpu", batch_size=4)
    trimmed = CtcModel(folder, device="cpu", batch_size=4)
    assert trimmed.set_acoustic_window("trimmed")
    inputs = waves(1.03, 0.41, 2.2, seed=1)
    a, b = full.log_probs(inputs), trimmed.log_probs(inputs)
    assert [x.shape for x in a] == [x.shape for x in b]
    one = CtcModel(folder, device="cpu", batch_size=1)
    assert one.set_acoustic_window("trimmed")
    for x, y in zip(b, one.log_probs(inputs)):
        np.testing.assert_allclose(x, y, atol=1e-4)


def test_switching_the_window_recomputes_the_content_stage_only(tmp_path, whisper):
    from tiny_models import build_tiny_ctc

    from dataset_scripts.make_demo_corpus import make_demo_corpus
    from modeling_asa.features.runner import FeaturePipeline, PrepareSettings
    from modeling_asa.features.store import load_features

    corpus = make_demo_corpus(tmp_path / "corpus", n_speakers=4, responses_per_speaker=3, n_questions=2, seed=0)
    common = {
        "acoustic_encoder": whisper, "context_encoder": str(build_tiny_bert(tmp_path / "bert")),
        "ctc_model": build_tiny_ctc(tmp_path / "ctc"), "stages": ("content", "delivery"), "device": "cpu",
        "group_by": "speaker_id", "recognizer": None,
    }  # fmt: skip
    FeaturePipeline(corpus, tmp_path / "features", PrepareSettings(**common)).run()
    report = FeaturePipeline(corpus, tmp_path / "features", PrepareSettings(**common, acoustic_window="trimmed")).run()
    assert (report.computed["content"], report.computed["delivery"], report.computed["question"]) == (12, 0, 0)
    recipe = load_features(tmp_path / "features").metadata["recipe"]
    assert recipe["stages"]["content"]["acoustic_window"] == "trimmed"
    assert recipe["stages"]["delivery"]["acoustic_window"] == "trimmed"


def test_delivery_stage_warns_when_an_aligner_reads_another_window_than_its_head_was_trained_on(tmp_path, caplog):
    import json
    import logging

    from modeling_asa.features.delivery import DeliveryStage

    full_head = build_tiny_aligner(tmp_path / "aligner")
    assert json.loads((full_head / "config.json").read_text()).get("acoustic_window", "full") == "full"
    with caplog.at_level(logging.WARNING, logger="modeling_asa"):
        DeliveryStage(str(full_head), acoustic_window="full", device="cpu").load()
    assert "trained on" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="modeling_asa"):
        stage = DeliveryStage(str(full_head), acoustic_window="trimmed", device="cpu")
        stage.load()
    assert "its CTC head was trained on full-window states and now reads trimmed windows" in caplog.text
    assert stage.extractor.mono.model.config.acoustic_window == "trimmed"
