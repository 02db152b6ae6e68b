#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Speaker-grouped k-fold cross-validation of one train_asa.py setting over train + dev (resumable).

Example::

    python scripts/cross_validate.py --features_dir ~/.cache/modeling_asa/features/speechocean762 \\
        --folds_file results/recipe/folds.json --output results/recipe/runs/hybrid_ep8 -- --num_train_epochs 8

See ``modeling_asa/tools/cross_validate.py`` for what is kept and summarised.
"""

import sys

from modeling_asa import training as train_asa
from modeling_asa.tools.cross_validate import cli

if __name__ == "__main__":
    sys.exit(cli(train_asa.main))
