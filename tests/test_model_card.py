"""Model cards: Hub metadata, settings and results; machine-specific paths are not published."""

from modeling_asa import AsaHybridConfig
from modeling_asa.model_card import render_model_card


def test_card_lists_results_and_hides_absolute_local_paths():
    config = AsaHybridConfig(
        num_labels=3,
        acoustic_encoder="/home/someone/models/whisper-base",
        context_encoder="sentence-transformers/all-MiniLM-L6-v2",
        ctc_model=".cache/models/whisper-tiny.en-ctc",
    )
    results = {"dev": {"accuracy": 0.5, "macro_f1": 0.4, "qwk": 0.3}, "test_known": {"accuracy": 0.6, "qwk": 0.2}}
    card = render_model_card(config, results=results, features_metadata={"corpus_name": "my-corpus"}, num_train=10)
    assert card.startswith("---\nlibrary_name: transformers\n")
    assert "/home/someone" not in card
    assert "local folder .../models/whisper-base" in card
    assert "`sentence-transformers/all-MiniLM-L6-v2`" in card and "`.cache/models/whisper-tiny.en-ctc`" in card
    assert "| dev | 0.500 | 0.400 | 0.300 |" in card
    assert "split: test_known" in card and "value: 0.2000" in card
    assert "Training rows: 10." in card


def test_card_lists_only_the_inputs_of_the_model_branches():
    content_only = AsaHybridConfig(num_labels=3, branches=["content"], ctc_model="my/aligner", asr_model="my/asr")
    card = render_model_card(content_only)
    assert "| acoustic states |" in card and "| question token states |" in card
    assert "my/aligner" not in card and "my/asr" not in card and "spaCy" not in card and "n-gram LM" not in card
    words = AsaHybridConfig(num_labels=3, branches=["language_use"], ctc_model="my/aligner", asr_model="my/asr")
    card = render_model_card(words)
    assert "| words (transcript, alignment) |" in card and "`my/asr`" in card and "`my/aligner`" in card
    assert "| language use | spaCy" in card and "acoustic states" not in card and "delivery posteriors" not in card


def test_card_says_how_the_checkpoint_was_chosen():
    from types import SimpleNamespace

    config = AsaHybridConfig(num_labels=3)
    chosen = SimpleNamespace(load_best_model_at_end=True, metric_for_best_model="qwk", num_train_epochs=10)
    card = render_model_card(config, training_args=chosen)
    assert "10 epochs" in card and "checkpoint chosen on the `dev` split by `qwk`" in card
    final = SimpleNamespace(load_best_model_at_end=False, metric_for_best_model="qwk", num_train_epochs=10)
    card = render_model_card(config, training_args=final)
    assert "the final model (no checkpoint chosen; `dev` is only reported)" in card and "by `qwk`" not in card


def test_card_states_the_models_own_intended_use_and_aspects():
    from modeling_asa.model_card import GENERIC_USE

    config = AsaHybridConfig(aspects=["content", "delivery"])
    results = {"test_known": {"accuracy": 0.5, "macro_f1": 0.4, "qwk": 0.6, "pcc": 0.7, "aspect_content_qwk": 0.55,
                              "aspect_content_pcc": 0.65, "aspect_delivery_qwk": 0.45, "aspect_delivery_pcc": 0.5}}  # fmt: skip
    card = render_model_card(config, results=results, intended_use="Synthetic voices only; not for real test takers.")
    assert "## Intended use and limits\n\nSynthetic voices only; not for real test takers." in card
    assert "| content | 0.550 | 0.650 |" in card and "| delivery | 0.450 | 0.500 |" in card  # per-aspect metrics
    assert GENERIC_USE in render_model_card(AsaHybridConfig())
