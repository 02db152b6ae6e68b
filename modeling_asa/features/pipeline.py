# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The cached feature pipeline behind ``asa-prepare``: corpus folder -> features folder.

Stages and what each depends on::

    corpus (metadata.csv, questions.jsonl, audio)  --validate, split-->  responses + splits.csv
    content    Whisper encoder states of the answer        key: acoustic_encoder           (per response, cached)
    questions  Sentence-BERT token states of the question  key: context_encoder            (per question, cached)
    delivery   ASR transcript, CTC-segmentation words,     key: ctc_model, asr_model       (per response, cached)
               prosody, posteriors, ASR confidence
    lm         n-gram LM score per word (cheap)            key: lm + delivery words        (at assembly)
    language   spaCy POS/DEP/morphology one-hots (cheap)   key: spacy_model + words        (at assembly)

Per-response results live in ``FEATURES_DIR/cache/<stage>/<settings-hash>/`` as one ``.npz`` per response (or a
``.problem.json`` when the response failed), written atomically. A response is recomputed only when its cache
entry is missing or was made from a different audio file or transcript, so an interrupted run resumes where it
stopped, a changed encoder recomputes only its own stage, and a re-run with the same inputs and settings is a no-op.
Under ``accelerate launch`` each process takes every ``num_processes``-th response; the main process assembles.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..data import assign_splits, load_corpus, save_assignment
from ..versions import package_versions
from .audio import AudioError, load_audio
from .delivery import DELIVERY_FIELDS, DeliveryExtractor, fit_normalizer
from .store import DATASET_DIR, FEATURES_METADATA, FORMAT_VERSION, QUESTIONS_DIR

logger = logging.getLogger(__name__)

PIPELINE_VERSION = 1
STAGES = ("content", "delivery", "language_use")
LM_FIELD = DELIVERY_FIELDS.index("lm_log10_prob")
PROBLEMS_FILE = "problems.csv"
SPLITS_FILE = "splits.csv"


class PipelineError(RuntimeError):
    """The pipeline cannot produce a usable features folder."""


@dataclass
class PrepareSettings:
    """Settings of one ``asa-prepare`` run (each model argument takes a Hub id or a local folder).

    Args:
        acoustic_encoder: Whisper model for the content stage.
        context_encoder: Sentence-BERT model for the question token states.
        ctc_model: monolingual CTC model (alignment, ``mono_posterior``).
        asr_model: multilingual CTC model (transcript when none is given, ``multi_posterior``, ASR confidence);
            ``None`` uses ``ctc_model`` for ASR and leaves ``multi_posterior`` undefined.
        spacy_model: spaCy pipeline for the language-use one-hots.
        lm: kenlm ARPA or binary LM; ``None`` leaves ``lm_log10_prob`` undefined.
        label_column, rater_rule, classes: how labels are read (see `modeling_asa.data.load_corpus`).
        unknown_questions, unknown_fraction, group_by, seed: the split (see `modeling_asa.data.assign_splits`).
        limit: only the first ``limit`` responses (in ``metadata.csv`` order), for trials.
        device: ``cpu``, ``cuda``, ``cuda:1``...; ``None`` picks the accelerator of this process when present.
        batch_size: responses per forward pass.
        stages: the per-response stages to run (``content``, ``delivery``, ``language_use``).
        strict: stop at the first problem (corpus, model loading or response) instead of reporting and going on.
    """

    acoustic_encoder: str = "openai/whisper-base"
    context_encoder: str = "sentence-transformers/all-MiniLM-L6-v2"
    ctc_model: str = "facebook/wav2vec2-base-960h"
    asr_model: str | None = None
    spacy_model: str = "en_core_web_sm"
    lm: str | None = None
    label_column: str | None = None
    rater_rule: str = "floor"
    classes: list[int] | None = None
    unknown_questions: list[str] | None = None
    unknown_fraction: float | None = None
    group_by: str | None = None
    seed: int = 0
    limit: int | None = None
    device: str | None = None
    batch_size: int = 8
    stages: tuple[str, ...] = STAGES
    strict: bool = False

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown stages {unknown}; valid stages are {list(STAGES)}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")


@dataclass
class Response:
    """One response to process."""

    response_id: str
    question_id: str
    path: str
    transcript: str | None
    fingerprint: str


@dataclass
class PrepareReport:
    """What a run did: responses per split, problems, stages run, whether it was a no-op."""

    output_dir: Path
    num_responses: int = 0
    num_usable: int = 0
    split_counts: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    computed: dict[str, int] = field(default_factory=dict)
    up_to_date: bool = False


# ----------------------------------------------------------------------------------------------------------------
# small helpers

DIGEST_MEMO = "audio_digests.json"


def _hash(obj: Any, length: int = 12) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:length]


def _file_digest(path: str | os.PathLike) -> str:
    """BLAKE2b digest of a file's bytes (about 1 GB/s; the cache key of each response's audio)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _DigestMemo:
    """Audio digests remembered by absolute path, size and mtime, so a no-op run does not re-read every file.

    The digest (not the mtime) stays the cache key; the memo only skips re-hashing a file whose path, size and
    mtime are unchanged. A copied corpus has new paths or times, so its files are hashed again (and match).
    """

    def __init__(self, path: Path):
        self.path = path
        self.changed = False
        try:
            self.entries: dict[str, list] = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):  # a truncated memo costs one re-hash, nothing else
            logger.warning("%s: unreadable digest memo, hashing the audio again", path)
            self.entries = {}

    def digest(self, path: str | os.PathLike) -> str:
        key = os.path.abspath(path)
        stat = os.stat(key)
        known = self.entries.get(key)
        if known is not None and known[:2] == [stat.st_size, stat.st_mtime_ns]:
            return known[2]
        digest = _file_digest(key)
        self.entries[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        if self.changed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(self.entries))
            os.replace(tmp, self.path)
            self.changed = False


_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def _safe_name(key: str) -> str:
    """A file name for an id: the id itself when it is safe, else a readable prefix plus a hash."""
    if _SAFE.match(key) and not key.startswith("."):
        return key
    return re.sub(r"[^A-Za-z0-9_-]", "_", key)[:40] + "-" + _hash(key, 10)


def _model_identity(name_or_path: str | None) -> Any:
    """What identifies a model: its id, plus size/mtime of its files when it is a local folder."""
    if name_or_path is None:
        return None
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix in {".json", ".safetensors", ".bin", ".txt"}
        )
        return {"path": str(path.resolve()), "files": [(p.name, p.stat().st_size) for p in files]}
    if path.is_file():
        return {"path": str(path.resolve()), "size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns}
    return str(name_or_path)


class StageCache:
    """Per-item results of one stage under one settings hash, one atomic file per item."""

    def __init__(self, root: Path, stage: str, key: dict[str, Any]):
        self.stage = stage
        self.key = key
        self.dir = root / "cache" / stage / _hash(key)
        self.dir.mkdir(parents=True, exist_ok=True)
        settings = self.dir / "settings.json"
        if not settings.exists():
            settings.write_text(json.dumps(key, indent=2, sort_keys=True, default=str))

    def _paths(self, item: str) -> tuple[Path, Path]:
        name = _safe_name(item)
        return self.dir / f"{name}.npz", self.dir / f"{name}.problem.json"

    def status(self, item: str, fingerprint: str) -> str | None:
        """``"done"`` or ``"problem"`` when a result made from the same input exists, else ``None``."""
        data_path, problem_path = self._paths(item)
        for path, status in ((data_path, "done"), (problem_path, "problem")):
            if path.exists():
                try:
                    stored = (
                        json.loads(path.read_text())["fingerprint"]
                        if status == "problem"
                        else str(np.load(path, allow_pickle=False)["fingerprint"])
                    )
                except Exception:  # noqa: BLE001 - a truncated file from a killed run: recompute it
                    logger.warning("%s: unreadable cache entry, recomputing", path)
                    path.unlink(missing_ok=True)
                    continue
                if stored == fingerprint:
                    return status
        return None

    def save(self, item: str, fingerprint: str, **arrays: Any) -> None:
        data_path, problem_path = self._paths(item)
        tmp = data_path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, fingerprint=np.asarray(fingerprint), **arrays)
        os.replace(tmp, data_path)
        problem_path.unlink(missing_ok=True)

    def save_problem(self, item: str, fingerprint: str, reason: str) -> None:
        data_path, problem_path = self._paths(item)
        tmp = problem_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"item": item, "fingerprint": fingerprint, "reason": reason}))
        os.replace(tmp, problem_path)
        data_path.unlink(missing_ok=True)

    def load(self, item: str) -> dict[str, np.ndarray]:
        with np.load(self._paths(item)[0], allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def problem(self, item: str) -> str | None:
        path = self._paths(item)[1]
        return json.loads(path.read_text())["reason"] if path.exists() else None


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_waves(batch: Sequence[Response]) -> tuple[list[Response], list[np.ndarray], dict[str, str]]:
    ok, waves, problems = [], [], {}
    for response in batch:
        try:
            waves.append(load_audio(response.path))
            ok.append(response)
        except AudioError as err:
            problems[response.response_id] = str(err)
    return ok, waves, problems


def _model_type(name_or_path: str | None) -> str | None:
    """``model_type`` from a local model folder's config.json (``None`` for a Hub id or no model)."""
    if name_or_path is None or not (Path(name_or_path) / "config.json").is_file():
        return None
    try:
        return json.loads((Path(name_or_path) / "config.json").read_text()).get("model_type")
    except (OSError, json.JSONDecodeError):
        return None


PIPELINE_PACKAGES = ("modeling_asa", "torch", "transformers", "datasets", "spacy", "ctc-segmentation", "kenlm",
                     "praat-parselmouth", "numpy")  # fmt: skip


def torch_equal(a, b) -> bool:
    import torch

    return a.shape == b.shape and bool(torch.equal(a, b))


# ----------------------------------------------------------------------------------------------------------------
# the pipeline


class FeaturePipeline:
    """Compute and cache every feature stage of a corpus, then assemble a features folder.

    Args:
        corpus_dir: the corpus folder (``metadata.csv``, ``questions.jsonl``, audio).
        output_dir: the features folder to write (and to resume from).
        settings: a [`PrepareSettings`].

    Example:

    ```python
    >>> pipeline = FeaturePipeline("corpus/", "features/", PrepareSettings(acoustic_encoder="models/whisper-base"))
    >>> report = pipeline.run()  # doctest: +SKIP
    ```
    """

    def __init__(self, corpus_dir: str | os.PathLike, output_dir: str | os.PathLike, settings: PrepareSettings):
        self.corpus_dir = Path(corpus_dir)
        self.output_dir = Path(output_dir)
        self.settings = settings
        from accelerate import PartialState

        self.state = PartialState(cpu=settings.device == "cpu")
        self.device = settings.device or str(self.state.device)

    # -- corpus ----------------------------------------------------------------------------------------------

    def _load(self):
        s = self.settings
        corpus = load_corpus(
            self.corpus_dir, label_column=s.label_column, rater_rule=s.rater_rule, classes=s.classes, strict=s.strict
        )
        rows = corpus.dataset.remove_columns("audio").to_list()
        paths = [
            a["path"] for a in corpus.dataset.select_columns(["audio"]).with_format("arrow")[:]["audio"].to_pylist()
        ]
        if s.limit is not None:
            rows, paths = rows[: s.limit], paths[: s.limit]
        responses = []
        memo = _DigestMemo(self.output_dir / "cache" / DIGEST_MEMO)
        for row, path in tqdm(list(zip(rows, paths)), desc="Hashing audio", unit="file", disable=None):
            transcript = row.get("transcript") or None
            # The audio's bytes, not its mtime: a copied or re-downloaded corpus keeps its cached features.
            fingerprint = _hash([os.path.relpath(path, corpus.root), memo.digest(path), transcript])
            responses.append(Response(str(row["response_id"]), str(row["question_id"]), path, transcript, fingerprint))
        if self.state.is_main_process:
            memo.save()
        return corpus, rows, responses

    # -- per-response stages -----------------------------------------------------------------------------------

    def _mine(self, responses: list[Response]) -> list[Response]:
        return responses[self.state.process_index :: self.state.num_processes]

    def _run_stage(self, stage: str, cache: StageCache, responses: list[Response], compute) -> int:
        todo = [r for r in self._mine(responses) if cache.status(r.response_id, r.fingerprint) is None]
        done = len(self._mine(responses)) - len(todo)
        if done:
            logger.info("%s: %d responses already cached in %s, skipping them", stage, done, cache.dir)
        if not todo:
            return 0
        try:
            model = compute("load", None)
        except Exception as err:
            if self.settings.strict:
                raise
            reason = f"{type(err).__name__}: {' '.join(str(err).split())}"
            logger.error("%s: cannot load its models (%s); the stage is skipped", stage, reason)
            self._stage_failures[stage] = reason
            return 0
        started = time.perf_counter()
        bar = tqdm(total=len(todo), desc=f"{stage} [{self.state.process_index}]", unit="resp", disable=None)
        last_log = started
        for index, batch in enumerate(_batches(todo, self.settings.batch_size)):
            if bar.disable and time.perf_counter() - last_log > 60:
                # No terminal (a background or CI run): log progress once a minute instead of a bar.
                finished = index * self.settings.batch_size
                rate = finished / (time.perf_counter() - started)
                logger.info("%s: %d/%d responses, %.2f resp/s, about %.0f min left", stage, finished, len(todo),
                            rate, (len(todo) - finished) / max(rate, 1e-9) / 60)  # fmt: skip
                last_log = time.perf_counter()
            ok, waves, problems = _load_waves(batch)
            results = compute(model, (ok, waves)) if ok else {}
            problems.update({rid: res for rid, res in results.items() if isinstance(res, str)})
            for response in batch:
                rid = response.response_id
                if rid in problems:
                    if self.settings.strict:
                        raise PipelineError(f"{response.path}: {stage}: {problems[rid]}")
                    cache.save_problem(rid, response.fingerprint, problems[rid])
                else:
                    cache.save(rid, response.fingerprint, **results[rid])
            bar.update(len(batch))
        bar.close()
        logger.info("%s: computed %d responses in %.1f s", stage, len(todo), time.perf_counter() - started)
        return len(todo)

    def _content(self, model, batch):
        if model == "load":
            from .content import AcousticEncoder

            return AcousticEncoder(
                self.settings.acoustic_encoder, device=self.device, batch_size=self.settings.batch_size
            )
        responses, waves = batch
        states = model.encode(waves, show_progress=False)
        return {r.response_id: {"acoustic": s} for r, s in zip(responses, states)}

    def _delivery(self, model, batch):
        if model == "load":
            from .alignment import CtcModel

            bs = self.settings.batch_size
            mono = CtcModel(self.settings.ctc_model, device=self.device, batch_size=bs)
            multi = (
                CtcModel(self.settings.asr_model, device=self.device, batch_size=bs)
                if self.settings.asr_model
                else None
            )
            self._shared_multi = self._shares_acoustic_encoder(multi)
            # The LM column is filled at assembly (cheap), so changing the LM never re-runs the CTC models.
            return DeliveryExtractor(mono, multi, lm=None)
        responses, waves = batch
        multi_log_probs = None
        if self._shared_multi:
            multi_log_probs = [self._head_log_probs(model.multi, r, len(w)) for r, w in zip(responses, waves)]
        results = model.extract(
            waves, [r.transcript for r in responses], multi_log_probs=multi_log_probs, show_progress=False
        )
        out: dict[str, Any] = {}
        for response, result in zip(responses, results):
            if result.problem:
                out[response.response_id] = result.problem
                continue
            out[response.response_id] = {
                "features": result.features.astype(np.float32),
                "words": np.asarray(result.words, dtype=str),
                "transcript": np.asarray(result.transcript),
                "starts": np.asarray([s.start for s in result.segments], dtype=np.float32),
                "ends": np.asarray([s.end for s in result.segments], dtype=np.float32),
            }
        return out

    def _shares_acoustic_encoder(self, ctc) -> bool:
        """Whether a CTC model is a Whisper encoder + CTC head whose encoder is the content stage's encoder.

        Then one Whisper pass serves both: the head reads the cached content states instead of re-running the
        encoder (the states are stored as float16, so posteriors may differ from a float32 pass in the 3rd digit).
        """
        if (
            ctc is None
            or "content" not in self.settings.stages
            or _model_type(self.settings.asr_model) != "whisper_ctc"
        ):
            return False
        model = getattr(ctc, "model", None)
        encoder, head = getattr(model, "encoder", None), getattr(model, "head", None)
        if encoder is None or head is None or getattr(model.config, "model_type", None) != "whisper_ctc":
            return False
        from .content import AcousticEncoder

        acoustic = AcousticEncoder(self.settings.acoustic_encoder, device="cpu")
        theirs = acoustic.encoder.state_dict()
        ours = encoder.state_dict()
        same = theirs.keys() == ours.keys() and all(
            torch_equal(ours[k].detach().cpu().float(), theirs[k].float()) for k in ours
        )
        logger.info("delivery: %s %s the content stage's Whisper encoder%s", self.settings.asr_model,
                    "shares" if same else "does not share", ": its head reads the cached states" if same else "")  # fmt: skip
        return same

    def _head_log_probs(self, ctc, response: Response, n_samples: int):
        """CTC log posteriors from the cached content states of ``response`` (``None`` if they are missing)."""
        import torch

        cache = self._caches["content"]
        if cache.status(response.response_id, response.fingerprint) != "done":
            return None
        states = torch.from_numpy(cache.load(response.response_id)["acoustic"].astype(np.float32))
        frames = int(ctc.model._get_feat_extract_output_lengths(n_samples))
        states = states[:frames].unsqueeze(0).to(ctc.model.device)
        with torch.inference_mode():
            logits = ctc.model.head(states.to(ctc.model.head.output.weight.dtype), torch.tensor([states.shape[1]]))
        return torch.log_softmax(logits[0].float(), dim=-1).cpu().numpy()

    # -- run ---------------------------------------------------------------------------------------------------

    def fingerprint(self, responses: list[Response], questions: dict[str, str]) -> str:
        s = asdict(self.settings)
        s.pop("device"), s.pop("batch_size"), s.pop("strict")
        models = {
            k: _model_identity(s[k]) for k in ("acoustic_encoder", "context_encoder", "ctc_model", "asr_model", "lm")
        }
        return _hash(
            {
                "version": PIPELINE_VERSION,
                "settings": s,
                "models": models,
                "responses": [asdict(r) for r in responses],
                "questions": questions,
            },
            16,
        )

    def run(self) -> PrepareReport:
        """Run every stage (resuming from the cache) and write the features folder; returns a [`PrepareReport`]."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._stage_failures: dict[str, str] = {}
        report = PrepareReport(self.output_dir)
        corpus, rows, responses = self._load()
        report.num_responses = len(responses)
        fingerprint = self.fingerprint(responses, corpus.questions)
        meta_path = self.output_dir / FEATURES_METADATA
        if meta_path.exists() and (self.output_dir / DATASET_DIR).is_dir():
            previous = json.loads(meta_path.read_text())
            if previous.get("fingerprint") == fingerprint:
                logger.info("%s is up to date (same corpus, settings and models): nothing to do", self.output_dir)
                report.up_to_date = True
                report.num_usable = sum(previous.get("split_counts", {}).values())
                report.split_counts = previous.get("split_counts", {})
                return report

        s = self.settings
        caches = {
            "content": StageCache(self.output_dir, "content", {"encoder": _model_identity(s.acoustic_encoder), "v": 1}),
            "delivery": StageCache(
                self.output_dir,
                "delivery",
                {
                    "ctc_model": _model_identity(s.ctc_model),
                    "asr_model": _model_identity(s.asr_model),
                    # a shared Whisper pass reads the content states: they are an input of this stage then
                    "content_encoder": _model_identity(s.acoustic_encoder)
                    if "content" in s.stages and _model_type(s.asr_model) == "whisper_ctc"
                    else None,
                    "v": 1,
                },
            ),
        }
        self._caches = caches
        self._shared_multi = False
        if "content" in s.stages:
            report.computed["content"] = self._run_stage("content", caches["content"], responses, self._content)
        if "delivery" in s.stages or "language_use" in s.stages:
            report.computed["delivery"] = self._run_stage("delivery", caches["delivery"], responses, self._delivery)
        self.state.wait_for_everyone()
        if self.state.is_main_process:
            self._assemble(corpus, rows, responses, caches, fingerprint, report)
        self.state.wait_for_everyone()
        return report

    # -- assembly ----------------------------------------------------------------------------------------------

    def _question_states(self, question_ids: set[str], questions: dict[str, str]) -> dict[str, np.ndarray]:
        s = self.settings
        cache = StageCache(self.output_dir, "questions", {"encoder": _model_identity(s.context_encoder), "v": 1})
        todo = [q for q in sorted(question_ids) if cache.status(q, _hash(questions[q])) is None]
        if todo:
            from .content import QuestionEncoder

            encoder = QuestionEncoder(s.context_encoder, device=self.device)
            states = encoder.encode([questions[q] for q in todo], show_progress=len(todo) > 50)
            for q, state in zip(todo, states):
                cache.save(q, _hash(questions[q]), states=state)
        return {q: cache.load(q)["states"] for q in sorted(question_ids)}

    def _assemble(self, corpus, rows, responses, caches, fingerprint, report) -> None:
        from datasets import Array2D, Dataset, DatasetDict, Features, Sequence, Value

        s = self.settings
        problems: list[dict[str, str]] = [
            {"response_id": p.response_id or "", "stage": "corpus", "reason": f"{p.file}: {p.reason}"}
            for p in corpus.problems
        ]
        for stage, reason in self._stage_failures.items():
            problems.append({"response_id": "*", "stage": stage, "reason": f"stage skipped: {reason}"})
        use_content = "content" in s.stages and "content" not in self._stage_failures
        use_delivery = "delivery" in s.stages and "delivery" not in self._stage_failures
        use_language = "language_use" in s.stages and "delivery" not in self._stage_failures
        if not (use_content or use_delivery or use_language):
            self._write_problems(problems)
            raise PipelineError(
                f"{self.output_dir}: no usable response left: no feature stage could run ({self._stage_failures})"
            )

        usable: list[tuple[Response, dict]] = []
        for response, row in zip(responses, rows):
            entry: dict[str, Any] = {}
            failed = None
            for stage, wanted in (("content", use_content), ("delivery", use_delivery or use_language)):
                if not wanted:
                    continue
                cache = caches[stage]
                status = cache.status(response.response_id, response.fingerprint)
                if status == "done":
                    entry[stage] = cache.load(response.response_id)
                else:
                    failed = (stage, cache.problem(response.response_id) or "not computed (interrupted run?)")
                    break
            if failed:
                problems.append({"response_id": response.response_id, "stage": failed[0], "reason": failed[1]})
                continue
            usable.append((response, entry))

        question_states = (
            self._question_states({r.question_id for r, _ in usable}, corpus.questions) if use_content else {}
        )

        lm = None
        if use_delivery and s.lm:
            from .lm import KenlmScorer

            try:
                lm = KenlmScorer(s.lm)
            except Exception as err:
                if s.strict:
                    raise
                problems.append({"response_id": "*", "stage": "lm", "reason": f"stage skipped: {err}"})
        language = None
        if use_language:
            from .language_use import LanguageUseEncoder

            try:
                language = LanguageUseEncoder(s.spacy_model)
            except Exception as err:
                if s.strict:
                    raise
                problems.append({"response_id": "*", "stage": "language_use", "reason": f"stage skipped: {err}"})
        entry_of = {r.response_id: e for r, e in usable}
        row_of = {str(row["response_id"]): row for row in rows}
        words_of = {r.response_id: [str(w) for w in e["delivery"]["words"]] for r, e in usable if "delivery" in e}
        language_features = {}
        if language is not None:
            ids = list(words_of)
            encoded = language.encode_batch([words_of[i] for i in ids])
            language_features = {i: (f > 0).astype(np.uint8) for i, f in zip(ids, encoded)}
        delivery_features = {}
        if use_delivery:
            for rid, words in words_of.items():
                feats = entry_of[rid]["delivery"]["features"].copy()
                if lm is not None and len(words):
                    feats[:, LM_FIELD] = lm.word_scores(words)
                delivery_features[rid] = feats

        # splits (over the usable responses)
        split_rows = [
            {
                "response_id": r.response_id,
                "question_id": r.question_id,
                **({s.group_by: row_of[r.response_id].get(s.group_by)} if s.group_by else {}),
            }
            for r, _ in usable
        ]
        if not split_rows:
            self._write_problems(problems)
            raise PipelineError(
                f"{self.output_dir}: no usable response left ({len(problems)} problems, see {PROBLEMS_FILE})"
            )
        assignment = assign_splits(
            split_rows, unknown_questions=s.unknown_questions, unknown_fraction=s.unknown_fraction,
            group_by=s.group_by, seed=s.seed,
        )  # fmt: skip
        save_assignment(assignment, self.output_dir / SPLITS_FILE)

        classes = list(corpus.classes)
        class_index = {c: i for i, c in enumerate(classes)}
        acoustic_size = next(iter(e["content"]["acoustic"].shape[1] for _, e in usable)) if use_content else None
        feature_spec: dict[str, Any] = {
            "response_id": Value("string"),
            "question_id": Value("string"),
            "label": Value("int64"),
            "label_value": Value("int64"),
            "speaker_id": Value("string"),
            "transcript": Value("string"),
            "words": Sequence(Value("string")),
        }
        if use_content:
            feature_spec["acoustic_features"] = Array2D(shape=(None, acoustic_size), dtype="float16")
        if use_delivery:
            feature_spec["delivery_features"] = Array2D(shape=(None, len(DELIVERY_FIELDS)), dtype="float32")
        if language is not None:
            feature_spec["language_use_features"] = Array2D(shape=(None, language.feature_size), dtype="uint8")
        features = Features(feature_spec)

        def generate(split: str):
            for response, entry in usable:
                if assignment[response.response_id] != split:
                    continue
                row = row_of[response.response_id]
                rid = response.response_id
                example = {
                    "response_id": rid,
                    "question_id": response.question_id,
                    "label": class_index[int(row["label"])],
                    "label_value": int(row["label"]),
                    "speaker_id": str(row.get("speaker_id", "")),
                    "transcript": str(entry["delivery"]["transcript"])
                    if "delivery" in entry
                    else (response.transcript or ""),
                    "words": words_of.get(rid, []),
                }
                if use_content:
                    example["acoustic_features"] = entry["content"]["acoustic"]
                if use_delivery:
                    example["delivery_features"] = delivery_features[rid]
                if language is not None:
                    example["language_use_features"] = language_features[rid]
                yield example

        hf_cache = str(self.output_dir / "cache" / "hf")
        splits = {}
        for split in sorted(set(assignment.values())):
            splits[split] = Dataset.from_generator(
                generate, gen_kwargs={"split": split}, features=features, cache_dir=hf_cache,
                fingerprint=_hash([fingerprint, split, "v1"], 16),
            )  # fmt: skip
        dataset = DatasetDict(splits)
        tmp_dataset = self.output_dir / f"{DATASET_DIR}.tmp"
        dataset.save_to_disk(str(tmp_dataset))

        from datasets import Dataset as _Dataset

        tmp_questions = self.output_dir / f"{QUESTIONS_DIR}.tmp"
        if question_states:  # (the content stage is off otherwise: no questions folder)
            questions_ds = _Dataset.from_dict(
                {
                    "question_id": list(question_states),
                    "question_features": [v.astype(np.float16) for v in question_states.values()],
                }
            )
            questions_ds.save_to_disk(str(tmp_questions))

        metadata: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "pipeline_version": PIPELINE_VERSION,
            "fingerprint": fingerprint,
            "corpus": str(self.corpus_dir.resolve()),
            "corpus_name": self.corpus_dir.resolve().name,
            "label_source": corpus.label_source,
            "classes": classes,
            "id2label": {str(i): str(c) for i, c in enumerate(classes)},
            "encoders": {
                "acoustic_encoder": s.acoustic_encoder if use_content else None,
                "context_encoder": s.context_encoder if use_content else None,
                "ctc_model": s.ctc_model if use_delivery else None,
                "asr_model": s.asr_model if use_delivery else None,
                "spacy_model": s.spacy_model if language is not None else None,
                "language_model": s.lm if lm is not None else None,
            },
            "dims": {
                "acoustic_feature_size": acoustic_size,
                "question_feature_size": int(next(iter(question_states.values())).shape[1])
                if question_states
                else None,
                "delivery_feature_size": len(DELIVERY_FIELDS) if use_delivery else None,
                "language_use_feature_size": language.feature_size if language is not None else None,
            },
            "stages": {"content": use_content, "delivery": use_delivery, "language_use": language is not None},
            "split": {
                "unknown_questions": s.unknown_questions,
                "unknown_fraction": s.unknown_fraction,
                "group_by": s.group_by,
                "seed": s.seed,
                "ratios": [0.8, 0.1, 0.1],
            },
            "split_counts": {k: len(v) for k, v in dataset.items()},
            "settings": {k: v for k, v in asdict(s).items() if k not in ("device",)},
            "num_responses": len(responses),
            "num_problems": len(problems),
            "versions": package_versions(PIPELINE_PACKAGES),
        }
        if use_delivery:
            train_ids = [r.response_id for r, _ in usable if assignment[r.response_id] == "train"]
            if not train_ids:
                raise PipelineError(f"{self.output_dir}: the train split is empty; cannot fit delivery statistics")
            mean, std = fit_normalizer([delivery_features[i] for i in train_ids])
            metadata["delivery_feature_names"] = list(DELIVERY_FIELDS)
            metadata["delivery_feature_mean"] = [float(x) for x in mean]
            metadata["delivery_feature_std"] = [float(x) for x in std]
            metadata["delivery_normalisation"] = "mean/std over the words of the train split only"
        if language is not None:
            metadata["language_use_inventory"] = language.inventory()

        # Replace the previous outputs only now that everything is written.
        import shutil

        for tmp, final in (
            (tmp_dataset, self.output_dir / DATASET_DIR),
            (tmp_questions, self.output_dir / QUESTIONS_DIR),
        ):
            if final.exists():
                shutil.rmtree(final)
            if tmp.exists():
                os.replace(tmp, final)
        self._write_problems(problems)
        meta_path = self.output_dir / FEATURES_METADATA
        meta_path.write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str))
        report.num_usable = len(usable)
        report.split_counts = metadata["split_counts"]
        report.problems = problems
        logger.info(
            "Wrote %s: %d usable responses of %d %s, %d problems (%s)",
            self.output_dir, len(usable), len(responses), report.split_counts, len(problems), PROBLEMS_FILE,
        )  # fmt: skip

    def _write_problems(self, problems: list[dict[str, str]]) -> None:
        path = self.output_dir / PROBLEMS_FILE
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["response_id", "stage", "reason"])
            writer.writeheader()
            writer.writerows(problems)


def prepare_features(corpus_dir: str | os.PathLike, output_dir: str | os.PathLike, **settings: Any) -> PrepareReport:
    """Convenience wrapper: ``FeaturePipeline(corpus_dir, output_dir, PrepareSettings(**settings)).run()``."""
    return FeaturePipeline(corpus_dir, output_dir, PrepareSettings(**settings)).run()


__all__ = [
    "PROBLEMS_FILE",
    "SPLITS_FILE",
    "STAGES",
    "FeaturePipeline",
    "PipelineError",
    "PrepareReport",
    "PrepareSettings",
    "StageCache",
    "prepare_features",
]
