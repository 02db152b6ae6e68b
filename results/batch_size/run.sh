#!/usr/bin/env bash
# Issue 10's Figure 4 analogue: the hybrid with LMCL, LMCL + RankSim and LMCL + W-RankSim at training batch sizes
# 2, 4, 8, 16 and 32, 3 seeds, with train_asa.py's features-folder defaults otherwise (the recipe of results/recipe/),
# metrics kept without weights; then the PNG and its table. Resumable and seed by seed, like results/table1/run.sh.
# The batch-16 runs are Table 1's hybrid LMCL runs with the same seed and arguments: copied from results/table1/runs
# when that grid has them (--reuse), trained otherwise.
# Usage: bash results/batch_size/run.sh   (SEEDS=0 and ONLY="--only per_device_train_batch_size=2" narrow it)
set -euo pipefail
cd "$(dirname "$0")/../.."
FEATURES=${FEATURES:-$HOME/.cache/modeling_asa/features/speechocean762}
SEEDS=${SEEDS:-0,1,2}
read -r -a ONLY <<< "${ONLY:-}"
python scripts/run_experiments.py --features_dir "$FEATURES" --output results/batch_size/runs --grid batch_size \
    --seeds "$SEEDS" --metrics_only --reuse results/table1/runs "${ONLY[@]}" -- --disable_tqdm true --save_strategy no --use_cpu "${USE_CPU:-true}"
python scripts/plot_batch_size.py --runs results/batch_size/runs --output results/batch_size/qwk_by_batch_size.png \
    --baseline "results/table1/baselines/content_pooled_0_ce_none_seed[012]" \
    | tee results/batch_size/table.md
