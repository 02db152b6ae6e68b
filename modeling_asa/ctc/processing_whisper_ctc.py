# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Character vocabulary, transcript normalisation and the processor files of the Whisper CTC aligners.

A ``whisper_ctc`` folder pairs a ``WhisperFeatureExtractor`` (saved with ``return_attention_mask=True``, so
padded batches carry each answer's real length) with a ``Wav2Vec2CTCTokenizer`` over the character
vocabulary :data:`CTC_VOCABULARY`: ``<pad>`` (the CTC blank, id 0), ``<unk>``, ``|`` (word delimiter), the
apostrophe and ``A``-``Z``, i.e. the conventions of English wav2vec2 CTC checkpoints such as
``facebook/wav2vec2-base-960h``. Both are wrapped in a ``Wav2Vec2Processor``, which ``AutoProcessor`` loads.

Example:
    >>> normalize_transcript("Don't stop - it's 5 o'clock!")
    "DON'T STOP IT'S O'CLOCK"
"""

from __future__ import annotations

import json
import os
import string
import tempfile

from ..text import normalize_text

CTC_VOCABULARY: list[str] = ["<pad>", "<unk>", "|", "'", *string.ascii_uppercase]
"""Token strings indexed by id: blank ``<pad>`` = 0, ``<unk>`` = 1, delimiter ``|`` = 2, ``'`` = 3, ``A``-``Z`` = 4-29."""


def normalize_transcript(text: str) -> str:
    """The CTC aligners' transcript: :func:`modeling_asa.text.normalize_text` in upper case (``A``-``Z``, inner
    apostrophes, single spaces; accents folded, quotes and digits dropped), the project's one normaliser.

    Args:
        text: Any transcript.

    Returns:
        The normalised transcript (``""`` when nothing is left).
    """
    return normalize_text(text, "upper")


def build_ctc_tokenizer():
    """Return a ``Wav2Vec2CTCTokenizer`` over :data:`CTC_VOCABULARY`.

    Returns:
        The tokenizer (``pad_token="<pad>"``, ``unk_token="<unk>"``, ``word_delimiter_token="|"``, upper case).

    Example:
        >>> tok = build_ctc_tokenizer()
        >>> tok("IT'S OK").input_ids
        [12, 23, 3, 22, 2, 18, 14]
    """
    from transformers import Wav2Vec2CTCTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = os.path.join(tmp, "vocab.json")
        with open(vocab_file, "w", encoding="utf-8") as handle:
            json.dump({tok: i for i, tok in enumerate(CTC_VOCABULARY)}, handle)
        return Wav2Vec2CTCTokenizer(
            vocab_file,
            bos_token=None,
            eos_token=None,
            unk_token="<unk>",
            pad_token="<pad>",
            word_delimiter_token="|",
            do_lower_case=False,
        )


def build_whisper_feature_extractor(whisper_name_or_path: str | os.PathLike | None = None):
    """Return a ``WhisperFeatureExtractor`` that returns attention masks.

    Args:
        whisper_name_or_path: Folder of the Whisper checkpoint whose ``preprocessor_config.json`` to copy
            (mel bins, hop), or ``None`` for the default 80-bin extractor.

    Returns:
        The feature extractor, with ``return_attention_mask=True``.
    """
    from transformers import WhisperFeatureExtractor

    if whisper_name_or_path is None:
        extractor = WhisperFeatureExtractor()
    else:
        extractor = WhisperFeatureExtractor.from_pretrained(os.fspath(whisper_name_or_path))
    extractor.return_attention_mask = True
    return extractor


def build_ctc_processor(whisper_name_or_path: str | os.PathLike | None = None):
    """Return the ``Wav2Vec2Processor`` (Whisper feature extractor + character CTC tokenizer) of an aligner folder.

    Args:
        whisper_name_or_path: See :func:`build_whisper_feature_extractor`.

    Returns:
        A ``Wav2Vec2Processor``; ``save_pretrained(folder)`` writes every file ``AutoProcessor``,
        ``AutoFeatureExtractor`` and ``AutoTokenizer`` need.
    """
    from transformers import Wav2Vec2Processor

    return Wav2Vec2Processor(
        feature_extractor=build_whisper_feature_extractor(whisper_name_or_path), tokenizer=build_ctc_tokenizer()
    )


__all__ = [
    "CTC_VOCABULARY",
    "build_ctc_processor",
    "build_ctc_tokenizer",
    "build_whisper_feature_extractor",
    "normalize_transcript",
]
