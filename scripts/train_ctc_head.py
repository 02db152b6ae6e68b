#!/usr/bin/env python
"""Train the CTC head of a Whisper CTC aligner (encoder frozen). See modeling_asa.tools.train_ctc_head."""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

from modeling_asa.tools.train_ctc_head import main

# the shared corpus beside the checkout, or the folder named by ASA_SHARED_CORPUS (as the tests use)
DEFAULT_CORPUS = os.environ.get("ASA_SHARED_CORPUS", str(REPO_ROOT.parent / "shared/data/speechocean762-train"))

if __name__ == "__main__":
    sys.exit(main(default_corpus=DEFAULT_CORPUS, project_dir=REPO_ROOT))
