#!/usr/bin/env bash
# Issue 33: does feeding the relevance evidence to the model change its scores, and can it still be gamed?
# The demo's model (its recipe, aspect heads on their branches) with --relevance true, 5 seeds, against the same
# model without it (results/aspects/runs/branch_seed*); then one full model (seed 0) probed like results/validity/.
# Needs the main job's corpus and features (bash scripts/demo.sh). Resumable.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-demo_data}
SEEDS=${SEEDS:-0,1,2,3,4}
# the demo's model and objective (scripts/demo_recipe.sh, scripts/demo.sh), one thread: the model is small
source scripts/demo_recipe.sh
RECIPE=(--loss lmcl --regularizer w_ranksim "${DEMO_MODEL[@]}" --num_train_epochs 20 --threads 1 --disable_tqdm true
        --save_strategy no --log_level warning)
python scripts/run_experiments.py --features_dir "$DATA/features" --output results/relevance/runs --grid relevance \
    --seeds "$SEEDS" --metrics_only -- "${RECIPE[@]}"
MODEL=outputs/gept-demo-relevance
[ -f "$MODEL/asa_results.json" ] || python train_asa.py --features-dir "$DATA/features" --output-dir "$MODEL" \
    "${RECIPE[@]}" --aspect_source branch --relevance true --seed 0
python -m modeling_asa.tools.probe_validity --model "$MODEL" --corpus "$DATA/gept" \
    --output results/relevance/probe_with_relevance.json
