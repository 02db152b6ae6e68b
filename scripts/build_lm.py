#!/usr/bin/env python
"""Build an n-gram language model (ARPA or KenLM binary) from English text. See modeling_asa.tools.build_lm."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

from modeling_asa.tools.build_lm import main

DEFAULT_KENLM_BIN = REPO_ROOT / ".cache" / "kenlm" / "bin"
"""Where ``scripts/build_kenlm.sh`` puts ``lmplz`` and ``build_binary`` by default."""

if __name__ == "__main__":
    sys.exit(main(default_kenlm_bin=DEFAULT_KENLM_BIN))
