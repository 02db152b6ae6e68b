# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""``asa-prepare``: validate a corpus, split it, run the feature stages with a cache, and write a features folder.

The runner only schedules: the features themselves are computed by the stages of :mod:`modeling_asa.features.stage`
(the same code :class:`~modeling_asa.scoring.AsaScorer` runs). Splits are decided by :mod:`modeling_asa.data` before
any extraction (a ``split`` column in ``metadata.csv`` is used as given).

Per-answer results live in ``FEATURES_DIR/cache/<stage>/<key-hash>/`` as one ``.npz`` per answer (or a
``.problem.json`` when the answer failed), written atomically. The key holds the stage's settings, its models' file
identities and the keys of the stages it reads, so an interrupted run resumes where it stopped, a changed encoder
recomputes only the stages that depend on it, and a re-run with the same inputs and settings is a no-op.
Under ``accelerate launch`` / ``torchrun`` each process takes every ``num_processes``-th answer; the main process
writes the folder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..audio import LONG_ANSWER_S, AudioError, audio_duration, load_answer_audio
from ..data import SPLIT_COLUMN, assign_splits, load_corpus, save_assignment
from ..settings import STAGES, PrepareSettings
from ..versions import package_versions
from .delivery import DELIVERY_FIELDS, fit_normalizer
from .recipe import build_stages, make_recipe, model_option_problems, stage_models
from .stage import Answer, FeatureStage, assemble_example, one_line, stable_hash
from .store import DATASET_DIR, FEATURES_METADATA, FORMAT_VERSION, QUESTIONS_DIR

logger = logging.getLogger(__name__)

PIPELINE_VERSION = 2
PROBLEMS_FILE = "problems.csv"
SPLITS_FILE = "splits.csv"
DIGEST_MEMO = "audio_digests.json"
PIPELINE_PACKAGES = ("modeling_asa", "torch", "transformers", "datasets", "spacy", "ctc-segmentation", "kenlm",
                     "praat-parselmouth", "numpy")  # fmt: skip


class PipelineError(RuntimeError):
    """The pipeline cannot produce a usable features folder."""


def settings_stages(
    settings: PrepareSettings, device: str | None = None, references: dict[str, list[str]] | None = None
) -> dict[str, FeatureStage]:
    """The stages a run's settings ask for (``question`` with ``content``; ``lm`` with an LM and the words;
    ``relevance`` with the recogniser and the context encoder, ``references`` by question text)."""
    content = "content" in settings.stages
    words = "delivery" in settings.stages or "language_use" in settings.stages
    return build_stages(
        acoustic_encoder=settings.acoustic_encoder if content else None,
        context_encoder=settings.context_encoder if content else None,
        ctc_model=settings.ctc_model if words else None,
        asr_model=settings.asr_model if words else None,
        recognizer=settings.recognizer if words else None,
        recognizer_options={
            "backend": settings.recognizer_backend,
            "window": settings.recognizer_window,
            "beam_size": settings.beam_size,
            "language": settings.language,
        },
        references=references,
        lm=settings.lm if "delivery" in settings.stages else None,
        spacy_model=settings.spacy_model if "language_use" in settings.stages else None,
        acoustic_window=settings.acoustic_window,
        acoustic_layers=settings.acoustic_layers,
        device=device,
        batch_size=settings.batch_size,
    )


@dataclass
class Response:
    """One response to process."""

    response_id: str
    question_id: str
    path: str
    transcript: str | None
    fingerprint: str
    duration: float = 0.0


@dataclass
class PrepareReport:
    """What a run did: responses per split, problems, answers computed per stage, whether it was a no-op."""

    output_dir: Path
    num_responses: int = 0
    num_usable: int = 0
    split_counts: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    computed: dict[str, int] = field(default_factory=dict)
    up_to_date: bool = False
    num_long: int = 0

    def summary(self) -> str:
        """One line: ``"71 usable of 72, 1 problem (see problems.csv)"``."""
        problems = sum(1 for p in self.problems if p["stage"] != "labels")
        warnings = len(self.problems) - problems
        parts = [f"{self.num_usable} usable of {self.num_responses}", f"{problems} problem{'s' * (problems != 1)}"]
        if warnings:
            parts.append(f"{warnings} label warning{'s' * (warnings != 1)}")
        if self.num_long:
            parts.append(f"{self.num_long} long (over {LONG_ANSWER_S:g} s, accepted)")
        return ", ".join(parts) + (f": see {self.output_dir / PROBLEMS_FILE}" if self.problems else "")


# ----------------------------------------------------------------------------------------------------------------
# cache


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
    return re.sub(r"[^A-Za-z0-9_-]", "_", key)[:40] + "-" + stable_hash(key, 10)


class StageCache:
    """Per-item results of one stage under one key, one atomic file per item."""

    def __init__(self, root: Path, stage: str, key: dict[str, Any]):
        self.stage = stage
        self.key = key
        self.dir = root / "cache" / stage / stable_hash(key)
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
            return {k: data[k] for k in data.files if k != "fingerprint"}

    def problem(self, item: str) -> str | None:
        path = self._paths(item)[1]
        return json.loads(path.read_text())["reason"] if path.exists() else None


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ----------------------------------------------------------------------------------------------------------------
# the runner


class FeaturePipeline:
    """Run every feature stage of a corpus with a cache, then write a features folder.

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
        self.stages: dict[str, FeatureStage] = {}
        self.progress: tuple[str, int, int] = ("", 0, 0)
        """(stage, answers done, answers to do) of the stage running now (for an interrupted run's message)."""

    # -- corpus and splits ---------------------------------------------------------------------------------------

    def _load(self):
        s = self.settings
        corpus = load_corpus(
            self.corpus_dir,
            label_column=s.label_column,
            rater_rule=s.rater_rule,
            classes=s.classes,
            strict=s.strict,
            aspect_columns=s.aspect_columns,
        )
        rows, paths = corpus.rows_and_paths()
        if s.limit is not None:
            rows, paths = rows[: s.limit], paths[: s.limit]
        responses = []
        memo = _DigestMemo(self.output_dir / "cache" / DIGEST_MEMO)
        for row, path in tqdm(list(zip(rows, paths)), desc="Hashing audio", unit="file", disable=None):
            transcript = row.get("transcript") or None
            # The audio's bytes, not its mtime: a copied or re-downloaded corpus keeps its cached features.
            fingerprint = stable_hash([os.path.relpath(path, corpus.root), memo.digest(path), transcript])
            responses.append(
                Response(str(row["response_id"]), str(row["question_id"]), path, transcript, fingerprint,
                         audio_duration(path))
            )  # fmt: skip
        if self.state.is_main_process:
            memo.save()
        return corpus, rows, responses

    def _split(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        """Train / dev / test_known / test_unknown per response, decided before any extraction."""
        s = self.settings
        if rows and SPLIT_COLUMN in rows[0]:
            if s.unknown_questions or s.unknown_fraction:
                logger.warning("metadata.csv has a %r column: it is used as given; --unknown-questions / "
                               "--unknown-fraction are ignored", SPLIT_COLUMN)  # fmt: skip
            assignment = {str(r["response_id"]): str(r[SPLIT_COLUMN]) for r in rows}
            logger.info("Splits from the %r column of metadata.csv", SPLIT_COLUMN)
            return assignment
        table = [
            {"response_id": r["response_id"], "question_id": r["question_id"],
             **({s.group_by: r.get(s.group_by)} if s.group_by else {})}
            for r in rows
        ]  # fmt: skip
        return assign_splits(
            table, unknown_questions=s.unknown_questions, unknown_fraction=s.unknown_fraction,
            group_by=s.group_by, seed=s.seed,
        )  # fmt: skip

    # -- stages ----------------------------------------------------------------------------------------------------

    def _mine(self, responses: list[Response]) -> list[Response]:
        return responses[self.state.process_index :: self.state.num_processes]

    def _answers(self, stage: FeatureStage, batch: Sequence[Response], questions: dict[str, str]):
        """Decode the batch's audio (when the stage reads it); returns (answers, problems by response id)."""
        answers, problems = [], {}
        for response in batch:
            wave = None
            if stage.uses_audio:
                try:
                    wave = load_answer_audio(response.path)
                except AudioError as err:
                    problems[response.response_id] = str(err)
                    continue
            answers.append(
                Answer(response.response_id, wave, response.question_id, questions.get(response.question_id),
                       response.transcript, response.path)
            )  # fmt: skip
        return answers, problems

    def _inputs(self, stage: FeatureStage, answers: list[Answer], fingerprints: dict[str, str]):
        """Outputs of the stages ``stage`` needs, per answer; answers whose needs failed become problems."""
        kept, inputs, problems = [], [], {}
        for answer in answers:
            given = {}
            for need in stage.needs:
                cache = self._caches[need]
                if need in self._failed or cache.status(answer.response_id, fingerprints[answer.response_id]) != "done":
                    problems[answer.response_id] = f"needs the {need} stage, which has no result for this answer"
                    break
                given[need] = cache.load(answer.response_id)
            else:
                kept.append(answer)
                inputs.append(given)
        return kept, inputs, problems

    def _run_stage(self, stage: FeatureStage, items: list[Response], questions: dict[str, str]) -> int:
        cache = self._caches[stage.name]
        todo = [r for r in items if cache.status(r.response_id, r.fingerprint) is None]
        if len(items) - len(todo):
            logger.info("%s: %d answers already cached in %s, skipping them", stage.name, len(items) - len(todo),
                        cache.dir)  # fmt: skip
        if not todo:
            return 0
        try:
            stage.load()
        except Exception as err:
            if self.settings.strict:
                raise
            self._failed[stage.name] = one_line(err)
            logger.error("%s: cannot load its models (%s); the stage is skipped", stage.name, self._failed[stage.name])
            return 0
        # batches of similar length: a 3 s answer never waits for a 25 s neighbour
        todo.sort(key=lambda r: r.duration)
        self.progress = (stage.name, 0, len(todo))
        fingerprints = {r.response_id: r.fingerprint for r in todo}
        by_id = {r.response_id: r for r in todo}
        started = last_log = time.perf_counter()
        bar = tqdm(total=len(todo), desc=f"{stage.name} [{self.state.process_index}]", unit="answer", disable=None)
        for index, batch in enumerate(_batches(todo, self.settings.batch_size)):
            if bar.disable and time.perf_counter() - last_log > 60:
                # No terminal (a background or CI run): log progress once a minute instead of a bar.
                finished = index * self.settings.batch_size
                rate = finished / (time.perf_counter() - started)
                logger.info("%s: %d/%d answers, %.2f answers/s, about %.0f min left", stage.name, finished, len(todo),
                            rate, (len(todo) - finished) / max(rate, 1e-9) / 60)  # fmt: skip
                last_log = time.perf_counter()
            answers, problems = self._answers(stage, batch, questions)
            answers, inputs, needs_problems = self._inputs(stage, answers, fingerprints)
            problems.update(needs_problems)
            try:
                results = stage.compute(answers, inputs) if answers else []
            except Exception as err:  # a stage that fails on a batch fails those answers, not the run
                if self.settings.strict:
                    raise
                results = [one_line(err)] * len(answers)
            for answer, result in zip(answers, results, strict=True):
                if isinstance(result, str):
                    problems[answer.response_id] = result
                else:
                    cache.save(answer.response_id, fingerprints[answer.response_id], **result)
            for rid, reason in problems.items():
                response = by_id[rid]
                detail = reason.removeprefix(f"{response.path}: ")  # the file is named once
                message = f"{rid} ({response.path}): {stage.name}: {detail}"
                if self.settings.strict:
                    raise PipelineError(message)
                logger.warning("%s", message)
                cache.save_problem(rid, response.fingerprint, reason)
            bar.update(len(batch))
            self.progress = (stage.name, self.progress[1] + len(batch), len(todo))
        bar.close()
        logger.info("%s: computed %d answers in %.1f s", stage.name, len(todo), time.perf_counter() - started)
        return len(todo)

    # -- run ---------------------------------------------------------------------------------------------------

    def fingerprint(self, responses: list[Response], questions: dict[str, str]) -> str:
        s = asdict(self.settings)
        for key in ("device", "batch_size", "strict"):
            s.pop(key)
        if not s.get("aspect_columns"):  # folders made before the option existed stay up to date
            s.pop("aspect_columns", None)
        keys = {name: cache.key for name, cache in self._caches.items()}
        return stable_hash(
            {"version": PIPELINE_VERSION, "settings": s, "stages": keys, "responses": [asdict(r) for r in responses],
             "questions": questions},
            16,
        )  # fmt: skip

    def run(self) -> PrepareReport:
        """Run every stage (resuming from the cache) and write the features folder; returns a [`PrepareReport`]."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._failed: dict[str, str] = {}
        report = PrepareReport(self.output_dir)
        corpus, rows, responses = self._load()
        report.num_responses = len(responses)
        assignment = self._split(rows)
        by_text = {corpus.questions[q]: refs for q, refs in corpus.references.items() if q in corpus.questions}
        self.stages = settings_stages(self.settings, device=self.device, references=by_text)
        # every model is resolved before any work starts (one line each), not a minute of Hub retries later
        unresolved = model_option_problems(stage_models(self.stages))
        if unresolved:
            raise PipelineError("\n".join(unresolved))
        self._caches: dict[str, StageCache] = {}
        for name, stage in self.stages.items():
            needed = {need: self._caches[need].key for need in stage.needs}
            self._caches[name] = StageCache(self.output_dir, name, stage.cache_key(needed))
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
        question_items = [
            Response(q, q, "", None, stable_hash(corpus.questions[q]))
            for q in sorted({r.question_id for r in responses})
        ]
        for name, stage in self.stages.items():
            if stage.per_question:
                # question texts are few: the main process encodes them (each once, whatever its answers)
                if self.state.is_main_process:
                    report.computed[name] = self._run_stage(
                        stage, question_items, {q.question_id: corpus.questions[q.question_id] for q in question_items}
                    )
            else:
                report.computed[name] = self._run_stage(stage, self._mine(responses), corpus.questions)
        self.state.wait_for_everyone()
        if self.state.is_main_process:
            self._write(corpus, rows, responses, question_items, assignment, fingerprint, report)
        self.state.wait_for_everyone()
        return report

    # -- writing -----------------------------------------------------------------------------------------------

    def _write(self, corpus, rows, responses, question_items, assignment, fingerprint, report) -> None:
        from datasets import Array2D, Dataset, DatasetDict, Features, Sequence, Value

        problems: list[dict[str, str]] = [
            {"response_id": p.response_id or "", "stage": "corpus", "reason": f"{p.file}: {p.reason}"}
            for p in corpus.problems
        ] + [
            {"response_id": w.response_id or "*", "stage": "labels", "reason": f"{w.file}: {w.reason}"}
            for w in corpus.warnings
        ]
        # a stage that could not load takes the stages that read it with it
        for name, stage in self.stages.items():
            broken = [n for n in stage.needs if n in self._failed]
            if broken and name not in self._failed:
                self._failed[name] = f"needs the {broken[0]} stage"
        for name, reason in self._failed.items():
            problems.append({"response_id": "*", "stage": name, "reason": f"stage skipped: {reason}"})
        ran = [n for n in self.stages if n not in self._failed]
        written = {"content": "content" in ran and "question" in ran,
                   "delivery": "delivery" in ran and "delivery" in self.settings.stages,
                   "language_use": "language_use" in ran, "relevance": "relevance" in ran}  # fmt: skip
        if not any(v for k, v in written.items() if k != "relevance"):
            self._write_problems(problems)
            raise PipelineError(f"{self.output_dir}: no usable response left: no feature stage could run "
                                f"({self._failed})")  # fmt: skip
        per_answer = [n for n in ran if not self.stages[n].per_question]
        questions: dict[str, np.ndarray] = {}
        if written["content"]:
            cache = self._caches["question"]
            for item in question_items:
                if cache.status(item.response_id, item.fingerprint) == "done":
                    questions[item.response_id] = cache.load(item.response_id)["question_features"]
        usable: list[tuple[Response, dict[str, Any]]] = []
        for response in responses:
            outputs, failed = {}, None
            for name in per_answer:
                cache = self._caches[name]
                if cache.status(response.response_id, response.fingerprint) != "done":
                    failed = (name, cache.problem(response.response_id) or "not computed (interrupted run?)")
                    break
                outputs[name] = cache.load(response.response_id)
            if failed is None and written["content"] and response.question_id not in questions:
                failed = ("question", "no question states")
            if failed:
                problems.append({"response_id": response.response_id, "stage": failed[0], "reason": failed[1]})
                continue
            usable.append((response, assemble_example(outputs, delivery=written["delivery"])))
        if not usable:
            self._write_problems(problems)
            raise PipelineError(f"{self.output_dir}: no usable response left ({len(problems)} problems, see "
                                f"{PROBLEMS_FILE})")  # fmt: skip
        usable_assignment = {r.response_id: assignment[r.response_id] for r, _ in usable}
        save_assignment(usable_assignment, self.output_dir / SPLITS_FILE)

        classes = list(corpus.classes)
        class_index = {c: i for i, c in enumerate(classes)}
        row_of = {str(row["response_id"]): row for row in rows}
        columns = {name: col for n in ran for name, col in self.stages[n].columns().items()}
        spec: dict[str, Any] = {
            "response_id": Value("string"), "question_id": Value("string"), "label": Value("int64"),
            "label_value": Value("int64"), "speaker_id": Value("string"), "transcript": Value("string"),
            "words": Sequence(Value("string")),
        }  # fmt: skip
        if written["content"]:
            spec["acoustic_features"] = Array2D(shape=(None, columns["acoustic_features"].width), dtype="float16")
        if written["delivery"]:
            spec["delivery_features"] = Array2D(shape=(None, len(DELIVERY_FIELDS)), dtype="float32")
        if written["language_use"]:
            spec["language_use_features"] = Array2D(shape=(None, columns["language_use_features"].width), dtype="uint8")
        if written["relevance"]:
            spec["relevance_features"] = Sequence(Value("float32"), length=columns["relevance_features"].width)
        if corpus.aspects:  # class index of each aspect label (corpus.aspects order)
            spec["aspect_labels"] = Sequence(Value("int64"), length=len(corpus.aspects))

        def generate(split: str):
            for response, example in usable:
                if usable_assignment[response.response_id] != split:
                    continue
                row = row_of[response.response_id]
                label = row.get("label")
                yield {
                    "response_id": response.response_id,
                    "question_id": response.question_id,
                    "label": class_index[int(label)] if label is not None else None,
                    "label_value": int(label) if label is not None else None,
                    **(
                        {"aspect_labels": [class_index[int(v)] for v in row["aspect_labels"]]} if corpus.aspects else {}
                    ),
                    "speaker_id": str(row.get("speaker_id", "")),
                    "transcript": example.pop("transcript", response.transcript or ""),
                    "words": example.pop("words", []),
                    **{k: v for k, v in example.items() if k in spec},
                }

        hf_cache = str(self.output_dir / "cache" / "hf")
        dataset = DatasetDict(
            {
                split: Dataset.from_generator(
                    generate,
                    gen_kwargs={"split": split},
                    features=Features(spec),
                    cache_dir=hf_cache,
                    fingerprint=stable_hash([fingerprint, split, "v2"], 16),
                )
                for split in sorted(set(usable_assignment.values()))
            }
        )
        tmp_dataset = self.output_dir / f"{DATASET_DIR}.tmp"
        dataset.save_to_disk(str(tmp_dataset))
        split_counts = {k: len(v) for k, v in dataset.items()}
        # save_to_disk copied the rows: the generator's cache would be a second copy of the whole dataset (a third
        # of a features folder; 3.5 GB with every Whisper layer), so it goes
        del dataset
        shutil.rmtree(hf_cache, ignore_errors=True)
        tmp_questions = self.output_dir / f"{QUESTIONS_DIR}.tmp"
        if written["content"]:
            used = sorted({r.question_id for r, _ in usable})
            Dataset.from_dict(
                {"question_id": used, "question_features": [questions[q].astype(np.float16) for q in used]}
            ).save_to_disk(str(tmp_questions))

        s = self.settings
        recorded = {n: self.stages[n] for n in ran}
        normalisation = None
        if written["delivery"]:
            train = [ex["delivery_features"] for r, ex in usable if usable_assignment[r.response_id] == "train"]
            if train:
                mean, std = fit_normalizer(train)
                normalisation = {
                    "names": list(DELIVERY_FIELDS), "mean": [float(x) for x in mean], "std": [float(x) for x in std],
                    "fitted_on": "the words of the train split",
                }  # fmt: skip
            else:
                logger.warning("no train split: the delivery features are written without normalisation statistics")
        labels = {"label_column": s.label_column, "label_source": corpus.label_source, "rater_rule": s.rater_rule}
        if corpus.aspects:
            labels["aspect_columns"] = list(corpus.aspects)
        recipe = make_recipe(recorded, delivery_normalisation=normalisation, labels=labels)
        # acoustic_features hold this many layers of d_model states per frame (acoustic_layers="all": all of them)
        acoustic_layers = self.stages["content"].num_layers if written["content"] else 1
        metadata: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "pipeline_version": PIPELINE_VERSION,
            "fingerprint": fingerprint,
            "corpus": str(self.corpus_dir.resolve()),
            "corpus_name": self.corpus_dir.resolve().name,
            "label_source": corpus.label_source,
            "classes": classes,
            "id2label": {str(i): str(c) for i, c in enumerate(classes)},
            "aspects": list(corpus.aspects),
            "recipe": recipe,
            "encoders": {
                "acoustic_encoder": recipe["stages"]["content"]["acoustic_encoder"] if written["content"] else None,
                "context_encoder": recipe["stages"]["question"]["context_encoder"] if written["content"] else None,
                "ctc_model": recipe["stages"]["delivery"]["ctc_model"] if "delivery" in ran else None,
                "asr_model": recipe["stages"]["delivery"]["asr_model"] if "delivery" in ran else None,
                "recognizer": recipe["stages"]["recognition"]["recognizer"] if "recognition" in ran else None,
                "spacy_model": recipe["stages"]["language_use"]["spacy_model"] if written["language_use"] else None,
                "language_model": recipe["stages"]["lm"]["lm"] if "lm" in ran and written["delivery"] else None,
            },
            "dims": {
                "acoustic_feature_size": columns["acoustic_features"].width // acoustic_layers
                if written["content"]
                else None,
                "acoustic_num_layers": acoustic_layers if written["content"] else None,
                "question_feature_size": columns["question_features"].width if written["content"] else None,
                "delivery_feature_size": len(DELIVERY_FIELDS) if written["delivery"] else None,
                "language_use_feature_size": columns["language_use_features"].width
                if written["language_use"]
                else None,
            },
            "stages": written,
            "split": {
                "source": f"the {SPLIT_COLUMN!r} column of metadata.csv"
                if rows and SPLIT_COLUMN in rows[0]
                else "assign_splits",
                "unknown_questions": s.unknown_questions,
                "unknown_fraction": s.unknown_fraction,
                "group_by": s.group_by,
                "seed": s.seed,
                "ratios": [0.8, 0.1, 0.1],
            },
            "split_counts": split_counts,
            "settings": {k: v for k, v in asdict(s).items() if k != "device"},
            "num_responses": len(responses),
            "num_problems": len(problems),
            "versions": package_versions(PIPELINE_PACKAGES),
        }
        if normalisation:
            metadata["delivery_feature_names"] = normalisation["names"]
            metadata["delivery_feature_mean"] = normalisation["mean"]
            metadata["delivery_feature_std"] = normalisation["std"]
        if written["language_use"]:
            metadata["language_use_inventory"] = recipe["stages"]["language_use"]["inventory"]

        # Replace the previous outputs only now that everything is written.
        for tmp, final in (
            (tmp_dataset, self.output_dir / DATASET_DIR),
            (tmp_questions, self.output_dir / QUESTIONS_DIR),
        ):
            if final.exists():
                shutil.rmtree(final)
            if tmp.exists():
                os.replace(tmp, final)
        self._write_problems(problems)
        (self.output_dir / FEATURES_METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str))
        report.num_usable = len(usable)
        report.num_responses = len(responses) + len(corpus.problems)
        report.num_long = sum(1 for r, _ in usable if r.duration > LONG_ANSWER_S)
        report.split_counts = metadata["split_counts"]
        report.problems = problems
        logger.info("Wrote %s: splits %s", self.output_dir, report.split_counts)

    def _write_problems(self, problems: list[dict[str, str]]) -> None:
        with open(self.output_dir / PROBLEMS_FILE, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["response_id", "stage", "reason"])
            writer.writeheader()
            writer.writerows(problems)


__all__ = [
    "PROBLEMS_FILE",
    "SPLITS_FILE",
    "STAGES",
    "FeaturePipeline",
    "PipelineError",
    "PrepareReport",
    "PrepareSettings",
    "StageCache",
    "settings_stages",
]
