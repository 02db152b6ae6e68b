"""Tiny random-weight models saved to a folder, shared by the feature and pipeline tests.

They load through the same ``from_pretrained`` code paths as the real Hub models (Whisper, wav2vec2 CTC with a
character vocabulary, BERT for Sentence-BERT) but are small enough to build in a test's ``tmp_path``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

CTC_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ'")
BERT_WORDS = [
    "what",
    "is",
    "your",
    "name",
    "where",
    "do",
    "you",
    "live",
    "describe",
    "the",
    "town",
    "how",
    "old",
    "are",
    "##s",
    "?",
    ".",
    "favourite",
    "food",
]


def tiny_whisper_config(**kwargs):
    """A 16-wide, 2-layer Whisper config; init_std 0.2 so the random encoder output clearly depends on the audio."""
    from transformers import WhisperConfig

    defaults = {
        "vocab_size": 64, "num_mel_bins": 80, "d_model": 16, "encoder_layers": 2, "decoder_layers": 1, "encoder_attention_heads": 2,
        "decoder_attention_heads": 2, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32, "max_source_positions": 1500,
        "max_target_positions": 16, "pad_token_id": 0, "bos_token_id": 0, "eos_token_id": 0, "decoder_start_token_id": 1,
        "init_std": 0.2,
    }  # fmt: skip
    defaults.update(kwargs)
    return WhisperConfig(**defaults)


def build_tiny_whisper(folder: Path, seed: int = 0) -> Path:
    """Save a tiny random ``WhisperModel`` and a ``WhisperFeatureExtractor`` into ``folder``."""
    from transformers import WhisperFeatureExtractor, WhisperModel

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    WhisperModel(tiny_whisper_config()).save_pretrained(folder)
    WhisperFeatureExtractor().save_pretrained(folder)
    return folder


def build_tiny_ctc(folder: Path, vocab=CTC_VOCAB, conv_stride=(5, 8, 8), seed: int = 0) -> str:
    """Save a tiny random ``Wav2Vec2ForCTC`` + ``Wav2Vec2Processor`` (character vocabulary) into ``folder``."""
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}))
    tokenizer = Wav2Vec2CTCTokenizer(
        str(folder / "vocab.json"), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )
    config = Wav2Vec2Config(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        conv_dim=(8,) * len(conv_stride), conv_stride=conv_stride, conv_kernel=(10,) + (8,) * (len(conv_stride) - 1),
        feat_extract_norm="layer", do_stable_layer_norm=True, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, pad_token_id=0, mask_time_prob=0.0,
    )  # fmt: skip
    torch.manual_seed(seed)
    Wav2Vec2ForCTC(config).eval().save_pretrained(folder)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return str(folder)


def build_tiny_bert(folder: Path, words=BERT_WORDS, seed: int = 0) -> Path:
    """Save a tiny random ``BertModel`` with a WordPiece vocabulary of ``words`` into ``folder``."""
    from transformers import BertConfig, BertModel, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n", encoding="utf-8"
    )
    BertTokenizer.from_pretrained(str(folder)).save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=5 + len(words), hidden_size=24, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=48, max_position_embeddings=64,
    )  # fmt: skip
    BertModel(config).save_pretrained(folder)
    return folder
