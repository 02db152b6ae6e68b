"""Tests for modeling_asa.features.prosody and modeling_asa.features.delivery."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("parselmouth")
pytest.importorskip("ctc_segmentation")

from modeling_asa.features.alignment import CtcModel, WordSegment, greedy_transcribe
from modeling_asa.features.delivery import (
    DELIVERY_FIELD_DESCRIPTIONS,
    DELIVERY_FIELDS,
    DeliveryExtractor,
    compute_delivery_features,
    fit_normalizer,
)
from modeling_asa.features.prosody import (
    PROSODY_FIELD_DESCRIPTIONS,
    PROSODY_FIELDS,
    ProsodyError,
    word_prosody,
)

SR = 16000
UPPER = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ'")
LOWER = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("abcdefghijklmnopqrstuvwxyz'")
FIELD = {name: i for i, name in enumerate(DELIVERY_FIELDS)}
PFIELD = {name: i for i, name in enumerate(PROSODY_FIELDS)}


def harmonic_tone(f0: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    """A harmonic-rich periodic tone (8 harmonics, 1/k amplitudes)."""
    t = np.arange(int(seconds * SR)) / SR
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 9))
    return (amplitude * wave / np.abs(wave).max()).astype(np.float32)


def speech_like_wave(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Silence (faint noise) with a 200 Hz tone at 0.2-0.6 s and a 150 Hz tone at 1.0-1.5 s (cut at ``seconds``)."""
    rng = np.random.default_rng(seed)
    wave = (rng.standard_normal(max(int(seconds * SR), int(1.5 * SR))) * 1e-4).astype(np.float32)
    wave[int(0.2 * SR) : int(0.6 * SR)] += harmonic_tone(200.0, 0.4)
    wave[int(1.0 * SR) : int(1.5 * SR)] += harmonic_tone(150.0, 0.5)
    return wave[: int(seconds * SR)]


from tiny_models import build_tiny_ctc


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("delivery_models")
    mono = CtcModel(build_tiny_ctc(root / "mono", UPPER), device="cpu", batch_size=4)
    # "Multilingual" stand-in: another tiny random model, lower-case vocabulary, 40 ms frames.
    multi = CtcModel(
        build_tiny_ctc(root / "multi", LOWER, conv_stride=(5, 8, 16), seed=1),
        device="cpu",
    )
    return mono, multi


# ------------------------------------------------------------------------------------------
# Prosody
# ------------------------------------------------------------------------------------------


def test_prosody_fields_documented():
    assert set(PROSODY_FIELD_DESCRIPTIONS) == set(PROSODY_FIELDS)
    assert set(DELIVERY_FIELD_DESCRIPTIONS) == set(DELIVERY_FIELDS)
    assert len(DELIVERY_FIELDS) == len(set(DELIVERY_FIELDS)) == 2 + len(PROSODY_FIELDS) + 4


def test_word_prosody_known_pitch_and_intensity():
    wave = speech_like_wave()
    segments = [
        WordSegment("high", 0.25, 0.55, 0.0),
        WordSegment("pause", 0.7, 0.9, 0.0),
        WordSegment("low", 1.05, 1.45, 0.0),
        WordSegment("lost", math.nan, math.nan, math.nan),
    ]
    feats = word_prosody(wave, SR, segments)
    assert feats.shape == (4, len(PROSODY_FIELDS)) and feats.dtype == np.float32
    high, pause, low, lost = feats
    to_hz = lambda st: 100.0 * 2 ** (st / 12.0)
    assert to_hz(high[PFIELD["pitch_mean_st"]]) == pytest.approx(200.0, rel=0.01)
    assert to_hz(low[PFIELD["pitch_mean_st"]]) == pytest.approx(150.0, rel=0.01)
    assert to_hz(high[PFIELD["pitch_min_st"]]) == pytest.approx(200.0, rel=0.02)
    assert to_hz(high[PFIELD["pitch_max_st"]]) == pytest.approx(200.0, rel=0.02)
    assert high[PFIELD["pitch_std_st"]] < 0.2
    assert high[PFIELD["voiced_fraction"]] > 0.9 and low[PFIELD["voiced_fraction"]] > 0.9
    # Silence: unvoiced, pitch fields filled with 0, much quieter.
    assert pause[PFIELD["voiced_fraction"]] == 0.0
    assert (
        pause[
            [
                PFIELD[f]
                for f in (
                    "pitch_mean_st",
                    "pitch_std_st",
                    "pitch_min_st",
                    "pitch_max_st",
                )
            ]
        ]
        == 0
    ).all()
    assert high[PFIELD["intensity_mean_db"]] > pause[PFIELD["intensity_mean_db"]] + 30
    assert high[PFIELD["intensity_max_db"]] >= high[PFIELD["intensity_mean_db"]]
    assert np.isnan(lost).all()


def test_word_prosody_short_word_uses_nearest_frame():
    feats = word_prosody(speech_like_wave(), SR, [WordSegment("tiny", 0.4, 0.402, 0.0)])
    assert 100.0 * 2 ** (feats[0, PFIELD["pitch_mean_st"]] / 12.0) == pytest.approx(200.0, rel=0.01)
    assert feats[0, PFIELD["voiced_fraction"]] == 1.0


def test_word_prosody_rejects_too_short_wave():
    with pytest.raises(ProsodyError, match=r"Praat cannot analyse a 0.030 s wave"):
        word_prosody(np.zeros(480, dtype=np.float32), SR, [WordSegment("a", 0.0, 0.03, 0.0)])
    assert word_prosody(np.zeros(480, dtype=np.float32), SR, []).shape == (
        0,
        len(PROSODY_FIELDS),
    )


# ------------------------------------------------------------------------------------------
# Feature assembly and normalisation
# ------------------------------------------------------------------------------------------


def test_compute_delivery_features_timing_and_columns():
    wave = speech_like_wave()
    segments = [
        WordSegment("one", 0.2, 0.6, -0.1),
        WordSegment("--", math.nan, math.nan, math.nan),
        WordSegment("two", 1.0, 1.5, -0.2),
    ]
    mono = np.array([0.9, np.nan, 0.8])
    conf = np.array([0.7, np.nan, 0.6])
    feats = compute_delivery_features(wave, SR, segments, mono, None, None, conf)
    assert feats.shape == (3, len(DELIVERY_FIELDS)) and feats.dtype == np.float32
    np.testing.assert_allclose(feats[[0, 2], FIELD["duration_s"]], [0.4, 0.5], atol=1e-6)
    np.testing.assert_allclose(feats[[0, 2], FIELD["silence_after_s"]], [0.4, 0.0], atol=1e-6)  # last word: 0
    np.testing.assert_allclose(feats[[0, 2], FIELD["mono_posterior"]], [0.9, 0.8], atol=1e-6)
    np.testing.assert_allclose(feats[[0, 2], FIELD["asr_confidence"]], [0.7, 0.6], atol=1e-6)
    assert np.isnan(feats[:, FIELD["multi_posterior"]]).all() and np.isnan(feats[:, FIELD["lm_log10_prob"]]).all()
    assert np.isnan(feats[1, : 2 + len(PROSODY_FIELDS)]).all()
    high_pitch = feats[0, FIELD["pitch_mean_st"]]
    assert 100.0 * 2 ** (high_pitch / 12.0) == pytest.approx(200.0, rel=0.01)


def test_compute_delivery_features_length_mismatch():
    segments = [WordSegment("one", 0.2, 0.6, -0.1)]
    with pytest.raises(ValueError, match="lm_scores has 2 values for 1 words"):
        compute_delivery_features(speech_like_wave(), SR, segments, None, None, np.zeros(2), None)


def test_fit_normalizer_against_numpy():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 4)) * [1, 2, 0, 5] + [0, 1, 3, -2] for n in (3, 0, 5)]
    arrays[0][1, 1] = np.nan
    for a in arrays:
        a[:, 3] = np.nan  # a field with no value at all (e.g. no LM)
    mean, std = fit_normalizer(arrays)
    stacked = np.concatenate(arrays)
    np.testing.assert_allclose(mean[:3], [np.nanmean(stacked[:, j]) for j in range(3)], rtol=1e-5)
    np.testing.assert_allclose(std[:2], [np.nanstd(stacked[:, j]) for j in range(2)], rtol=1e-5)
    assert std[2] == pytest.approx(1e-6)  # constant field: floored
    assert (mean[3], std[3]) == (0.0, 1.0)


def test_fit_normalizer_errors():
    with pytest.raises(ValueError, match="no feature arrays given"):
        fit_normalizer([])
    with pytest.raises(ValueError, match="contain no word"):
        fit_normalizer([np.zeros((0, 3))])
    with pytest.raises(ValueError, match=r"different widths \[2, 3\]"):
        fit_normalizer([np.zeros((1, 3)), np.zeros((1, 2))])


# ------------------------------------------------------------------------------------------
# DeliveryExtractor on tiny random models
# ------------------------------------------------------------------------------------------


def test_delivery_extractor_end_to_end(models):
    mono, multi = models
    waves = [
        speech_like_wave(2.0, seed=0),
        speech_like_wave(1.6, seed=1),
        np.zeros(0, dtype=np.float32),  # empty
        speech_like_wave(0.05, seed=2),  # 2 CTC frames: too short for the transcript
        np.zeros(300, dtype=np.float32),  # 0 CTC frames
        speech_like_wave(2.0, seed=3),
    ]
    transcripts = [
        "Hello world",
        "good MORNING, sir",
        "HELLO",
        "HELLO WORLD",
        "HI",
        "   ",
    ]
    results = DeliveryExtractor(mono, multi).extract(waves, transcripts)
    assert len(results) == len(waves)
    for res in results[:2]:
        assert res.problem is None
        assert res.features.shape == (len(res.words), len(DELIVERY_FIELDS)) and res.features.dtype == np.float32
        assert len(res.segments) == len(res.words)
        timing = res.features[:, [FIELD["duration_s"], FIELD["silence_after_s"]]]
        assert np.isfinite(timing).all() and (timing >= 0).all()
        assert np.isfinite(res.features[:, FIELD["mono_posterior"]]).all()
        assert np.isfinite(res.features[:, FIELD["multi_posterior"]]).all()
        assert np.isnan(res.features[:, FIELD["lm_log10_prob"]]).all()  # no LM given
        assert res.segments[-1].end <= len(waves[0]) / SR + 1e-6
    assert results[0].words == ["Hello", "world"] and results[0].transcript == "Hello world"
    assert results[1].words == ["good", "MORNING,", "sir"]
    assert "empty wave" in results[2].problem
    assert "transcript longer than audio" in results[3].problem
    assert "0 CTC frames" in results[4].problem
    assert "empty transcript" in results[5].problem
    for res in results[2:]:
        assert res.features.shape == (0, len(DELIVERY_FIELDS)) and res.words == []


def test_delivery_extractor_asr_transcript_from_multilingual_model(models):
    mono, multi = models
    wave = speech_like_wave(3.0, seed=4)
    expected = greedy_transcribe(multi.log_probs([wave])[0], multi).text
    (res,) = DeliveryExtractor(mono, multi).extract([wave], [None])
    assert res.transcript == expected
    if res.problem is None:  # a random model may also emit an unalignable transcript
        assert res.words == expected.split()
        assert res.features.shape == (len(res.words), len(DELIVERY_FIELDS))
    # Without a multilingual model the ASR transcript comes from the monolingual one.
    (mono_only,) = DeliveryExtractor(mono, None).extract([wave], [None])
    assert mono_only.transcript == greedy_transcribe(mono.log_probs([wave])[0], mono).text


def test_delivery_extractor_resamples_and_checks_lengths(models):
    mono, _ = models
    wave_8k = speech_like_wave(2.0)[::2].copy()
    (res,) = DeliveryExtractor(mono).extract([wave_8k], ["HELLO WORLD"], sampling_rate=8000)
    assert res.problem is None and res.features.shape == (2, len(DELIVERY_FIELDS))
    assert np.isnan(res.features[:, FIELD["multi_posterior"]]).all()
    with pytest.raises(ValueError, match="2 waves for 1 transcripts"):
        DeliveryExtractor(mono).extract([wave_8k, wave_8k], ["A"])


def test_delivery_extractor_with_kenlm_scorer(models, tmp_path):
    lm_module = pytest.importorskip("modeling_asa.features.lm", reason="modeling_asa.features.lm not available")
    arpa = tmp_path / "tiny.arpa"
    arpa.write_text(
        "\\data\\\nngram 1=5\nngram 2=1\n\n\\1-grams:\n-1.0\t<unk>\t0\n-99\t<s>\t-0.2\n-0.5\t</s>\t0\n"
        "-0.3\thello\t-0.1\n-0.6\tworld\t0\n\n\\2-grams:\n-0.05\thello world\n\n\\end\\\n"
    )
    from modeling_asa.features.delivery import DeliveryStage
    from modeling_asa.features.stage import Answer, assemble_example

    mono, multi = models
    delivery = DeliveryStage(mono.name_or_path, multi.name_or_path, device="cpu")
    lm = lm_module.LmStage(str(arpa))
    assert lm.needs == ("delivery",) and lm.settings() == {"lm": str(arpa), "case": "upper"}
    answer = Answer("r1", speech_like_wave(), transcript="hello world")
    (found,) = delivery.compute([answer], [{}])
    assert found["delivery_core"].shape == (2, len(DELIVERY_FIELDS) - 1) and list(found["words"]) == ["hello", "world"]
    (scores,) = lm.compute([answer], [{"delivery": found}])
    features = assemble_example({"delivery": found, "lm": scores})["delivery_features"]
    scorer = lm_module.KenlmScorer(str(arpa))
    np.testing.assert_allclose(features[:, FIELD["lm_log10_prob"]], scorer.word_scores(["hello", "world"]))
    assert np.isfinite(features[:, FIELD["lm_log10_prob"]]).all()
    # without the LM stage the column is NaN, every other column is the delivery stage's own
    alone = assemble_example({"delivery": found})["delivery_features"]
    assert np.isnan(alone[:, FIELD["lm_log10_prob"]]).all()
    np.testing.assert_array_equal(np.delete(alone, FIELD["lm_log10_prob"], 1), found["delivery_core"])
