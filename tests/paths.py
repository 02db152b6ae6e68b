"""Where tests look for material outside the repository (imported as ``from paths import ...``).

- ``SHARED_CORPUS``: the shared speechocean762 corpus, beside the checkout (``../shared/data/...``) unless the
  ``ASA_SHARED_CORPUS`` environment variable names another folder. Tests that need it skip when it is absent.
- ``REAL_MODELS``: the offline models built by ``scripts/setup_offline_models.sh`` / ``build_ctc_aligners.py``.
- ``ENGLISH_LM``: the offline English n-gram LM (``docs/language_model.md``).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_CORPUS = Path(os.environ.get("ASA_SHARED_CORPUS", REPO_ROOT.parent / "shared" / "data" / "speechocean762-train"))
SHARED_CORPUS_MISSING = f"shared corpus not found at {SHARED_CORPUS} (set ASA_SHARED_CORPUS to its folder)"
REAL_MODELS = REPO_ROOT / ".cache" / "models"
ENGLISH_LM = REPO_ROOT / ".cache" / "lm" / "english-3gram.bin"
