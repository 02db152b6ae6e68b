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


SPECIALS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|de|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
]
NUM_TIMESTAMPS = 6


def tiny_whisper_tokenizer():
    """Byte-level BPE with two merges and Whisper's special tokens: ``(tokenizer, special token -> id)``."""
    from transformers import WhisperTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = {c: i for i, c in enumerate(bytes_to_unicode().values())}
    merges = [("Ġ", "t"), ("h", "e")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    for token in SPECIALS:
        vocab[token] = len(vocab)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges)
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIALS[1:]})
    return tokenizer, {t: vocab[t] for t in SPECIALS}


def build_tiny_whisper_asr(out: Path, seed: int = 0, ct2: bool = False, say: str | None = None) -> Path:
    """Save a tiny random multilingual-style ``WhisperForConditionalGeneration`` (a recogniser) with its tokenizer,
    feature extractor and generation config into ``out``; ``ct2``: its CTranslate2 weights in ``out/ctranslate2``.

    ``say``: a token (e.g. ``"Ġt"``) the decoder then emits at every step, whatever it hears, in both backends
    (a random decoder's next-token distribution is nearly flat, so the two backends' numerics would pick different
    tokens, some of them bytes that make no letter): a recogniser that always hears words, for pipeline tests."""
    from transformers import GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    out.mkdir(parents=True, exist_ok=True)
    tokenizer, ids = tiny_whisper_tokenizer()
    eot = ids["<|endoftext|>"]
    config = WhisperConfig(
        vocab_size=len(tokenizer) + NUM_TIMESTAMPS,
        num_mel_bins=80,
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_source_positions=1500,
        max_target_positions=32,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=ids["<|startoftranscript|>"],
        suppress_tokens=[1, 2],
        begin_suppress_tokens=[220, eot],
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():  # make layer norms and biases non-trivial so a mix-up would show
        for name, param in model.named_parameters():
            if "layer_norm" in name or name.endswith("bias"):
                param.add_(0.1 * torch.randn_like(param))
        if say is not None:  # the output layer is the embeddings: make one row win every step
            row = model.model.decoder.embed_tokens.weight[tokenizer.convert_tokens_to_ids(say)]
            row.copy_(4.0 * row / row.norm())
            model.model.decoder.layer_norm.weight.zero_()
            model.model.decoder.layer_norm.bias.copy_(4.0 * row / row.norm())
    generation = GenerationConfig.from_model_config(config)
    generation.is_multilingual = True  # as a real multilingual checkpoint's generation_config.json says
    generation._from_model_config = False  # else loading rebuilds it from config.json and drops the languages
    generation.lang_to_id = {"<|en|>": ids["<|en|>"], "<|de|>": ids["<|de|>"]}
    generation.task_to_id = {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    generation.alignment_heads = [[1, 0], [1, 1]]
    model.generation_config = generation
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    WhisperFeatureExtractor().save_pretrained(out)
    if ct2:
        import ctranslate2

        converter = ctranslate2.converters.TransformersConverter(str(out), copy_files=["tokenizer.json"])
        converter.convert(str(out / "ctranslate2"), quantization="float32", force=True)
    return out


def write_compressed_audio(path: Path, wave, rate: int) -> Path:
    """Encode a mono float waveform as browsers and phones do, with PyAV: ``.webm`` -> Opus, ``.m4a``/``.mp4`` -> AAC."""
    import av
    import numpy as np

    container_format, codec = {".webm": ("webm", "libopus"), ".m4a": ("mp4", "aac"), ".mp4": ("mp4", "aac")}[
        Path(path).suffix
    ]
    pcm = (np.clip(np.asarray(wave, dtype=np.float32), -1, 1) * 32767).astype(np.int16)[None, :]
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return Path(path)
