#!/usr/bin/env bash
# Issue 10's Table 1 analogue: 3 models x 6 objectives + CORN on the hybrid, 5 seeds, and the baseline rows, all with
# train_asa.py's features-folder defaults (the recipe of results/recipe/) and metrics kept without weights.
# Resumable and seed by seed: re-running skips finished runs, and a grid cut short leaves every cell with the same
# number of seeds. Usage: bash results/table1/run.sh   (SEEDS=0,1 and ONLY="--only loss=ce" narrow it)
set -euo pipefail
cd "$(dirname "$0")/../.."
FEATURES=${FEATURES:-$HOME/.cache/modeling_asa/features/speechocean762}
SEEDS=${SEEDS:-0,1,2,3,4}
read -r -a ONLY <<< "${ONLY:-}"
# float32: bf16 autocast is 50x slower on a CPU without bf16 instructions (this project's AVX2 machine, 2026-12-04)
COMMON=(--disable_tqdm true --save_strategy no --use_cpu "${USE_CPU:-true}")
# the floor of the table: pooled linear baselines (their own learning rate, 1e-3; the rest the same defaults)
python scripts/run_experiments.py --features_dir "$FEATURES" --output results/table1/baselines --grid baselines \
    --seeds "$SEEDS" --metrics_only -- "${COMMON[@]}" --learning_rate 1e-3
python scripts/run_experiments.py --features_dir "$FEATURES" --output results/table1/runs --grid table1 \
    --seeds "$SEEDS" --metrics_only "${ONLY[@]}" -- "${COMMON[@]}"
python scripts/summarize_table1.py --runs results/table1/runs --baselines results/table1/baselines \
    --output results/table1/table.md
