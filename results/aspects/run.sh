#!/usr/bin/env bash
# Issue 37: does each aspect score measure its own aspect? On the main job's demo features (bash scripts/demo.sh
# first: its corpus and features, with the aspect columns content, delivery, language_use), 5 seeds of the demo's
# model (LMCL + W-RankSim, the demo recipe) with aspect heads reading the fused vectors, reading their own branch, and
# without aspect heads (the holistic head alone). Resumable; metrics and predictions kept, no weights.
# Usage: bash results/aspects/run.sh   (SEEDS=0,1 for fewer)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-demo_data}
SEEDS=${SEEDS:-0,1,2,3,4}
# the demo's model and objective (scripts/demo_recipe.sh, scripts/demo.sh), one thread: the model is small
source scripts/demo_recipe.sh
RECIPE=(--loss lmcl --regularizer w_ranksim "${DEMO_MODEL[@]}" --num_train_epochs 20 --threads 1 --disable_tqdm true
        --save_strategy no --log_level warning)
python scripts/run_experiments.py --features_dir "$DATA/features" --output results/aspects/runs --grid aspects \
    --seeds "$SEEDS" --metrics_only -- "${RECIPE[@]}"
python scripts/summarize_aspects.py --runs results/aspects/runs --corpus "$DATA/gept" --output results/aspects/table.md
