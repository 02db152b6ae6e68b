#!/usr/bin/env python
"""Convert a CTranslate2 Whisper model into a transformers folder. See modeling_asa.tools.convert_ct2_whisper."""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

from modeling_asa.tools.convert_ct2_whisper import main

# the shared corpus beside the checkout, or the folder named by ASA_SHARED_CORPUS (as the tests use)
DEFAULT_CORPUS = Path(os.environ.get("ASA_SHARED_CORPUS", REPO_ROOT.parent / "shared/data/speechocean762-train"))

if __name__ == "__main__":
    sys.exit(main(default_corpus=DEFAULT_CORPUS))
