"""Tests for modeling_asa.features.alignment: CtcModel, greedy decoding, CTC-segmentation alignment, posteriors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

pytest.importorskip("ctc_segmentation")

from modeling_asa.features.alignment import (
    AlignmentError,
    CtcModel,
    CtcModelLoadError,
    SimpleVocabulary,
    WordSegment,
    align_words,
    encode_words,
    forced_path_posterior,
    greedy_transcribe,
    normalize_words,
    segment_confidence,
    word_posteriors,
)

VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ'")
FRAME = 0.02


from tiny_models import build_tiny_ctc


@pytest.fixture(scope="module")
def tiny_ctc(tmp_path_factory) -> CtcModel:
    return CtcModel(build_tiny_ctc(tmp_path_factory.mktemp("tiny_ctc")), device="cpu", batch_size=8)


def peaky_log_probs(labels: list[str | None], vocab=VOCAB, peak: float = 0.9) -> np.ndarray:
    """Log posteriors with ``peak`` on each frame's label (``None`` = blank) and the rest spread evenly."""
    index = {tok: i for i, tok in enumerate(vocab)}
    probs = np.full((len(labels), len(vocab)), (1.0 - peak) / (len(vocab) - 1))
    for t, label in enumerate(labels):
        probs[t, index["<pad>"] if label is None else index[label]] = peak
    return np.log(probs).astype(np.float32)


def hello_world_labels(n_frames: int = 70) -> list[str | None]:
    """HELLO at frames 10-20, WORLD at 40-52, a '|' delimiter inside the gap, blanks elsewhere."""
    labels: list[str | None] = [None] * n_frames
    for t, ch in zip(range(10, 21), "HHEELL_LLOO"):
        labels[t] = None if ch == "_" else ch
    for t in range(28, 31):
        labels[t] = "|"
    for t, ch in zip(range(40, 53), "WWWOORRRLLDDD"):
        labels[t] = ch
    return labels


VOCAB_MODEL = SimpleVocabulary(VOCAB, blank_id=0, word_delimiter="|", frame_duration=FRAME)
TRUTH = {"HELLO": (10 * FRAME, 21 * FRAME), "WORLD": (40 * FRAME, 53 * FRAME)}


# ------------------------------------------------------------------------------------------
# CtcModel
# ------------------------------------------------------------------------------------------


def test_ctc_model_vocabulary_blank_delimiter_frame_duration(tiny_ctc):
    assert tiny_ctc.vocabulary == VOCAB
    assert tiny_ctc.blank_id == 0
    assert tiny_ctc.word_delimiter == "|"
    assert tiny_ctc.sampling_rate == 16000
    assert tiny_ctc.frame_duration == pytest.approx(320 / 16000)


def test_frame_duration_follows_conv_strides(tmp_path):
    model = CtcModel(build_tiny_ctc(tmp_path / "m", conv_stride=(5, 8, 16)), device="cpu")
    assert model.frame_duration == pytest.approx(640 / 16000)
    override = CtcModel(str(tmp_path / "m"), device="cpu", frame_duration=0.05)
    assert override.frame_duration == 0.05


def test_log_probs_shapes_trimmed_and_normalised(tiny_ctc):
    rng = np.random.default_rng(0)
    lengths = [16000, 8000, 12345]
    waves = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in lengths]
    outs = tiny_ctc.log_probs(waves)
    expected = tiny_ctc.model._get_feat_extract_output_lengths(torch.tensor(lengths)).tolist()
    assert [o.shape for o in outs] == [(n, len(VOCAB)) for n in expected]
    assert expected[0] == 49  # 1 s at 20 ms per frame, minus the conv edge
    for out in outs:
        assert out.dtype == np.float32
        np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, atol=1e-4)


def test_log_probs_batch_matches_single(tiny_ctc):
    rng = np.random.default_rng(1)
    waves = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (4000, 16000, 9000)]
    batched = tiny_ctc.log_probs(waves)
    single = [tiny_ctc.log_probs([w])[0] for w in waves]
    for b, s in zip(batched, single):
        assert b.shape == s.shape
        np.testing.assert_allclose(b, s, atol=1e-4)


def test_log_probs_rejects_bad_input(tiny_ctc):
    with pytest.raises(ValueError, match="8000 Hz, the model expects 16000 Hz"):
        tiny_ctc.log_probs([np.zeros(800, dtype=np.float32)], sampling_rate=8000)
    with pytest.raises(ValueError, match="wave 0 must be a non-empty 1-D array"):
        tiny_ctc.log_probs([np.zeros(0, dtype=np.float32)])


def test_ctc_model_load_error_names_path(tmp_path):
    missing = tmp_path / "no_such_model"
    with pytest.raises(CtcModelLoadError, match=r"no_such_model: CTC model folder not found"):
        CtcModel(str(missing), device="cpu")
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "config.json").write_text("{}")
    with pytest.raises(
        CtcModelLoadError, match=r"incomplete: could not load the CTC model from this folder .*save_pretrained"
    ):
        CtcModel(str(incomplete), device="cpu")


def test_ctc_model_without_a_trained_head_is_refused(tmp_path):
    """A pretrained-only wav2vec2 (no CTC output layer, e.g. xls-r-300m) would load with a random head: refused."""
    from transformers import Wav2Vec2ForCTC

    folder = tmp_path / "pretrained_only"
    build_tiny_ctc(folder)
    encoder = Wav2Vec2ForCTC.from_pretrained(folder).wav2vec2
    (folder / "model.safetensors").unlink()
    encoder.save_pretrained(folder)  # the encoder alone, beside the tokenizer and feature extractor
    with pytest.raises(CtcModelLoadError, match=r"pretrained_only: the checkpoint has no trained CTC output layer "
                       r"\(missing lm_head.bias, lm_head.weight\); pass a model fine-tuned for CTC"):  # fmt: skip
        CtcModel(str(folder), device="cpu")


# ------------------------------------------------------------------------------------------
# Text normalisation
# ------------------------------------------------------------------------------------------


def test_encode_and_normalize_words_case_punctuation_apostrophe():
    assert normalize_words(["Don't,", "stop!", "42", "-"], VOCAB_MODEL) == [
        "DON'T",
        "STOP",
        "",
        "",
    ]
    lower = SimpleVocabulary(["<pad>", "|"] + list("abcdefghijklmnopqrstuvwxyz"))
    assert normalize_words(["Don't"], lower) == ["dont"]  # no apostrophe in this vocabulary
    assert encode_words(["AB"], lower) == [[2, 3]]


# ------------------------------------------------------------------------------------------
# Greedy decoding
# ------------------------------------------------------------------------------------------


def test_greedy_transcribe_text_and_confidence():
    lp = peaky_log_probs(hello_world_labels(), peak=0.9)
    result = greedy_transcribe(lp, VOCAB_MODEL)
    assert result.text == "HELLO WORLD"
    assert result.words == ["HELLO", "WORLD"]
    np.testing.assert_allclose(result.word_confidence, [0.9, 0.9], atol=1e-5)


def test_greedy_confidence_is_mean_over_emitted_frames():
    labels = hello_world_labels()
    lp = peaky_log_probs(labels, peak=0.9)
    # Lower the peak of the two 'W' frames 40-41 to 0.5: WORLD's 13 frames average (11*0.9+2*0.5)/13.
    lp[40:42] = peaky_log_probs(["W", "W"], peak=0.5)
    result = greedy_transcribe(lp, VOCAB_MODEL)
    assert result.word_confidence[1] == pytest.approx((11 * 0.9 + 2 * 0.5) / 13, abs=1e-5)
    assert result.word_confidence[0] == pytest.approx(0.9, abs=1e-5)


def test_greedy_transcribe_empty():
    result = greedy_transcribe(peaky_log_probs([None] * 10), VOCAB_MODEL)
    assert (result.text, result.words, result.word_confidence.shape) == ("", [], (0,))


# ------------------------------------------------------------------------------------------
# Alignment
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("peak", [0.9, 0.6])
def test_align_words_recovers_known_timings(peak):
    lp = peaky_log_probs(hello_world_labels(), peak=peak)
    segments = align_words(lp, ["HELLO", "WORLD"], VOCAB_MODEL)
    assert [s.word for s in segments] == ["HELLO", "WORLD"]
    for seg in segments:
        start, end = TRUTH[seg.word]
        assert seg.start == pytest.approx(start, abs=1.01 * FRAME)
        assert seg.end == pytest.approx(end, abs=1.01 * FRAME)
        assert math.isfinite(seg.score) and seg.score <= 0
    assert segments[0].end < segments[1].start


def test_align_words_normalises_and_keeps_original_words():
    lp = peaky_log_probs(hello_world_labels())
    segments = align_words(lp, ["Hello,", "world!"], VOCAB_MODEL)
    assert [s.word for s in segments] == ["Hello,", "world!"]
    assert segments[1].start == pytest.approx(TRUTH["WORLD"][0], abs=1.01 * FRAME)


def test_align_words_keeps_unalignable_word_with_nan():
    lp = peaky_log_probs(hello_world_labels())
    segments = align_words(lp, ["HELLO", "123", "WORLD"], VOCAB_MODEL)
    assert [s.word for s in segments] == ["HELLO", "123", "WORLD"]
    assert not segments[1].aligned and math.isnan(segments[1].score)
    assert segments[0].aligned and segments[2].aligned
    assert segments[2].start == pytest.approx(TRUTH["WORLD"][0], abs=1.01 * FRAME)


def test_align_words_empty_transcript():
    assert align_words(peaky_log_probs(hello_world_labels()), [], VOCAB_MODEL) == []


def test_align_words_transcript_longer_than_audio():
    lp = peaky_log_probs([None] * 12)
    with pytest.raises(AlignmentError, match="transcript longer than audio"):
        align_words(lp, ["HELLO", "WONDERFUL", "WORLD"], VOCAB_MODEL)


def test_align_words_rejects_wrong_vocabulary_width():
    with pytest.raises(ValueError, match=r"align_words: expected log posteriors of shape \(T, 32\)"):
        align_words(np.zeros((10, 5), dtype=np.float32), ["A"], VOCAB_MODEL)


# ------------------------------------------------------------------------------------------
# Posteriors
# ------------------------------------------------------------------------------------------


def brute_force_forced_posterior(lp: np.ndarray, ids: list[int], blank: int) -> float:
    """Reference: enumerate every frame labelling, keep those collapsing to ``ids``, take the best."""
    best_score, best_path = -np.inf, None
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        collapsed = [k for k, _ in itertools.groupby(path) if k != blank]
        if collapsed != ids:
            continue
        score = sum(lp[t, k] for t, k in enumerate(path))
        if score > best_score:
            best_score, best_path = score, path
    if best_path is None:
        return math.nan
    return float(np.mean([np.exp(lp[t, k]) for t, k in enumerate(best_path) if k != blank]))


@pytest.mark.parametrize("ids", [[1], [1, 2], [1, 1], [2, 1, 2]])
def test_forced_path_posterior_matches_brute_force(ids):
    rng = np.random.default_rng(len(ids))
    for _ in range(3):
        logits = rng.standard_normal((5, 3)) * 2
        lp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        assert forced_path_posterior(lp, ids, 0) == pytest.approx(brute_force_forced_posterior(lp, ids, 0), abs=1e-9)


def test_forced_path_posterior_infeasible_is_nan():
    lp = np.log(np.full((2, 3), 1 / 3))
    assert math.isnan(forced_path_posterior(lp, [1, 1], 0))  # needs 3 frames (blank between repeats)


def test_word_posteriors_mono_and_other_frame_rate():
    mono_lp = peaky_log_probs(hello_world_labels(), peak=0.9)
    words = ["HELLO", "WORLD"]
    segments = align_words(mono_lp, words, VOCAB_MODEL)
    mono = word_posteriors(mono_lp, segments, words, VOCAB_MODEL)
    np.testing.assert_allclose(mono, [0.9, 0.9], atol=1e-5)

    # A lower-case "multilingual" model at 40 ms per frame, hearing WORLD worse (peak 0.5).
    lower = ["<pad>", "|"] + list("abcdefghijklmnopqrstuvwxyz'")
    multi_model = SimpleVocabulary(lower, blank_id=0, word_delimiter="|", frame_duration=2 * FRAME)
    labels: list[str | None] = [None] * 35
    for t, ch in zip(range(5, 11), "hel_lo"):
        labels[t] = None if ch == "_" else ch
    multi_lp = peaky_log_probs(labels, vocab=lower, peak=0.9)
    multi_lp[20:27] = peaky_log_probs(list("wworldd"), vocab=lower, peak=0.5)
    multi = word_posteriors(multi_lp, segments, words, multi_model)
    np.testing.assert_allclose(multi, [0.9, 0.5], atol=1e-5)

    # The same words on swapped segments are much less probable (only their shared letters O, L fit).
    swapped = [WordSegment(w, s.start, s.end, s.score) for w, s in zip(words, segments[::-1])]
    assert (word_posteriors(mono_lp, swapped, words, VOCAB_MODEL) < 0.5).all()


def test_word_posteriors_nan_for_unaligned_and_oov():
    lp = peaky_log_probs(hello_world_labels())
    segments = [
        WordSegment("HELLO", math.nan, math.nan, math.nan),
        WordSegment("42", 0.2, 0.4, 0.0),
    ]
    assert np.isnan(word_posteriors(lp, segments, ["HELLO", "42"], VOCAB_MODEL)).all()
    with pytest.raises(ValueError, match="2 segments for 1 words"):
        word_posteriors(lp, segments, ["HELLO"], VOCAB_MODEL)


def test_segment_confidence_matches_greedy_on_own_segments():
    lp = peaky_log_probs(hello_world_labels(), peak=0.8)
    segments = align_words(lp, ["HELLO", "WORLD"], VOCAB_MODEL)
    np.testing.assert_allclose(segment_confidence(lp, segments, VOCAB_MODEL), [0.8, 0.8], atol=1e-5)
    gap = [WordSegment("X", 0.7, 0.75, 0.0)]  # frames 35-37: blanks only
    assert np.isnan(segment_confidence(lp, gap, VOCAB_MODEL)).all()


def test_align_words_on_tiny_model_output(tiny_ctc):
    rng = np.random.default_rng(3)
    wave = rng.standard_normal(32000).astype(np.float32) * 0.1
    lp = tiny_ctc.log_probs([wave])[0]
    segments = align_words(lp, ["THE", "QUICK", "FOX"], tiny_ctc)
    assert [s.word for s in segments] == ["THE", "QUICK", "FOX"]
    bounds = [(s.start, s.end) for s in segments]
    assert all(0 <= a < b <= lp.shape[0] * tiny_ctc.frame_duration + 1e-9 for a, b in bounds)
    assert all(bounds[k][1] <= bounds[k + 1][0] + 1e-9 for k in range(len(bounds) - 1))
