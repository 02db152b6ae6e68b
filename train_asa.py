#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Train the hybrid ASA scorer on a features folder written by ``asa-prepare`` (the launcher ``accelerate launch``
runs; the training itself is :mod:`modeling_asa.training`, also installed as ``asa-train``).

Examples::

    python train_asa.py --output_dir outputs/demo                 # the built-in generated features (a minute)
    accelerate launch train_asa.py --features_dir features/ --output_dir outputs/run1 \\
        --loss ce --regularizer w_ranksim
    python train_asa.py --features_dir features/ --help           # every argument, with the defaults that apply
"""

import sys

from modeling_asa.training import cli

if __name__ == "__main__":
    sys.exit(cli())
