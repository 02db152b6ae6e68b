#!/usr/bin/env bash
# Issue 36: the models x objectives grid on speechocean762's expert `total` score (0-10), 5 seeds, with
# train_asa.py's features-folder defaults (the age-band recipe of results/recipe/), metrics kept without weights.
# Seed by seed (the cheap pooled baselines, then the 15 neural cells), so a grid cut short leaves every cell with the
# same number of seeds. Resumable: re-running skips finished runs. Needs the `total` features:
#   bash scripts/prepare_speechocean762.sh        (~14 min)
# Usage: bash results/so762_total/run.sh      (SEEDS=0 for one sweep; THREADS=2 when nothing else runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
FEATURES=${FEATURES:-$HOME/.cache/modeling_asa/features/speechocean762}
SEEDS=${SEEDS:-0,1,2,3,4}
COMMON=(--disable_tqdm true --save_strategy no --use_cpu true --threads "${THREADS:-1}")
for seed in ${SEEDS//,/ }; do
    python scripts/run_experiments.py --features_dir "$FEATURES" --output results/so762_total/baselines \
        --grid so762_total_baselines --seeds "$seed" --metrics_only -- "${COMMON[@]}" --learning_rate 1e-3
    python scripts/run_experiments.py --features_dir "$FEATURES" --output results/so762_total/runs \
        --grid so762_total --seeds "$seed" --metrics_only -- "${COMMON[@]}"
done
python scripts/summarize_table1.py --runs results/so762_total/runs --baselines results/so762_total/baselines \
    --output results/so762_total/table.md --metrics accuracy,qwk,pcc --paired_metrics qwk,pcc
