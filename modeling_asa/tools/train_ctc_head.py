# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Train the CTC head of a Whisper CTC aligner on a read-speech corpus, with the Whisper encoder frozen.

Two stages, each resumable:

1. **cache**: run the frozen Whisper encoder (the same ``WhisperEncoderForCTC.encode`` path the aligner uses
   at inference) on every training and dev response and store its trimmed states, float16, one
   ``<response_id>.npy`` per response under ``--states-dir`` (default ``.cache/ctc_states/<whisper folder
   name>/`` in the project folder, ``<name>-trimmed/`` with ``--acoustic-window trimmed``). Files are written
   atomically; an interrupted run continues with the responses still missing. ``cache_info.json`` records the encoder and dtype, and a folder cached with other
   settings is refused.
2. **train**: train the head (:class:`~modeling_asa.ctc.WhisperCtcHead`) with CTC loss on the cached states
   of the training speakers, evaluate greedy CER on the dev speakers after every epoch and keep the epoch
   with the lowest dev CER. Writes ``--output-dir`` (default ``ctc_heads/<name>/`` in the project folder):
   ``head.safetensors`` (the ``head.*`` weights of the model, float32), ``head_config.json`` (the head's config
   fields), ``split.json`` (held-out, dev and training speakers) and ``training_record.json`` (data, settings, seed,
   per-epoch dev figures, timings, package versions).

Data: the transcript of a response is the text of its question (``questions.jsonl``), upper-cased, every
character other than A-Z and the apostrophe removed (speechocean762 is read speech: the prompt is what was
read). A fraction of the speakers (``--heldout-fraction``, drawn with ``--split-seed``) is held out for
``scripts/evaluate_ctc_aligner.py`` and never cached or trained on; a fraction of the others
(``--dev-fraction``) is the dev subset used for model selection.

The command line is ``scripts/train_ctc_head.py``, a thin wrapper over :func:`main` that passes the checkout as
the project folder and the shared corpus as the default ``--corpus``.

Example:
    nice -n 10 python scripts/train_ctc_head.py --whisper .cache/models/whisper-tiny.en \\
        --name whisper-tiny.en-ctc --stage cache
    nice -n 10 python scripts/train_ctc_head.py --whisper .cache/models/whisper-tiny.en \\
        --name whisper-tiny.en-ctc --stage train
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from modeling_asa.audio import load_audio
from modeling_asa.ctc import (
    CTC_VOCABULARY,
    WhisperCtcConfig,
    WhisperCtcHead,
    WhisperEncoderForCTC,
    build_ctc_tokenizer,
    build_whisper_feature_extractor,
    ctc_loss,
    init_head_weights,
)
from modeling_asa.ctc.configuration_whisper_ctc import ACOUSTIC_WINDOWS
from modeling_asa.ctc.data import (
    ReadSpeechExample,
    SpeakerSplit,
    char_error_rate,
    load_read_speech_corpus,
    split_speakers,
    word_error_rate,
)
from modeling_asa.features.alignment import SimpleVocabulary, greedy_transcribe
from modeling_asa.versions import package_versions

logger = logging.getLogger(__name__)

HEAD_FIELDS = ("vocab_size", "pad_token_id", "head_type", "head_hidden_size", "head_kernel_size", "head_lstm_size",
               "head_dropout", "head_layer_norm", "ctc_loss_reduction", "ctc_zero_infinity",
               "acoustic_window")  # fmt: skip
"""The config fields written to ``head_config.json``."""


class TrainCtcHeadError(RuntimeError):
    """Training cannot go on (a missing or mismatching input; one-line message naming the file)."""


@dataclass
class TrainCtcHeadArguments:
    """Command-line arguments (``--help`` lists them).

    ``corpus`` has no default here: :func:`parse_args` takes it from its ``default_corpus`` argument (the script
    passes the shared corpus of the checkout), else ``--corpus`` is required.
    """

    whisper: str = field(metadata={"help": "Converted Whisper folder (scripts/convert_ct2_whisper.py output)."})
    name: str = field(metadata={"help": "Aligner name, e.g. whisper-tiny.en-ctc (output folder ctc_heads/<name>)."})
    corpus: str | None = field(default=None, metadata={"help": "Read-speech corpus folder (metadata.csv, ...)."})
    stage: str = field(default="all", metadata={"help": "cache, train or all (cache then train)."})
    states_dir: str | None = field(
        default=None, metadata={"help": "Encoder-state cache; default .cache/ctc_states/<whisper folder name>."}
    )
    output_dir: str | None = field(default=None, metadata={"help": "Output folder; default ctc_heads/<name>."})
    heldout_fraction: float = field(default=0.2, metadata={"help": "Fraction of speakers held out for evaluation."})
    dev_fraction: float = field(default=0.1, metadata={"help": "Fraction of the other speakers used as dev subset."})
    split_seed: int = field(default=0, metadata={"help": "Seed of the speaker split."})
    max_train_clips: int | None = field(
        default=None, metadata={"help": "Use at most this many training clips (random, split seed); dev is whole."}
    )
    encoder_dtype: str = field(
        default="bfloat16",
        metadata={"help": "Encoder dtype while caching: bfloat16 (fast on CPUs with AMX/AVX512-BF16) or float32."},
    )
    encoder_batch_size: int = field(default=8, metadata={"help": "Responses per encoder forward pass."})
    acoustic_window: str = field(
        default="full",
        metadata={"help": "full (the encoder reads whole 30 s windows) or trimmed (only the answer's own frames, as "
                  "asa-prepare --acoustic-window trimmed runs it): the states the head is trained on, recorded in "
                  "head_config.json so the built aligner reads the same window."},
    )  # fmt: skip
    head_type: str = field(default="conv_bilstm", metadata={"help": "linear, conv or conv_bilstm."})
    head_hidden_size: int = field(default=256, metadata={"help": "Convolution channels of the head."})
    head_kernel_size: int = field(default=5, metadata={"help": "Convolution kernel (frames, odd)."})
    head_lstm_size: int = field(default=128, metadata={"help": "BiLSTM units per direction."})
    head_dropout: float = field(default=0.2, metadata={"help": "Dropout inside the head."})
    head_layer_norm: bool = field(default=False, metadata={"help": "LayerNorm on the encoder states first."})
    epochs: int = field(default=10, metadata={"help": "Training epochs (the best dev-CER epoch is kept)."})
    learning_rate: float = field(default=2e-3, metadata={"help": "Peak AdamW learning rate."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    warmup_fraction: float = field(default=0.05, metadata={"help": "Linear warm-up, fraction of all steps."})
    batch_size: int = field(default=16, metadata={"help": "Responses per training step."})
    time_mask_prob: float = field(
        default=0.0, metadata={"help": "SpecAugment-style: probability per frame of starting a masked span."}
    )
    time_mask_width: int = field(default=5, metadata={"help": "Width (frames) of each masked span."})
    teacher_head: str | None = field(
        default=None,
        metadata={"help": "Optional trained head folder (head.safetensors + head_config.json) whose frame posteriors "
                  "the new head also learns (frame-level KL distillation), e.g. ctc_heads/whisper-tiny.en-ctc."},
    )  # fmt: skip
    teacher_whisper: str | None = field(default=None, metadata={"help": "Converted Whisper folder of the teacher."})
    teacher_states_dir: str | None = field(
        default=None,
        metadata={
            "help": "Teacher's state cache (same window); default .cache/ctc_states/<teacher whisper name>[-trimmed]."
        },
    )
    distill_weight: float = field(default=1.0, metadata={"help": "Weight of the distillation loss."})
    seed: int = field(default=0, metadata={"help": "Seed of head initialisation, shuffling and dropout."})
    threads: int = field(default=2, metadata={"help": "torch.set_num_threads."})
    log_file: str | None = field(default=None, metadata={"help": "Also log to this file."})


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def states_folder_name(whisper: str | Path, acoustic_window: str) -> str:
    """Default state-cache folder name: the Whisper folder's name, with ``-trimmed`` for trimmed windows."""
    name = Path(whisper).resolve().name
    return name if acoustic_window == "full" else f"{name}-{acoustic_window}"


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def encoder_fingerprint(whisper: str | Path) -> dict[str, object]:
    """Identify a converted Whisper folder: its config fields and the sha256 of its config and provenance files."""
    folder = Path(whisper)
    info: dict[str, object] = {"whisper": str(folder.resolve()), "whisper_name": folder.resolve().name}
    for name in ("config.json", "ct2_conversion.json"):
        path = folder / name
        if path.is_file():
            info[f"{name}_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    conversion = folder / "ct2_conversion.json"
    if conversion.is_file():
        info["conversion"] = json.loads(conversion.read_text())
    return info


def select_examples(
    examples: list[ReadSpeechExample], split: SpeakerSplit, max_train_clips: int | None
) -> tuple[list[ReadSpeechExample], list[ReadSpeechExample]]:
    """Training and dev examples of ``split`` (training subsampled to ``max_train_clips`` with the split seed)."""
    train = [e for e in examples if e.speaker_id in set(split.train_speakers)]
    dev = [e for e in examples if e.speaker_id in set(split.dev_speakers)]
    if max_train_clips is not None and max_train_clips < len(train):
        rng = random.Random(split.seed)
        keep = set(rng.sample(range(len(train)), max_train_clips))
        train = [e for i, e in enumerate(train) if i in keep]
    return train, dev


# --------------------------------------------------------------------------------------------
# Stage 1: cache encoder states
# --------------------------------------------------------------------------------------------


def check_cache_info(states_dir: Path, info: dict[str, object]) -> None:
    """Create ``cache_info.json`` or check that the folder was cached with the same encoder and dtype.

    Raises:
        TrainCtcHeadError: When the folder was cached with another encoder, dtype or frame rule.
    """
    path = states_dir / "cache_info.json"
    if path.is_file():
        old = json.loads(path.read_text())
        old.setdefault("acoustic_window", "full")  # caches made before the option existed
        keys = ("config.json_sha256", "encoder_dtype", "frames_rule", "acoustic_window")
        diff = {k: (old.get(k), info.get(k)) for k in keys if old.get(k) != info.get(k)}
        if diff:
            raise TrainCtcHeadError(f"{path}: cached with other settings {diff}; pass another --states-dir")
        return
    states_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=2) + "\n")


def cache_states(args: TrainCtcHeadArguments, examples: list[ReadSpeechExample], states_dir: Path) -> dict:
    """Encode every example not yet cached (stage 1); return timing figures.

    Args:
        args: The arguments (``whisper``, ``encoder_dtype``, ``encoder_batch_size``).
        examples: The responses to cache.
        states_dir: The cache folder (one ``<response_id>.npy`` per response, written atomically).

    Returns:
        ``{"encoded", "seconds", "seconds_per_clip"}``.

    Raises:
        TrainCtcHeadError: On a bad ``--encoder-dtype`` or a cache made with other settings.
    """
    dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32}.get(args.encoder_dtype)
    if dtype is None:
        raise TrainCtcHeadError(f"--encoder-dtype must be bfloat16 or float32, got {args.encoder_dtype!r}")
    padding = (
        "zeros to the 30 s window (max_length)"
        if args.acoustic_window == "full"
        else "zeros to the 30 s window (max_length), encoder run on the answer's own frames only"
    )
    info = {**encoder_fingerprint(args.whisper), "encoder_dtype": args.encoder_dtype,
            "frames_rule": "ceil((n_samples // 160) / 2)", "padding": padding, "acoustic_window": args.acoustic_window,
            "storage": "float16 .npy per response"}  # fmt: skip
    check_cache_info(states_dir, info)
    todo = [e for e in examples if not (states_dir / f"{e.response_id}.npy").is_file()]
    # by length (file size), so a batch pads little and, trimmed, holds few distinct window lengths
    todo.sort(key=lambda e: os.path.getsize(e.path) if os.path.isfile(e.path) else 0)
    logger.info("cache %s: %d responses, %d already cached, %d to encode", states_dir, len(examples),
                len(examples) - len(todo), len(todo))  # fmt: skip
    if not todo:
        return {"encoded": 0, "seconds": 0.0}
    model = WhisperEncoderForCTC.from_whisper(
        args.whisper, dtype=dtype, vocab_size=len(CTC_VOCABULARY), acoustic_window=args.acoustic_window
    )
    extractor = build_whisper_feature_extractor(args.whisper)
    start = time.perf_counter()
    done = 0
    with torch.inference_mode(), tqdm(total=len(todo), desc="encoder states", unit="clip") as bar:
        for i in range(0, len(todo), args.encoder_batch_size):
            batch = todo[i : i + args.encoder_batch_size]
            waves = [load_audio(e.path) for e in batch]
            # Padded to the 30 s window with zeros, as CtcModel does (and as Whisper was trained).
            feats = extractor(waves, sampling_rate=16000, padding="max_length", return_tensors="pt")
            states, _ = model.encode(feats["input_features"].to(dtype), feats["attention_mask"])
            for row, (example, wave) in enumerate(zip(batch, waves)):
                n = int(model._get_feat_extract_output_lengths(len(wave)))
                array = states[row, :n].to(torch.float16).numpy()
                tmp = states_dir / f".{example.response_id}.npy.tmp"
                with open(tmp, "wb") as handle:
                    np.save(handle, array)
                os.replace(tmp, states_dir / f"{example.response_id}.npy")
            done += len(batch)
            bar.update(len(batch))
            if done % (10 * args.encoder_batch_size) < args.encoder_batch_size:
                logger.info("encoded %d/%d (%.2f s/clip)", done, len(todo), (time.perf_counter() - start) / done)
    seconds = time.perf_counter() - start
    logger.info("encoded %d responses in %.1f s (%.3f s/clip)", done, seconds, seconds / max(done, 1))
    return {"encoded": done, "seconds": round(seconds, 1), "seconds_per_clip": round(seconds / max(done, 1), 3)}


# --------------------------------------------------------------------------------------------
# Stage 2: train the head
# --------------------------------------------------------------------------------------------


def load_cached(
    examples: list[ReadSpeechExample], states_dir: Path, tokenizer
) -> list[tuple[str, torch.Tensor, list[int], str]]:
    """(response_id, float16 states, label ids, transcript) of each example.

    Raises:
        TrainCtcHeadError: When an example's states are not cached.
    """
    items = []
    for e in tqdm(examples, desc="load states", unit="clip", leave=False):
        path = states_dir / f"{e.response_id}.npy"
        if not path.is_file():
            raise TrainCtcHeadError(f"{path}: encoder states missing; run --stage cache first")
        items.append((e.response_id, torch.from_numpy(np.load(path)), tokenizer(e.transcript).input_ids, e.transcript))
    return items


def make_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of indices with similar lengths (sorted within pools of 50 batches)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = 50 * batch_size
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: lengths[j])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(items: list, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad states (float32) and labels (-100) of ``indices``."""
    lengths = torch.tensor([items[i][1].shape[0] for i in indices])
    dim = items[indices[0]][1].shape[1]
    states = torch.zeros(len(indices), int(lengths.max()), dim)
    max_label = max(len(items[i][2]) for i in indices)
    labels = torch.full((len(indices), max_label), -100, dtype=torch.long)
    for row, i in enumerate(indices):
        states[row, : lengths[row]] = items[i][1].float()
        labels[row, : len(items[i][2])] = torch.tensor(items[i][2])
    return states, lengths, labels


def time_mask(
    states: torch.Tensor, lengths: torch.Tensor, prob: float, width: int, generator: torch.Generator
) -> torch.Tensor:
    """Replace random spans of ``width`` frames by the row's mean state (SpecAugment-style time masking)."""
    if prob <= 0:
        return states
    batch, frames, _ = states.shape
    starts = torch.rand(batch, frames, generator=generator) < prob
    masked = torch.zeros(batch, frames, dtype=torch.bool)
    for offset in range(width):
        masked[:, offset:] |= starts[:, : frames - offset]
    valid = torch.arange(frames)[None, :] < lengths[:, None]
    mean = (states * valid[..., None]).sum(1, keepdim=True) / lengths[:, None, None]
    return torch.where(masked[..., None], mean.expand_as(states), states)


def evaluate_dev(head: torch.nn.Module, items: list, batch_size: int, blank_id: int) -> dict[str, float]:
    """Dev CTC loss and greedy CER/WER."""
    vocab = SimpleVocabulary(list(CTC_VOCABULARY), blank_id=blank_id, word_delimiter="|", frame_duration=0.02)
    head.eval()
    refs, hyps, losses, weights = [], [], [], []
    order = sorted(range(len(items)), key=lambda i: items[i][1].shape[0])
    with torch.no_grad():
        for k in range(0, len(order), batch_size):
            idx = order[k : k + batch_size]
            states, lengths, labels = collate(items, idx)
            logits = head(states, lengths)
            losses.append(float(ctc_loss(logits, lengths, labels, blank_id, "mean", True)))
            weights.append(len(idx))
            lp = torch.log_softmax(logits, -1).numpy()
            for row, i in enumerate(idx):
                hyps.append(greedy_transcribe(lp[row, : lengths[row]], vocab).text)
                refs.append(items[i][3])
    return {
        "dev_loss": float(np.average(losses, weights=weights)),
        "dev_cer": char_error_rate(refs, hyps),
        "dev_wer": word_error_rate(refs, hyps),
    }


def load_head(folder: Path, whisper: Path) -> WhisperCtcHead:
    """A trained head (``head.safetensors`` + ``head_config.json``) for the encoder of ``whisper``, in eval mode."""
    from safetensors.torch import load_file

    config = WhisperCtcConfig(encoder_config=json.loads((whisper / "config.json").read_text()),
                              **json.loads((folder / "head_config.json").read_text()))  # fmt: skip
    head = WhisperCtcHead(config)
    state = load_file(str(folder / "head.safetensors"))
    head.load_state_dict({k.removeprefix("head."): v for k, v in state.items()})
    return head.eval()


def teacher_log_probs(
    args: TrainCtcHeadArguments, items: list, project_dir: str | os.PathLike | None = None
) -> dict[str, torch.Tensor]:
    """Frame log posteriors (float16) of the teacher head on its own cached states, per response id.

    Args:
        args: The arguments (``teacher_head``, ``teacher_whisper``, ``teacher_states_dir``).
        items: The training items (see :func:`load_cached`).
        project_dir: Folder of the default ``.cache/ctc_states/<teacher whisper name>`` (default: the current
            folder).

    Returns:
        ``{response_id: (frames, vocab) float16 log posteriors}``.

    Raises:
        TrainCtcHeadError: On a missing teacher folder, missing teacher states or a frame-count mismatch.
    """
    whisper = Path(args.teacher_whisper or "")
    if not (whisper / "config.json").is_file():
        raise TrainCtcHeadError(f"--teacher_whisper {whisper}: not a converted Whisper folder")
    states_dir = Path(args.teacher_states_dir) if args.teacher_states_dir else (
        _project_dir(project_dir) / ".cache" / "ctc_states" / states_folder_name(whisper, args.acoustic_window))  # fmt: skip
    head = load_head(Path(args.teacher_head), whisper)
    out = {}
    with torch.no_grad():
        for response_id, states, _, _ in tqdm(items, desc="teacher posteriors", unit="clip", leave=False):
            path = states_dir / f"{response_id}.npy"
            if not path.is_file():
                raise TrainCtcHeadError(f"{path}: teacher states missing (run the teacher's --stage cache)")
            teacher_states = torch.from_numpy(np.load(path)).float()
            if teacher_states.shape[0] != states.shape[0]:
                raise TrainCtcHeadError(
                    f"{path}: {teacher_states.shape[0]} teacher frames for {states.shape[0]} frames"
                )
            logits = head(teacher_states[None], torch.tensor([teacher_states.shape[0]]))[0]
            out[response_id] = torch.log_softmax(logits, -1).to(torch.float16)
    return out


def distillation_loss(logits: torch.Tensor, teacher: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean over real frames of ``KL(teacher || student)`` between frame posteriors.

    Args:
        logits: ``(batch, frames, vocab)`` student logits.
        teacher: ``(batch, frames, vocab)`` teacher log posteriors (padding frames ignored).
        lengths: ``(batch,)`` real frames.

    Returns:
        Scalar loss.
    """
    student = torch.log_softmax(logits.float(), -1)
    kl = (teacher.exp() * (teacher - student)).sum(-1)
    mask = torch.arange(logits.shape[1])[None, :] < lengths[:, None]
    return (kl * mask).sum() / mask.sum()


def train_head(
    args: TrainCtcHeadArguments,
    train_items: list,
    dev_items: list,
    config: WhisperCtcConfig,
    teacher: dict[str, torch.Tensor] | None = None,
) -> dict:
    """Train the head (CTC loss, plus distillation from ``teacher`` posteriors when given) (stage 2).

    Args:
        args: The arguments (optimisation, augmentation and distillation settings, ``seed``).
        train_items: Training items (see :func:`load_cached`).
        dev_items: Dev items, evaluated after every epoch.
        config: The aligner config (head fields, blank id, CTC loss settings).
        teacher: Teacher log posteriors per response id (see :func:`teacher_log_probs`), or ``None``.

    Returns:
        ``{"state": best head state dict (lowest dev CER, keys prefixed "head."), "best": its epoch record,
        "history": per-epoch records, "parameters": head parameter count, "seconds": training time}``.
    """
    set_seed(args.seed)
    head = WhisperCtcHead(config)
    head.apply(init_head_weights)  # as WhisperEncoderForCTC initialises its head
    n_params = sum(p.numel() for p in head.parameters())
    logger.info("head %s: %d parameters (%.2f MB float32)", config.head_type, n_params, n_params * 4 / 1e6)
    optimizer = torch.optim.AdamW(head.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    rng = random.Random(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    lengths = [item[1].shape[0] for item in train_items]
    steps_per_epoch = math.ceil(len(train_items) / args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = max(1, int(args.warmup_fraction * total))

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    history = []
    best = {"dev_cer": float("inf")}
    best_state = None
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        head.train()
        running, count = 0.0, 0
        for indices in tqdm(make_batches(lengths, args.batch_size, rng), desc=f"epoch {epoch}", leave=False):
            states, lens, labels = collate(train_items, indices)
            states = time_mask(states, lens, args.time_mask_prob, args.time_mask_width, generator)
            logits = head(states, lens)
            loss = ctc_loss(logits, lens, labels, config.pad_token_id, config.ctc_loss_reduction,
                            config.ctc_zero_infinity)  # fmt: skip
            if teacher is not None:
                target = torch.zeros(logits.shape)
                for row, i in enumerate(indices):
                    target[row, : lens[row]] = teacher[train_items[i][0]].float()
                loss = loss + args.distill_weight * distillation_loss(logits, target, lens)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 5.0)
            optimizer.step()
            scheduler.step()
            running += float(loss) * len(indices)
            count += len(indices)
        record = {"epoch": epoch, "train_loss": running / count, **evaluate_dev(head, dev_items, 32, config.pad_token_id),
                  "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
        history.append(record)
        logger.info("epoch %d: train loss %.3f, dev loss %.3f, dev CER %.4f, dev WER %.4f (%.0f s)", epoch,
                    record["train_loss"], record["dev_loss"], record["dev_cer"], record["dev_wer"], record["seconds"])  # fmt: skip
        if record["dev_cer"] < best["dev_cer"]:
            best = record
            best_state = {f"head.{k}": v.detach().clone().contiguous() for k, v in head.state_dict().items()}
    return {"state": best_state, "best": best, "history": history, "parameters": n_params,
            "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def _project_dir(project_dir: str | os.PathLike | None) -> Path:
    """The folder holding the default ``.cache/ctc_states/`` and ``ctc_heads/`` (default: the current folder)."""
    return Path(project_dir) if project_dir is not None else Path.cwd()


def parse_args(argv: list[str] | None = None, default_corpus: str | os.PathLike | None = None) -> TrainCtcHeadArguments:
    """Parse the command line with ``HfArgumentParser``.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        default_corpus: Default of ``--corpus`` (shown by ``--help``); with ``None``, ``--corpus`` is required.

    Returns:
        The parsed arguments.
    """
    from transformers import HfArgumentParser

    parser = HfArgumentParser(TrainCtcHeadArguments, description=__doc__.split("\n\n")[0])
    if default_corpus is not None:
        parser.set_defaults(corpus=str(default_corpus))
    (args,) = parser.parse_args_into_dataclasses(args=argv)
    if args.stage not in ("cache", "train", "all"):
        parser.error(f"--stage must be cache, train or all, got {args.stage!r}")
    if args.corpus is None:
        parser.error("--corpus is required (no default corpus)")
    return args


def main(
    argv: list[str] | None = None,
    default_corpus: str | os.PathLike | None = None,
    project_dir: str | os.PathLike | None = None,
) -> int:
    """Command-line entry point: cache the encoder states and/or train the head (see ``--help``).

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).
        default_corpus: Default of ``--corpus`` (see :func:`parse_args`).
        project_dir: Folder of the default ``--states_dir`` (``.cache/ctc_states/<whisper folder name>``) and
            ``--output_dir`` (``ctc_heads/<name>``); default: the current folder. The script passes the checkout.

    Returns:
        0 on success, 1 when an input is missing or does not match.
    """
    args = parse_args(argv, default_corpus=default_corpus)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if args.log_file:
        Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log_file))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers)
    torch.set_num_threads(args.threads)
    try:
        return _run(args, _project_dir(project_dir))
    except TrainCtcHeadError as err:
        logger.error("%s", err)
        return 1


def _run(args: TrainCtcHeadArguments, project_dir: Path) -> int:
    """The stages of :func:`main` (logging and threads already set up).

    Raises:
        TrainCtcHeadError: When an input is missing or does not match.
    """
    whisper = Path(args.whisper)
    if not (whisper / "config.json").is_file():
        raise TrainCtcHeadError(f"{whisper}: not a converted Whisper folder (run scripts/convert_ct2_whisper.py first)")
    if args.acoustic_window not in ACOUSTIC_WINDOWS:
        raise TrainCtcHeadError(
            f"--acoustic-window must be one of {list(ACOUSTIC_WINDOWS)}, got {args.acoustic_window!r}"
        )
    states_dir = (
        Path(args.states_dir)
        if args.states_dir
        else project_dir / ".cache" / "ctc_states" / states_folder_name(whisper, args.acoustic_window)
    )
    output_dir = Path(args.output_dir) if args.output_dir else project_dir / "ctc_heads" / args.name

    examples = load_read_speech_corpus(args.corpus)
    split = split_speakers([e.speaker_id for e in examples], args.heldout_fraction, args.dev_fraction, args.split_seed)
    train, dev = select_examples(examples, split, args.max_train_clips)
    logger.info("%d responses, %d speakers: %d held out, %d dev (%d clips), %d train (%d clips used)",
                len(examples), len({e.speaker_id for e in examples}), len(split.heldout_speakers),
                len(split.dev_speakers), len(dev), len(split.train_speakers), len(train))  # fmt: skip
    cache_report = {}
    if args.stage in ("cache", "all"):
        cache_report = cache_states(args, train + dev, states_dir)
    if args.stage == "cache":
        return 0
    info_path = states_dir / "cache_info.json"
    if info_path.is_file():
        cached_window = json.loads(info_path.read_text()).get("acoustic_window", "full")
        if cached_window != args.acoustic_window:
            raise TrainCtcHeadError(
                f"{info_path}: states cached with --acoustic-window {cached_window}, training asked for "
                f"{args.acoustic_window}; pass the matching --acoustic-window or another --states-dir"
            )

    set_seed(args.seed)
    config = WhisperCtcConfig(
        encoder_config=json.loads((whisper / "config.json").read_text()),
        vocab_size=len(CTC_VOCABULARY),
        pad_token_id=0,
        head_type=args.head_type,
        head_hidden_size=args.head_hidden_size,
        head_kernel_size=args.head_kernel_size,
        head_lstm_size=args.head_lstm_size,
        head_dropout=args.head_dropout,
        head_layer_norm=args.head_layer_norm,
        acoustic_window=args.acoustic_window,
    )
    tokenizer = build_ctc_tokenizer()
    train_items = load_cached(train, states_dir, tokenizer)
    dev_items = load_cached(dev, states_dir, tokenizer)
    teacher = teacher_log_probs(args, train_items, project_dir) if args.teacher_head else None
    result = train_head(args, train_items, dev_items, config, teacher)

    from safetensors.torch import save_file

    output_dir.mkdir(parents=True, exist_ok=True)
    save_file(result["state"], str(output_dir / "head.safetensors"), metadata={"format": "pt", "name": args.name})
    head_config = {k: getattr(config, k) for k in HEAD_FIELDS}
    (output_dir / "head_config.json").write_text(json.dumps(head_config, indent=2) + "\n")
    split.to_json(output_dir / "split.json", corpus=str(Path(args.corpus).resolve()),
                  train_clips_used=sorted(e.response_id for e in train))  # fmt: skip
    record = {
        "name": args.name,
        "arguments": asdict(args),
        "encoder": encoder_fingerprint(whisper),
        "data": {
            "corpus": "speechocean762 (Zhang et al., 2021, CC BY 4.0), train part as in the shared corpus folder",
            "transcripts": "question text (read prompt), upper-cased, characters other than A-Z and ' removed",
            "speakers": {
                "heldout": len(split.heldout_speakers),
                "dev": len(split.dev_speakers),
                "train": len(split.train_speakers),
            },
            "clips": {"train": len(train), "dev": len(dev)},
            "train_audio_hours": round(sum(item[1].shape[0] for item in train_items) * 0.02 / 3600, 3),
        },
        "cache": cache_report,
        "distillation": None
        if not args.teacher_head
        else {
            "teacher_head": args.teacher_head,
            "teacher_head_sha256": hashlib.sha256(
                (Path(args.teacher_head) / "head.safetensors").read_bytes()
            ).hexdigest(),
            "teacher_whisper": args.teacher_whisper,
            "weight": args.distill_weight,
            "loss": "CTC + weight * mean over frames of KL(teacher posteriors || head posteriors), training clips only",
        },
        "head_parameters": result["parameters"],
        "head_file_bytes": (output_dir / "head.safetensors").stat().st_size,
        "best_epoch": result["best"],
        "history": result["history"],
        "training_seconds": result["seconds"],
        "versions": package_versions(("torch", "transformers", "numpy", "ctc-segmentation")),
        "cpu_threads": args.threads,
    }
    (output_dir / "training_record.json").write_text(json.dumps(record, indent=2) + "\n")
    logger.info("best epoch %d: dev CER %.4f, WER %.4f; wrote %s (%d bytes head)", result["best"]["epoch"],
                result["best"]["dev_cer"], result["best"]["dev_wer"], output_dir, record["head_file_bytes"])  # fmt: skip
    return 0


__all__ = [
    "HEAD_FIELDS",
    "TrainCtcHeadArguments",
    "TrainCtcHeadError",
    "cache_states",
    "check_cache_info",
    "collate",
    "distillation_loss",
    "encoder_fingerprint",
    "evaluate_dev",
    "load_cached",
    "load_head",
    "main",
    "make_batches",
    "parse_args",
    "select_examples",
    "set_seed",
    "teacher_log_probs",
    "time_mask",
    "train_head",
]
