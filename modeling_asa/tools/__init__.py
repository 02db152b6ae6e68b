# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Command-line tools of the project, as importable modules.

Each module holds the logic of one program in ``scripts/`` and a ``main(argv=None) -> int`` entry point;
the script is a thin wrapper that supplies the defaults that depend on the checkout (the shared corpus,
``.cache/`` folders) and calls ``main``. Nothing here is imported by ``import modeling_asa``: import the
module you need.

- :mod:`modeling_asa.tools.convert_ct2_whisper`: CTranslate2 Whisper -> transformers folder
  (``scripts/convert_ct2_whisper.py``).
- :mod:`modeling_asa.tools.build_lm`: KenLM n-gram language models from text (``scripts/build_lm.py``).
- :mod:`modeling_asa.tools.train_ctc_head`: train the CTC head of a Whisper CTC aligner
  (``scripts/train_ctc_head.py``).
- :mod:`modeling_asa.tools.build_ctc_aligners`: assemble the offline CTC aligner folders
  (``scripts/build_ctc_aligners.py``).
- :mod:`modeling_asa.tools.evaluate_ctc_aligner`: CER/WER and word-boundary errors of an aligner
  (``scripts/evaluate_ctc_aligner.py``).

Example:
    >>> from modeling_asa.tools import build_lm  # doctest: +SKIP
    >>> build_lm.split_sentences("It was late. She smiled.")  # doctest: +SKIP
"""

__all__ = [
    "build_ctc_aligners",
    "build_lm",
    "convert_ct2_whisper",
    "evaluate_ctc_aligner",
    "train_ctc_head",
]
