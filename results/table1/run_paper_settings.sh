#!/usr/bin/env bash
# Issue 10: the hybrid with CE + W-RankSim and LMCL + W-RankSim under the paper's own training settings (RAdam 2e-4,
# weight decay 1e-5, 8 epochs, batch size 2, no frame pooling), 3 seeds; metrics kept without weights. Resumable.
# Usage: bash results/table1/run_paper_settings.sh   (SEEDS=0 narrows it)
set -euo pipefail
cd "$(dirname "$0")/../.."
FEATURES=${FEATURES:-$HOME/.cache/modeling_asa/features/speechocean762}
SEEDS=${SEEDS:-0,1,2}
python scripts/run_experiments.py --features_dir "$FEATURES" --output results/table1/paper_settings \
    --grid paper_settings --seeds "$SEEDS" --metrics_only -- --disable_tqdm true --save_strategy no \
    --use_cpu true
